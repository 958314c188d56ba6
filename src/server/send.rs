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
//! capped (`MAX_HISTORY` messages in `MAX_HISTORY_BYTES`, `MAX_LISTING`
//! lines).
//!
//! What each request does is one file of [`requests`]; what a handler may
//! do with the connection (queue a reply, wait for the disk) is
//! [`Session`]'s, in `session.rs`.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use super::log_limit::log_limited;
use super::replies::{Later, RETRY_FLUSH, Replies};
use super::requests;
use super::session::{Flow, Session, Who};
use crate::protocol::{Code, FrameError, FrameReader, Ko, Reply, Request};
use crate::store::{Ticket, deadline};
use crate::transport::Stream;

/// Read buffer of a send connection: room for a burst of pipelined requests.
const READ_BUFFER: usize = 16 * 1024;

/// Replies waiting to be written past which they are written before the
/// next request is read, so that pipelined listings never pile up.
const REPLY_BUDGET: usize = 64 * 1024;

/// How long the oldest reply of a burst waits for the rest of the burst
/// before the replies ready so far are written. A burst is usually served
/// in a millisecond, but 999 pipelined settings on a cluster, each its
/// own transaction, take seconds: the client hears the first ones now,
/// not after the last, and its read timeout does not run out.
const SLOW_BURST: Duration = Duration::from_millis(200);

/// How long a send connection waits, its refusal sent, before it reads on
/// after a `KO:RATE_LIMITED`. A client that ignores the refusal and
/// hammers on would otherwise make the server refuse ~80,000 requests a
/// second from 12 connections, a whole core (a script repeating `SEARCH`
/// does);
/// paused, a connection is refused at most 20 times a second. An honest
/// client waits longer than this anyway ("try again in N ms").
const RATE_PAUSE: Duration = Duration::from_millis(50);

/// Bytes of replies formatted ahead of the socket at most.
const CHUNK: usize = 64 * 1024;

/// Serves one send-port connection until it closes; returns its socket
/// for the caller to close (after giving back the connection's slot). On
/// a cluster's follower, the leader serves it ([`Leader`](super::Leader)).
///
/// One socket, one file descriptor: the registry (for shutdown) shares it
/// through an `Arc`, and reading and writing both go through `&stream`.
pub fn serve(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>) -> Arc<Stream> {
    let stream = Arc::new(stream);
    let id = ctx.connections.add(&stream);
    if let Some(leader) = ctx.leader() {
        leader.relay(ctx, stream.clone(), peer, crate::protocol::Port::Send);
        ctx.connections.remove(id);
        return stream;
    }
    let reader = FrameReader::new(&*stream, READ_BUFFER, ctx.config.max_frame);
    let mut session = Session {
        ctx,
        stream: &stream,
        peer,
        reader,
        user: None,
        frame: String::new(),
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
            ctx.refuse_plaintext(&stream, peer);
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

impl Session<'_> {
    fn run(&mut self) -> std::io::Result<()> {
        loop {
            let now = Instant::now();
            let deadline = now + self.ctx.config.timeout;
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
                    // The frame is copied into the session's own buffer
                    // (kept for its capacity: no allocation a request), as
                    // the reader's is borrowed while the request is served.
                    other => {
                        break other.map(|line| {
                            self.frame.clear();
                            self.frame.push_str(line);
                        });
                    }
                }
            };
            let flow = match frame {
                Ok(()) => {
                    let line = std::mem::take(&mut self.frame);
                    let flow = self.handle(&line);
                    // A large frame (a file's part) leaves no large buffer behind.
                    self.frame = line;
                    self.frame.shrink_to(READ_BUFFER);
                    flow
                }
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
                // `now` (before this frame was read) rather than one more
                // clock read per request: late by one request at most.
                || self.first_read.is_some_and(|read| now.saturating_duration_since(read) >= SLOW_BURST)
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

    /// One request: a first frame before the login; after it, parsed,
    /// metered at its cost (`requests::cost`), and served by its handler
    /// (`requests::serve`, in its file of `requests/`), within one
    /// deadline for its storage (`store::deadline`); a `MSG` is only
    /// gathered, its burst metered and given its deadline as it goes to
    /// the store.
    fn handle(&mut self, line: &str) -> Flow {
        self.first_read.get_or_insert_with(Instant::now);
        let Some((id, name)) = self.user.clone() else {
            return deadline::within(|| requests::login::first_frame(self, line, requests::may_open(line)));
        };
        let request = match Request::parse(line) {
            Ok(request) => request,
            Err(ko) => return self.refuse(ko),
        };
        // A `MSG` is gathered, and metered and given its deadline with its
        // burst (`send_msgs`). Any other request lets the gathered ones go
        // to the store first: a `READ` or `HISTORY` right behind a `MSG`
        // sees it.
        let who = Who { id, name: &name };
        if matches!(request, Request::Msg { .. }) {
            return requests::serve(self, who, request);
        }
        self.send_msgs();
        if let Err(ko) = self.ctx.meter(id, &name, self.peer, requests::cost(&request)) {
            return self.refuse(ko);
        }
        deadline::within(|| requests::serve(self, who, request))
    }

    /// Writes every queued reply: leaves them with the store if they only
    /// wait for the disk; else waits for the disk if needed, then writes
    /// them (after those still on their way) at once if they fit in a
    /// chunk (the common case, one `write()`), else a chunk at a time.
    pub(super) fn flush(&mut self) -> io::Result<()> {
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
        self.member_changes.is_empty() && !self.replies.iter().any(|(r, _)| r.lines().is_some())
    }

    /// Hands the queued replies to the store, to be written once `ticket`
    /// is durable by the thread that makes it so; this thread goes back to
    /// reading. Their place in the output is taken now.
    fn leave_with_store(&mut self, ticket: Ticket) -> io::Result<()> {
        let place = self.keep_place();
        // The next burst's replies get room for as many as this one's
        // at once, not by a reallocation at each doubling.
        let room = self.replies.len();
        let replies = std::mem::replace(&mut self.replies, Vec::with_capacity(room));
        self.in_flight = self.in_flight.max(Some(ticket));
        self.ctx.store.when_durable(
            ticket,
            Box::new(move |stored| {
                let count = replies.len();
                place.fill(encode(replies, stored), count);
            }),
        );
        self.within_reply_budget()
    }

    /// Keeps the next reply's place in the output and hands `start` what
    /// writes it there once its request is done: a cluster's `PART`,
    /// whose commit it shares with other parts (`cluster::parts`). This
    /// thread goes back to reading meanwhile, so the next parts can join
    /// that commit. The replies queued before it are written first: the
    /// order is the requests' as ever, refusals included.
    pub(super) fn reply_later(&mut self, start: impl FnOnce(Later)) -> Flow {
        if self.flush().is_err() {
            return Flow::Close; // the socket broke: nothing more is written
        }
        let place = self.keep_place();
        start(Box::new(move |result| {
            let reply = result.unwrap_or_else(|ko| {
                crate::metrics::get().ko(ko.code);
                Reply::Ko(ko)
            });
            place.fill(reply.to_string().into_bytes(), 1);
        }));
        match self.within_reply_budget() {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    /// The next place in the output, for replies another thread writes
    /// once their request is done.
    fn keep_place(&mut self) -> Place {
        Place {
            number: self.output.reserve(),
            output: self.output.clone(),
            first_read: self.first_read.take(),
        }
    }

    /// A client that does not read its replies cannot pile them up here:
    /// past [`REPLY_BUDGET`] unsent, this thread waits for it to read.
    fn within_reply_budget(&mut self) -> io::Result<()> {
        if self.output.unsent() >= REPLY_BUDGET {
            self.output.drain(Instant::now() + self.ctx.config.timeout)?;
        }
        Ok(())
    }
}

/// A place kept in the output ([`Session::keep_place`]).
struct Place {
    number: u64,
    output: Arc<Replies>,
    first_read: Option<Instant>,
}

impl Place {
    /// Writes `bytes`, the encoding of `replies` replies, in the place,
    /// and observes their latency.
    fn fill(self, bytes: Vec<u8>, replies: usize) {
        self.output.fill(self.number, bytes);
        observe_latency(self.first_read, replies);
    }
}

/// Observes the request latency of `replies` replies just written, all
/// counted from the first one's request: in a pipelined burst the later
/// ones were read a few microseconds after it.
fn observe_latency(first_read: Option<Instant>, replies: usize) {
    let (Some(first_read), Some(metrics)) = (first_read, crate::metrics::timed()) else { return };
    let seconds = first_read.elapsed().as_secs_f64();
    let histogram = &metrics.request_latency;
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
