//! How each record changes the state: the one place the state changes,
//! for a running server ([`State::commit`]) and at a start ([`State::load`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::{
    Batch, Delivery, Direct, Inbox, OWN_UNREAD_WINDOW, Pushed, Queued, Room, RoomId, Run, State, User,
    UserId, pair, recent, side,
};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, State as MsgState};
use crate::store::record::{Link, Message, NO_POS, Pos, Record};

fn internal(reason: String) -> Ko {
    log::error!("store: {reason}");
    Ko::new(Code::Internal, "internal error, see the server log")
}

impl State {
    // ----- changing the state -------------------------------------------

    /// Adds an account (from `users.csv`, or a registration).
    pub fn add_user(&mut self, name: &str, hash: &str) -> Result<UserId, String> {
        if self.user_id(name).is_some() {
            return Err(format!("account {name:?} exists twice"));
        }
        let name: Arc<str> = name.into();
        let id = self.users.len();
        self.user_ids.insert(fold(&name), id);
        self.exact_ids.insert(name.clone(), id);
        self.users.push(User {
            name,
            hash: hash.to_string(),
            peers: HashSet::new(),
            rooms: BTreeSet::new(),
            recent: Arc::default(),
            inbox: Inbox::default(),
            last_seen: None,
            several: false,
            hash_logged: false,
            since: 0,
            bases: HashMap::new(),
            prefs: Default::default(),
        });
        Ok(id)
    }

    /// Applies a record read back from the log at `pos` (`len` bytes with
    /// its `\n`): nothing is written and nothing is pushed.
    pub fn load(&mut self, pos: Pos, len: u64, record: &Record) -> Result<(), String> {
        self.apply(record, pos, None)?;
        self.count_usage(record, len);
        self.end = pos + len;
        self.sync_end = self.end;
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Applies a new record and adds it to `batch`: its line for the log,
    /// and the events to push once it is written.
    pub fn commit(&mut self, record: Record, batch: &mut Batch) -> Result<(), Ko> {
        let start = batch.log.len();
        record.encode(&mut batch.log);
        let len = (batch.log.len() - start) as u64;
        if let Err(e) = self.apply(&record, self.end, Some(&mut batch.deliveries)) {
            batch.log.truncate(start);
            return Err(internal(e));
        }
        self.count_usage(&record, len);
        self.end += len;
        if record.needs_sync() {
            batch.sync = true;
            self.sync_end = self.end;
        }
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Applies one record found at `pos`; events for live users go to
    /// `push`. Fails only on records that contradict the state (a corrupt
    /// file at startup; a bug while running).
    fn apply(&mut self, record: &Record, pos: Pos, push: Option<&mut Vec<Delivery>>) -> Result<(), String> {
        match record {
            Record::Msg { msg, link } => {
                self.last_ts = self.last_ts.max(msg.ts);
                self.order += 1;
                if msg.is_room() {
                    self.apply_room_msg(msg, link, pos, push)
                } else {
                    self.apply_direct(msg, link, pos, push)
                }
            }
            Record::Delivered { ts, user, chat, id, dord } => {
                let (user, sender) = (self.need_user(user)?, self.need_user(chat)?);
                self.need_sent(sender, user, *dord)?;
                if self.would_deliver(sender, user, *dord) {
                    self.direct_mut(sender, user).marks[side(sender, user)].delivered = dord + 1;
                    self.status(sender, user, id, MsgState::Delivered, *ts, pos, push);
                }
                Ok(())
            }
            Record::Read { ts, user, chat, id, ord } => {
                self.apply_read(user, (chat, id, *ts), *ord, pos, push)
            }
            Record::Join { user, room, read, .. } => self.apply_join(user, room, *read),
            Record::Leave { user, room, .. } => {
                let (user, room) = (self.need_user(user)?, self.need_room(room)?);
                self.leave(user, room);
                Ok(())
            }
            Record::Ack { user, seq, .. } => self.apply_ack(user, *seq),
            Record::Seen { ts, user } => {
                let user = self.need_user(user)?;
                let seen = &mut self.users[user].last_seen;
                *seen = Some(seen.unwrap_or(0).max(*ts));
                Ok(())
            }
            Record::Rule { ts, by, room, rule } => self.apply_rule(*ts, by, room, rule),
            Record::Devices { user, several, .. } => {
                let user = self.need_user(user)?;
                self.users[user].several = *several;
                Ok(())
            }
            Record::Passwd { user, hash, .. } => {
                let user = self.need_user(user)?;
                self.users[user].hash = hash.to_string();
                self.users[user].hash_logged = true;
                Ok(())
            }
            Record::DelAccount { ts, user } => {
                let user = self.need_user(user)?;
                self.delete_account(user, *ts);
                Ok(())
            }
            Record::Reuse { user, hash, .. } => {
                let user = self.need_user(user)?;
                if !self.users[user].is_deleted() {
                    return Err(format!(
                        "{:?} registered again, but it was not deleted",
                        self.users[user].name
                    ));
                }
                self.reuse_account(user, hash, pos);
                Ok(())
            }
            Record::Block { user, whom, on, .. } => {
                let (user, whom) = (self.need_user(user)?, self.need_user(whom)?);
                let blocks = &mut self.users[user].prefs.blocks;
                if *on {
                    blocks.insert(whom)
                } else {
                    blocks.remove(&whom)
                };
                Ok(())
            }
            Record::Pref { user, pref, .. } => {
                let user = self.need_user(user)?;
                self.users[user].prefs.set(pref.clone());
                Ok(())
            }
        }
    }

    /// `READ`: `user` read `chat` up to its message `id`, number `ord`,
    /// at `ts` (the record's `(chat, id, ts)`).
    fn apply_read(
        &mut self,
        user: &str,
        read: (&Arc<str>, &Arc<str>, u64),
        ord: u64,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let (chat, id, ts) = read;
        let user = self.need_user(user)?;
        if chat.starts_with('#') {
            let room = self.need_room(chat)?;
            let r = self.room_mut(room);
            if ord >= r.count {
                return Err(format!("no message number {ord} in {chat}"));
            }
            let member = r.members.get_mut(&user).ok_or_else(|| format!("{chat}: not a member"))?;
            let moved = member.read < ord + 1;
            member.mark_read(ord + 1);
            if moved {
                self.mark(user, read, pos, push);
            }
        } else {
            let sender = self.need_user(chat)?;
            self.need_sent(sender, user, ord)?;
            if self.would_read(sender, user, ord) {
                self.direct_mut(sender, user).marks[side(sender, user)].read = ord + 1;
                let mut push = push;
                self.status(sender, user, id, MsgState::Read, ts, pos, push.as_deref_mut());
                self.mark(user, read, pos, push);
            }
        }
        Ok(())
    }

    /// `JOIN`: `user` is a member of `room` (made if new), having read
    /// up to its message number `read`.
    fn apply_join(&mut self, user: &str, room: &str, read: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let room = self.room_id(room).unwrap_or_else(|| self.create_room(room));
        let member = self.room_mut(room).members.entry(user).or_default();
        member.read = read;
        member.own.clear();
        self.users[user].rooms.insert(room);
        let name = self.users[user].name.clone();
        self.room_mut(room).rules.joined(&name);
        Ok(())
    }

    /// `ACK`: `user`'s inbox is acknowledged up to `seq`.
    fn apply_ack(&mut self, user: &str, seq: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let inbox = &mut self.users[user].inbox;
        if seq > inbox.acked {
            let mut left = seq - inbox.acked;
            let queue = Arc::make_mut(&mut inbox.queue);
            while let Some(front) = queue.front_mut() {
                let width = front.width();
                if width <= left {
                    left -= width;
                    queue.pop_front();
                } else {
                    if let Queued::Rooms { done, .. } = front {
                        *done += left;
                    }
                    break;
                }
            }
            inbox.acked = seq;
        }
        Ok(())
    }

    /// `user` is no longer a member of `room` (freed once empty).
    pub(super) fn leave(&mut self, user: UserId, room: RoomId) {
        let name = self.users[user].name.clone();
        let r = self.room_mut(room);
        r.members.remove(&user);
        r.rules.left(&name);
        let empty = r.members.is_empty();
        self.users[user].rooms.remove(&room);
        if empty {
            self.free_room(room);
        }
    }

    fn apply_direct(
        &mut self,
        msg: &Arc<Message>,
        link: &Link,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let (from, to) = (self.need_user(&msg.from)?, self.need_user(&msg.to)?);
        let expected = self.direct_link(from, to);
        if *link != expected {
            return Err(format!(
                "message {:?} from {}: its place {link:?} should be {expected:?}",
                msg.id, msg.from
            ));
        }
        let order = self.order;
        let conv = self.directs.entry(pair(from, to)).or_default();
        conv.head = pos;
        conv.count += 1;
        conv.sent[side(from, to)] += 1;
        conv.last_order = order;
        self.users[from].peers.insert(to);
        self.users[to].peers.insert(from);
        self.remember(from, msg, pos);
        let queued = Queued::Direct { pos, from, dord: link.dord, id: msg.id.clone() };
        let event = push.is_some().then(|| Arc::new(Pushed::Msg(msg.clone())));
        let mut push = push;
        self.enqueue(to, queued, event, push.as_deref_mut());
        self.copy(from, msg, pos, push);
        Ok(())
    }

    fn apply_room_msg(
        &mut self,
        msg: &Arc<Message>,
        link: &Link,
        pos: Pos,
        mut push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let from = self.need_user(&msg.from)?;
        let room = self.need_room(&msg.to)?;
        let expected = self.room_link(room);
        if *link != expected {
            return Err(format!(
                "message {:?} in {}: its place {link:?} should be {expected:?}",
                msg.id, msg.to
            ));
        }
        let order = self.order;
        let r = self.room_mut(room);
        let sender = r.members.get_mut(&from).ok_or_else(|| format!("{} is not in {}", msg.from, msg.to))?;
        // The sender's own message is not unread for it: if it had read
        // everything, its mark moves past it; else it is remembered.
        if sender.read == link.ord && sender.own.is_empty() {
            sender.read = link.ord + 1;
        } else {
            sender.own.push_back(link.ord);
            if sender.own.len() > OWN_UNREAD_WINDOW {
                let oldest = sender.own.front().copied().unwrap_or(0);
                sender.mark_read(oldest + 1);
            }
        }
        r.head = pos;
        r.count += 1;
        r.last_order = order;
        let members: Vec<UserId> = r.members.keys().copied().filter(|&m| m != from).collect();
        self.remember(from, msg, pos);
        let event = push.is_some().then(|| Arc::new(Pushed::Msg(msg.clone())));
        for member in members {
            self.enqueue_room(member, link.prev, pos, event.clone(), push.as_deref_mut());
        }
        self.copy(from, msg, pos, push);
        Ok(())
    }

    /// 1.2: a copy of the message at `pos` for the other devices of its
    /// sender, if it has several.
    fn copy(&mut self, from: UserId, msg: &Arc<Message>, pos: Pos, push: Option<&mut Vec<Delivery>>) {
        if self.users[from].several {
            let event = push.is_some().then(|| Arc::new(Pushed::Copy(msg.clone())));
            self.enqueue(from, Queued::Copy { pos }, event, push);
        }
    }

    /// 1.2: a read mark of `user`'s `READ` record at `pos`, if it has
    /// several devices.
    fn mark(
        &mut self,
        user: UserId,
        record: (&Arc<str>, &Arc<str>, u64),
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) {
        if self.users[user].several {
            let (chat, id, ts) = record;
            let event =
                push.is_some().then(|| Arc::new(Pushed::Mark { chat: chat.clone(), id: id.clone(), ts }));
            self.enqueue(user, Queued::Mark { pos }, event, push);
        }
    }

    /// Adds the message at `pos` to its sender's window. (A resend never
    /// gets here: `send` found it in the window first.)
    fn remember(&mut self, from: UserId, msg: &Message, pos: Pos) {
        Arc::make_mut(&mut self.users[from].recent).push(recent::tag(&msg.id), pos);
    }

    /// Checks that `sender` sent at least `dord + 1` messages to `to`.
    fn need_sent(&self, sender: UserId, to: UserId, dord: u64) -> Result<(), String> {
        let sent = self.direct(sender, to).map_or(0, |d| d.sent[side(sender, to)]);
        if dord < sent {
            Ok(())
        } else {
            Err(format!(
                "no message number {dord} from {} to {}",
                self.users[sender].name, self.users[to].name
            ))
        }
    }

    fn direct_mut(&mut self, a: UserId, b: UserId) -> &mut Direct {
        self.directs.entry(pair(a, b)).or_default()
    }

    /// Queues `STATUS` for `sender`: its message `id` to `peer` moved.
    #[allow(clippy::too_many_arguments)]
    fn status(
        &mut self,
        sender: UserId,
        peer: UserId,
        id: &Arc<str>,
        state: MsgState,
        ts: u64,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) {
        let event = push.is_some().then(|| {
            Arc::new(Pushed::Status { peer: self.users[peer].name.clone(), id: id.clone(), state, ts })
        });
        self.enqueue(sender, Queued::Status { pos }, event, push);
    }

    /// Gives the next sequence number of `user`'s inbox to a new event.
    fn enqueue(
        &mut self,
        user: UserId,
        queued: Queued,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) {
        if self.users[user].is_deleted() {
            return; // 1.2: nobody will ever read it (a READ of its old messages)
        }
        let inbox = &mut self.users[user].inbox;
        inbox.last_seq += 1;
        let seq = inbox.last_seq;
        if seq <= inbox.acked {
            return; // converted data: the client acknowledged it already
        }
        Arc::make_mut(&mut inbox.queue).push_back(queued);
        if let (Some(push), Some(event)) = (push, event) {
            push.push(Delivery { user, seq, event });
        }
    }

    /// Gives the next sequence number of `member`'s inbox to the room
    /// message at `pos` (whose chain goes back to `prev`): it lengthens
    /// the stretch of its room's chain in the last entry if it follows
    /// it, so an inbox grows with its direct events, not with rooms' floods.
    fn enqueue_room(
        &mut self,
        member: UserId,
        prev: Pos,
        pos: Pos,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) {
        let inbox = &mut self.users[member].inbox;
        if inbox.last_seq < inbox.acked {
            return self.enqueue(member, Queued::room(pos), event, push); // converted data
        }
        let queue = Arc::make_mut(&mut inbox.queue);
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
        inbox.last_seq += 1;
        if let (Some(push), Some(event)) = (push, event) {
            push.push(Delivery { user: member, seq: inbox.last_seq, event });
        }
    }

    pub(in crate::store) fn create_room(&mut self, name: &str) -> RoomId {
        let name = format!("#{}", name.trim_start_matches('#'));
        let room = Room {
            name: name.as_str().into(),
            members: HashMap::new(),
            head: NO_POS,
            count: 0,
            last_order: 0,
            rules: Default::default(),
        };
        let id = match self.free_rooms.pop() {
            Some(id) => {
                self.rooms[id] = Some(room);
                id
            }
            None => {
                self.rooms.push(Some(room));
                self.rooms.len() - 1
            }
        };
        self.room_ids.insert(fold(&name[1..]), id);
        id
    }

    /// A room nobody is in is forgotten: its messages stay in the log, but
    /// joining its name again starts a new, empty room.
    fn free_room(&mut self, room: RoomId) {
        if let Some(r) = self.rooms[room].take() {
            self.room_ids.remove(&fold(r.name.trim_start_matches('#')));
            self.free_rooms.push(room);
        }
    }
}
