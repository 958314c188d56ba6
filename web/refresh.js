// refresh.js: what the app may have missed while it was away, asked
// after the login and after each reconnection: who is online, the chats
// and their unread counts, the rooms, my preferences, blocks, archived
// chats and stars, and the last messages of the recent chats for the
// list; then the outbox goes.

import { request, parseHistoryLine, parseChatsLine, parseRoomsLine, parsePrefLine, parseInfoLine, isBlockable, isChat, fold } from './wire.js';
import { draw, applied, archived, refreshMarks } from './chatlist.js';
import { markRead, paged } from './conversation.js';
import { onPref, refreshGroupCalls } from './events.js';
import { flushOutbox } from './sending.js';

/** HISTORY returns at most this many (protocol 1.1). */
const MOST = 1000;

/** Everything the server knows that the app may have missed: after login and each reconnection. */
export async function refresh(app) {
  const { link, model } = app;
  try {
    const [users, chats, rooms, prefs, blocks, archives, info] = await Promise.all([
      link.request(request.users()), link.request(request.chats()), link.request(request.rooms()),
      link.request(request.prefs()), link.request(request.blocks()), link.request(request.archived()),
      link.request(request.info()),
    ]);
    // 1.3: this server's name in a class network (INFO's `name=`), which a
    // quote written on another server gives its users (`> ana@lab1: …`).
    const named = info.reply.ok && info.lines.map(parseInfoLine).find((l) => l?.key === 'name');
    model.server = app.view.server = named ? named.value : null;
    // 1.2: levels, pins and blocks, as my other devices set them (a server without them says KO).
    if (prefs.reply.ok) {
      for (const chat of model.chats.values()) Object.assign(chat, { level: 'all', pinned: false });
      for (const pref of prefs.lines.map(parsePrefLine).filter(Boolean)) onPref(app, pref);
    }
    if (archives.reply.ok) {
      for (const chat of model.chats.values()) chat.archived = false;
      for (const name of archives.lines.filter(isChat)) archived(app, { chat: name, archived: true });
    }
    if (blocks.reply.ok) model.blocked = new Set(blocks.lines.filter(isBlockable).map(fold));
    refreshStars(app);
    refreshMarks(app);
    refreshGroupCalls(app);
    import('./profiles.js').then((m) => m.load(app)).catch(() => {}); // 1.2 (§30)
    model.online = new Set(users.lines.map(fold));
    let counts = chats.lines;
    const recent = setCounts(app, counts);
    for (const line of rooms.lines) {
      const entry = parseRoomsLine(line);
      if (entry) model.chat(entry.room).memberCount = entry.members;
    }
    draw(app);
    // The last message of the 30 most recent chats, for the list (an action
    // is not one: while the newest lines are all actions, ask further back).
    // CHATS and these HISTORYs are separate requests: a message that lands
    // between them is in a preview, so its event adds nothing, but not in
    // the count. So CHATS is asked again after the previews: the counts
    // hold once they did not change meanwhile and no message came while
    // it was asked (the previews are read again until then, at most five
    // times). Past that, messages land faster than the previews are read:
    // CHATS alone is asked again, every 200 ms for 4 s at most, until no
    // message came while it was asked (every message now comes as an
    // event, counted after the CHATS that did not count it).
    for (let tries = 1; ; tries++) {
      const previews = tries <= 5;
      if (previews) {
        await Promise.all(recent.slice(0, 30).map(async (chat) => {
          if (chat.last) await loadPage(app, chat, 10);
          for (let n = 10; !chat.last && n <= 250; n *= 5) {
            await loadPage(app, chat, n);
            if (!chat.more) break;
          }
        }));
      } else {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const arrived = app.arrivals;
      const again = await link.request(request.chats());
      if (!again.reply.ok) break;
      // A message whose event came while CHATS was asked may be counted
      // in it or not: its count would be taken or lost; so once more.
      const quiet = app.arrivals === arrived;
      const held = quiet && (!previews || again.lines.join('\n') === counts.join('\n'));
      counts = again.lines;
      if (held || tries === 25) break;
    }
    for (const chat of setCounts(app, counts)) {
      // The mentions among its unread messages, for the @ badge.
      const others = chat.messages.filter((m) => !m.mine);
      chat.mentions = chat.unread ? others.slice(-chat.unread).filter((m) => m.mention).length : 0;
    }
    if (app.openKey) {
      const chat = model.chat(app.openKey);
      await (await paged(app)).newest(app, chat, true);
      markRead(app, chat);
    }
  } catch (_) {
    /* dropped meanwhile: the next reconnection refreshes again */
  }
  flushOutbox(app);
  draw(app);
}

/** The unread counts of a CHATS listing, set on its chats (the open one has none); its chats, most recent first. */
function setCounts(app, lines) {
  const chats = [];
  for (const line of lines) {
    const entry = parseChatsLine(line);
    if (!entry) continue;
    const chat = app.model.chat(entry.chat);
    chat.unread = fold(chat.name) === app.openKey ? 0 : entry.unread;
    chats.push(chat);
  }
  return chats;
}

/** Asks for the newest `limit` messages of `chat`; returns those that were new. */
async function loadPage(app, chat, limit) {
  const { reply, lines } = await app.link.request(request.history(chat.name, Math.min(limit, MOST)));
  if (!reply.ok) return [];
  chat.limit = Math.max(chat.limit || 0, limit);
  chat.more = lines.length >= limit && limit < MOST;
  const added = [];
  for (const line of lines) {
    const msg = parseHistoryLine(line);
    if (!msg) continue;
    const result = app.model.add(msg);
    if (result.added) added.push(result.msg);
    else if (!result.msg) applied(app, result);
    else if (app.view && app.view.chat === chat) app.view.tick(result.msg);
  }
  return added;
}

/** My starred messages (1.2, §25): starred.js is loaded once there is one (the ★ of their bubbles). */
async function refreshStars(app) {
  const { reply, lines } = await app.link.request(request.starred()).catch(() => ({ reply: {} }));
  if (reply.ok && (lines.length || app.view.starred)) import('./starred.js').then((m) => m.load(app, lines));
}
