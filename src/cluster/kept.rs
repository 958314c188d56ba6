//! [`Keepers`]: which node keeps each call of this node's users that
//! another node keeps (1.2, §24).
//!
//! A call is kept by the node where it was offered (`server::calls`). A
//! signal sent here about a call kept elsewhere is judged there
//! (`Nodes::call`), and asking every node of the two users in turn costs
//! a round of NATS requests per `ICE` candidate — a browser sends 5 to 15
//! a call. So a node remembers where each such call is kept, and asks
//! that node alone:
//!
//! - **at the offer:** the keeping node tells every node (`KEEP`,
//!   `notice.rs`) just before it relays the `OFFER`; the nodes where the
//!   callee has a device remember it;
//! - **at the first answer** of a round (a device of the caller on another
//!   node, which the offer did not reach): the node that said "kept here".
//!
//! It forgets a call when it ends (an outcome `Ended` through here, an
//! `END` heard from the keeping node: hang-up, decline, missed, gone), when
//! the remembered node says `NONE` or does not answer (the round then asks
//! the others, as it did before: what a client sees does not change), and
//! at each heartbeat's scan, every call of a node gone from the directory
//! or of a user no longer online here.
//!
//! **Bound:** at most [`MAX_RINGING`] calls per user online here (the
//! table's own bound for the calls a caller rings); a user rung by more
//! callers at once has the oldest forgotten, whose signals go round the
//! nodes as before. So the memory is at most `MAX_RINGING` small entries
//! per receive connection this node holds, itself bounded by
//! `--max-connections`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::protocol::call::MAX_RINGING;
use crate::store::UserId;

/// One call of a user here, kept by another node.
struct Kept {
    /// The other end of the call.
    peer: UserId,
    /// The caller's own id for it.
    id: String,
    /// The node that keeps it.
    node: Arc<str>,
}

/// Where the calls of this node's users are kept, when not here.
#[derive(Default)]
pub struct Keepers {
    /// By user here, oldest first, at most [`MAX_RINGING`] each.
    by_user: Mutex<HashMap<UserId, Vec<Kept>>>,
}

impl Keepers {
    /// Remembers that `node` keeps the call `id` between `user` (here)
    /// and `peer`; the user's oldest is forgotten past the bound.
    pub fn remember(&self, user: UserId, peer: UserId, id: &str, node: Arc<str>) {
        let mut by_user = self.by_user.lock();
        let calls = by_user.entry(user).or_default();
        calls.retain(|k| !(k.peer == peer && k.id == id));
        if calls.len() >= MAX_RINGING {
            calls.remove(0);
        }
        calls.push(Kept { peer, id: id.to_string(), node });
    }

    /// The node that keeps the call `id` between `user` and `peer`, if known.
    pub fn node(&self, user: UserId, peer: UserId, id: &str) -> Option<Arc<str>> {
        let by_user = self.by_user.lock();
        let calls = by_user.get(&user)?;
        calls.iter().find(|k| k.peer == peer && k.id == id).map(|k| k.node.clone())
    }

    /// Forgets the call `id` of `user` with `peer` (`None`: with anyone,
    /// for an `END` event, which names the peer by name only).
    pub fn forget(&self, user: UserId, peer: Option<UserId>, id: &str) {
        let mut by_user = self.by_user.lock();
        let Some(calls) = by_user.get_mut(&user) else { return };
        calls.retain(|k| !(k.id == id && peer.is_none_or(|p| p == k.peer)));
        if calls.is_empty() {
            by_user.remove(&user);
        }
    }

    /// Keeps only the calls of users for whom `online` holds, on nodes for
    /// which `alive` does (the heartbeat's sweep).
    pub fn sweep(&self, online: impl Fn(UserId) -> bool, alive: impl Fn(&str) -> bool) {
        let mut by_user = self.by_user.lock();
        by_user.retain(|&user, calls| {
            calls.retain(|k| alive(&k.node));
            online(user) && !calls.is_empty()
        });
    }

    /// How many calls are remembered (for the tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_user.lock().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_found_by_its_two_ends_and_id_until_forgotten() {
        let keepers = Keepers::default();
        keepers.remember(2, 1, "c1", "a".into());
        keepers.remember(2, 3, "c1", "c".into());
        assert_eq!(keepers.node(2, 1, "c1").as_deref(), Some("a"));
        assert_eq!(keepers.node(2, 3, "c1").as_deref(), Some("c"), "the same id with another peer");
        assert_eq!(keepers.node(1, 2, "c1"), None, "remembered for the user here only");
        keepers.forget(2, Some(1), "c1");
        assert_eq!(keepers.node(2, 1, "c1"), None);
        assert_eq!(keepers.node(2, 3, "c1").as_deref(), Some("c"));
        keepers.forget(2, None, "c1");
        assert_eq!(keepers.len(), 0, "an END forgets the id with any peer");
    }

    #[test]
    fn a_user_keeps_at_most_max_ringing_calls_the_oldest_forgotten_first() {
        let keepers = Keepers::default();
        for peer in 0..(MAX_RINGING as UserId + 2) {
            keepers.remember(9, peer, "c1", "b".into());
        }
        assert_eq!(keepers.len(), MAX_RINGING);
        assert_eq!(keepers.node(9, 0, "c1"), None, "the oldest went first");
        assert!(keepers.node(9, MAX_RINGING as UserId + 1, "c1").is_some());
        // Remembered again: once, not twice.
        keepers.remember(9, 4, "c1", "c".into());
        assert_eq!(keepers.len(), MAX_RINGING);
        assert_eq!(keepers.node(9, 4, "c1").as_deref(), Some("c"));
    }

    #[test]
    fn the_sweep_forgets_users_gone_from_here_and_nodes_gone_from_the_cluster() {
        let keepers = Keepers::default();
        keepers.remember(1, 5, "c1", "a".into());
        keepers.remember(1, 6, "c2", "dead".into());
        keepers.remember(2, 5, "c3", "a".into());
        keepers.sweep(|user| user == 1, |node| node != "dead");
        assert_eq!(keepers.node(1, 5, "c1").as_deref(), Some("a"));
        assert_eq!(keepers.node(1, 6, "c2"), None, "its node is gone");
        assert_eq!(keepers.node(2, 5, "c3"), None, "its user is offline here");
        assert_eq!(keepers.len(), 1);
    }
}
