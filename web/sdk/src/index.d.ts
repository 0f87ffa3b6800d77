// TypeScript declarations of the Glint browser SDK (rtcsdk): the public API
// of sdk/src/index.js, hand-written. web/build.mjs copies this file next to
// both bundles (dist/rtcsdk.d.ts, dist/esm/rtcsdk.d.ts); sdk/test/types.test.mjs
// checks it with the TypeScript compiler.

/** Languages of the SDK's texts. `ar` is written right to left. */
export type Language = 'en' | 'zh' | 'es' | 'fr' | 'de' | 'pt' | 'ru' | 'ar' | 'hi' | 'ja';

/**
 * A language as pages and the server give it: a Language, get_token's
 * `"0"` (English) / `"1"` (Chinese), or any BCP 47 tag (`"pt-BR"`: its
 * primary subtag decides). Anything the SDK has no texts for is English.
 */
export type LanguageInput = Language | '0' | '1' | 0 | 1 | (string & {});

/** Tip codes of the mirror stage (tipListener). */
export type TipCode =
  | 'NoFaceFound'
  | 'InvalidFaceYaw'
  | 'InvalidFacePitch'
  | 'InvalidFaceEyeOcclusion'
  | 'InvalidFaceMouth'
  | 'TooFarAwayFromCamera'
  | 'TooCloseFromCamera'
  | 'InvalidFaceOutOfImage'
  | 'MultipleFaces'
  | 'TooDark'
  | 'TooBright'
  | 'FaceBlur'
  | 'KeepStill'
  | 'ScreenBrightnessLow';

/** Status codes the SDK reports itself (statusListener). */
export type StatusCode =
  | 'CAMERA_REQUESTING'
  | 'CAMERA_READY'
  | 'WS_CONNECTING'
  | 'WS_CONNECTED'
  | 'RTC_CONNECTING'
  | 'RTC_CONNECTED'
  | 'MIRROR'
  | 'FLASHING'
  | 'UPLOADING'
  | 'EVALUATING'
  | 'FINISHED';

/** Result codes (resultCallback, successCallback, failCallback). */
export type ResultCode =
  | 'SUCCESS'
  | 'LIVENESS_FAILED'
  | 'MORE_RETRY_TIMES'
  | 'MIRROR_TIMEOUT'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_FINISHED'
  | 'PERMISSIONS_ERROR'
  | 'SUPPORT_ERROR'
  | 'NETWORK_ERROR'
  | 'INTERNAL_ERROR'
  | 'SUPERSEDED'
  | 'TOO_MANY_ATTEMPTS';

/** Further keys of RctVideo.text: the play button and camera failure details. */
export type MessageCode =
  | 'PLAY_VIDEO'
  | 'CAMERA_TIMEOUT'
  | 'CAMERA_IN_USE'
  | 'NO_CAMERA'
  | 'HTTPS_REQUIRED'
  | 'PHOTOSENSITIVITY_WARNING'
  | 'PHOTOSENSITIVITY_CONTINUE'
  | 'PHOTOSENSITIVITY_DECLINE';

/**
 * A page's own photosensitivity warning: show `text` (in `language`), then
 * call `proceed()` to start the camera or `decline()` to end the run
 * (photosensitivityDeclined follows, no resultCallback).
 */
export type PhotosensitivityWarning = (text: string, proceed: () => void, decline: () => void, language: Language) => void;

/** Every code RctVideo.text has a text for. */
export type TextCode = TipCode | StatusCode | ResultCode | MessageCode;

/** colorListener's status: a colour to paint, the sequence done, or back to the mirror stage. */
export type ColorStatus = 'COLORING' | 'DONE' | 'RESET';

/** Writing direction of a language's texts. */
export type TextDirection = 'ltr' | 'rtl';

/** configListener's argument, once the server's config has arrived. */
export interface ConfigInfo {
  /** The language of the texts from now on (the token's, or the page's where the token's is the English default). */
  language: Language;
  /** Colours in one flash sequence. */
  colorNumber: number | null;
  /** This attempt's number, from 1. */
  attempt: number | null;
  /** Attempts the token allows. */
  maxUploadTimes: number | null;
}

/** resultCallback's fourth argument (Glint). */
export interface ResultDetails {
  attempt: number | null;
  /** Attempts left; retry with start() while > 0 after LIVENESS_FAILED. */
  remaining: number | null;
  language: Language;
}

/** Constructor options (spec §3.2; the Glint additions are marked). */
export interface RctVideoOptions {
  /** Id of an empty element, or the element; the SDK inserts a <video> there. */
  videoWrapper: string | HTMLElement;
  /** From get_token. */
  token: string;
  /** `wss://host`, `https://host`, a URL with a path, or empty for the page's own server. */
  host?: string;
  /** CSS width of the video (a number is pixels). Default `"320px"`. */
  width?: string | number;
  /** CSS height of the video (a number is pixels). Default `"320px"`. */
  height?: string | number;
  /** Milliseconds to wait for camera permission before PERMISSIONS_ERROR. Default 6000. */
  videoPermsTimeout?: number;
  /** Milliseconds from connect until the server's config before NETWORK_ERROR. Default 6000. */
  webSocketTimeout?: number;
  /** Accepted and ignored (Glint has no WebRTC connection). */
  WebRTCTimeout?: number;

  colorListener?: (color: string, status: ColorStatus, index: number, sum: number) => void;
  /** `text` is the server's text, or the SDK's in the page's language. */
  tipListener?: (code: TipCode | (string & {}), text: string) => void;
  /** The SDK's codes, or any status code the server sends. */
  statusListener?: (code: StatusCode | (string & {})) => void;
  /** One call per start(). Unknown server codes are passed through. */
  resultCallback?: (isSuccess: boolean, code: ResultCode | (string & {}), message: string, details: ResultDetails) => void;
  /** The browser refused to autoplay the video: call `play()` inside a user gesture. */
  autoplayFailCallback?: (play: () => Promise<void> | void) => void;

  /** Megvii's older option: called after resultCallback on success. */
  successCallback?: (code: ResultCode | (string & {})) => void;
  /** Megvii's older option: called after resultCallback on failure. */
  failCallback?: (code: ResultCode | (string & {})) => void;
  /** With failCallback: only the instance's first failure is reported. Default true. */
  onlyFailCode?: boolean;

  /** Glint: the server's config, once connected. */
  configListener?: (config: ConfigInfo) => void;
  /** Glint: the language of the texts; default the browser's (see README). */
  language?: LanguageInput;
  /** Glint: show the preview mirrored (frames sent are never mirrored). Default true. */
  mirror?: boolean;
  /**
   * Glint: ask before the camera starts (so before any colour) whether the
   * person wants to see flashing colours. `true`: the SDK's own overlay in
   * videoWrapper, with Continue and Not now; a function: the page's own
   * warning. Default false (pages written for Megvii's SDK are unchanged).
   * The text: `RctVideo.text('PHOTOSENSITIVITY_WARNING', language)`.
   */
  photosensitivityWarning?: boolean | PhotosensitivityWarning;
  /** Glint: the person declined at the photosensitivity warning; the run has ended without a result. */
  photosensitivityDeclined?: () => void;
}

/** The recorder object, call-compatible with Megvii's raw-jssdk. */
export declare class RctVideo {
  constructor(options: RctVideoOptions);

  /** Megvii's older entry point: construct and start. */
  static init(options: RctVideoOptions): RctVideo;
  /** The text of a code in a language; `''` for an unknown code, English for an unknown language. */
  static text(code: TextCode | (string & {}), language?: LanguageInput): string;
  /** "rtl" for right-to-left languages, else "ltr". */
  static direction(language?: LanguageInput): TextDirection;
  /** Every language with texts, English first. */
  static readonly languages: readonly Language[];
  /** The SDK version (also RctVideo.SDK_VERSION in the UMD bundle). */
  static readonly SDK_VERSION?: string;

  /** The options given, with defaults filled in. */
  readonly options: Readonly<RctVideoOptions>;
  /** The SDK version. */
  readonly version: string;
  /** The language of the texts. */
  readonly language: Language;
  /** As the server last reported them; null before. */
  readonly attempt: number | null;
  readonly remaining: number | null;
  readonly maxUploadTimes: number | null;

  /** Starts a run (camera, connection, flashes, one result); a no-op while one is in progress. */
  start(): this;
  /** Ends the current run without a callback: cancel, close, release the camera. */
  stop(): this;
}

/** Another spelling of RctVideo. */
export declare const RtcVideo: typeof RctVideo;
export type RtcVideo = RctVideo;

/** The SDK version. */
export declare const SDK_VERSION: string;

export default RctVideo;

declare global {
  /** Set by the UMD bundle loaded with a <script> tag. */
  interface Window {
    RctVideo: typeof RctVideo;
    RtcVideo: typeof RctVideo;
  }
}
