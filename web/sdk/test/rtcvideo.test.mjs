import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { RctVideo, RtcVideo, SDK_VERSION } from '../src/index.js';
import { decodeFrame } from '../src/protocol.js';
import { FakeWebSocket, makeEnv, recordingOptions, settle } from '../testing/fakes.mjs';

beforeEach(() => {
  FakeWebSocket.all = [];
  FakeWebSocket.last = null;
});

const CONFIG = {
  type: 'config',
  language: '0',
  color_number: 6,
  attempt: 1,
  max_upload_times: 3,
  capture: { preview_fps: 5, preview_max_side: 320, flash_max_side: 640, jpeg_quality: 0.8 },
};

// Starts a run and brings it to the mirror stage (camera granted, socket
// open, config received).
async function connected(extraOptions = {}, envOpts = {}) {
  const h = makeEnv(envOpts);
  const rec = recordingOptions(extraOptions);
  const v = new RctVideo(rec.options, h.env);
  v.start();
  await settle();
  const ws = FakeWebSocket.last;
  assert.ok(ws, 'socket opened');
  ws.serverOpen();
  ws.serverSend(CONFIG);
  return { ...h, ...rec, v, ws };
}

async function frames(ws) {
  const out = [];
  for (const b of ws.binaries()) out.push(decodeFrame(new Uint8Array(await b.arrayBuffer())));
  return out;
}

test('aliases: RtcVideo and RctVideo.init', async () => {
  assert.equal(RtcVideo, RctVideo);
  assert.equal(typeof RctVideo.init, 'function');
  assert.equal(typeof SDK_VERSION, 'string');
  assert.equal(RctVideo.text('NoFaceFound', '1'), '请将脸部置于圆框内');
});

test('start: camera, video element, socket URL, hello as the first frame', async () => {
  const h = makeEnv();
  const rec = recordingOptions();
  const v = new RctVideo(rec.options, h.env);
  v.start();
  assert.deepEqual(rec.of('status'), [['CAMERA_REQUESTING']]);
  await settle();
  const video = h.wrapper.children[0];
  assert.equal(video.tagName, 'VIDEO');
  assert.equal(video.style.width, '100%');
  assert.equal(video.style.height, 'auto');
  assert.equal(video.muted, true);
  assert.ok('playsinline' in video.attributes);
  assert.equal(video.srcObject, h.streams[0]);
  const ws = FakeWebSocket.last;
  assert.equal(ws.url, 'wss://rtc.example.com/faceid/lite/raw/rtc');
  assert.equal(ws.binaryType, 'arraybuffer');
  assert.equal(ws.sent.length, 0, 'nothing before open');
  ws.serverOpen();
  const [hello] = ws.json();
  assert.equal(hello.type, 'hello');
  assert.equal(hello.token, 'tok-123');
  assert.equal(hello.ua, 'FakeBrowser/1.0');
  assert.deepEqual(hello.screen, { w: 390, h: 844, dpr: 3 });
  assert.equal(hello.sdk_version, SDK_VERSION);
  assert.deepEqual(rec.of('status').map((s) => s[0]), ['CAMERA_REQUESTING', 'CAMERA_READY', 'WS_CONNECTING']);
  // start() while running is a no-op.
  v.start();
  await settle();
  assert.equal(FakeWebSocket.all.length, 1);
});

test('no media before config; preview frames after it', async () => {
  const h = makeEnv();
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  h.clock.advance(2000);
  assert.equal(ws.binaries().length, 0);
  ws.serverSend({ ...CONFIG, language: '1' });
  const configAt = h.clock.now;
  assert.deepEqual(rec.of('config'), [[{ language: 'zh', colorNumber: 6, attempt: 1, maxUploadTimes: 3 }]]);
  assert.deepEqual(
    rec.of('status').map((s) => s[0]).slice(3),
    ['WS_CONNECTED', 'RTC_CONNECTING', 'RTC_CONNECTED', 'MIRROR'],
  );
  h.clock.advance(1000); // 5 fps
  const fs = await frames(ws);
  assert.equal(fs.length, 5);
  fs.forEach((f, i) => {
    assert.equal(f.kind, 1);
    assert.equal(f.colorIndex, 0);
    assert.equal(f.counter, i + 1);
    assert.deepEqual([f.jpeg[0], f.jpeg[1]], [0xff, 0xd8]);
  });
  assert.equal(fs[0].captureTimeMs, h.clock.timeOrigin + configAt + 200);
  const canvas = h.created.canvas[0];
  assert.deepEqual([canvas.width, canvas.height], [320, 180], 'longest side scaled to preview_max_side');
  assert.equal(canvas.encodes[0].type, 'image/jpeg');
  assert.equal(canvas.encodes[0].quality, 0.8);
});

test('tips: server text, or the SDK text in the token language', async () => {
  const c = await connected();
  c.ws.serverSend({ type: 'tip', code: 'TooDark', text: 'Server says dark' });
  c.ws.serverSend({ type: 'tip', code: 'TooFarAwayFromCamera', text: '' });
  c.ws.serverSend({ type: 'tip', code: 'BrandNewTip' });
  assert.deepEqual(c.of('tip'), [
    ['TooDark', 'Server says dark'],
    ['TooFarAwayFromCamera', 'Move a little closer'],
    ['BrandNewTip', ''],
  ]);
});

test('server status codes reach statusListener once each', async () => {
  const c = await connected();
  c.ws.serverSend({ type: 'status', code: 'MIRROR' }); // SDK already reported it
  c.ws.serverSend({ type: 'status', code: 'UPLOADING' });
  c.ws.serverSend({ type: 'status', code: 'UPLOADING' });
  const s = c.of('status').map((x) => x[0]);
  assert.equal(s.filter((x) => x === 'MIRROR').length, 1);
  assert.equal(s.filter((x) => x === 'UPLOADING').length, 1);
});

test('colours: listener, flash frames carry the index, shown after the paint', async () => {
  const c = await connected();
  const video = c.created.video[0];
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#FF0000', index: 1, sum: 2, seq_id: 'S1', hold_ms: 800 });
  assert.deepEqual(c.of('color'), [['#FF0000', 'COLORING', 1, 2]]);
  assert.ok(c.of('status').some((s) => s[0] === 'FLASHING'));
  // A camera frame before the page painted: flash size, no colour yet.
  c.clock.now += 10;
  video.deliverFrame(c.clock.now, { captureTime: c.clock.now - 5 });
  // First animation frame: the colour goes on screen with the next paint.
  c.clock.now += 6;
  c.clock.frame();
  assert.equal(c.ws.json().filter((m) => m.type === 'shown').length, 0, 'not before the paint');
  c.clock.now += 34;
  video.deliverFrame(c.clock.now, { expectedDisplayTime: c.clock.now + 8 });
  c.clock.now += 1;
  c.clock.frame();
  const shown = c.ws.json().filter((m) => m.type === 'shown');
  assert.deepEqual(shown, [{ type: 'shown', seq_id: 'S1', index: 1, t_client_ms: c.clock.timeOrigin + c.clock.now }]);
  const fs = await frames(c.ws);
  assert.deepEqual(
    fs.map((f) => [f.kind, f.colorIndex]),
    [
      [2, 0],
      [2, 1],
    ],
  );
  assert.equal(fs[0].captureTimeMs, c.clock.timeOrigin + 1005, 'captureTime of the camera frame');
  assert.equal(fs[1].captureTimeMs, c.clock.timeOrigin + 1058, 'else expectedDisplayTime');
  const flashCanvas = c.created.canvas.at(-1);
  assert.deepEqual([flashCanvas.width, flashCanvas.height], [640, 360]);
  // Preview frames stop while flashing.
  const before = c.ws.binaries().length;
  c.clock.advance(1000);
  assert.equal(c.ws.binaries().length, before);
  // At most 30 fps even if frames arrive faster.
  for (let i = 0; i < 10; i++) {
    c.clock.now += 10;
    video.deliverFrame(c.clock.now, {});
  }
  assert.ok(c.ws.binaries().length - before <= 4);
});

test('env report after config, and after each sequence with its frame-time sources', async () => {
  const c = await connected({}, {});
  c.env.inspect = undefined;
  let envs = c.ws.json().filter((m) => m.type === 'env');
  assert.equal(envs.length, 1, 'one report after the first config');
  assert.deepEqual(envs[0], {
    type: 'env', webdriver: false, media_patched: false,
    track: { label: 'camera2 1, facing front', source: 'camera', device_id: true, facing_mode: 'user', width: 640, height: 480, frame_rate: 30 },
  });
  assert.ok(c.ws.json().findIndex((m) => m.type === 'env') > c.ws.json().findIndex((m) => m.type === 'hello'));
  const video = c.created.video[0];
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#FF0000', index: 1, sum: 1, seq_id: 'S', hold_ms: 500 });
  c.clock.now += 40;
  video.deliverFrame(c.clock.now, { captureTime: c.clock.now - 5 });
  c.clock.now += 40;
  video.deliverFrame(c.clock.now, { expectedDisplayTime: c.clock.now + 5 });
  c.clock.now += 40;
  video.deliverFrame(c.clock.now, {});
  c.clock.now += 180; // the server holds a colour at least 300 ms
  c.ws.serverSend({ type: 'color', status: 'DONE', color: '', index: 1, sum: 1, seq_id: 'S', hold_ms: 0 });
  envs = c.ws.json().filter((m) => m.type === 'env');
  assert.equal(envs.length, 2);
  assert.deepEqual(envs[1].time_sources, { capture: 1, display: 1, callback: 1, clock: 0 });
});

test('env report: an automated browser with a replaced getUserMedia says so', async () => {
  const c = await connected({}, {});
  assert.equal(c.ws.json().find((m) => m.type === 'env').webdriver, false);
  const h = makeEnv();
  h.env.inspect = () => ({ webdriver: true, mediaPatched: true });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend(CONFIG);
  const env = ws.json().find((m) => m.type === 'env');
  assert.equal(env.webdriver, true);
  assert.equal(env.media_patched, true);
});

test('colour guard: changes bunched by the network are spaced MIN_HOLD_MS apart, each acknowledged', async () => {
  const at = [];
  let clock = null;
  const c = await connected({ colorListener: (...a) => at.push([clock.now, ...a]) });
  clock = c.clock;
  const colors = () => at.map((x) => x.slice(1));
  // Three colours arrive together (a stalled downlink), then DONE.
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#FF0000', index: 1, sum: 3, seq_id: 'S' });
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#00FF00', index: 2, sum: 3, seq_id: 'S' });
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#0000FF', index: 3, sum: 3, seq_id: 'S' });
  assert.equal(at.length, 1, 'only the first at once');
  c.clock.now += 16;
  c.clock.frame(); // colour 1 goes on screen here: the guard counts from this frame
  c.clock.frame();
  c.clock.advance(299);
  assert.equal(colors().length, 1, 'not before 300 ms after the change');
  c.clock.advance(1);
  assert.deepEqual(colors().at(-1), ['#00FF00', 'COLORING', 2, 3]);
  c.clock.frame();
  c.clock.frame();
  // DONE arrives 100 ms after colour 2 and drops nothing shown; colour 3,
  // still waiting, is dropped (the server has moved on), DONE waits.
  c.clock.advance(100);
  c.ws.serverSend({ type: 'color', status: 'DONE', color: '', index: 3, sum: 3, seq_id: 'S' });
  assert.equal(colors().length, 2);
  assert.notEqual(c.of('status').at(-1)[0], 'EVALUATING');
  c.clock.advance(200);
  assert.deepEqual(colors().map((x) => x[0] || x[1]), ['#FF0000', '#00FF00', 'DONE']);
  assert.equal(c.of('status').at(-1)[0], 'EVALUATING');
  assert.deepEqual(at.slice(1).map((x, i) => x[0] - at[i][0]), [316, 300]);
  assert.deepEqual(
    c.ws.json().filter((m) => m.type === 'shown').map((m) => m.index),
    [1, 2],
  );
});

test('colour guard: on-time colours are not delayed, and a result cancels a waiting DONE', async () => {
  const c = await connected();
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#FF0000', index: 1, sum: 2, seq_id: 'S' });
  c.clock.frame();
  c.clock.advance(300);
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#00FF00', index: 2, sum: 2, seq_id: 'S' });
  assert.equal(c.of('color').length, 2, 'a colour 300 ms after the last change shows at once');
  c.clock.frame();
  c.ws.serverSend({ type: 'color', status: 'DONE', color: '', index: 2, sum: 2, seq_id: 'S' });
  c.ws.serverSend({ type: 'result', success: false, code: 'NETWORK_ERROR', message: '', attempt: 1, remaining: 0 });
  c.clock.advance(1000);
  assert.equal(c.of('color').length, 2, 'no colour change after the result');
  assert.equal(c.of('result').length, 1);
});

test('DONE waits for the verdict, RESET returns to the mirror stage', async () => {
  const c = await connected();
  const video = c.created.video[0];
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#0000FF', index: 1, sum: 1, seq_id: 'S', hold_ms: 1 });
  c.clock.frame();
  c.clock.advance(300);
  c.ws.serverSend({ type: 'color', status: 'RESET', color: '', index: 1, sum: 1, seq_id: 'S', hold_ms: 0 });
  assert.deepEqual(c.of('color').at(-1), ['', 'RESET', 1, 1]);
  assert.equal(c.of('status').at(-1)[0], 'MIRROR');
  let n = c.ws.binaries().length;
  c.clock.advance(400);
  const fs = await frames(c.ws);
  assert.ok(fs.length > n, 'preview again');
  assert.deepEqual([fs.at(-1).kind, fs.at(-1).colorIndex], [1, 0]);

  c.ws.serverSend({ type: 'color', status: 'COLORING', color: '#00FF00', index: 1, sum: 1, seq_id: 'T', hold_ms: 1 });
  c.clock.advance(300);
  c.ws.serverSend({ type: 'color', status: 'DONE', color: '', index: 1, sum: 1, seq_id: 'T', hold_ms: 0 });
  assert.equal(c.of('status').at(-1)[0], 'EVALUATING');
  n = c.ws.binaries().length;
  c.clock.advance(1000);
  video.deliverFrame(c.clock.now, {});
  assert.equal(c.ws.binaries().length, n, 'no frames while evaluating');
  c.ws.serverSend({ type: 'status', code: 'MIRROR' });
  c.clock.advance(400);
  assert.ok(c.ws.binaries().length > n, 'server may send MIRROR to resume');
});

test('result: one callback, socket closed, camera released, legacy success', async () => {
  const c = await connected({ successCallback: (code) => c2.push(['success', code]) });
  const c2 = [];
  c.ws.serverSend({ type: 'result', success: true, code: 'SUCCESS', message: '', attempt: 1, remaining: 0 });
  assert.deepEqual(c.of('result'), [[true, 'SUCCESS', 'Verification complete.', { attempt: 1, remaining: 0, language: 'en' }]]);
  assert.deepEqual(c2, [['success', 'SUCCESS']]);
  assert.equal(c.ws.closedWith, 1000);
  assert.ok(c.streams[0].tracks.every((t) => t.stopped));
  assert.equal(c.wrapper.children.length, 0, 'video removed');
  assert.equal(c.of('status').at(-1)[0], 'FINISHED');
  assert.equal(c.v.attempt, 1);
  assert.equal(c.v.remaining, 0);
  c.ws.serverClose(1000);
  c.clock.advance(10000);
  assert.equal(c.of('result').length, 1);
  assert.ok(!c.ws.json().some((m) => m.type === 'cancel'), 'no cancel after a result');
});

test('failed attempt, then retry with start() on a new connection', async () => {
  const c = await connected();
  c.ws.serverSend({ type: 'result', success: false, code: 'LIVENESS_FAILED', message: 'no', attempt: 1, remaining: 2 });
  assert.deepEqual(c.of('result')[0].slice(0, 3), [false, 'LIVENESS_FAILED', 'no']);
  assert.equal(c.of('result')[0][3].remaining, 2);
  c.v.start();
  await settle();
  assert.equal(FakeWebSocket.all.length, 2);
  const ws2 = FakeWebSocket.last;
  ws2.serverOpen();
  assert.equal(ws2.json()[0].type, 'hello');
  assert.equal(c.wrapper.children.length, 1, 'one video again');
});

test('error message then close: reported once with the server code', async () => {
  const h = makeEnv();
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend({ type: 'error', code: 'TOKEN_EXPIRED', message: 'expired' });
  ws.serverClose(4003, 'expired');
  assert.deepEqual(rec.of('result').map((r) => r.slice(0, 3)), [[false, 'TOKEN_EXPIRED', 'expired']]);
});

test('close codes without a message', async () => {
  const want = {
    4001: 'INTERNAL_ERROR',
    4003: 'TOKEN_INVALID',
    4009: 'MORE_RETRY_TIMES',
    4010: 'TOKEN_FINISHED',
    4011: 'SUPERSEDED',
    1006: 'NETWORK_ERROR',
    1011: 'NETWORK_ERROR',
  };
  for (const [code, rc] of Object.entries(want)) {
    const c = await connected();
    c.ws.serverClose(Number(code), 'reason');
    const r = c.of('result');
    assert.equal(r.length, 1);
    assert.equal(r[0][0], false);
    assert.equal(r[0][1], rc, 'close ' + code);
    assert.ok(r[0][2], 'has a message');
  }
});

test('webSocketTimeout covers open and config', async () => {
  for (const step of ['never-open', 'no-config']) {
    const h = makeEnv();
    const rec = recordingOptions({ webSocketTimeout: 3000 });
    new RctVideo(rec.options, h.env).start();
    await settle();
    const ws = FakeWebSocket.last;
    if (step === 'no-config') ws.serverOpen();
    h.clock.advance(2999);
    assert.equal(rec.of('result').length, 0);
    h.clock.advance(1);
    assert.deepEqual(rec.of('result').map((r) => r[1]), ['NETWORK_ERROR'], step);
    assert.ok(ws.readyState === 3, 'socket closed');
    assert.ok(h.streams[0].tracks[0].stopped);
  }
});

test('videoPermsTimeout: no answer means PERMISSIONS_ERROR; a late grant is released', async () => {
  let grant;
  const late = { tracks: [{ stopped: false, stop() { this.stopped = true; } }] };
  late.getTracks = () => late.tracks;
  const h = makeEnv({ getUserMedia: () => new Promise((r) => (grant = r)) });
  const rec = recordingOptions({ videoPermsTimeout: 5000 });
  new RctVideo(rec.options, h.env).start();
  await settle();
  h.clock.advance(5000);
  await settle();
  assert.deepEqual(rec.of('result').map((r) => r.slice(0, 2)), [[false, 'PERMISSIONS_ERROR']]);
  grant(late);
  await settle();
  assert.ok(late.tracks[0].stopped);
  assert.equal(FakeWebSocket.all.length, 0);
});

test('camera errors map to PERMISSIONS_ERROR or SUPPORT_ERROR', async () => {
  const cases = { NotAllowedError: 'PERMISSIONS_ERROR', NotReadableError: 'PERMISSIONS_ERROR', NotFoundError: 'SUPPORT_ERROR', OverconstrainedError: 'SUPPORT_ERROR' };
  for (const [name, code] of Object.entries(cases)) {
    const err = Object.assign(new Error(name), { name });
    const h = makeEnv({ getUserMedia: () => Promise.reject(err) });
    const rec = recordingOptions();
    new RctVideo(rec.options, h.env).start();
    await settle();
    assert.equal(rec.of('result')[0][1], code, name);
  }
});

test('unsupported browser, missing token, missing wrapper', async () => {
  let h = makeEnv({ getUserMedia: null });
  let rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.equal(rec.of('result')[0][1], 'SUPPORT_ERROR');

  h = makeEnv();
  rec = recordingOptions({ token: '' });
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.equal(rec.of('result')[0][1], 'TOKEN_INVALID');

  h = makeEnv();
  rec = recordingOptions({ videoWrapper: 'missing' });
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.equal(rec.of('result')[0][1], 'INTERNAL_ERROR');
});

test('messages before config follow the browser language', async () => {
  const h = makeEnv({ getUserMedia: null, navigatorLanguage: 'zh-CN' });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.match(rec.of('result')[0][2], /浏览器/);
});

test('stop(): cancel, teardown, no callback', async () => {
  const c = await connected();
  c.v.stop();
  assert.deepEqual(c.ws.json().at(-1), { type: 'cancel' });
  assert.equal(c.ws.closedWith, 1000);
  assert.ok(c.streams[0].tracks[0].stopped);
  assert.equal(c.wrapper.children.length, 0);
  c.ws.serverClose(1000);
  c.clock.advance(10000);
  assert.equal(c.of('result').length, 0);
});

test('pagehide cancels the run', async () => {
  const c = await connected();
  for (const fn of c.windowListeners.pagehide) fn();
  assert.deepEqual(c.ws.json().at(-1), { type: 'cancel' });
  assert.equal((c.windowListeners.pagehide || []).length, 0, 'listener removed');
});

test('frames are dropped, not queued, when the socket is backed up', async () => {
  const c = await connected();
  c.ws.bufferedAmount = 2 * 1024 * 1024;
  c.clock.advance(1000);
  assert.equal(c.ws.binaries().length, 0);
  c.ws.bufferedAmount = 0;
  c.clock.advance(200);
  assert.equal(c.ws.binaries().length, 1);
});

test('at most two JPEG encodes in flight', async () => {
  const c = await connected({}, { syncEncode: false });
  c.clock.advance(1000);
  const encodes = c.created.canvas.flatMap((cv) => cv.encodes);
  assert.equal(encodes.length, 2);
  encodes[0].done();
  await settle();
  assert.equal(c.ws.binaries().length, 1);
});

test('frames leave in capture order even when encodes finish out of order', async () => {
  const c = await connected({}, { syncEncode: false });
  c.clock.advance(400);
  const [first, second] = c.created.canvas.flatMap((cv) => cv.encodes);
  second.done();
  await settle();
  assert.equal(c.ws.binaries().length, 0, 'the later frame waits');
  first.done();
  await settle();
  assert.deepEqual((await frames(c.ws)).map((f) => f.counter), [1, 2]);
});

test('autoplay blocked: autoplayFailCallback gets a play function', async () => {
  let play;
  const blocked = (n) => (n === 1 ? Promise.reject(Object.assign(new Error('x'), { name: 'NotAllowedError' })) : Promise.resolve());
  const h = makeEnv({ playResult: blocked });
  const rec = recordingOptions({ autoplayFailCallback: (p) => (play = p) });
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.equal(typeof play, 'function');
  await play();
  assert.equal(h.created.video[0].plays, 2);
});

test('autoplay blocked without a callback: the SDK shows a play button', async () => {
  const blocked = (n) => (n === 1 ? Promise.reject(Object.assign(new Error('x'), { name: 'NotAllowedError' })) : Promise.resolve());
  const h = makeEnv({ playResult: blocked });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const button = h.wrapper.children.find((e) => e.tagName === 'BUTTON');
  assert.ok(button);
  assert.equal(button.textContent, 'Tap to start the camera');
  button.dispatch('click');
  await settle();
  assert.equal(h.created.video[0].plays, 2);
  assert.ok(!h.wrapper.children.includes(button), 'removed once playing');
});

test('legacy failCallback honours onlyFailCode', async () => {
  for (const [only, want] of [
    [true, 1],
    [false, 2],
  ]) {
    const fails = [];
    const c = await connected({ onlyFailCode: only, failCallback: (code) => fails.push(code) });
    c.ws.serverClose(1006);
    c.v.start();
    await settle();
    FakeWebSocket.last.serverClose(4009);
    assert.equal(fails.length, want, 'onlyFailCode=' + only);
    assert.equal(fails[0], 'NETWORK_ERROR');
  }
});

test('a throwing page callback does not stop the run', async () => {
  const c = await connected({
    tipListener: () => {
      throw new Error('page bug');
    },
  });
  c.ws.serverSend({ type: 'tip', code: 'TooDark', text: '' });
  c.ws.serverSend({ type: 'result', success: true, code: 'SUCCESS', message: '', attempt: 1, remaining: 0 });
  assert.equal(c.of('result').length, 1);
  assert.equal(c.env.errors.length, 1);
});

test('malformed and binary server frames are ignored', async () => {
  const c = await connected();
  c.ws.serverSend('garbage');
  c.ws.onmessage({ data: new ArrayBuffer(4) });
  c.ws.serverSend({ type: 'color', status: 'COLORING', color: 'javascript:1' });
  assert.equal(c.of('color').length, 0);
  assert.equal(c.of('result').length, 0);
});

test('WebRTCTimeout is accepted and has no effect', async () => {
  const c = await connected({ WebRTCTimeout: 1 });
  c.clock.advance(5000);
  assert.equal(c.of('result').length, 0);
  assert.ok(c.ws.binaries().length > 0);
});

test('language: an English token gives way to the browser language the token cannot name', async () => {
  const c = await connected({}, { navigatorLanguage: 'ar-EG' });
  assert.equal(c.of('config')[0][0].language, 'ar');
  c.ws.serverSend({ type: 'tip', code: 'TooDark', text: "It's too dark here. Find more light" });
  c.ws.serverSend({ type: 'tip', code: 'BrandNewTip', text: 'Server text' });
  assert.deepEqual(c.of('tip'), [
    ['TooDark', 'المكان مظلم جدًا. انتقل إلى مكان أكثر إضاءة'],
    ['BrandNewTip', 'Server text'],
  ]);
  c.ws.serverSend({ type: 'result', success: false, code: 'LIVENESS_FAILED', message: 'We could not confirm a live face', attempt: 1, remaining: 2 });
  const r = c.of('result')[0];
  assert.equal(r[2], 'لم نتمكن من التأكد من أنك أنت. يرجى المحاولة مرة أخرى.');
  assert.equal(r[3].language, 'ar');
});

test('language: the page option wins over the browser; a Chinese token over both', async () => {
  let c = await connected({ language: 'de-CH' }, { navigatorLanguage: 'ar' });
  assert.equal(c.of('config')[0][0].language, 'de');
  assert.equal(c.v.language, 'de');

  FakeWebSocket.last = null;
  const h = makeEnv({ navigatorLanguage: 'fr-FR' });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  FakeWebSocket.last.serverOpen();
  FakeWebSocket.last.serverSend({ ...CONFIG, language: '1' });
  FakeWebSocket.last.serverSend({ type: 'tip', code: 'TooDark', text: '服务器文字' });
  assert.equal(rec.of('config')[0][0].language, 'zh');
  assert.deepEqual(rec.of('tip'), [['TooDark', '服务器文字']]);

  // A Chinese browser with an English token: the token could have asked
  // for Chinese and did not.
  c = await connected({}, { navigatorLanguage: 'zh-CN' });
  assert.equal(c.of('config')[0][0].language, 'en');
  // An unknown language is English.
  c = await connected({ language: 'xx' }, { navigatorLanguage: 'ja' });
  assert.equal(c.of('config')[0][0].language, 'en');
});

test('play button: text and direction in the page language', async () => {
  const blocked = (n) => (n === 1 ? Promise.reject(Object.assign(new Error('x'), { name: 'NotAllowedError' })) : Promise.resolve());
  const h = makeEnv({ playResult: blocked, navigatorLanguage: 'ar' });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const button = h.wrapper.children.find((e) => e.tagName === 'BUTTON');
  assert.equal(button.textContent, 'اضغط لتشغيل الكاميرا');
  assert.equal(button.attributes.dir, 'rtl');
  assert.equal(button.attributes.lang, 'ar');
});

test('camera failures are explained in the page language', async () => {
  const h = makeEnv({ getUserMedia: () => Promise.reject(Object.assign(new Error('x'), { name: 'NotFoundError' })), navigatorLanguage: 'es' });
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.deepEqual(rec.of('result')[0].slice(1, 3), ['SUPPORT_ERROR', 'No se encontró ninguna cámara.']);
});

test('photosensitivityWarning: true shows the SDK overlay before the camera; Continue starts it', async () => {
  const h = makeEnv();
  let camera = 0;
  const gum = h.env.getUserMedia;
  h.env.getUserMedia = (c) => (camera++, gum(c));
  const rec = recordingOptions({ photosensitivityWarning: true, language: 'de' });
  new RctVideo(rec.options, h.env).start();
  await settle();
  assert.equal(camera, 0, 'no camera while the warning is open');
  assert.equal(FakeWebSocket.all.length, 0);
  assert.deepEqual(rec.of('status'), []);
  const box = h.wrapper.children[0];
  assert.equal(box.attributes.role, 'alertdialog');
  assert.equal(box.attributes.lang, 'de');
  assert.equal(box.children[0].textContent, RctVideo.text('PHOTOSENSITIVITY_WARNING', 'de'));
  const [go, no] = box.children.slice(1);
  assert.deepEqual([go.textContent, no.textContent], ['Weiter', 'Nicht jetzt']);
  go.dispatch('click');
  no.dispatch('click'); // a second answer is ignored
  await settle();
  assert.equal(camera, 1);
  assert.ok(!h.wrapper.children.includes(box), 'overlay removed');
  assert.equal(h.wrapper.children[0].tagName, 'VIDEO');
  assert.ok(FakeWebSocket.last, 'connecting');
  assert.deepEqual(rec.of('declined'), []);
});

test('photosensitivityWarning: declining ends the run without camera or result', async () => {
  const h = makeEnv();
  const rec = recordingOptions({ photosensitivityWarning: true });
  rec.options.photosensitivityDeclined = () => rec.log.push(['declined']);
  const v = new RctVideo(rec.options, h.env);
  v.start();
  await settle();
  h.wrapper.children[0].children[2].dispatch('click');
  await settle();
  assert.equal(h.streams.length, 0);
  assert.equal(FakeWebSocket.all.length, 0);
  assert.equal(h.wrapper.children.length, 0);
  assert.deepEqual(rec.of('declined'), [[]]);
  assert.deepEqual(rec.of('result'), []);
  // The person may change their mind: start() asks again.
  v.start();
  await settle();
  assert.equal(h.wrapper.children[0].attributes.role, 'alertdialog');
});

test('photosensitivityWarning: a page function gets the text and answers; stop() while asking', async () => {
  const h = makeEnv();
  const asked = [];
  const rec = recordingOptions({
    language: 'ja',
    photosensitivityWarning: (text, proceed, decline, language) => asked.push({ text, proceed, decline, language }),
  });
  const v = new RctVideo(rec.options, h.env);
  v.start();
  await settle();
  assert.equal(asked.length, 1);
  assert.equal(asked[0].language, 'ja');
  assert.match(asked[0].text, /4.*5/);
  assert.equal(h.wrapper.children.length, 0, 'no SDK overlay');
  v.stop();
  asked[0].proceed(); // too late: the run is over
  await settle();
  assert.equal(h.streams.length, 0);
  assert.deepEqual(rec.of('result'), []);
  v.start();
  await settle();
  asked[1].proceed();
  await settle();
  assert.equal(h.streams.length, 1);
});

test('the warning states the rate the colour guard allows, in every language', async () => {
  const { MIN_HOLD_MS } = await import('../src/rtcvideo.js');
  // Changes MIN_HOLD_MS apart: at most this many in any one second.
  const perSecond = Math.floor(1000 / MIN_HOLD_MS) + 1;
  for (const lang of RctVideo.languages) {
    const nums = RctVideo.text('PHOTOSENSITIVITY_WARNING', lang).match(/\d+/g);
    assert.equal(nums[0], String(perSecond), lang);
  }
});
