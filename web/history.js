// history.js: a conversation as the server stored it, read back a page at
// a time (protocol 1.2, `HISTORY:<chat>:<limit>:<start>`, PROTOCOL.md §4),
// and merged with what the app already holds: messages that arrived while
// it was away (the inbox's replay), those that arrive live, and those
// still in the outbox.
//
// The pages are the order: each is a run of the server's messages, oldest
// first, and a page's cursor reads the run just before it, so the pages
// read so far (`chat.covered`) are one unbroken stretch of the chat, in
// the server's order, which times cannot give (several messages share a
// millisecond). Messages are known by (sender, id), never by time. What
// the app holds that is not in that stretch is either newer (it came
// during or after the newest page, or waits in the outbox: drawn after
// it) or older (`chat.loose`: held before the newest page was asked and
// not in it, so further back): an older one is not drawn until the page
// that holds it is read, or the chat's start is reached, so nothing is
// ever drawn out of its place or left out between two pages.

import { request, parseHistoryLine } from './wire.js';
import { applied } from './chatlist.js';

/** Messages asked for when a chat opens. */
export const FIRST_PAGE = 50;
/**
 * The most a first page asks for, to reach a chat's first unread message
 * (the unread line goes above it): the server's `HISTORY` gives at most its
 * `max_history`, 1,000 by default.
 */
const MOST_FIRST_PAGE = 1000;
/** Messages asked for each time the reader scrolls to the top. */
export const OLDER_PAGE = 100;
/** Tries of a page the server refuses for its rate (--rate), each after the wait it says. */
const RATE_TRIES = 8;

/** A page's reply, `OK:<n>:<cursor>`: its cursor (null at the chat's start), or undefined if it is no page's. */
function cursorOf(reply) {
  const head = reply.ok && /^[0-9]{1,20}:([0-9]{1,20})?$/.exec(reply.value);
  return head ? head[1] || null : undefined;
}

/** Whether a page is being read further back (one at a time). */
let reading = false;

/**
 * The newest page of `chat`, merged with what the app holds; `draw`: the
 * open chat is drawn again where that changed it. With `unread` messages
 * not read, the page reaches the first of them (and a few before it).
 */
export async function newest(app, chat, draw = false, unread = 0) {
  const view = app.view;
  const held = holding(chat);
  const size = Math.min(MOST_FIRST_PAGE, Math.max(FIRST_PAGE, unread + 10));
  const page = await askPage(app.link, chat, size, '*');
  if (!page) return;
  const was = view.chat === chat ? drawn(view, chat) : null;
  merge(app.model, chat, page, held, (result) => applied(app, result));
  if (draw && was && view.chat === chat) redraw(view, chat, was);
  showStart(view, chat);
}

/** Infinite scroll: the page before the oldest one read, drawn above what the open chat shows. */
export async function older(app) {
  const view = app.view;
  const chat = view && view.chat;
  if (!chat || !chat.cursor || reading || !app.link) return;
  reading = true;
  try {
    const page = await askPage(app.link, chat, OLDER_PAGE, chat.cursor);
    if (!page || view.chat !== chat) return;
    const was = drawn(view, chat);
    merge(app.model, chat, page, null, (result) => applied(app, result));
    redraw(view, chat, was);
    showStart(view, chat);
  } catch (_) {
    return; // offline: scrolling up asks again
  } finally {
    reading = false;
  }
  shown(app, chat);
}

/** The open chat drawn: says whether its start is, and reads further back while it does not fill the screen (nothing to scroll yet). */
export function shown(app, chat) {
  const view = app.view;
  if (view.chat !== chat) return;
  showStart(view, chat);
  const list = view.list;
  if (chat.cursor && list.scrollHeight <= list.clientHeight + 40) older(app);
}

/** Marks the list `data-start="true"` when the open chat's first message is drawn. */
function showStart(view, chat) {
  if (view.chat === chat) view.list.dataset.start = String(chat.cursor === null);
}

/**
 * A page of `chat` from `start` ('*' or a cursor): `{lines, before}`,
 * or null if the server refused it. Waits and asks again while the
 * server says RATE_LIMITED.
 */
export async function askPage(link, chat, limit, start) {
  for (let tries = 1; ; tries++) {
    const { reply, lines } = await link.request(request.history(chat.name, limit, start));
    const before = cursorOf(reply);
    if (before !== undefined) return { lines, before };
    if (reply.code !== 'RATE_LIMITED' || tries === RATE_TRIES) return null;
    const said = /in ([0-9]+) (ms|s)\b/.exec(reply.reason || '');
    const wait = said ? Number(said[1]) * (said[2] === 's' ? 1000 : 1) : 1000;
    await new Promise((done) => setTimeout(done, Math.min(wait + 50, 10000)));
  }
}

/**
 * Takes a page into `chat`: its lines through `model.add` (a known
 * message is the one kept, an action is applied and handed to
 * `onAction`), then the chat's order rebuilt. `held`: the messages the
 * app held when the newest page was asked (null for a page further back).
 */
export function merge(model, chat, page, held, onAction) {
  const run = [];
  const inRun = new Set();
  for (const line of page.lines) {
    const msg = parseHistoryLine(line);
    if (!msg) continue;
    const result = model.add(msg);
    if (!result.msg) onAction(result);
    else if (!inRun.has(result.msg)) {
      run.push(result.msg);
      inRun.add(result.msg);
    }
  }
  const covered = chat.covered || [];
  if (held) {
    // The newest run: it goes on from the stretch read before if they
    // meet (the stretch's cursor still reads further back), else it
    // starts a new one.
    const at = run.length ? covered.indexOf(run[0]) : -1;
    chat.covered = at >= 0 ? [...covered.slice(0, at), ...run] : run;
    if (at < 0 || !chat.covered.length) chat.cursor = page.before;
  } else {
    chat.covered = [...run, ...covered.filter((m) => !inRun.has(m))];
    chat.cursor = page.before;
  }
  arrange(chat, held);
}

/**
 * Orders `chat.messages`: the stretch read from the server, what is newer
 * after it, in the order the app got it, and (once the chat's start is
 * read) the older messages no page held, by time, before it.
 */
function arrange(chat, held) {
  const stretch = new Set(chat.covered);
  const first = chat.covered[0];
  const all = [...new Set([...(chat.loose || []), ...chat.messages])].filter((m) => !stretch.has(m));
  const older = (m) => (held ? held.has(m) : (chat.loose || []).includes(m))
    && m.state !== 'SENT' && !m.failed && first && m.ts <= first.ts;
  const loose = all.filter(older).sort((a, b) => a.ts - b.ts);
  const newer = all.filter((m) => !older(m));
  const start = chat.cursor === null ? loose : [];
  chat.loose = chat.cursor === null ? [] : loose;
  chat.messages = [...start, ...chat.covered, ...newer];
}

/** The messages the app holds of `chat` now, for `merge`'s `held`. */
export function holding(chat) {
  return new Set([...(chat.loose || []), ...chat.messages]);
}

/**
 * Draws `chat` after a merge, in `view`: the new ones above, if that is
 * all that changed (the view stays where it was); below, likewise; else
 * drawn again, the message at the top of the screen kept there.
 */
export function redraw(view, chat, shown) {
  const now = chat.messages;
  const same = (from, list) => list.every((m, i) => now[from + i] === m);
  const added = now.length - shown.length;
  if (added >= 0 && same(added, shown)) {
    if (added) view.prepend(now.slice(0, added));
    return;
  }
  if (added >= 0 && same(0, shown)) {
    for (const msg of now.slice(shown.length)) view.append(msg);
    return;
  }
  const list = view.list;
  const top = [...view.elements.entries()].find(([, li]) => li.offsetTop + li.offsetHeight > list.scrollTop);
  const offset = top ? top[1].offsetTop - list.scrollTop : 0;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  view.open(chat, 0);
  const again = top && view.elements.get(top[0]);
  if (again && !atBottom) list.scrollTop = again.offsetTop - offset;
}

/** What `view` shows of `chat`, in order: to compare after a merge. */
export function drawn(view, chat) {
  return chat.messages.filter((m) => view.elements.has(m));
}
