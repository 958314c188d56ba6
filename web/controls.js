// controls.js: the controls of the signed-in app, each hooked to the
// module that acts on it: the composer (sending.js, typing.js), "New
// chat" (people.js, conversation.js), ← (back.js), the call
// buttons (call.js), scrolling up (history.js), the tab shown again
// (notify.js). They are hooked once, at the first login (session.js),
// when those modules are loaded: a keystroke goes to them at once, never
// through a load. The controls of the login form and of the panels are
// app.js's.

import { isRoom } from './wire.js';
import { send, keepDraft } from './sending.js';
import { typing } from './typing.js';
import { newChat, markRead, paged } from './conversation.js';
import { leave } from './back.js';
import { startCall } from './events.js';
import { clearCount } from './notify.js';

const $ = (id) => document.getElementById(id);

/** Hooks the controls to `app`, once a page. */
export function hook(app) {
  if (app.hooked) return;
  app.hooked = true;
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send(app);
  });
  $('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(app);
    }
  });
  $('input').addEventListener('input', () => {
    keepDraft(app);
    typing(app);
    // @mentions from the room's members: autocomplete.js, at the first `@` typed in a room.
    if (app.openKey && isRoom(app.openKey) && ($('input').value.includes('@') || $('mention-list'))) import('./autocomplete.js').then((m) => m.suggest(app));
  });
  // "New chat" finds people by the start of their name (1.2, §26): people.js, at the first letter typed.
  $('new-chat-name').addEventListener('input', () => { if (app.link) import('./people.js').then((m) => m.suggest(app)); });
  $('new-chat').addEventListener('submit', (e) => {
    e.preventDefault();
    newChat(app, $('new-chat-name').value.trim());
  });
  $('back').addEventListener('click', () => leave()); // as the phone's Back (back.js)
  // 1.2 (§24, §32): calls (call.js; a room's, groupcall.js), loaded at the first call button or event.
  $('call-voice').addEventListener('click', () => startCall(app, 'voice'));
  $('call-video').addEventListener('click', () => startCall(app, 'video'));
  $('messages').addEventListener('scroll', () => {
    if ($('messages').scrollTop < 40) paged(app).then((m) => m.older(app), () => {});
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    clearCount(app);
    if (app.openKey) markRead(app, app.model.chat(app.openKey));
  });
}
