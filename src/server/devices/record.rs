//! [`Devices`] and the record ([`InLog`](crate::store::InLog): settings of the log, on a
//! single server as on every node of a cluster).
//!
//! A user's devices are read from the record before they count, into
//! this server's book; a new device is put on record before its login
//! claims the session, so that no later read drops it; when a device
//! was last seen, and from where, goes to the record as its connection
//! ends. Its position is moved by its `ACK` records alone
//! (`LocalStore::ack_device`).

use std::net::IpAddr;
use std::sync::Arc;

use super::Devices;
use crate::protocol::Ko;
use crate::protocol::names::fold;
use crate::store::devices::Device;
use crate::store::now_ms;

impl Devices {
    /// Reads `user`'s devices from the record into the book.
    pub fn refresh(&self, user: &str) {
        let rows = self.record.load(user);
        let mut book = self.book.lock();
        if rows.is_empty() && book.devices(user).is_empty() {
            return; // nobody's name makes no row in the book
        }
        *book.devices_mut(user) = rows;
        book.drop_if_empty(user);
    }

    /// A receive login of `user`'s `device` from `address`, before it
    /// claims its session: the user's devices are read from the record,
    /// and this one is written there now if new, so that no later read
    /// forgets it (a device known already is seen again as its
    /// connection ends). If it cannot be written (a full disk), the login goes on: the
    /// device is in memory only, and starts afresh at the next read.
    pub fn arrive(&self, user: &str, device: &str, address: IpAddr) {
        self.refresh(user);
        let known = crate::store::devices::find(self.book.lock().devices(user), device).is_some();
        if known {
            return;
        }
        let (made, dropped) = self
            .put(user, |devices| crate::store::devices::touch(devices, device, address, now_ms(), 0).clone());
        if let Err(ko) = self.write(user, &made, &dropped, false) {
            log::warn!("devices: writing {user}'s device {device}: {}", ko.reason);
        }
    }

    /// Makes a device of `user` by `make` on a copy of its devices (a new
    /// one, within [`MAX_KNOWN`](crate::store::devices::MAX_KNOWN)): the
    /// device made, and the names of those it pushed out.
    pub(super) fn put(
        &self,
        user: &str,
        make: impl FnOnce(&mut Vec<Device>) -> Device,
    ) -> (Device, Vec<Arc<str>>) {
        let mut devices = self.book.lock().devices(user).to_vec();
        let before: Vec<Arc<str>> = devices.iter().map(|d| d.name.clone()).collect();
        let made = make(&mut devices);
        let dropped = before.into_iter().filter(|b| !devices.iter().any(|a| a.name == *b)).collect();
        (made, dropped)
    }

    /// Writes `made` on record (its token too if `with_token`), after
    /// removing those it pushed out (`dropped`), then into the book.
    pub(super) fn write(
        &self,
        user: &str,
        made: &Device,
        dropped: &[Arc<str>],
        with_token: bool,
    ) -> Result<(), Ko> {
        for name in dropped {
            self.record.remove(user, name)?;
        }
        self.record.add(user, made, with_token)?;
        self.commit(user, |devices| {
            devices.retain(|d| !dropped.contains(&d.name));
            match devices.iter_mut().find(|d| fold(&d.name) == fold(&made.name)) {
                Some(d) => {
                    d.token = if with_token { made.token } else { d.token };
                    d.seen_ms = d.seen_ms.max(made.seen_ms);
                    d.address = made.address;
                }
                None => devices.push(made.clone()),
            }
        });
        Ok(())
    }
}
