// session.js: a login and the connection it keeps, from the login form
// to the logout. A password logs the browser in as its own device, the
// password in memory only; a link code (PAIR) gives it a token, kept
// instead, with which it logs in by itself at the next visit, and opens
// what it kept without the network. The link's status (link.js) is said
// in the header; each time it is back online, the app catches up
// (refresh.js); a token refused or an account deleted ends it all.
//
// app.js loads this module at the first login (or at the start of a
// linked browser), and with it the signed-in app it imports: the first
// visit fetches only what the login form needs.

import { Link } from './link.js';
import { Model, Outbox, Drafts } from './chats.js';
import { isName, isId, fold, normalizeCode } from './wire.js';
import { addStrings, t } from './i18n.js';
import { Conversation, banner, refusal, drawMe } from './view.js';
import { draw } from './chatlist.js';
import { newChat, openChat, closeChat, paged, updateSub } from './conversation.js';
import { start as startHistory } from './back.js';
import { onEvent, startCall } from './events.js';
import { askNotifications } from './notify.js';
import { refresh } from './refresh.js';
import { enqueue } from './sending.js';
import { LINK_KEY, USER_KEY } from './state.js';
import { hook } from './controls.js';

const $ = (id) => document.getElementById(id);

addStrings({
  en: { elsewhere: 'This account is open in another tab of this browser.', useHere: 'Use here' },
  es: { elsewhere: 'Esta cuenta está abierta en otra pestaña de este navegador.', useHere: 'Usar aquí' },
  pt: { elsewhere: 'Esta conta está aberta em outra aba deste navegador.', useHere: 'Usar aqui' },
});

/** The password way: the browser logs in as its own device, the password in memory only. */
export function start(app, register) {
  const user = $('user').value.trim();
  const secret = $('password').value;
  $('login-error').textContent = '';
  if (!isName(user) || !secret) {
    $('login-error').textContent = t('refused', { reason: 'user: 1–32 of A-Z a-z 0-9 _ . -' });
    return;
  }
  const invite = normalizeCode($('invite')?.value || '');
  begin(app, { user, device: deviceFor(user), secret, email: $('email').value.trim(), register, invite, stay: $('stay').checked });
}

/** "Link with a code": PAIR gives this browser a token, kept instead of any password. */
export async function linkWithCode(app) {
  const user = $('user').value.trim();
  const code = normalizeCode($('code').value);
  $('login-error').textContent = '';
  if (!isName(user) || !isId(code)) {
    $('login-error').textContent = t('refused', { reason: `${t('user')}, ${t('code')}` });
    return;
  }
  const device = deviceFor(user);
  $('link-button').disabled = true;
  let token;
  try {
    token = await (await import('./stay.js')).pair(base(), user, device, code);
    localStorage.setItem(LINK_KEY, JSON.stringify({ user, device, token }));
  } catch (reply) {
    $('login-error').textContent = t('refused', { reason: reply.reason || reply.code });
    return;
  } finally {
    $('link-button').disabled = false;
  }
  $('code').value = '';
  begin(app, { user, device, secret: token, token: true });
}

/** A linked browser logs in by itself, with its token, if it keeps one. */
export function resume(app) {
  const saved = savedLink();
  if (saved) begin(app, { user: saved.user, device: saved.device, secret: saved.token, token: true });
}

function savedLink() {
  try {
    const saved = JSON.parse(localStorage.getItem(LINK_KEY));
    const ok = saved && isName(saved.user) && isName(saved.device) && /^[A-Za-z0-9]{16,128}$/.test(saved.token);
    return ok ? saved : null;
  } catch (_) {
    return null;
  }
}

/** This browser's device name: `browser-` and 4 random hex digits, kept, the same for every account (an older app's, per user, first). */
function deviceFor(user) {
  const key = `wachat:device:${location.host}`;
  let device = localStorage.getItem(`${key}:${fold(user)}`) || localStorage.getItem(key);
  if (!device || !isName(device)) {
    const random = crypto.getRandomValues(new Uint16Array(1))[0];
    device = `browser-${random.toString(16).padStart(4, '0')}`;
    localStorage.setItem(key, device);
  }
  return device;
}

function base() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}`;
}

/** Logged out for good (unlinked, the token refused, or 1.2 the account deleted): all the account left here goes (store.js). */
function unlinked(app, why = 'unlinked') {
  localStorage.removeItem(LINK_KEY);
  if (app.link) {
    const user = app.link.user;
    import('./store.js').then((m) => m.forget(location.host, user));
    app.link.stop();
  }
  app.link = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = t(why);
}

/** Logs in as `who` (user, device, secret; a token, or a password to register or stay with): this login's state, then the link. */
async function begin(app, who) {
  askNotifications();
  const user = who.user;
  // A linked browser with chats kept opens them without the network, and keeps trying.
  app.store = who.token ? await import('./store.js').catch(() => null) : null;
  const offlineStart = Boolean(app.store?.hasKept(location.host, user));
  const link = app.link = new Link(base(), { ...who, persist: offlineStart });
  const model = app.model = new Model(user);
  // A password's login keeps nothing past the tab (README, "What stays in this browser").
  app.storage = who.token || who.stay ? localStorage : sessionStorage;
  app.outbox = new Outbox(`wachat:outbox:${location.host}:${fold(user)}`, app.storage);
  app.drafts = model.drafts = new Drafts(`wachat:drafts:${location.host}:${fold(user)}`, app.storage);
  const view = app.view = new Conversation();
  app.open = (name) => openChat(app, name);
  app.close = () => closeChat(app);
  // An invitation's Join (§18): JOIN, then the room opens.
  view.onJoin = (room) => newChat(app, room);
  view.isIn = (room) => app.model.chats.has(fold(room));
  view.onMore = async (item, msg) => {
    app.actionsLoading ||= import('./actions.js').then((m) => (app.actions = new m.Actions(app)));
    (await app.actionsLoading).menu(item, msg);
  };
  // 1.2 (§24): a call's line calls back (call.js, loaded at the first call); a room's joins its call (§32).
  view.onCall = (media) => startCall(app, media);
  // 1.2 (§21): files in chats: files.js, loaded after the login (never on the first load).
  view.onFile = (item, msg) => import('./files.js').then((m) => m.show(item, msg, app.link, app.model.chatOf(msg).name));
  link.addEventListener('status', (e) => onStatus(app, e.detail));
  link.addEventListener('event', (e) => onEvent(app, e.detail));
  // A password login throttled tries again by itself with the password in the field at that moment.
  if (!who.token) link.secretNow = () => $('password').value;
  $('login-button').disabled = $('register-button').disabled = true;
  try {
    await link.start();
  } catch (reply) {
    if (offlineStart && reply.code === 'OFFLINE') return enter(app, who);
    app.link = null;
    if (who.token && reply.code === 'AUTH_FAILED') unlinked(app);
    else if (reply.code === 'AUTH_FAILED' && !who.register) $('login-error').textContent = t('wrongLogin');
    else if (reply.code === 'OFFLINE') $('login-error').textContent = t('unreachable');
    else $('login-error').textContent = t('refused', { reason: reply.reason || reply.code });
    if (who.register && reply.code === 'AUTH_FAILED') import('./invite.js').then((m) => m.show(reply)); // the code's field
    return;
  } finally {
    $('login-button').disabled = $('register-button').disabled = false;
  }
  // The secret stays in the link's memory only, for reconnections.
  $('password').value = '';
  (who.token || who.stay ? localStorage : sessionStorage).setItem(USER_KEY, link.user);
  if (who.stay) {
    import('./stay.js').then((m) => m.stay(link, base(), who.device, LINK_KEY)).then(() => import('./store.js'))
      .then((m) => { app.store = m; }).catch((r) => banner(refusal(r)));
  }
  enter(app, who);
}

/** Shows the app: what was kept (store.js), then what the server says once online. */
async function enter(app, who) {
  const { link, model, view, drafts, outbox } = app;
  model.me = view.me = link.user;
  const kept = app.store ? app.store.restore(location.host, model) : null;
  for (const name of drafts.names()) model.chat(name); // a chat with a draft is in the list, as WhatsApp keeps it
  for (const entry of outbox.entries) model.queue(entry);
  $('login').hidden = true;
  $('app').hidden = false;
  // Named "Profile" and by what it shows (a spoken command names what is seen).
  drawMe(link.user, who.device);
  hook(app);
  startHistory(app, (name) => openChat(app, name), () => closeChat(app));
  draw(app);
  if (kept) openChat(app, model.chat(kept).name);
  // 1.2 (§28): a tap on a push's notification, from a closed page (/#chat=<chat>) or an open one (sw.js's message).
  const tapped = location.hash.startsWith('#chat=') ? decodeURIComponent(location.hash.slice(6)) : '';
  if (tapped) {
    history.replaceState(null, '', location.pathname);
    openChat(app, model.chat(tapped).name);
  }
  navigator.serviceWorker?.addEventListener('message', (e) => { if (typeof e.data?.open === 'string') openChat(app, model.chat(e.data.open).name); });
  // 1.2 (§21): attach, drop, paste; the photo viewer's Forward is forward.js's (which imports files.js: never the other way).
  const forward = (msg) => import('./forward.js').then((f) => f.choose(app, msg));
  import('./files.js').then((m) => m.setup(app, forward, enqueue));
  paged(app).catch(() => { app.pages = null; });
  if (link.status !== 'online') return; // refresh() runs when it is
  await refresh(app);
}

/** The link's status, said in the header (and on the login form while it counts a throttled login's wait down). */
function onStatus(app, { status, retryMs, reply }) {
  const { link, model } = app;
  if (status === 'deleted') {
    unlinked(app, 'accountDeleted');
    return;
  }
  if (status === 'unlinked' || (status === 'refused' && link?.who.token && reply?.code === 'AUTH_FAILED')) {
    unlinked(app);
    return;
  }
  if (status !== 'throttling') clearInterval(app.countdown);
  elsewhere(app, status === 'replaced');
  if (status === 'throttled') {
    // The server's words and its wait, counted down, on the login form or the header, until the link tries again.
    const until = Date.now() + retryMs;
    const say = () => onStatus(app, { status: 'throttling', reply, retryMs: Math.max(0, until - Date.now()) });
    app.countdown = setInterval(say, 1000);
    say();
    return;
  }
  const text = status === 'offline' && retryMs ? t('retrying', { s: Math.ceil(retryMs / 1000) })
    : status === 'refused' ? t('refused', { reason: reply ? reply.reason || reply.code : '' })
    : status === 'throttling' ? t('throttled', { reason: slowDown(reply), s: Math.ceil(retryMs / 1000) })
    : t(status);
  if (status === 'throttling' && !$('login').hidden) $('login-error').textContent = text;
  $('status').textContent = text;
  $('status').className = `status ${status}`;
  // Offline: said in the header, and nobody's presence is shown as known.
  $('app').classList.toggle('offline', status !== 'online');
  // …and inside an open chat, where a phone shows no list header, so it is said there too.
  // (Taken by another tab, nothing waits here: its composer is closed, "Use here" says what to do.)
  $('chat-offline').textContent = status === 'online' ? '' : status === 'replaced' ? text : `${text}. ${t('offlineHere')}`;
  if (app.openKey && model) updateSub(app, model.chat(app.openKey));
  if (status === 'online' && model && !$('app').hidden) refresh(app);
  if ((status === 'refused' || status === 'disabled') && !$('app').hidden) {
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = text;
  }
}

/**
 * Another tab of this browser (the same device) took the session: this
 * one says so over the app, its composer closed, with "Use here", which
 * logs this tab in again and so hands the other the same notice.
 */
function elsewhere(app, replaced) {
  $('app').classList.toggle('replaced', replaced);
  let box = $('elsewhere');
  if (!replaced) {
    box?.remove();
    return;
  }
  if (box) return;
  box = Object.assign(document.createElement('div'), { id: 'elsewhere', className: 'elsewhere' });
  box.setAttribute('role', 'alertdialog');
  box.setAttribute('aria-labelledby', 'elsewhere-text');
  const use = Object.assign(document.createElement('button'), { type: 'button', id: 'use-here', textContent: t('useHere') });
  use.onclick = () => {
    use.disabled = true;
    app.link?.resume();
  };
  box.append(Object.assign(document.createElement('p'), { id: 'elsewhere-text', textContent: t('elsewhere') }), use);
  $('app').append(box);
  use.focus();
}

/** What a `KO:RATE_LIMITED` of a login says, without its wait (the app counts it) or an operator's flag. */
function slowDown(reply) {
  const said = (reply.reason || '').split(/; try again in /)[0].replace(/ \(--[a-z-]+\)$/, '');
  if (said.startsWith('too many failed logins')) return t('tooManyLogins');
  return said ? said[0].toUpperCase() + said.slice(1) : t('tooManyLogins');
}
