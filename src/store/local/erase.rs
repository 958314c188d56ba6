//! Erasing deleted texts from the disk (protocol 1.2, `DELETE`).
//!
//! The log is append-only: a `DELETE` is one more record (the action's
//! `MSG`, see `protocol::action`), and the deleted text is still in an
//! older record, and quoted in the records that name it (its edits, the
//! reactions to it, the replies quoting it). The eraser takes it out:
//!
//! 1. **Recorded first.** Once the `DELETE`'s record is durable, and
//!    before its `OK`, the erasure is appended to `erase.csv` and synced
//!    (`author,chat,id`). A crash at any later moment leaves it there.
//! 2. **Erased in place.** The eraser thread walks the conversation's
//!    chain back from its newest record to the deleted message, and
//!    overwrites each text that holds the deleted one (which, and what
//!    part: `protocol::erase`, the rule the cluster and the client
//!    apply too) with a filler of
//!    the same length (`(message deleted)` then spaces, or dashes if
//!    shorter), then syncs. The record keeps its length, so no position
//!    in the log, the checkpoints or the inboxes moves; a record is one
//!    line, so a crash in the middle leaves each line either whole, or
//!    partly overwritten, and the next pass overwrites it again.
//! 3. **Done, forgotten.** `erase.csv` is replaced (atomically) by the
//!    erasures still to do.
//!
//! When: every `--erase-minutes` (default 60; 0: at once) while the
//! server runs, and, for what is left in `erase.csv`, when the store
//! opens, before it serves anyone: "at the latest by the next start".
//! Checkpoints hold no text, so nothing else needs rewriting.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::Inner;
use super::reader::RecordReader;
use crate::csvlog::{self, blank_span, filler};
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::action::ActionsSince;
use crate::protocol::erase::{Blank, Line, erasure, may_quote};
use crate::protocol::fates::{Fates, is_erased, looks_erased};
use crate::protocol::names::fold;
use crate::store::disk::Disk;
use crate::store::record::{Fields, MsgRef, NO_POS, Pos, push_field};

/// The file of erasures to do, in the data directory.
pub const ERASE_FILE: &str = "erase.csv";
const HEADER: &str = "author,chat,id";

/// One deleted message whose text must leave the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// Who wrote it (and deleted it), as registered.
    pub author: String,
    /// Its conversation as the author sent it: a user or a `#room`.
    pub chat: String,
    pub id: String,
}

/// The conversation of a message from `from` to `to`, as a key: its room
/// (folded), or its two users (folded, in order), whichever wrote.
type ConversationKey = (String, String);

fn conversation(from: &str, to: &str) -> ConversationKey {
    if to.starts_with('#') {
        return (fold(to), String::new());
    }
    let (a, b) = (fold(from), fold(to));
    if a <= b { (a, b) } else { (b, a) }
}

/// The erasures to do and the thread's bell.
pub struct Eraser {
    path: PathBuf,
    /// Waiting erasures; the lock also orders the writes of `erase.csv`.
    pending: Mutex<Vec<Erasure>>,
    wake: Sender<()>,
    woken: Receiver<()>,
    /// `--erase-minutes`.
    pub interval: Duration,
}

impl Eraser {
    /// Reads what a previous run left in `erase.csv`.
    pub fn load(disk: &dyn Disk, dir: &Path, interval: Duration) -> Result<Eraser> {
        let path = dir.join(ERASE_FILE);
        let mut pending = Vec::new();
        if disk.exists(&path) {
            let bytes =
                disk.read_all(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
            for line in String::from_utf8_lossy(&bytes).lines().skip(1) {
                match Fields::split(line) {
                    Ok(f) if f.len() == 3 => {
                        let field = |i| f.get(i).map(|c| c.to_string()).unwrap_or_default();
                        pending.push(Erasure { author: field(0), chat: field(1), id: field(2) })
                    }
                    // A torn last line: its DELETE got no OK; the client's
                    // resend queues it again.
                    _ => log::warn!("store: {}: ignoring the line {line:?}", path.display()),
                }
            }
        }
        let (wake, woken) = crossbeam_channel::bounded(1);
        Ok(Eraser { path, pending: Mutex::new(pending), wake, woken, interval })
    }

    /// Records an erasure (synced) and, with `--erase-minutes 0`, wakes
    /// the thread. Returns once it is on disk.
    pub fn queue(&self, disk: &dyn Disk, erasure: Erasure) -> std::io::Result<()> {
        let mut pending = self.pending.lock();
        if !pending.contains(&erasure) {
            let mut out = Vec::new();
            if !disk.exists(&self.path) {
                out.extend_from_slice(HEADER.as_bytes());
                out.push(b'\n');
            }
            push_row(&mut out, &erasure);
            let mut file = disk.open_append(&self.path)?;
            file.append(&out)?;
            file.sync(crate::store::disk::SyncPoint::Replace)?;
            pending.push(erasure);
        }
        drop(pending);
        if self.interval.is_zero() {
            let _ = self.wake.try_send(());
        }
        Ok(())
    }

    /// The erasures not done yet.
    pub(in crate::store) fn pending(&self) -> Vec<Erasure> {
        self.pending.lock().clone()
    }

    /// The erasures not done yet, as rows of `erase.csv` (no header): a
    /// cluster's checkpoint carries them to the nodes that start from it
    /// (`store::local::seed`), whose copy of the log may still hold
    /// those texts.
    pub(in crate::store) fn rows(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in self.pending.lock().iter() {
            push_row(&mut out, e);
        }
        out
    }

    /// `erase.csv` holding `rows` (as [`Eraser::rows`] gives them).
    pub(in crate::store) fn file(rows: &[u8]) -> Vec<u8> {
        let mut out = format!("{HEADER}\n").into_bytes();
        out.extend_from_slice(rows);
        out
    }

    /// Wakes the thread (to stop, or to erase now).
    pub fn ring(&self) {
        let _ = self.wake.try_send(());
    }

    /// Erases everything pending, then rewrites `erase.csv` with what
    /// could not be erased (kept for the next pass).
    pub(in crate::store) fn erase_all(&self, inner: &Arc<Inner>) {
        let todo = self.pending.lock().clone();
        if todo.is_empty() {
            return;
        }
        let mut failed = Vec::new();
        for erasure in &todo {
            match erase(inner, erasure) {
                Ok(n) => log::info!(
                    "store: erased the text of {}'s message {} to {} from {n} records",
                    erasure.author,
                    erasure.id,
                    erasure.chat
                ),
                Err(e) => {
                    log::warn!("store: erasing {}'s message {}: {e}; will retry", erasure.author, erasure.id);
                    failed.push(erasure.clone());
                }
            }
        }
        let mut pending = self.pending.lock();
        pending.retain(|e| !todo.contains(e) || failed.contains(e));
        let mut out = format!("{HEADER}\n").into_bytes();
        for e in pending.iter() {
            push_row(&mut out, e);
        }
        if let Err(e) = inner.disk.replace(&self.path, &out) {
            log::warn!("store: rewriting {}: {e}", self.path.display());
        }
    }
}

fn push_row(out: &mut Vec<u8>, e: &Erasure) {
    push_field(out, &e.author);
    out.push(b',');
    push_field(out, &e.chat);
    out.push(b',');
    push_field(out, &e.id);
    out.push(b'\n');
}

/// The eraser thread: a pass every `--erase-minutes`, or when rung.
pub(in crate::store) fn spawn(inner: Arc<Inner>) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("eraser".into())
        .spawn(move || {
            let eraser = &inner.eraser;
            loop {
                let _ = eraser.woken.recv_timeout(eraser.interval.max(Duration::from_millis(1)));
                if inner.stopping.load(Ordering::SeqCst) {
                    return; // what is left stays in erase.csv for the next start
                }
                eraser.erase_all(&inner);
            }
        })
        .map_err(|e| Error::io("store: starting the eraser thread", e))
}

/// A record that may hold the text: its position, and its line as read.
struct Candidate {
    pos: Pos,
    line: String,
}

/// Erases one deleted message's text; returns how many records changed.
fn erase(inner: &Arc<Inner>, e: &Erasure) -> std::io::Result<usize> {
    let found = read_back(inner, &[e])?;
    let lines: Vec<&str> = found.iter().map(|f| f.line.as_str()).collect();
    let spans = overwrites(&lines, &e.author, &e.id).map_err(std::io::Error::other)?;
    for (i, range) in &spans {
        let filler = filler(range.len());
        let pos = found[*i].pos + range.start as u64;
        inner.log.overwrite(pos, filler.as_bytes())?;
        // A cluster's node erases the shared log's copy too (the same
        // filler at the same place, whichever node writes it first).
        if let Some(shared) = inner.shared.get() {
            shared.overwrite(pos, filler.as_bytes())?;
        }
    }
    Ok(spans.len())
}

/// What to overwrite in `lines` (`MSG` records of one conversation,
/// oldest first) when `author` deleted their message `id`: each line's
/// number and the bytes of it, by `protocol::erase`'s rule, leaving out
/// what a filler holds already. Pure, so that tests/store/erase_props.rs
/// checks it against the rule.
pub fn overwrites(
    lines: &[&str],
    author: &str,
    id: &str,
) -> std::result::Result<Vec<(usize, Range<usize>)>, String> {
    let mut spans = Vec::new();
    for (i, blank) in blanks_of(lines, author, id)? {
        let start = text_start(lines[i]);
        let field = &lines[i][start..];
        let Some(range) = blank_span(field, &blank) else { continue };
        if !range.is_empty() && !is_erased(&field[range.clone()]) {
            spans.push((i, start + range.start..start + range.end));
        }
    }
    Ok(spans)
}

/// `protocol::erase`'s rule over `lines` (`MSG` records of one
/// conversation, oldest first) when `author` deleted their message `id`:
/// each line's number and what to erase of its text.
fn blanks_of(lines: &[&str], author: &str, id: &str) -> std::result::Result<Vec<(usize, Blank)>, String> {
    // (line number, from, id, text); a text that is not one (a torn
    // overwrite) holds nothing to find.
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let record = MsgRef::decode(line)?;
        if let Ok(text) = Text::parse(&record.text) {
            records.push((i, record.from.to_string(), record.id.to_string(), text));
        }
    }
    let rule: Vec<Line> = records.iter().map(|(_, from, id, text)| Line { from, id, text }).collect();
    Ok(erasure(&rule, author, id).into_iter().map(|(r, blank)| (records[r].0, blank)).collect())
}

/// What the inbox replay shows of deleted messages (the differential
/// test's seed 107 plays it). A device offline when a message was deleted is
/// replayed it later, and, within `--erase-minutes`, the log still holds
/// its text. It is shown as it will read once erased:
/// `protocol::erase`'s rule, each text given by [`Blank::apply`]. What
/// the erasures of a conversation blank is found once per replay, with
/// one walk back of its chain (the eraser's own, [`read_back`]), and only if the replay holds
/// a message of that conversation.
///
/// And what the eraser overwrote already reads as that same text, not as
/// its filler (`(message deleted)` and spaces, or dashes for a
/// short text, which a person may also have typed): a message whose text
/// looks so is looked up in what its conversation's deletions did
/// (`protocol::fates`, `HISTORY`'s reading), read back from the
/// conversation's newest record, [`READ_BACK_MOST`] records at most.
pub(in crate::store) struct Unerased {
    pending: Vec<Erasure>,
    /// The conversation of each of `pending`, in its order.
    of: Vec<ConversationKey>,
    /// Which of `pending` were looked for.
    looked: Vec<bool>,
    /// What they blank, by position, in the order of `pending`.
    blanks: HashMap<Pos, Vec<Blank>>,
    /// By conversation (its room, or its two users, folded): what its
    /// deletions did, as far back as it was read.
    fates: HashMap<ConversationKey, ReadBack>,
}

/// A conversation read back, newest first, for what its deletions did.
struct ReadBack {
    fates: Fates,
    /// The next record to read (`NO_POS`: none left).
    next: Pos,
    /// How many were read.
    read: usize,
}

/// How many records of a conversation a replay reads back, at most, to
/// learn whether a text the eraser overwrote was a deletion's (and not a
/// person's dashes): `HISTORY`'s most.
pub const READ_BACK_MOST: usize = crate::protocol::MAX_HISTORY;

impl Unerased {
    /// The erasures pending now.
    pub(in crate::store) fn now(inner: &Inner) -> Unerased {
        let pending = inner.eraser.pending();
        Unerased {
            looked: vec![false; pending.len()],
            of: pending.iter().map(|e| conversation(&e.author, &e.chat)).collect(),
            pending,
            blanks: HashMap::new(),
            fates: HashMap::new(),
        }
    }

    /// `m`, the message read at `pos`, with its text as the pending
    /// erasures leave it.
    pub(in crate::store) fn apply(&mut self, inner: &Arc<Inner>, pos: Pos, m: &mut MsgRef) {
        // The message's conversation, worked out only while an erasure is
        // still to be looked for (none pending: nothing, message after message).
        if self.looked.contains(&false) {
            let chat = conversation(m.from, m.to);
            let of_chat: Vec<usize> =
                (0..self.pending.len()).filter(|&i| !self.looked[i] && self.of[i] == chat).collect();
            if !of_chat.is_empty() {
                self.look_for(inner, &of_chat);
            }
        }
        if let Some(blanks) = self.blanks.get(&pos) {
            for blank in blanks {
                if let Ok(text) = Text::parse(&m.text)
                    && let Some(erased) = blank.apply(&text)
                {
                    m.text = Cow::Owned(erased.as_escaped().to_string());
                }
            }
            return;
        }
        let Ok(text) = Text::parse(&m.text) else { return };
        if !looks_erased(&text) {
            return;
        }
        if let Some(fates) = self.fates_back_to(inner, pos, m)
            && let Some(shown) = fates.deleted_from(m.from, m.id, &text)
        {
            m.text = Cow::Owned(shown.as_escaped().to_string());
        }
    }

    /// What the deletions of `m`'s conversation did, read back from its
    /// newest record to `m` (at `pos`); `None` past [`READ_BACK_MOST`]
    /// records of it in this replay.
    fn fates_back_to(&mut self, inner: &Arc<Inner>, pos: Pos, m: &MsgRef) -> Option<&Fates> {
        let room = m.to.starts_with('#');
        let back = self.fates.entry(conversation(m.from, m.to)).or_insert_with(|| {
            let state = inner.state.lock();
            let head = match room {
                true => state.room_id(m.to).map(|room| state.room_head(room)),
                false => match (state.user_id(m.from), state.user_id(m.to)) {
                    (Some(a), Some(b)) => Some(state.direct_head(a, b)),
                    _ => None,
                },
            };
            ReadBack {
                fates: Fates::since(ActionsSince(inner.actions_since)),
                next: head.unwrap_or(NO_POS),
                read: 0,
            }
        });
        // Each record newer than `pos`, newest first, from where the last
        // look stopped.
        let mut reader = RecordReader::new(inner.clone());
        while back.next != NO_POS && back.next > pos && back.read < READ_BACK_MOST {
            back.read += 1;
            let record = reader.line(back.next, true).ok().flatten().and_then(|line| {
                let record = MsgRef::decode(line).ok()?;
                if let Ok(text) = Text::parse(&record.text) {
                    back.fates.observe(record.from, record.id, record.ts, &text);
                }
                Some(record.prev)
            });
            back.next = record.unwrap_or(NO_POS); // removed by retention, or damaged: the end
        }
        (back.next == NO_POS || back.next <= pos).then_some(&back.fates)
    }

    /// Finds what the erasures `of_chat` (of one conversation) blank.
    fn look_for(&mut self, inner: &Arc<Inner>, of_chat: &[usize]) {
        let erasures: Vec<&Erasure> = of_chat.iter().map(|&i| &self.pending[i]).collect();
        match read_back(inner, &erasures) {
            Ok(records) => {
                let lines: Vec<&str> = records.iter().map(|f| f.line.as_str()).collect();
                for e in &erasures {
                    for (i, blank) in blanks_of(&lines, &e.author, &e.id).unwrap_or_default() {
                        self.blanks.entry(records[i].pos).or_default().push(blank);
                    }
                }
            }
            Err(err) => log::warn!("store: reading {} deleted messages for a replay: {err}", erasures.len()),
        }
        for &i in of_chat {
            self.looked[i] = true;
        }
    }
}

/// The conversation's records from the deleted messages on, oldest
/// first: the chain walked back from its newest record to the oldest of
/// `erasures` (all of one conversation), keeping those that may hold
/// their texts (`erase::may_quote`). A message gone already (retention,
/// a removed room or account) is not among them, and so erases nothing.
fn read_back(inner: &Arc<Inner>, erasures: &[&Erasure]) -> std::io::Result<Vec<Candidate>> {
    let Some(e) = erasures.first() else { return Ok(Vec::new()) };
    let head = {
        let state = inner.state.lock();
        match e.chat.strip_prefix('#') {
            Some(_) => state.room_id(&e.chat).map(|room| state.room_head(room)),
            None => match (state.user_id(&e.author), state.user_id(&e.chat)) {
                (Some(a), Some(b)) => Some(state.direct_head(a, b)),
                _ => None,
            },
        }
    };
    let Some(mut pos) = head else { return Ok(Vec::new()) };
    let mut reader = RecordReader::new(inner.clone());
    let mut found = Vec::new();
    let mut left: Vec<&Erasure> = erasures.to_vec();
    while pos != NO_POS {
        let line = reader.line(pos, true).map_err(|ko| std::io::Error::other(ko.reason))?;
        let Some(line) = line else { break }; // removed by retention
        let record = MsgRef::decode(line).map_err(std::io::Error::other)?;
        let prev = record.prev;
        let before = left.len();
        left.retain(|e| !(record.id == e.id && fold(record.from) == fold(&e.author)));
        if left.len() < before || may_quote(record.id, &record.text) {
            found.push(Candidate { pos, line: line.to_string() });
        }
        if left.is_empty() {
            found.reverse();
            return Ok(found);
        }
        pos = prev;
    }
    // Not all found (gone already): the rule finds nothing for those.
    found.reverse();
    Ok(found)
}

/// Where the text starts in a `MSG` line: after its eighth comma (the
/// fields before it are names, ids and numbers, never quoted).
fn text_start(line: &str) -> usize {
    csvlog::field_start(line, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_field_starts_after_the_eighth_comma() {
        let line = "MSG,17,ana,bob,m1,,3,1,\"a, b\"";
        assert_eq!(&line[text_start(line)..], "\"a, b\"");
    }
}
