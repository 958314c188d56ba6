// files.js: photos, files and voice messages in chats (protocol 1.2,
// docs/PROTOCOL.md §21), loaded after login, never on the first load.
// Everything goes over the logged-in device's own send WebSocket
// (`UPLOAD`, `PART`, `FILE`, `FETCH`, `FILEOF`): no URL that anyone who
// has it could open. A message loaded from HISTORY (whose lines are
// version 1's) that reads `📎 …` is asked about with FILEOF when it is
// drawn, once; if it carries no file its text stays text. Bytes are read
// and sent a part (12,000 bytes) at a time.
//
// A file sent is queued as a text is (sending.js's outbox, chats.js): its
// message shows at once with `…`, its bytes wait in this browser
// (IndexedDB) while the server cannot be reached, across a reload, and
// it is sent once back, under the message id it was given when it was
// queued: the server answers a `FILE` sent again with its first `OK`, so
// it arrives once. A cut upload goes on where the server's bytes end.
// What the server refuses is said in the user's words, never a code.
//
// What the server names and types is hostile text: names are set as text,
// and an image is shown only for the four types the server decoded
// itself (never SVG or HTML), from a blob: URL of the bytes fetched.

import { request, parseFileOf, parseInfoLine, sizeWords, fileText, ownWords } from './wire.js';
import { newId } from './chats.js';
import { el, visible, rich, icon, shortTime, banner, FORWARDED } from './view.js';
import { draw } from './chatlist.js';
import { t, addStrings } from './i18n.js';

addStrings({
  en: {
    recordVoice: 'Record a voice message', attach: 'Attach a file', caption: 'Add a caption', sendFile: 'Send', download: 'Download {name}', sending: 'Sending {name}…', photoOf: 'Photo: {name}',
    tooBig: 'This file is too big: the limit is {limit}', emptyFile: 'This file is empty', badName: 'This file\'s name cannot be sent: rename it and try again',
    quotaFull: 'Your space on this server is full ({quota}): delete some messages or files first', tooManyUploads: 'Too many files are on their way: wait until some are sent',
    serverFull: 'The server has no room for files now: try again later', fileGone: 'This file is no longer on the server', notKept: 'This browser did not keep the file: send it again',
  },
  es: {
    recordVoice: 'Grabar un mensaje de voz', attach: 'Adjuntar un archivo', caption: 'Añade un texto', sendFile: 'Enviar', download: 'Descargar {name}', sending: 'Enviando {name}…', photoOf: 'Foto: {name}',
    tooBig: 'Este archivo es demasiado grande: el límite es {limit}', emptyFile: 'Este archivo está vacío', badName: 'El nombre de este archivo no se puede enviar: cámbialo e inténtalo otra vez',
    quotaFull: 'Tu espacio en este servidor está lleno ({quota}): borra antes algunos mensajes o archivos', tooManyUploads: 'Hay demasiados archivos en camino: espera a que se envíen algunos',
    serverFull: 'El servidor no tiene sitio para archivos ahora: inténtalo más tarde', fileGone: 'Este archivo ya no está en el servidor', notKept: 'Este navegador no guardó el archivo: envíalo otra vez',
  },
  pt: {
    recordVoice: 'Gravar uma mensagem de voz', attach: 'Anexar um arquivo', caption: 'Adicione uma legenda', sendFile: 'Enviar', download: 'Baixar {name}', sending: 'Enviando {name}…', photoOf: 'Foto: {name}',
    tooBig: 'Este arquivo é grande demais: o limite é {limit}', emptyFile: 'Este arquivo está vazio', badName: 'O nome deste arquivo não pode ser enviado: renomeie-o e tente de novo',
    quotaFull: 'Seu espaço neste servidor está cheio ({quota}): apague antes algumas mensagens ou arquivos', tooManyUploads: 'Há arquivos demais a caminho: espere alguns serem enviados',
    serverFull: 'O servidor está sem espaço para arquivos agora: tente mais tarde', fileGone: 'Este arquivo não está mais no servidor', notKept: 'Este navegador não guardou o arquivo: envie-o de novo',
  },
});

const PART = 12000;
/**
 * Parts sent before their replies are awaited: 64 (768,000 bytes), the
 * console's figure (src/client/files.rs `WINDOW`; a test holds the two
 * together). A cluster node answers a part once its commit is done, so
 * each window ends waiting for a commit: 8 parts (96 KB) a window made
 * an upload through a node wait for one commit per 96 KB. A node commits
 * up to 1 MiB of parts at once; one server goes as fast with either.
 */
const WINDOW = 64;
const IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const $ = (id) => document.getElementById(id);

/** `245 KB`, as the server writes sizes (wire.js's, kept here for the callers of this module). */
export { sizeWords };

function b64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// SHA-256, fed a piece at a time (SubtleCrypto would need the whole file).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
  constructor() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.block = new Uint8Array(64);
    this.used = 0;
    this.length = 0;
    this.w = new Uint32Array(64);
  }

  /** Adds `bytes`: whole blocks straight from them, only a block's start or end through `block`. */
  update(bytes) {
    this.length += bytes.length;
    let at = 0;
    if (this.used) {
      at = Math.min(64 - this.used, bytes.length);
      this.block.set(bytes.subarray(0, at), this.used);
      this.used += at;
      if (this.used < 64) return;
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; at + 64 <= bytes.length; at += 64) this.compress(bytes, at);
    this.block.set(bytes.subarray(at), 0);
    this.used = bytes.length - at;
  }

  /** One round of the 64 bytes of `bytes` from `at`. */
  compress(bytes, at) {
    const { w, h } = this;
    for (let i = 0; i < 16; i++) {
      const j = at + 4 * i;
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  }

  hex() {
    const bits = this.length * 8;
    const tail = new Uint8Array((this.used < 56 ? 64 : 128) - this.used);
    tail[0] = 0x80;
    new DataView(tail.buffer).setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    new DataView(tail.buffer).setUint32(tail.length - 4, bits >>> 0);
    this.update(tail);
    return [...this.h].map((v) => v.toString(16).padStart(8, '0')).join('');
  }
}

async function slice(file, offset, length = PART) {
  return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
}

/** A wait after `KO:RATE_LIMITED` (the server's --rate), before going on. */
const pause = () => new Promise((resolve) => { setTimeout(resolve, 250); });

/**
 * A refusal of a file request, in the user's words: what it means for
 * them, never its code or the server's flag (`--max-file-mb`, which is
 * an operator's). A reason the app has no words for is shown as the
 * server wrote it, its flag left out.
 */
export function fileWords(reply) {
  const reason = reply?.reason || '';
  const sizeIn = (words) => /([0-9.]+ (?:B|KB|MB|GB|MiB|GiB))/.exec(words)?.[1];
  switch (reply?.code) {
    case 'TOO_LONG':
      return t('tooBig', { limit: sizeIn(reason) ?? `${largest ?? ''}` });
    case 'FULL':
      if (/quota/.test(reason)) return t('quotaFull', { quota: /quota of ([0-9.]+ \w+)/.exec(reason)?.[1] ?? sizeIn(reason) ?? '' });
      if (/uploads/.test(reason)) return t('tooManyUploads');
      if (/disk/.test(reason)) return t('serverFull');
      break;
    case 'UNKNOWN_FILE':
      return t('fileGone');
    case 'BAD_REQUEST':
      if (/name/.test(reason)) return t('badName');
      break;
    default:
  }
  const said = reason.replace(/ ?\(--[a-z-]+\)/g, '').split('; ')[0] || reply?.code || 'no reply';
  return said[0].toUpperCase() + said.slice(1);
}

/** The largest file this server takes, in words (INFO's `max_file_bytes`, 1.2), once asked; null: not said. */
let largest = null;
/** …and in bytes, as a promise (asked once a session). */
let largestBytes = null;

function limitOf(link) {
  largestBytes ||= link.request(request.info()).then(({ reply, lines }) => {
    const said = reply.ok ? lines.map(parseInfoLine).find((l) => l?.key === 'max_file_bytes') : null;
    const bytes = said && /^[0-9]{1,15}$/.test(said.value) ? Number(said.value) : null;
    if (bytes) largest = sizeWords(bytes);
    return bytes;
  }, () => {
    largestBytes = null; // offline: asked again next time
    return null;
  });
  return largestBytes;
}

// The bytes of the files in the outbox, by message id: in memory, and,
// in a browser that stays signed in, in IndexedDB so that they survive a
// reload (a password's login keeps nothing past the tab; a browser
// without IndexedDB keeps them in memory only). Each goes once the
// server has the file, or has refused it for good.
const waiting = new Map();
let opened = null;

function database() {
  opened ||= new Promise((resolve, reject) => {
    const asked = indexedDB.open('wachat-outbox', 1);
    asked.onupgradeneeded = () => asked.result.createObjectStore('files');
    asked.onsuccess = () => resolve(asked.result);
    asked.onerror = () => reject(asked.error);
  });
  return opened;
}

/** One request on the kept files (`act(store)`), its result once its transaction is done. */
async function onKept(mode, act) {
  const done = (await database()).transaction('files', mode);
  const asked = act(done.objectStore('files'));
  return new Promise((resolve, reject) => {
    done.oncomplete = () => resolve(asked.result);
    done.onerror = done.onabort = () => reject(done.error);
  });
}

function keep(id, blob, persists) {
  waiting.set(id, blob);
  if (!persists) return Promise.resolve();
  return onKept('readwrite', (store) => store.put(blob, id)).catch(() => {});
}

/** The bytes of outbox entry `id`, or null if this browser lost them. */
async function kept(id) {
  return waiting.get(id) ?? (await onKept('readonly', (store) => store.get(id)).catch(() => null)) ?? null;
}

function forget(id) {
  waiting.delete(id);
  onKept('readwrite', (store) => store.delete(id)).catch(() => {});
}

/**
 * Puts `file` in the outbox for the open chat, with `caption`, through
 * `enqueue` (sending.js's, passed in: sending.js loads this module to
 * deliver the file, so this one does not import it back): its message
 * shows at once, and it goes now if the server can be reached, else
 * once it can. A file over the server's limit (or empty) is
 * refused here, in words, before a byte is read.
 */
export async function queue(app, enqueue, file, name = file.name, caption = '') {
  const chat = app.view.chat;
  if (!chat) return;
  const refused = refusedSize(file.size, await limitOf(app.link));
  if (refused) {
    banner(t('failed', { reason: refused }));
    return;
  }
  const type = IMAGES.includes(file.type) ? file.type : 'application/octet-stream';
  const entry = { to: chat.name, id: newId(), ts: Date.now(), caption, file: { name, size: file.size, type } };
  await keep(entry.id, file, app.persists());
  enqueue(app, entry);
}

/**
 * Sends outbox entry `entry` (a file): its bytes, then its `FILE` under
 * the entry's id. Resolves with the `FILE`'s reply, or a refusal whose
 * reason is in the user's words; rejects when the link drops (the entry
 * stays for the next time). `save` writes the outbox down (the upload's
 * id, so that a cut upload goes on after a reload).
 */
export async function deliver(app, entry, save) {
  const link = app.link;
  const blob = await kept(entry.id);
  if (!blob) return { reply: { ok: false, code: 'GONE', reason: t('notKept') } };
  if (!entry.upload?.done) {
    const meter = progressBar(entry.file.name, blob.size);
    try {
      const refused = await upload(link, blob, entry, save, (n) => { meter.value = n; });
      if (refused) {
        forget(entry.id);
        return { reply: { ...refused, reason: fileWords(refused) } };
      }
    } finally {
      meter.parentNode.remove();
    }
  }
  const { reply } = await link.request(request.file(entry.to, entry.id, entry.upload.id, entry.caption));
  if (reply.ok || !['RATE_LIMITED', 'UNAVAILABLE'].includes(reply.code)) forget(entry.id);
  return { reply: reply.ok ? reply : { ...reply, reason: fileWords(reply) } };
}

/**
 * Uploads `blob` for `entry`: UPLOAD (its id kept in `entry.upload`),
 * then the parts in batches of WINDOW, from what the server has: after
 * a cut, the first part sent again answers how far its bytes reach (a
 * part the server has changes nothing), and an upload it forgot begins
 * again. A batch cut by --rate is sent again from there. Returns the
 * refusal, or null once the server has every byte, checked.
 */
export async function upload(link, blob, entry, save, progress) {
  let confirmed = 0;
  if (entry.upload) {
    const { reply } = await link.request(request.part(entry.upload.id, 0, b64(await slice(blob, 0))));
    if (reply.ok) {
      confirmed = Number(reply.value);
      progress(confirmed); // the new bar starts where the server's bytes end
    } else if (reply.code === 'RATE_LIMITED') return pause().then(() => upload(link, blob, entry, save, progress));
    else entry.upload = null;
  }
  if (!entry.upload) {
    const hash = new Sha256();
    // A window's bytes a read: a read of a part each costs more than the hash.
    for (let at = 0; at < blob.size; at += WINDOW * PART) hash.update(await slice(blob, at, WINDOW * PART));
    const { reply } = await link.request(request.upload(entry.file.name, blob.size, hash.hex()));
    if (!reply.ok) return reply;
    entry.upload = { id: reply.value };
    save();
  }
  while (confirmed < blob.size) {
    const batch = [];
    const bytes = await slice(blob, confirmed, WINDOW * PART);
    for (let at = 0; at < bytes.length; at += PART) {
      batch.push(link.request(request.part(entry.upload.id, confirmed + at, b64(bytes.subarray(at, at + PART)))));
    }
    for (const waited of batch) {
      const { reply } = await waited;
      if (reply.ok) {
        confirmed = Math.max(confirmed, Number(reply.value));
        progress(confirmed);
      } else if (reply.code === 'RATE_LIMITED') {
        await pause();
        break;
      } else return reply;
    }
  }
  entry.upload.done = true;
  save();
  return null;
}

/**
 * Sends a message to `chat` carrying `file` (`{id, size, type, name}`),
 * a file this user may fetch (a forward, 1.2): the server lets whoever
 * may fetch a file send it on (docs/PROTOCOL.md §21). Its refusal
 * throws, in the user's words.
 */
export async function carry(app, chat, file, caption = '') {
  const link = app.link;
  const id = newId();
  const sent = (await link.request(request.file(chat.name, id, file.id, caption))).reply;
  if (!sent || !sent.ok) throw new Error(fileWords(sent));
  const ts = Number(sent.value.split(':')[1]);
  const msg = { from: app.model.me, to: chat.name, id, ts, state: 'RECEIVED', text: fileText(file.name, file.size, caption) };
  msg.file = { ...file };
  const added = app.model.add(msg);
  if (added.added && app.view.chat === chat) app.view.append(added.msg);
  draw(app);
  return added.msg;
}

/** What a file message says besides its file: its text after `📎 <name> (<size>)` (and a relayed post's marker), which the photo or card and the author's line show. */
export function captionOf(msg) {
  const head = fileText(msg.file.name, msg.file.size);
  const words = ownWords(msg);
  return words.startsWith(head) ? words.slice(head.length).replace(/^ /, '') : words;
}

/** The bytes of `msg`'s file as a Blob of `type`: kept here while it waits in the outbox (or was sent from here), else fetched. */
async function bytesOf(msg, link, type) {
  const here = msg.mine && (await kept(msg.id));
  if (here) return here;
  if (!msg.file.id) throw new Error(t('notKept'));
  return fetchBlob(link, msg.file.id, type);
}

/** Every byte of `what` (a file id, or `<id>-t` for its thumbnail), as a Blob of `type`. */
export async function fetchBlob(link, what, type) {
  const parts = [];
  let offset = 0;
  for (;;) {
    const { reply } = await link.request(request.fetch(what, offset));
    if (reply && reply.code === 'RATE_LIMITED') {
      await pause();
      continue;
    }
    if (!reply || !reply.ok) throw new Error(fileWords(reply));
    if (!reply.value) break;
    const bytes = unb64(reply.value);
    parts.push(bytes);
    offset += bytes.length;
  }
  return new Blob(parts, { type });
}

const thumbs = new Map(); // file id → blob: URL of its thumbnail
const looked = new Map(); // `from:id` → promise of the file FILEOF named, or null
/** Most entries each map keeps: the oldest goes first (a thumbnail's URL revoked), so a long session's memory stays bounded. */
export const MOST_THUMBS = 200;
export const MOST_LOOKED = 1000;

/** Sets `key` in `map`, dropping its oldest entries past `most` (`gone` is told each dropped value). */
export function remember(map, key, value, most, gone = () => {}) {
  map.delete(key);
  map.set(key, value);
  for (const [old, was] of map) {
    if (map.size <= most) break;
    map.delete(old);
    gone(was);
  }
}

/** The file of `msg`, a message of `chat` known from HISTORY only (1.2, FILEOF): `{id, size, type, name}` or null. */
export function lookup(link, chat, msg) {
  const key = `${msg.from}:${msg.id}`;
  if (!looked.has(key)) {
    const asked = link.request(request.fileOf(chat, msg.from, msg.id)).then(({ reply }) => {
      if (reply && reply.ok) return parseFileOf(reply.value);
      if (!reply || reply.code !== 'UNKNOWN_FILE') looked.delete(key); // not an answer: ask again when drawn again
      return null;
    }, () => (looked.delete(key), null));
    remember(looked, key, asked, MOST_LOOKED);
  }
  return looked.get(key);
}

/** Draws a message's file in its bubble: an image from its thumbnail (the full one on tap), a voice message's player, or a card. */
export function show(item, msg, link, chat) {
  const file = msg.file;
  if (!file && chat) {
    lookup(link, chat, msg).then((found) => {
      if (found && !msg.file) msg.file = found;
      if (found) show(item, msg, link);
    });
    return;
  }
  if (!file || item.querySelector('.file')) return;
  const box = el('div', 'file');
  if (file.id) box.dataset.file = file.id;
  const local = msg.mine && (file.local || waiting.has(msg.id));
  if (IMAGES.includes(file.type)) {
    const img = el('img', 'thumb');
    img.alt = file.name;
    const known = thumbs.get(file.id);
    const shown = local ? kept(msg.id).then((blob) => (blob ? URL.createObjectURL(blob) : Promise.reject()))
      : known ? Promise.resolve(known) : fetchBlob(link, `${file.id}-t`, 'image/jpeg').then((blob) => {
        const url = URL.createObjectURL(blob);
        remember(thumbs, file.id, url, MOST_THUMBS, (old) => URL.revokeObjectURL(old));
        return url;
      });
    shown.then((url) => {
      img.src = url;
      if (local) img.onload = () => URL.revokeObjectURL(url); // a local one is made again when drawn again
    }).catch(() => { img.alt = `${file.name} ✕`; });
    // A tap opens the photo whole, in the viewer (never inside the bubble).
    const open = el('button', 'photo');
    open.type = 'button';
    open.setAttribute('aria-label', t('photoOf', { name: file.name }));
    open.addEventListener('click', () => viewer(msg, link));
    open.append(img);
    box.append(open);
  } else if (ownWords(msg).startsWith('📎 voice-')) {
    // A voice message (`voice-…`): voice.js draws its player, if the name is one (else a card, as any file).
    import('./voice.js').then((m) => {
      if (m.voice(ownWords(msg))) m.player(box, msg, link, (_, __, type) => bytesOf(msg, link, type));
      else card(box, link, msg);
    });
  } else card(box, link, msg);
  // The text says the name and size the photo or card shows already: only the caption stays, nothing said twice.
  const text = item.querySelector('.text');
  if (text) {
    let caption = visible(captionOf(msg));
    if (caption.startsWith(FORWARDED) && !item.querySelector('.forwarded')) {
      caption = caption.slice(FORWARDED.length);
      item.insertBefore(el('div', 'forwarded', t('forwarded')), text);
    }
    text.replaceChildren(rich(caption));
    text.hidden = !caption;
    item.insertBefore(box, text);
  } else item.insertBefore(box, item.querySelector('.meta'));
}

/** A file's card: its name, its size, ⬇. */
function card(box, link, msg) {
  box.append(el('span', 'file-name', msg.file.name), ' ', el('span', 'file-size', sizeWords(msg.file.size)), ' ');
  box.append(downloadButton(link, msg, 'application/octet-stream'));
}

/** A ⬇ button that saves `msg`'s file under its name; `type`: what the bytes are called (octet-stream: never shown). */
function downloadButton(link, msg, type) {
  const save = el('button', 'secondary small', '⬇');
  save.type = 'button';
  save.setAttribute('aria-label', t('download', { name: msg.file.name }));
  save.addEventListener('click', async () => {
    const blob = await bytesOf(msg, link, type);
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = msg.file.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  });
  return save;
}

/** What the viewer's Forward does (`setup`'s `forward`, session.js's: forward.js's chooser), once logged in. */
let forwarding = null;

/**
 * The photo viewer (a tap on a photo): the photo whole, over everything, with
 * its name, Download, Forward and ✕ above it, and its caption under it;
 * Esc closes it, and the focus goes back where it was.
 */
export function viewer(msg, link) {
  const file = msg.file;
  const back = document.activeElement;
  const button = (text, label, onClick) => {
    const b = el('button', 'secondary icon', text);
    b.type = 'button';
    b.setAttribute('aria-label', label);
    b.title = label;
    b.addEventListener('click', onClick);
    return b;
  };
  const img = el('img', 'full');
  img.alt = file.name;
  let url = null;
  const shut = () => {
    box.remove();
    document.removeEventListener('keydown', onKey, true);
    if (url) URL.revokeObjectURL(url);
    back?.focus?.();
  };
  const close = button('✕', t('close'), shut);
  const forward = button('↪', t('forward'), () => {
    shut();
    forwarding(msg);
  });
  forward.hidden = !forwarding || !file.id;
  const bar = el('div', 'viewer-bar');
  const name = el('span', 'viewer-name', file.name);
  name.title = `${msg.from} · ${shortTime(msg.ts)}`;
  bar.append(name, downloadButton(link, msg, file.type), forward, close);
  const box = el('div', 'viewer');
  box.shut = shut; // the phone's Back closes it as ✕ does (back.js)
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-modal', 'true');
  box.setAttribute('aria-label', file.name);
  box.append(bar, img);
  let caption = visible(captionOf(msg));
  if (caption.startsWith(FORWARDED)) caption = caption.slice(FORWARDED.length);
  if (caption) {
    const under = el('p', 'viewer-caption');
    under.dir = 'auto';
    under.append(rich(caption));
    box.append(under);
  }
  // Esc closes the viewer first (captured before app.js's Esc), and Tab stays inside it.
  function onKey(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      shut();
    } else if (e.key === 'Tab') {
      const buttons = [...bar.querySelectorAll('button:not([hidden])')];
      const at = buttons.indexOf(document.activeElement);
      const next = (at + (e.shiftKey ? -1 : 1) + buttons.length) % buttons.length;
      e.preventDefault();
      buttons[next].focus();
    }
  }
  document.addEventListener('keydown', onKey, true);
  document.body.append(box);
  close.focus();
  bytesOf(msg, link, file.type).then((blob) => {
    url = URL.createObjectURL(blob);
    img.src = url;
    img.dataset.full = 'shown';
  }).catch(() => { img.alt = `${file.name} ✕`; });
}

/** The 📎 and 🎤 icons (view.js `icon`): a paper clip, a microphone. */
const CLIP = ['path', { d: 'M20 11.5 12 19.5a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L9.7 17.2a1.7 1.7 0 0 1-2.4-2.4L15 7' }];
const MIC = [['rect', { x: 9, y: 3, width: 6, height: 11, rx: 3 }], ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7' }]];

/**
 * The attach button, the microphone, drag and drop, and pasting an image
 * into the message box; `forward(msg)`: what the viewer's Forward does;
 * `enqueue(app, entry)`: puts an entry in the outbox (sending.js's).
 * Each file goes to the outbox (`queue`); one picked alone is asked its
 * caption first. While the composer is closed (muted, announce-only,
 * blocked: conversation.js disables its buttons) nothing is taken.
 */
export function setup(app, forward, enqueue) {
  forwarding = forward;
  if ($('attach')) return;
  const closed = () => $('input').disabled;
  const take = (files) => {
    if (closed()) return;
    if (files.length === 1) stage(app, enqueue, files[0], files[0].name);
    else for (const file of files) queue(app, enqueue, file);
  };
  const picker = el('input');
  picker.type = 'file';
  picker.hidden = true;
  picker.id = 'attach-file';
  const button = el('button', 'secondary');
  button.append(icon(CLIP));
  button.type = 'button';
  button.id = 'attach';
  button.setAttribute('aria-label', t('attach'));
  button.title = t('attach');
  button.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    take([...picker.files]);
    picker.value = '';
  });
  // A voice message (🎤): voice.js records at the first tap, and it goes as any file.
  const mic = el('button', 'secondary');
  mic.append(icon(...MIC));
  mic.type = 'button';
  mic.id = 'record';
  mic.setAttribute('aria-label', t('recordVoice'));
  mic.title = t('recordVoice');
  mic.addEventListener('click', () => import('./voice.js').then((m) => m.record(app, (file, name) => queue(app, enqueue, file, name))));
  import('./voice.js').catch(() => {}); // now, while the server is there: a voice message is recorded offline too
  button.disabled = mic.disabled = closed(); // as conversation.js's updateComposer left the composer
  $('composer').prepend(button, picker);
  $('send').before(mic);
  for (const zone of [$('messages'), $('composer')]) {
    zone.addEventListener('dragover', (e) => e.preventDefault());
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      take([...e.dataTransfer.files]);
    });
  }
  $('input').addEventListener('paste', (e) => {
    const images = [...e.clipboardData.files].filter((f) => IMAGES.includes(f.type));
    if (!images.length) return;
    e.preventDefault();
    const named = (image) => image.name || `pasted-${Date.now()}.${image.type.split('/')[1]}`;
    if (images.length === 1) stage(app, enqueue, images[0], named(images[0]));
    else for (const image of images) queue(app, enqueue, image, named(image));
  });
}

/** A bar above the composer saying what is being sent, and how far: its <progress>. */
function progressBar(name, size) {
  const bar = el('div', 'attach-bar');
  const meter = el('progress');
  meter.max = size;
  meter.value = 0;
  meter.setAttribute('aria-label', t('sending', { name }));
  bar.append(el('span', 'attach-name', t('sending', { name })), meter);
  $('composer').before(bar);
  return meter;
}

/**
 * A file about to go (picked, not sent): a photo's preview (or the file's name),
 * a caption field, Send and ✕ above the composer. Send puts it in the
 * outbox (`queue`).
 */
function stage(app, enqueue, file, name) {
  $('attach-bar')?.remove();
  const bar = el('div', 'attach-bar');
  bar.id = 'attach-bar';
  const caption = el('input');
  caption.id = 'attach-caption';
  caption.maxLength = 1000;
  caption.placeholder = t('caption');
  caption.setAttribute('aria-label', t('caption'));
  const go = el('button', '', t('sendFile'));
  go.type = 'button';
  go.id = 'attach-send';
  const cancel = el('button', 'secondary icon', '✕');
  cancel.type = 'button';
  cancel.setAttribute('aria-label', t('close'));
  cancel.addEventListener('click', () => bar.remove());
  go.addEventListener('click', () => {
    bar.remove();
    queue(app, enqueue, file, name, caption.value.trim());
  });
  caption.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      go.click();
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      bar.remove();
    }
  });
  if (IMAGES.includes(file.type)) {
    // The photo itself, as it will go (its thumbnail is the server's).
    const preview = el('img', 'attach-preview');
    preview.alt = t('photoOf', { name });
    const url = URL.createObjectURL(file);
    preview.onload = () => URL.revokeObjectURL(url);
    preview.src = url;
    bar.append(preview);
  }
  bar.append(el('span', 'attach-name', fileText(name, file.size)), caption, go, cancel);
  $('composer').before(bar);
  caption.focus();
  // A file the server would refuse is said so before Send, which stays off (`queue` checks again).
  limitOf(app.link).then((most) => {
    const why = refusedSize(file.size, most);
    if (!why || !bar.isConnected) return;
    go.disabled = caption.disabled = true;
    const said = el('span', 'attach-why', why);
    said.setAttribute('role', 'alert');
    caption.replaceWith(said);
    cancel.focus();
  });
}

/** Why a file of `size` bytes cannot go to a server whose limit is `most` (null: not known), or null if it can. */
function refusedSize(size, most) {
  if (!size) return t('emptyFile');
  return most && size > most ? t('tooBig', { limit: sizeWords(most) }) : null;
}
