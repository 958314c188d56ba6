// wire.js: the wachat protocol as data, in the browser.
//
// The only file of the app that formats or parses a frame: the requests
// it sends on /ws/send, the replies it gets there, and the events of
// /ws/receive. Each WebSocket text message is one protocol line, exactly
// as `nc` shows it (docs/PROTOCOL.md). Its cases are the Rust grammar's
// (src/protocol/), and tests/web.rs runs them here, in the browser.

/** Longest text in bytes, after unescaping (protocol §1). */
export const MAX_TEXT = 4096;

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DIGITS = /^[0-9]{1,20}$/;
const STATES = ['RECEIVED', 'DELIVERED', 'READ'];

export const isName = (s) => NAME.test(s);
export const isRoom = (s) => s.length > 1 && s[0] === '#' && NAME.test(s.slice(1));
export const isChat = (s) => isName(s) || isRoom(s);
export const isId = (s) => ID.test(s);

/** The key of a user or room: names are unique ignoring case. */
export const fold = (s) => s.toLowerCase();

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
  return escaped.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
}

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
  register(user, email, secret) {
    need(isName(user), 'bad user name');
    need(!/[:\n\r]/.test(email), 'bad email');
    need(secret.length > 0 && !/[\n\r]/.test(secret), 'bad password');
    return `REGISTER:${user}:${email}:${secret}`;
  },
  msg(to, id, plain) {
    need(isChat(to) && isId(id), 'bad recipient or id');
    const text = escapeText(plain);
    const problem = textProblem(text);
    need(!problem, problem);
    return `MSG:${to}:${id}:${text}`;
  },
  read(chat, id) {
    need(isChat(chat) && isId(id), 'bad chat or id');
    return `READ:${chat}:${id}`;
  },
  history(chat, limit) {
    need(isChat(chat), 'bad chat');
    return `HISTORY:${chat}:${Math.max(0, Math.floor(limit))}`;
  },
  join: (room) => (need(isRoom(room), 'bad room'), `JOIN:${room}`),
  leave: (room) => (need(isRoom(room), 'bad room'), `LEAVE:${room}`),
  members: (room) => (need(isRoom(room), 'bad room'), `MEMBERS:${room}`),
  lastseen: (user) => (need(isName(user), 'bad user'), `LASTSEEN:${user}`),
  typing: (to) => (need(isChat(to), 'bad chat'), `TYPING:${to}`),
  info: () => 'INFO',
  users: () => 'USERS',
  rooms: () => 'ROOMS',
  chats: () => 'CHATS',
  ping: () => 'PING',
  // Receive port.
  ack: (seq) => `ACK:${seq}`,
  pong: () => 'PONG',
  version: (v) => `VERSION:${v}`,
};

/** Requests whose `OK:<n>` is followed by n lines. */
export const LISTINGS = ['USERS', 'ROOMS', 'CHATS', 'HISTORY', 'MEMBERS', 'INFO'];
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

/** Codes after which the server closes the connection (protocol §2). */
export const CLOSING = ['AUTH_REQUIRED', 'AUTH_FAILED', 'TOO_LONG', 'BUSY', 'TIMEOUT'];

/** The n of a listing's `OK:<n>`, or null. */
export function listingCount(reply) {
  return reply && reply.ok && DIGITS.test(reply.value) ? Number(reply.value) : null;
}

/** `OK:<id>:<ts>`, a MSG's reply: `{id, ts}` or null. */
export function parseMsgOk(value) {
  const f = fields(value, 2);
  return f && isId(f[0]) && DIGITS.test(f[1]) ? { id: f[0], ts: Number(f[1]) } : null;
}

/** A HISTORY line `<from>:<to>:<id>:<ts>:<state>:<text>`, or null. */
export function parseHistoryLine(line) {
  const f = fields(line, 6);
  if (!f || !isName(f[0]) || !isChat(f[1]) || !isId(f[2]) || !DIGITS.test(f[3])) return null;
  if (!STATES.includes(f[4]) || textProblem(f[5])) return null;
  return { from: f[0], to: f[1], id: f[2], ts: Number(f[3]), state: f[4], text: unescapeText(f[5]) };
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
  if (!f || !isName(f[0])) return null;
  if (f[1] === 'ONLINE' || f[1] === 'UNKNOWN') return { user: f[0], seen: f[1] };
  return DIGITS.test(f[1]) ? { user: f[0], seen: Number(f[1]) } : null;
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
      if (!f || !DIGITS.test(f[1]) || !isName(f[2]) || !isChat(f[3]) || !isId(f[4])) return null;
      if (!DIGITS.test(f[5]) || textProblem(f[6])) return null;
      const [, seq, from, to, id, ts, text] = f;
      return { kind, seq, from, to, id, ts: Number(ts), text: unescapeText(text) };
    }
    case 'STATUS': {
      const f = fields(line, 6);
      if (!f || !DIGITS.test(f[1]) || !isName(f[2]) || !isId(f[3])) return null;
      if (!['DELIVERED', 'READ'].includes(f[4]) || !DIGITS.test(f[5])) return null;
      return { kind, seq: f[1], peer: f[2], id: f[3], state: f[4], ts: Number(f[5]) };
    }
    case 'JOINED':
    case 'LEFT': {
      const user = line.slice(kind.length + 1);
      return line[kind.length] === ':' && isName(user) ? { kind, user } : null;
    }
    case 'MEMBER': {
      const f = fields(line, 4);
      if (!f || !isRoom(f[1]) || !isName(f[2]) || !['JOINED', 'LEFT'].includes(f[3])) return null;
      return { kind, room: f[1], user: f[2], change: f[3] };
    }
    case 'TYPING': {
      const f = fields(line, 3);
      return f && isName(f[1]) && isChat(f[2]) ? { kind, from: f[1], to: f[2] } : null;
    }
    case 'P2P': {
      const f = fields(line, 3);
      return f && isName(f[1]) ? { kind, from: f[1], token: f[2] } : null;
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
