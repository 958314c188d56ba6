//! The schedule of a run: which user does what when, and which fault
//! strikes when, all drawn from one seed before the run starts.
//!
//! The same seed gives the same schedule (the same operations at the same
//! offsets, the same faults), so a failure can be replayed with `--seed`.
//! What the network and the server then do with it is theirs: the
//! interleaving of threads is not replayed, only what chaos asks for.

use clap::ValueEnum;

use crate::protocol::Port;

/// SplitMix64 (Steele, Lea, Flood 2014): a few lines, good enough for a
/// schedule, and the same numbers for the same seed on every machine,
/// which is all a replay needs (no dependency for it: getrandom only
/// gives fresh randomness, never a seeded stream).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.next_u64() % (hi - lo) }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// A fresh seed when none is given (printed, so that the run replays).
pub fn fresh_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        return now.map_or(1, |d| d.as_nanos() as u64);
    }
    u64::from_le_bytes(bytes) % 1_000_000_000
}

/// The kinds of fault `--faults` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FaultKind {
    /// Hold bytes for a while, both ways.
    Delay,
    /// Close a connection in the middle of a frame (either port).
    Reset,
    /// One user's receive port unreachable for seconds.
    Partition,
    /// Kill the server and start it again (`--restart CMD`); in a
    /// federation, one of its servers, kill -9, started again a moment later.
    Restart,
    /// Two servers of a federation (or one and all the others) cannot
    /// reach each other for seconds: their links are cut off.
    Split,
}

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    User(usize),
    Room(usize),
}

/// One operation of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Put a message in the outbox (ids are unique: `m<user>x<n>`).
    Msg { to: Destination, id: String },
    /// A message written, then the connection dropped before its `OK`
    /// (a client killed after its write): the outbox resends it.
    Crash { to: Destination, id: String },
    /// In a federation, a message carrying a file ([`file_bytes`]): its
    /// bytes uploaded (`UPLOAD`, `PART`), then `FILE` with the message's
    /// text as its caption, from the outbox as a `MSG` is.
    File { to: Destination, id: String },
    /// `READ` the latest direct message received from this user, if any.
    Read { peer: usize },
    /// Drop this connection and log in again.
    Reconnect(Port),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub at_ms: u64,
    pub user: usize,
    pub op: Op,
}

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every chunk waits `ms` before it is forwarded, for `for_ms`.
    Delay { ms: u64, for_ms: u64 },
    /// Cut the user's connection(s) on that port mid-frame.
    Reset { user: usize, port: Port },
    /// The user's receive port unreachable for `for_ms`.
    Partition { user: usize, for_ms: u64 },
    /// Kill a server and start it again: the federation's server number
    /// `server` (chaos's own: killed, down for `down_ms`, started on its
    /// data), or, `None`, what `--restart CMD` restarts.
    Restart { server: Option<usize>, down_ms: u64 },
    /// Servers `a` and `b` (`None`: `a` and every other one) cannot reach
    /// each other for `for_ms`, in the way `how` says.
    Split { a: usize, b: Option<usize>, for_ms: u64, how: SplitKind },
}

/// How two servers are split (src/chaos/links.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitKind {
    /// What their links carry is held back, both ways, and new links
    /// wait unanswered, until it ends (packets dropped, TCP retrying).
    Silent,
    /// Their links are closed at once, new ones refused.
    Closed,
    /// `a` hears nothing from `b`: what `b` sends to `a` is held back,
    /// what `a` sends passes (a route lost one way).
    OneWay,
}

impl SplitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SplitKind::Silent => "silent",
            SplitKind::Closed => "closed",
            SplitKind::OneWay => "one-way",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultStep {
    pub at_ms: u64,
    pub fault: Fault,
}

/// Everything a run will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub users: usize,
    /// The members of each room (users by number), at least two each.
    pub rooms: Vec<Vec<usize>>,
    pub steps: Vec<Scheduled>,
    pub faults: Vec<FaultStep>,
}

/// How big a run is: its users and rooms, and the servers of its
/// federation (0 when it is not one).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub users: usize,
    pub rooms: usize,
    pub servers: usize,
}

/// Draws the schedule of a run.
pub fn draw(seed: u64, shape: Shape, duration_ms: u64, kinds: &[FaultKind]) -> Schedule {
    let Shape { users, rooms, servers } = shape;
    let mut rng = Rng::new(seed);
    let rooms: Vec<Vec<usize>> = (0..rooms).map(|_| members(&mut rng, users)).collect();
    let mut steps = Vec::new();
    for user in 0..users {
        let mut at = rng.range(0, 300);
        let mut n = 0;
        while at < duration_ms {
            let mut op = operation(&mut rng, user, users, &rooms, &mut n);
            if servers > 0 {
                op = with_files(op, n);
            }
            steps.push(Scheduled { at_ms: at, user, op });
            at += rng.range(60, 400);
        }
    }
    steps.sort_by_key(|s| (s.at_ms, s.user));
    let faults = faults(&mut rng, (users, servers), duration_ms, kinds);
    Schedule { users, rooms, steps, faults }
}

/// A room's members: each user with even odds, at least two.
fn members(rng: &mut Rng, users: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = (0..users).filter(|_| rng.chance(50)).collect();
    while chosen.len() < 2.min(users) {
        let u = rng.range(0, users as u64) as usize;
        if !chosen.contains(&u) {
            chosen.push(u);
        }
    }
    chosen.sort();
    chosen
}

fn operation(rng: &mut Rng, user: usize, users: usize, rooms: &[Vec<usize>], n: &mut u64) -> Op {
    let peer = (user + 1 + rng.range(0, users as u64 - 1) as usize) % users;
    let mine: Vec<usize> = (0..rooms.len()).filter(|r| rooms[*r].contains(&user)).collect();
    let roll = rng.range(0, 100);
    let to = match roll {
        60..75 if !mine.is_empty() => Destination::Room(mine[rng.range(0, mine.len() as u64) as usize]),
        _ => Destination::User(peer),
    };
    *n += 1;
    let id = format!("m{user}x{n}");
    match roll {
        0..75 => Op::Msg { to, id },
        75..80 => Op::Crash { to, id },
        80..94 => Op::Read { peer },
        94..97 => Op::Reconnect(Port::Send),
        _ => Op::Reconnect(Port::Receive),
    }
}

/// In a federation, one message in eight (its number's) carries a file:
/// the same draws, so the rest of the schedule is the seed's as before.
fn with_files(op: Op, n: u64) -> Op {
    match op {
        Op::Msg { to, id } if n % 8 == 5 => Op::File { to, id },
        op => op,
    }
}

/// The bytes of the file message `id` carries: 1 to 40,000 bytes (up to
/// four parts of §21), drawn from its id, so that a resend and the check
/// at the end name the same bytes; its name says its size.
pub fn file_bytes(id: &str) -> (String, Vec<u8>) {
    let seed =
        id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng::new(seed);
    let size = rng.range(1, 40_001) as usize;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(size);
    (format!("{id}-{size}.bin"), bytes)
}

/// The sha256 of `bytes`, in hex, as `UPLOAD` says it.
pub fn sha256(bytes: &[u8]) -> String {
    crate::store::files::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// One fault every 0.3–1.5 s, of a kind `--faults` allows; a restart at
/// most every 6 s, so that the servers spend most of the run up. A split
/// lasts 1–12 s: past a short `--give-up`, some messages bounce.
fn faults(
    rng: &mut Rng,
    (users, servers): (usize, usize),
    duration_ms: u64,
    kinds: &[FaultKind],
) -> Vec<FaultStep> {
    let mut out = Vec::new();
    if kinds.is_empty() {
        return out;
    }
    let mut at = rng.range(300, 1000);
    let mut last_restart = 0;
    while at < duration_ms {
        let kind = kinds[rng.range(0, kinds.len() as u64) as usize];
        let user = rng.range(0, users as u64) as usize;
        let fault = match kind {
            FaultKind::Delay => Fault::Delay { ms: rng.range(5, 150), for_ms: rng.range(500, 2500) },
            FaultKind::Reset if rng.chance(50) => Fault::Reset { user, port: Port::Send },
            FaultKind::Reset => Fault::Reset { user, port: Port::Receive },
            FaultKind::Partition => Fault::Partition { user, for_ms: rng.range(1000, 4000) },
            FaultKind::Restart if at >= last_restart + 6000 => {
                last_restart = at;
                match servers {
                    0 | 1 => Fault::Restart { server: None, down_ms: 0 },
                    n => Fault::Restart {
                        server: Some(rng.range(0, n as u64) as usize),
                        down_ms: rng.range(200, 4000),
                    },
                }
            }
            FaultKind::Split if servers >= 2 => split(rng, servers),
            FaultKind::Restart | FaultKind::Split => Fault::Reset { user, port: Port::Send },
        };
        out.push(FaultStep { at_ms: at, fault });
        at += rng.range(300, 1500);
    }
    out
}

/// Two servers apart (one from all the others a quarter of the time),
/// silent, closed or one-way a third of the time each.
fn split(rng: &mut Rng, servers: usize) -> Fault {
    let a = rng.range(0, servers as u64) as usize;
    let b = match rng.chance(25) {
        true => None,
        false => Some((a + 1 + rng.range(0, servers as u64 - 1) as usize) % servers),
    };
    let how = [SplitKind::Silent, SplitKind::Closed, SplitKind::OneWay][rng.range(0, 3) as usize];
    Fault::Split { a, b, for_ms: rng.range(1000, 12_000), how }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_schedule() {
        let kinds = [FaultKind::Delay, FaultKind::Reset, FaultKind::Partition, FaultKind::Restart];
        let shape = Shape { users: 6, rooms: 2, servers: 0 };
        let a = draw(42, shape, 10_000, &kinds);
        assert_eq!(a, draw(42, shape, 10_000, &kinds));
        assert_ne!(a, draw(43, shape, 10_000, &kinds));
        assert!(a.steps.len() > 100 && !a.faults.is_empty());
        assert!(a.rooms.iter().all(|r| r.len() >= 2));
    }

    #[test]
    fn only_the_named_faults_are_drawn() {
        let shape = Shape { users: 4, rooms: 1, servers: 0 };
        let s = draw(7, shape, 20_000, &[FaultKind::Partition]);
        assert!(s.faults.iter().all(|f| matches!(f.fault, Fault::Partition { .. })));
        assert!(draw(7, shape, 20_000, &[]).faults.is_empty());
    }

    #[test]
    fn a_federation_splits_and_restarts_its_own_servers() {
        let shape = Shape { users: 6, rooms: 0, servers: 3 };
        let s = draw(9, shape, 60_000, &[FaultKind::Split, FaultKind::Restart]);
        let splits: Vec<_> = s.faults.iter().filter(|f| matches!(f.fault, Fault::Split { .. })).collect();
        assert!(splits.len() > 10, "{s:?}");
        for f in &s.faults {
            match f.fault {
                Fault::Split { a, b, for_ms, .. } => {
                    assert!(a < 3 && b.is_none_or(|b| b < 3 && b != a) && (1000..12_000).contains(&for_ms));
                }
                Fault::Restart { server, down_ms } => {
                    assert!(server.is_some_and(|s| s < 3) && (200..4000).contains(&down_ms));
                }
                _ => {}
            }
        }
        assert!(s.faults.iter().any(|f| matches!(f.fault, Fault::Split { b: None, .. })));
        for how in [SplitKind::Silent, SplitKind::Closed, SplitKind::OneWay] {
            assert!(s.faults.iter().any(|f| matches!(f.fault, Fault::Split { how: h, .. } if h == how)));
        }
        // Without a federation, a split is not drawn (a reset in its place).
        let alone = draw(9, Shape { servers: 0, ..shape }, 60_000, &[FaultKind::Split]);
        assert!(alone.faults.iter().all(|f| matches!(f.fault, Fault::Reset { .. })));
    }

    #[test]
    fn a_federation_sends_files_and_one_server_only_messages() {
        let shape = Shape { users: 6, rooms: 2, servers: 3 };
        let files = |s: &Schedule| s.steps.iter().filter(|s| matches!(s.op, Op::File { .. })).count();
        let federation = draw(9, shape, 20_000, &[]);
        let msgs = federation.steps.iter().filter(|s| matches!(s.op, Op::Msg { .. })).count();
        assert!(files(&federation) > 10 && files(&federation) < msgs, "{federation:?}");
        assert!(federation.steps.iter().any(|s| matches!(s.op, Op::File { to: Destination::Room(_), .. })));
        assert_eq!(files(&draw(9, Shape { servers: 0, ..shape }, 20_000, &[])), 0);
        // A file's bytes are its id's: the same each time, another id's differ.
        let (name, bytes) = file_bytes("m2x13");
        assert_eq!((name.clone(), bytes.clone()), file_bytes("m2x13"));
        assert_eq!(name, format!("m2x13-{}.bin", bytes.len()));
        assert!((1..=40_000).contains(&bytes.len()));
        assert_ne!(file_bytes("m2x14").1, bytes);
    }
}
