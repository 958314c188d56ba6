//! Several devices on one account (protocol 1.2, docs/PROTOCOL.md §16):
//! one inbox per user, a position in it per device.
//!
//! The store keeps each user's inbox with one number `acked`: events up
//! to it are gone. Beside it, each device's position (`store::devices`:
//! settings of the user in the log) is the log's, moved by the `ACK`
//! records themselves: a device's `ACK` is one write
//! (`LocalStore::ack_device`) that
//!
//! - trims the inbox up to the **lowest** position of the live devices:
//!   an event leaves the inbox once every device has it;
//! - turns direct messages into DELIVERED up to the **highest**: two grey
//!   ticks as soon as the first device has it;
//! - says where the device is now, in the same `ACK` record.
//!
//! A user with one device (every 1.0/1.1 client: the device `default`)
//! has lowest = highest = its `ACK`: the inbox's own `ack`.
//!
//! A device not seen for `--device-days` is *forgotten*: its position is
//! dropped, so an old laptop in a drawer does not keep its user's inbox
//! (memory and disk) growing for ever. If it comes back it starts from
//! what the inbox still holds.
//!
//! Linking (`LINK`, `PAIR`): a one-time code, kept in memory for
//! [`LINK_CODE_SECS`](crate::protocol::LINK_CODE_SECS), trades for a
//! token whose SHA-256 goes on record (why SHA-256 and not argon2: see
//! `store::devices`); the codes and tokens are [`tokens`]'s.
//!
//! The record is the log's ([`InLog`]), on a single server as on a
//! cluster: a user's devices are read from it before they count (a
//! receive login, a token, `DEVICES`, `UNLINK`), a token made or a device
//! unlinked is written there before the client hears of it, and when a
//! device was last seen is written as its connection ends. So a token
//! made on one node of a cluster logs in on any, and a device keeps its
//! position through a crash or a move between nodes: the position is
//! its last `ACK` record's (one that rode no batch yet when the process
//! died only makes the device get those events again): see [`record`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::base::Base;

mod record;
mod sessions;
mod tokens;
use crate::protocol::names::fold;
use crate::protocol::{Code, DeviceLine, Ko, Presence};
use crate::router::Outlet;
use crate::store::InLog;
use crate::store::devices::{self as book, Device};
use crate::store::{UserId, now_ms};

/// A code of `LINK`, waiting for its `PAIR` (`tokens.rs`).
struct LinkCode {
    user: UserId,
    expires: Instant,
}

/// The devices of every user, and the link codes not yet used.
pub struct Devices {
    /// The record of every user's devices: settings in the store's log,
    /// read before a device counts.
    record: Arc<InLog>,
    /// `--max-devices`: receive connections per user at once.
    pub max_devices: usize,
    /// `--device-days`, in ms: a device not seen for longer is forgotten.
    forget_after_ms: u64,
    /// Link codes by code; one per user (a new `LINK` replaces it).
    codes: Mutex<HashMap<String, LinkCode>>,
}

impl Devices {
    /// The devices on `record`.
    pub fn start(record: Arc<InLog>, max_devices: usize, device_days: f64) -> Arc<Devices> {
        let forget_after_ms = (device_days.max(0.0) * 86_400_000.0) as u64;
        Arc::new(Devices {
            record,
            max_devices: max_devices.max(1),
            forget_after_ms,
            codes: Mutex::new(HashMap::new()),
        })
    }

    /// Every device of `name` on record now.
    pub fn on_record(&self, name: &str) -> Vec<Device> {
        self.record.load(name)
    }

    /// Server shutdown: every device online was seen now.
    pub fn stop(&self, online: &[Arc<Outlet>]) {
        for outlet in online {
            self.record.seen(&outlet.name, &outlet.device, outlet.peer_ip, now_ms(), false);
        }
    }

    /// A receive connection of `outlet`'s device logged in from `address`:
    /// the position its replay starts after (0 for a new or forgotten
    /// device: what the inbox still holds), and whether the user now has
    /// several devices that hold its inbox (see [`Devices::several`]). A
    /// forgotten device holds the inbox again from there on: on record
    /// at 0, so that no other device's `ACK` trims what it was not sent.
    pub fn attach(&self, outlet: &Outlet, address: IpAddr) -> (u64, bool) {
        let devices = self.record.load(&outlet.name);
        let mine = book::find(&devices, &outlet.device);
        let position = mine.and_then(|d| d.position);
        let live = devices.iter().filter(|d| d.position.is_some()).count() + usize::from(position.is_none());
        let back = mine.is_some() && position.is_none();
        if back {
            self.record.seen(&outlet.name, &outlet.device, address, now_ms(), true);
        }
        (position.unwrap_or(0), live > 1)
    }

    /// Tells the store whether `user` has several devices: its inbox then
    /// gets copies of its own messages and read marks (`Record::Devices`).
    /// Never called under the router's lock: the store may deliver.
    pub fn several(base: &Base, user: UserId, several: bool) {
        base.store.set_several(user, several);
    }

    /// `outlet`'s connection ended: its device was seen now, from where
    /// it came.
    pub fn detach(&self, outlet: &Outlet) {
        self.record.seen(&outlet.name, &outlet.device, outlet.peer_ip, now_ms(), false);
    }

    /// `ACK:<seq>` from `outlet`'s device (see the module documentation).
    pub fn ack(&self, base: &Base, outlet: &Outlet, seq: u64) {
        let online = online_devices(base, outlet.user);
        // Lock order: the router (above), then the store.
        let forgotten = |d: &Device| forgotten(d, &online, now_ms(), self.forget_after_ms);
        base.store.ack_device(outlet.user, Some((&outlet.device, seq)), &forgotten);
    }

    /// `DEVICES`: `user`'s devices, sorted by name.
    pub fn list(&self, base: &Base, user: UserId, name: &str) -> Vec<DeviceLine> {
        let online = online_devices(base, user);
        let mut lines: Vec<DeviceLine> = self
            .record
            .load(name)
            .iter()
            .map(|d| {
                let is_online = online.iter().any(|o| o.eq_ignore_ascii_case(&d.name));
                let presence = if is_online { Presence::Online } else { Presence::LastSeen(d.seen_ms) };
                DeviceLine { device: d.name.to_string(), presence, address: d.address }
            })
            .collect();
        lines.sort_by_key(|l| fold(&l.device));
        lines
    }

    /// `UNLINK:<device>` from the send connection `asker`: logs the device
    /// out for good and revokes its token and position, on record before
    /// anything else changes (refused: nothing changed); then its send
    /// connections (but `asker`, which its caller closes after the `OK`)
    /// are closed. Its receive connection hears `BYE:UNLINKED` from the
    /// router as the record is applied (`Router::written`).
    pub fn unlink(
        &self,
        base: &Base,
        (user, name): (UserId, &str),
        device: &str,
        asker: u64,
    ) -> Result<(), Ko> {
        if book::find(&self.record.load(name), device).is_none() {
            return Err(Ko::new(Code::UnknownDevice, format!("you have no device named {device}")));
        }
        self.record.remove(name, device).inspect_err(|ko| {
            log::error!("devices: removing {name}'s device {device}: {}", ko.reason);
        })?;
        base.router.sends.close_device(user, device, Some(asker));
        self.trim(base, user);
        log::info!("{name}: device {device} unlinked");
        Ok(())
    }

    /// `user`'s devices changed (one left): the inbox is trimmed to the
    /// lowest position of those still live, and whether it has several
    /// told again.
    fn trim(&self, base: &Base, user: UserId) {
        let online = online_devices(base, user);
        let forgotten = |d: &Device| forgotten(d, &online, now_ms(), self.forget_after_ms);
        base.store.ack_device(user, None, &forgotten);
    }
}

/// True if `device` is to be forgotten at `now`: not online (`online`:
/// the names of its user's devices that are), holding a position, and
/// not seen for `forget_after_ms` (`--device-days`).
fn forgotten(device: &Device, online: &[Arc<str>], now: u64, forget_after_ms: u64) -> bool {
    let is_online = online.iter().any(|o| o.eq_ignore_ascii_case(&device.name));
    !is_online && device.position.is_some() && device.seen_ms.saturating_add(forget_after_ms) < now
}

/// The names of `user`'s devices online.
fn online_devices(base: &Base, user: UserId) -> Vec<Arc<str>> {
    base.router.outlets(user).iter().map(|o| o.device.clone()).collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::{Hasher, LocalStore, Store, StoreOptions};

    /// The devices of a store on `dir` (made if new), which has the
    /// account `ana`; and the store, to stop or open again.
    pub(in crate::server::devices) fn on_a_store(dir: &std::path::Path) -> (Arc<Devices>, Arc<LocalStore>) {
        let local = Arc::new(LocalStore::open(dir, StoreOptions::default(), Box::new(|_| {})).unwrap());
        let store = Store::new(local.clone(), Hasher::new(8).unwrap());
        if store.find_account("ana").is_none() {
            store.register("ana", "", "pw-ana").unwrap();
        }
        let devices = Devices::start(Arc::new(InLog::new(local.clone())), 5, 1.0);
        (devices, local)
    }

    /// The `--device-days` rule with the clock given, not waited for: a
    /// device is forgotten once its days have passed, to the millisecond,
    /// unless it is online.
    #[test]
    fn a_device_is_forgotten_past_its_days_unless_online() {
        let day_ms = 86_400_000;
        let device = |name: &str, position| Device {
            name: name.into(),
            position,
            seen_ms: 1_000,
            address: IpAddr::from([127, 0, 0, 1]),
            token: None,
        };
        let old = device("old", Some(3));
        assert!(!forgotten(&old, &[], 1_000 + day_ms, day_ms), "a day exactly: kept");
        assert!(forgotten(&old, &[], 1_000 + day_ms + 1, day_ms), "past it: forgotten");
        assert!(!forgotten(&old, &["OLD".into()], 1_000 + day_ms + 1, day_ms), "online: kept");
        assert!(!forgotten(&device("old", None), &[], 1_000 + day_ms + 1, day_ms), "forgotten already");
    }

    /// Logging in under ever new names keeps at most `MAX_KNOWN` devices
    /// on record: each new one past it pushes the oldest without a token
    /// out of the record, never a linked one.
    #[test]
    fn new_devices_past_the_limit_push_the_oldest_untokened_off_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let (devices, _) = on_a_store(dir.path());
        let home = IpAddr::from([10, 0, 0, 1]);
        let token = devices.new_token("ana", "linked", home).unwrap();
        for i in 0..=book::MAX_KNOWN {
            devices.arrive("ana", &format!("d{i}"), home);
        }
        let kept = devices.record.load("ana");
        let names: Vec<&str> = kept.iter().map(|d| &*d.name).collect();
        assert_eq!(names.len(), book::MAX_KNOWN, "{names:?}");
        assert!(names.contains(&"linked") && !names.contains(&"d0") && !names.contains(&"d1"), "{names:?}");
        assert!(devices.token_matches("ana", "linked", &token));
    }
}
