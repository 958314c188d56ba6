//! The local store's half of a `MSG`: a pipelined burst of one sender
//! under one lock ([`Inner::send_burst`]), then each message on the plain
//! path, in order ([`Inner::send_one`]): a resend gets its first `OK`; the
//! recipient is found and `meaning::send` says whether this user may send
//! it, and whether it goes anywhere (a block, §22: [`Inner::recipient`]);
//! the record is committed to the pending batch, which the group commit
//! (`committer/mod.rs`) writes, fsyncs and delivers before the `OK`
//! leaves.

use std::sync::Arc;

use super::super::budget::Floor;
use super::super::budget::check_link_queue;
use super::super::interface::{Outgoing, Ticket};
use super::super::now_ms;
use super::super::record::{Link, MsgRef, NO_POS, Record, StoredMessage};
use super::super::state::remote::address;
use super::super::state::{RoomId, State, UserId};
use super::reader::read_failed;
use super::{Inner, Pending};
use crate::protocol::{Accepted, Chat, Ko, Text};
use crate::store::meaning;
use crate::store::meaning::send;
use crate::store::prefs;

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
    pub(super) fn resent(
        &self,
        state: &State,
        pending: &Pending,
        from: UserId,
        id: &str,
    ) -> Result<Option<u64>, Ko> {
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
    /// recipient is found and the rule says whether this user may send it
    /// ([`Inner::recipient`]); its record is committed (appended to the
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
        if let Some(first) = meaning::resend(id, self.resent(state, pending, from, id)?) {
            return Ok(first);
        }
        let to = self.recipient(state, from, to)?;
        let ts = state.next_ts(now_ms());
        let (to_name, link) = match to {
            Resolved::User(to) => (state.users[to].name.clone(), state.direct_link(from, to)),
            // 1.3: the first message to this remote user, whose account
            // the record makes (`state::remote`).
            Resolved::Remote(address) => (address.as_str().into(), Link { prev: NO_POS, ord: 0, dord: 0 }),
            Resolved::Room(room) => (state.room(room).name.clone(), state.room_link(room)),
            Resolved::Nowhere => return Ok(Accepted { id: id.into(), ts }),
            // 1.3: a room homed elsewhere: the message waits for its home,
            // and enters the room when the home's ordered copy comes back.
            Resolved::Home(room) => {
                let msg = StoredMessage {
                    from: state.users[from].name.clone(),
                    to: state.room(room).name.clone(),
                    id: id.into(),
                    ts,
                    text: text.clone(),
                };
                state.commit(Record::Post { msg: Arc::new(msg) }, &mut pending.batch)?;
                crate::metrics::get().messages.inc();
                return Ok(Accepted { id: id.into(), ts });
            }
        };
        let msg = StoredMessage {
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

    /// Whom `to` names, if `from` may send it a message now: the facts
    /// the state has (the recipient, whether deleted, its inbox, whether
    /// it blocked `from`; the sender's place in a room and the room's
    /// rules; the sender's quota), decided by `meaning::send`, the rule a
    /// cluster node asks too.
    fn recipient(&self, state: &State, from: UserId, to: &Chat) -> Result<Resolved, Ko> {
        let budget = &self.options.budget;
        let quota = budget.quota(state, from);
        match to {
            // 1.3 (§27): a user of another server (the server checked that
            // it is in the roster): held in that server's queue, within
            // its budget.
            Chat::User(name) if address(name).is_some() => {
                let (_, server) = address(name).unwrap_or_default();
                check_link_queue(budget.link_queue_max, server, state.peer_waiting(server))?;
                quota.check()?;
                Ok(match state.user_id(name) {
                    Some(to) => Resolved::User(to),
                    None => Resolved::Remote(name.clone()),
                })
            }
            Chat::User(name) => {
                let found = state.user_id(name).map(|to| {
                    let (user, inbox) = (&state.users[to], &state.users[to].inbox);
                    let waiting = inbox.last_seq - inbox.acked;
                    let blocked = prefs::blocks(&user.settings, &state.users[from].name);
                    (to, send::Addressee { name: &user.name, deleted: user.is_deleted(), waiting, blocked })
                });
                Ok(match send::to_user(name, found, quota, budget.inbox_max)? {
                    send::Goes::To(to) => Resolved::User(to),
                    send::Goes::Nowhere => Resolved::Nowhere,
                })
            }
            // 1.3 (§27): a room homed on a server of the roster, which the
            // sender joined: its home's queue holds the message.
            Chat::Room(name) if address(name).is_some() => {
                let (_, server) = address(name).unwrap_or_default();
                let room = state.member_room(name, from).ok_or_else(|| Ko::not_member(name))?;
                check_link_queue(budget.link_queue_max, server, state.peer_waiting(server))?;
                quota.check()?;
                Ok(Resolved::Home(room))
            }
            Chat::Room(name) => {
                let found = state.member_room(name, from).map(|r| (r, state.may_send_to(r, from, now_ms())));
                send::to_room(name, found, quota).map(Resolved::Room)
            }
        }
    }
}

/// Whom a `MSG` goes to, found in the state.
#[derive(Clone)]
enum Resolved {
    User(UserId),
    /// 1.3: a user of another server not met before.
    Remote(String),
    Room(RoomId),
    /// 1.3: this server's copy of a room homed elsewhere.
    Home(RoomId),
    /// A user who blocked the sender (`send::Goes::Nowhere`): answered
    /// `OK`, stored nowhere.
    Nowhere,
}
