//! The presence of other nodes' users, told to this node's roommates
//! (`JOINED`/`LEFT`) by a thread of its own.
//!
//! A user who comes online on another node appears in the directory
//! (an `ON` notice, or the heartbeat's scan); whom to tell is read from
//! the database: the user's blocks and rooms, two queries. The dispatcher
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

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::node::{Node, POLL_WHEN_DOWN};
use super::reads;
use crate::protocol::Event;
use crate::store::UserId;

/// Presence changes waiting to be told: a class of a few hundred logging
/// in at once, several times over (a change costs ~50 bytes).
pub const MAX_WAITING: usize = 4_096;

/// A user of another node came online here (`true`) or went offline.
pub struct Change {
    user: UserId,
    name: Arc<str>,
    online: bool,
}

/// The queue's two ends: the node keeps the sender, its presence thread
/// the receiver.
pub fn queue() -> (Sender<Change>, Receiver<Change>) {
    crossbeam_channel::bounded(MAX_WAITING)
}

impl Node {
    /// `user` (called `name`) of another node came online (`true`) or
    /// went offline: its roommates here are told, by the presence thread.
    pub(super) fn tell_presence(&self, user: UserId, name: &str, online: bool) {
        let change = Change { user, name: name.into(), online };
        if let Err(TrySendError::Full(_)) = self.presence.try_send(change) {
            log::warn!("cluster: {MAX_WAITING} presence changes wait already; {name}'s is not told");
        }
    }

    /// The presence thread: tells each change in turn until the node stops.
    pub(super) fn tell_presence_forever(&self, changes: &Receiver<Change>) {
        while !self.stopping.load(Ordering::SeqCst) {
            if let Ok(change) = changes.recv_timeout(POLL_WHEN_DOWN) {
                self.presence(change.user, &change.name, change.online);
            }
        }
    }

    /// `JOINED`/`LEFT` of a user of another node to this node's roommates,
    /// but those it blocked (§22): the accounts its keys name, as
    /// `Store::blocked` reads them.
    fn presence(&self, user: UserId, name: &str, online: bool) {
        let user_name = name.to_string();
        let event = if online { Event::Joined { user: user_name } } else { Event::Left { user: user_name } };
        let blocked = super::settings::read(
            &self.db,
            &crate::store::prefs::BLOCK,
            crate::store::settings::Keys::Of(user),
        );
        let blocked = crate::store::settings::accounts(blocked.unwrap_or_default());
        let limit = self.presence_limit;
        let mates =
            reads::rooms(&self.db, user, limit).map(|rooms| crate::store::roommates(user, limit, &rooms));
        match mates {
            Ok(mates) => crate::store::prefs::shown_to(&blocked, mates).into_iter().for_each(|mate| {
                self.router.send_to(mate, &event);
            }),
            Err(ko) => log::debug!("cluster: presence of {name}: {}", ko.reason),
        }
    }
}
