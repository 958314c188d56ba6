//! A deleted message's text leaves `history.csv` (protocol 1.2, §19: a
//! deleted text must not survive in any client's folder).
//!
//! A child of `history`, for its fields. When the log takes a `DELETE`
//! (the author's `_d…_<id>` message, or a room admin's `_x…_<id>` naming
//! the author, received or sent from here), what `protocol::erase` says
//! (the rule the server's log and a cluster apply too: the text of the
//! message `<id>`, of its edits and of the reactions to it, and the quote
//! of it in the replies, in its conversation) is overwritten in the file with a filler of
//! the same length (`csvlog::filler`), as the server does in its log: no
//! row moves, so the positions the log keeps of its rows stay right. The
//! deletion's own row is written and synced first; opening the log does
//! every erasure again (each is skipped if done), so a crash in the middle
//! still erases at the next start.

use std::io::{BufRead, Seek, SeekFrom, Write};

use super::{History, Message, TEXTS_IN_MEMORY};
use crate::csvlog::{blank_span, field_start, filler};
use crate::error::{Error, Result};
use crate::protocol::action::{self, Act, Action, ActionId};
use crate::protocol::erase::{Line, erasure, may_quote};
use crate::protocol::fates::is_erased;
use crate::protocol::names::fold;
use crate::protocol::{Chat, Text};

/// The text is the seventh field of a row (`kind,ts,from,to,id,state,text`).
const TEXT_FIELD: usize = 6;

impl History {
    /// If the message at position `i` deletes one, erases that one's text.
    pub(super) fn erase_if_delete(&mut self, i: usize) -> Result<()> {
        let (from, id) = (self.messages[i].from.clone(), self.messages[i].id.clone());
        match ActionId::parse(&id) {
            Some(action) if action.act == Act::Delete => self.erase(&from, &action.target),
            // An admin's delete names its author in its text.
            Some(action) if action.act == Act::Remove => match Action::of(&id, &self.whole(i).text) {
                Some(Action::Remove { author, .. }) => self.erase(&author, &action.target),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Erases `author`'s message `target` wherever this log holds its text:
    /// what `protocol::erase` says, among the messages of its conversation
    /// from it on.
    fn erase(&mut self, author: &str, target: &str) -> Result<()> {
        let Some(original) = self.slot(author, target) else { return Ok(()) };
        // The message itself is erased last: once it is, all is done.
        if self.row_text(original)?.is_none_or(|field| is_erased(&field)) {
            return Ok(());
        }
        let chat = conversation(&self.messages[original]);
        let n = self.messages.len();
        // Those that may hold the text; an older text is not in memory
        // (its stand-in), so it is read back to know.
        let found: Vec<(usize, Message)> = std::iter::once(original)
            .chain((original + 1..n).filter(|&i| {
                let m = &self.messages[i];
                conversation(m) == chat && (i + TEXTS_IN_MEMORY < n || may_quote(&m.id, m.text.as_escaped()))
            }))
            .map(|i| (i, self.whole(i)))
            .collect();
        let lines: Vec<Line> =
            found.iter().map(|(_, m)| Line { from: &m.from, id: &m.id, text: &m.text }).collect();
        let mut blanks = erasure(&lines, author, target);
        // The original (first) goes last.
        blanks.rotate_left(1);
        for (i, blank) in blanks {
            self.overwrite(found[i].0, |field| blank_span(field, &blank))?;
        }
        self.file.sync()
    }

    /// Overwrites, in the row of message `i`, the part of its text field
    /// that `span` picks (in the field as stored), unless erased already.
    fn overwrite(&mut self, i: usize, span: impl Fn(&str) -> Option<std::ops::Range<usize>>) -> Result<()> {
        let at = self.rows_at[i];
        let path = self.file.path().to_path_buf();
        let failed = |what: &str, e: std::io::Error| Error::io(format!("{} ({what})", path.display()), e);
        let Some(line) = self.row_line(at)? else { return Ok(()) };
        let start = field_start(&line, TEXT_FIELD);
        let field = &line[start..];
        let Some(range) = span(field) else { return Ok(()) };
        if range.is_empty() || is_erased(&field[range.clone()]) {
            return Ok(()); // erased already
        }
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| failed("open", e))?;
        file.seek(SeekFrom::Start(at + (start + range.start) as u64)).map_err(|e| failed("seek", e))?;
        file.write_all(filler(range.len()).as_bytes()).map_err(|e| failed("write", e))?;
        // What memory holds of the text goes too: it reads as the file
        // now does (a stand-in stays one).
        if i + TEXTS_IN_MEMORY >= self.messages.len() {
            let row = self.file.row_at(at)?;
            self.messages[i].text = Text::parse(row.get(TEXT_FIELD).unwrap_or_default())
                .unwrap_or_else(|_| action::deleted_text());
        }
        Ok(())
    }

    /// The text field, as stored, of message `i`'s row.
    fn row_text(&self, i: usize) -> Result<Option<String>> {
        let line = self.row_line(self.rows_at[i])?;
        Ok(line.map(|l| l[field_start(&l, TEXT_FIELD)..].to_string()))
    }

    /// The row starting at byte `at` of the file, without its `\n`.
    fn row_line(&self, at: u64) -> Result<Option<String>> {
        let path = self.file.path();
        let failed = |e: std::io::Error| Error::io(format!("{} (read)", path.display()), e);
        let mut file = std::fs::File::open(path).map_err(failed)?;
        file.seek(SeekFrom::Start(at)).map_err(failed)?;
        let mut line = Vec::new();
        // A row is at most a few KiB (a 4 KiB text escaped).
        std::io::BufReader::new(file).read_until(b'\n', &mut line).map_err(failed)?;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(String::from_utf8(line).ok())
    }
}

/// A message's conversation, the same seen from either side: a room, or
/// the two people of a direct chat (every message here is the owner's).
fn conversation(m: &Message) -> (String, String) {
    match &m.to {
        Chat::Room(room) => (fold(room), String::new()),
        Chat::User(to) => {
            let (a, b) = (fold(&m.from), fold(to));
            if a <= b { (a, b) } else { (b, a) }
        }
    }
}
