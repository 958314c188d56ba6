//! The jobs a committer batches ([`Job`]: one per request that changes
//! the database), what each gets once its batch commits ([`Outcome`]),
//! and how each is answered. `apply.rs` turns a batch of them into one
//! transaction.

use std::sync::Arc;

use crate::protocol::{Accepted, Chat, Ko};
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
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                log::warn!("cluster: ACK:{seq} of user #{user} not stored: {}", ko.reason)
            }
            Job::Seen { .. } => {}
        }
    }

    /// Answers the job with what its transaction gave it (committed).
    pub(super) fn answer(self, outcome: Outcome) {
        match (self, outcome) {
            (Job::Send { done, .. }, Outcome::Sent(results)) => drop(done.send(results)),
            (Job::Read { done, .. } | Job::Join { done, .. } | Job::Leave { done, .. }, Outcome::Done(r)) => {
                drop(done.send(r))
            }
            (Job::Register { done, .. }, Outcome::Account(r)) => drop(done.send(r)),
            (_, _) => {}
        }
    }
}

/// What a job gets once its transaction commits.
pub enum Outcome {
    Sent(Vec<Result<Accepted, Ko>>),
    Done(Result<(), Ko>),
    Account(Result<Account, Ko>),
    Nothing,
}

/// A batch's answers (one per job, in order) and the events it gives.
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub deliveries: Vec<Delivery>,
    /// Messages stored by this batch (resends not counted), for the metrics.
    pub new_messages: u64,
}
