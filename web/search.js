// search.js: finding messages (SEARCH, protocol 1.2 §19), loaded at the
// first search. The box above the chat list looks through the open chat
// or, with "All chats" (`*`), through all of yours; the server answers
// with at most 50 HISTORY lines, newest first. A result opens its chat,
// scrolled to the message when it is loaded. Texts go in as text.

import { request, parseHistoryLine, parseAction, parseQuote, isRoom, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { preview, shortTime } from './view.js';
import { openChat } from './conversation.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { found: '{n} found', notFound: 'Nothing found' },
  es: { found: '{n} encontrados', notFound: 'Nada encontrado' },
  pt: { found: '{n} encontradas', notFound: 'Nada encontrado' },
});

/** Searches what the box says; `app`: the app's state (state.js). */
export async function search(app) {
  const words = $('search-words').value.trim();
  if (!words || !app.link) return;
  let answer;
  try {
    const here = $('search-scope').value === 'here' && app.view.chat;
    answer = await app.link.request(request.search(here ? here.name : '*', words));
  } catch (e) {
    show([], t('failed', { reason: e.message }));
    return;
  }
  if (!answer.reply.ok) {
    show([], t('refused', { reason: answer.reply.reason || answer.reply.code }));
    return;
  }
  // An action's line (an edit's `✎ …`) is no message of its own to a 1.2 client.
  const found = answer.lines.map(parseHistoryLine).filter((m) => m && !parseAction(m.id, m.text));
  const model = app.model;
  show(found.map((m) => {
    const chat = isRoom(m.to) ? m.to : model.isMe(m.from) ? m.to : m.from;
    const item = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'result';
    b.dataset.chat = fold(chat);
    b.dataset.id = m.id;
    const head = document.createElement('span');
    head.className = 'from';
    head.textContent = `${model.isMe(m.from) ? t('you') : m.from}${isRoom(chat) || model.isMe(m.from) ? ` · ${chat}` : ''} · ${shortTime(m.ts)}`;
    const text = document.createElement('span');
    text.textContent = preview(parseQuote(m.text)?.body ?? m.text, m);
    text.dir = 'auto';
    b.append(head, text);
    b.addEventListener('click', () => reveal(app, chat, m));
    item.append(b);
    return item;
  }), found.length ? t('found', { n: found.length }) : t('notFound'));
}

function show(items, said) {
  $('search-count').textContent = said;
  $('search-results').replaceChildren(...items);
  $('search-panel').hidden = false;
}

/** Opens the chat of a result and, if that message is loaded, scrolls to it. */
export async function reveal(app, name, found) {
  await openChat(app, name);
  const msg = app.model.chat(name).keys.get(`${fold(found.from)}\n${found.id}`);
  const item = msg && app.view.elements.get(msg);
  if (!item) return;
  item.scrollIntoView({ block: 'center' });
  item.classList.add('found');
  setTimeout(() => item.classList.remove('found'), 3000);
}
