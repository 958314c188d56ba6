//! The sha256 of each upload's bytes as the parts committer commits them
//! (`Blobs::digest`), so that the last part's check does not read
//! the whole file back from PostgreSQL: that read took 65 to 150 ms of a
//! 16 MB upload's 0.8 s on a node (docs/BENCHMARKS.md, "Files").
//!
//! A hash follows an upload only while this node stored every byte of it
//! from the first, in order: a part is hashed after its transaction
//! committed, and only where the hash ends; a part that begins elsewhere
//! (another node appended the bytes before it, a commit whose answer was
//! lost but which took place) drops the hash, and the last part then
//! reads the bytes back as before. What the hash cannot see, the rows'
//! offsets and lengths, is checked from the rows (`PgBlobs::digest`).

use std::collections::HashMap;

use ring::digest::{Context, SHA256};

/// Uploads hashed at most; past it the one touched longest ago is
/// dropped (its last part reads the bytes back): as many as the uploads
/// a node keeps in flight (`store::files::in_flight::MAX_KEPT`).
pub const MAX_HASHED: usize = 1024;

/// One upload's hash so far.
struct Hash {
    /// Bytes hashed: the upload's first `upto`.
    upto: u64,
    context: Context,
    /// When a part was last hashed (the count of parts hashed then), to
    /// drop the stalest past [`MAX_HASHED`].
    touched: u64,
}

/// The hashes of the uploads whose parts this node committed.
#[derive(Default)]
pub struct Hashes {
    uploads: HashMap<String, Hash>,
    /// Parts hashed so far: the clock of `Hash::touched`.
    parts: u64,
}

impl Hashes {
    /// `data`, at `offset` of upload `file`, was committed: hashed if the
    /// hash ends there (or it is the first part), else the hash is dropped.
    pub fn add(&mut self, file: &str, offset: u64, data: &[u8]) {
        self.parts += 1;
        let now = self.parts;
        match self.uploads.get_mut(file) {
            Some(hash) if hash.upto == offset => {
                hash.context.update(data);
                hash.upto += data.len() as u64;
                hash.touched = now;
            }
            _ if offset == 0 => {
                if self.uploads.len() >= MAX_HASHED && !self.uploads.contains_key(file) {
                    self.drop_stalest();
                }
                let mut context = Context::new(&SHA256);
                context.update(data);
                let hash = Hash { upto: data.len() as u64, context, touched: now };
                self.uploads.insert(file.to_string(), hash);
            }
            _ => {
                self.uploads.remove(file);
            }
        }
    }

    /// The sha256 of upload `file`'s first `size` bytes, if they are
    /// what was hashed; its hash is dropped either way.
    pub fn take(&mut self, file: &str, size: u64) -> Option<String> {
        let hash = self.uploads.remove(file)?;
        (hash.upto == size).then(|| crate::store::files::hex(hash.context.finish().as_ref()))
    }

    fn drop_stalest(&mut self) {
        let stalest = self.uploads.iter().min_by_key(|(_, hash)| hash.touched).map(|(file, _)| file.clone());
        if let Some(file) = stalest {
            self.uploads.remove(&file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256(bytes: &[u8]) -> String {
        crate::store::files::sha256_of_reader(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn parts_hashed_in_order_give_the_files_sha256() {
        let mut hashes = Hashes::default();
        hashes.add("f", 0, b"hello ");
        hashes.add("f", 6, b"world");
        assert_eq!(hashes.take("f", 11), Some(sha256(b"hello world")));
        assert_eq!(hashes.take("f", 11), None, "taken once");
    }

    #[test]
    fn a_part_that_does_not_follow_drops_the_hash() {
        let mut hashes = Hashes::default();
        hashes.add("f", 0, b"hello ");
        hashes.add("f", 9, b"ld"); // another node stored 6..9
        hashes.add("f", 11, b"!");
        assert_eq!(hashes.take("f", 12), None);
        hashes.add("g", 3, b"lo"); // begun on another node
        assert_eq!(hashes.take("g", 5), None);
    }

    #[test]
    fn a_hash_short_of_the_size_is_no_answer() {
        let mut hashes = Hashes::default();
        hashes.add("f", 0, b"hello");
        assert_eq!(hashes.take("f", 11), None);
    }

    #[test]
    fn past_the_limit_the_stalest_upload_is_dropped() {
        let mut hashes = Hashes::default();
        for i in 0..MAX_HASHED {
            hashes.add(&format!("f{i}"), 0, b"x");
        }
        hashes.add("f1", 1, b"y"); // f0 is now the stalest
        hashes.add("new", 0, b"z");
        assert_eq!(hashes.uploads.len(), MAX_HASHED);
        assert_eq!(hashes.take("f0", 1), None);
        assert_eq!(hashes.take("f1", 2), Some(sha256(b"xy")));
        assert_eq!(hashes.take("new", 1), Some(sha256(b"z")));
    }
}
