//! The discipline of an append-only CSV log, shared by the server's store
//! and the client's local files: every record is one line (texts stay
//! escaped, as on the wire), so a crash can only tear the *last* line, and
//! whatever follows the last `\n` was never synced and can be dropped.

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
pub enum RowError {
    /// The file could not be opened.
    Open(io::Error),
    /// Line `0`'s record is bad (or `each` refused it), for the reason given.
    Row(u64, String),
}

/// Calls `each` on every row after the header line, in order.
pub fn read_rows(
    path: &Path,
    mut each: impl FnMut(&csv::StringRecord) -> Result<(), String>,
) -> Result<(), RowError> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| RowError::Open(e.into()))?;
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => each(&row).map_err(|reason| RowError::Row(line, reason))?,
            Err(e) => return Err(RowError::Row(line, e.to_string())),
        }
    }
}
