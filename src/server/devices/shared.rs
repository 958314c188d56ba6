//! The cluster's side of [`Devices`]: the record of devices that every
//! node shares ([`InLog`]: settings of the replicated log).
//!
//! A single server has no such record, and every function here does
//! nothing on it. On a cluster node, a user's devices are read from the
//! record before they count, and merged into this node's book
//! ([`merge`]: the record's list, each device at the further position);
//! a new device is put on record before its login claims the session, so
//! that no node's read drops it; positions that moved go to the record at
//! the flusher's turn, only forward.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Devices;
use crate::protocol::names::fold;
use crate::store::devices::{InLog, merge};
use crate::store::now_ms;

impl Devices {
    /// A cluster node's shared record of devices (set once, at start).
    /// Its book is a cache of the record: it keeps no spare (the module
    /// `store::devices`).
    pub fn share(&self, shared: Arc<InLog>) {
        let _ = self.shared.set(shared);
        let _ = self.disk.remove(&self.dir.join(crate::store::devices::SPARE));
    }

    /// Whether the devices are a shared record's (a cluster).
    pub(super) fn is_shared(&self) -> bool {
        self.shared.get().is_some()
    }

    /// Reads `user`'s devices from the shared record into the book (a
    /// cluster; a single server has nothing to read). False if the record
    /// could not be read: what this node knows is used as it is.
    pub fn refresh(&self, user: &str) -> bool {
        let Some(shared) = self.shared.get() else { return true };
        match shared.load(&fold(user)) {
            Ok(rows) => {
                let mut book = self.book.lock();
                if rows.is_empty() && book.devices(user).is_empty() {
                    return true; // nobody's name makes no row in the book
                }
                let devices = book.devices_mut(user);
                *devices = merge(devices, rows);
                true
            }
            Err(e) => {
                log::warn!("devices: reading {user}'s devices from the cluster: {e}");
                false
            }
        }
    }

    /// A receive login of `user`'s `device` from `address`, before it
    /// claims its session (a cluster; nothing on a single server): the
    /// user's devices are read from the shared record, and this one is
    /// written there now if new, so that no node forgets it at its next
    /// read. A device pushed out past [`MAX_KNOWN`](crate::store::devices::MAX_KNOWN) leaves the record too.
    pub fn arrive(&self, user: &str, device: &str, address: IpAddr) {
        let Some(shared) = self.shared.get() else { return };
        if !self.refresh(user) {
            return;
        }
        let (made, dropped) = {
            let mut book = self.book.lock();
            let before: Vec<Arc<str>> = book.devices(user).iter().map(|d| d.name.clone()).collect();
            let made = book.touch(user, device, address, now_ms(), 0).clone();
            let after = book.devices(user);
            let dropped: Vec<Arc<str>> =
                before.into_iter().filter(|b| !after.iter().any(|a| a.name == *b)).collect();
            (made, dropped)
        };
        let user = fold(user);
        let written = dropped
            .iter()
            .try_for_each(|d| shared.remove(&user, d))
            .and_then(|()| shared.add(&user, &made, false));
        if let Err(e) = written {
            log::warn!("devices: writing {user}'s device {device} to the cluster: {e}");
            self.moved.lock().insert(user);
        }
    }

    /// Notes that `user`'s devices moved (written at the flusher's turn).
    pub(super) fn moved(&self, user: &str) {
        self.dirty.store(true, Ordering::SeqCst);
        if self.shared.get().is_some() {
            self.moved.lock().insert(fold(user));
        }
    }

    /// Writes the positions that moved to the shared record (a cluster).
    pub(super) fn flush_shared(&self) {
        let Some(shared) = self.shared.get() else { return };
        let users: Vec<String> = self.moved.lock().drain().collect();
        for (i, user) in users.iter().enumerate() {
            let devices = self.book.lock().devices(user).to_vec();
            if let Err(e) = shared.save(user, &devices) {
                // The database is down: the rest waits for the next turn.
                log::warn!("devices: writing {user}'s devices to the cluster: {e}");
                self.moved.lock().extend(users[i..].iter().cloned());
                return;
            }
        }
    }
}
