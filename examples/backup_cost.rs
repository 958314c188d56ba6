//! What `wachat backup` costs: its time and size for a data directory of
//! a million messages, and what it does to a running server's `MSG`
//! latency while it copies. For docs/BENCHMARKS.md, "Backups".
//!
//! ```sh
//! cargo build --release && cargo run --release --example backup_cost
//! cargo run --release --example backup_cost -- 1000000 300   # messages, msgs/s while measuring
//! ```
//!
//! Fills a fresh data directory offline (`support/filling.rs`), starts
//! the release `wachat serve` on it (or `$WACHAT_BIN`), and sends `MSG`s
//! at a steady rate (default 300 a second) from 10 senders, each one at a
//! time at a tenth of the rate, each message timed from the moment it was
//! due to its `OK` (so a stall counts for every message it held back). The first 5 s are the baseline; then `wachat
//! backup` runs while the messages go on, three times, and the latency
//! of the messages sent during each backup is printed beside the
//! baseline's, with the backup's time and size.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/filling.rs"]
mod filling;
#[path = "support/line_conn.rs"]
mod line_conn;

use line_conn::{Conn, Result, spawn_serve, wachat_bin};

/// Seconds of traffic measured before any backup.
const BASELINE_SECS: u64 = 5;
const BACKUPS: usize = 3;
/// Senders, each `bench-s<i>` to `bench-r<i>` (made by the filling).
const SENDERS: usize = 10;

/// What each message waited, tagged with the phase it was sent in
/// (0: no backup running; `n`: during backup `n`).
type Samples = Arc<Mutex<Vec<(usize, Duration)>>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let rate: f64 = args.get(2).map_or(Ok(300.0), |s| s.parse())?;
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let filled = Instant::now();
    filling::fill(&data, total)?;
    println!("{total} messages filled in {:.1} s", filled.elapsed().as_secs_f64());

    let flags: [&std::ffi::OsStr; 6] = [
        "--exempt".as_ref(),
        "127.0.0.1".as_ref(),
        "--rate".as_ref(),
        "0".as_ref(),
        "--data-dir".as_ref(),
        data.as_ref(),
    ];
    let (mut server, send, _recv) = spawn_serve(&flags)?;
    let phase = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Samples = Arc::default();
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let mut conn = Conn::connect(send)?;
        let login = conn.request(&format!("LOGIN:bench-s{i}:bench-password"))?;
        if !login.starts_with("OK") {
            return Err(login.into());
        }
        let (phase, stop, samples) = (phase.clone(), stop.clone(), samples.clone());
        let each = rate / SENDERS as f64;
        senders.push(std::thread::spawn(move || {
            paced(conn, i, each, &phase, &stop, &samples).map_err(|e| e.to_string())
        }));
    }

    std::thread::sleep(Duration::from_secs(BASELINE_SECS)); // the baseline's traffic
    for n in 1..=BACKUPS {
        let out = root.path().join(format!("backup-{n}"));
        phase.store(n, Ordering::SeqCst);
        let began = Instant::now();
        let status =
            Command::new(wachat_bin()).arg("backup").arg("--data-dir").arg(&data).arg(&out).output()?;
        let took = began.elapsed();
        phase.store(0, Ordering::SeqCst);
        if !status.status.success() {
            return Err(String::from_utf8_lossy(&status.stderr).into_owned().into());
        }
        let (files, bytes) = size_of(&out)?;
        println!(
            "backup {n}: {:.2} s, {files} files, {:.1} MiB",
            took.as_secs_f64(),
            bytes as f64 / 1048576.0
        );
        std::fs::remove_dir_all(&out)?;
        std::thread::sleep(Duration::from_secs(1)); // traffic between backups, counted in the baseline
    }
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.join().map_err(|_| "a sender panicked")??;
    }
    let _ = server.kill();
    let _ = server.wait();

    let samples = samples.lock().map_err(|_| "poisoned")?;
    println!("MSG latency at {rate:.0} msgs/s, from when it was due to its OK:");
    for n in 0..=BACKUPS {
        let mut waits: Vec<Duration> = samples.iter().filter(|(p, _)| *p == n).map(|(_, d)| *d).collect();
        waits.sort();
        let name = if n == 0 { "no backup".to_string() } else { format!("during backup {n}") };
        println!("  {name:<17} {}", figures(&waits));
    }
    Ok(())
}

/// Sends `MSG`s to `bench-r<me>` at `rate` a second, one at a time,
/// until `stop`; records each one's wait with the phase it was due in.
fn paced(
    mut conn: Conn,
    me: usize,
    rate: f64,
    phase: &std::sync::atomic::AtomicUsize,
    stop: &AtomicBool,
    samples: &Samples,
) -> Result<()> {
    let every = Duration::from_secs_f64(1.0 / rate);
    let mut due = Instant::now();
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now); // the steady rate
        }
        let in_phase = phase.load(Ordering::SeqCst);
        let reply = conn.request(&format!("MSG:bench-r{me}:b{i}:{}", "y".repeat(100)))?;
        if !reply.starts_with("OK") {
            return Err(reply.into());
        }
        samples.lock().map_err(|_| "poisoned")?.push((in_phase, due.elapsed()));
        due += every;
        i += 1;
    }
    Ok(())
}

/// `n, p50, p99, max` of sorted waits.
fn figures(sorted: &[Duration]) -> String {
    if sorted.is_empty() {
        return "no message".into();
    }
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    format!(
        "n {:>6}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        sorted.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Files and bytes under `dir`.
fn size_of(dir: &Path) -> Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let (f, b) = size_of(&entry.path())?;
            files += f;
            bytes += b;
        } else {
            files += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((files, bytes))
}
