import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEADER_BYTES,
  KIND_FLASH,
  KIND_PREVIEW,
  captureSettings,
  decodeFrame,
  encodeFrameHeader,
  helloMessage,
  normalizeResultCode,
  parseServerMessage,
  resolveSocketURL,
  resultCodeForClose,
  shownMessage,
} from '../src/protocol.js';
import { normalizeLanguage, textFor } from '../src/i18n.js';

test('frame header: byte layout is little-endian version, kind, colour, counter, time', () => {
  const t = 1712345678901.25;
  const buf = encodeFrameHeader({ kind: KIND_FLASH, colorIndex: 0x0203, counter: 0x04050607, captureTimeMs: t });
  assert.equal(buf.byteLength, HEADER_BYTES);
  const b = new Uint8Array(buf);
  assert.deepEqual([...b.subarray(0, 8)], [1, 2, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04]);
  const want = new DataView(new ArrayBuffer(8));
  want.setFloat64(0, t, true);
  assert.deepEqual([...b.subarray(8)], [...new Uint8Array(want.buffer)]);
});

test('frame header: preview frame without colour, counter wraps to uint32', () => {
  const b = new Uint8Array(encodeFrameHeader({ kind: KIND_PREVIEW, counter: 2 ** 32 + 5, captureTimeMs: 0 }));
  assert.equal(b[1], 1);
  assert.equal(b[2] | (b[3] << 8), 0);
  assert.equal(new DataView(b.buffer).getUint32(4, true), 5);
});

test('decodeFrame round-trips header and JPEG payload', () => {
  const head = new Uint8Array(encodeFrameHeader({ kind: 2, colorIndex: 4, counter: 99, captureTimeMs: 1.5e12 }));
  const jpeg = [0xff, 0xd8, 9, 9, 0xff, 0xd9];
  const f = decodeFrame(new Uint8Array([...head, ...jpeg]));
  assert.equal(f.kind, 2);
  assert.equal(f.colorIndex, 4);
  assert.equal(f.counter, 99);
  assert.equal(f.captureTimeMs, 1.5e12);
  assert.deepEqual([...f.jpeg], jpeg);
  assert.equal(decodeFrame(new Uint8Array(10)), null, 'short');
  const v2 = new Uint8Array(head);
  v2[0] = 2;
  assert.equal(decodeFrame(v2), null, 'unknown version');
});

test('socket URL from the host option', () => {
  const https = { protocol: 'https:', host: 'shop.example.com' };
  const http = { protocol: 'http:', host: 'localhost:8080' };
  const cases = [
    ['wss://rtc-sgp.megvii.com', https, 'wss://rtc-sgp.megvii.com/faceid/lite/raw/rtc'],
    ['wss://rtc.example.com/', https, 'wss://rtc.example.com/faceid/lite/raw/rtc'],
    ['ws://127.0.0.1:9000', http, 'ws://127.0.0.1:9000/faceid/lite/raw/rtc'],
    ['wss://glint.example.com/custom/rtc', https, 'wss://glint.example.com/custom/rtc'],
    ['wss://glint.example.com/faceid/lite/raw/rtc', https, 'wss://glint.example.com/faceid/lite/raw/rtc'],
    ['https://glint.example.com', https, 'wss://glint.example.com/faceid/lite/raw/rtc'],
    ['http://glint.local:8080', http, 'ws://glint.local:8080/faceid/lite/raw/rtc'],
    ['glint.example.com', https, 'wss://glint.example.com/faceid/lite/raw/rtc'],
    ['', https, 'wss://shop.example.com/faceid/lite/raw/rtc'],
    [undefined, http, 'ws://localhost:8080/faceid/lite/raw/rtc'],
    ['  ', https, 'wss://shop.example.com/faceid/lite/raw/rtc'],
  ];
  for (const [host, loc, want] of cases) assert.equal(resolveSocketURL(host, loc), want, String(host));
  assert.throws(() => resolveSocketURL('', undefined));
  assert.ok(!resolveSocketURL('wss://x.example', https).includes('token'), 'token never goes in the URL');
});

test('hello, shown and cancel messages', () => {
  const h = helloMessage('abc', 'UA/1', { w: 390.7, h: 844, dpr: 3 });
  assert.deepEqual(Object.keys(h).sort(), ['screen', 'sdk_version', 'token', 'type', 'ua']);
  assert.equal(h.type, 'hello');
  assert.equal(h.token, 'abc');
  assert.deepEqual(h.screen, { w: 390, h: 844, dpr: 3 });
  assert.deepEqual(shownMessage('s1', 2, 123.5), { type: 'shown', seq_id: 's1', index: 2, t_client_ms: 123.5 });
});

test('parseServerMessage accepts the documented messages', () => {
  assert.deepEqual(parseServerMessage('{"type":"tip","code":"NoFaceFound","text":"x"}'), {
    type: 'tip',
    code: 'NoFaceFound',
    text: 'x',
  });
  assert.deepEqual(parseServerMessage('{"type":"status","code":"MIRROR"}'), { type: 'status', code: 'MIRROR' });
  const c = parseServerMessage(
    '{"type":"color","status":"COLORING","color":"#00ffcc","index":2,"sum":6,"seq_id":"q","hold_ms":800}',
  );
  assert.deepEqual(c, { type: 'color', status: 'COLORING', color: '#00FFCC', index: 2, sum: 6, seq_id: 'q', hold_ms: 800 });
  assert.equal(parseServerMessage('{"type":"color","status":"DONE","index":6,"sum":6}').color, '');
  const r = parseServerMessage('{"type":"result","success":false,"code":"LIVENESS_FAILED","attempt":1,"remaining":2}');
  assert.deepEqual(r, { type: 'result', success: false, code: 'LIVENESS_FAILED', message: '', attempt: 1, remaining: 2 });
  assert.equal(parseServerMessage('{"type":"result","success":true}').code, 'SUCCESS');
  const cfg = parseServerMessage('{"type":"config","language":"1","color_number":6,"attempt":1,"max_upload_times":3}');
  assert.equal(cfg.language, '1');
  assert.equal(cfg.capture.preview_fps, 5);
  assert.deepEqual(parseServerMessage('{"type":"future","x":1}'), { type: 'future', x: 1 });
});

test('parseServerMessage rejects malformed frames', () => {
  for (const bad of [
    'not json',
    '[]',
    'null',
    '"str"',
    '{"no":"type"}',
    '{"type":5}',
    '{"type":"tip"}',
    '{"type":"status","code":""}',
    '{"type":"color","status":"BLINK","color":"#FFFFFF"}',
    '{"type":"color","status":"COLORING","color":"red"}',
    '{"type":"color","status":"COLORING","color":"#FFF"}',
    '{"type":"color","status":"COLORING","color":"#FFFFFF;background:url(x)"}',
  ]) {
    assert.equal(parseServerMessage(bad), null, bad);
  }
});

test('capture settings are clamped; jpeg_quality accepts percent', () => {
  const s = captureSettings({ preview_fps: 1000, preview_max_side: 10, flash_max_side: 640, jpeg_quality: 85 });
  assert.equal(s.preview_fps, 15);
  assert.equal(s.preview_max_side, 64);
  assert.equal(s.flash_max_side, 640);
  assert.equal(s.jpeg_quality, 0.85);
  assert.equal(captureSettings({ jpeg_quality: 0.7 }).jpeg_quality, 0.7);
  assert.equal(captureSettings({ preview_fps: 'x', flash_max_fps: -1 }).preview_fps, 5);
  assert.equal(captureSettings(null).flash_max_fps, 30);
});

test('result codes: aliases and close codes', () => {
  assert.equal(normalizeResultCode('INVALID_TOKEN'), 'TOKEN_INVALID');
  assert.equal(normalizeResultCode('AUTHORIZATION_ERROR: MORE_RETRY_TIMES'), 'MORE_RETRY_TIMES');
  assert.equal(normalizeResultCode('TOKEN_EXPIRED'), 'TOKEN_EXPIRED');
  assert.equal(normalizeResultCode('SOMETHING_NEW'), 'SOMETHING_NEW');
  assert.equal(normalizeResultCode(''), '');
  assert.equal(resultCodeForClose(4001), 'INTERNAL_ERROR');
  assert.equal(resultCodeForClose(4003), 'TOKEN_INVALID');
  assert.equal(resultCodeForClose(4009), 'MORE_RETRY_TIMES');
  assert.equal(resultCodeForClose(4010), 'TOKEN_FINISHED');
  assert.equal(resultCodeForClose(4011), 'SUPERSEDED');
  assert.equal(resultCodeForClose(4029), 'TOO_MANY_ATTEMPTS');
  assert.equal(resultCodeForClose(1006), 'NETWORK_ERROR');
  assert.equal(resultCodeForClose(1000), 'NETWORK_ERROR');
});

test('texts: language codes and tables', () => {
  assert.equal(normalizeLanguage('0'), 'en');
  assert.equal(normalizeLanguage('1'), 'zh');
  assert.equal(normalizeLanguage(1), 'zh');
  assert.equal(normalizeLanguage('zh-CN'), 'zh');
  assert.equal(normalizeLanguage('en-GB'), 'en');
  assert.equal(normalizeLanguage(undefined), 'en');
  assert.equal(textFor('TooFarAwayFromCamera', '0'), 'Move a little closer');
  assert.equal(textFor('TooFarAwayFromCamera', '1'), '请靠近一点');
  assert.equal(textFor('nope', 'en'), '');
  assert.equal(textFor('toString', 'en'), '', 'no prototype leaks');
});

test('every tip, status and result code has both languages', () => {
  const codes = [
    'NoFaceFound', 'InvalidFaceYaw', 'InvalidFacePitch', 'InvalidFaceEyeOcclusion', 'InvalidFaceMouth',
    'TooFarAwayFromCamera', 'TooCloseFromCamera', 'InvalidFaceOutOfImage', 'MultipleFaces', 'TooDark',
    'TooBright', 'FaceBlur', 'KeepStill', 'ScreenBrightnessLow',
    'CAMERA_REQUESTING', 'CAMERA_READY', 'WS_CONNECTING', 'WS_CONNECTED', 'RTC_CONNECTING', 'RTC_CONNECTED',
    'MIRROR', 'FLASHING', 'UPLOADING', 'EVALUATING', 'FINISHED',
    'SUCCESS', 'LIVENESS_FAILED', 'MORE_RETRY_TIMES', 'MIRROR_TIMEOUT', 'TOKEN_INVALID', 'TOKEN_EXPIRED',
    'TOKEN_FINISHED', 'PERMISSIONS_ERROR', 'SUPPORT_ERROR', 'NETWORK_ERROR', 'INTERNAL_ERROR', 'SUPERSEDED',
  ];
  for (const c of codes) {
    assert.ok(textFor(c, 'en'), 'en ' + c);
    assert.ok(textFor(c, 'zh'), 'zh ' + c);
    assert.notEqual(textFor(c, 'en'), textFor(c, 'zh'), c);
  }
});
