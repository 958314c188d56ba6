// files.js: photos and files in chats (protocol 1.2, docs/PROTOCOL.md §21),
// loaded at the first message carrying a file or after login, never on
// the first load. Everything goes over the logged-in device's own send
// WebSocket (`UPLOAD`, `PART`, `FILE`, `FETCH`, `FILEOF`): no URL that
// anyone who has it could open. A message loaded from HISTORY (whose lines
// are version 1's) that reads `📎 …` is asked about with FILEOF when it is
// drawn, once; if it carries no file its text stays text. Bytes are read and sent a part (12,000 bytes) at a time.
// What the server names and types is hostile text: names are set as text,
// and an image is shown only for the four types the server decoded
// itself (never SVG or HTML), from a blob: URL of the bytes fetched.

import { request, parseFileOf } from './wire.js';
import { newId } from './chats.js';
import { el, visible, rich, FORWARDED } from './view.js';
import { t, addStrings } from './i18n.js';

addStrings({
  en: { recordVoice: 'Record a voice message', attach: 'Attach a file', caption: 'Add a caption', sendFile: 'Send', download: 'Download {name}', forward: 'Forward', sending: 'Sending {name}…', photoOf: 'Photo: {name}' },
  es: { recordVoice: 'Grabar un mensaje de voz', attach: 'Adjuntar un archivo', caption: 'Añade un texto', sendFile: 'Enviar', download: 'Descargar {name}', forward: 'Reenviar', sending: 'Enviando {name}…', photoOf: 'Foto: {name}' },
  pt: { recordVoice: 'Gravar uma mensagem de voz', attach: 'Anexar um arquivo', caption: 'Adicione uma legenda', sendFile: 'Enviar', download: 'Baixar {name}', forward: 'Encaminhar', sending: 'Enviando {name}…', photoOf: 'Foto: {name}' },
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

/** `245 KB`, as the server writes sizes (protocol/files.rs). */
export function sizeWords(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.ceil(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

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

// SHA-256, fed a part at a time (SubtleCrypto would need the whole file).
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

  update(bytes) {
    this.length += bytes.length;
    for (const byte of bytes) {
      this.block[this.used++] = byte;
      if (this.used === 64) {
        this.compress();
        this.used = 0;
      }
    }
  }

  compress() {
    const { w, h, block } = this;
    for (let i = 0; i < 16; i++) w[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) | block[4 * i + 3];
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      [k, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
    }
    [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
  }

  hex() {
    const bits = this.length * 8;
    this.update(new Uint8Array([0x80]));
    while (this.used !== 56) this.update(new Uint8Array([0]));
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, Math.floor(bits / 2 ** 32));
    new DataView(tail.buffer).setUint32(4, bits >>> 0);
    this.update(tail);
    return [...this.h].map((v) => (v >>> 0).toString(16).padStart(8, '0')).join('');
  }
}

async function slice(file, offset) {
  return new Uint8Array(await file.slice(offset, offset + PART).arrayBuffer());
}

/** A wait after `KO:RATE_LIMITED` (the server's --rate), before going on. */
const pause = () => new Promise((resolve) => { setTimeout(resolve, 250); });

function refused(reply) {
  return new Error(reply ? `${reply.code}: ${reply.reason}` : 'no reply');
}

/**
 * Sends `file` (a File or Blob with a name) to the open chat with its
 * `caption`; `progress(bytes)` hears how far the upload is. The message,
 * added to the model.
 */
export async function send(app, file, name = file.name, caption = '', progress = () => {}) {
  const link = app.link();
  const chat = app.chat();
  if (!link || !chat) throw new Error('no chat open');
  const hash = new Sha256();
  for (let at = 0; at < file.size; at += PART) hash.update(await slice(file, at));
  const up = (await link.request(request.upload(name, file.size, hash.hex()))).reply;
  if (!up || !up.ok) throw refused(up);
  const fileId = up.value;
  // Parts in batches of WINDOW; a batch cut by --rate is sent again from
  // what the server has (a part sent twice is harmless).
  let confirmed = 0;
  while (confirmed < file.size) {
    const batch = [];
    for (let at = confirmed; at < file.size && batch.length < WINDOW; at += PART) {
      batch.push(link.request(request.part(fileId, at, b64(await slice(file, at)))));
    }
    for (const waiting of batch) {
      const { reply } = await waiting;
      if (reply && reply.ok) {
        confirmed = Math.max(confirmed, Number(reply.value));
        progress(confirmed);
      } else if (reply && reply.code === 'RATE_LIMITED') {
        await pause();
        break;
      } else throw refused(reply);
    }
  }
  const kind = IMAGES.includes(file.type) ? file.type : 'application/octet-stream';
  return carry(app, chat, { id: fileId, size: file.size, type: kind, name }, caption);
}

/**
 * Sends a message to `chat` carrying `file` (`{id, size, type, name}`),
 * uploaded here or (a forward, 1.2) a file this user may fetch: the
 * server lets whoever may fetch a file send it on (docs/PROTOCOL.md §21).
 */
export async function carry(app, chat, file, caption = '') {
  const link = app.link();
  const id = newId();
  const sent = (await link.request(request.file(chat.name, id, file.id, caption))).reply;
  if (!sent || !sent.ok) throw refused(sent);
  const ts = Number(sent.value.split(':')[1]);
  const text = `📎 ${file.name} (${sizeWords(file.size)})${caption ? ` ${caption}` : ''}`;
  const msg = { from: app.model().me, to: chat.name, id, ts, state: 'RECEIVED', text };
  msg.file = { ...file };
  const added = app.model().add(msg);
  if (added.added && app.chat() === chat) app.view().append(added.msg);
  app.draw();
  return added.msg;
}

/** What a file message says besides its file: its text after `📎 <name> (<size>)`, which the photo or card shows. */
export function captionOf(msg) {
  const head = `📎 ${msg.file.name} (${sizeWords(msg.file.size)})`;
  return msg.text.startsWith(head) ? msg.text.slice(head.length).replace(/^ /, '') : msg.text;
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
    if (!reply || !reply.ok) throw refused(reply);
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

/** Draws a message's file in its bubble: an image from its thumbnail (the full one on tap), or a card. */
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
  box.dataset.file = file.id;
  if (IMAGES.includes(file.type)) {
    const img = el('img', 'thumb');
    img.alt = file.name;
    const known = thumbs.get(file.id);
    const shown = known ? Promise.resolve(known) : fetchBlob(link, `${file.id}-t`, 'image/jpeg').then((blob) => {
      const url = URL.createObjectURL(blob);
      remember(thumbs, file.id, url, MOST_THUMBS, (old) => URL.revokeObjectURL(old));
      return url;
    });
    shown.then((url) => { img.src = url; }).catch(() => { img.alt = `${file.name} ✕`; });
    // A tap opens the photo whole, in the viewer (never inside the bubble).
    const open = el('button', 'photo');
    open.type = 'button';
    open.setAttribute('aria-label', t('photoOf', { name: file.name }));
    open.addEventListener('click', () => viewer(msg, link));
    open.append(img);
    box.append(open);
  } else if (msg.text.startsWith('📎 voice-')) {
    // A voice message (issue 51): voice.js draws its player, if the name is one (else a card, as any file).
    import('./voice.js').then((m) => {
      if (m.voice(msg.text)) m.player(box, msg, link, fetchBlob);
      else card(box, link, file);
    });
  } else card(box, link, file);
  // The text says the name and size the photo or card shows already: only the caption stays (issue 51).
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
function card(box, link, file) {
  box.append(el('span', 'file-name', file.name), ' ', el('span', 'file-size', sizeWords(file.size)), ' ');
  box.append(downloadButton(link, file, 'application/octet-stream'));
}

/** A ⬇ button that saves `file` under its name; `type`: what the bytes are called (octet-stream: never shown). */
function downloadButton(link, file, type) {
  const save = el('button', 'secondary small', '⬇');
  save.type = 'button';
  save.setAttribute('aria-label', t('download', { name: file.name }));
  save.addEventListener('click', async () => {
    const blob = await fetchBlob(link, file.id, type);
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = file.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  });
  return save;
}

/** The app (app.js's getters), once logged in: the viewer's Forward needs it. */
let theApp = null;

/**
 * The photo viewer (issue 51): the photo whole, over everything, with
 * its name, Download, Forward and ✕; Esc closes it, and the focus goes
 * back where it was.
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
    import('./forward.js').then((m) => m.choose(theApp, msg));
  });
  forward.hidden = !theApp;
  const bar = el('div', 'viewer-bar');
  bar.append(el('span', 'viewer-name', file.name), downloadButton(link, file, file.type), forward, close);
  const box = el('div', 'viewer');
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-modal', 'true');
  box.setAttribute('aria-label', file.name);
  box.append(bar, img);
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
  fetchBlob(link, file.id, file.type).then((blob) => {
    url = URL.createObjectURL(blob);
    img.src = url;
    img.dataset.full = 'shown';
  }).catch(() => { img.alt = `${file.name} ✕`; });
}

/** The attach button, drag and drop, and pasting an image into the message box. */
export function setup(app) {
  theApp = app;
  if ($('attach')) return;
  const say = (e) => app.say(`📎 ${e.message}`);
  // One file: asked its caption first, then sent with its progress shown; several: each sent as it is.
  const take = (files) => {
    if (files.length === 1) stage(app, files[0], files[0].name, say);
    else for (const file of files) send(app, file).catch(say);
  };
  const picker = el('input');
  picker.type = 'file';
  picker.hidden = true;
  picker.id = 'attach-file';
  const button = el('button', 'secondary', '📎');
  button.type = 'button';
  button.id = 'attach';
  button.setAttribute('aria-label', t('attach'));
  button.title = t('attach');
  button.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    take([...picker.files]);
    picker.value = '';
  });
  // A voice message (issue 51): voice.js records at the first tap, and files go as any file.
  const mic = el('button', 'secondary', '🎤');
  mic.type = 'button';
  mic.id = 'record';
  mic.setAttribute('aria-label', t('recordVoice'));
  mic.title = t('recordVoice');
  mic.addEventListener('click', () => import('./voice.js').then((m) => m.record(app, (file, name) => {
    const bar = progressBar(name, file.size);
    send(app, file, name, '', (n) => { bar.value = n; }).catch(say).finally(() => bar.parentNode.remove());
  })));
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
    if (images.length === 1) stage(app, images[0], images[0].name || `pasted-${Date.now()}.${images[0].type.split('/')[1]}`, say);
    else for (const image of images) send(app, image, image.name || `pasted-${Date.now()}.${image.type.split('/')[1]}`).catch(say);
  });
}

/** A bar above the composer saying what is being sent, and how far: its <progress>. */
function progressBar(name, size) {
  const bar = el('div', 'attach-bar');
  const meter = progressMeter(name, size);
  bar.append(el('span', 'attach-name', t('sending', { name })), meter);
  $('composer').before(bar);
  return meter;
}

/** The <progress> of `name`'s upload of `size` bytes: `send`'s `progress` sets its value. */
function progressMeter(name, size) {
  const meter = el('progress');
  meter.max = size;
  meter.value = 0;
  meter.setAttribute('aria-label', t('sending', { name }));
  return meter;
}

/**
 * A file about to go (issue 51): its name, a caption field, Send and ✕
 * above the composer; once sent, a progress bar until the server has it.
 */
function stage(app, file, name, say) {
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
  const meter = progressMeter(name, file.size);
  meter.hidden = true;
  go.addEventListener('click', () => {
    go.disabled = caption.disabled = true;
    meter.hidden = false;
    send(app, file, name, caption.value.trim(), (n) => { meter.value = n; })
      .catch(say)
      .finally(() => bar.remove());
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
  bar.append(el('span', 'attach-name', `📎 ${name} (${sizeWords(file.size)})`), caption, go, cancel, meter);
  $('composer').before(bar);
  caption.focus();
}

