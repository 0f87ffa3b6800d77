// Stand-ins for the browser objects the SDK touches: a controllable clock
// with timers and animation frames, a WebSocket driven from the test, a
// camera stream, and just enough DOM for the <video> and <canvas>.

export const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

export class FakeClock {
  constructor() {
    this.now = 1000; // performance.now()
    this.timeOrigin = 1_700_000_000_000;
    this.timers = new Map();
    this.nextId = 1;
    this.rafs = [];
  }
  setTimeout(cb, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, cb, every: 0 });
    return id;
  }
  setInterval(cb, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, cb, every: ms });
    return id;
  }
  clear(id) {
    this.timers.delete(id);
  }
  raf(cb) {
    this.rafs.push(cb);
    return this.rafs.length;
  }
  /** Runs one animation frame: every callback queued before it. */
  frame() {
    const cbs = this.rafs;
    this.rafs = [];
    for (const cb of cbs) cb(this.now);
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      const [id, t] = next;
      this.now = t.at;
      if (t.every) t.at += t.every;
      else this.timers.delete(id);
      t.cb();
    }
    this.now = end;
  }
}

export class FakeWebSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.bufferedAmount = 0;
    this.binaryType = 'blob';
    this.sent = [];
    this.closedWith = null;
    FakeWebSocket.last = this;
    FakeWebSocket.all.push(this);
  }
  send(d) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(d);
  }
  close(code) {
    this.closedWith = code === undefined ? 1005 : code;
    this.readyState = 3;
  }
  // Test side.
  serverOpen() {
    this.readyState = 1;
    if (this.onopen) this.onopen({});
  }
  serverSend(m) {
    if (this.onmessage) this.onmessage({ data: typeof m === 'string' ? m : JSON.stringify(m) });
  }
  serverClose(code, reason = '') {
    this.readyState = 3;
    if (this.onclose) this.onclose({ code, reason });
  }
  json() {
    return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d));
  }
  binaries() {
    return this.sent.filter((d) => typeof d !== 'string');
  }
}
FakeWebSocket.all = [];

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.style = {};
    this.attributes = {};
    this.children = [];
    this.parentNode = null;
    this.listeners = {};
  }
  setAttribute(k, v) {
    this.attributes[k] = String(v);
  }
  appendChild(c) {
    c.parentNode = this;
    this.children.push(c);
    return c;
  }
  removeChild(c) {
    this.children = this.children.filter((x) => x !== c);
    c.parentNode = null;
    return c;
  }
  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }
  dispatch(type) {
    for (const fn of this.listeners[type] || []) fn({ type });
  }
}

export class FakeVideo extends FakeElement {
  constructor(opts) {
    super('video');
    this.videoWidth = 1280;
    this.videoHeight = 720;
    this.playResult = opts.playResult || (() => Promise.resolve());
    this.plays = 0;
    this.frameCallbacks = [];
    if (opts.rvfc !== false) {
      this.requestVideoFrameCallback = (cb) => {
        this.frameCallbacks.push(cb);
        return this.frameCallbacks.length;
      };
    }
  }
  play() {
    this.plays++;
    return this.playResult(this.plays);
  }
  /** Delivers one camera frame to requestVideoFrameCallback listeners. */
  deliverFrame(now, meta) {
    const cbs = this.frameCallbacks;
    this.frameCallbacks = [];
    for (const cb of cbs) cb(now, meta || {});
  }
}

export class FakeCanvas extends FakeElement {
  constructor(opts) {
    super('canvas');
    this.width = 300;
    this.height = 150;
    this.draws = [];
    this.encodes = [];
    this.syncEncode = opts.syncEncode !== false;
  }
  getContext() {
    return { drawImage: (img, x, y, w, h) => this.draws.push({ img, x, y, w, h }) };
  }
  toBlob(cb, type, quality) {
    const job = { type, quality, width: this.width, height: this.height, done: () => cb(new Blob([JPEG], { type })) };
    this.encodes.push(job);
    if (this.syncEncode) job.done();
  }
}

export class FakeTrack {
  constructor(settings) {
    this.stopped = false;
    this.label = 'camera2 1, facing front';
    this.settings = settings || { deviceId: 'dev-1', facingMode: 'user', width: 640, height: 480, frameRate: 30 };
  }
  getSettings() {
    return this.settings;
  }
  stop() {
    this.stopped = true;
  }
}

export function fakeStream() {
  const tracks = [new FakeTrack()];
  return { tracks, getTracks: () => tracks };
}

/**
 * An env object for RctVideo (see browserEnv in rtcvideo.js).
 * opts.getUserMedia overrides the camera (default: resolves a stream).
 */
export function makeEnv(opts = {}) {
  const clock = new FakeClock();
  const wrapper = new FakeElement('div');
  const created = { video: [], canvas: [], button: [] };
  const windowListeners = {};
  const streams = [];
  const env = {
    WebSocket: FakeWebSocket,
    Blob,
    document: {
      getElementById: (id) => (id === 'wrap' ? wrapper : null),
      createElement: (tag) => {
        let el;
        if (tag === 'video') el = new FakeVideo(opts);
        else if (tag === 'canvas') el = new FakeCanvas(opts);
        else el = new FakeElement(tag);
        (created[tag] = created[tag] || []).push(el);
        return el;
      },
    },
    window: {
      addEventListener: (t, fn) => ((windowListeners[t] = windowListeners[t] || []).push(fn)),
      removeEventListener: (t, fn) => (windowListeners[t] = (windowListeners[t] || []).filter((f) => f !== fn)),
    },
    location: opts.location || { protocol: 'https:', host: 'verify.example.com' },
    userAgent: 'FakeBrowser/1.0',
    navigatorLanguage: opts.navigatorLanguage || 'en-US',
    isSecureContext: true,
    getUserMedia:
      opts.getUserMedia === undefined
        ? () => {
            const s = fakeStream();
            streams.push(s);
            return Promise.resolve(s);
          }
        : opts.getUserMedia,
    screen: { w: 390, h: 844, dpr: 3 },
    clock: { perfNow: () => clock.now, timeOrigin: clock.timeOrigin },
    raf: (cb) => clock.raf(cb),
    setTimeout: (cb, ms) => clock.setTimeout(cb, ms),
    clearTimeout: (id) => clock.clear(id),
    setInterval: (cb, ms) => clock.setInterval(cb, ms),
    clearInterval: (id) => clock.clear(id),
    console: { error: (...a) => env.errors.push(a) },
    errors: [],
  };
  return { env, clock, wrapper, created, streams, windowListeners };
}

/** Options with every callback recording into log. */
export function recordingOptions(extra = {}) {
  const log = [];
  const rec =
    (name) =>
    (...args) =>
      log.push([name, ...args]);
  const options = {
    videoWrapper: 'wrap',
    token: 'tok-123',
    host: 'wss://rtc.example.com',
    width: '100%',
    height: 'auto',
    colorListener: rec('color'),
    tipListener: rec('tip'),
    resultCallback: rec('result'),
    statusListener: rec('status'),
    configListener: rec('config'),
    ...extra,
  };
  return { options, log, of: (name) => log.filter((e) => e[0] === name).map((e) => e.slice(1)) };
}

/** Lets pending promise reactions run. */
export async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
