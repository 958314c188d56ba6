//! A cluster follower's terms (`store::shared_log`): a batch the leader
//! committed to the shared log, applied to the state with the leader's
//! code ([`State::follow`]) and written to this node's files, then ended
//! as a leader's term is ([`Inner::end_term`](super::Inner::end_term)): its events handed to the
//! router, in order, and whoever waited for its position woken. And
//! the moment a follower becomes the leader ([`LocalStore::lead`]).

use std::sync::atomic::Ordering;

use super::{Leading, TermEnd};
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::action::{Action, ActionsSince};
use crate::store::local::LocalStore;
use crate::store::local::erase::Erasure;
use crate::store::record::{Pos, Record};
use crate::store::shared_log::Duty;
use crate::store::state::{Batch, State};

impl LocalStore {
    /// This store's part in a cluster (`store::shared_log`).
    pub fn role(&self) -> Duty {
        match (self.inner.following.load(Ordering::SeqCst), self.inner.shared.get()) {
            (true, _) => Duty::Follower,
            (false, Some(_)) => Duty::Leader,
            (false, None) => Duty::Alone,
        }
    }

    /// Where this node's copy of the log ends: the leader's next batch
    /// applies there.
    pub fn end(&self) -> Pos {
        self.inner.state.lock().end
    }

    /// A follower applies the batch the leader committed at `base`: its
    /// new accounts' rows of `users.csv` and its records, in the leader's
    /// order, with the events they push handed to the router as the
    /// leader's were. `Err` if `base` is not where this copy ends, or a
    /// record does not apply (a copy that differs from the leader's): the
    /// node must not go on with this state.
    pub fn apply_shared(&self, base: Pos, users: &[u8], log: &[u8]) -> Result<()> {
        let inner = &self.inner;
        if !inner.following.load(Ordering::SeqCst) {
            return Err(Error::Usage("store: only a follower applies the leader's batches".into()));
        }
        // The leadership of this term: a follower's only leader is the
        // thread that applies the shared log, one batch at a time.
        {
            let mut queue = inner.durable.queue.lock();
            if queue.leading {
                return Err(Error::Usage("store: two batches of the shared log applied at once".into()));
            }
            queue.leading = true;
        }
        let applied = self.apply_batch(base, users, log);
        let done = match applied {
            Ok(batch) => {
                let end = base + log.len() as u64;
                // Not synced: the shared log is the durable copy, and a
                // start reads again what a crash took from this one.
                let mut users = batch.users.clone();
                let written =
                    super::write::write(inner, &mut inner.files.lock(), base, &mut users, log, false);
                if let Err(e) = written {
                    inner.durable.queue.lock().leading = false;
                    return Err(e);
                }
                TermEnd::Wrote { batch, end, synced: true }
            }
            Err(e) => {
                inner.durable.queue.lock().leading = false;
                return Err(e);
            }
        };
        inner.end_term(done, Leading::Request { want_sync: true });
        Ok(())
    }

    /// The state part of [`LocalStore::apply_shared`]: the accounts, then
    /// each record at its position, and the erasures its deletions ask.
    fn apply_batch(&self, base: Pos, users: &[u8], log: &[u8]) -> Result<Batch> {
        let inner = &self.inner;
        let corrupt = |reason: String| Error::Corrupt { path: inner.dir.join("log"), line: 0, reason };
        let mut batch = Batch::default();
        let mut erasures = Vec::new();
        let due = {
            let mut state = inner.state.lock();
            let mut pending = inner.pending.lock();
            if state.end != base || pending.end() != base {
                return Err(corrupt(format!(
                    "the shared log's batch begins at position {base}, this copy ends at {}",
                    state.end
                )));
            }
            crate::store::users::apply_rows(&mut state, users).map_err(corrupt)?;
            let text = std::str::from_utf8(log).map_err(|_| corrupt(format!("batch {base}: not UTF-8")))?;
            for line in text.split_terminator('\n') {
                let record = Record::decode(line).map_err(|e| corrupt(format!("batch {base}: {e}")))?;
                let at = state.end;
                state
                    .follow(&record, line.len() as u64 + 1, &mut batch)
                    .map_err(|e| corrupt(format!("position {at}: {e}")))?;
                erasures.extend(erasure(&state, &record, ActionsSince(inner.actions_since)));
            }
            pending.base = state.end;
            batch.users = users.to_vec();
            state.since_checkpoint >= inner.options.checkpoint_records
        };
        for e in erasures {
            if let Err(err) = inner.eraser.queue(inner.disk.as_ref(), e) {
                log::error!("store: recording an erasure in erase.csv: {err}");
            }
        }
        if due {
            let _ = inner.checkpoint_due.try_send(());
        }
        Ok(batch)
    }

    /// Makes this follower the leader: from now on it serves writes as a
    /// single server does, committing each batch to the shared log before
    /// its own disk. Every batch of the shared log must be applied first
    /// (the cluster holds the lease and has read the log to its end).
    pub fn lead(&self) -> Result<()> {
        if !self.inner.following.swap(false, Ordering::SeqCst) {
            return Err(Error::Usage("store: only a follower may become the leader".into()));
        }
        Ok(())
    }
}

/// The erasure a stored deletion asks for (`DELETE`, or an admin's): what
/// the leader queues once it answered the `DELETE`, found here in its
/// record, so that every copy of the log loses the text.
fn erasure(state: &State, record: &Record, since: ActionsSince) -> Option<Erasure> {
    let Record::Msg { msg, .. } = record else { return None };
    since.parse(&msg.id, msg.ts)?;
    let text: &Text = &msg.text;
    let (author, id) = match Action::of(&msg.id, text)? {
        Action::Delete { target } => (msg.from.to_string(), target),
        Action::Remove { target, author } => {
            let registered = state.user_id(&author).map(|u| state.users[u].name.to_string());
            (registered.unwrap_or(author), target)
        }
        _ => return None,
    };
    Some(Erasure { author, chat: msg.to.to_string(), id })
}
