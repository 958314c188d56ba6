//! [`FilesInLog`]: the files' descriptions (`store::files`) kept as `FILE`
//! records of a [`LocalStore`]'s log, read from its state's index
//! (`files::FileIndex`). On a cluster the log is the leader's, through the
//! shared log, and each follower applies the records as it applies the
//! others: every node knows every file, and the new leader of a failover
//! goes on with the uploads under way (their bytes are the `Blobs`').

use std::sync::Arc;

use super::LocalStore;
use crate::protocol::{Code, Ko};
use crate::store::files::{Carrier, FileChange, FileStore, Footprint, Meta, concerns};
use crate::store::record::Record;
use crate::store::state::{Batch, State};

/// The descriptions of files, in the log of `store`.
pub struct FilesInLog {
    store: Arc<LocalStore>,
}

impl FilesInLog {
    pub fn new(store: Arc<LocalStore>) -> FilesInLog {
        FilesInLog { store }
    }

    /// Decides under the state's lock with `f`, which commits the records
    /// it decided; returns once they are durable.
    fn write<T>(&self, f: impl FnOnce(&mut State, &mut Batch) -> Result<T, Ko>) -> Result<T, Ko> {
        let (value, ticket) = self.store.inner.write(f)?;
        self.store.wait(ticket)?;
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.store.inner.state.lock())
    }
}

/// Commits `change` of file `id`.
fn commit(state: &mut State, batch: &mut Batch, id: &str, change: FileChange) -> Result<(), Ko> {
    let ts = state.next_ts(crate::store::now_ms());
    state.commit(Record::File { ts, id: id.to_string(), change }, batch)
}

fn unknown() -> Ko {
    Ko::new(Code::UnknownFile, "no such file that you may see")
}

impl FileStore for FilesInLog {
    /// The check and the record under the state's lock: two `UPLOAD`s of
    /// one owner take turns, and see each other's.
    fn create(&self, id: &str, meta: &Meta, allow: &dyn Fn(Footprint) -> Result<(), Ko>) -> Result<(), Ko> {
        self.write(|state, batch| {
            allow(state.files.usage(&meta.owner))?;
            commit(state, batch, id, FileChange::upload(meta))
        })
    }

    fn meta(&self, id: &str) -> Option<Meta> {
        self.read(|state| state.files.get(id).cloned())
    }

    fn finish(&self, id: &str, kind: &str) -> Result<(), Ko> {
        self.write(|state, batch| {
            state.files.get(id).ok_or_else(unknown)?;
            commit(state, batch, id, FileChange::Done { kind: kind.to_string() })
        })
    }

    fn carry(&self, id: &str, carrier: &Carrier) -> Result<bool, Ko> {
        self.write(|state, batch| {
            let meta = state.files.get(id).ok_or_else(unknown)?;
            let key = carrier.key();
            if meta.carriers.iter().any(|c| c.key() == key) {
                return Ok(false);
            }
            commit(state, batch, id, FileChange::Carry(carrier.clone()))?;
            Ok(true)
        })
    }

    fn uncarry(&self, carrier: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        self.write(|state, batch| {
            let Some((file, _)) = state.files.carried(carrier) else { return Ok(None) };
            let file = file.clone();
            commit(state, batch, &file, FileChange::Uncarry(carrier.clone()))?;
            Ok(state.files.get(&file).cloned().map(|meta| (file, meta)))
        })
    }

    fn carried(&self, carrier: &Carrier) -> Option<(String, Meta)> {
        self.read(|state| state.files.carried(carrier).map(|(id, meta)| (id.clone(), meta.clone())))
    }

    fn remove(&self, id: &str) -> Result<(), Ko> {
        self.write(|state, batch| {
            if state.files.get(id).is_none() {
                return Ok(());
            }
            commit(state, batch, id, FileChange::Gone)
        })
    }

    fn of_owner(&self, owner: &str) -> Vec<(String, Meta)> {
        self.read(|state| {
            let mine = state.files.all().filter(|(_, m)| m.owner.eq_ignore_ascii_case(owner));
            mine.map(|(id, m)| (id.clone(), m.clone())).collect()
        })
    }

    fn usage(&self, owner: &str) -> Footprint {
        self.read(|state| state.files.usage(owner))
    }

    fn stale(&self, before: u64, limit: usize) -> Vec<String> {
        self.read(|state| state.files.stale(before, limit))
    }

    /// A look at every description: an account deletion is rare.
    fn concerning(&self, name: &str) -> Vec<String> {
        self.read(|state| {
            state.files.all().filter(|(_, m)| concerns(m, name)).map(|(id, _)| id.clone()).collect()
        })
    }

    /// The rule run on a copy under the state's lock; its record, if it
    /// changed anything, runs it again where it is applied (here, and on
    /// each follower).
    fn reassign(&self, id: &str, change: &FileChange) -> Result<Option<(Meta, bool)>, Ko> {
        self.write(|state, batch| {
            let Some(meta) = state.files.get(id) else { return Ok(None) };
            let mut meta = meta.clone();
            if !change.reassign(&mut meta) {
                return Ok(Some((meta, false)));
            }
            commit(state, batch, id, change.clone())?;
            Ok(Some((meta, true)))
        })
    }
}

impl LocalStore {
    /// Puts the descriptions of files an older build kept beside their
    /// bytes (`files::disk::old_descriptions`) into the log, in one batch,
    /// synced: each one's upload, its completion, its carriers with their
    /// sides that left. One the log knows already (a conversion cut short
    /// by a crash) is left as the log has it. How many were converted.
    pub(in crate::store) fn adopt_files(&self, old: &[(String, Meta)]) -> Result<usize, Ko> {
        let (count, ticket) = self.inner.write(|state, batch| {
            let mut count = 0;
            for (id, meta) in old {
                if state.files.get(id).is_some() {
                    continue;
                }
                commit(state, batch, id, FileChange::upload(meta))?;
                if meta.complete {
                    commit(state, batch, id, FileChange::Done { kind: meta.kind.clone() })?;
                }
                for carrier in &meta.carriers {
                    commit(state, batch, id, FileChange::Carry(carrier.clone()))?;
                }
                count += 1;
            }
            Ok(count)
        })?;
        self.wait(ticket)?;
        Ok(count)
    }
}
