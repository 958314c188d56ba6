// state.js: what the browser app holds while it runs, in one object.
// app.js makes the one `App` when the page loads and passes it to every
// module that reads or changes it, the modules loaded later included
// (history.js, panel.js, devices.js, …): none keeps a copy of these
// fields, so all of them see one login's link, model and open chat. Each
// field says what it is and which module sets it; the others only read it.
// The keys of what outlives the page, in the browser's storage, are here too.

/** Where a linked browser keeps its device and token (never a password): session.js. */
export const LINK_KEY = `wachat:link:${location.host}`;
/** The last user name that logged in here (never a password): session.js writes it, app.js fills the form with it. */
export const USER_KEY = `wachat:user:${location.host}`;
/** A "Log out" the server did not hear (account.js says so once). */
export const UNTOLD_KEY = `wachat:untold:${location.host}`;

export class App {
  // One login's: session.js sets these at each login (begin), to the new
  // account's; a login refused, or the device unlinked, sets `link` back
  // to null (a "Log out" loads the page again).

  /** The connection to the server (link.js's Link), or null while logged out. */
  link = null;
  /** What the app knows of the chats and their messages (chats.js's Model). */
  model = null;
  /** The messages sent and not yet answered by the server (chats.js's Outbox), kept in `storage`. */
  outbox = null;
  /** What was typed and not sent, per chat (chats.js's Drafts), kept in `storage`. */
  drafts = null;
  /** The open conversation as drawn (view.js's Conversation); `view.chat` is the open chat, or null. */
  view = null;
  /** Where the account's outbox and drafts are kept: the tab's sessionStorage after a password's login, localStorage with a token or "stay signed in". */
  storage = sessionStorage;

  // The open chat: conversation.js sets these.

  /** The open chat's key (its name folded), or null: openChat and closeChat. */
  openKey = null;
  /** The open room's rules (ROOMINFO, 1.2), or null: showRules, and openChat clears them. */
  rules = null;

  // Counters and timers.

  /** Messages that came as events (events.js counts them): refresh.js checks none came while it asked CHATS. */
  arrivals = 0;
  /** Messages notified while the tab was hidden, shown in its title: notify.js counts them, and zeroes them when the tab shows. */
  hiddenCount = 0;
  /** Whether the server takes TYPING (1.2): typing.js, false after its BAD_REQUEST. */
  typingSupported = true;
  /** When this browser last sent TYPING (ms): typing.js. */
  lastTypingAt = 0;
  /** The interval counting down a throttled login's wait in the header: session.js. */
  countdown = null;
  /** The timeout that keeps the chats (store.js) a moment after the list is drawn: chatlist.js. */
  keepTimer = null;

  // Modules loaded when first used, once loaded (or while loading: a promise).

  /** Reply, edit, delete, react (actions.js's Actions): session.js, at the first "⋯". */
  actions = null;
  /** The promise of `actions`, while it loads and after. */
  actionsLoading = null;
  /** The chat's panel (panel.js): app.js, at the first "Details". */
  panel = null;
  /** The chat list's "Archived" row (archive.js): chatlist.js, once a chat is archived (1.2, §23). */
  archive = null;
  /** A chat's pages (1.2, §4): the promise of history.js, conversation.js's `paged`; null again if it failed to load. */
  pages = null;
  /** What a linked browser keeps of its chats (store.js): session.js, at a login with a token. */
  store = null;
  /** Calls (1.2, §24): the promise of call.js's controls, events.js's `calling`. */
  calls = null;
  /** A room's calls (1.2, §32): the promise of groupcall.js's controls, events.js's `groupCalling`. */
  groupCalls = null;

  /**
   * Opens a chat by name and draws it (conversation.js's `openChat`),
   * set by session.js: the chat list's rows call it (chatlist.js), which
   * conversation.js imports to draw the list, so it cannot import back.
   */
  open = null;
  /** Closes the open chat (conversation.js's `closeChat`), set by session.js: the chat list's menu calls it (listmenu.js), for the same reason. */
  close = null;
  /** Whether the signed-in app's controls are hooked (controls.js, at the first login). */
  hooked = false;

  /** Whether this browser keeps the account's data past the tab (a token: "stay signed in", a code). */
  persists() {
    return this.storage === localStorage;
  }
}
