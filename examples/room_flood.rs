//! A room flood: accounts flood a room whose members are mostly offline.
//! A room message that put one inbox entry per offline member in RAM
//! would cost 4.1 GiB in 17 s (measured on a build that did); an inbox
//! holds stretches of the room's chain (`store::state`, `Queued::Rooms`). This prints the
//! server's RSS before, during (peak) and after the flood, how long a
//! restart takes and the RSS after it, and that an offline member still
//! gets everything it missed. For docs/RELIABILITY.md and docs/BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release && cargo run --release --example room_flood
//! cargo run --release --example room_flood -- 10   # seconds of flood (default 60)
//! ```
//!
//! The server is the release binary next to this example (or `WACHAT_BIN`),
//! on free ports with a temporary data directory: 200 members in `#flood`,
//! 20 of them flood it (each from its own 127.0.0.x, pipelined), 10 of those
//! have a receive connection that reads and acknowledges; the other 190
//! members stay offline.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

#[path = "support/flooding.rs"]
mod flooding;
#[path = "support/line_conn.rs"]
mod line_conn;

use flooding::{flood, read_and_ack};
use line_conn::{Conn, Result};

const MEMBERS: usize = 200;
const FLOODERS: usize = 20;
const ONLINE: usize = 10;
fn main() -> Result<()> {
    let secs: u64 = std::env::args().nth(1).map_or(Ok(60), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path())?;
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i}")).collect();
    for name in &names {
        let mut setup = connect_from(server.send, [127, 0, 0, 1])?;
        expect_ok(setup.request(&format!("REGISTER:{name}::password-{name}"))?)?;
        expect_ok(setup.request("JOIN:#flood")?)?;
    }
    let before = server.rss_mib();
    println!("{MEMBERS} members in #flood, {FLOODERS} flood it, {} offline", MEMBERS - ONLINE);
    println!("RSS before the flood: {before:.0} MiB");

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for (i, name) in names.iter().take(ONLINE).enumerate() {
        let mut recv = connect_from(server.recv, [127, 0, 1, i as u8 + 1])?;
        expect_ok(recv.request(&format!("LOGIN:{name}:password-{name}"))?)?;
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || read_and_ack(recv, &stop).is_ok()));
    }
    let started = Instant::now();
    for (i, name) in names.iter().take(FLOODERS).enumerate() {
        let mut send = connect_from(server.send, [127, 0, 2, i as u8 + 1])?;
        expect_ok(send.request(&format!("LOGIN:{name}:password-{name}"))?)?;
        let (stop, sent) = (stop.clone(), sent.clone());
        threads.push(std::thread::spawn(move || flood(send, i, &stop, &sent).is_ok()));
    }
    let mut peak = before;
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(250)); // sampling the RSS
        peak = peak.max(server.rss_mib());
    }
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        let _ = thread.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = sent.load(Ordering::SeqCst);
    let after = server.rss_mib();
    println!("flood: {total} room messages in {elapsed:.1} s ({:.0}/s)", total as f64 / elapsed);
    println!("RSS during the flood: peak {peak:.0} MiB; after it: {after:.0} MiB");

    let server = server.restart(dir.path())?;
    println!("restart: {:.2} s to listen again", server.started.as_secs_f64());
    println!("RSS after the restart: {:.0} MiB", server.rss_mib());

    // An offline member gets every message, numbered 1..=total.
    let last = &names[MEMBERS - 1];
    let mut recv = connect_from(server.recv, [127, 0, 3, 1])?;
    let replay = Instant::now();
    expect_ok(recv.request(&format!("LOGIN:{last}:password-{last}"))?)?;
    let (mut seq, mut replay_peak) = (0, 0f64);
    while seq < total {
        let line = recv.line()?;
        if let Some(rest) = line.strip_prefix("MSG:") {
            let n: u64 = rest.split(':').next().unwrap_or("").parse()?;
            if n != seq + 1 {
                return Err(format!("offline member: event {n} after {seq}").into());
            }
            seq = n;
            if seq % 10_000 == 0 {
                replay_peak = replay_peak.max(server.rss_mib());
            }
        }
    }
    println!(
        "an offline member's replay: {seq} events, in order, in {:.1} s; RSS peak {replay_peak:.0} MiB during it",
        replay.elapsed().as_secs_f64(),
    );
    Ok(())
}

fn expect_ok(reply: String) -> Result<()> {
    if reply.starts_with("OK") { Ok(()) } else { Err(reply.into()) }
}

/// A `wachat serve` on free ports and the given data directory.
struct Server {
    child: Child,
    send: SocketAddr,
    recv: SocketAddr,
    /// How long it took to listen (a restart loads the store first).
    started: Duration,
}

impl Server {
    fn start(dir: &Path) -> Result<Server> {
        let bin = match std::env::var_os("WACHAT_BIN") {
            Some(bin) => PathBuf::from(bin),
            None => std::env::current_exe()?
                .parent()
                .and_then(|p| p.parent())
                .ok_or("no target dir")?
                .join("wachat"),
        };
        let began = Instant::now();
        let mut child = Command::new(&bin)
            .args(["serve", "--send-port", "0", "--recv-port", "0", "--rate", "0", "--kdf-cost", "8"])
            .args(["--exempt", "127.0.0.1", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e} (cargo build --release first)", bin.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (found, addrs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                for (key, tag) in [("listening: send ", 's'), ("listening: receive ", 'r')] {
                    if let Some(addr) = line.split(key).nth(1) {
                        let _ = found.send((tag, addr.trim().to_string()));
                    }
                }
            }
        });
        let (mut send, mut recv) = (None, None);
        while send.is_none() || recv.is_none() {
            let (tag, addr) = addrs.recv_timeout(Duration::from_secs(120))?;
            let addr: SocketAddr = addr.parse()?;
            if tag == 's' { send = Some(addr) } else { recv = Some(addr) }
        }
        let (send, recv) = (send.ok_or("no send port")?, recv.ok_or("no receive port")?);
        Ok(Server { child, send, recv, started: began.elapsed() })
    }

    /// Kills it (as a crash would) and starts another on the same data.
    fn restart(mut self, dir: &Path) -> Result<Server> {
        self.child.kill()?;
        self.child.wait()?;
        Server::start(dir)
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
        let kib: f64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw protocol connection from a chosen loopback address.
/// A connection from the source address `from`: each hostile account of
/// the attack on an address of its own, as in a lab.
fn connect_from(to: SocketAddr, from: [u8; 4]) -> Result<Conn> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect(&to.into())?;
    Conn::from_stream(socket.into())
}
