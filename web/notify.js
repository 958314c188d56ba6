// notify.js: what a message that comes while the tab is hidden does: a
// count in the tab's title, and a notification if the browser allows it
// and the chat's level (1.2) says so.

import { isRoom } from './wire.js';
import { t } from './i18n.js';
import { preview, faces } from './view.js';

/** Asks once whether the app may notify (at a login). */
export function askNotifications() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

/**
 * While the tab is hidden: the count in its title, and a notification if
 * allowed, as the chat's level says (1.2): every message, or only those
 * that mention me (which always notify, unless the chat is muted).
 */
export function notify(app, chat, msg) {
  // Rust's Level::rings: an archived chat as 'mentions' at most, and a direct message a mention unless archived.
  const level = chat.archived && chat.level === 'all' ? 'mentions' : chat.level;
  const mention = msg.mention || (!chat.room && !chat.archived);
  if (level === 'none' || (level === 'mentions' && !mention)) return;
  app.hiddenCount += 1;
  document.title = `(${app.hiddenCount}) wachat`;
  if ('Notification' in window && Notification.permission === 'granted') {
    const where = isRoom(msg.to) ? ` ${msg.to}` : '';
    const title = t(msg.mention ? 'mentionFrom' : 'newMessage', { who: faces.shown(msg.from) + where });
    const options = { body: preview(msg.text, msg).slice(0, 120), tag: 'wachat' };
    // An installed app on a phone may only notify through its service worker.
    if (navigator.serviceWorker?.controller) navigator.serviceWorker.ready.then((r) => r.showNotification(title, options)).catch(() => {});
    else new Notification(title, options);
  }
}

/** The tab is shown again: the count leaves its title. */
export function clearCount(app) {
  app.hiddenCount = 0;
  document.title = 'wachat';
}
