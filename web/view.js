// view.js: what the app draws. Text from the network is always set with
// `textContent` (never as HTML), so a message such as
// `<img src=x onerror=…>` shows as those characters; control characters
// are made visible as the terminal clients do (`^[`).

import { addStrings, t, lang } from './i18n.js';
import { DELETED, isNotice, invitation, fold, relayedBy, ownWords, parseQuote, snippet } from './wire.js';
import { reactionsOn, replyQuote } from './fates.js';

const $ = (id) => document.getElementById(id);

addStrings({
  en: { emptyRoom: 'No messages in {room} yet. What is written here goes to every member; others join by its name, {room}, or by an invitation (Details).', emptyChat: 'No messages with {who} yet: say hello.', noAnswer: '{what} did not answer within {s} s' },
  es: { emptyRoom: 'Aún no hay mensajes en {room}. Lo que se escribe aquí llega a todos sus miembros; otros se unen por su nombre, {room}, o por invitación (Detalles).', emptyChat: 'Aún no hay mensajes con {who}: salúdalo.', noAnswer: '{what} no respondió en {s} s' },
  pt: { emptyRoom: 'Ainda não há mensagens em {room}. O que se escreve aqui chega a todos os membros; outros entram pelo nome, {room}, ou por convite (Detalhes).', emptyChat: 'Ainda não há mensagens com {who}: diga olá.', noAnswer: '{what} não respondeu em {s} s' },
});

/** An element with a class and, optionally, a text (as text). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A telephone's receiver, as the header's call button draws it: a call's line, the call screen (call.js). */
export const PHONE = ['path', { d: 'M5 4h3.5l1.5 4-2 1.5a11 11 0 0 0 6.5 6.5l1.5-2 4 1.5V19a1.5 1.5 0 0 1-1.5 1.5A15.5 15.5 0 0 1 3.5 5.5 1.5 1.5 0 0 1 5 4z' }];

/**
 * A line icon on a 24×24 grid (app.css's `.ico` strokes it in the
 * text's colour, so it has the contrast of the text beside it, in both
 * schemes): `shapes` are `[tag, {attribute: value}]`.
 */
export function icon(...shapes) {
  const svg = document.createElementNS(SVG, 'svg');
  const set = (node, attributes) => { for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v); };
  set(svg, { class: 'ico', viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' });
  for (const [tag, attributes] of shapes) {
    const shape = document.createElementNS(SVG, tag);
    set(shape, attributes);
    svg.append(shape);
  }
  return svg;
}

/**
 * Invisible characters that reorder or hide text: the list of
 * `protocol::escape::is_format` (the bidirectional controls, zero-width
 * spaces, the byte-order mark, line and paragraph separators, Unicode's
 * other format characters but the joiners emoji need).
 */
const FORMAT_CHARS = new RegExp('[\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u180E\\u200B\\u200E\\u200F'
  + '\\u2028-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\uFEFF\\uFFF9-\\uFFFB\\u{110BD}\\u{110CD}\\u{13430}-\\u{1343F}'
  + '\\u{1BCA0}-\\u{1BCA3}\\u{1D173}-\\u{1D17A}\\u{E0001}]', 'gu');

/**
 * Control characters shown, not obeyed (as `display::visible` does): ESC
 * as `^[`; and the invisible characters that reorder or hide text (a
 * U+202E reverses the rest of a line, a U+200B makes `b<U+200B>ob` look like
 * `bob`) by their code, `<U+202E>`, as the consoles show them: no name passes for another.
 */
export function visible(text) {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
      c === '\u007f' ? '^?' : `^${String.fromCharCode(c.charCodeAt(0) + 64)}`)
    .replace(FORMAT_CHARS, (c) => `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
}

const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
const date = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', year: 'numeric' });

function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function dayLabel(ts) {
  const today = new Date();
  if (dayKey(ts) === dayKey(today.getTime())) return t('today');
  if (dayKey(ts) === dayKey(today.getTime() - 86400000)) return t('yesterday');
  return date.format(new Date(ts));
}

export function shortTime(ts) {
  if (!ts) return '';
  return dayKey(ts) === dayKey(Date.now()) ? time.format(new Date(ts)) : date.format(new Date(ts));
}

/** A "last seen" for a member or a peer: ONLINE, UNKNOWN or a time. */
export function seenText(seen) {
  if (seen === 'ONLINE') return t('online');
  if (seen === 'UNKNOWN' || seen === null || seen === undefined) return t('never');
  return t('lastSeen', { t: `${dayLabel(seen)} ${time.format(new Date(seen))}` });
}

/** A name's initials (`ana` → `A`, `#lab-2` → `L2`, `bob.smith` → `BS`). */
function initials(name) {
  const parts = name.replace(/^#/, '').split(/[._-]+/).filter(Boolean);
  return (parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || '?')[0]).toUpperCase();
}

/** A hue that is always the same for a name (a hash of it): its avatar's, and its colour in a room. */
function hue(name) {
  let hash = 0;
  for (const c of fold(name)) hash = (hash * 31 + c.codePointAt(0)) % 360;
  return hash;
}

/**
 * 1.2 (§30): what profiles.js knows of people, lent once it is loaded: a
 * photo's URL and a display name by account name; `shown(name)`, the name
 * as drawn: the display name with the account's, so that two people who
 * chose one name are told apart.
 */
export const faces = {
  photo: () => null,
  name: () => '',
  shown: (name) => (faces.name(name) ? `${faces.name(name)} (${name})` : name),
};

/**
 * One's own place in the list's header: one's face and the name others see
 * (the display name, else the account), the account and this device in
 * its title and in the Profile button's name. Drawn at the login, and by
 * profiles.js when the profile is known or changes.
 */
export function drawMe(me, device) {
  const node = $('me');
  node.replaceChildren(avatar(me), el('span', 'me-name', faces.name(me) || me));
  node.title = `${faces.shown(me)} · ${device}`;
  $('profile-button').setAttribute('aria-label', `${t('profile')}, ${node.title}`);
}

/** The open chat's face in its header: the person's photo (or the room's initials), as the list shows it. */
export function drawChatFace(chat) {
  $('chat-face').replaceChildren(...(chat ? [avatar(chat.name)] : []));
}

/**
 * `promise`, or an Error saying that `what` (words for the user) did not
 * answer within `ms`: every wait of the app for something outside the
 * browser's page (a push service, the camera, the server) has a limit,
 * and says what happened when it is reached. `late` gets what comes after
 * the limit (a subscription to take back).
 */
export function within(promise, ms, what, late = () => {}) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => {
      promise.then(late, () => {});
      reject(new Error(t('noAnswer', { what, s: Math.round(ms / 1000) })));
    }, ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** An avatar: the person's photo, else the initials on the name's colour. */
export function avatar(name) {
  const photo = faces.photo(name);
  const node = el('span', 'avatar');
  // The initials are drawn (app.css), not text: a control that shows a face names itself by its words alone.
  if (!photo) node.dataset.initials = initials(name);
  node.setAttribute('aria-hidden', 'true');
  // Dark enough for its white initials at 4.5:1 whatever the hue (yellow's is the lightest); CSSOM, which the CSP allows.
  node.style.background = `hsl(${hue(name)}, 45%, 32%)`;
  if (photo) node.append(Object.assign(el('img'), { src: photo, alt: '' }));
  return node;
}

/**
 * A message's text as WhatsApp shows it: `*bold*`, `_italic_`,
 * `~strike~`, `` `code` `` and links, built as DOM nodes whose text is
 * set as text: never HTML from the wire. A marker counts only at a word's
 * edge (`2*3*4` stays as typed); a code span's inside is not formatted
 * again; a link is only http(s), opened apart (`noopener noreferrer`); a
 * bare `www.<host>` at a word's edge is one to `https://www.<host>`.
 */
const RICH = /(?:https?:\/\/|www\.(?=[^\s./]+\.[^\s.]))[^\s]*[^\s.,;:!?'")\]]|([*_~`])(?=\S)([^\n]*?\S)\1/gu;
const TAGS = { '*': 'strong', _: 'em', '~': 's', '`': 'code' };
const EDGE_BEFORE = /[\s([{"'¿¡]/u;
const EDGE_AFTER = /[\s.,;:!?)\]}"']/u;
export function rich(text) {
  const out = document.createDocumentFragment();
  let at = 0;
  RICH.lastIndex = 0;
  for (let m = RICH.exec(text); m; m = RICH.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    const bare = m[0].startsWith('www.');
    const edge = start === 0 || EDGE_BEFORE.test(text[start - 1]);
    if ((bare && !edge) || (m[1] && (!edge || (end < text.length && !EDGE_AFTER.test(text[end]))))) {
      RICH.lastIndex = start + 1; // not at a word's edge: as typed
      continue;
    }
    out.append(text.slice(at, start));
    if (m[1]) {
      const node = el(TAGS[m[1]]);
      node.append(m[1] === '`' ? m[2] : rich(m[2]));
      out.append(node);
      RICH.lastIndex = end;
    } else {
      const a = el('a', '', m[0]);
      a.href = bare ? `https://${m[0]}` : m[0];
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      // A host not in ASCII shows its punycode until links.js finds it is no look-alike.
      const host = bare ? m[0].split(/[/?#]/)[0] : m[0].split(/[/?#]/)[2];
      if (/[^\x21-\x7e]/.test(host)) {
        a.textContent = m[0].replace(host, a.host);
        import('./links.js').then((links) => links.check(a, m[0], host));
      }
      out.append(a);
    }
    at = end;
  }
  out.append(text.slice(at));
  return out;
}

/** What marks a forwarded message's text (or a file's caption), as every client reads it (docs/PROTOCOL.md §21). */
export const FORWARDED = '↪ ';

/** Longest voice message (protocol::files::MAX_VOICE_SECONDS): 5 minutes. */
export const MAX_VOICE_SECONDS = 300;
const VOICE = /^📎 voice-(0|[1-9][0-9]{0,2})s\.(webm|ogg|m4a) \([^)]*\)(?: ([\s\S]*))?$/u;

/**
 * A message's readable text as a voice message, `{seconds, ext,
 * caption}`, or null: the rule of `protocol::files::voice` (both pass
 * the cases of tests/data/voice.txt).
 */
export function voice(text) {
  const m = VOICE.exec(text);
  if (!m || Number(m[1]) > MAX_VOICE_SECONDS) return null;
  return { seconds: Number(m[1]), ext: m[2], caption: m[3] ?? '' };
}

/** `0:12`: a length as the player shows it (protocol::files::clock). */
export const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s) % 60).padStart(2, '0')}`;

/**
 * A file message's readable text, `📎 <name> (<size>) <caption>` (§21):
 * its name and caption; also as a reply's quote cuts it (`📎 <name> (24…`).
 */
const FILE_TEXT = /^📎 (.+?)(?: \([0-9.]+ (?:B|KB|MB)\)(?: ([\s\S]*))?| \([^)]*)?$/u;
/** Names of the images a server may show (the types it decodes), for a file known by its text only. */
const PHOTO_NAME = /\.(png|jpe?g|gif|webp)$/i;

/**
 * What a list, a quote, the starred view and a notification show of a
 * message's text: a photo, a voice message or a file in words ("📷 the
 * board", "🎤 Voice message (0:03)", "📎 lab3.pdf"), an invitation as
 * its sentence, the formatting marks and the forwarded mark left out,
 * control characters made visible. `msg` (optional) is the message
 * itself, whose file type, if known, says whether it is a photo.
 */
export function preview(text, msg = null) {
  // A post its room's home relayed (1.3): its author's words, as its bubble shows them, never the marker.
  const relayed = msg && relayedBy(msg.from ?? '', msg.to ?? '', text);
  if (relayed) text = parseQuote(relayed.words)?.body ?? relayed.words;
  const room = msg && invitation(msg);
  if (room) return t('youInvited', { by: msg.from, room });
  const sound = voice(text);
  if (sound) return `🎤 ${t('voiceMessage', { t: clock(sound.seconds) })}`;
  const file = FILE_TEXT.exec(text);
  let plain = file ? file[2] ?? '' : text;
  if (plain.startsWith(FORWARDED)) plain = plain.slice(FORWARDED.length);
  plain = rich(visible(plain)).textContent;
  if (!file) return plain;
  const photo = msg?.file ? msg.file.type.startsWith('image/') : PHOTO_NAME.test(file[1]);
  return photo ? `📷 ${plain || t('photo')}` : `📎 ${visible(file[1])}`;
}

const TICKS = { SENT: '…', RECEIVED: '✓', DELIVERED: '✓✓', READ: '✓✓' };

/** The chat list: newest activity first, badge, last message, online dot; the archived chats apart (archive.js). */
export function renderList(model, openKey, onOpen) {
  const list = $('chat-list');
  const focused = document.activeElement && document.activeElement.dataset.chat;
  list.replaceChildren();
  // The archived chats' view closes once none is left (unarchived here or on another device).
  if (model.showArchived && ![...model.chats.values()].some((c) => c.archived)) model.showArchived = false;
  for (const chat of model.ordered().filter((c) => !c.archived === !model.showArchived)) {
    const key = fold(chat.name);
    const item = el('li');
    const button = el('button');
    button.type = 'button';
    button.dataset.chat = key;
    button.setAttribute('aria-current', String(key === openKey));
    const online = !chat.room && model.online.has(key);
    const face = avatar(chat.name);
    if (!chat.room) {
      const dot = el('span', online ? 'dot on' : 'dot');
      dot.setAttribute('aria-label', online ? t('online') : t('offline'));
      face.removeAttribute('aria-hidden');
      face.append(dot);
    }
    const name = el('span', 'chat-name', chat.room ? chat.name : faces.shown(chat.name));
    name.classList.toggle('pinned', Boolean(chat.pinned));
    name.classList.toggle('silent', chat.level === 'none');
    button.append(face, name, el('span', 'chat-time', shortTime(chat.last && chat.last.ts)));
    const shown = chat.last && (chat.last.deleted ? t('deleted') : preview(replyQuote(chat, chat.last, model.server)?.body ?? chat.last.text, chat.last));
    const last = chat.last ? `${chat.last.mine ? `${t('you')}: ` : chat.room ? `${faces.shown(chat.last.from)}: ` : ''}${shown}`
      : chat.room && chat.memberCount ? t('memberCount', { n: chat.memberCount }) : t('noMessages');
    const line = el('span', 'chat-last', last.slice(0, 200));
    line.dir = 'auto';
    // What was typed here and not sent (chats.js's Drafts), as WhatsApp says it.
    const draft = key !== openKey && model.drafts?.get(chat.name);
    if (draft) line.replaceChildren(el('span', 'draft', `${t('draft')}: `), visible(draft).slice(0, 200));
    button.append(line);
    const badges = el('span', 'badges');
    if (chat.mentions > 0) {
      const badge = el('span', 'badge mentions', `@${chat.mentions}`);
      badge.setAttribute('aria-label', t('mentioned', { n: chat.mentions }));
      badges.append(badge);
    }
    if (chat.unread > 0) {
      const badge = el('span', chat.level === 'none' ? 'badge unread muted' : 'badge unread', String(chat.unread));
      badge.setAttribute('aria-label', t('unread', { n: chat.unread }));
      badges.append(badge);
    }
    button.append(badges);
    button.addEventListener('click', () => onOpen(chat.name));
    item.append(button);
    list.append(item);
    if (focused === key) button.focus();
  }
}

/** The open conversation: messages with their ticks, date lines, the unread divider. */
export class Conversation {
  constructor() {
    this.list = $('messages');
    this.elements = new Map(); // message → its <li>
    this.chat = null;
    this.server = null; // 1.3: this server's name in a class network (refresh.js), for quotes
    this.newer = 0;
    // Whether the view keeps to the newest message while what is shown
    // grows (a photo loaded, a card drawn, the composer grown): from the
    // time it is at the end until the reader scrolls up.
    this.stick = false;
    this.lastTop = 0;
    this.sizes = new ResizeObserver(() => { if (this.stick) this.list.scrollTop = this.list.scrollHeight; });
    this.list.addEventListener('scroll', () => {
      const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
      if (this.newer && atEnd) this.unseen(0);
      // Up is the reader's (the browser's scroll anchoring only moves down, as photos above load).
      if (atEnd) this.stick = true;
      else if (this.list.scrollTop < this.lastTop - 2) this.stick = false;
      this.lastTop = this.list.scrollTop;
      // A message's menu moved with the messages: the banner keeps off it.
      if (this.list.querySelector('.menu')) clearBanner();
    });
    $('jump').addEventListener('click', () => this.toNewest());
  }

  /** Draws `chat` from scratch; the divider goes before its last `unread` messages from others. */
  open(chat, unread) {
    this.chat = chat;
    this.unseen(0);
    this.elements.clear();
    this.sizes.disconnect();
    this.sizes.observe(this.list);
    this.list.replaceChildren();
    this.lastDay = null;
    const others = chat.messages.filter((m) => !m.mine);
    const firstUnread = unread > 0 ? others[Math.max(0, others.length - unread)] : null;
    for (const msg of chat.messages) this.append(msg, false, msg === firstUnread);
    // A chat with nothing yet (a room just made): what it is for, not an empty pane.
    if (!chat.messages.length) this.list.append(el('li', 'chat-start', chat.room ? t('emptyRoom', { room: chat.name }) : t('emptyChat', { who: chat.name })));
    const divider = this.list.querySelector('.unread-line');
    if (divider) divider.scrollIntoView({ block: 'start' });
    else this.list.scrollTop = this.list.scrollHeight;
    this.stick = !divider;
    this.lastTop = this.list.scrollTop;
  }

  /** Adds a message at the end (scrolling along if the reader was at the bottom), after the unread divider if asked. */
  append(msg, follow = true, divider = false) {
    this.list.querySelector(':scope > .chat-start')?.remove();
    // Read only when it follows: a layout forced at each of a chat's messages drawn at its opening is quadratic (1,000 unread).
    const atBottom = follow && this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const day = msg.ts ? dayKey(msg.ts) : dayKey(Date.now());
    if (day !== this.lastDay) {
      this.list.append(el('li', 'day', dayLabel(msg.ts || Date.now())));
      this.lastDay = day;
    }
    if (divider) this.list.append(el('li', 'unread-line', t('unreadLine')));
    this.list.append(this.element(msg));
    if (follow && (atBottom || msg.mine)) this.list.scrollTop = this.list.scrollHeight;
    else if (follow) this.unseen(this.newer + 1); // scrolled up: "↓ (n)" says what came
  }

  /** The "jump to newest ↓ (n)" button: `n` messages arrived below what is shown; 0 hides it. */
  unseen(n) {
    this.newer = n;
    const jump = $('jump');
    jump.hidden = n === 0;
    jump.textContent = `↓ ${n}`;
    jump.setAttribute('aria-label', t('jumpNewest', { n }));
  }

  /** Scrolls to the newest message. */
  toNewest() {
    this.stick = true;
    this.list.scrollTop = this.list.scrollHeight;
    this.unseen(0);
  }

  /** Older messages, put above the ones shown, keeping the view where it was. */
  prepend(older) {
    const before = this.list.scrollHeight;
    const first = this.list.firstChild;
    let lastDay = null;
    for (const msg of older) {
      const day = dayKey(msg.ts);
      if (day !== lastDay) {
        this.list.insertBefore(el('li', 'day', dayLabel(msg.ts)), first);
        lastDay = day;
      }
      this.list.insertBefore(this.element(msg), first);
    }
    // The first day line shown before may now repeat the day above it.
    if (first && first.classList.contains('day') && lastDay && first.textContent === dayLabel(older[older.length - 1].ts)) {
      first.remove();
    }
    this.list.scrollTop += this.list.scrollHeight - before;
  }

  element(msg) {
    const item = el('li', isNotice(msg) ? 'notice' : isCallLine(msg) ? 'notice call-log' : msg.mine ? 'msg mine' : 'msg');
    item.dataset.id = msg.id;
    this.elements.set(msg, item);
    this.sizes.observe(item);
    this.fill(item, msg);
    return item;
  }

  /** Draws a message again in place (an edit, a deletion, a reaction: protocol 1.2). */
  redraw(msg) {
    const item = this.elements.get(msg);
    if (item) this.fill(item, msg);
  }

  /** A bubble's insides: who, the quote of a reply, the text, reactions, time and tick. */
  fill(item, msg) {
    // A menu open on the bubble (actions.js) stays open through a redraw (a tick, a reaction), with its focus.
    const menu = item.querySelector(':scope > .menu');
    const focused = menu?.contains(document.activeElement) ? document.activeElement : null;
    item.replaceChildren();
    if (isNotice(msg)) {
      // A change of the room's rules (§18): a line of the room, not a bubble, no actions.
      item.textContent = visible(msg.text.slice(2));
      return;
    }
    if (isCallLine(msg)) {
      // 1.2 (§24): said from this side by calllog.js, loaded at the first. Until
      // then its icon alone (drawn: a computer without an emoji font has no 📞):
      // the stored words are the callee's ("Missed voice call").
      // A tap calls the other back, the same way (session.js's `onCall`).
      const again = el('button', 'call-again');
      again.type = 'button';
      const text = el('span', 'text');
      again.append(icon(PHONE), ' ', text, ' ', el('span', 'time', shortTime(msg.ts)));
      item.append(again);
      callLogs ||= import('./calllog.js');
      callLogs.then((m) => {
        text.textContent = m.said(msg, this.me);
        text.dataset.said = '';
        const media = m.media(msg);
        again.setAttribute('aria-label', t('callBack', { said: text.textContent, who: this.chat ? faces.shown(this.chat.name) : '' }));
        again.onclick = () => media && this.onCall?.(media);
      }, () => { text.textContent = visible(msg.text.replace(/^📞 /u, '')); });
      return;
    }
    item.classList.toggle('mention', Boolean(msg.mention));
    item.classList.toggle('deleted', Boolean(msg.deleted));
    if (this.chat && this.chat.room && !msg.mine) {
      // Each sender's name in its own colour (its avatar's hue; app.css sets the lightness for the contrast).
      // By the display name with the account (§30), as the list and the header say people; profiles.js redraws it.
      const from = el('div', 'from', faces.shown(msg.from));
      from.dataset.from = msg.from;
      from.style.setProperty('--hue', hue(msg.from));
      // 1.3: a post only the room's home vouches for says so by its author.
      const relayed = !msg.deleted && relayedBy(msg.from, this.chat.name, msg.text);
      if (relayed) from.append(' ', el('span', 'relayed', t('relayedBy', { home: relayed.home })));
      item.append(from);
    }
    // A quote only of a message that is there (fates.js): never a text's look.
    const quote = msg.deleted ? null : replyQuote(this.chat, msg, this.server);
    if (quote) {
      const deleted = quote.quoted === DELETED;
      const said = el('div', 'quote', `${faces.shown(quote.author)}: ${deleted ? t('deleted') : preview(quote.quoted)}`);
      said.dir = 'auto';
      item.append(said);
    }
    // An invitation to a room (§18): its sentence, and Join (or Open, once in it).
    const room = !msg.deleted && invitation(msg);
    if (room) {
      item.append(el('div', 'text', t('youInvited', { by: msg.from, room })));
      const go = el('button', 'join', t(this.isIn?.(room) ? 'openRoom' : 'join', { room }));
      go.type = 'button';
      go.addEventListener('click', () => this.onJoin?.(room));
      item.append(go);
    }
    let body = msg.deleted ? t('deleted') : visible(quote ? quote.body : msg.text);
    const relayed = this.chat && !msg.deleted && !quote && relayedBy(msg.from, this.chat.name, body);
    if (relayed) body = relayed.words;
    if (!msg.deleted && body.startsWith(FORWARDED)) {
      item.append(el('div', 'forwarded', t('forwarded')));
      body = body.slice(FORWARDED.length);
    }
    const text = el('div', 'text');
    text.dir = 'auto'; // a right-to-left message reads right to left
    text.append(msg.deleted ? body : rich(body));
    if (!room) item.append(text);
    // Over 20 lines (the consoles' cut) or 700 characters: folded to 20 lines (app.css), Read more unfolds it.
    if (!room && !msg.deleted && !msg.unfolded && (body.length > 700 || body.split('\n', 21).length > 20)) {
      text.classList.add('folded');
      const more = el('button', 'read-more secondary small', t('readMore'));
      more.type = 'button';
      more.onclick = () => this.fill(item, Object.assign(msg, { unfolded: true }));
      item.append(more);
      // Shown, it may fit after all (a laptop's wide bubble): then nothing is folded.
      requestAnimationFrame(() => text.scrollHeight <= text.clientHeight && (text.classList.remove('folded'), more.remove()));
    }
    const reactions = this.chat ? reactionsOn(this.chat, msg, this.me) : [];
    if (reactions.length) {
      const row = el('div', 'reactions');
      for (const r of reactions) row.append(el('span', r.mine ? 'reaction mine' : 'reaction', `${r.emoji} ${r.n}`));
      item.append(row);
    }
    const meta = el('div', 'meta');
    if (msg.edited) meta.append(el('span', 'edited', t('edited')), ' ');
    meta.append(el('span', 'time', shortTime(msg.ts)));
    if (msg.mine) meta.append(' ', el('span', 'tick'));
    // 1.2 (§25): a starred message's ★, once starred.js is loaded (its hook).
    if (this.starred?.(this.chat, msg)) meta.prepend(Object.assign(el('span', 'star', '★ '), { title: t('starredMark') }));
    item.append(meta);
    // Why the server refused it, in words: a phone shows no tooltip.
    if (msg.failed) item.append(el('div', 'why', failedWords(msg)));
    if (this.onMore && !msg.deleted && !msg.failed && msg.state !== 'SENT') {
      // Actions (1.2) on a message the server has: session.js loads actions.js at the first tap.
      const more = el('button', 'more secondary', '⋯');
      more.type = 'button';
      // Each ⋯ says whose message and which (a screen reader lists them all), the words cut as a quote's.
      const said = { who: faces.shown(msg.from), time: shortTime(msg.ts), what: snippet(preview(parseQuote(msg.text)?.body ?? msg.text, msg)) };
      more.setAttribute('aria-label', t(msg.mine ? 'actionsOnMine' : 'actionsOn', said));
      more.addEventListener('click', () => this.onMore(item, msg));
      item.append(more);
      if (menu) item.append(menu);
      focused?.focus();
    }
    this.tick(msg);
    // 1.2 (§21): a file's image or card (a `📎 ` one from HISTORY, a relayed one's too, is asked FILEOF); session.js loads files.js for it.
    if ((msg.file || ownWords(msg).startsWith('📎 ')) && !msg.deleted && this.onFile) this.onFile(item, msg);
  }

  /** Changes a message's tick in place. */
  tick(msg) {
    const item = this.elements.get(msg);
    if (!item || !msg.mine || isNotice(msg) || isCallLine(msg)) return;
    const tick = item.querySelector('.tick');
    const state = msg.failed ? 'FAILED' : msg.state;
    tick.className = `tick ${state}`;
    tick.textContent = msg.failed ? '!' : TICKS[msg.state];
    tick.dataset.state = state;
    const label = msg.failed ? failedWords(msg) : t(msg.state.toLowerCase());
    tick.setAttribute('aria-label', label);
    tick.title = label;
    item.classList.toggle('failed', Boolean(msg.failed));
    item.querySelector('.time').textContent = shortTime(msg.ts);
  }
}

/** 1.2 (§24): a call's line, stored by the server (`call-…`); in a room, its call's (§32). */
const isCallLine = (msg) => !msg.deleted && msg.id.startsWith('call-') && msg.text.startsWith('📞 ');
let callLogs = null;

/** The members of a room, with online or last seen, owner and admins marked; roomadmin.js adds an admin's actions beside each. */
export function renderMembers(members, info) {
  const same = (a, b) => fold(a) === fold(b || '');
  $('members').replaceChildren(...members.map((m) => {
    const item = el('li');
    item.append(avatar(m.user), el('span', 'who', `${faces.shown(m.user)} · ${seenText(m.seen)}`));
    // Who runs the room, marked beside the name (ROOMINFO's OWNER and ADMIN lines).
    const role = info && (same(m.user, info.owner) ? 'owner' : info.admins.some((a) => same(a, m.user)) ? 'admin' : '');
    if (role) item.append(el('span', `role ${role}`, t(role)));
    return item;
  }));
}

/**
 * Puts the banner over the foot of what is shown: the open conversation,
 * or the chat list (a phone's), or the page; never over a message's menu
 * that is open (actions.js), whose buttons it would hide and whose taps
 * it would take: then just above the menu, or below it if there is no room.
 */
function placeBanner(box) {
  const chat = $('messages');
  const over = chat.checkVisibility() ? chat : $('chat-list').checkVisibility() ? $('chat-list') : document.body;
  const area = over.getBoundingClientRect();
  box.style.left = `${area.left + area.width / 2}px`;
  box.style.maxWidth = `${Math.max(area.width - 16, 200)}px`;
  box.style.bottom = `${Math.max(innerHeight - area.bottom, 0) + 8}px`;
  const menu = chat.querySelector('.menu')?.getBoundingClientRect();
  const placed = box.getBoundingClientRect();
  if (!menu || placed.bottom <= menu.top || placed.top >= menu.bottom) return;
  const above = menu.top - 8 - placed.height >= area.top;
  box.style.bottom = `${above ? innerHeight - menu.top + 8 : innerHeight - menu.bottom - 8 - placed.height}px`;
}

/** A message's menu just opened (actions.js): a banner shown moves off it. */
export function clearBanner() {
  const box = $('banner');
  if (!box.hidden) placeBanner(box);
}

/** How long a banner stays: news, and a refusal (it waits while pointed at or focused). */
const NEWS_MS = 4000;
const REFUSAL_MS = 7000;

/**
 * A banner: `text` (`info`: news, in blue; else a refusal, in an error's
 * colour), with a button that does `action.run` if given, and ✕. It
 * goes by itself, and stays while the pointer or the focus is on it. It
 * sits over the foot of the open conversation, above its composer (or
 * the foot of the list), never over a header: the navigation stays
 * where it is.
 */
export function banner(text, info = false, action = null) {
  const box = $('banner');
  $('banner-text').textContent = text;
  box.classList.toggle('info', info);
  let act = $('banner-action');
  if (action && !act) {
    act = el('button', 'small');
    act.type = 'button';
    act.id = 'banner-action';
    $('banner-close').before(act);
  }
  if (act) {
    act.hidden = !action;
    act.textContent = action?.label ?? '';
    act.onclick = () => {
      box.hidden = true;
      action?.run();
    };
  }
  box.hidden = false;
  // Placed again when what it sits over changes (a chat opened or closed,
  // a photo's caption bar above the composer): a ResizeObserver says so.
  if (!banner.watching) {
    banner.watching = new ResizeObserver(() => { if (!box.hidden) placeBanner(box); });
    for (const id of ['messages', 'chat-list']) banner.watching.observe($(id));
  }
  placeBanner(box);
  clearTimeout(banner.timer);
  const hide = () => {
    if (box.matches(':hover, :focus-within')) banner.timer = setTimeout(hide, 1000);
    else box.hidden = true;
  };
  banner.timer = setTimeout(hide, info ? NEWS_MS : REFUSAL_MS);
}

/** A KO (or an Error) in words, for `banner`. */
export function refusal(reply) {
  return t('refused', { reason: reply.reason || reply.code || reply.message || '' });
}

/** Why a message failed, in words: refused by this server (`failed`), or (1.3) bounced by another (`bounced`). */
const failedWords = (msg) => t(msg.bounced ? 'bounced' : 'failed', { reason: msg.failed });

/** A line under the open conversation, where "… is typing" shows: an action that failed says so there. */
export function say(text) {
  $('typing').textContent = text;
}
