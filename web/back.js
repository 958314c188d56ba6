// back.js: the phone's Back and Forward inside the signed-in app. Each
// view is an entry of the tab's history: the chat list, a chat opened
// over it, a panel (a chat's Details, Devices, a message's Info) opened over that; Back
// closes the top one, Forward opens it again. Below the list lies one
// more entry of the app's own, where Back lands and is sent back to the
// list: Back never leaves the app (a password login keeps nothing, so
// leaving would mean the login form again, Forward included).
//
// Each entry's state says what it shows (`{wachat: 'list'}`, `{wachat:
// 'chat', chat}`, `{wachat: 'panel', panel, chat}`); a popstate makes
// the page show it. What the user opens or closes with the page's own
// controls is compared with the entry: only a change pushes, so showing
// an entry pushes nothing.

import { fold } from './wire.js';

const $ = (id) => document.getElementById(id);

/** The panels that are an entry of their own, and how each is opened again. */
const PANELS = {
  'chat-panel': (app) => app.panel?.toggle(app), // loaded: it was opened before, to have an entry
  'devices-panel': (app) => import('./devices.js').then((m) => m.toggle(app)),
  'info-panel': () => import('./receipts.js').then((m) => m.reopen()), // a message's Info (1.2, §31)
};

/** The app's state (state.js), and how a chat is opened and closed (conversation.js): the popstate listener's. */
let app = null;
let views = null;

/** At each login: the page is the list, over the app's own base entry. */
export function start(state, open, close) {
  app = state;
  views = { open, close };
  history.replaceState({ wachat: 'base' }, '');
  history.pushState({ wachat: 'list' }, '');
  if (start.hooked) return;
  start.hooked = true;
  addEventListener('popstate', (e) => show(e.state));
  const watch = new MutationObserver(() => panelsChanged());
  for (const id of Object.keys(PANELS)) watch.observe($(id), { attributes: true, attributeFilter: ['hidden'] });
}

const here = () => history.state || {};
const signedIn = () => app && app.link && !$('app').hidden;

/** A chat was opened (from the list, a search, a notification): its entry, over the list's. */
export function opened(name) {
  if (!signedIn()) return;
  const now = here();
  if (now.wachat === 'chat' && fold(now.chat) === fold(name)) return;
  const entry = { wachat: 'chat', chat: name };
  // Another chat opened beside the first (a laptop's list): Back still goes to the list.
  if (now.wachat === 'chat' || now.wachat === 'panel') history.replaceState(entry, '');
  else history.pushState(entry, '');
}

/** The chat was closed by the app itself (Leave room): its entry becomes the list's. */
export function closed() {
  if (signedIn() && (here().wachat === 'chat' || here().wachat === 'panel')) history.replaceState({ wachat: 'list' }, '');
}

/** The header's ←: Back, as the phone's gesture does (down to the list). */
export function leave() {
  const now = here().wachat;
  if (now === 'chat') history.back();
  else if (now === 'panel') history.go(-2);
  else views.close();
}

/** A panel opened or closed by its own button (or Esc): opened, it pushes its entry; closed, its entry goes. */
function panelsChanged() {
  if (!signedIn()) return;
  const now = here();
  for (const id of Object.keys(PANELS)) {
    const shown = !$(id).hidden;
    if (shown && now.panel !== id) {
      history.pushState({ wachat: 'panel', panel: id, chat: app.openKey && app.model.chat(app.openKey).name }, '');
      return;
    }
    if (!shown && now.panel === id) {
      history.back();
      return;
    }
  }
}

/** Makes the page show the entry `state` (Back or Forward). */
function show(state) {
  if (!signedIn()) return;
  if (!state || state.wachat === 'base') {
    // Below the list: forward to it again (what lies beyond stays for Forward), never out of the app.
    history.forward();
    return;
  }
  for (const id of Object.keys(PANELS)) {
    if (state.panel === id || $(id).hidden) continue;
    if (id === 'chat-panel') app.panel?.close();
    else if (id === 'info-panel') import('./receipts.js').then((m) => m.close());
    else {
      $(id).hidden = true;
      $('devices-button').setAttribute('aria-expanded', 'false');
    }
  }
  if (state.chat && app.openKey !== fold(state.chat)) views.open(state.chat);
  if (!state.chat && app.openKey) views.close();
  if (state.panel && $(state.panel).hidden) PANELS[state.panel](app);
}
