// stay.js: a token of this browser's own, loaded only when one is made:
// "Link with a code" (`pair`), and "Stay signed in on this device"
// (`stay`): once in by password, the browser links itself as a
// browser linked with a code is linked (LINK, then PAIR as the same
// device, on a fresh socket) and keeps only the device's token, as
// session.js keeps a linked one's; the next load logs in with it, outside
// the password-guessing limits (docs/PROTOCOL.md §16). The password is
// never written down, and leaves memory here.

import { REPLY_MS } from './link.js';
import { request, parseReply } from './wire.js';

/** Makes `link`'s device (`device`) one with a token, kept under `key`. */
export async function stay(link, base, device, key) {
  const { reply } = await link.request(request.link());
  if (!reply.ok) throw reply;
  const token = await pair(base, link.user, device, reply.value);
  // The sockets log in again with the token: a session of the device as
  // it is on record now (a later LINK, "Link a new device", checks that).
  Object.assign(link.who, { secret: token, token: true });
  link.close();
  link.connect();
  localStorage.setItem(key, JSON.stringify({ user: link.user, device, token }));
}

/**
 * Links this browser as `device` of `user` with a code that `/link` (or
 * another browser's "Link a new device") showed: `PAIR` as the first frame
 * of a fresh send socket. Resolves with the device's token, rejects with
 * the server's KO (a wrong, used or expired code is `AUTH_FAILED`).
 */
export function pair(base, user, device, code) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/ws/send`);
    const timer = setTimeout(() => ws.close(), REPLY_MS);
    ws.onopen = () => ws.send(request.pair(user, device, code));
    ws.onmessage = (e) => {
      clearTimeout(timer);
      const reply = parseReply(e.data);
      if (reply && reply.ok && /^[A-Za-z0-9]{16,128}$/.test(reply.value)) {
        ws.send(request.quit());
        resolve(reply.value);
      } else {
        reject(reply || { ok: false, code: 'BAD_REQUEST', reason: e.data });
      }
      ws.onclose = null;
      setTimeout(() => ws.close(), 100);
    };
    ws.onclose = () => {
      clearTimeout(timer);
      reject({ ok: false, code: 'OFFLINE', reason: 'cannot reach the server' });
    };
  });
}
