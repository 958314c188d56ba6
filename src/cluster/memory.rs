//! What a node remembers of the database, to answer from while no
//! primary does (docs/CLUSTER.md, "While no primary answers").
//!
//! During a failover every database call of a node fails with
//! `KO:UNAVAILABLE` for the ~10 s it takes. Writes must: nothing may be
//! acknowledged that the new primary will not have. A read need not: what
//! the node read a moment ago is still, most likely, the truth. So the
//! answers of a few reads are kept here, each time one is read, and given
//! again only while the database cannot be reached — never in place of an
//! answer it gives:
//!
//! - **accounts** (name, id, password hash), read at every login: a user
//!   who logged in on this node lately can log in again on the send port.
//!   Its password is still checked, against the hash the node read last
//!   (or against the node's cache of recent logins, `LoginCache`); a
//!   user this node never read gets `KO:UNAVAILABLE`;
//! - **ROOMS**, **MEMBERS** and **LASTSEEN**, and the blocks that decide
//!   what those show (a user who blocked the asker stays `UNKNOWN` to it:
//!   a block the node cannot read is not taken as "none").
//!
//! Each memo is bounded ([`MAX_ENTRIES`], [`MAX_ROOMS`]) and its entries expire
//! ([`ACCOUNT_TTL`], [`READ_TTL`]): stale answers are wrong answers. What
//! they can still get wrong, and why that is accepted, is in CLUSTER.md.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::{Code, Ko, RoomLine};
use crate::store::settings::KeptKey;
use crate::store::{Account, Members, UserId};

/// Most entries of each memo (but [`MAX_ROOMS`]): 10,000 accounts are
/// ~2 MB (a hash is ~100 bytes); past it, the older half goes.
pub const MAX_ENTRIES: usize = 10_000;
/// Most rooms whose members are kept: a big room's members are ~30 KB.
pub const MAX_ROOMS: usize = 1_000;
/// How long an account read from the database may log its user in
/// while the database is unreachable.
pub const ACCOUNT_TTL: Duration = Duration::from_secs(60 * 60);
/// How long a read's answer may be given again.
pub const READ_TTL: Duration = Duration::from_secs(10 * 60);

/// Answers of one kind of read, by key, each with when it was read.
pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    max: usize,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub fn new(max: usize, ttl: Duration) -> Memo<K, V> {
        Memo { entries: Mutex::new(HashMap::new()), max: max.max(1), ttl }
    }

    /// `value` is the database's answer for `key` now.
    pub fn keep(&self, key: K, value: V) {
        let mut entries = self.entries.lock();
        if entries.len() >= self.max && !entries.contains_key(&key) {
            self.make_room(&mut entries);
        }
        entries.insert(key, (value, Instant::now()));
    }

    /// Full: the expired entries go, then, if that is not enough, the
    /// older half (rare, so sorting the times is cheap enough).
    fn make_room(&self, entries: &mut HashMap<K, (V, Instant)>) {
        entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        if entries.len() >= self.max {
            let mut times: Vec<Instant> = entries.values().map(|(_, at)| *at).collect();
            let middle = times.len() / 2;
            let (_, median, _) = times.select_nth_unstable(middle);
            let median = *median;
            entries.retain(|_, (_, at)| *at > median);
        }
    }

    /// The last answer for `key`, if not expired.
    pub fn recall(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock();
        entries.get(key).filter(|(_, at)| at.elapsed() < self.ttl).map(|(v, _)| v.clone())
    }

    /// Forgets the entries for which `stale` is true.
    pub fn forget_if(&self, stale: impl Fn(&K, &V) -> bool) {
        self.entries.lock().retain(|k, (v, _)| !stale(k, v));
    }

    /// `read` (the database's answer for `key`), kept; if it is
    /// `KO:UNAVAILABLE`, the last answer kept instead, if there is one.
    pub fn or_recall(&self, key: K, read: Result<V, Ko>) -> Result<V, Ko> {
        match read {
            Ok(value) => {
                self.keep(key, value.clone());
                Ok(value)
            }
            Err(ko) if ko.code == Code::Unavailable => self.recall(&key).ok_or(ko),
            Err(ko) => Err(ko),
        }
    }

    /// [`Memo::or_recall`] of a read that may find nothing: nothing found
    /// forgets what was kept (an account deleted, a room gone).
    pub fn or_recall_some(&self, key: K, read: Result<Option<V>, Ko>) -> Result<Option<V>, Ko> {
        match read {
            Ok(None) => {
                self.entries.lock().remove(&key);
                Ok(None)
            }
            Ok(Some(value)) => self.or_recall(key, Ok(value)).map(Some),
            Err(ko) => self.or_recall(key, Err(ko)).map(Some),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// Every memo of a node.
pub struct Memory {
    /// By folded name (`None`: no such account, not kept).
    pub accounts: Memo<String, Account>,
    /// `ROOMS` of a user.
    pub rooms: Memo<UserId, Vec<RoomLine>>,
    /// A room's registered name and members, by folded name.
    pub members: Memo<String, (Arc<str>, Members)>,
    /// `users.last_seen` of a user.
    pub last_seen: Memo<UserId, Option<u64>>,
    /// 1.2: the blocks about a user (§22; the only setting a message
    /// and `MEMBERS` read): the one the user named (folded) keeps
    /// (whether it blocked it), or (`None`) every user's (who blocked it).
    pub blocks: Memo<(Option<String>, UserId), Vec<KeptKey>>,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            accounts: Memo::new(MAX_ENTRIES, ACCOUNT_TTL),
            rooms: Memo::new(MAX_ENTRIES, READ_TTL),
            members: Memo::new(MAX_ROOMS, READ_TTL),
            last_seen: Memo::new(MAX_ENTRIES, READ_TTL),
            blocks: Memo::new(MAX_ENTRIES, READ_TTL),
        }
    }
}

impl Memory {
    /// `user`'s account changed (a new password, a deletion): what was
    /// kept of it is not to be used, even while the database is down.
    pub fn forget_account(&self, user: UserId) {
        self.accounts.forget_if(|_, account| account.id == user);
    }

    /// A block of the user called `owner` (folded) about `about` changed
    /// (committed): what was kept of that owner's blocks goes, and who
    /// blocked `about`; every other user's entries stay. A name this node
    /// does not know (`None`) stands for every one.
    pub fn forget_block(&self, owner: Option<&str>, about: Option<UserId>) {
        self.blocks.forget_if(|(by, whom), _| match by {
            Some(by) => owner.is_none_or(|owner| owner == by),
            None => about.is_none_or(|about| about == *whom),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> Result<u32, Ko> {
        Err(super::super::db::down())
    }

    #[test]
    fn an_answer_is_given_again_only_while_the_database_is_unavailable() {
        let memo: Memo<&str, u32> = Memo::new(10, Duration::from_secs(60));
        assert_eq!(memo.or_recall("a", down()).unwrap_err().code, Code::Unavailable, "nothing kept yet");
        assert_eq!(memo.or_recall("a", Ok(1)), Ok(1));
        assert_eq!(memo.or_recall("a", Ok(2)), Ok(2), "the database's answer wins");
        assert_eq!(memo.or_recall("a", down()), Ok(2), "the last one, while down");
        let other = Err(Ko::new(Code::Internal, "a real error"));
        assert_eq!(memo.or_recall("a", other).unwrap_err().code, Code::Internal, "not a failover");
        assert!(memo.or_recall("b", down()).is_err(), "another key");
        assert_eq!(memo.or_recall_some("a", Ok(None)), Ok(None));
        assert!(memo.or_recall_some("a", down().map(Some)).is_err(), "nothing found is not kept");
    }

    #[test]
    fn answers_expire() {
        let memo: Memo<&str, u32> = Memo::new(10, Duration::from_millis(30));
        memo.keep("a", 1);
        assert_eq!(memo.recall(&"a"), Some(1));
        let until = Instant::now() + Duration::from_secs(5);
        while memo.recall(&"a").is_some() {
            assert!(Instant::now() < until, "never expired");
            std::thread::sleep(Duration::from_millis(5)); // waiting for the clock to pass the TTL
        }
        assert!(memo.or_recall("a", down()).is_err());
    }

    #[test]
    fn a_full_memo_lets_its_oldest_go() {
        let memo: Memo<u32, u32> = Memo::new(100, Duration::from_secs(60));
        for i in 0..100 {
            memo.keep(i, i);
        }
        assert_eq!(memo.len(), 100);
        memo.keep(100, 100);
        assert!(memo.len() <= 100, "bounded: {}", memo.len());
        assert_eq!(memo.recall(&100), Some(100), "the newest stays");
        assert_eq!(memo.recall(&0), None, "the oldest went");
        memo.keep(7, 8);
        assert_eq!(memo.recall(&7), Some(8));
    }

    #[test]
    fn a_changed_account_is_forgotten() {
        let memory = Memory::default();
        let account = |id, name: &str| Account { id, name: name.into(), hash: "h".into(), admin: false };
        memory.accounts.keep("ana".into(), account(1, "ana"));
        memory.accounts.keep("bob".into(), account(2, "bob"));
        memory.forget_account(1);
        assert!(memory.accounts.recall(&"ana".to_string()).is_none());
        assert!(memory.accounts.recall(&"bob".to_string()).is_some());
    }

    #[test]
    fn a_changed_block_forgets_its_owners_entries_only() {
        let memory = Memory::default();
        let (ana, bob, cy) = (1, 2, 3);
        let kept = |owner, key: &str, account| {
            vec![KeptKey { owner, key: key.into(), value: key.into(), account: Some(account) }]
        };
        memory.blocks.keep((Some("ana".into()), cy), kept(ana, "cy", cy));
        memory.blocks.keep((Some("bob".into()), cy), kept(bob, "cy", cy));
        memory.blocks.keep((None, bob), Vec::new()); // nobody blocked bob
        memory.blocks.keep((None, cy), kept(bob, "cy", cy));
        memory.forget_block(Some("ana"), Some(bob)); // ana blocked bob
        assert!(memory.blocks.recall(&(Some("ana".into()), cy)).is_none(), "ana's own");
        assert!(memory.blocks.recall(&(None, bob)).is_none(), "who blocked bob");
        assert!(memory.blocks.recall(&(Some("bob".into()), cy)).is_some(), "bob's blocks stay");
        assert!(memory.blocks.recall(&(None, cy)).is_some(), "who blocked cy stays");
        memory.forget_block(None, None); // names this node does not know
        assert_eq!(memory.blocks.len(), 0);
    }
}
