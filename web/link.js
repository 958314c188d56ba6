// link.js: the two WebSockets to the server, as `wachat connect` has its
// two TCP connections: /ws/send for requests (one reply each, in order,
// pipelined) and /ws/receive for events (each acknowledged with ACK).
//
// Both log in as this browser's device (protocol 1.2,
// `LOGIN:<user>@<device>:<secret>`), with the same secret: the password,
// kept in this object only (in memory, for the tab's life), or the
// device's token once the browser was linked with a code (see `pair`
// in stay.js, and README "In the browser"). The receive socket says
// `VERSION:1.2` before its login, so that the replay already has the
// copies of my messages sent from my other devices and their read marks.
// When either socket drops, both are closed and opened again with a
// growing pause (0.5 s doubling up to 15 s, with jitter), and the app is
// told each change of status. A login refused for now (`KO:RATE_LIMITED`)
// waits as long as the server's reason says, then tries again.

import { request, parseReply, parseEvent, listingCount, isListing, CLOSING } from './wire.js';

/** Idle time after which the send socket says PING (the server's --timeout is 10 s by default). */
const KEEPALIVE_MS = 4000;
/** How long a request may wait for its reply. */
export const REPLY_MS = 15000;

export class Link extends EventTarget {
  /**
   * @param {string} base  ws:// or wss:// and the host, e.g. `ws://127.0.0.1:8080`
   * @param {{user: string, device: string, secret: string, token?: boolean, email?: string, register?: boolean, invite?: string, persist?: boolean}} who
   */
  constructor(base, who) {
    super();
    this.base = base;
    this.who = who;
    this.status = 'connecting';
    this.user = who.user;
    this.queue = []; // requests sent, waiting for their replies, in order
    this.backoff = 500;
    this.stopped = false;
    this.sockets = null;
  }

  /** Opens both sockets; resolves once logged in, rejects with a KO if refused. */
  start() {
    return new Promise((resolve, reject) => {
      this.firstLogin = { resolve, reject };
      this.connect();
    });
  }

  /** Connects again after a stop: "Use here", once another tab of this device took over. */
  resume() {
    this.stopped = false;
    this.backoff = 500;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.close();
  }

  setStatus(status, detail) {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, ...detail } }));
  }

  connect() {
    if (this.stopped) return;
    this.setStatus('connecting');
    const send = new WebSocket(`${this.base}/ws/send`);
    const recv = new WebSocket(`${this.base}/ws/receive`);
    const sockets = { send, recv, sendUp: false, recvUp: false };
    this.sockets = sockets;
    // The first time, REGISTER on the send socket; the receive socket
    // waits for its OK, then logs in (the account exists by then).
    const first = this.who.register
      ? request.register(this.who.user, this.who.email || '', this.who.secret, this.who.invite)
      : this.loginLine();
    send.onopen = () => send.send(first);
    send.onmessage = (e) => this.onSendLine(sockets, e.data);
    recv.onopen = () => {
      if (!this.oneByOne() || sockets.sendUp) this.recvLogin(sockets);
    };
    recv.onmessage = (e) => this.onRecvLine(sockets, e.data);
    for (const ws of [send, recv]) {
      ws.onclose = () => this.dropped(sockets);
      ws.onerror = () => this.dropped(sockets);
    }
    // A server that takes the connection and never logs it in is one that cannot be reached: tried again later.
    sockets.late = setTimeout(() => this.dropped(sockets), REPLY_MS);
  }

  /**
   * Whether the receive socket logs in only once the send socket has: a
   * registration (the account exists by then), and a login after one
   * that was throttled (the two at once would spend two of the tokens
   * the server let back, and be throttled again).
   */
  oneByOne() {
    return this.who.register || this.throttledOnce;
  }

  loginLine() {
    return request.loginAs(this.who.user, this.who.device, this.who.secret);
  }

  /** `VERSION:1.2`, answered OK, then the device's LOGIN. */
  recvLogin(sockets) {
    sockets.recv.send(request.version('1.2'));
    sockets.recv.send(this.loginLine());
  }

  close() {
    const sockets = this.sockets;
    this.sockets = null;
    if (sockets) {
      clearTimeout(sockets.late);
      for (const ws of [sockets.send, sockets.recv]) {
        ws.onclose = ws.onerror = ws.onmessage = null;
        try {
          ws.close();
        } catch (_) {
          /* already closed */
        }
      }
    }
    clearInterval(this.keepalive);
    for (const waiting of this.queue.splice(0)) waiting.reject(new Error('offline'));
  }

  /** One socket of the pair ended: both go, and come back later. */
  dropped(sockets) {
    if (sockets !== this.sockets) return;
    this.close();
    if (this.firstLogin && !this.loggedInOnce) {
      this.firstLogin.reject({ ok: false, code: 'OFFLINE', reason: 'cannot reach the server' });
      this.firstLogin = null;
      // `persist` (an offline start): the app shows what it kept, and this goes on trying.
      if (!this.who.persist) {
        this.stopped = true;
        this.setStatus('offline');
        return;
      }
    }
    if (this.stopped) return;
    const wait = Math.min(this.backoff, 15000) * (0.75 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, 15000);
    this.setStatus('offline', { retryMs: Math.round(wait) });
    this.retry = setTimeout(() => this.connect(), wait);
  }

  /** Both sockets logged in. */
  up(sockets) {
    if (!sockets.sendUp || !sockets.recvUp) return;
    clearTimeout(sockets.late);
    this.backoff = 500;
    this.throttledOnce = false;
    this.loggedInOnce = true;
    this.who.register = false; // from now on the account exists
    this.lastSent = Date.now();
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastSent >= KEEPALIVE_MS) this.request(request.ping()).catch(() => {});
    }, 1000);
    if (this.firstLogin) {
      this.firstLogin.resolve(this.user);
      this.firstLogin = null;
    }
    this.setStatus('online');
  }

  /**
   * A login refused for now (`KO:RATE_LIMITED`: failed logins at this
   * account or from this address, or new accounts): both sockets close,
   * and it is tried again once the server's wait (`try again in 4 s`) is
   * over, the app told the reply and the wait (status `throttled`). A
   * first login stays pending meanwhile: it is not unreachable.
   */
  throttled(sockets, reply) {
    if (sockets !== this.sockets) return;
    this.close();
    this.throttledOnce = true;
    const wait = waitOf(reply.reason) ?? Math.min(this.backoff, 15000);
    this.setStatus('throttled', { reply, retryMs: wait });
    this.retry = setTimeout(() => {
      // A first login tries what the form holds then: a password corrected during the wait, never the one refused.
      if (this.firstLogin && this.secretNow) this.who.secret = this.secretNow() || this.who.secret;
      this.connect();
    }, wait);
  }

  refused(reply) {
    this.stop();
    this.setStatus('refused', { reply });
    if (this.firstLogin) {
      this.firstLogin.reject(reply);
      this.firstLogin = null;
    }
  }

  onSendLine(sockets, line) {
    if (sockets !== this.sockets) return;
    this.dispatchEvent(new CustomEvent('frame', { detail: { port: 'send', dir: 'in', line } }));
    if (!sockets.sendUp) {
      const reply = parseReply(line);
      if (reply && reply.ok) {
        this.user = reply.value;
        sockets.sendUp = true;
        if (this.oneByOne() && sockets.recv.readyState === WebSocket.OPEN) this.recvLogin(sockets);
        this.up(sockets);
      } else if (reply && reply.code === 'RATE_LIMITED') {
        this.throttled(sockets, reply);
      } else {
        this.refused(reply || { ok: false, code: 'BAD_REQUEST', reason: line });
      }
      return;
    }
    const waiting = this.queue[0];
    if (!waiting) return;
    if (waiting.lines) {
      waiting.lines.push(line);
    } else {
      waiting.reply = parseReply(line);
      const n = waiting.listing ? listingCount(waiting.reply) : null;
      waiting.lines = [];
      waiting.expect = n || 0;
    }
    if (waiting.lines.length >= waiting.expect) {
      this.queue.shift();
      clearTimeout(waiting.timer);
      waiting.resolve({ reply: waiting.reply, lines: waiting.lines });
      if (!waiting.reply.ok && CLOSING.includes(waiting.reply.code)) this.dropped(sockets);
    }
  }

  onRecvLine(sockets, line) {
    if (sockets !== this.sockets) return;
    this.dispatchEvent(new CustomEvent('frame', { detail: { port: 'receive', dir: 'in', line } }));
    if (!sockets.recvUp) {
      const reply = parseReply(line);
      if (reply && reply.ok && !sockets.versionOk) {
        sockets.versionOk = true; // the OK of VERSION:1.2; the login's follows
      } else if (reply && reply.ok) {
        sockets.recvUp = true;
        this.up(sockets);
      } else if (reply && reply.code === 'RATE_LIMITED') {
        this.throttled(sockets, reply);
      } else {
        this.refused(reply || { ok: false, code: 'BAD_REQUEST', reason: line });
      }
      return;
    }
    const event = parseEvent(line);
    if (!event) return;
    if (event.kind === 'PING') {
      this.sendRecv(request.pong());
      return;
    }
    if (event.kind === 'BYE') {
      if (event.reason === 'REPLACED') {
        // Another tab of this browser (the same device) took over: do not fight it.
        this.stop();
        this.setStatus('replaced');
      } else if (event.reason === 'DISABLED') {
        // The server's administrator disabled the account: trying again would only be refused.
        this.stop();
        this.setStatus('disabled');
      } else if (event.reason === 'UNLINKED') {
        // Unlinked from another device, or (1.2) the account deleted from
        // this one (account.js sets `deleting`): logged out for good.
        this.stop();
        this.setStatus(this.deleting ? 'deleted' : 'unlinked');
      }
      return; // the socket closes next, and `dropped` reconnects
    }
    this.dispatchEvent(new CustomEvent('event', { detail: event }));
    if (event.seq !== undefined) this.sendRecv(request.ack(event.seq));
  }

  sendRecv(line) {
    const sockets = this.sockets;
    if (sockets && sockets.recv.readyState === WebSocket.OPEN) {
      sockets.recv.send(line);
      this.dispatchEvent(new CustomEvent('frame', { detail: { port: 'receive', dir: 'out', line } }));
    }
  }

  /**
   * Sends one request line; resolves with `{reply, lines}` (lines: a
   * listing's), rejects with Error('offline') if the link is down or
   * drops before the reply.
   */
  request(line) {
    const sockets = this.sockets;
    if (!sockets || this.status !== 'online' || sockets.send.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error('offline'));
    }
    return new Promise((resolve, reject) => {
      const waiting = { line, listing: isListing(line), resolve, reject };
      waiting.timer = setTimeout(() => this.dropped(sockets), REPLY_MS);
      this.queue.push(waiting);
      sockets.send.send(line);
      this.lastSent = Date.now();
      this.dispatchEvent(new CustomEvent('frame', { detail: { port: 'send', dir: 'out', line } }));
    });
  }
}

/** The wait a `KO:RATE_LIMITED` names (`…; try again in 4 s`, `… in 250 ms (--rate)`), in ms; null if none. */
export function waitOf(reason = '') {
  const m = /try again in ([0-9]{1,9}) (s|ms)\b/.exec(reason);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : null;
}
