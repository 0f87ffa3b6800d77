// Reference capture page: what a business would write on top of the public
// SDK API (RctVideo and its callbacks) — nothing here reaches into the SDK.
//
// Hooks for automated browser tests: <html data-stage> is the current stage
// (intro, camera, connecting, mirror, flash, evaluating, result) and
// <html data-color> the colour on screen during the flash stage.

const TEXT = {
  en: {
    title: 'Identity check',
    brand: 'Identity check',
    stepCamera: 'Camera',
    stepFace: 'Position',
    stepColours: 'Colours',
    introTitle: "Let's make sure it's you",
    introLead: 'A short check with your front camera. It takes about 20 seconds.',
    how1: 'Allow the camera',
    how1d: 'Used only during this check.',
    how2: 'Fit your face in the circle',
    how2d: 'Find good light and uncover your face.',
    how3: 'Keep still while colours flash',
    how3d: 'Turn your screen brightness up first.',
    start: 'Start',
    flashNote: 'The screen will change colour a few times, about once a second.',
    cameraTitle: 'Allow camera access',
    cameraText: 'When your browser asks, choose “Allow”.',
    connectTitle: 'Getting ready',
    connectText: 'Connecting securely…',
    faceTitle: 'Fit your face in the circle',
    mirrorTip: 'Place your face inside the circle',
    mirrorHint: 'Hold the screen at eye level, about an arm’s length away.',
    flashTitle: 'Keep still',
    flashTip: 'Look at the screen until the colours stop',
    resetTip: 'Let’s start the colours again. Keep your face in the circle.',
    counter: 'Colour {i} of {n}',
    play: 'Tap to show the camera',
    cancel: 'Cancel',
    evalTitle: 'Checking…',
    evalText: 'This only takes a moment. Please keep this page open.',
    retry: 'Try again',
    okTitle: 'You’re verified',
    okText: 'Thank you. Your identity check is complete.',
    okHint: 'You can close this page now.',
    failTitle: 'We couldn’t verify you',
    noRetryTitle: 'Verification not completed',
    attemptsLeft: { one: '1 attempt left', other: '{n} attempts left' },
    retryHint: 'Before trying again: find even light, remove glasses if they reflect, and hold still.',
    cameraErrTitle: 'Camera not available',
    cameraErrHint: 'Allow camera access for this site in your browser settings, then try again.',
    supportErrTitle: 'This browser is not supported',
    supportErrHint: 'Open this link in an up-to-date Chrome, Safari, Edge or Firefox.',
    netErrTitle: 'Connection problem',
    linkErrTitle: 'This link can’t be used',
    linkErrHint: 'Ask for a new verification link.',
    otherWindowHint: 'Use the other window, or continue here.',
    continueHere: 'Continue here',
    missingToken: 'This link is incomplete. Open the verification link you were given again.',
    noSdk: 'The verification component could not be loaded. Check your connection and reload the page.',
    reload: 'Reload',
    footer: 'Secured by Glint',
  },
  zh: {
    title: '身份验证',
    brand: '身份验证',
    stepCamera: '摄像头',
    stepFace: '对准',
    stepColours: '炫彩',
    introTitle: '确认是您本人',
    introLead: '使用前置摄像头进行简短验证，约需 20 秒。',
    how1: '允许使用摄像头',
    how1d: '仅在本次验证中使用。',
    how2: '将脸部置于圆框内',
    how2d: '光线充足，脸部无遮挡。',
    how3: '屏幕变色时保持不动',
    how3d: '开始前请调高屏幕亮度。',
    start: '开始验证',
    flashNote: '屏幕会变换几次颜色，大约每秒一次。',
    cameraTitle: '请允许使用摄像头',
    cameraText: '浏览器询问时，请选择“允许”。',
    connectTitle: '正在准备',
    connectText: '正在建立安全连接…',
    faceTitle: '请将脸部置于圆框内',
    mirrorTip: '请将脸部置于圆框内',
    mirrorHint: '让屏幕与眼睛平齐，距离约一臂远。',
    flashTitle: '请保持不动',
    flashTip: '请注视屏幕，直到颜色停止变化',
    resetTip: '将重新开始变色，请保持脸部在圆框内。',
    counter: '第 {i} / {n} 种颜色',
    play: '点击显示摄像头画面',
    cancel: '取消',
    evalTitle: '正在核验…',
    evalText: '请稍候，不要关闭此页面。',
    retry: '重试',
    okTitle: '验证通过',
    okText: '感谢您的配合，身份验证已完成。',
    okHint: '现在可以关闭此页面。',
    failTitle: '未能验证您的身份',
    noRetryTitle: '验证未完成',
    attemptsLeft: { one: '还可尝试 1 次', other: '还可尝试 {n} 次' },
    retryHint: '重试前：请在光线均匀处进行，如眼镜反光请摘下，并保持不动。',
    cameraErrTitle: '无法使用摄像头',
    cameraErrHint: '请在浏览器设置中允许本网站使用摄像头，然后重试。',
    supportErrTitle: '当前浏览器不受支持',
    supportErrHint: '请使用最新版 Chrome、Safari、Edge 或 Firefox 打开此链接。',
    netErrTitle: '网络连接异常',
    linkErrTitle: '此链接无法使用',
    linkErrHint: '请重新获取验证链接。',
    otherWindowHint: '请在另一个窗口中继续，或在此处继续。',
    continueHere: '在此处继续',
    missingToken: '链接不完整，请重新打开您收到的验证链接。',
    noSdk: '验证组件加载失败，请检查网络后刷新页面。',
    reload: '刷新',
    footer: 'Glint 提供安全保障',
  },
};

const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get('token') || '';

let lang = pickLanguage(params.get('lang') || navigator.language || '');
let video = null;
let colours = 0;
let wakeLock = null;
let lastResult = null;

function pickLanguage(v) {
  return /^(zh|1$)/i.test(String(v).trim()) ? 'zh' : 'en';
}

function t(key, vars) {
  let s = TEXT[lang][key];
  if (s == null) s = TEXT.en[key];
  if (typeof s === 'object') s = vars && vars.n === 1 ? s.one : s.other;
  return String(s).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? vars[k] : ''));
}

function applyLanguage() {
  root.lang = lang === 'zh' ? 'zh-CN' : 'en';
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
  lang = cfg.language === 'zh' ? 'zh' : 'en';
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
