// chatlist.js: the list of chats on the left (view.js draws its rows),
// drawn again whenever what it shows changes, and kept in this browser
// for a start without the network when it is linked (store.js). A tap
// on a row opens that chat: `app.open` (state.js says why a callback).

import { renderList } from './view.js';

const $ = (id) => document.getElementById(id);

/** Draws the chat list, the "Archived" row and "New chat"'s suggestions; the chats are kept a moment later. */
export function draw(app) {
  renderList(app.model, app.openKey, app.open);
  app.archive?.row(app.model, () => draw(app));
  suggest(app.model);
  // What a linked browser keeps for a start without the network, written a moment later.
  clearTimeout(app.keepTimer);
  app.keepTimer = setTimeout(() => keepChats(app), 300);
}

/**
 * Keeps the chats in this browser (store.js) if it is linked with a code:
 * it keeps its token already, and opens by itself. A password's login
 * leaves nothing of the chats behind, as it leaves no password.
 */
export function keepChats(app) {
  app.store?.keep(location.host, app.model, app.openKey);
}

/** "New chat" suggests the people and rooms of my chats, and who is online. */
function suggest(model) {
  const names = new Set([...model.chats.values()].map((c) => c.name));
  for (const user of model.online) if (!model.isMe(user)) names.add(user);
  $('suggested').replaceChildren(...[...names].sort().map((name) => Object.assign(document.createElement('option'), { value: name })));
}

/**
 * What an action (1.2: an edit, a deletion, a reaction) changed, from
 * `model.add`: drawn again in the open conversation and the list; a
 * deleted text leaves the outbox and what the browser kept, now.
 */
export function applied(app, { chat, changed, erased }) {
  if (erased.length) app.outbox.scrub(erased);
  if (erased.length) keepChats(app);
  if (app.actions?.mode?.msg.deleted) app.actions.cancel(); // the composer quoted it
  if (app.view.chat === chat) for (const msg of changed) app.view.redraw(msg);
  if (changed.length) draw(app);
}

/** A chat archived (1.2, §23), from ARCHIVED or an ARCHIVE event: archive.js draws the list's row. */
export function archived(app, { chat, archived }) {
  app.model.chat(chat).archived = archived;
  if (archived && !app.archive) import('./archive.js').then((m) => { app.archive = m; draw(app); });
}
