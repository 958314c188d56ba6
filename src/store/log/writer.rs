//! The log's writing end: appends batches to the newest segment, syncs
//! them, undoes a failed write, and starts the next segment when one is
//! full. Only the thread leading a batch holds it (see `committer`).

use std::sync::Arc;

use super::{HEADER_LEN, Log, segment_name};
use crate::error::{Error, Result};
use crate::store::disk::{Appender, SyncPoint};
use crate::store::record::Pos;

/// The writing end (the committer's): appends to the newest segment.
pub struct LogWriter {
    pub(super) log: Arc<Log>,
    pub(super) file: Box<dyn Appender>,
    /// Position of the newest segment's first record.
    pub(super) base: Pos,
    /// Position after the last record written.
    pub(super) end: Pos,
    /// Start a new segment once the current one holds this many bytes.
    pub(super) segment_size: u64,
}

impl LogWriter {
    /// Position after the last record written.
    pub fn end(&self) -> Pos {
        self.end
    }

    /// Appends whole records. Starts a new segment first if the current
    /// one is full (so a batch never straddles two files).
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.end - self.base >= self.segment_size {
            self.roll()?;
        }
        let path = || self.log.dir.join(segment_name(self.base));
        self.file.append(bytes).map_err(|e| Error::io(format!("store: {} (write)", path().display()), e))?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Makes every record written so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync(SyncPoint::LogBatch).map_err(|e| {
            Error::io(format!("store: {} (fsync)", self.log.dir.join(segment_name(self.base)).display()), e)
        })
    }

    /// Cuts the log back to `end` (undoing a failed write in the newest segment).
    pub fn truncate(&mut self, end: Pos) {
        if end < self.base {
            return; // a new segment was started: the failure is in it, and it holds nothing needed
        }
        match self.file.truncate(end - self.base + HEADER_LEN) {
            Ok(()) => self.end = end,
            Err(e) => log::error!("store: {}: cannot undo a failed write: {e}", self.log.dir.display()),
        }
    }

    /// Seals the current segment (synced whole) and starts the next.
    fn roll(&mut self) -> Result<()> {
        let path = self.log.dir.join(segment_name(self.base));
        self.file
            .sync(SyncPoint::SegmentSeal)
            .map_err(|e| Error::io(format!("store: {} (fsync)", path.display()), e))?;
        let sealed = self.base;
        let next = self.log.create_segment(self.end, self.segment_size)?;
        *self = next;
        log::debug!("store: log segment {} full, started {}", segment_name(sealed), segment_name(self.base));
        Ok(())
    }
}
