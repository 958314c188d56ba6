// archive.js: the chat list's "Archived (n)" row (protocol 1.2, §23),
// loaded once a chat of mine is archived. view.js leaves archived chats
// out of the list; this row shows them instead (and back), with how many
// of them have unread messages, as WhatsApp does. An archived chat stays
// archived when a message comes, and notifies only on a mention
// (notify.js's `notify`, Rust's `Level::rings`).

import { t, addStrings } from './i18n.js';
import { el } from './view.js';

addStrings({ en: { archived: 'Archived ({n})' }, es: { archived: 'Archivados ({n})' }, pt: { archived: 'Arquivados ({n})' } });

/** Puts the row at the top of #chat-list (drawn again by `redraw` when tapped). */
export function row(model, redraw) {
  const filed = [...model.chats.values()].filter((c) => c.archived);
  if (!filed.length && !model.showArchived) return;
  const unread = filed.filter((c) => c.unread > 0).length;
  const button = el('button', 'archived-row', model.showArchived ? `‹ ${t('chats')}` : t('archived', { n: filed.length }));
  button.id = 'archived-row';
  button.type = 'button';
  if (unread && !model.showArchived) button.append(el('span', 'badge unread', String(unread)));
  button.addEventListener('click', () => {
    model.showArchived = !model.showArchived;
    redraw();
  });
  const item = el('li');
  item.append(button);
  document.getElementById('chat-list').prepend(item);
}
