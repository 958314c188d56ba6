// roomadmin.js: a room's controls for its admins (protocol 1.2, §18),
// in the room's panel, loaded the first time an admin opens it: the
// topic, announce-only, invite-only, an invitation, and beside each
// member Remove, Mute (for a chosen time), Ban and (the owner) Make or
// Remove admin. Remove and Ban ask to be tapped twice (view.js's
// `confirmed`). Each control sends one request through `act(line)`,
// which shows a refusal and draws the panel again; the room's header
// follows the events the server sends to every member.

import { request } from './wire.js';
import { t, addStrings } from './i18n.js';
import { el, confirmed } from './widgets.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { kick: 'Remove', ban: 'Ban', op: 'Make admin', deop: 'Remove admin', topic: 'Topic', setTopic: 'Set', announceMode: 'Only admins write', inviteMode: 'Invitation only', inviteWho: 'User to invite', invite: 'Invite', muteFor: 'Mute for', m10: '10 minutes', h1: '1 hour', d1: '1 day', w1: '1 week' },
  es: { kick: 'Sacar', ban: 'Expulsar', op: 'Hacer admin', deop: 'Quitar admin', topic: 'Tema', setTopic: 'Poner', announceMode: 'Solo escriben los admins', inviteMode: 'Solo con invitación', inviteWho: 'Usuario a invitar', invite: 'Invitar', muteFor: 'Silenciar por', m10: '10 minutos', h1: '1 hora', d1: '1 día', w1: '1 semana' },
  pt: { kick: 'Remover', ban: 'Banir', op: 'Tornar admin', deop: 'Tirar admin', topic: 'Tópico', setTopic: 'Definir', announceMode: 'Só admins escrevem', inviteMode: 'Só com convite', inviteWho: 'Usuário a convidar', invite: 'Convidar', muteFor: 'Silenciar por', m10: '10 minutos', h1: '1 hora', d1: '1 dia', w1: '1 semana' },
});

/** How long a mute may be chosen for, in minutes. */
const DURATIONS = [['m10', 10], ['h1', 60], ['d1', 1440], ['w1', 10080]];
/** The one chosen, kept while the panel is drawn again after each change. */
let muteMinutes = 10;

/** A small button saying `key`'s words, `data-act` its key. */
function button(key, onClick) {
  const b = el('button', { type: 'button', className: 'secondary small', textContent: t(key), onclick: onClick });
  b.dataset.act = key;
  return b;
}

/** The room-wide controls; `info` is ROOMINFO's (wire.js), `act(line)` sends a request. */
function roomControls(info, act) {
  const room = info.room;
  const topic = el('input', { id: 'topic-input', value: info.topic, maxLength: 512 });
  topic.setAttribute('aria-label', t('topic'));
  const mode = (key, on, word) => {
    const box = el('input', { type: 'checkbox', checked: on, onchange: () => act(request.mode(room, `${box.checked ? '+' : '-'}${word}`)) });
    box.dataset.mode = word;
    return el('label', {}, box, ` ${t(key)}`);
  };
  const who = el('input', { id: 'invite-name', maxLength: 32, autocapitalize: 'none', placeholder: t('inviteWho') });
  who.setAttribute('aria-label', t('inviteWho'));
  const send = (line) => { try { act(line()); } catch (e) { act(null, e.message); } };
  return [
    el('div', { className: 'row' }, el('span', { textContent: t('topic') }), topic, button('setTopic', () => send(() => request.topic(room, topic.value)))),
    el('div', { className: 'row' }, mode('announceMode', info.announce, 'announce'), mode('inviteMode', info.invite, 'invite')),
    el('div', { className: 'row' }, who, button('invite', () => send(() => request.invite(room, who.value.trim())))),
  ];
}

/**
 * Draws an admin's controls of the open room: the room's own above the
 * members, and each member's beside them (view.js drew one <li> per
 * member, in `members`' order). Nothing for who is not an admin.
 */
export function render(info, members, me, act) {
  const panel = $('room-admin');
  if (panel.dataset.room !== info.room) {
    panel.replaceChildren(...roomControls(info, act));
    panel.dataset.room = info.room;
  } else {
    // Drawn again after a change: the controls stay (with what is being typed), their state follows.
    for (const box of panel.querySelectorAll('input[data-mode]')) box.checked = info[box.dataset.mode];
    if (document.activeElement !== $('topic-input')) $('topic-input').value = info.topic;
  }
  panel.hidden = false;
  const items = $('members').querySelectorAll('li');
  const same = (a, b) => a.toLowerCase() === (b || '').toLowerCase();
  members.forEach((member, i) => {
    const item = items[i];
    if (!item || same(member.user, me) || same(member.user, info.owner)) return;
    const room = info.room;
    const user = member.user;
    const admin = info.admins.some((a) => same(a, user));
    // The member's actions beside the member (one tap), the mute's length with them.
    const duration = el('select', { className: 'mute-for', onchange: () => { muteMinutes = Number(duration.value); } },
      ...DURATIONS.map(([key, minutes]) => el('option', { value: minutes, textContent: t(key), selected: minutes === muteMinutes })));
    duration.setAttribute('aria-label', `${t('muteFor')} ${user}`);
    const actions = el('span', { className: 'member-actions' },
      confirmed(button('kick', null), () => act(request.kick(room, user))),
      button('mute', () => act(request.mute(room, user, Number(duration.value)))), duration,
      confirmed(button('ban', null), () => act(request.ban(room, user, 0))));
    if (info.role !== 'ADMIN') {
      actions.append(button(admin ? 'deop' : 'op', () => act(admin ? request.deop(room, user) : request.op(room, user))));
    }
    item.append(actions);
  });
}
