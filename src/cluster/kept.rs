//! [`Elsewhere`]: the calls the other nodes keep (1.2, §24), each with the
//! node that keeps it, as this node heard of them. It answers two
//! questions with one list:
//!
//! - **which node keeps this call** ([`Elsewhere::keeper`]): a signal sent
//!   here about a call kept elsewhere is judged there (`Nodes::call`), and
//!   asking every node of the two users in turn costs a round of NATS
//!   requests per `ICE` candidate — a browser sends 5 to 15 a call. So the
//!   signal goes to the node that keeps the call alone;
//! - **which calls are kept elsewhere** ([`Elsewhere::of`]): a call offered
//!   here is judged against them as against this node's own table
//!   (`calls::may_ring`: an id in use, a caller or callee in a call).
//!
//! A call is kept by the node where it was offered (`server::calls`).
//! This node hears of it:
//!
//! - **at the offer:** the keeping node tells every node (`KEPT`,
//!   `notice.rs`) just before it relays the `OFFER`, whether or not the
//!   callee has a device there;
//! - **at its answer and its end:** the `CALL` events, relayed to every
//!   node ([`Elsewhere::heard`]); an answer or an end this node relayed
//!   itself, having asked the keeping node, does not come back to it
//!   ([`Elsewhere::stepped`]).
//!
//! It forgets a call at its end (heard, or told through here), when the
//! node it names answers `NONE` for it (it ended there unheard: its `END`
//! was lost), and at each heartbeat's sweep once that node's heartbeat is
//! older than the lease (a node that died says no end; one that holds no
//! device, its caller's requests alone going through it, keeps its
//! calls). A node that does *not* answer may still keep the call, so it
//! is not forgotten then: a new call must
//! still be judged against it. (The signal asks the other nodes of the two
//! users, as a round always did; a node really gone is swept within a
//! lease.)
//!
//! What it cannot know: a call offered on another node a moment ago,
//! whose `KEPT` is still on its way (as presence, a notice's trip
//! behind); and a call whose `KEPT` this node never heard (NATS lost it,
//! a node of another build sent it, or this node started after the
//! offer): its signals ask a round each,
//! and the rule does not see it. (An answer from a round is not learnt: it
//! does not say which end is the caller, which the rule needs.)
//!
//! **Bound:** at most [`MAX_HEARD`] calls in all (a few hundred KB), the
//! oldest forgotten first, however many users and connections this node
//! holds. A call forgotten past the bound is as one never heard of.
//! (Before, the node of each call was also written in a second list, by
//! user here; this one holds it already.)

use std::sync::Arc;

use parking_lot::Mutex;

use crate::protocol::call::Signal;
use crate::protocol::{Event, Ko};
use crate::server::calls::{Brief, Outcome, Party, is_about};
use crate::store::UserId;

/// How many calls kept by other nodes a node remembers ([`Elsewhere`]).
pub const MAX_HEARD: usize = 4096;

/// One call another node keeps.
struct Kept {
    /// What the rule for a new call reads of it (`calls::may_ring`).
    brief: Brief,
    /// Its two ends, caller and callee, by name too: what an answer or an
    /// end heard names it by (`calls::is_about`).
    ends: (Party, Party),
    /// The node that keeps it: where its signals are asked.
    node: Arc<str>,
}

/// Every call another node keeps, as this node heard of it, with its node
/// (module docs).
#[derive(Default)]
pub struct Elsewhere {
    /// Oldest first, at most [`MAX_HEARD`].
    calls: Mutex<Vec<Kept>>,
}

impl Elsewhere {
    /// `node` keeps the call `id` that `caller` just offered to `callee`.
    pub fn offered(&self, caller: Party, callee: Party, id: &str, node: Arc<str>) {
        let mut calls = self.calls.lock();
        // A caller's id names one call of its at a time (`may_ring`): an
        // older one of the same id ended unheard.
        calls.retain(|k| !(k.brief.id == id && k.brief.caller == caller.id));
        if calls.len() >= MAX_HEARD {
            calls.remove(0);
        }
        let brief = Brief { id: id.to_string(), caller: caller.id, callee: callee.id, answered: false };
        calls.push(Kept { brief, ends: (caller, callee), node });
    }

    /// The node that keeps the call `id` between `me` and `peer` (either
    /// being the caller), if this node heard of it. The newest such call:
    /// an older one of the same id and ends ended unheard.
    pub fn keeper(&self, me: UserId, peer: UserId, id: &str) -> Option<Arc<str>> {
        let calls = self.calls.lock();
        let kept = calls.iter().rev().find(|k| is_the_call(&k.brief, me, peer, id))?;
        Some(kept.node.clone())
    }

    /// `node` answered `NONE` for the call `id` between `me` and `peer`:
    /// it keeps no such call, so what this node heard of one there is
    /// over. (Only on that answer: a node that did not answer may keep it
    /// still.)
    pub fn forget(&self, me: UserId, peer: UserId, id: &str, node: &str) {
        self.calls.lock().retain(|k| !(is_the_call(&k.brief, me, peer, id) && *k.node == *node));
    }

    /// An unnumbered `event` another node relayed to `user`: an answer
    /// marks `user`'s call `id` with its sender answered, an end forgets
    /// it (`calls::is_about`: that call alone, not another of `user`'s
    /// of the same id).
    pub fn heard(&self, user: UserId, event: &Event) {
        let Event::Call { from, id, signal } = event else { return };
        let of = |k: &Kept| is_about((&k.ends.0, &k.ends.1), &k.brief.id, user, (from, id));
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
        let of = |k: &Kept| is_the_call(&k.brief, me, peer, id);
        match outcome {
            Ok(Outcome::Answered) => self.answered(of),
            Ok(Outcome::Ended(..)) => self.ended(of),
            _ => {}
        }
    }

    /// The calls `of` picks were answered.
    fn answered(&self, of: impl Fn(&Kept) -> bool) {
        let mut calls = self.calls.lock();
        for kept in calls.iter_mut().filter(|k| of(k)) {
            kept.brief.answered = true;
        }
    }

    /// The calls `of` picks are over.
    fn ended(&self, of: impl Fn(&Kept) -> bool) {
        self.calls.lock().retain(|k| !of(k));
    }

    /// The calls that `a` or `b` is an end of.
    pub fn of(&self, a: UserId, b: UserId) -> Vec<Brief> {
        let calls = self.calls.lock();
        calls.iter().filter(|k| k.brief.has(a) || k.brief.has(b)).map(|k| k.brief.clone()).collect()
    }

    /// Keeps only the calls of nodes for which `alive` holds (the
    /// heartbeat's sweep). The calls of users offline here stay: a new
    /// call here is judged against them all the same.
    pub fn sweep(&self, alive: impl Fn(&str) -> bool) {
        self.calls.lock().retain(|k| alive(&k.node));
    }

    /// How many calls are remembered (for the tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.calls.lock().len()
    }
}

/// Whether `call` is the call `id` between `me` and `peer`, as a signal
/// names it (`Calls::step_if_kept` finds it the same way).
fn is_the_call(call: &Brief, me: UserId, peer: UserId, id: &str) -> bool {
    call.id == id && call.has(me) && call.has(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User `id`, named `u<id>`.
    fn p(id: UserId) -> Party {
        Party { id, name: format!("u{id}") }
    }

    #[test]
    fn a_call_heard_of_is_answered_and_ended_as_its_node_says() {
        use crate::protocol::call::{End, Media};
        let elsewhere = Elsewhere::default();
        elsewhere.offered(p(1), p(2), "c1", "a".into());
        elsewhere.offered(p(3), p(4), "c1", "b".into());
        let brief = |caller, callee, answered| Brief { id: "c1".into(), caller, callee, answered };
        assert_eq!(elsewhere.of(2, 9), [brief(1, 2, false)]);
        let call = |from: &str, signal| Event::Call { from: from.into(), id: "c1".into(), signal };
        // The callee's answer, told to the caller: that call alone.
        elsewhere.heard(1, &call("u2", Signal::Answer { sdp: "v=0".into() }));
        assert_eq!(elsewhere.of(1, 3), [brief(1, 2, true), brief(3, 4, false)]);
        // An end told to the one who ended it names no call; told to the
        // other end, it ends the call between the two alone.
        elsewhere.heard(2, &call("u2", Signal::End(End::Hangup)));
        assert_eq!(elsewhere.of(1, 2), [brief(1, 2, true)]);
        elsewhere.heard(1, &call("u9", Signal::End(End::Hangup)));
        assert_eq!(elsewhere.of(1, 2), [brief(1, 2, true)], "not a call with u9");
        elsewhere.heard(1, &call("u2", Signal::End(End::Hangup)));
        assert_eq!(elsewhere.of(1, 2), []);
        // A step this node asked about, and told itself.
        let ended = crate::server::calls::Ended {
            id: "c1".into(),
            caller: crate::server::calls::Party { id: 3, name: "carl".into() },
            callee: crate::server::calls::Party { id: 4, name: "dan".into() },
            media: Media::Voice,
            answered: None,
        };
        elsewhere.stepped(4, 3, "c1", &Ok(Outcome::Answered));
        assert_eq!(elsewhere.of(3, 3), [brief(3, 4, true)]);
        elsewhere.stepped(4, 3, "c1", &Ok(Outcome::Ended(ended, End::Hangup)));
        assert_eq!(elsewhere.of(3, 4), []);
    }

    #[test]
    fn a_calls_node_is_found_by_its_two_ends_and_id_until_forgotten() {
        let elsewhere = Elsewhere::default();
        elsewhere.offered(p(1), p(2), "c1", "a".into());
        elsewhere.offered(p(3), p(2), "c1", "c".into());
        assert_eq!(elsewhere.keeper(2, 1, "c1").as_deref(), Some("a"), "asked by the callee");
        assert_eq!(elsewhere.keeper(1, 2, "c1").as_deref(), Some("a"), "asked by the caller");
        assert_eq!(elsewhere.keeper(2, 3, "c1").as_deref(), Some("c"), "the same id with another peer");
        assert_eq!(elsewhere.keeper(1, 3, "c1"), None, "not a call between these two");
        assert_eq!(elsewhere.keeper(1, 2, "c2"), None, "another id");
        // `NONE` from another node than the call's says nothing about it.
        elsewhere.forget(2, 1, "c1", "c");
        assert_eq!(elsewhere.keeper(2, 1, "c1").as_deref(), Some("a"));
        elsewhere.forget(2, 1, "c1", "a");
        assert_eq!(elsewhere.keeper(2, 1, "c1"), None);
        assert_eq!(elsewhere.of(1, 1), [], "forgotten for the rule too");
        assert_eq!(elsewhere.keeper(2, 3, "c1").as_deref(), Some("c"));
        // Offered again (its end unheard): once, at its new node.
        elsewhere.offered(p(3), p(2), "c1", "b".into());
        assert_eq!(elsewhere.len(), 1);
        assert_eq!(elsewhere.keeper(2, 3, "c1").as_deref(), Some("b"));
    }

    #[test]
    fn at_most_max_heard_calls_are_kept_the_oldest_forgotten_first() {
        let elsewhere = Elsewhere::default();
        for caller in 0..(MAX_HEARD as UserId + 2) {
            elsewhere.offered(p(caller), p(99_999), "c1", "b".into());
        }
        assert_eq!(elsewhere.len(), MAX_HEARD);
        assert_eq!(elsewhere.keeper(0, 99_999, "c1"), None, "the oldest went first");
        assert_eq!(elsewhere.keeper(1, 99_999, "c1"), None);
        assert!(elsewhere.keeper(2, 99_999, "c1").is_some());
        assert!(elsewhere.keeper(MAX_HEARD as UserId + 1, 99_999, "c1").is_some());
    }

    #[test]
    fn the_sweep_forgets_the_calls_of_nodes_gone_from_the_cluster_only() {
        let elsewhere = Elsewhere::default();
        elsewhere.offered(p(1), p(5), "c1", "a".into());
        elsewhere.offered(p(2), p(6), "c2", "dead".into());
        elsewhere.sweep(|node| node != "dead");
        assert_eq!(elsewhere.keeper(5, 1, "c1").as_deref(), Some("a"));
        assert_eq!(elsewhere.keeper(6, 2, "c2"), None, "its node is gone");
        assert_eq!(elsewhere.of(2, 6), []);
        assert_eq!(elsewhere.len(), 1);
    }
}
