// panel.js: the open chat's panel, loaded at the first tap on "Details":
// its notification level and pin (protocol 1.2, kept by the server for
// all my devices), Block for a direct chat (and, 1.3, for the whole
// server of a user of another server), Leave for a room, and a
// room's members with, for its admins, roomadmin.js's controls. Leave,
// like every action that cannot be taken back, asks to be tapped twice.

import { request, parseSeen, LEVELS, fold, serverOf } from './wire.js';
import { t, addStrings } from './i18n.js';
import { renderMembers, banner, refusal } from './view.js';
import { draw } from './chatlist.js';
import { closeChat, showRules, updateComposer, updateSub } from './conversation.js';
import { isAdmin } from './moderation.js';
import { el, confirmed, BLOCKS_CHANGED } from './widgets.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { notifyLevel: 'Notify', all: 'All messages', mentions: 'Mentions only', none: 'None (muted)', pin: 'Pin', unpin: 'Unpin', archive: 'Archive', unarchive: 'Unarchive', block: 'Block', unblock: 'Unblock', blockServer: 'Block all of {server}', unblockServer: 'Unblock {server}' },
  es: { notifyLevel: 'Avisar', all: 'Todos', mentions: 'Solo menciones', none: 'Nada (silenciado)', pin: 'Fijar', unpin: 'No fijar', archive: 'Archivar', unarchive: 'Desarchivar', block: 'Bloquear', unblock: 'Desbloquear', blockServer: 'Bloquear todo {server}', unblockServer: 'Desbloquear {server}' },
  pt: { notifyLevel: 'Avisar', all: 'Todas', mentions: 'Só menções', none: 'Nada (silenciada)', pin: 'Fixar', unpin: 'Desafixar', archive: 'Arquivar', unarchive: 'Desarquivar', block: 'Bloquear', unblock: 'Desbloquear', blockServer: 'Bloquear todo o {server}', unblockServer: 'Desbloquear {server}' },
});

/** What the members list shows now: drawn again only when it changes, so that a tapped Remove stays asking. */
let drawn = '';

/**
 * Opens or closes the panel of the open chat (a drawer over the
 * conversation, still in view); `app`: the app's state (state.js). With no chat open
 * there is nothing to show (after Leave room, the header is gone too).
 */
export async function toggle(app) {
  const chat = app.view.chat;
  if (!chat || !$('chat-panel').hidden) {
    close();
    return;
  }
  if (!$('level')) build(app);
  $('chat-panel').hidden = false;
  $('members-button').setAttribute('aria-expanded', 'true');
  $('members').hidden = $('room-admin').hidden = true;
  drawn = '';
  sync(app);
  $('panel-close').focus();
  if (chat.room) await showMembers(app);
}

/** Closes the panel, the focus back on the button that opened it if it was inside. */
export function close() {
  const panel = $('chat-panel');
  if (panel.hidden) return;
  const inside = panel.contains(document.activeElement);
  panel.hidden = true;
  $('members-button').setAttribute('aria-expanded', 'false');
  if (inside && !$('members-button').closest('[hidden]')) $('members-button').focus();
}

/** The panel's first row: level, Pin, Archive, Block, Leave. */
function build(app) {
  const level = el('select', { id: 'level', onchange: () => setPref(app, (chat) => request.notify(chat.name, level.value)) },
    ...LEVELS.map((l) => el('option', { value: l, textContent: t(l) })));
  const label = el('label', { htmlFor: 'level', textContent: t('notifyLevel') });
  const button = (id, key, onclick) => el('button', { type: 'button', id, className: 'secondary small', textContent: t(key), onclick });
  const pin = button('pin-button', 'pin', () => setPref(app, (chat) => request.pin(chat.name, !chat.pinned)));
  const archive = button('archive-button', 'archive', () => setPref(app, (chat) => request.archive(chat.name, !chat.archived)));
  const block = button('block-button', 'block', () => setBlock(app, app.view.chat.name, !app.model.blocked.has(fold(app.view.chat.name))));
  // 1.3 (§27): in a chat with a user of another server, her whole server too.
  const atServer = () => `@${serverOf(app.view.chat.name)}`;
  const blockServer = button('block-server-button', 'blockServer', () => setBlock(app, atServer(), !app.model.blocked.has(fold(atServer()))));
  const leave = confirmed(button('leave-button', 'leave', null), () => leaveRoom(app));
  const shut = el('button', { type: 'button', id: 'panel-close', className: 'secondary icon', textContent: '✕', onclick: close });
  shut.setAttribute('aria-label', t('close'));
  const head = el('div', { className: 'drawer-head' }, el('h3', { id: 'panel-title', textContent: t('details') }), shut);
  $('chat-panel').setAttribute('aria-labelledby', 'panel-title');
  $('chat-panel').prepend(head, el('div', { className: 'row prefs' }, label, level, pin, archive, block, blockServer, leave));
}

/** The row as the open chat is now (called by conversation.js and events.js after each change). */
export function sync(app) {
  const chat = app.view.chat;
  if (!chat || !$('level')) return;
  $('level').value = chat.level;
  $('pin-button').textContent = t(chat.pinned ? 'unpin' : 'pin');
  $('archive-button').textContent = t(chat.archived ? 'unarchive' : 'archive');
  $('block-button').textContent = t(app.model.blocked.has(fold(chat.name)) ? 'unblock' : 'block');
  $('block-button').hidden = chat.room;
  const server = !chat.room && serverOf(chat.name);
  $('block-server-button').hidden = !server;
  if (server) $('block-server-button').textContent = t(app.model.blocked.has(fold(`@${server}`)) ? 'unblockServer' : 'blockServer', { server });
  $('leave-button').hidden = !chat.room;
}

/** A room's members, and an admin's controls beside them. */
export async function showMembers(app) {
  const chat = app.view.chat;
  try {
    if (!chat) return;
    const { reply, lines } = await app.link.request(request.members(chat.name));
    if (!reply.ok || app.view.chat !== chat) return;
    const members = lines.map(parseSeen).filter(Boolean);
    chat.memberCount = members.length;
    updateSub(app, chat);
    const rules = app.rules;
    const now = JSON.stringify([chat.name, members, rules]);
    if (now === drawn && !$('members').hidden) return;
    drawn = now;
    renderMembers(members, rules);
    $('members').hidden = false;
    $('room-admin').hidden = !isAdmin(rules);
    if (isAdmin(rules)) (await import('./roomadmin.js')).render(rules, members, app.model.me, (line, problem) => moderate(app, line, problem));
  } catch (_) {
    /* offline */
  }
}

/** Sends `line`; a refusal goes to the banner. True if accepted. */
async function ask(app, line) {
  try {
    const { reply } = await app.link.request(line);
    if (!reply.ok) throw reply;
    return true;
  } catch (reply) {
    banner(refusal(reply));
    return false;
  }
}

/** An admin's action (roomadmin.js); `problem`: why it could not be sent. Then the header and members again. */
async function moderate(app, line, problem) {
  if (problem) banner(refusal(new Error(problem)));
  else await ask(app, line);
  const chat = app.view.chat;
  if (!chat) return;
  await showRules(app, chat);
  await showMembers(app);
}

/** Changes the open chat's level, pin or archive (`line(chat)`); the server tells my other devices. */
async function setPref(app, line) {
  const chat = app.view.chat;
  if (!chat) return;
  const sent = line(chat);
  if (await ask(app, sent)) {
    if (sent.startsWith('NOTIFY:')) chat.level = sent.split(':').pop();
    else if (sent.includes('ARCHIVE:')) chat.archived = sent.startsWith('ARCHIVE:');
    else chat.pinned = sent.startsWith('PIN:');
  }
  updateComposer(app);
  draw(app);
}

/** Blocks or unblocks `user` (1.2), or (1.3) a whole server `@lab2`: their direct messages no longer reach me. */
export async function setBlock(app, user, on) {
  if (await ask(app, on ? request.block(user) : request.unblock(user))) app.model.blocked[on ? 'add' : 'delete'](fold(user));
  updateComposer(app);
  document.dispatchEvent(new Event(BLOCKS_CHANGED)); // devices.js's list, if it is shown
}

async function leaveRoom(app) {
  const chat = app.view.chat;
  if (!chat) return;
  if (!(await ask(app, request.leave(chat.name)))) return;
  app.model.chats.delete(fold(chat.name));
  closeChat(app);
}
