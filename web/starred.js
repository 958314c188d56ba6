// starred.js: starred messages (protocol 1.2, §25), loaded with the
// message menu (actions.js imports it for its "Star"), at the ★ button of
// the list's header, once STARRED lists a star at login, or at a STAR
// event. The server keeps the stars, so every device of mine shows the
// same: a star made here is sent, and each device (this one too) hears
// the STAR event that follows.
//
// Here: which messages are starred (`stars`), the ★ a bubble wears
// (view.js asks `starred(chat, msg)` through its hook), the menu's Star /
// Unstar, and the "Starred messages" view: STARRED's HISTORY lines,
// newest first, each opening its chat at the message (search.js's
// `reveal`). A deleted message's star is hidden, as the server's
// `protocol::erase::star_shows` rules: its bubble wears no ★, and the
// view asks STARRED again. Texts go in as text.

import { request, parseHistoryLine, parseQuote, isRoom, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { el, preview, shortTime, say } from './view.js';
import { reveal } from './search.js';

addStrings({
  en: { star: 'Star', unstar: 'Unstar', starredMark: 'Starred', starredCount: '{n} starred, newest first', noneStarred: 'No starred messages: star one from its ⋯ menu' },
  es: { star: 'Destacar', unstar: 'No destacar', starredMark: 'Destacado', starredCount: '{n} destacados, los más nuevos primero', noneStarred: 'Ningún mensaje destacado: destaca uno desde su menú ⋯' },
  pt: { star: 'Favoritar', unstar: 'Desfavoritar', starredMark: 'Favorita', starredCount: '{n} favoritas, as mais novas primeiro', noneStarred: 'Nenhuma mensagem favorita: marque uma pelo menu ⋯' },
});

const $ = (id) => document.getElementById(id);
/** The starred messages' keys: `<chat>\n<from>\n<id>`, folded as the server folds them. */
const stars = new Set();

const key = (chat, from, id) => `${fold(chat)}\n${fold(from)}\n${id}`;

/** Lends `starred` to the conversation's view (view.js draws the ★ with it); `app`: the app's state (state.js). */
function hook(app) {
  app.view.starred = starred;
}

/** Whether `msg` of `chat` wears a ★ (never a deleted one: §25). */
export function starred(chat, msg) {
  return Boolean(chat) && !msg.deleted && stars.has(key(chat.name, msg.from, msg.id));
}

/** STARRED's lines at login (or after a reconnection): the whole list, as the server has it. */
export function load(app, lines) {
  hook(app);
  fill(app, lines.map(parseHistoryLine).filter(Boolean));
}

/** The stars are those of STARRED's `found` messages, as the server lists them; the open chat's ★ redrawn. */
function fill(app, found) {
  const model = app.model;
  stars.clear();
  for (const m of found) stars.add(key(chatOf(model, m), m.from, m.id));
  redrawOpen(app);
}

/** A STAR event: one of my devices (maybe this one) starred a message or took the star back. */
export function onEvent(app, { chat, from, id, starred: on }) {
  hook(app);
  if (on) stars.add(key(chat, from, id));
  else stars.delete(key(chat, from, id));
  redrawOpen(app);
  if (!$('starred-panel')?.hidden) show(app);
}

/** The menu's Star / Unstar of `msg` of `chat`: sent; the STAR event that follows draws it. */
export async function toggle(app, chat, msg) {
  hook(app);
  const on = !starred(chat, msg);
  try {
    const { reply } = await app.link.request(request.star(chat.name, msg.from, msg.id, on));
    if (!reply.ok) say(t('refused', { reason: reply.reason || reply.code }));
  } catch (e) {
    say(t('failed', { reason: e.message }));
  }
}

/** The chat of a HISTORY line, as this user names it: the room, or the other one of a direct chat. */
function chatOf(model, m) {
  return isRoom(m.to) ? m.to : model.isMe(m.from) ? m.to : m.from;
}

/** Draws the open chat's bubbles again, their ★ as they are now. */
function redrawOpen(app) {
  const view = app.view;
  if (!view.chat) return;
  for (const msg of view.chat.messages) view.redraw(msg);
}

/** The "Starred messages" view: asks STARRED and lists what it says (the ★ button of the header opens it). */
export async function show(app) {
  hook(app);
  const panel = $('starred-panel') || makePanel();
  panel.hidden = false;
  $('starred-button').setAttribute('aria-expanded', 'true');
  let answer;
  try {
    answer = await app.link.request(request.starred());
  } catch (e) {
    $('starred-count').textContent = t('failed', { reason: e.message });
    return;
  }
  if (!answer.reply.ok) {
    $('starred-count').textContent = t('refused', { reason: answer.reply.reason || answer.reply.code });
    return;
  }
  const found = answer.lines.map(parseHistoryLine).filter(Boolean);
  fill(app, found);
  $('starred-count').textContent = found.length ? t('starredCount', { n: found.length }) : t('noneStarred');
  $('starred-list').replaceChildren(...found.map((m) => item(app, m)));
}

function item(app, m) {
  const model = app.model;
  const chat = chatOf(model, m);
  const b = el('button', 'result');
  b.type = 'button';
  b.dataset.chat = fold(chat);
  b.dataset.id = m.id;
  const who = model.isMe(m.from) ? t('you') : m.from;
  const text = el('span', '', preview(parseQuote(m.text)?.body ?? m.text, m));
  text.dir = 'auto';
  b.append(el('span', 'from', `★ ${who}${isRoom(chat) || model.isMe(m.from) ? ` · ${chat}` : ''} · ${shortTime(m.ts)}`), text);
  b.addEventListener('click', () => reveal(app, chat, m));
  const li = el('li');
  li.append(b);
  return li;
}

/** The view's section, after the search results, made at its first showing. */
function makePanel() {
  const panel = el('section', 'search-panel');
  panel.id = 'starred-panel';
  panel.setAttribute('aria-label', t('starredTitle'));
  panel.setAttribute('aria-live', 'polite');
  const title = el('h3', '', `★ ${t('starredTitle')}`);
  const count = el('p', 'note');
  count.id = 'starred-count';
  const list = el('ul', 'results');
  list.id = 'starred-list';
  const close = el('button', 'secondary', t('close'));
  close.type = 'button';
  close.addEventListener('click', () => {
    panel.hidden = true;
    $('starred-button').setAttribute('aria-expanded', 'false');
  });
  panel.append(title, count, list, close);
  $('search-panel').after(panel);
  return panel;
}
