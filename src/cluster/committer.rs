//! The node's committer: group commit on PostgreSQL.
//!
//! ```text
//!  request threads                       committer threads (a leader, and
//!  ───────────────                       helpers when the queue is long)
//!                                        ───────────────────────────────
//!  send a Job with a channel of   ──▶    take every job waiting (up to MAX_JOBS)
//!  its own, wait on it                   BEGIN; apply them all (apply.rs); COMMIT
//!  reply OK / KO                  ◀──    answer each job, then hand the batch's
//!                                        events to `deliver` (this node's users
//!                                        and, over NATS, the others')
//! ```
//!
//! One transaction holds a whole batch: while it commits, new requests
//! queue for the next one, so the busier the node, the more requests
//! share each commit — the same lever as the local store's fsync. Nobody
//! hears of a change before its transaction committed: an `OK:<id>:<ts>`
//! is a committed row.
//!
//! When the database fails, every job of the batch answers `KO:UNAVAILABLE`
//! (a commit whose outcome is unknown too: the client resends, and the
//! resend window recognises the message if it did commit), but for those
//! nobody waits for (`ACK`s), kept and tried again with the next batch
//! (`job.rs`, [`Held`]): a committer holding some takes a batch at least
//! every [`RETRY_HELD`], with no new job if none came. The next batch
//! connects again, to whichever host of `--store` is primary now; until
//! one answers, jobs fail at once. A batch has [`super::db::DEADLINE`]: a
//! database that hangs gets its connection cut (`watchdog.rs`).
//!
//! Why an `OK` survives a failover: the primary runs with synchronous
//! replication (docs/CLUSTER.md), so its `COMMIT` returns only once the
//! secondary has the transaction; a node paused mid-commit and woken
//! after the failover finds its connection gone (the old primary was
//! stopped) or refused (demoted, read-only), and answers `KO`, never `OK`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::apply;
use super::db::{Db, Link};
pub use super::job::Job;
use super::job::{Held, Outcome};
use super::names::Names;
use super::tx::{Statements, Tx};
use crate::error::{Error, Result};
use crate::store::Deliver;
use crate::store::budget::Budget;

/// Most jobs in one transaction: enough for group commit to pay, few
/// enough that one batch's locks are held briefly.
const MAX_JOBS: usize = 2000;

/// Committer threads per node, each on its own connection. They do not
/// all take work all the time: the count follows the load.
///
/// - **The leader** (committer 0) takes every batch while it keeps up:
///   idle, it blocks on the queue and takes whatever is waiting.
/// - **A helper** (the others) sleeps until, right after a job was
///   queued, more than [`SPILL`] jobs are waiting. Then the leader (and
///   any helper already awake) is inside a transaction and cannot keep up,
///   so the helper takes the waiting jobs as a batch of its own; it goes
///   on while the queue stays longer than [`SPILL`], then sleeps again.
///
/// At low rates this is one committer: bigger batches, and no transaction
/// of the node waits for another's `inboxes` row locks (`SELECT … FOR
/// UPDATE`), which with three always-on committers doubled the p50.
/// Under load the queue grows while the leader commits and the helpers
/// join in: while one waits for a round trip or a commit, another works.
/// Measured on two nodes (docs/CLUSTER.md, "Figures").
pub const COMMITTERS: usize = 3;

/// Jobs waiting beyond which a helper committer wakes (see [`COMMITTERS`]).
/// Measured: at 2,000 msgs/s offered the p50 is that of one committer
/// (the helpers hardly ever wake), at P = 100 the throughput that of three
/// (one committer alone makes ~15% less); 32 measured the same.
pub const SPILL: usize = 16;

/// How often a committer holding jobs nobody waits for tries them again
/// while no new job comes (module docs): a beat's quarter, as the inbox
/// poll while NATS is down.
const RETRY_HELD: Duration = Duration::from_millis(250);

/// The handle request threads submit jobs through.
pub struct Committer {
    /// The job queue, and the helpers' wake-up calls (see [`COMMITTERS`]).
    jobs: Mutex<Option<(Sender<Queued>, Sender<()>)>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The budgets its batches check; a moderation change checks its
    /// author's quota with them too (`moderation::change`).
    pub budget: Budget,
}

impl Committer {
    /// Starts [`COMMITTERS`] committer threads, each on its own
    /// connection, taking batches from one queue: a leader, and helpers
    /// that join in when the queue grows long.
    pub fn start(db: Arc<Db>, names: Arc<Names>, deliver: Deliver, budget: Budget) -> Result<Committer> {
        let (jobs, queue) = crossbeam_channel::unbounded();
        // One call per helper at most: a call nobody took yet is enough.
        let (wake, calls) = crossbeam_channel::bounded(COMMITTERS - 1);
        let deliver = Arc::new(deliver);
        let clock = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for i in 0..COMMITTERS {
            let (db, names, queue, deliver, clock) =
                (db.clone(), names.clone(), queue.clone(), deliver.clone(), clock.clone());
            let role = if i == 0 { Role::Leader } else { Role::Helper(calls.clone()) };
            let thread = std::thread::Builder::new()
                .name(format!("pg-committer-{i}"))
                .spawn(move || run(&db, &names, &queue, &role, &deliver, &clock, &budget))
                .map_err(|e| Error::io("cluster: starting a committer thread", e))?;
            threads.push(thread);
        }
        Ok(Committer { jobs: Mutex::new(Some((jobs, wake))), threads: Mutex::new(threads), budget })
    }

    /// Hands a job to the committer; `false` if it stopped. Calls a
    /// helper when more than [`SPILL`] jobs are waiting.
    pub fn submit(&self, job: Job) -> bool {
        match &*self.jobs.lock() {
            Some((jobs, wake)) => {
                let queued = jobs.send((Instant::now(), job)).is_ok();
                if queued {
                    crate::metrics::get().pg_queued.inc();
                }
                if queued && jobs.len() > SPILL {
                    let _ = wake.try_send(()); // full: enough calls are pending
                }
                queued
            }
            None => false,
        }
    }

    /// Commits what is queued, then stops the threads.
    pub fn stop(&self) {
        self.jobs.lock().take();
        for thread in std::mem::take(&mut *self.threads.lock()) {
            let _ = thread.join();
        }
    }
}

/// A job and when it was queued (the `pg_queue` metric).
type Queued = (Instant, Job);

/// Which jobs a committer thread takes (see [`COMMITTERS`]).
enum Role {
    /// Every job, as soon as it is queued.
    Leader,
    /// Jobs only while more than [`SPILL`] wait; sleeps on these calls
    /// otherwise.
    Helper(Receiver<()>),
}

/// The committer stops: every sender is gone (the leader commits what
/// is left in the queue first).
struct Stopped;

impl Role {
    /// The first job of the next batch; with `within`, `None` if none
    /// came in that time (a batch of the jobs held is tried anyway).
    fn next(
        &self,
        queue: &Receiver<Queued>,
        within: Option<Duration>,
    ) -> std::result::Result<Option<Queued>, Stopped> {
        use crossbeam_channel::RecvTimeoutError::{Disconnected, Timeout};
        match self {
            Role::Leader => match within {
                None => queue.recv().map(Some).map_err(|_| Stopped),
                Some(within) => match queue.recv_timeout(within) {
                    Ok(job) => Ok(Some(job)),
                    Err(Timeout) => Ok(None),
                    Err(Disconnected) => Err(Stopped),
                },
            },
            Role::Helper(calls) => loop {
                if queue.len() > SPILL
                    && let Ok(job) = queue.try_recv()
                {
                    return Ok(Some(job));
                }
                match within {
                    None => calls.recv().map_err(|_| Stopped)?,
                    Some(within) => match calls.recv_timeout(within) {
                        Ok(()) => {}
                        Err(Timeout) => return Ok(None),
                        Err(Disconnected) => return Err(Stopped),
                    },
                }
            },
        }
    }
}

/// A committer thread: a batch at a time until every sender is gone.
fn run(
    db: &Db,
    names: &Names,
    queue: &Receiver<Queued>,
    role: &Role,
    deliver: &Deliver,
    clock: &AtomicU64,
    budget: &Budget,
) {
    let mut client: Option<Link> = None;
    let mut statements = Statements::default();
    let mut held = Held::default();
    while let Ok(first) = role.next(queue, (!held.is_empty()).then_some(RETRY_HELD)) {
        let mut queued: Vec<Queued> = first.into_iter().collect();
        while queued.len() < MAX_JOBS {
            match queue.try_recv() {
                Ok(job) => queued.push(job),
                Err(_) => break,
            }
        }
        let metrics = crate::metrics::get();
        let mut batch = held.take();
        batch.extend(queued.into_iter().map(|(at, job)| {
            metrics.pg_queued.dec();
            metrics.pg_queue.observe(at.elapsed().as_secs_f64());
            job
        }));
        // A batch whose connection broke before its COMMIT was sent (the
        // database restarted while the connection sat idle: nothing of it
        // is stored) is tried once more, on a new connection. Nobody waits
        // for an `ACK`: failing it would leave the sender's DELIVERED
        // unsaid until the next one.
        let mut again = false;
        loop {
            if client.as_ref().is_none_or(|link| !link.usable()) {
                if let Some(link) = client.take().filter(|link| link.client.is_closed()) {
                    db.broken(&link);
                }
                // Db::connect fails at once for a moment after no host
                // answered: a down database costs a job no connection attempt.
                match db.connect_committer() {
                    Ok(link) => {
                        log::info!("cluster: committer connected to {}", db.url);
                        client = Some(link);
                        statements = Statements::default(); // prepared on the old connection
                    }
                    Err(e) => log::debug!("cluster: committer cannot reach the database: {e}"),
                }
            }
            let Some(link) = client.as_mut() else {
                held.fail(batch, &super::db::down());
                break;
            };
            // The batch's deadline: a database that hangs gets the
            // connection cut, and the batch fails like one that died.
            let armed = db.arm(link);
            let conn = &mut link.client;
            // A bug in a batch must not take every later request down with
            // this thread: its jobs get KO:INTERNAL (their channels close),
            // and the connection, maybe mid-transaction, is replaced.
            let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                commit_batch(conn, &mut statements, names, batch, clock, deliver, budget, &mut held)
            }));
            drop(armed);
            match committed {
                Ok(Some(back)) if !again => {
                    log::info!(
                        "cluster: the database connection broke before a batch's COMMIT; trying it on a new one"
                    );
                    (batch, again) = (back, true);
                }
                Ok(Some(back)) => {
                    held.fail(back, &super::db::down());
                    break;
                }
                Ok(None) => break,
                Err(_) => {
                    log::error!("cluster: a batch failed with a panic (a bug); its requests got KO:INTERNAL");
                    client = None;
                    break;
                }
            }
        }
    }
    held.give_up(&super::db::down());
    log::debug!("cluster: committer stopped");
}

/// One transaction for the whole batch; retried once if the database
/// chose it as a deadlock's victim (another node locked the same rows).
/// A batch that does not fit on the database's disk is refused whole with
/// `KO:FULL` (`budget.rs`); the next one tries again. A batch whose
/// connection was found closed before its `COMMIT` went out is given back,
/// unanswered, to be tried on another connection. A batch that fails
/// with the database unreachable leaves its jobs nobody waits for in
/// `held`.
#[allow(clippy::too_many_arguments)]
fn commit_batch(
    conn: &mut postgres::Client,
    statements: &mut Statements,
    names: &Names,
    batch: Vec<Job>,
    clock: &AtomicU64,
    deliver: &Deliver,
    budget: &Budget,
    held: &mut Held,
) -> Option<Vec<Job>> {
    let mut tries = 0;
    let mut commit_sent;
    let result = loop {
        tries += 1;
        commit_sent = false;
        let began = std::time::Instant::now();
        let attempt = conn.transaction().and_then(|mut tx| {
            let applied = apply::apply(&mut Tx::new(&mut tx, statements), names, &batch, clock, budget)?;
            commit_sent = true;
            let committing = std::time::Instant::now();
            tx.commit()?;
            crate::metrics::get().pg_commit.observe(committing.elapsed().as_secs_f64());
            Ok(applied)
        });
        let metrics = crate::metrics::get();
        metrics.pg_transaction.observe(began.elapsed().as_secs_f64());
        metrics.batch_records.observe(batch.len() as f64);
        match attempt {
            Err(e) if tries < 3 && is_retryable(&e) => {
                log::info!("cluster: batch retried ({e})");
            }
            other => break other,
        }
    };
    match result {
        Ok(applied) => {
            crate::metrics::get().messages.inc_by(applied.new_messages);
            for (job, outcome) in batch.into_iter().zip(applied.outcomes) {
                if let Outcome::Account(Ok(account)) = &outcome {
                    names.learn(account.id, &account.name);
                }
                job.answer(outcome);
            }
            deliver(&applied.deliveries);
        }
        Err(_) if !commit_sent && conn.is_closed() => return Some(batch),
        Err(e) => {
            let ko = super::budget::disk_full(&e)
                .unwrap_or_else(|| super::db::unavailable("committing a batch", &e));
            held.fail(batch, &ko);
        }
    }
    None
}

/// A deadlock or a serialization failure: trying again may succeed.
fn is_retryable(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::UNIQUE_VIOLATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(seq: u64) -> Job {
        Job::Ack { user: 1, seq, device: None }
    }

    #[test]
    fn the_leader_takes_any_job_and_stops_when_the_queue_is_closed_and_empty() {
        let (jobs, queue) = crossbeam_channel::unbounded();
        jobs.send((Instant::now(), ack(1))).unwrap();
        drop(jobs);
        assert!(matches!(Role::Leader.next(&queue, None), Ok(Some((_, Job::Ack { seq: 1, .. })))));
        assert!(Role::Leader.next(&queue, None).is_err());
    }

    #[test]
    fn a_helper_takes_work_only_when_more_than_spill_jobs_wait() {
        let (jobs, queue) = crossbeam_channel::unbounded();
        let (wake, calls) = crossbeam_channel::bounded(1);
        let helper = Role::Helper(calls);
        for seq in 0..SPILL as u64 {
            jobs.send((Instant::now(), ack(seq))).unwrap();
        }
        // SPILL jobs waiting, and a call: the helper leaves them to the
        // leader (and stops once nobody can call it any more).
        wake.send(()).unwrap();
        drop(wake);
        assert!(helper.next(&queue, None).is_err());
        assert_eq!(queue.len(), SPILL);
        jobs.send((Instant::now(), ack(SPILL as u64))).unwrap();
        assert!(matches!(helper.next(&queue, None), Ok(Some((_, Job::Ack { seq: 0, .. })))));
    }

    /// A committer holding jobs (the database down) wakes with no new job
    /// to try them again, and still stops when the queue closes.
    #[test]
    fn a_committer_holding_jobs_wakes_to_try_them_again() {
        let (jobs, queue) = crossbeam_channel::unbounded::<Queued>();
        let (wake, calls) = crossbeam_channel::bounded(1);
        let within = Some(Duration::from_millis(10));
        assert!(matches!(Role::Leader.next(&queue, within), Ok(None)));
        let helper = Role::Helper(calls);
        assert!(matches!(helper.next(&queue, within), Ok(None)));
        drop((jobs, wake));
        assert!(Role::Leader.next(&queue, within).is_err());
        assert!(helper.next(&queue, within).is_err());
    }

    #[test]
    fn submit_calls_a_helper_only_past_spill() {
        let (jobs, queue) = crossbeam_channel::unbounded();
        let (wake, calls) = crossbeam_channel::bounded(COMMITTERS - 1);
        let committer = Committer {
            jobs: Mutex::new(Some((jobs, wake))),
            threads: Mutex::new(Vec::new()),
            budget: Budget::NONE,
        };
        for seq in 0..SPILL as u64 {
            assert!(committer.submit(ack(seq)));
        }
        assert!(calls.is_empty());
        assert!(committer.submit(ack(SPILL as u64)));
        assert_eq!(calls.len(), 1);
        committer.stop();
        assert!(!committer.submit(ack(0)));
        assert_eq!(queue.len(), SPILL + 1);
    }
}
