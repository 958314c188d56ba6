//! An append-only CSV file with a header, for the client's local files.
//!
//! The same discipline as the server's store (`src/csvlog.rs` holds what
//! both share), kept separate so the client never depends on server code:
//! every record is one line (texts are stored escaped, as on the wire), so
//! a crash can only tear the *last* line, which [`CsvFile::open`] drops;
//! and nothing is promised to anyone (an `ACK` to the server, a `…` to the
//! user) before [`CsvFile::sync`] has returned.

use std::fs::{DirBuilder, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::csvlog::{self, RowError};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::sys::private::Mode;

/// One append-only CSV file.
pub struct CsvFile {
    path: PathBuf,
    /// Opened for appending: every write goes to the end.
    file: File,
    /// The header line, written first in a new (or emptied) file.
    header: &'static str,
}

impl CsvFile {
    /// Opens or creates `path`, drops a torn last line, writes the header
    /// into a new file and checks it in an old one.
    pub fn open(path: PathBuf, header: &'static str) -> Result<CsvFile> {
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(super::local::DIR_MODE)
                .create(dir)
                .map_err(|e| Error::io(tr!(Msg::Creating, path = dir.display()), e))?;
        }
        // The user's conversations: readable by the owner only.
        let file = super::local::open_private(&path)
            .map_err(|e| Error::io(tr!(Msg::Opening, path = path.display()), e))?;
        let mut csv = CsvFile { path, file, header };
        csv.drop_torn_line()?;
        csv.check_header()?;
        Ok(csv)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The row that starts `offset` bytes into the file (where
    /// [`CsvFile::len`] was before it was appended, or the position the
    /// reader of [`CsvFile::rows`] gave it): one row read back, for a log
    /// that keeps only part of itself in memory.
    pub fn row_at(&self, offset: u64) -> Result<csv::StringRecord> {
        use std::io::{Seek, SeekFrom};
        let mut file = File::open(&self.path).map_err(|e| self.err("open", e))?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| self.err("seek", e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::BufReader::new(file));
        let mut row = csv::StringRecord::new();
        match reader.read_record(&mut row) {
            Ok(true) => Ok(row),
            Ok(false) => Err(self.corrupt(0, format!("no row at byte {offset}"))),
            Err(e) => Err(self.corrupt(0, e.to_string())),
        }
    }

    /// Calls `each(row, offset)` on every row from byte `offset` (a line
    /// start after the header) to the end: a start that reads only the
    /// newest part of a log (`paging.rs`).
    pub fn rows_from(
        &self,
        offset: u64,
        mut each: impl FnMut(&csv::StringRecord, u64) -> std::result::Result<(), String>,
    ) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let mut file = File::open(&self.path).map_err(|e| self.err("open", e))?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| self.err("seek", e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let mut row = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut row) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let at = offset + row.position().map_or(0, |p| p.byte());
                    each(&row, at)
                        .map_err(|reason| self.corrupt(0, format!("the row at byte {at}: {reason}")))?;
                }
                Err(e) => return Err(self.corrupt(0, e.to_string())),
            }
        }
    }

    /// The file's length now, as the disk has it (another program may have
    /// appended to it).
    pub fn len(&self) -> Result<u64> {
        Ok(self.file.metadata().map_err(|e| self.err("stat", e))?.len())
    }

    /// Cuts the file after its last `\n`: bytes after it are a record that a
    /// crash interrupted, and it was never synced, so nobody relied on it.
    fn drop_torn_line(&mut self) -> Result<()> {
        let len = self.file.metadata().map_err(|e| self.err("stat", e))?.len();
        let keep = csvlog::complete_length(&mut self.file, len).map_err(|e| self.err("read", e))?;
        if keep < len {
            log::warn!("{}: dropped a torn last line left by a crash", self.path.display());
            self.file.set_len(keep).map_err(|e| self.err("truncate", e))?;
        }
        Ok(())
    }

    fn check_header(&mut self) -> Result<()> {
        let len = self.file.metadata().map_err(|e| self.err("stat", e))?.len();
        if len == 0 {
            return self.append_and_sync(format!("{}\n", self.header).as_bytes());
        }
        let found = csvlog::starts_with_line(&self.path, self.header).map_err(|e| self.err("read", e))?;
        if !found {
            return Err(self.corrupt(1, format!("expected the header {:?}", self.header)));
        }
        Ok(())
    }

    /// Calls `each` on every row after the header, in order.
    pub fn rows(
        &self,
        each: impl FnMut(&csv::StringRecord) -> std::result::Result<(), String>,
    ) -> Result<()> {
        csvlog::read_rows(&self.path, each).map_err(|e| match e {
            RowError::Open(e) => self.err("open", e),
            RowError::Row(line, reason) => self.corrupt(line, reason),
        })
    }

    /// Appends one row. It reaches the kernel at once but the disk only at
    /// the next [`CsvFile::sync`], so that a burst of rows costs one fsync.
    pub fn append(&mut self, fields: &[&str]) -> Result<()> {
        let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        writer.write_record(fields).map_err(|e| self.err("format", e.into()))?;
        let bytes = writer.into_inner().map_err(|e| self.err("format", e.into_error()))?;
        self.file.write_all(&bytes).map_err(|e| self.err("write", e))
    }

    /// Forces every appended row to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| self.err("fsync", e))
    }

    /// Empties the file down to its header, durably.
    pub fn clear(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(|e| self.err("truncate", e))?;
        self.append_and_sync(format!("{}\n", self.header).as_bytes())
    }

    fn append_and_sync(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).map_err(|e| self.err("write", e))?;
        self.sync()
    }

    fn err(&self, what: &str, e: std::io::Error) -> Error {
        Error::io(format!("{} ({what})", self.path.display()), e)
    }

    fn corrupt(&self, line: u64, reason: String) -> Error {
        Error::Corrupt { path: self.path.clone(), line, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};

    #[test]
    fn rows_survive_reopening_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.csv");
        let mut f = CsvFile::open(path.clone(), "a,b").unwrap();
        f.append(&["1", "with, comma"]).unwrap();
        f.sync().unwrap();
        drop(f);
        // A crash in the middle of the next row.
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(b"2,tor").unwrap();
        let f = CsvFile::open(path.clone(), "a,b").unwrap();
        let mut rows = Vec::new();
        f.rows(|r| {
            rows.push((r[0].to_string(), r[1].to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, [("1".to_string(), "with, comma".to_string())]);
        assert!(CsvFile::open(path, "other").is_err(), "a wrong header is refused");
    }

    #[test]
    fn clear_keeps_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let mut f = CsvFile::open(path.clone(), "a").unwrap();
        f.append(&["1"]).unwrap();
        f.clear().unwrap();
        f.append(&["2"]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\n2\n");
    }
}
