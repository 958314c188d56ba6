//! The presence of other nodes' users, told to this node's roommates
//! (`JOINED`/`LEFT`) by a thread of its own.
//!
//! A user who comes online on another node appears in the directory
//! (an `ON` notice, or the heartbeat's scan); whom to tell is the single
//! server's rule (`server::presence::tell`), with the user's rooms and
//! blocks read from the database: up to two queries. The dispatcher
//! used to read them itself, between the notices it hands on, and the
//! dispatcher is also what tells this node where the other nodes' users
//! are: while it read presence for a class logging in at once, messages
//! committed here were not yet sent to the node their recipient had just
//! logged in on, and arrived there through a gap, refilled from the
//! database one user at a time on that node's dispatcher. In the latency
//! run of docs/CLUSTER.md (100 users logging in on one node, messages
//! from the other) that was the tail (issue 54): p99 134-426 ms and
//! 90-734 events refilled, against 43-77 ms and 1-46 with this thread.
//! Now the directory changes at once and its presence waits its turn
//! here.
//!
//! What waits is bounded ([`MAX_WAITING`]): presence is ephemeral (a
//! client learns it again with `USERS`), so past the bound a change is
//! dropped with a warning, never a thread or the dispatcher held.
//! Changes are told in the order they came, from the dispatcher and the
//! heartbeat alike, so a user's `LEFT` never overtakes its `JOINED`.
//! When the node stops, the queue closes and the thread ends once it has
//! told what waited.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;

use super::db::Db;
use super::reads;
use crate::router::Router;
use crate::store::UserId;

/// Presence changes waiting to be told: a class of a few hundred logging
/// in at once, several times over (a change costs ~50 bytes).
pub const MAX_WAITING: usize = 4_096;

/// A user of another node came online here (`true`) or went offline.
struct Change {
    user: UserId,
    name: Arc<str>,
    online: bool,
}

/// The presence of other nodes' users: the queue, and what its thread
/// reads and tells with.
pub struct Presence {
    db: Arc<Db>,
    router: Arc<Router>,
    /// `--presence-limit`: a room with more members tells nobody.
    limit: usize,
    /// `None` once the node stops.
    changes: Mutex<Option<Sender<Change>>>,
    /// The thread's end, until it starts.
    waiting: Mutex<Option<Receiver<Change>>>,
}

impl Presence {
    pub fn new(db: Arc<Db>, router: Arc<Router>, limit: usize) -> Presence {
        let (changes, waiting) = crossbeam_channel::bounded(MAX_WAITING);
        Presence { db, router, limit, changes: Mutex::new(Some(changes)), waiting: Mutex::new(Some(waiting)) }
    }

    /// `user` (called `name`) of another node came online (`true`) or
    /// went offline: its roommates here are told, by the presence thread.
    pub fn tell(&self, user: UserId, name: &str, online: bool) {
        let change = Change { user, name: name.into(), online };
        if let Some(changes) = &*self.changes.lock()
            && let Err(TrySendError::Full(_)) = changes.try_send(change)
        {
            log::warn!("cluster: {MAX_WAITING} presence changes wait already; {name}'s is not told");
        }
    }

    /// The presence thread: tells each change in turn, until [`stop`](Self::stop).
    pub fn run(&self) {
        let Some(waiting) = self.waiting.lock().take() else { return };
        while let Ok(change) = waiting.recv() {
            self.told(&change);
        }
    }

    /// Closes the queue: the thread ends once it told what waits.
    pub fn stop(&self) {
        self.changes.lock().take();
    }

    /// `JOINED`/`LEFT` of a user of another node to this node's
    /// roommates, by the rule a single server tells its own users' by
    /// (`server::presence::tell`), with what a node reads: the user's
    /// rooms (`store::roommates`) and its blocks.
    fn told(&self, change: &Change) {
        let user = change.user;
        let roommates = || match reads::rooms(&self.db, user, self.limit) {
            Ok(rooms) => crate::store::roommates(user, self.limit, &rooms),
            Err(ko) => {
                log::debug!("cluster: presence of {}: {}", change.name, ko.reason);
                Vec::new()
            }
        };
        let blocked = || {
            let keys = crate::store::settings::Keys::Of(user);
            let kept = super::settings::read(&self.db, &crate::store::prefs::BLOCK, keys);
            crate::store::settings::accounts(kept.unwrap_or_default())
        };
        crate::server::presence::tell(&self.router, &change.name, change.online, roommates, blocked);
    }
}
