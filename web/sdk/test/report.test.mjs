import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTrack, envMessage, inspectBrowser, isNative } from '../src/report.js';

test('isNative: built-ins yes, scripts and non-functions no', () => {
  assert.equal(isNative(Math.max), true);
  assert.equal(isNative(function getUserMedia() {}), false);
  assert.equal(isNative(async () => 1), false);
  assert.equal(isNative(undefined), false);
  // A script that fakes only its own toString is still caught through
  // Function.prototype.toString.
  const fake = () => 1;
  fake.toString = () => 'function getUserMedia() { [native code] }';
  assert.equal(isNative(fake), false);
});

test('inspectBrowser: automation and replaced camera functions', () => {
  class MediaDevices {}
  MediaDevices.prototype.getUserMedia = Math.max; // a native function
  MediaDevices.prototype.enumerateDevices = Math.min;
  const md = new MediaDevices();
  assert.deepEqual(inspectBrowser({ mediaDevices: md }), { webdriver: false, mediaPatched: false });
  assert.deepEqual(inspectBrowser({ mediaDevices: md, webdriver: true }), { webdriver: true, mediaPatched: false });
  md.getUserMedia = async () => ({});
  assert.deepEqual(inspectBrowser({ mediaDevices: md }), { webdriver: false, mediaPatched: true });
  delete md.getUserMedia;
  MediaDevices.prototype.enumerateDevices = async () => [];
  assert.equal(inspectBrowser({ mediaDevices: md }).mediaPatched, true, 'a patched prototype counts too');
  assert.deepEqual(inspectBrowser({}), { webdriver: false, mediaPatched: false });
});

test('describeTrack: camera, canvas, generated, unknown', () => {
  const camera = {
    label: 'FaceTime HD Camera',
    getSettings: () => ({ deviceId: 'abc', facingMode: 'user', width: 1280, height: 720, frameRate: 30, resizeMode: 'none' }),
  };
  assert.deepEqual(describeTrack(camera), {
    label: 'FaceTime HD Camera', source: 'camera', device_id: true,
    facing_mode: 'user', width: 1280, height: 720, frame_rate: 30, resize_mode: 'none',
  });
  class CanvasCaptureMediaStreamTrack {
    constructor() {
      this.label = '';
    }
    getSettings() {
      return { width: 480, height: 640, frameRate: 30 };
    }
  }
  assert.equal(describeTrack(new CanvasCaptureMediaStreamTrack()).source, 'canvas');
  assert.equal(describeTrack({ canvas: {}, label: 'x', getSettings: () => ({ deviceId: 'd' }) }).source, 'canvas');
  class MediaStreamTrackGenerator {
    getSettings() {
      return {};
    }
  }
  assert.equal(describeTrack(new MediaStreamTrackGenerator()).source, 'generated');
  const element = { label: 'abc', getSettings: () => ({ width: 640 }) };
  assert.deepEqual(describeTrack(element), { label: 'abc', source: 'unknown', device_id: false, width: 640 });
  assert.deepEqual(describeTrack(null), { label: '', source: 'unknown', device_id: false });
  const throwing = { label: 'x', getSettings: () => { throw new Error('gone'); } };
  assert.equal(describeTrack(throwing).source, 'unknown');
  assert.equal(describeTrack({ label: 'y'.repeat(300) }).label.length, 128);
});

test('envMessage', () => {
  const m = envMessage({ webdriver: true, mediaPatched: false }, { label: 'l', source: 'camera', device_id: true }, { capture: 3 });
  assert.deepEqual(m, {
    type: 'env', webdriver: true, media_patched: false,
    track: { label: 'l', source: 'camera', device_id: true }, time_sources: { capture: 3 },
  });
  assert.equal('time_sources' in envMessage({}, {}), false);
});
