//! The replay of a `Queued::Rooms` inbox entry (a flood into a room of
//! offline members costs no memory per message and member):
//! stretches of rooms' chains, which may be millions of messages long after
//! a flood, read back in log order without holding a position per message.
//!
//! A chain is linked backwards (each message names the one before it), and
//! a replay goes forwards. So each run is walked back once, noting one
//! position every [`STRIDE`] messages, and then read forward a stride at a
//! time from those anchors; the runs of an entry are merged by position,
//! which is their order in the log and the order their numbers were given.

use super::super::damage;
use super::super::record::{MsgRef, Pos};
use super::super::state::Run;
use super::Inner;
use super::committer::Goal;
use super::reader::{RecordReader, read_failed};
use crate::protocol::Ko;

/// Positions noted per run on the first walk back: one every this many
/// messages.
const STRIDE: u64 = 4096;

/// A `Queued::Rooms` entry being replayed. Each run's chain is walked
/// back once, noting every [`STRIDE`]th position; then read forward a
/// stride at a time, the runs merged in log order. So a replay holds
/// n / 4096 positions and one stride per run, not the n positions of a
/// flood, however long (190 members coming back at once after attack 1).
pub(super) struct Stretch {
    runs: Vec<RunWalk>,
    /// Events not found (a damaged record broke a chain): they keep their
    /// numbers, first, and are left out.
    missing: u64,
    /// Events acknowledged still to pass.
    done: u64,
    /// The number of the next event, and of the entry's last.
    seq: u64,
    pub(super) last: u64,
}

/// One run of a [`Stretch`].
struct RunWalk {
    /// `anchors[k]`: the message `k * STRIDE` back from the head.
    anchors: Vec<Pos>,
    /// Messages found on the walk back.
    n: u64,
    /// The current stride, newest first (`pop` gives the oldest).
    stride: Vec<Pos>,
}

impl Stretch {
    /// Walks each run back (after waiting until the log is on disk up to
    /// `end`); `first` is the number of the entry's first unacknowledged event.
    pub(super) fn new(
        inner: &Inner,
        reader: &mut RecordReader,
        (runs, done): (&[Run], u64),
        first: u64,
        end: Pos,
    ) -> Result<Stretch, Ko> {
        inner.await_log(Goal::Synced(end))?;
        let total: u64 = runs.iter().map(|r| r.n).sum();
        let mut stretch =
            Stretch { runs: Vec::new(), missing: 0, done, seq: first, last: first + total - done - 1 };
        for run in runs {
            let mut walk = RunWalk { anchors: Vec::new(), n: 0, stride: Vec::new() };
            let mut pos = run.head;
            while walk.n < run.n {
                if walk.n.is_multiple_of(STRIDE) {
                    walk.anchors.push(pos);
                }
                let line = reader.line(pos, true)?;
                let line = line.ok_or_else(|| read_failed(pos, "an inbox refers to a removed record"))?;
                match MsgRef::decode(line) {
                    Ok(m) => pos = m.prev,
                    Err(e) => {
                        damage::report(&inner.log, pos, &e);
                        break;
                    }
                }
                walk.n += 1;
            }
            stretch.missing += run.n - walk.n;
            stretch.runs.push(walk);
        }
        Ok(stretch)
    }

    /// The next event: `None` past the last; `Some(None)` for one that is
    /// acknowledged or not found; else its number and position.
    pub(super) fn next(&mut self, reader: &mut RecordReader) -> Result<Option<Option<(u64, Pos)>>, Ko> {
        let pos = if self.missing > 0 {
            self.missing -= 1;
            None
        } else {
            for run in &mut self.runs {
                run.fill(reader)?;
            }
            let oldest = self
                .runs
                .iter_mut()
                .filter(|r| !r.stride.is_empty())
                .min_by_key(|r| r.stride.last().copied());
            match oldest {
                Some(run) => run.stride.pop(),
                None => return Ok(None),
            }
        };
        if self.done > 0 {
            self.done -= 1;
            return Ok(Some(None));
        }
        let seq = self.seq;
        self.seq += 1;
        Ok(Some(pos.map(|pos| (seq, pos))))
    }
}

impl RunWalk {
    /// Reads the next stride back from its anchor if the current one is done.
    fn fill(&mut self, reader: &mut RecordReader) -> Result<(), Ko> {
        if !self.stride.is_empty() {
            return Ok(());
        }
        let Some(mut pos) = self.anchors.pop() else { return Ok(()) };
        let k = self.anchors.len() as u64;
        for _ in 0..(self.n - k * STRIDE).min(STRIDE) {
            self.stride.push(pos);
            let line = reader.line(pos, true)?;
            let line = line.ok_or_else(|| read_failed(pos, "an inbox refers to a removed record"))?;
            pos = MsgRef::decode(line).map_err(|e| read_failed(pos, e))?.prev;
        }
        Ok(())
    }
}
