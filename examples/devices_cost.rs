//! What several devices per user cost a real `wachat serve`
//! (docs/BENCHMARKS.md "Devices"), each figure against its own server (the
//! release binary next to this example, or `WACHAT_BIN`) on free ports
//! with a temporary data directory:
//!
//! - `fanout`: bob sends 100,000 direct messages to ana (pipelined, 500 at a
//!   time) while ana has 1, then 4, devices online, each reading and
//!   acknowledging every 100 events as a client does. Prints the server's
//!   CPU time (user + system, `/proc/<pid>/stat`) per message and the
//!   deliveries per second (messages × devices / wall time).
//! - `rss`: 1,000 users online with 1 device each, then 1,000 with 3: the
//!   server's resident memory (`VmRSS`).
//! - `restart`: a data directory of 3,125 accounts with 32 devices each
//!   (100,000 devices, the most `MAX_KNOWN` allows them) in its log: how
//!   long the server takes from its start to listening, against the same
//!   directory without them; and how long the start that writes them
//!   there takes, from an older build's `devices.csv`.
//!
//! ```sh
//! cargo build --release && cargo run --release --example devices_cost
//! cargo run --release --example devices_cost -- fanout    # some of them
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

#[path = "support/line_conn.rs"]
mod line_conn;

use line_conn::{Conn, Result};

/// A figure: it starts its own server, measures, and prints.
type Figure = fn() -> Result<()>;

fn main() -> Result<()> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let figures: [(&str, Figure); 3] = [("fanout", fanout), ("rss", rss), ("restart", restart)];
    for (name, figure) in figures {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("== {name}");
            figure()?;
        }
    }
    Ok(())
}

const MESSAGES: usize = 100_000;

fn fanout() -> Result<()> {
    let mut one = None;
    for devices in [1, 4] {
        let server = Server::start(&[], None)?;
        server.register(&["ana", "bob"])?;
        let readers: Vec<_> = (0..devices)
            .map(|d| {
                let mut c = server.device("ana", &format!("d{d}"))?;
                Ok(std::thread::spawn(move || read_all(&mut c).map_err(|e| e.to_string())))
            })
            .collect::<Result<_>>()?;
        let mut bob = server.login("bob", server.send)?;
        let (cpu0, started) = (server.cpu()?, Instant::now());
        for k in (0..MESSAGES).step_by(500) {
            let burst: String = (k..k + 500).map(|i| format!("MSG:ana:m{i}:message number {i}\n")).collect();
            bob.send(&burst)?;
            for _ in 0..500 {
                bob.line()?;
            }
        }
        for reader in readers {
            reader.join().map_err(|_| "a reader panicked")??;
        }
        drop(bob);
        let (wall, cpu) = (started.elapsed().as_secs_f64(), server.cpu()? - cpu0);
        let per_msg = cpu / MESSAGES as f64 * 1e6;
        let deliveries = (MESSAGES * devices) as f64 / wall;
        print!(
            "{devices} device(s): {MESSAGES} messages in {wall:.2} s, server CPU {per_msg:.1} µs/message, "
        );
        println!("{deliveries:.0} deliveries/s");
        match one {
            None => one = Some(per_msg),
            Some(base) => println!("4 devices / 1 device: {:.2}× the CPU per message", per_msg / base),
        }
    }
    Ok(())
}

/// Reads [`MESSAGES`] messages as a client does, acknowledging every 100.
fn read_all(c: &mut Conn) -> Result<()> {
    let mut got = 0;
    while got < MESSAGES {
        let line = c.line()?;
        if let Some(rest) = line.strip_prefix("MSG:") {
            got += 1;
            if got % 100 == 0 || got == MESSAGES {
                let seq = rest.split(':').next().unwrap_or("0");
                c.send(&format!("ACK:{seq}\n"))?;
            }
        } else if line == "PING" {
            c.send("PONG\n")?;
        }
    }
    Ok(())
}

fn rss() -> Result<()> {
    let users: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    for devices in [1, 3] {
        let server = Server::start(&["--exempt", "127.0.0.1", "--max-per-address", "0"], None)?;
        server.register(&names)?;
        let idle = server.rss_kib()?;
        let mut held = Vec::with_capacity(names.len() * devices);
        for name in &names {
            for d in 0..devices {
                held.push(server.device(name, &format!("d{d}"))?);
            }
        }
        std::thread::sleep(Duration::from_millis(500)); // let the logins settle
        let rss = server.rss_kib()?;
        println!(
            "1,000 users × {devices} device(s) online: {} connections, RSS {:.1} MiB ({:.1} MiB with none online)",
            held.len(),
            rss as f64 / 1024.0,
            idle as f64 / 1024.0
        );
    }
    Ok(())
}

fn restart() -> Result<()> {
    const USERS: usize = 3_125;
    const EACH: usize = 32;
    let dir = tempfile::tempdir()?;
    let start = |dir: &Path| -> Result<f64> {
        let started = Instant::now();
        let server = Server::start(&[], Some(dir))?;
        let secs = started.elapsed().as_secs_f64();
        drop(server);
        Ok(secs)
    };
    let users: Vec<String> = (0..USERS).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let server = Server::start(&["--exempt", "127.0.0.1", "--max-per-address", "0"], Some(dir.path()))?;
    server.register(&names)?;
    drop(server);
    let without = start(dir.path())?;
    // An older build's file of devices, which the next start writes into the log.
    let mut rows = String::from("user,device,position,seen,address,token\n");
    for i in 0..USERS * EACH {
        rows.push_str(&format!("user{},device{},{},1795390000000,127.0.0.1,\n", i / EACH, i % EACH, i * 7));
    }
    std::fs::write(dir.path().join("devices.csv"), &rows)?;
    let converting = start(dir.path())?;
    if dir.path().join("devices.csv").exists() {
        return Err("devices.csv was not converted".into());
    }
    let with = start(dir.path())?;
    println!(
        "start to listening: {:.0} ms with {} devices in the log, {:.0} ms without; \
         {:.0} ms for the start that writes them there from devices.csv ({:.1} MB)",
        with * 1e3,
        USERS * EACH,
        without * 1e3,
        converting * 1e3,
        rows.len() as f64 / 1e6
    );
    Ok(())
}

struct Server {
    child: Child,
    send: SocketAddr,
    recv: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server on `dir`, or on a temporary directory.
    fn start(args: &[&str], dir: Option<&Path>) -> Result<Server> {
        let temp = match dir {
            Some(_) => None,
            None => Some(tempfile::tempdir()?),
        };
        let path =
            dir.map_or_else(|| temp.as_ref().expect("a temp dir").path().to_path_buf(), Path::to_path_buf);
        let mut all: Vec<&std::ffi::OsStr> = vec!["--rate".as_ref(), "0".as_ref(), "--data-dir".as_ref()];
        all.push(path.as_os_str());
        all.extend(args.iter().map(std::ffi::OsStr::new));
        let (child, send, recv) = line_conn::spawn_serve(&all)?;
        Ok(Server { child, send, recv, _dir: temp })
    }

    /// The server's CPU time so far (user + system), in seconds.
    fn cpu(&self) -> Result<f64> {
        Ok(wachat::sys::process::cpu_seconds(self.child.id()).ok_or("no CPU time (Linux's /proc only)")?)
    }

    fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
    }

    /// Registers each name (password `pw-<name>-1234`), on one connection
    /// each (a registration logs the connection in).
    fn register(&self, names: &[&str]) -> Result<()> {
        for name in names {
            let mut c = Conn::connect(self.send)?;
            c.send(&format!("REGISTER:{name}::pw-{name}-1234\n"))?;
            c.line()?;
        }
        Ok(())
    }

    fn login(&self, name: &str, port: SocketAddr) -> Result<Conn> {
        let mut c = Conn::connect(port)?;
        c.send(&format!("LOGIN:{name}:pw-{name}-1234\n"))?;
        c.line()?;
        Ok(c)
    }

    /// A receive connection of `name`'s `device`, speaking 1.2.
    fn device(&self, name: &str, device: &str) -> Result<Conn> {
        let mut c = Conn::connect(self.recv)?;
        c.send(&format!("VERSION:1.2\nLOGIN:{name}@{device}:pw-{name}-1234\n"))?;
        c.line()?; // OK (to VERSION)
        let ok = c.line()?;
        if !ok.starts_with("OK:") {
            return Err(format!("{name}@{device}: {ok}").into());
        }
        Ok(c)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
