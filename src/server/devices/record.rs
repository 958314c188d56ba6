//! [`Devices`] and the record ([`InLog`](crate::store::InLog): settings of the log, on a
//! single server as on every node of a cluster).
//!
//! A user's devices are read from the record each time they count
//! (the store's state, in memory); a new device is put on record before its login
//! claims the session, so that no later read drops it; when a device
//! was last seen, and from where, goes to the record as its connection
//! ends. Its position is moved by its `ACK` records alone
//! (`LocalStore::ack_device`).

use std::net::IpAddr;
use std::sync::Arc;

use super::Devices;
use crate::protocol::Ko;
use crate::store::devices::Device;
use crate::store::now_ms;

impl Devices {
    /// A receive login of `user`'s `device` from `address`, before it
    /// claims its session: the user's devices are read from the record,
    /// and this one is written there now if new, so that no later read
    /// forgets it (a device known already is seen again as its
    /// connection ends). If it cannot be written (a full disk), the login
    /// goes on, the device on record at its next login.
    pub fn arrive(&self, user: &str, device: &str, address: IpAddr) {
        let devices = self.record.load(user);
        if crate::store::devices::find(&devices, device).is_some() {
            return;
        }
        let (made, dropped) = put(devices, |devices| {
            crate::store::devices::touch(devices, device, address, now_ms(), 0).clone()
        });
        if let Err(ko) = self.write(user, &made, &dropped, false) {
            log::warn!("devices: writing {user}'s device {device}: {}", ko.reason);
        }
    }

    /// Writes `made` on record (its token too if `with_token`), after
    /// removing those it pushed out (`dropped`).
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
        self.record.add(user, made, with_token)
    }
}

/// Makes a device by `make` among a user's `devices` (a new one, within
/// [`MAX_KNOWN`](crate::store::devices::MAX_KNOWN)): the device made, and
/// the names of those it pushed out.
pub(super) fn put(
    mut devices: Vec<Device>,
    make: impl FnOnce(&mut Vec<Device>) -> Device,
) -> (Device, Vec<Arc<str>>) {
    let before: Vec<Arc<str>> = devices.iter().map(|d| d.name.clone()).collect();
    let made = make(&mut devices);
    let dropped = before.into_iter().filter(|b| !devices.iter().any(|a| a.name == *b)).collect();
    (made, dropped)
}
