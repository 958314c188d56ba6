//! Several devices on one account (protocol 1.2, docs/PROTOCOL.md §16):
//! one inbox per user, a position in it per device.
//!
//! The store keeps each user's inbox with one number `acked`: events up
//! to it are gone. This module keeps, beside it, where each device is
//! (`store::devices`: settings of the user in the log), and turns the
//! devices' `ACK`s into the store's two operations:
//!
//! - the inbox is trimmed (`LocalStore::ack`) up to the **lowest** position of
//!   the live devices: an event leaves the inbox once every device has it;
//! - direct messages become DELIVERED (`LocalStore::deliver`) up to the
//!   **highest**: two grey ticks as soon as the first device has it.
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
//! unlinked is written there before the client hears of it, and the
//! flusher writes the positions that moved there once a [`FLUSH_EVERY`],
//! never in the path of an `ACK`. So a token made on one node of a
//! cluster logs in on any, and a device keeps its position through a
//! restart or a move between nodes (to within the last [`FLUSH_EVERY`]):
//! see [`record`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::base::Base;

mod record;
mod sessions;
mod tokens;
use crate::protocol::names::fold;
use crate::protocol::{Code, DeviceLine, Ko, Presence};
use crate::router::Outlet;
use crate::store::InLog;
use crate::store::devices::{self as book, Device, DeviceBook};
use crate::store::{UserId, now_ms};

/// How often the flusher thread writes positions that moved.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A code of `LINK`, waiting for its `PAIR` (`tokens.rs`).
struct LinkCode {
    user: UserId,
    expires: Instant,
}

/// The devices of every user, and the link codes not yet used.
pub struct Devices {
    /// The record of every user's devices: settings in the store's log.
    record: Arc<InLog>,
    /// What this server knows of the record, with the positions and
    /// times that moved since the flusher's last turn.
    book: Mutex<DeviceBook>,
    /// `--max-devices`: receive connections per user at once.
    pub max_devices: usize,
    /// `--device-days`, in ms: a device not seen for longer is forgotten.
    forget_after_ms: u64,
    /// Link codes by code; one per user (a new `LINK` replaces it).
    codes: Mutex<HashMap<String, LinkCode>>,
    /// Per user with devices behind the first: up to where DELIVERED was
    /// asked of the store, so that each `ACK` asks only for what is new.
    delivered: Mutex<HashMap<UserId, u64>>,
    /// Users (folded) whose devices moved since they were last written
    /// to the record.
    moved: Mutex<HashSet<String>>,
    /// The flusher thread and what stops it.
    flusher: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl Devices {
    /// The devices on `record`, and the flusher thread started.
    pub fn start(record: Arc<InLog>, max_devices: usize, device_days: f64) -> std::io::Result<Arc<Devices>> {
        let forget_after_ms = (device_days.max(0.0) * 86_400_000.0) as u64;
        let devices = Arc::new(Devices {
            record,
            book: Mutex::new(DeviceBook::default()),
            max_devices: max_devices.max(1),
            forget_after_ms,
            codes: Mutex::new(HashMap::new()),
            delivered: Mutex::new(HashMap::new()),
            moved: Mutex::new(HashSet::new()),
            flusher: Mutex::new(None),
        });
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let weak = Arc::downgrade(&devices);
        let thread = std::thread::Builder::new()
            .name("devices".into())
            .stack_size(super::threads::STACK_SIZE)
            .spawn(move || flush_loop(&weak, &stopped))?;
        *devices.flusher.lock() = Some((stop, thread));
        Ok(devices)
    }

    /// Makes `change` to `name`'s devices in memory, once its caller wrote
    /// it on record (a token made, a device unlinked: durable before the
    /// client hears of it; refused, nothing changed).
    fn commit<T>(&self, name: &str, change: impl FnOnce(&mut Vec<Device>) -> T) -> T {
        let mut book = self.book.lock();
        let out = change(book.devices_mut(name));
        book.drop_if_empty(name);
        out
    }

    /// Writes what moved and stops the flusher (server shutdown): every
    /// device online is seen now.
    pub fn stop(&self, online: &[Arc<Outlet>]) {
        let now = now_ms();
        {
            let mut book = self.book.lock();
            for outlet in online {
                if let Some(d) = book.device_mut(&outlet.name, &outlet.device) {
                    d.seen_ms = d.seen_ms.max(now);
                }
            }
        }
        for outlet in online {
            self.moved(&outlet.name);
        }
        if let Some((stop, thread)) = self.flusher.lock().take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
        self.flush();
    }

    /// A receive connection of `outlet`'s device logged in from `address`:
    /// the position its replay starts after (0 for a new or forgotten
    /// device: what the inbox still holds), and whether the user now has
    /// several devices that hold its inbox (see [`Devices::several`]).
    pub fn attach(&self, outlet: &Outlet, address: IpAddr) -> (u64, bool) {
        let mut book = self.book.lock();
        let device = book.touch(&outlet.name, &outlet.device, address, now_ms(), 0);
        let position = *device.position.get_or_insert(0);
        let live = book.devices(&outlet.name).iter().filter(|d| d.position.is_some()).count();
        drop(book);
        self.moved(&outlet.name);
        (position, live > 1)
    }

    /// Tells the store whether `user` has several devices: its inbox then
    /// gets copies of its own messages and read marks (`Record::Devices`).
    /// Never called under the router's lock: the store may deliver.
    pub fn several(base: &Base, user: UserId, several: bool) {
        base.store.set_several(user, several);
    }

    /// `outlet`'s connection ended: its device was seen now.
    pub fn detach(&self, outlet: &Outlet) {
        let seen = match self.book.lock().device_mut(&outlet.name, &outlet.device) {
            Some(d) => {
                d.seen_ms = d.seen_ms.max(now_ms());
                true
            }
            None => false,
        };
        if seen {
            self.moved(&outlet.name);
        }
    }

    /// `ACK:<seq>` from `outlet`'s device (see the module documentation).
    pub fn ack(&self, base: &Base, outlet: &Outlet, seq: u64) {
        let user = outlet.user;
        let online = online_devices(base, user);
        // Lock order: the router (above), then the book; the store only
        // once the book is let go (the store may deliver, through the router).
        let trim = {
            let mut book = self.book.lock();
            let Some(device) = book.device_mut(&outlet.name, &outlet.device) else {
                return; // unlinked meanwhile: it holds nothing
            };
            if device.position.is_some_and(|p| p >= seq) {
                return;
            }
            device.position = Some(seq);
            self.trim_point(book.devices_mut(&outlet.name), &online, now_ms())
        };
        if trim.forgot && trim.live <= 1 {
            Devices::several(base, user, false);
        }
        let lowest = trim.lowest.unwrap_or(seq);
        self.moved(&outlet.name);
        if seq > lowest {
            let mut delivered = self.delivered.lock();
            let from = delivered.get(&user).copied().unwrap_or(0).max(lowest);
            if seq > from {
                base.store.deliver(user, from, seq);
                delivered.insert(user, seq);
            }
        } else {
            self.delivered.lock().remove(&user);
        }
        base.store.ack(user, lowest);
    }

    /// The lowest position of `devices` that are live (online, or seen
    /// within `--device-days`), forgetting the others.
    fn trim_point(&self, devices: &mut [Device], online: &[Arc<str>], now: u64) -> Trim {
        let mut trim = Trim { lowest: None, live: 0, forgot: false };
        for d in devices.iter_mut() {
            let is_online = online.iter().any(|o| o.eq_ignore_ascii_case(&d.name));
            if !is_online && d.position.is_some() && d.seen_ms.saturating_add(self.forget_after_ms) < now {
                log::info!("devices: {} not seen for --device-days: forgotten", d.name);
                d.position = None;
                trim.forgot = true;
            }
            if let Some(p) = d.position {
                trim.lowest = Some(trim.lowest.map_or(p, |l| l.min(p)));
                trim.live += 1;
            }
        }
        trim
    }

    /// `DEVICES`: `user`'s devices, sorted by name.
    pub fn list(&self, base: &Base, user: UserId, name: &str) -> Vec<DeviceLine> {
        self.refresh(name);
        let online = online_devices(base, user);
        let book = self.book.lock();
        let mut lines: Vec<DeviceLine> = book
            .devices(name)
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
        self.refresh(name);
        if book::find(self.book.lock().devices(name), device).is_none() {
            return Err(Ko::new(Code::UnknownDevice, format!("you have no device named {device}")));
        }
        self.record.remove(name, device).inspect_err(|ko| {
            log::error!("devices: removing {name}'s device {device}: {}", ko.reason);
        })?;
        self.commit(name, |devices| book::remove(devices, device));
        base.router.sends.close_device(user, device, Some(asker));
        self.trim(base, user, name);
        log::info!("{name}: device {device} unlinked");
        Ok(())
    }

    /// `user`'s devices changed (one left): the inbox is trimmed to the
    /// lowest position of those still live, and whether it has several
    /// told again.
    fn trim(&self, base: &Base, user: UserId, name: &str) {
        let online = online_devices(base, user);
        let trim = {
            let mut book = self.book.lock();
            self.trim_point(book.devices_mut(name), &online, now_ms())
        };
        if trim.forgot {
            self.moved(name);
        }
        if trim.live <= 1 {
            Devices::several(base, user, false);
        }
        if let Some(lowest) = trim.lowest {
            base.store.ack(user, lowest);
        }
    }
}

/// What [`Devices::trim_point`] found.
struct Trim {
    /// The lowest position of a live device (`None`: none is live).
    lowest: Option<u64>,
    /// How many devices are live.
    live: usize,
    /// Some device was forgotten just now.
    forgot: bool,
}

/// The names of `user`'s devices online.
fn online_devices(base: &Base, user: UserId) -> Vec<Arc<str>> {
    base.router.outlets(user).iter().map(|o| o.device.clone()).collect()
}

/// The flusher: writes the positions that moved once a [`FLUSH_EVERY`].
fn flush_loop(devices: &std::sync::Weak<Devices>, stop: &Receiver<()>) {
    loop {
        match stop.recv_timeout(FLUSH_EVERY) {
            Err(RecvTimeoutError::Timeout) => match devices.upgrade() {
                Some(devices) => devices.flush(),
                None => return,
            },
            _ => return,
        }
    }
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
        let devices = Devices::start(Arc::new(InLog::new(local.clone())), 5, 1.0).unwrap();
        (devices, local)
    }

    /// The `--device-days` rule with the clock given, not waited for: a
    /// device is forgotten once its days have passed, to the millisecond,
    /// unless it is online.
    #[test]
    fn a_device_is_forgotten_past_its_days_unless_online() {
        let dir = tempfile::tempdir().unwrap();
        let (devices, _) = on_a_store(dir.path());
        let day_ms = 86_400_000;
        let device = |name: &str| Device {
            name: name.into(),
            position: Some(3),
            seen_ms: 1_000,
            address: IpAddr::from([127, 0, 0, 1]),
            token: None,
        };
        let mut book = [device("phone"), device("old")];
        let trim = devices.trim_point(&mut book, &[], 1_000 + day_ms);
        assert!(!trim.forgot && trim.live == 2 && trim.lowest == Some(3), "a day exactly: kept");
        let trim = devices.trim_point(&mut book, &["phone".into()], 1_000 + day_ms + 1);
        assert!(trim.forgot && trim.live == 1, "past it: forgotten, but the phone is online");
        assert_eq!(book.map(|d| d.position), [Some(3), None]);
        devices.stop(&[]);
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
        devices.stop(&[]);
    }
}
