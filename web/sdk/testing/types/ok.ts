// Typed usage of the SDK: must compile under `tsc --strict`
// (sdk/test/types.test.mjs). Imports the shipped declarations, which sit
// beside the bundles in internal/sdk/dist.

import RctVideoDefault, {
  RctVideo,
  RtcVideo,
  SDK_VERSION,
  type ColorStatus,
  type ConfigInfo,
  type Language,
  type ResultCode,
  type ResultDetails,
  type RctVideoOptions,
  type TextDirection,
} from '../../../../internal/sdk/dist/esm/rtcsdk.js';

const tips = document.getElementById('tips') as HTMLElement;
const languages: readonly Language[] = RctVideo.languages;
const dir: TextDirection = RctVideo.direction('ar-EG');
tips.dir = dir;

function onResult(ok: boolean, code: ResultCode | (string & {}), message: string, details: ResultDetails): void {
  const left: number | null = details.remaining;
  const lang: Language = details.language;
  if (code === 'LIVENESS_FAILED' && left !== null && left > 0) video.start();
  tips.textContent = `${ok} ${code} ${message} ${lang}`;
}

const options: RctVideoOptions = {
  videoWrapper: 'video',
  token: 'token-from-get_token',
  host: 'wss://glint.example.com',
  width: '100%',
  height: 320,
  videoPermsTimeout: 60000,
  webSocketTimeout: 10000,
  WebRTCTimeout: 6000,
  language: 'pt-BR',
  mirror: false,
  onlyFailCode: true,
  photosensitivityWarning(text, proceed, decline, language) {
    tips.lang = language;
    tips.textContent = text + ' ' + RctVideo.text('PHOTOSENSITIVITY_CONTINUE', language);
    tips.onclick = proceed;
    tips.ondblclick = decline;
  },
  photosensitivityDeclined() {
    location.href = '/manual-review';
  },
  colorListener(color: string, status: ColorStatus, index: number, sum: number) {
    document.body.style.background = status === 'COLORING' ? color : '';
    tips.textContent = `${index}/${sum}`;
  },
  tipListener(code, text) {
    if (code === 'NoFaceFound' || code === 'SomeFutureTip') tips.textContent = text;
  },
  statusListener(code) {
    if (code === 'FLASHING') tips.textContent = RctVideo.text(code, languages[0]);
  },
  configListener(cfg: ConfigInfo) {
    tips.lang = cfg.language;
    tips.dir = RctVideo.direction(cfg.language);
    const n: number | null = cfg.colorNumber;
    void n;
  },
  resultCallback: onResult,
  autoplayFailCallback(play) {
    tips.onclick = () => void play();
  },
  successCallback(code) {
    console.log(code);
  },
  failCallback(code) {
    console.log(code);
  },
};

const video: RctVideo = new RctVideo(options).start();
video.stop();
const again: RtcVideo = RtcVideo.init({ videoWrapper: tips, token: 't', language: '1' });
const same: typeof RctVideo = RctVideoDefault;
const version: string = SDK_VERSION + video.version + again.language + same.text('SUCCESS', 0);
const fromScriptTag: typeof RctVideo = window.RctVideo;
void version;
void fromScriptTag;
