//! The in-memory state: what routing and acknowledgements need, and no
//! message text. Built by applying [`Record`](super::Record)s in log order.
//!
//! What is here, per thing:
//!
//! - **user**: name, password hash, rooms, peers (for `CHATS`), the inbox
//!   (sequence numbers and the log positions of the events not yet
//!   acknowledged; room messages as stretches of their rooms' chains, see
//!   [`Queued::Rooms`]), the last-seen time, and where its last
//!   [`DEDUP_WINDOW`] messages are in the log (resends are recognised by
//!   them, see [`recent`]); 1.3: its posts to rooms of other servers
//!   waiting for their home's copy (see [`posts`]), and its newest
//!   bounced messages (see [`bounces`]);
//! - **direct conversation**: the position of its newest message (the head
//!   of its chain on disk), how many messages each side sent, and the
//!   DELIVERED/READ marks of each direction;
//! - **room**: members with their read marks, the head and length of its
//!   chain.
//!
//! Texts stay in the log; `HISTORY` and inbox replays read them back by
//! position. So memory grows with users, conversations and undelivered
//! direct events, not with the history, nor with what rooms said while
//! their members were away (else a flood into a room of offline members
//! would cost memory per message and member): a room message that
//! follows the last one an inbox holds lengthens that stretch instead of
//! adding an entry, so a flood into a room of 190 offline members costs
//! 190 entries, not 190 per message.
//!
//! [`State::commit`] is the only way a running server changes the state:
//! it encodes the record into the [`Batch`] it is given (the committer
//! writes it), applies it at the position it will have in the log, and
//! adds to the batch the events to push once it is on disk. At startup,
//! [`State::load`] applies records read back from the log: the same code,
//! so sequence numbers come out as they were first given.
//!
//! Message states are not stored per message. DELIVERED and READ are
//! cumulative (protocol §5, §6), so each direction of a direct conversation
//! keeps two marks — "its first N messages are delivered / read" — and a
//! message's state is where its number (`dord`) stands against them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

pub use inbox::{Batch, Delivery, Inbox, Pushed, Queued, Run};
pub use recent::{DEDUP_WINDOW, Recent};

use super::moderation::Rules;
use super::record::message::{Link, NO_POS, Pos};
use crate::protocol::names::fold;
use crate::protocol::{Chat, ChatLine, RoomLine};

pub use super::ids::{IdMap, IdSet, UserId};
/// Index of a room in the state's table of rooms.
pub type RoomId = usize;

/// A room's members: each one's id and name as registered.
pub type Members = Vec<(UserId, Arc<str>)>;

/// How many of a member's own room messages sent since it last read the
/// room are remembered (they do not count as unread). Past this many, the
/// room counts as read up to the oldest of them: a bound on memory for a
/// member who sends thousands of messages and never reads.
pub const OWN_UNREAD_WINDOW: usize = 4096;

/// Most rooms one user may be in: a rule of `store::meaning`.
pub use crate::store::meaning::MAX_ROOMS_PER_USER;

/// 1.2 `DELACCOUNT` (§20): what a deleted account's hash becomes. Not a
/// PHC string, so no password ever matches it, on a single server (the
/// state's `hash`) or a cluster (the `users` row's); and the old hash,
/// the last trace of the password, is gone from what the server loads.
pub const DELETED: &str = "!deleted";

/// The hash of an account its user deleted at `ms` (Unix milliseconds):
/// [`DELETED`], a colon and the time, which the name's quarantine counts
/// from (`--name-quarantine-days`).
pub fn deleted_hash(ms: u64) -> String {
    format!("{DELETED}:{ms}")
}

/// When the account whose hash this is was deleted: `None` if it was not;
/// `Some(0)` for a plain [`DELETED`] (written before the time was kept; a
/// checkpoint's load gives it the checkpoint's time instead, and the
/// cluster's migration 008 the upgrade's).
pub fn deleted_at(hash: &str) -> Option<u64> {
    let rest = hash.strip_prefix(DELETED)?;
    match rest.strip_prefix(':') {
        Some(ms) => ms.parse().ok(),
        None => rest.is_empty().then_some(0),
    }
}

/// One account and what hangs off it.
#[derive(Default)]
pub struct User {
    /// The name as registered (its case is kept; lookups ignore case).
    pub name: Arc<str>,
    /// Salted argon2id hash (PHC string); never the password.
    pub hash: String,
    /// Users with whom this one has a direct conversation.
    pub(super) peers: IdSet<UserId>,
    /// Rooms this user is a member of.
    pub(super) rooms: BTreeSet<RoomId>,
    /// Its latest messages (see [`recent`]); shared with a checkpoint
    /// being written, copied by the next change if so.
    pub(super) recent: Arc<Recent>,
    /// 1.3: its posts to rooms of other servers still waiting for their
    /// home's copy (see [`posts`]).
    pub(super) posts: posts::Posts,
    /// 1.3: its newest direct messages to other servers that bounced, for
    /// `HISTORY` (see [`bounces`]).
    pub bounces: bounces::Bounces,
    /// Events waiting for this user's acknowledgement.
    pub inbox: Inbox,
    /// When its last receive connection ended (`None`: never seen).
    pub(super) last_seen: Option<u64>,
    /// It has several devices (protocol 1.2, `Record::Devices`): its inbox
    /// gets [`Queued::Copy`] and [`Queued::Mark`] events too.
    pub several: bool,
    /// 1.2: `hash` came from a `PASSWD` record, not `users.csv`: a
    /// checkpoint must carry it on (a `HASH` row).
    pub hash_logged: bool,
    /// 1.2: the account's *cut*: its name belonged to a deleted account
    /// and was registered again (`Record::Reuse`) at this position. It
    /// sees nothing from before (`HISTORY`, `CHATS`, `SEARCH`, exports):
    /// the old account's conversations are not its own. 0: no cut.
    pub since: Pos,
    /// 1.2: with a cut, how many messages each peer had sent the name
    /// before it (`DIRECT` marks count from the conversation's start):
    /// not unread for the new account.
    pub(super) bases: HashMap<UserId, u64>,
    /// 1.2 (§23): its settings (`SET` records, `store::settings`): its
    /// blocks, chats' preferences, archived chats, stars.
    pub settings: crate::store::settings::Settings,
}

impl User {
    /// 1.2: the user deleted its account (`Record::DelAccount`).
    pub fn is_deleted(&self) -> bool {
        deleted_at(&self.hash).is_some()
    }
}

/// A direct conversation between two users `(a, b)` with `a < b`.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Direct {
    /// Position of its newest message (the head of its chain on disk).
    pub(super) head: Pos,
    /// Messages in it.
    pub(super) count: u64,
    /// `sent[0]`: messages from `a` to `b`; `sent[1]`: from `b` to `a`.
    pub(super) sent: [u64; 2],
    /// The marks of each direction, indexed like `sent`.
    pub(super) marks: [Marks; 2],
    /// Number of its newest message among all messages (sorts `CHATS`).
    pub(super) last_order: u64,
}

/// Cumulative states of one direction, as prefix lengths: every message of
/// that direction numbered below `delivered` is delivered.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub delivered: u64,
    pub read: u64,
}

impl Marks {
    /// The tick of this direction's message numbered `ord` (`HISTORY`'s
    /// state): read, delivered, or only received.
    pub fn state(&self, ord: u64) -> crate::protocol::MsgState {
        use crate::protocol::MsgState;
        if ord < self.read {
            MsgState::Read
        } else if ord < self.delivered {
            MsgState::Delivered
        } else {
            MsgState::Received
        }
    }
}

/// A room: members, its chain on disk, and how far each member read.
pub struct Room {
    /// `#name` as spelled by the first member.
    pub name: Arc<str>,
    pub(super) members: IdMap<UserId, Member>,
    pub(super) head: Pos,
    pub(super) count: u64,
    pub(super) last_order: u64,
    /// Where in the log the room was made: a room nobody is in is
    /// forgotten, and one made again under its name holds none of the
    /// messages before (`SEARCH` reads the log, so it starts here). 0 for a
    /// room from a checkpoint written by an older server, which did not say.
    pub(in crate::store) born: Pos,
    /// 1.2: its owner, admins, modes, topic, bans … (`store::moderation`);
    /// forgotten with the room when its last member leaves.
    pub rules: Rules,
    /// 1.2: its messages not yet read by every member, whose senders
    /// are still to be told (see [`receipts`]).
    pub(super) pending: VecDeque<receipts::Pending>,
}

/// A member of a room.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub(super) struct Member {
    /// The room's messages numbered below this are read (or were there
    /// before the member joined).
    pub(super) read: u64,
    /// Numbers of the member's own messages at or after `read`, oldest
    /// first: they are not unread (see [`OWN_UNREAD_WINDOW`]).
    pub(super) own: VecDeque<u64>,
    /// 1.2: the room's messages numbered below this reached a device of
    /// the member (see [`receipts`]); a read one is delivered too.
    pub(super) delivered: u64,
}

impl Member {
    pub(in crate::store) fn mark_read(&mut self, upto: u64) {
        self.read = self.read.max(upto);
        while self.own.front().is_some_and(|&o| o < self.read) {
            self.own.pop_front();
        }
    }
}

/// Everything the server knows, in memory.
#[derive(Default)]
pub struct State {
    pub users: Vec<User>,
    /// Accounts by folded name (`ana` for `Ana`): lookups ignore case.
    user_ids: HashMap<String, UserId>,
    /// Accounts by the name as registered: names inside records are always
    /// spelled so, and this finds them without folding (an allocation).
    exact_ids: HashMap<Arc<str>, UserId>,
    /// Rooms by id; `None` for a room nobody is in any more (freed).
    pub(super) rooms: Vec<Option<Room>>,
    /// Freed room ids, for reuse.
    free_rooms: Vec<RoomId>,
    room_ids: HashMap<String, RoomId>,
    pub(super) directs: IdMap<(UserId, UserId), Direct>,
    /// Newest timestamp given out: time never goes backwards in a history.
    pub last_ts: u64,
    /// Count of messages applied; orders conversations by recency.
    pub(super) order: u64,
    /// Position after the last record applied.
    pub end: Pos,
    /// Position after the last applied record that needs a sync: waiting
    /// for it to be durable covers everything that matters so far.
    pub sync_end: Pos,
    /// Records applied since the last checkpoint.
    pub since_checkpoint: u64,
    /// Bytes of the log each user's messages take (`--user-quota`, see `store::budget`).
    pub usage: usage::Usage,
    /// 1.2: the server admins (`wachat users admin`), who moderate every room.
    pub(super) server_admins: BTreeSet<UserId>,
    /// The invite codes, used or not (`store::invites`): `INVITE` records.
    pub invites: crate::store::invites::Invites,
    /// 1.2: every file's description (`store::files`): `FILE` records.
    pub files: crate::store::files::FileIndex,
    /// 1.3: each peer's queue account (`@lab2`, `remote.rs`) and the last
    /// number of its queue a batch noted ([`State::note_links`]).
    pub(super) peer_queues: Vec<(UserId, u64)>,
}

mod apply;
pub mod bounces;
mod inbox;
pub mod posts;
pub mod receipts;
pub mod recent;
pub mod remote;
mod rules;
#[cfg(test)]
mod tests;
pub mod usage;

impl State {
    // ----- lookups -------------------------------------------------------

    pub fn user_id(&self, name: &str) -> Option<UserId> {
        match self.exact_ids.get(name) {
            Some(&id) => Some(id),
            None => self.user_ids.get(&fold(name)).copied(),
        }
    }

    pub fn room_id(&self, name: &str) -> Option<RoomId> {
        self.room_ids.get(&fold(name.trim_start_matches('#'))).copied()
    }

    pub(in crate::store) fn need_user(&self, name: &str) -> Result<UserId, String> {
        self.user_id(name).ok_or_else(|| format!("unknown user {name:?}"))
    }

    pub(in crate::store) fn need_room(&self, name: &str) -> Result<RoomId, String> {
        self.room_id(name).ok_or_else(|| format!("unknown room {name:?}"))
    }

    pub fn room(&self, room: RoomId) -> &Room {
        self.rooms[room].as_ref().expect("a live room id")
    }

    pub(in crate::store) fn room_mut(&mut self, room: RoomId) -> &mut Room {
        self.rooms[room].as_mut().expect("a live room id")
    }

    pub fn is_member(&self, room: RoomId, user: UserId) -> bool {
        self.room(room).members.contains_key(&user)
    }

    /// The room `name` if `user` is in it.
    pub fn member_room(&self, name: &str, user: UserId) -> Option<RoomId> {
        self.room_id(name).filter(|&r| self.is_member(r, user))
    }

    pub fn members(&self, room: RoomId) -> impl Iterator<Item = UserId> + '_ {
        self.room(room).members.keys().copied()
    }

    pub fn rooms_of(&self, user: UserId) -> impl Iterator<Item = RoomId> + '_ {
        self.users[user].rooms.iter().copied()
    }

    /// Rooms in memory (live ones), for the log and tests.
    pub fn room_count(&self) -> usize {
        self.rooms.iter().flatten().count()
    }

    /// Where in the log the messages of `from` with the id `id` may be,
    /// among its last [`DEDUP_WINDOW`], newest first: the caller reads
    /// them back to be sure (see [`recent`]).
    pub fn sent_candidates(&self, from: UserId, id: &str) -> Vec<Pos> {
        self.users[from].recent.candidates(id)
    }

    pub fn last_seen(&self, user: UserId) -> Option<u64> {
        self.users[user].last_seen
    }

    /// The direct conversation of two users, if they have exchanged anything.
    pub(super) fn direct(&self, a: UserId, b: UserId) -> Option<&Direct> {
        self.directs.get(&pair(a, b))
    }

    /// Where the next message from `from` to `to` goes in their chain.
    pub fn direct_link(&self, from: UserId, to: UserId) -> Link {
        match self.direct(from, to) {
            Some(d) => Link { prev: d.head, ord: d.count, dord: d.sent[side(from, to)] },
            None => Link { prev: NO_POS, ord: 0, dord: 0 },
        }
    }

    /// Where the next message of a room goes in its chain.
    pub fn room_link(&self, room: RoomId) -> Link {
        let r = self.room(room);
        Link { prev: r.head, ord: r.count, dord: r.count }
    }

    /// The head of the chain of `user`'s conversation with `chat`: a
    /// direct peer, or a room (which `user` must be in).
    pub fn marks(&self, from: UserId, to: UserId) -> Marks {
        self.direct(from, to).map_or_else(Marks::default, |d| d.marks[side(from, to)])
    }

    /// The head of a direct conversation's chain (`NO_POS` if none).
    pub fn direct_head(&self, a: UserId, b: UserId) -> Pos {
        self.direct(a, b).map_or(NO_POS, |d| d.head)
    }

    pub fn room_head(&self, room: RoomId) -> Pos {
        self.room(room).head
    }

    /// The read mark of a member.
    pub fn room_read(&self, room: RoomId, user: UserId) -> u64 {
        self.room(room).members.get(&user).map_or(0, |m| m.read)
    }

    /// A timestamp for a new record: now, but never before the last one.
    pub fn next_ts(&mut self, now_ms: u64) -> u64 {
        self.last_ts = self.last_ts.max(now_ms);
        self.last_ts
    }

    /// The direct messages among `user`'s events up to `seq`, in order:
    /// an `ACK` of `seq` turns each into DELIVERED (protocol §5: one
    /// `STATUS` per acknowledged message).
    pub fn acked_direct(&self, user: UserId, seq: u64) -> Vec<(UserId, u64, Arc<str>)> {
        let direct = self.entries(user).take_while(|(first, _)| *first <= seq).filter_map(|(_, q)| match q {
            Queued::Direct { from, dord, id, .. } => Some((*from, *dord, id.clone())),
            _ => None,
        });
        // Room for all at once (an entry holds one event or more): an ACK
        // of a long burst collected by doubling cost a busy server's
        // `malloc` a few per cent.
        let inbox = &self.users[user].inbox;
        let most =
            inbox.queue.len().min(usize::try_from(seq.saturating_sub(inbox.acked)).unwrap_or(usize::MAX));
        let mut acked = Vec::with_capacity(most);
        acked.extend(direct);
        acked
    }

    /// `user`'s inbox entries with the number of each one's first event.
    fn entries(&self, user: UserId) -> impl Iterator<Item = (u64, &Queued)> + '_ {
        let inbox = &self.users[user].inbox;
        inbox.queue.iter().scan(inbox.acked + 1, |next, q| {
            let first = *next;
            *next += q.width();
            Some((first, q))
        })
    }

    /// `user`'s entries holding events after `after` up to `upto` (about
    /// `max` events), each with the number of its first event: a
    /// [`Queued::Rooms`] entry may start before `after` or end past
    /// `upto`, and the caller leaves those events out.
    pub fn queued(&self, user: UserId, after: u64, upto: u64, max: usize) -> Vec<(u64, Queued)> {
        let mut events = 0;
        self.entries(user)
            .skip_while(|(first, q)| first + q.width() - 1 <= after)
            .take_while(|(first, _)| *first <= upto)
            .take_while(|(_, q)| {
                events += q.width();
                events - q.width() < max as u64
            })
            .map(|(first, q)| (first, q.clone()))
            .collect()
    }

    /// The last sequence number of `user` whose event is on disk (its
    /// record is before `durable`): where a replay stops and live delivery
    /// takes over. A [`Queued::Rooms`] entry that started before `durable`
    /// counts whole: the replay waits for the rest of it to be on disk.
    pub fn inbox_end(&self, user: UserId, durable: Pos) -> u64 {
        let inbox = &self.users[user].inbox;
        let ready = inbox.queue.partition_point(|q| q.pos() < durable);
        inbox.acked + inbox.queue.iter().take(ready).map(Queued::width).sum::<u64>()
    }

    /// The oldest log position an inbox still refers to (retention keeps it).
    pub fn oldest_queued(&self) -> Pos {
        self.users.iter().filter_map(|u| u.inbox.queue.front()).map(Queued::pos).min().unwrap_or(NO_POS)
    }

    // ----- reading the state --------------------------------------------

    /// Lines of `ROOMS`: `<#room>:<member count>`, sorted by name, each
    /// with its members if it has at most `members_up_to` (else none).
    pub fn rooms_list(&self, user: UserId, members_up_to: usize) -> Vec<(RoomLine, Members)> {
        let mut rooms: Vec<RoomId> = self.rooms_of(user).collect();
        rooms.sort_by_cached_key(|&r| fold(&self.room(r).name));
        let line = |r: RoomId| {
            let room = self.room(r);
            let members = room.members.len();
            let named = if members <= members_up_to { self.named_members(r) } else { Vec::new() };
            (RoomLine { room: room.name.trim_start_matches('#').into(), members: members as u64 }, named)
        };
        rooms.into_iter().map(line).collect()
    }

    /// A room's members, each with its name as registered.
    pub fn named_members(&self, room: RoomId) -> Members {
        self.members(room).map(|m| (m, self.users[m].name.clone())).collect()
    }

    /// Lines of `CHATS`: `<peer or #room>:<unread>`, most recent first.
    /// `hidden(head)` names the senders of the messages at the top of a
    /// chain that are not on disk yet: readers see nothing newer than the disk.
    pub fn chats(&self, user: UserId, hidden: &mut dyn FnMut(Pos) -> Vec<String>) -> Vec<ChatLine> {
        let mut chats: Vec<(u64, ChatLine)> = Vec::new();
        for &peer in &self.users[user].peers {
            let conv = &self.directs[&pair(user, peer)];
            if conv.head < self.users[user].since {
                continue; // nothing since its cut (1.2, a name reused)
            }
            let not_yet = hidden(conv.head);
            let visible = conv.count - not_yet.len() as u64;
            if visible == 0 {
                continue;
            }
            let from_peer = not_yet.iter().filter(|n| self.user_id(n) == Some(peer)).count() as u64;
            let to_me = conv.sent[side(peer, user)] - from_peer;
            let base = self.users[user].bases.get(&peer).copied().unwrap_or(0);
            let unread = to_me.saturating_sub(conv.marks[side(peer, user)].read.max(base));
            let chat = Chat::User(self.users[peer].name.to_string());
            chats.push((conv.last_order, ChatLine { chat, unread }));
        }
        for room in self.rooms_of(user) {
            let r = self.room(room);
            if r.head < self.users[user].since {
                continue; // nothing since its cut, as for a direct chat
            }
            let visible = r.count - hidden(r.head).len() as u64;
            if visible == 0 {
                continue;
            }
            let member = &r.members[&user];
            let own = member.own.iter().filter(|&&o| o < visible).count() as u64;
            let unread = visible.saturating_sub(member.read).saturating_sub(own);
            let chat = Chat::registered(&r.name);
            chats.push((r.last_order, ChatLine { chat, unread }));
        }
        chats.sort_by_key(|c| std::cmp::Reverse(c.0));
        chats.into_iter().map(|(_, line)| line).collect()
    }
}

/// The key of the direct conversation between two users.
pub(in crate::store) fn pair(a: UserId, b: UserId) -> (UserId, UserId) {
    (a.min(b), a.max(b))
}

/// Which direction of the conversation a message from `from` to `to` is.
pub(in crate::store) fn side(from: UserId, to: UserId) -> usize {
    usize::from(from > to)
}
