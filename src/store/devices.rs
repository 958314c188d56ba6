//! The devices of each user (protocol 1.2, §16): `devices.csv` in the
//! data directory, one row per device a user logged in from or linked.
//!
//! A row holds what must survive a restart:
//!
//! - the device's **position** in its user's inbox: the last sequence
//!   number it acknowledged (empty once the device is *forgotten*);
//! - when it was last **seen** online, and the **address** it came from
//!   (`DEVICES` lists both);
//! - the SHA-256 of its **token**, if it was linked with a code (`PAIR`).
//!
//! Why a file of its own and not records in the log: the log's records are
//! the messages and their states, replayed to rebuild the inbox with the
//! very same sequence numbers. A position is only a lower bound on what a
//! device has: if the last second of positions is lost in a crash, the
//! device is sent those events again, and clients drop a `MSG` whose
//! `<from>`,`<id>` they already have (at-least-once, as the wire always
//! was). So positions are written by a flusher thread once a second
//! ([`FLUSH_EVERY`] in `server::devices`), never in the path of an `ACK`;
//! and what must not be lost (a token made, a device unlinked) is written
//! and synced before the client hears of it. A data directory without the
//! file (every older one) has no devices yet: each user's first receive
//! login makes its `default` device, at the inbox's position.
//!
//! A cluster keeps the same facts in its replicated log instead, as
//! settings of each user ([`DEVICE`], [`InLog`]): the leader writes them
//! as `SET` records, with the same timing (a token or an unlink before
//! the `OK`, positions at the flusher's turn), and every node applies
//! them, so that the node that leads next has them.
//!
//! Tokens are stored hashed with SHA-256, not argon2: a token is 128 random
//! bits, which no one can guess or look up in a dictionary, so a slow hash
//! would only cost the server time at every login; a password is weak and
//! guessable, so it needs the slow one. Whoever reads this file learns
//! hashes that log no one in.
//!
//! The file is rewritten whole (to `devices.csv.tmp`, synced, renamed):
//! 100,000 devices are about 8 MB and load in a fraction of a second
//! (BENCHMARKS.md, "Devices"). Every byte goes through [`Disk`], so that
//! the tests can run it on a simulated disk that fills up and loses power.
//!
//! **The spare** (`devices.spare`): room kept in reserve for the book, as
//! the store keeps its ballast for the log (`store::ballast`). A device
//! revoked (`UNLINK`, a new password, a deleted account) must be written
//! before the client hears `OK`, and on a disk that another program filled
//! there is no room for the new book: the write that must win removes the
//! spare and writes again ([`write_spending`]). A write that still fails
//! is refused before anything changed (`server::devices::Devices::commit`).
//! The spare is made again, at the book's size and [`SPARE_MARGIN`] more,
//! once there is room ([`make_spare`]).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use super::backend::{Backend, Ticket};
use super::disk::{Disk, SyncPoint, no_space};
use super::ids::UserId;
use super::local::LocalStore;
use super::settings::{Kept, Keys, Setting};
use crate::protocol::names::{check_name, fold};

/// The file, in the data directory.
pub const FILE: &str = "devices.csv";
/// The room kept for it (see the module documentation).
pub const SPARE: &str = "devices.spare";
/// What the spare holds beyond the book's size: a new book that grew by
/// a device or a few, and the file system's rounding to its blocks.
pub const SPARE_MARGIN: u64 = 64 << 10;
const HEADER: &str = "user,device,position,seen,address,token";

/// Most devices a user may have on record (online or not): past it, the
/// one seen longest ago without a token is dropped, so that logging in
/// under ever new names cannot grow the file without end.
pub const MAX_KNOWN: usize = 32;

/// A token's SHA-256.
pub type TokenHash = [u8; 32];

/// One device of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The name as first given (compared ignoring case).
    pub name: Arc<str>,
    /// The last sequence number it acknowledged; `None`: forgotten (it
    /// holds no event in the inbox, and starts afresh if it comes back).
    pub position: Option<u64>,
    /// When it was last online (Unix ms), or linked.
    pub seen_ms: u64,
    /// Where it last came from.
    pub address: IpAddr,
    /// The SHA-256 of its token, if linked with a code.
    pub token: Option<TokenHash>,
}

/// What a session's device was on record as when the session logged in,
/// so that a later request can tell that the device was unlinked (or its
/// token revoked) since, as `LINK` must (issue 38): the device gone from
/// the record, or its token changed, means the session is not the
/// device's any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Not on record (a login with a password under a new name, on the
    /// send port only): nothing was linked that could be unlinked.
    Unrecorded,
    /// On record, with this token's hash (`None`: linked by password).
    Recorded(Option<TokenHash>),
}

/// What a session's login proved: the password, or only the token of
/// its device (1.2). A token is one device's: a session it opened makes
/// no new credential without the password (`LINK:<password>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    Password,
    Token,
}

/// Every user's devices, by folded user name.
#[derive(Default)]
pub struct DeviceBook {
    users: HashMap<String, Vec<Device>>,
}

/// The SHA-256 of a token.
pub fn hash_token(token: &str) -> TokenHash {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut hash = [0; 32];
    hash.copy_from_slice(digest.as_ref());
    hash
}

/// Compares two hashes in a time that does not depend on where they differ.
fn same_hash(a: &TokenHash, b: &TokenHash) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<TokenHash> {
    if s.len() != 64 {
        return None;
    }
    let mut hash = [0; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}

impl DeviceBook {
    /// Reads `devices.csv` from `dir` (none: no devices yet). A row that
    /// does not parse is skipped with a warning: losing a position only
    /// replays events again, and losing a token only makes that device
    /// link again.
    pub fn load(disk: &dyn Disk, dir: &Path) -> io::Result<DeviceBook> {
        let path = dir.join(FILE);
        if !disk.exists(&path) {
            return Ok(DeviceBook::default());
        }
        let text = String::from_utf8_lossy(&disk.read_all(&path)?).into_owned();
        let mut book = DeviceBook::default();
        for (n, line) in text.lines().enumerate().skip(1) {
            match parse_row(line) {
                Ok((user, device)) => book.users.entry(user).or_default().push(device),
                Err(e) => log::warn!("store: {} line {}: {e}; skipped", path.display(), n + 1),
            }
        }
        Ok(book)
    }

    /// The whole file's bytes, to [`write`](DeviceBook::write) outside the
    /// lock that guards the book.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(None)
    }

    /// The file's bytes as they would be with `user`'s devices `changed`
    /// (the rest as they are): what is written before a change is made
    /// in memory (`server::devices::Devices::commit`).
    pub fn encode_changed(&self, user: &str, changed: &[Device]) -> Vec<u8> {
        self.encode_with(Some((&fold(user), changed)))
    }

    fn encode_with(&self, changed: Option<(&String, &[Device])>) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * self.len() + HEADER.len() + 1);
        let _ = writeln!(out, "{HEADER}");
        let mut users: Vec<&String> = self.users.keys().chain(changed.map(|(user, _)| user)).collect();
        users.sort();
        users.dedup();
        for user in users {
            let devices = match changed {
                Some((changed_user, devices)) if changed_user == user => devices,
                _ => &self.users[user],
            };
            for d in devices {
                let position = d.position.map_or(String::new(), |p| p.to_string());
                let token = d.token.map_or(String::new(), |t| hex(&t));
                let _ = writeln!(out, "{user},{},{position},{},{},{token}", d.name, d.seen_ms, d.address);
            }
        }
        out
    }

    /// Replaces `devices.csv` in `dir` with `bytes`, synced (readable by
    /// the server's user only, as every file of the data directory: it
    /// holds token hashes).
    pub fn write(disk: &dyn Disk, dir: &Path, bytes: &[u8]) -> io::Result<()> {
        disk.replace(&dir.join(FILE), bytes)
    }

    /// How many devices are on record, all users together.
    pub fn len(&self) -> usize {
        self.users.values().map(Vec::len).sum()
    }

    /// Every device on record, with its folded user name.
    pub fn all(&self) -> impl Iterator<Item = (&str, &Device)> {
        self.users.iter().flat_map(|(user, devices)| devices.iter().map(move |d| (user.as_str(), d)))
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// `user`'s devices (none: an empty slice).
    pub fn devices(&self, user: &str) -> &[Device] {
        self.users.get(&fold(user)).map_or(&[], Vec::as_slice)
    }

    /// `user`'s devices, to change.
    pub fn devices_mut(&mut self, user: &str) -> &mut Vec<Device> {
        self.users.entry(fold(user)).or_default()
    }

    /// Forgets `user` if a change left it no device.
    pub fn drop_if_empty(&mut self, user: &str) {
        let key = fold(user);
        if self.users.get(&key).is_some_and(Vec::is_empty) {
            self.users.remove(&key);
        }
    }

    /// `user`'s device `name`, if on record.
    pub fn device_mut(&mut self, user: &str, name: &str) -> Option<&mut Device> {
        let key = fold(name);
        self.users.get_mut(&fold(user))?.iter_mut().find(|d| fold(&d.name) == key)
    }

    /// `user`'s device `name`, made if new (at `position`), within
    /// [`MAX_KNOWN`]; it is seen now, from `address`.
    pub fn touch(
        &mut self,
        user: &str,
        name: &str,
        address: IpAddr,
        now_ms: u64,
        position: u64,
    ) -> &mut Device {
        touch(self.devices_mut(user), name, address, now_ms, position)
    }

    /// Removes `user`'s device `name` (`UNLINK`); `None` if there is none.
    pub fn remove(&mut self, user: &str, name: &str) -> Option<Device> {
        let devices = self.users.get_mut(&fold(user))?;
        let device = remove(devices, name)?;
        if devices.is_empty() {
            self.users.remove(&fold(user));
        }
        Some(device)
    }

    /// What `user`'s device `name` is on record as now.
    pub fn standing(&self, user: &str, name: &str) -> Standing {
        match find(self.devices(user), name) {
            Some(device) => Standing::Recorded(device.token),
            None => Standing::Unrecorded,
        }
    }

    /// True if `token` is the token of `user`'s device `name`.
    pub fn token_matches(&self, user: &str, name: &str, token: &str) -> bool {
        let Some(device) = find(self.devices(user), name) else { return false };
        device.token.is_some_and(|hash| same_hash(&hash, &hash_token(token)))
    }
}

/// The device `name` of a user's `devices` (names compared ignoring case).
pub fn find<'a>(devices: &'a [Device], name: &str) -> Option<&'a Device> {
    let key = fold(name);
    devices.iter().find(|d| fold(&d.name) == key)
}

/// Removes the device `name` from a user's `devices`.
pub fn remove(devices: &mut Vec<Device>, name: &str) -> Option<Device> {
    let key = fold(name);
    let i = devices.iter().position(|d| fold(&d.name) == key)?;
    Some(devices.remove(i))
}

/// The device `name` of a user's `devices`, made if new (at `position`),
/// within [`MAX_KNOWN`]; it is seen now, from `address`.
pub fn touch<'a>(
    devices: &'a mut Vec<Device>,
    name: &str,
    address: IpAddr,
    now_ms: u64,
    position: u64,
) -> &'a mut Device {
    let key = fold(name);
    let i = match devices.iter().position(|d| fold(&d.name) == key) {
        Some(i) => i,
        None => {
            if devices.len() >= MAX_KNOWN {
                // The one seen longest ago, preferring one without a token.
                let oldest =
                    (0..devices.len()).min_by_key(|&i| (devices[i].token.is_some(), devices[i].seen_ms));
                if let Some(oldest) = oldest {
                    devices.remove(oldest);
                }
            }
            devices.push(Device {
                name: name.into(),
                position: Some(position),
                seen_ms: now_ms,
                address,
                token: None,
            });
            devices.len() - 1
        }
    };
    let device = &mut devices[i];
    device.seen_ms = device.seen_ms.max(now_ms);
    device.address = address;
    device
}

/// [`DeviceBook::write`] for a change that must win (a device revoked):
/// if the disk has no room, the spare is removed and the book written
/// again in the room it leaves. `Err` if there was no spare or that
/// room did not do.
pub fn write_spending(disk: &dyn Disk, dir: &Path, bytes: &[u8]) -> io::Result<()> {
    match DeviceBook::write(disk, dir, bytes) {
        Err(e) if no_space(&e) && disk.exists(&dir.join(SPARE)) => {
            log::warn!("devices: {e}; the spare removed for a device revoked, made again once there is room");
            disk.remove(&dir.join(SPARE))?;
            disk.sync_dir(dir, SyncPoint::DataDir)?;
            DeviceBook::write(disk, dir, bytes)
        }
        done => done,
    }
}

/// Makes the spare of `dir` for a book of `book_len` bytes if it is
/// missing or smaller than that and half the margin (it grows with the
/// book, never at every device); true if it is there now. A disk with no
/// room for it keeps none until the next try.
pub fn make_spare(disk: &dyn Disk, dir: &Path, book_len: u64) -> bool {
    let path = dir.join(SPARE);
    let len = disk.open_read(&path).and_then(|f| f.len()).ok();
    if len.is_some_and(|len| len >= book_len + SPARE_MARGIN / 2) {
        return true;
    }
    let made =
        disk.reserve(&path, book_len + SPARE_MARGIN).and_then(|()| disk.sync_dir(dir, SyncPoint::DataDir));
    if let Err(e) = made {
        log::debug!("devices: the spare cannot be made yet: {e}");
        let _ = disk.remove(&path); // what was reserved of it goes back
        return false;
    }
    true
}

/// The setting that holds a user's devices in the log and the `State`
/// (`store::settings`): a `SET` record a device, keyed by [`key`], its
/// value [`encode`]d. So a cluster's devices are replicated as every
/// other stored thing is: the leader writes them through its log, every
/// node applies them, and the node that leads next has them.
pub const DEVICE: Setting = Setting { name: "device", most: MAX_KNOWN, what: "devices" };

/// A device's key in [`DEVICE`]: `@` and its folded name, which no
/// chat's name begins with (a name taken again forgets the settings
/// about it, `settings::about`, and must not forget a device so named).
pub fn key(name: &str) -> String {
    format!("@{}", fold(name))
}

/// A device as the value of its key: `<name> <position> <seen> <address>
/// <token>`, `-` for no position or no token (a name, an address and a
/// hash hold no space). At most 32 + 20 + 20 + 45 + 64 bytes and the
/// spaces: within a setting's [`MAX_VALUE`](super::settings::MAX_VALUE).
pub fn encode(d: &Device) -> String {
    let position = d.position.map_or("-".to_string(), |p| p.to_string());
    let token = d.token.map_or("-".to_string(), |t| hex(&t));
    format!("{} {position} {} {} {token}", d.name, d.seen_ms, d.address)
}

/// A device from its value ([`encode`]); `None` if it does not parse.
pub fn decode(value: &str) -> Option<Device> {
    let f: Vec<&str> = value.split(' ').collect();
    let [name, position, seen, address, token] = f[..] else { return None };
    check_name(name).ok()?;
    Some(Device {
        name: name.into(),
        position: if position == "-" { None } else { Some(position.parse().ok()?) },
        seen_ms: seen.parse().ok()?,
        address: address.parse().ok()?,
        token: if token == "-" { None } else { Some(unhex(token)?) },
    })
}

/// `user`'s `device` as the `SET` record that puts it on record: what a
/// database or a data directory that kept devices apart is converted
/// into (`cluster::upgrade`, `cluster::migrate`).
pub fn record(ts: u64, user: &str, device: &Device) -> super::record::Record {
    super::record::Record::Set {
        ts,
        user: user.into(),
        name: DEVICE.name.to_string(),
        key: key(&device.name),
        value: Some(encode(device)),
    }
}

/// The devices of a cluster, which every node shares: [`DEVICE`]
/// settings of its store, whose `SET` records the leader writes through
/// the shared log. A node reads a user's devices from it before they
/// count (a login, a token, `DEVICES`, `UNLINK`), and writes there what
/// it changed. A single server has none: `devices.csv` is the whole
/// truth.
///
/// `user` is always the folded user name.
pub struct InLog {
    store: Arc<LocalStore>,
}

impl InLog {
    pub fn new(store: Arc<LocalStore>) -> InLog {
        InLog { store }
    }

    fn user(&self, user: &str) -> io::Result<UserId> {
        match self.store.account(user) {
            Ok(Some(account)) => Ok(account.id),
            Ok(None) => Err(io::Error::other(format!("no account {user}"))),
            Err(ko) => Err(io::Error::other(ko.reason)),
        }
    }

    /// Changes `user`'s device `name` by `change` (from what is on record,
    /// the value to keep; `None`: none). Durable once its ticket is
    /// waited for ([`InLog::wait`]).
    fn change(
        &self,
        user: &str,
        name: &str,
        mut change: impl FnMut(Option<Device>) -> Option<Device>,
    ) -> io::Result<Ticket> {
        let id = self.user(user)?;
        let change = self.store.change_setting(id, &DEVICE, &key(name), &mut |kept| {
            Ok(change(kept.current().and_then(decode)).as_ref().map(encode))
        });
        change.map_err(|ko| io::Error::other(ko.reason))
    }

    /// Waits until what `ticket` covers is in the log.
    fn wait(&self, ticket: Ticket) -> io::Result<()> {
        self.store.wait(ticket).map_err(|ko| io::Error::other(ko.reason))
    }

    /// Every device of `user` on record.
    pub fn load(&self, user: &str) -> io::Result<Vec<Device>> {
        let kept = self.store.read_settings(&DEVICE, Keys::Of(self.user(user)?));
        let kept = kept.map_err(|ko| io::Error::other(ko.reason))?;
        Ok(kept.iter().filter_map(|k| decode(&k.value)).collect())
    }

    /// Writes where `user`'s `devices` are and when they were seen, for
    /// those on record (one unlinked meanwhile stays gone). A position
    /// only moves forward (or is forgotten: `None`); no token is written
    /// here.
    ///
    /// The flusher's turn: records nobody waits for
    /// ([`LocalStore::change_setting_unwaited`]), as an acknowledgement's
    /// are: they ride the next batch, and the flusher goes on at once,
    /// whether the database answers or not. A follower has none of its
    /// own to write: its devices are the leader's, which it applies.
    pub fn save(&self, user: &str, devices: &[Device]) -> io::Result<()> {
        if !self.store.leads() {
            return Ok(());
        }
        let id = self.user(user)?;
        for d in devices {
            let mut change = |kept: &Kept| {
                let Some(mut kept) = kept.current().and_then(decode) else {
                    return Ok(None); // unlinked meanwhile: stays gone
                };
                kept.position = match (kept.position, d.position) {
                    (Some(k), Some(p)) => Some(k.max(p)),
                    _ => None,
                };
                kept.seen_ms = kept.seen_ms.max(d.seen_ms);
                kept.address = d.address;
                Ok(Some(encode(&kept)))
            };
            let written = self.store.change_setting_unwaited(id, &DEVICE, &key(&d.name), &mut change);
            written.map_err(|ko| io::Error::other(ko.reason))?;
        }
        Ok(())
    }

    /// Puts `user`'s `device` on record (a login, a link), with its token
    /// if `with_token` (before the token is given out); without, a token
    /// on record stays (a stale node must not bring back a revoked one).
    pub fn add(&self, user: &str, device: &Device, with_token: bool) -> io::Result<()> {
        let ticket = self.change(user, &device.name, |kept| {
            let mut new = device.clone();
            if let Some(kept) = kept {
                if let (Some(k), Some(p)) = (kept.position, new.position) {
                    new.position = Some(k.max(p));
                }
                new.seen_ms = new.seen_ms.max(kept.seen_ms);
                if !with_token {
                    new.token = kept.token;
                }
            } else if !with_token {
                new.token = None;
            }
            Some(new)
        })?;
        self.wait(ticket)
    }

    /// Removes `user`'s device `name` (`UNLINK`): its token no longer
    /// logs in on any node.
    pub fn remove(&self, user: &str, name: &str) -> io::Result<()> {
        let ticket = self.change(user, name, |_| None)?;
        self.wait(ticket)
    }
}

/// What a node knows of one user's devices, merged with what the shared
/// record holds: the record's list (a device unlinked elsewhere is gone,
/// a token made elsewhere is there), each at the further of both positions.
pub fn merge(local: &[Device], shared: Vec<Device>) -> Vec<Device> {
    shared
        .into_iter()
        .map(|mut d| {
            if let Some(mine) = local.iter().find(|l| fold(&l.name) == fold(&d.name)) {
                if let (Some(m), Some(p)) = (mine.position, d.position) {
                    d.position = Some(m.max(p));
                }
                d.seen_ms = d.seen_ms.max(mine.seen_ms);
            }
            d
        })
        .collect()
}

/// One row: the folded user name and its device.
fn parse_row(line: &str) -> Result<(String, Device), String> {
    let f: Vec<&str> = line.split(',').collect();
    let [user, name, position, seen, address, token] = f[..] else {
        return Err(format!("expected 6 fields: {HEADER}"));
    };
    check_name(user)?;
    check_name(name)?;
    let position = match position {
        "" => None,
        p => Some(p.parse().map_err(|_| format!("bad position {p:?}"))?),
    };
    let seen_ms = seen.parse().map_err(|_| format!("bad time {seen:?}"))?;
    let address = address.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let token = match token {
        "" => None,
        t => Some(unhex(t).ok_or("bad token hash")?),
    };
    Ok((fold(user), Device { name: name.into(), position, seen_ms, address, token }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::disk::RealDisk;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));

    #[test]
    fn a_book_survives_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = DeviceBook::default();
        book.touch("Ana", "laptop", HOME, 5, 0).position = Some(12);
        book.touch("ana", "LAPTOP", HOME, 9, 0);
        book.touch("ana", "tui", "::1".parse().unwrap(), 7, 3).token = Some(hash_token("secret"));
        book.touch("bob", "default", HOME, 8, 0).position = None;
        DeviceBook::write(&RealDisk, dir.path(), &book.encode()).unwrap();
        let back = DeviceBook::load(&RealDisk, dir.path()).unwrap();
        assert_eq!(back.devices("ANA"), book.devices("ana"));
        assert_eq!(back.devices("ana").len(), 2, "one laptop, whatever its case");
        assert_eq!(back.devices("ana")[0].seen_ms, 9);
        assert_eq!(back.devices("bob")[0].position, None);
        assert!(back.token_matches("ana", "tui", "secret"));
        assert!(!back.token_matches("ana", "tui", "secreT"));
        assert!(!back.token_matches("ana", "laptop", "secret"), "a token is its own device's");
    }

    #[test]
    fn a_missing_or_damaged_file_loses_only_what_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DeviceBook::load(&RealDisk, dir.path()).unwrap().is_empty());
        let text = format!("{HEADER}\nana,laptop,4,1,127.0.0.1,\nana,a b,4,1,127.0.0.1,\nbob,x\n");
        std::fs::write(dir.path().join(FILE), text).unwrap();
        let book = DeviceBook::load(&RealDisk, dir.path()).unwrap();
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn new_names_past_the_limit_push_out_the_oldest_untokened() {
        let mut book = DeviceBook::default();
        book.touch("ana", "linked", HOME, 0, 0).token = Some(hash_token("t"));
        for i in 1..=MAX_KNOWN as u64 {
            book.touch("ana", &format!("d{i}"), HOME, i, 0);
        }
        let names: Vec<&str> = book.devices("ana").iter().map(|d| &*d.name).collect();
        assert_eq!(names.len(), MAX_KNOWN);
        assert!(names.contains(&"linked") && !names.contains(&"d1"));
        assert!(book.remove("ana", "LINKED").is_some());
        assert!(book.remove("ana", "linked").is_none());
    }

    /// A device's value in the log comes back as it went, and the
    /// longest one (the longest name, position, time and address, and a
    /// token) is a value a setting may hold.
    #[test]
    fn a_device_as_a_setting_comes_back_whole_and_fits() {
        let name = "n".repeat(crate::protocol::names::MAX_NAME);
        let longest = Device {
            name: name.as_str().into(),
            position: Some(u64::MAX),
            seen_ms: u64::MAX,
            address: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".parse().unwrap(),
            token: Some(hash_token("t")),
        };
        let value = encode(&longest);
        assert_eq!(decode(&value), Some(longest.clone()));
        assert_eq!(super::super::settings::check(&key(&name), Some(&value)), Ok(()), "{} bytes", value.len());
        let forgotten = Device { position: None, token: None, address: HOME, ..longest };
        assert_eq!(decode(&encode(&forgotten)), Some(forgotten));
        assert_eq!(key("Laptop"), "@laptop");
        assert_eq!(decode("a b c"), None);
    }

    #[test]
    fn a_merge_keeps_the_shared_list_at_the_further_positions() {
        let device = |name: &str, position, seen_ms, token| Device {
            name: name.into(),
            position,
            seen_ms,
            address: HOME,
            token,
        };
        let local = [
            device("Laptop", Some(7), 50, None),
            device("phone", Some(2), 90, None),
            device("old", Some(1), 10, Some([1; 32])), // unlinked on another node
        ];
        let shared = vec![
            device("laptop", Some(5), 60, None),
            device("phone", Some(4), 80, Some([2; 32])), // linked on another node
            device("tablet", None, 30, None),            // forgotten there
        ];
        let merged = merge(&local, shared);
        assert_eq!(
            merged,
            [
                device("laptop", Some(7), 60, None),
                device("phone", Some(4), 90, Some([2; 32])),
                device("tablet", None, 30, None),
            ]
        );
    }
}
