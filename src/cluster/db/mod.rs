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
//! (`tcp_user_timeout`, keepalives), and the client's own for a server
//! that hangs or is slow (`db/postgres.rs`: the connection is closed).
//! Meanwhile requests get `KO:UNAVAILABLE`.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

mod config;
mod pool;
pub mod postgres;

use self::postgres::Client;

pub use self::config::{DEADLINE, StoreConfig, parse_store};
use self::pool::{Pool, Taken};
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
/// connection attempt.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// A connection idle for longer is checked (one round trip) before use.
const CHECK_AFTER: Duration = Duration::from_millis(500);

/// How long that check may take.
const CHECK_WITHIN: Duration = Duration::from_secs(2);

/// Bumped whenever the primary may have changed (the node found it on
/// another host, the server said it is read-only or shutting down, a
/// connection was cut): connections made before are not used again.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A connection, and the generation it was made in.
pub struct PgLink {
    pub client: Client,
    generation: u64,
    /// Which host of `--store` it is to.
    host: usize,
}

impl PgLink {
    /// False once the connection broke or the primary may have changed.
    pub fn usable(&self) -> bool {
        !self.client.is_closed() && self.generation == GENERATION.load(Ordering::Acquire)
    }

    /// Its client, whose calls from now on must be answered within
    /// [`DEADLINE`].
    pub fn timed(&mut self) -> &mut Client {
        self.client.set_deadline(Some(Instant::now() + DEADLINE));
        &mut self.client
    }
}

/// The database of a cluster, and the idle connections to it.
pub struct Db {
    store: StoreConfig,
    /// The URL without a password, for messages.
    pub url: String,
    /// The readers' connections (`db/pool.rs`).
    pool: Pool,
    /// The host (of `store.hosts`) tried first: where the primary was
    /// last found, unless its connection broke since.
    primary: AtomicUsize,
    /// The host of the last connection made.
    connected: AtomicUsize,
    /// Until when calls fail at once (no host answered).
    retry_at: Mutex<Option<Instant>>,
    /// Whether the last connection attempt reached a primary.
    reachable: AtomicBool,
    /// When a connection attempt last reached a primary.
    reached_at: Mutex<Option<Instant>>,
}

impl Db {
    /// Parses `--store` ([`parse_store`]); connects nothing yet.
    pub fn new(store: &str) -> Result<Db> {
        let store = parse_store(store)?;
        Ok(Db {
            url: store.shown.clone(),
            store,
            pool: Pool::default(),
            primary: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
            retry_at: Mutex::new(None),
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
                Ok(client) => return Some(self.reached(i, client)),
                Err(e) => why[i] = Some(e),
            }
        }
        None
    }

    /// `client`, just connected to host `i`, which takes writes, as a link
    /// of this generation: the host tried first from now on; connections
    /// to another host made before are not used again.
    fn reached(&self, i: usize, client: Client) -> PgLink {
        *self.retry_at.lock() = None;
        *self.reached_at.lock() = Some(Instant::now());
        self.now_reachable(true, "");
        self.primary.store(i, Ordering::Relaxed);
        if self.connected.swap(i, Ordering::Relaxed) != i {
            log::warn!("cluster: the primary database is now host {} of --store", i + 1);
            self.forget_all();
            crate::metrics::get().pg_switches.inc();
        }
        PgLink { client, generation: GENERATION.load(Ordering::Acquire), host: i }
    }

    /// A connection at start: rounds of the hosts, the one where the
    /// primary was last found first, each attempt `first` long in the
    /// first round and twice as long in each next one (up to
    /// [`LONGEST_START_ATTEMPT`]), a pause between rounds, until one takes
    /// writes or `within` has passed. A frozen host costs each round one short
    /// attempt, and a host not up yet (or a standby not promoted yet) is
    /// found once it is. The pause of requests after no host answered
    /// ([`RETRY_AFTER`]) is not kept: nothing is served yet. The error
    /// names each host's last reason.
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

    /// Connects to host `i` within `within`, to the millisecond (libpq's
    /// steps waited on by this thread, `Client::connect_with`): the
    /// caller then goes on to the next host, so that the standby promoted
    /// meanwhile is reached while the old primary is frozen.
    fn connect_to(&self, i: usize, within: Duration) -> std::result::Result<Client, String> {
        let client = Client::connect_with(&self.store.hosts[i], Instant::now() + within);
        client.map_err(|e| format!("host {} of --store: {}", i + 1, describe(&e)))
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
    /// are busy), its calls to be answered within [`DEADLINE`] (or what is
    /// left of the request's, `store::deadline`); `KO:UNAVAILABLE` if
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
        let mut link = match link {
            Ok(link) => link,
            Err(e) => {
                if pooled {
                    self.pool.give_back(None);
                }
                return Err(down_because("connecting", &e));
            }
        };
        link.client.set_deadline(Some(until));
        Ok(Borrowed { db: self, link: Some(link), pooled })
    }
}

/// Each host's reason for no connection, in the order of `--store`.
fn reasons(why: &[Option<String>]) -> String {
    let said = why.iter().enumerate().map(|(i, why)| {
        why.clone().unwrap_or_else(|| format!("host {} of --store: not tried, out of time", i + 1))
    });
    said.collect::<Vec<_>>().join("; ")
}

/// A borrowed connection; back to the pool when dropped, unless broken.
pub struct Borrowed<'a> {
    db: &'a Db,
    link: Option<PgLink>,
    /// Whether it holds one of the pool's places (else it is the
    /// borrower's own, closed when dropped: `db/pool.rs`).
    pooled: bool,
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

    /// An attempt on a frozen host (its kernel accepts, nothing answers
    /// the handshake) ends at its deadline and leaves nothing behind: its
    /// socket is closed, and the next host is tried at once.
    #[test]
    fn an_attempt_on_a_frozen_host_ends_at_its_deadline_and_leaves_nothing_behind() {
        use std::io::Read;
        let frozen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (p1, p2) = (frozen.local_addr().unwrap().port(), other.local_addr().unwrap().port());
        let db = Db::new(&format!("postgres://wachat@127.0.0.1:{p1},127.0.0.1:{p2}/wachat")).unwrap();
        let began = Instant::now();
        let e = db.connect_to(0, Duration::from_millis(200)).err().unwrap();
        assert!(e.starts_with("host 1 of --store: ") && e.contains("no answer in time"), "{e}");
        assert!(began.elapsed() >= Duration::from_millis(200), "{:?}", began.elapsed());
        let (mut server_side, _) = frozen.accept().unwrap();
        server_side.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut startup = Vec::new();
        let closed = server_side.read_to_end(&mut startup);
        assert!(closed.is_ok(), "the attempt's socket is closed when it is given up: {closed:?}");
        assert!(!startup.is_empty(), "the attempt had sent its startup message");
        let e = db.connect_to(1, Duration::from_millis(200)).err().unwrap();
        assert!(e.starts_with("host 2 of --store: "), "{e}");
    }

    /// At start, the hosts are gone round until the deadline: a host that
    /// refuses (a server not up yet) does not end the start at once, nor
    /// does the pause of requests after no host answered; and a frozen
    /// host is tried again in each round.
    #[test]
    fn a_start_goes_round_the_hosts_until_its_deadline_and_tries_a_frozen_one_again() {
        // Host 1 accepts (its kernel does), and nothing answers; the
        // connections it takes are counted and kept open. Host 2's port is
        // closed.
        let frozen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p1 = frozen.local_addr().unwrap().port();
        let p2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tried = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = tried.clone();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            for conn in frozen.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                kept.push(conn);
            }
        });
        let db = Db::new(&format!("postgres://wachat@127.0.0.1:{p1},127.0.0.1:{p2}/wachat")).unwrap();
        *db.retry_at.lock() = Some(Instant::now() + Duration::from_secs(3600));
        let e = db.connect_in_rounds(Duration::from_secs(3), Duration::from_millis(200)).err().unwrap();
        assert!(e.starts_with("no primary database within 3s: "), "{e}");
        assert!(e.contains("host 1 of --store: ") && e.contains("no answer in time"), "{e}");
        assert!(e.contains("host 2 of --store: ") && e.contains("refused"), "{e}");
        assert!(tried.load(Ordering::SeqCst) >= 2, "host 1 tried in more than one round");
    }
}
