// wire.js: the wachat protocol as data, in the browser.
//
// The only file of the app that formats or parses a frame: the requests
// it sends on /ws/send, the replies it gets there, and the events of
// /ws/receive. Each WebSocket text message is one protocol line, exactly
// as `nc` shows it (docs/PROTOCOL.md). Its cases are the Rust grammar's
// (src/protocol/), and tests/web.rs runs them here, in the browser.

/** Longest text in bytes, after unescaping (protocol §1). */
export const MAX_TEXT = 4096;

/** A name of this server (protocol::names::check_name): 1 to 32 of `A-Z a-z 0-9 _ . -`. */
const NAME_CHARS = '[A-Za-z0-9_.-]{1,32}';
const NAME = new RegExp(`^${NAME_CHARS}$`);
/**
 * A user, as every request, event and reply line that means one names it: a
 * name of this server, or (1.3, §27) an address of another server of the class
 * network, `bob@lab2` (protocol::names::check_user, the one grammar, which
 * tests/web.rs checks this against). The pattern, for the texts that name a
 * user (a quote's author, a notice, a call's line); `isUser` for a field.
 */
export const USER = `${NAME_CHARS}(?:@${NAME_CHARS})?`;
const USER_ONLY = new RegExp(`^${USER}$`);
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DIGITS = /^[0-9]{1,20}$/;
/** A HISTORY line's states; 1.3: `FAILED`, a message of mine that bounced (its bounce's line follows it). */
const STATES = ['RECEIVED', 'DELIVERED', 'READ', 'FAILED'];

/** A name of this server: one's own account, a device, a room without its `#`. */
export const isName = (s) => NAME.test(s);
/** Whether `s` is a user (`USER`): of this server, or (1.3) of another of its network, `bob@lab2`. */
export const isUser = (s) => USER_ONLY.test(s);
/** Whom a block names: a user, or (1.3) a whole server of the network, `@lab2`. */
export const isBlockable = (s) => isUser(s) || (s.startsWith('@') && NAME.test(s.slice(1)));
/** A room: `#lab`, or (1.3) one homed on another server, `#lab@lab2`. */
export const isRoom = (s) => s.length > 1 && s[0] === '#' && isUser(s.slice(1));
export const isChat = (s) => isUser(s) || isRoom(s);
/** 1.3: the server of an address (`lab2` of `bob@lab2` or `#lab@lab2`), or null for this server's names. */
export const serverOf = (s) => (s.includes('@') ? s.slice(s.indexOf('@') + 1) : null);

/**
 * 1.3 (§27, "Rooms"): a post in the room `room` of another server by `from`, a user of a third
 * server, is only its home's word; the member server marks its text `[relayed by <home>] `.
 * `{ home, words }` when `text` bears the marker of the room's home, else null (as
 * `protocol::relayed::relayed_by`).
 */
export function relayedBy(from, room, text) {
  const home = room.startsWith('#') ? serverOf(room) : null;
  const origin = serverOf(from);
  if (!home || !origin || fold(origin) === fold(home) || !text.startsWith('[relayed by ')) return null;
  const end = text.indexOf('] ');
  const named = end < 0 ? '' : text.slice('[relayed by '.length, end);
  return fold(named) === fold(home) ? { home: named, words: text.slice(end + 2) } : null;
}

/** A message's text without the marker of a relayed post (a file's `📎 …` line as its author's server wrote it). */
export const ownWords = (msg) => relayedBy(msg.from ?? '', msg.to ?? '', msg.text ?? '')?.words ?? msg.text ?? '';
export const isId = (s) => ID.test(s);
/** 1.2 (§21): a server's file id, and what FETCH names (a file, or its thumbnail `-t`). */
const FILE_ID = /^[0-9a-f]{32}$/;
const FETCHED = /^[0-9a-f]{32}(-t)?$/;
/** A file name as protocol/files.rs allows it (checked again by the server). */
export const isFileName = (s) => s.length > 0 && new TextEncoder().encode(s).length <= 200 && s !== '.' && s !== '..'
  && s.trim() === s && !/[\/\\:\u0000-\u001f\u007f]/.test(s);

/** `245 KB`, as the server writes sizes (protocol/files.rs): 1 KB = 1024 bytes. */
export function sizeWords(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.ceil(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A file message's readable text as the server stores it (§21): `📎 <name> (<size>) <caption>`. */
export const fileText = (name, size, caption = '') => `📎 ${name} (${sizeWords(size)})${caption ? ` ${caption}` : ''}`;

/** The key of a user or room: names are unique ignoring case. */
export const fold = (s) => s.toLowerCase();
/** A typed code as the server made it (protocol/codes.rs). */
export const normalizeCode = (s) => s.replace(/[\s-]/g, '').toLowerCase();

/** A plain text as it travels: `\` as `\\`, a newline as `\n`. */
export function escapeText(plain) {
  return plain.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Why an escaped text is not valid on the wire, or null if it is. */
export function textProblem(escaped) {
  let len = 0;
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    if (c === '\\') {
      const next = escaped[++i];
      if (next === undefined) return 'the text ends with a lone backslash';
      if (next !== '\\' && next !== 'n') return `bad escape \\${next} (only \\\\ and \\n)`;
      len += 1;
    } else if (c === '\n') {
      return 'raw newline in text';
    } else {
      const code = escaped.codePointAt(i);
      if (code > 0xffff) i++; // the second half of a surrogate pair
      len += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    }
  }
  if (len === 0) return 'the text is empty';
  if (len > MAX_TEXT) return `the text is ${len} bytes, the limit is ${MAX_TEXT}`;
  return null;
}

/** The plain text of an escaped one; throws on a bad text. */
export function unescapeText(escaped) {
  const problem = textProblem(escaped);
  if (problem) throw new Error(problem);
  return unescaped(escaped);
}

/** An escaped text, checked, unescaped. */
const unescaped = (escaped) => escaped.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));

/** Splits `line` into `n` fields; the last takes the rest, colons included. */
function fields(line, n) {
  const out = [];
  let at = 0;
  for (let i = 0; i < n - 1; i++) {
    const colon = line.indexOf(':', at);
    if (colon < 0) return null;
    out.push(line.slice(at, colon));
    at = colon + 1;
  }
  out.push(line.slice(at));
  return out;
}

// Requests (send port; LOGIN/REGISTER on both). Each returns one line
// without its newline, or throws if a field could not be sent as is.

function need(ok, what) {
  if (!ok) throw new Error(what);
}

export const request = {
  login(user, secret) {
    need(isName(user), 'bad user name');
    need(secret.length > 0 && !/[\n\r]/.test(secret), 'bad password');
    return `LOGIN:${user}:${secret}`;
  },
  /** 1.2: the login of one device; the secret is the password or the device's token. */
  loginAs(user, device, secret) {
    need(isName(user) && isName(device), 'bad user or device name');
    need(secret.length > 0 && !/[\n\r]/.test(secret), 'bad password');
    return `LOGIN:${user}@${device}:${secret}`;
  },
  /** 1.2: a link code of LINK traded for this device's token (a first frame). */
  pair(user, device, code) {
    need(isName(user) && isName(device) && isId(code), 'bad user, device or code');
    return `PAIR:${user}@${device}:${code}`;
  },
  /** With an invite `code` (1.2), REDEEM. */
  register(user, email, secret, code) {
    need(isName(user) && (!code || isId(code)), 'bad user name or code');
    need(!/[:\n\r]/.test(email), 'bad email');
    need(secret.length > 0 && !/[\n\r]/.test(secret), 'bad password');
    return code ? `REDEEM:${code}:${user}:${email}:${secret}` : `REGISTER:${user}:${email}:${secret}`;
  },
  msg(to, id, plain) {
    need(isChat(to) && isId(id), 'bad recipient or id');
    return `MSG:${to}:${id}:${sendable(plain)}`;
  },
  // 1.2: message actions (docs/PROTOCOL.md §19).
  reply(to, id, ref, plain) {
    need(isChat(to) && isId(id) && isTarget(ref), 'bad recipient or id');
    return `REPLY:${to}:${id}:${ref}:${sendable(plain)}`;
  },
  edit: (to, id, plain) => (need(isChat(to) && isTarget(id), 'bad chat or id'), `EDIT:${to}:${id}:${sendable(plain)}`),
  /** A delete of your message, or (`author`, 1.2) a room admin's of someone's. */
  del(to, id, author) {
    need(isChat(to) && isTarget(id), 'bad chat or id');
    if (author === undefined) return `DELETE:${to}:${id}`;
    need(isRoom(to) && isUser(author), 'bad room or author');
    return `DELETE:${to}:${id}:${author}`;
  },
  react(to, id, emoji) {
    need(isChat(to) && isTarget(id) && isReaction(emoji), 'bad chat, id or reaction');
    return `REACT:${to}:${id}:${emoji}`;
  },
  /** `scope`: a peer, a #room or `*` (every chat). */
  search(scope, words) {
    need(scope === '*' || isChat(scope), 'bad chat');
    // eslint-disable-next-line no-control-regex
    need(words.trim() && !/[\u0000-\u001f\u007f-\u009f]/.test(words), 'no words, or a control character');
    need(new TextEncoder().encode(words).length <= MAX_QUERY, `at most ${MAX_QUERY} bytes`);
    return `SEARCH:${scope}:${words}`;
  },
  read(chat, id) {
    need(isChat(chat) && isId(id), 'bad chat or id');
    return `READ:${chat}:${id}`;
  },
  /** 1.2 (§4): `start`, '*' or a cursor, asks for a page. */
  history(chat, limit, start) {
    need(isChat(chat) && /^(\*|[0-9]{1,20})?$/.test(start || ''), 'bad chat or cursor');
    return `HISTORY:${chat}:${Math.max(0, Math.floor(limit))}${start ? `:${start}` : ''}`;
  },
  join: (room) => (need(isRoom(room), 'bad room'), `JOIN:${room}`),
  leave: (room) => (need(isRoom(room), 'bad room'), `LEAVE:${room}`),
  members: (room) => (need(isRoom(room), 'bad room'), `MEMBERS:${room}`),
  // 1.3 (§27): a user of another server too (`bob@lab2`), as its server said.
  lastseen: (user) => (need(isUser(user), 'bad user'), `LASTSEEN:${user}`),
  // 1.2 (§26): the people whose names start with `start`, among the members of my rooms;
  // 1.3 (§27): `bo@lab2`, those of another server of the network, asked over its link.
  people: (start) => (need(isUser(start), 'bad start of a name'), `PEOPLE:${start}`),
  typing: (to) => (need(isChat(to), 'bad chat'), `TYPING:${to}`),
  /** UNLINK:<device>, or (1.2 §16) UNLINK:<device>:<password> from a session that logged in with its token. */
  unlink: (device, password) => (need(isName(device) && (password === undefined || /^[^\n\r]+$/.test(password)), 'bad device or password'),
    password === undefined ? `UNLINK:${device}` : `UNLINK:${device}:${password}`),
  // 1.2 §20: no ':' in the old password
  passwd: (o, n, keep) => (need(/^[^:\n\r]+$/.test(o) && /^[^\n\r]+$/.test(n), 'bad password'), `PASSWD${keep ? 'KEEP' : ''}:${o}:${n}`),
  // 1.2 §20: the password is the whole rest of the line
  delaccount: (p) => (need(/^[^\n\r]+$/.test(p), 'bad password'), `DELACCOUNT:${p}`),
  devices: () => 'DEVICES',
  /** LINK, or (1.2) LINK:<password> from a session that logged in with its token. */
  link: (p) => (p === undefined ? 'LINK' : (need(/^[^\n\r]+$/.test(p), 'bad password'), `LINK:${p}`)),
  info: () => 'INFO',
  users: () => 'USERS',
  rooms: () => 'ROOMS',
  chats: () => 'CHATS',
  ping: () => 'PING',
  // 1.2: moderation (docs/PROTOCOL.md, "Moderation (1.2)").
  topic(room, plain) {
    need(isRoom(room), 'bad room');
    const text = escapeText(plain);
    need(!text || !textProblem(text), textProblem(text));
    need(new TextEncoder().encode(text).length <= MAX_TOPIC, `a topic is at most ${MAX_TOPIC} bytes`);
    return `TOPIC:${room}:${text}`;
  },
  mode: (room, mode) => (need(isRoom(room) && MODES.includes(mode), 'bad room or mode'), `MODE:${room}:${mode}`),
  invite: (room, user) => onUser('INVITE', room, user),
  kick: (room, user) => onUser('KICK', room, user),
  unban: (room, user) => onUser('UNBAN', room, user),
  unmute: (room, user) => onUser('UNMUTE', room, user),
  op: (room, user) => onUser('OP', room, user),
  deop: (room, user) => onUser('DEOP', room, user),
  ban: (room, user, minutes) => `${onUser('BAN', room, user)}:${wholeMinutes(minutes, 0)}`,
  mute: (room, user, minutes) => `${onUser('MUTE', room, user)}:${wholeMinutes(minutes, 1)}`,
  roominfo: (room) => (need(isRoom(room), 'bad room'), `ROOMINFO:${room}`),
  // 1.2: blocks, notification levels and pins, kept by the server for all my devices.
  block: (user) => (need(isBlockable(user), 'bad user'), `BLOCK:${user}`),
  unblock: (user) => (need(isBlockable(user), 'bad user'), `UNBLOCK:${user}`),
  blocks: () => 'BLOCKS',
  notify: (chat, level) => (need(isChat(chat) && LEVELS.includes(level), 'bad chat or level'), `NOTIFY:${chat}:${level}`),
  pin: (chat, on) => (need(isChat(chat), 'bad chat'), `${on ? 'PIN' : 'UNPIN'}:${chat}`),
  prefs: () => 'PREFS',
  // 1.2 (§23): archived chats, kept by the server for all my devices.
  archive: (chat, on) => (need(isChat(chat), 'bad chat'), `${on ? 'ARCHIVE' : 'UNARCHIVE'}:${chat}`),
  archived: () => 'ARCHIVED',
  // 1.2 (§29): a chat marked unread, a chat deleted for me, on all my devices.
  mark: (chat, on) => (need(isChat(chat), 'bad chat'), `${on ? 'MARK' : 'UNMARK'}:${chat}`),
  marked: () => 'MARKED',
  hide: (chat) => (need(isChat(chat), 'bad chat'), `HIDE:${chat}`),
  hidden: () => 'HIDDEN',
  // 1.2 (§25): starred messages, kept by the server for all my devices.
  star: (chat, from, id, on) => (need(isChat(chat) && isUser(from) && isId(id), 'bad chat, from or id'), `${on ? 'STAR' : 'UNSTAR'}:${chat}:${from}:${id}`),
  starred: () => 'STARRED',
  // 1.2 (§31): who has my room message, and when.
  receipts: (room, id) => (need(isRoom(room) && isId(id), 'bad room or id'), `RECEIPTS:${room}:${id}`),
  // 1.2 (§30): profiles and privacy, kept by the server for all my devices.
  name: (text) => (need([...text].length <= 64 && !/[\u0000-\u001f\u007f]/.test(text), 'bad display name'), `NAME:${text}`),
  photo: (file) => (need(file === null || FILE_ID.test(file), 'bad file id'), `PHOTO:${file ?? ''}`),
  profiles: () => 'PROFILES',
  photoOf: (user) => (need(isUser(user), 'bad user name'), `PHOTOOF:${user}`),
  privacy: (key, on) => (key ? (need(['lastseen', 'receipts'].includes(key), 'bad privacy'), `PRIVACY:${key}:${on ? 'on' : 'off'}`) : 'PRIVACY'),
  quit: () => 'QUIT',
  // 1.2 (§21): files in chats.
  upload(name, size, sha256) {
    need(isFileName(name), 'bad file name');
    need(Number.isSafeInteger(size) && size > 0 && /^[0-9a-f]{64}$/.test(sha256), 'bad size or sha256');
    return `UPLOAD:${name}:${size}:${sha256}`;
  },
  part: (fileId, offset, base64) => (need(FILE_ID.test(fileId), 'bad file id'), `PART:${fileId}:${offset}:${base64}`),
  file(to, id, fileId, caption) {
    need(isChat(to) && isId(id) && FILE_ID.test(fileId), 'bad chat, id or file id');
    return `FILE:${to}:${id}:${fileId}:${caption ? sendable(caption) : ''}`;
  },
  fetch: (what, offset) => (need(FETCHED.test(what), 'bad file id'), `FETCH:${what}:${offset}`),
  fileOf: (chat, from, id) => (need(isChat(chat) && isUser(from) && isId(id), 'bad chat, from or id'), `FILEOF:${chat}:${from}:${id}`),
  /**
   * 1.2 (§24): a call's signal to `peer`: `{offer: {media, sdp}}`,
   * `{answer: sdp}`, `{ice: candidate JSON}`, `{decline: true}` or
   * `{hangup: true}`. An SDP travels escaped on one line, without its `\r`.
   */
  call(peer, id, signal) {
    need(isUser(peer) && isId(id), 'bad peer or call id');
    const text = (s) => escapeText(s.replace(/\r\n/g, '\n'));
    if (signal.offer) return `CALL:${peer}:${id}:OFFER:${signal.offer.media === 'video' ? 'video' : 'voice'}:${text(signal.offer.sdp)}`;
    if (signal.answer) return `CALL:${peer}:${id}:ANSWER:${text(signal.answer)}`;
    if (signal.ice) return `CALL:${peer}:${id}:ICE:${text(signal.ice)}`;
    return `CALL:${peer}:${id}:${signal.decline ? 'DECLINE' : 'HANGUP'}`;
  },
  /** 1.2 (§24): the TURN server's credentials for a call with `peer` (no peer: the call I am in), `OK` alone if there is none. */
  turn(peer) {
    if (peer === undefined) return 'TURN';
    need(isUser(peer), 'bad user name');
    return `TURN:${peer}`;
  },
  /**
   * 1.2 (§32): a room's call: `{start: media}`, `{join: id}`, `{decline:
   * id}`, `{leave: id}`, or a signal to one member in it, `{id, to,
   * offer: sdp}` (`answer`, `ice` alike), escaped as a call's (§24).
   */
  groupCall(room, action) {
    need(isRoom(room), 'bad room');
    if (action.start) return `GROUPCALL:${room}:START:${action.start === 'video' ? 'video' : 'voice'}`;
    for (const word of ['join', 'decline', 'leave']) {
      if (action[word] === undefined) continue;
      need(isId(action[word]), 'bad call id');
      return `GROUPCALL:${room}:${word.toUpperCase()}:${action[word]}`;
    }
    need(isId(action.id) && isUser(action.to), 'bad call id or member');
    const word = ['offer', 'answer', 'ice'].find((w) => typeof action[w] === 'string');
    need(word, 'no signal');
    return `GROUPCALL:${room}:${word.toUpperCase()}:${action.id}:${action.to}:${escapeText(action[word].replace(/\r\n/g, '\n'))}`;
  },
  groupCalls: () => 'GROUPCALLS',
  /** 1.2 (§28): Web Push: the server's key, this browser's subscription (or none), the previews setting. */
  pushKey: () => 'PUSHKEY',
  push: (p256dh, auth, endpoint) => (need(/^[A-Za-z0-9_-]+$/.test(p256dh) && /^[A-Za-z0-9_-]+$/.test(auth)
    && /^https:\/\/[\x21-\x7e]+$/.test(endpoint), 'bad subscription'), `PUSH:${p256dh}:${auth}:${endpoint}`),
  pushOff: () => 'PUSH:OFF',
  previews: (on) => `PREVIEWS:${on ? 'ON' : 'OFF'}`,
  // Receive port.
  ack: (seq) => `ACK:${seq}`,
  pong: () => 'PONG',
  version: (v) => `VERSION:${v}`,
};

/** The longest topic, escaped (1.2). */
export const MAX_TOPIC = 512;
/** The longest mute or ban in minutes (1.2): ten years. */
export const MAX_MINUTES = 10 * 366 * 24 * 60;
const MODES = ['+announce', '-announce', '+invite', '-invite'];

/** A text typed by the user, escaped and checked for the wire. */
function sendable(plain) {
  const text = escapeText(plain);
  const problem = textProblem(text);
  need(!problem, problem);
  return text;
}

function onUser(word, room, user) {
  need(isRoom(room) && isUser(user), 'bad room or user');
  return `${word}:${room}:${user}`;
}

function wholeMinutes(minutes, least) {
  need(Number.isInteger(minutes) && minutes >= least && minutes <= MAX_MINUTES, 'bad minutes');
  return String(minutes);
}

/** Requests whose `OK:<n>` is followed by n lines: `Request::lists`'s, as tests/protocol/listings.rs checks. */
export const LISTINGS = ['USERS', 'ROOMS', 'CHATS', 'HISTORY', 'MEMBERS', 'ROOMINFO', 'RECEIPTS', 'DEVICES', 'INFO', 'SEARCH', 'BLOCKS', 'PREFS', 'ARCHIVED', 'STARRED', 'PEOPLE', 'MARKED', 'HIDDEN', 'PROFILES', 'FILES', 'GROUPCALLS'];

/** A chat's notification levels (1.2): every message, mentions only, none. */
export const LEVELS = ['all', 'mentions', 'none'];

/** A PREFS line or a PREF event's fields, `<chat>:<level>:<pinned|unpinned>` (1.2), as `{chat, level, pinned}`, or null. */
export function parsePrefLine(line) {
  const f = fields(line, 3);
  if (!f || !isChat(f[0]) || !LEVELS.includes(f[1]) || !['pinned', 'unpinned'].includes(f[2])) return null;
  return { chat: f[0], level: f[1], pinned: f[2] === 'pinned' };
}

/**
 * A room's notice (§18): a change of its rules, which the server writes
 * in the room's text with an id `mod-…`, as `* <who did it> …`.
 * (A client may choose such an id too: the text must then name its
 * sender, so a notice never speaks for someone else.)
 */
export const isNotice = (msg) => isRoom(msg.to) && msg.id.startsWith('mod-') && msg.text.startsWith(`* ${msg.from} `);

const INVITATION = new RegExp(`^\\* (${USER}) invites you to (#${USER}): join it with JOIN:\\2$`);
/**
 * The room a direct message invites me to, or null: the notice the
 * server writes for an `INVITE` (§18), `* <by> invites you to <#room>:
 * join it with JOIN:<#room>`, with an id `mod-…`, from <by> itself. Its
 * frame is version 1's, so an older client reads the same words; like a
 * room's notice, anyone could type one, and it then invites in its
 * sender's name only (a JOIN is refused where no admin invited).
 */
export function invitation(msg) {
  const found = !isRoom(msg.to) && msg.id.startsWith('mod-') && INVITATION.exec(msg.text);
  return found && fold(found[1]) === fold(msg.from) ? found[2] : null;
}
export const isListing = (line) => LISTINGS.includes(line.split(':', 1)[0]);

/**
 * A reply: `{ok: true, value}` (value: what follows `OK:`, '' for `OK`),
 * or `{ok: false, code, reason}`; null if the line is not a reply.
 */
export function parseReply(line) {
  if (line === 'OK') return { ok: true, value: '' };
  if (line.startsWith('OK:')) return { ok: true, value: line.slice(3) };
  if (line.startsWith('KO:')) {
    const f = fields(line.slice(3), 2);
    if (!f || !/^[A-Z_]+$/.test(f[0])) return null;
    return { ok: false, code: f[0], reason: f[1] };
  }
  return null;
}

/** 1.2 (§24): the most bytes of an SDP and of an ICE candidate, escaped (protocol/call.rs). */
export const MAX_SDP = 12 * 1024;
export const MAX_CANDIDATE = 1024;

/** A call's escaped text (an SDP, a candidate) unescaped, or null if it is not one (its own limit, not a message's). */
function callText(escaped, limit) {
  if (!escaped || new TextEncoder().encode(escaped).length > limit || /[\u0000-\u001f\u007f]/.test(escaped)) return null;
  if (escaped.replace(/\\[\\n]/g, '').includes('\\')) return null;
  return unescaped(escaped);
}

/** 1.2 (§32): a GROUPCALLS line, `{room, id, by, media, since, members}`, or null. */
export function parseGroupCallLine(line) {
  const f = fields(line, 6);
  if (!f || !isRoom(f[0]) || !isId(f[1]) || !isUser(f[2]) || !['voice', 'video'].includes(f[3]) || !DIGITS.test(f[4])) return null;
  const members = f[5].split(',').filter(Boolean);
  return members.every(isUser) ? { room: f[0], id: f[1], by: f[2], media: f[3], since: Number(f[4]), members } : null;
}

/** 1.2 (§24): `TURN`'s `OK:<expiry>:<user>:<password>:<url>`, or null (`OK` alone: no TURN server). */
export function parseTurn(value) {
  const f = fields(value, 4);
  if (!f || !DIGITS.test(f[0]) || !isName(f[1]) || !/^turns?:/.test(f[3])) return null;
  return { username: `${f[0]}:${f[1]}`, credential: f[2], urls: f[3] };
}

/** Codes after which the server closes the connection (protocol §2). */
export const CLOSING = ['AUTH_REQUIRED', 'AUTH_FAILED', 'TOO_LONG', 'BUSY', 'TIMEOUT'];

/** The n of a listing's `OK:<n>`, or null. */
export function listingCount(reply) {
  const head = reply && reply.ok && /^([0-9]{1,20})(:[0-9]{0,20})?$/.exec(reply.value); // 1.2: a page's `<n>:<cursor>`
  return head ? Number(head[1]) : null;
}

/** `OK:<id>:<ts>`, a MSG's reply: `{id, ts}` or null. */
export function parseMsgOk(value) {
  const f = fields(value, 2);
  return f && isId(f[0]) && DIGITS.test(f[1]) ? { id: f[0], ts: Number(f[1]) } : null;
}

/** FILEOF's `OK:<file id>:<size>:<type>:<name>` (1.2), checked as the FILE event: `{id, size, type, name}` or null. */
export function parseFileOf(value) {
  const f = fields(value, 4);
  return f && FILE_ID.test(f[0]) && DIGITS.test(f[1]) && isFileName(f[3]) ? { id: f[0], size: Number(f[1]), type: f[2], name: f[3] } : null;
}

/** A HISTORY line `<from>:<to>:<id>:<ts>:<state>:<text>`, or null. */
export function parseHistoryLine(line) {
  const f = fields(line, 6);
  if (!f || !isUser(f[0]) || !isChat(f[1]) || !isId(f[2]) || !DIGITS.test(f[3])) return null;
  if (!STATES.includes(f[4]) || textProblem(f[5])) return null;
  return { from: f[0], to: f[1], id: f[2], ts: Number(f[3]), state: f[4], text: unescapeText(f[5]) };
}

/** RECEIPTS' lines (1.2, §31): `{to, read, delivered, large}`, each read or delivered `{user, ts}` (ts null: not known). */
export function parseReceipts(lines) {
  const got = { to: 0, read: [], delivered: [], large: null };
  for (const [word, a, b = '', ...more] of lines.map((l) => l.split(':'))) {
    if (more.length) continue;
    if (word === 'TO' && DIGITS.test(a)) got.to = +a;
    else if ((word === 'READ' || word === 'DELIVERED') && isUser(a) && /^\d{0,20}$/.test(b)) got[word.toLowerCase()].push({ user: a, ts: b ? +b : null });
    else if (word === 'LARGE' && DIGITS.test(a) && DIGITS.test(b)) got.large = { members: +a, most: +b };
  }
  return got;
}

/** A CHATS line `<peer or #room>:<unread>`, or null. */
export function parseChatsLine(line) {
  const f = fields(line, 2);
  return f && isChat(f[0]) && DIGITS.test(f[1]) ? { chat: f[0], unread: Number(f[1]) } : null;
}

/** An INFO line `<key>=<value>` (1.2), or null. */
export function parseInfoLine(line) {
  const at = line.indexOf('=');
  if (at < 1) return null;
  const key = line.slice(0, at);
  const value = line.slice(at + 1);
  // eslint-disable-next-line no-control-regex
  return /^[a-z0-9_]{1,32}$/.test(key) && !/[\u0000-\u001f\u007f-\u009f]/.test(value) ? { key, value } : null;
}

/** A ROOMS line `<#room>:<members>`, or null. */
export function parseRoomsLine(line) {
  const f = fields(line, 2);
  return f && isRoom(f[0]) && DIGITS.test(f[1]) ? { room: f[0], members: Number(f[1]) } : null;
}

/** `<user>:<ONLINE|ts|UNKNOWN>` (MEMBERS lines, LASTSEEN's OK), or null. */
export function parseSeen(line) {
  const f = fields(line, 2);
  if (!f || !isUser(f[0])) return null;
  if (f[1] === 'ONLINE' || f[1] === 'UNKNOWN') return { user: f[0], seen: f[1] };
  return DIGITS.test(f[1]) ? { user: f[0], seen: Number(f[1]) } : null;
}

/** A DEVICES line `<device>:<ONLINE|ts|UNKNOWN>:<address>` (1.2), or null. */
export function parseDeviceLine(line) {
  const f = fields(line, 3);
  if (!f || !isName(f[0]) || !f[2]) return null;
  if (f[1] === 'ONLINE' || f[1] === 'UNKNOWN') return { device: f[0], seen: f[1], address: f[2] };
  return DIGITS.test(f[1]) ? { device: f[0], seen: Number(f[1]), address: f[2] } : null;
}

/**
 * The lines of a ROOMINFO reply (1.2) as `{room, owner, admins, announce,
 * invite, topic, role, muted, banned}` (times in ms, 0: until lifted;
 * null: not muted or banned); lines it does not know are passed over.
 */
export function parseRoomInfo(lines) {
  const info = { room: null, owner: null, admins: [], announce: false, invite: false, topic: '', role: 'NONE', muted: null, banned: null };
  for (const line of lines) {
    const f = fields(line, 2);
    if (!f) continue;
    const [word, value] = f;
    if (word === 'ROOM' && isRoom(value)) info.room = value;
    else if (word === 'OWNER' && isUser(value)) info.owner = value;
    else if (word === 'ADMIN' && isUser(value)) info.admins.push(value);
    else if (word === 'MODE' && value === '+announce') info.announce = true;
    else if (word === 'MODE' && value === '+invite') info.invite = true;
    else if (word === 'TOPIC' && !textProblem(value)) info.topic = unescapeText(value);
    else if (word === 'ROLE' && /^[A-Z_]+$/.test(value)) info.role = value;
    else if ((word === 'MUTED' || word === 'BANNED') && DIGITS.test(value)) info[word.toLowerCase()] = Number(value);
  }
  return info;
}

/** The moderation events of 1.2: `<WORD>:<#room>:<by>:…`. */
export const MODERATION = ['TOPIC', 'MODE', 'INVITED', 'KICKED', 'BANNED', 'UNBANNED', 'MUTED', 'UNMUTED', 'OPPED', 'DEOPPED'];

/** A moderation event as `{kind, room, by, user?, until?, topic?, mode?}`, or null. */
function parseModeration(kind, line) {
  const timed = kind === 'BANNED' || kind === 'MUTED';
  const f = fields(line, timed ? 5 : 4);
  if (!f || !isRoom(f[1]) || !isUser(f[2])) return null;
  const event = { kind, room: f[1], by: f[2] };
  if (kind === 'TOPIC') {
    if (f[3] && textProblem(f[3])) return null;
    return { ...event, topic: f[3] ? unescapeText(f[3]) : '' };
  }
  if (kind === 'MODE') return MODES.includes(f[3]) ? { ...event, mode: f[3] } : null;
  if (!isUser(f[3])) return null;
  if (timed) return DIGITS.test(f[4]) ? { ...event, user: f[3], until: Number(f[4]) } : null;
  return { ...event, user: f[3] };
}

/**
 * An event of the receive port as an object `{kind, …}`; null for a
 * line this client does not understand (which it ignores, as §6 says).
 * A `seq` stays a string of digits: it may pass 2^53, where a JavaScript
 * number would round it, and the ACK must name it exactly.
 */
export function parseEvent(line) {
  const kind = line.split(':', 1)[0];
  switch (kind) {
    case 'MSG': {
      const f = fields(line, 7);
      if (!f || !DIGITS.test(f[1]) || !isUser(f[2]) || !isChat(f[3]) || !isId(f[4])) return null;
      if (!DIGITS.test(f[5]) || textProblem(f[6])) return null;
      const [, seq, from, to, id, ts, text] = f;
      return { kind, seq, from, to, id, ts: Number(ts), text: unescapeText(text) };
    }
    case 'FILE': {
      // 1.2 (§21): a MSG carrying a file, what to show and fetch before its text.
      const f = fields(line, 11);
      if (!f || !DIGITS.test(f[1]) || !isUser(f[2]) || !isChat(f[3]) || !isId(f[4]) || !DIGITS.test(f[5])) return null;
      if (!FILE_ID.test(f[6]) || !DIGITS.test(f[7]) || !isFileName(f[9]) || textProblem(f[10])) return null;
      const [, seq, from, to, id, ts, fileId, size, type, name, text] = f;
      const file = { id: fileId, size: Number(size), type, name };
      return { kind: 'MSG', seq, from, to, id, ts: Number(ts), text: unescapeText(text), file };
    }
    case 'STATUS': {
      const f = fields(line, 6);
      // 1.2 (§31): a room's too.
      if (!f || !DIGITS.test(f[1]) || !isChat(f[2]) || !isId(f[3])) return null;
      if (!['DELIVERED', 'READ'].includes(f[4]) || !DIGITS.test(f[5])) return null;
      return { kind, seq: f[1], peer: f[2], id: f[3], state: f[4], ts: Number(f[5]) };
    }
    case 'READMARK': {
      // 1.2: another of my devices read `chat` up to the message `id`.
      const f = fields(line, 5);
      if (!f || !DIGITS.test(f[1]) || !isChat(f[2]) || !isId(f[3]) || !DIGITS.test(f[4])) return null;
      return { kind, seq: f[1], chat: f[2], id: f[3], ts: Number(f[4]) };
    }
    case 'JOINED':
    case 'LEFT':
    case 'BLOCKED': // 1.2: I blocked `user`, on this device or another; 1.3: or a whole server, `@lab2`
    case 'UNBLOCKED': {
      // 1.3 (§27): a user of another server, `LEFT:bob@lab2`, as a local one.
      const user = line.slice(kind.length + 1);
      const named = kind.endsWith('BLOCKED') ? isBlockable(user) : isUser(user);
      return line[kind.length] === ':' && named ? { kind, user } : null;
    }
    case 'MEMBER': {
      const f = fields(line, 4);
      if (!f || !isRoom(f[1]) || !isUser(f[2]) || !['JOINED', 'LEFT'].includes(f[3])) return null;
      return { kind, room: f[1], user: f[2], change: f[3] };
    }
    case 'TYPING': {
      const f = fields(line, 3);
      return f && isUser(f[1]) && isChat(f[2]) ? { kind, from: f[1], to: f[2] } : null;
    }
    case 'P2P': {
      const f = fields(line, 3);
      return f && isUser(f[1]) ? { kind, from: f[1], token: f[2] } : null;
    }
    case 'TOPIC':
    case 'MODE':
    case 'INVITED':
    case 'KICKED':
    case 'BANNED':
    case 'UNBANNED':
    case 'MUTED':
    case 'UNMUTED':
    case 'OPPED':
    case 'DEOPPED':
      return parseModeration(kind, line);
    case 'PREF': {
      // 1.2: a chat's level or pin changed, on this device or another.
      const pref = parsePrefLine(line.slice(5));
      return line[4] === ':' && pref ? { kind, ...pref } : null;
    }
    case 'ARCHIVE': {
      // 1.2 (§23): a chat archived or taken out, on this device or another.
      const f = fields(line, 3);
      return f && isChat(f[1]) && ['archived', 'unarchived'].includes(f[2]) ? { kind, chat: f[1], archived: f[2] === 'archived' } : null;
    }
    case 'MARK': {
      // 1.2 (§29): a chat marked unread or no more, on this device or another.
      const f = fields(line, 3);
      return f && isChat(f[1]) && ['marked', 'unmarked'].includes(f[2]) ? { kind, chat: f[1], marked: f[2] === 'marked' } : null;
    }
    case 'HIDE': {
      // 1.2 (§29): a chat deleted for me, up to its time, on this device or another.
      const f = fields(line, 3);
      return f && isChat(f[1]) && /^\d{1,16}$/.test(f[2]) ? { kind, chat: f[1], ts: Number(f[2]) } : null;
    }
    case 'STAR': {
      // 1.2 (§25): a message starred or no more, on this device or another.
      const f = fields(line, 5);
      return f && isChat(f[1]) && isUser(f[2]) && isId(f[3]) && ['starred', 'unstarred'].includes(f[4])
        ? { kind, chat: f[1], from: f[2], id: f[3], starred: f[4] === 'starred' } : null;
    }
    case 'CALL': {
      // 1.2 (§24): a call's signal; an SDP gets its `\r\n` back.
      const f = fields(line, 5);
      // (1.3: the caller may be a user of another server, `ana@lab1`.)
      if (!f || !isUser(f[1]) || !isId(f[2])) return null;
      const [, from, id, what, rest] = f;
      const sdp = (escaped) => { const plain = callText(escaped, MAX_SDP); return plain && plain.replace(/\r?\n/g, '\r\n'); };
      switch (what) {
        case 'OFFER': {
          const g = fields(rest, 2);
          const offer = g && ['voice', 'video'].includes(g[0]) && sdp(g[1]);
          return offer ? { kind, from, id, what, media: g[0], sdp: offer } : null;
        }
        case 'ANSWER': {
          const answer = sdp(rest);
          return answer ? { kind, from, id, what, sdp: answer } : null;
        }
        case 'ICE': {
          const candidate = callText(rest, MAX_CANDIDATE);
          return candidate ? { kind, from, id, what, candidate } : null;
        }
        case 'END':
          return ['declined', 'hangup', 'missed', 'gone', 'busy'].includes(rest) ? { kind, from, id, what, why: rest } : null;
        default:
          return null;
      }
    }
    case 'GROUPCALL': {
      // 1.2 (§32): a room's call; a signal's SDP gets its `\r\n` back.
      const f = fields(line, 4);
      if (!f || !isRoom(f[1])) return null;
      const [, room, what, rest] = f;
      const g = fields(rest, 3);
      switch (what) {
        case 'RING':
        case 'START':
          return g && isId(g[0]) && isUser(g[1]) && ['voice', 'video'].includes(g[2]) ? { kind, room, what, id: g[0], from: g[1], media: g[2] } : null;
        case 'JOINED':
        case 'LEFT': {
          const h = fields(rest, 2);
          return h && isId(h[0]) && isUser(h[1]) ? { kind, room, what, id: h[0], user: h[1] } : null;
        }
        case 'STOP': {
          const h = fields(rest, 2);
          return h && isId(h[0]) && ['declined', 'missed'].includes(h[1]) ? { kind, room, what, id: h[0], why: h[1] } : null;
        }
        case 'END':
          return isId(rest) ? { kind, room, what, id: rest } : null;
        case 'OFFER':
        case 'ANSWER':
        case 'ICE': {
          if (!g || !isId(g[0]) || !isUser(g[1])) return null;
          const text = callText(g[2], what === 'ICE' ? MAX_CANDIDATE : MAX_SDP);
          if (!text) return null;
          return { kind, room, what, id: g[0], from: g[1], text: what === 'ICE' ? text : text.replace(/\r?\n/g, '\r\n') };
        }
        default:
          return null;
      }
    }
    case 'PROFILE': {
      // 1.2 (§30): someone who shares a chat with me (or I) changed a name or photo; 1.3: one of another server.
      const f = fields(line, 4);
      return f && isUser(f[1]) && /^([0-9a-f]{16})?$/.test(f[2]) ? { kind, user: f[1], tag: f[2], name: f[3] } : null;
    }
    case 'PRIVACY': {
      // 1.2 (§30): my privacy, changed on this device or another.
      const m = /^PRIVACY:lastseen:(on|off):receipts:(on|off)$/.exec(line);
      return m ? { kind, privacy: { lastseen: m[1] === 'on', receipts: m[2] === 'on' } } : null;
    }
    case 'PING':
      return line === 'PING' ? { kind } : null;
    case 'BYE': {
      const reason = line.slice(4);
      return line[3] === ':' && /^[A-Z_]+$/.test(reason) ? { kind, reason } : null;
    }
    default:
      return null;
  }
}

// The ids of messages, one grammar (protocol/action.rs, protocol/link.rs).
// A client chooses its own messages' ids (`m1`, this app's `w…`); the
// server makes two kinds itself, which no client and no peer server may
// send (`action::check_sent_id`, `check_peer_id`):
//
//   _<e|d|r|u|x><stamp, ms base 36>_<id>   1.2 (§19): an action on the message <id>,
//                                          a MSG of its author (`_x`: a room admin's delete)
//   _x<stamp, ms decimal>_failed           1.3 (§27): a bounce, the readable message
//                                          that says one of mine was not delivered
//
// The two forms overlap (`_x17_failed` is both), so the text decides, as
// the server writes each: a bounce reads `⚠ not delivered: <reason> (your
// message <id>)` or `⚠ not joined: <reason>`, an admin's delete `(message
// from <author> deleted)`. `readId` is the one reader; everything else
// asks it.

/** The reactions the menu offers first; 1.2 takes any one emoji (isReaction). */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];
/** An emoji as the server's rule reads one (§19, protocol::action::is_reaction). */
const EMOJI = /^(?:\p{Extended_Pictographic}[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\u200D\uFE0F\u{E0020}-\u{E007F}]*|\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3)$/u;
let graphemes = null;
/**
 * Whether `text` is a reaction (1.2, §19): one character as shown (an
 * extended grapheme cluster) of at most 32 bytes that is an emoji. The
 * server checks it; this reads the same rule so that the browser sends
 * only what it would take and draws no other word as a reaction.
 */
export function isReaction(text) {
  if (typeof text !== 'string' || !text || text.endsWith('\u200D') || !EMOJI.test(text)) return false;
  if (new TextEncoder().encode(text).length > 32) return false;
  graphemes ??= new Intl.Segmenter();
  return [...graphemes.segment(text)].length === 1;
}
export const DELETED = '(message deleted)';
/** Most bytes of a SEARCH's words, and of the id an action names. */
const MAX_QUERY = 200;
const MAX_TARGET = 52;
const isTarget = (id) => isId(id) && id.length <= MAX_TARGET;
const ACTS = { e: 'edit', d: 'delete', r: 'react', u: 'unreact', x: 'remove' };
const ACTION_ID = /^_([edrux])([0-9A-Za-z]+)_(.+)$/;
const BOUNCE_ID = /^_x[0-9]+_failed$/;
const NOT_DELIVERED = /^⚠ not delivered: (.*) \(your message ([A-Za-z0-9_-]{1,64})\)$/;
const NOT_JOINED = '⚠ not joined: ';
const REMOVED = new RegExp(`^\\(message from (${USER}) deleted\\)$`);
/** A quote's author: a user of this server, or (1.3) of another, `bob@lab2`. */
const QUOTE = new RegExp(`^> (${USER}): ([^\\n]*)\\n`);

/**
 * What a message's id (and text) says, as `{kind, …}`:
 * - `{kind: 'message'}`: an ordinary message;
 * - `{kind: 'action', action}`: an action, `{act, stamp, target}` and
 *   `text` (edit), `emoji` (react, unreact) or `author` (remove); `act`
 *   null if its text is no action's (hidden all the same);
 * - `{kind: 'bounce', id, reason}`: my message `id` was not delivered;
 *   `{kind: 'bounce', join: true, reason}`: my JOIN of a room of another
 *   server was refused (protocol::link::ReadBounce).
 */
export function readId(id, text) {
  if (BOUNCE_ID.test(id)) {
    if (text.startsWith(NOT_JOINED)) return { kind: 'bounce', join: true, reason: text.slice(NOT_JOINED.length) };
    const bounce = NOT_DELIVERED.exec(text);
    if (bounce) return { kind: 'bounce', id: bounce[2], reason: bounce[1] };
  }
  const m = ACTION_ID.exec(id);
  if (!m) return { kind: 'message' };
  const action = { act: ACTS[m[1]], stamp: parseInt(m[2], 36), target: m[3] };
  const none = { kind: 'action', action: { act: null, target: m[3] } };
  switch (action.act) {
    case 'edit':
      return text.startsWith('✎ ') && text.length > 2 ? { kind: 'action', action: { ...action, text: text.slice(2) } } : none;
    case 'react':
    case 'unreact': {
      const emoji = text.split(' ', 1)[0];
      return isReaction(emoji) ? { kind: 'action', action: { ...action, emoji } } : none;
    }
    case 'remove': {
      const author = REMOVED.exec(text);
      return author ? { kind: 'action', action: { ...action, author: author[1] } } : none;
    }
    default:
      return { kind: 'action', action };
  }
}

/** A MSG's action (`readId`'s `action`), or null if it is none (an ordinary message, a bounce). */
export function parseAction(id, text) {
  const read = readId(id, text);
  return read.kind === 'action' ? read.action : null;
}

/** The start of a text, as a quote shows it: its first line, at most 40 characters, `…` if cut. */
export function snippet(plain) {
  const first = plain.split('\n', 1)[0];
  const cut = Array.from(first).slice(0, 40).join('');
  return cut.length < plain.length ? `${cut}…` : cut;
}

/** A reply's first line, as the server writes it: `> ana: the start of her text`. */
export const quoteLine = (author, plain) => `> ${author}: ${snippet(plain)}`;

/** A reply's text as `{author, quoted, body}`, or null for a text that quotes nothing. */
export function parseQuote(plain) {
  const m = QUOTE.exec(plain);
  return m ? { author: m[1], quoted: m[2], body: plain.slice(m[0].length) } : null;
}
