//! `SEARCH` on the store: its log, newest first, through a small index of
//! Bloom filters ([`Index`]; `store::search` says why, and holds what
//! does not depend on the log: the query, the folding of texts).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::Inner;
use super::reads::{Directions, directions};
use crate::protocol::action::{Act, ActionId, ActionsSince};
use crate::protocol::fates::Fates;
use crate::protocol::{Chat, Code, HistoryLine, Ko, MsgState, Text};
use crate::store::meaning::rooms;
use crate::store::record::{MsgRef, Pos};
use crate::store::search::{MAX_READ_BYTES, MAX_READ_RECORDS, Query, Searched, fold_escaped, words};
use crate::store::state::UserId;

/// One conversation being read, newest first.
struct Scan {
    fates: Fates,
    direct: Option<Directions>,
    /// Where its messages start: a room's making (one made again under a
    /// forgotten room's name holds none of the messages before, as its
    /// `HISTORY` shows); 0 for a direct chat.
    from: Pos,
}

/// Records per span of the index.
const SPAN_RECORDS: usize = 1024;
/// Bytes after which a span ends even with fewer records (long texts):
/// a span is read whole, so this bounds what one span costs a search.
const SPAN_BYTES: u64 = 256 * 1024;
/// Bits of a span's Bloom filter: 2 KiB a span, 2 MiB per million
/// messages; with ~1,000 different words and conversations in a span,
/// one span in ~30 may hold a word it does not, and one in ~1,000 may
/// hold a word and a conversation it does not.
const BLOOM_WORDS: usize = 256;
/// Put in the filter of a span with an action (edit, delete, reaction)
/// in a conversation, before the conversation's key: such a span is read
/// by every search of that conversation, so that no deletion is missed.
const ACTION: &str = "\u{1}action";

/// The index: the log's records in spans of [`SPAN_RECORDS`] (or
/// [`SPAN_BYTES`]), each with a Bloom filter of the words in its texts
/// and of its conversations. A search reads only the spans that may hold
/// one of its conversations and all its words (or an action there), newest
/// first, and at most [`MAX_READ_BYTES`]. Built as searches go: a search
/// first adds the spans written since the last one (the first search
/// after a start reads the whole log).
#[derive(Default)]
pub struct Index {
    spans: Mutex<Spans>,
}

#[derive(Default)]
struct Spans {
    done: Vec<Span>,
    /// Where the first record not in `done` is (0: the log's start).
    built_to: Pos,
}

struct Span {
    first: Pos,
    /// The position after its last record.
    end: Pos,
    bloom: Box<[u64; BLOOM_WORDS]>,
}

impl Span {
    fn new(first: Pos) -> Span {
        Span { first, end: first, bloom: Box::new([0; BLOOM_WORDS]) }
    }

    fn add(&mut self, key: &str) {
        for bit in bits(key) {
            self.bloom[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, bits: &[usize; 3]) -> bool {
        bits.iter().all(|&bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0)
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

/// What one search read of the log, and whether it stopped at its bounds
/// ([`MAX_READ_BYTES`], [`MAX_READ_RECORDS`]) before the 50th match and
/// the log's start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    pub bytes: u64,
    pub records: usize,
    pub cut: bool,
}

/// The filter keys of the conversations searched, hashed once per search.
struct Wanted {
    /// Per conversation: its key's bits and its actions' key's bits.
    chats: Vec<([usize; 3], [usize; 3])>,
    words: Vec<[usize; 3]>,
}

impl Wanted {
    fn new(keys: impl Iterator<Item = String>, query: &Query) -> Wanted {
        let chats = keys.map(|k| (bits(&k), bits(&format!("{ACTION}{k}")))).collect();
        Wanted { chats, words: query.words.iter().map(|w| bits(w)).collect() }
    }

    /// The span may hold a match in one of the conversations, or an
    /// action that changes what came before.
    fn in_span(&self, span: &Span) -> bool {
        let mut words = None;
        self.chats.iter().any(|(chat, action)| {
            span.may_hold(chat)
                && (span.may_hold(action)
                    || *words.get_or_insert_with(|| self.words.iter().all(|w| span.may_hold(w))))
        })
    }
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

    /// The records from `from` to `end` with their positions: one
    /// positioned read of their bytes when they lie in one segment, as
    /// most spans do.
    fn block_lines(&self, from: Pos, end: Pos) -> Result<Vec<(Pos, String)>, Ko> {
        let len = (end - from) as usize;
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        match self.log.read_block(from, 0, len, &mut buf) {
            Ok(Some((start, have))) if start == from && have == len => {
                let mut pos = from;
                // Each line with its `\n` (what follows the last one is not
                // a line). A blank line is passed over, never a stop: one
                // inserted in the newest segment would hide every later
                // record of its span from `SEARCH`.
                for line in buf[..len].split_inclusive(|&b| b == b'\n').filter(|l| l.ends_with(b"\n")) {
                    let record = &line[..line.len() - 1];
                    if let Ok(text) = std::str::from_utf8(record)
                        && !record.is_empty()
                    {
                        lines.push((pos, text.to_string()));
                    }
                    pos += line.len() as u64;
                }
            }
            _ => self.records(from, end, |pos, line| lines.push((pos, line.to_string())))?,
        }
        Ok(lines)
    }

    /// Adds to the index the full spans of records before `synced`.
    fn extend_index(&self, synced: Pos) -> Result<Pos, Ko> {
        let mut spans = self.search_index.spans.lock();
        let from = spans.built_to.max(self.log.start());
        let mut span = Span::new(from);
        let mut count = 0;
        let mut finished = Vec::new();
        self.records(from, synced, |pos, line| {
            if count == SPAN_RECORDS || span.end - span.first >= SPAN_BYTES {
                finished.push(std::mem::replace(&mut span, Span::new(pos)));
                count = 0;
            }
            count += 1;
            span.end = pos + line.len() as u64 + 1;
            if let Ok(m) = MsgRef::decode(line) {
                let chat = chat_key(&m);
                if m.id.starts_with('_') {
                    span.add(&format!("{ACTION}{chat}"));
                }
                span.add(&chat);
                let folded = fold_escaped(&m.text);
                words(&folded).for_each(|w| span.add(w));
            }
        })?;
        if let Some(last) = finished.last() {
            spans.built_to = last.end;
        }
        spans.done.extend(finished);
        // Retention removed the oldest segments: their spans go too.
        let start = self.log.start();
        spans.done.retain(|b| b.end > start);
        Ok(spans.built_to)
    }

    /// `SEARCH` on the local store (see the module documentation).
    pub(in crate::store) fn search_chats(
        self: &Arc<Self>,
        user: UserId,
        chats: &[Chat],
        query: &Query,
        limit: usize,
    ) -> Result<Searched, Ko> {
        let (found, reading) = self.search_reading(user, chats, query, limit)?;
        if reading.cut {
            log::debug!(
                "store: a search stopped after {} records, {} bytes, with {} matches",
                reading.records,
                reading.bytes,
                found.len()
            );
        }
        Ok(Searched { found, bytes_read: reading.bytes })
    }

    /// [`Inner::search_chats`], with what it read of the log.
    pub(in crate::store) fn search_reading(
        self: &Arc<Self>,
        user: UserId,
        chats: &[Chat],
        query: &Query,
        limit: usize,
    ) -> Result<(Vec<HistoryLine>, Reading), Ko> {
        let mut walks: HashMap<String, Scan> = HashMap::new();
        let mut keys = Vec::new();
        let (me, since): (String, Pos);
        {
            let state = self.state.lock();
            me = fold_name(&state.users[user].name);
            // 1.2: an account whose name was reused finds nothing before its cut.
            since = state.users[user].since;
            for chat in chats {
                match chat {
                    Chat::User(name) => {
                        let (_, marks) = directions(&state, user, name)?;
                        keys.push(pair_key(&me, &fold_name(name)));
                        let fates = Fates::since(ActionsSince(self.actions_since));
                        walks.insert(fold_name(name), Scan { fates, direct: Some(marks), from: 0 });
                    }
                    Chat::Room(name) => {
                        let room = rooms::member(name, state.member_room(name, user))?;
                        let key = fold_name(&format!("#{name}"));
                        keys.push(key.clone());
                        let fates = Fates::since(ActionsSince(self.actions_since));
                        walks.insert(key, Scan { fates, direct: None, from: state.room(room).born });
                    }
                }
            }
        }
        let wanted = Wanted::new(keys.into_iter(), query);
        let synced = self.synced();
        let built_to = self.extend_index(synced)?;
        // The ranges to read, newest first: what is not in a span yet,
        // then every span that may hold the words in these conversations.
        let mut ranges = vec![(built_to, synced)];
        {
            let spans = self.search_index.spans.lock();
            ranges.extend(spans.done.iter().rev().filter(|b| wanted.in_span(b)).map(|b| (b.first, b.end)));
        }
        let mut search = Search { me, since, walks, edited: HashSet::new(), query, limit, found: Vec::new() };
        let mut reading = Reading::default();
        for (from, end) in ranges {
            if search.found.len() >= limit || end <= since {
                break;
            }
            if reading.bytes + (end - from) > MAX_READ_BYTES || reading.records >= MAX_READ_RECORDS {
                reading.cut = true;
                break;
            }
            let lines = self.block_lines(from, end)?;
            reading.bytes += end - from;
            reading.records += lines.len();
            search.range(&lines);
        }
        Ok((search.found, reading))
    }
}

/// One search's progress through the ranges it reads, newest first.
struct Search<'q> {
    me: String,
    /// The searcher's cut (1.2): nothing before it is theirs.
    since: Pos,
    walks: HashMap<String, Scan>,
    /// Messages edited in the ranges read so far (newer than what is
    /// read next): their old text may not match and their new one may.
    edited: HashSet<String>,
    query: &'q Query,
    limit: usize,
    found: Vec<HistoryLine>,
}

impl Search<'_> {
    /// Adds the matches among `lines` (a range of the log, oldest first),
    /// newest first, up to the limit.
    fn range(&mut self, lines: &[(Pos, String)]) {
        // A quick look for `,_e` first.
        for (_, line) in lines {
            if line.contains(",_e")
                && let Ok(m) = MsgRef::decode(line)
                && let Some(action) = ActionId::parse(m.id)
                && action.act == Act::Edit
            {
                self.edited.insert(action.target);
            }
        }
        for (pos, line) in lines.iter().rev() {
            if *pos < self.since {
                continue;
            }
            let Ok(m) = MsgRef::decode(line) else { continue };
            // The conversation first (most records of a span are other
            // people's), then only actions (which change what came
            // before), edited messages and matches matter.
            let Some(walk) = conversation(&m, &self.me).and_then(|c| self.walks.get_mut(&c)) else {
                continue;
            };
            if *pos < walk.from {
                continue;
            }
            let wanted =
                m.id.starts_with('_') || self.edited.contains(m.id) || self.query.matches_escaped(&m.text);
            if !wanted {
                continue;
            }
            if let Some(line) = walk.consider(&m, self.query) {
                self.found.push(line);
                if self.found.len() >= self.limit {
                    return;
                }
            }
        }
    }
}

/// A record's conversation in the index: the room (`#tea`), or the two
/// folded names of a direct one, in order, so both sides find it.
fn chat_key(m: &MsgRef) -> String {
    if m.to.starts_with('#') {
        return fold_name(m.to);
    }
    pair_key(&fold_name(m.from), &fold_name(m.to))
}

fn pair_key(a: &str, b: &str) -> String {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    format!("\u{2}{a}\u{2}{b}")
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

impl Scan {
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
        let state = self.direct.as_ref().map_or(MsgState::Received, |d| d.state(m.from, m.dord));
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

impl super::LocalStore {
    /// `SEARCH`, with what it read of the log ([`Reading`]): for the
    /// tests and `examples/search_cost.rs`.
    pub fn search_reading(
        &self,
        user: UserId,
        chats: &[Chat],
        query: &Query,
        limit: usize,
    ) -> Result<(Vec<HistoryLine>, Reading), Ko> {
        self.inner.search_reading(user, chats, query, limit)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::disk::Disk;
    use crate::store::search::MAX_READ_RECORDS;
    use crate::store::sim_disk::SimDisk;
    use crate::store::{Hasher, LocalStore, Store, StoreOptions};

    /// A store whose log holds `n` messages of ~4 KB from ana to bob,
    /// every other one holding `alpha`, the others `beta`.
    fn store_with(n: usize) -> (Arc<LocalStore>, Store, UserId) {
        let disk: Arc<dyn Disk> = Arc::new(SimDisk::new());
        let options = StoreOptions { fsync: false, ..StoreOptions::default() };
        let local =
            Arc::new(LocalStore::open_on(disk, Path::new("/data"), options, Box::new(|_| {}), None).unwrap());
        let store = Store::new(local.clone(), Hasher::new(8).unwrap());
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        store.register("bob", "", "pw").unwrap();
        let filler = "x".repeat(4000);
        for burst in 0..n / 100 {
            let msgs: Vec<_> = (0..100)
                .map(|i| {
                    let k = burst * 100 + i;
                    let word = if k % 2 == 0 { "alpha" } else { "beta" };
                    let text = Text::parse(&format!("{word} {filler}")).unwrap();
                    (Chat::User("bob".into()), format!("m{k}"), text)
                })
                .collect();
            let (results, ticket) = store.send(ana, &msgs);
            assert!(results.iter().all(Result::is_ok));
            store.wait(ticket).unwrap();
        }
        (local, store, ana)
    }

    /// A search whose words are all in every span, but never in one
    /// message, would read the whole log: it stops at its bounds, and says
    /// it was cut.
    #[test]
    fn a_search_reads_at_most_its_bound_and_says_it_was_cut() {
        let (local, _store, ana) = store_with(3000); // ~12 MB of log
        let chats = [Chat::User("bob".into())];
        let (found, reading) =
            local.search_reading(ana, &chats, &Query::new("alpha beta alpha"), 50).unwrap();
        assert!(found.is_empty());
        assert!(reading.cut, "{reading:?}");
        assert!(reading.bytes <= MAX_READ_BYTES, "{reading:?}");
        assert!(reading.records <= MAX_READ_RECORDS, "{reading:?}");
        assert!(reading.bytes > MAX_READ_BYTES / 2, "it read up to its bound: {reading:?}");
        // A search that finds its 50 first (in 100 messages of 4 KB) reads
        // what is not yet in a span and a span or two, uncut.
        let (found, reading) = local.search_reading(ana, &chats, &Query::new("alpha"), 50).unwrap();
        assert_eq!(found.len(), 50);
        assert!(!reading.cut && reading.bytes <= 3 * (SPAN_BYTES + 8192), "{reading:?}");
    }

    /// A search of a conversation with no message could read every span
    /// that might hold the word. The spans' filters hold
    /// their conversations too: it reads none of them.
    #[test]
    fn a_search_of_an_empty_room_reads_no_block_of_other_chats() {
        let (local, store, ana) = store_with(1000);
        store.wait(store.join(ana, "empty").unwrap()).unwrap();
        let chats = [Chat::Room("empty".into())];
        let (found, reading) = local.search_reading(ana, &chats, &Query::new("alpha"), 50).unwrap();
        assert!(found.is_empty());
        assert!(reading.bytes <= SPAN_BYTES + 8192, "read only what is not yet in a span: {reading:?}");
    }
}
