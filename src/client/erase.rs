//! A deleted message's text leaves `history.csv` (protocol 1.2, issue 30:
//! "a deleted text must not survive in any client's folder").
//!
//! A child of `history`, for its fields. When the log takes a `DELETE`
//! (the author's `_d…_<id>` message, or a room admin's `_x…_<id>` naming
//! the author, received or sent from here), the text
//! of the message `<id>`, of its edits and of the reactions to it, and the
//! quote of it in the replies, are overwritten in the file with a filler of
//! the same length (`csvlog::filler`), as the server does in its log: no
//! row moves, so the positions the log keeps of its rows stay right. The
//! deletion's own row is written and synced first; opening the log does
//! every erasure again (each is skipped if done), so a crash in the middle
//! still erases at the next start.

use std::io::{BufRead, Seek, SeekFrom, Write};

use super::{History, TEXTS_IN_MEMORY, key};
use crate::csvlog::{field_start, filler, quoted_span};
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::action::{Act, Action, ActionId, DELETED, quote_line};
use crate::protocol::names::fold;

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

    /// Erases `author`'s message `target` wherever this log holds its text.
    fn erase(&mut self, author: &str, target: &str) -> Result<()> {
        let Some(&original) = self.index.get(&key(author, target)) else { return Ok(()) };
        // The message itself is erased last: once it is, all is done.
        if self.row_text(original)?.is_none_or(|field| is_erased(&field)) {
            return Ok(());
        }
        let mut quotes = vec![quote_line(author, &self.whole(original).text)];
        let mut whole_rows = vec![original];
        let mut replies = Vec::new();
        for i in original + 1..self.messages.len() {
            let m = &self.messages[i];
            match ActionId::parse(&m.id) {
                Some(a) if a.target == target => {
                    let own = matches!(a.act, Act::Edit) && fold(&m.from) == fold(author);
                    if own || matches!(a.act, Act::React | Act::Unreact) {
                        if let Some(Action::Edit { text, .. }) = Action::of(&m.id, &self.whole(i).text) {
                            quotes.push(quote_line(author, &text));
                        }
                        whole_rows.push(i);
                    }
                }
                // A reply's text starts with its quote; an older text is
                // not in memory (its stand-in), so it is read back.
                None if m.text.as_escaped().starts_with("> ")
                    || i + TEXTS_IN_MEMORY < self.messages.len() =>
                {
                    replies.push(i)
                }
                _ => {}
            }
        }
        for i in replies {
            self.overwrite(i, |field| quotes.iter().find_map(|q| quoted_span(field, q)))?;
        }
        for i in whole_rows.into_iter().rev() {
            self.overwrite(i, |field| Some(0..field.len()))?;
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
        if is_erased(&field[range.clone()]) {
            return Ok(()); // erased already
        }
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| failed("open", e))?;
        file.seek(SeekFrom::Start(at + (start + range.start) as u64)).map_err(|e| failed("seek", e))?;
        file.write_all(filler(range.len()).as_bytes()).map_err(|e| failed("write", e))?;
        // What memory holds of the text goes too.
        let m = &mut self.messages[i];
        if range.start == 0 || m.text.as_escaped().len() < range.end {
            m.text = Text::parse(DELETED).expect("a valid text");
        } else if let Ok(text) = Text::parse(&format!("{}{}", &field[..range.start], &field[range.end..])) {
            m.text = text;
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

/// A text field (or part of one) the filler already replaced.
fn is_erased(part: &str) -> bool {
    part.trim_end() == DELETED || (!part.is_empty() && part.bytes().all(|b| b == b'-'))
}
