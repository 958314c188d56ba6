//! The devices of each user (protocol 1.2, §16): one per device a user
//! logged in from or linked, kept as settings of the user in the log
//! ([`DEVICE`]: a `SET` record a device, `store::InLog`), so that a single
//! server and every node of a cluster know them the same way, by the same
//! `State` code.
//!
//! A device on record holds:
//!
//! - its **position** in its user's inbox: the last sequence number it
//!   acknowledged (none once the device is *forgotten*);
//! - when it was last **seen** online, and the **address** it came from
//!   (`DEVICES` lists both);
//! - the SHA-256 of its **token**, if it was linked with a code (`PAIR`).
//!
//! **When each is written.** What must not be lost (a token made, a
//! device unlinked, tokens revoked by a new password) is written and
//! synced before the client hears of it; a refused write changes nothing.
//! A position is only a lower bound on what a device has: if the last
//! second of positions is lost in a crash, the device is sent those
//! events again, and clients drop a `MSG` whose `<from>`,`<id>` they
//! already have (at-least-once, as the wire always was). So a position
//! is moved by the device's own `ACK` record (`Record::Ack` names the
//! device, [`move_to`] applies it), a record nobody waits for
//! (`LocalStore::ack_device`); when a device was last seen is written
//! as its connection ends (`InLog::seen`). A deleted account's devices go with its
//! `DELACCOUNT` record, which clears its settings.
//!
//! **On a full disk** a revocation must still win: its records are
//! admitted below the `--min-free` floor and, once the ballast was spent,
//! in the room the ballast left (`LocalStore::change_setting_first`);
//! with no room at all it is refused before anything changed.
//!
//! Tokens are stored hashed with SHA-256, not argon2: a token is 128 random
//! bits, which no one can guess or look up in a dictionary, so a slow hash
//! would only cost the server time at every login; a password is weak and
//! guessable, so it needs the slow one. Whoever reads the log learns
//! hashes that log no one in.
//!
//! A data directory of an older build keeps its devices in the file
//! [`OLD_FILE`] (with the room reserved for it, [`OLD_SPARE`]): the
//! store's start writes its rows as the same `SET` records, once, then
//! removes both ([`in_old_file`], `LocalStore::open`).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use super::disk::Disk;
use super::settings::{Setting, Settings};
use crate::protocol::names::{check_name, fold};

/// Most devices a user may have on record (online or not): past it, the
/// one seen longest ago without a token is dropped, so that logging in
/// under ever new names cannot grow the record without end.
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
/// token revoked) since, as `LINK` must (a stolen session mints no
/// device that outlives its unlinking): the device gone from
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

/// What the device `name` of a user's `devices` is on record as now.
pub fn standing(devices: &[Device], name: &str) -> Standing {
    match find(devices, name) {
        Some(device) => Standing::Recorded(device.token),
        None => Standing::Unrecorded,
    }
}

/// True if `token` is the token of the device `name` of a user's `devices`.
pub fn token_matches(devices: &[Device], name: &str, token: &str) -> bool {
    let Some(device) = find(devices, name) else { return false };
    device.token.is_some_and(|hash| same_hash(&hash, &hash_token(token)))
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

/// The setting that holds a user's devices in the log and the `State`
/// (`store::settings`): a `SET` record a device, keyed by [`key`], its
/// value [`encode`]d. So devices are kept as every other stored thing
/// is: a single server writes them to its log; a cluster's leader writes
/// them through the shared log, every node applies them, and the node
/// that leads next has them.
pub const DEVICE: Setting =
    Setting { name: "device", most: MAX_KNOWN, what: "devices", longest: crate::store::settings::MAX_VALUE };

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

/// `device` as the setting that puts it on record: the setting's name,
/// its key and its value (`Record::device` makes the `SET` record of it).
pub fn setting(device: &Device) -> (String, String, String) {
    (DEVICE.name.to_string(), key(&device.name), encode(device))
}

/// A user's devices on record, from its `settings` in the state.
pub fn on_record(settings: &Settings) -> Vec<Device> {
    settings.of(DEVICE.name).filter_map(|(_, value)| decode(value)).collect()
}

/// An `ACK` of `device` (`Record::Ack`): its position moves to
/// `position`, never back, in the value of its setting. A device not on
/// record (unlinked meanwhile) holds nothing; a forgotten one holds the
/// inbox again from there.
pub fn move_to(settings: &mut Settings, device: &str, position: u64) {
    let key = key(device);
    let Some(mut kept) = settings.get(DEVICE.name, &key).and_then(decode) else { return };
    if kept.position.is_some_and(|p| p >= position) {
        return;
    }
    kept.position = Some(position);
    settings.set(DEVICE.name, &key, Some(&encode(&kept)));
}

/// The file in which a data directory of an older build keeps its
/// devices, a row each: `user,device,position,seen,address,token`.
pub const OLD_FILE: &str = "devices.csv";
/// The room such a directory reserved for [`OLD_FILE`].
pub const OLD_SPARE: &str = "devices.spare";
const OLD_HEADER: &str = "user,device,position,seen,address,token";

/// The devices of [`OLD_FILE`] in `dir`, with their folded user names
/// (none if there is no file). A row that does not parse is skipped with
/// a warning: losing a position only replays events again, and losing a
/// token only makes that device link again.
pub fn in_old_file(disk: &dyn Disk, dir: &Path) -> io::Result<Vec<(String, Device)>> {
    let path = dir.join(OLD_FILE);
    if !disk.exists(&path) {
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(&disk.read_all(&path)?).into_owned();
    let mut devices = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        match parse_row(line) {
            Ok(row) => devices.push(row),
            Err(e) => log::warn!("store: {} line {}: {e}; skipped", path.display(), n + 1),
        }
    }
    Ok(devices)
}

/// One row of [`OLD_FILE`]: the folded user name and its device.
fn parse_row(line: &str) -> Result<(String, Device), String> {
    let f: Vec<&str> = line.split(',').collect();
    let [user, name, position, seen, address, token] = f[..] else {
        return Err(format!("expected 6 fields: {OLD_HEADER}"));
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
    fn devices_and_tokens_are_found_whatever_the_case() {
        let mut devices = Vec::new();
        touch(&mut devices, "laptop", HOME, 5, 0).position = Some(12);
        touch(&mut devices, "LAPTOP", HOME, 9, 0);
        touch(&mut devices, "tui", "::1".parse().unwrap(), 7, 3).token = Some(hash_token("secret"));
        assert_eq!(devices.len(), 2, "one laptop, whatever its case");
        assert_eq!(devices[0].seen_ms, 9);
        assert_eq!(devices[0].position, Some(12));
        assert!(token_matches(&devices, "TUI", "secret"));
        assert!(!token_matches(&devices, "tui", "secreT"));
        assert!(!token_matches(&devices, "laptop", "secret"), "a token is its own device's");
        assert_eq!(standing(&devices, "Tui"), Standing::Recorded(Some(hash_token("secret"))));
        assert_eq!(standing(&devices, "laptop"), Standing::Recorded(None));
        assert_eq!(standing(&devices, "phone"), Standing::Unrecorded);
    }

    /// The file of an older build: each row that parses, the others skipped.
    #[test]
    fn an_old_file_gives_its_rows_and_skips_the_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        assert!(in_old_file(&RealDisk, dir.path()).unwrap().is_empty(), "no file: no devices");
        let token = hex(&hash_token("secret"));
        let text = format!(
            "{OLD_HEADER}\nAna,laptop,4,1,127.0.0.1,{token}\nana,a b,4,1,127.0.0.1,\nbob,x\nbob,tui,,2,::1,\n"
        );
        std::fs::write(dir.path().join(OLD_FILE), text).unwrap();
        let rows = in_old_file(&RealDisk, dir.path()).unwrap();
        let laptop = Device {
            name: "laptop".into(),
            position: Some(4),
            seen_ms: 1,
            address: "127.0.0.1".parse().unwrap(),
            token: Some(hash_token("secret")),
        };
        let tui = Device {
            name: "tui".into(),
            position: None,
            seen_ms: 2,
            address: "::1".parse().unwrap(),
            token: None,
        };
        assert_eq!(rows, [("ana".to_string(), laptop), ("bob".to_string(), tui)]);
    }

    #[test]
    fn new_names_past_the_limit_push_out_the_oldest_untokened() {
        let mut devices = Vec::new();
        touch(&mut devices, "linked", HOME, 0, 0).token = Some(hash_token("t"));
        for i in 1..=MAX_KNOWN as u64 {
            touch(&mut devices, &format!("d{i}"), HOME, i, 0);
        }
        let names: Vec<&str> = devices.iter().map(|d| &*d.name).collect();
        assert_eq!(names.len(), MAX_KNOWN);
        assert!(names.contains(&"linked") && !names.contains(&"d1"));
        assert!(remove(&mut devices, "LINKED").is_some());
        assert!(remove(&mut devices, "linked").is_none());
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

    /// An `ACK` of a device moves its position forward only, brings a
    /// forgotten one back, and puts no device on record.
    #[test]
    fn an_ack_moves_a_device_on_record_forward_only() {
        let mut settings = Settings::default();
        let laptop =
            Device { name: "Laptop".into(), position: Some(4), seen_ms: 1, address: HOME, token: None };
        let old = Device { name: "old".into(), position: None, ..laptop.clone() };
        for d in [&laptop, &old] {
            settings.set(DEVICE.name, &key(&d.name), Some(&encode(d)));
        }
        let position = |settings: &Settings, name: &str| find(&on_record(settings), name).map(|d| d.position);
        move_to(&mut settings, "LAPTOP", 9);
        move_to(&mut settings, "laptop", 7);
        assert_eq!(position(&settings, "laptop"), Some(Some(9)), "forward only, whatever the case");
        move_to(&mut settings, "old", 2);
        assert_eq!(position(&settings, "old"), Some(Some(2)), "a forgotten device holds the inbox again");
        move_to(&mut settings, "stranger", 5);
        assert_eq!(position(&settings, "stranger"), None, "an ACK puts no device on record");
        assert_eq!(on_record(&settings).len(), 2);
    }
}
