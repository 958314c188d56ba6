//! What a start does with the rows of `history.csv`: each row read is
//! applied to memory as it comes ([`Loading::replay`]). A `msg` row adds
//! a message to the window, a `state` row moves one forward, `refused`
//! and `relayed` mark it. A `state` row about a message older than the
//! window is kept aside ([`Amendments`]), so that a page read back from the
//! file later shows the message as far as it got.

use std::collections::HashMap;

use super::message::set_state;
use super::{Message, TEXTS_IN_MEMORY, WINDOW, key, on_disk};
use crate::protocol::MsgState;

/// What the `state` rows after a message's own row say of it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Amendments {
    state: Option<MsgState>,
    /// The server's time, from its `RECEIVED`.
    received_ts: Option<u64>,
}

impl Amendments {
    pub(super) fn add(&mut self, state: MsgState, ts: u64) {
        self.state = self.state.max(Some(state));
        if state == MsgState::Received {
            self.received_ts = Some(ts);
        }
    }

    /// Applies them to a message read back from its row.
    pub(super) fn apply(&self, m: &mut Message) {
        if let Some(ts) = self.received_ts {
            set_state(m, MsgState::Received, ts);
        }
        if let Some(state) = self.state {
            m.state = m.state.max(state);
        }
    }
}

/// The log's messages while `history.csv` is read: what [`History::open`](super::History::open)
/// fills, row by row, while the file itself is borrowed for reading.
pub(super) struct Loading<'a> {
    pub(super) messages: &'a mut Vec<Message>,
    pub(super) rows_at: &'a mut Vec<u64>,
    pub(super) index: &'a mut HashMap<(String, String), usize>,
    pub(super) first: &'a mut usize,
    pub(super) older: &'a mut HashMap<(String, String), Amendments>,
}

impl Loading<'_> {
    /// Adds a message whose row starts at byte `at`; the text that leaves
    /// the window of [`TEXTS_IN_MEMORY`] goes back to the disk, and past
    /// twice [`WINDOW`] the oldest messages leave memory.
    pub(super) fn insert(&mut self, message: Message, at: u64) {
        self.index.insert(key(&message.from, &message.id), *self.first + self.messages.len());
        self.messages.push(message);
        self.rows_at.push(at);
        if let Some(old) = self.messages.len().checked_sub(TEXTS_IN_MEMORY + 1) {
            self.messages[old].text = on_disk();
        }
        if self.messages.len() >= 2 * WINDOW {
            let first = *self.first;
            for (i, m) in self.messages.drain(..WINDOW).enumerate() {
                let k = key(&m.from, &m.id);
                if self.index.get(&k) == Some(&(first + i)) {
                    self.index.remove(&k);
                }
            }
            self.rows_at.drain(..WINDOW);
            *self.first += WINDOW;
        }
    }

    fn get_mut(&mut self, from: &str, id: &str) -> Option<&mut Message> {
        let n = *self.index.get(&key(from, id))?;
        Some(&mut self.messages[n - *self.first])
    }

    /// Applies one stored row to the in-memory log.
    pub(super) fn replay(&mut self, row: &csv::StringRecord, at: u64) -> std::result::Result<(), String> {
        let field = |i: usize| row.get(i).ok_or_else(|| format!("expected 7 fields, got {}", row.len()));
        let ts: u64 = field(1)?.parse().map_err(|_| format!("bad timestamp {:?}", &row[1]))?;
        let (from, id) = (field(2)?, field(4)?);
        match field(0)? {
            "msg" | "p2p" => {
                let message = super::paging::message_of(row)?;
                self.insert(message, at);
            }
            "state" => {
                let state: MsgState = field(5)?.parse()?;
                match self.get_mut(from, id) {
                    Some(m) => set_state(m, state, ts),
                    None => self.older.entry(key(from, id)).or_default().add(state, ts),
                }
            }
            "refused" => {
                if let Some(m) = self.get_mut(from, id) {
                    m.refused = Some(field(6)?.to_string());
                }
            }
            "relayed" => {
                if let Some(m) = self.get_mut(from, id) {
                    m.p2p = false;
                }
            }
            other => return Err(format!("unknown row kind {other:?}")),
        }
        Ok(())
    }
}
