//! The uploads with parts on their way to a store that appends later (a
//! cluster's, which commits several parts together:
//! `FileStore::append_later`). A pipelined upload's next `PART` comes
//! before the one before it is committed: it is checked against the
//! bytes received *with* those still on their way, and its upload's
//! description is read from the store once, not once a part.
//!
//! An entry lives while one of its parts is on its way. A part that was
//! not stored drops its entry at once: the next part reads the store
//! again and is told where to go on from (`KO:BAD_REQUEST`, as any part
//! past the bytes received), and the parts sent after the lost one fail
//! in the store too (each is appended only where the one before it
//! ended). The entries are as many as the parts on their way, which the
//! store bounds (`cluster::parts::QUEUED`).

use std::collections::HashMap;

use parking_lot::Mutex;

use super::Meta;

/// The uploads with parts on their way (see the module documentation).
#[derive(Default)]
pub(super) struct InFlight {
    uploads: Mutex<HashMap<String, Upload>>,
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
}

impl InFlight {
    /// The description of upload `id` and the bytes it will have
    /// received, if parts of it are on their way.
    pub fn get(&self, id: &str) -> Option<(Meta, u64)> {
        self.uploads.lock().get(id).map(|u| (u.meta.clone(), u.received))
    }

    /// A part of upload `id` (described by `meta`) goes to the store, to
    /// end at `received`: the entry's generation, for [`InFlight::end`].
    pub fn begin(&self, id: &str, meta: &Meta, received: u64) -> u64 {
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut uploads = self.uploads.lock();
        let upload = uploads.entry(id.to_string()).or_insert_with(|| Upload {
            meta: meta.clone(),
            received,
            parts: 0,
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        });
        upload.received = upload.received.max(received);
        upload.parts += 1;
        upload.generation
    }

    /// A part of upload `id` begun under `generation` was `stored`, or not.
    pub fn end(&self, id: &str, generation: u64, stored: bool) {
        let mut uploads = self.uploads.lock();
        let Some(upload) = uploads.get_mut(id).filter(|u| u.generation == generation) else { return };
        upload.parts -= 1;
        if upload.parts == 0 || !stored {
            uploads.remove(id);
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
        assert!(in_flight.get("f").is_none());
        let first = in_flight.begin("f", &meta(), 10);
        assert_eq!(in_flight.begin("f", &meta(), 20), first);
        assert_eq!(in_flight.get("f").map(|(_, r)| r), Some(20));
        in_flight.end("f", first, true);
        assert_eq!(in_flight.get("f").map(|(_, r)| r), Some(20), "one part still on its way");
        in_flight.end("f", first, true);
        assert!(in_flight.get("f").is_none());

        let lost = in_flight.begin("f", &meta(), 10);
        in_flight.end("f", lost, false);
        assert!(in_flight.get("f").is_none(), "the next part reads the store");
        let again = in_flight.begin("f", &meta(), 10);
        in_flight.end("f", lost, false); // a later part of the lost entry
        assert_eq!(in_flight.get("f").map(|(_, r)| r), Some(10), "the new entry is not the old one's");
        in_flight.end("f", again, true);
        assert!(in_flight.get("f").is_none());
    }
}
