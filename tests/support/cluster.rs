//! Test support for the cluster (`--features cluster`): a PostgreSQL and a
//! `nats-server` of the test's own, on free loopback ports, and nodes on
//! them. A missing binary fails the test with the command that installs
//! it: nothing is skipped.
//!
//! PostgreSQL refuses to run as root: as root, its directory is given to
//! the `postgres` user and every command runs under `runuser -u postgres`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{READ_TIMEOUT, TestServer};

/// How to get a missing program. `.ci/test`, the README's test command,
/// installs both before it runs the tests.
const INSTALL_PG: &str = "install it with `apt-get install -y postgresql`, or run the tests with `.ci/test`";
const INSTALL_NATS: &str =
    "install it with `apt-get install -y nats-server`, or run the tests with `.ci/test`";

/// A free loopback port (bound, then released for the program to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

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

/// A PostgreSQL server of the test's own.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    /// `postgres://wachat@127.0.0.1:<port>/wachat`
    pub url: String,
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres"]).arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown to the postgres user");
        }
        let port = free_port();
        let mut pg = Postgres { url: format!("postgres://wachat@127.0.0.1:{port}/wachat"), dir, port };
        let data = pg.data();
        pg.run(
            pg_program("initdb"),
            &["-D", &data, "-A", "trust", "-U", "wachat", "--no-sync", "-E", "UTF8"],
        );
        // `free_port` lets the port go before PostgreSQL binds it, and
        // another test's server may take it meanwhile: then another port.
        for attempt in 1.. {
            match pg.try_start_server() {
                Ok(()) => break,
                Err(why) if attempt < 5 && why.contains("already in use") => {
                    pg.port = free_port();
                    pg.url = format!("postgres://wachat@127.0.0.1:{}/wachat", pg.port);
                }
                Err(why) => panic!("{why}"),
            }
        }
        let port = pg.port;
        let mut client = postgres::Client::connect(
            &format!("postgres://wachat@127.0.0.1:{port}/postgres"),
            postgres::NoTls,
        )
        .expect("connect to the test's PostgreSQL");
        client.batch_execute("CREATE DATABASE wachat").unwrap();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: PathBuf, args: &[&str]) {
        if let Err(why) = self.try_run(program, args) {
            panic!("{why}");
        }
    }

    /// Runs a PostgreSQL program; what it and the server's log said if it failed.
    fn try_run(&self, program: PathBuf, args: &[&str]) -> Result<(), String> {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command.args(args).stdin(Stdio::null()).output().expect("run a PostgreSQL program");
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        Err(format!(
            "{} {args:?}: {}{}\nthe end of its log:\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    }

    fn start_server(&self) {
        if let Err(why) = self.try_start_server() {
            panic!("{why}");
        }
    }

    fn try_start_server(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.try_run(
            pg_program("pg_ctl"),
            &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "-t", "30", "start"],
        )
    }

    /// Stops it (fast: connections are cut).
    pub fn stop(&self) {
        self.run(pg_program("pg_ctl"), &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Stops it as a crash would (`immediate`: no checkpoint, nothing
    /// flushed on the way out; it recovers from its log at the next start).
    pub fn crash(&self) {
        self.run(pg_program("pg_ctl"), &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }

    /// Starts it again, on the same port and data.
    pub fn start_again(&self) {
        self.start_server();
    }

    /// A client for checks.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pg_ctl = pg_program("pg_ctl");
        let data = self.data();
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A `nats-server` of the test's own.
pub struct Nats {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
}

impl Nats {
    pub fn start() -> Nats {
        let port = free_port();
        let mut nats = Nats { child: None, port, url: format!("nats://127.0.0.1:{port}") };
        nats.start_again();
        nats
    }

    /// Starts it (again) on its port, and waits until it accepts connections.
    pub fn start_again(&mut self) {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nats-server: {e}: {INSTALL_NATS}"));
        self.child = Some(child);
        let deadline = Instant::now() + READ_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start on {}", self.port);
            std::thread::sleep(Duration::from_millis(20)); // polling its port
        }
    }

    /// Kills it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// PostgreSQL, NATS, and the arguments of a node on them.
pub struct Cluster {
    pub pg: Postgres,
    pub nats: Nats,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster { pg: Postgres::start(), nats: Nats::start() }
    }

    /// A node named `name`, on fresh ports.
    pub fn node(&self, name: &str) -> TestServer {
        self.node_with(name, &[])
    }

    pub fn node_with(&self, name: &str, extra: &[&str]) -> TestServer {
        let mut args = vec!["--store", &self.pg.url, "--bus", &self.nats.url, "--node", name, "--rate", "0"];
        args.extend_from_slice(extra);
        TestServer::start_with(&args)
    }
}

/// Polls `check` until it is true, failing after `timeout`.
pub fn eventually(what: &str, timeout: Duration, check: impl FnMut() -> bool) {
    eventually_or(timeout, check, || format!("{what}: not after {timeout:?}"));
}

/// [`eventually`], failing with what `why` says then (the state a
/// failure needs to be understood).
pub fn eventually_or(timeout: Duration, mut check: impl FnMut() -> bool, why: impl FnOnce() -> String) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{}", why());
        std::thread::sleep(Duration::from_millis(50)); // polling
    }
}
