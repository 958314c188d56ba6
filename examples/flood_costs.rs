//! What three floods cost a real `wachat serve` (docs/RELIABILITY.md §7), each against its own server (the release
//! binary next to this example, or `WACHAT_BIN`) on free ports with a
//! temporary data directory:
//!
//! - `linger`: one client opens 2,000 connections as fast as it can,
//!   sends one bad line to each (`X` → `KO:AUTH_REQUIRED`, the server
//!   closes) and keeps every socket open, so each close lingers; against
//!   `--max-connections 100`. Prints the peak of `/proc/<pid>/task` and
//!   `/proc/<pid>/fd`.
//! - `read`: 12,000 direct messages ana → bob, then bob pipelines 100 of
//!   `READ:ana:zz` (no such id), `READ:ana:m5` (an old id) and
//!   `HISTORY:ana:1000`: time per request.
//! - `presence`: ana reconnects her receive port in a loop for 2 s; how
//!   many `JOINED`/`LEFT` bob, her roommate, is sent.
//!
//! ```sh
//! cargo build --release && cargo run --release --example flood_costs
//! cargo run --release --example flood_costs -- read presence   # some of them
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

#[path = "support/line_conn.rs"]
mod line_conn;

use line_conn::{Conn, Result};

/// A flood: it starts its own server, plays, and prints its figures.
type Flood = fn() -> Result<()>;

fn main() -> Result<()> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let floods: [(&str, Flood); 3] = [("linger", linger), ("read", read), ("presence", presence)];
    for (name, flood) in floods {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("== {name}");
            flood()?;
        }
    }
    Ok(())
}

fn linger() -> Result<()> {
    let n = 2000;
    let server = Server::start(&["--max-connections", "100"])?;
    let counts = || {
        let count =
            |what: &str| std::fs::read_dir(format!("/proc/{}/{what}", server.pid())).map_or(0, |d| d.count());
        (count("task"), count("fd"))
    };
    let (threads, fds) = counts();
    let (mut peak_threads, mut peak_fds, mut busy) = (threads, fds, 0);
    let started = Instant::now();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = TcpStream::connect(server.send)?;
        c.set_read_timeout(Some(Duration::from_secs(10)))?;
        c.write_all(b"X\n")?;
        let mut reply = [0u8; 8];
        c.read_exact(&mut reply)?;
        busy += usize::from(&reply == b"KO:BUSY:");
        held.push(c);
        let (t, f) = counts();
        (peak_threads, peak_fds) = (peak_threads.max(t), peak_fds.max(f));
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{n} bad-line-and-hold connections in {secs:.2} s ({busy} KO:BUSY), --max-connections 100");
    println!("server threads: {threads} idle, peak {peak_threads}; descriptors: {fds} idle, peak {peak_fds}");
    Ok(())
}

fn read() -> Result<()> {
    let server = Server::start(&["--rate", "0"])?;
    let (mut ana, mut bob) = (server.user("ana", 0)?, server.user("bob", 0)?);
    for k in (0..12_000).step_by(500) {
        let burst: String = (k..k + 500).map(|i| format!("MSG:bob:m{i}:hello there number {i}\n")).collect();
        ana.send(&burst)?;
        for _ in 0..500 {
            ana.line()?;
        }
    }
    for request in ["PING", "READ:ana:zz", "READ:ana:m5", "HISTORY:ana:1000"] {
        let n = 100;
        let started = Instant::now();
        bob.send(&format!("{request}\n").repeat(n))?;
        let mut last = String::new();
        for _ in 0..n {
            last = bob.line()?;
            if request.starts_with("HISTORY") {
                let count: usize = last.split(':').nth(1).ok_or("no count")?.parse()?;
                for _ in 0..count {
                    bob.line()?;
                }
            }
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("{request:<18} {ms:.3} ms per request ({last})");
    }
    Ok(())
}

fn presence() -> Result<()> {
    let server = Server::start(&[])?;
    server.user("ana", 0)?;
    let mut bob = server.user("bob", 1)?;
    let started = Instant::now();
    let (mut logins, mut refused) = (0, 0);
    while started.elapsed() < Duration::from_secs(2) {
        let mut ana = Conn::connect(server.recv)?;
        ana.send("LOGIN:ana:pw-ana-1234\n")?;
        if ana.line()?.starts_with("OK") { logins += 1 } else { refused += 1 }
    }
    // Whatever bob was sent within a second after.
    bob.stream.set_read_timeout(Some(Duration::from_millis(1000)))?;
    let (mut joined, mut left) = (0, 0);
    while let Ok(line) = bob.line() {
        joined += usize::from(line == "JOINED:ana");
        left += usize::from(line == "LEFT:ana");
    }
    println!(
        "ana logged in {logins} times in 2 s ({refused} refused); bob was sent {joined} JOINED, {left} LEFT"
    );
    Ok(())
}

/// A `wachat serve` of its own; killed when dropped.
struct Server {
    child: Child,
    send: SocketAddr,
    recv: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(args: &[&str]) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let mut all: Vec<&std::ffi::OsStr> = vec!["--data-dir".as_ref(), dir.path().as_os_str()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        let (child, send, recv) = line_conn::spawn_serve(&all)?;
        Ok(Server { child, send, recv, _dir: dir })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Registers `name` (password `pw-<name>-1234`) and logs it in on the
    /// send port (0) or the receive port (1).
    fn user(&self, name: &str, port: usize) -> Result<Conn> {
        let mut c = Conn::connect(self.send)?;
        c.send(&format!("REGISTER:{name}::pw-{name}-1234\n"))?;
        c.line()?;
        let mut c = Conn::connect([self.send, self.recv][port])?;
        c.send(&format!("LOGIN:{name}:pw-{name}-1234\n"))?;
        c.line()?;
        Ok(c)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
