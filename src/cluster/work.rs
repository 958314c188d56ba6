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

use std::collections::HashMap;
use std::sync::Arc;

use super::writes::{Acked, MessageRow, Run, Stream};
use super::writes::{Named, Work};
use crate::protocol::names::fold;
use crate::protocol::{Accepted, Chat, Code, Ko, State as MsgState, Text};
use crate::store::{Delivery, MAX_ROOMS_PER_USER, Message, Pushed, UserId};

/// The kinds of event (column `events.kind`).
pub const MSG: i16 = 0;
pub const DELIVERED: i16 = 1;
pub const READ: i16 = 2;
/// 1.2: a copy of a message the user sent, for its other devices.
pub const COPY: i16 = 3;
/// 1.2: the user read its chat up to this message (`READMARK`).
pub const MARK: i16 = 4;

fn ko(code: Code, reason: impl Into<String>) -> Ko {
    Ko::new(code, reason)
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

    /// One `MSG`: the `<id>:<ts>` of its `OK`, or its `KO`.
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
        let quota = self.budget.user_quota;
        super::budget::check_quota(quota, self.inboxes.get(&from).map_or(0, |i| i.stored))?;
        let (stream, ord, to_name) = match to {
            Chat::User(name) => {
                let Some(Some((to, to_name))) = users.get(&fold(name)) else {
                    return Err(ko(Code::UnknownUser, format!("no user named {name}")));
                };
                if self.gone.contains(to) {
                    return Err(ko(Code::UnknownUser, format!("{to_name} deleted its account")));
                }
                let waiting = self.inboxes.get(to).map_or(0, |i| i.last_seq - i.acked);
                super::budget::check_inbox(self.budget.inbox_max, to_name, waiting)?;
                let dir = self.dirs.entry((from, *to)).or_default();
                let ord = dir.sent;
                dir.sent += 1;
                (Stream::Direct { sender: from, recipient: *to }, ord, to_name.clone())
            }
            Chat::Room(name) => {
                let not_member = || ko(Code::NotMember, format!("you are not in #{name}"));
                let rid = *room_ids.get(&fold(name)).ok_or_else(not_member)?;
                let room = self
                    .rooms
                    .get_mut(&rid)
                    .filter(|r| r.members.contains_key(&from))
                    .ok_or_else(not_member)?;
                let ord = room.count;
                room.count += 1;
                (Stream::Room(rid), ord, room.name.clone())
            }
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
        let message = Arc::new(message);
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
            // The sender's other devices get it too (protocol 1.2).
            self.enqueue(from, COPY, stream, ord, ts, &Arc::new(Pushed::Copy(message)));
        }
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
            if a.ord + 1 > dir.delivered.max(dir.read) {
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
        let unknown = || ko(Code::UnknownMessage, format!("no message {id} from {chat} to you"));
        match chat {
            Chat::User(peer) => {
                let Some(Some((from, peer_name))) = users.get(&fold(peer)) else {
                    return Err(ko(Code::UnknownMessage, format!("no user named {peer}")));
                };
                let found = found.ok_or_else(unknown)?;
                let dir = self.dirs.entry((*from, user)).or_default();
                if found.ord + 1 > dir.read {
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
                let Some((rid, room)) = room.filter(|(_, r)| r.members.contains_key(&user)) else {
                    return Err(ko(Code::NotMember, format!("you are not in #{name}")));
                };
                let found = found.ok_or_else(unknown)?;
                if found.ord + 1 > room.members[&user] {
                    let chat = room.name.clone();
                    self.rooms.get_mut(&rid).expect("found").members.insert(user, found.ord + 1);
                    self.writes.room_reads.push((rid, user as i64, found.ord + 1));
                    self.mark(user, Stream::Room(rid), found.ord, chat, id, ts);
                }
                Ok(())
            }
        }
    }

    pub(super) fn join(
        &mut self,
        user: UserId,
        room: &str,
        room_ids: &HashMap<String, i64>,
        rooms: &mut i64,
    ) -> Result<(), Ko> {
        let Some(rid) = room_ids.get(&fold(room)).copied() else {
            return Err(ko(Code::Internal, "the room changed meanwhile; try again"));
        };
        let r = self.rooms.get_mut(&rid).expect("locked");
        if r.members.contains_key(&user) {
            return Ok(());
        }
        if *rooms >= MAX_ROOMS_PER_USER as i64 {
            let why = format!("you are in {MAX_ROOMS_PER_USER} rooms, the most allowed; LEAVE one first");
            return Err(ko(Code::BadRequest, why));
        }
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
        let rid = room_ids.get(&fold(room)).copied();
        let r = rid.and_then(|rid| self.rooms.get_mut(&rid).filter(|r| r.live));
        let r = r.ok_or_else(|| ko(Code::NotMember, format!("no room named #{room}")))?;
        if r.members.remove(&user).is_none() {
            return Err(ko(Code::NotMember, format!("you are not in #{room}")));
        }
        if r.members.is_empty() {
            r.live = false; // its name may start a new room
        }
        let rid = rid.expect("found");
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
}
