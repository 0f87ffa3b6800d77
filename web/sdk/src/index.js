// Entry point of both bundles. Megvii's pages use three spellings of one
// class (spec §3.2): RctVideo, RtcVideo and RctVideo.init.

import { RctVideo } from './rtcvideo.js';
import { SDK_VERSION } from './protocol.js';

export { RctVideo, SDK_VERSION };
export const RtcVideo = RctVideo;
export default RctVideo;
