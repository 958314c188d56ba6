//! The presence of other nodes' users, told to this node's roommates
//! (`JOINED`/`LEFT`) by a thread of its own.
//!
//! A user who comes online on another node appears in the directory
//! (an `ON` notice, or the heartbeat's scan); whom to tell is the single
//! server's rule (`server::presence::tell`), with the user's rooms and
//! blocks read from the database. The dispatcher
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
//! The changes that wait together are told with one read of all their
//! users' rooms, and one of their blocks ([`TOLD_AT_ONCE`] at most): two
//! reads a change made a class's logins cost the node ~2 s of reads
//! against PostgreSQL (400 changes, 3.5-6 ms each) while the class's
//! first messages were committed, which was the tail left of that
//! latency run: p99 13-21 ms, against 8-9 ms batched and 9-36 ms for
//! e481098's build, in turns.
//!
//! What waits is bounded ([`MAX_WAITING`]): presence is ephemeral (a
//! client learns it again with `USERS`), so past the bound a change is
//! dropped with a warning, never a thread or the dispatcher held.
//! Changes are told in the order they came, from the dispatcher and the
//! heartbeat alike, so a user's `LEFT` never overtakes its `JOINED`.
//! When the node stops, the queue closes and the thread ends once it has
//! told what waited.

use std::cell::OnceCell;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;

use super::db::Db;
use super::reads;
use crate::router::Router;
use crate::store::UserId;
use crate::store::settings::KeptKey;

/// Presence changes waiting to be told: a class of a few hundred logging
/// in at once, several times over (a change costs ~50 bytes).
pub const MAX_WAITING: usize = 4_096;

/// Changes told with one read of their users' rooms and blocks: a class
/// of 100 logging in on another node costs a few reads, not 200. The
/// rooms' read returns a row per member of each small room of each user,
/// at most what one user's own read may return (`MAX_ROOMS_PER_USER` ×
/// `--presence-limit`: 51,200 rows by default); changes whose users'
/// rooms take more are told one at a time, as before. The blocks' read
/// is at most 128 × `MAX_BLOCKS` (1,000) short rows.
const TOLD_AT_ONCE: usize = 128;

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

    /// The presence thread: tells the changes in turn, until
    /// [`stop`](Self::stop), those that wait together ([`TOLD_AT_ONCE`]
    /// at most) with one read of their users' rooms.
    pub fn run(&self) {
        let Some(waiting) = self.waiting.lock().take() else { return };
        while let Ok(first) = waiting.recv() {
            let changes: Vec<Change> =
                std::iter::once(first).chain(waiting.try_iter().take(TOLD_AT_ONCE - 1)).collect();
            self.tell_all(&changes);
        }
    }

    /// Closes the queue: the thread ends once it told what waits.
    pub fn stop(&self) {
        self.changes.lock().take();
    }

    /// `JOINED`/`LEFT` of users of other nodes to this node's roommates,
    /// with what a node reads, each read once for all of `changes`: the
    /// users' rooms, and their blocks if a roommate of one of them is
    /// online here ([`tell_each`]).
    fn tell_all(&self, changes: &[Change]) {
        if self.router.nobody_online() {
            return; // nobody to tell: nothing to read
        }
        let mut users: Vec<UserId> = changes.iter().map(|change| change.user).collect();
        users.sort_unstable();
        users.dedup();
        // What one user's rooms may take: the bound of a read for several
        // (one change's own read, as before, has none).
        let most_rows = match changes.len() {
            1 => usize::MAX,
            _ => crate::store::MAX_ROOMS_PER_USER.saturating_mul(self.limit.max(1)),
        };
        let rooms = match reads::rooms_of(&self.db, &users, self.limit, most_rows) {
            Ok(Some(rooms)) => rooms,
            Ok(None) => return changes.iter().for_each(|change| self.tell_all(std::slice::from_ref(change))),
            Err(ko) => return log::debug!("cluster: presence of {} users: {}", users.len(), ko.reason),
        };
        let blocks = || match super::settings::read_of(&self.db, &crate::store::prefs::BLOCK, &users) {
            Ok(kept) => kept,
            Err(ko) => {
                log::debug!("cluster: blocks of {} users: {}", users.len(), ko.reason);
                Vec::new()
            }
        };
        tell_each(&self.router, self.limit, changes, &rooms, blocks);
    }
}

/// Tells each of `changes`, in order, by the rule a single server tells
/// its own users' by (`server::presence::tell`): its user's roommates
/// (`store::roommates`, from `rooms`) online here, but those it blocked
/// (its keys of those `read_blocks` reads, at most once, when first
/// asked).
fn tell_each(
    router: &Router,
    limit: usize,
    changes: &[Change],
    rooms: &reads::UsersRooms,
    read_blocks: impl Fn() -> Vec<KeptKey>,
) {
    let read = OnceCell::new();
    let blocks = || read.get_or_init(&read_blocks);
    for change in changes {
        let user = change.user;
        let roommates = || crate::store::roommates(user, limit, rooms.get(&user).map_or(&[], Vec::as_slice));
        let blocked = || {
            let of_user = blocks().iter().filter(|kept| kept.owner == user).cloned().collect();
            crate::store::settings::accounts(of_user)
        };
        crate::server::presence::tell(router, &change.name, change.online, roommates, blocked);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};

    use super::*;
    use crate::protocol::RoomLine;
    use crate::store::Members;

    /// Changes told together share one read of the blocks, and each
    /// user's own keys decide whom it is hidden from: ana (1) blocked bob
    /// (2), dan (4) did not; bob, online here, is told of dan only.
    #[test]
    fn changes_told_together_read_the_blocks_once_and_each_user_keeps_its_own() {
        let router = Router::default();
        let client = crate::router::online_for_tests(&router, 2, "bob");

        let members: Members = [(1, "ana"), (2, "bob"), (4, "dan")].map(|(id, n)| (id, n.into())).to_vec();
        let room = vec![(RoomLine { room: "tea".into(), members: 3 }, members)];
        let rooms = HashMap::from([(1, room.clone()), (4, room)]);
        let change = |user, name: &str| Change { user, name: name.into(), online: true };
        let reads = Cell::new(0);
        let read_blocks = || {
            reads.set(reads.get() + 1);
            vec![KeptKey { owner: 1, key: "bob".into(), value: "1".into(), account: Some(2) }]
        };
        tell_each(&router, 200, &[change(1, "ana"), change(4, "dan")], &rooms, read_blocks);
        assert_eq!(reads.get(), 1, "one read for both");
        let mut line = String::new();
        BufReader::new(client).read_line(&mut line).unwrap();
        assert_eq!(line, "JOINED:dan\n", "ana blocked bob: her JOINED is not told, dan's is");
    }
}
