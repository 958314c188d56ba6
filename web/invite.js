// invite.js: registering with an invite code (protocol 1.2 REDEEM), for a
// server started with `--registration invite`, the set-up of a class.
// The login form gets an "Invite code" field below the email's fold when the
// page was opened from the teacher's link (`http://host:8080/#invite=CODE`,
// which `wachat users invite` prints; a fragment never reaches the
// server's logs) or when a REGISTER was refused for want of a code. With
// a code in it, Register sends REDEEM (wire.js) instead of REGISTER.
// Loaded only then (app.js imports it), with its own words: the first
// load of the app stays small. Likewise for the address of a link code's
// QR code (devices.js draws it): `fillLink`.

import { lang, t } from './i18n.js';
import { isName, isId } from './wire.js';

const WORDS = {
  en: {
    label: 'Invite code', filled: 'Choose a user name and a password, then Register: your invite code is filled in.',
    needed: 'This server registers with an invite code only: type the one you were given, then Register.',
  },
  es: {
    label: 'Código de invitación', filled: 'Elige un nombre de usuario y una contraseña y pulsa Registrarse: tu código de invitación ya está puesto.',
    needed: 'Este servidor solo registra con un código de invitación: escribe el que te dieron y pulsa Registrarse.',
  },
  pt: {
    label: 'Código de convite', filled: 'Escolha um nome de usuário e uma senha e clique em Registrar: seu código de convite já está preenchido.',
    needed: 'Este servidor só registra com um código de convite: digite o que você recebeu e clique em Registrar.',
  },
};

const say = (key) => (WORDS[lang] || WORDS.en)[key];

/** The code of a link `#invite=CODE`, or ''. */
export function fromLink(hash) {
  const match = /^#invite=([A-Za-z0-9_-]{1,64})$/.exec(hash);
  return match ? match[1] : '';
}

/** The field, made once, after the email's fold. */
function field() {
  let input = document.getElementById('invite');
  if (input) return input;
  const label = document.createElement('label');
  label.htmlFor = 'invite';
  label.textContent = say('label');
  label.className = 'password-only';
  input = document.createElement('input');
  Object.assign(input, { id: 'invite', autocomplete: 'off', spellcheck: false, maxLength: 64, className: 'password-only' });
  input.setAttribute('autocapitalize', 'none');
  const note = document.createElement('p');
  Object.assign(note, { id: 'invite-note', className: 'note password-only' });
  document.getElementById('email').closest('details').after(label, input, note); // beside the email's fold, never folded inside it
  return input;
}

/**
 * Shows the field. `refused`: the KO of a REGISTER (then, without a code
 * typed, says why one is needed); none: opened from a teacher's link.
 */
export function show(refused) {
  const input = field();
  const error = document.getElementById('login-error');
  if (refused) {
    if (!input.value) error.textContent = say('needed');
    input.focus();
    return;
  }
  const code = fromLink(location.hash);
  if (!code) return;
  input.value = code;
  document.getElementById('invite-note').textContent = say('filled');
  document.getElementById('user').focus();
}

/**
 * The page opened from a link code's QR code, `#link=<user>:<code>`:
 * "Link with a code", with the user and the code filled in. Names and
 * codes need no %-escapes, so none is decoded: anything else fills in
 * nothing. The address then forgets the code.
 */
export function fillLink() {
  const [user, code] = location.hash.slice(6).split(':');
  if (isName(user || '') && isId(code || '')) {
    document.getElementById('login-form').classList.add('linking');
    document.getElementById('link-mode').textContent = t('login');
    document.getElementById('user').value = user;
    document.getElementById('code').value = code;
  }
  history.replaceState(null, '', location.pathname);
}
