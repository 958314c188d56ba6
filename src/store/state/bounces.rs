//! 1.3 (§27, "Failures"): a user's direct messages to users of other
//! servers that bounced, so that `HISTORY` shows them as `FAILED`, with
//! their reason, to a device that loads the chat after the bounce's event
//! was acknowledged (another device, a reload).
//!
//! The bounce itself is a `FAILED` record (`record::failed`), told once
//! as an event of its author's inbox. The message it names stays in the
//! conversation's chain as it was stored, `RECEIVED`: its record is never
//! rewritten. So each user remembers its newest [`BOUNCES_KEPT`] bounces
//! (peer, id, time, reason); an older one is forgotten, and its message
//! reads `RECEIVED` again. They are kept in checkpoints (`BOUNCED` rows,
//! `record::failed`) and rebuilt from the same records at a start, so
//! every start of the same log, and every node of a cluster, shows the
//! same ones.
//!
//! A post to a room of another server that bounced is not here: it never
//! entered the room (the room shows the home's copies only), so no line
//! of the room's `HISTORY` names it.

use std::collections::VecDeque;
use std::sync::Arc;

/// How many bounces each user's `HISTORY` remembers: a user who wrote to
/// so many addresses that do not exist is told each one as an event
/// anyway. ~350 bytes each at most (a reason is at most 200 bytes,
/// `protocol::link::clean_reason`), so 88 KiB for a user with a full
/// list. A constant, so that every start of the same log keeps the same.
pub const BOUNCES_KEPT: usize = 256;

/// One bounced message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounced {
    /// The address it was written to, `bob@lab2`.
    pub peer: Arc<str>,
    pub id: Arc<str>,
    /// When it bounced (the `FAILED` record's time).
    pub ts: u64,
    /// Why, cleaned (`protocol::link::clean_reason`).
    pub reason: Arc<str>,
}

/// A user's newest bounces, oldest first.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Bounces {
    kept: VecDeque<Bounced>,
}

impl Bounces {
    /// Remembers a bounce, forgetting the oldest past [`BOUNCES_KEPT`].
    pub fn add(&mut self, bounced: Bounced) {
        if self.kept.len() >= BOUNCES_KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(bounced);
    }

    /// The bounces of messages to `peer` (names ignore case).
    pub fn to(&self, peer: &str) -> Vec<Bounced> {
        self.kept.iter().filter(|b| b.peer.eq_ignore_ascii_case(peer)).cloned().collect()
    }

    /// Every bounce kept, oldest first, for checkpoints.
    pub fn iter(&self) -> impl Iterator<Item = &Bounced> + '_ {
        self.kept.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounced(peer: &str, id: &str) -> Bounced {
        Bounced { peer: peer.into(), id: id.into(), ts: 1, reason: "no user".into() }
    }

    #[test]
    fn bounces_are_found_by_peer_and_the_oldest_is_forgotten() {
        let mut b = Bounces::default();
        for i in 0..=BOUNCES_KEPT {
            b.add(bounced("zed@lab2", &format!("m{i}")));
        }
        b.add(bounced("amy@lab3", "a1"));
        let to_zed = b.to("ZED@Lab2");
        assert_eq!(to_zed.len(), BOUNCES_KEPT - 1, "m0 and m1 forgotten for the newest two");
        assert_eq!(&*to_zed[0].id, "m2");
        assert_eq!(b.to("amy@lab3").len(), 1);
        assert!(b.to("bob@lab2").is_empty());
    }
}
