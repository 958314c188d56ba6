//! The files' descriptions as the state keeps them ([`FileIndex`]): what
//! the log's `FILE` records (`store::record::files`) say, applied in order
//! as every record is: by a server at its start and as it runs, and by a
//! cluster's followers as its leader wrote them, so that every node knows
//! every file. The bytes are not here: they are a [`Blobs`](super::Blobs)'.
//!
//! A record names the change ([`FileChange`]); the two that change whose a
//! file is run the rule itself ([`disown`], [`pass_to_heir`]), so that the
//! leader and each follower run the same function on the same description.
//!
//! `Files` (`mod.rs`) asks the log for these descriptions and their
//! changes (`store::local::FilesInLog`).

use std::collections::{BTreeSet, HashMap};

use super::kept::{Carrier, Footprint, Meta};
use super::rules::{disown, pass_to_heir};
use crate::protocol::files::OTHER_TYPE;
use crate::protocol::names::fold;

/// What a `FILE` record does to the description of its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// An upload began at `created` (Unix ms): not complete, carried by nothing.
    Upload { owner: String, name: String, size: u64, sha256: String, created: u64 },
    /// Its bytes were checked and kept: complete, of media type `kind`.
    Done { kind: String },
    /// A message carries it (with the sides of it that left, for a
    /// description an older build kept in a `.meta`: `files::disk`).
    Carry(Carrier),
    /// The message of this carrier's [key](Carrier::key) carries it no more.
    Uncarry(Carrier),
    /// The account of this name was deleted: [`disown`].
    Disown(String),
    /// Its uploader's messages no longer carry it: [`pass_to_heir`].
    Heir,
    /// Removed, its carriers with it.
    Gone,
}

impl FileChange {
    /// The [`FileChange::Upload`] that begins a file described by `meta`.
    pub fn upload(meta: &Meta) -> FileChange {
        FileChange::Upload {
            owner: meta.owner.clone(),
            name: meta.name.clone(),
            size: meta.size,
            sha256: meta.sha256.clone(),
            created: meta.created,
        }
    }

    /// Runs a change of whose the file is ([`FileChange::Disown`],
    /// [`FileChange::Heir`]) on `meta`: whether it changed it. Any other
    /// change is no such rule: false.
    pub fn reassign(&self, meta: &mut Meta) -> bool {
        match self {
            FileChange::Disown(name) => disown(meta, name),
            FileChange::Heir => pass_to_heir(meta),
            _ => false,
        }
    }
}

/// Every file's description, and what lookups need of them.
#[derive(Debug, Default)]
pub struct FileIndex {
    files: HashMap<String, Meta>,
    /// Which file each message carries ([`Carrier::key`]).
    carriers: HashMap<(String, String, String), String>,
    /// What each owner's files take (its name folded), kept as files
    /// come and go: an `UPLOAD` checks its own, never the others', so its
    /// cost does not grow with what other users stored.
    owners: HashMap<String, Footprint>,
    /// The unfinished uploads, oldest first (created, id): the sweep
    /// reads the stale ones only.
    pending: BTreeSet<(u64, String)>,
}

impl FileIndex {
    /// The description of `id`.
    pub fn get(&self, id: &str) -> Option<&Meta> {
        self.files.get(id)
    }

    /// The file `carrier` carries, and its description.
    pub fn carried(&self, carrier: &Carrier) -> Option<(&String, &Meta)> {
        let file = self.carriers.get(&carrier.key())?;
        self.files.get(file).map(|meta| (file, meta))
    }

    /// What `owner`'s files take, complete or not.
    pub fn usage(&self, owner: &str) -> Footprint {
        self.owners.get(&fold(owner)).copied().unwrap_or_default()
    }

    /// At most `limit` uploads not complete that began at or before
    /// `before`, oldest first: what it costs is the stale ones', however
    /// many others are under way.
    pub fn stale(&self, before: u64, limit: usize) -> Vec<String> {
        let old = self.pending.iter().take_while(|(created, _)| *created <= before);
        old.take(limit).map(|(_, id)| id.clone()).collect()
    }

    /// Every file and its description (a checkpoint's rows, an account
    /// deletion's look at every one).
    pub fn all(&self) -> impl Iterator<Item = (&String, &Meta)> {
        self.files.iter()
    }

    /// What a `FILE` record does to file `id`. Fails on a change
    /// the state contradicts (a file uploaded twice, a change of no file).
    pub fn apply(&mut self, id: &str, change: &FileChange) -> Result<(), String> {
        if let FileChange::Upload { owner, name, size, sha256, created } = change {
            if self.files.contains_key(id) {
                return Err(format!("file {id} uploaded twice"));
            }
            let meta = Meta {
                owner: owner.clone(),
                name: name.clone(),
                size: *size,
                sha256: sha256.clone(),
                kind: OTHER_TYPE.into(),
                created: *created,
                complete: false,
                carriers: Vec::new(),
            };
            self.insert(id, meta);
            return Ok(());
        }
        let Some(mut meta) = self.take(id) else { return Err(format!("no file {id}")) };
        match change {
            FileChange::Upload { .. } => unreachable!("handled above"),
            FileChange::Done { kind } => {
                meta.kind = kind.clone();
                meta.complete = true;
            }
            FileChange::Carry(carrier) => {
                let key = carrier.key();
                if !meta.carriers.iter().any(|c| c.key() == key) {
                    meta.carriers.push(carrier.clone());
                }
                self.carriers.insert(key, id.to_string());
            }
            FileChange::Uncarry(carrier) => {
                let key = carrier.key();
                meta.carriers.retain(|c| c.key() != key);
                if self.carriers.get(&key).is_some_and(|file| file == id) {
                    self.carriers.remove(&key);
                }
            }
            FileChange::Disown(_) | FileChange::Heir => {
                change.reassign(&mut meta);
            }
            FileChange::Gone => {
                for key in meta.carriers.iter().map(Carrier::key) {
                    if self.carriers.get(&key).is_some_and(|file| file == id) {
                        self.carriers.remove(&key);
                    }
                }
                return Ok(());
            }
        }
        self.insert(id, meta);
        Ok(())
    }

    /// Adds the description of `id` whole, with its carriers (a
    /// checkpoint's rows read back).
    pub fn load(&mut self, id: &str, meta: Meta) {
        for carrier in &meta.carriers {
            self.carriers.insert(carrier.key(), id.to_string());
        }
        self.take(id);
        self.insert(id, meta);
    }

    /// Adds the description of `id` (none there), and what it counts.
    fn insert(&mut self, id: &str, meta: Meta) {
        let usage = self.owners.entry(fold(&meta.owner)).or_default();
        usage.bytes += meta.size;
        if !meta.complete {
            usage.pending += 1;
            self.pending.insert((meta.created, id.to_string()));
        }
        self.files.insert(id.to_string(), meta);
    }

    /// Removes the description of `id`, and what it counted (its
    /// carriers' keys stay: the caller's).
    fn take(&mut self, id: &str) -> Option<Meta> {
        let meta = self.files.remove(id)?;
        let key = fold(&meta.owner);
        if let Some(usage) = self.owners.get_mut(&key) {
            usage.bytes -= meta.size;
            usage.pending -= u64::from(!meta.complete);
            if *usage == Footprint::default() {
                self.owners.remove(&key);
            }
        }
        self.pending.remove(&(meta.created, id.to_string()));
        Some(meta)
    }
}
