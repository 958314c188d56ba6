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
//! (`meaning::rooms`), a `READ` of nothing (`meaning::read`) — both ask
//! `store::meaning`, passing what they found, and a test below plays one
//! sequence through both. No refusal of the protocol's is named here.

use std::collections::HashMap;
use std::sync::Arc;

use super::locks::Acked;
use super::writes::{MessageRow, Run, Stream};
use super::writes::{Named, Work};
use crate::protocol::names::fold;
use crate::protocol::{Accepted, Chat, Code, Ko, MsgState, Text};
use crate::store::budget::Quota;
use crate::store::meaning;
use crate::store::meaning::{read, rooms, send};
use crate::store::{Delivery, Message, Pushed, UserId};

/// The kinds of event (column `events.kind`).
pub const MSG: i16 = 0;
pub const DELIVERED: i16 = 1;
pub const READ: i16 = 2;
/// 1.2: a copy of a message the user sent, for its other devices.
pub const COPY: i16 = 3;
/// 1.2: the user read its chat up to this message (`READMARK`).
pub const MARK: i16 = 4;

/// A count or a number as the database keeps it (`int8`, never
/// negative), as the rules of `store::meaning` take it.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

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

    /// 1.2: `READMARK` of `chat` up to message `ord` of `stream`, into the
    /// reader's own inbox if it has several devices (its others clear
    /// their unread counts).
    fn mark(&mut self, user: UserId, stream: Stream, ord: i64, chat: Arc<str>, id: &str, ts: i64) {
        if self.inboxes.get(&user).is_some_and(|i| i.several) {
            let event = Arc::new(Pushed::Mark { chat, id: id.into(), ts: ts as u64 });
            self.enqueue(user, MARK, stream, ord, ts, &event);
        }
    }

    /// One `MSG`: the `<id>:<ts>` of its `OK`, or its `KO`. In order: the
    /// recipient, whether the sender may send to it (`meaning::send`),
    /// the message's number in its stream, the sender's counters, the
    /// events, the row.
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
    ) -> Result<Accepted, Ko> {
        let quota =
            super::budget::quota(self.budget.user_quota, self.inboxes.get(&from).map_or(0, |i| i.stored));
        let (stream, ord, to_name) = match to {
            Chat::User(name) => self.next_direct(from, name, users, quota)?,
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
        Ok(Accepted { id: id.into(), ts: ts as u64 })
    }

    /// A direct message to `name`: its direction, its number there, and
    /// the recipient's name, if `meaning::send` lets it go to the
    /// account as the batch found it (deleted or not, its inbox).
    fn next_direct(
        &mut self,
        from: UserId,
        name: &str,
        users: &HashMap<String, Option<(UserId, Arc<str>)>>,
        quota: Quota,
    ) -> Result<(Stream, i64, Arc<str>), Ko> {
        let found = users.get(&fold(name)).and_then(Option::as_ref).map(|(to, to_name)| {
            let waiting = self.inboxes.get(to).map_or(0, |i| count(i.last_seq - i.acked));
            let addressee = send::Addressee { name: to_name, deleted: self.gone.contains(to), waiting };
            ((*to, to_name.clone()), addressee)
        });
        let (to, to_name) = send::to_user(name, found, quota, self.budget.inbox_max)?;
        let dir = self.dirs.entry((from, to)).or_default();
        let ord = dir.sent;
        dir.sent += 1;
        Ok((Stream::Direct { sender: from, recipient: to }, ord, to_name))
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
        Ok((Stream::Room(rid), ord, room.name.clone()))
    }

    /// The events of a new message: the recipient's, or every other
    /// member's, in id order; and a copy for the sender's other devices
    /// if it has several (protocol 1.2).
    fn fan_out(&mut self, from: UserId, stream: Stream, ord: i64, ts: i64, message: Arc<Message>) {
        let event = Arc::new(Pushed::Msg(message.clone()));
        match stream {
            Stream::Direct { recipient, .. } => self.enqueue(recipient, MSG, stream, ord, ts, &event),
            Stream::Room(rid) => {
                let mut members: Vec<UserId> =
                    self.rooms[&rid].members.keys().copied().filter(|&m| m != from).collect();
                members.sort_unstable();
                for member in members {
                    self.enqueue(member, MSG, stream, ord, ts, &event);
                }
            }
        }
        if self.inboxes[&from].several {
            self.enqueue(from, COPY, stream, ord, ts, &Arc::new(Pushed::Copy(message)));
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
            let dir = self.dirs.entry((a.sender, user)).or_default();
            if meaning::delivers(count(dir.delivered), count(dir.read), count(a.ord)) {
                dir.delivered = a.ord + 1;
                let state = MsgState::Delivered;
                let event = Arc::new(Pushed::Status {
                    peer: me.clone(),
                    id: a.msg_id.as_str().into(),
                    state,
                    ts: ts as u64,
                });
                let stream = Stream::Direct { sender: a.sender, recipient: user };
                self.enqueue(a.sender, DELIVERED, stream, a.ord, ts, &event);
            }
        }
        if trim {
            self.inboxes.get_mut(&user).expect("locked").acked = seq;
            self.writes.acks.push((user as i64, seq));
        }
    }

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
        match chat {
            Chat::User(peer) => {
                let (from, peer_name) = read::sender(peer, users.get(&fold(peer)).and_then(Option::as_ref))?;
                let found = read::message(id, chat, found)?;
                let dir = self.dirs.entry((*from, user)).or_default();
                if meaning::reads(count(dir.read), count(found.ord)) {
                    dir.read = found.ord + 1;
                    let state = MsgState::Read;
                    let event =
                        Arc::new(Pushed::Status { peer: me.clone(), id: id.into(), state, ts: ts as u64 });
                    let stream = Stream::Direct { sender: *from, recipient: user };
                    self.enqueue(*from, READ, stream, found.ord, ts, &event);
                    self.mark(user, stream, found.ord, peer_name.clone(), id, ts);
                }
                Ok(())
            }
            Chat::Room(name) => {
                let room = room_ids.get(&fold(name)).and_then(|id| self.rooms.get(id).map(|r| (*id, r)));
                let (rid, room) = rooms::member(name, room.filter(|(_, r)| r.members.contains_key(&user)))?;
                let found = read::message(id, chat, found)?;
                if meaning::reads(count(room.members[&user]), count(found.ord)) {
                    let chat = room.name.clone();
                    self.rooms.get_mut(&rid).expect("found").members.insert(user, found.ord + 1);
                    self.writes.room_reads.push((rid, user as i64, found.ord + 1));
                    self.mark(user, Stream::Room(rid), found.ord, chat, id, ts);
                }
                Ok(())
            }
        }
    }

    /// `JOIN`: nothing changes for a member; otherwise `refusal` (the
    /// room's rules, `apply::join_rules`) and then the joiner's number of
    /// rooms may refuse it, in the single server's order.
    pub(super) fn join(
        &mut self,
        user: UserId,
        room: &str,
        room_ids: &HashMap<String, i64>,
        rooms: &mut i64,
        refusal: Option<Ko>,
    ) -> Result<(), Ko> {
        let Some(rid) = room_ids.get(&fold(room)).copied() else {
            // The cluster's own, no rule of the protocol's: the room was
            // made or emptied by another node between this batch's lookup
            // and its lock, a race a single server under one lock cannot
            // have. Trying again sees the room as it is now.
            return Err(Ko::new(Code::Internal, "the room changed meanwhile; try again"));
        };
        let r = self.rooms.get_mut(&rid).expect("locked");
        if r.members.contains_key(&user) {
            return Ok(());
        }
        if let Some(ko) = refusal {
            return Err(ko);
        }
        meaning::may_join(usize::try_from(*rooms).unwrap_or(0))?;
        *rooms += 1;
        r.members.insert(user, r.count);
        r.live = true;
        self.writes.left.retain(|&(room, u)| (room, u) != (rid, user as i64));
        self.writes.joined.push((rid, user as i64, r.count));
        Ok(())
    }

    pub(super) fn leave(
        &mut self,
        user: UserId,
        room: &str,
        room_ids: &HashMap<String, i64>,
    ) -> Result<(), Ko> {
        let live =
            room_ids.get(&fold(room)).copied().filter(|rid| self.rooms.get(rid).is_some_and(|r| r.live));
        let found = live.map(|rid| (rid, self.rooms[&rid].members.contains_key(&user)));
        let rid = rooms::leave(room, found)?;
        let r = self.rooms.get_mut(&rid).expect("found");
        r.members.remove(&user);
        if r.members.is_empty() {
            r.live = false; // its name may start a new room
        }
        self.writes.joined.retain(|&(room, u, _)| (room, u) != (rid, user as i64));
        self.writes.left.push((rid, user as i64));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::writes::Inbox;
    use super::super::writes::lengthened;
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

    /// A step of bob's in [`STEPS`], after ana sent him m0, m1 and m2.
    enum Step {
        Ack(u64),
        /// `READ` of the message with this id and number.
        Read(&'static str, u64),
    }

    /// ACK 2, READ m0, READ m2 (read before it is acknowledged: never
    /// DELIVERED), ACK 3, READ m0 again, ACK 3 again.
    const STEPS: [Step; 6] = [
        Step::Ack(2),
        Step::Read("m0", 0),
        Step::Read("m2", 2),
        Step::Ack(3),
        Step::Read("m0", 0),
        Step::Ack(3),
    ];

    /// The sequence on a single server's state, each record decided as
    /// `store::local` decides it (ana is user 0, bob 1).
    fn on_one_server() -> (crate::store::state::State, Vec<Delivery>) {
        use crate::store::record::Record;
        let mut state = crate::store::state::State::default();
        let mut batch = crate::store::state::Batch::default();
        let (ana, bob) = (state.add_user("ana", "h").unwrap(), state.add_user("bob", "h").unwrap());
        for (i, ts) in (0..3).zip(10..) {
            let text = Text::parse("hi").unwrap();
            let msg = Message { from: "ana".into(), to: "bob".into(), id: format!("m{i}").into(), ts, text };
            let link = state.direct_link(ana, bob);
            state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut batch).unwrap();
        }
        for (step, ts) in STEPS.iter().zip(20..) {
            let (user, chat): (Arc<str>, Arc<str>) = ("bob".into(), "ana".into());
            match *step {
                Step::Ack(seq) => {
                    for (_, dord, id) in state.acked_direct(bob, seq) {
                        if state.would_deliver(ana, bob, dord) {
                            let (user, chat) = (user.clone(), chat.clone());
                            state.commit(Record::Delivered { ts, user, chat, id, dord }, &mut batch).unwrap();
                        }
                    }
                    state.commit(Record::Ack { ts, user, seq }, &mut batch).unwrap();
                }
                Step::Read(id, ord) if state.would_read(ana, bob, ord) => {
                    state.commit(Record::Read { ts, user, chat, id: id.into(), ord }, &mut batch).unwrap();
                }
                Step::Read(..) => {}
            }
        }
        (state, batch.deliveries)
    }

    /// The sequence on a cluster's batch work (ana is user 1, bob 2).
    fn on_a_cluster() -> Work {
        let mut w = Work::default();
        let inbox = Inbox { last_seq: 0, acked: 0, sent: 0, stored: 0, several: false };
        w.inboxes.extend([(1, inbox), (2, inbox)]);
        let users = HashMap::from([("bob".to_string(), Some((2, Arc::from("bob"))))]);
        let text = Text::parse("hi").unwrap();
        for (i, ts) in (0..3).zip(10..) {
            let to = Chat::User("bob".into());
            w.send(1, &"ana".into(), &to, &format!("m{i}"), &text, ts, &users, &HashMap::new()).unwrap();
        }
        let acked: Vec<Acked> =
            (0..3).map(|i| Acked { seq: i + 1, sender: 1, ord: i, msg_id: format!("m{i}") }).collect();
        let (ana, peers) =
            (Chat::User("ana".into()), HashMap::from([("ana".to_string(), Some((1, "ana".into())))]));
        for (step, ts) in STEPS.iter().zip(20..) {
            match *step {
                Step::Ack(seq) => w.ack(2, &"bob".into(), seq as i64, &acked, ts, true),
                Step::Read(id, ord) => {
                    let found = Some(Named { ord: ord as i64 });
                    w.read(2, &"bob".into(), &ana, id, found, &peers, &HashMap::new(), ts).unwrap();
                }
            }
        }
        w
    }

    /// One sequence of direct messages, `ACK`s and `READ`s, played on a
    /// single server and on a cluster: the sender gets the same `STATUS`
    /// events, and the marks end the same (both ask `store::meaning`).
    #[test]
    fn acks_and_reads_give_the_same_receipts_on_both_backends() {
        let ((state, one), w) = (on_one_server(), on_a_cluster());
        let events = |deliveries: &[Delivery], user: UserId| -> Vec<String> {
            deliveries.iter().filter(|d| d.user == user).map(|d| format!("{} {:?}", d.seq, d.event)).collect()
        };
        let to_ana = events(&one, 0);
        assert_eq!(to_ana.len(), 4, "DELIVERED m0 m1, READ m0 m2: {to_ana:#?}");
        assert_eq!(to_ana, events(&w.deliveries, 1), "ana's STATUS events");
        assert_eq!(events(&one, 1), events(&w.deliveries, 2), "bob's messages");
        let (marks, dir) = (state.marks(0, 1), w.dirs[&(1, 2)]);
        assert_eq!((marks.delivered, marks.read), (count(dir.delivered), count(dir.read)));
        assert_eq!((marks.delivered, marks.read), (2, 3), "m2 was read before it was delivered");
    }
}
