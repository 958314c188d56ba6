//! `READ` (a read receipt): finding the message a receipt names, then
//! moving the reader's mark there. A direct `READ:<user>:<id>` looks among
//! the sender's recent ids first (one read of the log), then back along
//! the conversation; `READ:#room:<id>` names no sender and takes the
//! newest message of the room with that id. Either walk is bounded
//! ([`READ_SEARCH_LIMIT`]), as a `READ` costs a client one `--rate` token.
//! A receipt that changes nothing (read already) writes nothing.

use std::sync::Arc;

use super::super::interface::Ticket;
use super::super::now_ms;
use super::super::record::{MsgRef, NO_POS, Pos, Record};
use super::super::state::UserId;
use super::Inner;
use super::reader::{RecordReader, read_failed};
use crate::protocol::{Chat, Ko};
use crate::store::meaning::{read, rooms};

/// How far back `READ` looks for a message id that is no longer among its
/// sender's recent ids: this many messages of the conversation, read from
/// the log. Older ones answer `KO:UNKNOWN_MESSAGE` (reading them changes
/// nothing anyway once a later message is read).
///
/// A `READ` costs one `--rate` token, and a miss walks the whole window:
/// at 10,000 that would be ~5 ms of CPU for one token. At
/// [`MAX_HISTORY`](crate::protocol::MAX_HISTORY), all a client can be shown
/// of a conversation, the walk is a tenth of that (docs/RELIABILITY.md §7).
pub const READ_SEARCH_LIMIT: usize = crate::protocol::MAX_HISTORY;

impl Inner {
    /// `READ:<user>:<id>`: `user` read the direct messages of `name` up
    /// to its message `id`.
    pub(super) fn read_direct(self: &Arc<Self>, user: UserId, name: &str, id: &str) -> Result<Ticket, Ko> {
        let chat = Chat::User(name.to_string());
        let (from, from_name, me, mut candidates, head, since) = {
            let state = self.state.lock();
            let from = read::sender(name, state.user_id(name))?;
            let (from_name, me) = (state.users[from].name.clone(), state.users[user].name.clone());
            let (candidates, head) = (state.sent_candidates(from, id), state.direct_head(from, user));
            (from, from_name, me, candidates, head, state.users[user].since)
        };
        // 1.2: a message to this name's deleted account is not this one's to read.
        candidates.retain(|&pos| pos >= since);
        // The sender's newest message `id` to the reader: among its recent
        // messages first (one read), else back along the conversation.
        // One sent to someone else, or to a room, is not found, nor does it
        // hide an older one to the reader (seed 152: a name's new account
        // sent its own `m3` to a room; a cluster found the old one to ana).
        let dord = match self.recent_message(&candidates, &from_name, &me, id)? {
            Some(dord) => dord,
            None => {
                let found = self.search(head, since, |m| m.from == &*from_name && m.id == id)?;
                read::message(id, &chat, found)?.dord
            }
        };
        let ((), ticket) = self.write(|state, batch| {
            if !state.would_read(from, user, dord) {
                return Ok(()); // read already: nothing changes
            }
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.clone();
            state.commit(
                Record::Read { ts, user: me, chat: from_name.clone(), id: id.into(), ord: dord },
                batch,
            )
        })?;
        Ok(ticket)
    }

    /// `READ:#<room>:<id>`: `user` read `room` up to its newest message `id`.
    pub(super) fn read_room(self: &Arc<Self>, user: UserId, name: &str, id: &str) -> Result<Ticket, Ko> {
        let chat = Chat::Room(name.to_string());
        let (head, since) = {
            let state = self.state.lock();
            let room = rooms::member(name, state.member_room(name, user))?;
            (state.room_head(room), state.users[user].since)
        };
        // `READ:#room:<id>` names no sender: the newest message with that id.
        let ord = read::message(id, &chat, self.search(head, since, |m| m.id == id)?)?.ord;
        let ((), ticket) = self.write(|state, batch| {
            let room = rooms::member(name, state.member_room(name, user))?;
            // Not found if the room was emptied and made again meanwhile.
            read::message(id, &chat, Some(ord).filter(|&ord| ord < state.room_link(room).ord))?;
            if ord < state.room_read(room, user) {
                return Ok(()); // read already: nothing changes
            }
            let ts = state.next_ts(now_ms());
            let (me, chat) = (state.users[user].name.clone(), state.room(room).name.clone());
            state.commit(Record::Read { ts, user: me, chat, id: id.into(), ord }, batch)
        })?;
        Ok(ticket)
    }

    /// Which of `candidates` (positions from the sender's window) is the
    /// message `id` of `from` to `to`: its `dord`. Outside the lock.
    fn recent_message(
        self: &Arc<Self>,
        candidates: &[Pos],
        from: &str,
        to: &str,
        id: &str,
    ) -> Result<Option<u64>, Ko> {
        let mut reader = RecordReader::new(self.clone());
        for &pos in candidates {
            let Some(line) = reader.line(pos, true)? else { continue }; // removed by retention
            let m = MsgRef::decode(line).map_err(|e| read_failed(pos, e))?;
            if m.from == from && m.to == to && m.id == id {
                return Ok(Some(m.dord));
            }
        }
        Ok(None)
    }

    /// The newest message of a chain (from `head`, newest first) that
    /// `wanted` picks, among its last [`READ_SEARCH_LIMIT`] and none
    /// before `since` (the reader's cut, 1.2: a freed name's new account).
    fn search(
        self: &Arc<Self>,
        head: Pos,
        since: Pos,
        wanted: impl Fn(&MsgRef) -> bool,
    ) -> Result<Option<Ordinals>, Ko> {
        let mut reader = RecordReader::new(self.clone());
        let mut pos = head;
        for _ in 0..READ_SEARCH_LIMIT {
            if pos == NO_POS || pos < since {
                break;
            }
            let Some(line) = reader.line(pos, true)? else { break };
            let m = MsgRef::decode(line).map_err(|e| read_failed(pos, e))?;
            if wanted(&m) {
                return Ok(Some(Ordinals { ord: m.ord, dord: m.dord }));
            }
            pos = m.prev;
        }
        Ok(None)
    }
}

/// A message found by [`Inner::search`].
struct Ordinals {
    ord: u64,
    dord: u64,
}
