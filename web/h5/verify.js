// Reference capture page: what a business would write on top of the public
// SDK API (RctVideo and its callbacks) — nothing here reaches into the SDK.
//
// Hooks for automated browser tests: <html data-stage> is the current stage
// (intro, camera, connecting, mirror, flash, evaluating, result) and
// <html data-color> the colour on screen during the flash stage.

import { HTML_LANG, TEXT } from './texts.js';
import { embedOrigins, postOutcome } from './outcome.js';

const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
// Origins that may frame or open this page, from the server (outcome.js).
const origins = embedOrigins(root.getAttribute('data-origins'));

// ?lang= (any tag; the SDK gets it too) or the browser's language until the
// SDK's config names the language to show (see configListener).
const langParam = params.get('lang') || '';
let lang = pickLanguage(langParam || navigator.language || '');
let video = null;
let colours = 0;
let wakeLock = null;
let lastResult = null;

// Right-to-left languages among TEXT's.
const RTL = ['ar'];

// "0"/"1" (get_token) or a BCP 47 tag → a key of TEXT; English otherwise.
function pickLanguage(v) {
  const s = String(v).trim().toLowerCase();
  if (s === '1') return 'zh';
  const primary = s.split(/[-_]/)[0];
  return Object.prototype.hasOwnProperty.call(TEXT, primary) ? primary : 'en';
}

function t(key, vars) {
  let s = TEXT[lang][key];
  if (s == null) s = TEXT.en[key];
  if (typeof s === 'object') s = vars && vars.n === 1 ? s.one : s.other;
  return String(s).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? vars[k] : ''));
}

function applyLanguage() {
  root.lang = HTML_LANG[lang] || lang;
  root.dir = RTL.indexOf(lang) >= 0 ? 'rtl' : 'ltr';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.getAttribute('data-t'));
  if (lastResult) renderResult(lastResult);
}

// screen: which section is visible; stage: finer state for tests and CSS;
// step: the header's 1–3 indicator (4 = all done).
function show(screen, stage, step) {
  const changed = root.getAttribute('data-screen') !== screen;
  root.setAttribute('data-screen', screen);
  root.setAttribute('data-stage', stage);
  if (step) root.setAttribute('data-step', String(step));
  else root.removeAttribute('data-step');
  if (changed) {
    // Move screen-reader focus to the new screen's heading.
    const h = document.querySelector('.screen[data-screen="' + screen + '"] h1');
    if (h) h.focus({ preventScroll: true });
  }
}

function paint(colour) {
  if (colour) {
    root.style.setProperty('--flash', colour);
    root.style.setProperty('--flash-ink', inkFor(colour));
    root.setAttribute('data-color', colour);
  } else {
    root.style.removeProperty('--flash');
    root.style.removeProperty('--flash-ink');
    root.removeAttribute('data-color');
  }
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', colour || '#ffffff');
}

// Black or white, whichever has the higher WCAG contrast with the colour.
function inkFor(hex) {
  const lin = (i) => {
    const c = parseInt(hex.substr(i, 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  const l = 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

function setPips(index, sum) {
  const pips = $('pips');
  if (pips.children.length !== sum) {
    pips.textContent = '';
    for (let i = 0; i < sum; i++) pips.appendChild(document.createElement('li'));
  }
  Array.prototype.forEach.call(pips.children, (li, i) => {
    li.className = i + 1 < index ? 'done' : i + 1 === index ? 'now' : '';
  });
  $('counter').textContent = t('counter', { i: index, n: sum });
  $('ring-progress').style.strokeDashoffset = String(100 - (100 * index) / Math.max(1, sum));
}

function setTip(text) {
  const el = $('tip');
  if (el.textContent !== text) el.textContent = text;
}

function enterMirror(tip) {
  show('capture', 'mirror', 2);
  $('ring-progress').style.strokeDashoffset = '';
  $('capture-title').textContent = t('faceTitle');
  setTip(tip || t('mirrorTip'));
}

// --- SDK callbacks ---------------------------------------------------------

function statusListener(code) {
  switch (code) {
    case 'CAMERA_REQUESTING':
      show('prepare', 'camera', 1);
      $('prepare-title').textContent = t('cameraTitle');
      $('prepare-text').textContent = t('cameraText');
      break;
    case 'CAMERA_READY':
    case 'WS_CONNECTING':
      show('prepare', 'connecting', 1);
      $('prepare-title').textContent = t('connectTitle');
      $('prepare-text').textContent = t('connectText');
      break;
    case 'MIRROR':
      if (root.getAttribute('data-stage') !== 'mirror') enterMirror();
      break;
    default:
  }
}

function configListener(cfg) {
  // The SDK's choice: the token's language, or ours where the token's is
  // the English default.
  lang = pickLanguage(cfg.language);
  colours = cfg.colorNumber || 0;
  applyLanguage();
}

// Tips also matter while flashing: a face that drifts away is about to
// cause a RESET, and the person can still correct it.
function tipListener(code, text) {
  const stage = root.getAttribute('data-stage');
  if (text && (stage === 'mirror' || stage === 'flash')) setTip(text);
}

function colorListener(colour, status, index, sum) {
  if (status === 'COLORING') {
    paint(colour);
    if (root.getAttribute('data-stage') !== 'flash') {
      show('capture', 'flash', 3);
      $('capture-title').textContent = t('flashTitle');
      setTip(t('flashTip'));
    }
    setPips(index, sum || colours);
  } else if (status === 'DONE') {
    paint(null);
    show('evaluating', 'evaluating', 4);
  } else {
    paint(null);
    enterMirror(t('resetTip'));
  }
}

function autoplayFailCallback(play) {
  const b = $('play');
  b.hidden = false;
  b.onclick = () => {
    b.hidden = true;
    play();
  };
}

function resultCallback(ok, code, message, details) {
  paint(null);
  releaseWakeLock();
  $('play').hidden = true;
  lastResult = { ok, code, message, details: details || {} };
  renderResult(lastResult);
  show('result', 'result', ok ? 4 : null);
  postOutcome(window, origins, token, code);
}

function renderResult(r) {
  const remaining = r.details.remaining;
  let title;
  let hint = '';
  let retry = '';
  let attempts = '';
  switch (r.code) {
    case 'SUCCESS':
      title = t('okTitle');
      hint = t('okHint');
      break;
    case 'LIVENESS_FAILED':
      if (remaining == null || remaining > 0) {
        title = t('failTitle');
        retry = t('retry');
        hint = t('retryHint');
        if (remaining != null) attempts = t('attemptsLeft', { n: remaining });
      } else {
        title = t('noRetryTitle');
      }
      break;
    case 'PERMISSIONS_ERROR':
      title = t('cameraErrTitle');
      hint = t('cameraErrHint');
      retry = t('retry');
      break;
    case 'SUPPORT_ERROR':
      title = t('supportErrTitle');
      hint = t('supportErrHint');
      break;
    case 'NETWORK_ERROR':
    case 'INTERNAL_ERROR':
      title = t('netErrTitle');
      retry = t('retry');
      break;
    case 'SUPERSEDED':
      title = t('noRetryTitle');
      hint = t('otherWindowHint');
      retry = t('continueHere');
      break;
    case 'NO_SDK':
      title = t('netErrTitle');
      retry = t('reload');
      break;
    case 'TOKEN_INVALID':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_FINISHED':
      title = t('linkErrTitle');
      hint = t('linkErrHint');
      break;
    default:
      title = t('noRetryTitle');
  }
  root.setAttribute('data-outcome', r.ok ? 'ok' : 'fail');
  $('result-title').textContent = title;
  $('result-text').textContent = r.ok ? t('okText') : r.message;
  $('result-attempts').textContent = attempts;
  $('result-hint').textContent = hint;
  const b = $('retry');
  b.hidden = !retry;
  b.textContent = retry;
}

// --- Flow ------------------------------------------------------------------

function begin() {
  if (lastResult && lastResult.code === 'NO_SDK') {
    location.reload();
    return;
  }
  lastResult = null;
  paint(null);
  requestWakeLock();
  if (!video) {
    video = new window.RctVideo({
      videoWrapper: 'video-wrapper',
      token: token,
      language: langParam || undefined,
      // Empty host: the SDK connects back to the server that served this page.
      host: '',
      width: '100%',
      height: '100%',
      // People need time to read the browser's permission prompt.
      videoPermsTimeout: 60000,
      webSocketTimeout: 10000,
      statusListener,
      configListener,
      tipListener,
      colorListener,
      resultCallback,
      autoplayFailCallback,
    });
  }
  video.start();
}

function cancel() {
  if (video) video.stop();
  paint(null);
  releaseWakeLock();
  show('intro', 'intro', null);
}

// The screen must not dim or lock during the colours.
function requestWakeLock() {
  if (!navigator.wakeLock || wakeLock) return;
  navigator.wakeLock.request('screen').then(
    (l) => {
      wakeLock = l;
      l.addEventListener('release', () => {
        wakeLock = null;
      });
    },
    () => {},
  );
}

function releaseWakeLock() {
  if (wakeLock) wakeLock.release().catch(() => {});
  wakeLock = null;
}

function init() {
  applyLanguage();
  $('start').addEventListener('click', begin);
  $('retry').addEventListener('click', begin);
  $('cancel').addEventListener('click', cancel);
  if (!token) {
    resultCallback(false, 'TOKEN_INVALID', t('missingToken'), {});
    return;
  }
  if (typeof window.RctVideo !== 'function') {
    resultCallback(false, 'NO_SDK', t('noSdk'), {});
    return;
  }
  show('intro', 'intro', null);
}

init();
