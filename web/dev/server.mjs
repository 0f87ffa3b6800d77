// Development server for the SDK and the capture page: serves a fresh build
// (rebuilt on every page load) and a scripted stand-in for the real-time
// channel, so the page can be worked on, tried on a phone and
// screenshotted without the Go service, the face engine or a real token.
//
//   node dev/server.mjs [--port 8787] [--host 127.0.0.1]
//   open http://127.0.0.1:8787/h5/verify?token=demo
//
// The token picks the script (a ".zh" suffix answers in Chinese):
//   demo          tips, 6 colours, success
//   fail          tips, 6 colours, LIVENESS_FAILED (3 attempts per server run)
//   expired       error TOKEN_EXPIRED, close 4003
//   invalid       close 4003 without a message
//   hold-mirror   stays in the mirror stage
//   hold-flash    stops on colour 3 of 6
//   hold-eval     never sends the result
//
// It also checks what the SDK sends (hello first, frame headers, JPEG
// markers, shown acks) and logs a summary per connection.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../build.mjs';
import { decodeFrame, KIND_FLASH, KIND_PREVIEW } from '../sdk/src/protocol.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const PORT = Number(arg('--port', '8787'));
const HOST = arg('--host', '127.0.0.1');
const FACE = arg('--face', '');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
};

let files = await build();

const ROUTES = {
  '/h5/verify': 'h5/verify.html',
  '/h5/verify.js': 'h5/verify.js',
  '/h5/verify.css': 'h5/verify.css',
  '/h5/icon.svg': 'h5/icon.svg',
  '/sdk/rtcsdk.min.js': 'dist/rtcsdk.min.js',
  '/sdk/esm/rtcsdk.js': 'dist/esm/rtcsdk.js',
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (url.pathname === '/h5/verify') files = await build();
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(e));
    return;
  }
  if (url.pathname === '/dev/face.jpg' && FACE) {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    res.end(readFileSync(FACE));
    return;
  }
  const rel = ROUTES[url.pathname];
  if (!rel) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  const headers = { 'content-type': TYPES[rel.slice(rel.lastIndexOf('.'))], 'cache-control': 'no-store' };
  if (rel.endsWith('.html')) {
    // The same policy internal/sdk sends, so the page is tried under it.
    headers['content-security-policy'] =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ws://" +
      req.headers.host +
      "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    headers['permissions-policy'] = 'camera=(self), screen-wake-lock=(self), microphone=()';
    headers['referrer-policy'] = 'no-referrer';
  }
  res.writeHead(200, headers);
  res.end(files.get(rel));
});

// --- A minimal RFC 6455 server: enough for one browser client per socket ---

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

class Socket {
  constructor(sock, onText, onBinary, onClose) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.parts = [];
    this.partOp = 0;
    this.closed = false;
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse(onText, onBinary);
    });
    sock.on('close', () => {
      this.closed = true;
      onClose(this.peerCode || this.sentCode || 1006);
    });
    sock.on('error', () => {});
  }

  parse(onText, onBinary) {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const op = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= b[maskOff + (i & 3)];
      this.buf = b.subarray(off + len);
      if (op === 8) {
        this.peerCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.close(this.peerCode === 1005 ? 1000 : this.peerCode);
        return;
      }
      if (op === 9) {
        this.frame(10, payload);
        continue;
      }
      if (op === 10) continue;
      if (op !== 0) this.partOp = op;
      this.parts.push(payload);
      if (!fin) continue;
      const msg = Buffer.concat(this.parts);
      this.parts = [];
      if (this.partOp === 1) onText(msg.toString('utf8'));
      else if (this.partOp === 2) onBinary(msg);
    }
  }

  frame(op, payload) {
    if (this.closed) return;
    let head;
    if (payload.length < 126) head = Buffer.from([0x80 | op, payload.length]);
    else if (payload.length < 65536) {
      head = Buffer.alloc(4);
      head[0] = 0x80 | op;
      head[1] = 126;
      head.writeUInt16BE(payload.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | op;
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    this.sock.write(Buffer.concat([head, payload]));
  }

  send(obj) {
    this.frame(1, Buffer.from(JSON.stringify(obj)));
  }

  close(code, reason = '') {
    if (this.closed) return;
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    this.frame(8, p);
    this.sentCode = code;
    this.closed = true;
    this.sock.end();
  }
}

const attemptsUsed = new Map();
const MAX_UPLOADS = 3;
const PALETTE = ['#FF0000', '#00FF00', '#0000FF', '#FFFF00', '#FF00FF', '#00FFFF', '#FF8000', '#8000FF'];

server.on('upgrade', (req, sock) => {
  const url = new URL(req.url, 'http://x');
  const key = req.headers['sec-websocket-key'];
  if (url.pathname !== '/faceid/lite/raw/rtc' || !key) {
    sock.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  sock.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' +
      accept +
      '\r\n\r\n',
  );
  session(sock, req.headers.origin || '');
});

function session(raw, origin) {
  const st = { hello: null, frames: { 1: 0, 2: 0 }, bad: 0, lastCounter: 0, shown: [], seq: '', timers: [] };
  const later = (ms, fn) => st.timers.push(setTimeout(fn, ms));
  let ws;
  const log = (...a) => console.log('[rtc ' + (st.hello ? st.hello.token : '?') + ']', ...a);

  const onText = (text) => {
    let m;
    try {
      m = JSON.parse(text);
    } catch (_) {
      log('bad json');
      return ws.close(4001, 'bad json');
    }
    if (!st.hello) {
      if (m.type !== 'hello' || !m.token) return ws.close(4001, 'hello expected');
      st.hello = m;
      log('hello', JSON.stringify({ sdk: m.sdk_version, screen: m.screen, origin }));
      return run(m.token);
    }
    if (m.type === 'shown') {
      if (m.seq_id !== st.seq) log('shown for unknown seq_id', m.seq_id);
      st.shown.push(m);
    } else if (m.type === 'cancel') {
      log('cancel');
    } else log('unexpected', text);
  };

  const onBinary = (buf) => {
    const f = decodeFrame(buf);
    const jpegOK = f && f.jpeg[0] === 0xff && f.jpeg[1] === 0xd8;
    const timeOK = f && Math.abs(f.captureTimeMs - Date.now()) < 5000;
    const why = !f
      ? 'header'
      : !jpegOK
        ? 'not a JPEG'
        : !timeOK
          ? 'capture time ' + (f.captureTimeMs - Date.now()) + ' ms off'
          : f.kind !== KIND_PREVIEW && f.kind !== KIND_FLASH
            ? 'kind ' + f.kind
            : f.counter <= st.lastCounter
              ? 'counter ' + f.counter + ' after ' + st.lastCounter
              : '';
    if (why) {
      st.bad++;
      log('bad frame: ' + why);
      return;
    }
    st.lastCounter = f.counter;
    st.frames[f.kind]++;
    if (st.onFrame) st.onFrame(f);
  };

  ws = new Socket(raw, onText, onBinary, (code) => {
    st.timers.forEach(clearTimeout);
    log('closed', code, 'preview', st.frames[1], 'flash', st.frames[2], 'bad', st.bad, 'shown', st.shown.length);
  });

  function run(tok) {
    // "fail-7.zh": script "fail", a distinct token per run, Chinese.
    const zh = tok.endsWith('.zh');
    const script = (zh ? tok.slice(0, -3) : tok).replace(/-\d+$/, '');
    const language = zh ? '1' : '0';
    if (script === 'expired') {
      ws.send({ type: 'error', code: 'TOKEN_EXPIRED', message: '' });
      return ws.close(4003, 'token expired');
    }
    if (script === 'invalid') return ws.close(4003, 'invalid token');
    const used = attemptsUsed.get(tok) || 0;
    if (used >= MAX_UPLOADS) return ws.close(4009, 'attempts exhausted');
    ws.send({
      type: 'config',
      language,
      color_number: 6,
      attempt: used + 1,
      max_upload_times: MAX_UPLOADS,
      capture: { preview_fps: 5, preview_max_side: 320, flash_max_side: 640, jpeg_quality: 0.85 },
    });
    ws.send({ type: 'status', code: 'MIRROR' });
    // Wait for real preview frames before "judging" the framing.
    let previews = 0;
    st.onFrame = (f) => {
      if (f.kind !== KIND_PREVIEW || ++previews !== 3) return;
      if (script === 'hold-mirror') return ws.send({ type: 'tip', code: 'TooFarAwayFromCamera', text: '' });
      const tips = ['NoFaceFound', 'TooFarAwayFromCamera', 'KeepStill'];
      tips.forEach((code, i) => later(i * 900, () => ws.send({ type: 'tip', code, text: '' })));
      later(tips.length * 900, () => flash(script, tok));
    };
  }

  function flash(script, tok) {
    st.seq = 'seq-' + Math.random().toString(36).slice(2, 10);
    ws.send({ type: 'status', code: 'FLASHING' });
    const n = 6;
    let t = 0;
    let prev = '';
    for (let i = 1; i <= n; i++) {
      let c;
      do c = PALETTE[Math.floor(Math.random() * PALETTE.length)];
      while (c === prev);
      prev = c;
      const hold = 700 + Math.floor(Math.random() * 400);
      const msg = { type: 'color', status: 'COLORING', color: c, index: i, sum: n, seq_id: st.seq, hold_ms: hold };
      later(t, () => ws.send(msg));
      t += hold;
      if (script === 'hold-flash' && i === 3) return;
    }
    later(t, () => {
      ws.send({ type: 'color', status: 'DONE', color: '', index: n, sum: n, seq_id: st.seq, hold_ms: 0 });
      ws.send({ type: 'status', code: 'EVALUATING' });
      const used = (attemptsUsed.get(tok) || 0) + 1;
      attemptsUsed.set(tok, used);
      if (script === 'hold-eval') return;
      later(1500, () => {
        const ok = script !== 'fail';
        const remaining = ok ? 0 : MAX_UPLOADS - used;
        ws.send({
          type: 'result',
          success: ok,
          code: ok ? 'SUCCESS' : remaining > 0 ? 'LIVENESS_FAILED' : 'MORE_RETRY_TIMES',
          message: '',
          attempt: used,
          remaining,
        });
        ws.close(1000);
      });
    });
  }
}

server.listen(PORT, HOST, () => {
  console.log('glint web dev server: http://' + HOST + ':' + server.address().port + '/h5/verify?token=demo');
});
