//! 1.2 (docs/PROTOCOL.md §31): receipts of room messages, the store's
//! side: an `ACK` (or a device's position moving) turns the room
//! messages it covers into `DELIVERED` records, one per room and
//! acknowledgement (`state::receipts` moves the marks and tells the
//! senders); `RECEIPTS:<#room>:<id>` lists who has a message, with the
//! times read back from the log.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::now_ms;
use super::super::record::{MsgRef, NO_POS, Pos, Record};
use super::super::state::receipts::RECEIPTS_MAX_MEMBERS;
use super::super::state::{Batch, Queued, State, UserId};
use super::committer::Goal;
use super::reader::{RecordReader, read_failed};
use super::stretch::Stretch;
use super::{Inner, LocalStore};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::meaning::rooms;

/// How far past a message `RECEIPTS` reads the log for the times of its
/// receipts: 8 MiB (a few tens of milliseconds from the page cache). A
/// member whose receipt is further is listed without a time.
pub const RECEIPTS_SCAN_BYTES: u64 = 8 << 20;

/// How far back `RECEIPTS` looks for the message: as far as `READ` does.
const SEARCH_LIMIT: usize = super::READ_SEARCH_LIMIT;

/// The newest room message an acknowledgement covers, per room.
pub(super) struct RoomAck {
    room: String,
    ord: u64,
    id: Arc<str>,
    pos: Pos,
}

/// A `RECEIPTS` answer: who read the message, who has it delivered
/// (each with the time, if the log still says it), or that the room is
/// too large to keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipts {
    /// The members it went to (the room's others).
    pub others: usize,
    /// False for a room of more than [`RECEIPTS_MAX_MEMBERS`] members.
    pub kept: bool,
    pub read: Vec<(Arc<str>, Option<u64>)>,
    pub delivered: Vec<(Arc<str>, Option<u64>)>,
}

impl Inner {
    /// The newest message of each room among `user`'s inbox events after
    /// `after` up to `upto`, read back from the log (outside the lock).
    pub(super) fn acked_rooms(self: &Arc<Self>, user: UserId, after: u64, upto: u64) -> Vec<RoomAck> {
        let (events, end) = {
            let state = self.state.lock();
            (state.queued(user, after, upto, usize::MAX), state.end)
        };
        let mut reader = RecordReader::new(self.clone());
        let mut newest: HashMap<String, RoomAck> = HashMap::new();
        for (first, queued) in events {
            let Queued::Rooms { runs, done } = &queued else { continue };
            let Ok(mut stretch) = Stretch::new(self, &mut reader, (runs, *done), first, end) else {
                continue;
            };
            while let Ok(Some(next)) = stretch.next(&mut reader) {
                let Some((seq, pos)) = next else { continue };
                if seq > upto {
                    break;
                }
                if seq <= after {
                    continue;
                }
                let Ok(Some(line)) = reader.line(pos, false) else { continue };
                let Ok(m) = MsgRef::decode(line) else { continue };
                let ack = RoomAck { room: m.to.to_string(), ord: m.ord, id: m.id.into(), pos };
                match newest.get(m.to) {
                    Some(had) if had.ord >= m.ord => {}
                    _ => {
                        newest.insert(m.to.to_string(), ack);
                    }
                }
            }
        }
        newest.into_values().collect()
    }
}

/// Commits a room `DELIVERED` for each of `acks` that moves `user`'s
/// mark, in a room (still the same one) that keeps receipts.
pub(super) fn commit_room_deliveries(
    state: &mut State,
    batch: &mut Batch,
    user: UserId,
    acks: &[RoomAck],
) -> Result<(), Ko> {
    for ack in acks {
        let Some(room) = state.member_room(&ack.room, user) else { continue };
        let moves = state.room_marks(room, user).is_some_and(|(delivered, _)| ack.ord >= delivered);
        let same_room = ack.pos >= state.room(room).born && ack.ord < state.room_link(room).ord;
        if !moves || !same_room || !state.keeps_receipts(room) {
            continue;
        }
        let ts = state.next_ts(now_ms());
        let (me, chat) = (state.users[user].name.clone(), state.room(room).name.clone());
        state.commit(Record::Delivered { ts, user: me, chat, id: ack.id.clone(), dord: ack.ord }, batch)?;
    }
    Ok(())
}

impl LocalStore {
    /// `RECEIPTS:<#room>:<id>`: who of `room` has `user`'s message `id`
    /// (its newest by that id) delivered, and who read it. A message is
    /// its author's id and its author: another member's message with the
    /// same id (ids are each sender's own) is passed over, so that no
    /// member can take `user`'s id to hide its receipts from it.
    pub fn receipts(&self, user: UserId, name: &str, id: &str) -> Result<Receipts, Ko> {
        let inner = &self.inner;
        let (head, since, end, me) = {
            let state = inner.state.lock();
            let room = rooms::member(name, state.member_room(name, user))?;
            (state.room_head(room), state.users[user].since, state.end, state.users[user].name.clone())
        };
        let mut reader = RecordReader::new(inner.clone());
        let (mut pos, mut found, mut others_id) = (head, None, false);
        for _ in 0..SEARCH_LIMIT {
            if pos == NO_POS || pos < since {
                break;
            }
            let Some(line) = reader.line(pos, true)? else { break };
            let m = MsgRef::decode(line).map_err(|e| read_failed(pos, e))?;
            if m.id == id && fold(m.from) == fold(&me) {
                found = Some((pos, m.ord));
                break;
            }
            others_id |= m.id == id;
            pos = m.prev;
        }
        let unknown =
            || Ko::new(Code::UnknownMessage, format!("no message {id} in #{}", name.trim_start_matches('#')));
        let Some((at, ord)) = found else {
            return Err(match others_id {
                true => Ko::new(Code::Forbidden, "only its sender sees who has a message"),
                false => unknown(),
            });
        };
        let (others, kept, wanted, asker_sees, room_name) = {
            let state = inner.state.lock();
            let room = rooms::member(name, state.member_room(name, user))?;
            if at < state.room(room).born || ord >= state.room_link(room).ord {
                return Err(unknown());
            }
            let others = state.members(room).filter(|&m| m != user).count();
            let kept = state.keeps_receipts(room);
            let receipts = crate::protocol::profile::PrivacyKey::Receipts;
            let privacy = |u: UserId| crate::store::profile::privacy_in(&state.users[u].settings);
            let asker_sees = crate::store::profile::shows(receipts, privacy(user), privacy(user));
            // (member, delivered, read shown)
            let wanted: Vec<(Arc<str>, bool, bool)> = state
                .members(room)
                .filter(|&m| m != user)
                .filter_map(|m| {
                    let (delivered, read) = state.room_marks(room, m)?;
                    let shown =
                        read > ord && crate::store::profile::shows(receipts, privacy(m), privacy(user));
                    (delivered > ord).then(|| (state.users[m].name.clone(), true, shown))
                })
                .collect();
            (others, kept, wanted, asker_sees, state.room(room).name.clone())
        };
        if !kept || others + 1 > RECEIPTS_MAX_MEMBERS {
            return Ok(Receipts { others, kept: false, read: Vec::new(), delivered: Vec::new() });
        }
        // The times: the first `DELIVERED` and `READ` of each member past
        // the message, read forward from it.
        inner.await_log(Goal::Written(end))?;
        let mut times: HashMap<Arc<str>, (Option<u64>, Option<u64>)> =
            wanted.iter().map(|(m, _, _)| (m.clone(), (None, None))).collect();
        let mut complete = true;
        let mut pos = at;
        let mut first = true;
        while pos < end {
            if pos - at > RECEIPTS_SCAN_BYTES {
                complete = false;
                break;
            }
            let Some(line) = reader.line(pos, false)? else {
                complete = false;
                break;
            };
            let len = line.len() as u64 + 1;
            if !first && (line.starts_with("DELIVERED,") || line.starts_with("READ,")) {
                match Record::decode(line) {
                    Ok(Record::Delivered { user: who, chat, ts, dord: o, .. })
                        if *chat == *room_name && o >= ord =>
                    {
                        if let Some(t) = times.get_mut(&who) {
                            t.0.get_or_insert(ts);
                        }
                    }
                    Ok(Record::Read { user: who, chat, ts, ord: o, .. })
                        if *chat == *room_name && o >= ord =>
                    {
                        if let Some(t) = times.get_mut(&who) {
                            t.1.get_or_insert(ts);
                        }
                    }
                    _ => {}
                }
            }
            first = false;
            pos += len;
        }
        let (mut read, mut delivered) = (Vec::new(), Vec::new());
        for (member, _, shown) in wanted {
            let (got, seen) = times.get(&member).copied().unwrap_or_default();
            if complete && got.is_none() && seen.is_none() {
                continue; // it joined after the message
            }
            if shown && asker_sees {
                read.push((member, seen));
            } else {
                delivered.push((member, got));
            }
        }
        let newest_first =
            |a: &(Arc<str>, Option<u64>), b: &(Arc<str>, Option<u64>)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        read.sort_by(newest_first);
        delivered.sort_by(newest_first);
        Ok(Receipts { others, kept: true, read, delivered })
    }
}
