// typing.js: "… is typing" (protocol 1.2, TYPING), both ways: told to the
// open chat while I type, at most every 3 s, and shown under the open
// chat for 5 s after the other's, or until their message comes.

import { request, isRoom, fold } from './wire.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** TYPING is sent at most this often, and shown this long. */
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;

/** TYPING to the open chat, at most every 3 s; a server without it says BAD_REQUEST once. */
export function typing(app) {
  const { link, openKey } = app;
  if (!openKey || !app.typingSupported || !link || link.status !== 'online') return;
  const name = app.model.chat(openKey).name;
  // Typing is told on one server only (1.3): a chat of another server
  // (bob@lab2, #lab@lab2) would be refused.
  if (name.includes('@')) return;
  if (Date.now() - app.lastTypingAt < TYPING_EVERY_MS) return;
  app.lastTypingAt = Date.now();
  link.request(request.typing(name))
    .then(({ reply }) => {
      if (!reply.ok && reply.code === 'BAD_REQUEST') app.typingSupported = false;
    })
    .catch(() => {});
}

/** A TYPING event: shown under the open chat if it is that chat, until it is stale. */
export function showTyping(app, event) {
  const { model } = app;
  if (model.isMe(event.from)) return;
  const chat = model.chat(isRoom(event.to) ? event.to : event.from);
  chat.typingUntil = Date.now() + TYPING_SHOWN_MS;
  if (fold(chat.name) !== app.openKey) return;
  $('typing').textContent = t('typing', { who: event.from });
  setTimeout(() => {
    if (Date.now() >= chat.typingUntil && fold(chat.name) === app.openKey) $('typing').textContent = '';
  }, TYPING_SHOWN_MS + 50);
}

/** `msg` came from who was typing in the open chat: no longer typing. */
export function typed(msg) {
  if ($('typing').textContent === t('typing', { who: msg.from })) $('typing').textContent = '';
}
