// The committed bundles in internal/sdk/dist: every way a page can load
// them, and one complete run through the minified UMD build.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { decodeFrame } from '../src/protocol.js';
import { FakeWebSocket, makeEnv, recordingOptions, settle } from '../testing/fakes.mjs';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'internal', 'sdk', 'dist');
const umd = readFileSync(join(dist, 'rtcsdk.min.js'), 'utf8');
const version = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')).version;

test('UMD as a <script>: globals RctVideo and RtcVideo', () => {
  const ctx = { self: {} };
  vm.runInNewContext(umd, ctx);
  const g = ctx.self;
  assert.equal(typeof g.RctVideo, 'function');
  assert.equal(g.RtcVideo, g.RctVideo);
  assert.equal(typeof g.RctVideo.init, 'function');
  assert.equal(g.RctVideo.SDK_VERSION, version);
  assert.equal(new g.RctVideo({}).version, version);
});

test('UMD through require(): the class, with named and default members', () => {
  const module = { exports: {} };
  vm.runInNewContext(umd, { module, exports: module.exports, self: {} });
  const m = module.exports;
  assert.equal(typeof m, 'function');
  assert.equal(m.RctVideo, m);
  assert.equal(m.RtcVideo, m);
  assert.equal(m.default, m);
});

test('UMD through AMD define()', () => {
  let factory;
  const define = (deps, f) => {
    assert.equal(deps.length, 0);
    factory = f;
  };
  define.amd = {};
  vm.runInNewContext(umd, { define, self: {} });
  assert.equal(typeof factory().RctVideo, 'function');
});

test('ESM build: named and default exports', async () => {
  const m = await import(pathToFileURL(join(dist, 'esm', 'rtcsdk.js')).href);
  assert.equal(typeof m.RctVideo, 'function');
  assert.equal(m.RtcVideo, m.RctVideo);
  assert.equal(m.default, m.RctVideo);
  assert.equal(m.SDK_VERSION, version);
});

test('minified UMD runs a whole verification', async () => {
  const module = { exports: {} };
  // A browser realm has URL; a bare vm context does not.
  vm.runInNewContext(umd, { module, exports: module.exports, self: {}, URL });
  const RctVideo = module.exports;
  FakeWebSocket.all = [];
  const h = makeEnv();
  const rec = recordingOptions();
  new RctVideo(rec.options, h.env).start();
  await settle();
  const ws = FakeWebSocket.last;
  assert.ok(ws, JSON.stringify(rec.log));
  ws.serverOpen();
  assert.equal(ws.json()[0].type, 'hello');
  ws.serverSend({ type: 'config', language: '1', color_number: 4, attempt: 1, max_upload_times: 3 });
  h.clock.advance(200);
  ws.serverSend({ type: 'tip', code: 'NoFaceFound', text: '' });
  ws.serverSend({ type: 'color', status: 'COLORING', color: '#00FFFF', index: 1, sum: 4, seq_id: 'z', hold_ms: 700 });
  h.clock.frame();
  h.created.video[0].deliverFrame(h.clock.now, {});
  h.clock.frame();
  h.clock.now += 700;
  ws.serverSend({ type: 'color', status: 'DONE', color: '', index: 4, sum: 4, seq_id: 'z', hold_ms: 0 });
  ws.serverSend({ type: 'result', success: true, code: 'SUCCESS', message: '', attempt: 1, remaining: 0 });
  assert.deepEqual(rec.of('tip'), [['NoFaceFound', '请将脸部置于圆框内']]);
  assert.deepEqual(rec.of('color').map((c) => c[1]), ['COLORING', 'DONE']);
  assert.deepEqual(rec.of('result').map((r) => r.slice(0, 3)), [[true, 'SUCCESS', '验证完成。']]);
  assert.equal(ws.json().filter((m) => m.type === 'shown').length, 1);
  const kinds = [];
  for (const b of ws.binaries()) kinds.push(decodeFrame(new Uint8Array(await b.arrayBuffer())).kind);
  assert.deepEqual(kinds, [1, 2]);
});
