//! The heartbeat thread of a node: every second it writes the node's
//! heartbeat into `nodes`, reads every device session held by a node that
//! is alive (`sessions::live`), replaces this node's sessions that a newer
//! login of the same device took elsewhere, rebuilds the directory, and
//! tells this node's users who came online or went offline elsewhere.
//! Between beats, the `ON`/`OFF` notices keep the directory current; the
//! scan is what catches a notice NATS lost, or a node that died without
//! saying so. It also polls the inboxes (`Feeder::poll`).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::db::OrKo;
use super::node::{BEAT, Node, POLL_WHEN_DOWN};
use super::sessions::{self, Directory};
use crate::protocol::Ko;
use crate::store::UserId;

impl Node {
    /// The heartbeat thread, until the node stops.
    pub(super) fn beat_forever(&self) {
        let mut last_beat = Instant::now() - BEAT;
        while !self.stopping.load(Ordering::SeqCst) {
            if last_beat.elapsed() >= BEAT {
                last_beat = Instant::now();
                if let Err(ko) = self.beat() {
                    log::debug!("cluster: heartbeat: {}", ko.reason);
                }
                self.feeder.poll();
            } else if !self.bus.is_up() {
                self.feeder.poll();
            }
            std::thread::sleep(POLL_WHEN_DOWN);
        }
    }

    /// Writes the heartbeat, reads every live session, and acts on what changed.
    fn beat(&self) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute(
            "INSERT INTO nodes (name, heartbeat_ms, started_ms) VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::int8, 0) \
             ON CONFLICT (name) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms",
            &[&self.name],
        )
        .or_ko("beating")?;
        let rows = sessions::live(&mut conn, &self.name)?;
        drop(conn);
        let mut fresh = Directory::new();
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
                    sessions::insert(&mut fresh, row.user, &row.name, row.device, (row.node, row.epoch));
                }
            }
        }
        for (user, device, epoch) in replaced {
            self.replace_local(user, &device, epoch);
        }
        let old = std::mem::replace(&mut *self.directory.write(), fresh.clone());
        let before: HashSet<UserId> = old.keys().copied().collect();
        for (user, remote) in &fresh {
            if !before.contains(user) && !self.router.is_online(*user) {
                self.presence(*user, &remote.name, true);
            }
        }
        for (user, remote) in old {
            if !fresh.contains_key(&user) && !self.staying_here(user) {
                self.presence(user, &remote.name, false);
            }
        }
        Ok(())
    }
}
