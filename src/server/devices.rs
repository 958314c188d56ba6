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
//! Linking (`LINK`, `PAIR`): a one-time code, kept here in memory for
//! [`LINK_CODE_SECS`], trades for a token whose SHA-256 goes to
//! `devices.csv` (why SHA-256 and not argon2: see `store::devices`).
//!
//! A cluster node also has the cluster's shared record
//! ([`SharedDevices`], its database): a user's devices are read from it
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

use super::Ctx;

mod forget;
mod sessions;
mod shared;
use crate::protocol::codes;
use crate::protocol::names::fold;
use crate::protocol::{Bye, Code, DeviceLine, Ko, LINK_CODE_LEN, LINK_CODE_SECS, Presence};
use crate::router::Outlet;
use crate::store::devices::{Device, DeviceBook, SharedDevices, hash_token};
use crate::store::{UserId, now_ms};

/// How often the flusher thread writes positions that moved.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Default of `--device-days`.
pub const DEFAULT_DEVICE_DAYS: f64 = 30.0;

/// A code of `LINK`, waiting for its `PAIR`.
struct LinkCode {
    user: UserId,
    expires: Instant,
}

/// The devices of every user, and the link codes not yet used.
pub struct Devices {
    dir: PathBuf,
    book: Mutex<DeviceBook>,
    /// Positions or times moved since the file was last written.
    dirty: AtomicBool,
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
    shared: OnceLock<Arc<dyn SharedDevices>>,
    /// Users whose devices moved since they were last written to `shared`.
    moved: Mutex<HashSet<String>>,
    /// The flusher thread and what stops it.
    flusher: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl Devices {
    /// Loads `devices.csv` from `dir` and starts the flusher thread.
    pub fn start(dir: PathBuf, max_devices: usize, device_days: f64) -> std::io::Result<Arc<Devices>> {
        // A cluster node has no store of its own here: the folder may be new.
        std::fs::create_dir_all(&dir)?;
        let book = DeviceBook::load(&dir)?;
        let forget_after_ms = (device_days.max(0.0) * 86_400_000.0) as u64;
        let devices = Arc::new(Devices {
            dir,
            book: Mutex::new(book),
            dirty: AtomicBool::new(false),
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

    /// Writes the book if anything moved (the flusher's turn, and stop).
    fn flush(&self) {
        self.flush_shared();
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.save() {
            self.dirty.store(true, Ordering::SeqCst);
            log::warn!("devices: writing {}: {e}", crate::store::devices::FILE);
        }
    }

    /// Writes the book now, synced (a token made, a device unlinked).
    fn save(&self) -> std::io::Result<()> {
        let _one_writer = self.writing.lock();
        let bytes = self.book.lock().encode();
        DeviceBook::write(&self.dir, &bytes)
    }

    /// [`Devices::save`] for a request: a failure is logged, and the
    /// client told `KO:INTERNAL`.
    fn save_or_ko(&self) -> Result<(), Ko> {
        self.save().map_err(|e| {
            log::error!("devices: writing {}: {e}", crate::store::devices::FILE);
            Ko::new(Code::Internal, "the server cannot write to its disk; try later")
        })
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
    pub fn several(ctx: &Ctx, user: UserId, several: bool) {
        ctx.store.set_several(user, several);
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
    pub fn ack(&self, ctx: &Ctx, outlet: &Outlet, seq: u64) {
        let user = outlet.user;
        let online = online_devices(ctx, user);
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
            Devices::several(ctx, user, false);
        }
        if self.is_shared() && (!trim.forgot || self.acked_shared(&outlet.name)) {
            // A cluster: the ACK's transaction writes this device's
            // position in the table, trims to the lowest there, whatever
            // node each device is on, and marks DELIVERED up to `seq`
            // (`cluster::apply`). A device just forgotten is written first.
            // Only the cache (devices.csv) is behind: the table gets the
            // position from the ACK's transaction, not again from the flusher.
            self.dirty.store(true, Ordering::SeqCst);
            ctx.store.ack_device(user, &outlet.device, seq);
            return;
        }
        let lowest = trim.lowest.unwrap_or(seq);
        self.moved(&outlet.name);
        if seq > lowest {
            let mut delivered = self.delivered.lock();
            let from = delivered.get(&user).copied().unwrap_or(0).max(lowest);
            if seq > from {
                ctx.store.deliver(user, from, seq);
                delivered.insert(user, seq);
            }
        } else {
            self.delivered.lock().remove(&user);
        }
        ctx.store.ack(user, lowest);
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
    pub fn list(&self, ctx: &Ctx, user: UserId, name: &str) -> Vec<DeviceLine> {
        self.refresh(name);
        let online = online_devices(ctx, user);
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
    /// out for good and revokes its token and position; its receive
    /// connection hears `BYE:UNLINKED`, its send connections (but `asker`,
    /// which its caller closes after the `OK`) are closed, here and on a
    /// cluster's other nodes.
    pub fn unlink(
        &self,
        ctx: &Ctx,
        (user, name): (UserId, &str),
        device: &str,
        asker: u64,
    ) -> Result<(), Ko> {
        if !self.refresh(name) {
            return Err(Ko::new(Code::Internal, "the database is unavailable; try again"));
        }
        let online = online_devices(ctx, user);
        let lowest = {
            let mut book = self.book.lock();
            if book.remove(name, device).is_none() {
                return Err(Ko::new(Code::UnknownDevice, format!("you have no device named {device}")));
            }
            self.trim_point(book.devices_mut(name), &online, now_ms())
        };
        if lowest.live <= 1 {
            Devices::several(ctx, user, false);
        }
        let lowest = lowest.lowest;
        if let Some(shared) = self.shared.get() {
            shared.remove(&fold(name), device).map_err(|e| {
                log::error!("devices: removing {name}'s device {device} from the cluster: {e}");
                Ko::new(Code::Internal, "the database is unavailable; try again")
            })?;
        }
        self.save_or_ko()?;
        ctx.nodes.unlinked(user, device);
        ctx.router.sends.close_device(user, device, Some(asker));
        if let Some(outlet) = ctx.router.device(user, device) {
            // A 1.0/1.1 client does not know UNLINKED; REPLACED tells it
            // as clearly not to come back on its own.
            outlet.close(if outlet.speaks(2) { Bye::Unlinked } else { Bye::Replaced });
        }
        if let Some(lowest) = lowest {
            ctx.store.ack(user, lowest);
        }
        log::info!("{name}: device {device} unlinked");
        Ok(())
    }

    /// 1.2 `PASSWD` (`server::accounts`): the tokens of every device of
    /// `name` but `keep` are revoked (written, and on a cluster's shared
    /// record, before the `OK`), the devices staying on record with their
    /// positions. Returns the names of the other devices.
    pub fn revoke_tokens(&self, name: &str, keep: &str) -> Result<Vec<Arc<str>>, Ko> {
        if !self.refresh(name) {
            return Err(Ko::new(Code::Internal, "the database is unavailable; try again"));
        }
        let revoked: Vec<Device> = {
            let mut book = self.book.lock();
            let others = book.devices_mut(name).iter_mut().filter(|d| !d.name.eq_ignore_ascii_case(keep));
            others
                .map(|d| {
                    d.token = None;
                    d.clone()
                })
                .collect()
        };
        if let Some(shared) = self.shared.get() {
            for device in &revoked {
                shared.add(&fold(name), device, true).map_err(|e| {
                    log::error!("devices: revoking {name}'s token of {} in the cluster: {e}", device.name);
                    Ko::new(Code::Internal, "the database is unavailable; try again")
                })?;
            }
        }
        self.save_or_ko()?;
        Ok(revoked.into_iter().map(|d| d.name).collect())
    }

    /// `LINK`: a new one-time code for `user` (replacing its previous one).
    pub fn link(&self, user: UserId) -> String {
        let code = random_code();
        let mut codes = self.codes.lock();
        let now = Instant::now();
        codes.retain(|_, c| c.expires > now && c.user != user);
        let expires = now + Duration::from_secs(LINK_CODE_SECS);
        codes.insert(code.clone(), LinkCode { user, expires });
        code
    }

    /// Uses up `code` for `user`: true if it was that user's and valid.
    /// Typed in capitals, or with spaces, it is the same code (`codes::normalize`).
    pub fn take_code(&self, user: UserId, code: &str) -> bool {
        let code = codes::normalize(code);
        let mut codes = self.codes.lock();
        match codes.get(&code) {
            Some(c) if c.user == user => {
                let valid = c.expires > Instant::now();
                codes.remove(&code);
                valid
            }
            _ => false,
        }
    }

    /// A token for `user`'s `device` (made if new, seen from `address`),
    /// written before it is given out.
    pub fn new_token(&self, name: &str, device: &str, address: IpAddr) -> Result<String, Ko> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| Ko::new(Code::Internal, format!("no random numbers: {e}")))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.refresh(name);
        let made = {
            let mut book = self.book.lock();
            let made = book.touch(name, device, address, now_ms(), 0);
            made.token = Some(hash_token(&token));
            made.clone()
        };
        if let Some(shared) = self.shared.get() {
            shared.add(&fold(name), &made, true).map_err(|e| {
                log::error!("devices: writing {name}'s token to the cluster: {e}");
                Ko::new(Code::Internal, "the database is unavailable; try again")
            })?;
        }
        self.save_or_ko()?;
        Ok(token)
    }

    /// True if `secret` is the token of `user`'s `device`.
    /// In a cluster the shared record is read first: a token made on any
    /// node counts, one unlinked on any node does not; if it cannot be
    /// read, no token logs in (the password still does).
    pub fn token_matches(&self, user: &str, device: &str, secret: &str) -> bool {
        if !self.refresh(user) {
            return false;
        }
        self.book.lock().token_matches(user, device, secret)
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

/// The names of `user`'s devices online here, and on a cluster's other
/// nodes (protocol 1.2: devices of one user on several nodes at once).
fn online_devices(ctx: &Ctx, user: UserId) -> Vec<Arc<str>> {
    let mut online: Vec<Arc<str>> = ctx.router.outlets(user).iter().map(|o| o.device.clone()).collect();
    online.extend(ctx.nodes.devices_elsewhere(user).into_iter().map(Arc::from));
    online
}

/// A random code of [`LINK_CODE_LEN`] characters of `codes::ALPHABET`.
fn random_code() -> String {
    codes::random(LINK_CODE_LEN).expect("the OS random generator is available")
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

    #[test]
    fn codes_are_single_use_and_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(dir.path().into(), 5, 30.0).unwrap();
        let code = devices.link(1);
        assert_eq!(code.len(), LINK_CODE_LEN);
        assert!(code.bytes().all(|b| codes::ALPHABET.contains(&b)));
        assert!(!devices.take_code(2, &code), "another user's code");
        assert!(devices.take_code(1, &code));
        assert!(!devices.take_code(1, &code), "used once: used up");
        let code = devices.link(1);
        let newer = devices.link(1);
        assert!(!devices.take_code(1, &code), "replaced by a newer LINK");
        assert!(devices.take_code(1, &newer));
        assert!(!devices.take_code(1, &newer));
        // Five minutes later, a code is refused (and gone).
        let old = devices.link(3);
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap();
        devices.codes.lock().get_mut(&old).unwrap().expires = past;
        assert!(!devices.take_code(3, &old), "expired");
        assert!(devices.codes.lock().is_empty());
        devices.stop(&[]);
    }

    #[test]
    fn item5_a_link_code_typed_in_capitals_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(dir.path().into(), 5, 30.0).unwrap();
        let code = devices.link(1);
        let typed = format!(" {}-{} ", code[..5].to_uppercase(), code[5..].to_uppercase());
        assert!(devices.take_code(1, &typed), "{typed} is {code}");
        devices.stop(&[]);
    }

    #[test]
    fn tokens_are_kept_hashed_and_only_for_their_device() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(dir.path().into(), 5, 30.0).unwrap();
        let home: IpAddr = [10, 0, 0, 1].into();
        let token = devices.new_token("ana", "browser", home).unwrap();
        assert_eq!(token.len(), 32);
        assert!(devices.token_matches("Ana", "BROWSER", &token));
        assert!(!devices.token_matches("ana", "laptop", &token));
        devices.stop(&[]);
        let file = std::fs::read_to_string(dir.path().join(crate::store::devices::FILE)).unwrap();
        assert!(!file.contains(&token), "only its hash is written");
        let again = Devices::start(dir.path().into(), 5, 30.0).unwrap();
        assert!(again.token_matches("ana", "browser", &token));
        again.stop(&[]);
    }
}
