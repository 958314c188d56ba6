// moderation.js: rooms a teacher can run (protocol 1.2), in the browser.
// The room's header (its topic, and 📢 for an announce-only room), what a
// user reads when a change is about them (muted until when, removed…),
// and the moderation actions an admin finds beside each member.
//
// Everyone in a room reads each change in the room's own text (the server
// stores it as a message from whoever did it), so a change about someone
// else adds nothing here but a fresher header.

import { request, parseRoomInfo, MODERATION, fold } from './wire.js';
import { t } from './i18n.js';
import { visible, shortTime } from './view.js';

const $ = (id) => document.getElementById(id);

/** Ranks that moderate (ROOMINFO's ROLE). */
const ADMINS = ['ADMIN', 'OWNER', 'SERVER_ADMIN'];

export const isModeration = (event) => MODERATION.includes(event.kind);
/** Whether ROOMINFO's `info` says I run the room. */
export const isAdmin = (info) => Boolean(info && ADMINS.includes(info.role));

/** The rules of `room` as ROOMINFO says them, or null (an older server, not a member). */
export async function loadRules(link, room) {
  try {
    const { reply, lines } = await link.request(request.roominfo(room));
    return reply.ok ? parseRoomInfo(lines) : null;
  } catch (_) {
    return null;
  }
}

/** The header of an open room: 📢 beside the name, the topic under it, a mute's end. */
export function renderHeader(info) {
  $('chat-flag').textContent = info && info.announce ? '📢' : '';
  $('chat-flag').title = info && info.announce ? t('announceOnly') : '';
  $('chat-topic').textContent = info && info.topic ? visible(info.topic) : '';
  let note = '';
  if (info && info.muted !== null) note = t('mutedUntil', { t: until(info.muted) });
  else if (info && info.announce && !ADMINS.includes(info.role)) note = t('announceOnly');
  $('room-note').textContent = note;
  $('room-note').hidden = !note;
}

function until(ts) {
  return ts === 0 ? t('untilLifted') : shortTime(ts);
}

/** What `me` reads when a change is about them, or ''. */
export function aboutMe(event, me) {
  if (!event.user || fold(event.user) !== fold(me)) return '';
  const values = { room: event.room, by: event.by, t: event.until !== undefined ? until(event.until) : '' };
  const key = { MUTED: 'youMuted', UNMUTED: 'youUnmuted', KICKED: 'youKicked', BANNED: 'youBanned',
    UNBANNED: 'youUnbanned', INVITED: 'youInvited', OPPED: 'youOpped', DEOPPED: 'youDeopped' }[event.kind];
  return key ? t(key, values) : '';
}

/**
 * Adds an admin's actions to each member of the members panel (which
 * view.js drew, one <li> per member in `members`' order): remove, mute
 * for 10 minutes, ban, make or unmake admin. `act(line)` sends a request.
 */
export function addActions(members, info, me, act) {
  if (!info || !ADMINS.includes(info.role)) return;
  const items = $('members').querySelectorAll('li');
  members.forEach((member, i) => {
    const item = items[i];
    if (!item || fold(member.user) === fold(me) || fold(member.user) === fold(info.owner || '')) return;
    const admin = info.admins.some((a) => fold(a) === fold(member.user));
    const actions = [
      ['kick', () => request.kick(info.room, member.user)],
      ['mute10', () => request.mute(info.room, member.user, 10)],
      ['ban', () => request.ban(info.room, member.user, 0)],
    ];
    if (info.role !== 'ADMIN') actions.push(admin ? ['deop', () => request.deop(info.room, member.user)] : ['op', () => request.op(info.room, member.user)]);
    for (const [key, line] of actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary small';
      button.dataset.act = key;
      button.textContent = t(key);
      button.addEventListener('click', () => act(line()));
      item.append(' ', button);
    }
  });
}
