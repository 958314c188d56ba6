// back.js: the phone's Back and Forward inside the signed-in app, as a
// stack of layers. Each view is an entry of the tab's history: the chat
// list, a chat opened over it, and each layer opened over that (a chat's
// Details, Devices, a message's Info, the profile, starred messages, the
// search results, the server's rules, the photo viewer, the forward
// chooser, the emoji picker, a call's screen, a room's call's too): Back
// closes exactly the top one, Forward opens a panel again. Below the list
// lies one more entry of the app's own, where Back lands and is sent back
// to the list: Back never leaves the app (a password login keeps nothing,
// so leaving would mean the login form again, Forward included).
//
// One mechanism for every layer: a layer is an element of `LAYERS` that is
// in the page, not hidden and not minimized (a call's screen, which Back
// makes small: the call goes on). A MutationObserver sees layers open and
// close, however their modules open and close them (their buttons, Esc, a
// pick): one that opens pushes its entry; one that closes by itself takes
// its entry back if it is the current one. Back to an entry under open
// layers closes them, each as its own ✕ does.
//
// A move of the tab's history (`history.back()`, `go`, `forward`) lands
// later, when its popstate comes: on a slow phone, after a layer opened
// meanwhile (the forward chooser the viewer's Forward opens as it closes,
// the photo tapped again just after Esc). Until the move this module asked
// for has landed, the current entry is still the one it leaves, so nothing
// is pushed or replaced: what opened, closed, or which chat was opened
// meanwhile is taken in once it has (`travel`, `show`).
//
// Each entry's state says what it shows and where it stands (`at`: 0 for
// the base, 1 for the list, 2 for a chat, one more for each layer):
// `{wachat: 'list', at}`, `{wachat: 'chat', chat, at}`, `{wachat: 'layer',
// layer, chat, at}`. What the user opens or closes with the page's own
// controls is compared with the entry: only a change pushes, so showing an
// entry pushes nothing.

import { fold } from './wire.js';

const $ = (id) => document.getElementById(id);

/**
 * Every layer, by the selector that finds it: how Back closes it, and how
 * Forward opens it again (a panel, drawn from what the app holds; an
 * overlay's moment is gone, and Forward passes over its entry).
 */
const LAYERS = {
  '#chat-panel': { close: (app) => app.panel?.close(), reopen: (app) => app.panel?.toggle(app) },
  '#devices-panel': { close: () => press('devices-button'), reopen: () => press('devices-button') },
  '#info-panel': { close: () => import('./receipts.js').then((m) => m.close()), reopen: () => import('./receipts.js').then((m) => m.reopen()) }, // 1.2, §31
  '#profile-panel': { close: () => press('profile-button'), reopen: () => press('profile-button') },
  '#starred-panel': { close: () => hide('starred-panel', 'starred-button'), reopen: () => press('starred-button') },
  '#search-panel': { close: () => hide('search-panel') },
  '#rules': { close: () => hide('rules') },
  // Overlays made when they open: each closes as its own ✕ does (`shut`).
  '.viewer': { close: shut },
  '#forward': { close: shut },
  '#emoji-picker': { close: shut },
  '.call-screen': { close: shut }, // made small, the call going on (call.js, a room's: groupcall.js)
};
const SELECTOR = Object.keys(LAYERS).join(', ');

/** A panel of the header opens and closes as its button does (app.js loads its module): one way, the user's. */
const press = (button) => $(button).click();
function hide(id, button) {
  $(id).hidden = true;
  if (button) $(button).setAttribute('aria-expanded', 'false');
}
function shut(_, element) {
  element.shut?.();
}

/** The app's state (state.js), and how a chat is opened and closed (conversation.js): the popstate listener's. */
let app = null;
let views = null;
/** The layers open, bottom first: `{element, key, at}` (`at`: its entry's place, null once another entry took it). */
let stack = [];
/** Where the current entry stands (its state's `at`). */
let position = 0;
/** True while an entry is being shown (Back, Forward): what that closes is no change of the app's own. */
let showing = false;
/** How many moves of the tab's history this module asked for (`travel`) have not landed yet. */
let travelling = 0;
/** What waits for those moves to land: a chat opened or closed meanwhile (`settled`). */
let waiting = [];

/** At each login: the page is the list, over the app's own base entry. */
export function start(state, open, close) {
  app = state;
  views = { open, close };
  stack = [];
  travelling = 0;
  waiting = [];
  history.replaceState({ wachat: 'base', at: 0 }, '');
  history.pushState({ wachat: 'list', at: 1 }, '');
  position = 1;
  if (start.hooked) return;
  start.hooked = true;
  addEventListener('popstate', (e) => show(e.state));
  new MutationObserver(layersChanged).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden', 'class'] });
}

const here = () => history.state || {};

/** Moves the tab's history by `delta` entries; its popstate (`show`) says when it has landed. */
function travel(delta) {
  travelling += 1;
  history.go(delta);
}

/** Runs `step` now, or once the moves asked for have landed (until then the current entry is the one they leave). */
function settled(step) {
  if (travelling) waiting.push(step);
  else step();
}
const signedIn = () => app && app.link && !$('app').hidden;
const chatShown = () => (app.openKey ? app.model.chat(app.openKey).name : undefined);

/** Pushes the entry `state`, one place above the current one. */
function push(state) {
  position += 1;
  history.pushState({ ...state, at: position }, '');
}

/** The current entry becomes `state`: the layers that stood on it lose their entry. */
function replace(state) {
  for (const layer of stack) if (layer.at === position) layer.at = null;
  history.replaceState({ ...state, at: position }, '');
}

/** A chat was opened (from the list, a search, a notification): its entry, over the list's. */
export function opened(name) {
  if (!signedIn()) return;
  if (travelling) {
    waiting.push(() => opened(name));
    return;
  }
  const now = here();
  if ((now.wachat === 'chat' || now.wachat === 'layer') && fold(now.chat ?? '') === fold(name)) return;
  const entry = { wachat: 'chat', chat: name };
  // Another chat opened beside the first (a laptop's list) takes its entry, so Back still goes to
  // the list; one opened from a layer (a starred message, a search's result) goes over it, and Back
  // comes back to that layer.
  if (now.wachat === 'chat') replace(entry);
  else push(entry);
}

/** The chat was closed by the app itself (Leave room): its entry becomes the list's. */
export function closed() {
  if (!signedIn() || showing) return;
  settled(() => {
    if (here().wachat === 'chat' || here().wachat === 'layer') replace({ wachat: 'list' });
  });
}

/** The header's ←: Back down to the list, every layer over the chat closed on the way. */
export function leave() {
  settled(() => {
    if (position > 1) travel(1 - position);
    else views.close();
  });
}

/** Whether `element`, a layer, is open: in the page, not hidden, not made small. */
const isOpen = (element) => element.isConnected && !element.hidden && !element.classList.contains('minimized');

/** What the page shows changed: layers that opened push their entries, those that closed take theirs back. */
function layersChanged() {
  // While a move asked for is on its way, `show` calls this again once it has landed.
  if (!signedIn() || travelling) return;
  const open = [...document.querySelectorAll(SELECTOR)].filter(isOpen);
  let gone = stack.filter((layer) => !open.includes(layer.element));
  stack = stack.filter((layer) => open.includes(layer.element));
  // One that takes the place of a layer of its kind closed at once (a room call's ringing screen
  // giving way to the call's, as its Join is pressed) takes its entry: the same layer, drawn again.
  for (const element of open) {
    const key = Object.keys(LAYERS).find((selector) => element.matches(selector));
    const heir = gone.find((layer) => layer.key === key);
    if (!heir || stack.some((layer) => layer.element === element)) continue;
    gone = gone.filter((layer) => layer !== heir);
    stack.push({ element, key, at: heir.at });
  }
  // Closed by itself (its ✕, Esc, a pick): its entry goes if it is the current one.
  // Any layer opened with it gets its entry once that Back has landed (`show`), over the entry under.
  if (gone.some((layer) => layer.at !== null && layer.at === position)) {
    travel(-1);
    return;
  }
  for (const element of open) {
    if (stack.some((layer) => layer.element === element)) continue;
    const key = Object.keys(LAYERS).find((selector) => element.matches(selector));
    const now = here();
    // Opened again by Forward (`show`): its entry is the current one already.
    if (now.wachat === 'layer' && now.layer === key && !stack.some((layer) => layer.at === position)) {
      stack.push({ element, key, at: position });
    } else {
      push({ wachat: 'layer', layer: key, chat: chatShown() });
      stack.push({ element, key, at: position });
    }
  }
}

/** Makes the page show the entry `state` (Back or Forward, the user's or `travel`'s). */
function show(state) {
  if (!signedIn()) return;
  const asked = travelling > 0;
  if (asked) travelling -= 1;
  showing = true;
  try {
    showEntry(state);
  } finally {
    showing = false;
  }
  if (!asked) return;
  // A move of this module's own has landed: what the page did meanwhile, from this entry
  // (unless `showEntry` moved on again, and this waits for that move too).
  layersChanged();
  for (const step of waiting.splice(0)) settled(step);
}

function showEntry(state) {
  const from = position;
  position = state?.at ?? 0;
  if (!state || state.wachat === 'base') {
    // Below the list: forward to it again (what lies beyond stays for Forward), never out of the app.
    travel(1);
    return;
  }
  // Back: every layer above this entry closes, the top one first, as its own ✕ closes it.
  for (const layer of [...stack].reverse()) {
    if (layer.at === null || layer.at <= position) continue;
    stack = stack.filter((l) => l !== layer);
    LAYERS[layer.key].close(app, layer.element);
  }
  if (state.chat && app.openKey !== fold(state.chat)) views.open(state.chat);
  if (!state.chat && app.openKey) views.close();
  if (state.wachat !== 'layer' || stack.some((layer) => layer.at === position)) return;
  // A layer's entry whose layer is not open: Forward opens a panel again; an overlay's entry
  // (Forward then shows nothing new), or one whose layer closed while another stood on it, is passed over.
  const reopen = position > from && LAYERS[state.layer]?.reopen;
  if (reopen) reopen(app);
  else travel(-1);
}
