// push.js: notifications with the page closed (Web Push, protocol 1.2
// §28), two switches in the ⚙ panel, drawn with it (devices.js).
// "Notify me when this page is closed": the permission is asked at that
// tap only, then the browser subscribes at its vendor's push service with
// the server's key (PUSHKEY) and the subscription goes to the server
// (PUSH:<p256dh>:<auth>:<endpoint>); off, PUSH:OFF. "Show the sender
// and text": PREVIEWS:ON/OFF, one setting of the account that every
// device's pushes follow. The notifications themselves are sw.js's.

import { request } from './wire.js';
import { t, addStrings } from './i18n.js';
import { refusal, within } from './view.js';
import { el } from './widgets.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { pushOn: 'Notify me when this page is closed', pushPreviews: 'Show the sender and text in those notifications',
    pushUnsupported: 'Not available in this browser (it needs https with a trusted certificate).',
    pushDenied: 'The browser does not allow notifications for this site.', pushDone: 'This browser will be notified while the page is closed.',
    pushService: 'This browser\'s push service', pushOff: 'Notifications with the page closed stay off.' },
  es: { pushOn: 'Avisarme con esta página cerrada', pushPreviews: 'Mostrar quién escribe y el texto en esos avisos',
    pushUnsupported: 'No disponible en este navegador (necesita https con un certificado de confianza).',
    pushDenied: 'El navegador no permite avisos de este sitio.', pushDone: 'Este navegador recibirá avisos con la página cerrada.',
    pushService: 'El servicio de avisos de este navegador', pushOff: 'Los avisos con la página cerrada siguen apagados.' },
  pt: { pushOn: 'Avisar-me com esta página fechada', pushPreviews: 'Mostrar quem escreve e o texto nesses avisos',
    pushUnsupported: 'Indisponível neste navegador (precisa de https com um certificado confiável).',
    pushDenied: 'O navegador não permite avisos deste site.', pushDone: 'Este navegador será avisado com a página fechada.',
    pushService: 'O serviço de avisos deste navegador', pushOff: 'Os avisos com a página fechada continuam desligados.' },
});

/** Where this browser remembers that it subscribed, and the previews switch as last set here. */
const ON_KEY = 'wachat-push';
/**
 * How long the browser's push service may take to subscribe or let go:
 * one that cannot be reached (a browser whose vendor's service is blocked)
 * would be waited for forever; the switch says so within 10 s, and stays off.
 */
const PUSH_SERVICE_MS = 8000;
const PREVIEWS_KEY = 'wachat-previews';

/** Bytes as base64url without padding (what PUSH takes). */
function base64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The two switches, drawn once into the panel's #push-box. */
export function render(app) {
  const box = $('push-box');
  if (!box || box.childElementCount) return;
  const supported = window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  const note = el('p', { id: 'push-note', className: 'note', role: 'status' });
  const on = el('input', { type: 'checkbox', id: 'push-on', disabled: !supported, checked: supported && localStorage.getItem(ON_KEY) === '1' });
  on.onchange = () => turn(app, on, note);
  const previews = el('input', { type: 'checkbox', id: 'push-previews', checked: localStorage.getItem(PREVIEWS_KEY) !== 'off' });
  previews.onchange = () => setPreviews(app, previews, note);
  box.append(el('label', {}, on, ` ${t('pushOn')}`), el('label', {}, previews, ` ${t('pushPreviews')}`), note);
  const unsupported = () => {
    on.disabled = true;
    note.textContent = t('pushUnsupported');
  };
  // No service worker (a certificate the browser does not trust refuses it): no push either.
  if (!supported) unsupported();
  else navigator.serviceWorker.getRegistration().then((r) => { if (!r) unsupported(); }).catch(unsupported);
}

/** The first switch turned: subscribe and tell the server, or the opposite; on a failure the switch goes back. */
async function turn(app, box, note) {
  box.disabled = true;
  note.textContent = '';
  try {
    if (box.checked) {
      if (await Notification.requestPermission() !== 'granted') throw new Error(t('pushDenied'));
      const key = (await app.link.request(request.pushKey())).reply;
      if (!key.ok) throw key;
      const registration = await within(navigator.serviceWorker.getRegistration(), PUSH_SERVICE_MS, t('pushService'));
      if (!registration?.pushManager) throw new Error(t('pushUnsupported'));
      // A subscription made after the limit is taken back: the switch said it stays off.
      const subscribed = registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.value });
      const sub = await within(subscribed, PUSH_SERVICE_MS, t('pushService'), (late) => late.unsubscribe().catch(() => {}));
      const line = request.push(base64url(sub.getKey('p256dh')), base64url(sub.getKey('auth')), sub.endpoint);
      const answer = (await app.link.request(line)).reply;
      if (!answer.ok) {
        sub.unsubscribe().catch(() => {});
        throw answer;
      }
      localStorage.setItem(ON_KEY, '1');
      note.textContent = t('pushDone');
    } else {
      // The server stops pushing first: the push service letting go (or not answering) changes nothing then.
      const answer = (await app.link.request(request.pushOff())).reply;
      if (!answer.ok) throw answer;
      await forget().catch((e) => { note.textContent = e.message; });
    }
  } catch (e) {
    box.checked = !box.checked;
    const why = e instanceof Error ? e.message : refusal(e);
    note.textContent = box.checked ? why : `${why}. ${t('pushOff')}`;
  }
  box.disabled = false;
}

/** This browser's subscription dropped at its push service (off, or logging out). */
export async function forget() {
  localStorage.removeItem(ON_KEY);
  const letGo = async () => {
    const registration = await navigator.serviceWorker?.getRegistration();
    const sub = await registration?.pushManager?.getSubscription();
    await sub?.unsubscribe();
  };
  await within(letGo(), PUSH_SERVICE_MS, t('pushService'));
}

async function setPreviews(app, box, note) {
  const answer = (await app.link.request(request.previews(box.checked)).catch((e) => ({ reply: e }))).reply;
  if (answer?.ok) localStorage.setItem(PREVIEWS_KEY, box.checked ? 'on' : 'off');
  else {
    box.checked = !box.checked;
    note.textContent = refusal(answer);
  }
}
