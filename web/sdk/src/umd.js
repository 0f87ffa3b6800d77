// The UMD bundle's value: what `require()` returns and what a <script> tag
// puts on the global object (see the wrapper in build.mjs).

import { RctVideo, RtcVideo, SDK_VERSION } from './index.js';

export { RctVideo, RtcVideo, SDK_VERSION };
