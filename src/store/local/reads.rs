//! Reading the local store: `HISTORY`, the inbox replay and `CHATS`.
//!
//! `CHATS` counts from the state's marks, which count every message; the
//! actions among a chat's newest unread messages (a reaction, an edit,
//! `protocol::unread`) are found by reading those messages back from the
//! log, outside the state's lock, as `HISTORY` does.
//!
//! Texts are in the log, not in memory. `HISTORY` takes what it needs from
//! the state under the lock (the head of the conversation's chain and its
//! marks), lets the lock go, walks the chain backwards with positioned
//! reads to find the newest `limit` messages, and then reads and formats
//! them a chunk at a time as the connection writes them out. The replay of
//! an inbox does the same with the positions the inbox holds.
//!
//! Readers see only what is on disk: a message whose record is not synced
//! yet (its position is at or after `synced`) is walked past, not shown.
//! Such records are still in memory (the batch pending or being written),
//! which is where [`RecordReader`] (`reader.rs`) finds them.

use std::fmt::Write;
use std::sync::Arc;

use super::super::damage;
use super::super::interface::{Lines, Listing};
use super::super::record::{MsgRef, NO_POS, Pos, Record};
use super::super::state::{Marks, Queued, State, UserId};
use super::erase::Unerased;
use super::reader::{RecordReader, read_failed};
use super::stretch::Stretch;
use super::{Inner, Pending};
use crate::protocol::link::Bounce;
use crate::protocol::page::{Start, not_a_page};
use crate::protocol::unread::{UNREAD_SCAN, UNREAD_SCAN_TOTAL, without_actions};
use crate::protocol::{Chat, ChatLine, EventRef, HistoryLine, HistoryLineRef, Ko, MsgState};
use crate::store::meaning::rooms;

/// Records read and formatted per chunk of a reply.
const CHUNK: usize = 64;

/// `HISTORY` makes its lines (as values) as it walks back the
/// conversation, and keeps them up to this many bytes of reply; past it,
/// it keeps their positions only and reads them again as it gives them.
const KEEP_BYTES: usize = 512 * 1024;

impl Inner {
    /// `HISTORY`: the messages of a conversation from `start` back (its
    /// newest, or a page's cursor: 1.2), at most `limit` of them, oldest
    /// first, and where the page before them starts.
    /// 1.2 (§31): with `room_ticks`, a room's messages of `user` show
    /// their ticks (`DELIVERED`, `READ`) as its direct messages do; else
    /// every room message is `RECEIVED`, as in version 1.
    pub(in crate::store) fn history(
        self: &Arc<Self>,
        user: UserId,
        chat: &Chat,
        (start, room_ticks): (Start, bool),
        limit: usize,
        max_bytes: usize,
    ) -> Result<Listing, Ko> {
        let (head, direct, floor) = {
            let state = self.state.lock();
            // 1.2: an account whose name was reused sees nothing before its
            // cut; nor is anything before its room's birth (a room made
            // again) part of a room's conversation.
            let since = state.users[user].since;
            match chat {
                Chat::User(name) => {
                    let (peer, marks) = directions(&state, user, name)?;
                    (state.direct_head(user, peer), Some(marks), since)
                }
                Chat::Room(name) => {
                    let room = rooms::member(name, state.member_room(name, user))?;
                    let ticks = room_ticks.then(|| room_directions(&state, room, user));
                    (state.room_head(room), ticks, since.max(state.room(room).born))
                }
            }
        };
        let synced = self.synced();
        let mut reader = RecordReader::new(self.clone());
        let in_chat = in_chat(chat, direct.as_ref());
        let (mut pos, mut unerased) = match start {
            Start::Newest => (head, None),
            Start::At(cursor) => {
                self.check_cursor(&mut reader, cursor, floor, synced, &in_chat).map_err(|e| match e {
                    Some(ko) => ko,
                    None => not_a_page(cursor, chat),
                })?;
                // A page further back may hold a message deleted in a newer
                // page, not yet erased from the log: shown as erased.
                (cursor, Some(Unerased::now(self)))
            }
        };
        // Newest first, as the chain runs; each with its reply line, made
        // as the record is read, while they fit in KEEP_BYTES.
        let mut found: Vec<(Pos, Option<HistoryLine>)> = Vec::new();
        let (mut reply_bytes, mut keep) = (0, true);
        let mut before = None;
        while pos != NO_POS && pos >= floor {
            if found.len() == limit && pos < synced {
                before = Some(pos); // the next page starts here
                break;
            }
            // `None`: the rest of the chain was removed by retention.
            let Some(line) = reader.line(pos, true)? else { break };
            let mut m = match MsgRef::decode(line) {
                Ok(m) => m,
                Err(e) => {
                    // Its link to the previous message is lost with it:
                    // look for that message near it (see `damage`).
                    damage::report(&self.log, pos, &e);
                    let wanted = |l: &str| MsgRef::decode(l).is_ok_and(|m| in_chat(&m));
                    match damage::find_before(&self.log, pos, wanted) {
                        Some(before) => {
                            pos = before;
                            continue;
                        }
                        None => break,
                    }
                }
            };
            let prev = m.prev;
            if pos < synced {
                if let Some(unerased) = unerased.as_mut() {
                    unerased.apply(self, pos, &mut m);
                }
                // Measured without being made: past KEEP_BYTES, a line is
                // made once, as it is written out.
                let len = reply_len(&m, direct.as_ref());
                reply_bytes += len;
                if reply_bytes > max_bytes {
                    before = Some(pos);
                    break;
                }
                if keep && reply_bytes > KEEP_BYTES {
                    // Too many to hold: read them again as they are written.
                    keep = false;
                    found.iter_mut().for_each(|(_, line)| *line = None);
                }
                // Kept as values: `HISTORY` shows them once the actions
                // among them are folded in (`Listing::messages`).
                let line = history_line(&m, direct.as_ref());
                let kept = if keep { Some(line.to_line().map_err(|e| read_failed(pos, e))?) } else { None };
                found.push((pos, kept));
            }
            pos = prev;
        }
        found.reverse();
        let len = found.len();
        let lines = HistoryLines { inner: self.clone(), reader, found, next: 0, direct, unerased };
        Ok(Listing { len, lines: Box::new(lines), before })
    }

    /// Checks a page's cursor (1.2) before anything is read from it: a
    /// position on disk, within the conversation's bounds (`floor`), where
    /// a line of the log begins, holding a message of this conversation
    /// (or a damaged record there, which the walk passes as it passes any).
    /// `Err(None)`: it is not a page of this conversation.
    fn check_cursor(
        &self,
        reader: &mut RecordReader,
        cursor: Pos,
        floor: Pos,
        synced: Pos,
        in_chat: &impl Fn(&MsgRef) -> bool,
    ) -> Result<(), Option<Ko>> {
        if cursor < floor || cursor >= synced {
            return Err(None);
        }
        if !self.log.is_line_start(cursor).map_err(|e| Some(read_failed(cursor, e)))? {
            return Err(None);
        }
        match reader.line(cursor, true).map_err(Some)? {
            Some(line) if MsgRef::decode(line).is_ok_and(|m| !in_chat(&m)) => Err(None),
            // Another record kind is not a message of any chat.
            Some(line) if MsgRef::decode(line).is_err() && Record::decode(line).is_ok() => Err(None),
            _ => Ok(()),
        }
    }
}

impl Inner {
    /// `CHATS`: the state's lines, each chat's unread count without the
    /// actions among its newest unread messages.
    pub(in crate::store) fn chats(self: &Arc<Self>, user: UserId) -> Result<Vec<ChatLine>, Ko> {
        let (mut lines, heads, me, since, synced) = {
            let state = self.state.lock();
            let pending = self.pending.lock();
            let synced = self.synced();
            let lines = state.chats(user, &mut |head| hidden_senders(&pending, head, synced));
            let heads: Vec<Pos> = lines.iter().map(|l| chat_head(&state, user, &l.chat)).collect();
            (lines, heads, state.users[user].name.clone(), state.users[user].since, synced)
        };
        let mut reader = RecordReader::new(self.clone());
        let mut budget = UNREAD_SCAN_TOTAL;
        for (line, head) in lines.iter_mut().zip(heads) {
            if line.unread == 0 || budget == 0 {
                continue;
            }
            let wanted = usize::try_from(line.unread).unwrap_or(usize::MAX).min(UNREAD_SCAN);
            // In a chat with oneself (notes to self) one's own messages are
            // the chat's: the state counts them, so they are looked at.
            let note_to_self = matches!(&line.chat, Chat::User(peer) if **peer == *me);
            let mine = (!note_to_self).then_some(&*me);
            let walk = ChainWalk { head, since, synced, mine, wanted };
            let ids = walk.newest_unread(&mut reader, &mut budget)?;
            line.unread = without_actions(line.unread, ids.iter().map(String::as_str));
        }
        Ok(lines)
    }
}

/// The head of the chain of `user`'s chat `chat` (a line of `CHATS`).
fn chat_head(state: &State, user: UserId, chat: &Chat) -> Pos {
    match chat {
        Chat::User(name) => state.user_id(name).map_or(NO_POS, |peer| state.direct_head(user, peer)),
        Chat::Room(name) => state.member_room(name, user).map_or(NO_POS, |room| state.room_head(room)),
    }
}

/// A walk back a chat's chain for `CHATS`, from its newest message on disk.
struct ChainWalk<'a> {
    head: Pos,
    /// The user's cut (1.2): nothing before it is theirs.
    since: Pos,
    /// Records from here on are not on disk yet: `CHATS` did not count them.
    synced: Pos,
    /// The user, as registered: their own messages are never unread
    /// (`None` in a chat with themselves, where they are all there is).
    mine: Option<&'a str>,
    /// How many unread messages to find.
    wanted: usize,
}

impl ChainWalk<'_> {
    /// The ids of the newest `wanted` messages not `mine`, newest first,
    /// reading at most `budget` records (taken from it).
    fn newest_unread(&self, reader: &mut RecordReader, budget: &mut usize) -> Result<Vec<String>, Ko> {
        let mut ids = Vec::new();
        let mut pos = self.head;
        while pos != NO_POS && pos >= self.since && ids.len() < self.wanted && *budget > 0 {
            let Some(line) = reader.line(pos, true)? else { break };
            // A damaged record ends the walk: the rest count as they are.
            let Ok(m) = MsgRef::decode(line) else { break };
            *budget -= 1;
            if pos < self.synced && Some(m.from) != self.mine {
                ids.push(m.id.to_string());
            }
            pos = m.prev;
        }
        Ok(ids)
    }
}

/// The peer called `name` of `user`'s direct conversation, and the marks
/// of both its directions (`KO:UNKNOWN_USER` if there is no such user).
pub(super) fn directions(state: &State, user: UserId, name: &str) -> Result<(UserId, Directions), Ko> {
    let peer = crate::store::meaning::accounts::user(name, state.user_id(name))?;
    let marks = Directions {
        me: state.users[user].name.clone(),
        mine: state.marks(user, peer),
        theirs: state.marks(peer, user),
        room: false,
    };
    Ok((peer, marks))
}

/// 1.2 (§31): a room's "directions" for `user`'s ticks there: its own
/// messages are delivered below the lowest delivered mark of the other
/// members the rule counts, read below their lowest read mark
/// (`State::sender_marks`); the others' messages stay `RECEIVED`.
fn room_directions(state: &State, room: crate::store::state::RoomId, user: UserId) -> Directions {
    let (delivered, read) = state.sender_marks(room, user);
    Directions {
        me: state.users[user].name.clone(),
        mine: Marks { delivered, read },
        theirs: Marks::default(),
        room: true,
    }
}

/// A message's `HISTORY` line, borrowed from its record.
fn history_line<'a>(m: &'a MsgRef, direct: Option<&Directions>) -> HistoryLineRef<'a> {
    // A room's messages are numbered by the room (`ord`), a direct
    // chat's by its direction (`dord`).
    let state = direct.map_or(MsgState::Received, |d| d.state(m.from, if d.room { m.ord } else { m.dord }));
    HistoryLineRef { from: m.from, to: m.to, id: m.id, ts: m.ts, state, text: &m.text }
}

/// Writes a message's `HISTORY` line, `\n` included.
fn write_history_line(out: &mut String, m: &MsgRef, direct: Option<&Directions>) {
    // Writing into a String cannot fail.
    let _ = writeln!(out, "{}", history_line(m, direct));
}

/// The length of a message's `HISTORY` line, `\n` included.
fn reply_len(m: &MsgRef, direct: Option<&Directions>) -> usize {
    history_line(m, direct).len() + 1
}

/// The senders of the messages at the top of a chain that are not on disk
/// yet (their records are all in memory: see the module documentation).
pub(super) fn hidden_senders(pending: &Pending, head: Pos, synced: Pos) -> Vec<String> {
    let mut senders = Vec::new();
    let mut pos = head;
    while pos != NO_POS && pos >= synced {
        let Some(line) = pending.line_at(pos) else { break };
        let Ok(m) = MsgRef::decode(&line) else { break };
        senders.push(m.from.to_string());
        pos = m.prev;
    }
    senders
}

/// The marks of both directions of a direct conversation, as `HISTORY`
/// found them.
pub(in crate::store) struct Directions {
    /// The name of the user asking (as registered).
    pub(in crate::store) me: Arc<str>,
    /// Marks of the messages the user sent.
    pub(in crate::store) mine: Marks,
    /// Marks of the messages the peer sent.
    pub(in crate::store) theirs: Marks,
    /// 1.2 (§31): the marks of the user's own messages in a room, counted
    /// by the room's numbers; every other member's message `RECEIVED`.
    pub(in crate::store) room: bool,
}

impl Directions {
    pub(in crate::store) fn state(&self, from: &str, dord: u64) -> MsgState {
        let marks = if from == &*self.me { self.mine } else { self.theirs };
        marks.state(dord)
    }
}

/// The lines of a `HISTORY` reply, a chunk at a time.
struct HistoryLines {
    inner: Arc<Inner>,
    reader: RecordReader,
    /// The messages to show, oldest first: position, and line if kept.
    found: Vec<(Pos, Option<HistoryLine>)>,
    next: usize,
    /// `None` for a room (every message is RECEIVED), but for a 1.2
    /// asker of a room's ticks (`Directions::room`).
    direct: Option<Directions>,
    /// A page further back (1.2): the erasures pending as it was read.
    unerased: Option<Unerased>,
}

impl Lines for HistoryLines {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        let Some(chunk) = self.chunk() else { return Ok(false) };
        for i in chunk {
            match self.found[i].1.take() {
                // Writing into a String cannot fail.
                Some(kept) => drop(writeln!(out, "{kept}")),
                None => {
                    let pos = self.found[i].0;
                    let mut m = read_message(&mut self.reader, pos)?;
                    if let Some(unerased) = self.unerased.as_mut() {
                        unerased.apply(&self.inner, pos, &mut m);
                    }
                    write_history_line(out, &m, self.direct.as_ref());
                }
            }
        }
        Ok(true)
    }

    /// The lines kept while walking as they are; those past
    /// [`KEEP_BYTES`] read again from the log, a block at a time.
    fn next_messages(&mut self, out: &mut Vec<HistoryLine>) -> Result<bool, Ko> {
        let Some(chunk) = self.chunk() else { return Ok(false) };
        for i in chunk {
            let (pos, kept) = &mut self.found[i];
            let pos = *pos;
            match kept.take() {
                Some(kept) => out.push(kept),
                None => {
                    let mut m = read_message(&mut self.reader, pos)?;
                    if let Some(unerased) = self.unerased.as_mut() {
                        unerased.apply(&self.inner, pos, &mut m);
                    }
                    out.push(
                        history_line(&m, self.direct.as_ref()).to_line().map_err(|e| read_failed(pos, e))?,
                    );
                }
            }
        }
        Ok(true)
    }
}

impl HistoryLines {
    /// The indexes in `found` of the next chunk, now counted as given.
    fn chunk(&mut self) -> Option<std::ops::Range<usize>> {
        let end = (self.next + CHUNK).min(self.found.len());
        let chunk = self.next..end;
        self.next = end;
        (!chunk.is_empty()).then_some(chunk)
    }
}

/// The message at `pos`, read from the log (or memory) by `reader`.
fn read_message(reader: &mut RecordReader, pos: Pos) -> Result<MsgRef<'_>, Ko> {
    let line = reader.line(pos, false)?.ok_or_else(|| read_failed(pos, "removed while being read"))?;
    MsgRef::decode(line).map_err(|e| read_failed(pos, e))
}

/// The frames of an inbox replay, a chunk at a time.
pub(super) struct ReplayLines {
    inner: Arc<Inner>,
    reader: RecordReader,
    user: UserId,
    upto: u64,
    /// The last sequence number written.
    after: u64,
    /// The minor version of the connection: copies and read marks (1.2)
    /// are left out below 2.
    minor: u8,
    /// The [`Queued::Rooms`] entry being written, if any.
    rooms: Option<Stretch>,
    /// Deleted messages whose texts the log still holds.
    unerased: Unerased,
}

impl ReplayLines {
    /// `user`'s inbox events after what it acknowledged and after `after`
    /// (a device's position; 0: the inbox's start), up to `upto`, for a
    /// connection that speaks 1.`minor`.
    pub(super) fn after(inner: &Arc<Inner>, user: UserId, after: u64, upto: u64, minor: u8) -> ReplayLines {
        let reader = RecordReader::new(inner.clone());
        let unerased = Unerased::now(inner);
        ReplayLines { inner: inner.clone(), reader, user, upto, after, minor, rooms: None, unerased }
    }

    /// Writes up to [`CHUNK`] room messages of the entry being written;
    /// `false` once it is done.
    fn room_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        let Some(mut stretch) = self.rooms.take() else { return Ok(false) };
        let mut written = 0;
        while written < CHUNK {
            let Some(next) = stretch.next(&mut self.reader)? else {
                self.after = self.after.max(stretch.last.min(self.upto));
                return Ok(false);
            };
            let Some((seq, pos)) = next else { continue }; // acknowledged, or damaged
            if seq > self.upto {
                self.after = self.upto;
                return Ok(false);
            }
            if seq <= self.after {
                continue; // this device has it already
            }
            self.after = seq;
            let line = self.reader.line(pos, false)?;
            let line = line.ok_or_else(|| read_failed(pos, "an inbox refers to a removed record"))?;
            match MsgRef::decode(line) {
                Ok(mut m) => {
                    self.unerased.apply(&self.inner, pos, &mut m);
                    let _ = writeln!(out, "{}", m.event(seq));
                }
                Err(e) => damage::report(&self.inner.log, pos, &e), // left out (see `damage`)
            }
            written += 1;
        }
        self.rooms = Some(stretch);
        Ok(true)
    }
}

impl Lines for ReplayLines {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        if self.rooms.is_some() {
            self.room_chunk(out)?;
            return Ok(true);
        }
        let (events, end) = {
            let state = self.inner.state.lock();
            (state.queued(self.user, self.after, self.upto, CHUNK), state.end)
        };
        let Some(&(last, _)) = events.last() else { return Ok(false) };
        for (seq, queued) in events {
            if let Queued::Rooms { runs, done } = &queued {
                // The rest of the chunk is read again after this entry.
                let stretch = Stretch::new(&self.inner, &mut self.reader, (runs, *done), seq, end)?;
                self.rooms = Some(stretch);
                self.room_chunk(out)?;
                return Ok(true);
            }
            if queued.since() > self.minor {
                continue;
            }
            let pos = queued.pos();
            let line = self.reader.line(pos, false)?;
            let line = line.ok_or_else(|| read_failed(pos, "an inbox refers to a removed record"))?;
            let message = |m: &mut MsgRef| self.unerased.apply(&self.inner, pos, m);
            if let Err(e) = write_event(out, (seq, self.minor), &queued, line, message) {
                damage::report(&self.inner.log, pos, &e); // left out (see `damage`)
            }
        }
        self.after = last;
        Ok(true)
    }
}

/// Whether a message belongs to `chat` (for finding one past damage).
fn in_chat(chat: &Chat, direct: Option<&Directions>) -> impl Fn(&MsgRef) -> bool + use<> {
    use crate::protocol::names::fold;
    let (me, other) = match (chat, direct) {
        (Chat::User(peer), Some(d)) => (Some(fold(&d.me)), fold(peer)),
        (room, _) => (None, fold(&room.to_string())),
    };
    move |m: &MsgRef| match &me {
        Some(me) => {
            let (from, to) = (fold(m.from), fold(m.to));
            (from == *me && to == other) || (from == other && to == *me)
        }
        None => fold(m.to) == other,
    }
}

/// Writes the frame of inbox event `seq` from the log line of its record;
/// a message as `message` leaves it.
fn write_event(
    out: &mut String,
    (seq, minor): (u64, u8),
    queued: &Queued,
    line: &str,
    mut message: impl FnMut(&mut MsgRef),
) -> Result<(), String> {
    if let Queued::Direct { .. } | Queued::Copy { .. } = queued {
        let mut m = MsgRef::decode(line)?;
        message(&mut m);
        let _ = writeln!(out, "{}", m.event(seq));
        return Ok(());
    }
    if let Queued::Failed { .. } = queued {
        // 1.3: a message the network could not deliver.
        let Record::Failed { author, address, id, ts, reason } = Record::decode(line)? else {
            return Err("expected FAILED for a bounce".into());
        };
        let bounce = Bounce { seq, peer: &address, author: &author, id: &id, ts, reason: &reason, minor };
        let _ = writeln!(out, "{bounce}");
        return Ok(());
    }
    if let Queued::Mark { .. } = queued {
        // The user's own READ: a read mark for its devices (1.2).
        let Record::Read { chat, id, ts, .. } = Record::decode(line)? else {
            return Err("expected READ for a read mark".into());
        };
        let _ = writeln!(out, "{}", EventRef::ReadMark { seq, chat: &chat, id: &id, ts });
        return Ok(());
    }
    if let Queued::RoomStatus { id, read, .. } = queued {
        // 1.2 (§31): the user's room message, delivered or read by all.
        let (Record::Delivered { chat, ts, .. } | Record::Read { chat, ts, .. }) = Record::decode(line)?
        else {
            return Err("expected DELIVERED or READ for a room's STATUS".into());
        };
        let state = if *read { MsgState::Read } else { MsgState::Delivered };
        let _ = writeln!(out, "{}", EventRef::Status { seq, peer: &chat, id, state, ts });
        return Ok(());
    }
    // A mark on a message the user sent: the one who got it or read it.
    let (peer, id, state, ts) = match Record::decode(line)? {
        Record::Delivered { user, id, ts, .. } => (user, id, MsgState::Delivered, ts),
        Record::Read { user, id, ts, .. } => (user, id, MsgState::Read, ts),
        other => return Err(format!("expected DELIVERED or READ, found {other:?}")),
    };
    let _ = writeln!(out, "{}", EventRef::Status { seq, peer: &peer, id: &id, state, ts });
    Ok(())
}
