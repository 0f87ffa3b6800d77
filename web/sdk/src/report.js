// The SDK's report on the browser and camera it films with (the `env`
// message, spec §2.3.1 as Glint extends it). The server cannot see the
// camera, only the pictures; what the page can tell about where they come
// from goes in this report. It is the page's word, so it only ever
// accuses: an automated browser, a replaced camera function, a track that
// is a canvas or a virtual camera. The server judges it (package session,
// clientSignals).

/** Whether fn is one of the browser's own functions, not a script's. */
export function isNative(fn) {
  if (typeof fn !== 'function') return false;
  try {
    return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn));
  } catch (_) {
    return false;
  }
}

/**
 * What the page can tell about its camera functions: whether the browser
 * is automated and whether getUserMedia or enumerateDevices were replaced.
 * @param {any} nav navigator
 */
export function inspectBrowser(nav) {
  const md = nav && nav.mediaDevices;
  let patched = false;
  if (md) {
    const proto = Object.getPrototypeOf(md);
    for (const name of ['getUserMedia', 'enumerateDevices']) {
      if (typeof md[name] === 'function' && !isNative(md[name])) patched = true;
      if (proto && typeof proto[name] === 'function' && !isNative(proto[name])) patched = true;
    }
  }
  return { webdriver: !!(nav && nav.webdriver === true), mediaPatched: patched };
}

/**
 * Describes a video track: its device's label, what produces it, and the
 * settings the browser applied.
 * @param {any} track a MediaStreamTrack
 */
export function describeTrack(track) {
  const out = { label: '', source: 'unknown', device_id: false };
  if (!track) return out;
  let settings = {};
  try {
    settings = (typeof track.getSettings === 'function' && track.getSettings()) || {};
  } catch (_) {
    settings = {};
  }
  out.label = typeof track.label === 'string' ? track.label.slice(0, 128) : '';
  out.device_id = typeof settings.deviceId === 'string' && settings.deviceId !== '';
  const kind = track.constructor && track.constructor.name;
  if ('canvas' in track || kind === 'CanvasCaptureMediaStreamTrack') out.source = 'canvas';
  else if (kind === 'MediaStreamTrackGenerator' || kind === 'VideoTrackGenerator') out.source = 'generated';
  else if (out.device_id) out.source = 'camera';
  if (typeof settings.facingMode === 'string') out.facing_mode = settings.facingMode;
  if (typeof settings.width === 'number') out.width = settings.width | 0;
  if (typeof settings.height === 'number') out.height = settings.height | 0;
  if (typeof settings.frameRate === 'number' && Number.isFinite(settings.frameRate)) out.frame_rate = settings.frameRate;
  if (typeof settings.resizeMode === 'string') out.resize_mode = settings.resizeMode;
  return out;
}

/**
 * The env message.
 * @param {{webdriver:boolean, mediaPatched:boolean}} browser from inspectBrowser
 * @param {object} track from describeTrack
 * @param {Object<string, number>} [timeSources] where the last sequence's frame times came from
 */
export function envMessage(browser, track, timeSources) {
  const m = { type: 'env', webdriver: !!browser.webdriver, media_patched: !!browser.mediaPatched, track };
  if (timeSources) m.time_sources = Object.assign({}, timeSources);
  return m;
}
