//! [`LocalStore`]: the store on this machine's disk — the state in
//! memory, the records in the log, checkpoints, and the group commit.
//!
//! `Inner`, what the store's threads share, and its methods are in this
//! folder, and only here:
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | opening a data directory (`load`), `Inner`, `LocalStore` |
//! | `requests` | `LocalStore`'s requests: what each does (`MSG`, `READ`, `JOIN`, `CHATS`, …), top-down |
//! | [`committer`] | the group commit and the committer thread |
//! | `checkpointer` | the checkpointer thread, and retention after each checkpoint |
//! | `reads` | `HISTORY`'s walk and the inbox replay, read from the log outside the locks |
//! | `in_log` | every user's devices as settings of the log (`store::devices`) |
//! | `stretch` | the replay of room messages held as stretches of rooms' chains |
//! | [`seed`] | a cluster node's copy made from the cluster's checkpoint, not from every record |
//! | `tests` | the store on a simulated disk |
//!
//! ## Files (in the data directory)
//!
//! | file | what |
//! |---|---|
//! | `users.csv` | one row per account: `name,email,password_hash,created_ms` |
//! | `log/<position>.csv` | the log's segments: every record (see `record.rs`) |
//! | `checkpoint-<position>.csv` | the state as of a log position (see `checkpoint.rs`) |
//! | `erase.csv` | deleted messages whose text is still to be overwritten in the log (see `erase.rs`) |
//! | `server.csv` | the data directory's random identity, made at its first start (see `server_id.rs`) |
//! | `actions.csv` | 1.2: since when message ids of actions are the server's own, made at the first start of a server that refuses them from clients (see `actions_since.rs`) |
//! | `seeding` | a cluster node's copy being made from the cluster's checkpoint; left by a crash, the copy is made again (see `seed.rs`) |
//! | `wachat.lock` | held by the running server |
//!
//! A start reads `users.csv`, the newest whole checkpoint, and the log
//! after it: how long that takes depends on the size of the state and on
//! [`StoreOptions::checkpoint_records`], not on the size of the history.
//!
//! ## Locks
//!
//! Taken in this order, never the other way: `state` (the in-memory state)
//! → `pending` (the batch the next leader writes) → the log's segment
//! list → the group commit's queue. A leader (see `committer`) holds the
//! log's writer, takes `pending` alone, never `state`, so it never queues
//! behind the requests it is about to make durable; it calls the delivery
//! callback holding only the delivery turn, which nothing else in the
//! store takes, so that batches reach the router in order.

#[cfg(test)]
mod budget_tests;
mod checkpointer;
pub mod committer;
mod erase;
mod files;
mod in_log;
pub use files::FilesInLog;
pub mod link;
mod moderation;
mod read_receipt;
pub(in crate::store) mod reader;
pub(in crate::store) mod reads;
mod receipts_across;
mod requests;
pub mod room_receipts;
pub mod search;
pub mod seed;
mod send;
#[cfg(test)]
mod shared_tests;
mod stretch;
#[cfg(test)]
mod tests;

pub use erase::overwrites as erase_overwrites;
pub use in_log::InLog;
pub use read_receipt::READ_SEARCH_LIMIT;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::disk::{Disk, RealDisk, SyncPoint};
use super::interface::{Deliver, Ticket};
use super::log::Log;
pub use super::options::{CHECKPOINT_RECORDS, SEGMENT_SIZE, StoreOptions};
use super::record::{Pos, Record};
use super::shared_log::SharedLog;
use super::state::{Batch, State};
use super::users::load_users;
use super::{checkpoint, convert, lock::DataLock, server_id};
use crate::error::{Error, Result};
use crate::protocol::{Code, Ko};
use committer::{Bell, Durable, Goal, LogFiles};

/// The store on the local disk (see the module documentation): the
/// handle the server holds. What each request does is in `requests.rs`;
/// dropping it stops the store.
pub struct LocalStore {
    pub(super) inner: Arc<Inner>,
}

/// What the request threads, the committer and the checkpointer share.
pub(in crate::store) struct Inner {
    pub(super) dir: PathBuf,
    pub(super) disk: Arc<dyn Disk>,
    pub(super) options: StoreOptions,
    pub(super) state: Mutex<State>,
    pub(super) pending: Mutex<Pending>,
    /// How far the log is durable, and the group commit's queue.
    pub(super) durable: Durable,
    /// The log's writing end: taken by the thread leading a batch only.
    pub(super) files: Mutex<LogFiles>,
    /// The delivery turn: a leader holds it while it hands its batch's
    /// events to `deliver`, so batches reach the router in order.
    pub(super) delivering: Mutex<()>,
    pub(super) log: Arc<Log>,
    /// Calls the committer thread.
    pub(super) bell: Bell,
    /// The committer was called for records nobody waits for, and has not
    /// yet looked at `pending`: one call per burst of them.
    pub(super) flush_armed: AtomicBool,
    /// Wakes the checkpointer when enough records were written.
    pub(super) checkpoint_due: Sender<()>,
    pub(super) deliver: Deliver,
    pub(super) stopping: AtomicBool,
    /// Set by `stop` once the last batch is written: the checkpointer then
    /// writes the last checkpoint and ends.
    pub(super) committed_last: AtomicBool,
    /// One checkpoint at a time.
    pub(super) checkpointing: Mutex<()>,
    /// The committer and the checkpointer, joined by `stop` in that order.
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    /// Held until the store stops: no other process edits the files.
    lock: Mutex<Option<DataLock>>,
    /// This data directory's identity (`server.csv`), which `SERVER` answers.
    pub(super) server_id: Arc<str>,
    /// 1.2: since when message ids of actions are the server's
    /// (`store::actions_since`).
    pub(super) actions_since: u64,
    /// Whether the disk is below `--min-free` (see `store::budget`), or
    /// full (`store::ballast`).
    pub(super) floor: super::budget::Floor,
    /// Deleted texts still to take off the disk, and their thread's bell.
    pub(in crate::store) eraser: erase::Eraser,
    /// 1.2: the words of the log's blocks, for `SEARCH` (`search.rs`).
    pub(in crate::store) search_index: search::Index,
    /// A cluster's follower: it writes no batch of its own and applies the
    /// leader's (`store::shared_log`), until it leads.
    pub(super) following: AtomicBool,
    /// A cluster's log (`store::shared_log`): where a leader's batches
    /// become durable before they reach its own disk, and where every
    /// node's erasures blank the deleted texts too.
    pub(super) shared: OnceLock<Arc<dyn SharedLog>>,
}

/// Bytes the disk must have free for a change that goes first
/// ([`Inner::write_first`]) once the ballast was spent: its records (a
/// few hundred bytes a device) and the batch they ride with.
pub const FIRST_ROOM: u64 = 1 << 20;

/// Records applied but not yet handed to the log.
pub(super) struct Pending {
    pub(super) batch: Batch,
    /// Log position of `batch.log[0]`.
    pub(super) base: Pos,
    /// The last batch written, emptied, given back for reuse.
    pub(super) spare: Batch,
    /// The bytes a leader is writing now: readers find records there
    /// until they are written.
    pub(super) in_flight: Option<Arc<(Pos, Vec<u8>)>>,
    /// The store is stopping: no more writes.
    pub(super) closed: bool,
}

fn ko(code: Code, reason: impl Into<String>) -> Ko {
    Ko::new(code, reason)
}

impl LocalStore {
    /// Opens the data directory `dir` on this machine's disk: takes its
    /// lock, makes its permissions private, converts a directory of the
    /// first layout, and loads it.
    pub fn open(dir: &Path, options: StoreOptions, deliver: Deliver) -> Result<LocalStore> {
        let store = Self::open_here(dir, options, deliver, None)?;
        // A data directory of an older build keeps its disabled accounts
        // as files: they become records, once.
        store.convert_disabled(dir)?;
        // And its invite codes as files: records too, once.
        store.convert_invites(dir)?;
        // And its devices in a file of their own: records too, once.
        store.convert_devices(dir)?;
        Ok(store)
    }

    /// Converts a data directory's file of devices
    /// (`store::devices::OLD_FILE`) into the records that put each device
    /// on record (`Record::device`, as the server writes them), in one
    /// batch, synced; then the file and the room it kept
    /// (`devices::OLD_SPARE`) go. A device of no account (or a deleted
    /// one), or past a user's `devices::MAX_KNOWN`, is left out.
    fn convert_devices(&self, dir: &Path) -> Result<()> {
        use super::devices::{MAX_KNOWN, OLD_FILE, OLD_SPARE, in_old_file};
        let disk = self.inner.disk.as_ref();
        let (file, spare) = (dir.join(OLD_FILE), dir.join(OLD_SPARE));
        if !disk.exists(&file) && !disk.exists(&spare) {
            return Ok(());
        }
        let context = |e| Error::io(format!("store: {}", file.display()), e);
        let rows = in_old_file(disk, dir).map_err(context)?;
        let ((), ticket) = self
            .inner
            .write(|state, batch| {
                let mut kept = std::collections::HashMap::new();
                for (user, device) in &rows {
                    let Some(id) = state.user_id(user).filter(|&id| !state.users[id].is_deleted()) else {
                        log::warn!(
                            "{}: {user} is no account: its device {} left out",
                            file.display(),
                            device.name
                        );
                        continue;
                    };
                    let count = kept.entry(id).or_insert(0);
                    *count += 1;
                    if *count > MAX_KNOWN {
                        continue;
                    }
                    let (ts, name) = (state.next_ts(super::now_ms()), state.users[id].name.clone());
                    state.commit(Record::device(ts, &name, device), batch)?;
                }
                Ok(())
            })
            .map_err(|ko| context(std::io::Error::other(ko.reason)))?;
        self.inner.sync_through(ticket.0).map_err(|ko| context(std::io::Error::other(ko.reason)))?;
        log::info!("{}: {} devices are now records of the log", file.display(), rows.len());
        for path in [&file, &spare] {
            if disk.exists(path) {
                disk.remove(path).map_err(context)?;
            }
        }
        disk.sync_dir(dir, SyncPoint::DataDir).map_err(context)
    }

    /// Converts a data directory's folder of invite codes
    /// (`store::invites::FOLDER`, a file a code) into records, once: each
    /// code made (`KEPT`, its expiry kept) and, if it was taken, used, in
    /// one batch; then the folder goes.
    fn convert_invites(&self, dir: &Path) -> Result<()> {
        use super::invites::Mark;
        let folder = dir.join(super::invites::FOLDER);
        if !folder.is_dir() {
            return Ok(());
        }
        let kept = super::invites::in_folder(dir);
        let failed =
            |ko: Ko| Error::io(format!("store: {}", folder.display()), std::io::Error::other(ko.reason));
        let ((), ticket) = self
            .inner
            .write(|state, batch| {
                for (code, kept) in &kept {
                    let marks: &[Mark] = if kept.used { &[Mark::Kept, Mark::Used] } else { &[Mark::Kept] };
                    for &mark in marks {
                        let ts = state.next_ts(super::now_ms());
                        let (code, expires_ms) = (code.clone(), kept.expires_ms);
                        state.commit(Record::Invite { ts, code, mark, expires_ms }, batch)?;
                    }
                }
                Ok(())
            })
            .map_err(failed)?;
        self.inner.sync_through(ticket.0).map_err(failed)?;
        if !kept.is_empty() {
            log::info!("{}: {} invite codes are now records of the log", folder.display(), kept.len());
        }
        std::fs::remove_dir_all(&folder).map_err(|e| Error::io(format!("store: {}", folder.display()), e))
    }

    /// Converts a data directory's folder of disabled accounts
    /// (`store::disabled::FOLDER`, a file a name) into records, once: each
    /// name that is an account is disabled through the log, then the
    /// folder goes. A name of no account is left out (logged).
    fn convert_disabled(&self, dir: &Path) -> Result<()> {
        let folder = dir.join(super::disabled::FOLDER);
        if !folder.is_dir() {
            return Ok(());
        }
        let names = super::disabled::in_folder(dir);
        for name in &names {
            let account = self.inner.state.lock().user_id(name);
            let Some(account) = account else {
                log::warn!("{}: {name} is no account: left out", folder.display());
                continue;
            };
            let set = super::set_disabled(self, account, true);
            set.map_err(|ko| {
                Error::io(format!("store: {}", folder.display()), std::io::Error::other(ko.reason))
            })?;
        }
        if !names.is_empty() {
            log::info!("{}: {} disabled accounts are now records of the log", folder.display(), names.len());
        }
        std::fs::remove_dir_all(&folder).map_err(|e| Error::io(format!("store: {}", folder.display()), e))
    }

    /// Opens the data directory `dir` of a cluster's node as a follower
    /// of `shared` (`store::shared_log`): it serves reads and applies the
    /// leader's batches ([`LocalStore::apply_shared`]) until it leads
    /// ([`LocalStore::lead`]).
    pub fn open_follower(
        dir: &Path,
        options: StoreOptions,
        deliver: Deliver,
        shared: Arc<dyn SharedLog>,
    ) -> Result<LocalStore> {
        Self::open_here(dir, options, deliver, Some(shared))
    }

    fn open_here(
        dir: &Path,
        options: StoreOptions,
        deliver: Deliver,
        shared: Option<Arc<dyn SharedLog>>,
    ) -> Result<LocalStore> {
        let disk = RealDisk;
        if !disk.exists(dir) {
            let ctx = |e| Error::io(format!("store: {}", dir.display()), e);
            disk.create_dir_all(dir).map_err(ctx)?;
            disk.sync_dir(super::disk::parent(dir), SyncPoint::DataDir).map_err(ctx)?;
        }
        let lock = DataLock::acquire(dir)?;
        super::permissions::tighten(dir);
        Self::open_as(Arc::new(disk), dir, options, deliver, Some(lock), shared)
    }

    /// Opens a data directory on any [`Disk`] (a test's [`SimDisk`](super::sim_disk::SimDisk)).
    pub fn open_on(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: StoreOptions,
        deliver: Deliver,
        lock: Option<DataLock>,
    ) -> Result<LocalStore> {
        Self::open_as(disk, dir, options, deliver, lock, None)
    }

    fn open_as(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: StoreOptions,
        deliver: Deliver,
        lock: Option<DataLock>,
        shared: Option<Arc<dyn SharedLog>>,
    ) -> Result<LocalStore> {
        if !disk.exists(dir) {
            // A new directory's name must be durable before anything in it is.
            let ctx = |e| Error::io(format!("store: {}", dir.display()), e);
            disk.create_dir_all(dir).map_err(ctx)?;
            disk.sync_dir(super::disk::parent(dir), SyncPoint::DataDir).map_err(ctx)?;
        }
        // A directory a newer wachat wrote is refused before anything in
        // it is read or changed (`store::format`).
        super::format::check(disk.as_ref(), dir)?;
        convert::if_needed(&disk, dir, &options)?;
        let server_id = server_id::load_or_create(disk.as_ref(), dir)?;
        let started = std::time::Instant::now();
        let (mut state, log, writer, from, replayed) = load(disk.clone(), dir, &options)?;
        // 1.2: from when action ids are the server's; every
        // record from now on is stamped at or after it.
        let actions_since = super::actions_since::load_or_create(disk.as_ref(), dir, state.last_ts)?;
        state.last_ts = state.last_ts.max(actions_since);
        super::users::scrub_deleted(disk.as_ref(), dir, &state)?;
        super::format::mark(disk.as_ref(), dir)?;
        let level = if options.report { log::Level::Info } else { log::Level::Debug };
        log::log!(
            level,
            "store: loaded {} accounts and {replayed} records of the log after position {from} in {} ms",
            state.users.len(),
            started.elapsed().as_millis()
        );
        let (checkpoint_due, due) = crossbeam_channel::bounded(1);
        let end = state.end;
        let eraser = erase::Eraser::load(disk.as_ref(), dir, options.erase_interval)?;
        // The room a write that meets a full disk frees (`store::ballast`).
        let ballast = super::ballast::make(disk.as_ref(), dir);
        if let Err(e) = &ballast {
            log::warn!("store: {}: the ballast cannot be made: {e} (see store::ballast)", dir.display());
        }
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            disk,
            options,
            state: Mutex::new(state),
            pending: Mutex::new(Pending {
                batch: Batch::default(),
                base: end,
                spare: Batch::default(),
                in_flight: None,
                closed: false,
            }),
            durable: Durable::new(end),
            files: Mutex::new(LogFiles::new(writer)),
            delivering: Mutex::new(()),
            log,
            bell: Bell::new(),
            flush_armed: AtomicBool::new(false),
            checkpoint_due,
            deliver,
            stopping: AtomicBool::new(false),
            committed_last: AtomicBool::new(false),
            checkpointing: Mutex::new(()),
            threads: Mutex::new(Vec::new()),
            lock: Mutex::new(lock),
            server_id: server_id.into(),
            actions_since,
            floor: super::budget::Floor::new(&ballast),
            eraser,
            search_index: Default::default(),
            following: AtomicBool::new(shared.is_some()),
            shared: OnceLock::new(),
        });
        if let Some(shared) = shared {
            let _ = inner.shared.set(shared);
        }
        // What a previous run left to erase goes before anyone is served.
        inner.eraser.erase_all(&inner);
        let threads = vec![
            committer::spawn_committer(inner.clone())?,
            checkpointer::spawn_checkpointer(inner.clone(), due)?,
            erase::spawn(inner.clone())?,
        ];
        *inner.threads.lock() = threads;
        Ok(LocalStore { inner })
    }

    /// Writes a checkpoint now (tests, and a cluster's new leader that
    /// finds none in the database; the checkpointer does it by itself).
    pub fn checkpoint(&self) -> Result<()> {
        checkpointer::checkpoint(&self.inner)
    }

    /// Waits until every record applied so far is on disk, acknowledgements
    /// included (tests: a quiet moment to kill the process at).
    pub fn sync(&self) -> std::result::Result<(), Ko> {
        let end = self.inner.state.lock().end;
        self.inner.sync_through(end)
    }

    /// Writes every record applied so far, synced only if one of them
    /// needs it: what the committer does [`RIDE`](committer::RIDE)
    /// after an acknowledgement if no batch took it along (tests: that
    /// moment, without waiting for it).
    pub fn write_pending(&self) -> std::result::Result<(), Ko> {
        let end = self.inner.pending.lock().end();
        self.inner.await_log(Goal::Written(end))
    }

    /// Number of log segments (tests, figures).
    pub fn segments(&self) -> usize {
        self.inner.log.segment_count()
    }
}

impl Drop for LocalStore {
    fn drop(&mut self) {
        self.inner.stop();
    }
}

/// Reads `users.csv`, the newest whole checkpoint and the log after it.
/// Returns the state, the log, its writer, the position the replay started
/// from and how many records it replayed.
fn load(
    disk: Arc<dyn Disk>,
    dir: &Path,
    options: &StoreOptions,
) -> Result<(State, Arc<Log>, super::log::LogWriter, Pos, u64)> {
    let mut state = State::default();
    load_users(disk.as_ref(), dir, &mut state)?;
    let accounts = state.users.len();
    let (log, writer) = Log::open(disk.clone(), &dir.join("log"), options.segment_size)?;
    checkpoint::remove_leftovers(disk.as_ref(), dir);
    let mut from = None;
    for (pos, path) in checkpoint::list(disk.as_ref(), dir) {
        let why = match disk.read_all(&path) {
            Err(e) => e.to_string(),
            Ok(bytes) => match checkpoint::verify(&bytes) {
                Err(why) => why,
                Ok(covered) if covered != pos => "its name and content disagree".into(),
                Ok(_) if pos > writer.end() => format!("the log ends at {}, before it", writer.end()),
                Ok(_) if pos < log.start() => "the log before it is gone".into(),
                Ok(_) => {
                    let mut candidate = State::default();
                    load_users(disk.as_ref(), dir, &mut candidate)?;
                    match checkpoint::load(&mut candidate, &bytes) {
                        Ok(_) => {
                            state = candidate;
                            from = Some(pos);
                            break;
                        }
                        Err(why) => why,
                    }
                }
            },
        };
        log::warn!("store: {} is not usable ({why}); trying an older one", path.display());
    }
    let checkpointed = from.is_some();
    let from = match from {
        Some(pos) => pos,
        None if log.start() == 0 => 0,
        None => {
            let reason = "no usable checkpoint, and the log's beginning was removed (--retain-days)".into();
            return Err(Error::Corrupt { path: dir.to_path_buf(), line: 0, reason });
        }
    };
    // A checkpoint adds no account of users.csv's, only (1.3) the
    // remote users' and peers' accounts that records made.
    debug_assert!((0..state.users.len()).filter(|&u| !state.is_remote(u)).count() == accounts);
    // The quotas' counts (`store::state::usage::Usage`) cover the log from
    // `usage.from`; a checkpoint from before quotas, or one written before
    // retention removed segments it counted (a crash in between), is
    // counted again from the log's start: the messages before the
    // checkpoint are read for their sizes only.
    let recount = match state.usage.from {
        Some(counted) => counted < log.start(),
        None => checkpointed,
    };
    if recount || state.usage.from.is_none() {
        if recount {
            log::info!("store: counting each user's stored bytes again (--user-quota)");
        }
        state.usage.restart_at(log.start());
    }
    let mut replayed = 0u64;
    log.scan(if recount { log.start() } else { from }, |pos, line| {
        let record = Record::decode(line)?;
        if pos < from {
            state.count_usage(&record, line.len() as u64 + 1);
            return Ok(());
        }
        state.load(pos, line.len() as u64 + 1, &record)?;
        replayed += 1;
        Ok(())
    })?;
    state.end = writer.end();
    state.sync_end = state.end;
    Ok((state, log, writer, from, replayed))
}

impl Inner {
    /// Runs `f` on the locked state with the pending batch to fill.
    /// Returns `f`'s result and the ticket that covers everything applied
    /// so far that needs a sync. Nothing is written until someone waits
    /// for a ticket ([`LocalStore::wait`]) or the committer is called
    /// ([`Inner::flush_later`]).
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut State, &mut Batch) -> std::result::Result<T, Ko>,
    ) -> std::result::Result<(T, Ticket), Ko> {
        self.write_in(|state, pending| f(state, &mut pending.batch))
    }

    /// Like [`Inner::write`], with the whole pending batch: records not
    /// yet on disk can be read back ([`Pending::line_at`]), which a
    /// resend's check needs (`send.rs`'s `send_one`).
    /// Refused with `KO:FULL` below the free-space floor (`--min-free`),
    /// and at once while a write is failing (see `committer`): `KO` means
    /// "not stored".
    pub(super) fn write_in<T>(
        &self,
        f: impl FnOnce(&mut State, &mut Pending) -> std::result::Result<T, Ko>,
    ) -> std::result::Result<(T, Ticket), Ko> {
        self.floor.check(self.disk.as_ref(), &self.dir, self.options.budget.min_free)?;
        self.refuse_while_failing()?;
        self.apply_in(f)
    }

    /// Like [`Inner::write`], for a change that must win over a full disk
    /// (a device's token revoked: `store::devices`). It is admitted below
    /// the `--min-free` floor, which is room kept for the writes under
    /// way, and, once the ballast was spent (`store::ballast`), while the
    /// disk still has [`FIRST_ROOM`] free: the room the ballast left,
    /// unless another program took it. Without that room it is refused
    /// `KO:FULL` before anything changed, and while a write is failing
    /// as every write is.
    pub(super) fn write_first<T>(
        &self,
        f: impl FnOnce(&mut State, &mut Batch) -> std::result::Result<T, Ko>,
    ) -> std::result::Result<(T, Ticket), Ko> {
        let room = || self.disk.space(&self.dir).map_or(true, |space| space.available >= FIRST_ROOM);
        if self.floor.is_spent() && !room() {
            return Err(Ko::disk_full());
        }
        self.refuse_while_failing()?;
        self.apply_in(|state, pending| f(state, &mut pending.batch))
    }

    /// `KO` while a write of the log is failing (see `committer`): on a
    /// cluster the database does not answer, on a single server the disk.
    fn refuse_while_failing(&self) -> std::result::Result<(), Ko> {
        if !self.durable.failed.load(Ordering::SeqCst) {
            return Ok(());
        }
        if self.shared.get().is_some() {
            let why = "the cluster's database does not answer; try again in a moment";
            return Err(ko(Code::Unavailable, why));
        }
        Err(ko(Code::Internal, "the server cannot write to its disk; try later"))
    }

    /// Applies `f` as [`Inner::write_in`] does, below the floor and while
    /// a write is failing too: for the small records nobody waits for
    /// (acknowledgements, last-seen times), which the floor's room is also
    /// there for, and which no client would send again if they were
    /// dropped; they are written after the failing batch, once it is.
    fn apply_in<T>(
        &self,
        f: impl FnOnce(&mut State, &mut Pending) -> std::result::Result<T, Ko>,
    ) -> std::result::Result<(T, Ticket), Ko> {
        if self.following.load(Ordering::SeqCst) {
            // A follower passes every client on to the leader
            // (`store::shared_log`): a write reaching its store is a bug.
            log::error!("store: a write reached a follower's store");
            return Err(ko(Code::Internal, "this node does not lead the cluster; try again"));
        }
        let mut state = self.state.lock();
        // The pending batch has its own lock, taken inside the state lock:
        // records reach it in the order they were applied (so their
        // positions are right), and a leader, which takes only this lock,
        // never queues behind every request waiting for the state.
        let mut pending = self.pending.lock();
        if pending.closed {
            return Err(ko(Code::Internal, "the server is shutting down"));
        }
        let before = pending.end();
        let value = f(&mut state, &mut pending);
        debug_assert_eq!(state.end, pending.end());
        // Off the floor's estimate of the room left (`budget::Floor`).
        self.floor.note(pending.end() - before);
        let ticket = Ticket(state.sync_end);
        let due = state.since_checkpoint >= self.options.checkpoint_records;
        drop(pending);
        drop(state);
        let value = value?;
        if due {
            let _ = self.checkpoint_due.try_send(());
        }
        Ok((value, ticket))
    }

    /// Like [`Inner::write`], for changes nobody waits for: they are
    /// written with the next batch, or by the committer.
    pub(super) fn write_unwaited(
        &self,
        f: impl FnOnce(&mut State, &mut Batch) -> std::result::Result<(), Ko>,
    ) -> std::result::Result<(), Ko> {
        let written = self.apply_in(|state, pending| f(state, &mut pending.batch));
        self.flush_later();
        written.map(drop)
    }

    /// Every record before `pos` must be on disk, even acknowledgements
    /// (which are not synced on their own).
    pub(super) fn sync_through(&self, pos: Pos) -> std::result::Result<(), Ko> {
        self.await_log(Goal::Synced(pos))
    }

    /// Writes what is pending, a last checkpoint, and stops the threads.
    pub(super) fn stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // No write after this one: everything applied is synced, or the
        // disk failed and nothing more ever will be.
        self.give_up_on_failure();
        let end = {
            let state = self.state.lock();
            self.pending.lock().closed = true;
            state.end
        };
        if let Err(ko) = self.sync_through(end) {
            log::error!("store: the last records could not be written: {}", ko.reason);
        }
        self.stop_committer();
        let mut threads = std::mem::take(&mut *self.threads.lock()).into_iter();
        if let Some(committer) = threads.next() {
            let _ = committer.join();
        }
        self.committed_last.store(true, Ordering::SeqCst);
        let _ = self.checkpoint_due.try_send(());
        self.eraser.ring();
        for thread in threads {
            let _ = thread.join();
        }
        // Everything is written: another server (or `wachat users`) may
        // have the directory now, even while handlers still hold the store.
        self.lock.lock().take();
    }
}

impl Pending {
    /// Position after the last record applied.
    pub(super) fn end(&self) -> Pos {
        self.base + self.batch.log.len() as u64
    }

    /// The line at `pos` if it is in memory (pending or being written).
    pub(super) fn line_at(&self, pos: Pos) -> Option<String> {
        let (base, bytes) = if pos >= self.base {
            (self.base, &self.batch.log)
        } else {
            let in_flight = self.in_flight.as_ref().filter(|f| pos >= f.0)?;
            (in_flight.0, &in_flight.1)
        };
        let rest = bytes.get((pos - base) as usize..)?;
        let end = rest.iter().position(|&b| b == b'\n')?;
        String::from_utf8(rest[..end].to_vec()).ok()
    }
}
