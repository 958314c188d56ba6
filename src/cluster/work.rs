//! What each job of a batch changes, worked out in memory ([`Work`]),
//! once `apply.rs` has locked and read what the batch touches.
//!
//! Every event a job gives a user takes the next number of the user's
//! inbox ([`Work::enqueue`]) and lands in a **run**: consecutive numbers
//! of one user pointing at consecutive messages of one stream (a
//! direction of a chat, or a room). A burst of 50 messages from ana to
//! bob is one run row in bob's inbox, not 50; the 50 `DELIVERED` ticks
//! ana gets when bob acknowledges them, one run in hers. The events still
//! go out one by one (`deliveries`); only their storage is grouped.
//!
//! Where a single server decides the same thing — whether a `DELIVERED`
//! or a `READ` moves a mark, how many rooms a user may be in, who may
//! send a message where (`meaning::send`), a room one is not in
//! (`meaning::rooms`), a `READ` of nothing (`meaning::read`), who gets
//! which event (`meaning::effects`) — both ask `store::meaning`, passing
//! what they found, and `agree.rs` plays sequences through both. No
//! refusal of the protocol's is named here, and no recipient chosen: the
//! runs store the events `effects` names.

use std::collections::HashMap;
use std::sync::Arc;

use super::db::count;
use super::locks::Acked;
use super::moderation;
use super::writes::{MessageRow, Run, Stream};
use super::writes::{Named, Room, Work};
use crate::protocol::names::fold;
use crate::protocol::{Accepted, Chat, Code, Ko, MsgState, Text};
use crate::store::budget::Quota;
use crate::store::meaning;
use crate::store::meaning::effects::{self, Gets, To};
use crate::store::meaning::send::{self, Goes};
use crate::store::meaning::{read, rooms};
use crate::store::moderation::owned_by_its_maker;
use crate::store::{Delivery, Message, Pushed, UserId};

/// The kinds of event (column `events.kind`).
pub const MSG: i16 = 0;
pub const DELIVERED: i16 = 1;
pub const READ: i16 = 2;
/// 1.2: a copy of a message the user sent, for its other devices.
pub const COPY: i16 = 3;
/// 1.2: the user read its chat up to this message (`READMARK`).
pub const MARK: i16 = 4;

impl Work {
    /// Gives `user` the next number of its inbox for `event`, message
    /// `ord` of `stream`: the user's last run of the batch grows by one if
    /// the event follows it (same kind and stream, next number, next
    /// message, same time for a `STATUS`), or a new run starts.
    fn enqueue(&mut self, user: UserId, kind: i16, stream: Stream, ord: i64, ts: i64, event: &Arc<Pushed>) {
        let inbox = self.inboxes.get_mut(&user).expect("every recipient's inbox is locked");
        inbox.last_seq += 1;
        let seq = inbox.last_seq;
        self.deliveries.push(Delivery { user, seq: seq as u64, event: event.clone() });
        let runs = &mut self.writes.runs;
        if let Some(&i) = self.last_run.get(&user) {
            let run = &mut runs[i];
            let next = i64::from(run.count);
            if run.kind == kind
                && run.stream == stream
                && run.seq + next == seq
                && run.ord + next == ord
                && (kind == MSG || kind == COPY || run.ts == ts)
            {
                run.count += 1;
                return;
            }
        }
        self.last_run.insert(user, runs.len());
        runs.push(Run { user: user as i64, seq, count: 1, kind, stream, ord, ts, stored: None });
    }

    /// Stores the events `receipt` names (`effects::delivered`,
    /// `effects::read`) for message `ord` of `stream`, whose id is `id`:
    /// a `STATUS` (`state`) to its sender, that `me` got or read it; 1.2,
    /// a `READMARK` of `chat` for the reader's other devices.
    fn give(
        &mut self,
        receipt: effects::Receipt<UserId>,
        (stream, ord): (Stream, i64),
        (me, id, state): (&Arc<str>, &str, MsgState),
        chat: Option<Arc<str>>,
        ts: i64,
    ) {
        if let Some(sender) = receipt.status {
            let event = Arc::new(Pushed::Status { peer: me.clone(), id: id.into(), state, ts: ts as u64 });
            let kind = if state == MsgState::Read { READ } else { DELIVERED };
            self.enqueue(sender, kind, stream, ord, ts, &event);
        }
        if let (Some(reader), Some(chat)) = (receipt.readmark, chat) {
            let event = Arc::new(Pushed::Mark { chat, id: id.into(), ts: ts as u64 });
            self.enqueue(reader, MARK, stream, ord, ts, &event);
        }
    }

    /// One `MSG`: the `<id>:<ts>` of its `OK`, or its `KO`. In order: the
    /// recipient, whether the sender may send to it and whether it goes
    /// anywhere (`meaning::send`: nowhere to a user who blocked the
    /// sender, answered `OK` with nothing stored), the message's number in
    /// its stream, the sender's counters, the events, the row.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &mut self,
        from: UserId,
        from_name: &Arc<str>,
        to: &Chat,
        id: &str,
        text: &Text,
        ts: i64,
        users: &HashMap<String, Option<(UserId, Arc<str>)>>,
        room_ids: &HashMap<String, i64>,
    ) -> Result<Goes<Accepted>, Ko> {
        let quota =
            super::budget::quota(self.budget.user_quota, self.inboxes.get(&from).map_or(0, |i| i.stored));
        let (stream, ord, to_name) = match to {
            Chat::User(name) => match self.next_direct(from, name, users, quota)? {
                Goes::To(next) => next,
                Goes::Nowhere => return Ok(Goes::Nowhere),
            },
            Chat::Room(name) => self.next_in_room(from, name, room_ids, quota)?,
        };
        let inbox = self.inboxes.get_mut(&from).expect("the sender's inbox is locked");
        let sender_ord = inbox.sent;
        inbox.sent += 1;
        inbox.stored += super::budget::message_bytes(text.as_escaped(), id, from_name, &to_name);
        let message = Message {
            from: from_name.clone(),
            to: to_name.clone(),
            id: id.into(),
            ts: ts as u64,
            text: text.clone(),
        };
        self.fan_out(from, stream, ord, ts, Arc::new(message));
        self.writes.messages.push(MessageRow {
            sender: from as i64,
            sender_ord,
            stream,
            ord,
            msg_id: id.to_string(),
            ts,
            from_name: from_name.to_string(),
            to_name: to_name.to_string(),
            text: text.as_escaped().to_string(),
        });
        Ok(Goes::To(Accepted { id: id.into(), ts: ts as u64 }))
    }

    /// A direct message to `name`: its direction, its number there, and
    /// the recipient's name, if `meaning::send` lets it go to the
    /// account as the batch found it (deleted or not, its inbox, whether
    /// it blocked `from`).
    fn next_direct(
        &mut self,
        from: UserId,
        name: &str,
        users: &HashMap<String, Option<(UserId, Arc<str>)>>,
        quota: Quota,
    ) -> Result<Goes<(Stream, i64, Arc<str>)>, Ko> {
        let found = users.get(&fold(name)).and_then(Option::as_ref).map(|(to, to_name)| {
            let waiting = self.inboxes.get(to).map_or(0, |i| count(i.last_seq - i.acked));
            let (deleted, blocked) = (self.gone.contains(to), self.blocked.contains(&(from, *to)));
            let addressee = send::Addressee { name: to_name, deleted, waiting, blocked };
            ((*to, to_name.clone()), addressee)
        });
        let Goes::To((to, to_name)) = send::to_user(name, found, quota, self.budget.inbox_max)? else {
            return Ok(Goes::Nowhere);
        };
        let dir = self.dirs.entry((from, to)).or_default();
        let ord = dir.sent;
        dir.sent += 1;
        Ok(Goes::To((Stream::Direct { sender: from, recipient: to }, ord, to_name)))
    }

    /// A message to the room `name`: the room, the message's number in it,
    /// and its name, if `meaning::send` lets `from` send there (a member,
    /// and the room's rules as `moderation::send_refusals` read them).
    fn next_in_room(
        &mut self,
        from: UserId,
        name: &str,
        room_ids: &HashMap<String, i64>,
        quota: Quota,
    ) -> Result<(Stream, i64, Arc<str>), Ko> {
        let rid = room_ids.get(&fold(name)).copied();
        let rid = rid.filter(|rid| self.rooms.get(rid).is_some_and(|r| r.members.contains_key(&from)));
        let found = rid.map(|rid| (rid, self.refused.get(&(from, rid)).cloned().map_or(Ok(()), Err)));
        let rid = send::to_room(name, found, quota)?;
        let room = self.rooms.get_mut(&rid).expect("found");
        let ord = room.count;
        room.count += 1;
        // The sender's read mark (a member: `to_room` found it so).
        if let Some(read) = room.members.get_mut(&from)
            && let Some(mark) = meaning::sent_in_room(count(*read), count(ord))
        {
            *read = mark as i64;
            self.writes.room_reads.push((rid, from as i64, *read));
        }
        Ok((Stream::Room(rid), ord, room.name.clone()))
    }

    /// The events of a new message, as `effects::message` names them:
    /// the recipient's, or every other member's (in id order, as the
    /// batch's rows go), and a copy for the sender's other devices.
    fn fan_out(&mut self, from: UserId, stream: Stream, ord: i64, ts: i64, message: Arc<Message>) {
        let event = Arc::new(Pushed::Msg(message.clone()));
        let copy = Arc::new(Pushed::Copy(message));
        let give = |w: &mut Work, user, gets| match gets {
            Gets::Msg => w.enqueue(user, MSG, stream, ord, ts, &event),
            Gets::Copy => w.enqueue(user, COPY, stream, ord, ts, &copy),
        };
        let several = self.inboxes[&from].several;
        match stream {
            Stream::Direct { recipient, .. } => {
                let to = effects::Recipient { id: recipient, deleted: self.gone.contains(&recipient) };
                effects::message(from, several, To::user(to), |user, gets| give(self, user, gets));
            }
            Stream::Room(rid) => {
                let mut members: Vec<UserId> = self.rooms[&rid].members.keys().copied().collect();
                members.sort_unstable();
                effects::message(from, several, To::Room(members), |user, gets| give(self, user, gets));
            }
        }
    }

    /// `ACK:<seq>`: the inbox is acknowledged up to `seq` (if `trim`; not
    /// for a device ahead of another, `Job::Deliver`); each direct message
    /// among the newly acknowledged events that was neither delivered nor
    /// read tells its sender `DELIVERED`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ack(
        &mut self,
        user: UserId,
        me: &Arc<str>,
        seq: i64,
        acked: &[Acked],
        ts: i64,
        trim: bool,
    ) {
        let inbox = self.inboxes[&user];
        let seq = seq.min(inbox.last_seq);
        if seq <= inbox.acked {
            return;
        }
        for a in acked {
            if a.seq <= inbox.acked || a.seq > seq {
                continue;
            }
            let sender = effects::Recipient { id: a.sender, deleted: self.gone.contains(&a.sender) };
            let dir = self.dirs.entry((a.sender, user)).or_default();
            let (delivered, read, ord) = (count(dir.delivered), count(dir.read), count(a.ord));
            if let Some(receipt) = effects::delivered(delivered, read, ord, sender) {
                dir.delivered = receipt.mark as i64;
                let stream = Stream::Direct { sender: a.sender, recipient: user };
                let status = (me, a.msg_id.as_str(), MsgState::Delivered);
                self.give(receipt, (stream, a.ord), status, None, ts);
            }
        }
        if trim {
            self.inboxes.get_mut(&user).expect("locked").acked = seq;
            self.writes.acks.push((user as i64, seq));
        }
    }

    /// `READ:<chat>:<id>`, the message `found` as `apply.rs` found it:
    /// the conversation (a direct chat's sender, `meaning::read`, or a
    /// room `user` is in, `meaning::rooms`), then the message; then
    /// `effects::read` says whether the reader's mark moves, and who is
    /// told (the sender's `STATUS`, none in a room; the reader's
    /// `READMARK`). Only where the mark is kept differs between the two
    /// ([`Work::mark_read`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn read(
        &mut self,
        user: UserId,
        me: &Arc<str>,
        chat: &Chat,
        id: &str,
        found: Option<Named>,
        users: &HashMap<String, Option<(UserId, Arc<str>)>>,
        room_ids: &HashMap<String, i64>,
        ts: i64,
    ) -> Result<(), Ko> {
        // The conversation: its stream, the reader's mark there, the
        // sender to tell, and the chat as a `READMARK` names it.
        let (stream, mark, sender, chat_name) = match chat {
            Chat::User(peer) => {
                let (from, peer_name) = read::sender(peer, users.get(&fold(peer)).and_then(Option::as_ref))?;
                let sender = effects::Recipient { id: *from, deleted: self.gone.contains(from) };
                let mark = self.dirs.get(&(*from, user)).map_or(0, |d| d.read);
                (Stream::Direct { sender: *from, recipient: user }, mark, Some(sender), peer_name.clone())
            }
            Chat::Room(name) => {
                let room = room_ids.get(&fold(name)).and_then(|id| self.rooms.get(id).map(|r| (*id, r)));
                let (rid, room) = rooms::member(name, room.filter(|(_, r)| r.members.contains_key(&user)))?;
                (Stream::Room(rid), room.members[&user], None, room.name.clone())
            }
        };
        let found = read::message(id, chat, found)?;
        let several = self.inboxes.get(&user).is_some_and(|i| i.several);
        if let Some(receipt) = effects::read(count(mark), count(found.ord), sender, user, several) {
            self.mark_read(stream, user, receipt.mark as i64);
            let status = (me, id, MsgState::Read);
            self.give(receipt, (stream, found.ord), status, Some(chat_name), ts);
        }
        Ok(())
    }

    /// Moves `user`'s read mark in `stream` to `mark`: a direction's,
    /// written with the batch's directions, or the reader's membership of
    /// a room, a `room_reads` row.
    fn mark_read(&mut self, stream: Stream, user: UserId, mark: i64) {
        match stream {
            Stream::Direct { sender, recipient } => {
                self.dirs.entry((sender, recipient)).or_default().read = mark
            }
            Stream::Room(rid) => {
                self.rooms.get_mut(&rid).expect("the reader's room").members.insert(user, mark);
                self.writes.room_reads.push((rid, user as i64, mark));
            }
        }
    }

    /// `JOIN`, as `meaning::rooms::join` decides it: nothing changes for
    /// a member; otherwise `refusal` (the room's rules,
    /// `apply::join_rules`) and then the joiner's number of rooms may
    /// refuse it. A joiner's invitation is used up (`Rules::joined`), and
    /// a room it makes is its own (`moderation::owned_by_its_maker`):
    /// rows that `writes.rs` changes in this batch's transaction.
    /// `room_ids` names the room's live row: a room an earlier job of the
    /// batch emptied is gone, and `apply::make_again` made its name a new
    /// one before this `JOIN`.
    pub(super) fn join(
        &mut self,
        user: UserId,
        room: &str,
        room_ids: &HashMap<String, i64>,
        rooms: &mut i64,
        refusal: Option<Ko>,
    ) -> Result<(), Ko> {
        let Some(rid) = room_ids.get(&fold(room)).copied() else {
            // The cluster's own, no rule of the protocol's: other nodes
            // emptied the room each time this batch made it again while
            // it waited for its lock (`locks::lock_rooms`, `MAKE_TRIES`),
            // a race a single server under one lock cannot have. Trying
            // again sees the room as it is now.
            return Err(Ko::new(Code::Internal, "the room changed meanwhile; try again"));
        };
        let r = self.rooms.get_mut(&rid).expect("locked");
        debug_assert!(r.live, "a room emptied by the batch is made again before its JOIN");
        let rules = refusal.map_or(Ok(()), Err);
        if !meaning::rooms::join(r.members.contains_key(&user), rules, usize::try_from(*rooms).unwrap_or(0))?
        {
            return Ok(());
        }
        // New: made by this batch (a row of step 1, or of `make_again`
        // for a name whose room an earlier job emptied), or left empty by
        // a refused JOIN. Each is a row of its own, made once: one owner.
        let makes = r.members.is_empty() && owned_by_its_maker(&r.name);
        *rooms += 1;
        r.members.insert(user, r.count);
        self.writes.left.retain(|&(room, u)| (room, u) != (rid, user as i64));
        self.writes.joined.push((rid, user as i64, r.count));
        self.writes.names_dropped.push((rid, user as i64, moderation::INVITED));
        if makes {
            self.writes.owners.push((rid, user as i64));
        }
        Ok(())
    }

    /// `LEAVE`, as `meaning::rooms::leave` decides it, of the room as the
    /// batch has it now: a room is there while someone is in it. A row
    /// nobody is in is one step 1 made for a `JOIN` that has not come yet
    /// or was refused, or one an earlier job emptied: no room, as on a
    /// single server (issue 54: a `LEAVE` before a `JOIN` that made the
    /// room was told `you are not in` it).
    pub(super) fn leave(
        &mut self,
        user: UserId,
        room: &str,
        room_ids: &HashMap<String, i64>,
    ) -> Result<(), Ko> {
        let there = |r: &Room| r.live && !rooms::forgotten(r.members.len());
        let live = room_ids.get(&fold(room)).copied().filter(|rid| self.rooms.get(rid).is_some_and(there));
        let found = live.map(|rid| (rid, self.rooms[&rid].members.contains_key(&user)));
        let rid = rooms::leave(room, found)?;
        let r = self.rooms.get_mut(&rid).expect("found");
        r.members.remove(&user);
        if rooms::forgotten(r.members.len()) {
            r.live = false; // its name starts a new room (`apply::make_again`)
        }
        self.writes.joined.retain(|&(room, u, _)| (room, u) != (rid, user as i64));
        self.writes.left.push((rid, user as i64));
        // A room admin's rank goes with its membership (`Rules::left`).
        self.writes.names_dropped.push((rid, user as i64, moderation::ADMIN));
        Ok(())
    }

    /// A new account joins `#general`, room `rid`, as a single server's
    /// registration does (`store/local/requests.rs`, `join_general`):
    /// from the room's next message on, nobody's owner, no rule to
    /// refuse it or limit to count. `apply::join_general` calls it where
    /// the `REGISTER` comes among the batch's jobs.
    pub(super) fn welcome(&mut self, user: UserId, rid: i64) {
        let r = self.rooms.get_mut(&rid).expect("#general is locked");
        r.members.insert(user, r.count);
        self.writes.joined.push((rid, user as i64, r.count));
    }

    /// Once every job is worked out: a room nobody is in is gone
    /// (`meaning::rooms::forgotten`), its row no longer live. That is a
    /// room its last member left, and a row step 1 made for a `JOIN` (or
    /// a new account's `#general`) that was refused: a single server makes
    /// no room for a refused `JOIN`, so none is left here for a later
    /// `ROOMINFO` or `JOIN` to find (issue 54: the row stayed, live and
    /// empty, a room with the refused joiner's spelling and no member).
    pub(super) fn forget_empty(&mut self) {
        for r in self.rooms.values_mut() {
            if rooms::forgotten(r.members.len()) {
                r.live = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::writes::lengthened;
    use super::super::writes::{Inbox, Room};
    use super::*;

    /// bob (user 2) has events 1 to 5, acknowledged up to 2; his last
    /// stored run is 3 to 5, room 7's messages 10 to 12.
    fn bob_with_a_stored_run() -> Work {
        let mut w = Work::default();
        w.inboxes.insert(2, Inbox { last_seq: 5, acked: 2, sent: 0, stored: 0, several: false });
        let run = Run {
            user: 2,
            seq: 3,
            count: 3,
            kind: MSG,
            stream: Stream::Room(7),
            ord: 10,
            ts: 0,
            stored: Some(3),
        };
        w.writes.runs.push(run);
        w.last_run.insert(2, 0);
        w
    }

    fn event() -> Arc<Pushed> {
        Arc::new(Pushed::Status { peer: "ana".into(), id: "m1".into(), state: MsgState::Delivered, ts: 0 })
    }

    #[test]
    fn a_room_message_that_follows_a_stored_run_lengthens_it_and_others_start_a_row() {
        let mut w = bob_with_a_stored_run();
        w.enqueue(2, MSG, Stream::Room(7), 13, 1, &event());
        w.enqueue(2, MSG, Stream::Room(7), 14, 2, &event());
        assert_eq!(w.writes.runs.len(), 1, "no new row");
        assert_eq!(w.writes.runs[0].count, 5);
        assert_eq!(w.deliveries.iter().map(|d| d.seq).collect::<Vec<_>>(), [6, 7]);
        assert_eq!(lengthened(&w), (vec![2], vec![3], vec![5]));
        // Room 7's message 16 (15 was bob's own): a new run, inserted.
        w.enqueue(2, MSG, Stream::Room(7), 16, 3, &event());
        assert_eq!(w.writes.runs.len(), 2);
        assert_eq!((w.writes.runs[1].seq, w.writes.runs[1].stored), (8, None));
    }

    #[test]
    fn a_lengthened_run_that_the_batch_acknowledges_whole_is_deleted_not_updated() {
        let mut w = bob_with_a_stored_run();
        w.enqueue(2, MSG, Stream::Room(7), 13, 1, &event());
        w.ack(2, &"bob".into(), 5, &[], 2, true);
        assert_eq!(lengthened(&w), (vec![2], vec![3], vec![4]), "6 is not acknowledged: updated");
        w.ack(2, &"bob".into(), 6, &[], 3, true);
        assert_eq!(lengthened(&w), (vec![], vec![], vec![]), "all of it acknowledged: left to `acks`");
        let untouched = bob_with_a_stored_run();
        assert_eq!(lengthened(&untouched), (vec![], vec![], vec![]), "a run read but not lengthened");
    }

    /// Room 7 (`#lab3`), made by this batch: ana (1) joins it and leaves,
    /// then bob (2) and eve (3) join. A single server forgets the room at
    /// ana's `LEAVE` and bob makes a new one, so bob owns it; here ana's
    /// `LEAVE` leaves room 7 no longer live, and the `JOIN`s find its name
    /// made again as room 9 (`apply::make_again`'s new row). Every `JOIN`
    /// uses its invitation up and ana's `LEAVE` takes her rank, whatever
    /// comes after them in the batch.
    #[test]
    fn a_batchs_memberships_change_the_rules_as_a_single_servers_records_do() {
        let mut w = Work::default();
        let room = |name: &str| Room { name: name.into(), count: 0, live: true, members: HashMap::new() };
        w.rooms.insert(7, room("#lab3"));
        let ids = HashMap::from([("lab3".to_string(), 7)]);
        let mut rooms = 0;
        w.join(1, "lab3", &ids, &mut rooms, None).unwrap();
        w.leave(1, "lab3", &ids).unwrap();
        assert!(!w.rooms[&7].live, "nobody in it: gone, as on a single server");
        assert_eq!(w.leave(1, "lab3", &ids), Err(Ko::no_room("lab3")));
        w.rooms.insert(9, room("#lab3"));
        let ids = HashMap::from([("lab3".to_string(), 9)]);
        w.join(2, "lab3", &ids, &mut rooms, None).unwrap();
        w.join(3, "lab3", &ids, &mut rooms, None).unwrap();
        assert_eq!(w.writes.owners, [(7, 1), (9, 2)], "bob made the room again: the new one is his");
        let dropped = [(7, 1, "INVITED"), (7, 1, "ADMIN"), (9, 2, "INVITED"), (9, 3, "INVITED")];
        assert_eq!(w.writes.names_dropped, dropped);
        // `#general` is nobody's.
        w.rooms.insert(8, room("#general"));
        w.join(4, "general", &HashMap::from([("general".to_string(), 8)]), &mut rooms, None).unwrap();
        assert_eq!(w.writes.owners, [(7, 1), (9, 2)]);
    }
}
