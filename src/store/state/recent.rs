//! The resend window: which of a sender's latest messages an id names.
//!
//! A client that got no `OK` sends the same `MSG` again; the server must
//! answer with the first `OK` and store nothing. So it remembers each
//! sender's last [`DEDUP_WINDOW`] messages — but not their ids: a 64-bit
//! hash of the id (a *tag*) and the position of the message's record in
//! the log, 16 bytes an entry. A tag that matches is only a candidate: the
//! record at that position is read back (it is in memory while not yet
//! written) and its id compared, so a resend is recognised exactly, and
//! two ids that share a tag are still two messages.
//!
//! Why not the ids themselves: an id and its lookup entry cost ~110 bytes
//! (an `Arc<str>`, a hash-map entry, a ring slot); 10,000 senders with
//! full windows of 1,024 held ~1.1 GiB (`examples/store_scale.rs`,
//! docs/BENCHMARKS.md). Reading a record back costs a positioned read, but
//! only for resends, which are rare (after a lost connection).
//!
//! The window is a ring in a `Vec` (it grows to [`DEDUP_WINDOW`] and no
//! further), behind an `Arc` in the user: a checkpoint takes a reference,
//! not a copy, and the sender's next message copies its ring (4 KiB) only
//! if that checkpoint is still being written (copy on write).

use super::super::record::message::Pos;

/// How many of each sender's latest messages are remembered: a message
/// sent again with one of their ids is answered with its first `OK` and
/// not stored twice. Clients resend what they sent but got no `OK` for;
/// ours keeps at most 64 in flight, so 256 leaves a margin of four. Older
/// ids are forgotten (memory must not grow with the history), and so is
/// an id whose message `--retain-days` removed from the log.
pub const DEDUP_WINDOW: usize = 256;

/// The tag of a message id: 64-bit FNV-1a. It is kept in checkpoints, so
/// it must never change between builds (std's hasher may); ids are short
/// (≤ 64 bytes), where FNV is fast. A sender can only make tags collide
/// with its own ids, and a collision costs one read of the log.
pub fn tag(id: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    id.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// One sender's window: (tag, position of the record), a ring.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Recent {
    entries: Vec<(u64, Pos)>,
    /// Where the next entry goes once the ring is full (the oldest one).
    next: usize,
}

impl Recent {
    /// Remembers the message with this tag at `pos`, forgetting the
    /// oldest one if the window is full.
    pub fn push(&mut self, tag: u64, pos: Pos) {
        if self.entries.len() < DEDUP_WINDOW {
            self.entries.push((tag, pos));
        } else {
            self.entries[self.next] = (tag, pos);
            self.next = (self.next + 1) % DEDUP_WINDOW;
        }
    }

    /// The positions of the messages whose id may be `id` (same tag),
    /// newest first. Usually none, or one.
    pub fn candidates(&self, id: &str) -> Vec<Pos> {
        let tag = tag(id);
        // Every `MSG` asks, and a new id (nearly all) has none: a plain
        // pass over the ring says so in two thirds of the instructions of
        // the ordered one (which walks two halves in reverse).
        if !self.entries.iter().any(|&(t, _)| t == tag) {
            return Vec::new();
        }
        self.oldest_first().rev().filter(|&(t, _)| t == tag).map(|(_, pos)| pos).collect()
    }

    /// The entries, oldest first (for checkpoints).
    pub fn oldest_first(&self) -> impl DoubleEndedIterator<Item = (u64, Pos)> + '_ {
        let (newer, older) = self.entries.split_at(self.next);
        older.iter().chain(newer).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_window_oldest_first() {
        let mut recent = Recent::default();
        for i in 0..(DEDUP_WINDOW as u64 + 3) {
            recent.push(tag(&format!("m{i}")), i * 10);
        }
        assert_eq!(recent.len(), DEDUP_WINDOW);
        let positions: Vec<Pos> = recent.oldest_first().map(|(_, pos)| pos).collect();
        let expected: Vec<Pos> = (3..DEDUP_WINDOW as u64 + 3).map(|i| i * 10).collect();
        assert_eq!(positions, expected);
        assert_eq!(recent.candidates("m2"), Vec::<Pos>::new(), "forgotten");
        assert_eq!(recent.candidates("m3"), [30]);
        assert_eq!(recent.candidates(&format!("m{}", DEDUP_WINDOW + 2)), [(DEDUP_WINDOW as u64 + 2) * 10]);
    }

    #[test]
    fn entries_with_the_same_tag_are_all_candidates_newest_first() {
        let mut recent = Recent::default();
        recent.push(tag("a"), 1);
        recent.push(tag("b"), 2);
        recent.push(tag("a"), 3); // as two ids with one tag would be
        assert_eq!(recent.candidates("a"), [3, 1]);
    }

    #[test]
    fn tags_are_fnv_1a() {
        // Reference values of 64-bit FNV-1a: checkpoints depend on them.
        assert_eq!(tag(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(tag("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(tag("foobar"), 0x8594_4171_f739_67e8);
    }
}
