// actions.js: acting on a message (protocol 1.2, §19), loaded at the
// first tap on a bubble's "⋯" (view.js draws it). Its menu: the six
// reactions, "More reactions" (the emoji picker, emoji.js: any one emoji
// is a reaction, 1.2), Reply, Edit (yours, within the edit window), Delete for
// everyone (yours, or any in a room you run), tapped twice to confirm;
// Info of yours in a room (1.2, §31: who has it and read it, receipts.js).
//
// Reply and Edit go through the composer, which says so above the text.
// A reply is a message (sending.js queues it in the outbox, its id
// deduplicated by the server); an edit, a delete, a reaction need the
// server's check, so they are sent at once, and each accepted one is
// applied here as the server stored it (the id its OK gives): my other
// devices get it as a copy, this one would not.

import { request, parseMsgOk, parseInfoLine, parseQuote, quoteLine, snippet, REACTIONS, DELETED } from './wire.js';
import { t, addStrings } from './i18n.js';
import { preview, say, clearBanner, faces } from './view.js';
import { applied } from './chatlist.js';
import { isAdmin } from './moderation.js';
import { starred, toggle } from './starred.js';

const $ = (id) => document.getElementById(id);
addStrings({
  en: { react: 'React {emoji}', reply: 'Reply', edit: 'Edit', del: 'Delete', confirmDelete: 'Delete for everyone?', cancel: 'Cancel', replyingTo: 'Replying to {who}', editing: 'Editing your message', moreReactions: 'More reactions', info: 'Info' },
  es: { react: 'Reaccionar {emoji}', reply: 'Responder', edit: 'Editar', del: 'Eliminar', confirmDelete: '¿Eliminar para todos?', cancel: 'Cancelar', replyingTo: 'Respondiendo a {who}', editing: 'Editando tu mensaje', moreReactions: 'Más reacciones', info: 'Info.' },
  pt: { react: 'Reagir {emoji}', reply: 'Responder', edit: 'Editar', del: 'Apagar', confirmDelete: 'Apagar para todos?', cancel: 'Cancelar', replyingTo: 'Respondendo a {who}', editing: 'Editando sua mensagem', moreReactions: 'Mais reações', info: 'Dados' },
});
const closeMenus = () => document.querySelectorAll('#messages .menu').forEach((m) => m.remove());

function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary small';
  b.textContent = text;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', (e) => {
    e.stopPropagation();
    onClick(b);
  });
  return b;
}

export class Actions {
  /** `app`: the app's state (state.js): its link, model, open chat and rules. */
  constructor(app) {
    this.app = app;
    this.mode = null; // {kind: 'reply' | 'edit', chat, msg}
    // §19's defaults (15 minutes, 48 hours) unless INFO lists others.
    this.limits = { edit: 15, del: 48 };
    $('compose-cancel').onclick = () => this.cancel();
    $('compose-cancel').setAttribute('aria-label', t('cancel'));
    $('input').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.mode) this.cancel();
    });
    this.loadLimits();
  }

  async loadLimits() {
    try {
      const { reply, lines } = await this.app.link.request(request.info());
      if (!reply.ok) return;
      for (const line of lines.map(parseInfoLine).filter(Boolean)) {
        const n = Number(line.value);
        if (line.key === 'edit_minutes' && n >= 0) this.limits.edit = n;
        if (line.key === 'delete_hours' && n >= 0) this.limits.del = n;
      }
    } catch (_) {
      /* offline: the defaults; the server refuses what is too late anyway */
    }
  }

  /** Opens (or closes) the menu of one bubble; one is open at a time. */
  menu(item, msg) {
    const open = item.querySelector('.menu');
    closeMenus();
    if (open || !item.isConnected) return;
    const chat = this.app.view.chat;
    const menu = document.createElement('div');
    menu.className = 'menu';
    menu.setAttribute('role', 'group');
    menu.setAttribute('aria-label', t('actions'));
    for (const emoji of REACTIONS) {
      const b = button(emoji, t('react', { emoji }), () => this.react(chat, msg, emoji));
      b.dataset.react = emoji;
      menu.append(b);
    }
    // Any other emoji: the composer's picker, its pick the reaction; the focus then back on the bubble's ⋯.
    const more = button('+', t('moreReactions'), () => import('./emoji.js').then((m) => m.open(more, (emoji) => this.react(chat, msg, emoji), item.querySelector('.more'))));
    more.dataset.act = 'more-reactions';
    more.setAttribute('aria-haspopup', 'dialog');
    menu.append(more);
    const add = (act, onClick) => {
      const b = button(t(act), '', onClick);
      b.dataset.act = act;
      menu.append(b);
    };
    add('reply', () => this.start('reply', chat, msg));
    add(starred(chat, msg) ? 'unstar' : 'star', () => { closeMenus(); toggle(this.app, chat, msg); }); // 1.2 (§25)
    // Forward: forward.js, loaded at the first tap, not with the app.
    add('forward', () => { closeMenus(); import('./forward.js').then((m) => m.choose(this.app, msg)); });
    // Who has it, who read it: receipts.js, loaded at the first tap.
    if (msg.mine && chat.room) add('info', () => { closeMenus(); import('./receipts.js').then((m) => m.open(this.app, chat, msg)); });
    const age = Date.now() - msg.ts;
    if (msg.mine && age < this.limits.edit * 60000) add('edit', () => this.start('edit', chat, msg));
    const admin = chat.room && !msg.mine && isAdmin(this.app.rules);
    if ((msg.mine && age < this.limits.del * 3600000) || admin) {
      add('del', (b) => {
        if (b.dataset.act !== 'confirm') {
          b.dataset.act = 'confirm';
          b.textContent = t('confirmDelete');
          return;
        }
        this.remove(chat, msg, admin ? msg.from : undefined);
      });
    }
    item.append(menu);
    menu.querySelector('button').focus();
    clearBanner(); // a banner shown moves off the menu
  }

  /** Reply or edit: the composer says so, and the next send is that. */
  start(kind, chat, msg) {
    closeMenus();
    this.mode = { kind, chat, msg };
    const quote = parseQuote(msg.text);
    const body = quote ? quote.body : msg.text;
    $('compose-what').textContent = kind === 'edit' ? t('editing')
      : `${t('replyingTo', { who: faces.shown(msg.from) })}: ${snippet(preview(body, msg))}`;
    $('compose-note').hidden = false;
    if (kind === 'edit') $('input').value = body;
    $('input').focus();
  }

  cancel() {
    if (this.mode && this.mode.kind === 'edit') $('input').value = '';
    this.mode = null;
    $('compose-note').hidden = true;
    $('compose-what').textContent = '';
  }

  /** What the next message of the open chat answers: `{re, quote}`, or `{}`. */
  replyTo(chat) {
    const mode = this.mode;
    if (!mode || mode.kind !== 'reply' || mode.chat !== chat) return {};
    this.cancel();
    return { re: mode.msg.id, quote: quoteLine(mode.msg.from, mode.msg.text) };
  }

  /** Sends the composer's text as the edit it is, if it is one; true if it was. */
  edit(chat, text) {
    const mode = this.mode;
    if (!mode || mode.kind !== 'edit' || mode.chat !== chat) return false;
    this.cancel();
    const quote = parseQuote(mode.msg.text);
    const full = quote ? `> ${quote.author}: ${quote.quoted}\n${text}` : text;
    if (full !== mode.msg.text) this.act(chat, () => request.edit(chat.name, mode.msg.id, full), () => `✎ ${full}`);
    return true;
  }

  react(chat, msg, emoji) {
    this.act(chat, () => request.react(chat.name, msg.id, emoji), () => `${emoji} `);
  }

  /** DELETE of my message, or (`author`) a room admin's of someone else's. */
  remove(chat, msg, author) {
    this.act(chat, () => request.del(chat.name, msg.id, author),
      (id) => (id.startsWith('_x') ? `(message from ${author} deleted)` : DELETED));
  }

  /** Sends an action; once accepted, applies it as the server stored it. */
  async act(chat, line, text) {
    closeMenus();
    let reply;
    try {
      ({ reply } = await this.app.link.request(line()));
    } catch (e) {
      say(t('failed', { reason: e.message }));
      return;
    }
    const ok = reply.ok && parseMsgOk(reply.value);
    if (!ok) {
      say(t('refused', { reason: reply.reason || reply.code || reply.value }));
      return;
    }
    const model = this.app.model;
    applied(this.app, model.add({ from: model.me, to: chat.name, id: ok.id, ts: ok.ts, text: text(ok.id), state: 'RECEIVED' }));
  }
}
