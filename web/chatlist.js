// chatlist.js: the list of chats on the left (view.js draws its rows),
// drawn again whenever what it shows changes, and kept in this browser
// for a start without the network when it is linked (store.js). A tap
// on a row opens that chat: `app.open` (state.js says why a callback).
// A right-click, the menu key or a long press on a row opens the chat's
// menu instead (listmenu.js, loaded at the first).

import { renderList, el } from './view.js';
import { request, isChat } from './wire.js';
import { t, addStrings } from './i18n.js';

addStrings({ en: { markedUnread: 'Marked unread' }, es: { markedUnread: 'Marcado como no leído' }, pt: { markedUnread: 'Marcada como não lida' } });

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
  const menu = (button, x, y) => import('./listmenu.js').then((m) => m.open(app, button.dataset.chat, x, y, () => draw(app)));
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
  // Opening a chat marked unread takes the mark away, on every device (1.2, §29).
  list.addEventListener('click', (e) => {
    const chat = app.model.chats.get(row(e.target)?.dataset.chat);
    if (!pressed && chat?.marked) {
      chat.marked = false;
      app.link?.request(request.mark(chat.name, false)).catch(() => {});
    }
  });
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
  showMarks(app.model);
  app.archive?.row(app.model, () => draw(app));
  app.groupCalls?.then((g) => g.decorate()); // 1.2 (§32): "Join" beside a room whose call goes on
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

/**
 * 1.2 (§29) on the list's rows, as view.js drew them: a chat deleted for
 * me (`hiddenTs`) leaves the list until a newer message; one marked
 * unread (`marked`) shows an unread badge with no number.
 */
function showMarks(model) {
  for (const button of document.querySelectorAll('#chat-list button[data-chat]')) {
    const chat = model.chats.get(button.dataset.chat);
    if (!chat) continue;
    if (chat.hiddenTs && !(chat.last && chat.last.ts > chat.hiddenTs)) {
      button.parentNode.remove();
    } else if (chat.marked && !(chat.unread > 0)) {
      const badge = el('span', 'badge unread marked', '');
      badge.setAttribute('aria-label', t('markedUnread'));
      button.querySelector('.badges')?.append(badge);
    }
  }
}

/** A MARK or HIDE event (1.2, §29), from this device or another: the list shows it. */
export function marks(app, event) {
  const chat = app.model.chat(event.chat);
  if (event.kind === 'MARK') chat.marked = event.marked;
  else chat.hiddenTs = Math.max(chat.hiddenTs || 0, event.ts);
  draw(app);
}

/** The chats marked unread and deleted (1.2, §29), at login and each reconnection; a server without them says KO. */
export async function refreshMarks(app) {
  const [marked, hidden] = await Promise.all([app.link.request(request.marked()), app.link.request(request.hidden())]).catch(() => [null, null]);
  if (marked?.reply.ok) {
    for (const chat of app.model.chats.values()) chat.marked = false;
    for (const name of marked.lines.filter(isChat)) app.model.chat(name).marked = true;
  }
  if (hidden?.reply.ok) {
    for (const line of hidden.lines) {
      const at = line.lastIndexOf(':');
      if (isChat(line.slice(0, at))) app.model.chat(line.slice(0, at)).hiddenTs = Number(line.slice(at + 1));
    }
  }
  draw(app);
}

/** A chat archived (1.2, §23), from ARCHIVED or an ARCHIVE event: archive.js draws the list's row. */
export function archived(app, { chat, archived }) {
  app.model.chat(chat).archived = archived;
  if (archived && !app.archive) import('./archive.js').then((m) => { app.archive = m; draw(app); });
}
