// fates.js: what the message actions of 1.2 (§19) did to a chat's
// messages; protocol/fates.rs is the Rust side. chats.js calls it for each
// message it gets (live, a copy from my other device, a HISTORY line). An
// action is never a bubble: it changes the message it names, in whatever
// order lines come (an edit or a reaction counts only if newer than the
// one applied). A deletion wins, and the text leaves memory at once, with
// its quotes in replies (chatlist.js's `applied` scrubs the outbox).

import { parseAction, parseQuote, quoteLine, snippet, DELETED, REACTIONS, fold } from './wire.js';

const keyOf = (author, id) => `${fold(author)}\n${id}`;

function fatesOf(chat) {
  if (!chat.fates) chat.fates = { seen: new Set(), edits: new Map(), deleted: new Set(), reacts: new Map() };
  return chat.fates;
}

/**
 * If `msg` is an action, applies it to `chat` and returns `{changed,
 * erased}`: the messages to draw again, and the quote lines of a deleted
 * text (to scrub from anything kept); null for an ordinary message.
 */
export function applyAction(chat, msg) {
  const action = parseAction(msg.id, msg.text);
  if (!action) return null;
  const f = fatesOf(chat);
  const none = { changed: [], erased: [] };
  const seen = keyOf(msg.from, msg.id);
  // An admin's delete (`_x`) is a room's: in a chat of two it names nobody.
  if (f.seen.has(seen) || !action.act || (action.act === 'remove' && !chat.room)) return none;
  f.seen.add(seen);
  if (action.act === 'react' || action.act === 'unreact') {
    let on = f.reacts.get(action.target);
    if (!on) f.reacts.set(action.target, (on = new Map()));
    const who = `${action.emoji}\n${fold(msg.from)}`;
    if ((on.get(who)?.stamp ?? -1) > action.stamp) return none;
    on.set(who, { stamp: action.stamp, on: action.act === 'react' });
    const target = newest(chat, action.target);
    return { changed: target ? [target] : [], erased: [] };
  }
  const key = keyOf(action.act === 'remove' ? action.author : msg.from, action.target);
  if (f.deleted.has(key)) return none;
  if (action.act === 'edit') {
    if ((f.edits.get(key)?.stamp ?? -1) > action.stamp) return none;
    f.edits.set(key, { stamp: action.stamp, text: action.text });
  } else {
    f.deleted.add(key);
    f.edits.delete(key);
  }
  const target = chat.keys.get(key);
  return target ? settle(chat, target) : none;
}

/** Applies what is known of `msg`'s fate (a message may come after its actions). */
export function settle(chat, msg) {
  const f = chat.fates;
  const out = { changed: [msg], erased: [] };
  if (!f || msg.deleted) return out;
  const key = keyOf(msg.from, msg.id);
  if (f.deleted.has(key)) {
    out.erased = [...(msg.quotes || []), quoteLine(msg.from, msg.text)];
    out.changed.push(...scrub(chat, out.erased));
    msg.text = DELETED;
    msg.deleted = true;
    msg.edited = false;
    delete msg.quotes;
    return out;
  }
  const edit = f.edits.get(key);
  if (edit && edit.stamp > (msg.editStamp ?? -1)) {
    // A reply may quote any version of the text: kept to scrub them if it goes.
    (msg.quotes ||= new Set()).add(quoteLine(msg.from, msg.text));
    msg.text = edit.text;
    msg.edited = true;
    msg.editStamp = edit.stamp;
  }
  return out;
}

/**
 * The quote a reply `msg` of `chat` starts with, as `{author, quoted,
 * body}`, or null. The wire gives no reply metadata but the quote itself
 * (a REPLY reaches everyone as a MSG whose first line the server wrote),
 * so a quote is drawn only when the message it quotes is in the chat and
 * says that, now or before an edit (or is deleted and the quote says so):
 * what the server's quote of a real REPLY always is. Never from the look
 * of a text alone: a MSG whose first line is `> teacher: you all pass`
 * is drawn as the text it is: nobody forges a quote. 1.3: a reply written
 * on another server names its authors as that server does: `bob@lab2`
 * for its own `bob`, and `ana@<server>` for ana of this server (`server`,
 * INFO's name), so an author is compared as an address.
 */
export function replyQuote(chat, msg, server = null) {
  const quote = parseQuote(msg.text);
  if (!quote || !chat) return null;
  const author = fold(quote.author);
  const names = (from) => fold(from) === author || (server && !from.includes('@') && `${fold(from)}@${fold(server)}` === author);
  const real = chat.messages.find((m) => {
    if (m === msg || !names(m.from)) return false;
    return snippet(m.text) === quote.quoted || Boolean(m.quotes && m.quotes.has(`> ${m.from}: ${quote.quoted}`));
  });
  // Drawn under the name the chat knows its author by.
  return real ? { ...quote, author: real.from } : null;
}

/** Replies of `chat` quoting one of `lines` now quote `(message deleted)`. */
function scrub(chat, lines) {
  const changed = [];
  for (const m of chat.messages) {
    const quote = parseQuote(m.text);
    if (quote && lines.includes(`> ${quote.author}: ${quote.quoted}`)) {
      m.text = `> ${quote.author}: ${DELETED}\n${quote.body}`;
      changed.push(m);
    }
  }
  return changed;
}

/** The newest message `id` of `chat` (a reaction names its message by id only). */
function newest(chat, id) {
  for (let i = chat.messages.length - 1; i >= 0; i--) if (chat.messages[i].id === id) return chat.messages[i];
  return null;
}

/**
 * The reactions on `msg`: `[{emoji, n, mine}]`, those of REACTIONS in its
 * order, then any other emoji by code point (as the consoles list them).
 */
export function reactionsOn(chat, msg, me) {
  const on = chat.fates?.reacts.get(msg.id);
  if (!on || msg.deleted || newest(chat, msg.id) !== msg) return [];
  const counts = new Map();
  for (const [key, r] of on) {
    if (!r.on) continue;
    const cut = key.indexOf('\n');
    const emoji = key.slice(0, cut);
    const count = counts.get(emoji) ?? { emoji, n: 0, mine: false };
    count.n += 1;
    if (key.slice(cut + 1) === fold(me)) count.mine = true;
    counts.set(emoji, count);
  }
  const rank = (e) => (REACTIONS.includes(e) ? REACTIONS.indexOf(e) : REACTIONS.length);
  const byPoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...counts.values()].sort((a, b) => rank(a.emoji) - rank(b.emoji) || byPoint(a.emoji, b.emoji));
}
