// sw.js: lets the app open without the network (on a train). It keeps a
// copy of the app's own files and nothing else: never a WebSocket, a
// query string, another site's file (the chats: store.js). Network
// first: a copy is served only when the server cannot be reached, so a
// new version of the app shows at the next load.

const CACHE = 'wachat-shell';
/** The first load's files (the login form's); the modules loaded later join when first used (at a login, the signed-in app's). */
const SHELL = ['/', '/app.css', '/app.js', '/state.js', '/wire.js', '/i18n.js', '/icon.svg', '/manifest.webmanifest'];
const LATER = ['/actions.js', '/search.js', '/account.js', '/rules.js', '/invite.js', '/panel.js', '/roomadmin.js',
  '/devices.js', '/qr.js', '/store.js', '/files.js', '/widgets.js', '/archive.js', '/starred.js',
  '/forward.js', '/voice.js', '/call.js', '/call.css', '/calllog.js', '/groupcall.js', '/groupcall.css', '/autocomplete.js', '/stay.js',
  '/history.js', '/people.js', '/links.js', '/session.js', '/controls.js', '/chatlist.js', '/conversation.js', '/back.js', '/sending.js',
  '/typing.js', '/events.js', '/notify.js', '/refresh.js', '/push.js', '/shortcuts.js', '/emoji.js', '/listmenu.js', '/profiles.js',
  '/receipts.js', '/link.js', '/chats.js', '/view.js', '/moderation.js', '/fates.js', '/mentions.js'];

/** Copies `paths` from the HTTP cache, where the page just loaded them (no second download); `onlyIfCached`: only those it loaded. */
async function keep(paths, onlyIfCached) {
  const cache = await caches.open(CACHE);
  await Promise.all(paths.map(async (path) => {
    const options = onlyIfCached ? { cache: 'only-if-cached', mode: 'same-origin' } : { cache: 'force-cache' };
    const response = await fetch(new Request(path, options)).catch(() => null);
    if (response?.ok) await cache.put(path, response);
    else if (!onlyIfCached) throw new Error(`${path} could not be kept`);
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil(keep(SHELL, false).then(() => keep(LATER, true)).then(() => self.skipWaiting()));
});

// "keep", from the page once this controls it: the modules it loaded before.
self.addEventListener('message', (event) => {
  if (event.data === 'keep') event.waitUntil(keep(LATER, true));
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const path = url.pathname === '/index.html' ? '/' : url.pathname;
  const ours = url.origin === self.location.origin && !url.search && event.request.method === 'GET';
  if (!ours || !(SHELL.includes(path) || LATER.includes(path))) return;
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(path, copy));
    }
    return response;
  }).catch(() => caches.match(path).then((kept) => kept || Response.error())));
});

// 1.2 (§28): a Web Push from the server (its JSON, decrypted by the
// browser): a message's notification, one per chat (its tag), replaced by
// the chat's next; a call's; or "read" (the chat was read on another
// device), which closes the chat's notification.
self.addEventListener('push', (event) => {
  let push = null;
  try { push = event.data?.json(); } catch (_) { /* not the server's */ }
  if (!push || typeof push.chat !== 'string') return;
  const tag = `chat:${push.chat}`;
  if (push.type === 'read') {
    event.waitUntil(self.registration.getNotifications({ tag }).then((shown) => shown.forEach((n) => n.close())));
    return;
  }
  const call = push.type === 'call';
  const options = {
    body: call ? (push.media === 'video' ? '📹' : '📞') : String(push.body || ''),
    icon: '/icon-192.png',
    tag,
    renotify: true,
    requireInteraction: call,
    data: { chat: push.chat },
  };
  // The title is the server's to say (the sender, or with previews off
  // none): without one, the app's name, never a sender read elsewhere.
  event.waitUntil(self.registration.showNotification(String(push.title || 'wachat'), options));
});

// A tap on a notification (notify.js's, or a push's) brings the app back,
// on the notification's chat: a window of the app is told to open it
// (session.js), or a new one opens at /#chat=<chat>.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const chat = event.notification.data?.chat;
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((windows) => {
    if (windows[0]) {
      if (chat) windows[0].postMessage({ open: chat });
      return windows[0].focus();
    }
    return self.clients.openWindow(chat ? `/#chat=${encodeURIComponent(chat)}` : '/');
  }));
});
