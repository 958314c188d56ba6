// account.js: a new password (protocol 1.2, docs/PROTOCOL.md §20), from
// the devices panel's "Password" button, with the choice of keeping the
// other devices logged in. Loaded at the first click (app.js imports it
// then), with its own words: the first load of the app stays small.
// The passwords go from the form to one PASSWD line and are then cleared;
// the new one replaces the old in the link's memory (for reconnections)
// unless this browser logs in with its own token.
// Below it, "Delete my account" (DELACCOUNT): the password, and the user
// name typed in full as the confirmation; on the OK the server closes the
// connections and the login screen comes back, saying so (session.js).
// And "Log out" (`logOut`, the devices panel's last button): this
// browser's device unlinked at the server, everything the account left
// in the browser forgotten (store.js), and the page loaded afresh.

import { request } from './wire.js';
import { lang } from './i18n.js';

const WORDS = {
  en: {
    current: 'Current password', fresh: 'New password', again: 'New password again',
    keep: 'Keep my other devices logged in', change: 'Change password',
    missing: 'Type the current password and the new one.',
    colon: 'A current password with \':\' cannot be changed here: ask the server\'s administrator.',
    differ: 'The two new passwords differ.', short: 'A new password has at least {min} characters.',
    changed: 'Password changed. Your other devices are logged out and must log in with the new one.',
    kept: 'Password changed. Your other devices stay logged in.', refused: 'Refused: {reason}',
    remove: 'Delete my account', password: 'Password', confirm: 'Type your user name ({user}) to confirm',
    removeWhat: 'Deletes your account for good: its password, devices, inbox and rooms. Messages you sent stay with their recipients. Your name stays reserved for the server\'s quarantine (see Server rules); then someone else may register it, without your conversations.',
    notName: 'That is not your user name: nothing was deleted.', noPassword: 'Type your password.',
    untold: 'Logged out: nothing of your account is left in this browser. The server could not be told: {device} stays linked until you unlink it from another device (Devices).',
  },
  es: {
    current: 'Contraseña actual', fresh: 'Contraseña nueva', again: 'Contraseña nueva otra vez',
    keep: 'Mantener conectados mis otros dispositivos', change: 'Cambiar la contraseña',
    missing: 'Escribe la contraseña actual y la nueva.',
    colon: 'Una contraseña actual con \':\' no se puede cambiar aquí: pídaselo al administrador del servidor.',
    differ: 'Las dos contraseñas nuevas no coinciden.', short: 'Una contraseña nueva tiene al menos {min} caracteres.',
    changed: 'Contraseña cambiada. Tus otros dispositivos se han desconectado y deben entrar con la nueva.',
    kept: 'Contraseña cambiada. Tus otros dispositivos siguen conectados.', refused: 'Rechazado: {reason}',
    remove: 'Eliminar mi cuenta', password: 'Contraseña', confirm: 'Escribe tu nombre de usuario ({user}) para confirmar',
    removeWhat: 'Elimina tu cuenta para siempre: su contraseña, dispositivos, bandeja y salas. Los mensajes que enviaste quedan con sus destinatarios. Tu nombre queda reservado durante la cuarentena del servidor (ver Reglas del servidor); luego otra persona puede registrarlo, sin tus conversaciones.',
    notName: 'Ese no es tu nombre de usuario: no se eliminó nada.', noPassword: 'Escribe tu contraseña.',
    untold: 'Sesión cerrada: no queda nada de tu cuenta en este navegador. No se pudo avisar al servidor: {device} sigue vinculado hasta que lo desvincules desde otro dispositivo (Dispositivos).',
  },
  pt: {
    current: 'Senha atual', fresh: 'Senha nova', again: 'Senha nova de novo',
    keep: 'Manter meus outros dispositivos conectados', change: 'Alterar a senha',
    missing: 'Digite a senha atual e a nova.',
    colon: 'Uma senha atual com \':\' não pode ser alterada aqui: peça ao administrador do servidor.',
    differ: 'As duas senhas novas não coincidem.', short: 'Uma senha nova tem pelo menos {min} caracteres.',
    changed: 'Senha alterada. Seus outros dispositivos foram desconectados e devem entrar com a nova.',
    kept: 'Senha alterada. Seus outros dispositivos continuam conectados.', refused: 'Recusado: {reason}',
    remove: 'Excluir minha conta', password: 'Senha', confirm: 'Digite seu nome de usuário ({user}) para confirmar',
    removeWhat: 'Exclui sua conta para sempre: sua senha, dispositivos, caixa de entrada e salas. As mensagens que você enviou ficam com seus destinatários. Seu nome fica reservado durante a quarentena do servidor (veja Regras do servidor); depois outra pessoa pode registrá-lo, sem suas conversas.',
    notName: 'Esse não é seu nome de usuário: nada foi excluído.', noPassword: 'Digite sua senha.',
    untold: 'Sessão encerrada: nada da sua conta ficou neste navegador. Não foi possível avisar o servidor: {device} continua vinculado até você desvinculá-lo de outro dispositivo (Dispositivos).',
  },
};

const say = (key, values = {}) =>
  (WORDS[lang] || WORDS.en)[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));

/** The fewest characters of a new password (the server's rule too). */
const MIN_CHARS = 6;

/** Why these answers make no PASSWD, or '' if they make one. */
export function passwordProblem(old, fresh, again) {
  if (!old || !fresh) return say('missing');
  if (old.includes(':')) return say('colon');
  if (fresh !== again) return say('differ');
  if ([...fresh].length < MIN_CHARS) return say('short', { min: MIN_CHARS });
  return '';
}

/** A labelled input of the form. */
function field(form, id, label, type, autocomplete) {
  const text = document.createElement('label');
  text.htmlFor = id;
  text.textContent = label;
  const input = document.createElement('input');
  Object.assign(input, { id, type, autocomplete });
  form.append(text, input);
}

/** Makes the panel, after the button that opens it. */
function build() {
  const panel = document.createElement('section');
  panel.id = 'account';
  const form = document.createElement('form');
  form.id = 'passwd-form';
  form.noValidate = true;
  Object.assign(form.style, { display: 'grid', gap: '.3em', maxWidth: '22em', margin: '.3em 0' });
  field(form, 'old-password', say('current'), 'password', 'current-password');
  field(form, 'new-password', say('fresh'), 'password', 'new-password');
  field(form, 'new-password-again', say('again'), 'password', 'new-password');
  const keep = document.createElement('label');
  const box = document.createElement('input');
  Object.assign(box, { id: 'keep-devices', type: 'checkbox' });
  keep.append(box, ` ${say('keep')}`);
  const button = document.createElement('button');
  Object.assign(button, { id: 'passwd-button', type: 'submit', textContent: say('change') });
  form.append(keep, button);
  const note = document.createElement('p');
  Object.assign(note, { id: 'account-note', className: 'note' });
  note.setAttribute('role', 'status');
  panel.append(form, note, removal(note));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    change(current, note);
  });
  document.getElementById('account-button').after(panel);
  return panel;
}

async function change(link, note) {
  const input = (id) => document.getElementById(id);
  const [old, fresh, again] = ['old-password', 'new-password', 'new-password-again'].map((id) => input(id).value);
  const keep = input('keep-devices').checked;
  const problem = passwordProblem(old, fresh, again);
  if (problem) {
    note.textContent = problem;
    return;
  }
  let answer;
  try {
    answer = await link.request(request.passwd(old, fresh, keep));
  } catch (err) {
    note.textContent = say('refused', { reason: err.message || '' });
    return;
  }
  if (!answer.reply.ok) {
    note.textContent = say('refused', { reason: answer.reply.reason || answer.reply.code });
    return;
  }
  if (!link.who.token) link.who.secret = fresh;
  for (const id of ['old-password', 'new-password', 'new-password-again']) input(id).value = '';
  note.textContent = say(keep ? 'kept' : 'changed');
}

/** The "Delete my account" form: what it does, the password, the name. */
function removal(note) {
  const form = document.createElement('form');
  form.id = 'delete-form';
  form.noValidate = true;
  Object.assign(form.style, { display: 'grid', gap: '.3em', maxWidth: '22em', margin: '1em 0 .3em' });
  const what = document.createElement('p');
  what.textContent = say('removeWhat');
  form.append(what);
  field(form, 'delete-password', say('password'), 'password', 'current-password');
  field(form, 'delete-name', say('confirm', { user: current ? current.user : '' }), 'text', 'off');
  const button = document.createElement('button');
  Object.assign(button, { id: 'delete-button', type: 'submit', textContent: say('remove') });
  form.append(button);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    remove(current, note);
  });
  return form;
}

/** Why these answers delete nothing, or '' (names compare ignoring case, as logins do). */
export function removalProblem(user, password, typed) {
  if (!password) return say('noPassword');
  if (typed.trim().toLowerCase() !== user.toLowerCase()) return say('notName');
  return '';
}

async function remove(link, note) {
  const input = (id) => document.getElementById(id);
  const password = input('delete-password').value;
  const problem = removalProblem(link.user, password, input('delete-name').value);
  if (problem) {
    note.textContent = problem;
    return;
  }
  // The server says BYE:UNLINKED before its OK: link.js reads it as "deleted".
  link.deleting = true;
  let answer;
  try {
    answer = await link.request(request.delaccount(password));
  } catch (err) {
    if (!link.stopped) {
      link.deleting = false;
      note.textContent = say('refused', { reason: err.message || '' });
    }
    return;
  }
  input('delete-password').value = '';
  if (!answer.reply.ok) {
    link.deleting = false;
    note.textContent = say('refused', { reason: answer.reply.reason || answer.reply.code });
    return;
  }
  link.stop();
  link.setStatus('deleted');
}

/**
 * "Log out": UNLINK of this browser's own device, so that its token (a
 * browser that stays signed in) dies at the server, not only here, and
 * its place in the account's inbox goes; then everything this account
 * left in the browser is forgotten (store.js: the token, the kept chats,
 * the outbox, the drafts, the user name), and the page is loaded afresh,
 * which leaves nothing of the account in memory either. Offline, the
 * browser forgets all the same, and the login screen says that the
 * device is still linked (Devices on another device unlinks it): the
 * device's name is left under `untold` in the tab's sessionStorage.
 */
export async function logOut(link, untold) {
  if (!link) return;
  let told = false;
  try {
    told = (await link.request(request.unlink(link.who.device))).reply.ok;
  } catch (_) {
    told = link.status === 'unlinked'; // its BYE:UNLINKED came first, and closed the link
  }
  link.stop();
  await (await import('./push.js')).forget().catch(() => {}); // 1.2 (§28): UNLINK removed it at the server
  (await import('./store.js')).forget(location.host, link.user);
  if (!told) sessionStorage.setItem(untold, link.who.device);
  location.replace(location.pathname);
}

/** The login screen says, once, that the last "Log out" was not heard by the server (its device under `key`). */
export function untold(key) {
  const device = sessionStorage.getItem(key);
  sessionStorage.removeItem(key);
  document.getElementById('login-error').textContent = say('untold', { device });
}

/** The link the panel acts on: the one of the last click. */
let current = null;

/** The button's click: shows the panel (made at the first), or hides it. */
export function toggle(link) {
  if (!link) return;
  current = link;
  const panel = document.getElementById('account');
  if (panel) panel.hidden = !panel.hidden;
  else build();
  document.getElementById('account-note').textContent = '';
}
