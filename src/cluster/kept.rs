//! [`Keepers`]: which node keeps each call of this node's users that
//! another node keeps (1.2, §24); and [`Elsewhere`]: every call the other
//! nodes keep, which a new call here is judged against.
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

use crate::protocol::call::{MAX_RINGING, Signal};
use crate::protocol::{Event, Ko};
use crate::server::calls::{Brief, Outcome};
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

/// How many calls kept by other nodes a node remembers ([`Elsewhere`]).
pub const MAX_HEARD: usize = 4096;

/// [`Elsewhere`]: every call another node keeps, as this node heard of
/// it: its offer (`KEEP`, which every node hears), its answer and its end
/// (the `CALL` events, relayed to every node), so that a call offered
/// here is judged against them as against this node's own table
/// (`calls::may_ring`: an id in use, a caller or callee in a call). An
/// answer or an end this node relayed itself, having asked the keeping
/// node (`Nodes::call`), does not come back to it: [`Elsewhere::stepped`].
///
/// **Bound:** at most [`MAX_HEARD`] calls (a few hundred KB), the oldest
/// forgotten first; a call is forgotten at its end, and at the
/// heartbeat's sweep once its node holds no device any more (a node that
/// died says no end). What it cannot know: a call offered on another node
/// a moment ago, whose `KEEP` is still on its way (as presence, a
/// notice's trip behind).
#[derive(Default)]
pub struct Elsewhere {
    /// Oldest first, each with the node that keeps it.
    calls: Mutex<Vec<(Brief, Arc<str>)>>,
}

impl Elsewhere {
    /// `node` keeps the call `id` that `caller` just offered to `callee`.
    pub fn offered(&self, caller: UserId, callee: UserId, id: &str, node: Arc<str>) {
        let mut calls = self.calls.lock();
        calls.retain(|(c, _)| !(c.id == id && c.caller == caller));
        if calls.len() >= MAX_HEARD {
            calls.remove(0);
        }
        calls.push((Brief { id: id.to_string(), caller, callee, answered: false }, node));
    }

    /// An unnumbered `event` another node relayed to `user`: an answer
    /// marks `user`'s call `id` answered, an end forgets it.
    pub fn heard(&self, user: UserId, event: &Event) {
        let Event::Call { id, signal, .. } = event else { return };
        let of = |c: &Brief| &c.id == id && c.has(user);
        match signal {
            Signal::Answer { .. } => self.answered(of),
            Signal::End(_) => self.ended(of),
            _ => {}
        }
    }

    /// What `me`'s step about the call `id` with `peer` did on the node
    /// that keeps it, which this node then told (its own relay does not
    /// come back here).
    pub fn stepped(&self, me: UserId, peer: UserId, id: &str, outcome: &Result<Outcome, Ko>) {
        let of = |c: &Brief| c.id == id && c.has(me) && c.has(peer);
        match outcome {
            Ok(Outcome::Answered) => self.answered(of),
            Ok(Outcome::Ended(..)) => self.ended(of),
            _ => {}
        }
    }

    /// The calls `of` picks were answered.
    fn answered(&self, of: impl Fn(&Brief) -> bool) {
        self.calls.lock().iter_mut().filter(|(c, _)| of(c)).for_each(|(c, _)| c.answered = true);
    }

    /// The calls `of` picks are over.
    fn ended(&self, of: impl Fn(&Brief) -> bool) {
        self.calls.lock().retain(|(c, _)| !of(c));
    }

    /// The calls that `a` or `b` is an end of.
    pub fn of(&self, a: UserId, b: UserId) -> Vec<Brief> {
        let calls = self.calls.lock();
        calls.iter().filter(|(c, _)| c.has(a) || c.has(b)).map(|(c, _)| c.clone()).collect()
    }

    /// Keeps only the calls of nodes for which `alive` holds (the
    /// heartbeat's sweep).
    pub fn sweep(&self, alive: impl Fn(&str) -> bool) {
        self.calls.lock().retain(|(_, node)| alive(node));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_heard_of_is_answered_and_ended_as_its_node_says() {
        use crate::protocol::call::{End, Media};
        let elsewhere = Elsewhere::default();
        elsewhere.offered(1, 2, "c1", "a".into());
        elsewhere.offered(3, 4, "c1", "b".into());
        let brief = |caller, callee, answered| Brief { id: "c1".into(), caller, callee, answered };
        assert_eq!(elsewhere.of(2, 9), [brief(1, 2, false)]);
        let call = |from: &str, signal| Event::Call { from: from.into(), id: "c1".into(), signal };
        elsewhere.heard(1, &call("bob", Signal::Answer { sdp: "v=0".into() }));
        assert_eq!(elsewhere.of(1, 3), [brief(1, 2, true), brief(3, 4, false)]);
        elsewhere.heard(2, &call("bob", Signal::End(End::Hangup)));
        assert_eq!(elsewhere.of(1, 2), []);
        // A step this node asked about, and told itself.
        let ended = crate::server::calls::Ended {
            id: "c1".into(),
            caller: crate::server::calls::Party { id: 3, name: "carl".into() },
            callee: crate::server::calls::Party { id: 4, name: "dan".into() },
            media: Media::Voice,
            answered: false,
        };
        elsewhere.stepped(4, 3, "c1", &Ok(Outcome::Answered));
        assert_eq!(elsewhere.of(3, 3), [brief(3, 4, true)]);
        elsewhere.stepped(4, 3, "c1", &Ok(Outcome::Ended(ended, End::Hangup)));
        assert_eq!(elsewhere.of(3, 4), []);
        elsewhere.offered(5, 6, "c2", "dead".into());
        elsewhere.sweep(|node| node != "dead");
        assert_eq!(elsewhere.of(5, 6), []);
    }

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
