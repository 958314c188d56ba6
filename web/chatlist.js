// chatlist.js: the list of chats on the left (view.js draws its rows),
// drawn again whenever what it shows changes, and kept in this browser
// for a start without the network when it is linked (store.js). A tap
// on a row opens that chat: `app.open` (state.js says why a callback).
// A right-click, the menu key or a long press on a row opens the chat's
// menu instead (listmenu.js, loaded at the first).

import { renderList } from './view.js';

const $ = (id) => document.getElementById(id);

/** How long a finger rests on a row to open its menu, and how far it may move meanwhile. */
const LONG_PRESS_MS = 500;
const LONG_PRESS_SLOP_PX = 10;

/** Whether the list's menu is hooked (once a page). */
let hooked = false;

/**
 * Hooks a row's menu (listmenu.js): `contextmenu` (a right-click, the
 * keyboard's menu key) at once, and a touch that rests LONG_PRESS_MS on
 * a row; the tap that ends a long press does not open the chat.
 */
function hookMenu(app) {
  if (hooked) return;
  hooked = true;
  const list = $('chat-list');
  const row = (target) => target.closest?.('button[data-chat]');
  const menu = (button, x, y) => import('./listmenu.js').then((m) => m.open(app, button.dataset.chat, x, y));
  list.addEventListener('contextmenu', (e) => {
    const button = row(e.target);
    if (!button) return;
    e.preventDefault();
    const r = button.getBoundingClientRect();
    // The keyboard's menu key gives no point: the menu opens under the row's name.
    const at = e.clientX || e.clientY ? [e.clientX, e.clientY] : [r.left + 16, r.top + r.height / 2];
    menu(button, ...at);
  });
  // The menu key and Shift+F10 on a focused row, where the browser makes no contextmenu of them.
  list.addEventListener('keydown', (e) => {
    const button = row(e.target);
    if (!button || !(e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) return;
    e.preventDefault();
    const r = button.getBoundingClientRect();
    menu(button, r.left + 16, r.top + r.height / 2);
  });
  let press = null;
  let pressed = false; // a long press just opened a menu: the click that ends it is swallowed
  const cancel = () => {
    if (press) clearTimeout(press.timer);
    press = null;
  };
  list.addEventListener('pointerdown', (e) => {
    const button = row(e.target);
    cancel();
    pressed = false;
    if (e.pointerType !== 'touch' || !button) return;
    press = { x: e.clientX, y: e.clientY, timer: setTimeout(() => { pressed = true; press = null; menu(button, e.clientX, e.clientY); }, LONG_PRESS_MS) };
  });
  list.addEventListener('pointermove', (e) => {
    if (press && Math.hypot(e.clientX - press.x, e.clientY - press.y) > LONG_PRESS_SLOP_PX) cancel();
  });
  for (const end of ['pointerup', 'pointercancel']) list.addEventListener(end, cancel);
  // The finger lifted after a long press: no mouse events follow (they would move the focus off the menu).
  list.addEventListener('touchend', (e) => { if (pressed) e.preventDefault(); }, { passive: false });
  list.addEventListener('click', (e) => {
    if (!pressed) return;
    pressed = false;
    e.preventDefault();
    e.stopPropagation();
  }, true);
}

/** Draws the chat list, the "Archived" row and "New chat"'s suggestions; the chats are kept a moment later. */
export function draw(app) {
  hookMenu(app);
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
