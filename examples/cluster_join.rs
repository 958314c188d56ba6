//! How long a node takes to join a cluster that holds many messages
//! (`cluster::checkpoint`): from its start on an empty data directory to
//! serving, a copy made from the newest checkpoint and the log's rows
//! after it applied; and, for comparison, a node that comes back with a
//! copy of its own (only the rows after it) and the first node, which
//! had no checkpoint and applied every row. For docs/CLUSTER-OPS.md
//! ("Joining, measured").
//!
//! ```sh
//! cargo build --release --features cluster
//! target/release/examples/cluster_join                    # 1M messages, 5 runs: ~1 min
//! target/release/examples/cluster_join 100000 20000 3     # messages, tail, runs
//! ```
//!
//! It starts its own PostgreSQL (default settings) on a free port, fills a single server's data directory offline with the
//! messages (`support/filling.rs`: 100 pairs, 100-byte texts, each
//! delivered), moves it into the cluster (`wachat migrate`'s code), and
//! starts node `a` (the binary beside this example, or `WACHAT_BIN`) with
//! `--checkpoint-records 100000`: it applies the whole log, leads, and
//! stores the first checkpoint. Then `tail` more messages through `a`
//! (its checkpoints meanwhile trim the log's rows into the archive), so
//! that a joining node has a tail to apply too. Then, in turns, runs of
//! a new node on an empty directory (the time from its start until it
//! listens: it listens once caught up) and of a node restarted on its
//! copy after 1,000 more messages; each run checks that the node serves
//! the newest message. Medians of the runs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/filling.rs"]
mod filling;
#[path = "support/line_conn.rs"]
mod line_conn;
#[path = "support/postgres.rs"]
mod postgres_of_our_own;

use line_conn::{Conn, Result};
use postgres_of_our_own::Postgres;
use wachat::cluster::db::postgres;

/// Records between the leader's checkpoints.
const CHECKPOINT_RECORDS: &str = "100000";

/// Messages sent between two runs of a node restarted on its copy.
const BETWEEN: usize = 1_000;

fn main() -> Result<()> {
    let arg = |i: usize, default: usize| -> Result<usize> {
        Ok(std::env::args().nth(i).map_or(Ok(default), |s| s.parse())?)
    };
    let (messages, tail, runs) = (arg(1, 1_000_000)?, arg(2, 150_000)?, arg(3, 5)?);
    let pg = Postgres::start()?;

    let single = tempfile::tempdir()?;
    let started = Instant::now();
    filling::fill(single.path(), messages)?;
    println!(
        "{messages} messages in a single server's directory in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    wachat::migrate::run(single.path(), &pg.url)?;
    println!("moved into the cluster in {:.1} s", started.elapsed().as_secs_f64());

    let a_dir = tempfile::tempdir()?;
    let started = Instant::now();
    let a = Node::start(&pg.url, "a", a_dir.path(), &["--checkpoint-records", CHECKPOINT_RECORDS])?;
    let whole = started.elapsed();
    println!("node a, no checkpoint yet, applied every row and listens after {:.2} s", whole.as_secs_f64());
    let mut db = postgres::Client::connect(&pg.url)?;
    wait_for(|| Ok(newest(&mut db)?.is_some()), "the first checkpoint")?;
    let mut sender = Conn::connect(a.send)?;
    expect_ok(sender.request("LOGIN:bench-s0:bench-password")?)?;
    let started = Instant::now();
    send(&mut sender, "t", tail)?;
    println!("{tail} more messages through a in {:.1} s", started.elapsed().as_secs_f64());
    // A tail longer than the checkpoints' interval makes a second
    // checkpoint, after which the leader moves the rows before the first
    // into the archive: both in a thread of its own, waited for here, so
    // that the figures are those of the log a node joins.
    if tail >= CHECKPOINT_RECORDS.parse()? {
        let trimmed = "SELECT (SELECT count(*) FROM checkpoints) >= 2 AND NOT EXISTS (
                           SELECT 1 FROM log WHERE pos + octet_length(records) <= (SELECT min(pos) FROM checkpoints)
                           AND pos < (SELECT max(pos) FROM log))";
        wait_for(|| Ok(db.query_one(trimmed, &[])?.get::<bool>(0)), "the log's older rows archived")?;
    }
    report(&mut db)?;

    let b_dir = tempfile::tempdir()?;
    let mut b = Node::start(&pg.url, "b", b_dir.path(), &[])?;
    let (mut new, mut again) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // A new node: an empty directory of its own.
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let node = Node::start(&pg.url, &format!("n{run}"), dir.path(), &[])?;
        new.push(started.elapsed().as_secs_f64());
        node.serves_newest(&mut sender)?;
        drop(node);
        // `b` again, on its copy, after more messages.
        drop(b);
        send(&mut sender, &format!("r{run}-"), BETWEEN)?;
        let started = Instant::now();
        b = Node::start(&pg.url, "b", b_dir.path(), &[])?;
        again.push(started.elapsed().as_secs_f64());
        b.serves_newest(&mut sender)?;
        println!(
            "run {}: a new node {:.2} s, a node back on its copy {:.2} s",
            run + 1,
            new[run],
            again[run]
        );
    }
    println!(
        "median of {runs}: a new node joins in {:.2} s; a node back on its copy in {:.2} s; \
         with no checkpoint (node a) {:.2} s",
        median(&mut new),
        median(&mut again),
        whole.as_secs_f64()
    );
    Ok(())
}

/// Sends `n` messages from `bench-s0` to `bench-r0`, pipelined, ids
/// `<tag><i>`, and reads their answers.
fn send(conn: &mut Conn, tag: &str, n: usize) -> Result<()> {
    const AT_ONCE: usize = 500;
    let text = "y".repeat(100);
    let mut i = 0;
    while i < n {
        let burst = AT_ONCE.min(n - i);
        let frames: String = (i..i + burst).map(|k| format!("MSG:bench-r0:{tag}{k}:{text}\n")).collect();
        conn.send(&frames)?;
        for _ in 0..burst {
            expect_ok(conn.line()?)?;
        }
        i += burst;
    }
    Ok(())
}

/// What the database holds: the log's rows, the archive, the checkpoints.
fn report(db: &mut postgres::Client) -> Result<()> {
    let row = db.query_one(
        "SELECT (SELECT count(*) FROM log), (SELECT coalesce(sum(octet_length(records)), 0)::int8 FROM log),
                (SELECT count(*) FROM log_archive),
                (SELECT coalesce(sum(octet_length(records)), 0)::int8 FROM log_archive),
                (SELECT max(pos) FROM checkpoints),
                (SELECT coalesce(sum(octet_length(bytes)), 0)::int8 FROM checkpoint_parts
                 WHERE pos = (SELECT max(pos) FROM checkpoints)),
                (SELECT max(pos + octet_length(records)) FROM log)",
        &[],
    )?;
    let mib = |i: usize| row.get::<i64>(i) as f64 / (1 << 20) as f64;
    let (newest, end): (i64, i64) = (row.get(4), row.get(6));
    println!(
        "the database: {} rows in log ({:.1} MiB), {} pieces in log_archive ({:.1} MiB); \
         the newest checkpoint at {newest} ({:.2} MiB), {:.1} MiB of log after it",
        row.get::<i64>(0),
        mib(1),
        row.get::<i64>(2),
        mib(3),
        mib(5),
        (end - newest) as f64 / (1 << 20) as f64
    );
    Ok(())
}

fn newest(db: &mut postgres::Client) -> Result<Option<i64>> {
    Ok(db.query_one("SELECT max(pos) FROM checkpoints", &[])?.get(0))
}

fn wait_for(mut done: impl FnMut() -> Result<bool>, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !done()? {
        if Instant::now() > deadline {
            return Err(format!("{what}: not after 5 minutes").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn expect_ok(reply: String) -> Result<()> {
    if reply.starts_with("OK") { Ok(()) } else { Err(reply.into()) }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A child process, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `wachat serve` node of the cluster on free ports.
struct Node {
    _child: Killed,
    send: std::net::SocketAddr,
}

impl Node {
    /// Starts it and returns once it listens (it does once caught up
    /// with the log); if it ends first, what it logged last is the error.
    fn start(store: &str, name: &str, dir: &std::path::Path, extra: &[&str]) -> Result<Node> {
        let data = dir.display().to_string();
        let mut args = vec!["serve", "--send-port", "0", "--recv-port", "0", "--kdf-cost", "8"];
        args.extend_from_slice(&["--store", store, "--node", name, "--rate", "0"]);
        // One receiver gets the tail, offline: no bound on its inbox.
        args.extend_from_slice(&["--exempt", "127.0.0.1", "--web-port", "off", "--inbox-max", "0"]);
        args.extend_from_slice(&["--data-dir", &data]);
        args.extend_from_slice(extra);
        let mut child = Command::new(line_conn::wachat_bin())
            .args(&args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let log = BufReader::new(child.stderr.take().ok_or("no stderr")?);
        let child = Killed(child);
        let mut last = std::collections::VecDeque::new();
        let mut lines = log.lines();
        let send = loop {
            let Some(line) = lines.next() else {
                let last: Vec<String> = last.into_iter().collect();
                return Err(format!("node {name} ended before listening:\n{}", last.join("\n")).into());
            };
            let line = line?;
            if let Some(addr) = line.split("listening: send ").nth(1) {
                break addr.trim().parse()?;
            }
            last.push_back(line);
            if last.len() > 20 {
                last.pop_front();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Node { _child: child, send })
    }

    /// The newest message `sender` sent is in this node's `HISTORY`.
    fn serves_newest(&self, sender: &mut Conn) -> Result<()> {
        let mine = sender.request("HISTORY:bench-r0:1")?;
        let mut reader = Conn::connect(self.send)?;
        expect_ok(reader.request("LOGIN:bench-s0:bench-password")?)?;
        let theirs = reader.request("HISTORY:bench-r0:1")?;
        let (newest, there) = (sender.line()?, reader.line()?);
        if mine != theirs || newest != there {
            return Err(format!("the node's newest message differs: {there:?}, not {newest:?}").into());
        }
        Ok(())
    }
}
