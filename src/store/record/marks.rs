//! The marks: `DELIVERED` and `READ` (how far a conversation's messages
//! went), `ACK` (how far a user's inbox was acknowledged) and `SEEN` (when
//! its receive connection ended). Their lines, what they do to the state,
//! and where the marks move, by the rules both backends apply
//! ([`meaning::delivers`], [`meaning::reads`]): the cluster's transaction
//! asks them too, so that a `STATUS` is sent for the same messages on one
//! server and on a cluster.
//!
//! ```text
//! DELIVERED,<ts>,<recipient>,<sender>,<id>,,,<dord>
//! READ,<ts>,<reader>,<sender>,<id>,,,<dord>      a direct chat
//! READ,<ts>,<reader>,<#room>,<id>,,<ord>          a room
//! ACK,<ts>,<user>,,,,<seq>
//! SEEN,<ts>,<user>
//! ```
//!
//! DELIVERED and READ are cumulative (protocol §5, §6): a mark says "the
//! first N messages of this direction are delivered / read", so a record
//! moves a mark forward or changes nothing. What the marks leave in a
//! checkpoint (`USER` and `DIRECT` rows) is the checkpoint's core, written
//! by `checkpoint/mod.rs`.

use std::sync::Arc;

use super::Record;
use super::fields::{Fields, Line};
use super::message::Pos;
use crate::protocol::MsgState;
use crate::store::meaning;
use crate::store::state::{Delivery, Pushed, Queued, State, UserId, side};

/// Where `DELIVERED` of message number `dord` moves a direction's
/// delivered mark, given its marks (`None`: nothing changes, nobody is
/// told). The rule is [`meaning::delivers`], which the cluster asks too.
fn delivered_mark(delivered: u64, read: u64, dord: u64) -> Option<u64> {
    meaning::delivers(delivered, read, dord).then_some(dord + 1)
}

/// Where `READ` of message number `ord` moves a read mark at `read`, in
/// a direct chat or a room (`None`: nothing changes, nobody is told). The
/// rule is [`meaning::reads`], which the cluster asks too.
fn read_mark(read: u64, ord: u64) -> Option<u64> {
    meaning::reads(read, ord).then_some(ord + 1)
}

/// Writes a `DELIVERED` line.
pub(super) fn encode_delivered(line: &mut Line, ts: u64, names: [&str; 3], dord: u64) {
    line.word("DELIVERED");
    line.number(ts);
    line.fields(&names);
    line.fields(&["", ""]);
    line.number(dord);
}

/// Writes a `READ` line: a room's `ord` in the `ord` column, a direct
/// chat's `dord` in the `dord` column.
pub(super) fn encode_read(line: &mut Line, ts: u64, names: [&str; 3], ord: u64) {
    line.word("READ");
    line.number(ts);
    line.fields(&names);
    line.field("");
    if !names[1].starts_with('#') {
        line.field("");
    }
    line.number(ord);
}

pub(super) fn encode_ack(line: &mut Line, ts: u64, user: &str, seq: u64) {
    line.word("ACK");
    line.number(ts);
    line.fields(&[user, "", "", ""]);
    line.number(seq);
}

pub(super) fn encode_seen(line: &mut Line, ts: u64, user: &str) {
    line.word("SEEN");
    line.number(ts);
    line.field(user);
}

/// Reads the line of one of this file's kinds (`word`), whose time is `ts`.
pub(super) fn decode(word: &str, f: &Fields, ts: u64) -> Result<Record, String> {
    let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    Ok(match word {
        "DELIVERED" => {
            Record::Delivered { ts, user: name(2)?, chat: name(3)?, id: name(4)?, dord: f.number(7)? }
        }
        "READ" => {
            let chat = name(3)?;
            let ord = if chat.starts_with('#') { f.number(6)? } else { f.number(7)? };
            Record::Read { ts, user: name(2)?, chat, id: name(4)?, ord }
        }
        "ACK" => Record::Ack { ts, user: name(2)?, seq: f.number(6)? },
        _ => Record::Seen { ts, user: name(2)? },
    })
}

impl State {
    /// True if `DELIVERED` for message number `dord` from `sender` to
    /// `user` would move its state forward (not yet delivered, nor read).
    pub fn would_deliver(&self, sender: UserId, user: UserId, dord: u64) -> bool {
        let marks = self.marks(sender, user);
        delivered_mark(marks.delivered, marks.read, dord).is_some()
    }

    /// True if `READ` of message `dord` from `sender` would move the mark.
    pub fn would_read(&self, sender: UserId, user: UserId, dord: u64) -> bool {
        read_mark(self.marks(sender, user).read, dord).is_some()
    }

    /// `DELIVERED`: `user` got message number `dord` (`id`) from `sender`.
    pub(super) fn apply_delivered(
        &mut self,
        (user, sender, id): (&str, &str, &Arc<str>),
        dord: u64,
        ts: u64,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let (user, sender) = (self.need_user(user)?, self.need_user(sender)?);
        self.need_sent(sender, user, dord)?;
        let marks = self.marks(sender, user);
        if let Some(mark) = delivered_mark(marks.delivered, marks.read, dord) {
            self.direct_mut(sender, user).marks[side(sender, user)].delivered = mark;
            self.status(sender, user, id, MsgState::Delivered, ts, pos, push);
        }
        Ok(())
    }

    /// `READ`: `user` read `chat` up to its message `id`, number `ord`,
    /// at `ts` (the record's `(chat, id, ts)`).
    pub(super) fn apply_read(
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
            let moved = read_mark(member.read, ord).is_some();
            member.mark_read(ord + 1);
            if moved {
                self.mark(user, read, pos, push);
            }
        } else {
            let sender = self.need_user(chat)?;
            self.need_sent(sender, user, ord)?;
            if let Some(mark) = read_mark(self.marks(sender, user).read, ord) {
                self.direct_mut(sender, user).marks[side(sender, user)].read = mark;
                let mut push = push;
                self.status(sender, user, id, MsgState::Read, ts, pos, push.as_deref_mut());
                self.mark(user, read, pos, push);
            }
        }
        Ok(())
    }

    /// `ACK`: `user`'s inbox is acknowledged up to `seq`.
    pub(super) fn apply_ack(&mut self, user: &str, seq: u64) -> Result<(), String> {
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

    /// `SEEN`: `user`'s receive connection ended at `ts`.
    pub(super) fn apply_seen(&mut self, user: &str, ts: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let seen = &mut self.users[user].last_seen;
        *seen = Some(seen.unwrap_or(0).max(ts));
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_moves_forward_only() {
        assert_eq!(delivered_mark(0, 0, 0), Some(1));
        assert_eq!(delivered_mark(3, 0, 1), None, "delivered already");
        assert_eq!(delivered_mark(0, 3, 1), None, "read already: no DELIVERED after a READ");
        assert_eq!(delivered_mark(1, 0, 4), Some(5), "a later message carries the earlier ones");
        assert_eq!(read_mark(2, 1), None);
        assert_eq!(read_mark(2, 2), Some(3));
    }
}
