// Deliberate type errors: `tsc --strict` must reject this file, with an
// error on exactly the lines marked "error:" (sdk/test/types.test.mjs).

import { RctVideo, type Language, type ResultCode } from '../../../../internal/sdk/dist/esm/rtcsdk.js';

new RctVideo({ videoWrapper: 'video' }); // error: token is required
new RctVideo({ videoWrapper: 'video', token: 42 }); // error: token is a string
new RctVideo({ videoWrapper: 'video', token: 't', mirror: 'yes' }); // error: mirror is a boolean
new RctVideo({ videoWrapper: 'video', token: 't', colour: 'red' }); // error: no such option
new RctVideo({ videoWrapper: 'video', token: 't', photosensitivityWarning: 'yes' }); // error: a boolean or a function
new RctVideo({
  videoWrapper: 'video',
  token: 't',
  colorListener(color: number) {}, // error: color is a string
});
const lang: Language = 'xx'; // error: not a language with texts
const code: ResultCode = 'SUCCEEDED'; // error: not a result code
const n: number = RctVideo.text('SUCCESS'); // error: text returns a string
new RctVideo({ videoWrapper: 'video', token: 't' }).start().play(); // error: no play method
void lang;
void code;
void n;
