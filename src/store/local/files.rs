//! [`FilesInLog`]: the files' descriptions (`store::files`) kept as `FILE`
//! records of a [`LocalStore`]'s log, read from its state's index
//! (`files::FileIndex`). On a cluster the log is the leader's, through the
//! shared log, and each follower applies the records as it applies the
//! others: every node knows every file, and the new leader of a failover
//! goes on with the uploads under way (their bytes are the `Blobs`').

use std::sync::Arc;

use super::LocalStore;
use crate::protocol::{Code, Ko};
use crate::store::files::{Carrier, FileChange, Footprint, Meta, concerns};
use crate::store::record::Record;
use crate::store::state::{Batch, State};

/// The descriptions of files ([`Meta`], with their carriers), kept in
/// the log of `store`, beside their bytes
/// ([`Blobs`](crate::store::files::Blobs)). Each change is one call,
/// durable when it returns `Ok`; the reads answer from the descriptions
/// as applied (a [`FileIndex`](crate::store::files::FileIndex) in
/// memory), and cannot fail. None decides anything (that is
/// [`Files`](crate::store::files::Files)'s).
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

impl FilesInLog {
    /// Records a new upload `id` (not complete, carried by nothing) if
    /// `allow` lets it, asked with what the owner's files take now, in
    /// one step with the reservation (under the state's lock): two
    /// `UPLOAD`s of one owner at once take turns and see each other's, so
    /// that together they never pass the owner's quota.
    pub fn create(
        &self,
        id: &str,
        meta: &Meta,
        allow: &dyn Fn(Footprint) -> Result<(), Ko>,
    ) -> Result<(), Ko> {
        self.write(|state, batch| {
            allow(state.files.usage(&meta.owner))?;
            commit(state, batch, id, FileChange::upload(meta))
        })
    }

    /// The description of `id`, with its carriers.
    pub fn meta(&self, id: &str) -> Option<Meta> {
        self.read(|state| state.files.get(id).cloned())
    }

    /// Upload `id` is checked (its bytes [sealed](crate::store::files::Blobs::seal)): it
    /// becomes complete, of media type `kind`.
    pub fn finish(&self, id: &str, kind: &str) -> Result<(), Ko> {
        self.write(|state, batch| {
            state.files.get(id).ok_or_else(unknown)?;
            commit(state, batch, id, FileChange::Done { kind: kind.to_string() })
        })
    }

    /// `carrier` carries file `id`; false if it already did.
    pub fn carry(&self, id: &str, carrier: &Carrier) -> Result<bool, Ko> {
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

    /// `carrier` carries nothing any more: the file it carried, and the
    /// carriers that file has left.
    pub fn uncarry(&self, carrier: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        self.write(|state, batch| {
            let Some((file, _)) = state.files.carried(carrier) else { return Ok(None) };
            let file = file.clone();
            commit(state, batch, &file, FileChange::Uncarry(carrier.clone()))?;
            Ok(state.files.get(&file).cloned().map(|meta| (file, meta)))
        })
    }

    /// The file `carrier` carries.
    pub fn carried(&self, carrier: &Carrier) -> Option<(String, Meta)> {
        self.read(|state| state.files.carried(carrier).map(|(id, meta)| (id.clone(), meta.clone())))
    }

    /// Removes the description of file `id` and its carriers (its bytes
    /// are [`Blobs::remove`](crate::store::files::Blobs::remove)'s).
    pub fn remove(&self, id: &str) -> Result<(), Ko> {
        self.write(|state, batch| {
            if state.files.get(id).is_none() {
                return Ok(());
            }
            commit(state, batch, id, FileChange::Gone)
        })
    }

    /// Every file of `owner`, complete or not.
    pub fn of_owner(&self, owner: &str) -> Vec<(String, Meta)> {
        self.read(|state| {
            let mine = state.files.all().filter(|(_, m)| m.owner.eq_ignore_ascii_case(owner));
            mine.map(|(id, m)| (id.clone(), m.clone())).collect()
        })
    }

    /// What `owner`'s files take, complete or not.
    pub fn usage(&self, owner: &str) -> Footprint {
        self.read(|state| state.files.usage(owner))
    }

    /// At most `limit` uploads not complete that began at or before
    /// `before` (Unix ms), oldest first.
    pub fn stale(&self, before: u64, limit: usize) -> Vec<String> {
        self.read(|state| state.files.stale(before, limit))
    }

    /// The files the account of `name` touched ([`concerns`]):
    /// those it uploaded and those its messages, sent or received, carry.
    ///
    /// A look at every description: an account deletion is rare.
    pub fn concerning(&self, name: &str) -> Vec<String> {
        self.read(|state| {
            state.files.all().filter(|(_, m)| concerns(m, name)).map(|(id, _)| id.clone()).collect()
        })
    }

    /// Runs `change`, a change of whose the file is
    /// ([`FileChange::Disown`], [`FileChange::Heir`]: the rules'
    /// [`disown`](crate::store::files::disown) and
    /// [`pass_to_heir`](crate::store::files::pass_to_heir), never a
    /// store's), on the description of file `id` as it is now, and keeps
    /// it if it changed anything, in one step: two changes of one file
    /// take turns, each on what the other left. The description after it,
    /// and whether it changed; `None`: no such file. The rule runs on a
    /// copy under the state's lock; its record, if it changed anything,
    /// runs it again where it is applied (here, and on each follower).
    pub fn reassign(&self, id: &str, change: &FileChange) -> Result<Option<(Meta, bool)>, Ko> {
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
