// The outcome of a capture, posted to the page that embeds this one: the
// parent window when framed, the opener when opened by window.open. Only
// to the origins the server allows for the token's key, which it writes
// into <html data-origins="…"> (space-separated); with none, nothing is
// posted. The message carries no biometric data, only what the
// integrator's page needs to move on; its server reads the result itself
// with get_result.

export const MESSAGE_TYPE = 'glint:result';

// The allowed origins in a data-origins value.
export function embedOrigins(attr) {
  return String(attr || '')
    .split(/\s+/)
    .filter((o) => /^https?:\/\/[^\s/?#]+$/.test(o));
}

// The window to post to: the parent if framed, else the opener, else null.
export function embedder(win) {
  if (win.parent && win.parent !== win) return win.parent;
  if (win.opener && win.opener !== win) return win.opener;
  return null;
}

// Posts {type, token, status} to win's embedder once per allowed origin:
// the browser delivers it only where the embedder's origin is the one
// named, so no other origin can read it. Returns the number of posts.
export function postOutcome(win, origins, token, status) {
  const target = embedder(win);
  if (!target || !token || origins.length === 0) return 0;
  const msg = { type: MESSAGE_TYPE, token: String(token), status: String(status) };
  let n = 0;
  for (const origin of origins) {
    try {
      target.postMessage(msg, origin);
      n++;
    } catch (e) {
      // A closed opener, or an origin the browser refuses: nothing to do.
    }
  }
  return n;
}
