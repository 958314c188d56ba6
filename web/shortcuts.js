// shortcuts.js: the app's keyboard shortcuts, and the dialog that lists
// them (`?`, when the focus is not in a text field). Loaded at the first
// `?` or Ctrl+Alt key (app.js), never on the first visit. The new ones are
// WhatsApp Web's: Ctrl+Alt with a letter or a bracket, which no browser
// takes for itself (Ctrl+N, Ctrl+F and Ctrl+Tab are the browser's). The
// dialog also lists the keys other modules answer (controls.js: Enter,
// Shift+Enter; app.js: Esc; autocomplete.js: a mention's ↑ ↓ Tab;
// chatlist.js: a chat's menu, the browser's context menu key); a
// shortcut is one row of SHORTCUTS: its keys, its name, what it does.

import { t, addStrings } from './i18n.js';
import { el } from './view.js';

addStrings({
  en: {
    shortcuts: 'Keyboard shortcuts', scNewChat: 'New chat', scSearch: 'Search messages', scNext: 'Next chat', scPrevious: 'Previous chat',
    scHelp: 'This list', scSend: 'Send the message', scNewLine: 'A new line in the message', scClose: 'Close what is open on top (a menu, a panel, this list)',
    scMention: 'Choose a member after @ in a room', scMenu: "A chat's menu, on a chat of the list",
  },
  es: {
    shortcuts: 'Atajos de teclado', scNewChat: 'Nuevo chat', scSearch: 'Buscar mensajes', scNext: 'Chat siguiente', scPrevious: 'Chat anterior',
    scHelp: 'Esta lista', scSend: 'Enviar el mensaje', scNewLine: 'Una línea nueva en el mensaje', scClose: 'Cerrar lo que está abierto encima (un menú, un panel, esta lista)',
    scMention: 'Elegir un miembro después de @ en una sala', scMenu: 'El menú de un chat, sobre un chat de la lista',
  },
  pt: {
    shortcuts: 'Atalhos de teclado', scNewChat: 'Nova conversa', scSearch: 'Pesquisar mensagens', scNext: 'Próxima conversa', scPrevious: 'Conversa anterior',
    scHelp: 'Esta lista', scSend: 'Enviar a mensagem', scNewLine: 'Uma linha nova na mensagem', scClose: 'Fechar o que está aberto por cima (um menu, um painel, esta lista)',
    scMention: 'Escolher um membro depois de @ numa sala', scMenu: 'O menu de uma conversa, sobre uma conversa da lista',
  },
});

const $ = (id) => document.getElementById(id);

/**
 * Every shortcut: the keys as shown, the string naming it, and, for the
 * ones this module answers, whether a key event is it and what it does.
 */
const SHORTCUTS = [
  { keys: 'Ctrl+Alt+N', name: 'scNewChat', is: (e) => chord(e) && !e.shiftKey && e.code === 'KeyN', run: (app) => field(app, 'new-chat-name') },
  { keys: 'Ctrl+Alt+/', name: 'scSearch', is: (e) => chord(e) && !e.shiftKey && e.code === 'Slash', run: (app) => field(app, 'search-words') },
  { keys: 'Ctrl+Alt+Shift+]', name: 'scNext', is: (e) => chord(e) && e.shiftKey && e.code === 'BracketRight', run: (app) => step(app, 1) },
  { keys: 'Ctrl+Alt+Shift+[', name: 'scPrevious', is: (e) => chord(e) && e.shiftKey && e.code === 'BracketLeft', run: (app) => step(app, -1) },
  { keys: '?', name: 'scHelp', is: (e) => e.key === '?' && !chord(e) && !writing(e.target), run: () => show() },
  { keys: 'Enter', name: 'scSend' },
  { keys: 'Shift+Enter', name: 'scNewLine' },
  { keys: 'Esc', name: 'scClose' },
  { keys: '@ ↑ ↓ Tab', name: 'scMention' },
  { keys: 'Shift+F10', name: 'scMenu' },
];

/** Ctrl+Alt held (Cmd+Alt on a Mac). */
function chord(e) {
  return (e.ctrlKey || e.metaKey) && e.altKey;
}

/** Whether `target` takes text (where `?` is a character, not a shortcut). */
function writing(target) {
  return Boolean(target?.closest?.('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
}

/**
 * A key pressed anywhere in the signed-in app (app.js hands each one
 * here once this module is loaded): the shortcut it is, done; true if it
 * was one.
 */
export function key(app, e) {
  if (!app.link || $('app').hidden) return false;
  const shortcut = SHORTCUTS.find((s) => s.is?.(e));
  if (!shortcut) return false;
  e.preventDefault();
  shortcut.run(app);
  return true;
}

/**
 * Focuses the list pane's field `id` ("New chat", search); on a phone the
 * list comes back first, by ← (back.js: Back, so the list shows at the
 * popstate, after this key's event).
 */
function field(app, id) {
  const focus = () => {
    $(id).focus();
    $(id).select?.();
  };
  const listHidden = () => getComputedStyle($('list-pane')).display === 'none';
  if (!$('app').classList.contains('chat-open') || !listHidden()) return focus();
  $('back').click();
  if (listHidden()) addEventListener('popstate', focus, { once: true });
  else focus();
}

/** Opens the chat `by` rows after (or before) the open one in the list, round the end. */
function step(app, by) {
  const rows = [...document.querySelectorAll('#chat-list button[data-chat]')];
  if (!rows.length) return;
  const at = rows.findIndex((b) => b.dataset.chat === app.openKey);
  const next = at < 0 ? (by > 0 ? 0 : rows.length - 1) : (at + by + rows.length) % rows.length;
  rows[next].click();
  rows[next].focus();
}

/** The dialog listing every shortcut; it closes with Esc or ✕, and the focus goes back where it was. */
export function show() {
  let dialog = $('shortcuts');
  if (!dialog) {
    dialog = el('dialog', 'shortcuts');
    dialog.id = 'shortcuts';
    dialog.setAttribute('aria-labelledby', 'shortcuts-title');
    const title = el('h3', '', t('shortcuts'));
    title.id = 'shortcuts-title';
    const close = el('button', 'secondary icon', '✕');
    close.type = 'button';
    close.id = 'shortcuts-close';
    close.setAttribute('aria-label', t('close'));
    close.addEventListener('click', () => dialog.close());
    const list = el('dl', 'shortcut-list');
    for (const s of SHORTCUTS) {
      const keys = el('dt');
      keys.append(...s.keys.split(' ').flatMap((k, i) => (i ? [' ', el('kbd', '', k)] : [el('kbd', '', k)])));
      list.append(keys, el('dd', '', t(s.name)));
    }
    dialog.append(title, close, list);
    // Esc closes this dialog only (app.js's Esc leaves what is under it alone).
    dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      dialog.close();
    });
    document.body.append(dialog);
  }
  const back = document.activeElement;
  dialog.addEventListener('close', () => back?.focus?.(), { once: true });
  dialog.showModal();
  $('shortcuts-close').focus();
}
