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
//!    overwrites each text that holds the deleted one with a filler of
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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::Inner;
use super::reader::Reader;
use crate::csvlog::{self, filler, quoted_span};
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::action::{Act, Action, ActionId, DELETED, quote_line, reaction_quoting};
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

/// A record to overwrite: its position, and its line as read.
struct Found {
    pos: Pos,
    line: String,
}

/// Erases one deleted message's text; returns how many records changed.
fn erase(inner: &Arc<Inner>, e: &Erasure) -> std::io::Result<usize> {
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
    let Some(mut pos) = head else { return Ok(0) }; // the room or account is gone
    let mut reader = Reader::new(inner.clone());
    let mut derived = Vec::new(); // edits, reactions, the delete, replies
    let mut original = None;
    while pos != NO_POS {
        let line = reader.line(pos, true).map_err(|ko| std::io::Error::other(ko.reason))?;
        let Some(line) = line else { break }; // removed by retention
        let record = MsgRef::decode(line).map_err(std::io::Error::other)?;
        let prev = record.prev;
        if record.from == e.author && record.id == e.id {
            original = Some(Found { pos, line: line.to_string() });
            break;
        }
        let (names_it, reacts) = ActionId::parse(record.id).map_or((false, false), |a| {
            let reacts = matches!(a.act, Act::React | Act::Unreact);
            (a.target == e.id && (reacts || record.from == e.author), reacts)
        });
        // A reaction to a reply repeats the reply's quote (`👍 to: > ana: …`).
        if names_it || reacts || record.text.starts_with("> ") {
            derived.push(Found { pos, line: line.to_string() });
        }
        pos = prev;
    }
    let Some(original) = original else { return Ok(0) }; // already gone with retention
    // A reply quotes the message as it read then: first, or after an edit.
    let mut quotes = Vec::new();
    for found in std::iter::once(&original).chain(&derived) {
        let record = MsgRef::decode(&found.line).map_err(std::io::Error::other)?;
        let Ok(text) = Text::parse(&record.text) else { continue };
        match Action::of(record.id, &text) {
            None if std::ptr::eq(found, &original) => quotes.push(quote_line(&e.author, &text)),
            Some(Action::Edit { text, .. }) if record.from == e.author => {
                quotes.push(quote_line(&e.author, &text))
            }
            _ => {}
        }
    }
    let mut changed = 0;
    for found in std::iter::once(&original).chain(&derived) {
        let start = text_start(&found.line);
        let field = &found.line[start..];
        let record = MsgRef::decode(&found.line).map_err(std::io::Error::other)?;
        let action = ActionId::parse(record.id);
        let is_reply = action.is_none() && !std::ptr::eq(found, &original);
        let range = if is_reply {
            match quotes.iter().find_map(|q| quoted_span(field, q)) {
                Some(range) => range,
                None => continue, // a reply to another message
            }
        } else if action.is_some_and(|a| a.target != e.id) {
            // A reaction to a reply: from the quoted words to the text's end
            // (the words before them are plain: an emoji, names; so the
            // stored bytes are the same as the text's).
            let Ok(text) = Text::parse(&record.text) else { continue };
            let Some(at) = reaction_quoting(&text.unescaped(), &quotes) else { continue };
            let offset = usize::from(field.starts_with('"'));
            let end = field.len() - offset; // before a closing quote
            if offset + at > end {
                continue;
            }
            offset + at..end
        } else {
            0..field.len()
        };
        if field[range.clone()].trim_end() == DELETED || field[range.clone()].bytes().all(|b| b == b'-') {
            continue; // erased already
        }
        let filler = filler(range.len());
        inner.log.overwrite(found.pos + (start + range.start) as u64, filler.as_bytes())?;
        changed += 1;
    }
    Ok(changed)
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
