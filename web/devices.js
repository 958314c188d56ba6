// devices.js: the devices panel, loaded at the first tap on "Devices":
// my devices (DEVICES, each with Unlink, protocol 1.2 §16), "Link a new
// device" (LINK's code, large and copyable, with a QR code for a phone's
// camera; a browser that logged in with its token asks the password
// first, LINK:<password>: a token is one device's, and so before it
// unlinks another device, UNLINK:<device>:<password>), and the users I
// blocked (1.2), each with Unblock; and (1.2, §28) the Web Push
// switches (push.js). Names and addresses come from the
// network: inserted as text only.

import { request, parseDeviceLine, isId, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { seenText, refusal } from './view.js';
import { setBlock } from './panel.js';
import { el, confirmed, BLOCKS_CHANGED } from './widgets.js';
import { render as renderPush } from './push.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { thisDevice: 'this browser', unlink: 'Unlink', deviceFrom: '{seen}, from {address}', copy: 'Copy', blockedTitle: 'Blocked',
    linkCode: 'Code {code}: valid {min} minutes, once. On the new device: "Link with a code", or wachat connect --user {user} --pair {code}',
    linkPassword: 'This browser stays signed in with its own token: type your password to link a new device.', showCode: 'Show the code',
    unlinkPassword: 'This browser stays signed in with its own token: type your password to unlink {device}.' },
  es: { thisDevice: 'este navegador', unlink: 'Desvincular', deviceFrom: '{seen}, desde {address}', copy: 'Copiar', blockedTitle: 'Bloqueados',
    linkCode: 'Código {code}: válido {min} minutos, una vez. En el dispositivo nuevo: "Vincular con un código", o wachat connect --user {user} --pair {code}',
    linkPassword: 'Este navegador sigue conectado con su propio token: escribe tu contraseña para vincular un dispositivo nuevo.', showCode: 'Mostrar el código',
    unlinkPassword: 'Este navegador sigue conectado con su propio token: escribe tu contraseña para desvincular {device}.' },
  pt: { thisDevice: 'este navegador', unlink: 'Desvincular', deviceFrom: '{seen}, de {address}', copy: 'Copiar', blockedTitle: 'Bloqueados',
    linkCode: 'Código {code}: válido por {min} minutos, uma vez. No dispositivo novo: "Vincular com um código", ou wachat connect --user {user} --pair {code}',
    linkPassword: 'Este navegador continua conectado com seu próprio token: digite sua senha para vincular um dispositivo novo.', showCode: 'Mostrar o código',
    unlinkPassword: 'Este navegador continua conectado com seu próprio token: digite sua senha para desvincular {device}.' },
});

/** A link code is valid this long (protocol §16). */
const LINK_CODE_MS = 5 * 60 * 1000;
/** How often, while a code is shown, DEVICES is asked whether it was used. */
const WATCH_MS = 3000;

/** Opens or closes the panel; `app`: the app's state (state.js). */
export async function toggle(app) {
  const panel = $('devices-panel');
  panel.hidden = !panel.hidden;
  $('devices-button').setAttribute('aria-expanded', String(!panel.hidden));
  if (!$('link-new').onclick) {
    $('link-new').onclick = () => linkNew(app);
    // A block changed in a chat's panel: the list here follows, if it is shown.
    document.addEventListener(BLOCKS_CHANGED, () => {
      if (!$('devices-panel').hidden) renderBlocked(app);
    });
  }
  renderBlocked(app);
  renderPush(app); // 1.2 (§28)
  if (!panel.hidden) await showDevices(app);
}

/** Draws DEVICES; returns the devices' names, or null if it could not. */
async function showDevices(app) {
  try {
    const { reply, lines } = await app.link.request(request.devices());
    if (!reply.ok) throw reply;
    const devices = lines.map(parseDeviceLine).filter(Boolean);
    renderDevices(app, devices, app.link.who.device);
    return devices.map((d) => fold(d.device));
  } catch (reply) {
    $('link-code').textContent = refusal(reply);
    return null;
  }
}

/** What the list shows now: drawn again only when it changes, so that a tapped Unlink stays asking. */
let drawn = '';

/** One line per device, online or last seen and from where, and Unlink (tapped twice) for each but this browser. */
function renderDevices(app, devices, here) {
  const now = JSON.stringify([here, devices]);
  if (now === drawn && $('devices').childElementCount) return;
  drawn = now;
  $('devices').replaceChildren(...devices.map((d) => {
    const li = el('li');
    li.dataset.device = d.device;
    const mine = fold(d.device) === fold(here);
    const what = t('deviceFrom', { seen: seenText(d.seen), address: d.address });
    li.append(el('span', { textContent: `${d.device}${mine ? ` (${t('thisDevice')})` : ''} · ${what}` }));
    if (!mine) {
      const button = el('button', { type: 'button', className: 'secondary', textContent: t('unlink') });
      button.setAttribute('aria-label', `${t('unlink')} ${d.device}`);
      li.append(confirmed(button, () => unlinkDevice(app, d.device)));
    }
    return li;
  }));
}

/**
 * Unlink (tapped twice): a browser that logged in with its token gives
 * the password first (a stolen token unlinks nothing of its owner's), in
 * a field cleared once sent; one that logged in with the password
 * unlinks at once.
 */
function unlinkDevice(app, device) {
  if (!app.link.who.token) {
    sendUnlink(app, device);
    return;
  }
  const password = el('input', { type: 'password', id: 'unlink-password', autocomplete: 'current-password' });
  password.setAttribute('aria-label', t('password'));
  const form = el('form', { id: 'unlink-password-form', className: 'row' }, password,
    el('button', { type: 'submit', textContent: t('unlink') }));
  form.onsubmit = (e) => {
    e.preventDefault();
    const secret = password.value;
    password.value = '';
    if (secret) sendUnlink(app, device, secret);
  };
  $('link-code').textContent = t('unlinkPassword', { device });
  $('link-box').replaceChildren(form);
  $('link-box').hidden = false;
  password.focus();
}

async function sendUnlink(app, device, password) {
  try {
    const { reply } = await app.link.request(request.unlink(device, password));
    if (!reply.ok) throw reply;
  } catch (reply) {
    $('link-code').textContent = refusal(reply);
    return;
  }
  await showDevices(app);
}

/**
 * "Link a new device": a browser that logged in with its token (linked
 * with a code, or "Stay signed in") gives the password first, in a field
 * cleared once sent; one that logged in with the password asks at once.
 */
function linkNew(app) {
  if (!app.link.who.token) {
    showCode(app);
    return;
  }
  const password = el('input', { type: 'password', id: 'link-password', autocomplete: 'current-password' });
  password.setAttribute('aria-label', t('password'));
  const form = el('form', { id: 'link-password-form', className: 'row' }, password,
    el('button', { type: 'submit', textContent: t('showCode') }));
  form.onsubmit = (e) => {
    e.preventDefault();
    const secret = password.value;
    password.value = '';
    if (secret) showCode(app, secret);
  };
  $('link-code').textContent = t('linkPassword');
  $('link-box').replaceChildren(form);
  $('link-box').hidden = false;
  password.focus();
}

/**
 * LINK's code (LINK:<password> if `password` is given), large and
 * copyable, and a QR code (qr.js) of this app's address with the user
 * and the code, which opens the phone's browser on "Link with a code"
 * filled in (invite.js). Gone once used (a device more in DEVICES) or
 * expired.
 */
async function showCode(app, password) {
  let code;
  try {
    const { reply } = await app.link.request(request.link(password));
    if (!reply.ok || !isId(reply.value)) throw reply;
    code = reply.value;
  } catch (reply) {
    $('link-code').textContent = refusal(reply);
    return;
  }
  const user = app.link.user;
  $('link-code').textContent = t('linkCode', { code, min: 5, user });
  $('link-code').dataset.code = code;
  const canvas = el('canvas', { id: 'link-qr' });
  const copy = el('button', { type: 'button', className: 'secondary small', textContent: t('copy') });
  copy.onclick = () => navigator.clipboard?.writeText(code).catch(() => {});
  $('link-box').replaceChildren(el('code', { className: 'code', id: 'link-code-text', textContent: code }), copy, canvas);
  $('link-box').hidden = false;
  import('./qr.js').then((m) => m.draw(canvas, `${location.origin}/#link=${user}:${code}`)).catch(() => {});
  const before = await showDevices(app);
  const until = Date.now() + LINK_CODE_MS;
  const watch = async () => {
    if ($('link-code').dataset.code !== code) return; // another code since
    const now = $('devices-panel').hidden ? null : await showDevices(app);
    if (Date.now() < until && !(before && now && now.some((d) => !before.includes(d)))) {
      setTimeout(watch, WATCH_MS);
      return;
    }
    $('link-box').hidden = true;
    $('link-box').replaceChildren();
    $('link-code').textContent = '';
    delete $('link-code').dataset.code;
  };
  setTimeout(watch, WATCH_MS);
}

/** The users I blocked, each with Unblock. */
export function renderBlocked(app) {
  const blocked = [...app.model.blocked].sort();
  $('blocked').replaceChildren(...(blocked.length ? [el('li', { className: 'note', textContent: t('blockedTitle') })] : []), ...blocked.map((user) => {
    const button = el('button', { type: 'button', className: 'secondary small', textContent: t('unblock') });
    button.dataset.user = user;
    button.onclick = () => setBlock(app, user, false);
    return el('li', {}, el('span', { textContent: user }), button);
  }));
}
