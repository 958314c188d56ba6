// receipts.js: a room message's Info (protocol 1.2, §31), loaded at the
// first tap on "Info" in the menu of one of my messages in a room
// (actions.js offers it there). A drawer over the conversation, as
// Details is: the message, how many members it went to, "Read by" then
// "Delivered to", each member by the name the app shows (a display name
// with the account's, §30) and when, and how many have it not yet; in a
// room of more than 64 members, that receipts are not kept there (its
// messages stay at ✓).
//
// It asks RECEIPTS when it opens, and again while it stays open: at each
// STATUS of the room and message of another member there (events.js
// says so), and every 15 s while the tab is shown, since the server
// tells a sender only when every member has it (✓✓) or read it, never
// each one. ✕, Esc and the phone's Back (back.js) close it, the focus
// back on the message's ⋯.

import { request, parseReceipts, parseQuote, fold } from './wire.js';
import { t, addStrings, lang } from './i18n.js';
import { el, avatar, faces, preview, refusal } from './view.js';

addStrings({
  en: {
    infoTitle: 'Message info', readBy: 'Read by', deliveredTo: 'Delivered to', noOneYet: 'No one yet',
    sentTo: 'Sent to {n} members', sentToOne: 'Sent to {n} member', remaining: '{n} remaining', remainingOne: '{n} remaining',
    whenGone: 'time no longer kept', receiptsLarge: 'Receipts are not kept in rooms over {most} members ({room} has {n}): its messages stay at ✓.',
  },
  es: {
    infoTitle: 'Info. del mensaje', readBy: 'Leído por', deliveredTo: 'Entregado a', noOneYet: 'Nadie aún',
    sentTo: 'Enviado a {n} miembros', sentToOne: 'Enviado a {n} miembro', remaining: 'Faltan {n}', remainingOne: 'Falta {n}',
    whenGone: 'hora ya no guardada', receiptsLarge: 'Las confirmaciones no se guardan en salas de más de {most} miembros ({room} tiene {n}): sus mensajes quedan en ✓.',
  },
  pt: {
    infoTitle: 'Dados da mensagem', readBy: 'Lida por', deliveredTo: 'Entregue a', noOneYet: 'Ninguém ainda',
    sentTo: 'Enviada a {n} membros', sentToOne: 'Enviada a {n} membro', remaining: 'Faltam {n}', remainingOne: 'Falta {n}',
    whenGone: 'hora não guardada', receiptsLarge: 'As confirmações não são guardadas em salas com mais de {most} membros ({room} tem {n}): as mensagens ficam em ✓.',
  },
});

const $ = (id) => document.getElementById(id);
/** How often an open Info asks again, while its tab is shown. */
const EVERY_MS = 15000;
/** What the drawer shows: `{app, chat, msg}`, kept after it closes (Forward opens it again). */
let shown = null;
let timer = null;

const clock = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
const dated = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
/** When a member got or read it: the time today, else the day too. */
function when(ts) {
  if (ts === null) return t('whenGone');
  return new Date(ts).toDateString() === new Date().toDateString() ? clock.format(ts) : dated.format(ts);
}

// Esc closes the Info first (it lies over the rest), unless a message's menu is open: app.js closes that.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented || $('info-panel').hidden || document.querySelector('#messages .menu')) return;
  e.preventDefault();
  close();
}, true);

/** Opens the Info of my message `msg` of the room `chat`; `app`: the app's state (state.js). */
export function open(app, chat, msg) {
  if (!$('info-title')) build();
  shown = { app, chat, msg };
  $('info-text').textContent = preview(parseQuote(msg.text)?.body ?? msg.text, msg); // a reply's own words
  $('info-panel').hidden = false;
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) ask(); }, EVERY_MS);
  $('info-close').focus();
  return ask();
}

/** Forward to the Info's entry (back.js): the message last shown, if its chat is still the open one. */
export function reopen() {
  if (shown && shown.app.view.chat === shown.chat && shown.chat.messages.includes(shown.msg)) open(shown.app, shown.chat, shown.msg);
}

/** Closes the drawer, the focus back on the message's ⋯ if it was inside. */
export function close() {
  const panel = $('info-panel');
  clearInterval(timer);
  if (panel.hidden) return;
  const inside = panel.contains(document.activeElement);
  panel.hidden = true;
  if (inside) shown?.app.view.elements.get(shown.msg)?.querySelector('.more')?.focus();
}

/** Something moved in `room` (a STATUS, another member's message: events.js): the open Info of one of its messages asks again. */
export function changed(room) {
  if (shown && !$('info-panel').hidden && fold(room) === fold(shown.chat.name)) ask();
}

/** RECEIPTS of the message shown, drawn when it answers (if it is still the one shown). */
async function ask() {
  const asked = shown;
  let answer;
  try {
    answer = await asked.app.link.request(request.receipts(asked.chat.name, asked.msg.id));
  } catch (e) {
    if (shown === asked) $('info-to').textContent = refusal(e);
    return;
  }
  if (shown !== asked || $('info-panel').hidden) return;
  if (!answer.reply.ok) {
    $('info-to').textContent = refusal(answer.reply);
    return;
  }
  draw(asked.chat, parseReceipts(answer.lines));
}

/** The drawer as RECEIPTS said: the count, who read it, who has it, how many have it not yet; or, in a large room, why none of it. */
function draw(chat, got) {
  const large = got.large;
  $('info-to').textContent = large ? t('receiptsLarge', { most: large.most, room: chat.name, n: large.members }) : t('sentTo', { n: got.to });
  for (const id of ['info-read-title', 'info-read', 'info-delivered-title', 'info-delivered', 'info-waiting']) $(id).hidden = Boolean(large);
  if (large) return;
  const rows = (list) => (list.length ? list.map(row) : [el('li', 'sub', t('noOneYet'))]);
  $('info-read').replaceChildren(...rows(got.read));
  $('info-delivered').replaceChildren(...rows(got.delivered));
  const waiting = got.to - got.read.length - got.delivered.length;
  $('info-waiting').hidden = waiting <= 0;
  $('info-waiting').textContent = t('remaining', { n: waiting });
}

/** A member's line: face, shown name, when. */
function row({ user, ts }) {
  const item = el('li');
  const time = el('time', 'sub', when(ts));
  if (ts !== null) time.dateTime = new Date(ts).toISOString();
  item.append(avatar(user), el('span', 'who', faces.shown(user)), time);
  return item;
}

/** The drawer's insides, made at its first opening (its section is index.html's: back.js watches it from the login). */
function build() {
  const panel = $('info-panel');
  const shut = el('button', 'secondary icon', '✕');
  shut.type = 'button';
  shut.id = 'info-close';
  shut.setAttribute('aria-label', t('close'));
  shut.addEventListener('click', close);
  const head = el('div', 'drawer-head');
  head.append(Object.assign(el('h3', '', t('infoTitle')), { id: 'info-title' }), shut);
  const text = Object.assign(el('p', 'note'), { id: 'info-text', dir: 'auto' });
  text.style.cssText = 'white-space: pre-wrap; overflow-wrap: anywhere; margin: .6em 0';
  const to = Object.assign(el('p', ''), { id: 'info-to' });
  to.setAttribute('role', 'status');
  const section = (key, id) => {
    const title = Object.assign(el('h4', '', t(key)), { id: `${id}-title` });
    const list = Object.assign(el('ul', 'members'), { id });
    list.setAttribute('aria-labelledby', title.id);
    return [title, list];
  };
  const waiting = Object.assign(el('p', 'note'), { id: 'info-waiting' });
  panel.append(head, text, to, ...section('readBy', 'info-read'), ...section('deliveredTo', 'info-delivered'), waiting);
}
