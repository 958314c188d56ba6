//! Connections to PostgreSQL: how one is made, and a small pool of them.
//!
//! The client is libpq's, its calls blocking (`db/postgres.rs`): a thread that needs the
//! database for a moment (a file's chunk, a login's devices and door, a
//! batch of uploads' parts) borrows a connection from the pool, runs its
//! query and gives it back, like any blocking call. The leader's writes
//! of the log, a node's keeper and the checkpoints have connections of
//! their own (`log.rs`, `node.rs`, `checkpoint.rs`). A connection that broke
//! (the database restarted) is not given back: the next borrower connects
//! anew, so the node recovers by itself when the database returns.
//!
//! `--store` may name several hosts: a primary and its standbys
//! (pg_auto_failover, docs/CLUSTER-OPS.md). A connection is made to whichever
//! takes writes, trying first the host where the primary was last found
//! (`db/config.rs` reads `--store` and sets each host's deadlines); at a
//! node's start, in rounds of short attempts that grow, until one does
//! ([`Db::connect_at_start`]).
//! Every call has a deadline ([`DEADLINE`]): the kernel's for a host gone
//! (connect timeout, `tcp_user_timeout`, keepalives), and the watchdog's
//! for a server that hangs or is slow (`watchdog.rs`: the connection is
//! cut). Meanwhile requests get `KO:UNAVAILABLE`.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

mod config;
mod pool;
pub mod postgres;

use self::postgres::Client;

pub use self::config::{DEADLINE, StoreConfig, parse_store};
use self::pool::{Pool, Taken};
use super::watchdog::{Socket, Watchdog};
use crate::error::{Error, Result};
use crate::protocol::{Code, Ko};

/// How long connecting to one host may take in all (TCP, the startup
/// handshake, the checks): a frozen server accepts TCP connections (its
/// kernel does) and never answers the handshake; then the next host of
/// `--store` is tried.
const CONNECT_DEADLINE: Duration = Duration::from_secs(3);

/// How long a node that is starting (and `wachat migrate`, `wachat
/// users`) may wait for a primary, per host of `--store`: the hosts share
/// it ([`Db::connect_at_start`]). Nothing is served yet, so no request
/// waits on it; a database that is still starting, failing over, or
/// slowed down by a loaded machine delays the start instead of failing
/// it. None found within it fails the start, with each host's reason.
const START_CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// The first attempt on each host at start: a server that answers at all
/// answers within it, unless the machine is loaded. Each round after the
/// first doubles it, up to [`LONGEST_START_ATTEMPT`]: a connection took
/// more than 3 s at a load of 29 here.
const FIRST_START_ATTEMPT: Duration = Duration::from_secs(1);

/// The longest attempt on one host at start.
const LONGEST_START_ATTEMPT: Duration = Duration::from_secs(16);

/// The pause at start between a round of the hosts that found no primary
/// and the next: a refusal (a server not up yet) comes at once.
const START_ROUND_PAUSE: Duration = Duration::from_millis(500);

/// After no host could be reached, calls fail at once for this long
/// before the next try: a database down must not cost every request a
/// connection attempt (nor a thread, see [`Db::connect_to`]).
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// Connection attempts left behind on one host, still blocked on a
/// frozen server (see [`Db::connect_to`]), beyond which no new one is
/// started to that host; the others are still tried (the attempts under
/// way in time are not counted: a node may connect many at once). At
/// most this many threads per host of `--store`.
const MAX_STUCK: usize = 4;

/// The states of a connection attempt (see [`Db::connect_to`]).
const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const LEFT: u8 = 2;

/// A connection idle for longer is checked (one round trip) before use.
const CHECK_AFTER: Duration = Duration::from_millis(500);

/// How long that check may take.
const CHECK_WITHIN: Duration = Duration::from_secs(2);

/// Bumped whenever the primary may have changed (the node found it on
/// another host, the server said it is read-only or shutting down, a
/// connection was cut): connections made before are not used again.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A connection, its socket (for the watchdog) and the generation it
/// was made in.
pub struct PgLink {
    pub client: Client,
    socket: Option<Socket>,
    generation: u64,
    /// Which host of `--store` it is to.
    host: usize,
}

impl PgLink {
    /// False once the connection broke or the primary may have changed.
    pub fn usable(&self) -> bool {
        !self.client.is_closed() && self.generation == GENERATION.load(Ordering::Acquire)
    }
}

/// The database of a cluster, and the idle connections to it.
pub struct Db {
    store: StoreConfig,
    /// The URL without a password, for messages.
    pub url: String,
    /// The readers' connections (`db/pool.rs`).
    pool: Pool,
    watchdog: Arc<Watchdog>,
    /// The host (of `store.hosts`) tried first: where the primary was
    /// last found, unless its connection broke since.
    primary: AtomicUsize,
    /// The host of the last connection made.
    connected: AtomicUsize,
    /// Until when calls fail at once (no host answered).
    retry_at: Mutex<Option<Instant>>,
    /// Connection attempts left behind, blocked on a frozen server, by
    /// host of `store.hosts`.
    stuck: Arc<[AtomicUsize]>,
    /// Whether the last connection attempt reached a primary.
    reachable: AtomicBool,
    /// When a connection attempt last reached a primary.
    reached_at: Mutex<Option<Instant>>,
}

impl Db {
    /// Parses `--store` ([`parse_store`]); connects nothing yet.
    pub fn new(store: &str) -> Result<Db> {
        let store = parse_store(store)?;
        let stuck = store.hosts.iter().map(|_| AtomicUsize::new(0)).collect();
        Ok(Db {
            url: store.shown.clone(),
            store,
            pool: Pool::default(),
            watchdog: Arc::default(),
            primary: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
            retry_at: Mutex::new(None),
            stuck,
            reachable: AtomicBool::new(false),
            reached_at: Mutex::new(None),
        })
    }

    /// A new connection to the primary (not from the pool): the host where
    /// it was last found first, then the others in turn.
    pub fn connect(&self) -> std::result::Result<PgLink, String> {
        self.connect_until(Instant::now() + CONNECT_DEADLINE * self.store.hosts.len() as u32)
    }

    /// [`Db::connect`], given up at `until`, each host given
    /// [`CONNECT_DEADLINE`] at most.
    fn connect_until(&self, until: Instant) -> std::result::Result<PgLink, String> {
        if let Some(at) = *self.retry_at.lock()
            && Instant::now() < at
        {
            return Err("no database host answered a moment ago".into());
        }
        let began = Instant::now();
        let mut why = vec![None; self.store.hosts.len()];
        if let Some(link) = self.round(until, CONNECT_DEADLINE, &mut why) {
            return Ok(link);
        }
        let why = reasons(&why);
        // Several threads connect at once: an attempt that began before
        // another reached a primary (it waited on a frozen host meanwhile)
        // says nothing of the primary now, and must not mark it
        // unreachable (which would also keep the next outage unlogged).
        if self.reached_at.lock().is_some_and(|at| at > began) {
            return Err(why);
        }
        *self.retry_at.lock() = Some(Instant::now() + RETRY_AFTER);
        self.now_reachable(false, &why);
        Err(why)
    }

    /// One round of the hosts, the one where the primary was last found
    /// first, each given `per_host` at most, until `until`: the first
    /// connection made, or each host's reason in `why` (a host not
    /// reached by `until` keeps the one it had).
    fn round(&self, until: Instant, per_host: Duration, why: &mut [Option<String>]) -> Option<PgLink> {
        let first = self.primary.load(Ordering::Relaxed);
        let count = self.store.hosts.len();
        for i in (0..count).map(|n| (first + n) % count) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.connect_to(i, left.min(per_host)) {
                Ok(link) => return Some(self.reached(i, link)),
                Err(e) => why[i] = Some(e),
            }
        }
        None
    }

    /// `link`, just made to host `i`, which takes writes: the host tried
    /// first from now on; connections to another host made before are not
    /// used again.
    fn reached(&self, i: usize, link: PgLink) -> PgLink {
        *self.retry_at.lock() = None;
        *self.reached_at.lock() = Some(Instant::now());
        self.now_reachable(true, "");
        self.primary.store(i, Ordering::Relaxed);
        if self.connected.swap(i, Ordering::Relaxed) != i {
            log::warn!("cluster: the primary database is now host {} of --store", i + 1);
            self.forget_all();
            crate::metrics::get().pg_switches.inc();
        }
        PgLink { generation: GENERATION.load(Ordering::Acquire), host: i, ..link }
    }

    /// A connection at start: rounds of the hosts, the one where the
    /// primary was last found first, each attempt `first` long in the
    /// first round and twice as long in each next one (up to
    /// [`LONGEST_START_ATTEMPT`]), a pause between rounds, until one takes
    /// writes or `within` has passed. A frozen host costs each round one short
    /// attempt, and a host not up yet (or a standby not promoted yet) is
    /// found once it is. The pause of requests after no host answered
    /// ([`RETRY_AFTER`]) is not kept: nothing is served yet. An attempt
    /// left behind on a frozen host ends when libpq's `connect_timeout`
    /// does, about as long as the attempt (at least 2 s), so that few are
    /// left behind at once, and a host that has [`MAX_STUCK`] is tried
    /// again in a later round. The error names each host's last reason.
    fn connect_in_rounds(&self, within: Duration, first: Duration) -> std::result::Result<PgLink, String> {
        let until = Instant::now() + within;
        let mut why = vec![None; self.store.hosts.len()];
        let mut attempt = first;
        let mut said = false;
        loop {
            if let Some(link) = self.round(until, attempt, &mut why) {
                return Ok(link);
            }
            let reasons = reasons(&why);
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no primary database within {within:?}: {reasons}"));
            }
            if !said {
                log::warn!(
                    "cluster: no primary database answers yet ({reasons}); trying again for {left:.0?}"
                );
                said = true;
            }
            std::thread::sleep(START_ROUND_PAUSE.min(left));
            attempt = (attempt * 2).min(LONGEST_START_ATTEMPT);
        }
    }

    /// Says (in the log and the metrics) when the node starts or stops
    /// reaching a primary: once per change, not once per request.
    fn now_reachable(&self, reachable: bool, why: &str) {
        if self.reachable.swap(reachable, Ordering::AcqRel) == reachable {
            return;
        }
        crate::metrics::get().pg_reachable.set(i64::from(reachable));
        if reachable {
            log::info!("cluster: a primary database answers; writes are taken");
        } else {
            log::warn!(
                "cluster: no primary database answers ({why}); writes get KO:UNAVAILABLE until one does"
            );
        }
    }

    /// Connects to host `i` within `within`. The attempt runs on a thread
    /// of its own, bounded by the deadline to the millisecond (libpq's
    /// own timeout counts whole seconds): one that misses the deadline is
    /// left behind until libpq gives up too (a few at most per host,
    /// [`MAX_STUCK`]), and the caller goes on to the next host. A host
    /// with that many left behind is not tried; the others are, so the
    /// standby promoted meanwhile is reached.
    fn connect_to(&self, i: usize, within: Duration) -> std::result::Result<PgLink, String> {
        // libpq gives up at the same deadline (whole seconds, at least 2:
        // its `connect_timeout`), so an attempt left behind ends soon after.
        let mut config = self.store.hosts[i].clone();
        let seconds = (within.as_secs() + u64::from(within.subsec_nanos() > 0)).max(2);
        config.retain(|(key, _)| key != "connect_timeout");
        config.push(("connect_timeout".into(), seconds.to_string()));
        let host = format!("host {} of --store", i + 1);
        if self.stuck[i].load(Ordering::Relaxed) >= MAX_STUCK {
            return Err(format!("{host}: earlier connections still wait for an answer"));
        }
        let (done, result) = crossbeam_channel::bounded(1);
        // RUNNING, then FINISHED by the thread or LEFT by the caller (who
        // then counts it stuck until it finishes), whichever comes first.
        let state = Arc::new(AtomicU8::new(RUNNING));
        let (stuck, attempt) = (self.stuck.clone(), state.clone());
        let spawned = std::thread::Builder::new().name("pg-connect".into()).spawn(move || {
            let _ = done.send(open(&config));
            if attempt.compare_exchange(RUNNING, FINISHED, Ordering::AcqRel, Ordering::Acquire).is_err() {
                stuck[i].fetch_sub(1, Ordering::Relaxed); // it was left behind
            }
        });
        if let Err(e) = spawned {
            return Err(format!("{host}: no thread to connect: {e}"));
        }
        let answer = match result.recv_timeout(within) {
            Err(_) if state.compare_exchange(RUNNING, LEFT, Ordering::AcqRel, Ordering::Acquire).is_ok() => {
                self.stuck[i].fetch_add(1, Ordering::Relaxed);
                return Err(format!("{host}: no answer within {within:?}"));
            }
            Err(_) => result.recv().map_err(|_| format!("{host}: the connecting thread ended"))?, // just finished
            Ok(answer) => answer,
        };
        answer.map_err(|e| format!("{host}: {}", describe(&e)))
    }

    /// `link` broke (cut for no answer, or the server went away): its host
    /// is tried last next time. A primary whose keeper died may still
    /// run and take connections while its standby is promoted; its
    /// commits never return (nothing replicates them), and trying it
    /// first again and again would keep the node off the new primary.
    pub fn broken(&self, link: &PgLink) {
        let count = self.store.hosts.len();
        let _ = self.primary.compare_exchange(
            link.host,
            (link.host + 1) % count,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.forget_all();
    }

    /// Connections made before are not used again (the primary may have
    /// changed).
    fn forget_all(&self) {
        GENERATION.fetch_add(1, Ordering::AcqRel);
        self.pool.forget_idle();
    }

    /// Arms the watchdog on `link` for [`DEADLINE`] (nothing if its socket
    /// could not be duplicated).
    pub fn arm(&self, link: &PgLink) -> Option<super::watchdog::Armed<'_>> {
        self.arm_until(link, Instant::now() + DEADLINE)
    }

    fn arm_until(&self, link: &PgLink, until: Instant) -> Option<super::watchdog::Armed<'_>> {
        link.socket.as_ref().map(|socket| self.watchdog.arm(socket, until))
    }

    /// A connection at start (the schema, the lease, `wachat migrate`,
    /// `wachat users`): rounds of the hosts ([`Db::connect_in_rounds`])
    /// for up to [`START_CONNECT_DEADLINE`] per host; an error says which
    /// database and why.
    pub fn connect_at_start(&self) -> Result<Client> {
        let context = format!("cluster: {}", self.url);
        let within = START_CONNECT_DEADLINE * self.store.hosts.len() as u32;
        let link = self
            .connect_in_rounds(within, FIRST_START_ATTEMPT)
            .map_err(|e| Error::io(context, std::io::Error::other(e)))?;
        Ok(link.client)
    }

    /// A connection from the pool (`db/pool.rs`: waiting for one while all
    /// are busy), armed with [`DEADLINE`] (or what is left of the
    /// request's, `store::deadline`) until given back; `KO:UNAVAILABLE` if
    /// no primary can be reached (or no connection is free) by then.
    pub fn get(&self) -> std::result::Result<Borrowed<'_>, Ko> {
        let until = crate::store::deadline::until();
        let Some(taken) = self.pool.take(until) else {
            return Err(down_because("waiting for a connection", "every pooled connection stayed busy"));
        };
        let pooled = !matches!(taken, Taken::Own);
        let link = match taken {
            // One idle for a while may have lost its server (a restart):
            // a round trip tells, before a request is failed for it.
            Taken::Idle(mut link, since) if link.usable() => {
                let check = until.saturating_duration_since(Instant::now()).min(CHECK_WITHIN);
                if since.elapsed() < CHECK_AFTER || link.client.is_valid(check).is_ok() {
                    Ok(link)
                } else {
                    self.forget_all(); // the others are from the same server: as dead
                    self.connect_until(until)
                }
            }
            _ => self.connect_until(until),
        };
        let link = match link {
            Ok(link) => link,
            Err(e) => {
                if pooled {
                    self.pool.give_back(None);
                }
                return Err(down_because("connecting", &e));
            }
        };
        let armed = self.arm_until(&link, until);
        Ok(Borrowed { db: self, link: Some(link), pooled, _armed: armed })
    }
}

/// Each host's reason for no connection, in the order of `--store`.
fn reasons(why: &[Option<String>]) -> String {
    let said = why.iter().enumerate().map(|(i, why)| {
        why.clone().unwrap_or_else(|| format!("host {} of --store: not tried, out of time", i + 1))
    });
    said.collect::<Vec<_>>().join("; ")
}

/// Connects with `keywords`, and keeps a duplicate of the connection's
/// socket for the watchdog.
fn open(keywords: &config::Keywords) -> std::result::Result<PgLink, postgres::Error> {
    let client = Client::connect_with(keywords)?;
    let socket = client.socket().and_then(|fd| fd.try_clone_to_owned().ok()).map(Arc::new);
    Ok(PgLink { client, socket, generation: 0, host: 0 })
}

/// A borrowed connection; back to the pool when dropped, unless broken.
pub struct Borrowed<'a> {
    db: &'a Db,
    link: Option<PgLink>,
    /// Whether it holds one of the pool's places (else it is the
    /// borrower's own, closed when dropped: `db/pool.rs`).
    pooled: bool,
    /// The watchdog's deadline while borrowed.
    _armed: Option<super::watchdog::Armed<'a>>,
}

impl Deref for Borrowed<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.link.as_ref().expect("present until dropped").client
    }
}

impl DerefMut for Borrowed<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.link.as_mut().expect("present until dropped").client
    }
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        let link = self.link.take().filter(|link| {
            if link.client.is_closed() {
                self.db.broken(link); // the database went away: the others are as dead
            }
            link.usable()
        });
        if self.pooled {
            self.db.pool.give_back(link);
        }
    }
}

/// A database error in words: the server's message when there is one.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// A database error at start or in `wachat migrate`, said with its context.
pub fn error(context: String, e: &postgres::Error) -> Error {
    Error::io(context, std::io::Error::other(describe(e)))
}

/// A count or a number as the database keeps it (`int8`, never
/// negative), as the rest of wachat takes it (`u64`): the rules of
/// `store::meaning`, the protocol's numbers.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The `KO` of a database error, logged with what was being done:
/// `KO:UNAVAILABLE` when the database could not be reached or did not
/// answer in time, or is not (any more) the primary — trying again will
/// work once a primary answers; `KO:INTERNAL` for any other error the
/// server reported (a bug: trying again will not help).
pub fn unavailable(doing: &str, e: &postgres::Error) -> Ko {
    log::warn!("cluster: database error while {doing}: {}", describe(e));
    if is_not_primary(e) {
        GENERATION.fetch_add(1, Ordering::AcqRel); // connections to it are dropped
    }
    match e.code() {
        Some(code) if !is_unavailable(code) => Ko::new(Code::Internal, "the database refused the change"),
        _ => down(),
    }
}

/// `KO:UNAVAILABLE` for a connection that could not be made (the change
/// of state is logged once by `Db::now_reachable`).
fn down_because(doing: &str, why: &str) -> Ko {
    log::debug!("cluster: database unreachable while {doing}: {why}");
    down()
}

/// What a client is told while no primary database answers.
pub fn down() -> Ko {
    Ko::new(Code::Unavailable, "the database is failing over; try again in a moment")
}

/// The server's errors that say "not now" rather than "never": the
/// connection failed (08), the server is shutting down or the statement
/// was cancelled, by its timeout or an operator (57), too many
/// connections (53300), a read-only server: a standby, or a primary
/// just demoted (25006), a deadlock or serialization failure retried in
/// vain (40).
fn is_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57")
        || code.starts_with("40")
        || code == "53300"
        || code == "25006"
}

/// The server will not take writes on this connection again: read-only
/// (25006) or shutting down (57P01-57P03).
fn is_not_primary(e: &postgres::Error) -> bool {
    matches!(e.code(), Some("25006" | "57P01" | "57P02" | "57P03"))
}

/// Shorthand: a database error while `doing` becomes its `KO` ([`unavailable`]).
pub trait OrKo<T> {
    fn or_ko(self, doing: &str) -> std::result::Result<T, Ko>;
}

impl<T> OrKo<T> for std::result::Result<T, postgres::Error> {
    fn or_ko(self, doing: &str) -> std::result::Result<T, Ko> {
        self.map_err(|e| unavailable(doing, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_pass_are_unavailable_and_others_internal() {
        // A read-only server, a shutdown, a statement cancelled, a
        // connection failed, a deadlock, too many connections.
        for passing in ["25006", "57P01", "57014", "08006", "40P01", "53300"] {
            assert!(is_unavailable(passing), "{passing:?}");
        }
        // A unique key violated, a syntax error, a full disk.
        for lasting in ["23505", "42601", "53100"] {
            assert!(!is_unavailable(lasting), "{lasting:?}");
        }
    }

    /// A frozen primary holds the attempts left behind on it, and the
    /// standby promoted meanwhile is still tried: the bound is per host
    /// (a bound for all hosts kept a node off the new primary until the
    /// frozen one woke, tests/cluster/ha.rs).
    #[test]
    fn attempts_stuck_on_a_frozen_host_do_not_keep_the_others_from_being_tried() {
        // Two servers that accept and never answer (their kernels do).
        let frozen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (p1, p2) = (frozen.local_addr().unwrap().port(), other.local_addr().unwrap().port());
        let db = Db::new(&format!("postgres://wachat@127.0.0.1:{p1},127.0.0.1:{p2}/wachat")).unwrap();
        let within = Duration::from_millis(50);
        for _ in 0..MAX_STUCK {
            let e = db.connect_to(0, within).err().unwrap();
            assert!(e.contains("no answer within"), "{e}");
        }
        let e = db.connect_to(0, within).err().unwrap();
        assert!(e.contains("earlier connections still wait"), "{e}");
        let e = db.connect_to(1, within).err().unwrap();
        assert!(e.contains("host 2 of --store: no answer within"), "{e}");
    }

    /// At start, the hosts are gone round until the deadline: a host that
    /// refuses (a server not up yet) does not end the start at once, nor
    /// does the pause of requests after no host answered; and a frozen
    /// host with [`MAX_STUCK`] attempts left behind on it is tried again
    /// in a later round, once libpq has given them up.
    #[test]
    fn a_start_goes_round_the_hosts_until_its_deadline_and_tries_a_frozen_one_again() {
        // Host 1 accepts (its kernel does), and nothing answers; the
        // connections it takes are counted and kept open. Host 2's port is
        // closed.
        let frozen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p1 = frozen.local_addr().unwrap().port();
        let p2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tried = Arc::new(AtomicUsize::new(0));
        let counted = tried.clone();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            for conn in frozen.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                kept.push(conn);
            }
        });
        let db = Db::new(&format!("postgres://wachat@127.0.0.1:{p1},127.0.0.1:{p2}/wachat")).unwrap();
        for _ in 0..MAX_STUCK {
            assert!(db.connect_to(0, Duration::from_millis(50)).is_err());
        }
        *db.retry_at.lock() = Some(Instant::now() + Duration::from_secs(3600));
        let e = db.connect_in_rounds(Duration::from_secs(5), Duration::from_millis(200)).err().unwrap();
        assert!(e.starts_with("no primary database within 5s: "), "{e}");
        // Tried in the last round, not passed over: its reason is the
        // attempt's end (ours, or libpq's own timeout on a loaded machine).
        assert!(
            e.contains("host 1 of --store: ") && !e.contains("earlier connections still wait"),
            "tried again in the last round: {e}"
        );
        assert!(e.contains("host 2 of --store: ") && e.contains("refused"), "{e}");
        assert!(
            tried.load(Ordering::SeqCst) > MAX_STUCK,
            "host 1 tried again after the attempts left behind"
        );
    }
}
