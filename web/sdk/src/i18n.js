// Texts for tip, status and result codes. The server localises the tips and
// results it sends (spec §3.7); these tables fill in when it sends a code
// without text and cover the failures the SDK detects itself.

const EN = {
  // Tips (spec §3.4).
  NoFaceFound: 'Place your face inside the circle',
  InvalidFaceYaw: 'Look straight at the screen',
  InvalidFacePitch: 'Keep your head level and face the screen',
  InvalidFaceEyeOcclusion: 'Make sure your eyes are not covered',
  InvalidFaceMouth: 'Make sure your mouth is not covered',
  TooFarAwayFromCamera: 'Move a little closer',
  TooCloseFromCamera: 'Move back a little',
  InvalidFaceOutOfImage: 'Keep your whole face inside the circle',
  MultipleFaces: 'Make sure only one person is in view',
  TooDark: 'It is too dark. Find a brighter place',
  TooBright: 'Too much light. Avoid direct light on your face',
  FaceBlur: 'The image is blurry. Hold your device steady',
  KeepStill: 'Keep still',
  ScreenBrightnessLow: 'Turn your screen brightness up',

  // Status (spec §3.4).
  CAMERA_REQUESTING: 'Requesting camera access…',
  CAMERA_READY: 'Camera ready',
  WS_CONNECTING: 'Connecting…',
  WS_CONNECTED: 'Connected',
  RTC_CONNECTING: 'Starting the video…',
  RTC_CONNECTED: 'Video started',
  MIRROR: 'Checking your position',
  FLASHING: 'Keep still while the screen changes colour',
  UPLOADING: 'Sending…',
  EVALUATING: 'Checking…',
  FINISHED: 'Finished',

  // Results (spec §3.5).
  SUCCESS: 'Verification complete.',
  LIVENESS_FAILED: 'We could not confirm that it was you. Please try again.',
  MORE_RETRY_TIMES: 'No attempts are left for this verification.',
  MIRROR_TIMEOUT: 'Your face was not detected in time.',
  TOKEN_INVALID: 'This verification link is not valid.',
  TOKEN_EXPIRED: 'This verification link has expired.',
  TOKEN_FINISHED: 'This verification has already been completed.',
  PERMISSIONS_ERROR: 'Camera access was not allowed.',
  SUPPORT_ERROR: 'This browser cannot use the camera for verification.',
  NETWORK_ERROR: 'The connection was lost. Check your network and try again.',
  INTERNAL_ERROR: 'Something went wrong. Please try again later.',
  SUPERSEDED: 'This verification was opened in another window.',
  TOO_MANY_ATTEMPTS: 'Too many attempts from this network. Please try again later.',

  PLAY_VIDEO: 'Tap to start the camera',
};

const ZH = {
  NoFaceFound: '请将脸部置于圆框内',
  InvalidFaceYaw: '请正对屏幕，不要侧脸',
  InvalidFacePitch: '请保持头部端正，不要抬头或低头',
  InvalidFaceEyeOcclusion: '请勿遮挡眼睛',
  InvalidFaceMouth: '请勿遮挡嘴巴',
  TooFarAwayFromCamera: '请靠近一点',
  TooCloseFromCamera: '请离远一点',
  InvalidFaceOutOfImage: '请将整张脸保持在圆框内',
  MultipleFaces: '请确保画面中只有一人',
  TooDark: '光线太暗，请换到明亮的地方',
  TooBright: '光线太强，请避免强光直射面部',
  FaceBlur: '画面模糊，请拿稳设备',
  KeepStill: '请保持不动',
  ScreenBrightnessLow: '请调高屏幕亮度',

  CAMERA_REQUESTING: '正在请求摄像头权限…',
  CAMERA_READY: '摄像头已就绪',
  WS_CONNECTING: '正在连接…',
  WS_CONNECTED: '已连接',
  RTC_CONNECTING: '正在启动视频…',
  RTC_CONNECTED: '视频已启动',
  MIRROR: '正在检查位置',
  FLASHING: '屏幕变色期间请保持不动',
  UPLOADING: '正在上传…',
  EVALUATING: '正在核验…',
  FINISHED: '已结束',

  SUCCESS: '验证完成。',
  LIVENESS_FAILED: '未能确认是您本人，请重试。',
  MORE_RETRY_TIMES: '本次验证的尝试次数已用完。',
  MIRROR_TIMEOUT: '未能及时检测到人脸。',
  TOKEN_INVALID: '验证链接无效。',
  TOKEN_EXPIRED: '验证链接已过期。',
  TOKEN_FINISHED: '该验证已完成。',
  PERMISSIONS_ERROR: '未获得摄像头权限。',
  SUPPORT_ERROR: '当前浏览器无法使用摄像头进行验证。',
  NETWORK_ERROR: '网络连接中断，请检查网络后重试。',
  INTERNAL_ERROR: '系统出现问题，请稍后再试。',
  SUPERSEDED: '该验证已在其他窗口中打开。',
  TOO_MANY_ATTEMPTS: '此网络的尝试次数过多，请稍后再试。',

  PLAY_VIDEO: '点击开启摄像头',
};

const TABLES = { en: EN, zh: ZH };

/**
 * Maps the token language as the server sends it ("0"/"1" as in get_token,
 * or a BCP 47 tag) to "en" or "zh". Anything unrecognised is English, the
 * get_token default.
 */
export function normalizeLanguage(lang) {
  if (lang === 1 || lang === '1') return 'zh';
  if (typeof lang === 'string' && /^zh\b/i.test(lang.trim())) return 'zh';
  return 'en';
}

/** The text for a tip, status or result code, or '' if the code is unknown. */
export function textFor(code, lang) {
  const t = TABLES[normalizeLanguage(lang)];
  return Object.prototype.hasOwnProperty.call(t, code) ? t[code] : '';
}
