// events.js: what the server tells without being asked (link.js's
// `event`s, parsed by wire.js): a message, a tick, a read elsewhere,
// who comes and goes, a preference or a block set on another device,
// typing, a call, a room's moderation. Each changes the model and draws
// what it changed.

import { fold, request } from './wire.js';
import { t } from './i18n.js';
import { banner } from './view.js';
import { aboutMe, isModeration } from './moderation.js';
import { draw, applied, archived, marks } from './chatlist.js';
import { markRead, newChat, showRules, updateComposer, updateSub } from './conversation.js';
import { showTyping, typed } from './typing.js';
import { notify } from './notify.js';

const $ = (id) => document.getElementById(id);

/** Calls (1.2, §24): call.js, loaded at the first call button or CALL event. */
export const calling = (app) => (app.calls ||= import('./call.js').then((m) => m.setup(app)));

/** A room's calls (1.2, §32): groupcall.js, loaded at the first call button of a room, GROUPCALL event, or call going on. */
export const groupCalling = (app) => (app.groupCalls ||= import('./groupcall.js').then((m) => m.setup(app)));

/** The header's call buttons, and a call's line: in a room, its call (joined if it goes on); else a 1:1 call. */
export const startCall = (app, media) => (app.view.chat?.room ? groupCalling : calling)(app).then((c) => c.start(media));

/** 1.2 (§32): the calls going on in my rooms, at the login and each reconnection: groupcall.js loads once there is one. */
export async function refreshGroupCalls(app) {
  const got = await app.link.request(request.groupCalls()).catch(() => null);
  if (got?.reply.ok && (got.lines.length || app.groupCalls)) groupCalling(app).then((g) => g.listed(got.lines));
}

/** One event from the server. */
export function onEvent(app, event) {
  const { model, view, openKey } = app;
  switch (event.kind) {
    case 'MSG': {
      const result = model.add({ ...event, state: 'RECEIVED' });
      const { chat, msg, added } = result;
      if (!msg) applied(app, result);
      if (result.joinRefused) banner(t('joinRefused', { reason: result.joinRefused }));
      if (!added) return;
      app.arrivals += 1;
      if (chat.room && !msg.mine) receiptsMoved(chat.name);
      const open = fold(chat.name) === openKey && view.chat === chat;
      if (open) {
        view.append(msg);
        markRead(app, chat);
        typed(msg);
      }
      if (!msg.mine && (!open || document.hidden)) {
        chat.unread += 1;
        if (msg.mention) chat.mentions += 1;
      }
      if (!msg.mine && document.hidden) notify(app, chat, msg);
      draw(app);
      break;
    }
    case 'STATUS':
      for (const msg of model.status(event.peer, event.id, event.state)) if (view.chat) view.tick(msg);
      receiptsMoved(event.peer);
      break;
    case 'READMARK': {
      // Read on another of my devices up to `id`: the badge goes, unless
      // something newer came since (the next CHATS counts it).
      const chat = model.chat(event.chat);
      if (!chat.last || chat.last.id === event.id || chat.last.mine) chat.unread = chat.mentions = 0;
      draw(app);
      break;
    }
    case 'JOINED':
    case 'LEFT':
      if (event.kind === 'JOINED') model.online.add(fold(event.user));
      else model.online.delete(fold(event.user));
      draw(app);
      if (openKey === fold(event.user)) updateSub(app, model.chat(openKey));
      break;
    case 'MEMBER': {
      // The room's count follows who joins and leaves.
      const chat = model.chat(event.room);
      if (chat.memberCount !== undefined) chat.memberCount = Math.max(0, chat.memberCount + (event.change === 'JOINED' ? 1 : -1));
      if (openKey === fold(event.room)) {
        updateSub(app, chat);
        if (!$('chat-panel').hidden) app.panel?.showMembers(app);
      }
      break;
    }
    case 'PREF':
      onPref(app, event);
      draw(app);
      break;
    case 'ARCHIVE':
      archived(app, event);
      draw(app);
      if (openKey === fold(event.chat)) app.panel?.sync(app);
      break;
    case 'STAR':
      import('./starred.js').then((m) => m.onEvent(app, event));
      break;
    case 'MARK':
    case 'HIDE':
      marks(app, event); // chatlist.js
      break;
    case 'PROFILE':
    case 'PRIVACY':
      import('./profiles.js').then((m) => m.onEvent(app, event)); // 1.2 (§30)
      break;
    case 'BLOCKED':
    case 'UNBLOCKED':
      model.blocked[event.kind === 'BLOCKED' ? 'add' : 'delete'](fold(event.user));
      updateComposer(app);
      if (!$('devices-panel').hidden) import('./devices.js').then((m) => m.renderBlocked(app));
      break;
    case 'TYPING':
      showTyping(app, event);
      break;
    case 'CALL':
      calling(app).then((c) => c.onEvent(event));
      break;
    case 'GROUPCALL':
      groupCalling(app).then((g) => g.onEvent(event));
      break;
    default:
      if (isModeration(event)) onModeration(app, event);
      break;
  }
}

/** 1.2 (§31): something moved in `chat`; an Info open on one of its messages (receipts.js) asks again. */
function receiptsMoved(chat) {
  if (!$('info-panel').hidden) import('./receipts.js').then((m) => m.changed(chat));
}

/** A chat's level and pin (1.2), from PREFS or a PREF event. */
export function onPref(app, { chat, level, pinned }) {
  Object.assign(app.model.chat(chat), { level, pinned });
  if (app.openKey === fold(chat)) updateComposer(app);
}

/** A moderation event (1.2): the header of the open room, and a line if it is about me. */
function onModeration(app, event) {
  const { model } = app;
  const said = aboutMe(event, model.me);
  const join = event.kind === 'INVITED' ? { label: t('join', { room: event.room }), run: () => newChat(app, event.room) } : null;
  if (said) banner(said, !['KICKED', 'BANNED', 'MUTED'].includes(event.kind), join);
  if (app.openKey === fold(event.room)) {
    showRules(app, model.chat(event.room));
    if (!$('chat-panel').hidden) app.panel?.showMembers(app);
  }
}
