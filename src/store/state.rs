//! The in-memory state: accounts, conversations, rooms and inboxes, built by
//! applying [`Record`]s in order.
//!
//! [`State::apply`] is the only function that changes it. At startup the
//! store feeds it every stored record; while running, each request builds
//! new records and hands them to [`State::commit`], which applies them *and*
//! queues them for the disk. Because both paths run the same code, sequence
//! numbers need not be stored: replaying `history.csv` in order numbers
//! every user's events exactly as they were numbered the first time.
//!
//! Message states are not stored per message either. DELIVERED and READ are
//! cumulative (protocol §5, §6), so each direction of a conversation keeps
//! two marks — "the first N messages are delivered / read" — and a
//! message's state is where it stands against them.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Write;
use std::sync::Arc;

use super::record::{Message, Record};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, State as MsgState};

/// Index of an account in [`State::users`].
pub type UserId = usize;
/// Index of a room in [`State::rooms`].
pub type RoomId = usize;

/// One account and what hangs off it.
pub struct User {
    /// The name as registered (its case is kept; lookups ignore case).
    pub name: Arc<str>,
    /// Salted argon2id hash (PHC string); never the password.
    pub hash: String,
    /// Users with whom this one has a direct conversation.
    peers: HashSet<UserId>,
    /// Rooms this user is a member of.
    rooms: BTreeSet<RoomId>,
    /// Every message this user ever sent, by id: resends are answered from
    /// here, also after a restart (ids are unique per sender).
    sent: HashMap<Arc<str>, Located>,
    /// Events waiting for this user's acknowledgement.
    pub inbox: Inbox,
}

/// A user's queue of events (protocol §5): numbered from 1, never reused.
#[derive(Default)]
pub struct Inbox {
    /// The last sequence number given out.
    pub last_seq: u64,
    /// Everything up to here was acknowledged by the client.
    pub acked: u64,
    /// Events after `acked`, oldest first.
    queue: VecDeque<Queued>,
}

/// An event waiting in an inbox.
struct Queued {
    seq: u64,
    /// The frame as sent, `\n` included; shared with the router.
    frame: Arc<str>,
    /// For a direct message: which one, so its acknowledgement can become
    /// a DELIVERED state for the sender.
    direct: Option<Arc<Message>>,
    /// The commit batch that holds it: it may be sent once that is durable.
    batch: u64,
}

/// An event to push to a connected user once its batch is on disk.
pub struct Delivery {
    pub user: UserId,
    pub seq: u64,
    pub frame: Arc<str>,
}

/// Records to write, then events to push once they are written: what a
/// request stages, and what the committer takes in one go.
#[derive(Default)]
pub struct Batch {
    pub records: Vec<Record>,
    pub deliveries: Vec<Delivery>,
}

/// A message in a conversation, with its sender's id.
struct Entry {
    msg: Arc<Message>,
    from: UserId,
    /// Its commit batch: reads show it only once that is durable, so no
    /// one sees a message that a failed disk could take back.
    batch: u64,
}

/// A direct conversation between two users `(a, b)` with `a < b`.
#[derive(Default)]
struct Direct {
    entries: Vec<Entry>,
    /// `marks[0]` for messages from `a` to `b`, `marks[1]` from `b` to `a`.
    marks: [Marks; 2],
    /// Position of the newest message among all messages (sorts `CHATS`).
    last_order: u64,
}

/// Cumulative states of one direction of a conversation, as prefix lengths:
/// every message at a position below `delivered` is delivered.
#[derive(Default, Clone, Copy)]
struct Marks {
    delivered: usize,
    read: usize,
}

/// A room: members, messages, and how far each member has read.
pub struct Room {
    /// `#name` as spelled by the first member.
    pub name: Arc<str>,
    members: HashSet<UserId>,
    entries: Vec<Entry>,
    /// Per member: the messages before this position are read (or were
    /// there before the member joined).
    read: HashMap<UserId, usize>,
    last_order: u64,
}

/// Where a message is: for dedupe, `READ` and acknowledgements.
struct Located {
    msg: Arc<Message>,
    pos: usize,
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
    pub rooms: Vec<Room>,
    room_ids: HashMap<String, RoomId>,
    directs: HashMap<(UserId, UserId), Direct>,
    /// When each user was last seen online (its receive connection ended).
    last_seen: HashMap<UserId, u64>,
    /// Newest timestamp given out: time never goes backwards in a history.
    pub last_ts: u64,
    /// Count of messages applied; orders conversations by recency.
    order: u64,
    /// Records and deliveries of the request being applied; the store
    /// moves them into the pending batch (see `Store::write`).
    pub staged: Batch,
    /// The commit batch that what is applied now will be written in
    /// (0 while loading: everything loaded is durable).
    pub batch: u64,
    /// False while loading: no deliveries are queued for the router.
    pub live: bool,
    /// Where frames are formatted before they are shared (kept to reuse).
    scratch: String,
}

fn internal(reason: String) -> Ko {
    log::error!("store: {reason}");
    Ko::new(Code::Internal, "internal error, see the server log")
}

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

    fn need_user(&self, name: &str) -> Result<UserId, String> {
        self.user_id(name).ok_or_else(|| format!("unknown user {name:?}"))
    }

    fn need_room(&self, name: &str) -> Result<RoomId, String> {
        self.room_id(name).ok_or_else(|| format!("unknown room {name:?}"))
    }

    pub fn is_member(&self, room: RoomId, user: UserId) -> bool {
        self.rooms[room].members.contains(&user)
    }

    pub fn members(&self, room: RoomId) -> impl Iterator<Item = UserId> + '_ {
        self.rooms[room].members.iter().copied()
    }

    pub fn rooms_of(&self, user: UserId) -> impl Iterator<Item = RoomId> + '_ {
        self.users[user].rooms.iter().copied()
    }

    /// The message `id` that `from` sent, and its position in its chat.
    pub fn find_sent(&self, from: UserId, id: &str) -> Option<(&Arc<Message>, usize)> {
        let located = self.users[from].sent.get(id)?;
        Some((&located.msg, located.pos))
    }

    /// Position of the newest message `id` in a room (`READ:#room:<id>`
    /// names no sender, so the newest message with that id wins).
    pub fn find_in_room(&self, room: RoomId, id: &str) -> Option<usize> {
        self.rooms[room].entries.iter().rposition(|e| &*e.msg.id == id)
    }

    /// Number of messages in a room (where a new member starts reading).
    pub fn room_len(&self, room: RoomId) -> usize {
        self.rooms[room].entries.len()
    }

    /// A timestamp for a new record: now, but never before the last one.
    pub fn next_ts(&mut self, now_ms: u64) -> u64 {
        self.last_ts = self.last_ts.max(now_ms);
        self.last_ts
    }

    // ----- changing the state -------------------------------------------

    /// Applies a new record and queues it for the disk.
    pub fn commit(&mut self, record: Record) -> Result<(), Ko> {
        self.apply(&record).map_err(internal)?;
        self.staged.records.push(record);
        Ok(())
    }

    /// Applies one record. Fails only on records that contradict the state
    /// (a corrupt file at startup; a bug while running).
    pub fn apply(&mut self, record: &Record) -> Result<(), String> {
        match record {
            Record::User { name, hash, .. } => {
                if self.user_id(name).is_some() {
                    return Err(format!("account {name:?} exists twice"));
                }
                let name: Arc<str> = name.as_str().into();
                self.user_ids.insert(fold(&name), self.users.len());
                self.exact_ids.insert(name.clone(), self.users.len());
                self.users.push(User {
                    name,
                    hash: hash.clone(),
                    peers: HashSet::new(),
                    rooms: BTreeSet::new(),
                    sent: HashMap::new(),
                    inbox: Inbox::default(),
                });
            }
            Record::Join { user, room, pos, .. } => {
                let user = self.need_user(user)?;
                let room = self.room_id(room).unwrap_or_else(|| self.create_room(room));
                let r = &mut self.rooms[room];
                r.members.insert(user);
                // Not clamped to the messages loaded so far: at startup
                // rooms.csv is read before history.csv, so the room is
                // still empty here.
                r.read.insert(user, *pos);
                self.users[user].rooms.insert(room);
            }
            Record::Leave { user, room, .. } => {
                let (user, room) = (self.need_user(user)?, self.need_room(room)?);
                self.rooms[room].members.remove(&user);
                self.rooms[room].read.remove(&user);
                self.users[user].rooms.remove(&room);
            }
            Record::Message { msg, recipients } => self.apply_message(msg, recipients)?,
            Record::Delivered { ts, user, chat, id } => {
                let (user, sender) = (self.need_user(user)?, self.need_user(chat)?);
                let (msg, pos) = self.need_direct(sender, user, id)?;
                if self.would_deliver(sender, user, pos) {
                    self.direct_mut(sender, user).delivered = pos + 1;
                    self.status(sender, user, &msg.id, MsgState::Delivered, *ts);
                }
            }
            Record::Read { ts, user, chat, id } => {
                let user = self.need_user(user)?;
                if chat.starts_with('#') {
                    let room = self.need_room(chat)?;
                    let pos =
                        self.find_in_room(room, id).ok_or_else(|| format!("no message {id:?} in {chat}"))?;
                    let mark = self.rooms[room].read.entry(user).or_default();
                    *mark = (*mark).max(pos + 1);
                } else {
                    let sender = self.need_user(chat)?;
                    let (msg, pos) = self.need_direct(sender, user, id)?;
                    let mark = &mut self.direct_mut(sender, user).read;
                    if pos + 1 > *mark {
                        *mark = pos + 1;
                        self.status(sender, user, &msg.id, MsgState::Read, *ts);
                    }
                }
            }
            Record::Seen { user, ts } => {
                let user = self.need_user(user)?;
                let seen = self.last_seen.entry(user).or_default();
                *seen = (*seen).max(*ts);
            }
            Record::Ack { user, seq } => {
                let user = self.need_user(user)?;
                let inbox = &mut self.users[user].inbox;
                inbox.acked = inbox.acked.max(*seq);
                while inbox.queue.front().is_some_and(|q| q.seq <= inbox.acked) {
                    inbox.queue.pop_front();
                }
            }
        }
        Ok(())
    }

    fn create_room(&mut self, name: &str) -> RoomId {
        let name = format!("#{}", name.trim_start_matches('#'));
        self.room_ids.insert(fold(&name[1..]), self.rooms.len());
        self.rooms.push(Room {
            name: name.into(),
            members: HashSet::new(),
            entries: Vec::new(),
            read: HashMap::new(),
            last_order: 0,
        });
        self.rooms.len() - 1
    }

    fn apply_message(&mut self, msg: &Arc<Message>, recipients: &[Arc<str>]) -> Result<(), String> {
        let from = self.need_user(&msg.from)?;
        self.order += 1;
        self.last_ts = self.last_ts.max(msg.ts);
        let entry = Entry { msg: msg.clone(), from, batch: self.batch };
        let pos = if msg.is_room() {
            let room = self.need_room(&msg.to)?;
            let r = &mut self.rooms[room];
            r.entries.push(entry);
            r.last_order = self.order;
            let pos = r.entries.len() - 1;
            for name in recipients {
                let user = self.need_user(name)?;
                self.enqueue(user, |out, seq| msg_frame(out, seq, msg), None);
            }
            pos
        } else {
            let to = self.need_user(&msg.to)?;
            let order = self.order;
            let conv = self.directs.entry(pair(from, to)).or_default();
            conv.entries.push(entry);
            conv.last_order = order;
            let pos = conv.entries.len() - 1;
            self.users[from].peers.insert(to);
            self.users[to].peers.insert(from);
            self.enqueue(to, |out, seq| msg_frame(out, seq, msg), Some(msg.clone()));
            pos
        };
        let located = Located { msg: msg.clone(), pos };
        if self.users[from].sent.insert(msg.id.clone(), located).is_some() {
            return Err(format!("message {:?} from {} stored twice", msg.id, msg.from));
        }
        Ok(())
    }

    fn need_direct(&self, from: UserId, to: UserId, id: &str) -> Result<(Arc<Message>, usize), String> {
        match self.find_sent(from, id) {
            Some((msg, pos)) if !msg.is_room() && self.user_id(&msg.to) == Some(to) => Ok((msg.clone(), pos)),
            _ => Err(format!("no message {id:?} from {} to {}", self.users[from].name, self.users[to].name)),
        }
    }

    /// The marks of the messages `from` sent to `to`.
    fn direct_mut(&mut self, from: UserId, to: UserId) -> &mut Marks {
        let conv = self.directs.entry(pair(from, to)).or_default();
        &mut conv.marks[usize::from(from > to)]
    }

    /// Queues `STATUS` for `sender`: its message `id` to `peer` moved.
    fn status(&mut self, sender: UserId, peer: UserId, id: &str, state: MsgState, ts: u64) {
        let peer = self.users[peer].name.clone();
        self.enqueue(
            sender,
            |out, seq| {
                let _ = writeln!(out, "STATUS:{seq}:{peer}:{id}:{state}:{ts}");
            },
            None,
        );
    }

    /// Gives the next sequence number of `user`'s inbox to a new event.
    fn enqueue(&mut self, user: UserId, frame: impl FnOnce(&mut String, u64), direct: Option<Arc<Message>>) {
        let inbox = &mut self.users[user].inbox;
        inbox.last_seq += 1;
        let seq = inbox.last_seq;
        if seq <= inbox.acked {
            return; // replaying an event the client already has
        }
        // Formatted in a buffer kept for the purpose: the only allocation
        // is the shared frame itself.
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        frame(&mut text, seq);
        let frame: Arc<str> = Arc::from(text.as_str());
        self.scratch = text;
        inbox.queue.push_back(Queued { seq, frame: frame.clone(), direct, batch: self.batch });
        if self.live {
            self.staged.deliveries.push(Delivery { user, seq, frame });
        }
    }

    /// After loading: from now on, applied records are new.
    pub fn finish_loading(&mut self) {
        self.live = true;
    }

    /// True if `DELIVERED` for message `pos` from `sender` to `user` would
    /// move its state forward (not yet delivered, nor read): a message
    /// already READ stays READ.
    pub fn would_deliver(&self, sender: UserId, user: UserId, pos: usize) -> bool {
        let Some(conv) = self.directs.get(&pair(sender, user)) else { return true };
        let marks = conv.marks[usize::from(sender > user)];
        pos + 1 > marks.delivered.max(marks.read)
    }

    // ----- reading the state --------------------------------------------
    // Readers pass `durable`, the last batch on disk, and see nothing newer.

    /// The unacknowledged events of `user` that are on disk, and the seq
    /// after which live events take over.
    pub fn replay(&self, user: UserId, durable: u64) -> (Vec<Arc<str>>, u64) {
        let inbox = &self.users[user].inbox;
        let ready: Vec<&Queued> = inbox.queue.iter().take_while(|q| q.batch <= durable).collect();
        // Events are numbered in batch order: the first one not on disk yet
        // (or the next number) is where live delivery starts.
        let next = inbox.queue.get(ready.len()).map_or(inbox.last_seq + 1, |q| q.seq);
        (ready.iter().map(|q| q.frame.clone()).collect(), next - 1)
    }

    /// The direct messages among `user`'s events up to `seq`, which an
    /// `ACK` of `seq` turns into DELIVERED.
    pub fn acked_messages(&self, user: UserId, seq: u64) -> Vec<Arc<Message>> {
        let queue = &self.users[user].inbox.queue;
        queue.iter().take_while(|q| q.seq <= seq).filter_map(|q| q.direct.clone()).collect()
    }

    /// Lines of `HISTORY` for a direct conversation: newest `limit`, oldest first.
    pub fn direct_history(&self, user: UserId, peer: UserId, limit: usize, durable: u64) -> Vec<String> {
        let Some(conv) = self.directs.get(&pair(user, peer)) else { return Vec::new() };
        let end = visible(&conv.entries, durable);
        let start = end.saturating_sub(limit);
        let lines = conv.entries[..end].iter().enumerate().skip(start).map(|(pos, e)| {
            let marks = conv.marks[usize::from(e.from > other(e.from, user, peer))];
            let state = if pos < marks.read {
                MsgState::Read
            } else if pos < marks.delivered {
                MsgState::Delivered
            } else {
                MsgState::Received
            };
            history_line(&e.msg, state)
        });
        lines.collect()
    }

    /// Lines of `HISTORY` for a room: every message has the state RECEIVED.
    pub fn room_history(&self, room: RoomId, limit: usize, durable: u64) -> Vec<String> {
        let entries = &self.rooms[room].entries;
        let end = visible(entries, durable);
        let start = end.saturating_sub(limit);
        entries[start..end].iter().map(|e| history_line(&e.msg, MsgState::Received)).collect()
    }

    /// Lines of `CHATS`: `<peer or #room>:<unread>`, most recent first.
    pub fn chats(&self, user: UserId, durable: u64) -> Vec<String> {
        let mut chats: Vec<(u64, String)> = Vec::new();
        for &peer in &self.users[user].peers {
            let conv = &self.directs[&pair(user, peer)];
            let entries = &conv.entries[..visible(&conv.entries, durable)];
            if entries.is_empty() {
                continue;
            }
            let read = conv.marks[usize::from(peer > user)].read;
            let unread = unread(entries, read, |from| from == peer);
            chats.push((conv.last_order, format!("{}:{unread}", self.users[peer].name)));
        }
        for &room in &self.users[user].rooms {
            let r = &self.rooms[room];
            let entries = &r.entries[..visible(&r.entries, durable)];
            if entries.is_empty() {
                continue;
            }
            let read = r.read.get(&user).copied().unwrap_or(0);
            let unread = unread(entries, read, |from| from != user);
            chats.push((r.last_order, format!("{}:{unread}", r.name)));
        }
        chats.sort_by_key(|c| std::cmp::Reverse(c.0));
        chats.into_iter().map(|(_, line)| line).collect()
    }

    /// When `user` was last seen online, if ever since the server has
    /// kept track.
    pub fn last_seen(&self, user: UserId) -> Option<u64> {
        self.last_seen.get(&user).copied()
    }

    /// Lines of `ROOMS`: `<#room>:<member count>`, sorted by name.
    pub fn rooms_list(&self, user: UserId) -> Vec<String> {
        let mut rooms: Vec<&Room> = self.users[user].rooms.iter().map(|&r| &self.rooms[r]).collect();
        rooms.sort_by_key(|r| fold(&r.name));
        rooms.iter().map(|r| format!("{}:{}", r.name, r.members.len())).collect()
    }
}

/// The key of the direct conversation between two users.
fn pair(a: UserId, b: UserId) -> (UserId, UserId) {
    (a.min(b), a.max(b))
}

/// In a conversation between `a` and `b`, the one who is not `x`.
fn other(x: UserId, a: UserId, b: UserId) -> UserId {
    if x == a { b } else { a }
}

/// How many entries (a prefix) are on disk: batches only grow along a
/// conversation, so the ones not yet durable are at its end.
fn visible(entries: &[Entry], durable: u64) -> usize {
    entries.iter().rposition(|e| e.batch <= durable).map_or(0, |i| i + 1)
}

/// How many entries at or after `read` were sent by someone `counts`.
fn unread(entries: &[Entry], read: usize, counts: impl Fn(UserId) -> bool) -> usize {
    entries.iter().skip(read).filter(|e| counts(e.from)).count()
}

/// `MSG:<seq>:<from>:<to>:<id>:<ts>:<text>\n`
fn msg_frame(out: &mut String, seq: u64, m: &Message) {
    // Writing into a String cannot fail.
    let _ = writeln!(out, "MSG:{seq}:{}:{}:{}:{}:{}", m.from, m.to, m.id, m.ts, m.text);
}

/// `<from>:<to>:<id>:<ts>:<state>:<text>`
fn history_line(m: &Message, state: MsgState) -> String {
    format!("{}:{}:{}:{}:{state}:{}", m.from, m.to, m.id, m.ts, m.text)
}
