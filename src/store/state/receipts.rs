//! 1.2 (docs/PROTOCOL.md §31): receipts of room messages. Each member of
//! a room has two cumulative marks, as each direction of a direct chat
//! has: the room's messages numbered below `delivered` reached one of
//! its devices (an `ACK`, `DELIVERED,<ts>,<member>,<#room>,<id>,,,<ord>`),
//! those below `read` were read (`READ`, which already moved it). A
//! message is **delivered** once every member but its sender has it
//! delivered, **read** once every one of them has it read; a member who
//! turned read receipts off (§30) counts once it is delivered, so the
//! blue ticks say nothing of it.
//!
//! Only rooms of at most [`RECEIPTS_MAX_MEMBERS`] members keep them
//! (`DELIVERED` records are one per member and acknowledgement); a
//! larger room's messages stay at ✓. What memory holds per room is the
//! marks (16 bytes a member) and the messages whose senders are still to
//! be told ([`Pending`]: at most [`PENDING_MAX`], ~60 bytes each): at
//! most ~16 KiB for a room, nothing per message once it is read by all.
//! The times a `RECEIPTS` lists are read back from the log
//! (`store::local`'s `receipts`).

use std::sync::Arc;

use super::{Delivery, Pushed, Queued, RoomId, State, UserId};
use crate::protocol::MsgState;
use crate::store::record::message::Pos;

/// The most members a room keeps receipts for: a larger room's messages
/// stay at ✓ (`RECEIPTS` says so).
pub const RECEIPTS_MAX_MEMBERS: usize = 64;

/// The most messages of one room whose senders wait to be told they are
/// delivered or read; past it the oldest is told nothing more (its
/// `RECEIPTS` still says who has it).
pub const PENDING_MAX: usize = 256;

/// A room message not yet read by every member: its sender is told with
/// a `STATUS:<seq>:<#room>:<id>:DELIVERED|READ:<ts>` when it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub ord: u64,
    pub sender: UserId,
    pub id: Arc<str>,
    /// Its sender was told it is delivered.
    pub delivered: bool,
}

/// A member's marks as the rule counts them: `(delivered, read)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub user: UserId,
    pub delivered: u64,
    pub read: u64,
}

/// THE rule: message `ord` of `sender` is delivered (or read) once every
/// other counted member's mark is past it (and it has one at least).
pub fn all_past(members: &[Counted], sender: UserId, ord: u64, read: bool) -> bool {
    let mut others = members.iter().filter(|m| m.user != sender).peekable();
    others.peek().is_some() && others.all(|m| if read { m.read > ord } else { m.delivered > ord })
}

impl State {
    /// True if `room` keeps receipts: at most [`RECEIPTS_MAX_MEMBERS`]
    /// members. A member of another server (1.3) acknowledges and reads
    /// on its own server, which says so here with a `RECEIPT` frame
    /// (`federation::frames::receipt`), taken as this server's member's
    /// record would be: a room homed here and this server's copy of a
    /// room homed elsewhere keep them alike.
    pub fn keeps_receipts(&self, room: RoomId) -> bool {
        self.room(room).members.len() <= RECEIPTS_MAX_MEMBERS
    }

    /// 1.3: the record at `pos` (a `DELIVERED`, or a `READ` if `read`)
    /// moved the mark of `member` in `room`: if it is a member of this
    /// server, in a room that keeps receipts, the record is queued for
    /// each other server with members there, as a `RECEIPT` frame; a
    /// `READ` of a member who turned read receipts off (§30) is not, as
    /// its reads show nowhere here either, and its `DELIVERED` is said
    /// `PRIVATE` (`store::local`'s `receipt_frame`).
    pub(in crate::store) fn share_mark(
        &mut self,
        (room, member): (RoomId, UserId),
        (id, read, ts): (&Arc<str>, bool, u64),
        pos: Pos,
        mut push: Option<&mut Vec<Delivery>>,
    ) {
        if self.is_remote(member) || !self.keeps_receipts(room) {
            return;
        }
        if read && !self.shows_reads(member) {
            return;
        }
        let state = if read { MsgState::Read } else { MsgState::Delivered };
        for server in self.member_servers(room) {
            let Ok(at) = self.user_or_remote(&super::remote::peer_account(&server)) else { continue };
            // The event rings the link's dialer, as a direct message's status does.
            let event = push.is_some().then(|| {
                Arc::new(Pushed::Status { peer: self.users[member].name.clone(), id: id.clone(), state, ts })
            });
            self.users[at].inbox.enqueue(at, Queued::Status { pos }, event, push.as_deref_mut());
        }
    }

    /// The marks of `member` of `room`: `(delivered, read)`, a read
    /// message delivered too; `None` for a user not in it.
    pub fn room_marks(&self, room: RoomId, member: UserId) -> Option<(u64, u64)> {
        let m = self.room(room).members.get(&member)?;
        Some((m.delivered.max(m.read), m.read))
    }

    /// The members the rule counts, with their marks: a member who
    /// turned read receipts off counted as read once delivered.
    pub fn counted(&self, room: RoomId) -> Vec<Counted> {
        self.room(room)
            .members
            .iter()
            .map(|(&user, m)| {
                let delivered = m.delivered.max(m.read);
                Counted { user, delivered, read: if self.shows_reads(user) { m.read } else { delivered } }
            })
            .collect()
    }

    /// Whether `user` shows its reads, read receipts on (§30): which is
    /// also whether it sees others' (`store::profile::shows`, the rule
    /// of reciprocity). A member of another server hides them as its
    /// server's `RECEIPT` frames last said (`PRIVATE`, 1.3).
    pub fn shows_reads(&self, user: UserId) -> bool {
        let privacy = crate::store::profile::privacy_in(&self.users[user].settings);
        crate::store::profile::shows(crate::protocol::profile::PrivacyKey::Receipts, privacy, privacy)
    }

    /// Whether `user` has a device on record, other than `default`, that
    /// holds its inbox: a 1.2 client (`LOGIN:<user>@<device>:…`). Only
    /// such a user's inbox gets a room's `STATUS`: one who logs in only
    /// without naming a device (every 1.0 and 1.1 client) keeps exactly
    /// the inbox of version 1, its numbers included (§16).
    pub fn has_named_device(&self, user: UserId) -> bool {
        let default = crate::store::devices::key(crate::protocol::DEFAULT_DEVICE);
        crate::store::devices::on_record(&self.users[user].settings)
            .iter()
            .any(|d| d.position.is_some() && crate::store::devices::key(&d.name) != default)
    }

    /// The marks of `sender`'s own messages in `room`, as `HISTORY`
    /// shows them to a 1.2 device (§31): `(delivered, read)`, its messages
    /// numbered below `delivered` delivered to every other member the
    /// rule counts ([`State::counted`]), below `read` read by all (0 if
    /// `sender` turned read receipts off: it sees no one's reads). Both 0
    /// in a room that keeps no receipts, or where `sender` is alone.
    pub fn sender_marks(&self, room: RoomId, sender: UserId) -> (u64, u64) {
        if !self.keeps_receipts(room) {
            return (0, 0);
        }
        let others: Vec<Counted> = self.counted(room).into_iter().filter(|m| m.user != sender).collect();
        let lowest = |f: fn(&Counted) -> u64| others.iter().map(f).min().unwrap_or(0);
        let read = if self.shows_reads(sender) { lowest(|m| m.read) } else { 0 };
        (lowest(|m| m.delivered), read)
    }

    /// A room's new message `ord` from `sender`: waits for its receipts.
    pub(in crate::store) fn note_room_message(
        &mut self,
        room: RoomId,
        ord: u64,
        sender: UserId,
        id: &Arc<str>,
    ) {
        let keeps = self.keeps_receipts(room);
        let r = self.room_mut(room);
        if !keeps {
            r.pending.clear();
            return;
        }
        r.pending.push_back(Pending { ord, sender, id: id.clone(), delivered: false });
        if r.pending.len() > PENDING_MAX {
            r.pending.pop_front();
        }
    }

    /// `DELIVERED` of a room's message: `user` got `room` up to its
    /// message `ord`.
    pub(in crate::store) fn apply_room_delivered(
        &mut self,
        user: UserId,
        room: &str,
        ord: u64,
        (ts, pos): (u64, Pos),
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let room = self.need_room(room)?;
        let r = self.room_mut(room);
        if ord >= r.count {
            return Err(format!("no message number {ord} in {}", r.name));
        }
        let name = r.name.clone();
        let member = r.members.get_mut(&user).ok_or_else(|| format!("{name}: not a member"))?;
        member.delivered = member.delivered.max(ord + 1);
        self.settle(room, (ts, pos), push);
        Ok(())
    }

    /// Tells the senders of `room`'s pending messages that became
    /// delivered or read by the record at `pos` (at `ts`): one `STATUS`
    /// per sender and state, for its newest such message (a `STATUS`
    /// covers the sender's earlier ones, §7). A sender who turned read
    /// receipts off is told `DELIVERED` only (§30's reciprocity).
    pub(in crate::store) fn settle(
        &mut self,
        room: RoomId,
        (ts, pos): (u64, Pos),
        mut push: Option<&mut Vec<Delivery>>,
    ) {
        if self.room(room).pending.is_empty() {
            return;
        }
        if !self.keeps_receipts(room) {
            self.room_mut(room).pending.clear();
            return;
        }
        let counted = self.counted(room);
        // (sender, id, read), the newest per sender and state last.
        let mut told: Vec<(UserId, Arc<str>, bool)> = Vec::new();
        let mut tell = |sender: UserId, id: &Arc<str>, read: bool| {
            told.retain(|(s, _, r)| !(*s == sender && *r == read));
            told.push((sender, id.clone(), read));
        };
        let mut pending = std::mem::take(&mut self.room_mut(room).pending);
        pending.retain_mut(|p| {
            if all_past(&counted, p.sender, p.ord, true) {
                if self.shows_reads(p.sender) {
                    tell(p.sender, &p.id, true);
                } else if !p.delivered {
                    tell(p.sender, &p.id, false);
                }
                return false;
            }
            if !p.delivered && all_past(&counted, p.sender, p.ord, false) {
                p.delivered = true;
                tell(p.sender, &p.id, false);
            }
            true
        });
        self.room_mut(room).pending = pending;
        let name = self.room(room).name.clone();
        for (sender, id, read) in told {
            if self.users[sender].is_deleted() || self.is_remote(sender) || !self.has_named_device(sender) {
                continue;
            }
            let state = if read { MsgState::Read } else { MsgState::Delivered };
            let event = push
                .is_some()
                .then(|| Arc::new(Pushed::Status { peer: name.clone(), id: id.clone(), state, ts }));
            let queued = Queued::RoomStatus { pos, id, read };
            self.users[sender].inbox.enqueue(sender, queued, event, push.as_deref_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_delivered_then_read_once_every_other_member_is_past_it() {
        let m = |user, delivered, read| Counted { user, delivered, read };
        let members = [m(0, 0, 0), m(1, 3, 1), m(2, 2, 2)];
        assert!(all_past(&members, 0, 1, false), "its sender is not counted");
        assert!(!all_past(&members, 0, 2, false), "member 2 has not got message 2");
        assert!(all_past(&members, 0, 0, true));
        assert!(!all_past(&members, 0, 1, true), "member 1 has not read message 1");
        assert!(!all_past(&members, 1, 0, false), "the sender 0 has nothing delivered");
        assert!(!all_past(&members[..1], 0, 0, false), "alone in its room: nobody to have it");
    }
}
