// forward.js: forwarding a message or a photo to another chat (↪),
// loaded at the first "Forward" (the message menu, or the photo viewer).
//
// A forward is a new message of mine, its text (or a file's caption)
// starting with `↪ ` (view.js's FORWARDED), which every client reads and
// this one shows as "Forwarded" (docs/PROTOCOL.md §21). A photo or a file
// is not uploaded again: the FILE names the same file id, which the
// server lets whoever may fetch a file send on. The chat chosen gets
// what the reader saw, never a reply's quote line. (files.js's viewer
// opens this through a callback session.js gives it: this module imports
// files.js, never the other way.)

import { request, parseMsgOk, parseQuote } from './wire.js';
import { newId } from './chats.js';
import { t, addStrings } from './i18n.js';
import { el, avatar, banner, refusal, faces, FORWARDED } from './view.js';
import { draw } from './chatlist.js';
import { carry, captionOf } from './files.js';

addStrings({
  en: { forwardTo: 'Forward to…', forwardedTo: 'Forwarded to {chat}' },
  es: { forwardTo: 'Reenviar a…', forwardedTo: 'Reenviado a {chat}' },
  pt: { forwardTo: 'Encaminhar para…', forwardedTo: 'Encaminhada para {chat}' },
});

/** The chooser: a list of my chats; the one tapped gets `msg`. Esc or ✕ closes it. */
export function choose(app, msg) {
  document.getElementById('forward')?.remove();
  const back = document.activeElement;
  const box = el('div', 'forward');
  box.id = 'forward';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-modal', 'true');
  box.setAttribute('aria-labelledby', 'forward-title');
  const title = el('h3', '', t('forwardTo'));
  title.id = 'forward-title';
  const shut = () => {
    box.remove();
    document.removeEventListener('keydown', onKey, true);
    back?.focus?.();
  };
  box.shut = shut; // the phone's Back closes it as ✕ does (back.js)
  const close = el('button', 'secondary icon', '✕');
  close.type = 'button';
  close.setAttribute('aria-label', t('close'));
  close.addEventListener('click', shut);
  const list = el('ul', 'forward-list');
  for (const chat of app.model.ordered()) {
    // A person by the name the app knows them by (profiles.js), with their face, as the chat list shows them.
    const shown = chat.room ? chat.name : faces.shown(chat.name);
    const pick = el('button', 'secondary');
    pick.append(avatar(chat.name), el('span', 'chat-name', shown));
    pick.type = 'button';
    pick.dataset.chat = chat.name.toLowerCase();
    pick.addEventListener('click', async () => {
      shut();
      try {
        await forward(app, msg, chat);
        banner(t('forwardedTo', { chat: shown }), true);
      } catch (e) {
        banner(refusal(e));
      }
    });
    const item = el('li');
    item.append(pick);
    list.append(item);
  }
  function onKey(e) {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    e.stopPropagation();
    shut();
  }
  document.addEventListener('keydown', onKey, true);
  box.append(el('div', 'drawer-head'), list);
  box.firstChild.append(title, close);
  document.body.append(box);
  (list.querySelector('button') || close).focus();
}

/** Sends `msg` on to `chat`, marked forwarded; the new message (added to the model). */
export async function forward(app, msg, chat) {
  const unmarked = (text) => (text.startsWith(FORWARDED) ? text.slice(FORWARDED.length) : text);
  if (msg.file) return carry(app, chat, msg.file, FORWARDED + unmarked(captionOf(msg)));
  const text = FORWARDED + unmarked(parseQuote(msg.text)?.body ?? msg.text);
  const id = newId();
  const { reply } = await app.link.request(request.msg(chat.name, id, text));
  const ok = reply.ok && parseMsgOk(reply.value);
  if (!ok) throw reply;
  const model = app.model;
  const added = model.add({ from: model.me, to: chat.name, id, ts: ok.ts, text, state: 'RECEIVED' });
  if (added.added && app.view.chat === chat) app.view.append(added.msg);
  draw(app);
  return added.msg;
}
