// app.js: the browser client's start. It makes the app's one state
// (state.js) and hooks the login form and the panels' buttons to the
// modules that act on them, each loaded when first used and handed the
// state. A login loads session.js, and with it the signed-in app, whose
// own controls (the composer, the conversation's) controls.js hooks: the
// first visit fetches only what the login form needs.

import { t, translate } from './i18n.js';
import { App, LINK_KEY, USER_KEY, UNTOLD_KEY } from './state.js';

const $ = (id) => document.getElementById(id);

const app = new App();

translate(document);
$('user').value = sessionStorage.getItem(USER_KEY) || localStorage.getItem(USER_KEY) || '';
// The first field to fill has the focus: User, or the password of a user this browser remembers.
($('user').value ? $('password') : $('user')).focus();
if (sessionStorage.getItem(UNTOLD_KEY)) import('./account.js').then((m) => m.untold(UNTOLD_KEY));
// The app's files kept for a start without the network (sw.js); never a WebSocket or a token.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => {});
  navigator.serviceWorker.addEventListener('controllerchange', () => navigator.serviceWorker.controller?.postMessage('keep'));
}
$('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
$('search-scope').options[1].disabled = true; // "This chat": none is open yet

// The login form: a password (log in, register), or a link code. Its
// code comes from the server (session.js): one that cannot be reached
// cannot send it either, and the form says so.
const session = () => import('./session.js').catch((e) => {
  $('login-error').textContent = t('unreachable');
  throw e;
});
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const linking = $('login-form').classList.contains('linking');
  session().then((m) => (linking ? m.linkWithCode(app) : m.start(app, false)), () => {});
});
$('register-button').addEventListener('click', () => session().then((m) => m.start(app, true), () => {}));
$('link-mode').addEventListener('click', () => {
  const linking = $('login-form').classList.toggle('linking');
  $('link-mode').textContent = t(linking ? 'login' : 'linkMode');
  $('login-error').textContent = '';
});

// The devices panel (devices.js) and the chat's panel (panel.js) load when first opened.
$('devices-button').addEventListener('click', () => import('./devices.js').then((m) => m.toggle(app)));
$('members-button').addEventListener('click', () => import('./panel.js').then((m) => (app.panel = m).toggle(app)));

// The server's rules (rules.js) load when they are shown.
$('rules-button').addEventListener('click', () => { if (app.link) import('./rules.js').then((m) => m.showRules(app.link)).catch(() => {}); });
$('rules-close').addEventListener('click', () => { $('rules').hidden = true; });
// Esc closes what is open on top, one thing a press: a message's menu, the photo viewer, Details, Devices, search, the rules.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  const menu = document.querySelector('#messages .menu');
  const open = (id) => !$(id).hidden;
  if (menu) {
    menu.parentNode.querySelector('.more')?.focus(); // back on the ⋯ that opened it
    menu.remove();
  } else if (open('chat-panel')) app.panel?.toggle(app);
  else if (open('devices-panel')) import('./devices.js').then((m) => m.toggle(app));
  else if (open('search-panel')) $('search-panel').hidden = true;
  else if (open('rules')) $('rules').hidden = true;
});
// Keyboard shortcuts (shortcuts.js, loaded at the first `?` or Ctrl+Alt key, then given every key): `?` lists them.
let shortcuts = null;
document.addEventListener('keydown', (e) => {
  if (shortcuts) shortcuts.key(app, e);
  else if (e.key === '?' || (e.altKey && (e.ctrlKey || e.metaKey))) import('./shortcuts.js').then((m) => (shortcuts = m).key(app, e));
});
// The emoji picker (emoji.js), loaded at the first tap on "Emoji": a pick goes into the message at the caret.
$('emoji-button').addEventListener('click', () => import('./emoji.js').then((m) => m.open($('emoji-button'), (e) => m.insert($('input'), e), $('input'))));
$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  import('./search.js').then((m) => m.search(app));
});
$('search-close').addEventListener('click', () => { $('search-panel').hidden = true; });
$('starred-button').addEventListener('click', () => import('./starred.js').then((m) => m.show(app))); // 1.2 (§25)
$('profile-button').addEventListener('click', () => import('./profiles.js').then((m) => m.toggle(app))); // 1.2 (§30)
$('account-button').onclick = () => import('./account.js').then((m) => m.toggle(app.link));
$('logout-button').onclick = () => import('./account.js').then((m) => m.logOut(app.link, UNTOLD_KEY));

// A teacher's link with an invite code: its field (invite.js).
if (location.hash.startsWith('#invite=')) import('./invite.js').then((m) => m.show());
// A linked browser logs in by itself, with its token.
if (localStorage.getItem(LINK_KEY)) import('./session.js').then((m) => m.resume(app));
// A phone that scanned a link code's QR code (`#link=user:code`): invite.js fills the form in.
if (location.hash.startsWith('#link=')) import('./invite.js').then((m) => m.fillLink());
