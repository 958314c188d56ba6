//! 1.3 (§27, "Receipts across servers"): the store's half of the
//! `RECEIPT` frame. A member of this server's room `DELIVERED` or `READ`
//! is queued for the room's other member servers (`state::receipts`);
//! here it is read back as its frame, naming the message by its author
//! and id (a room's numbers are each server's own). A peer's `RECEIPT`
//! becomes the same record for its user, in the room here, so that
//! `RECEIPTS` and the room's ✓✓ count it by the code that counts a
//! member of this server.

use std::sync::Arc;

use super::super::now_ms;
use super::super::record::{MsgRef, NO_POS, Record};
use super::super::state::remote::{address, here, is_copy, on_the_link};
use super::super::state::{State, UserId};
use super::reader::{RecordReader, read_failed};
use super::{Inner, Pending};
use crate::protocol::link::{Frame, ReceiptFrame, ReceiptState};
use crate::protocol::names::fold;
use crate::protocol::profile::PrivacyKey;
use crate::protocol::{Code, Ko};
use crate::store::profile;

/// How far back from a room's newest message the record's message is
/// looked for, to name its author: as far as `READ` looks.
const SEARCH_LIMIT: usize = super::READ_SEARCH_LIMIT;

impl Inner {
    /// The `RECEIPT` frame `n` that `record` (a `DELIVERED` or `READ` of
    /// a room, by a member of this server `me`) is; `None` if its message
    /// is no longer among the room's last [`SEARCH_LIMIT`] (nothing to
    /// send: the frame's number is skipped).
    pub(super) fn receipt_frame(
        self: &Arc<Self>,
        n: u64,
        record: &Record,
        me: &str,
    ) -> Result<Option<Frame>, Ko> {
        let (user, chat, id, ord, read, ts) = match record {
            Record::Delivered { user, chat, id, dord, ts } => (user, chat, id, *dord, false, *ts),
            Record::Read { user, chat, id, ord, ts } => (user, chat, id, *ord, true, *ts),
            _ => return Ok(None),
        };
        // The reader's privacy as it is now: one who hides its reads is
        // said `PRIVATE` (a read of its, queued before it hid them, too).
        let (head, shows_reads) = {
            let state = self.state.lock();
            let Some(room) = state.room_id(chat) else { return Ok(None) };
            let shows_reads = state.user_id(user).is_none_or(|u| state.shows_reads(u));
            (state.room_head(room), shows_reads)
        };
        let state = match (shows_reads, read) {
            (false, _) => ReceiptState::Private,
            (true, false) => ReceiptState::Delivered,
            (true, true) => ReceiptState::Read,
        };
        let ours = |name: &str| on_the_link(name, me);
        let mut reader = RecordReader::new(self.clone());
        let mut pos = head;
        for _ in 0..SEARCH_LIMIT {
            if pos == NO_POS {
                break;
            }
            let Some(line) = reader.line(pos, true)? else { break };
            let m = MsgRef::decode(line).map_err(|e| read_failed(pos, e))?;
            if m.ord == ord && m.id == &**id {
                let (reader, room, author, id) = (ours(user), ours(chat), ours(m.from), id.to_string());
                return Ok(Some(Frame::Receipt(ReceiptFrame { n, reader, room, author, id, state, ts })));
            }
            if m.ord < ord {
                break;
            }
            pos = m.prev;
        }
        Ok(None)
    }

    /// A peer's `RECEIPT` (the peer is `server`, this server `me`): its
    /// user's mark in the room here moves to the message named, as its
    /// `DELIVERED` or `READ` record; a mark past it already, or a room
    /// too large to keep receipts, changes nothing. Whether the user
    /// hides its reads is kept, with a receipt that moves its mark, as
    /// its account's privacy here (a `SET` record when it changes:
    /// `PRIVATE` hides them, the other two show them), so that the
    /// room's rule counts it as a member of this server who hides them
    /// (`State::counted`). Refused for good:
    /// a reader not of the peer (a peer speaks only for its own users),
    /// not a member of the room here, or a message that is not the
    /// room's among its author's last ones here.
    pub(super) fn take_receipt(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        frame: &ReceiptFrame,
    ) -> Result<(), Ko> {
        let ReceiptFrame { reader, room, author, id, state: what, .. } = frame;
        if !address(reader).is_some_and(|(_, origin)| origin.eq_ignore_ascii_case(server)) {
            let why = format!("{server} speaks only for its own users, not {reader}");
            return Err(Ko::new(Code::Forbidden, why));
        }
        // The room as this server names it: `#lab` homed here, its copy
        // `#lab@lab2` otherwise.
        let room_here = here(room, me);
        let not_member = || Ko::new(Code::NotMember, format!("{reader} is not in {room}"));
        let r =
            state.room_id(room_here).filter(|&r| room_here == room.as_str() || !is_copy(&state.room(r).name));
        let r = r.ok_or_else(not_member)?;
        let member = state.user_id(reader).filter(|&u| state.is_member(r, u)).ok_or_else(not_member)?;
        let unknown = || Ko::new(Code::UnknownMessage, format!("{room} has no message {id} of {author}"));
        let author = state.user_id(here(author, me)).ok_or_else(unknown)?;
        let ord = self.room_message(state, pending, (r, author), id)?.ok_or_else(unknown)?;
        if !state.keeps_receipts(r) {
            return Ok(());
        }
        let (delivered, read) = state.room_marks(r, member).unwrap_or_default();
        let moves = match what {
            ReceiptState::Delivered | ReceiptState::Private => ord >= delivered,
            ReceiptState::Read => ord >= read,
        };
        if !moves {
            return Ok(()); // the mark is past it already
        }
        // Its privacy first, so that the record is counted by it.
        let hides = *what == ReceiptState::Private;
        if hides == state.shows_reads(member) {
            let off = hides.then(|| profile::OFF.to_string());
            let key = profile::privacy_key(PrivacyKey::Receipts);
            super::requests::set(state, &mut pending.batch, member, &profile::PROFILE, key, &mut |_| {
                Ok(off.clone())
            })?;
        }
        let ts = state.next_ts(now_ms());
        let (user, chat, id) =
            (state.users[member].name.clone(), state.room(r).name.clone(), Arc::from(id.as_str()));
        let record = match what {
            ReceiptState::Read => Record::Read { ts, user, chat, id, ord },
            _ => Record::Delivered { ts, user, chat, id, dord: ord },
        };
        state.commit(record, &mut pending.batch)
    }

    /// The number in room `r` of `author`'s message `id` there, among its
    /// author's last messages (its resend window, as a direct message's
    /// `STATUS` is looked for).
    fn room_message(
        &self,
        state: &State,
        pending: &Pending,
        (r, author): (super::super::state::RoomId, UserId),
        id: &str,
    ) -> Result<Option<u64>, Ko> {
        let (name, born) = (fold(&state.room(r).name), state.room(r).born);
        self.sent_by(state, pending, (author, id), |pos, m| {
            (!m.posted && fold(m.to) == name && pos >= born).then_some(m.ord)
        })
    }
}
