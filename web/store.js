// store.js: what the browser keeps of the chats, so that a reload with
// no network still shows the chat list and the open chat (offline).
// In localStorage, per server and user, beside the outbox: the newest
// messages of the most recent chats, as the model has them now, so a
// deleted text is already `(message deleted)` and leaves the copy at the
// next save (chatlist.js's `applied` saves at once after a deletion). Bounded: at most
// KEPT_CHATS chats of KEPT_MESSAGES messages. Only a browser that stays
// signed in (a token) keeps them.
//
// And `forget`: everything an account left in this browser, at "Log out"
// (account.js) or once the browser is unlinked. Every key the app keeps
// for an account ends with `:<host>:<user folded>` (the chats here, the
// outbox and the drafts of chats.js), in localStorage or, for a
// password's login, in the tab's sessionStorage; the token (`wachat:link:`)
// and the last user name (`wachat:user:`) are per server, and go if they
// are this account's; the bytes of files still queued to send are in
// IndexedDB (`wachat-outbox`, files.js), deleted whole. Nothing else holds
// an account's data: no cookie, and the service worker keeps the app's
// files only.

import { isChat, isUser, isId } from './wire.js';

const KEPT_CHATS = 40;
const KEPT_MESSAGES = 50;

const keyOf = (host, user) => `wachat:kept:${host}:${user.toLowerCase()}`;

/** What `model` holds, and the chat open (`openKey`), written down. */
export function keep(host, model, openKey) {
  const chats = model.ordered().slice(0, KEPT_CHATS).map((c) => ({
    name: c.name, unread: c.unread, mentions: c.mentions || 0, memberCount: c.memberCount, level: c.level, pinned: c.pinned, archived: c.archived,
    messages: c.messages.slice(-KEPT_MESSAGES).map((m) => ({
      from: m.from, to: m.to, id: m.id, ts: m.ts, text: m.text, state: m.state, edited: m.edited, deleted: m.deleted,
    })),
  }));
  try {
    localStorage.setItem(keyOf(host, model.me), JSON.stringify({ open: openKey, blocked: [...model.blocked], chats }));
  } catch (_) {
    /* storage full or denied: nothing kept, the app still works online */
  }
}

/** Fills `model` with what was kept; the chat that was open, or null. */
export function restore(host, model) {
  let kept;
  try {
    kept = JSON.parse(localStorage.getItem(keyOf(host, model.me)));
  } catch (_) {
    return null;
  }
  if (!kept || !Array.isArray(kept.chats)) return null;
  for (const c of kept.chats) {
    if (!c || typeof c.name !== 'string' || !isChat(c.name) || !Array.isArray(c.messages)) continue;
    const chat = model.chat(c.name);
    for (const m of c.messages) {
      // What was kept is read as carefully as the network (another version of the app may have written it).
      if (!m || !isUser(m.from) || !isChat(m.to) || !isId(m.id) || typeof m.text !== 'string' || !Number.isFinite(m.ts)) continue;
      const { msg } = model.add({ ...m });
      if (msg) Object.assign(msg, { edited: Boolean(m.edited), deleted: Boolean(m.deleted) });
    }
    Object.assign(chat, { unread: c.unread | 0, mentions: c.mentions | 0, memberCount: c.memberCount, level: c.level || 'all', pinned: Boolean(c.pinned), archived: Boolean(c.archived) });
  }
  for (const user of kept.blocked || []) model.blocked.add(String(user).toLowerCase());
  return typeof kept.open === 'string' ? kept.open : null;
}

export const hasKept = (host, user) => localStorage.getItem(keyOf(host, user)) !== null;

/** The user a kept token is for, folded ('' if it does not say). */
function userOf(json) {
  try {
    return String(JSON.parse(json).user).toLowerCase();
  } catch (_) {
    return '';
  }
}

/** Forgets everything `user` left in this browser for the server at `host` (see the top). */
export function forget(host, user) {
  const mine = `:${host}:${user.toLowerCase()}`;
  for (const storage of [localStorage, sessionStorage]) {
    for (const key of Object.keys(storage)) {
      const value = storage.getItem(key) || '';
      const ours = key.startsWith('wachat:') && key.endsWith(mine);
      const token = key === `wachat:link:${host}` && userOf(value) === user.toLowerCase();
      const name = key === `wachat:user:${host}` && value.toLowerCase() === user.toLowerCase();
      if (ours || token || name) storage.removeItem(key);
    }
  }
  // The bytes of files still queued to send (files.js): gone once the page
  // that holds the database open is left.
  try {
    indexedDB.deleteDatabase('wachat-outbox');
  } catch (_) {
    // No IndexedDB (a private window of some browsers): nothing was kept.
  }
}
