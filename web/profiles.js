// profiles.js: display names, photos and privacy (protocol 1.2, §30),
// loaded after the login (refresh.js asks PROFILES through it) and at the
// first tap on "Profile". It keeps what the server said of people: each
// one's display name and photo (PHOTOOF's JPEG, as an object URL, fetched
// once per photo tag), lends them to view.js (`faces`), which draws them
// in the chat list, a chat's header, a room's members and notifications;
// and it draws the Profile panel: "Display name", the photo (an image
// uploaded as any file, then PHOTO: the server crops, resizes and
// re-encodes it) and the privacy switches (PRIVACY), whose reciprocity the
// server enforces. Names come from the network: set as text only.

import { request, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { faces, refusal, drawMe, drawChatFace } from './view.js';
import { draw } from './chatlist.js';

addStrings({
  en: { displayName: 'Display name', removePhoto: 'Remove photo', save: 'Save', saved: 'Saved',
    privacy: 'Privacy', showLastSeen: 'Show when I was last online', sendReceipts: 'Send read receipts',
    privacyNote: 'Who hides them does not see others\' either.', notImage: 'Choose an image (PNG, JPEG, GIF or WebP)',
    photoTooLarge: 'That image is over {mb} MB', photoSet: 'Your photo is set', profileTitle: 'Your profile' },
  es: { displayName: 'Nombre visible', removePhoto: 'Quitar la foto', save: 'Guardar', saved: 'Guardado',
    privacy: 'Privacidad', showLastSeen: 'Mostrar mi última vez en línea', sendReceipts: 'Enviar confirmaciones de lectura',
    privacyNote: 'Quien las oculta tampoco ve las de otros.', notImage: 'Elige una imagen (PNG, JPEG, GIF o WebP)',
    photoTooLarge: 'Esa imagen pasa de {mb} MB', photoSet: 'Tu foto está puesta', profileTitle: 'Tu perfil' },
  pt: { displayName: 'Nome de exibição', removePhoto: 'Remover a foto', save: 'Salvar', saved: 'Salvo',
    privacy: 'Privacidade', showLastSeen: 'Mostrar quando estive online por último', sendReceipts: 'Enviar confirmações de leitura',
    privacyNote: 'Quem as oculta também não vê as dos outros.', notImage: 'Escolha uma imagem (PNG, JPEG, GIF ou WebP)',
    photoTooLarge: 'Essa imagem passa de {mb} MB', photoSet: 'Sua foto está definida', profileTitle: 'Seu perfil' },
});

const $ = (id) => document.getElementById(id);
/** Most bytes of an image chosen for a photo: the server's default `--max-file-mb`. */
const MOST_MB = 16;
/** What the server said of each person, by folded name: `{user, tag, name, url}`. */
const people = new Map();
/** My privacy as the server has it. */
let privacy = { lastseen: true, receipts: true };

/** A PROFILES line or a PROFILE event's fields, `<user>:<tag>:<name>`, as `{user, tag, name}`, or null. */
export function parseProfile(line) {
  const at = line.indexOf(':');
  const at2 = line.indexOf(':', at + 1);
  if (at < 1 || at2 < 0) return null;
  const [user, tag, name] = [line.slice(0, at), line.slice(at + 1, at2), line.slice(at2 + 1)];
  if (!/^[0-9a-f]{16}$|^$/.test(tag) || name.length > 256) return null;
  return { user, tag, name };
}

/** Lends view.js what it draws people with. */
function hook(app) {
  faces.photo = (name) => people.get(fold(name))?.url || null;
  faces.name = (name) => people.get(fold(name))?.name || '';
  faces.app = app;
}

/** After the login (and each reconnection): PROFILES and PRIVACY, as the server has them. */
export async function load(app) {
  hook(app);
  const [listed, mine] = await Promise.all([app.link.request(request.profiles()), app.link.request(request.privacy())]);
  if (listed.reply.ok) for (const p of listed.lines.map(parseProfile).filter(Boolean)) learn(app, p);
  if (mine.reply.ok) privacy = parsePrivacy(mine.reply.value) || privacy;
  redraw(app);
}

/** A PROFILE or PRIVACY event. */
export function onEvent(app, event) {
  hook(app);
  if (event.kind === 'PRIVACY') {
    privacy = event.privacy;
    if (!$('profile-panel').hidden) fill(app);
    return;
  }
  learn(app, event);
  redraw(app);
}

/** `lastseen:<on|off>:receipts:<on|off>` as `{lastseen, receipts}`, or null. */
export function parsePrivacy(value) {
  const m = /^lastseen:(on|off):receipts:(on|off)$/.exec(value);
  return m && { lastseen: m[1] === 'on', receipts: m[2] === 'on' };
}

/** Keeps what the server said of one person; a new photo tag fetches the photo (once per tag). */
function learn(app, { user, tag, name }) {
  const key = fold(user);
  const had = people.get(key);
  const entry = { user, tag, name, url: had && had.tag === tag ? had.url : null };
  if (had?.url && had.tag !== tag) URL.revokeObjectURL(had.url);
  people.set(key, entry);
  if (tag && !entry.url) fetchPhoto(app, entry);
}

/** PHOTOOF: the photo's JPEG, as an object URL, then everything drawn again. */
async function fetchPhoto(app, entry) {
  const { reply } = await app.link.request(request.photoOf(entry.user));
  if (!reply.ok || people.get(fold(entry.user)) !== entry) return;
  const bytes = Uint8Array.from(atob(reply.value), (c) => c.charCodeAt(0));
  entry.url = URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' }));
  redraw(app);
}

/** The list, the open chat's header, its members and a room's senders, drawn again with what is known. */
function redraw(app) {
  draw(app);
  const chat = app.openKey && app.model.chat(app.openKey);
  if (chat && !chat.room) $('chat-title').textContent = faces.shown(chat.name);
  drawChatFace(chat);
  if (app.link) drawMe(app.model.me, app.link.who.device);
  if (chat && chat.room && !$('chat-panel').hidden) app.panel?.showMembers(app);
  // A room's sender lines (view.js): the name, before a relayed post's note.
  for (const from of document.querySelectorAll('#messages .from[data-from]')) from.firstChild.textContent = faces.shown(from.dataset.from);
  if (!$('profile-panel').hidden) fill(app);
}

/** Opens or closes the Profile panel (the "Profile" button of the list's header). */
export function toggle(app) {
  hook(app);
  const panel = $('profile-panel');
  panel.hidden = !panel.hidden;
  $('profile-button').setAttribute('aria-expanded', String(!panel.hidden));
  if (panel.hidden) return;
  if (!panel.firstChild) build(app, panel);
  fill(app);
  $('display-name').focus();
}

/** The panel's controls, made once. */
function build(app, panel) {
  const node = (tag, props = {}) => Object.assign(document.createElement(tag), props);
  const title = node('h3', { id: 'profile-title', textContent: t('profileTitle') });
  const face = node('img', { id: 'profile-photo', className: 'profile-photo', alt: t('photo') });
  const nameLabel = node('label', { htmlFor: 'display-name', textContent: t('displayName') });
  const name = node('input', { id: 'display-name', maxLength: 64, autocomplete: 'nickname', dir: 'auto' });
  const save = node('button', { type: 'submit', textContent: t('save') });
  const form = node('form', { className: 'profile-name' });
  form.append(nameLabel, name, save);
  form.onsubmit = (e) => { e.preventDefault(); setName(app, name.value.trim()); };
  const file = node('input', { id: 'photo-file', type: 'file', accept: 'image/*', className: 'visually-hidden' });
  const pick = node('label', { htmlFor: 'photo-file', className: 'button secondary', textContent: t('photo') });
  file.onchange = () => { if (file.files[0]) setPhoto(app, file.files[0]); file.value = ''; };
  const remove = node('button', { type: 'button', id: 'photo-remove', className: 'secondary', textContent: t('removePhoto') });
  remove.onclick = () => photoRequest(app, null);
  const note = node('p', { id: 'profile-note', className: 'note', role: 'status' });
  note.setAttribute('aria-live', 'polite');
  const privacyTitle = node('h3', { textContent: t('privacy') });
  const box = (id, key) => {
    const label = node('label', { className: 'switch' });
    const input = node('input', { id, type: 'checkbox' });
    input.onchange = () => setPrivacy(app, key, input.checked);
    label.append(input, ` ${t(key === 'lastseen' ? 'showLastSeen' : 'sendReceipts')}`);
    return label;
  };
  const privacyNote = node('p', { className: 'note', textContent: t('privacyNote') });
  panel.append(title, face, form, pick, file, remove, note, privacyTitle, box('privacy-lastseen', 'lastseen'), box('privacy-receipts', 'receipts'), privacyNote);
}

/** The panel shows what the server has of me. */
function fill(app) {
  const me = people.get(fold(app.link.user)) || { name: '', url: null };
  if (document.activeElement !== $('display-name')) $('display-name').value = me.name;
  $('profile-photo').hidden = !me.url;
  if (me.url) $('profile-photo').src = me.url;
  $('photo-remove').hidden = !me.url;
  $('privacy-lastseen').checked = privacy.lastseen;
  $('privacy-receipts').checked = privacy.receipts;
}

const say = (text, bad = false) => { $('profile-note').textContent = text; $('profile-note').classList.toggle('error', bad); };

/** NAME: the server's KO said as it is, and nothing changed. */
async function setName(app, name) {
  const { reply } = await app.link.request(request.name(name));
  say(reply.ok ? t('saved') : refusal(reply), !reply.ok);
}

/** The image uploaded as any file, then PHOTO (the server makes the photo of it). */
async function setPhoto(app, file) {
  if (!file.type.startsWith('image/')) return say(t('notImage'), true);
  if (file.size > MOST_MB * 1024 * 1024) return say(t('photoTooLarge', { mb: MOST_MB }), true);
  const entry = { file };
  const { upload } = await import('./files.js');
  const refused = await upload(app.link, file, entry, () => {}, () => {});
  if (refused) return say(refusal(refused), true);
  return photoRequest(app, entry.upload.id);
}

/** PHOTO:<file id>, or PHOTO: (`id` null) to remove it. */
async function photoRequest(app, id) {
  const { reply } = await app.link.request(request.photo(id));
  if (!reply.ok) return say(refusal(reply), true);
  say(id ? t('photoSet') : t('saved'));
}

/** PRIVACY:<key>:<on|off>; the switch shows what the server answered. */
async function setPrivacy(app, key, on) {
  const { reply } = await app.link.request(request.privacy(key, on));
  if (reply.ok) privacy = parsePrivacy(reply.value) || privacy;
  else say(refusal(reply), true);
  fill(app);
}
