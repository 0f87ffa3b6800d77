// The capture page's postMessage of the outcome (h5/outcome.js), with fake
// windows: only to the allowed origins, only to the parent or opener, and
// nothing but type, token and status.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGE_TYPE, embedOrigins, embedder, postOutcome } from '../../h5/outcome.js';

// A window whose postMessage records (message, targetOrigin).
function fakeWindow() {
  const w = { posts: [] };
  w.postMessage = (msg, origin) => w.posts.push([msg, origin]);
  return w;
}

// A top-level page window: its parent is itself.
function pageWindow(extra) {
  const w = fakeWindow();
  w.parent = w;
  w.opener = null;
  return Object.assign(w, extra);
}

test('data-origins: space-separated origins, anything else dropped', () => {
  assert.deepEqual(embedOrigins(null), []);
  assert.deepEqual(embedOrigins(''), []);
  assert.deepEqual(embedOrigins(' https://a.example  http://b.example:8080 '), [
    'https://a.example',
    'http://b.example:8080',
  ]);
  assert.deepEqual(embedOrigins('* https://a.example/path javascript:x https://c.example'), ['https://c.example']);
});

test('framed: posts to the parent, once per allowed origin', () => {
  const parent = fakeWindow();
  const opener = fakeWindow();
  const win = pageWindow({ parent, opener });
  assert.equal(embedder(win), parent);
  const n = postOutcome(win, ['https://a.example', 'https://b.example'], 'tok', 'SUCCESS');
  assert.equal(n, 2);
  assert.deepEqual(parent.posts, [
    [{ type: MESSAGE_TYPE, token: 'tok', status: 'SUCCESS' }, 'https://a.example'],
    [{ type: MESSAGE_TYPE, token: 'tok', status: 'SUCCESS' }, 'https://b.example'],
  ]);
  assert.equal(opener.posts.length, 0);
  assert.equal(MESSAGE_TYPE, 'glint:result');
});

test('opened by window.open: posts to the opener', () => {
  const opener = fakeWindow();
  const win = pageWindow({ opener });
  postOutcome(win, ['https://a.example'], 'tok', 'LIVENESS_FAILED');
  assert.deepEqual(opener.posts, [[{ type: 'glint:result', token: 'tok', status: 'LIVENESS_FAILED' }, 'https://a.example']]);
  // Only the three fields, nothing biometric.
  assert.deepEqual(Object.keys(opener.posts[0][0]).sort(), ['status', 'token', 'type']);
});

test('never to "*", nor without origins, token or embedder', () => {
  const opener = fakeWindow();
  assert.equal(postOutcome(pageWindow({ opener }), [], 'tok', 'SUCCESS'), 0);
  assert.equal(postOutcome(pageWindow({ opener }), ['https://a.example'], '', 'SUCCESS'), 0);
  assert.equal(postOutcome(pageWindow(), ['https://a.example'], 'tok', 'SUCCESS'), 0);
  assert.equal(opener.posts.length, 0);
  postOutcome(pageWindow({ opener }), embedOrigins('* https://a.example'), 'tok', 'SUCCESS');
  assert.deepEqual(
    opener.posts.map((p) => p[1]),
    ['https://a.example'],
  );
});

test('a throwing embedder (closed opener) does not break the page', () => {
  const opener = {
    postMessage() {
      throw new Error('closed');
    },
  };
  assert.equal(postOutcome(pageWindow({ opener }), ['https://a.example'], 'tok', 'SUCCESS'), 0);
});
