//! The jobs a committer batches ([`Job`]: one per request that changes
//! the database), what each gets once its batch commits ([`Outcome`]),
//! and how each is answered. `apply.rs` turns a batch of them into one
//! transaction.
//!
//! **The jobs nobody waits for** (`ACK`, DELIVERED, `SEEN`) are not
//! failed when their batch found no database: they are [`Held`] and tried
//! again with the committer's next batch. A client is told `KO` and sends
//! again; an `ACK` gets no reply, so nobody would: dropped, it left its
//! sender without DELIVERED until the recipient's next `ACK`. (A node
//! that took an `ACK` in the moment after PostgreSQL came back, while it
//! still refused to connect for a moment, `db/mod.rs`, lost it so.)

use std::sync::Arc;

use crate::protocol::{Accepted, Change, Chat, Code, Ko, Text};
use crossbeam_channel::Sender;

use crate::store::{Account, Delivery, Outgoing, UserId};

/// A change for the committer, with where to answer.
pub enum Job {
    Send {
        from: UserId,
        msgs: Vec<Outgoing>,
        done: Sender<Vec<std::result::Result<Accepted, Ko>>>,
    },
    Read {
        user: UserId,
        chat: Chat,
        id: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Join {
        user: UserId,
        room: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Leave {
        user: UserId,
        room: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Register {
        name: String,
        email: String,
        hash: String,
        done: Sender<std::result::Result<Account, Ko>>,
    },
    /// 1.2: a moderation change of `room` by `by` (`MODE`, `OP`, `KICK`,
    /// `BAN`, …, its user `target` looked up), with its notice (`id`,
    /// text) and a removed member's `LEAVE`: all in the batch's
    /// transaction, after its other jobs (`apply::moderate`).
    Moderate {
        by: (UserId, Arc<str>),
        target: Option<(UserId, Arc<str>)>,
        room: String,
        change: Change,
        notice: (String, Text),
        done: Sender<std::result::Result<Made, Ko>>,
    },
    /// Nobody waits for these three.
    Ack {
        user: UserId,
        seq: u64,
        /// The device that acknowledged (1.2): its position in `devices`
        /// is written by this job's transaction, before the inbox is
        /// trimmed to the lowest position there.
        device: Option<Arc<str>>,
    },
    /// One device of `user` acknowledged up to `seq` while another holds
    /// the inbox further back (protocol 1.2): DELIVERED as an `ACK` gives
    /// it, the inbox left as it is.
    Deliver {
        user: UserId,
        seq: u64,
    },
    Seen {
        user: UserId,
        ts: u64,
    },
}

impl Job {
    /// Answers the job with `KO` (the batch failed).
    pub(super) fn fail(self, ko: &Ko) {
        match self {
            Job::Send { msgs, done, .. } => drop(done.send(vec![Err(ko.clone()); msgs.len()])),
            Job::Read { done, .. } | Job::Join { done, .. } | Job::Leave { done, .. } => {
                drop(done.send(Err(ko.clone())))
            }
            Job::Register { done, .. } => drop(done.send(Err(ko.clone()))),
            Job::Moderate { done, .. } => drop(done.send(Err(ko.clone()))),
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                log::warn!("cluster: ACK:{seq} of user #{user} not stored: {}", ko.reason)
            }
            Job::Seen { .. } => {}
        }
    }

    /// True for the jobs nobody waits for: no client would send them
    /// again after a `KO` (see [`Held`]).
    fn unanswered(&self) -> bool {
        matches!(self, Job::Ack { .. } | Job::Deliver { .. } | Job::Seen { .. })
    }

    /// Answers the job with what its transaction gave it (committed).
    pub(super) fn answer(self, outcome: Outcome) {
        match (self, outcome) {
            (Job::Send { done, .. }, Outcome::Sent(results)) => drop(done.send(results)),
            (Job::Read { done, .. } | Job::Join { done, .. } | Job::Leave { done, .. }, Outcome::Done(r)) => {
                drop(done.send(r))
            }
            (Job::Register { done, .. }, Outcome::Account(r)) => drop(done.send(r)),
            (Job::Moderate { done, .. }, Outcome::Moderated(r)) => drop(done.send(r)),
            (_, _) => {}
        }
    }
}

/// Jobs nobody waits for that one committer thread keeps while no
/// database answers; past them, an `ACK` is dropped as before (logged),
/// its DELIVERED said at the recipient's next one. They join the next
/// batch, which is then at most this many more than `MAX_JOBS`.
pub(super) const MAX_HELD: usize = 2000;

/// The jobs nobody waits for of the batches that found no database,
/// kept for the next batch (module docs).
#[derive(Default)]
pub(super) struct Held {
    jobs: Vec<Job>,
    /// How many of the batch being tried came from here (said already
    /// when they were first kept).
    again: usize,
}

impl Held {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The jobs kept, to go first in the next batch (taken before every
    /// batch, even with none kept: the count of those tried again).
    pub fn take(&mut self) -> Vec<Job> {
        self.again = self.jobs.len();
        std::mem::take(&mut self.jobs)
    }

    /// `batch` (the jobs [`Held::take`] gave first) failed with `ko`: if
    /// the database could not be reached, the jobs nobody waits for are
    /// kept (up to [`MAX_HELD`]); every other one is answered `ko`.
    pub fn fail(&mut self, batch: Vec<Job>, ko: &Ko) {
        let again = std::mem::take(&mut self.again);
        for (i, job) in batch.into_iter().enumerate() {
            if ko.code != Code::Unavailable || !job.unanswered() || self.jobs.len() >= MAX_HELD {
                job.fail(ko);
                continue;
            }
            if i >= again
                && let Job::Ack { user, seq, .. } | Job::Deliver { user, seq } = &job
            {
                log::info!("cluster: ACK:{seq} of user #{user} kept until the database answers");
            }
            self.jobs.push(job);
        }
    }

    /// The committer stops: the jobs kept are dropped, each logged.
    pub fn give_up(self, ko: &Ko) {
        self.jobs.into_iter().for_each(|job| job.fail(ko));
    }
}

/// What a job gets once its transaction commits.
pub enum Outcome {
    Sent(Vec<Result<Accepted, Ko>>),
    Done(Result<(), Ko>),
    Account(Result<Account, Ko>),
    Moderated(Result<Made, Ko>),
    Nothing,
}

/// What a moderation change made (`Job::Moderate`).
#[derive(Debug)]
pub struct Made {
    /// The room as registered.
    pub room: Arc<str>,
    /// `false`: it changed nothing (and stored nothing).
    pub changed: bool,
    /// Who is told the 1.2 event (`Rules::aftermath`).
    pub tell: Vec<UserId>,
}

/// A batch's answers (one per job, in order) and the events it gives.
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub deliveries: Vec<Delivery>,
    /// Messages stored by this batch (resends not counted), for the metrics.
    pub new_messages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(seq: u64) -> Job {
        Job::Ack { user: 1, seq, device: None }
    }

    fn seqs(held: &mut Held) -> Vec<u64> {
        held.take()
            .iter()
            .map(|job| match job {
                Job::Ack { seq, .. } => *seq,
                _ => unreachable!("only ACKs here"),
            })
            .collect()
    }

    /// The `ACK` a node took while it could not reach the database (or
    /// refused to try, just after a failed attempt) is kept for the next
    /// batch, not dropped: the recipient never sends it again.
    #[test]
    fn a_batch_without_a_database_keeps_its_acks_and_answers_the_others() {
        let mut held = Held::default();
        let (done, answer) = crossbeam_channel::bounded(1);
        let read = Job::Read { user: 1, chat: Chat::User("bob".into()), id: "m1".into(), done };
        let mut batch = held.take();
        batch.extend([ack(1), read, Job::Seen { user: 1, ts: 5 }, ack(2)]);
        held.fail(batch, &crate::cluster::db::down());
        assert_eq!(answer.try_recv().unwrap().unwrap_err().code, Code::Unavailable, "a client is told");
        // Tried again: failed again, kept again, in order, first.
        let mut batch = held.take();
        assert_eq!(batch.len(), 3);
        batch.push(ack(3));
        held.fail(batch, &crate::cluster::db::down());
        let again = held.take();
        assert!(matches!(
            again[..],
            [Job::Ack { seq: 1, .. }, Job::Seen { .. }, Job::Ack { seq: 2, .. }, Job::Ack { seq: 3, .. }]
        ));
    }

    #[test]
    fn only_an_unreachable_database_keeps_them_and_at_most_max_held() {
        let mut held = Held::default();
        held.fail(vec![ack(1)], &Ko::new(Code::Internal, "a bug"));
        assert!(held.is_empty(), "trying again would not help");
        held.fail((0..MAX_HELD as u64 + 5).map(ack).collect(), &crate::cluster::db::down());
        let kept = seqs(&mut held);
        assert_eq!(kept.len(), MAX_HELD);
        assert_eq!(kept.last(), Some(&(MAX_HELD as u64 - 1)), "the first ones kept, the rest dropped");
    }
}
