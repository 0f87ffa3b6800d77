// Turns the camera <video> into binary media frames (protocol.js) on the
// WebSocket: a few small preview frames per second while the server checks
// framing, every camera frame at a larger size while colours are shown.

import { DEFAULT_CAPTURE, KIND_FLASH, KIND_PREVIEW, encodeFrameHeader } from './protocol.js';

// Above this many bytes waiting in the socket the network is not keeping
// up; a stale frame is worth less than a fresh one, so frames are dropped.
export const MAX_BUFFERED_BYTES = 1 << 20;

// JPEG encodes run off the main thread; more than this many in flight means
// the device cannot keep up and new frames are dropped instead of queued.
const MAX_INFLIGHT_ENCODES = 2;

// A camera timestamp further than this from "now" is from another clock.
const MAX_CLOCK_SKEW_MS = 1000;

export const MODE_IDLE = 'idle';
export const MODE_PREVIEW = 'preview';
export const MODE_FLASH = 'flash';

export class FrameCapturer {
  /**
   * @param {object} o
   * @param {HTMLVideoElement} o.video
   * @param {() => HTMLCanvasElement} o.createCanvas
   * @param {{readyState:number, bufferedAmount:number, send:(d:any)=>void}} o.socket
   * @param {typeof Blob} o.Blob
   * @param {{perfNow:()=>number, timeOrigin:number}} o.clock
   * @param {(cb:(t:number)=>void)=>any} o.raf
   * @param {(cb:()=>void, ms:number)=>any} o.setInterval
   * @param {(id:any)=>void} o.clearInterval
   */
  constructor(o) {
    this.video = o.video;
    this.createCanvas = o.createCanvas;
    this.socket = o.socket;
    this.Blob = o.Blob;
    this.clock = o.clock;
    this.raf = o.raf;
    this.setIntervalFn = o.setInterval;
    this.clearIntervalFn = o.clearInterval;
    this.settings = Object.assign({}, DEFAULT_CAPTURE);
    this.mode = MODE_IDLE;
    this.colorIndex = 0;
    this.counter = 0;
    this.inflight = 0;
    this.queue = [];
    this.stats = { sent: 0, dropped: 0, bytes: 0 };
    this.running = false;
    this.lastFrameT = -1; // perf time of the newest camera frame seen
    this.lastFlashT = -Infinity;
    // Where the flash frames' times came from since the flashes began,
    // for the env report (report.js).
    this.timeSources = emptySources();
    this.previewTimer = null;
    this.canvases = {};
  }

  setSettings(s) {
    this.settings = Object.assign({}, DEFAULT_CAPTURE, s);
    if (this.running) this.restartPreviewTimer();
  }

  setMode(mode) {
    if (mode === MODE_FLASH && this.mode !== MODE_FLASH) {
      this.lastFlashT = -Infinity;
      this.timeSources = emptySources();
    }
    this.mode = mode;
  }

  setColorIndex(i) {
    this.colorIndex = i | 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.restartPreviewTimer();
    this.scheduleFrame();
  }

  stop() {
    this.running = false;
    this.mode = MODE_IDLE;
    this.queue = [];
    if (this.previewTimer != null) this.clearIntervalFn(this.previewTimer);
    this.previewTimer = null;
  }

  restartPreviewTimer() {
    if (this.previewTimer != null) this.clearIntervalFn(this.previewTimer);
    // Preview frames are timer driven: they must flow even when the page
    // hides the video, and rVFC/rAF stop firing for hidden elements.
    this.previewTimer = this.setIntervalFn(() => {
      if (this.running && this.mode === MODE_PREVIEW) this.capture(KIND_PREVIEW, this.frameTime());
    }, Math.round(1000 / this.settings.preview_fps));
  }

  // Follows the camera frame by frame: requestVideoFrameCallback where the
  // browser has it (exact capture times, one call per camera frame),
  // requestAnimationFrame otherwise.
  scheduleFrame() {
    if (!this.running) return;
    const v = this.video;
    if (typeof v.requestVideoFrameCallback === 'function') {
      v.requestVideoFrameCallback((now, meta) => {
        const m = this.metaTime(now, meta);
        this.onFrame(m.t, m.source);
      });
    } else {
      this.raf(() => this.onFrame(this.clock.perfNow(), 'clock'));
    }
  }

  /** The frame's time and where it came from: the camera, the compositor or the callback. */
  metaTime(now, meta) {
    const here = this.clock.perfNow();
    const candidates = [
      { t: meta && meta.captureTime, source: 'capture' },
      { t: meta && meta.expectedDisplayTime, source: 'display' },
      { t: now, source: 'callback' },
    ];
    for (const c of candidates) {
      if (typeof c.t === 'number' && c.t > 0 && Math.abs(c.t - here) < MAX_CLOCK_SKEW_MS) return c;
    }
    return { t: here, source: 'clock' };
  }

  onFrame(t, source) {
    if (!this.running) return;
    this.lastFrameT = t;
    if (this.mode === MODE_FLASH) {
      const minGap = 1000 / this.settings.flash_max_fps - 3;
      if (t - this.lastFlashT >= minGap && this.capture(KIND_FLASH, t)) {
        this.lastFlashT = t;
        this.timeSources[source] = (this.timeSources[source] || 0) + 1;
      }
    }
    this.scheduleFrame();
  }

  // The preview timer is not tied to camera frames; the newest frame's time
  // is the better estimate of what drawImage will draw, if it is recent.
  frameTime() {
    const here = this.clock.perfNow();
    return this.lastFrameT > 0 && here - this.lastFrameT < 100 ? this.lastFrameT : here;
  }

  canSend() {
    const s = this.socket;
    return s.readyState === 1 && s.bufferedAmount <= MAX_BUFFERED_BYTES;
  }

  /** Encodes the video's current frame and sends it; returns whether it was taken. */
  capture(kind, t) {
    const v = this.video;
    const vw = v.videoWidth;
    const vh = v.videoHeight;
    if (!vw || !vh) return false;
    if (!this.canSend() || this.inflight >= MAX_INFLIGHT_ENCODES) {
      this.stats.dropped++;
      return false;
    }
    const maxSide = kind === KIND_FLASH ? this.settings.flash_max_side : this.settings.preview_max_side;
    const scale = Math.min(1, maxSide / Math.max(vw, vh));
    const w = Math.max(1, Math.round(vw * scale));
    const h = Math.max(1, Math.round(vh * scale));
    let c = this.canvases[kind];
    if (!c) c = this.canvases[kind] = this.createCanvas();
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    const ctx = c.getContext('2d');
    ctx.drawImage(v, 0, 0, w, h);
    const header = encodeFrameHeader({
      kind,
      colorIndex: this.colorIndex,
      counter: ++this.counter,
      captureTimeMs: this.clock.timeOrigin + t,
    });
    this.inflight++;
    // Encodes may finish out of order (two canvases, two sizes); frames
    // wait in capture order so the server sees counters increase.
    const job = { header, blob: undefined };
    this.queue.push(job);
    // toBlob copies the bitmap synchronously, so the canvas can be redrawn
    // for the next frame while this one encodes.
    c.toBlob(
      (blob) => {
        this.inflight--;
        job.blob = blob || null;
        this.flush();
      },
      'image/jpeg',
      this.settings.jpeg_quality,
    );
    return true;
  }

  flush() {
    while (this.queue.length && this.queue[0].blob !== undefined) {
      const job = this.queue.shift();
      if (!job.blob || !this.running) continue;
      if (!this.canSend()) {
        this.stats.dropped++;
        continue;
      }
      const frame = new this.Blob([job.header, job.blob]);
      this.socket.send(frame);
      this.stats.sent++;
      this.stats.bytes += frame.size;
    }
  }
}

function emptySources() {
  return { capture: 0, display: 0, callback: 0, clock: 0 };
}
