// autocomplete.js: @mentions from the room's members (MEMBERS), loaded
// the first time `@` is typed in a room. The list under the composer
// offers the members whose names start with what follows the `@`; ↑/↓
// choose, Enter or Tab put `@name ` in the text, Esc closes it, and a
// tap does the same. The members come from MEMBERS (a room's own list,
// asked again after MEMBERS_FOR_MS), their names set as text.

import { request, parseSeen, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { el } from './view.js';

addStrings({
  en: { mentionList: 'Members to mention' },
  es: { mentionList: 'Miembros a mencionar' },
  pt: { mentionList: 'Membros para mencionar' },
});

/** How long a room's members are kept before MEMBERS is asked again. */
const MEMBERS_FOR_MS = 30000;
/** Most names offered at once. */
const MOST = 8;
/** What the caret ends, when it is a mention being typed: `@` and up to 32 name characters. */
const TYPING = /(^|\s)@([A-Za-z0-9_.-]{0,32})$/;

const $ = (id) => document.getElementById(id);
const known = new Map(); // fold(room) → {at, users}
let shown = [];
let chosen = 0;

/** The members of `room` (kept a while), or [] offline. */
async function members(app, room) {
  const kept = known.get(fold(room));
  if (kept && Date.now() - kept.at < MEMBERS_FOR_MS) return kept.users;
  try {
    const { reply, lines } = await app.link.request(request.members(room));
    if (!reply.ok) return [];
    const users = lines.map(parseSeen).filter(Boolean).map((m) => m.user);
    known.set(fold(room), { at: Date.now(), users });
    return users;
  } catch (_) {
    return [];
  }
}

/** Called at each keystroke in a room's composer: shows, narrows or closes the list. */
export async function suggest(app) {
  const input = $('input');
  const chat = app.view.chat;
  const typed = chat?.room && input.selectionStart === input.selectionEnd ? TYPING.exec(input.value.slice(0, input.selectionStart)) : null;
  if (!typed) {
    close();
    return;
  }
  const users = await members(app, chat.name);
  const start = fold(typed[2]);
  shown = users.filter((u) => fold(u).startsWith(start) && !app.model.isMe(u)).sort().slice(0, MOST);
  if (!shown.length || app.view.chat !== chat) {
    close();
    return;
  }
  chosen = Math.min(chosen, shown.length - 1);
  draw(app);
}

function draw(app) {
  let list = $('mention-list');
  if (!list) {
    list = el('ul', 'mention-list');
    list.id = 'mention-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', t('mentionList'));
    $('composer').before(list);
    $('composer').addEventListener('keydown', onKey, true);
    const input = $('input');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', 'mention-list');
    input.setAttribute('aria-expanded', 'true');
  }
  list.replaceChildren(...shown.map((user, i) => {
    const item = el('li', 'mention-option', `@${user}`);
    item.id = `mention-${i}`;
    item.setAttribute('role', 'option');
    item.setAttribute('aria-selected', String(i === chosen));
    item.dataset.user = user;
    item.addEventListener('mousedown', (e) => {
      e.preventDefault(); // the composer keeps the focus
      put(user);
    });
    return item;
  }));
  $('input').setAttribute('aria-activedescendant', `mention-${chosen}`);
  list.app = app;
}

/** Replaces the `@…` being typed with `@user `. */
function put(user) {
  const input = $('input');
  const before = input.value.slice(0, input.selectionStart).replace(/@[A-Za-z0-9_.-]*$/, `@${user} `);
  input.value = before + input.value.slice(input.selectionStart);
  input.selectionStart = input.selectionEnd = before.length;
  input.dispatchEvent(new Event('input')); // the draft keeps it
  close();
}

/** The list's keys, before the composer's own (Enter there sends). */
function onKey(e) {
  if (!$('mention-list') || e.target !== $('input')) return;
  const keys = { ArrowDown: 1, ArrowUp: -1 };
  if (e.key in keys) {
    chosen = (chosen + keys[e.key] + shown.length) % shown.length;
    draw($('mention-list').app);
  } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
    put(shown[chosen]);
  } else if (e.key === 'Escape') {
    close();
  } else return;
  e.preventDefault();
  e.stopPropagation();
}

export function close() {
  $('mention-list')?.remove();
  $('composer').removeEventListener('keydown', onKey, true);
  const input = $('input');
  input.removeAttribute('aria-activedescendant');
  input.setAttribute('aria-expanded', 'false');
  chosen = 0;
}
