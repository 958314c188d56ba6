//! Group commit of an upload's parts on a cluster: the parts that wait
//! are stored by one transaction, as the records of a batch of the log
//! are (the store's committer).
//!
//! ```text
//!  send connections                      the node's parts committer
//!  ────────────────                      ──────────────────────────
//!  a part checked (store::files), queued BEGIN; each part where the one
//!  its OK's place in the output kept,    before it ended, and those that
//!  read the next request           ──▶   came meanwhile (≤ BATCH_BYTES); COMMIT
//!  OK:<received> written, in order ◀──   answer each part
//! ```
//!
//! Why: a part (12,000 bytes, 16 KB of base64) fills a send connection's
//! read buffer, so parts never queued for one commit the way pipelined
//! messages do, and an upload went at one commit a part: 2.6 MB/s through a
//! node against 95.5 on a single server's disk (docs/BENCHMARKS.md). Now
//! a connection leaves its part here and reads the next one; the parts
//! of one upload (a client pipelines 64: `client::files::WINDOW`) and of
//! every upload of the node share a commit. What an `OK` promises is unchanged: it is written once
//! its transaction committed, so (synchronous replication,
//! docs/CLUSTER-OPS.md) once the part is on two disks.
//!
//! Each part is appended only where the bytes received end (`UPDATE …
//! WHERE received = offset`; the parts of one upload that follow each
//! other in a batch by one statement): a part behind one that was lost
//! fails too, and a part another node stored already is not stored twice. The
//! batches commit one after the other, on one connection, so the parts
//! of an upload are stored in the order they were checked.
//!
//! The committer also hashes each upload's parts once they committed
//! (`hashes.rs`), so that the last part's sha256 check does not read the
//! file back.
//!
//! What it may hold is bounded: [`QUEUED`] parts wait at most (a
//! connection that sends faster than they commit waits to queue one,
//! so ten clients' windows, 640 parts, take turns), and one transaction
//! carries at most [`BATCH_BYTES`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::cluster::db::postgres;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

mod hashes;

use hashes::Hashes;

use super::db::{Db, OrKo, count};
use crate::protocol::files::PART_BYTES;
use crate::protocol::{Code, Ko};
use crate::store::files::Stored;

/// Parts waiting for a commit at most, all uploads of the node together
/// (at most 12,000 bytes each: ~3 MB). A connection whose part finds
/// them all taken waits for a place, within its request's deadline.
pub const QUEUED: usize = 256;

/// Bytes of parts one transaction carries at most (87 parts of 12,000
/// bytes): enough for every upload of a busy node to share a commit,
/// few enough that one transaction's rows and memory stay small.
pub const BATCH_BYTES: usize = 1024 * 1024;

/// Parts one statement carries at most (192,000 bytes): statements of
/// up to a whole batch (1 MiB) took the node's memory during ten
/// uploads at once from +8.9 to +15.5 MiB above idle (medians of 4;
/// the database client's buffers grow to the largest statement and
/// keep that size), statements of 16 parts to +10.7, as fast.
pub const RUN_PARTS: usize = 16;

/// One part on its way: where it goes, and whom to tell.
struct Part {
    file: String,
    offset: u64,
    data: Vec<u8>,
    then: Owed,
}

/// The node's parts committer: one thread, one queue, started by the
/// first part (an administrator's command that reads files starts none).
pub struct Parts {
    db: Arc<Db>,
    running: Mutex<Option<(Sender<Part>, JoinHandle<()>)>>,
    /// The uploads' hashes so far: the committer adds to them, the last
    /// part's check takes them ([`Parts::digest`]).
    hashes: Arc<Mutex<Hashes>>,
}

impl Parts {
    pub fn new(db: Arc<Db>) -> Parts {
        Parts { db, running: Mutex::new(None), hashes: Arc::default() }
    }

    /// The sha256 of upload `file`'s first `size` bytes if this node
    /// committed all of them, in order (`hashes.rs`).
    pub fn digest(&self, file: &str, size: u64) -> Option<String> {
        self.hashes.lock().take(file, size)
    }

    /// Queues `data`, to be appended at `offset` of upload `file`;
    /// `then` is told once its transaction committed (or failed). Waits
    /// for a place in the queue within the request's deadline.
    pub fn append(&self, file: &str, offset: u64, data: Vec<u8>, then: Stored) {
        let part = Part { file: file.to_string(), offset, data, then: Owed(Some(then)) };
        let Some(queue) = self.queue() else { return }; // `part`'s `Owed` says KO as it goes
        if let Err(e) = queue.send_deadline(part, crate::store::deadline::until()) {
            drop(e.into_inner());
        }
    }

    /// The queue, its thread started if it is not yet.
    fn queue(&self) -> Option<Sender<Part>> {
        let mut running = self.running.lock();
        if running.is_none() {
            let (queue, parts) = crossbeam_channel::bounded(QUEUED);
            let (db, hashes) = (self.db.clone(), self.hashes.clone());
            let thread =
                std::thread::Builder::new().name("pg-parts".into()).spawn(move || run(&db, &parts, &hashes));
            match thread {
                Ok(thread) => *running = Some((queue, thread)),
                Err(e) => log::error!("cluster: cannot start the parts committer: {e}"),
            }
        }
        running.as_ref().map(|(queue, _)| queue.clone())
    }
}

/// Commits what is queued, then the thread ends.
impl Drop for Parts {
    fn drop(&mut self) {
        if let Some((queue, thread)) = self.running.lock().take() {
            drop(queue);
            let _ = thread.join();
        }
    }
}

/// A part's answer, given once: a part dropped unanswered (the node
/// stopping, a bug in its batch) is answered `KO`, so its connection
/// never waits for it.
struct Owed(Option<Stored>);

impl Owed {
    fn give(mut self, result: Result<(), Ko>) {
        if let Some(then) = self.0.take() {
            then(result);
        }
    }
}

impl Drop for Owed {
    fn drop(&mut self) {
        if let Some(then) = self.0.take() {
            let why = "this part was not stored in time (the node is busy or stopping): send it again";
            then(Err(Ko::new(Code::Unavailable, why)));
        }
    }
}

/// The committer thread: a batch at a time until the queue is closed
/// and empty. The parts a batch appended are hashed before they are
/// answered, so that the last part's check finds every part before it.
fn run(db: &Db, queue: &Receiver<Part>, hashes: &Mutex<Hashes>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        // A bug in a batch must not stop the uploads of the node: its
        // parts are answered KO (their `Owed`s, dropped).
        let committed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commit(db, queue, &mut batch)));
        match committed {
            Ok(Ok(results)) => {
                let mut hashes = hashes.lock();
                for (part, result) in batch.iter().zip(&results) {
                    if let Ok(true) = result {
                        hashes.add(&part.file, part.offset, &part.data);
                    }
                }
                drop(hashes);
                for (part, result) in batch.into_iter().zip(results) {
                    part.then.give(result.map(drop));
                }
            }
            Ok(Err(ko)) => batch.into_iter().for_each(|part| part.then.give(Err(ko.clone()))),
            Err(_) => log::error!("cluster: a batch of parts failed with a panic (a bug); they got KO"),
        }
    }
}

/// One transaction for `batch`, which takes in the parts that come while
/// it is written, up to [`BATCH_BYTES`]: the next parts of a pipelined
/// upload arrive during the statements of the first, and commit with it.
/// Each part's answer once it committed (`Err` for a part not appended
/// where the bytes received end; `Ok(true)` for one this transaction
/// appended, `Ok(false)` for one stored already), or the `KO` of the
/// whole batch.
fn commit(db: &Db, queue: &Receiver<Part>, batch: &mut Vec<Part>) -> Result<Vec<Result<bool, Ko>>, Ko> {
    const DOING: &str = "storing parts";
    let began = Instant::now();
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut bytes: usize = batch.iter().map(|part| part.data.len()).sum();
    loop {
        for run in runs(&batch[results.len()..]) {
            results.extend(append_run(&mut tx, run)?);
        }
        // Every part that came meanwhile, before the next statement: it
        // took one part at a time, so each part of a window was a
        // statement of its own (16,788 statements for 16,788 parts,
        // PostgreSQL's counts of one `files_cost` run).
        let written = batch.len();
        while bytes + PART_BYTES <= BATCH_BYTES {
            match queue.try_recv() {
                Ok(part) => {
                    bytes += part.data.len();
                    batch.push(part);
                }
                Err(_) => break,
            }
        }
        if batch.len() == written {
            break;
        }
    }
    let committing = Instant::now();
    tx.commit().or_ko(DOING)?;
    if let Some(timed) = crate::metrics::timed() {
        timed.pg_commit.observe(committing.elapsed().as_secs_f64());
        timed.pg_transaction.observe(began.elapsed().as_secs_f64());
    }
    let metrics = crate::metrics::get();
    metrics.part_commits.inc();
    metrics.parts_committed.inc_by(batch.len() as u64);
    Ok(results)
}

/// `parts` cut where one does not follow the one before it in the same
/// upload (another upload's, an empty one, a gap), and every
/// [`RUN_PARTS`]: each run can be appended by one statement.
fn runs(parts: &[Part]) -> impl Iterator<Item = &[Part]> {
    parts
        .chunk_by(|a, b| {
            a.file == b.file
                && !a.data.is_empty()
                && !b.data.is_empty()
                && b.offset == a.offset + a.data.len() as u64
        })
        .flat_map(|run| run.chunks(RUN_PARTS))
}

/// Appends a run of parts that follow each other in one upload in `tx`,
/// by one statement ([`append_chunks`]) where a statement a part cost
/// PostgreSQL a parse and the committer a round trip each (the parts of
/// an upload that came while the statements before them ran are one
/// run). Only where the bytes received end at the run's start; else (a
/// resend, a part lost before it) nothing was written and each part is
/// answered on its own ([`append`]). Each part's answer, as [`commit`]'s.
fn append_run(tx: &mut postgres::Transaction<'_>, run: &[Part]) -> Result<Vec<Result<bool, Ko>>, Ko> {
    if run.len() > 1 && append_chunks(tx, run, "storing parts")? {
        return Ok(run.iter().map(|_| Ok(true)).collect());
    }
    run.iter().map(|part| append(tx, part)).collect()
}

/// Appends one part in `tx` ([`append_chunks`]), if the bytes received
/// end where it begins; else it is stored already (another node's, a
/// resend), or a part before it was lost (`KO`). Whether it appended the
/// part's bytes.
fn append(tx: &mut postgres::Transaction<'_>, part: &Part) -> Result<Result<bool, Ko>, Ko> {
    const DOING: &str = "storing a part";
    if !part.data.is_empty() && append_chunks(tx, std::slice::from_ref(part), DOING)? {
        return Ok(Ok(true));
    }
    let end = (part.offset + part.data.len() as u64) as i64;
    let row = tx.query_opt("SELECT received FROM file_blobs WHERE file = $1", &[&part.file]).or_ko(DOING)?;
    let received = row.map_or(0, |row| row.get::<i64>(0));
    if received >= end {
        return Ok(Ok(false));
    }
    Ok(Err(crate::store::files::part_gap(count(received))))
}

/// `run`'s chunks (parts of one upload, each following the one before,
/// none empty) and the upload's new length, in one statement and one
/// round trip, if the bytes received end where the run begins: whether
/// it appended them.
fn append_chunks(tx: &mut postgres::Transaction<'_>, run: &[Part], doing: &str) -> Result<bool, Ko> {
    let (first, last) = (&run[0], &run[run.len() - 1]);
    let offsets: Vec<i64> = run.iter().map(|part| part.offset as i64).collect();
    let chunks: Vec<&[u8]> = run.iter().map(|part| part.data.as_slice()).collect();
    let end = (last.offset + last.data.len() as u64) as i64;
    let appended = tx
        .execute(
            "WITH moved AS (UPDATE file_blobs SET received = $3 WHERE file = $1 AND received = $2 RETURNING file) \
             INSERT INTO file_chunks (file, thumb, off, data) \
             SELECT moved.file, false, c.off, c.data FROM moved, unnest($4::bigint[], $5::bytea[]) AS c(off, data)",
            &[&first.file, &offsets[0], &end, &offsets, &chunks],
        )
        .or_ko(doing)?;
    Ok(appended == run.len() as u64)
}
