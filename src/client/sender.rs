//! The sender thread: the only owner of the send connection.
//!
//! Why one thread owns it: replies come back in the order of the requests,
//! so whoever writes a request must be the one who reads its reply. With a
//! single owner, the console's input thread, the receiver thread (which
//! wakes it) and a bot's threads just put [`Job`]s in a channel and wait on
//! their own reply channel; nobody shares a socket.
//!
//! What it does, in a loop:
//!
//! 1. while offline, reconnect with a backoff (250 ms doubling up to 4 s);
//! 2. while online and the outbox is not empty, *drain* it: send up to
//!    [`BATCH`] messages pipelined (all requests, then all replies), mark each
//!    `RECEIVED ✓` on its `OK`, stop at the first failure so the order holds;
//! 3. answer [`Job::Request`]s (`USERS`, `HISTORY`, …);
//! 4. when idle for half the timeout (the shorter of ours and the
//!    server's, learned from `INFO`: [`super::keepalive`]), send `PING` so
//!    the server does not close the connection (protocol §7). A server whose `--timeout` is
//!    shorter than ours answers the first request after a long quiet with
//!    `KO:TIMEOUT` and closes: it never ran that request, so the thread
//!    dials again at once, sends it again, and from then on pings at half
//!    the quiet that was too long (see [`SenderThread::timed_out`]). The
//!    user sees neither the error nor an "offline" flicker;
//! 5. on [`Job::Check`], announce the P2P port again (`P2P:<port>`);
//! 6. (1.2) a message answered `KO:UNAVAILABLE` (a cluster node whose
//!    database is failing over) stays in the outbox with the rest behind
//!    it, and the outbox is sent again, same ids, after the reconnection
//!    backoff ([`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`](super::backoff::MAX_BACKOFF)), on the
//!    same connection: the user sees the message wait, not an error. A
//!    message answered `KO:RATE_LIMITED` (a class over its address's
//!    budget) waits the same way, as long as the server says;
//! 7. say the `READ`s the application owes, at most one per chat every
//!    two seconds ([`super::reads`]); one refused for the rate waits too.
//!
//! No refusal for the rate takes the client offline: the request was
//! not done, and the connection is as good as before.
//!
//! Every send connection asks the server who it is right after its login
//! (`SERVER`, see [`super::server_id`]), so the outbox never reaches a
//! server it was not written for.
//!
//! When the [`super::Client`] is dropped the channel disconnects; the thread
//! sends what is still in the outbox if it can, says `QUIT`, and returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::backoff::{FIRST_BACKOFF, longer, rate_wait, try_again};
use super::connection::Connection;
use super::link::why_offline;
use super::outbox::Unconfirmed;
use super::{Notice, Shared};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::Port;
use crate::protocol::{Accepted, Code, MsgState, Reply, Request};

/// Most messages sent before reading their replies. Bounded so that
/// neither side's socket buffer can fill while the other is not reading.
pub const BATCH: usize = 64;

/// Work for the sender thread.
pub enum Job {
    /// Send `request` and hand its reply (or why there is none) to `reply`.
    Request { request: Request, reply: Sender<Result<Reply>> },
    /// Send all of `requests` at once (pipelined), then read their replies,
    /// in order: one round trip for a list of questions. Only for requests
    /// that are safe to repeat (they are, after a lost connection).
    Requests { requests: Vec<Request>, reply: Sender<Result<Vec<Reply>>> },
    /// Look at the outbox now: a new message is in it.
    Wake,
    /// The receive connection was just lost or regained, so the server may
    /// have restarted: check the send connection with a `PING` (it may be
    /// dead without knowing it yet; with a P2P port, its announce does
    /// that, since the server forgot it), or reconnect now if offline. Without
    /// this, a dead send connection would be found only when next used, and
    /// the user would read "offline" a second time, after "back online".
    ///
    /// `done`, if given, is told once the check is over. A send connection
    /// that is new asked the server who it is ([`Shared::meet`]); one still
    /// alive is to the server it was to. So the receiver, which cannot ask
    /// on its own port, waits for this before it stores the events of a new
    /// receive connection: a folder kept for another server at the same
    /// address is moved aside first.
    Check { done: Option<Sender<()>> },
}

/// The state of the sender thread.
pub struct SenderThread {
    shared: Arc<Shared>,
    /// The send connection, logged in; `None` while offline.
    conn: Option<Connection>,
    /// When to try to reconnect next (while offline).
    retry_at: Instant,
    /// The wait after the next failure.
    backoff: Duration,
    /// The last time something was sent: `PING` after `ping_every` of quiet.
    last_sent: Instant,
    /// How much quiet before a `PING`: half our own timeout, shortened
    /// when the server proves to have a shorter one.
    ping_every: Duration,
    /// After `KO:UNAVAILABLE`: the outbox waits until then, and the wait
    /// after the next one.
    hold: Option<(Instant, Duration)>,
}

/// How long a closing client may wait for the server's limits to let its
/// outbox go (`SenderThread::finish`).
pub const FINISH_WITHIN: Duration = Duration::from_secs(5);

/// The shortest `ping_every` learned from a server (one `PING` in 250 ms
/// costs nothing; a shorter server timeout is not a usable one).
pub const MIN_PING_EVERY: Duration = Duration::from_millis(250);

/// `ping_every`, or sooner if the server's timeout (learned from `INFO` at
/// the last login, [`super::keepalive`]) asks for it.
fn learned_ping_every(shared: &Shared, ping_every: Duration) -> Duration {
    let wanted = super::keepalive::ping_every(shared.options.timeout, shared.server_timeout.get());
    ping_every.min(wanted.max(MIN_PING_EVERY))
}

impl SenderThread {
    pub fn new(shared: Arc<Shared>, conn: Option<Connection>) -> SenderThread {
        let now = Instant::now();
        let ping_every = learned_ping_every(&shared, shared.options.timeout / 2);
        SenderThread {
            shared,
            conn,
            retry_at: now + FIRST_BACKOFF,
            backoff: FIRST_BACKOFF,
            last_sent: now,
            ping_every,
            hold: None,
        }
    }

    /// Runs until every [`Job`] sender is dropped.
    pub fn run(mut self, jobs: Receiver<Job>) {
        loop {
            if self.conn.is_none() && Instant::now() >= self.retry_at {
                self.reconnect();
            }
            let held = self.hold.is_some_and(|(until, _)| Instant::now() < until);
            if self.conn.is_some() && !held && !self.shared.outbox.lock().is_empty() {
                let next = self.shared.outbox.lock().waiting(BATCH);
                let owed = self.shared.reads.lock().take_for(next.iter().map(|m| &m.to), Instant::now());
                self.say_reads(owed);
                self.drain();
                continue;
            }
            let reads_at = self.shared.reads.lock().next_at();
            if self.conn.is_some() && reads_at.is_some_and(|at| at <= Instant::now()) {
                let due = self.shared.reads.lock().take_due(Instant::now());
                self.say_reads(due);
                continue;
            }
            let wake_at = match (&self.conn, self.hold) {
                (Some(_), Some((until, _))) if held => until.min(self.last_sent + self.ping_every),
                (Some(_), _) => self.last_sent + self.ping_every,
                // Ended: no reconnection to wait for, only jobs.
                (None, _) if self.shared.is_ended() => Instant::now() + Duration::from_secs(3600),
                (None, _) => self.retry_at,
            };
            let wake_at = match reads_at {
                Some(at) if self.conn.is_some() => wake_at.min(at),
                _ => wake_at,
            };
            match jobs.recv_deadline(wake_at) {
                Ok(Job::Request { request, reply }) => {
                    // The asker may have given up waiting; nothing to do then.
                    let _ = reply.send(self.request(&request));
                }
                Ok(Job::Requests { requests, reply }) => {
                    let _ = reply.send(self.requests(&requests));
                }
                Ok(Job::Wake) => {}
                Ok(Job::Check { done }) => {
                    match self.conn {
                        None => self.reconnect(),
                        Some(_) => self.check(),
                    }
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
                Err(RecvTimeoutError::Timeout) if self.conn.is_some() => self.ping(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.finish(),
            }
        }
    }

    /// One attempt to connect and log in; on failure, the next one is
    /// scheduled after a longer wait.
    fn reconnect(&mut self) {
        if self.shared.is_ended() {
            return;
        }
        match self.shared.open(Port::Send) {
            Ok(conn) => {
                self.conn = Some(conn);
                self.ping_every = learned_ping_every(&self.shared, self.ping_every);
                self.backoff = FIRST_BACKOFF;
                self.last_sent = Instant::now();
                self.shared.link.set(Port::Send, true, String::new);
            }
            Err(e) => {
                log::debug!("send port: {e}");
                if self.shared.ended_by(&e) {
                    return;
                }
                self.retry_at = Instant::now() + self.backoff;
                self.backoff = longer(self.backoff);
                self.shared.link.set(Port::Send, false, || why_offline(&e));
            }
        }
    }

    /// The connection failed: drop it and come back after a short wait.
    fn lost(&mut self, e: &Error) {
        log::debug!("send port: {e}");
        self.conn = None;
        self.retry_at = Instant::now() + self.backoff;
        self.shared.link.set(Port::Send, false, || why_offline(e));
    }

    /// Sends one request and reads its reply. A connection that turns out
    /// to be dead (the server restarted while we were quiet) is replaced once
    /// at once and the request sent again: every request that comes here is
    /// safe to repeat (messages go through the outbox instead).
    fn request(&mut self, request: &Request) -> Result<Reply> {
        let mut replies = self.pipelined(std::slice::from_ref(request))?;
        Ok(replies.remove(0))
    }

    /// Several requests pipelined, [`BATCH`] at a time (all written, then
    /// their replies read: never so many that both sides' buffers could
    /// fill while neither reads). Like [`SenderThread::request`], a dead
    /// connection is replaced once and the batch sent again.
    fn requests(&mut self, requests: &[Request]) -> Result<Vec<Reply>> {
        let mut replies = Vec::with_capacity(requests.len());
        for batch in requests.chunks(BATCH) {
            replies.extend(self.pipelined(batch)?);
        }
        Ok(replies)
    }

    fn pipelined(&mut self, requests: &[Request]) -> Result<Vec<Reply>> {
        let mut retried = false;
        loop {
            let conn = self.conn.as_mut().ok_or(Error::Offline)?;
            let quiet = self.last_sent.elapsed();
            self.last_sent = Instant::now();
            let replies = requests
                .iter()
                .try_for_each(|r| conn.write_request(r))
                .and_then(|()| requests.iter().map(|r| conn.read_reply(r)).collect::<Result<Vec<_>>>());
            match replies {
                Ok(replies) => {
                    let closing = replies.iter().zip(requests).find_map(|(reply, request)| match reply {
                        Reply::Ko(ko) if ko.code.closes_connection() => Some((request, ko)),
                        _ => None,
                    });
                    match closing {
                        // The server closed the connection for its quiet
                        // before reading these: none of them ran.
                        Some((_, ko)) if ko.code == Code::Timeout && !retried => {
                            retried = true;
                            self.timed_out(quiet);
                            continue;
                        }
                        Some((request, ko)) => {
                            self.lost(&Error::Refused { request: request.redacted(), ko: ko.clone() })
                        }
                        None => self.shared.link.set(Port::Send, true, String::new),
                    }
                    return Ok(replies);
                }
                Err(e) => {
                    if retried {
                        self.lost(&e);
                        return Err(e);
                    }
                    // Dialled again at once: "offline" is said only if
                    // that fails too (a server restarted while we were
                    // quiet is not worth a flicker on the screen).
                    log::debug!("send port: {e}");
                    retried = true;
                    self.conn = None;
                    self.reconnect();
                }
            }
        }
    }

    /// The server closed the send connection after `quiet` without a
    /// request (`KO:TIMEOUT`): its `--timeout` is shorter than that, so
    /// ping at half of it from now on (halving again if that is still too
    /// long), and dial again without telling the user: nothing was lost.
    fn timed_out(&mut self, quiet: Duration) {
        let learned = (quiet.min(self.ping_every * 2) / 2).max(MIN_PING_EVERY);
        if learned < self.ping_every {
            log::debug!("the server's timeout is under {quiet:?}: PING every {learned:?}");
            self.ping_every = learned;
        }
        self.conn = None;
        self.reconnect();
    }

    /// After the receive port reconnected: the server forgot our P2P port
    /// with the old receive connection, so say it again (which checks the
    /// send connection as well as a `PING` would); without one, `PING`.
    fn check(&mut self) {
        let Some(port) = self.shared.p2p_port else { return self.ping() };
        match self.request(&Request::P2p { port }) {
            Ok(Reply::Ok) => {}
            Ok(other) => log::debug!("P2P:{port} answered {other:?}"),
            Err(e) => log::debug!("P2P:{port}: {e}"),
        }
    }

    /// Says the `READ`s `due`, pipelined (see [`super::reads`]): those
    /// due by their pace, or those owed in the chats the outbox is about
    /// to write to, so that a reply never reaches its reader before the
    /// tick that says its question was read. One refused for the rate
    /// waits as long as the server says, with those behind it; one the
    /// server cannot take (a message it no longer has) is dropped; without
    /// a connection, they all wait.
    fn say_reads(&mut self, due: Vec<super::reads::Due>) {
        if due.is_empty() {
            return;
        }
        let requests: Vec<Request> =
            due.iter().map(|d| Request::Read { chat: d.chat.clone(), id: d.id.clone() }).collect();
        let replies = match self.requests(&requests) {
            Ok(replies) => replies,
            Err(e) => {
                log::debug!("READ: {e}");
                let mut reads = self.shared.reads.lock();
                due.into_iter().for_each(|d| reads.put_back(d));
                return;
            }
        };
        let mut reads = self.shared.reads.lock();
        for (read, reply) in due.into_iter().zip(replies) {
            match reply {
                Reply::Ok => {}
                Reply::Ko(ko) if rate_wait(&ko).is_some() => {
                    reads.hold(Instant::now() + rate_wait(&ko).unwrap_or(FIRST_BACKOFF));
                    reads.put_back(read);
                }
                other => log::debug!("READ:{}:{} answered {:?}", read.chat, read.id, other.to_string()),
            }
        }
    }

    fn ping(&mut self) {
        match self.request(&Request::Ping) {
            Ok(Reply::Ok) => {}
            Ok(other) => log::debug!("PING answered {other:?}"),
            Err(e) => log::debug!("PING: {e}"),
        }
    }

    /// Sends the next batch of the outbox, pipelined, and settles each reply.
    fn drain(&mut self) {
        let batch = self.shared.outbox.lock().waiting(BATCH);
        let Some(conn) = self.conn.as_mut() else { return };
        let quiet = self.last_sent.elapsed();
        self.last_sent = Instant::now();
        let requests: Vec<Request> = batch
            .iter()
            .map(|m| Request::Msg { to: m.to.clone(), id: m.id.clone(), text: m.text.clone() })
            .collect();
        let mut settled = Vec::new();
        let mut outcome = requests.iter().try_for_each(|r| conn.write_request(r));
        if outcome.is_ok() {
            for (message, request) in batch.iter().zip(&requests) {
                let reply = match conn.read_reply(request) {
                    Ok(reply) => reply,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                };
                // Past the first failure the replies are still read, so
                // that the connection stays in step, and their messages
                // stay in the outbox, the order kept: sent again with the
                // same ids, one the server took meanwhile is recognised.
                if outcome.is_ok() {
                    match self.shared.settle(message, reply) {
                        Ok(notice) => settled.push(notice),
                        Err(e) => outcome = Err(e),
                    }
                }
            }
        }
        // The RECEIVED rows must be on disk before the outbox forgets the
        // messages; if the disk fails, the outbox keeps them (resent later,
        // which is harmless).
        let stored = self.shared.log.lock().sync();
        let confirmed = stored.and_then(|()| self.shared.outbox.lock().confirm(settled.len()));
        // The ticks are shown once all that is done: a `✓` on the screen
        // means the outbox no longer holds the message.
        if confirmed.is_ok() {
            let log = self.shared.log.lock();
            self.shared.tell(&log, settled.into_iter().flatten().collect());
        }
        match outcome.and(confirmed) {
            Ok(()) => {
                self.hold = None;
                self.shared.link.set(Port::Send, true, String::new)
            }
            // The server cannot store it now (a failover): the same ids
            // again after a pause, on the same connection.
            Err(Error::Refused { ko, .. }) if try_again(ko.code) => {
                let wait = self.hold.map_or(FIRST_BACKOFF, |(_, wait)| longer(wait));
                log::debug!("send port: {}; sending the outbox again in {wait:?}", ko.reason);
                self.hold = Some((Instant::now() + wait, wait));
            }
            // Over the server's budget of requests: the same ids again once
            // it has refilled, as long as the server says, on the same
            // connection. The user sees the message wait (`…`), not
            // "offline".
            Err(Error::Refused { ko, .. }) if rate_wait(&ko).is_some() => {
                let wait = rate_wait(&ko).unwrap_or(FIRST_BACKOFF);
                log::debug!("send port: {}; sending the outbox again in {wait:?}", ko.reason);
                self.hold = Some((Instant::now() + wait, wait));
            }
            // Timed out before it read the first message: it stored none of
            // the rest either, the outbox still has them all.
            Err(Error::Refused { ko, .. }) if ko.code == Code::Timeout => self.timed_out(quiet),
            Err(e) => self.lost(&e),
        }
    }

    /// The client is closing: deliver what the outbox holds if the server
    /// can be reached (one attempt, waiting out a refusal that says to
    /// wait, [`FINISH_WITHIN`] at most: what is left is sent at the next
    /// start), say the `READ`s owed now, then say goodbye.
    fn finish(mut self) {
        let deadline = Instant::now() + FINISH_WITHIN;
        if !self.shared.outbox.lock().is_empty() {
            if self.conn.is_none() {
                self.reconnect();
            }
            while self.conn.is_some() && !self.shared.outbox.lock().is_empty() {
                if let Some((until, _)) = self.hold {
                    if until > deadline {
                        break;
                    }
                    std::thread::sleep(until.saturating_duration_since(Instant::now())); // as the server said
                }
                self.drain();
            }
        }
        let reads = self.shared.reads.lock().take_all();
        if self.conn.is_some() && !reads.is_empty() {
            let requests: Vec<Request> =
                reads.into_iter().map(|d| Request::Read { chat: d.chat, id: d.id }).collect();
            let _ = self.requests(&requests);
        }
        if let Some(conn) = self.conn.as_mut() {
            let _ = conn.request(&Request::Quit);
        }
    }
}

impl Shared {
    /// Applies the server's reply to one message of the outbox, and says
    /// what to tell the application. `Err` means "stop here and keep the
    /// rest for later"; a refusal for good is not an error (the message is
    /// marked refused and the next one goes on).
    fn settle(&self, message: &Unconfirmed, reply: Reply) -> Result<Option<Notice>> {
        match reply {
            Reply::OkWith(fields) => {
                let ts = Accepted::parse(&fields).map_or(message.ts, |accepted| accepted.ts);
                let mut log = self.log.lock();
                // Normally logged as SENT by `Client::send`; after a crash
                // between the outbox and the log it may be missing.
                let moved = match log.get(&self.me, &message.id) {
                    Some(_) => log.advance(&self.me, &message.id, MsgState::Received, ts)?,
                    None => log.add(self.as_logged(message, MsgState::Received, ts))?,
                };
                let state = Notice::State {
                    to: message.to.clone(),
                    id: message.id.clone(),
                    state: MsgState::Received,
                };
                Ok(moved.then_some(state))
            }
            // For good: resending would be refused again (1.2's FORBIDDEN:
            // muted, an announce-only room; sent again later, it would
            // arrive out of its time).
            Reply::Ko(ko)
                if matches!(
                    ko.code,
                    Code::UnknownUser | Code::NotMember | Code::BadRequest | Code::Forbidden
                ) =>
            {
                self.log.lock().refuse(&self.me, &message.id, &ko.reason)?;
                Ok(Some(Notice::Refused {
                    to: message.to.clone(),
                    id: message.id.clone(),
                    code: Some(ko.code),
                    reason: ko.reason,
                }))
            }
            Reply::Ko(ko) => Err(Error::Refused { request: tr!(Msg::ReqSend, to = message.to), ko }),
            other => {
                let reply = format!("{:?}", other.to_string().trim_end());
                Err(Error::Protocol(format!("MSG: {}", tr!(Msg::UnexpectedReply, reply = reply))))
            }
        }
    }
}
