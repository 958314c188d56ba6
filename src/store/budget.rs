//! Budgets: every byte on disk and every event waiting in memory belongs
//! to a budget that has an owner, so that no client can make the server
//! spend without bound. Past
//! one, the request that would spend more gets `KO:FULL` (protocol 1.2)
//! with a reason that says which budget, and nothing already accepted is
//! lost. Each comes back on its own, without a restart: the inbox as its
//! user acknowledges, the disk as space is freed, a quota as retention
//! removes old messages (or when the operator gives more).
//!
//! | budget | flag | owner | counted | comes back when |
//! |---|---|---|---|---|
//! | stored bytes | `--user-quota` (64 MiB) | the sender, or the moderator | the log bytes of the records it caused (`Record::payer`): its messages, and its moderation's rule records and notices | `--retain-days` removes old segments ([`tally`]), or the operator raises the quota |
//! | inbox | `--inbox-max` (10,000 events) | the recipient | events waiting for its `ACK` | the recipient connects and acknowledges |
//! | free disk | `--min-free` (1 GiB) | the server | `statvfs` of the data directory, every [`LOOK_EVERY`] | space is freed |
//! | a full disk | (the ballast, 8 MiB) | the server | a write met it (`store::ballast`) | there is room for the ballast again |
//!
//! **Why the sender's bytes, once.** A room message is one record in the
//! log however many members the room has (members keep positions, not
//! copies), so what a user costs the disk is the bytes of what it sent:
//! a room message costs its sender what a direct one does. The counter is
//! kept in the state ([`Usage`](super::state::usage::Usage)), bumped when a message record is applied
//! (the same code at a start, so a replay counts as the first run did),
//! and saved in each checkpoint: no scan, ever, per send.
//!
//! **Why moderation pays too.** A `TOPIC`, `MODE`, `BAN`…
//! stores a `RULE` record and a notice (a `MSG` of the moderator's); an
//! owner of a room who sends 2,000 `TOPIC`s a second fills the disk as a
//! flood of messages would. So every moderation request is checked
//! against its author's quota ([`Quota::check`], with the store's own
//! counter: [`Budget::quota`]) before anything is stored, and its records
//! are counted as its messages are.
//!
//! **Why the inbox is the recipient's budget but the sender's `KO`.** The
//! recipient cannot refuse what it never sees; the sender is the one who
//! can wait. What is in the inbox stays (the recipient loses nothing).
//! Only direct messages are refused: a room with one member whose inbox
//! is full must not go quiet for everyone.
//!
//! **Why a floor before the disk is full.** A write that meets a full
//! disk fails in the middle of a batch whose records are already applied
//! in memory; the committer spends the ballast to write it anyway
//! (`store::ballast`), and the store is then full until there is room.
//! The floor refuses new writes while there is still room for the ones
//! under way, the checkpoint and a segment roll, so the log never meets
//! the end of the disk in normal operation.
//!
//! **How often it looks.** A look is a `statvfs` (~1.35 µs): taken by
//! every write it would be ~15 % of the CPU a message sent alone costs
//! (2.5 looks a message with one-message bursts; docs/BENCHMARKS.md,
//! "The free-space floor's look"). The floor looks when a write is
//! admitted and the last look is older than [`LOOK_EVERY`] (10 ms) or the
//! store wrote [`LOOK_BYTES`]
//! (1 MiB) since; in between, what the store writes itself is counted off
//! the room the last look saw ([`Floor::note`]), and a burst stops at the
//! floor message by message ([`Floor::headroom`]), so the floor holds
//! from the first write below it, a burst included. **The bound:** what the
//! server writes itself is refused from the first byte below the floor;
//! space another program takes is seen by the first write admitted
//! [`LOOK_EVERY`] after it (tests/attacks/disk.rs fills the disk from
//! elsewhere to 8 MiB left on a 16 MiB floor: a send is refused `KO:FULL`
//! within that bound): at most 10 ms of writes (~0.4 MB at the ~150,000
//! messages/s of BENCHMARKS.md) pass below the floor, which is there
//! for them.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::ballast;
use super::disk::Disk;
use super::log::Log;
use super::record::{Pos, Record};
use super::state::remote::LINK_QUEUE_MAX;
use super::state::{State, UserId};
use crate::protocol::{Code, Ko};

/// Default `--user-quota`: 64 MiB of messages per user. A student who
/// writes 500 messages of 100 bytes a day for a year stores ~20 MiB; a
/// flood of 4 KiB messages reaches it after ~16,000 of them (~1.6 s at
/// the 10,000 msgs/s a user's `--rate` burst allows at most), and 40 such
/// accounts hold 2.5 GiB, not the whole disk.
pub const USER_QUOTA: u64 = 64 << 20;

/// Default `--inbox-max`: 10,000 events waiting for one user. Each costs
/// the server ~100 bytes of memory (its log position, sender and id), so
/// a full inbox is ~1 MiB; a user who is away for a month and gets 300
/// direct messages a day has room to spare.
pub const INBOX_MAX: u64 = 10_000;

/// Default `--min-free`: 1 GiB, room for a few seconds of writes at full
/// speed, the checkpoint and the next segment (64 MiB).
pub const MIN_FREE: MinFree = MinFree::Bytes(1 << 30);

/// The defaults as `wachat serve --help` shows them (a test checks that
/// they are [`USER_QUOTA`] and [`MIN_FREE`]).
pub const USER_QUOTA_FLAG: &str = "64MiB";
pub const MIN_FREE_FLAG: &str = "1GiB";

/// How old the last look at the free space may be when a write is
/// admitted: space that another program takes is seen within this (see
/// the module documentation). A look is a `statvfs`, ~1.35 µs: made by
/// every write it would be ~15 % of the CPU of a message sent alone;
/// every 10 ms it is one look per ~1,000 messages at full speed, and a
/// clock read (~25 ns) per write.
pub const LOOK_EVERY: Duration = Duration::from_millis(10);

/// Bytes the store may write between two looks: a burst of writes looks
/// again after this much, however little time it took. What the store
/// writes itself is counted off the last look's room meanwhile
/// ([`Floor::note`]); this bounds how far that count may drift from
/// what the file system charges for it (blocks, metadata).
pub const LOOK_BYTES: u64 = 1 << 20;

/// The store's budgets (see the module documentation); 0 means no limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Bytes of log one user's messages may take.
    pub user_quota: u64,
    /// Events that may wait in one user's inbox before direct messages to
    /// it are refused.
    pub inbox_max: u64,
    /// Writes are refused while less than this is free.
    pub min_free: MinFree,
    /// 1.3 (§27): frames that may wait for one peer server before messages
    /// to its users are refused (`--link-queue-max`).
    pub link_queue_max: u64,
    /// 1.3 (§27): bytes of log one peer server may make this one store in
    /// all: its users' messages and the copies of its rooms
    /// (`--peer-quota`).
    pub peer_quota: u64,
}

/// Default `--peer-quota`: 256 MiB from one peer server, four users'
/// quotas: a class writing to this server from its own has room for a
/// term, and a roster of 30 peers cannot hold more than 7.5 GiB here
/// however its users write (each remote user still has its
/// `--user-quota`, and a peer 10,000 users at most: without this bound,
/// one peer could make a server store 10,000 quotas).
pub const PEER_QUOTA: u64 = 256 << 20;
pub const PEER_QUOTA_FLAG: &str = "256MiB";

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            user_quota: USER_QUOTA,
            inbox_max: INBOX_MAX,
            min_free: MIN_FREE,
            link_queue_max: LINK_QUEUE_MAX,
            peer_quota: PEER_QUOTA,
        }
    }
}

impl Budget {
    /// No budget at all (tests that are about something else).
    pub const NONE: Budget =
        Budget { user_quota: 0, inbox_max: 0, min_free: MinFree::Bytes(0), link_queue_max: 0, peer_quota: 0 };

    /// What `user` has stored against its quota, as a message's rule
    /// (`meaning::send`) and a moderation change ask it ([`Quota::check`]).
    pub fn quota(&self, state: &State, user: UserId) -> Quota<'static> {
        Quota { limit: self.user_quota, used: state.usage.of(user), more: MORE }
    }

    /// 1.3 (§27): `KO:FULL` while the peer server `server` has made this
    /// one store its `--peer-quota` or more (0: no limit). A refusal for
    /// now: its link keeps the frame, and sends it again once retention
    /// gave room back, or bounces it past its give-up age.
    pub fn check_peer(&self, state: &State, server: &str) -> Result<(), Ko> {
        let used = state.peer_queue(server).map_or(0, |peer| state.usage.of_peer(peer));
        if self.peer_quota > 0 && used >= self.peer_quota {
            let why = format!(
                "{server} has stored {} here, its quota on this server (--peer-quota); {MORE}",
                Size(used)
            );
            return Err(Ko::new(Code::Full, why));
        }
        Ok(())
    }
}

/// What a sender has stored against its quota, as the store counts it
/// (`state.usage`): what counts against a quota is decided by
/// [`Quota::check`] alone, for a message (`meaning::send`) and a
/// moderation change.
#[derive(Clone, Copy, Debug)]
pub struct Quota<'a> {
    /// Bytes a user may store (`--user-quota`; 0: no limit).
    pub limit: u64,
    /// Bytes the sender has stored.
    pub used: u64,
    /// How room comes back on this store, for the refusal's reason (a
    /// single server forgets old messages by `--retain-days`).
    pub more: &'a str,
}

impl Quota<'_> {
    /// THE rule of the stored-bytes budget: whether the sender may store
    /// one more record (a message, a moderation change and its notice),
    /// `KO:FULL` from the byte its `used` reaches its `limit` (0: no
    /// limit), saying how room comes back on its store ([`Quota::more`]).
    pub fn check(&self) -> Result<(), Ko> {
        if self.limit > 0 && self.used >= self.limit {
            let why = format!(
                "you have stored {} of messages, your quota on this server (--user-quota); {}",
                Size(self.used),
                self.more
            );
            return Err(Ko::new(Code::Full, why));
        }
        Ok(())
    }
}

/// How a single server's user gets room again, in its `KO:FULL`.
const MORE: &str = "it comes back as old messages are removed (--retain-days), or ask its operator";

/// `KO:FULL` once `waiting` events wait for `name` (`--inbox-max`; 0: none).
pub fn check_inbox(max: u64, name: &str, waiting: u64) -> Result<(), Ko> {
    if max > 0 && waiting >= max {
        let why = format!(
            "{name} has {waiting} events not yet received, the most an inbox holds (--inbox-max); \
             try again once they have connected"
        );
        return Err(Ko::new(Code::Full, why));
    }
    Ok(())
}

/// 1.3 (§27): refuses a message to a peer's user while `waiting` frames
/// wait for that peer, `max` or more (0: no limit).
pub fn check_link_queue(max: u64, server: &str, waiting: u64) -> Result<(), Ko> {
    if max > 0 && waiting >= max {
        let why = format!(
            "{server} has {waiting} messages waiting for it, the most (--link-queue-max); try again later"
        );
        return Err(Ko::new(Code::Full, why));
    }
    Ok(())
}

// ----- stored bytes per user -------------------------------------------------

/// Bytes of records per payer ([`Record::payer`], as named in the records) in the
/// segments that end at or before `end`, counting only positions from
/// `from` on (what an earlier pass gave back already is not counted twice).
pub(super) fn tally(log: &Log, from: Pos, end: Pos) -> crate::error::Result<HashMap<Arc<str>, u64>> {
    let mut freed: HashMap<Arc<str>, u64> = HashMap::new();
    log.scan_before(end, |pos, line| {
        if pos >= from
            && let Ok(record) = Record::decode(line)
            && let Some(payer) = record.payer()
        {
            *freed.entry(Arc::from(payer.as_ref())).or_default() += line.len() as u64 + 1;
        }
        Ok(())
    })?;
    Ok(freed)
}

// ----- the free-space floor --------------------------------------------------

/// A free-space floor: bytes, or a share of the file system.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MinFree {
    Bytes(u64),
    /// Percent of the file system's size (0–100).
    Percent(f64),
}

impl MinFree {
    /// The floor in bytes on a file system of `total` bytes.
    pub fn bytes(self, total: u64) -> u64 {
        match self {
            MinFree::Bytes(b) => b,
            MinFree::Percent(p) => (total as f64 * p / 100.0) as u64,
        }
    }

    /// `1GiB`, `500MiB`, `4096` (bytes) or `5%`.
    pub fn parse(s: &str) -> Result<MinFree, String> {
        match s.trim().strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(MinFree::Percent(p)),
                _ => Err(format!("{s:?}: a percentage is a number from 0 to 100, as in 5%")),
            },
            None => parse_size(s).map(MinFree::Bytes),
        }
    }
}

impl fmt::Display for MinFree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinFree::Bytes(b) => write!(f, "{}", Size(*b)),
            MinFree::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Whether the disk is below its floor (looked at every [`LOOK_EVERY`] or
/// [`LOOK_BYTES`] of writes), and whether the ballast was spent on a
/// write that met a full disk (`store::ballast`).
pub(super) struct Floor {
    /// Below the floor at the last look: a change is logged.
    low: AtomicBool,
    /// Bytes free at the last look, less what the store wrote since
    /// ([`Floor::note`]); `u64::MAX` until a look tells (none yet, or
    /// the last one could not).
    room: AtomicU64,
    /// The floor in bytes at the last look (a share of the disk needs its size).
    floor: AtomicU64,
    /// When the last look was, in nanoseconds after `epoch`, plus one
    /// (0: never).
    looked_at: AtomicU64,
    /// Bytes the store wrote since the last look.
    written: AtomicU64,
    epoch: Instant,
    /// The ballast was spent (or there was no room to make it): the disk
    /// is full, and every write is refused until the ballast is made again.
    spent: AtomicBool,
    /// A ballast is on the disk, to be spent.
    ballast: AtomicBool,
    /// One thread makes the ballast again, the others are refused meanwhile.
    remaking: Mutex<()>,
}

impl Floor {
    /// A floor not yet looked at, after the store tried to make the
    /// ballast (`made`): with no room for it, the store starts full; if it
    /// cannot be made for another reason (a file-size limit), the store
    /// goes on without one, and a write that meets a full disk waits.
    pub(super) fn new(made: &std::io::Result<()>) -> Floor {
        use std::io::ErrorKind::{QuotaExceeded, StorageFull};
        let full = matches!(made, Err(e) if matches!(e.kind(), StorageFull | QuotaExceeded));
        Floor {
            low: AtomicBool::new(false),
            room: AtomicU64::new(u64::MAX),
            floor: AtomicU64::new(0),
            looked_at: AtomicU64::new(0),
            written: AtomicU64::new(0),
            epoch: Instant::now(),
            spent: AtomicBool::new(full),
            ballast: AtomicBool::new(made.is_ok()),
            remaking: Mutex::new(()),
        }
    }

    /// `KO:FULL` while the disk is full (the ballast spent) or the file
    /// system of `dir` has less than `min_free` left, as of a look at
    /// most [`LOOK_EVERY`] old or [`LOOK_BYTES`] of writes ago.
    pub(super) fn check(&self, disk: &dyn Disk, dir: &Path, min_free: MinFree) -> Result<(), Ko> {
        if self.spent.load(Ordering::Relaxed) {
            self.refill(disk, dir, min_free)?;
        }
        if min_free == MinFree::Bytes(0) {
            return Ok(());
        }
        if self.due() {
            self.look(disk, dir, min_free);
        }
        // The last look, less what the store wrote since.
        if self.headroom(min_free) == 0 {
            return Err(Floor::full(min_free));
        }
        Ok(())
    }

    /// The refusal below the floor.
    pub(super) fn full(min_free: MinFree) -> Ko {
        let why = format!(
            "the server's disk is almost full (less than {min_free} free, --min-free); \
             writes resume by themselves once there is room"
        );
        Ko::new(Code::Full, why)
    }

    /// The store wrote (or is about to write) `bytes`: off the estimate of
    /// the room left until the next look.
    pub(super) fn note(&self, bytes: u64) {
        let _ = self.room.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
            (r != u64::MAX).then(|| r.saturating_sub(bytes))
        });
        self.written.fetch_add(bytes, Ordering::Relaxed);
    }

    /// How many more bytes may be written before the floor, by the last
    /// look less what was noted since (`u64::MAX`: no floor, or no look
    /// yet). A burst applied under one lock stops there.
    pub(super) fn headroom(&self, min_free: MinFree) -> u64 {
        match self.room.load(Ordering::Relaxed) {
            _ if min_free == MinFree::Bytes(0) => u64::MAX,
            u64::MAX => u64::MAX, // nothing known yet: the next check looks
            room => room.saturating_sub(self.floor.load(Ordering::Relaxed)),
        }
    }

    /// The writer met a full disk: if a ballast is there to be spent,
    /// the store is full from now on, and `true`.
    pub(super) fn spend(&self) -> bool {
        if !self.ballast.swap(false, Ordering::SeqCst) {
            return false;
        }
        self.spent.store(true, Ordering::SeqCst);
        true
    }

    /// Whether the ballast is spent: the disk is full.
    pub(super) fn is_spent(&self) -> bool {
        self.spent.load(Ordering::Relaxed)
    }

    /// The disk is full: makes the ballast again once there is room for
    /// it and as much again (so that making it does not fill the disk at
    /// once), looking no more often than the floor does.
    fn refill(&self, disk: &dyn Disk, dir: &Path, min_free: MinFree) -> Result<(), Ko> {
        let Some(_one) = self.remaking.try_lock() else {
            return Err(Ko::disk_full()); // another write is making it
        };
        if !self.spent.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.due() {
            return Err(Ko::disk_full());
        }
        self.look(disk, dir, min_free);
        let room = self.room.load(Ordering::Relaxed);
        if room == u64::MAX || room < 2 * ballast::BALLAST {
            return Err(Ko::disk_full());
        }
        if let Err(e) = ballast::make(disk, dir) {
            log::warn!("store: the ballast of {} cannot be made again yet: {e}", dir.display());
            return Err(Ko::disk_full());
        }
        self.ballast.store(true, Ordering::SeqCst);
        self.spent.store(false, Ordering::SeqCst);
        log::info!(
            "store: room on the disk of {} again, the ballast made again: writes resume",
            dir.display()
        );
        Ok(())
    }

    /// Whether the last look is older than [`LOOK_EVERY`], or
    /// [`LOOK_BYTES`] were written since (or there was none).
    fn due(&self) -> bool {
        let at = self.looked_at.load(Ordering::Relaxed);
        at == 0
            || self.now() - at >= LOOK_EVERY.as_nanos() as u64
            || self.written.load(Ordering::Relaxed) >= LOOK_BYTES
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    fn look(&self, disk: &dyn Disk, dir: &Path, min_free: MinFree) {
        self.looked_at.store(self.now(), Ordering::Relaxed);
        self.written.store(0, Ordering::Relaxed);
        let low = match disk.space(dir) {
            Ok(space) => {
                let floor = min_free.bytes(space.total);
                self.floor.store(floor, Ordering::Relaxed);
                self.room.store(space.available, Ordering::Relaxed);
                space.available < floor
            }
            Err(e) => {
                // Cannot tell: the write itself will say (and be retried).
                log::debug!("store: free space of {}: {e}", dir.display());
                self.room.store(u64::MAX, Ordering::Relaxed);
                false
            }
        };
        let was = self.low.swap(low, Ordering::Relaxed);
        if low && !was {
            log::warn!(
                "store: less than {min_free} free on the disk of {} (--min-free): writes refused \
                 with KO:FULL until there is room",
                dir.display()
            );
        } else if was && !low {
            log::info!("store: room on the disk of {} again: writes resume", dir.display());
        }
    }
}

// ----- sizes -------------------------------------------------------------------

/// A size on the command line: `64MiB`, `1GiB`, `512KiB`, `4096` bytes
/// (`K`, `M`, `G`, `T`, with or without `iB`, are powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let bad = || format!("{s:?}: expected a size such as 64MiB, 1GiB or 4096 (bytes)");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        "t" | "tib" | "tb" => 40,
        _ => return Err(bad()),
    };
    number.checked_mul(1 << shift).ok_or_else(bad)
}

/// A size for people: `64 MiB`, `1.5 GiB`, `300 B`.
#[derive(Clone, Copy, Debug)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if value.fract() < 0.05 {
            write!(f, "{value:.0} {}", UNITS[unit])
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_in_powers_of_1024_and_shown_back() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("64 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999T").is_err(), "overflow is an error");
        assert_eq!(Size(64 << 20).to_string(), "64 MiB");
        assert_eq!(Size(1536 << 20).to_string(), "1.5 GiB");
        assert_eq!(Size(300).to_string(), "300 B");
    }

    #[test]
    fn a_floor_is_bytes_or_a_share_of_the_file_system() {
        assert_eq!(MinFree::parse("1GiB"), Ok(MinFree::Bytes(1 << 30)));
        assert_eq!(MinFree::parse("5%"), Ok(MinFree::Percent(5.0)));
        assert_eq!(MinFree::parse("5%").unwrap().bytes(1000), 50);
        assert!(MinFree::parse("120%").is_err());
        assert_eq!(MIN_FREE.to_string(), "1 GiB");
    }

    #[test]
    fn a_quota_refuses_from_the_byte_it_is_reached_and_zero_means_none() {
        let quota = |limit, used| Quota { limit, used, more: "ask" };
        assert!(quota(1000, 999).check().is_ok());
        let ko = quota(1000, 1000).check().unwrap_err();
        assert_eq!(ko.code, Code::Full);
        assert_eq!(
            ko.reason,
            "you have stored 1000 B of messages, your quota on this server (--user-quota); ask"
        );
        assert!(quota(0, u64::MAX).check().is_ok(), "0: no limit");
    }

    #[test]
    fn the_flags_defaults_are_the_constants() {
        assert_eq!(parse_size(USER_QUOTA_FLAG), Ok(USER_QUOTA));
        assert_eq!(parse_size(PEER_QUOTA_FLAG), Ok(PEER_QUOTA));
        assert_eq!(MinFree::parse(MIN_FREE_FLAG), Ok(MIN_FREE));
    }
}
