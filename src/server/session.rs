//! A send connection's state, and what a request's handler
//! (`server::requests`) may do with it: queue its reply ([`Session::reply`],
//! [`Session::reply_durable`], [`Session::refuse`]), gather a `MSG`, and
//! wait until the session's writes are on disk ([`Session::settle`]) before
//! it reads. The loop that reads the requests and writes the replies is
//! `send.rs`; what each request does is one file of `requests/`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::replies::Replies;
use super::{Ctx, accounts, presence};
use crate::protocol::{Code, FrameReader, Ko, MAX_LISTING, Reply};
use crate::store::{Outgoing, Ticket, UserId};
use crate::transport::Stream;

/// Tokens a `MSG` takes from its user's `--rate` bucket, metered as the
/// gathered burst goes to the store ([`Session::send_msgs`]); its row
/// (`requests/msg.rs`) names this.
pub(super) const MSG_COST: u32 = 1;

/// The room for this many `MSG`s (about 80 bytes each) is kept between
/// bursts ([`Session::send_msgs`]): more than a client's usual window
/// (the benchmarks keep 100 in flight), a bounded cost per connection.
const KEPT_BURST: usize = 256;

/// What to do after a request.
#[derive(PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Close,
}

/// The logged-in user a request comes from.
#[derive(Clone, Copy)]
pub(super) struct Who<'a> {
    pub id: UserId,
    /// The registered spelling of the name.
    pub name: &'a str,
}

pub(super) struct Session<'a> {
    /// A request of this connection was just refused `KO:RATE_LIMITED`:
    /// the connection pauses (`send::RATE_PAUSE`) before it reads on.
    pub refused_for_rate: bool,
    pub ctx: &'a Ctx,
    pub stream: &'a Arc<Stream>,
    pub peer: SocketAddr,
    pub reader: FrameReader<&'a Stream>,
    /// The logged-in user, once `LOGIN`/`REGISTER` succeeded.
    pub user: Option<(UserId, Arc<str>)>,
    /// The request being served, copied out of `reader` (kept for its
    /// capacity).
    pub frame: String,
    /// Replies not written yet; `true` marks one that is only valid once
    /// `ticket` is durable.
    pub replies: Vec<(Reply, bool)>,
    /// About how many bytes `replies` will take on the wire.
    pub queued: usize,
    /// The chunk being formatted for the socket (kept for its capacity).
    pub out: String,
    /// The connection's output, in the order of the requests, shared with
    /// the threads that write replies once they are durable.
    pub output: Arc<Replies>,
    /// The batch holding the records of the replies above.
    pub ticket: Option<Ticket>,
    /// The newest ticket whose replies were left with the store: a read
    /// waits for it (a client sees its own writes).
    pub in_flight: Option<Ticket>,
    /// Consecutive `MSG`s not applied yet: a pipelined burst is handed to
    /// the store in one go (one lock, see `LocalStore::send`).
    pub msgs: Vec<Outgoing>,
    /// Rooms this user joined (`true`) or left, to tell their members
    /// (protocol 1.1's `MEMBER`) once that is on disk.
    pub member_changes: Vec<(String, bool)>,
    /// When the oldest request whose reply is not written yet was read:
    /// the start of the request latency the metrics measure.
    pub first_read: Option<Instant>,
    /// This connection's number among the server's (`Router::sends`).
    pub conn_id: u64,
    /// 1.2: the device its `LOGIN` named (`None`: `default`), which a
    /// `PASSWD` keeps logged in.
    pub device: Option<String>,
}

impl Session<'_> {
    /// Queues a reply (`durable`: valid only once `ticket` is on disk)
    /// behind those of every request read before it. Every reply comes
    /// through here, so the `MSG`s still gathered for the store go to it
    /// first and their replies take their places: no reply, a refusal
    /// least of all (a line that does not parse, a frame too long), can
    /// overtake them.
    pub fn queue(&mut self, reply: Reply, durable: bool) {
        self.send_msgs();
        self.queued += match reply.lines() {
            Some(lines) => 16 + lines.iter().map(|line| line.len() + 1).sum::<usize>(),
            None => 64,
        };
        self.replies.push((reply, durable));
    }

    /// Queues a `KO`; closes the connection if its code says so.
    pub fn refuse(&mut self, ko: Ko) -> Flow {
        crate::metrics::get().ko(ko.code);
        self.refused_for_rate |= ko.code == Code::RateLimited;
        let flow = if ko.code.closes_connection() { Flow::Close } else { Flow::Continue };
        self.queue(Reply::Ko(ko), false);
        flow
    }

    pub fn reply(&mut self, result: Result<Reply, Ko>) -> Flow {
        match result {
            Ok(reply) => {
                self.queue(reply, false);
                Flow::Continue
            }
            Err(ko) => self.refuse(ko),
        }
    }

    /// A reply that is true only once `ticket` is on disk.
    pub fn reply_durable(&mut self, result: Result<(Reply, Ticket), Ko>) -> Flow {
        match result {
            Ok((reply, ticket)) => {
                self.ticket = self.ticket.max(Some(ticket));
                self.queue(reply, true);
                Flow::Continue
            }
            Err(ko) => self.refuse(ko),
        }
    }

    /// Queues `OK` and closes the connection after it (`QUIT`, and a
    /// session whose account or device is gone).
    pub fn ok_and_close(&mut self) -> Flow {
        self.queue(Reply::Ok, false);
        Flow::Close
    }

    /// Who this session is, for `server::accounts`.
    pub fn asker<'s>(&'s self, who: Who<'s>) -> accounts::Asker<'s> {
        let (peer, conn_id, device) = (self.peer.ip(), self.conn_id, self.device.as_deref());
        accounts::Asker { user: who.id, name: who.name, peer, conn_id, device }
    }

    /// Hands the queued `MSG`s to the store and queues their replies.
    pub fn send_msgs(&mut self) {
        if self.user.is_some() && !self.msgs.is_empty() {
            crate::store::deadline::within(|| self.send_burst());
        }
    }

    /// [`Session::send_msgs`], within one deadline for the storage: the
    /// quota, the blocks and the commit (on a cluster, into the shared log
    /// in PostgreSQL).
    fn send_burst(&mut self) {
        let Some((user, name)) = &self.user else { return };
        let user = *user;
        // 1.2: a user whose files fill its quota stores no more messages.
        let full = super::files::check_message(self.ctx, user, name).err();
        // Messages past the user's rate are refused one by one, metered in
        // the burst's order as `retain` visits them, and taken out of it
        // in the same pass; the rest go to the store together. A refusal
        // keeps its place in the burst, for its reply to go out in order.
        // On the plain path nothing is refused, and this list allocates
        // nothing. Taken before any reply is queued: `queue` finds none
        // left to send.
        let mut msgs = std::mem::take(&mut self.msgs);
        let burst = msgs.len();
        let mut refused: Vec<(usize, Ko)> = Vec::new();
        let mut at = 0;
        msgs.retain_mut(|(to, _, _)| {
            // 1.3 (§27): an address `bob@lab2` goes to a server of the
            // roster, `bob@<this server>` is `bob`.
            let routed = match self.ctx.route(to) {
                Ok(local) => local.map(|local| *to = local).and(None),
                Err(ko) => Some(ko),
            };
            let ko = full.clone().or(routed).or_else(|| self.over_rate(user));
            let kept = ko.is_none();
            if kept {
                // 1.3: a first message across carries the writer's presence
                // and profile to whom it writes to (`presence_across`).
                self.ctx.remote_seen.wrote_to(self.ctx, to, user);
            }
            refused.extend(ko.map(|ko| (at, ko)));
            at += 1;
            kept
        });
        let (results, ticket) = self.ctx.store.send(user, &msgs);
        let mut results = results.into_iter();
        let mut refused = refused.into_iter().peekable();
        for at in 0..burst {
            match refused.next_if(|(place, _)| *place == at) {
                Some((_, ko)) => drop(self.refuse(ko)),
                None => {
                    let result = results.next().expect("one result per allowed message");
                    self.reply_durable(result.map(|accepted| (Reply::with(accepted), ticket)));
                }
            }
        }
        // The buffer goes back for the next burst, which then grows it no
        // more (each growth, a reallocation, was a few per cent of a busy
        // server's time in `malloc`); at most `KEPT_BURST` messages' worth.
        msgs.clear();
        msgs.shrink_to(KEPT_BURST);
        self.msgs = msgs;
    }

    /// `Some(KO:RATE_LIMITED)` if `user` has no request left this instant.
    fn over_rate(&self, user: UserId) -> Option<Ko> {
        let name = self.user.as_ref().map_or("", |(_, name)| name.as_ref());
        self.ctx.meter(user, name, self.peer, MSG_COST).err()
    }

    /// Waits until this session's writes are on disk. Reads call it first:
    /// the store shows only what is on disk, and a client must see its own
    /// writes. If the disk failed, the replies that promised it become
    /// `KO:INTERNAL`.
    pub fn settle(&mut self) {
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
}

/// A listing reply of at most [`MAX_LISTING`] lines, the first ones.
pub(super) fn listing<T: std::fmt::Display>(lines: Vec<T>) -> Reply {
    Reply::listing(lines.into_iter().take(MAX_LISTING))
}
