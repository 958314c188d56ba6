//! The send-port handler: one thread per connection, reading requests and
//! answering each with exactly one reply, in order.
//!
//! Pipelining: a client may send many requests before reading replies.
//! The handler answers every request that is already buffered, and sends
//! all the replies in *one* `write()`. With 100 requests in flight that is
//! one fsync and one system call for 100 messages.
//!
//! Replies that only wait for the disk (`OK`s of `MSG`) are not waited
//! for: the handler leaves them with the store, which writes them from
//! the thread that made them durable, and goes back to reading (see
//! [`replies`](super::replies), which keeps them in order with the rest).
//! Every other batch of replies waits for the disk here, then goes out.
//!
//! What a client that never reads its replies can cost is bounded: replies
//! are written as soon as `REPLY_BUDGET` bytes of them wait, a chunk of
//! at most `CHUNK` bytes at a time, and each chunk must be taken by the
//! client within `--timeout` or the connection is dropped. Listings are
//! capped ([`MAX_HISTORY`] messages in [`MAX_HISTORY_BYTES`], [`MAX_LISTING`]
//! lines).

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::log_limit::log_limited;
use super::replies::{RETRY_FLUSH, Replies};
use super::{Ctx, accounts, actions, auth, moderation, p2p, prefs, presence, relay, search};
use crate::protocol::{
    Code, FrameError, FrameReader, Ko, MAX_HISTORY, MAX_HISTORY_BYTES, MAX_LISTING, Reply, Request,
};
use crate::store::{Outgoing, Ticket, UserId};
use crate::transport::Stream;

/// Read buffer of a send connection: room for a burst of pipelined requests.
const READ_BUFFER: usize = 16 * 1024;

/// Replies waiting to be written past which they are written before the
/// next request is read, so that pipelined listings never pile up.
const REPLY_BUDGET: usize = 64 * 1024;

/// How long a send connection waits, its refusal sent, before it reads on
/// after a `KO:RATE_LIMITED`. A client that ignores the refusal and
/// hammers on would otherwise make the server refuse ~80,000 requests a
/// second from 12 connections, a whole core (issue 38, `abuse search`);
/// paused, a connection is refused at most 20 times a second. An honest
/// client waits longer than this anyway ("try again in N ms").
const RATE_PAUSE: Duration = Duration::from_millis(50);

/// Bytes of replies formatted ahead of the socket at most.
const CHUNK: usize = 64 * 1024;

/// Serves one send-port connection until it closes; returns its socket
/// for the caller to close (after giving back the connection's slot).
///
/// One socket, one file descriptor: the registry (for shutdown) shares it
/// through an `Arc`, and reading and writing both go through `&stream`.
pub fn serve(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>) -> Arc<Stream> {
    let stream = Arc::new(stream);
    let id = ctx.connections.add(&stream);
    let reader = FrameReader::new(&*stream, READ_BUFFER, ctx.config.max_frame);
    let mut session = Session {
        ctx,
        stream: &stream,
        peer,
        reader,
        user: None,
        replies: Vec::new(),
        queued: 0,
        out: String::new(),
        output: Arc::new(Replies::new(stream.clone())),
        ticket: None,
        in_flight: None,
        msgs: Vec::new(),
        member_changes: Vec::new(),
        first_read: None,
        conn_id: id,
        device: None,
        refused_for_rate: false,
    };
    if let Err(e) = session.run() {
        if Stream::is_plaintext_client(&e) {
            super::refuse_plaintext(ctx, &stream, peer);
        } else if e.kind() == io::ErrorKind::TimedOut {
            let timeout = ctx.config.timeout.as_secs();
            log_limited!(ctx.logs.dropped, info, "{peer}: did not read its replies for {timeout} s: dropped");
        } else {
            log::debug!("{peer}: send connection: {e}");
        }
    }
    if let Some((user, _)) = &session.user {
        ctx.router.sends.remove(*user, id);
    }
    ctx.connections.remove(id);
    stream
}

/// What to do after a request.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

struct Session<'a> {
    /// A request of this connection was just refused `KO:RATE_LIMITED`:
    /// the connection pauses ([`RATE_PAUSE`]) before it reads on.
    refused_for_rate: bool,
    ctx: &'a Ctx,
    stream: &'a Arc<Stream>,
    peer: SocketAddr,
    reader: FrameReader<&'a Stream>,
    /// The logged-in user, once `LOGIN`/`REGISTER` succeeded.
    user: Option<(UserId, Arc<str>)>,
    /// Replies not written yet; `true` marks one that is only valid once
    /// `ticket` is durable.
    replies: Vec<(Reply, bool)>,
    /// About how many bytes `replies` will take on the wire.
    queued: usize,
    /// The chunk being formatted for the socket (kept for its capacity).
    out: String,
    /// The connection's output, in the order of the requests, shared with
    /// the threads that write replies once they are durable.
    output: Arc<Replies>,
    /// The batch holding the records of the replies above.
    ticket: Option<Ticket>,
    /// The newest ticket whose replies were left with the store: a read
    /// waits for it (a client sees its own writes).
    in_flight: Option<Ticket>,
    /// Consecutive `MSG`s not applied yet: a pipelined burst is handed to
    /// the store in one go (one lock, see `Backend::send`).
    msgs: Vec<Outgoing>,
    /// Rooms this user joined (`true`) or left, to tell their members
    /// (protocol 1.1's `MEMBER`) once that is on disk.
    member_changes: Vec<(String, bool)>,
    /// When the oldest request whose reply is not written yet was read:
    /// the start of the request latency the metrics measure.
    first_read: Option<Instant>,
    /// This connection's number among the server's (`Router::sends`).
    conn_id: u64,
    /// 1.2: the device its `LOGIN` named (`None`: `default`), which a
    /// `PASSWD` keeps logged in.
    device: Option<String>,
}

impl Session<'_> {
    fn run(&mut self) -> std::io::Result<()> {
        loop {
            let deadline = Instant::now() + self.ctx.config.timeout;
            let frame = loop {
                // While replies are on their way, wake up now and then to
                // write what the kernel did not take from the thread that
                // had them ready.
                let wake =
                    if self.output.busy() { deadline.min(Instant::now() + RETRY_FLUSH) } else { deadline };
                match self.reader.read_frame(Some(wake)) {
                    Err(FrameError::TimedOut) if Instant::now() < deadline => {
                        self.output.flush();
                        if self.output.stalled_for() >= self.ctx.config.timeout {
                            return Err(io::Error::new(io::ErrorKind::TimedOut, "replies not read"));
                        }
                    }
                    other => break other.map(str::to_string),
                }
            };
            let flow = match frame {
                Ok(line) => self.handle(&line),
                Err(FrameError::NotUtf8) => self.refuse(Ko::new(Code::BadRequest, "the frame is not UTF-8")),
                Err(FrameError::TooLong) => {
                    let limit = self.ctx.config.max_frame;
                    self.refuse(Ko::new(Code::TooLong, format!("a frame is at most {limit} bytes")))
                }
                Err(FrameError::TimedOut) => self.refuse(Ko::new(Code::Timeout, "no request for too long")),
                Err(FrameError::Closed) => Flow::Close,
                Err(FrameError::Io(e)) => return Err(e),
            };
            if flow == Flow::Close
                || !self.reader.has_frame()
                || self.queued >= REPLY_BUDGET
                || self.refused_for_rate
            {
                self.flush()?;
            }
            if std::mem::take(&mut self.refused_for_rate) && flow != Flow::Close {
                std::thread::sleep(RATE_PAUSE); // holding no lock: this connection's thread only
            }
            if flow == Flow::Close {
                // Replies still on their way go out before the connection closes.
                return self.output.drain(Instant::now() + self.ctx.config.timeout);
            }
        }
    }

    /// Queues a reply (`durable`: valid only once `ticket` is on disk)
    /// behind those of every request read before it. Every reply comes
    /// through here, so the `MSG`s still gathered for the store go to it
    /// first and their replies take their places: no reply, a refusal
    /// least of all (a line that does not parse, a frame too long), can
    /// overtake them.
    fn queue(&mut self, reply: Reply, durable: bool) {
        self.send_msgs();
        self.queued += match &reply {
            Reply::Listing(lines) => 16 + lines.iter().map(|line| line.len() + 1).sum::<usize>(),
            _ => 64,
        };
        self.replies.push((reply, durable));
    }

    /// Queues a `KO`; closes the connection if its code says so.
    fn refuse(&mut self, ko: Ko) -> Flow {
        crate::metrics::get().ko(ko.code);
        self.refused_for_rate |= ko.code == Code::RateLimited;
        let flow = if ko.code.closes_connection() { Flow::Close } else { Flow::Continue };
        self.queue(Reply::Ko(ko), false);
        flow
    }

    fn reply(&mut self, result: Result<Reply, Ko>) -> Flow {
        match result {
            Ok(reply) => {
                self.queue(reply, false);
                Flow::Continue
            }
            Err(ko) => self.refuse(ko),
        }
    }

    /// A reply that is true only once `ticket` is on disk.
    fn reply_durable(&mut self, result: Result<(Reply, Ticket), Ko>) -> Flow {
        match result {
            Ok((reply, ticket)) => {
                self.ticket = self.ticket.max(Some(ticket));
                self.queue(reply, true);
                Flow::Continue
            }
            Err(ko) => self.refuse(ko),
        }
    }

    fn handle(&mut self, line: &str) -> Flow {
        self.first_read.get_or_insert_with(Instant::now);
        let Some((user, name)) = self.user.clone() else {
            return match auth::authenticate(self.ctx, line, self.peer.ip()) {
                auth::Outcome::LoggedIn(id, name) => {
                    self.device = auth::login_device(line);
                    let device = self.device.as_deref();
                    self.ctx.devices.open_session(self.ctx, (id, &name), self.conn_id, device, self.stream);
                    self.queue(Reply::with(name.as_ref()), false);
                    self.user = Some((id, name));
                    Flow::Continue
                }
                auth::Outcome::Refused(ko) => self.refuse(ko),
                auth::Outcome::Paired(token) => {
                    self.queue(Reply::OkWith(token), false);
                    Flow::Continue
                }
            };
        };
        let request = match Request::parse(line) {
            Ok(request) => capped(request),
            Err(ko) => return self.refuse(ko),
        };
        if !matches!(request, Request::Msg { .. }) {
            // The store applies (and the rate meters) the `MSG`s before
            // this request: a `READ` or `HISTORY` right behind a `MSG` sees it.
            self.send_msgs();
            if let Err(ko) = self.ctx.meter(user, self.peer.ip(), cost(&request)) {
                log_limited!(self.ctx.logs.throttled, info, "{}: {name} throttled (--rate)", self.peer);
                return self.refuse(ko);
            }
        }
        let store = &self.ctx.store;
        match request {
            Request::Login { .. }
            | Request::Register { .. }
            | Request::Redeem { .. }
            | Request::Pair { .. } => {
                self.refuse(Ko::new(Code::BadRequest, format!("already logged in as {name}")))
            }
            Request::Devices => self.reply(Ok(Reply::listing(self.ctx.devices.list(self.ctx, user, &name)))),
            Request::Unlink { device } => self.unlink(user, &name, &device),
            Request::Link => self
                .reply(self.ctx.devices.link_from(self.ctx, (user, &name), self.conn_id).map(Reply::OkWith)),
            // An action's id was refused by `Request::parse` (`action::check_sent_id`).
            Request::Msg { to, id, text } => {
                self.msgs.push((to, id, text));
                Flow::Continue
            }
            Request::Read { chat, id } => {
                self.reply_durable(store.read(user, &chat, &id).map(|t| (Reply::Ok, t)))
            }
            Request::Join { room } => {
                let changes = !presence::is_member(self.ctx, user, &room);
                let joined = store.join(user, &room);
                if joined.is_ok() && changes {
                    self.member_changes.push((room, true));
                }
                self.reply_durable(joined.map(|t| (Reply::Ok, t)))
            }
            Request::Leave { room } => {
                let left = store.leave(user, &room);
                if left.is_ok() {
                    self.member_changes.push((room, false));
                }
                self.reply_durable(left.map(|t| (Reply::Ok, t)))
            }
            Request::Users => self.reply(Ok(listing(self.ctx.online_names()))),
            Request::Rooms => self.reply(store.rooms(user).map(listing)),
            Request::Chats => {
                self.settle();
                self.reply(store.chats(user).map(listing))
            }
            Request::History { chat, limit } => {
                self.settle();
                // The newest lines within MAX_HISTORY_BYTES, read from the
                // store's log outside its locks.
                let lines = store.history(user, &chat, limit, MAX_HISTORY_BYTES).and_then(|l| l.collect());
                // 1.2: edits and deletions shown in place (`actions`).
                let shown = lines.and_then(|l| Ok(actions::shown(store.actions_since()?, l)));
                self.reply(shown.map(Reply::Listing))
            }
            Request::P2p { .. } | Request::Peer { .. } if self.ctx.config.tls.is_some() => {
                self.refuse(p2p::not_with_tls())
            }
            Request::P2p { port } => {
                p2p::announce(self.ctx, user, port);
                self.reply(Ok(Reply::Ok))
            }
            Request::Peer { user: peer } => {
                self.reply(p2p::introduce(self.ctx, &name, &peer).map(Reply::with))
            }
            Request::LastSeen { user: whom } => {
                self.reply(presence::last_seen(self.ctx, user, &whom).map(Reply::with))
            }
            Request::Members { room } => self.reply(presence::members(self.ctx, user, &room).map(listing)),
            Request::Server => self.reply(store.server_id().map(Reply::with)),
            Request::Typing { to } => {
                self.reply(relay::typing(self.ctx, user, &name, &to).map(|()| Reply::Ok))
            }
            Request::Moderate { room, action } => {
                self.settle(); // its notice follows this session's messages
                self.reply(moderation::moderate(self.ctx, user, &name, &room, action).map(|()| Reply::Ok))
            }
            Request::RoomInfo { room } => {
                self.reply(moderation::room_info(self.ctx, user, &room).map(listing))
            }
            Request::Reply { to, id, re, text } => {
                self.settle();
                self.reply_durable(actions::reply(self.ctx, user, &to, &id, &re, &text))
            }
            Request::Edit { to, id, text } => {
                self.settle();
                self.reply_durable(actions::edit(self.ctx, user, &name, &to, &id, &text))
            }
            Request::Delete { to, id, author } => {
                self.settle();
                self.reply_durable(actions::delete(self.ctx, user, &name, &to, &id, author.as_deref()))
            }
            Request::React { to, id, emoji } => {
                self.settle();
                self.reply_durable(actions::react(self.ctx, user, &name, &to, &id, &emoji))
            }
            Request::Search { scope, query } => {
                self.settle();
                let searched = search::search(self.ctx, user, &scope, &query);
                if let Ok(s) = &searched {
                    let owed = search::extra_cost(&scope, s.bytes_read);
                    self.ctx.charge(user, self.peer.ip(), owed);
                }
                self.reply(searched.map(|s| Reply::listing(s.found)))
            }
            Request::Info => self.reply(Ok(listing(super::info::info(&self.ctx.config)))),
            Request::Passwd { old, new, keep } => {
                let me = self.asker(user, &name);
                self.reply(accounts::passwd(self.ctx, &me, &old, &new, keep).map(|()| Reply::Ok))
            }
            Request::DelAccount { password } => self.delete_account(user, &name, &password),
            // 1.2 (§21): blocks and chat preferences (`server::prefs`).
            Request::Block { user: whom } => {
                self.reply(prefs::block(self.ctx, user, &whom, true).map(|()| Reply::Ok))
            }
            Request::Unblock { user: whom } => {
                self.reply(prefs::block(self.ctx, user, &whom, false).map(|()| Reply::Ok))
            }
            Request::Blocks => self.reply(prefs::blocks(self.ctx, user).map(listing)),
            Request::Notify { chat, level } => {
                self.reply(prefs::notify(self.ctx, user, &chat, level).map(|()| Reply::Ok))
            }
            Request::Pin { chat, pinned } => {
                self.reply(prefs::pin(self.ctx, user, &chat, pinned).map(|()| Reply::Ok))
            }
            Request::Prefs => self.reply(prefs::prefs(self.ctx, user).map(listing)),
            Request::Ping => self.reply(Ok(Reply::Ok)),
            Request::Quit => {
                self.queue(Reply::Ok, false);
                Flow::Close
            }
        }
    }

    /// 1.2 `DELACCOUNT`: on the `OK`, this connection closes too. (A
    /// function of its own: the big `match` above keeps its frame small,
    /// which a debug build's 128 KiB thread stack needs.)
    fn delete_account(&mut self, user: UserId, name: &str, password: &str) -> Flow {
        let me = self.asker(user, name);
        match accounts::delete_account(self.ctx, &me, password) {
            Ok(()) => {
                self.queue(Reply::Ok, false);
                Flow::Close // the account is gone: so is its session
            }
            Err(ko) => self.reply(Err(ko)),
        }
    }

    /// 1.2 `UNLINK`: a device that unlinks itself is logged out too, this
    /// connection closing after its `OK` (issue 38).
    fn unlink(&mut self, user: UserId, name: &str, device: &str) -> Flow {
        match self.ctx.devices.unlink(self.ctx, (user, name), device, self.conn_id) {
            Ok(()) => {
                self.queue(Reply::Ok, false);
                let mine = self.device.as_deref().unwrap_or(crate::protocol::DEFAULT_DEVICE);
                if mine.eq_ignore_ascii_case(device) { Flow::Close } else { Flow::Continue }
            }
            Err(ko) => self.reply(Err(ko)),
        }
    }

    /// Who this session is, for `server::accounts`.
    fn asker<'s>(&'s self, user: UserId, name: &'s str) -> accounts::Asker<'s> {
        let (peer, conn_id, device) = (self.peer.ip(), self.conn_id, self.device.as_deref());
        accounts::Asker { user, name, peer, conn_id, device }
    }

    /// Hands the queued `MSG`s to the store and queues their replies.
    fn send_msgs(&mut self) {
        let Some((user, _)) = &self.user else { return };
        if self.msgs.is_empty() {
            return;
        }
        let user = *user;
        // Messages past the user's rate are refused one by one; the rest
        // go to the store together.
        let limited: Vec<Option<Ko>> = self.msgs.iter().map(|_| self.over_rate(user)).collect();
        // Taken before any reply is queued: `queue` finds none left to send.
        let msgs = std::mem::take(&mut self.msgs);
        let allowed: Vec<Outgoing> = if limited.iter().all(Option::is_none) {
            msgs // the common case: the burst is moved, not copied
        } else {
            msgs.into_iter().zip(&limited).filter(|(_, ko)| ko.is_none()).map(|(m, _)| m).collect()
        };
        let (results, ticket) = self.ctx.store.send(user, &allowed);
        let mut results = results.into_iter();
        for ko in limited {
            match ko {
                Some(ko) => drop(self.refuse(ko)),
                None => {
                    let result = results.next().expect("one result per allowed message");
                    self.reply_durable(result.map(|accepted| (Reply::with(accepted), ticket)));
                }
            }
        }
    }

    /// `Some(KO:RATE_LIMITED)` if `user` has no request left this instant.
    fn over_rate(&self, user: UserId) -> Option<Ko> {
        let ko = self.ctx.meter(user, self.peer.ip(), 1).err()?;
        log_limited!(self.ctx.logs.throttled, info, "{}: user #{user} throttled (--rate)", self.peer);
        Some(ko)
    }

    /// Waits until this session's writes are on disk. Reads call it first:
    /// the store shows only what is on disk, and a client must see its own
    /// writes. If the disk failed, the replies that promised it become
    /// `KO:INTERNAL`.
    fn settle(&mut self) {
        self.send_msgs();
        let Some(ticket) = self.ticket.take().max(self.in_flight.take()) else { return };
        let stored = self.ctx.store.wait(ticket);
        for (reply, durable) in &mut self.replies {
            if let (Err(ko), true) = (&stored, *durable) {
                *reply = Reply::Ko(ko.clone());
            }
            *durable = false;
        }
        let changes = std::mem::take(&mut self.member_changes);
        if let (Ok(()), Some((user, name))) = (stored, &self.user) {
            for (room, joined) in changes {
                presence::tell_members(self.ctx, *user, name, &room, joined);
            }
        }
    }

    /// Writes every queued reply: leaves them with the store if they only
    /// wait for the disk; else waits for the disk if needed, then writes
    /// them (after those still on their way) at once if they fit in a
    /// chunk (the common case, one `write()`), else a chunk at a time.
    fn flush(&mut self) -> io::Result<()> {
        self.send_msgs();
        self.queued = 0;
        if self.replies.is_empty() {
            return Ok(());
        }
        if let Some(ticket) = self.ticket.filter(|_| self.only_waits_for_the_disk()) {
            self.ticket = None;
            return self.leave_with_store(ticket);
        }
        self.settle();
        self.output.drain(Instant::now() + self.ctx.config.timeout)?;
        let mut out = Chunks {
            stream: self.stream,
            buf: std::mem::take(&mut self.out),
            timeout: self.ctx.config.timeout,
            error: None,
        };
        let replies = self.replies.len();
        for (reply, _) in self.replies.drain(..) {
            if write!(out, "{reply}").is_err() {
                break;
            }
        }
        let result = out.send();
        observe_latency(self.first_read.take(), replies);
        self.out = out.buf;
        self.out.clear();
        self.out.shrink_to(2 * CHUNK);
        result
    }
}

impl Session<'_> {
    /// True if the queued replies need nothing but their records on disk:
    /// no listing (long replies are written by this thread, a chunk at a
    /// time) and no room members to tell.
    fn only_waits_for_the_disk(&self) -> bool {
        self.member_changes.is_empty() && !self.replies.iter().any(|(r, _)| matches!(r, Reply::Listing(_)))
    }

    /// Hands the queued replies to the store, to be written once `ticket`
    /// is durable by the thread that makes it so; this thread goes back to
    /// reading. Their place in the output is taken now.
    fn leave_with_store(&mut self, ticket: Ticket) -> io::Result<()> {
        let number = self.output.reserve();
        let replies = std::mem::take(&mut self.replies);
        let output = self.output.clone();
        self.in_flight = self.in_flight.max(Some(ticket));
        let first_read = self.first_read.take();
        self.ctx.store.when_durable(
            ticket,
            Box::new(move |stored| {
                let count = replies.len();
                output.fill(number, encode(replies, stored));
                observe_latency(first_read, count);
            }),
        );
        // A client that does not read its replies cannot pile them up here.
        if self.output.unsent() >= REPLY_BUDGET {
            self.output.drain(Instant::now() + self.ctx.config.timeout)?;
        }
        Ok(())
    }
}

/// Observes the request latency of `replies` replies just written, all
/// counted from the first one's request: in a pipelined burst the later
/// ones were read a few microseconds after it.
fn observe_latency(first_read: Option<Instant>, replies: usize) {
    let Some(first_read) = first_read else { return };
    let seconds = first_read.elapsed().as_secs_f64();
    let histogram = &crate::metrics::get().request_latency;
    for _ in 0..replies {
        histogram.observe(seconds);
    }
}

/// The bytes of a batch of replies; those that promised durability
/// become the store's `KO` if it failed.
fn encode(replies: Vec<(Reply, bool)>, stored: Result<(), Ko>) -> Vec<u8> {
    let mut out = String::new();
    for (reply, durable) in replies {
        let _ = match (&stored, durable) {
            (Err(ko), true) => write!(out, "{}", Reply::Ko(ko.clone())),
            _ => write!(out, "{reply}"),
        };
    }
    out.into_bytes()
}

/// Replies formatted into a buffer that is written into the socket each
/// time it passes [`CHUNK`] bytes; each write must be taken by the client
/// within `timeout`.
struct Chunks<'a> {
    stream: &'a Stream,
    buf: String,
    timeout: Duration,
    /// Why the last write failed (`fmt::Write` can only say that it did).
    error: Option<io::Error>,
}

impl Chunks<'_> {
    /// Writes what is buffered.
    fn send(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let result = self.stream.write_all_by(self.buf.as_bytes(), Instant::now() + self.timeout);
        self.buf.clear();
        result
    }
}

impl std::fmt::Write for Chunks<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK
            && let Err(e) = self.send()
        {
            self.error = Some(e);
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

/// The request as served: a `HISTORY` asking for more than
/// [`MAX_HISTORY`] messages gets that many (a larger limit was legal in
/// protocol 1.0, so it is clamped, not refused).
fn capped(request: Request) -> Request {
    match request {
        Request::History { chat, limit } => Request::History { chat, limit: limit.min(MAX_HISTORY) },
        other => other,
    }
}

/// A listing reply of at most [`MAX_LISTING`] lines, the first ones.
fn listing<T: std::fmt::Display>(lines: Vec<T>) -> Reply {
    Reply::listing(lines.into_iter().take(MAX_LISTING))
}

/// Tokens a request takes from its user's `--rate` bucket: one for each
/// request that reads or writes the store, and a `HISTORY` one more per
/// 100 messages it may return (a full one, 1,000 messages, costs 11). A
/// `PING` or `QUIT` costs nothing: keeping a connection alive is free.
/// `SERVER` costs one like any read: a client asks it once per connection,
/// and on a cluster node it is a query to the database.
fn cost(request: &Request) -> u32 {
    match request {
        Request::Ping
        | Request::Quit
        | Request::Login { .. }
        | Request::Register { .. }
        | Request::Redeem { .. } => 0,
        Request::History { limit, .. } => 1 + (*limit / 100) as u32,
        // 1.2: an action reads up to 1,000 messages of its chat first (a
        // full HISTORY).
        Request::Reply { .. } | Request::Edit { .. } | Request::Delete { .. } | Request::React { .. } => 11,
        // 1.2: a token per record a moderation stores (issue 38).
        Request::Moderate { action, .. } => action.cost(),
        // 1.2: and then what it read past that, a token per 64 KiB (`server::search`).
        Request::Search { scope, .. } => search::cost(scope),
        // 1.2: two argon2 hashes (the old password checked, the new one
        // made), each costing what a login costs; failures are also
        // throttled as logins are (`server::accounts`).
        Request::Passwd { .. } => 20,
        // 1.2: one argon2 check, as a login.
        Request::DelAccount { .. } => 10,
        _ => 1,
    }
}
