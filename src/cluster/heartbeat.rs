//! The heartbeat thread of a node: every second it writes the node's
//! heartbeat into `nodes`, reads every device session held by a node that
//! is alive (`sessions::live`), replaces this node's sessions that a newer
//! login of the same device took elsewhere, rebuilds the directory, and
//! tells this node's users who came online or went offline elsewhere,
//! and forgets the calls kept by nodes gone (`kept.rs`).
//! Between beats, the `ON`/`OFF` notices keep the directory current; the
//! scan is what catches a notice NATS lost, or a node that died without
//! saying so. A notice heard while the scan reads is made again on what it
//! read (`directory.rs`).
//!
//! **After a failover.** While no primary answers, no node can write its
//! heartbeat. The first scan after it finds every other node's heartbeat
//! older than the lease, because of the database, not because they died;
//! taken at its word, it would drop their users from the directory: a
//! `LEFT` and a `JOINED` for each, and their events sent to them by the
//! poll alone, seconds late. So for one lease after this node was cut off
//! for longer than a lease, a scan adds to the directory and removes
//! nothing: the other nodes beat again within it, and one that really died
//! is dropped at the scan after.
//!
//! The poll of the inboxes (`Feeder::poll`) has a thread of its own: a
//! beat that waits for the database (up to its 5 s deadline) must not hold
//! back the refills of every user here.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::db::OrKo;
use super::directory::{self, Users};
use super::node::{BEAT, Node, POLL_WHEN_DOWN};
use super::sessions::{self, LEASE_MS, NOW_MS};
use crate::protocol::Ko;
use crate::store::UserId;

/// How long a node's heartbeat stays fresh ([`LEASE_MS`]).
const LEASE: Duration = Duration::from_millis(LEASE_MS as u64);

impl Node {
    /// The heartbeat thread, until the node stops.
    pub(super) fn beat_forever(&self) {
        let mut last_beat = Instant::now() - BEAT;
        // The last beat that reached the database, and until when scans
        // remove nothing (module docs, "After a failover").
        let (mut last_ok, mut grace_until): (Option<Instant>, Option<Instant>) = (None, None);
        while !self.stopping.load(Ordering::SeqCst) {
            if last_beat.elapsed() >= BEAT {
                last_beat = Instant::now();
                let cut_off = last_ok.is_some_and(|at| at.elapsed() > LEASE);
                let keep = cut_off || grace_until.is_some_and(|until| Instant::now() < until);
                match self.beat(keep) {
                    Ok(()) => {
                        if cut_off {
                            log::info!(
                                "cluster: the database is back; other nodes have {LEASE:?} to beat again"
                            );
                            grace_until = Some(Instant::now() + LEASE);
                        }
                        last_ok = Some(Instant::now());
                    }
                    Err(ko) => log::debug!("cluster: heartbeat: {}", ko.reason),
                }
            }
            std::thread::sleep(POLL_WHEN_DOWN);
        }
    }

    /// The poll thread: every inbox of a user online here, once a beat (or
    /// four times a beat while NATS is down), until the node stops.
    pub(super) fn poll_forever(&self) {
        let mut last_poll = Instant::now() - BEAT;
        while !self.stopping.load(Ordering::SeqCst) {
            if last_poll.elapsed() >= BEAT || !self.bus.is_up() {
                last_poll = Instant::now();
                self.feeder.poll();
            }
            std::thread::sleep(POLL_WHEN_DOWN);
        }
    }

    /// Writes the heartbeat, reads every live session, and acts on what
    /// changed; with `keep`, the users of the directory that the scan did
    /// not find stay in it.
    fn beat(&self, keep: bool) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute(
            &format!(
                "INSERT INTO nodes (name, heartbeat_ms, started_ms) VALUES ($1, {NOW_MS}, 0) \
                 ON CONFLICT (name) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms"
            ),
            &[&self.name],
        )
        .or_ko("beating")?;
        // From here on the directory keeps its changes, to make them again
        // on what this scan reads (`directory.rs`).
        self.directory.write().scan_begins();
        let rows = sessions::live(&mut conn, &self.name);
        let nodes = sessions::live_nodes(&mut conn, &self.name);
        drop(conn);
        let rows = rows.inspect_err(|_| self.directory.write().scan_failed())?;
        let mut fresh = Users::new();
        let mut replaced = Vec::new();
        {
            let local = self.local.lock();
            for row in rows {
                if let Some((mine, _)) = local.get(&(row.user, row.device.clone()))
                    && *mine < row.epoch
                {
                    replaced.push((row.user, row.device.clone(), row.epoch));
                }
                if *row.node != *self.name {
                    directory::insert(&mut fresh, row.user, &row.name, row.device, (row.node, row.epoch));
                }
            }
        }
        for (user, device, epoch) in replaced {
            self.replace_local(user, &device, epoch);
        }
        let old = {
            let mut directory = self.directory.write();
            if keep {
                keep_missing(&mut fresh, &directory);
            }
            directory.scanned(fresh)
        };
        let fresh = self.directory.read().clone();
        // Calls kept by a node gone (`kept.rs`): one whose heartbeat is
        // older than the lease, not one that holds no device (a node
        // that serves a caller's requests alone keeps its call: before,
        // the others forgot it, and the callee's `DECLINE` found no call,
        // the differential script, seed 316 at 800 steps). Those of a user
        // gone from here stay: a new call here is judged against them all
        // the same. After a failover (`keep`), none is forgotten.
        if let Ok(nodes) = nodes
            && !keep
        {
            let alive: HashSet<&str> = nodes.iter().map(String::as_str).collect();
            self.elsewhere.sweep(|node| alive.contains(node));
        }
        let before: HashSet<UserId> = old.keys().copied().collect();
        for (user, remote) in &fresh {
            if !before.contains(user) && !self.router.is_online(*user) {
                self.presence.tell(*user, &remote.name, true);
            }
        }
        for (user, remote) in old {
            if !fresh.contains_key(&user) && !self.staying_here(user) {
                self.presence.tell(user, &remote.name, false);
            }
        }
        Ok(())
    }
}

/// Adds to `fresh` every device of `old` that it does not have (a newer
/// session of the same device, in `fresh`, wins).
fn keep_missing(fresh: &mut Users, old: &Users) {
    for (&user, remote) in old {
        for (device, at) in &remote.devices {
            let found = fresh.get(&user).is_some_and(|r| r.devices.contains_key(device));
            if !found {
                directory::insert(fresh, user, &remote.name, device.clone(), at.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_after_a_failover_keeps_what_it_did_not_find() {
        let (ana, bob): (std::sync::Arc<str>, std::sync::Arc<str>) = ("ana".into(), "bob".into());
        let mut old = Users::new();
        directory::insert(&mut old, 1, &ana, "laptop".into(), ("b".into(), 3));
        directory::insert(&mut old, 2, &bob, "phone".into(), ("b".into(), 5));
        // The scan found ana's laptop on node c now (a newer login), and
        // not bob (node b's heartbeat stale while the database was down).
        let mut fresh = Users::new();
        directory::insert(&mut fresh, 1, &ana, "laptop".into(), ("c".into(), 4));
        keep_missing(&mut fresh, &old);
        assert_eq!(fresh[&1].devices["laptop"], ("c".into(), 4), "the newer session wins");
        assert_eq!(fresh[&2].devices["phone"], ("b".into(), 5), "bob stays");
        assert_eq!(fresh.len(), 2);
    }
}
