//! `SEARCH` on the local store: its log, newest first, through a small
//! index of Bloom filters ([`Index`]; `store::search` says why, and holds
//! what every backend shares: the query, the folding of texts).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::Inner;
use super::reads::{Directions, directions};
use crate::protocol::action::{Act, ActionId, ActionsSince};
use crate::protocol::fates::Fates;
use crate::protocol::{Chat, Code, HistoryLine, Ko, State, Text};
use crate::store::record::{MsgRef, Pos};
use crate::store::search::{MAX_SCANNED, Query, fold_escaped, words};
use crate::store::state::UserId;

/// One conversation being read, newest first.
struct Walk {
    fates: Fates,
    direct: Option<Directions>,
}

/// Records per block of the index.
const BLOCK_RECORDS: usize = 1024;
/// Bits of a block's Bloom filter: 2 KiB a block, 2 MiB per million
/// messages; with ~1,000 different words in a block, one block in ~200
/// is read for a word it does not hold.
const BLOOM_WORDS: usize = 256;
/// Put in the filter of every block holding an action (edit, delete,
/// reaction): such a block is always read, so that no deletion is missed.
const ACTION: &str = "\u{1}action";

/// The index: the log's records in blocks of [`BLOCK_RECORDS`], each with
/// a Bloom filter of the words in its texts. A search reads only the
/// blocks that may hold all its words (and those with actions), newest
/// first. Built as searches go: a search first adds the blocks written
/// since the last one (the first search after a start reads the whole log).
#[derive(Default)]
pub struct Index {
    blocks: Mutex<Blocks>,
}

#[derive(Default)]
struct Blocks {
    done: Vec<Block>,
    /// Where the first record not in `done` is (0: the log's start).
    built_to: Pos,
}

struct Block {
    first: Pos,
    /// The position after its last record.
    end: Pos,
    bloom: Box<[u64; BLOOM_WORDS]>,
}

impl Block {
    fn new(first: Pos) -> Block {
        Block { first, end: first, bloom: Box::new([0; BLOOM_WORDS]) }
    }

    fn add(&mut self, word: &str) {
        for bit in bits(word) {
            self.bloom[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, word: &str) -> bool {
        bits(word).iter().all(|&bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// Three bit numbers for a word (FNV-1a, split).
fn bits(word: &str) -> [usize; 3] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let m = (BLOOM_WORDS * 64) as u64;
    [(h % m) as usize, ((h >> 21) % m) as usize, ((h >> 42) % m) as usize]
}

/// A stop of `Log::scan` that is not an error.
const STOP: &str = "\u{0}stop";

impl Inner {
    /// Calls `each` on the records from `from` up to `end`; `Ok` if it
    /// got there (what lies past `end`, maybe torn, is not looked at).
    fn records(&self, from: Pos, end: Pos, mut each: impl FnMut(Pos, &str)) -> Result<(), Ko> {
        let mut reached = from >= end;
        let scanned = self.log.scan(from, |pos, line| {
            if pos >= end {
                reached = true;
                return Err(STOP.into());
            }
            each(pos, line);
            Ok(())
        });
        match scanned {
            Err(e) if !reached && !e.to_string().contains(STOP) => {
                log::error!("store: search: {e}");
                Err(Ko::new(Code::Internal, "the server could not read its log; see its log"))
            }
            _ => Ok(()),
        }
    }

    /// [`Inner::records`] for one block: read in one positioned read of
    /// its bytes (~130 KB) when it lies in one segment, as most do.
    fn block_records(&self, from: Pos, end: Pos, mut each: impl FnMut(Pos, &str)) -> Result<(), Ko> {
        let len = (end - from) as usize;
        let mut buf = Vec::new();
        match self.log.read_block(from, 0, len, &mut buf) {
            Ok(Some((start, have))) if start == from && have == len => {
                let mut pos = from;
                for line in buf[..len].split(|&b| b == b'\n').take_while(|l| !l.is_empty()) {
                    if let Ok(line) = std::str::from_utf8(line) {
                        each(pos, line);
                    }
                    pos += line.len() as u64 + 1;
                }
                Ok(())
            }
            _ => self.records(from, end, each),
        }
    }

    /// Adds to the index the full blocks of records before `synced`.
    fn extend_index(&self, synced: Pos) -> Result<Pos, Ko> {
        let mut blocks = self.search_index.blocks.lock();
        let from = blocks.built_to.max(self.log.start());
        let mut block = Block::new(from);
        let mut count = 0;
        let mut finished = Vec::new();
        self.records(from, synced, |pos, line| {
            if count == BLOCK_RECORDS {
                finished.push(std::mem::replace(&mut block, Block::new(pos)));
                count = 0;
            }
            count += 1;
            block.end = pos + line.len() as u64 + 1;
            if let Ok(m) = MsgRef::decode(line) {
                if m.id.starts_with('_') {
                    block.add(ACTION);
                }
                let folded = fold_escaped(&m.text);
                words(&folded).for_each(|w| block.add(w));
            }
        })?;
        if let Some(last) = finished.last() {
            blocks.built_to = last.end;
        }
        blocks.done.extend(finished);
        // Retention removed the oldest segments: their blocks go too.
        let start = self.log.start();
        blocks.done.retain(|b| b.end > start);
        Ok(blocks.built_to)
    }

    /// `SEARCH` on the local store (see the module documentation).
    pub(in crate::store) fn search_chats(
        self: &Arc<Self>,
        user: UserId,
        chats: &[Chat],
        query: &Query,
        limit: usize,
    ) -> Result<Vec<HistoryLine>, Ko> {
        let mut walks: HashMap<String, Walk> = HashMap::new();
        let (me, since);
        {
            let state = self.state.lock();
            me = fold_name(&state.users[user].name);
            // 1.2: an account whose name was reused finds nothing before its cut.
            since = state.users[user].since;
            for chat in chats {
                match chat {
                    Chat::User(name) => {
                        let (_, marks) = directions(&state, user, name)?;
                        walks.insert(
                            fold_name(name),
                            Walk {
                                fates: Fates::since(ActionsSince(self.actions_since)),
                                direct: Some(marks),
                            },
                        );
                    }
                    Chat::Room(name) => {
                        state
                            .member_room(name, user)
                            .ok_or_else(|| Ko::new(Code::NotMember, format!("you are not in #{name}")))?;
                        walks.insert(
                            fold_name(&format!("#{name}")),
                            Walk { fates: Fates::since(ActionsSince(self.actions_since)), direct: None },
                        );
                    }
                }
            }
        }
        let synced = self.synced();
        let built_to = self.extend_index(synced)?;
        // The ranges to read, newest first: what is not in a block yet,
        // then every block that may hold the words.
        let mut ranges = vec![(built_to, synced)];
        {
            let blocks = self.search_index.blocks.lock();
            for block in blocks.done.iter().rev() {
                if block.may_hold(ACTION) || query.words.iter().all(|w| block.may_hold(w)) {
                    ranges.push((block.first, block.end));
                }
            }
        }
        let (mut found, mut scanned) = (Vec::new(), 0);
        let mut edited: HashSet<String> = HashSet::new();
        for (from, end) in ranges {
            if found.len() >= limit || scanned >= MAX_SCANNED || end <= since {
                break;
            }
            // The messages edited in this range: their old text may not
            // match and their new one may (a quick look for `,_e` first).
            self.block_records(from, end, |_, line| {
                if line.contains(",_e")
                    && let Ok(m) = MsgRef::decode(line)
                    && let Some(action) = ActionId::parse(m.id)
                    && action.act == Act::Edit
                {
                    edited.insert(action.target);
                }
            })?;
            let mut lines = Vec::new();
            self.block_records(from, end, |pos, line| {
                if pos < since {
                    return;
                }
                let Ok(m) = MsgRef::decode(line) else { return };
                // Only actions (which change what came before), edited
                // messages and matches matter; the words tested last.
                let wanted = m.id.starts_with('_') || edited.contains(m.id) || query.matches_escaped(&m.text);
                if wanted && conversation(&m, &me).is_some_and(|c| walks.contains_key(&c)) {
                    lines.push((pos, line.to_string()));
                }
            })?;
            scanned += lines.len();
            for (_, line) in lines.iter().rev() {
                let Ok(m) = MsgRef::decode(line) else { continue };
                let Some(walk) = conversation(&m, &me).and_then(|c| walks.get_mut(&c)) else { continue };
                if let Some(line) = walk.consider(&m, query) {
                    found.push(line);
                    if found.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(found)
    }
}

/// The conversation of a record as seen by `me` (folded): the peer's
/// folded name, or the `#room`; `None` if it is not `me`'s.
fn conversation(m: &MsgRef, me: &str) -> Option<String> {
    if m.to.starts_with('#') {
        return Some(fold_name(m.to));
    }
    let (from, to) = (fold_name(m.from), fold_name(m.to));
    if from == me {
        Some(to)
    } else if to == me {
        Some(from)
    } else {
        None
    }
}

fn fold_name(name: &str) -> String {
    crate::protocol::names::fold(name)
}

impl Walk {
    /// The record's `HISTORY` line if it is a live message that matches.
    fn consider(&mut self, m: &MsgRef, query: &Query) -> Option<HistoryLine> {
        let ordinary = !m.id.starts_with('_');
        // The common case, a message no action named, costs no copy.
        if ordinary && self.fates.deleted(m.from, m.id).is_none() && self.fates.edit(m.from, m.id).is_none() {
            if !query.matches_escaped(&m.text) {
                return None;
            }
            let text = Text::parse(&m.text).ok()?;
            return Some(self.line(m, text));
        }
        let text = Text::parse(&m.text).ok()?;
        self.fates.observe(m.from, m.id, m.ts, &text);
        if !self.fates.is_live(m.from, m.id) {
            return None;
        }
        let text = self.fates.text_of(m.from, m.id, &text);
        query.matches_escaped(text.as_escaped()).then(|| self.line(m, text))
    }

    fn line(&self, m: &MsgRef, text: Text) -> HistoryLine {
        let state = self.direct.as_ref().map_or(State::Received, |d| d.state(m.from, m.dord));
        HistoryLine {
            from: m.from.to_string(),
            to: Chat::registered(m.to),
            id: m.id.to_string(),
            ts: m.ts,
            state,
            text,
        }
    }
}
