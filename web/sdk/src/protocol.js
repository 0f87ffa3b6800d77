// Wire protocol between the SDK and Glint's real-time channel
// (GET /faceid/lite/raw/rtc, spec §2.3.1). Kept free of DOM access so that
// node's test runner and the dev server can use it as is.

/* global __SDK_VERSION__ */
// build.mjs defines __SDK_VERSION__ from web/package.json; unbundled (tests) it is absent.
export const SDK_VERSION = typeof __SDK_VERSION__ === 'string' ? __SDK_VERSION__ : 'dev';

export const RTC_PATH = '/faceid/lite/raw/rtc';

// Binary media frame: a 16-byte little-endian header followed by one JPEG.
export const HEADER_BYTES = 16;
export const FRAME_VERSION = 1;
export const KIND_PREVIEW = 1;
export const KIND_FLASH = 2;

// Close codes the server uses after (or instead of) an `error` message.
export const CLOSE_BAD_HELLO = 4001;
export const CLOSE_TOKEN_INVALID = 4003;
export const CLOSE_ATTEMPTS_EXHAUSTED = 4009;
export const CLOSE_TOKEN_FINISHED = 4010;
export const CLOSE_SUPERSEDED = 4011;
export const CLOSE_TOO_MANY_ATTEMPTS = 4029;

// Defaults used until (or when) `config.capture` leaves a field out.
export const DEFAULT_CAPTURE = Object.freeze({
  preview_fps: 5,
  preview_max_side: 320,
  flash_max_side: 640,
  flash_max_fps: 30,
  jpeg_quality: 0.85,
});

/**
 * Encodes the header of a media frame.
 * @param {{kind:number, colorIndex?:number, counter:number, captureTimeMs:number}} f
 * @returns {ArrayBuffer}
 */
export function encodeFrameHeader(f) {
  const buf = new ArrayBuffer(HEADER_BYTES);
  const dv = new DataView(buf);
  dv.setUint8(0, FRAME_VERSION);
  dv.setUint8(1, f.kind);
  dv.setUint16(2, (f.colorIndex || 0) & 0xffff, true);
  dv.setUint32(4, f.counter >>> 0, true);
  dv.setFloat64(8, f.captureTimeMs, true);
  return buf;
}

/**
 * Decodes a media frame (header + JPEG). Returns null when the buffer is too
 * short or of an unknown version. The dev server and the tests use it; the
 * Go server has its own decoder.
 * @param {ArrayBuffer|Uint8Array} data
 */
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < HEADER_BYTES) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint8(0);
  if (version !== FRAME_VERSION) return null;
  return {
    version,
    kind: dv.getUint8(1),
    colorIndex: dv.getUint16(2, true),
    counter: dv.getUint32(4, true),
    captureTimeMs: dv.getFloat64(8, true),
    jpeg: bytes.subarray(HEADER_BYTES),
  };
}

/**
 * The WebSocket URL for a `host` option. Megvii pages pass a bare origin such
 * as "wss://rtc-sgp.megvii.com", so a host without a path gets RTC_PATH; a
 * host with a path is taken as the full endpoint. An empty host means the
 * page's own server.
 * @param {string|undefined} host
 * @param {{protocol:string, host:string}|undefined} location the page's location
 */
export function resolveSocketURL(host, location) {
  let h = host == null ? '' : String(host).trim();
  const pageIsHTTP = !!location && location.protocol === 'http:';
  if (!h) {
    if (!location || !location.host) throw new Error('host is required when the page has no origin');
    return (pageIsHTTP ? 'ws://' : 'wss://') + location.host + RTC_PATH;
  }
  if (/^https?:\/\//i.test(h)) h = 'ws' + h.slice(4);
  else if (!/^wss?:\/\//i.test(h)) h = (pageIsHTTP ? 'ws://' : 'wss://') + h;
  const u = new URL(h);
  if (u.pathname === '' || u.pathname === '/') u.pathname = RTC_PATH;
  return u.toString();
}

/** The first frame the client sends. */
export function helloMessage(token, ua, screen) {
  return {
    type: 'hello',
    token: String(token),
    sdk_version: SDK_VERSION,
    ua: ua || '',
    screen: { w: screen.w | 0, h: screen.h | 0, dpr: Number(screen.dpr) || 1 },
  };
}

export function shownMessage(seqId, index, tClientMs) {
  return { type: 'shown', seq_id: seqId, index: index, t_client_ms: tClientMs };
}

export function cancelMessage() {
  return { type: 'cancel' };
}

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

/**
 * Parses one text frame from the server. Unknown types are returned as is
 * (callers ignore them) so that a newer server can add messages; malformed
 * frames give null.
 * @param {string} text
 */
export function parseServerMessage(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (_) {
    return null;
  }
  if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.type !== 'string') return null;
  switch (m.type) {
    case 'color':
      if (m.status !== 'COLORING' && m.status !== 'DONE' && m.status !== 'RESET') return null;
      // A colour we cannot paint must not be acknowledged as shown.
      if (m.status === 'COLORING' && !COLOR_RE.test(m.color)) return null;
      return {
        type: 'color',
        status: m.status,
        color: typeof m.color === 'string' ? m.color.toUpperCase() : '',
        index: toInt(m.index, 0),
        sum: toInt(m.sum, 0),
        seq_id: m.seq_id == null ? '' : m.seq_id,
        hold_ms: toInt(m.hold_ms, 0),
      };
    case 'tip':
      if (typeof m.code !== 'string' || !m.code) return null;
      return { type: 'tip', code: m.code, text: typeof m.text === 'string' ? m.text : '' };
    case 'status':
      if (typeof m.code !== 'string' || !m.code) return null;
      return { type: 'status', code: m.code };
    case 'result':
      return {
        type: 'result',
        success: m.success === true,
        code: typeof m.code === 'string' && m.code ? m.code : m.success === true ? 'SUCCESS' : 'LIVENESS_FAILED',
        message: typeof m.message === 'string' ? m.message : '',
        attempt: toInt(m.attempt, null),
        remaining: toInt(m.remaining, null),
      };
    case 'error':
      return {
        type: 'error',
        code: typeof m.code === 'string' ? m.code : m.code == null ? '' : String(m.code),
        message: typeof m.message === 'string' ? m.message : '',
      };
    case 'config':
      return {
        type: 'config',
        language: m.language,
        color_number: toInt(m.color_number, null),
        attempt: toInt(m.attempt, null),
        max_upload_times: toInt(m.max_upload_times, null),
        capture: captureSettings(m.capture),
      };
    default:
      return m;
  }
}

function toInt(v, dflt) {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : dflt;
}

/**
 * Capture settings from `config.capture`, clamped to sane ranges so that a
 * misconfigured server cannot make the SDK flood the socket.
 * jpeg_quality is accepted both as 0–1 and as a percentage.
 */
export function captureSettings(c) {
  const s = Object.assign({}, DEFAULT_CAPTURE);
  if (!c || typeof c !== 'object') return s;
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  if (num(c.preview_fps)) s.preview_fps = clamp(c.preview_fps, 0.5, 15);
  if (num(c.preview_max_side)) s.preview_max_side = clamp(Math.round(c.preview_max_side), 64, 1280);
  if (num(c.flash_max_side)) s.flash_max_side = clamp(Math.round(c.flash_max_side), 64, 1920);
  if (num(c.flash_max_fps)) s.flash_max_fps = clamp(c.flash_max_fps, 1, 30);
  let q = num(c.jpeg_quality);
  if (q) {
    if (q > 1) q = q / 100;
    s.jpeg_quality = clamp(q, 0.3, 1);
  }
  return s;
}

// Result codes the SDK reports (spec §3.5), plus SUPERSEDED for close 4011
// and TOO_MANY_ATTEMPTS for close 4029 (the address began too many attempts).
export const RESULT_CODES = Object.freeze([
  'SUCCESS',
  'LIVENESS_FAILED',
  'MORE_RETRY_TIMES',
  'MIRROR_TIMEOUT',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_FINISHED',
  'PERMISSIONS_ERROR',
  'SUPPORT_ERROR',
  'NETWORK_ERROR',
  'INTERNAL_ERROR',
  'SUPERSEDED',
  'TOO_MANY_ATTEMPTS',
]);

// The API side spells some conditions differently (get_result says
// INVALID_TOKEN, errors carry a reason after a colon); integrators should see
// one vocabulary.
const ALIASES = {
  INVALID_TOKEN: 'TOKEN_INVALID',
  EXPIRED_TOKEN: 'TOKEN_EXPIRED',
  'AUTHORIZATION_ERROR:MORE_RETRY_TIMES': 'MORE_RETRY_TIMES',
};

/** Maps a server error code to a result code; unknown codes pass through. */
export function normalizeResultCode(code) {
  if (!code) return '';
  const c = String(code).trim();
  return ALIASES[c.toUpperCase()] || ALIASES[c.toUpperCase().replace(/:\s+/, ':')] || c;
}

/** The result code for a close that was not preceded by result/error. */
export function resultCodeForClose(code) {
  switch (code) {
    case CLOSE_BAD_HELLO:
      // Our own hello was rejected: an SDK/server mismatch, not the user's doing.
      return 'INTERNAL_ERROR';
    case CLOSE_TOKEN_INVALID:
      return 'TOKEN_INVALID';
    case CLOSE_ATTEMPTS_EXHAUSTED:
      return 'MORE_RETRY_TIMES';
    case CLOSE_TOKEN_FINISHED:
      return 'TOKEN_FINISHED';
    case CLOSE_SUPERSEDED:
      return 'SUPERSEDED';
    case CLOSE_TOO_MANY_ATTEMPTS:
      return 'TOO_MANY_ATTEMPTS';
    default:
      return 'NETWORK_ERROR';
  }
}
