//! The local store with many users, each with a full resend window (its
//! last `DEDUP_WINDOW` message ids): the memory that state takes, and how
//! long requests stall while a checkpoint is taken.
//!
//! ```sh
//! cargo run --release --example store_scale -- [users] [checkpoints] [dir]
//! ```
//!
//! (It runs itself again, with `fill` after the directory, to fill the
//! store in a process of its own.)
//!
//! 1. Fills a fresh data directory (default: a temporary one; 10,000
//!    users): every user sends `DEDUP_WINDOW` direct messages to the next
//!    one, 64 at a time, and every inbox is acknowledged as it goes, so
//!    that what is left in memory is the windows, not undelivered events.
//!    Writes a checkpoint and stops.
//! 2. Opens it again (from that checkpoint) and prints the process's RSS
//!    before and after: the memory of the state itself.
//! 3. Four threads send one message each and wait for its `OK`
//!    (durable: fsync on) in a loop, while the main thread writes
//!    `[checkpoints]` checkpoints (default 5), 300 ms apart. Prints the
//!    latency of the requests that overlapped a checkpoint (max, p99) and
//!    of the others, and how long each checkpoint took.
//!
//! Nothing here goes through a socket: it measures the store alone, on
//! the machine's disk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wachat::protocol::{Chat, Text};
use wachat::store::{DEDUP_WINDOW, LocalStore, StoreOptions, UserId};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Messages each user sends before inboxes are acknowledged.
const ROUND: usize = 64;

fn main() -> Result<()> {
    // `RUST_LOG=wachat::store=debug` shows how long each checkpoint held
    // the state lock ("state taken in … ms").
    env_logger::init();
    let args: Vec<String> = std::env::args().collect();
    let users: usize = args.get(1).map_or(Ok(10_000), |s| s.parse())?;
    let checkpoints: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args.get(3).map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    let quiet = StoreOptions {
        fsync: false,
        checkpoint_records: u64::MAX,
        checkpoint_interval: Duration::from_secs(86_400),
        report: false,
        ..StoreOptions::default()
    };

    if args.get(4).is_some_and(|a| a == "fill") {
        // The child: its memory (freed, but kept by the allocator) must
        // not count in the parent's figures.
        fill(&dir, quiet, users)?;
        return Ok(());
    }
    let started = Instant::now();
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([&users.to_string(), "0", &dir.to_string_lossy(), "fill"])
        .status()?;
    if !status.success() {
        return Err("filling the store failed".into());
    }
    println!(
        "filled {users} users x {DEDUP_WINDOW} messages in {:.1} s ({} log bytes)",
        started.elapsed().as_secs_f64(),
        dir_bytes(&dir.join("log"))
    );

    let before = rss_kib();
    let started = Instant::now();
    let store =
        LocalStore::open(&dir, StoreOptions { report: false, ..StoreOptions::default() }, Box::new(|_| {}))?;
    let load_ms = started.elapsed().as_millis();
    let after = rss_kib();
    println!(
        "state: RSS {:.1} MiB -> {:.1} MiB (+{:.1} MiB, {:.0} bytes per user); loaded in {load_ms} ms; checkpoint {:.1} MiB",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / users as f64,
        checkpoint_bytes(&dir) as f64 / (1 << 20) as f64
    );

    let ids: Vec<UserId> = (0..users)
        .map(|i| store.account(&format!("u{i}")).map(|a| a.id))
        .collect::<Option<_>>()
        .ok_or("a user is missing")?;
    stall(&store, &ids, checkpoints)?;
    drop(store);
    Ok(())
}

/// Creates the users and fills every window.
fn fill(dir: &std::path::Path, options: StoreOptions, users: usize) -> Result<()> {
    let store = LocalStore::open(dir, options, Box::new(|_| {}))?;
    // Not a real hash: nobody logs in here.
    let hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_string();
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let (account, _) =
            store.create_account(&format!("u{i}"), "", hash.clone(), None).map_err(|ko| ko.reason)?;
        ids.push(account.id);
    }
    let text = Text::from_plain("a message of about the size people type, give or take a few words")?;
    for round in 0..DEDUP_WINDOW.div_ceil(ROUND) {
        let mut last = None;
        for (i, &user) in ids.iter().enumerate() {
            let to = Chat::User(format!("u{}", (i + 1) % users));
            let count = ROUND.min(DEDUP_WINDOW - round * ROUND);
            // Ids shaped like the console client's: a per-user prefix and a counter.
            let msgs: Vec<_> = (0..count)
                .map(|k| {
                    (
                        to.clone(),
                        format!("{:08x}-{}", i * 2_654_435_761 % (1 << 32), round * ROUND + k),
                        text.clone(),
                    )
                })
                .collect();
            let (results, ticket) = store.send(user, &msgs);
            for r in results {
                r.map_err(|ko| ko.reason)?;
            }
            last = Some(ticket);
        }
        if let Some(ticket) = last {
            store.wait(ticket).map_err(|ko| ko.reason)?;
        }
        // Twice: the messages, then the DELIVERED statuses the first
        // acknowledgements queued for their senders.
        for _ in 0..2 {
            for &id in &ids {
                store.ack(id, store.inbox_end(id));
            }
            store.sync().map_err(|ko| ko.reason)?;
        }
    }
    store.checkpoint()?;
    Ok(())
}

/// Sends from four threads while checkpoints are written; prints the figures.
fn stall(store: &LocalStore, ids: &[UserId], checkpoints: usize) -> Result<()> {
    let stop = AtomicBool::new(false);
    let text = Text::from_plain("during a checkpoint")?;
    let mut windows = Vec::new();
    let mut samples: Vec<(Instant, Instant)> = Vec::new();
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (stop, text) = (&stop, text.clone());
                s.spawn(move || {
                    let mut times = Vec::new();
                    let mut k = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let from = (t * 7919 + k * 4) % ids.len();
                        let to = Chat::User(format!("u{}", (from + 1) % ids.len()));
                        let msg = [(to, format!("stall-{t}-{k}"), text.clone())];
                        let begun = Instant::now();
                        let (mut results, ticket) = store.send(ids[from], &msg);
                        let ok = results.pop().is_some_and(|r| r.is_ok()) && store.wait(ticket).is_ok();
                        if ok {
                            times.push((begun, Instant::now()));
                        }
                        k += 1;
                    }
                    times
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..checkpoints {
            let begun = Instant::now();
            store.checkpoint()?;
            windows.push((begun, Instant::now()));
            std::thread::sleep(Duration::from_millis(300));
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            samples.extend(w.join().expect("a sender thread panicked"));
        }
        Ok(())
    })?;
    let overlaps = |(b, e): &(Instant, Instant)| windows.iter().any(|(wb, we)| b < we && e > wb);
    let (mut during, mut outside): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for sample in &samples {
        let took = sample.1 - sample.0;
        if overlaps(sample) { during.push(took) } else { outside.push(took) }
    }
    let mut took: Vec<Duration> = windows.iter().map(|(b, e)| *e - *b).collect();
    took.sort();
    println!("checkpoint: median {:.1} ms (of {})", ms(took[took.len() / 2]), took.len());
    for (what, list) in [("during a checkpoint", &mut during), ("outside", &mut outside)] {
        list.sort();
        if list.is_empty() {
            println!("requests {what}: none");
            continue;
        }
        let at = |q: f64| ms(list[((list.len() - 1) as f64 * q) as usize]);
        println!(
            "requests {what}: {} sent, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            list.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_kib() -> u64 {
    wachat::sys::process::rss_bytes(std::process::id()).unwrap_or(0) / 1024
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries.filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
}

fn checkpoint_bytes(dir: &std::path::Path) -> u64 {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    let newest = entries
        .filter(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))
        .max_by_key(|e| e.file_name());
    newest.and_then(|e| e.metadata().ok()).map_or(0, |m| m.len())
}
