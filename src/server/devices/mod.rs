//! Several devices on one account (protocol 1.2, docs/PROTOCOL.md §16):
//! one inbox per user, a position in it per device.
//!
//! The store keeps each user's inbox as before, with one number `acked`:
//! events up to it are gone. This module keeps, beside it, where each
//! device is (`store::devices`, `devices.csv`), and turns the devices'
//! `ACK`s into the store's two operations:
//!
//! - the inbox is trimmed (`Backend::ack`) up to the **lowest** position of
//!   the live devices: an event leaves the inbox once every device has it;
//! - direct messages become DELIVERED (`Backend::deliver`) up to the
//!   **highest**: two grey ticks as soon as the first device has it.
//!
//! A user with one device (every 1.0/1.1 client: the device `default`)
//! has lowest = highest = its `ACK`, which is exactly the `ack` of before.
//!
//! A device not seen for `--device-days` is *forgotten*: its position is
//! dropped, so an old laptop in a drawer does not keep its user's inbox
//! (memory and disk) growing for ever. If it comes back it starts from
//! what the inbox still holds.
//!
//! Linking (`LINK`, `PAIR`): a one-time code, kept in memory for
//! [`LINK_CODE_SECS`](crate::protocol::LINK_CODE_SECS), trades for a
//! token whose SHA-256 goes to `devices.csv` (why SHA-256 and not argon2:
//! see `store::devices`); the codes and tokens are [`tokens`]'s.
//!
//! A cluster node also has the cluster's shared record
//! ([`InLog`], its replicated log): a user's devices are read from it
//! before they count (a receive login, a token, `DEVICES`, `UNLINK`), a
//! token made or a device unlinked is written there before the client
//! hears of it, and the flusher writes the positions that moved there too.
//! So a token made on one node logs in on any, and a device that moves
//! between nodes keeps its position (to within the last [`FLUSH_EVERY`]):
//! see [`shared`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::base::Base;

mod sessions;
mod shared;
mod tokens;
use crate::protocol::names::fold;
use crate::protocol::{Code, DeviceLine, Ko, Presence};
use crate::router::{LoggedOut, Outlet};
use crate::store::devices::{self as book, Device, DeviceBook, InLog};
use crate::store::disk::Disk;
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
    /// The disk of the data directory, where the book is written.
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    book: Mutex<DeviceBook>,
    /// Positions or times moved since the file was last written.
    dirty: AtomicBool,
    /// Whether the spare was there at the last look (its loss and its
    /// return are logged once each).
    spare: AtomicBool,
    /// One writer of the file at a time, in order.
    writing: Mutex<()>,
    /// `--max-devices`: receive connections per user at once.
    pub max_devices: usize,
    /// `--device-days`, in ms: a device not seen for longer is forgotten.
    forget_after_ms: u64,
    /// Link codes by code; one per user (a new `LINK` replaces it).
    codes: Mutex<HashMap<String, LinkCode>>,
    /// Per user with devices behind the first: up to where DELIVERED was
    /// asked of the store, so that each `ACK` asks only for what is new.
    delivered: Mutex<HashMap<UserId, u64>>,
    /// A cluster's shared record of devices (none on a single server).
    shared: OnceLock<Arc<InLog>>,
    /// Users whose devices moved since they were last written to `shared`.
    moved: Mutex<HashSet<String>>,
    /// The flusher thread and what stops it.
    flusher: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl Devices {
    /// Loads `devices.csv` from `dir` on `disk`, makes its spare (the
    /// module `store::devices`) and starts the flusher thread.
    pub fn start(
        disk: Arc<dyn Disk>,
        dir: PathBuf,
        max_devices: usize,
        device_days: f64,
    ) -> std::io::Result<Arc<Devices>> {
        // A cluster node has no store of its own here: the folder may be new.
        disk.create_dir_all(&dir)?;
        let book = DeviceBook::load(&*disk, &dir)?;
        let forget_after_ms = (device_days.max(0.0) * 86_400_000.0) as u64;
        let spare = book::make_spare(&*disk, &dir, book_len(&*disk, &dir));
        if !spare {
            log::warn!(
                "devices: no room for {} yet: a device revoked on a full disk may be refused",
                book::SPARE
            );
        }
        let devices = Arc::new(Devices {
            disk,
            dir,
            book: Mutex::new(book),
            dirty: AtomicBool::new(false),
            spare: AtomicBool::new(spare),
            writing: Mutex::new(()),
            max_devices: max_devices.max(1),
            forget_after_ms,
            codes: Mutex::new(HashMap::new()),
            delivered: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
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

    /// Writes the book if anything moved, and makes the spare again if it
    /// is missing (the flusher's turn, and stop).
    fn flush(&self) {
        self.flush_shared();
        if self.dirty.swap(false, Ordering::SeqCst)
            && let Err(e) = self.save()
        {
            self.dirty.store(true, Ordering::SeqCst);
            log::warn!("devices: writing {}: {e}", book::FILE);
        }
        self.keep_spare();
    }

    /// Writes the book now, synced.
    fn save(&self) -> std::io::Result<()> {
        let _one_writer = self.writing.lock();
        let bytes = self.book.lock().encode();
        DeviceBook::write(&*self.disk, &self.dir, &bytes)
    }

    /// Makes `change` to `name`'s devices, durable before the client hears
    /// of it. A single server writes the book as it will be **first**, and
    /// changes memory only once that is on disk: a write that fails
    /// (`KO:FULL`, `KO:INTERNAL`) changes nothing, the old file staying
    /// whole. A change that `revokes` a device must win over a disk that
    /// another program filled: it spends the spare (`store::devices`).
    /// Why not memory first and the file when there is room: an `OK` is a
    /// promise that the revoked token never logs in again, and a token
    /// revoked in memory only comes back at the next start, after a crash
    /// too; a `KO` must mean that nothing happened.
    ///
    /// A cluster node's caller wrote the shared record first (the truth
    /// that every node reads before a token counts); the book, its cache,
    /// changes at once and is written at the flusher's turn.
    ///
    /// `change` is called twice, on a copy then on the book, and must do
    /// the same both times.
    fn commit<T>(
        &self,
        name: &str,
        revokes: bool,
        mut change: impl FnMut(&mut Vec<Device>) -> T,
    ) -> Result<T, Ko> {
        let _one_writer = self.writing.lock();
        if !self.is_shared() {
            let bytes = {
                let book = self.book.lock();
                let mut devices = book.devices(name).to_vec();
                change(&mut devices);
                book.encode_changed(name, &devices)
            };
            let written = if revokes {
                book::write_spending(&*self.disk, &self.dir, &bytes)
            } else {
                DeviceBook::write(&*self.disk, &self.dir, &bytes)
            };
            written.map_err(|e| refusal(&e))?;
        } else {
            self.dirty.store(true, Ordering::SeqCst);
        }
        let mut book = self.book.lock();
        let out = change(book.devices_mut(name));
        book.drop_if_empty(name);
        Ok(out)
    }

    /// Makes the spare again if it is missing or small for the book (a
    /// single server's: a cluster node's book is a cache, the record is
    /// its database's), saying so once when it is lost and once when back.
    fn keep_spare(&self) {
        if self.is_shared() {
            return;
        }
        let there = book::make_spare(&*self.disk, &self.dir, book_len(&*self.disk, &self.dir));
        match (self.spare.swap(there, Ordering::SeqCst), there) {
            (true, false) => log::warn!("devices: no room for {} on the disk", book::SPARE),
            (false, true) => log::info!("devices: {} made again", book::SPARE),
            _ => {}
        }
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
        self.dirty.store(true, Ordering::SeqCst);
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
    /// out for good and revokes its token and position, written before
    /// anything else changes ([`Devices::commit`]); then its receive
    /// connection hears `BYE:UNLINKED`, its send connections (but `asker`,
    /// which its caller closes after the `OK`) are closed.
    pub fn unlink(
        &self,
        base: &Base,
        (user, name): (UserId, &str),
        device: &str,
        asker: u64,
    ) -> Result<(), Ko> {
        if !self.refresh(name) {
            return Err(Ko::store_unavailable());
        }
        if book::find(self.book.lock().devices(name), device).is_none() {
            return Err(Ko::new(Code::UnknownDevice, format!("you have no device named {device}")));
        }
        if let Some(shared) = self.shared.get() {
            shared.remove(&fold(name), device).map_err(|e| {
                log::error!("devices: removing {name}'s device {device} from the cluster: {e}");
                Ko::store_unavailable()
            })?;
        }
        self.commit(name, true, |devices| book::remove(devices, device))?;
        base.router.sends.close_device(user, device, Some(asker));
        if let Some(outlet) = base.router.device(user, device) {
            outlet.log_out(LoggedOut::Unlinked);
        }
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

/// Bytes of the book as last written (0: none yet), which the spare must hold.
fn book_len(disk: &dyn Disk, dir: &std::path::Path) -> u64 {
    disk.open_read(&dir.join(book::FILE)).and_then(|f| f.len()).unwrap_or(0)
}

/// The answer to a write of the book that failed: `KO:FULL` for a full
/// disk, else `KO:INTERNAL` (logged either way).
fn refusal(e: &std::io::Error) -> Ko {
    log::error!("devices: writing {}: {e}", book::FILE);
    if crate::store::disk::no_space(e) {
        return Ko::disk_full();
    }
    Ko::new(Code::Internal, "the server cannot write to its disk; try later")
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

/// The flusher: writes the book once a [`FLUSH_EVERY`] if it moved.
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
mod tests {
    use super::*;
    use crate::store::disk::RealDisk;

    /// The `--device-days` rule with the clock given, not waited for: a
    /// device is forgotten once its days have passed, to the millisecond,
    /// unless it is online.
    #[test]
    fn a_device_is_forgotten_past_its_days_unless_online() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(Arc::new(RealDisk), dir.path().into(), 5, 1.0).unwrap();
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
    }
}
