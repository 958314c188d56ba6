// moderation.js: rooms a teacher can run (protocol 1.2), in the browser.
// The room's header (its topic, and 📢 for an announce-only room), what a
// user reads when a change is about them (muted until when, removed…),
// and why the composer is closed. An admin's controls: roomadmin.js.
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

/** The header of an open room: 📢 beside the name, the topic under it. */
export function renderHeader(info) {
  $('chat-flag').textContent = info && info.announce ? '📢' : '';
  $('chat-flag').title = info && info.announce ? t('announceOnly') : '';
  $('chat-topic').textContent = info && info.topic ? visible(info.topic) : '';
}

/** Why a room's rules keep me from writing in it (muted until…, announce-only), or ''. */
export function whyNotWrite(info) {
  if (!info) return '';
  if (info.muted !== null && (info.muted === 0 || info.muted > Date.now())) return t('mutedUntil', { t: until(info.muted) });
  if (info.announce && !isAdmin(info)) return t('announceOnly');
  return '';
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
