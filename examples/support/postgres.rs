//! A PostgreSQL of an example's own: `initdb` in a temporary directory, on
//! a free loopback port, default settings (as docs/CLUSTER-OPS.md starts one),
//! stopped when dropped. PostgreSQL refuses to run as root: as root, its
//! directory is given to the `postgres` user and its programs run under
//! `runuser -u postgres`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use wachat::cluster::db::postgres;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub struct Postgres {
    dir: tempfile::TempDir,
    /// `postgres://wachat@127.0.0.1:<port>/wachat`
    pub url: String,
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let dir = tempfile::tempdir()?;
        if as_root() {
            Command::new("chown").args(["-R", "postgres"]).arg(dir.path()).status()?;
        }
        let port = free_port()?;
        let pg = Postgres { url: format!("postgres://wachat@127.0.0.1:{port}/wachat"), dir };
        let data = pg.dir.path().join("data").display().to_string();
        pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "wachat", "--no-sync", "-E", "UTF8"])?;
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", pg.dir.path().display());
        let log = pg.dir.path().join("log").display().to_string();
        pg.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "start"])?;
        let admin = format!("postgres://wachat@127.0.0.1:{port}/postgres");
        postgres::Client::connect(&admin)?.batch_execute("CREATE DATABASE wachat")?;
        Ok(pg)
    }

    /// A PostgreSQL program (Debian keeps them off the PATH), as the
    /// `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let found = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|v| v.path().join("bin").join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(program));
        let mut command = if as_root() { Command::new("runuser") } else { Command::new(&found) };
        if as_root() {
            command.args(["-u", "postgres", "--"]).arg(&found);
        }
        let status = command.args(args).stdout(Stdio::null()).status();
        match status {
            Ok(s) if s.success() => Ok(()),
            _ => Err(format!("{program} failed (apt-get install -y postgresql)").into()),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
    }
}

/// A free loopback port (bound, then released for the program to take).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
