//! The uploads with parts on their way to a store that appends later (a
//! cluster's, which commits several parts together:
//! `Blobs::append_later`). A pipelined upload's next `PART` comes
//! before the one before it is committed: it is checked against the
//! bytes received *with* those still on their way, and its upload's
//! description is read from the store once, not once a part.
//!
//! An entry lives while one of its parts is on its way, and [`KEEP`]
//! after the last one was stored: a client sends a window of parts,
//! waits for their `OK`s, then sends the next window, whose first part
//! then needs no reads either. An entry is only this node's knowledge
//! of the upload: a part it would refuse as past the bytes received is
//! checked again against the store (a cluster's leader before a
//! failover may have appended them), and the upload's end on this node
//! (completed, removed) drops
//! it. A part that was not stored drops its entry at once: the next part
//! reads the store again and is told where to go on from
//! (`KO:BAD_REQUEST`, as any part past the bytes received), and the
//! parts sent after the lost one fail in the store too (each is
//! appended only where the one before it ended). The entries are the
//! uploads that had a part here within [`KEEP`], and idle ones past it
//! up to [`MAX_KEPT`] or twice the entries the last pruning left.
//!
//! **Why the pruning waits for the table to double.** It looks at every
//! entry. Once it ran at each part past [`MAX_KEPT`] entries, so with
//! more than 1,024 uploads busy (none idle for [`KEEP`], none to prune)
//! every part scanned them all. Now the next pruning waits until the
//! table has twice the entries this one left: it looks at no more
//! entries than were added since the last, a constant cost a part.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Meta;

/// How long an entry is kept once none of its parts is on its way.
pub const KEEP: Duration = Duration::from_secs(1);

/// Entries beyond which those idle for [`KEEP`] are pruned as a part
/// comes (or beyond twice what the last pruning left, if more); the
/// others are at most one per part on its way (which the store bounds:
/// `cluster::parts::QUEUED`) or per upload with a part here within
/// [`KEEP`].
pub const MAX_KEPT: usize = 1024;

/// The uploads with parts on their way (see the module documentation).
#[derive(Default)]
pub(super) struct InFlight {
    table: Mutex<UploadTable>,
}

#[derive(Default)]
struct UploadTable {
    uploads: HashMap<String, Upload>,
    /// Twice the entries the last pruning left: the next one waits for
    /// the table to reach it (or [`MAX_KEPT`]), so that a table of busy
    /// uploads is not scanned again at every part.
    prune_at: usize,
}

struct Upload {
    meta: Meta,
    /// Bytes received once every part on its way is stored.
    received: u64,
    /// Parts on their way.
    parts: usize,
    /// Which entry of this upload this is: the answer of a part sent
    /// under an entry since dropped does not count against a new one.
    generation: u64,
    /// Since when no part of it is on its way.
    idle: Option<Instant>,
}

impl Upload {
    fn expired(&self) -> bool {
        self.idle.is_some_and(|since| since.elapsed() >= KEEP)
    }
}

impl InFlight {
    /// The description of upload `id` and the bytes it will have
    /// received, if parts of it are on their way or were stored within
    /// [`KEEP`]; and whether some are on their way.
    pub fn get(&self, id: &str) -> Option<(Meta, u64, bool)> {
        let uploads = &mut self.table.lock().uploads;
        if uploads.get(id)?.expired() {
            uploads.remove(id);
            return None;
        }
        uploads.get(id).map(|u| (u.meta.clone(), u.received, u.idle.is_none()))
    }

    /// Forgets upload `id` (it ended here, or the store knows better).
    pub fn forget(&self, id: &str) {
        self.table.lock().uploads.remove(id);
    }

    /// A part of upload `id` (described by `meta`) goes to the store, to
    /// end at `received`: the entry's generation, for [`InFlight::end`].
    pub fn begin(&self, id: &str, meta: &Meta, received: u64) -> u64 {
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut table = self.table.lock();
        if table.uploads.len() >= table.prune_at.max(MAX_KEPT) {
            table.uploads.retain(|_, u| !u.expired());
            table.prune_at = 2 * table.uploads.len();
        }
        let upload = table.uploads.entry(id.to_string()).or_insert_with(|| Upload {
            meta: meta.clone(),
            received,
            parts: 0,
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            idle: None,
        });
        upload.received = upload.received.max(received);
        upload.parts += 1;
        upload.idle = None;
        upload.generation
    }

    /// A part of upload `id` begun under `generation` was `stored`, or not.
    pub fn end(&self, id: &str, generation: u64, stored: bool) {
        let uploads = &mut self.table.lock().uploads;
        let Some(upload) = uploads.get_mut(id).filter(|u| u.generation == generation) else { return };
        upload.parts -= 1;
        if !stored {
            uploads.remove(id);
        } else if upload.parts == 0 {
            upload.idle = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            owner: "ana".into(),
            name: "a.bin".into(),
            size: 30,
            sha256: String::new(),
            kind: String::new(),
            created: 0,
            complete: false,
            carriers: Vec::new(),
        }
    }

    #[test]
    fn an_entry_lives_while_parts_are_on_their_way_and_a_lost_part_drops_it() {
        let in_flight = InFlight::default();
        let received = |in_flight: &InFlight| in_flight.get("f").map(|(_, r, on_way)| (r, on_way));
        assert!(in_flight.get("f").is_none());
        let first = in_flight.begin("f", &meta(), 10);
        assert_eq!(in_flight.begin("f", &meta(), 20), first);
        assert_eq!(received(&in_flight), Some((20, true)));
        in_flight.end("f", first, true);
        assert_eq!(received(&in_flight), Some((20, true)), "one part still on its way");
        in_flight.end("f", first, true);
        assert_eq!(received(&in_flight), Some((20, false)), "kept for the next window");
        in_flight.forget("f");
        assert!(in_flight.get("f").is_none());

        let lost = in_flight.begin("f", &meta(), 10);
        in_flight.end("f", lost, false);
        assert!(in_flight.get("f").is_none(), "the next part reads the store");
        let again = in_flight.begin("f", &meta(), 10);
        in_flight.end("f", lost, false); // a later part of the lost entry
        assert_eq!(received(&in_flight), Some((10, true)), "the new entry is not the old one's");
        in_flight.end("f", again, true);
        assert_eq!(received(&in_flight), Some((10, false)));
    }

    #[test]
    fn an_idle_entry_is_forgotten_after_keep() {
        let in_flight = InFlight::default();
        let generation = in_flight.begin("f", &meta(), 10);
        in_flight.end("f", generation, true);
        in_flight.table.lock().uploads.get_mut("f").unwrap().idle = Some(Instant::now() - KEEP);
        assert!(in_flight.get("f").is_none());
        assert!(in_flight.table.lock().uploads.is_empty());
    }

    #[test]
    fn a_table_of_busy_uploads_is_scanned_again_only_once_it_doubled() {
        let in_flight = InFlight::default();
        let mut scans = 0;
        let mut prune_at = 0;
        for n in 0..8 * MAX_KEPT {
            in_flight.begin(&format!("f{n}"), &meta(), 10); // on its way: never pruned
            let now = in_flight.table.lock().prune_at;
            scans += usize::from(now != prune_at);
            prune_at = now;
        }
        // At 1,024, 2,048 and 4,096 entries; once a part past 1,024 before.
        assert_eq!(scans, 3, "{} entries", in_flight.table.lock().uploads.len());
    }

    #[test]
    fn idle_entries_are_still_pruned_once_the_table_is_full() {
        let in_flight = InFlight::default();
        for n in 0..MAX_KEPT {
            let id = format!("f{n}");
            let generation = in_flight.begin(&id, &meta(), 10);
            in_flight.end(&id, generation, true);
        }
        for upload in in_flight.table.lock().uploads.values_mut() {
            upload.idle = Some(Instant::now() - KEEP);
        }
        in_flight.begin("g", &meta(), 10);
        assert_eq!(in_flight.table.lock().uploads.len(), 1, "only the new one is left");
    }
}
