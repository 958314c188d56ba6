//! The log: every record, appended in order, in segment files.
//!
//! ```text
//! data/log/00000000000000000000.csv   records at positions 0 .. 67,108,912
//! data/log/00000000000067108912.csv   records from position 67,108,912 on
//! ```
//!
//! A segment is a CSV file: the header line [`LOG_HEADER`], then records,
//! one per line. A segment of an older format's header
//! ([`OLDER_LOG_HEADER`], as long) is read as well, and given the
//! current header when the log opens: a build older than the format
//! marker then refuses the directory (`store::format`, format 4). Its name is the position of its first record: positions
//! count the bytes of records only (not the header lines), as if the
//! segments were one file, so a position says which segment holds a record
//! and where (`offset = position − base + header`), and the committer can
//! start a new segment between any two batches without anyone else knowing.
//!
//! Why segments: retention (`--retain-days`) removes whole old segments
//! instead of rewriting a file of gigabytes, and no file grows without end.
//!
//! Crash rules: a record is one line, so a crash can tear only the last
//! line of the last segment, which [`Log::open`] cuts off (it was never
//! acknowledged: `OK` waits for the sync). A segment is synced before the
//! next one is started, and a new segment's directory entry is synced
//! before anything in it is acknowledged.
//!
//! Here: opening the log, reading records back by position, scanning it at
//! a start, retention. The writing end, [`LogWriter`], is in `writer.rs`;
//! the tests in `tests.rs`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::disk::{Disk, ReadAt, SyncPoint};
use super::record::{LOG_HEADER, OLDER_LOG_HEADER, Pos, Record};
use crate::error::{Error, Result};

mod writer;
pub use writer::LogWriter;

/// Length of a segment's header line, `\n` included.
const HEADER_LEN: u64 = LOG_HEADER.len() as u64 + 1;

/// Bytes read at once when a record's length is not known: most records
/// (a 100-byte text) fit; a longer one takes a second read.
const FIRST_READ: usize = 512;

/// What a refused start says to do about a damaged segment.
const REPAIR_HINT: &str =
    "`wachat users check --repair` (server stopped) sets the damaged line aside and keeps the other records";

/// A record is never longer than this (a 4,096-byte text fully escaped,
/// then quoted, plus its fields): a longer "line" is a corrupt file.
pub const MAX_LINE: usize = 20 * 1024;

/// Blank lines passed over when reading the record at a position, so that
/// a stray blank line loses no message. A record never begins with `\n`,
/// so a position that finds an empty line there is one that a blank line
/// inserted before it (a stray newline typed into the newest segment)
/// moved a byte on: its record is on the next line. Every link and inbox
/// position after the blank line lands so, and without this each read
/// would fall on the damage path, which finds the message *before* the
/// one wanted: 20 of 40 messages after the blank line would be lost to
/// `HISTORY`. A few, not all: a longer run of blank lines moves later
/// records into the middle of others, which only
/// `wachat users check --repair` puts back.
pub const BLANK_LINES_PASSED: usize = 4;

/// Which header a segment begins with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// [`LOG_HEADER`].
    Current,
    /// [`OLDER_LOG_HEADER`], of formats 2 and 3.
    Older,
}

impl Header {
    /// The header a segment's first line (`\n` included) is, if either.
    pub fn of(first_line: &[u8]) -> Option<Header> {
        let (line, end) = first_line.split_at(first_line.len().saturating_sub(1));
        match (line, end) {
            (line, b"\n") if line == LOG_HEADER.as_bytes() => Some(Header::Current),
            (line, b"\n") if line == OLDER_LOG_HEADER.as_bytes() => Some(Header::Older),
            _ => None,
        }
    }
}

/// One segment file.
struct Segment {
    /// Position of its first record.
    base: Pos,
    path: PathBuf,
    reader: Arc<dyn ReadAt>,
    /// Timestamp of its newest record (0: not known yet), for retention.
    newest_ts: AtomicU64,
}

impl Segment {
    fn offset(&self, pos: Pos) -> u64 {
        pos - self.base + HEADER_LEN
    }
}

/// The segments, for reading (any thread) and for the writer's bookkeeping.
pub struct Log {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    /// Oldest first. Readers take the lock only to find a segment.
    segments: RwLock<Vec<Arc<Segment>>>,
}

fn segment_name(base: Pos) -> String {
    format!("{base:020}.csv")
}

impl Log {
    /// Opens the log in `dir` (creating it with an empty first segment if
    /// needed), cuts a torn last line, and checks that the segments follow
    /// each other. Returns the log and its writer.
    pub fn open(disk: Arc<dyn Disk>, dir: &Path, segment_size: u64) -> Result<(Arc<Log>, LogWriter)> {
        let ctx = |what: &str| format!("store: {} ({what})", dir.display());
        if !disk.exists(dir) {
            disk.create_dir_all(dir).map_err(|e| Error::io(ctx("create"), e))?;
            disk.sync_dir(super::disk::parent(dir), SyncPoint::DataDir)
                .map_err(|e| Error::io(ctx("sync"), e))?;
        }
        let mut bases: Vec<Pos> = Vec::new();
        for name in disk.list(dir).map_err(|e| Error::io(ctx("list"), e))? {
            match name.strip_suffix(".csv").and_then(|n| n.parse().ok()) {
                Some(base) => bases.push(base),
                None => log::warn!("store: {}: ignoring {name}, which is not a log segment", dir.display()),
            }
        }
        bases.sort_unstable();
        let log =
            Arc::new(Log { disk: disk.clone(), dir: dir.to_path_buf(), segments: RwLock::new(Vec::new()) });
        if bases.is_empty() {
            let writer = log.create_segment(0, segment_size)?;
            return Ok((log, writer));
        }
        let last = *bases.last().expect("not empty");
        let mut segments = Vec::new();
        let mut older = Vec::new();
        let mut expected = bases[0];
        for &base in &bases {
            let path = dir.join(segment_name(base));
            if base != expected {
                let reason = format!(
                    "the previous segment ends at position {expected}: records are missing or a line was \
                     added; {REPAIR_HINT}"
                );
                return Err(Error::Corrupt { path, line: 0, reason });
            }
            let (len, header) = if base == last { log.repair_last(&path)? } else { log.check_sealed(&path)? };
            if header == Header::Older {
                older.push(path.clone());
            }
            let reader =
                disk.open_read(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
            segments.push(Arc::new(Segment { base, path, reader, newest_ts: AtomicU64::new(0) }));
            expected = base + (len - HEADER_LEN);
        }
        *log.segments.write() = segments;
        log.mark_headers(&older)?;
        let path = dir.join(segment_name(last));
        let file = disk.open_append(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
        let writer = LogWriter { log: log.clone(), file, base: last, end: expected, segment_size };
        Ok((log, writer))
    }

    /// Makes a new log in `dir`, which holds no segment, whose first
    /// record will be at `base`: a cluster node's copy of a log whose
    /// beginning retention removed (`store::local::seed`).
    pub fn create_at(
        disk: Arc<dyn Disk>,
        dir: &Path,
        base: Pos,
        segment_size: u64,
    ) -> Result<(Arc<Log>, LogWriter)> {
        let ctx = |what: &str| format!("store: {} ({what})", dir.display());
        disk.create_dir_all(dir).map_err(|e| Error::io(ctx("create"), e))?;
        if disk.list(dir).map_err(|e| Error::io(ctx("list"), e))?.iter().any(|n| n.ends_with(".csv")) {
            return Err(Error::Usage(format!("{}: a log is there already", dir.display())));
        }
        let log = Arc::new(Log { disk, dir: dir.to_path_buf(), segments: RwLock::new(Vec::new()) });
        let writer = log.create_segment(base, segment_size)?;
        Ok((log, writer))
    }

    /// The last segment: cuts a torn last line (or a torn header: a crash
    /// while it was being started). Returns its length and its header.
    fn repair_last(&self, path: &Path) -> Result<(u64, Header)> {
        let ctx = |e| Error::io(format!("store: {}", path.display()), e);
        let reader = self.disk.open_read(path).map_err(ctx)?;
        let len = reader.len().map_err(ctx)?;
        let keep = complete_length(reader.as_ref(), len).map_err(ctx)?;
        if keep < HEADER_LEN {
            // Started but its header never fully written: start it again.
            log::warn!("store: {}: a segment begun by a crash, written again", path.display());
            let mut file = self.disk.open_append(path).map_err(ctx)?;
            file.truncate(0).map_err(ctx)?;
            file.append(format!("{LOG_HEADER}\n").as_bytes()).map_err(ctx)?;
            file.sync(SyncPoint::SegmentSeal).map_err(ctx)?;
            return Ok((HEADER_LEN, Header::Current));
        }
        let header = self.check_header(path, reader.as_ref())?;
        if keep < len {
            log::warn!(
                "store: {}: dropped a torn last line ({} bytes) left by a crash",
                path.display(),
                len - keep
            );
            let mut file = self.disk.open_append(path).map_err(ctx)?;
            file.truncate(keep).map_err(ctx)?;
        }
        Ok((keep, header))
    }

    /// A segment before the last: it was synced whole before the next one
    /// began, so it must end with a complete line. Returns its length and
    /// its header.
    fn check_sealed(&self, path: &Path) -> Result<(u64, Header)> {
        let ctx = |e| Error::io(format!("store: {}", path.display()), e);
        let reader = self.disk.open_read(path).map_err(ctx)?;
        let len = reader.len().map_err(ctx)?;
        let header = self.check_header(path, reader.as_ref())?;
        if complete_length(reader.as_ref(), len).map_err(ctx)? != len {
            let reason = format!(
                "the segment ends in the middle of a line, and it is not the last one; {REPAIR_HINT}"
            );
            return Err(Error::Corrupt { path: path.to_path_buf(), line: 0, reason });
        }
        Ok((len, header))
    }

    fn check_header(&self, path: &Path, reader: &dyn ReadAt) -> Result<Header> {
        let mut first = vec![0; HEADER_LEN as usize];
        let n =
            reader.read_at(&mut first, 0).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
        Header::of(&first[..n]).ok_or_else(|| {
            let reason = format!("expected the header {LOG_HEADER:?}");
            Error::Corrupt { path: path.to_path_buf(), line: 1, reason }
        })
    }

    /// Gives each segment of `older` the current header, in place (as long
    /// as the older one: no record moves) and synced. A crash part way
    /// leaves segments of both headers, which the next start reads alike
    /// and finishes.
    fn mark_headers(&self, older: &[PathBuf]) -> Result<()> {
        for path in older {
            self.disk
                .write_at(path, 0, LOG_HEADER.as_bytes())
                .map_err(|e| Error::io(format!("store: {} (its header)", path.display()), e))?;
        }
        if !older.is_empty() {
            log::info!(
                "store: {}: the header of {} segments is the current one now ({LOG_HEADER:?}, data format 4)",
                self.dir.display(),
                older.len()
            );
        }
        Ok(())
    }

    /// Creates the segment starting at `base` and makes it durable: its
    /// header synced, then its directory entry.
    fn create_segment(self: &Arc<Log>, base: Pos, segment_size: u64) -> Result<LogWriter> {
        let path = self.dir.join(segment_name(base));
        let ctx = |e| Error::io(format!("store: {}", path.display()), e);
        let mut file = self.disk.open_append(&path).map_err(ctx)?;
        if !file.is_empty() {
            file.truncate(0).map_err(ctx)?; // left by a crash in the middle of a roll
        }
        // Its header needs no sync of its own: the first batch's sync
        // covers it, and a crash before that leaves an empty or torn
        // header, which `repair_last` writes again. Its name does.
        file.append(format!("{LOG_HEADER}\n").as_bytes()).map_err(ctx)?;
        self.disk.sync_dir(&self.dir, SyncPoint::SegmentDir).map_err(ctx)?;
        let reader = self.disk.open_read(&path).map_err(ctx)?;
        self.segments.write().push(Arc::new(Segment { base, path, reader, newest_ts: AtomicU64::new(0) }));
        Ok(LogWriter { log: self.clone(), file, base, end: base, segment_size })
    }

    /// The position of the oldest record still kept (retention removes
    /// older segments).
    pub fn start(&self) -> Pos {
        self.segments.read().first().map_or(0, |s| s.base)
    }

    fn segment_of(&self, pos: Pos) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let i = segments.partition_point(|s| s.base <= pos);
        (i > 0).then(|| segments[i - 1].clone())
    }

    /// Overwrites bytes of an already written record in place, from the
    /// log position `pos` (a record's position plus an offset in its
    /// line); the record keeps its length, so no position moves. Only
    /// `store::local::erase` does this, to take a deleted text off the disk.
    pub fn overwrite(&self, pos: Pos, bytes: &[u8]) -> io::Result<()> {
        let segment = self
            .segment_of(pos)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "removed by retention"))?;
        self.disk.write_at(&segment.path, segment.offset(pos), bytes)
    }

    /// Whether a line of the log begins at `pos`: the first record of its
    /// segment, or the byte before it ends a line. A position that a
    /// client hands back (a page's cursor, `store::local::reads`) is read
    /// only if so: from the middle of a record, a text could be taken
    /// for a record of someone else's conversation. `false` if that
    /// segment was removed by retention.
    pub fn is_line_start(&self, pos: Pos) -> io::Result<bool> {
        let Some(segment) = self.segment_of(pos) else { return Ok(false) };
        if pos == segment.base {
            return Ok(true);
        }
        let mut byte = [0u8; 1];
        let n = segment.reader.read_at(&mut byte, segment.offset(pos - 1))?;
        Ok(n == 1 && byte[0] == b'\n')
    }

    /// The line of the record at `pos`, without its `\n`. `None` if that
    /// segment was removed by retention. Only for positions already written.
    /// Blank lines at `pos` are passed over ([`BLANK_LINES_PASSED`]).
    pub fn read_line(&self, mut pos: Pos) -> io::Result<Option<String>> {
        for _ in 0..BLANK_LINES_PASSED {
            match self.read_line_at(pos)? {
                Some(line) if line.is_empty() => pos += 1,
                line => return Ok(line),
            }
        }
        self.read_line_at(pos)
    }

    /// The line that begins at `pos` exactly, blank or not.
    fn read_line_at(&self, pos: Pos) -> io::Result<Option<String>> {
        let Some(segment) = self.segment_of(pos) else { return Ok(None) };
        let offset = segment.offset(pos);
        let mut buf = vec![0u8; FIRST_READ];
        let mut have = 0;
        loop {
            let n = segment.reader.read_at(&mut buf[have..], offset + have as u64)?;
            if let Some(i) = buf[have..have + n].iter().position(|&b| b == b'\n') {
                buf.truncate(have + i);
                return String::from_utf8(buf)
                    .map(Some)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a record is not UTF-8"));
            }
            have += n;
            if n == 0 || have >= MAX_LINE {
                let why = format!("{}: no whole record at position {pos}", segment.path.display());
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
            if have == buf.len() {
                buf.resize(buf.len() * 4, 0);
            }
        }
    }

    /// Reads up to `len` bytes of records into `buf`, starting `back` bytes
    /// before `pos` (not before the first record of `pos`'s segment), for
    /// readers that want records near `pos`. Returns the position of
    /// `buf[0]` and how many bytes were read; `None` if that segment was
    /// removed by retention. (`buf` is grown, never shrunk: zeroing it
    /// again for every read would cost more than the read.)
    pub fn read_block(
        &self,
        pos: Pos,
        back: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> io::Result<Option<(Pos, usize)>> {
        let Some(segment) = self.segment_of(pos) else { return Ok(None) };
        let start = pos.saturating_sub(back).max(segment.base);
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let mut have = 0;
        while have < len {
            match segment.reader.read_at(&mut buf[have..len], segment.offset(start) + have as u64)? {
                0 => break,
                n => have += n,
            }
        }
        Ok(Some((start, have)))
    }

    /// Calls `each(position, line)` on every record from `from` to the end,
    /// in order. Blank lines are skipped with a warning.
    pub fn scan(
        &self,
        from: Pos,
        mut each: impl FnMut(Pos, &str) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        for (i, segment) in segments.iter().enumerate() {
            let end = segments.get(i + 1).map(|s| s.base);
            if end.is_some_and(|end| end <= from) {
                continue;
            }
            self.scan_segment(segment, from.max(segment.base), &mut each)?;
        }
        Ok(())
    }

    fn scan_segment(
        &self,
        segment: &Segment,
        from: Pos,
        each: &mut dyn FnMut(Pos, &str) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let path = &segment.path;
        let ctx = |e| Error::io(format!("store: {}", path.display()), e);
        let len = segment.reader.len().map_err(ctx)?;
        let mut offset = segment.offset(from);
        let mut buf = vec![0u8; 1 << 20];
        let mut have = 0usize;
        // Line numbers are known only when reading from the start.
        let mut line_no = if from == segment.base { 2 } else { 0 };
        while offset + (have as u64) < len || have > 0 {
            let want = (buf.len() - have).min((len - offset - have as u64) as usize);
            let n = segment.reader.read_at(&mut buf[have..have + want], offset + have as u64).map_err(ctx)?;
            have += n;
            let mut start = 0;
            while let Some(i) = buf[start..have].iter().position(|&b| b == b'\n') {
                let line = &buf[start..start + i];
                let pos = segment.base + offset + start as u64 - HEADER_LEN;
                let corrupt = |reason: String| Error::Corrupt {
                    path: path.clone(),
                    line: line_no,
                    reason: format!("{reason}; {REPAIR_HINT}"),
                };
                if line.iter().all(|&b| b == b'\r' || b == b' ') {
                    log::warn!("store: {}: skipped a blank line at position {pos}", path.display());
                } else {
                    let line = std::str::from_utf8(line).map_err(|_| corrupt("not UTF-8".into()))?;
                    each(pos, line).map_err(|reason| match Record::newer_kind(line) {
                        // Not damage: no repair is advised, which would set it aside.
                        Some(kind) => Error::Corrupt {
                            path: path.clone(),
                            line: line_no,
                            reason: format!(
                                "position {pos}: a record of a kind this wachat does not know ({kind}): a \
                                 newer wachat wrote it; run that one on this directory, or restore the \
                                 backup made before it"
                            ),
                        },
                        None => corrupt(format!("position {pos}: {reason}")),
                    })?;
                }
                if line_no > 0 {
                    line_no += 1;
                }
                start += i + 1;
            }
            if start == 0 && (have == buf.len() || n == 0) {
                let reason = "a line without its end (or longer than any record)".into();
                return Err(Error::Corrupt { path: path.clone(), line: line_no, reason });
            }
            buf.copy_within(start..have, 0);
            have -= start;
            offset += start as u64;
        }
        Ok(())
    }

    /// The timestamp of a segment's newest record (0 if it has none).
    fn newest_ts(&self, segment: &Segment, end: Pos) -> u64 {
        let known = segment.newest_ts.load(Ordering::Relaxed);
        if known > 0 || end <= segment.base {
            return known;
        }
        let len = end - segment.base + HEADER_LEN;
        let ts = last_line_start(segment.reader.as_ref(), len - 1)
            .ok()
            .and_then(|start| self.read_line(segment.base + start - HEADER_LEN).ok().flatten())
            .and_then(|line| line.split(',').nth(1).and_then(|ts| ts.parse().ok()))
            .unwrap_or(0);
        segment.newest_ts.store(ts, Ordering::Relaxed);
        ts
    }

    /// Where the log would start if [`Log::remove_old`] ran with these
    /// arguments now (its start if nothing would go): what retention
    /// looks at before it removes (`store::budget` gives the bytes back).
    pub fn removable_end(&self, keep_from: Pos, older_than_ms: u64) -> Pos {
        let segments = self.segments.read();
        let mut end = segments.first().map_or(0, |s| s.base);
        for pair in segments.windows(2) {
            if pair[1].base > keep_from || self.newest_ts(&pair[0], pair[1].base) >= older_than_ms {
                break;
            }
            end = pair[1].base;
        }
        end
    }

    /// Calls `each(position, line)` on every record of the segments that
    /// end at or before `end` (whole segments, as retention removes them).
    pub fn scan_before(
        &self,
        end: Pos,
        mut each: impl FnMut(Pos, &str) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        for pair in segments.windows(2).take_while(|pair| pair[1].base <= end) {
            self.scan_segment(&pair[0], pair[0].base, &mut each)?;
        }
        Ok(())
    }

    /// Removes the oldest segments that end at or before `keep_from` and
    /// whose newest record is older than `older_than_ms`; never the last
    /// one. Returns the new start of the log.
    pub fn remove_old(&self, keep_from: Pos, older_than_ms: u64) -> Result<Pos> {
        self.remove_before(self.removable_end(keep_from, older_than_ms))
    }

    /// Removes the segments that end at or before `end` (never the last
    /// one). Returns the new start of the log.
    pub fn remove_before(&self, end: Pos) -> Result<Pos> {
        let removable: Vec<Arc<Segment>> = {
            let segments = self.segments.read();
            segments.windows(2).take_while(|pair| pair[1].base <= end).map(|pair| pair[0].clone()).collect()
        };
        if removable.is_empty() {
            return Ok(self.start());
        }
        // First out of the list (new readers stop before it), then off the disk.
        self.segments.write().drain(..removable.len());
        for segment in &removable {
            self.disk
                .remove(&segment.path)
                .map_err(|e| Error::io(format!("store: {} (remove)", segment.path.display()), e))?;
            log::info!("store: removed {} (every record older than --retain-days)", segment.path.display());
        }
        self.disk
            .sync_dir(&self.dir, SyncPoint::SegmentDir)
            .map_err(|e| Error::io(format!("store: {}", self.dir.display()), e))?;
        Ok(self.start())
    }

    /// Number of segments (for tests and the log).
    pub fn segment_count(&self) -> usize {
        self.segments.read().len()
    }
}

/// Length of the content up to and including its last `\n`.
fn complete_length(reader: &dyn ReadAt, len: u64) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    match last_line_start(reader, len) {
        Ok(start) if start > 0 => Ok(start),
        Ok(_) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Offset just after the last `\n` before `end` (0 if none).
fn last_line_start(reader: &dyn ReadAt, end: u64) -> io::Result<u64> {
    let mut end = end;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        let n = reader.read_at(part, start)?;
        if let Some(i) = part[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests;
