// app.js: the browser client's controller. It logs in (link.js), keeps
// what it learns in the model (chats.js), draws it (view.js), and turns
// what the user does into requests (wire.js formats them).

import { Link } from './link.js';
import { Model, Outbox, Drafts, newId } from './chats.js';
import { request, parseMsgOk, parseHistoryLine, parseChatsLine, parseRoomsLine, parseSeen, parsePrefLine, isName, isId, isRoom, isChat, serverOf, fold, normalizeCode } from './wire.js';
import { t, translate } from './i18n.js';
import { renderList, seenText, preview, banner, Conversation } from './view.js';
import { loadRules, renderHeader, aboutMe, isModeration, whyNotWrite } from './moderation.js';

const $ = (id) => document.getElementById(id);

/** HISTORY returns at most this many (protocol 1.1). */
const MOST = 1000;
/** TYPING is sent at most this often, and shown this long. */
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;

let link = null;
let model = null;
let outbox = null;
// Where the account's outbox and drafts are kept: the tab's sessionStorage after a password's login.
let storage = sessionStorage;
/** What was typed and not sent, per chat (chats.js). */
let drafts = null;
let view = null;
/** Reply, edit, delete, react (1.2): actions.js, loaded at the first "⋯" (search.js at the first search). */
let actions = null;
let actionsLoading = null;
let openKey = null;
let hiddenCount = 0;
let typingSupported = true;
let lastTyping = 0;
/** The open room's rules (ROOMINFO, 1.2), or null. */
let rules = null;
const inFlight = new Set();
/** Messages that came as events: a refresh checks none came while it asked CHATS. */
let arrivals = 0;
/** The chat's panel (panel.js), once loaded; what a linked browser keeps (store.js), once loaded. */
let panel = null;
let archive = null; // archive.js, once a chat is archived (1.2, §23)
/** A chat's pages (1.2 §4): history.js, loaded at the login. */
let pages = null;
const paged = () => (pages ||= import('./history.js'));
let store = null;

/** Where a linked browser keeps its device and token (never a password). */
const LINK_KEY = `wachat:link:${location.host}`;
/** The last user name that logged in here (never a password). */
const USER_KEY = `wachat:user:${location.host}`;

/** A "Log out" the server did not hear (account.js says so once). */
const UNTOLD_KEY = `wachat:untold:${location.host}`;

translate(document);
$('user').value = sessionStorage.getItem(USER_KEY) || localStorage.getItem(USER_KEY) || '';
if (sessionStorage.getItem(UNTOLD_KEY)) import('./account.js').then((m) => m.untold(UNTOLD_KEY));
// The app's files kept for a start without the network (sw.js); never a WebSocket or a token.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => {});
  navigator.serviceWorker.addEventListener('controllerchange', () => navigator.serviceWorker.controller?.postMessage('keep'));
}
$('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
$('search-scope').options[1].disabled = true; // "This chat": none is open yet
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if ($('login-form').classList.contains('linking')) linkWithCode();
  else start(false);
});
$('link-mode').addEventListener('click', () => {
  const linking = $('login-form').classList.toggle('linking');
  $('link-mode').textContent = t(linking ? 'login' : 'linkMode');
  $('login-error').textContent = '';
});
// The devices panel (devices.js) and the chat's panel (panel.js) load when first opened.
$('devices-button').addEventListener('click', () => import('./devices.js').then((m) => m.toggle(app)));
$('members-button').addEventListener('click', () => import('./panel.js').then((m) => (panel = m).toggle(app)));
$('register-button').addEventListener('click', () => start(true));
// 1.2 (§24): calls (call.js), loaded at the first call button or CALL event.
let calls = null;
const callsReady = () => (calls ||= import('./call.js').then((m) => m.setup(app)));
$('call-voice').addEventListener('click', () => callsReady().then((c) => c.start('voice')));
$('call-video').addEventListener('click', () => callsReady().then((c) => c.start('video')));
// "New chat" finds people by the start of their name (1.2, §26): people.js, at the first letter typed.
$('new-chat-name').addEventListener('input', () => { if (link) import('./people.js').then((m) => m.suggest(app)); });
$('new-chat').addEventListener('submit', (e) => {
  e.preventDefault();
  newChat($('new-chat-name').value.trim());
});
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
$('input').addEventListener('input', () => {
  keepDraft();
  typing();
  // @mentions from the room's members: autocomplete.js, at the first `@` typed in a room.
  if (openKey && isRoom(openKey) && ($('input').value.includes('@') || $('mention-list'))) import('./autocomplete.js').then((m) => m.suggest(app));
});
$('back').addEventListener('click', closeChat);
// The server's rules (rules.js) load when they are shown.
$('rules-button').addEventListener('click', () => { if (link) import('./rules.js').then((m) => m.showRules(link)).catch(() => {}); });
$('rules-close').addEventListener('click', () => { $('rules').hidden = true; });
// Esc closes what is open on top, one thing a press: a message's menu, the photo viewer, Details, Devices, search, the rules.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  const menu = document.querySelector('#messages .menu');
  const open = (id) => !$(id).hidden;
  if (menu) {
    menu.parentNode.querySelector('.more')?.focus(); // back on the ⋯ that opened it
    menu.remove();
  } else if (open('chat-panel')) panel?.toggle(app);
  else if (open('devices-panel')) import('./devices.js').then((m) => m.toggle(app));
  else if (open('search-panel')) $('search-panel').hidden = true;
  else if (open('rules')) $('rules').hidden = true;
});
const app = {
  link: () => link, model: () => model, view: () => view, chat: () => view.chat, rules: () => rules, open: openChat, applied,
  say: (text) => { $('typing').textContent = text; },
  error: showError, refusal, composer: updateComposer, sub: updateSub, close: closeChat, showRules, draw, enqueue,
  // Whether this browser keeps the account's data past the tab (a token: "stay signed in", a code).
  persists: () => storage === localStorage,
};
$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  import('./search.js').then((m) => m.search(app));
});
$('search-close').addEventListener('click', () => { $('search-panel').hidden = true; });
$('starred-button').addEventListener('click', () => import('./starred.js').then((m) => m.show(app))); // 1.2 (§25)
$('account-button').onclick = () => import('./account.js').then((m) => m.toggle(link));
$('logout-button').onclick = () => import('./account.js').then((m) => m.logOut(link, UNTOLD_KEY));
$('messages').addEventListener('scroll', () => {
  if ($('messages').scrollTop < 40) paged().then((m) => m.older(app), () => {});
});
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  hiddenCount = 0;
  document.title = 'wachat';
  if (openKey) markRead(model.chat(openKey));
});

/** The password way: the browser logs in as its own device, the password in memory only. */
function start(register) {
  const user = $('user').value.trim();
  const secret = $('password').value;
  $('login-error').textContent = '';
  if (!isName(user) || !secret) {
    $('login-error').textContent = t('refused', { reason: 'user: 1–32 of A-Z a-z 0-9 _ . -' });
    return;
  }
  const invite = normalizeCode($('invite')?.value || '');
  begin({ user, device: deviceFor(user), secret, email: $('email').value.trim(), register, invite, stay: $('stay').checked });
}

/** The invite code's field: invite.js. */
const invite = (reply) => import('./invite.js').then((m) => m.show(reply));
if (location.hash.startsWith('#invite=')) invite();

/** "Link with a code": PAIR gives this browser a token, kept instead of any password. */
async function linkWithCode() {
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
  begin({ user, device, secret: token, token: true });
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
function unlinked(why = 'unlinked') {
  localStorage.removeItem(LINK_KEY);
  if (link) {
    const user = link.user;
    import('./store.js').then((m) => m.forget(location.host, user));
    link.stop();
  }
  link = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = t(why);
}

async function begin(who) {
  askNotifications();
  const user = who.user;
  // A linked browser with chats kept opens them without the network, and keeps trying.
  store = who.token ? await import('./store.js').catch(() => null) : null;
  const offlineStart = Boolean(store?.hasKept(location.host, user));
  link = new Link(base(), { ...who, persist: offlineStart });
  model = new Model(user);
  // A password's login keeps nothing past the tab (README, "What stays in this browser").
  storage = who.token || who.stay ? localStorage : sessionStorage;
  outbox = new Outbox(`wachat:outbox:${location.host}:${fold(user)}`, storage);
  drafts = model.drafts = new Drafts(`wachat:drafts:${location.host}:${fold(user)}`, storage);
  view = new Conversation();
  // An invitation's Join (§18): JOIN, then the room opens.
  view.onJoin = (room) => newChat(room);
  view.isIn = (room) => model.chats.has(fold(room));
  view.onMore = async (item, msg) => {
    actionsLoading ||= import('./actions.js').then((m) => (actions = new m.Actions(app)));
    (await actionsLoading).menu(item, msg);
  };
  // 1.2 (§21): files in chats: files.js, loaded after the login (never on the first load).
  view.onFile = (item, msg) => import('./files.js').then((m) => m.show(item, msg, link, model.chatOf(msg).name));
  link.addEventListener('status', (e) => onStatus(e.detail));
  link.addEventListener('event', (e) => onEvent(e.detail));
  $('login-button').disabled = $('register-button').disabled = true;
  try {
    await link.start();
  } catch (reply) {
    if (offlineStart && reply.code === 'OFFLINE') return enter(who);
    link = null;
    if (who.token && reply.code === 'AUTH_FAILED') unlinked();
    else if (reply.code === 'AUTH_FAILED' && !who.register) $('login-error').textContent = t('wrongLogin');
    else if (reply.code === 'OFFLINE') $('login-error').textContent = t('unreachable');
    else $('login-error').textContent = t('refused', { reason: reply.reason || reply.code });
    if (who.register && reply.code === 'AUTH_FAILED') invite(reply);
    return;
  } finally {
    $('login-button').disabled = $('register-button').disabled = false;
  }
  // The secret stays in the link's memory only, for reconnections.
  $('password').value = '';
  (who.token || who.stay ? localStorage : sessionStorage).setItem(USER_KEY, link.user);
  if (who.stay) import('./stay.js').then((m) => m.stay(link, base(), who.device, LINK_KEY)).then(() => import('./store.js')).then((m) => { store = m; }).catch((r) => showError(refusal(r)));
  enter(who);
}

/** Shows the app: what was kept (store.js), then what the server says once online. */
async function enter(who) {
  model.me = view.me = link.user;
  const kept = store ? store.restore(location.host, model) : null;
  for (const name of drafts.names()) model.chat(name); // a chat with a draft is in the list, as WhatsApp keeps it
  for (const entry of outbox.entries) model.queue(entry);
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${link.user} · ${who.device}`;
  $('me').title = $('me').textContent;
  draw();
  if (kept) openChat(model.chat(kept).name);
  // 1.2 (§21): attach, drop, paste; the photo viewer's Forward is forward.js's (which imports files.js: never the other way).
  import('./files.js').then((m) => m.setup(app, (msg) => import('./forward.js').then((f) => f.choose(app, msg))));
  paged().catch(() => { pages = null; });
  if (link.status !== 'online') return; // refresh() runs when it is
  await refresh();
}

// A linked browser logs in by itself, with its token.
const saved = savedLink();
if (saved) begin({ user: saved.user, device: saved.device, secret: saved.token, token: true });

function onStatus({ status, retryMs, reply }) {
  if (status === 'deleted') {
    unlinked('accountDeleted');
    return;
  }
  if (status === 'unlinked' || (status === 'refused' && link?.who.token && reply?.code === 'AUTH_FAILED')) {
    unlinked();
    return;
  }
  if (status !== 'throttling') clearInterval(onStatus.counting);
  if (status === 'throttled') {
    // The server's words and its wait, counted down, on the login form or the header, until the link tries again.
    const until = Date.now() + retryMs;
    const say = () => onStatus({ status: 'throttling', reply, retryMs: Math.max(0, until - Date.now()) });
    onStatus.counting = setInterval(say, 1000);
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
  $('chat-offline').textContent = status === 'online' ? '' : `${text}. ${t('offlineHere')}`;
  if (openKey && model) updateSub(model.chat(openKey));
  if (status === 'online' && model && !$('app').hidden) refresh();
  if ((status === 'refused' || status === 'disabled') && !$('app').hidden) {
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = text;
  }
}

/** What a `KO:RATE_LIMITED` of a login says, without its wait (the app counts it) or an operator's flag. */
function slowDown(reply) {
  const said = (reply.reason || '').split(/; try again in /)[0].replace(/ \(--[a-z-]+\)$/, '');
  if (said.startsWith('too many failed logins')) return t('tooManyLogins');
  return said ? said[0].toUpperCase() + said.slice(1) : t('tooManyLogins');
}

/** Everything the server knows that the app may have missed: after login and each reconnection. */
async function refresh() {
  try {
    const [users, chats, rooms, prefs, blocks, archived] = await Promise.all([
      link.request(request.users()), link.request(request.chats()), link.request(request.rooms()),
      link.request(request.prefs()), link.request(request.blocks()), link.request(request.archived()),
    ]);
    // 1.2: levels, pins and blocks, as my other devices set them (a server without them says KO).
    if (prefs.reply.ok) {
      for (const chat of model.chats.values()) Object.assign(chat, { level: 'all', pinned: false });
      for (const pref of prefs.lines.map(parsePrefLine).filter(Boolean)) onPref(pref);
    }
    if (archived.reply.ok) {
      for (const chat of model.chats.values()) chat.archived = false;
      for (const name of archived.lines.filter(isChat)) onArchive({ chat: name, archived: true });
    }
    if (blocks.reply.ok) model.blocked = new Set(blocks.lines.filter(isName).map(fold));
    refreshStars();
    model.online = new Set(users.lines.map(fold));
    let counts = chats.lines;
    const recent = setCounts(counts);
    for (const line of rooms.lines) {
      const entry = parseRoomsLine(line);
      if (entry) model.chat(entry.room).memberCount = entry.members;
    }
    draw();
    // The last message of the 30 most recent chats, for the list (an action
    // is not one: while the newest lines are all actions, ask further back).
    // CHATS and these HISTORYs are separate requests: a message that lands
    // between them is in a preview, so its event adds nothing, but not in
    // the count. So CHATS is asked again after the previews: the counts
    // hold once they did not change meanwhile and no message came while
    // it was asked (the previews are read again until then, at most five
    // times).
    for (let tries = 1; ; tries++) {
      await Promise.all(recent.slice(0, 30).map(async (chat) => {
        if (chat.last) await loadPage(chat, 10);
        for (let n = 10; !chat.last && n <= 250; n *= 5) {
          await loadPage(chat, n);
          if (!chat.more) break;
        }
      }));
      const arrived = arrivals;
      const again = await link.request(request.chats());
      if (!again.reply.ok) break;
      // A message whose event came while CHATS was asked may be counted
      // in it or not: its count would be taken or lost; so once more.
      const held = again.lines.join('\n') === counts.join('\n') && arrivals === arrived;
      counts = again.lines;
      if (held || tries === 5) break;
    }
    for (const chat of setCounts(counts)) {
      // The mentions among its unread messages, for the @ badge.
      const others = chat.messages.filter((m) => !m.mine);
      chat.mentions = chat.unread ? others.slice(-chat.unread).filter((m) => m.mention).length : 0;
    }
    if (openKey) {
      const chat = model.chat(openKey);
      await (await paged()).newest(app, chat, true);
      markRead(chat);
    }
  } catch (_) {
    /* dropped meanwhile: the next reconnection refreshes again */
  }
  flushOutbox();
  draw();
}

/** The unread counts of a CHATS listing, set on its chats (the open one has none); its chats, most recent first. */
function setCounts(lines) {
  const chats = [];
  for (const line of lines) {
    const entry = parseChatsLine(line);
    if (!entry) continue;
    const chat = model.chat(entry.chat);
    chat.unread = fold(chat.name) === openKey ? 0 : entry.unread;
    chats.push(chat);
  }
  return chats;
}

function draw() {
  renderList(model, openKey, openChat);
  archive?.row(model, draw);
  suggest();
  // What a linked browser keeps for a start without the network, written a moment later.
  clearTimeout(draw.saving);
  draw.saving = setTimeout(keepChats, 300);
}

/**
 * Keeps the chats in this browser (store.js) if it is linked with a code:
 * it keeps its token already, and opens by itself. A password's login
 * leaves nothing of the chats behind, as it leaves no password.
 */
function keepChats() {
  store?.keep(location.host, model, openKey);
}

/** "New chat" suggests the people and rooms of my chats, and who is online. */
function suggest() {
  const names = new Set([...model.chats.values()].map((c) => c.name));
  for (const user of model.online) if (!model.isMe(user)) names.add(user);
  $('suggested').replaceChildren(...[...names].sort().map((name) => Object.assign(document.createElement('option'), { value: name })));
}

/** A refusal or a failure, where the user looks: view.js's banner, in an error's colour (`info`: news, in blue), with an `action` if given. */
function showError(text, info = false, action = null) {
  banner(text, info, action);
}

/** A KO (or an Error) in words. */
function refusal(reply) {
  return t('refused', { reason: reply.reason || reply.code || reply.message || '' });
}

/** Asks for the newest `limit` messages of `chat`; returns those that were new. */
async function loadPage(chat, limit) {
  const { reply, lines } = await link.request(request.history(chat.name, Math.min(limit, MOST)));
  if (!reply.ok) return [];
  chat.limit = Math.max(chat.limit || 0, limit);
  chat.more = lines.length >= limit && limit < MOST;
  const added = [];
  for (const line of lines) {
    const msg = parseHistoryLine(line);
    if (!msg) continue;
    const result = model.add(msg);
    if (result.added) added.push(result.msg);
    else if (!result.msg) applied(result);
    else if (view && view.chat === chat) view.tick(result.msg);
  }
  return added;
}

async function openChat(name) {
  const chat = model.chat(name);
  if (openKey !== fold(chat.name)) {
    // The draft of the chat left stays with it (keepDraft); this chat's own comes back.
    actions?.cancel();
    $('mention-list')?.remove();
    $('input').value = drafts.get(chat.name);
  }
  openKey = fold(chat.name);
  $('app').classList.add('chat-open');
  $('chat-title').textContent = chat.name;
  $('call-voice').hidden = $('call-video').hidden = Boolean(chat.room) || model.isMe(chat.name);
  $('chat-sub').textContent = '';
  $('empty').hidden = true;
  $('composer').hidden = false;
  panel?.close();
  $('search-scope').options[1].disabled = false;
  $('search-scope').value = 'here';
  $('typing').textContent = '';
  rules = null;
  renderHeader(null);
  updateComposer();
  if (chat.room) showRules(chat);
  const unread = chat.unread;
  try {
    if (chat.cursor === undefined) await (await paged()).newest(app, chat); // older pages on scrolling up
  } catch (_) {
    /* offline: show what is known */
  }
  if (openKey !== fold(chat.name)) return; // another chat was opened meanwhile
  view.open(chat, unread);
  paged().then((m) => m.shown(app, chat), () => {});
  chat.unread = chat.mentions = 0;
  markRead(chat);
  draw();
  updateSub(chat);
  $('input').focus();
}

function closeChat() {
  openKey = null;
  actions?.cancel();
  $('app').classList.remove('chat-open');
  $('input').value = ''; // the chat's draft stays with it
  // No chat, no header: its title, its details and their panel go.
  for (const id of ['chat-title', 'chat-sub', 'typing']) $(id).textContent = '';
  renderHeader(null);
  panel?.close();
  $('room-note').hidden = true;
  $('composer').hidden = true;
  $('empty').hidden = false;
  $('messages').replaceChildren();
  $('search-scope').value = '*';
  $('search-scope').options[1].disabled = true;
  view.chat = null;
  draw();
}

/**
 * The composer of the open chat, closed with the reason when I cannot
 * write there: I blocked the other (1.2), I am muted, the room is
 * announce-only (§18). The server refuses such a message anyway.
 */
function updateComposer() {
  const chat = openKey && model.chat(openKey);
  if (!chat) return;
  const why = !chat.room && model.blocked.has(openKey) ? t('youBlocked', { who: chat.name }) : chat.room ? whyNotWrite(rules) : '';
  // The composer's every way to send (files.js's 📎 and 🎤 among them) closes alike.
  for (const control of $('composer').querySelectorAll('textarea, button')) control.disabled = Boolean(why);
  $('input').placeholder = why || t('message');
  $('room-note').textContent = why;
  $('room-note').hidden = !why;
  panel?.sync();
}

async function updateSub(chat) {
  if (chat.room) {
    // A room just joined is in no ROOMS answer yet: asked now, for its count.
    if (chat.memberCount === undefined && link.status === 'online') {
      const { reply, lines } = await link.request(request.rooms()).catch(() => ({ reply: {} }));
      if (reply.ok) for (const entry of lines.map(parseRoomsLine).filter(Boolean)) model.chat(entry.room).memberCount = entry.members;
    }
    if (openKey === fold(chat.name)) $('chat-sub').textContent = chat.memberCount ? t('memberCount', { n: chat.memberCount }) : '';
    return;
  }
  if (link.status !== 'online') {
    $('chat-sub').textContent = ''; // offline: nobody's presence is known
    return;
  }
  if (model.online.has(fold(chat.name))) {
    $('chat-sub').textContent = t('online');
    return;
  }
  try {
    const { reply } = await link.request(request.lastseen(chat.name));
    const seen = reply.ok ? parseSeen(reply.value) : null;
    if (seen && openKey === fold(chat.name)) $('chat-sub').textContent = seenText(seen.seen);
  } catch (_) {
    /* offline */
  }
}

/** One READ a chat every 2 s at most: it is cumulative (src/client/reads.rs). */
const READ_EVERY_MS = 2000;

/** READ for the newest message from the others in `chat`, if the reader can see it. */
function markRead(chat) {
  if (document.hidden || !link || fold(chat.name) !== openKey) return;
  const last = model.lastFromOthers(chat);
  if (!last || chat.readSent === last) return;
  const wait = (chat.readAt || 0) + READ_EVERY_MS - Date.now();
  if (wait > 0) {
    chat.readLater ||= setTimeout(() => {
      chat.readLater = null;
      markRead(chat);
    }, wait);
    return;
  }
  chat.readSent = last;
  chat.readAt = Date.now();
  link.request(request.read(chat.room ? chat.name : last.from, last.id)).catch(() => {
    chat.readSent = null;
  });
}

function send() {
  const text = $('input').value.replace(/\r/g, '');
  if (!text.trim() || !openKey) return;
  const chat = model.chat(openKey);
  if (actions?.edit(chat, text)) {
    $('input').value = '';
    return;
  }
  const entry = { to: chat.name, id: newId(), text, ts: Date.now(), ...actions?.replyTo(chat) };
  try {
    sendLine(entry); // checks the text fits
  } catch (e) {
    showError(t('failed', { reason: e.message }));
    return;
  }
  $('input').value = '';
  drafts.set(chat.name, '');
  enqueue(entry);
}

/** Puts a new message in the outbox (a text here, a file from files.js), shows it, and sends it if online. */
function enqueue(entry) {
  outbox.add(entry);
  const { msg } = model.queue(entry);
  if (view.chat === model.chatOf(msg)) view.append(msg);
  draw();
  trySend(entry);
}

/** The next wait of an outbox entry refused for now, by id. */
const retryWait = new Map();

/** Sends an outbox entry if online; it leaves the outbox at the server's answer. */
function trySend(entry) {
  if (inFlight.has(entry.id) || !link || link.status !== 'online') return;
  inFlight.add(entry.id);
  // A file goes through files.js (its bytes, then its FILE), a text in one line.
  const sending = entry.file ? import('./files.js').then((m) => m.deliver(app, entry, () => outbox.save())) : link.request(sendLine(entry));
  sending
    .then(({ reply }) => {
      inFlight.delete(entry.id);
      // Refused for now (--rate; 1.2's UNAVAILABLE, a cluster failing
      // over): the same id again, 250 ms doubling to 4 s, as the Rust clients do.
      if (!reply.ok && (reply.code === 'RATE_LIMITED' || reply.code === 'UNAVAILABLE')) {
        const wait = Math.min((retryWait.get(entry.id) || 125) * 2, 4000);
        retryWait.set(entry.id, wait);
        setTimeout(() => trySend(entry), wait);
        return;
      }
      retryWait.delete(entry.id);
      outbox.remove(entry.id);
      const chat = model.chat(entry.to);
      const msg = chat.keys.get(`${fold(model.me)}\n${entry.id}`);
      if (!msg) return;
      if (reply.ok) {
        const ok = parseMsgOk(reply.value);
        if (ok) msg.ts = ok.ts;
        if (msg.state === 'SENT') msg.state = 'RECEIVED';
        if (entry.file) msg.file = { ...entry.file, id: entry.upload.id }; // now the server's, to fetch and forward
      } else {
        msg.failed = reply.reason || reply.code;
        showError(t('failed', { reason: msg.failed }));
      }
      if (view.chat === chat) view.redraw(msg); // its tick, and now its actions
      draw();
    })
    .catch(() => {
      // Cut off: it stays in the outbox for the next reconnection, whose
      // flush it may have missed while this attempt was still winding
      // down; if the link is back already, it goes again now.
      inFlight.delete(entry.id);
      if (link && link.status === 'online') setTimeout(() => trySend(entry), 250);
    });
}

/** An outbox entry's line: a MSG, or (1.2) the REPLY to `re`. */
function sendLine(entry) {
  return entry.re ? request.reply(entry.to, entry.id, entry.re, entry.text) : request.msg(entry.to, entry.id, entry.text);
}

/** What an action (1.2) changed: drawn again where shown; a deleted text leaves the outbox too. */
function applied({ chat, changed, erased }) {
  if (erased.length) outbox.scrub(erased);
  if (erased.length) keepChats(); // a deleted text leaves what the browser kept, now
  if (actions?.mode?.msg.deleted) actions.cancel(); // the composer quoted it
  if (view.chat === chat) for (const msg of changed) view.redraw(msg);
  if (changed.length) draw();
}

function flushOutbox() {
  for (const entry of outbox.entries) trySend(entry);
}

function onEvent(event) {
  switch (event.kind) {
    case 'MSG': {
      const result = model.add({ ...event, state: 'RECEIVED' });
      const { chat, msg, added } = result;
      if (!msg) applied(result);
      if (!added) return;
      arrivals += 1;
      const open = fold(chat.name) === openKey && view.chat === chat;
      if (open) {
        view.append(msg);
        markRead(chat);
      }
      // No longer typing.
      if (open && $('typing').textContent === t('typing', { who: msg.from })) $('typing').textContent = '';
      if (!msg.mine && (!open || document.hidden)) {
        chat.unread += 1;
        if (msg.mention) chat.mentions += 1;
      }
      if (!msg.mine && document.hidden) notify(chat, msg);
      draw();
      break;
    }
    case 'STATUS':
      for (const msg of model.status(event.peer, event.id, event.state)) if (view.chat) view.tick(msg);
      break;
    case 'READMARK': {
      // Read on another of my devices up to `id`: the badge goes, unless
      // something newer came since (the next CHATS counts it).
      const chat = model.chat(event.chat);
      if (!chat.last || chat.last.id === event.id || chat.last.mine) chat.unread = chat.mentions = 0;
      draw();
      break;
    }
    case 'JOINED':
    case 'LEFT':
      if (event.kind === 'JOINED') model.online.add(fold(event.user));
      else model.online.delete(fold(event.user));
      draw();
      if (openKey === fold(event.user)) updateSub(model.chat(openKey));
      break;
    case 'MEMBER': {
      // The room's count follows who joins and leaves.
      const chat = model.chat(event.room);
      if (chat.memberCount !== undefined) chat.memberCount = Math.max(0, chat.memberCount + (event.change === 'JOINED' ? 1 : -1));
      if (openKey === fold(event.room)) {
        updateSub(chat);
        if (!$('chat-panel').hidden) panel?.showMembers();
      }
      break;
    }
    case 'PREF':
      onPref(event);
      draw();
      break;
    case 'ARCHIVE':
      onArchive(event);
      draw();
      if (openKey === fold(event.chat)) panel?.sync();
      break;
    case 'STAR':
      import('./starred.js').then((m) => m.onEvent(app, event));
      break;
    case 'BLOCKED':
    case 'UNBLOCKED':
      model.blocked[event.kind === 'BLOCKED' ? 'add' : 'delete'](fold(event.user));
      updateComposer();
      if (!$('devices-panel').hidden) import('./devices.js').then((m) => m.renderBlocked(app));
      break;
    case 'TYPING': {
      if (model.isMe(event.from)) return;
      const chat = model.chat(isRoom(event.to) ? event.to : event.from);
      chat.typingUntil = Date.now() + TYPING_SHOWN_MS;
      if (fold(chat.name) === openKey) {
        $('typing').textContent = t('typing', { who: event.from });
        setTimeout(() => {
          if (Date.now() >= chat.typingUntil && fold(chat.name) === openKey) $('typing').textContent = '';
        }, TYPING_SHOWN_MS + 50);
      }
      break;
    }
    case 'CALL':
      callsReady().then((c) => c.onEvent(event));
      break;
    default:
      if (isModeration(event)) onModeration(event);
      break;
  }
}

/** A moderation event (1.2): the header of the open room, and a line if it is about me. */
function onModeration(event) {
  const said = aboutMe(event, model.me);
  const join = event.kind === 'INVITED' ? { label: t('join', { room: event.room }), run: () => newChat(event.room) } : null;
  if (said) showError(said, !['KICKED', 'BANNED', 'MUTED'].includes(event.kind), join);
  if (openKey === fold(event.room)) {
    showRules(model.chat(event.room));
    if (!$('chat-panel').hidden) panel?.showMembers();
  }
}

/** My starred messages (1.2, §25): starred.js is loaded once there is one (the ★ of their bubbles). */
async function refreshStars() {
  const { reply, lines } = await link.request(request.starred()).catch(() => ({ reply: {} }));
  if (reply.ok && (lines.length || view.starred)) import('./starred.js').then((m) => m.load(app, lines));
}

/** A chat archived (1.2, §23), from ARCHIVED or an ARCHIVE event: archive.js draws the list's row. */
function onArchive({ chat, archived }) {
  model.chat(chat).archived = archived;
  if (archived && !archive) import('./archive.js').then((m) => { archive = m; draw(); });
}

/** A chat's level and pin (1.2), from PREFS or a PREF event. */
function onPref({ chat, level, pinned }) {
  Object.assign(model.chat(chat), { level, pinned });
  if (openKey === fold(chat)) updateComposer();
}

/** Asks for a room's rules and draws its header. */
async function showRules(chat) {
  const info = await loadRules(link, chat.name);
  if (openKey !== fold(chat.name)) return;
  rules = info;
  renderHeader(info);
  updateComposer();
}

/** Keeps what the composer holds as the open chat's draft (an edit of a sent message is none). */
function keepDraft() {
  if (openKey && drafts && actions?.mode?.kind !== 'edit') drafts.set(openKey, $('input').value);
}

/** TYPING (protocol 1.2) at most every 3 s; a server without it says BAD_REQUEST once. */
function typing() {
  if (!openKey || !typingSupported || !link || link.status !== 'online') return;
  const name = model.chat(openKey).name;
  // Typing is told on one server only (1.3): a chat of another server
  // (bob@lab2, #lab@lab2) would be refused.
  if (name.includes('@')) return;
  if (Date.now() - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = Date.now();
  link.request(request.typing(name))
    .then(({ reply }) => {
      if (!reply.ok && reply.code === 'BAD_REQUEST') typingSupported = false;
    })
    .catch(() => {});
}

async function newChat(name) {
  if (!isChat(name)) {
    showError(t('refused', { reason: 'user or #room' }));
    return;
  }
  try {
    if (isRoom(name)) {
      const { reply } = await link.request(request.join(name));
      if (!reply.ok) throw reply;
    } else if (!model.chats.has(fold(name)) && !serverOf(name)) {
      // A user of this server; one of another server (1.3, `bob@lab2`)
      // is that server's to know, and its first message says if not.
      const { reply } = await link.request(request.lastseen(name));
      if (!reply.ok) throw reply;
      name = parseSeen(reply.value)?.user || name;
    }
  } catch (reply) {
    showError(refusal(reply));
    return;
  }
  $('new-chat-name').value = '';
  openChat(name);
}

function askNotifications() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

/**
 * While the tab is hidden: the count in its title, and a notification if
 * allowed, as the chat's level says (1.2): every message, or only those
 * that mention me (which always notify, unless the chat is muted).
 */
function notify(chat, msg) {
  // Rust's Level::rings: an archived chat as 'mentions' at most, and a direct message a mention unless archived.
  const level = chat.archived && chat.level === 'all' ? 'mentions' : chat.level;
  const mention = msg.mention || (!chat.room && !chat.archived);
  if (level === 'none' || (level === 'mentions' && !mention)) return;
  hiddenCount += 1;
  document.title = `(${hiddenCount}) wachat`;
  if ('Notification' in window && Notification.permission === 'granted') {
    const where = isRoom(msg.to) ? ` ${msg.to}` : '';
    const title = t(msg.mention ? 'mentionFrom' : 'newMessage', { who: msg.from + where });
    const options = { body: preview(msg.text, msg).slice(0, 120), tag: 'wachat' };
    // An installed app on a phone may only notify through its service worker.
    if (navigator.serviceWorker?.controller) navigator.serviceWorker.ready.then((r) => r.showNotification(title, options)).catch(() => {});
    else new Notification(title, options);
  }
}

// A phone that scanned a link code's QR code (`#link=user:code`): invite.js fills the form in.
if (location.hash.startsWith('#link=')) import('./invite.js').then((m) => m.fillLink());
