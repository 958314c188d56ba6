//! Test support for the cluster (`--features cluster`): PostgreSQL, and
//! nodes on it. A missing binary fails the test with the command that
//! installs it: nothing is skipped.
//!
//! A test's cluster is a database of its own. When the run names a
//! directory for its servers (`WACHAT_TEST_SERVERS`, which `.ci/test`
//! sets), every test of the run shares one PostgreSQL: the first test
//! that needs it starts it there, under a lock file, for all the test
//! processes, and `.ci/test` stops it at the end. Each test then gets its
//! own database, a copy of one migrated once (`CREATE DATABASE …
//! TEMPLATE`). Without that variable (`cargo test` by hand), and for a
//! test that stops or crashes it ([`Cluster::start_own`]), the test
//! starts its own.
//!
//! PostgreSQL refuses to run as root: as root, its directory is given to
//! the `postgres` user and every command runs under `runuser -u postgres`.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::TestServer;
use super::ports::free_port;
pub use super::proxy::LinkProxy;
use wachat::cluster::db::postgres;

/// How to get a missing program. `.ci/test`, the README's test command,
/// installs it before it runs the tests.
const INSTALL_PG: &str = "install it with `apt-get install -y postgresql`, or run the tests with `.ci/test`";

/// The directory of the run's shared servers (set by `.ci/test`).
const SERVERS_VAR: &str = "WACHAT_TEST_SERVERS";

/// The run's migrated database, which each test's database copies.
const TEMPLATE: &str = "wachat_template";

/// The path of a PostgreSQL program: on the PATH, or in Debian's place.
fn pg_program(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
    {
        return path;
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| panic!("{name} (PostgreSQL) not found: {INSTALL_PG}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The URL of `database` on the PostgreSQL at `port`.
fn pg_url(port: u16, database: &str) -> String {
    format!("postgres://wachat@127.0.0.1:{port}/{database}")
}

/// Brings `database` on the PostgreSQL at `port` to the schema a node
/// would create at its start.
fn migrate(port: u16, database: &str) {
    let url = pg_url(port, database);
    let mut client = postgres::Client::connect(&url).expect("connect to the new database");
    wachat::cluster::schema::upgrade(&mut client, &url).expect("migrate the test's database");
}

/// A PostgreSQL server in a directory: initdb'd there, started on a free
/// port, its socket and log beside its data.
struct PgServer {
    dir: PathBuf,
    port: u16,
}

impl PgServer {
    /// A new server in `dir` (which exists), started with `settings`
    /// (`-c name=value …`).
    fn start(dir: &Path, settings: &str) -> PgServer {
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres"]).arg(dir).status().unwrap();
            assert!(status.success(), "chown to the postgres user");
        }
        let mut pg = PgServer { dir: dir.to_path_buf(), port: free_port() };
        let data = pg.data();
        pg.run(
            pg_program("initdb"),
            &["-D", &data, "-A", "trust", "-U", "wachat", "--no-sync", "-E", "UTF8"],
        );
        // `free_port` lets the port go before PostgreSQL binds it, and
        // another test's server may take it meanwhile: then another port.
        for attempt in 1.. {
            match pg.try_start(settings) {
                Ok(()) => break,
                Err(why) if attempt < 5 && why.contains("already in use") => pg.port = free_port(),
                Err(why) => panic!("{why}"),
            }
        }
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, program: PathBuf, args: &[&str]) {
        if let Err(why) = self.try_run(program, args) {
            panic!("{why}");
        }
    }

    /// Runs a PostgreSQL program in a process group of its own (pg_ctl's
    /// server must outlive a test that the runner kills with its group);
    /// what it and the server's log said if it failed.
    fn try_run(&self, program: PathBuf, args: &[&str]) -> Result<(), String> {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .process_group(0)
            .output()
            .expect("run a PostgreSQL program");
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        Err(format!(
            "{} {args:?}: {}{}\nthe end of its log:\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    }

    fn try_start(&self, settings: &str) -> Result<(), String> {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 {settings}", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.try_run(
            pg_program("pg_ctl"),
            &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "-t", "30", "start"],
        )
    }

    /// Stops it: `fast` cuts the connections, `immediate` is a crash.
    fn stop(&self, mode: &str) {
        self.run(pg_program("pg_ctl"), &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    /// A connection to its `postgres` database, to create and drop others.
    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&pg_url(self.port, "postgres")).expect("connect to the test's PostgreSQL")
    }
}

/// What a PostgreSQL of a test's own runs with.
const OWN_PG_SETTINGS: &str = "-c max_connections=200 -c shared_buffers=64MB";

/// The test's database: on the run's PostgreSQL, or on one of its own.
pub struct Postgres {
    pub port: u16,
    /// `postgres://wachat@127.0.0.1:<port>/<database>`
    pub url: String,
    /// The database's name.
    name: String,
    /// The server when it is the test's own (with its directory); none
    /// when it is the run's.
    own: Option<(PgServer, tempfile::TempDir)>,
}

impl Postgres {
    /// A PostgreSQL of the test's own, with an empty database `wachat`.
    fn start_own() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let server = PgServer::start(dir.path(), OWN_PG_SETTINGS);
        server.admin().batch_execute("CREATE DATABASE wachat").unwrap();
        Postgres {
            port: server.port,
            url: pg_url(server.port, "wachat"),
            name: "wachat".into(),
            own: Some((server, dir)),
        }
    }

    /// A new database on the run's PostgreSQL, a copy of `template`.
    fn on_shared(shared: &Shared, template: &str) -> Postgres {
        static MADE: AtomicU32 = AtomicU32::new(0);
        // Unique across the run's processes: the pid, then this process's
        // count, then a random part for a pid used again.
        let name = format!(
            "t{}_{}_{:08x}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::SeqCst),
            getrandom::u32().unwrap()
        );
        let mut admin = shared.admin();
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).unwrap();
        Postgres { port: shared.pg_port, url: pg_url(shared.pg_port, &name), name, own: None }
    }

    /// The server, which only a test that has its own may stop.
    fn own_server(&self) -> &PgServer {
        match &self.own {
            Some((server, _)) => server,
            None => panic!("this test stops PostgreSQL: it needs its own (Cluster::start_own)"),
        }
    }

    /// Stops it (fast: connections are cut).
    pub fn stop(&self) {
        self.own_server().stop("fast");
    }

    /// Stops it as a crash would (`immediate`: no checkpoint, nothing
    /// flushed on the way out; it recovers from its log at the next start).
    pub fn crash(&self) {
        self.own_server().stop("immediate");
    }

    /// Pauses (`SIGSTOP`) or resumes (`SIGCONT`) its postmaster: paused,
    /// it takes no new connection (its kernel accepts them, nobody
    /// answers), as a server slowed down by a loaded machine.
    pub fn signal(&self, signal: libc::c_int) {
        let pid_file = Path::new(&self.own_server().data()).join("postmaster.pid");
        let pid: libc::pid_t =
            std::fs::read_to_string(pid_file).unwrap().lines().next().unwrap().parse().unwrap();
        // SAFETY: kill(2) on the PostgreSQL this test started.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Starts it again, on the same port and data.
    pub fn start_again(&self) {
        if let Err(why) = self.own_server().try_start(OWN_PG_SETTINGS) {
            panic!("{why}");
        }
    }

    /// A client for checks. A statement of its that waits a minute (for
    /// a lock a node holds) fails with PostgreSQL's words, rather than
    /// holding the test until the runner's timeout.
    pub fn client(&self) -> postgres::Client {
        let mut client = postgres::Client::connect(&self.url).expect("connect");
        client.batch_execute("SET statement_timeout = '60s'").expect("a statement timeout");
        client
    }

    /// The directory of a PostgreSQL of the test's own: its Unix socket
    /// is there, its data (`pg_hba.conf`, `postgresql.auto.conf`…) in
    /// `data/`.
    pub fn own_dir(&self) -> &Path {
        &self.own_server().dir
    }

    /// Writes `text` to `name` in the data directory of the test's own
    /// PostgreSQL, readable by the server alone (as a key must be).
    pub fn write_data_file(&self, name: &str, text: &[u8]) {
        let path = self.own_dir().join("data").join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        if is_root() {
            let status = Command::new("chown").arg("postgres").arg(&path).status().unwrap();
            assert!(status.success(), "chown to the postgres user");
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        match &self.own {
            // Quietly: it may be stopped already.
            Some((server, _)) => {
                let mut command = if is_root() {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(pg_program("pg_ctl"));
                    c
                } else {
                    Command::new(pg_program("pg_ctl"))
                };
                let _ = command
                    .args(["-D", &server.data(), "-m", "immediate", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            // The run's server goes on for other tests: only this test's
            // database goes, its last connections cut.
            None => {
                if let Some(shared) = shared() {
                    let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                    let _ = shared.admin().batch_execute(&drop);
                }
            }
        }
    }
}

/// The run's PostgreSQL, shared by all its tests.
struct Shared {
    pg_port: u16,
}

/// The run's servers, when it has a directory for them; started by the
/// first test of all the run's processes that asks.
fn shared() -> Option<&'static Shared> {
    static SHARED: OnceLock<Option<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| std::env::var_os(SERVERS_VAR).map(|dir| Shared::open(Path::new(&dir)))).as_ref()
}

impl Shared {
    /// The servers whose ports `dir/ports` holds, or new ones started
    /// there. A lock file keeps the run's processes from starting two.
    fn open(dir: &Path) -> Shared {
        std::fs::create_dir_all(dir).unwrap();
        let lock = File::create(dir.join("lock")).expect("the servers' lock file");
        lock.lock().expect("lock the servers' directory");
        let ports = dir.join("ports");
        if let Ok(text) = std::fs::read_to_string(&ports) {
            let mut numbers = text.split_whitespace().map(|n| n.parse().expect("a port"));
            return Shared { pg_port: numbers.next().unwrap() };
        }
        // Set up for speed: nothing in it must survive a crash (a test
        // that crashes PostgreSQL has its own, with fsync on).
        let pg_dir = dir.join("postgres");
        std::fs::create_dir_all(&pg_dir).unwrap();
        let settings = "-c max_connections=600 -c shared_buffers=128MB -c fsync=off -c full_page_writes=off";
        let pg = PgServer::start(&pg_dir, settings);
        pg.admin().batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).unwrap();
        migrate(pg.port, TEMPLATE);
        let written = dir.join("ports.new");
        std::fs::write(&written, format!("{}\n", pg.port)).unwrap();
        std::fs::rename(&written, &ports).unwrap();
        Shared { pg_port: pg.port }
    }

    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&pg_url(self.pg_port, "postgres")).expect("connect to the run's PostgreSQL")
    }
}

/// PostgreSQL, and the arguments of a node on it.
pub struct Cluster {
    pub pg: Postgres,
}

impl Cluster {
    /// A migrated database of the test's own: on the run's PostgreSQL
    /// when it has one, else on one of the test's own.
    pub fn start() -> Cluster {
        match shared() {
            Some(shared) => Cluster { pg: Postgres::on_shared(shared, TEMPLATE) },
            None => Cluster::start_own(),
        }
    }

    /// The same with an empty database, no schema yet: for tests of the
    /// schema and its migrations.
    pub fn start_empty() -> Cluster {
        match shared() {
            Some(shared) => Cluster { pg: Postgres::on_shared(shared, "template0") },
            None => Cluster { pg: Postgres::start_own() },
        }
    }

    /// A PostgreSQL of the test's own, with a migrated database: for a
    /// test that stops or crashes it.
    pub fn start_own() -> Cluster {
        let cluster = Cluster { pg: Postgres::start_own() };
        migrate(cluster.pg.port, &cluster.pg.name);
        cluster
    }

    /// A node named `name`, on fresh ports.
    pub fn node(&self, name: &str) -> TestServer {
        self.node_with(name, &[])
    }

    pub fn node_with(&self, name: &str, extra: &[&str]) -> TestServer {
        TestServer::start_with(&self.node_args(name, extra))
    }

    /// A node named `name` that the test kills and starts again at its
    /// address, with [`Cluster::node_args`] ([`TestServer::start_restartable`]).
    pub fn restartable_node(&self, name: &str) -> TestServer {
        TestServer::start_restartable(&self.node_args(name, &[]))
    }

    /// The flags of a node named `name` on this cluster, then `extra`.
    pub fn node_args<'a>(&'a self, name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--store", &self.pg.url, "--node", name, "--rate", "0"];
        args.extend_from_slice(extra);
        args
    }
}

/// Resets every TCP connection to or from `node`'s node port (where it
/// takes the other nodes' links when it leads), as a network that drops
/// them would (`ss -K`: the kernel aborts them, both ends see the error).
pub fn cut_node_links(node: &TestServer) {
    let port = node_links_at(node).port();
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let out = Command::new("ss").args(["-K", "-t", &filter]).output().expect("ss (iproute2)");
    assert!(out.status.success(), "ss -K: {}", String::from_utf8_lossy(&out.stderr));
}

/// Where `node` takes node links, as it says at its start (before any
/// `, reached at …`).
pub fn node_links_at(node: &TestServer) -> std::net::SocketAddr {
    let line = node.wait_for_log("node links at ");
    let at = line.split("node links at ").nth(1).unwrap().split(',').next().unwrap();
    at.trim().parse().expect("an address")
}

impl LinkProxy {
    /// Passes links on to `node`'s node port (again after its restart).
    pub fn to_node(&self, node: &TestServer) {
        self.to(node_links_at(node));
    }
}

/// Polls `check` until it is true, failing after `timeout`.
pub fn eventually(what: &str, timeout: Duration, check: impl FnMut() -> bool) {
    eventually_or(timeout, check, || format!("{what}: not after {timeout:?}"));
}

/// `--store` with a proxy to `cluster`'s PostgreSQL as host 1, and the
/// same PostgreSQL direct as host 2: frozen ([`LinkProxy::freeze`]),
/// host 1 is a primary frozen, whose kernel takes connections and nothing
/// answers.
pub fn store_behind_a_proxy(cluster: &Cluster) -> (LinkProxy, String) {
    let proxy = LinkProxy::start();
    proxy.to(std::net::SocketAddr::from(([127, 0, 0, 1], cluster.pg.port)));
    let direct = format!("@127.0.0.1:{}/", cluster.pg.port);
    assert!(cluster.pg.url.contains(&direct), "{}", cluster.pg.url);
    let store = cluster.pg.url.replace(&direct, &format!("@{},127.0.0.1:{}/", proxy.at, cluster.pg.port));
    (proxy, store)
}

/// A start's whole deadline per host of `--store` (30 s): a start or a
/// command that ends before it has not waited a frozen host out.
pub const WAITING_OUT_A_FROZEN_HOST: Duration = Duration::from_secs(30);

/// [`eventually`], failing with what `why` says then (the state a
/// failure needs to be understood).
pub fn eventually_or(timeout: Duration, mut check: impl FnMut() -> bool, why: impl FnOnce() -> String) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{}", why());
        std::thread::sleep(Duration::from_millis(50)); // polling
    }
}
