//! What the two account records of 1.2 do to the state: `DELACCOUNT`
//! ([`State::delete_account`]) and the name registered again after its
//! quarantine, `REUSE` ([`State::reuse_account`]). `apply.rs` calls them.

use std::sync::Arc;

use super::{RoomId, State, UserId, pair, side};
use crate::store::record::Pos;

impl State {
    /// 1.2 `DELACCOUNT` (§20): the user's private data goes. Its hash
    /// becomes [`DELETED`](super::DELETED) (no login ever works again),
    /// its inbox is emptied (and stays empty: [`Self::enqueue`] skips a
    /// deleted user), it leaves every room, with its read marks there. What
    /// others hold stays: the direct conversations' messages and marks
    /// belong to both sides, and the recipient keeps them.
    pub(super) fn delete_account(&mut self, user: UserId, ts: u64) {
        let rooms: Vec<RoomId> = self.users[user].rooms.iter().copied().collect();
        for room in rooms {
            self.leave(user, room);
        }
        self.server_admins.remove(&user);
        let u = &mut self.users[user];
        u.hash = super::deleted_hash(ts);
        u.hash_logged = true;
        u.several = false;
        u.inbox.acked = u.inbox.last_seq;
        u.inbox.queue = Arc::default();
        u.prefs = Default::default(); // 1.2 (§22): its blocks and preferences, private too
    }

    /// 1.2 `REGISTER` of a deleted account's name, once its quarantine is
    /// over (`Record::Reuse` at `pos`): the account becomes a new one with
    /// `hash`, cut at `pos` (see [`User::since`](super::User::since)). What
    /// the old one left in the state goes with the cut: its resend window
    /// (the new account's first `m1` is a new message), its last-seen time,
    /// the bytes counted against its quota, what rooms' rules said of its
    /// name (an ownership, a rank, a ban …); and each peer's messages
    /// before the cut are not unread (`bases`).
    pub(super) fn reuse_account(&mut self, user: UserId, hash: &str, pos: Pos) {
        let bases = self.users[user]
            .peers
            .iter()
            .map(|&peer| (peer, self.directs[&pair(user, peer)].sent[side(peer, user)]))
            .collect();
        self.usage.set(user, 0);
        let name = self.users[user].name.clone();
        for room in self.rooms.iter_mut().flatten() {
            room.rules.forget(&name);
        }
        let u = &mut self.users[user];
        u.hash = hash.to_string();
        u.hash_logged = true;
        u.since = pos;
        u.bases = bases;
        u.recent = Arc::default();
        u.last_seen = None;
    }
}
