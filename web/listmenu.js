// listmenu.js: a chat's menu in the chat list, as WhatsApp's: opened by
// a right-click (or the keyboard's menu key, Shift+F10) on a chat's row,
// or a long press on a phone (chatlist.js sees those, loads this at the
// first, and gives it the way to draw the list again; the open chat is
// closed with `app.close`). It pins, mutes and archives the chat with the
// requests the chat's Details use (1.2: `PIN`, `NOTIFY`, `ARCHIVE`, §22
// and §23), so every device of mine follows, as they follow Details; it
// marks it unread (`MARK`) and deletes it for me (`HIDE`, after a second
// tap: it leaves the list of every device of mine until a newer
// message), 1.2 §29.

import { request } from './wire.js';
import { t, addStrings } from './i18n.js';
import { el, banner, refusal } from './view.js';

addStrings({
  en: { lmMarkUnread: 'Mark as unread', lmMarkRead: 'Mark as read', lmDelete: 'Delete chat', lmSure: 'Delete this chat? Tap again', chatMenu: 'Chat menu: {chat}', lmPin: 'Pin chat', lmUnpin: 'Unpin chat', lmMute: 'Mute notifications', lmUnmute: 'Unmute notifications', lmArchive: 'Archive chat', lmUnarchive: 'Unarchive chat' },
  es: { lmMarkUnread: 'Marcar como no leído', lmMarkRead: 'Marcar como leído', lmDelete: 'Eliminar chat', lmSure: '¿Eliminar este chat? Toca otra vez', chatMenu: 'Menú del chat: {chat}', lmPin: 'Fijar chat', lmUnpin: 'Dejar de fijar', lmMute: 'Silenciar notificaciones', lmUnmute: 'Activar notificaciones', lmArchive: 'Archivar chat', lmUnarchive: 'Desarchivar chat' },
  pt: { lmMarkUnread: 'Marcar como não lida', lmMarkRead: 'Marcar como lida', lmDelete: 'Apagar conversa', lmSure: 'Apagar esta conversa? Toque de novo', chatMenu: 'Menu da conversa: {chat}', lmPin: 'Fixar conversa', lmUnpin: 'Desafixar conversa', lmMute: 'Silenciar notificações', lmUnmute: 'Ativar notificações', lmArchive: 'Arquivar conversa', lmUnarchive: 'Desarquivar conversa' },
});

/**
 * The menu's entries, each from the chat as it is now: the string that
 * says it, the request, and the chat as the request leaves it (set, not
 * toggled: my own PREF or ARCHIVE event may have arrived before the OK).
 */
const ENTRIES = [
  (c) => ({ act: 'mark', says: c.marked ? 'lmMarkRead' : 'lmMarkUnread', line: request.mark(c.name, !c.marked), set: { marked: !c.marked } }),
  (c) => ({ act: 'pin', says: c.pinned ? 'lmUnpin' : 'lmPin', line: request.pin(c.name, !c.pinned), set: { pinned: !c.pinned } }),
  (c) => {
    const level = c.level === 'none' ? 'all' : 'none';
    return { act: 'mute', says: level === 'all' ? 'lmUnmute' : 'lmMute', line: request.notify(c.name, level), set: { level } };
  },
  (c) => ({ act: 'archive', says: c.archived ? 'lmUnarchive' : 'lmArchive', line: request.archive(c.name, !c.archived), set: { archived: !c.archived } }),
  // Hidden up to its newest message here at once; the HIDE event brings the server's time.
  (c) => ({ act: 'delete', says: 'lmDelete', line: request.hide(c.name), set: { hiddenTs: Math.max(c.hiddenTs || 0, c.last?.ts || 0, 1) }, sure: true }),
];

/** Closes the menu, if open; the focus goes back to the row it was opened on (`refocus`). */
export function close(refocus = true) {
  const menu = document.getElementById('list-menu');
  if (!menu) return;
  menu.remove();
  if (refocus) document.querySelector(`#chat-list button[data-chat="${CSS.escape(menu.dataset.chat)}"]`)?.focus();
}

/**
 * Opens the menu of the chat `key` (its folded name) at the point `x, y`
 * of the window (kept inside it), its first entry focused. Esc, a tap
 * elsewhere or an entry closes it; ↑ ↓ move between entries. After an
 * entry, `redraw` draws the list again (chatlist.js's).
 */
export function open(app, key, x, y, redraw) {
  close(false);
  const chat = app.model.chats.get(key);
  if (!chat) return;
  const menu = el('div', 'list-menu');
  menu.id = 'list-menu';
  menu.dataset.chat = key;
  menu.setAttribute('role', 'menu');
  menu.setAttribute('aria-label', t('chatMenu', { chat: chat.name }));
  for (const entry of ENTRIES.map((make) => make(chat))) {
    const b = el('button', '', t(entry.says));
    b.type = 'button';
    b.dataset.act = entry.act;
    b.setAttribute('role', 'menuitem');
    b.addEventListener('click', async () => {
      if (entry.sure && b.dataset.act !== 'confirm') {
        b.dataset.act = 'confirm';
        b.textContent = t('lmSure');
        return;
      }
      close();
      if (entry.sure && app.openKey === key) app.close();
      try {
        const { reply } = await app.link.request(entry.line);
        if (!reply.ok) throw reply;
        Object.assign(chat, entry.set);
      } catch (reply) {
        banner(refusal(reply));
      }
      redraw();
    });
    menu.append(b);
  }
  menu.addEventListener('keydown', (e) => {
    const items = [...menu.querySelectorAll('button')];
    const at = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault(); // app.js's Esc leaves what is under the menu alone
      close();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[(at + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length].focus();
    } else if (e.key === 'Tab') {
      close();
    }
  });
  document.body.append(menu);
  const r = menu.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(x, innerWidth - r.width - 4))}px`;
  menu.style.top = `${Math.max(4, Math.min(y, innerHeight - r.height - 4))}px`;
  const outside = (e) => {
    if (menu.contains(e.target)) return;
    document.removeEventListener('pointerdown', outside, true);
    close(false);
  };
  document.addEventListener('pointerdown', outside, true);
  menu.querySelector('button').focus();
}
