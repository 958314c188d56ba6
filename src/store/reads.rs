//! Reading the local store: `HISTORY`, the inbox replay and `CHATS`.
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
//! which is where [`Inner::read_record`] finds them.

use std::fmt::Write;
use std::sync::Arc;

use super::backend::{Lines, Listing};
use super::local::{Inner, Pending};
use super::record::{Fields, NO_POS, Pos};
use super::state::{Marks, Queued, UserId};
use crate::protocol::{Chat, Code, EventRef, Ko, State as MsgState};

/// Records read and formatted per chunk of a reply.
const CHUNK: usize = 64;

/// The fields of a `MSG` line, borrowed from it.
pub(super) struct MsgLine<'a> {
    pub(super) from: &'a str,
    pub(super) to: &'a str,
    pub(super) id: &'a str,
    pub(super) ts: u64,
    pub(super) prev: Pos,
    pub(super) ord: u64,
    pub(super) dord: u64,
    /// Escaped as on the wire (it was stored so); quotes undone.
    pub(super) text: std::borrow::Cow<'a, str>,
}

impl<'a> MsgLine<'a> {
    pub(super) fn parse(line: &'a str) -> Result<MsgLine<'a>, String> {
        let f = Fields::split(line)?;
        if f.get(0)?.as_ref() != "MSG" {
            return Err(format!("expected a message, found {:?}", f.get(0)?));
        }
        let field = |i| -> Result<&'a str, String> {
            match f.get(i)? {
                std::borrow::Cow::Borrowed(s) => Ok(*s),
                // Names and ids never need quotes.
                std::borrow::Cow::Owned(_) => Err(format!("field {} is quoted", i + 1)),
            }
        };
        Ok(MsgLine {
            from: field(2)?,
            to: field(3)?,
            id: field(4)?,
            ts: f.number(1)?,
            prev: f.pos(5)?,
            ord: f.number(6)?,
            dord: f.number(7)?,
            text: f.get(8)?.clone(),
        })
    }
}

fn read_failed(pos: Pos, e: impl std::fmt::Display) -> Ko {
    log::error!("store: reading the record at position {pos}: {e}");
    Ko::new(Code::Internal, "the server could not read its log; see its log")
}

impl Inner {
    /// `HISTORY`: the newest `limit` messages of a conversation, oldest first.
    pub(super) fn history(self: &Arc<Self>, user: UserId, chat: &Chat, limit: usize) -> Result<Listing, Ko> {
        let (head, direct) = {
            let state = self.state.lock();
            match chat {
                Chat::User(name) => {
                    let peer = state
                        .user_id(name)
                        .ok_or_else(|| Ko::new(Code::UnknownUser, format!("no user named {name}")))?;
                    let marks = Directions {
                        me: state.users[user].name.clone(),
                        mine: state.marks(user, peer),
                        theirs: state.marks(peer, user),
                    };
                    (state.direct_head(user, peer), Some(marks))
                }
                Chat::Room(name) => {
                    let room = state
                        .member_room(name, user)
                        .ok_or_else(|| Ko::new(Code::NotMember, format!("you are not in #{name}")))?;
                    (state.room_head(room), None)
                }
            }
        };
        let synced = self.synced();
        let mut positions = Vec::new();
        let mut pos = head;
        while pos != NO_POS && positions.len() < limit {
            // `None`: the rest of the chain was removed by retention.
            let Some(line) = self.read_record(pos).map_err(|e| read_failed(pos, e))? else { break };
            let m = MsgLine::parse(&line).map_err(|e| read_failed(pos, e))?;
            if pos < synced {
                positions.push(pos);
            }
            pos = m.prev;
        }
        positions.reverse();
        let len = positions.len();
        let lines = HistoryLines { inner: self.clone(), positions, next: 0, direct };
        Ok(Listing { len, lines: Box::new(lines) })
    }

    /// `user`'s inbox events after what it acknowledged, up to `upto`.
    pub(super) fn replay(self: &Arc<Self>, user: UserId, upto: u64) -> Box<dyn Lines> {
        Box::new(ReplayLines { inner: self.clone(), user, upto, after: 0 })
    }

    /// `CHATS`.
    pub(super) fn chats(&self, user: UserId) -> Vec<String> {
        let state = self.state.lock();
        let pending = self.pending.lock();
        let synced = self.synced();
        state.chats(user, &mut |head| hidden_senders(&pending, head, synced))
    }
}

/// The senders of the messages at the top of a chain that are not on disk
/// yet (their records are all in memory: see the module documentation).
fn hidden_senders(pending: &Pending, head: Pos, synced: Pos) -> Vec<String> {
    let mut senders = Vec::new();
    let mut pos = head;
    while pos != NO_POS && pos >= synced {
        let Some(line) = pending.line_at(pos) else { break };
        let Ok(m) = MsgLine::parse(&line) else { break };
        senders.push(m.from.to_string());
        pos = m.prev;
    }
    senders
}

/// The marks of both directions of a direct conversation, as `HISTORY`
/// found them.
struct Directions {
    /// The name of the user asking (as registered).
    me: Arc<str>,
    /// Marks of the messages the user sent.
    mine: Marks,
    /// Marks of the messages the peer sent.
    theirs: Marks,
}

impl Directions {
    fn state(&self, from: &str, dord: u64) -> MsgState {
        let marks = if from == &*self.me { self.mine } else { self.theirs };
        if dord < marks.read {
            MsgState::Read
        } else if dord < marks.delivered {
            MsgState::Delivered
        } else {
            MsgState::Received
        }
    }
}

/// The lines of a `HISTORY` reply, read a chunk at a time.
struct HistoryLines {
    inner: Arc<Inner>,
    /// Positions of the messages to show, oldest first.
    positions: Vec<Pos>,
    next: usize,
    /// `None` for a room (every message is RECEIVED).
    direct: Option<Directions>,
}

impl Lines for HistoryLines {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        let chunk = &self.positions[self.next..(self.next + CHUNK).min(self.positions.len())];
        if chunk.is_empty() {
            return Ok(false);
        }
        for &pos in chunk {
            let line = self.inner.read_record(pos).map_err(|e| read_failed(pos, e))?;
            let line = line.ok_or_else(|| read_failed(pos, "removed while being read"))?;
            let m = MsgLine::parse(&line).map_err(|e| read_failed(pos, e))?;
            let state = self.direct.as_ref().map_or(MsgState::Received, |d| d.state(m.from, m.dord));
            // Writing into a String cannot fail.
            let _ = writeln!(out, "{}:{}:{}:{}:{state}:{}", m.from, m.to, m.id, m.ts, m.text);
        }
        self.next += chunk.len();
        Ok(true)
    }
}

/// The frames of an inbox replay, a chunk at a time.
struct ReplayLines {
    inner: Arc<Inner>,
    user: UserId,
    upto: u64,
    /// The last sequence number written.
    after: u64,
}

impl Lines for ReplayLines {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        let events = self.inner.state.lock().queued(self.user, self.after, self.upto, CHUNK);
        let Some(&(last, _)) = events.last() else { return Ok(false) };
        for (seq, queued) in events {
            let pos = queued.pos();
            let line = self.inner.read_record(pos).map_err(|e| read_failed(pos, e))?;
            let line = line.ok_or_else(|| read_failed(pos, "an inbox refers to a removed record"))?;
            write_event(out, seq, &queued, &line).map_err(|e| read_failed(pos, e))?;
        }
        self.after = last;
        Ok(true)
    }
}

/// Writes the frame of inbox event `seq` from the log line of its record.
fn write_event(out: &mut String, seq: u64, queued: &Queued, line: &str) -> Result<(), String> {
    let event = match queued {
        Queued::Direct { .. } | Queued::Room { .. } => {
            let m = MsgLine::parse(line)?;
            let event = EventRef::Msg { seq, from: m.from, to: m.to, id: m.id, ts: m.ts, text: &m.text };
            let _ = writeln!(out, "{event}");
            return Ok(());
        }
        Queued::Status { .. } => Fields::split(line)?,
    };
    let state = match event.get(0)?.as_ref() {
        "DELIVERED" => MsgState::Delivered,
        "READ" => MsgState::Read,
        other => return Err(format!("expected DELIVERED or READ, found {other:?}")),
    };
    let (peer, id, ts) = (event.get(2)?, event.get(4)?, event.number(1)?);
    let _ = writeln!(out, "{}", EventRef::Status { seq, peer, id, state, ts });
    Ok(())
}
