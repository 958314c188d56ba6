//! The local store's half of a `MSG`: a pipelined burst of one sender
//! under one lock ([`Inner::send_burst`]), then each message on the plain
//! path, in order ([`Inner::send_one`]): a resend gets its first `OK`; the
//! recipient is found; the policy of 1.2 says whether this user may send
//! this ([`Inner::may_send`]); the record is committed to the pending
//! batch, which the group commit (`committer.rs`) writes, fsyncs and
//! delivers before the `OK` leaves.

use std::sync::Arc;

use super::super::backend::{Outgoing, Ticket};
use super::super::budget::Floor;
use super::super::now_ms;
use super::super::record::{Message, MsgRef, Record};
use super::super::state::{RoomId, State, UserId};
use super::reader::read_failed;
use super::{Inner, Pending, ko};
use crate::protocol::{Accepted, Chat, Code, Ko, Text};

impl Inner {
    /// `MSG`s of one sender under one lock: a pipelined burst costs one
    /// lock acquisition, not one per message.
    pub(super) fn send_burst(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<Accepted, Ko>>, Ticket) {
        let min_free = self.options.budget.min_free;
        let applied = self.write_in(|state, pending| {
            // A burst stops at the free-space floor, message by message.
            let (start, headroom) = (pending.end(), self.floor.headroom(min_free));
            Ok(msgs
                .iter()
                .map(|(to, id, text)| {
                    if pending.end() - start >= headroom {
                        return Err(Floor::full(min_free));
                    }
                    self.send_one(state, pending, from, to, id, text)
                })
                .collect())
        });
        match applied {
            Ok(results) => results,
            // The store refuses every write (disk failure, shutdown).
            Err(ko) => (vec![Err(ko); msgs.len()], Ticket(0)),
        }
    }

    /// The `<ts>` of `from`'s message `id` if it is in `from`'s window:
    /// then the `MSG` is a resend. Each candidate (same tag, see
    /// `state::recent`) is read back — from the pending batch or the one
    /// being written if it is there, else from the log — and its id
    /// compared. This runs under the state lock; it reads only for a
    /// resend (or a tag shared by two ids), and what it reads is recent.
    fn resent(&self, state: &State, pending: &Pending, from: UserId, id: &str) -> Result<Option<u64>, Ko> {
        for pos in state.sent_candidates(from, id) {
            let line = match pending.line_at(pos) {
                Some(line) => line,
                None => match self.log.read_line(pos).map_err(|e| read_failed(pos, e))? {
                    Some(line) => line,
                    None => continue, // removed by retention: forgotten
                },
            };
            let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
            if m.from == &*state.users[from].name && m.id == id {
                return Ok(Some(m.ts));
            }
        }
        Ok(None)
    }

    /// Applies one `MSG` to the locked state; the `<id>:<ts>` of its `OK`.
    /// The plain path, in order: a resend gets its first `OK` again; the
    /// recipient is found; the policy says whether this user may send it
    /// ([`Inner::may_send`]); its record is committed (appended to the
    /// pending batch, which the group commit writes and fsyncs, then
    /// delivers); its `OK` is returned.
    fn send_one(
        &self,
        state: &mut State,
        pending: &mut Pending,
        from: UserId,
        to: &Chat,
        id: &str,
        text: &Text,
    ) -> Result<Accepted, Ko> {
        if let Some(ts) = self.resent(state, pending, from, id)? {
            return Ok(Accepted { id: id.into(), ts }); // a resend
        }
        let to = recipient(state, from, to)?;
        self.may_send(state, from, to)?;
        let (to_name, link) = match to {
            Recipient::User(to) => (state.users[to].name.clone(), state.direct_link(from, to)),
            Recipient::Room(room) => (state.room(room).name.clone(), state.room_link(room)),
        };
        let ts = state.next_ts(now_ms());
        let msg = Message {
            from: state.users[from].name.clone(),
            to: to_name,
            id: id.into(),
            ts,
            text: text.clone(),
        };
        state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut pending.batch)?;
        crate::metrics::get().messages.inc();
        Ok(Accepted { id: id.into(), ts })
    }

    /// The policy of protocol 1.2 on a message, in one place: a deleted
    /// account gets none; a room's `+announce` and mutes; the sender's
    /// quota and the recipient's inbox (`--user-quota`, `--inbox-max`).
    fn may_send(&self, state: &State, from: UserId, to: Recipient) -> Result<(), Ko> {
        match to {
            Recipient::User(to) => {
                if state.users[to].is_deleted() {
                    return Err(crate::store::meaning::to_deleted(&state.users[to].name));
                }
                self.options.budget.check_send(state, from, Some(to))
            }
            Recipient::Room(room) => {
                state.may_send_to(room, from, now_ms())?;
                self.options.budget.check_send(state, from, None)
            }
        }
    }
}

/// Whom a `MSG` goes to, found in the state.
#[derive(Clone, Copy)]
enum Recipient {
    User(UserId),
    Room(RoomId),
}

/// The user or the room `to` names: `KO:UNKNOWN_USER` for no such user,
/// `KO:NOT_MEMBER` for a room `from` is not in.
fn recipient(state: &State, from: UserId, to: &Chat) -> Result<Recipient, Ko> {
    match to {
        Chat::User(name) => {
            let to = state.user_id(name).ok_or_else(|| crate::store::meaning::no_user(name))?;
            Ok(Recipient::User(to))
        }
        Chat::Room(name) => {
            let room = state
                .member_room(name, from)
                .ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
            Ok(Recipient::Room(room))
        }
    }
}
