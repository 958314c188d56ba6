//! The discipline of an append-only CSV log, shared by the server's store
//! and the client's local files: every record is one line (texts stay
//! escaped, as on the wire), so a crash can only tear the *last* line, and
//! whatever follows the last `\n` was never synced and can be dropped.
//!
//! Nothing is skipped silently: a blank line in the middle of a file (which
//! no writer of ours makes) is passed over with a warning naming the file
//! and the line, so that an operator hears of a file edited by hand or
//! damaged.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Length of the file up to and including its last `\n`, reading backwards
/// from its end in chunks (a large file is never read whole).
pub fn complete_length(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// True if the file at `path` starts with the line `header` (and its `\n`).
pub fn starts_with_line(path: &Path, header: &str) -> io::Result<bool> {
    let expected = format!("{header}\n");
    let mut first = vec![0; expected.len()];
    let n = File::open(path)?.read(&mut first)?;
    Ok(first[..n] == *expected.as_bytes())
}

/// Why [`read_rows`] stopped.
#[derive(Debug)]
pub enum RowError {
    /// The file could not be opened.
    Open(io::Error),
    /// Line `0`'s record is bad (or `each` refused it), for the reason given.
    Row(u64, String),
}

impl RowError {
    /// The crate's error for a file at `path`.
    pub fn into_error(self, path: &Path) -> crate::error::Error {
        match self {
            RowError::Open(e) => crate::error::Error::io(format!("store: {}", path.display()), e),
            RowError::Row(line, reason) => {
                crate::error::Error::Corrupt { path: path.to_path_buf(), line, reason }
            }
        }
    }
}

/// Calls `each` on every row after the header line, in order; warns about
/// blank lines.
pub fn read_rows(
    path: &Path,
    each: impl FnMut(&csv::StringRecord) -> Result<(), String>,
) -> Result<(), RowError> {
    let file = File::open(path).map_err(RowError::Open)?;
    rows_of(path, io::BufReader::new(file), each)
}

/// [`read_rows`] on a file already read into memory, which must start
/// with the line `header` (a missing or empty file is just its header).
pub fn read_rows_from(
    path: &Path,
    bytes: &[u8],
    header: &str,
    each: impl FnMut(&csv::StringRecord) -> Result<(), String>,
) -> Result<(), RowError> {
    if bytes.is_empty() {
        return Ok(());
    }
    if !bytes.starts_with(format!("{header}\n").as_bytes()) {
        return Err(RowError::Row(1, format!("expected the header {header:?}")));
    }
    rows_of(path, bytes, each)
}

fn rows_of(
    path: &Path,
    reader: impl io::Read,
    mut each: impl FnMut(&csv::StringRecord) -> Result<(), String>,
) -> Result<(), RowError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let mut row = csv::StringRecord::new();
    reader.headers().map_err(|e| RowError::Row(1, e.to_string()))?;
    // The csv reader passes over empty lines by itself, counting them in
    // the span of the row that follows: a one-line row that spans more
    // than one line tells of them.
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let at = reader.position().line().saturating_sub(1).max(line);
                if at > line {
                    log::warn!("{}: skipped {} blank line(s) before line {at}", path.display(), at - line);
                }
                each(&row).map_err(|reason| RowError::Row(at, reason))?
            }
            Err(e) => return Err(RowError::Row(line, e.to_string())),
        }
    }
}

/// Where field number `n` (from 0) starts in a CSV line whose first `n`
/// fields hold no comma and no quote (names, ids, numbers): after its
/// `n`-th comma.
pub fn field_start(line: &str, n: usize) -> usize {
    match n {
        0 => 0,
        _ => line.match_indices(',').nth(n - 1).map_or(line.len(), |(i, _)| i + 1),
    }
}

/// Erasing a deleted text in place (protocol 1.2's `DELETE`; the server's
/// log, `store::local::erase`, and the client's `history.csv`): `len` bytes that
/// say the text was deleted, `(message deleted)` then spaces, or dashes
/// if shorter. They hold no CSV quote nor comma, so they may replace a
/// whole field, its quotes included, and the line keeps its length.
pub fn filler(len: usize) -> String {
    const DELETED: &str = crate::protocol::action::DELETED;
    let mut out = if len >= DELETED.len() { DELETED.to_string() } else { "-".repeat(len) };
    while out.len() < len {
        out.push(' ');
    }
    out
}

/// In a reply's text field as stored (escaped as on the wire, maybe in
/// CSV quotes), the bytes of the text quoted on its first line `quote`
/// (`> ana: hello`): after `> ana: `, up to the end of that line.
pub fn quoted_span(field: &str, quote: &str) -> Option<std::ops::Range<usize>> {
    let escaped = crate::protocol::Text::from_plain(quote).ok()?.as_escaped().to_string();
    let (offset, stored) = match field.strip_prefix('"') {
        Some(_) => (1, escaped.replace('"', "\"\"")),
        None => (0, escaped),
    };
    let rest = field.get(offset..)?;
    if !rest.starts_with(&stored) || !rest[stored.len()..].starts_with("\\n") {
        return None;
    }
    let prefix = stored.find(": ")? + 2;
    Some(offset + prefix..offset + stored.len())
}

/// In a text field as stored (escaped, maybe in CSV quotes), the bytes
/// that `blank` (`protocol::erase`, the rule) erases: the whole field,
/// a reply's quoted words, or a reaction's end. A reaction's words
/// before its end are plain (an emoji, names), so they are stored as
/// the text reads.
pub fn blank_span(field: &str, blank: &crate::protocol::erase::Blank) -> Option<std::ops::Range<usize>> {
    use crate::protocol::erase::Blank;
    match blank {
        Blank::Whole => Some(0..field.len()),
        Blank::Quote(quote) => quoted_span(field, quote),
        Blank::Tail(at) => {
            let offset = usize::from(field.starts_with('"'));
            let end = field.len() - offset; // before a closing quote
            (offset + at <= end).then_some(offset + at..end)
        }
    }
}

#[cfg(test)]
mod erase_tests {
    use super::*;

    #[test]
    fn the_filler_keeps_the_length_and_reads_as_deleted() {
        assert_eq!(filler(20), "(message deleted)   ");
        assert_eq!(filler(3), "---");
        assert_eq!(filler(0), "");
        assert_eq!(field_start("a,b,c", 2), 4);
    }

    #[test]
    fn a_replys_quote_is_found_as_stored() {
        let quote = "> ana: hi, \"you\"";
        let field = "\"> ana: hi, \"\"you\"\"\\nyes\"";
        let range = quoted_span(field, quote).unwrap();
        assert_eq!(&field[range], "hi, \"\"you\"\"");
        assert_eq!(quoted_span("> ana: hello\\nyes", "> ana: hello").map(|r| r.len()), Some(5));
        assert_eq!(quoted_span("> ana: other\\nyes", "> ana: hello"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_after_the_header_and_blank_lines_passed_over() {
        let mut seen = Vec::new();
        let bytes = b"a,b\n1,2\n\n3,4\n";
        read_rows_from(Path::new("x.csv"), bytes, "a,b", |r| {
            seen.push(r[0].to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["1", "3"]);
        let err = read_rows_from(Path::new("x.csv"), bytes, "a,b", |r| {
            if &r[0] == "3" { Err("three".into()) } else { Ok(()) }
        });
        assert!(matches!(err, Err(RowError::Row(4, _))), "the line as an editor numbers it");
        let err = read_rows_from(Path::new("x.csv"), b"c,d\n", "a,b", |_| Ok(())).unwrap_err();
        assert!(matches!(err, RowError::Row(1, _)));
        let err =
            read_rows_from(Path::new("x.csv"), bytes, "a,b", |r| Err(format!("no {}", &r[0]))).unwrap_err();
        assert!(matches!(err, RowError::Row(2, ref why) if why == "no 1"));
    }
}
