// conversation.js: the open chat, on the right. Opening one (from the
// list, "New chat", a search, an invitation) draws its newest page
// (history.js), its header (who is online, a room's count and rules)
// and its composer, open or closed with the reason; READ follows what
// the reader sees of it.

import { request, parseRoomsLine, parseSeen, isRoom, isChat, serverOf, fold } from './wire.js';
import { t } from './i18n.js';
import { seenText, banner, refusal, faces, drawChatFace } from './view.js';
import { loadRules, renderHeader, whyNotWrite } from './moderation.js';
import { draw } from './chatlist.js';
import { opened, closed } from './back.js';

const $ = (id) => document.getElementById(id);

/** One READ a chat every 2 s at most: it is cumulative (src/client/reads.rs). */
const READ_EVERY_MS = 2000;

/** A chat's pages (1.2, §4): history.js, loaded at the login, once. */
export const paged = (app) => (app.pages ||= import('./history.js'));

/** Opens the chat `name`: its draft in the composer, its newest page, its header; resolves once it is drawn. */
export async function openChat(app, name) {
  const { model } = app;
  const chat = model.chat(name);
  if (app.openKey !== fold(chat.name)) {
    // A banner is about the chat left: it does not follow into this one.
    $('banner').hidden = true;
    // The draft of the chat left stays with it (sending.js's keepDraft); this chat's own comes back.
    app.actions?.cancel();
    $('mention-list')?.remove();
    $('input').value = app.drafts.get(chat.name);
    // The chat left's messages go at once: under this chat's title, while its page loads, they would read as its own.
    app.view.chat = null;
    $('messages').replaceChildren();
  }
  app.openKey = fold(chat.name);
  opened(chat.name); // a history entry: the phone's Back comes back to the list
  $('app').classList.add('chat-open');
  $('chat-title').textContent = chat.room ? chat.name : faces.shown(chat.name);
  drawChatFace(chat);
  $('call-voice').hidden = $('call-video').hidden = model.isMe(chat.name);
  $('chat-sub').textContent = '';
  $('empty').hidden = true;
  $('composer').hidden = false;
  app.panel?.close();
  closeInfo();
  $('search-scope').options[1].disabled = false;
  $('search-scope').value = 'here';
  $('typing').textContent = '';
  app.rules = null;
  renderHeader(null);
  updateComposer(app);
  if (chat.room) showRules(app, chat);
  const unread = chat.unread;
  try {
    // The first page reaches the first unread message; older pages come on scrolling up.
    if (chat.cursor === undefined) await (await paged(app)).newest(app, chat, false, unread);
  } catch (_) {
    /* offline: show what is known */
  }
  if (app.openKey !== fold(chat.name)) return; // another chat was opened meanwhile
  app.view.open(chat, unread);
  paged(app).then((m) => m.shown(app, chat), () => {});
  chat.unread = chat.mentions = 0;
  markRead(app, chat);
  draw(app);
  updateSub(app, chat);
  $('input').focus();
}

/** A message's Info (receipts.js, 1.2 §31) is of the chat left: it closes. */
function closeInfo() {
  if (!$('info-panel').hidden) import('./receipts.js').then((m) => m.close());
}

/** Back to the list alone (a phone's ←, Leave room): no chat open. */
export function closeChat(app) {
  app.openKey = null;
  closed();
  app.actions?.cancel();
  $('app').classList.remove('chat-open');
  $('input').value = ''; // the chat's draft stays with it
  // No chat, no header: its title, its details and their panel go.
  for (const id of ['chat-title', 'chat-sub', 'typing']) $(id).textContent = '';
  drawChatFace(null);
  renderHeader(null);
  app.panel?.close();
  closeInfo();
  $('room-note').hidden = true;
  $('composer').hidden = true;
  $('empty').hidden = false;
  $('messages').replaceChildren();
  $('search-scope').value = '*';
  $('search-scope').options[1].disabled = true;
  app.view.chat = null;
  draw(app);
}

/** "New chat": a room is joined (JOIN), a user of this server checked (LASTSEEN), then the chat opens. */
export async function newChat(app, name) {
  const { link, model } = app;
  if (!isChat(name)) {
    banner(t('refused', { reason: 'user or #room' }));
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
    banner(refusal(reply));
    return;
  }
  $('new-chat-name').value = '';
  openChat(app, name);
}

/**
 * The composer of the open chat, closed with the reason when I cannot
 * write there: I blocked the other (1.2), I am muted, the room is
 * announce-only (§18). The server refuses such a message anyway.
 */
export function updateComposer(app) {
  const { model, openKey } = app;
  const chat = openKey && model.chat(openKey);
  if (!chat) return;
  const why = !chat.room && model.blocked.has(openKey) ? t('youBlocked', { who: chat.name }) : chat.room ? whyNotWrite(app.rules) : '';
  // The composer's every way to send (files.js's 📎 and 🎤 among them) closes alike.
  for (const control of $('composer').querySelectorAll('textarea, button')) control.disabled = Boolean(why);
  $('input').placeholder = why || t('message');
  $('room-note').textContent = why;
  $('room-note').hidden = !why;
  app.panel?.sync(app);
}

/** The line under the open chat's name: a room's member count, a user's "online" or last seen. */
export async function updateSub(app, chat) {
  const { link, model } = app;
  if (chat.room) {
    // A room just joined is in no ROOMS answer yet: asked now, for its count.
    if (chat.memberCount === undefined && link.status === 'online') {
      const { reply, lines } = await link.request(request.rooms()).catch(() => ({ reply: {} }));
      if (reply.ok) for (const entry of lines.map(parseRoomsLine).filter(Boolean)) model.chat(entry.room).memberCount = entry.members;
    }
    if (app.openKey === fold(chat.name)) $('chat-sub').textContent = chat.memberCount ? t('memberCount', { n: chat.memberCount }) : '';
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
    if (seen && app.openKey === fold(chat.name)) $('chat-sub').textContent = seenText(seen.seen);
  } catch (_) {
    /* offline */
  }
}

/** Asks for a room's rules and draws its header. */
export async function showRules(app, chat) {
  const info = await loadRules(app.link, chat.name);
  if (app.openKey !== fold(chat.name)) return;
  app.rules = info;
  renderHeader(info);
  updateComposer(app);
}

/** READ for the newest message from the others in `chat`, if the reader can see it. */
export function markRead(app, chat) {
  const { link, model } = app;
  if (document.hidden || !link || fold(chat.name) !== app.openKey) return;
  const last = model.lastFromOthers(chat);
  if (!last || chat.readSent === last) return;
  const wait = (chat.readAt || 0) + READ_EVERY_MS - Date.now();
  if (wait > 0) {
    chat.readLater ||= setTimeout(() => {
      chat.readLater = null;
      markRead(app, chat);
    }, wait);
    return;
  }
  chat.readSent = last;
  chat.readAt = Date.now();
  link.request(request.read(chat.room ? chat.name : last.from, last.id)).catch(() => {
    chat.readSent = null;
  });
}
