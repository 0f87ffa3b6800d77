// RctVideo: the public object of the SDK, call-compatible with Megvii's
// raw-jssdk (spec §3.2). One start() is one run: camera → WebSocket →
// mirror stage → colour flashes → result. A run reports exactly one result
// (or none if stop() ended it); retrying means calling start() again.

import { FrameCapturer, MODE_FLASH, MODE_IDLE, MODE_PREVIEW } from './capture.js';
import { LANGUAGES, joinSentences, normalizeLanguage, textDirection, textFor } from './i18n.js';
import { describeTrack, envMessage, inspectBrowser } from './report.js';
import {
  SDK_VERSION,
  cancelMessage,
  captureSettings,
  helloMessage,
  normalizeResultCode,
  parseServerMessage,
  resolveSocketURL,
  resultCodeForClose,
  shownMessage,
} from './protocol.js';

const DEFAULTS = {
  width: '320px',
  height: '320px',
  videoPermsTimeout: 6000,
  webSocketTimeout: 6000,
  // Accepted for compatibility with pages written for Megvii's SDK. Glint
  // carries the camera frames over the WebSocket, so there is no WebRTC
  // connection to time out and this option has no effect.
  WebRTCTimeout: 6000,
  onlyFailCode: true,
  mirror: true,
  photosensitivityWarning: false,
};

const CAMERA_CONSTRAINTS = {
  audio: false,
  video: {
    facingMode: 'user',
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 30 },
  },
};

const WS_OPEN = 1;

/**
 * The shortest time a colour stays on screen, in ms: the server's minimum
 * hold (internal/liveness MinHold). The SDK never makes two screen changes
 * (a colour, or the end of the colours) closer than this, whenever the
 * server's messages arrive, so the screen changes at most
 * floor(1000 / MIN_HOLD_MS) + 1 = 4 times in any second (docs/liveness.md,
 * Photosensitivity).
 */
export const MIN_HOLD_MS = 300;

function noop() {}

/** The browser environment; tests pass their own object of the same shape. */
export function browserEnv() {
  const g = typeof globalThis !== 'undefined' ? globalThis : self;
  const perf = g.performance;
  const nav = g.navigator || {};
  const md = nav.mediaDevices;
  let origin = perf && perf.timeOrigin;
  if (!origin) origin = Date.now() - (perf ? perf.now() : 0);
  return {
    WebSocket: g.WebSocket,
    Blob: g.Blob,
    document: g.document,
    window: g,
    location: g.location,
    userAgent: nav.userAgent || '',
    navigatorLanguage: nav.language || '',
    isSecureContext: g.isSecureContext !== false,
    // Looked up at start(), not at load, so a test page can replace
    // navigator.mediaDevices.getUserMedia (e.g. with a canvas stream).
    getUserMedia: md && typeof md.getUserMedia === 'function' ? (c) => md.getUserMedia(c) : null,
    // Also at start(): what the page's scripts did to the camera functions.
    inspect: () => inspectBrowser(nav),
    screen: {
      w: (g.screen && g.screen.width) || g.innerWidth || 0,
      h: (g.screen && g.screen.height) || g.innerHeight || 0,
      dpr: g.devicePixelRatio || 1,
    },
    clock: { perfNow: () => (perf ? perf.now() : Date.now() - origin), timeOrigin: origin },
    raf: (cb) => (g.requestAnimationFrame ? g.requestAnimationFrame(cb) : g.setTimeout(() => cb(Date.now() - origin), 16)),
    setTimeout: (cb, ms) => g.setTimeout(cb, ms),
    clearTimeout: (id) => g.clearTimeout(id),
    setInterval: (cb, ms) => g.setInterval(cb, ms),
    clearInterval: (id) => g.clearInterval(id),
    console: g.console,
  };
}

export class RctVideo {
  /**
   * @param {object} options see spec §3.2; Glint adds configListener(config)
   *   and mirror (default true: the preview is shown mirrored).
   * @param {object} [env] for tests only; defaults to the browser.
   */
  constructor(options, env) {
    this.options = Object.assign({}, DEFAULTS, options || {});
    this.env = env || null;
    this.version = SDK_VERSION;
    /** The language of the texts (one of RctVideo.languages); see Run.lang. */
    this.language = normalizeLanguage(this.options.language);
    this.languageFromServer = false;
    /** The token's language from the server's config ("en"/"zh"), or null. */
    this.tokenLanguage = null;
    this.failCount = 0;
    /** Attempt number and attempts left, as the server last reported them. */
    this.attempt = null;
    this.remaining = null;
    this.maxUploadTimes = null;
    this.run = null;
  }

  /** Megvii's older entry point: construct and start in one call. */
  static init(options) {
    const v = new RctVideo(options);
    v.start();
    return v;
  }

  /** The text for a tip, status or result code in a language (a code of RctVideo.languages, a BCP 47 tag, or "0"/"1"); unknown languages are English. */
  static text(code, language) {
    return textFor(code, language);
  }

  /** "rtl" or "ltr": the writing direction of a language's texts. */
  static direction(language) {
    return textDirection(language);
  }

  /** Starts a run; a no-op while one is in progress. */
  start() {
    if (this.run && !this.run.done) return this;
    const run = new Run(this, this.env || browserEnv());
    this.run = run;
    run.begin();
    return this;
  }

  /** Ends the current run: tells the server (cancel), releases the camera. No callback follows. */
  stop() {
    if (this.run) this.run.abort();
    return this;
  }
}

class Run {
  constructor(owner, env) {
    this.owner = owner;
    this.o = owner.options;
    this.env = env;
    this.done = false;
    this.configured = false;
    this.flashing = false;
    this.lastStatus = '';
    this.colorGen = 0;
    // The colour guard: when the screen last changed (perfNow ms), colour
    // messages waiting for MIN_HOLD_MS to pass, and the timer that waits.
    this.lastChange = null;
    this.colorQueue = [];
    this.colorTimer = null;
    this.warning = null;
    this.stream = null;
    this.video = null;
    this.playButton = null;
    this.ws = null;
    this.wsTimer = null;
    this.capturer = null;
    this.onPageHide = () => this.abort();
  }

  call(name, ...args) {
    const fn = this.o[name];
    if (typeof fn !== 'function') return;
    try {
      fn(...args);
    } catch (e) {
      // A throwing page callback must not wedge the run.
      if (this.env.console) this.env.console.error('rtcsdk: ' + name + ' threw', e);
    }
  }

  status(code) {
    if (this.done || code === this.lastStatus) return;
    this.lastStatus = code;
    this.call('statusListener', code);
  }

  begin() {
    this.steps().catch((e) => this.finish(false, 'INTERNAL_ERROR', String((e && e.message) || e)));
  }

  // The language of the texts. The page's language option or, failing that,
  // the browser's, until the server's config names the token's language.
  // Then the token decides, except that a token in English (get_token's
  // default, which cannot name any language but English and Chinese) gives
  // way to the page's or browser's language when that is one of the others.
  lang() {
    const o = this.o;
    const wanted = normalizeLanguage(o.language != null && o.language !== '' ? o.language : this.env.navigatorLanguage);
    const owner = this.owner;
    if (!owner.languageFromServer) return wanted;
    const token = owner.tokenLanguage;
    if (token !== 'en') return token;
    return wanted === 'zh' ? 'en' : wanted;
  }

  // The server's text is in the token's language (English or Chinese): used
  // as is when the page shows that language (or, before the config, one the
  // token could name), else replaced by the SDK's own text.
  localText(code, serverText) {
    const lang = this.lang();
    const token = this.owner.tokenLanguage;
    if (lang === token || (token == null && (lang === 'en' || lang === 'zh'))) return serverText || textFor(code, lang);
    return textFor(code, lang) || serverText;
  }

  async steps() {
    const env = this.env;
    const o = this.o;
    const doc = env.document;
    const wrapper = typeof o.videoWrapper === 'string' ? doc && doc.getElementById(o.videoWrapper) : o.videoWrapper;
    if (!wrapper) return this.finish(false, 'INTERNAL_ERROR', 'videoWrapper element not found: ' + o.videoWrapper);
    this.wrapper = wrapper;
    if (!o.token) return this.finish(false, 'TOKEN_INVALID', '');
    if (!env.getUserMedia || !env.WebSocket || !env.Blob) {
      const lang = this.lang();
      const why = env.isSecureContext ? '' : textFor('HTTPS_REQUIRED', lang);
      return this.finish(false, 'SUPPORT_ERROR', joinSentences(textFor('SUPPORT_ERROR', lang), why));
    }
    let url;
    try {
      url = resolveSocketURL(o.host, env.location);
    } catch (e) {
      return this.finish(false, 'INTERNAL_ERROR', 'bad host: ' + e.message);
    }
    if (env.window && env.window.addEventListener) env.window.addEventListener('pagehide', this.onPageHide);

    if (o.photosensitivityWarning) {
      const go = await this.askPhotosensitivity();
      if (this.done) return;
      if (!go) {
        // Not a result: nothing was attempted. The page decides what the
        // person can do instead (docs/liveness.md, Photosensitivity).
        this.done = true;
        this.teardown();
        this.call('photosensitivityDeclined');
        return;
      }
    }

    this.status('CAMERA_REQUESTING');
    let stream;
    try {
      stream = await this.withTimeout(env.getUserMedia(CAMERA_CONSTRAINTS), o.videoPermsTimeout, stopTracks);
    } catch (e) {
      if (this.done) return;
      const code = e && e.name === 'TimeoutError' ? 'PERMISSIONS_ERROR' : cameraErrorCode(e);
      return this.finish(false, code, cameraErrorMessage(e, this.lang()));
    }
    if (this.done) return stopTracks(stream);
    this.stream = stream;
    this.attachVideo(stream);
    this.status('CAMERA_READY');
    this.connect(url);
  }

  // Rejects with a TimeoutError after ms; a value that arrives later is
  // handed to release (a late camera grant must not leave the light on).
  withTimeout(promise, ms, release) {
    return new Promise((resolve, reject) => {
      let expired = false;
      const timer = this.env.setTimeout(() => {
        expired = true;
        const err = new Error('timed out after ' + ms + ' ms');
        err.name = 'TimeoutError';
        reject(err);
      }, ms);
      Promise.resolve(promise).then(
        (v) => {
          this.env.clearTimeout(timer);
          if (expired) release(v);
          else resolve(v);
        },
        (e) => {
          this.env.clearTimeout(timer);
          if (!expired) reject(e);
        },
      );
    });
  }

  attachVideo(stream) {
    const doc = this.env.document;
    const v = doc.createElement('video');
    v.setAttribute('playsinline', '');
    v.setAttribute('webkit-playsinline', '');
    v.setAttribute('aria-label', 'camera preview');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    const st = v.style;
    st.display = 'block';
    st.width = cssSize(this.o.width);
    st.height = cssSize(this.o.height);
    st.objectFit = 'cover';
    if (this.o.mirror) st.transform = 'scaleX(-1)';
    v.srcObject = stream;
    this.wrapper.appendChild(v);
    this.video = v;
    const p = v.play();
    if (p && typeof p.catch === 'function') {
      p.catch((e) => {
        if (!this.done && e && e.name === 'NotAllowedError') this.autoplayFailed();
      });
    }
  }

  // Asks, before the camera and so before any colour, whether the person
  // wants to go on with flashing colours: the page's own function, or the
  // SDK's overlay in the video wrapper. Resolves true to go on.
  askPhotosensitivity() {
    const lang = this.lang();
    const text = textFor('PHOTOSENSITIVITY_WARNING', lang);
    return new Promise((resolve) => {
      const answer = (yes) => {
        if (!this.warning) return;
        this.removeWarning();
        resolve(yes);
      };
      this.warning = { answer, el: null };
      if (typeof this.o.photosensitivityWarning === 'function') {
        this.call('photosensitivityWarning', text, () => answer(true), () => answer(false), lang);
        return;
      }
      const doc = this.env.document;
      const box = doc.createElement('div');
      box.setAttribute('role', 'alertdialog');
      box.setAttribute('lang', lang);
      box.setAttribute('dir', textDirection(lang));
      Object.assign(box.style, {
        position: 'absolute', inset: '0', display: 'flex', flexDirection: 'column', justifyContent: 'center',
        alignItems: 'center', gap: '12px', padding: '16px', boxSizing: 'border-box', textAlign: 'center',
        font: '500 15px/1.4 system-ui, sans-serif', color: '#fff', background: 'rgba(0,0,0,0.85)', zIndex: '1',
      });
      const p = doc.createElement('p');
      p.textContent = text;
      p.style.margin = '0';
      box.appendChild(p);
      const button = (code, primary, yes) => {
        const b = doc.createElement('button');
        b.type = 'button';
        b.textContent = textFor(code, lang);
        Object.assign(b.style, {
          padding: '10px 20px', font: '600 15px/1.2 system-ui, sans-serif', border: '0', borderRadius: '20px',
          cursor: 'pointer', color: primary ? '#000' : '#fff', background: primary ? '#fff' : 'transparent',
        });
        b.addEventListener('click', () => answer(yes));
        box.appendChild(b);
      };
      button('PHOTOSENSITIVITY_CONTINUE', true, true);
      button('PHOTOSENSITIVITY_DECLINE', false, false);
      if (!this.wrapper.style.position) this.wrapper.style.position = 'relative';
      this.wrapper.appendChild(box);
      this.warning.el = box;
    });
  }

  removeWarning() {
    const w = this.warning;
    this.warning = null;
    if (w && w.el && w.el.parentNode) w.el.parentNode.removeChild(w.el);
  }

  autoplayFailed() {
    const v = this.video;
    const play = () => {
      const p = v.play();
      if (p && typeof p.then === 'function') p.then(() => this.removePlayButton(), noop);
      return p;
    };
    if (typeof this.o.autoplayFailCallback === 'function') {
      this.call('autoplayFailCallback', play);
      return;
    }
    // Megvii's SDK shows its own play button when the page gives no callback.
    const doc = this.env.document;
    const b = doc.createElement('button');
    b.type = 'button';
    const lang = this.lang();
    b.textContent = textFor('PLAY_VIDEO', lang);
    b.setAttribute('lang', lang);
    b.setAttribute('dir', textDirection(lang));
    const st = b.style;
    st.position = 'absolute';
    st.left = '50%';
    st.top = '50%';
    st.transform = 'translate(-50%, -50%)';
    st.padding = '12px 20px';
    st.font = '600 16px/1.2 system-ui, sans-serif';
    st.color = '#fff';
    st.background = 'rgba(0,0,0,0.75)';
    st.border = '0';
    st.borderRadius = '24px';
    st.cursor = 'pointer';
    b.addEventListener('click', play);
    if (!this.wrapper.style.position) this.wrapper.style.position = 'relative';
    this.wrapper.appendChild(b);
    this.playButton = b;
  }

  removePlayButton() {
    if (this.playButton && this.playButton.parentNode) this.playButton.parentNode.removeChild(this.playButton);
    this.playButton = null;
  }

  connect(url) {
    const env = this.env;
    this.status('WS_CONNECTING');
    let ws;
    try {
      ws = new env.WebSocket(url);
    } catch (e) {
      return this.finish(false, 'NETWORK_ERROR', textFor('NETWORK_ERROR', this.lang()));
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.wsTimer = env.setTimeout(() => {
      this.wsTimer = null;
      if (!this.configured) this.finish(false, 'NETWORK_ERROR', textFor('NETWORK_ERROR', this.lang()));
    }, this.o.webSocketTimeout);
    ws.onopen = () => {
      if (this.done) return;
      this.sendJSON(helloMessage(this.o.token, env.userAgent, env.screen));
    };
    ws.onmessage = (ev) => {
      if (this.done || typeof ev.data !== 'string') return;
      const m = parseServerMessage(ev.data);
      if (m) this.handle(m);
    };
    // An error event is always followed by close, which carries the code.
    ws.onerror = noop;
    ws.onclose = (ev) => this.onClose(ev.code, ev.reason);
  }

  sendJSON(m) {
    const ws = this.ws;
    if (ws && ws.readyState === WS_OPEN) ws.send(JSON.stringify(m));
  }

  handle(m) {
    switch (m.type) {
      case 'config':
        return this.onConfig(m);
      case 'tip':
        return this.call('tipListener', m.code, this.localText(m.code, m.text));
      case 'status':
        if (m.code === 'MIRROR' && this.capturer && !this.flashing) this.capturer.setMode(MODE_PREVIEW);
        return this.status(m.code);
      case 'color':
        return this.onColor(m);
      case 'result': {
        this.owner.attempt = m.attempt;
        this.owner.remaining = m.remaining;
        const code = normalizeResultCode(m.code);
        return this.finish(m.success, code, this.localText(code, m.message));
      }
      case 'error': {
        const code = normalizeResultCode(m.code) || 'INTERNAL_ERROR';
        return this.finish(false, code, this.localText(code, m.message));
      }
      default:
    }
  }

  onConfig(m) {
    const owner = this.owner;
    if (m.language != null) {
      owner.tokenLanguage = normalizeLanguage(m.language);
      owner.languageFromServer = true;
    }
    owner.language = this.lang();
    owner.attempt = m.attempt;
    owner.maxUploadTimes = m.max_upload_times;
    if (this.configured) {
      if (this.capturer) this.capturer.setSettings(m.capture);
      return;
    }
    this.configured = true;
    if (this.wsTimer != null) this.env.clearTimeout(this.wsTimer);
    this.wsTimer = null;
    this.status('WS_CONNECTED');
    this.call('configListener', {
      language: owner.language,
      colorNumber: m.color_number,
      attempt: m.attempt,
      maxUploadTimes: m.max_upload_times,
    });
    if (this.done) return;
    // The "media connection" of Megvii's SDK is the frame stream here; the
    // two RTC_ statuses keep the documented sequence for analytics.
    this.status('RTC_CONNECTING');
    const env = this.env;
    const c = new FrameCapturer({
      video: this.video,
      createCanvas: () => env.document.createElement('canvas'),
      socket: this.ws,
      Blob: env.Blob,
      clock: env.clock,
      raf: env.raf,
      setInterval: env.setInterval,
      clearInterval: env.clearInterval,
    });
    c.setSettings(m.capture || captureSettings(null));
    this.capturer = c;
    this.browser = typeof env.inspect === 'function' ? env.inspect() : { webdriver: false, mediaPatched: false };
    this.report();
    c.setMode(MODE_PREVIEW);
    c.start();
    this.status('RTC_CONNECTED');
    this.status('MIRROR');
  }

  // The colour guard: a colour message (or the end of the colours) that
  // would change the screen less than MIN_HOLD_MS after the last change
  // waits, in order, until that much has passed. The server holds each
  // colour at least that long, so only messages bunched by the network
  // wait; the end of the colours drops colours still waiting (the server
  // has moved on) but not the wait itself.
  onColor(m) {
    if (m.status !== 'COLORING') this.colorQueue = [];
    this.colorQueue.push(m);
    this.drainColors();
  }

  drainColors() {
    const env = this.env;
    if (this.colorTimer != null) env.clearTimeout(this.colorTimer);
    this.colorTimer = null;
    while (this.colorQueue.length && !this.done) {
      const wait = this.lastChange == null ? 0 : this.lastChange + MIN_HOLD_MS - env.clock.perfNow();
      if (wait > 0) {
        this.colorTimer = env.setTimeout(() => {
          this.colorTimer = null;
          this.drainColors();
        }, wait);
        return;
      }
      this.showColor(this.colorQueue.shift());
    }
  }

  showColor(m) {
    const c = this.capturer;
    this.lastChange = this.env.clock.perfNow();
    if (m.status === 'COLORING') {
      if (!this.flashing) {
        this.flashing = true;
        this.status('FLASHING');
        if (c) c.setMode(MODE_FLASH);
      }
      const gen = ++this.colorGen;
      this.call('colorListener', m.color, 'COLORING', m.index, m.sum);
      // The page paints in the frame after its colorListener returns: the
      // first rAF runs just before that paint (from then on camera frames
      // may carry the colour), the second one after it (shown).
      this.env.raf(() => {
        if (this.done || gen !== this.colorGen) return;
        // The change is on screen from this frame: the guard counts from here.
        this.lastChange = Math.max(this.lastChange, this.env.clock.perfNow());
        if (c) c.setColorIndex(m.index);
        this.env.raf(() => {
          if (this.done) return;
          const clk = this.env.clock;
          this.sendJSON(shownMessage(m.seq_id, m.index, clk.timeOrigin + clk.perfNow()));
        });
      });
      return;
    }
    // DONE or RESET: the colours are over either way; RESET goes back to
    // the mirror stage, DONE waits for the verdict.
    this.colorGen++;
    this.flashing = false;
    if (c) {
      c.setColorIndex(0);
      c.setMode(m.status === 'RESET' ? MODE_PREVIEW : MODE_IDLE);
    }
    this.call('colorListener', m.color, m.status, m.index, m.sum);
    this.status(m.status === 'RESET' ? 'MIRROR' : 'EVALUATING');
    if (c) this.report(c.timeSources);
  }

  // Sends the env report: after the first config, and after each
  // sequence with where its frame times came from.
  report(timeSources) {
    const s = this.stream;
    let track = null;
    if (s && typeof s.getVideoTracks === 'function') track = s.getVideoTracks()[0];
    else if (s && typeof s.getTracks === 'function') track = s.getTracks()[0];
    this.sendJSON(envMessage(this.browser, describeTrack(track), timeSources));
  }

  onClose(code, reason) {
    this.ws = null;
    if (this.done) return;
    const rc = resultCodeForClose(code);
    this.finish(false, rc, textFor(rc, this.lang()) || reason);
  }

  teardown() {
    const env = this.env;
    if (this.wsTimer != null) env.clearTimeout(this.wsTimer);
    this.wsTimer = null;
    if (this.colorTimer != null) env.clearTimeout(this.colorTimer);
    this.colorTimer = null;
    this.colorQueue = [];
    // A warning still open is answered "no", so that steps() returns.
    if (this.warning) this.warning.answer(false);
    if (this.capturer) this.capturer.stop();
    if (env.window && env.window.removeEventListener) env.window.removeEventListener('pagehide', this.onPageHide);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState <= WS_OPEN) {
        try {
          ws.close(1000);
        } catch (_) {
          // Closing a socket that is already failing may throw; nothing to do.
        }
      }
    }
    stopTracks(this.stream);
    this.stream = null;
    this.removePlayButton();
    if (this.video) {
      this.video.srcObject = null;
      if (this.video.parentNode) this.video.parentNode.removeChild(this.video);
      this.video = null;
    }
  }

  abort() {
    if (this.done) return;
    this.sendJSON(cancelMessage());
    this.done = true;
    this.teardown();
  }

  finish(success, code, message) {
    if (this.done) return;
    this.status('FINISHED');
    this.done = true;
    this.teardown();
    const owner = this.owner;
    const text = message || textFor(code, this.lang());
    this.call('resultCallback', success, code, text, {
      attempt: owner.attempt,
      remaining: owner.remaining,
      language: this.lang(),
    });
    // Options of Megvii's older SDK page (spec §3.2).
    if (success) {
      this.call('successCallback', code);
    } else {
      owner.failCount++;
      if (!this.o.onlyFailCode || owner.failCount === 1) this.call('failCallback', code);
    }
  }
}

function stopTracks(stream) {
  if (!stream || typeof stream.getTracks !== 'function') return;
  for (const t of stream.getTracks()) {
    try {
      t.stop();
    } catch (_) {
      // A track that is already ended may throw in old browsers.
    }
  }
}

function cameraErrorCode(e) {
  switch (e && e.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'PERMISSIONS_ERROR';
    default:
      // NotFoundError, OverconstrainedError, TypeError: no usable camera.
      return 'SUPPORT_ERROR';
  }
}

function cameraErrorMessage(e, lang) {
  switch (e && e.name) {
    case 'TimeoutError':
      return textFor('CAMERA_TIMEOUT', lang);
    case 'NotReadableError':
    case 'TrackStartError':
      return textFor('CAMERA_IN_USE', lang);
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return textFor('NO_CAMERA', lang);
    default:
      return textFor(cameraErrorCode(e), lang);
  }
}

function cssSize(v) {
  if (typeof v === 'number') return v + 'px';
  return v == null || v === '' ? 'auto' : String(v);
}

/** The languages of RctVideo.text and of the SDK's own messages. */
RctVideo.languages = LANGUAGES;
