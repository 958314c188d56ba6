//! The marks: `DELIVERED` and `READ` (how far a conversation's messages
//! went), `ACK` (how far a user's inbox was acknowledged), `SEEN` (when
//! its receive connection ended) and `INBOX` (where the numbering of an
//! inbox converted from another store goes on). Their lines, what they do to the state,
//! and where the marks move, by the rules of `store::meaning`
//! ([`meaning::delivers`], [`meaning::reads`]; who is told, by
//! [`effects::delivered`] and [`effects::read`]): a single server and
//! every node of a cluster apply these records with this same code, so
//! a `STATUS` is sent for the same messages to the same users on both.
//!
//! ```text
//! DELIVERED,<ts>,<recipient>,<sender>,<id>,,,<dord>
//! DELIVERED,<ts>,<member>,<#room>,<id>,,,<ord>   a room (1.2, `state::receipts`)
//! READ,<ts>,<reader>,<sender>,<id>,,,<dord>      a direct chat
//! READ,<ts>,<reader>,<#room>,<id>,,<ord>          a room
//! ACK,<ts>,<user>,,,,<seq>
//! ACK,<ts>,<user>,<device>,,<position>,<seq>     1.2: a device's ACK
//! SEEN,<ts>,<user>
//! INBOX,<ts>,<user>,,,,<seq>
//! ```
//!
//! An `ACK` trims the inbox up to `<seq>`. One that names a device (1.2)
//! is that device's acknowledgement: the device's `<position>`, its
//! place in the inbox, moves there (never back), in the value of its
//! setting (`store::devices`), where `DEVICES`, a login and a checkpoint
//! read it; `<seq>` is then where the server trims the inbox for all the
//! user's devices (the lowest position of those that hold it). A log of
//! an older build has only the first form, read as an `ACK` of no device.
//!
//! DELIVERED and READ are cumulative (protocol §5, §6): a mark says "the
//! first N messages of this direction are delivered / read", so a record
//! moves a mark forward or changes nothing. What the marks leave in a
//! checkpoint (`USER` and `DIRECT` rows) is the checkpoint's core, written
//! by `checkpoint/mod.rs`.

use std::sync::Arc;

use super::Record;
use super::fields::{CsvLine, Fields};
use super::message::Pos;
use crate::protocol::MsgState;
use crate::store::meaning::{self, effects};
use crate::store::state::{Delivery, Pushed, Queued, State, UserId, side};

/// Writes a `DELIVERED` line.
pub(super) fn encode_delivered(line: &mut CsvLine, ts: u64, names: [&str; 3], dord: u64) {
    line.word("DELIVERED");
    line.number(ts);
    line.fields(&names);
    line.fields(&["", ""]);
    line.number(dord);
}

/// Writes a `READ` line: a room's `ord` in the `ord` column, a direct
/// chat's `dord` in the `dord` column.
pub(super) fn encode_read(line: &mut CsvLine, ts: u64, names: [&str; 3], ord: u64) {
    line.word("READ");
    line.number(ts);
    line.fields(&names);
    line.field("");
    if !names[1].starts_with('#') {
        line.field("");
    }
    line.number(ord);
}

pub(super) fn encode_ack(
    line: &mut CsvLine,
    ts: u64,
    user: &str,
    seq: u64,
    device: Option<&(Arc<str>, u64)>,
) {
    line.word("ACK");
    line.number(ts);
    match device {
        Some((name, position)) => {
            line.fields(&[user, name, ""]);
            line.number(*position);
        }
        None => line.fields(&[user, "", "", ""]),
    }
    line.number(seq);
}

pub(super) fn encode_inbox(line: &mut CsvLine, ts: u64, user: &str, seq: u64) {
    line.word("INBOX");
    line.number(ts);
    line.fields(&[user, "", "", ""]);
    line.number(seq);
}

pub(super) fn encode_seen(line: &mut CsvLine, ts: u64, user: &str) {
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
        "ACK" => {
            let device = match f.get(3)?.as_ref() {
                "" => None,
                device => Some((Arc::from(device), f.number(5)?)),
            };
            Record::Ack { ts, user: name(2)?, seq: f.number(6)?, device }
        }
        "INBOX" => Record::Inbox { ts, user: name(2)?, seq: f.number(6)? },
        _ => Record::Seen { ts, user: name(2)? },
    })
}

impl Record {
    /// `user`'s `device` as the `SET` record that puts it on record: what a
    /// database or a data directory that kept devices apart is converted
    /// into (`migrate::first_design`, `LocalStore::open`), and what a device
    /// forgotten and back is written as.
    pub fn device(ts: u64, user: &str, device: &crate::store::devices::Device) -> Record {
        let (name, key, value) = crate::store::devices::setting(device);
        Record::Set { ts, user: user.into(), name, key, value: Some(value) }
    }
}

impl State {
    /// True if `DELIVERED` for message number `dord` from `sender` to
    /// `user` would move its state forward (not yet delivered, nor read).
    pub fn would_deliver(&self, sender: UserId, user: UserId, dord: u64) -> bool {
        let marks = self.marks(sender, user);
        meaning::delivers(marks.delivered, marks.read, dord)
    }

    /// True if `READ` of message `dord` from `sender` would move the mark.
    pub fn would_read(&self, sender: UserId, user: UserId, dord: u64) -> bool {
        meaning::reads(self.marks(sender, user).read, dord)
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
        if sender.starts_with('#') {
            // 1.2 (§31): a room's message reached a device of `user`.
            let user = self.user_or_remote(user)?;
            let mut push = push;
            self.apply_room_delivered(user, sender, dord, (ts, pos), push.as_deref_mut())?;
            let room = self.need_room(sender)?;
            self.share_mark((room, user), (id, false, ts), pos, push);
            return Ok(());
        }
        let (user, sender) = (self.user_or_remote(user)?, self.user_or_remote(sender)?);
        self.need_sent(sender, user, dord)?;
        let marks = self.marks(sender, user);
        let told = effects::Recipient { id: sender, deleted: self.users[sender].is_deleted() };
        if let Some(receipt) = effects::delivered(marks.delivered, marks.read, dord, told) {
            self.direct_mut(sender, user).marks[side(sender, user)].delivered = receipt.mark;
            self.give(receipt, (user, id, MsgState::Delivered), (None, ts), pos, push);
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
        let user = self.user_or_remote(user)?;
        let several = self.users[user].several;
        if chat.starts_with('#') {
            let room = self.need_room(chat)?;
            let r = self.room_mut(room);
            if ord >= r.count {
                return Err(format!("no message number {ord} in {chat}"));
            }
            let member = r.members.get_mut(&user).ok_or_else(|| format!("{chat}: not a member"))?;
            let receipt = effects::read(member.read, ord, None, user, several);
            member.mark_read(ord + 1);
            let mut push = push;
            if let Some(receipt) = receipt {
                self.give(receipt, (user, id, MsgState::Read), (Some(chat), ts), pos, push.as_deref_mut());
            }
            // 1.2 (§31): the senders of what every member has read now.
            self.settle(room, (ts, pos), push.as_deref_mut());
            self.share_mark((room, user), (id, true, ts), pos, push);
        } else {
            let sender = self.user_or_remote(chat)?;
            self.need_sent(sender, user, ord)?;
            let told = effects::Recipient { id: sender, deleted: self.users[sender].is_deleted() };
            // 1.2 (§30): a reader or a sender who turned read receipts
            // off tells, and is told, no `READ` (`store::profile::shows`).
            let privacy = |u: UserId| crate::store::profile::privacy_in(&self.users[u].settings);
            let receipts = crate::protocol::profile::PrivacyKey::Receipts;
            let told_read = crate::store::profile::shows(receipts, privacy(user), privacy(sender));
            if let Some(mut receipt) =
                effects::read(self.marks(sender, user).read, ord, Some(told), user, several)
            {
                if !told_read {
                    receipt.status = None;
                }
                self.direct_mut(sender, user).marks[side(sender, user)].read = receipt.mark;
                self.give(receipt, (user, id, MsgState::Read), (Some(chat), ts), pos, push);
            }
        }
        Ok(())
    }

    /// `ACK`: `user`'s inbox is acknowledged up to `seq`; a device named
    /// is at its position now.
    pub(super) fn apply_ack(
        &mut self,
        user: &str,
        seq: u64,
        device: Option<&(Arc<str>, u64)>,
    ) -> Result<(), String> {
        let user = self.need_user(user)?;
        if let Some((device, position)) = device {
            crate::store::devices::move_to(&mut self.users[user].settings, device, *position);
        }
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

    /// `INBOX`: `user`'s inbox goes on after `seq`, with nothing waiting:
    /// its next event is number `seq + 1`. An inbox converted from another
    /// store (a cluster of the first design, `migrate::first_design`) keeps its
    /// numbers so: the events the conversion's records gave it before this
    /// record were numbered by the conversion only, and go; those after it
    /// are the ones that waited, under the numbers they had (which the
    /// devices' positions count in). Unlike an `ACK`, it may set the
    /// numbering back: no client ever saw the numbers it drops.
    pub(super) fn apply_inbox(&mut self, user: &str, seq: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let inbox = &mut self.users[user].inbox;
        inbox.last_seq = seq;
        inbox.acked = seq;
        inbox.queue = Arc::default();
        Ok(())
    }

    /// `SEEN`: `user`'s receive connection ended at `ts`.
    pub(super) fn apply_seen(&mut self, user: &str, ts: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let seen = &mut self.users[user].last_seen;
        *seen = Some(seen.unwrap_or(0).max(ts));
        Ok(())
    }

    /// Stores the events of the record at `pos` that [`effects`] named in
    /// `receipt`: a `STATUS` (`state`) for the sender of message `id`,
    /// that `peer` got or read it; a read mark of `chat` for the reader's
    /// other devices. (`chat` is none for a `DELIVERED`, which gives no
    /// read mark.)
    fn give(
        &mut self,
        receipt: effects::Receipt<UserId>,
        (peer, id, state): (UserId, &Arc<str>, MsgState),
        (chat, ts): (Option<&Arc<str>>, u64),
        pos: Pos,
        mut push: Option<&mut Vec<Delivery>>,
    ) {
        if let Some(sender) = receipt.status {
            let event = push.is_some().then(|| {
                Arc::new(Pushed::Status { peer: self.users[peer].name.clone(), id: id.clone(), state, ts })
            });
            self.enqueue_for(sender, Queued::Status { pos }, event, push.as_deref_mut());
        }
        if let (Some(reader), Some(chat)) = (receipt.readmark, chat) {
            let event =
                push.is_some().then(|| Arc::new(Pushed::Mark { chat: chat.clone(), id: id.clone(), ts }));
            self.users[reader].inbox.enqueue(reader, Queued::Mark { pos }, event, push);
        }
    }
}
