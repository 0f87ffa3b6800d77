// Screenshots of every stage of the capture page, phone and desktop, taken
// in headless Chromium against dev/server.mjs. For looking at the page, not
// a test: nothing is asserted beyond each stage being reached.
//
//   node --experimental-websocket dev/shots.mjs --out /tmp/sdk-shots [--face photo.jpg] [--chromium path]
//       [--base http://127.0.0.1:8080] [--only NAME-PREFIX]
//
// (Node 22+ has WebSocket without the flag.) With --face the camera is a
// canvas stream of that photo, tinted by the colour on screen; without it
// Chromium's built-in fake camera pattern is used.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const OUT = resolve(arg('--out', '/tmp/sdk-shots'));
const FACE = arg('--face', '');
const CHROMIUM = arg('--chromium', 'chromium');
const ONLY = arg('--only', '');

if (typeof WebSocket !== 'function') {
  console.error('needs a global WebSocket: run with node --experimental-websocket (Node 20) or Node 22+');
  process.exit(2);
}

function waitLine(proc, stream, re, what) {
  return new Promise((res, rej) => {
    let acc = '';
    const t = setTimeout(() => rej(new Error('timed out waiting for ' + what + ':\n' + acc)), 20000);
    proc[stream].on('data', (d) => {
      acc += d;
      const m = acc.match(re);
      if (m) {
        clearTimeout(t);
        res(m[1]);
      }
    });
  });
}

// --base points at a server that is already running (e.g. glint serve
// proxying the channel to dev/server.mjs); by default the dev server is started.
let base = arg('--base', '');
let server = null;
if (!base) {
  const serverArgs = [join(here, 'server.mjs'), '--port', '0'];
  if (FACE) serverArgs.push('--face', resolve(FACE));
  server = spawn(process.execPath, serverArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await waitLine(server, 'stdout', /(http:\/\/[\d.]+:\d+)\//, 'dev server');
  server.stdout.on('data', (d) => process.stdout.write(d));
}

const profile = mkdtempSync(join(tmpdir(), 'glint-shots-'));
const chrome = spawn(
  CHROMIUM,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--no-first-run',
    '--hide-scrollbars',
    '--user-data-dir=' + profile,
    '--remote-debugging-port=0',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
const browserWS = await waitLine(chrome, 'stderr', /DevTools listening on (ws:\/\/\S+)/, 'chromium');
const port = new URL(browserWS).port;
const targets = await (await fetch('http://127.0.0.1:' + port + '/json/list')).json();
const page = targets.find((t) => t.type === 'page');

const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r, { once: true }));
let nextId = 0;
const pending = new Map();
ws.addEventListener('message', (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) {
    const { res, rej } = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) rej(new Error(JSON.stringify(m.error)));
    else res(m.result);
  } else if (m.method === 'Runtime.exceptionThrown') {
    console.error('page exception:', JSON.stringify(m.params.exceptionDetails).slice(0, 500));
  } else if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning')) {
    console.error('console.' + m.params.type + ':', m.params.args.map((a) => a.value || a.description).join(' '));
  }
});
function cdp(method, params = {}) {
  const id = ++nextId;
  ws.send(JSON.stringify({ id, method, params }));
  return new Promise((res, rej) => pending.set(id, { res, rej }));
}
async function evaluate(expr) {
  const r = await cdp('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error('evaluate failed: ' + expr + ': ' + JSON.stringify(r.exceptionDetails));
  return r.result.value;
}
async function waitFor(expr, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await evaluate(expr)) return;
    await sleep(100);
  }
  throw new Error('timed out waiting for ' + expr + ' (stage ' + (await evaluate('document.documentElement.dataset.stage')) + ')');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A camera showing the photo, tinted like skin reflecting the screen.
const FACE_CAMERA = `(() => {
  const img = new Image();
  img.src = '/dev/face.jpg';
  navigator.mediaDevices.getUserMedia = async () => {
    await img.decode();
    const c = document.createElement('canvas');
    c.width = 720; c.height = 960;
    const g = c.getContext('2d');
    const draw = () => {
      // Portrait photos: the face is in the upper part; zoom in on it.
      const s = 1.5 * Math.max(c.width / img.width, c.height / img.height);
      const w = img.width * s, h = img.height * s;
      g.globalCompositeOperation = 'source-over';
      g.drawImage(img, (c.width - w) / 2, -h * 0.06, w, h);
      const col = document.documentElement.dataset.color;
      if (col) { g.globalCompositeOperation = 'soft-light'; g.globalAlpha = 0.35; g.fillStyle = col; g.fillRect(0, 0, c.width, c.height); g.globalAlpha = 1; }
      requestAnimationFrame(draw);
    };
    draw();
    return c.captureStream(30);
  };
})()`;

const HANG_CAMERA = `navigator.mediaDevices.getUserMedia = () => new Promise(() => {})`;

const stageIs = (s) => `document.documentElement.dataset.stage === ${JSON.stringify(s)}`;
let uniq = 0;

const SHOTS = [
  { name: 'intro', token: 'demo', click: false, until: stageIs('intro') },
  { name: 'intro-zh', token: 'demo', lang: 'zh', click: false, until: stageIs('intro') },
  { name: 'camera', token: 'demo', camera: HANG_CAMERA, until: stageIs('camera') },
  {
    name: 'mirror',
    token: 'hold-mirror',
    until: stageIs('mirror') + " && document.getElementById('tip').textContent.indexOf('closer') > 0",
    settle: 800,
  },
  { name: 'mirror-zh', token: 'hold-mirror.zh', until: stageIs('mirror') + " && document.documentElement.lang === 'zh-CN'", settle: 1500 },
  { name: 'flash', token: 'hold-flash', until: stageIs('flash') + " && document.getElementById('counter').textContent.indexOf('3') >= 0", settle: 500 },
  { name: 'flash-zh', token: 'hold-flash.zh', until: stageIs('flash') + " && document.getElementById('counter').textContent.indexOf('3') >= 0", settle: 500 },
  { name: 'evaluating', token: 'hold-eval', until: stageIs('evaluating'), settle: 300 },
  { name: 'success', token: 'demo', until: stageIs('result'), settle: 300 },
  { name: 'fail-retry', token: () => 'fail-' + ++uniq, tokenBase: 'fail', until: stageIs('result'), settle: 300 },
  { name: 'fail-retry-zh', token: () => 'fail-' + ++uniq + '.zh', until: stageIs('result'), settle: 300 },
  { name: 'expired', token: 'expired', until: stageIs('result'), settle: 300 },
];

const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844, deviceScaleFactor: 2, mobile: true },
  { name: 'desktop', width: 1280, height: 860, deviceScaleFactor: 1, mobile: false },
  { name: 'small', width: 320, height: 568, deviceScaleFactor: 2, mobile: true },
];

mkdirSync(OUT, { recursive: true });
await cdp('Page.enable');
await cdp('Runtime.enable');
const written = [];
let failed = 0;
try {
  for (const vp of VIEWPORTS) {
    await cdp('Emulation.setDeviceMetricsOverride', vp);
    for (const s of SHOTS) {
      if (ONLY && !s.name.startsWith(ONLY)) continue;
      const token = typeof s.token === 'function' ? s.token() : s.token;
      const url = base + '/h5/verify?token=' + encodeURIComponent(token) + (s.lang ? '&lang=' + s.lang : '');
      try {
        await cdp('Page.navigate', { url });
        await waitFor("document.readyState === 'complete' && !!document.documentElement.dataset.stage");
        if (s.camera) await evaluate(s.camera);
        else if (FACE) await evaluate(FACE_CAMERA);
        if (s.click !== false) await evaluate("document.getElementById('start').click()");
        await waitFor(s.until);
        await sleep(s.settle || 200);
        const shot = await cdp('Page.captureScreenshot', { format: 'png' });
        const file = join(OUT, vp.name + '-' + s.name + '.png');
        writeFileSync(file, Buffer.from(shot.data, 'base64'));
        written.push(file);
      } catch (e) {
        failed++;
        console.error(vp.name + '-' + s.name + ': ' + e.message);
      }
    }
  }
} finally {
  ws.close();
  chrome.kill();
  if (server) server.kill();
  await sleep(300);
  rmSync(profile, { recursive: true, force: true });
}
console.log(written.join('\n'));
process.exit(failed ? 1 : 0);
