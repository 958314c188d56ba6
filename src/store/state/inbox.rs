//! A user's inbox in memory: the events waiting for its acknowledgement
//! ([`Queued`], where each one's record is in the log), and the events a
//! commit hands the router once they are on disk ([`Pushed`], [`Delivery`],
//! in a [`Batch`]). An inbox numbers them ([`Inbox::enqueue`]); the record
//! kinds store the events each record makes (`store/record/`), as
//! `store::meaning::effects` names them. A pushed event's frame is
//! [`Pushed::frame`].

use std::collections::VecDeque;
use std::sync::Arc;

use super::UserId;
use crate::protocol::link::Bounce;
use crate::protocol::{EventRef, MsgState};
use crate::store::record::message::{NO_POS, Pos, StoredMessage};

/// A user's queue of events (protocol §5): numbered from 1, never reused.
/// Each entry holds [`Queued::width`] events, numbered in a row: the first
/// entry's first event is number `acked + 1`.
#[derive(Default)]
pub struct Inbox {
    /// The last sequence number given out.
    pub last_seq: u64,
    /// Everything up to here was acknowledged by the client.
    pub acked: u64,
    /// Events after `acked`, oldest first; shared with a checkpoint being
    /// written, copied by the next change if so (as `User::recent`).
    pub(in crate::store) queue: Arc<VecDeque<Queued>>,
}

impl Inbox {
    /// Gives the next sequence number to a new event of this inbox, which
    /// is `user`'s, and hands it to `push` (while the server runs).
    pub(in crate::store) fn enqueue(
        &mut self,
        user: UserId,
        queued: Queued,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) {
        self.last_seq += 1;
        let seq = self.last_seq;
        if seq <= self.acked {
            return; // converted data: the client acknowledged it already
        }
        Arc::make_mut(&mut self.queue).push_back(queued);
        if let (Some(push), Some(event)) = (push, event) {
            push.push(Delivery { user, seq, event });
        }
    }

    /// Gives the next sequence number to the room message at `pos` (whose
    /// chain goes back to `prev`), for `member`: it lengthens the stretch
    /// of its room's chain in the last entry if it follows it, so an inbox
    /// grows with its direct events, not with rooms' floods.
    pub(in crate::store) fn enqueue_room(
        &mut self,
        member: UserId,
        (prev, pos): (Pos, Pos),
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) {
        if self.last_seq < self.acked {
            return self.enqueue(member, Queued::room(pos), event, push); // converted data
        }
        let queue = Arc::make_mut(&mut self.queue);
        let Some(Queued::Rooms { runs, .. }) = queue.back_mut() else {
            return self.enqueue(member, Queued::room(pos), event, push);
        };
        match runs.iter_mut().rev().find(|r| r.head == prev && prev != NO_POS) {
            Some(run) => {
                run.head = pos;
                run.n += 1;
            }
            None => runs.push(Run { first: pos, head: pos, n: 1 }),
        }
        self.last_seq += 1;
        if let (Some(push), Some(event)) = (push, event) {
            push.push(Delivery { user: member, seq: self.last_seq, event });
        }
    }
}

/// An event waiting in an inbox: where its record is in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queued {
    /// A direct message from `from`, number `dord` of that direction; its
    /// acknowledgement becomes a DELIVERED for the sender (hence the id).
    Direct { pos: Pos, from: UserId, dord: u64, id: Arc<str> },
    /// Room messages in a row: instead of one entry per message and
    /// member, which would make a flood into a room with offline members
    /// cost RAM per message *and* per member, an inbox holds stretches of
    /// room chains. Their events, in log order across the runs, are
    /// numbered in a row; the first `done` of them are acknowledged.
    Rooms { runs: Vec<Run>, done: u64 },
    /// A `STATUS`: the `DELIVERED` or `READ` record at `pos`.
    Status { pos: Pos },
    /// 1.2: a copy of a message this user sent (from another device): the
    /// `MSG` record at `pos`.
    Copy { pos: Pos },
    /// 1.2: a `READMARK`: the user's own `READ` record at `pos`.
    Mark { pos: Pos },
    /// 1.2 (§31): a `STATUS` of a room: the user's message `id` there is
    /// delivered (or `read`) by every member, since the room's
    /// `DELIVERED` or `READ` record at `pos`.
    RoomStatus { pos: Pos, id: Arc<str>, read: bool },
    /// 1.3: a message of this user that was not delivered: the `FAILED`
    /// record at `pos`.
    Failed { pos: Pos },
    /// 1.3: in a peer's queue, a frame for it made of the record at `pos`
    /// (a `JOIN`, `LEAVE` or `POST` of a room homed there, or a message
    /// of a room homed here).
    Link { pos: Pos },
}

/// A stretch of a room's chain: its `n` messages ending at `head`, the
/// oldest at `first` (log positions). Messages of a chain are in log order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub first: Pos,
    pub head: Pos,
    pub n: u64,
}

impl Queued {
    /// One room message (the entry an old `QUEUED,<user>,R,<pos>` row is).
    pub fn room(pos: Pos) -> Queued {
        Queued::Rooms { runs: vec![Run { first: pos, head: pos, n: 1 }], done: 0 }
    }

    /// How many events (sequence numbers) the entry holds, unacknowledged.
    pub fn width(&self) -> u64 {
        match self {
            Queued::Rooms { runs, done } => runs.iter().map(|r| r.n).sum::<u64>() - done,
            _ => 1,
        }
    }

    /// Where its oldest record is in the log.
    pub fn pos(&self) -> Pos {
        match self {
            Queued::Rooms { runs, .. } => runs.iter().map(|r| r.first).min().unwrap_or(NO_POS),
            Queued::Direct { pos, .. }
            | Queued::Status { pos }
            | Queued::Copy { pos }
            | Queued::Mark { pos }
            | Queued::RoomStatus { pos, .. }
            | Queued::Failed { pos }
            | Queued::Link { pos } => *pos,
        }
    }

    /// The minor protocol version that has this event: a 1.0/1.1 receive
    /// connection is not sent copies and read marks (protocol 1.2, §16).
    pub fn since(&self) -> u8 {
        match self {
            Queued::Copy { .. } | Queued::Mark { .. } | Queued::RoomStatus { .. } => 2,
            Queued::Direct { .. }
            | Queued::Rooms { .. }
            | Queued::Status { .. }
            | Queued::Failed { .. }
            | Queued::Link { .. } => 0,
        }
    }
}

/// An event to push to a user once its record is on disk.
#[derive(Debug)]
pub enum Pushed {
    Msg(Arc<StoredMessage>),
    Status {
        peer: Arc<str>,
        id: Arc<str>,
        state: MsgState,
        ts: u64,
    },
    /// 1.2: a copy of a message the user sent, for its other devices.
    Copy(Arc<StoredMessage>),
    /// 1.2: the user read `chat` up to `id` (`READMARK`).
    Mark {
        chat: Arc<str>,
        id: Arc<str>,
        ts: u64,
    },
    /// 1.3: `author`'s message `id` to `peer` was not delivered.
    Failed {
        peer: Arc<str>,
        author: Arc<str>,
        id: Arc<str>,
        ts: u64,
        reason: Arc<str>,
    },
}

impl Pushed {
    /// The minor protocol version that has this event (see [`Queued::since`]).
    pub fn since(&self) -> u8 {
        match self {
            Pushed::Copy(_) | Pushed::Mark { .. } => 2,
            // 1.2 (§31): a room's message delivered or read by every member.
            Pushed::Status { peer, .. } if peer.starts_with('#') => 2,
            Pushed::Msg(_) | Pushed::Status { .. } | Pushed::Failed { .. } => 0,
        }
    }

    /// The event's frame as number `seq` of its user's inbox, borrowed,
    /// as a 1.0 client reads it.
    pub fn frame(&self, seq: u64) -> EventRef<'_> {
        self.frame_for(seq, 0)
    }

    /// The event's frame for a client that said `VERSION:1.<minor>` (a
    /// bounce, 1.3, reads as a `STATUS` or a message).
    pub fn frame_for(&self, seq: u64, minor: u8) -> EventRef<'_> {
        match self {
            Pushed::Failed { peer, author, id, ts, reason } => {
                let (ts, reason) = (*ts, &**reason);
                EventRef::Failed(Bounce { seq, peer, author, id, ts, reason, minor })
            }
            Pushed::Msg(m) | Pushed::Copy(m) => {
                let text = m.text.as_escaped();
                EventRef::Msg { seq, from: &m.from, to: &m.to, id: &m.id, ts: m.ts, text }
            }
            Pushed::Status { peer, id, state, ts } => {
                EventRef::Status { seq, peer, id, state: *state, ts: *ts }
            }
            Pushed::Mark { chat, id, ts } => EventRef::ReadMark { seq, chat, id, ts: *ts },
        }
    }
}

/// A numbered event for one user (room messages share one [`Pushed`]).
#[derive(Debug)]
pub struct Delivery {
    pub user: UserId,
    pub seq: u64,
    pub event: Arc<Pushed>,
}

/// What a request adds for the committer: log lines, `users.csv` rows, and
/// what the router is told once they are written: the events to push, the
/// accounts disabled.
#[derive(Default)]
pub struct Batch {
    /// Encoded records, in order, for the log.
    pub log: Vec<u8>,
    /// Rows for `users.csv` (new accounts), written before `log`.
    pub users: Vec<u8>,
    pub deliveries: Vec<Delivery>,
    /// The accounts a record of the batch disabled (`store::disabled`):
    /// their sessions on this server are closed once it is written.
    pub disabled: Vec<(UserId, Arc<str>)>,
    /// The devices a record of the batch removed (`UNLINK`, or pushed out
    /// by a newer one), by their folded names: their receive connections
    /// on this server are logged out once it is written.
    pub unlinked: Vec<(UserId, String)>,
    /// Some record needs a sync before anyone hears of it.
    pub sync: bool,
    /// 1.3: the peers whose queues of frames its records added to (their
    /// accounts' names, `@lab2`): their links are woken once it is
    /// written (`State::note_links`).
    pub links: Vec<Arc<str>>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.users.is_empty()
    }

    pub fn clear(&mut self) {
        self.log.clear();
        self.users.clear();
        self.deliveries.clear();
        self.disabled.clear();
        self.unlinked.clear();
        self.links.clear();
        self.sync = false;
    }
}
