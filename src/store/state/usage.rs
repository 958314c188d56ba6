//! What each user's records take of the log (`--user-quota`, whose
//! limits `store::budget` checks): counted as records are applied, given
//! back as retention removes segments.

use std::collections::HashMap;
use std::sync::Arc;

use super::{State, UserId};
use crate::store::record::message::Pos;

/// Bytes of the log each user's messages take, by user id: the messages
/// at positions from [`Usage::from`] on.
///
/// Retention gives a user's bytes back: before it removes segments, the
/// checkpointer reads them (`budget::tally`), subtracts what each user had in
/// them and moves `from` past them, then removes them. A crash between
/// the removal and the next checkpoint leaves a checkpoint whose `from`
/// is before the log's start: the next start counts again what is left
/// of the log before the checkpoint (`local::load`), once.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Usage {
    bytes: Vec<u64>,
    /// 1.3 (§27): what each peer server made this one store, by the id of
    /// its account (`@lab2`): its users' records and the copies of its
    /// rooms together (`--peer-quota`). Derived from `bytes` as they
    /// change ([`State::add_usage`], [`State::set_usage`]), never stored.
    peers: HashMap<UserId, u64>,
    /// Where the counted part of the log begins; `None` in a checkpoint
    /// written before there were quotas (then a start counts again).
    pub from: Option<Pos>,
}

impl Usage {
    /// Bytes stored for `user`.
    pub fn of(&self, user: UserId) -> u64 {
        self.bytes.get(user).copied().unwrap_or(0)
    }

    /// Sets what a checkpoint says.
    pub fn set(&mut self, user: UserId, bytes: u64) {
        if self.bytes.len() <= user {
            self.bytes.resize(user + 1, 0);
        }
        self.bytes[user] = bytes;
    }

    pub(super) fn add(&mut self, user: UserId, bytes: u64) {
        let now = self.of(user).saturating_add(bytes);
        self.set(user, now);
    }

    /// 1.3: bytes stored for the peer whose account is `peer`.
    pub fn of_peer(&self, peer: UserId) -> u64 {
        self.peers.get(&peer).copied().unwrap_or(0)
    }

    /// Forgets every count: the log is counted again from `from`.
    pub fn restart_at(&mut self, from: Pos) {
        *self = Usage { bytes: Vec::new(), peers: HashMap::new(), from: Some(from) };
    }

    /// Users with something stored, with their bytes.
    pub fn iter(&self) -> impl Iterator<Item = (UserId, u64)> + '_ {
        self.bytes.iter().copied().enumerate().filter(|&(_, b)| b > 0)
    }
}

impl State {
    /// The peer account whose quota `user`'s records count against too: a
    /// remote user's server's, a peer account's own; none for a local user.
    fn peer_of(&self, user: UserId) -> Option<UserId> {
        let name = &self.users[user].name;
        match super::remote::address(name) {
            Some((_, server)) => self.peer_queue(server),
            None => name.starts_with('@').then_some(user),
        }
    }

    /// Counts `bytes` more for `user` (and its peer's, if it is another
    /// server's).
    pub(in crate::store) fn add_usage(&mut self, user: UserId, bytes: u64) {
        self.usage.add(user, bytes);
        if let Some(peer) = self.peer_of(user) {
            let total = self.usage.peers.entry(peer).or_default();
            *total = total.saturating_add(bytes);
        }
    }

    /// `user` has `bytes` stored now (a checkpoint's count, what is left
    /// once retention gave some back); its peer's count follows.
    pub(in crate::store) fn set_usage(&mut self, user: UserId, bytes: u64) {
        let before = self.usage.of(user);
        self.usage.set(user, bytes);
        if let Some(peer) = self.peer_of(user) {
            let total = self.usage.peers.entry(peer).or_default();
            *total = total.saturating_sub(before).saturating_add(bytes);
        }
    }

    /// Gives back what `budget::tally` found, before those segments are removed:
    /// the counted part of the log now begins at `end`.
    pub(in crate::store) fn give_back(&mut self, freed: &HashMap<Arc<str>, u64>, end: Pos) {
        for (name, bytes) in freed {
            if let Some(user) = self.user_id(name) {
                let left = self.usage.of(user).saturating_sub(*bytes);
                self.set_usage(user, left);
            }
        }
        self.usage.from = Some(end);
    }
}
