// chats.js: what the app knows of the conversations, and the outbox.
//
// No DOM here and no frames: view.js draws this, wire.js and link.js
// carry it. Messages are kept per conversation, once each (the wire is
// at-least-once: a message seen again by its (from, id) is dropped), and
// states only move forward (SENT … → RECEIVED ✓ → DELIVERED ✓✓ → READ).

import { fold, isRoom, isChat, fileText, readId, DELETED } from './wire.js';
import { applyAction, settle } from './fates.js';
import { mentions } from './mentions.js';

export const ORDER = ['SENT', 'RECEIVED', 'DELIVERED', 'READ'];
/** Bounces kept per chat for messages not held yet: as many as the server remembers a user's (state::bounces). */
const MOST_BOUNCES = 256;

export class Model {
  constructor(me) {
    this.me = me;
    this.chats = new Map(); // fold(name) → chat
    this.online = new Set(); // fold(user)
    this.blocked = new Set(); // fold(user), 1.2: BLOCKS and BLOCKED events
    this.server = null; // 1.3: this server's name in a class network (INFO, refresh.js)
  }

  isMe(name) {
    return fold(name) === fold(this.me);
  }

  /** The conversation named `name` (a user or #room), created if new. */
  chat(name) {
    const key = fold(name);
    let chat = this.chats.get(key);
    if (!chat) {
      chat = { name, room: isRoom(name), unread: 0, mentions: 0, level: 'all', pinned: false, archived: false, last: null, messages: [], keys: new Map(), more: true, seen: null, typingUntil: 0 };
      this.chats.set(key, chat);
    }
    return chat;
  }

  /** The conversation a message belongs to. */
  chatOf(msg) {
    if (isRoom(msg.to)) return this.chat(msg.to);
    return this.chat(this.isMe(msg.from) ? msg.to : msg.from);
  }

  /**
   * Adds a message (`{from, to, id, ts, text, state}`); returns the one
   * kept (the earlier copy if it was known) and whether it is new. An
   * action (1.2) is applied instead (fates.js): `msg` is null, `changed`
   * the messages to draw again, `erased` the quotes of a deleted text.
   */
  add(msg) {
    const chat = this.chatOf(msg);
    const read = readId(msg.id, msg.text);
    if (read.kind === 'bounce') return { chat, msg: null, added: false, ...this.bounced(chat, msg, read) };
    const acted = applyAction(chat, msg);
    if (acted) return { chat, msg: null, added: false, ...acted };
    // 1.3: HISTORY's FAILED, a message of mine that bounced: its reason is
    // the bounce's line, which follows it.
    const failed = msg.state === 'FAILED';
    if (failed) msg.state = 'RECEIVED';
    const key = `${fold(msg.from)}\n${msg.id}`;
    const known = chat.keys.get(key);
    if (known) {
      if (msg.ts && known.state === 'SENT') known.ts = msg.ts;
      raise(known, msg.state);
      if (failed && !known.failed) Object.assign(known, { failed: chat.bounces?.get(msg.id) || 'FAILED', bounced: true });
      return { chat, msg: known, added: false };
    }
    msg.mine = this.isMe(msg.from);
    // 1.2: a room message that names me with @ (mentions.js), highlighted and counted apart.
    msg.mention = chat.room && !msg.mine && mentions(msg.text, this.me);
    chat.keys.set(key, msg);
    let at = chat.messages.length;
    while (at > 0 && chat.messages[at - 1].ts > msg.ts && msg.ts) at--;
    chat.messages.splice(at, 0, msg);
    if (msg.mine && chat.bounces?.has(msg.id)) Object.assign(msg, { failed: chat.bounces.get(msg.id), bounced: true });
    else if (failed) Object.assign(msg, { failed: 'FAILED', bounced: true });
    settle(chat, msg);
    if (!chat.last || msg.ts >= chat.last.ts || !chat.last.ts) chat.last = chat.messages[chat.messages.length - 1];
    return { chat, msg, added: true };
  }

  /**
   * Adds an outbox entry's message (`queued`); returns what `add` does.
   * A copy kept from before a reload (store.js keeps texts, no files)
   * gets the entry's file, which shows from the bytes kept here.
   */
  queue(entry) {
    const added = this.add(queued(entry, this.me));
    if (entry.file && added.msg && !added.msg.file) added.msg.file = { ...entry.file, local: true };
    return added;
  }

  /**
   * 1.3 (§27): a bounce (wire.js's `readId`), a message of the server's
   * and never a bubble: my message it names is marked failed, with the
   * peer's reason (kept in `chat.bounces` for a message not held yet, a
   * reload's HISTORY brings it). A JOIN refused is said as `joinRefused`.
   * What `add` returns for an action: the messages to draw again.
   */
  bounced(chat, msg, read) {
    if (read.join) return { changed: [], erased: [], joinRefused: read.reason };
    const bounces = (chat.bounces ||= new Map());
    bounces.set(read.id, read.reason);
    if (bounces.size > MOST_BOUNCES) bounces.delete(bounces.keys().next().value);
    const target = chat.keys.get(`${fold(this.me)}\n${read.id}`);
    if (!target) return { changed: [], erased: [] };
    Object.assign(target, { failed: read.reason, bounced: true });
    return { changed: [target], erased: [] };
  }

  /** A STATUS: the messages whose tick changes (READ covers earlier ones;
   *  in a room (1.2, §31) a DELIVERED does too: one is said for a burst). */
  status(peer, id, state) {
    const chat = this.chat(peer);
    const target = chat.keys.get(`${fold(this.me)}\n${id}`);
    if (!target) return [];
    const changed = [];
    for (const msg of chat.messages) {
      const cumulative = state === 'READ' || peer.startsWith('#');
      const covered = msg === target || (cumulative && msg.mine && msg.ts && msg.ts <= target.ts);
      if (covered && raise(msg, state)) changed.push(msg);
    }
    return changed;
  }

  /** Conversations, the pinned ones (1.2) first, then newest activity first. */
  ordered() {
    const at = (c) => (c.last ? c.last.ts || Date.now() : 0);
    return [...this.chats.values()].sort((a, b) => b.pinned - a.pinned || at(b) - at(a) || a.name.localeCompare(b.name));
  }

  /** The newest message of `chat` from someone else, to say READ for. */
  lastFromOthers(chat) {
    for (let i = chat.messages.length - 1; i >= 0; i--) if (!chat.messages[i].mine) return chat.messages[i];
    return null;
  }
}

/** Moves a message's state forward; true if it changed. */
function raise(msg, state) {
  if (ORDER.indexOf(state) > ORDER.indexOf(msg.state)) {
    msg.state = state;
    return true;
  }
  return false;
}

/**
 * Messages typed while the server was unreachable, kept in the browser's
 * `storage` (per server and user) until the server answers OK for
 * them: they survive a reload, and are sent again with their ids, which
 * the server deduplicates as from any client. A text is `{to, id, ts,
 * text}` (and a reply's `re` and `quote`); a photo, a file or a voice
 * message is `{to, id, ts, caption, file: {name, size, type}}`, its bytes
 * kept by files.js (IndexedDB) beside it, and `upload` once the server
 * gave them a file id (so that a cut upload goes on where it stopped).
 */
export class Outbox {
  constructor(key, storage = localStorage) {
    this.key = key;
    this.storage = storage;
    try {
      this.entries = JSON.parse(storage.getItem(key) || '[]');
      if (!Array.isArray(this.entries)) this.entries = [];
    } catch (_) {
      this.entries = [];
    }
  }

  add(entry) {
    this.entries.push(entry);
    this.save();
  }

  /** A reply waiting here forgets its quote of a deleted text (`lines`). */
  scrub(lines) {
    for (const e of this.entries) if (lines.includes(e.quote)) e.quote = `${e.quote.split(': ', 1)[0]}: ${DELETED}`;
    this.save();
  }

  remove(id) {
    this.entries = this.entries.filter((e) => e.id !== id);
    this.save();
  }

  save() {
    try {
      this.storage.setItem(this.key, JSON.stringify(this.entries));
    } catch (_) {
      /* storage full or denied: the outbox lives in memory only */
    }
  }
}

/** The message an outbox entry shows as until the server has it (`SENT`, `…`): as the server will store its text. */
export function queued(entry, me) {
  const text = entry.file ? fileText(entry.file.name, entry.file.size, entry.caption)
    : entry.quote ? `${entry.quote}\n${entry.text}` : entry.text;
  const msg = { from: me, to: entry.to, id: entry.id, ts: entry.ts, text, state: 'SENT' };
  if (entry.file) msg.file = { ...entry.file, local: true };
  return msg;
}

/** A new message id: time and randomness, `[A-Za-z0-9_-]`. */
export function newId() {
  const random = new Uint32Array(2);
  crypto.getRandomValues(random);
  return `w${Date.now().toString(36)}${random[0].toString(36)}${random[1].toString(36)}`.slice(0, 64);
}

/**
 * What was typed and not sent, per chat (a draft): kept in `storage`
 * (per server and user) so that it survives a reload, and shown as
 * "Draft:" in the chat list. Each chat has its own, so a text
 * typed for one chat is never sent into another. Bounded as the composer
 * is: at most MOST_DRAFTS chats of a message's length each.
 */
export class Drafts {
  constructor(key, storage = localStorage) {
    this.key = key;
    this.storage = storage;
    try {
      const kept = JSON.parse(storage.getItem(key) || '{}');
      this.texts = new Map(Object.entries(kept && typeof kept === 'object' ? kept : {}).filter(([, v]) => typeof v === 'string'));
    } catch (_) {
      this.texts = new Map();
    }
  }

  get(name) {
    return this.texts.get(fold(name)) || '';
  }

  /** The chats that have a draft (names checked as the network's are: another version of the app may have written them). */
  names() {
    return [...this.texts.keys()].filter(isChat);
  }

  /** Keeps `text` as the draft of `name` (an empty one is forgotten). */
  set(name, text) {
    const key = fold(name);
    if ((this.texts.get(key) || '') === text) return;
    this.texts.delete(key);
    if (text.trim()) this.texts.set(key, text.slice(0, 65536)); // the composer's most (sending.js: 16 messages)
    while (this.texts.size > MOST_DRAFTS) this.texts.delete(this.texts.keys().next().value);
    try {
      this.storage.setItem(this.key, JSON.stringify(Object.fromEntries(this.texts)));
    } catch (_) {
      /* storage full or denied: the drafts live in memory only */
    }
  }
}

/** Chats a draft is kept for; the oldest draft goes first. */
const MOST_DRAFTS = 100;
