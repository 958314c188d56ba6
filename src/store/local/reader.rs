//! [`RecordReader`]: the records of one reply, read from the log by position a
//! block at a time, or from memory for those not written yet. What
//! `HISTORY`, the inbox replay (`reads.rs`, `stretch.rs`), `SEARCH` and the
//! eraser read records with.

use std::sync::Arc;

use super::Inner;
use crate::protocol::{Code, Ko};
use crate::store::log::BLANK_LINES_PASSED;
use crate::store::record::Pos;

/// Bytes read from the log at once when the records wanted are near each
/// other (a conversation going on alone): one read of 64 KiB gives ~300
/// records of 200 bytes.
const BLOCK: usize = 64 * 1024;

/// Bytes read for one record when the records wanted are far apart (many
/// conversations interleaved, ~37 KB apart in the bench's data): reading
/// 64 KiB blocks there copies mostly other conversations' records for
/// nothing (`examples/history_cost.rs`: p50 0.82 ms for `HISTORY:1000`
/// either way on a quiet page cache, but 64 KiB of copying per line).
const SMALL: usize = 1024;

/// Two records this close are "near" (see [`BLOCK`]).
const NEAR: u64 = 4096;

pub(in crate::store) fn read_failed(pos: Pos, e: impl std::fmt::Display) -> Ko {
    log::error!("store: reading the record at position {pos}: {e}");
    Ko::new(Code::Internal, "the server could not read its log; see its log")
}

/// Reads the records of one reply by position, a block at a time (see
/// [`BLOCK`]); records not written yet come from memory.
pub(in crate::store) struct RecordReader {
    inner: Arc<Inner>,
    block: Vec<u8>,
    /// Bytes of `block` read from the log (the rest is left over).
    filled: usize,
    /// Position of `block[0]`.
    start: Pos,
    /// A record that was not in the block (in memory, or longer than it).
    single: String,
    /// The position asked for last: how far apart the records are.
    last: Option<Pos>,
    /// Records before this are on disk: no need to look in memory (and
    /// take the lock the requests and the committer use) for them.
    on_disk: Pos,
}

impl RecordReader {
    pub(in crate::store) fn new(inner: Arc<Inner>) -> RecordReader {
        let on_disk = inner.synced();
        RecordReader {
            inner,
            block: Vec::new(),
            filled: 0,
            start: 0,
            single: String::new(),
            last: None,
            on_disk,
        }
    }

    /// The line of the record at `pos` (`None`: removed by retention).
    /// `backward`: the next record wanted is probably before this one.
    /// Blank lines at `pos` are passed over, as the log's own reader does
    /// (`log::BLANK_LINES_PASSED`): the record is the next line.
    pub(in crate::store) fn line(&mut self, mut pos: Pos, backward: bool) -> Result<Option<&str>, Ko> {
        for _ in 0..BLANK_LINES_PASSED {
            match self.line_at(pos, backward)? {
                Some("") => pos += 1, // `wachat users check` names the line
                _ => break,
            }
        }
        self.line_at(pos, backward)
    }

    /// The line that begins at `pos` exactly, blank or not.
    fn line_at(&mut self, pos: Pos, backward: bool) -> Result<Option<&str>, Ko> {
        let near = self.last.is_some_and(|last| last.abs_diff(pos) <= NEAR);
        self.last = Some(pos);
        if self.cached(pos).is_none() {
            if pos >= self.on_disk
                && let Some(line) = self.inner.pending.lock().line_at(pos)
            {
                self.single = line;
                return Ok(Some(&self.single));
            }
            let (back, len) = match (near, backward) {
                (true, true) => ((BLOCK - 2048) as u64, BLOCK),
                (true, false) => (0, BLOCK),
                (false, _) => (0, SMALL),
            };
            let log = &self.inner.log;
            match log.read_block(pos, back, len, &mut self.block).map_err(|e| read_failed(pos, e))? {
                Some((start, filled)) => (self.start, self.filled) = (start, filled),
                None => return Ok(None),
            }
        }
        match self.cached(pos) {
            Some((from, to)) => {
                std::str::from_utf8(&self.block[from..to]).map(Some).map_err(|e| read_failed(pos, e))
            }
            None => {
                // Longer than what is left of the block: read on its own.
                let line = self.inner.log.read_line(pos).map_err(|e| read_failed(pos, e))?;
                let Some(line) = line else { return Ok(None) };
                self.single = line;
                Ok(Some(&self.single))
            }
        }
    }

    /// Where the line at `pos` is in the block, if it is there whole.
    fn cached(&self, pos: Pos) -> Option<(usize, usize)> {
        let from = usize::try_from(pos.checked_sub(self.start)?).ok()?;
        let rest = self.block[..self.filled].get(from..)?;
        let end = rest.iter().position(|&b| b == b'\n')?;
        Some((from, from + end))
    }
}
