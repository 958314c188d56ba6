// sending.js: a message from the composer to the server. What is typed
// is kept as the chat's draft until it is sent; a sent message goes to
// the outbox first (chats.js's Outbox, kept in the browser), shows at
// once with one tick, and leaves the outbox at the server's answer. An
// entry the server refuses for now is sent again, the same id; one cut
// off goes again at the next reconnection (`flushOutbox`). A text longer
// than one message holds goes as several, marked `(1/2) `, `(2/2) ` as
// the console sends them (`split`).

import { request, parseMsgOk, fold, MAX_TEXT } from './wire.js';
import { newId } from './chats.js';
import { addStrings, t } from './i18n.js';
import { banner } from './view.js';
import { draw } from './chatlist.js';
import { paged } from './conversation.js';

const $ = (id) => document.getElementById(id);

addStrings({
  en: { tooLong: 'Too long to send: {n} characters, more than {max} messages. Send it as a file, or in pieces.' },
  es: { tooLong: 'Demasiado largo para enviar: {n} caracteres, más de {max} mensajes. Envíalo como archivo, o por partes.' },
  pt: { tooLong: 'Longo demais para enviar: {n} caracteres, mais de {max} mensagens. Envie como arquivo, ou em partes.' },
});

/** Most messages one text goes as (src/client/split.rs's MAX_PARTS: 64 KiB of text). */
const MAX_PARTS = 16;
const encoder = new TextEncoder();
const bytes = (text) => encoder.encode(text).length;

/**
 * `text` as the messages to send, as the console cuts it
 * (src/client/split.rs, the same rule): itself if it fits in 4,096
 * bytes, else parts that each fit, marker included, cut after a line
 * break, else a space, in the last quarter of a part, a word only if
 * there is neither, a character never; the break or space at a cut is
 * dropped.
 */
export function split(text) {
  if (bytes(text) <= MAX_TEXT) return [text];
  // The marker's width depends on how many parts there are: 9, then 99, … until it holds.
  for (let digits = 1; ; digits++) {
    const parts = cut(text, MAX_TEXT - (2 * digits + 4));
    if (parts.length < 10 ** digits) return parts.map((part, i) => `(${i + 1}/${parts.length}) ${part}`);
  }
}

/** `text` in pieces of at most `size` bytes (UTF-8), cut as `split` says. */
function cut(text, size) {
  const parts = [];
  let rest = text;
  while (bytes(rest) > size) {
    // The longest start of `rest` that fits, in whole characters.
    let window = '';
    let used = 0;
    for (const c of rest) {
      const n = bytes(c);
      if (used + n > size) break;
      window += c;
      used += n;
    }
    // A cut's place in bytes, as the console counts it: in the window's last quarter, not at its start.
    const tail = used - Math.floor(used / 4);
    const at = (c) => {
      const i = window.lastIndexOf(c);
      return i > 0 && bytes(window.slice(0, i)) >= tail ? i : -1;
    };
    const i = at('\n') >= 0 ? at('\n') : at(' ');
    if (i >= 0) {
      parts.push(rest.slice(0, i));
      rest = rest.slice(i + 1);
    } else {
      parts.push(window);
      rest = rest.slice(window.length);
    }
  }
  if (rest || !parts.length) parts.push(rest);
  return parts;
}

/** The ids of the outbox entries sent and not yet answered: each goes once at a time. */
const inFlight = new Set();
/** The next wait of an outbox entry refused for now, by id. */
const retryWait = new Map();

/** Keeps what the composer holds as the open chat's draft (an edit of a sent message is none). */
export function keepDraft(app) {
  if (app.openKey && app.drafts && app.actions?.mode?.kind !== 'edit') app.drafts.set(app.openKey, $('input').value);
}

/** The composer's Send: an edit (actions.js), or a new message (a reply, if one is quoted) through the outbox. */
export function send(app) {
  const text = $('input').value.replace(/\r/g, '');
  if (!text.trim() || !app.openKey) return;
  const chat = app.model.chat(app.openKey);
  if (app.actions?.edit(chat, text)) {
    $('input').value = '';
    return;
  }
  const parts = split(text);
  if (parts.length > MAX_PARTS) {
    banner(t('tooLong', { n: [...text].length.toLocaleString(), max: MAX_PARTS }));
    return;
  }
  // A reply's quote goes with its first part; each part is a message of its own, with its own id.
  const entries = parts.map((part, i) => ({ to: chat.name, id: newId(), text: part, ts: Date.now(), ...(i === 0 && app.actions?.replyTo(chat)) }));
  try {
    for (const entry of entries) sendLine(entry); // checks each fits
  } catch (e) {
    banner(t('failed', { reason: e.message }));
    return;
  }
  $('input').value = '';
  app.drafts.set(chat.name, '');
  for (const entry of entries) enqueue(app, entry);
}

/** Puts a new message in the outbox (a text here, a file from files.js), shows it, and sends it if online. */
export function enqueue(app, entry) {
  app.outbox.add(entry);
  const { msg } = app.model.queue(entry);
  if (app.view.chat === app.model.chatOf(msg)) app.view.append(msg);
  draw(app);
  trySend(app, entry);
}

/** Sends every entry of the outbox (after a login or a reconnection). */
export function flushOutbox(app) {
  for (const entry of app.outbox.entries) {
    if (!inFlight.has(entry.id)) waited.add(entry.id); // it did not go before this login
    trySend(app, entry);
  }
}

/** Sends an outbox entry if online; it leaves the outbox at the server's answer. */
function trySend(app, entry) {
  const { link } = app;
  if (inFlight.has(entry.id)) return;
  if (!link || link.status !== 'online') {
    waited.add(entry.id);
    return;
  }
  inFlight.add(entry.id);
  // A file goes through files.js (its bytes, then its FILE), a text in one line.
  const sending = entry.file ? import('./files.js').then((m) => m.deliver(app, entry, () => app.outbox.save())) : link.request(sendLine(entry));
  sending
    .then(({ reply }) => {
      inFlight.delete(entry.id);
      // Refused for now (--rate; 1.2's UNAVAILABLE, a cluster failing
      // over): the same id again, 250 ms doubling to 4 s, as the Rust clients do.
      if (!reply.ok && (reply.code === 'RATE_LIMITED' || reply.code === 'UNAVAILABLE')) {
        const wait = Math.min((retryWait.get(entry.id) || 125) * 2, 4000);
        retryWait.set(entry.id, wait);
        setTimeout(() => trySend(app, entry), wait);
        return;
      }
      retryWait.delete(entry.id);
      app.outbox.remove(entry.id);
      const { model, view } = app;
      const chat = model.chat(entry.to);
      const msg = chat.keys.get(`${fold(model.me)}\n${entry.id}`);
      if (!msg) return;
      if (reply.ok) {
        const ok = parseMsgOk(reply.value);
        if (ok) msg.ts = ok.ts;
        if (msg.state === 'SENT') msg.state = 'RECEIVED';
        if (entry.file) msg.file = { ...entry.file, id: entry.upload.id }; // now the server's, to fetch and forward
        if (waited.delete(entry.id)) placeAsStored(app, chat);
      } else {
        msg.failed = reply.reason || reply.code;
        banner(t('failed', { reason: msg.failed }));
      }
      if (view.chat === chat) view.redraw(msg); // its tick, and now its actions
      draw(app);
    })
    .catch(() => {
      // Cut off: it stays in the outbox for the next reconnection, whose
      // flush it may have missed while this attempt was still winding
      // down; if the link is back already, it goes again now.
      inFlight.delete(entry.id);
      if (app.link && app.link.status === 'online') setTimeout(() => trySend(app, entry), 250);
    });
}

/**
 * The ids of outbox entries that could not go at once (written offline,
 * or kept across a reload): the server stores each when it gets it, after
 * what others sent meanwhile, which may come later than it here.
 */
const waited = new Set();

/**
 * A message that waited was stored: the chat is read again from the server
 * (its newest page, asked after the message on the same connection, so it
 * holds it), and drawn in the server's order, which a reload shows too.
 * A chat not open is read again when it opens.
 */
function placeAsStored(app, chat) {
  if (app.view.chat !== chat) {
    chat.cursor = undefined;
    return;
  }
  if (chat.rereading) return;
  chat.rereading = paged(app).then((m) => m.newest(app, chat, true)).catch(() => {}).finally(() => { chat.rereading = null; });
}

/** An outbox entry's line: a MSG, or (1.2) the REPLY to `re`. */
function sendLine(entry) {
  return entry.re ? request.reply(entry.to, entry.id, entry.re, entry.text) : request.msg(entry.to, entry.id, entry.text);
}
