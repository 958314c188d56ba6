//! The send-port handler: one thread per connection, reading requests and
//! answering each with exactly one reply, in order.
//!
//! Pipelining: a client may send many requests before reading replies.
//! The handler answers every request that is already buffered, then waits
//! *once* for the disk (if any of them wrote something) and sends all the
//! replies in *one* `write()`. With 100 requests in flight that is one
//! fsync wait and one system call for 100 messages.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use super::{Ctx, auth, linger_close, p2p, presence};
use crate::protocol::{Code, FrameError, FrameReader, Ko, Reply, Request};
use crate::store::{Outgoing, Ticket, UserId};

/// Read buffer of a send connection: room for a burst of pipelined requests.
const READ_BUFFER: usize = 16 * 1024;

/// Serves one send-port connection until it closes.
///
/// One socket, one file descriptor: the registry (for shutdown) shares it
/// through an `Arc`, and reading and writing both go through `&stream`.
pub fn serve(stream: TcpStream, peer: SocketAddr, ctx: &Arc<Ctx>) {
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
        ticket: None,
        msgs: Vec::new(),
        member_changes: Vec::new(),
    };
    if let Err(e) = session.run() {
        log::debug!("{peer}: send connection: {e}");
    }
    linger_close(&stream);
    ctx.connections.remove(id);
}

/// What to do after a request.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

struct Session<'a> {
    ctx: &'a Ctx,
    stream: &'a TcpStream,
    peer: SocketAddr,
    reader: FrameReader<&'a TcpStream>,
    /// The logged-in user, once `LOGIN`/`REGISTER` succeeded.
    user: Option<(UserId, Arc<str>)>,
    /// Replies not written yet; `true` marks one that is only valid once
    /// `ticket` is durable.
    replies: Vec<(Reply, bool)>,
    /// The batch holding the records of the replies above.
    ticket: Option<Ticket>,
    /// Consecutive `MSG`s not applied yet: a pipelined burst is handed to
    /// the store in one go (one lock, see `Store::send_many`).
    msgs: Vec<Outgoing>,
    /// Rooms this user joined (`true`) or left, to tell their members
    /// (protocol 1.1's `MEMBER`) once that is on disk.
    member_changes: Vec<(String, bool)>,
}

impl Session<'_> {
    fn run(&mut self) -> std::io::Result<()> {
        loop {
            let deadline = Instant::now() + self.ctx.config.timeout;
            let flow = match self.reader.read_frame(Some(deadline)) {
                Ok(line) => {
                    let line = line.to_string();
                    self.handle(&line)
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
            if flow == Flow::Close || !self.reader.has_frame() {
                self.flush()?;
            }
            if flow == Flow::Close {
                return Ok(());
            }
        }
    }

    /// Queues a `KO`; closes the connection if its code says so.
    fn refuse(&mut self, ko: Ko) -> Flow {
        let flow = if ko.code.closes_connection() { Flow::Close } else { Flow::Continue };
        self.replies.push((Reply::Ko(ko), false));
        flow
    }

    fn reply(&mut self, result: Result<Reply, Ko>) -> Flow {
        match result {
            Ok(reply) => {
                self.replies.push((reply, false));
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
                self.replies.push((reply, true));
                Flow::Continue
            }
            Err(ko) => self.refuse(ko),
        }
    }

    fn handle(&mut self, line: &str) -> Flow {
        let Some((user, name)) = self.user.clone() else {
            return match auth::authenticate(self.ctx, line, self.peer.ip()) {
                auth::Outcome::LoggedIn(id, name) => {
                    self.replies.push((Reply::OkWith(name.to_string()), false));
                    self.user = Some((id, name));
                    Flow::Continue
                }
                auth::Outcome::Refused(ko) => self.refuse(ko),
            };
        };
        let request = match Request::parse(line) {
            Ok(request) => request,
            Err(ko) => return self.refuse(ko),
        };
        if !matches!(request, Request::Msg { .. }) {
            self.send_msgs(); // keep the replies in the order of the requests
        }
        let store = &self.ctx.store;
        match request {
            Request::Login { .. } | Request::Register { .. } => {
                self.refuse(Ko::new(Code::BadRequest, format!("already logged in as {name}")))
            }
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
            Request::Users => self.reply(Ok(Reply::Listing(self.ctx.router.online_names()))),
            Request::Rooms => self.reply(Ok(Reply::Listing(store.rooms(user)))),
            Request::Chats => {
                self.settle();
                self.reply(Ok(Reply::Listing(store.chats(user))))
            }
            Request::History { chat, limit } => {
                self.settle();
                self.reply(store.history(user, &chat, limit).map(Reply::Listing))
            }
            Request::P2p { port } => {
                p2p::announce(self.ctx, user, port);
                self.reply(Ok(Reply::Ok))
            }
            Request::Peer { user: peer } => {
                self.reply(p2p::introduce(self.ctx, &name, &peer).map(Reply::OkWith))
            }
            Request::LastSeen { user: whom } => {
                self.reply(presence::last_seen(self.ctx, &whom).map(Reply::OkWith))
            }
            Request::Members { room } => {
                self.reply(presence::members(self.ctx, user, &room).map(Reply::Listing))
            }
            Request::Ping => self.reply(Ok(Reply::Ok)),
            Request::Quit => {
                self.replies.push((Reply::Ok, false));
                Flow::Close
            }
        }
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
        let msgs = std::mem::take(&mut self.msgs);
        let allowed: Vec<Outgoing> = if limited.iter().all(Option::is_none) {
            msgs // the common case: the burst is moved, not copied
        } else {
            msgs.into_iter().zip(&limited).filter(|(_, ko)| ko.is_none()).map(|(m, _)| m).collect()
        };
        let (results, ticket) = self.ctx.store.send_many(user, &allowed);
        let mut results = results.into_iter();
        for ko in limited {
            match ko {
                Some(ko) => drop(self.refuse(ko)),
                None => {
                    let result = results.next().expect("one result per allowed message");
                    self.reply_durable(result.map(|fields| (Reply::OkWith(fields), ticket)));
                }
            }
        }
    }

    /// `Some(KO:RATE_LIMITED)` if `user` has no message left this instant.
    fn over_rate(&self, user: UserId) -> Option<Ko> {
        let wait = self.ctx.messages.as_ref()?.try_take(user).err()?;
        let ms = wait.as_millis() + 1;
        Some(Ko::new(Code::RateLimited, format!("too many messages; try again in {ms} ms (--rate)")))
    }

    /// Waits until this session's writes are on disk. Reads call it first:
    /// the store shows only what is on disk, and a client must see its own
    /// writes. If the disk failed, the replies that promised it become
    /// `KO:INTERNAL`.
    fn settle(&mut self) {
        self.send_msgs();
        let Some(ticket) = self.ticket.take() else { return };
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

    /// Waits for the disk if needed, then writes every queued reply at once.
    fn flush(&mut self) -> std::io::Result<()> {
        self.settle();
        if self.replies.is_empty() {
            return Ok(());
        }
        let mut out = String::new();
        for (reply, _) in self.replies.drain(..) {
            out.push_str(&reply.to_string());
        }
        self.stream.write_all(out.as_bytes())
    }
}
