//! What the cluster's log costs its leader: one writer, the single
//! server's own log lines, each group commit one PostgreSQL transaction,
//! fenced by the leader's epoch. For docs/CLUSTER-OPS.md ("What the
//! log costs its leader").
//!
//! ```sh
//! cargo run --release --features cluster --example leader_log_cost            # ~4 min
//! cargo run --release --features cluster --example leader_log_cost -- --quick # ~30 s
//! ```
//!
//! It starts its own PostgreSQL (default settings: every commit waits for
//! its fsync), then:
//!
//! 1. **The records.** Fills a single server's store offline with 200k
//!    messages (`support/filling.rs`) and takes its log's lines: real
//!    records, written by the project's own encoder (`MSG`, `DELIVERED`,
//!    `ACK`).
//! 2. **One writer, batches of 100 to 5,000 records**, three ways of
//!    writing one batch, each in one transaction that first checks the
//!    lease's epoch (`SELECT … FOR SHARE`, the fence: a new leader's
//!    `UPDATE` of the lease waits for it, and a deposed leader's check
//!    fails):
//!    - *rows*: one row a record, a multi-row `INSERT … SELECT unnest(…)`;
//!    - *copy*: one row a record, `COPY … FROM STDIN`;
//!    - *blob*: one row a batch, the batch's bytes as the log file holds
//!      them (what the leader's log device writes).
//!
//!    Each configuration runs for a few seconds, the three ways in turns
//!    (ABCABC…), on an emptied table; records/s and commit latency
//!    p50/p99, medians of the turns. A message is about two records (its
//!    `MSG` and its receiver's `ACK` or `DELIVERED`).
//! 3. **A node's start**: the newest checkpoint and the tail after it,
//!    read from the table (what a node does when it joins): the whole
//!    log's blobs read back and decoded, as a worst case with no
//!    checkpoint at all.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use wachat::cluster::db::postgres::Client;
use wachat::store::Record;

#[path = "support/filling.rs"]
mod filling;
#[path = "support/postgres.rs"]
mod postgres_of_our_own;

use postgres_of_our_own::Postgres;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Records per transaction: a group commit takes what arrived while the
/// previous one was being committed.
const BATCHES: [usize; 4] = [100, 500, 2_000, 5_000];

const SCHEMA: &str = "
    CREATE TABLE lease (one bool PRIMARY KEY DEFAULT true, epoch int8 NOT NULL);
    INSERT INTO lease (epoch) VALUES (1);
    CREATE TABLE log_rows (pos int8 PRIMARY KEY, epoch int8 NOT NULL, line text NOT NULL);
    CREATE TABLE log_blobs (pos int8 PRIMARY KEY, epoch int8 NOT NULL, records int4 NOT NULL, bytes bytea NOT NULL);";

/// How big and how long.
struct Plan {
    messages: usize,
    /// Seconds each write configuration runs.
    seconds: f64,
    /// Turns of each measurement, medians over them.
    rounds: usize,
}

#[derive(Clone, Copy, Debug)]
enum Way {
    Rows,
    Copy,
    Blob,
}

const WAYS: [Way; 3] = [Way::Rows, Way::Copy, Way::Blob];

/// One run's figures.
struct Run {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick {
        Plan { messages: 50_000, seconds: 1.0, rounds: 1 }
    } else {
        Plan { messages: 200_000, seconds: 4.0, rounds: 3 }
    };
    println!("load average before: {}", load_average());
    let data = tempfile::tempdir()?;
    let sent = filling::fill(data.path(), plan.messages)?;
    let lines = log_lines(data.path())?;
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "the single server's log: {sent} messages, {} records, {:.1} MiB, {:.0} bytes a record",
        lines.len(),
        mib(bytes as u64),
        bytes as f64 / lines.len() as f64,
    );
    let pg = Postgres::start()?;
    let mut db = Client::connect(&pg.url)?;
    db.batch_execute(SCHEMA)?;
    writes(&mut db, &lines, &plan)?;
    start_up(&mut db, &lines)?;
    println!("load average after: {}", load_average());
    Ok(())
}

// ----- 2. one writer --------------------------------------------------------

fn writes(db: &mut Client, lines: &[String], plan: &Plan) -> Result<()> {
    println!(
        "\none writer, fsync on, {} s a run, {} turn(s) of the three ways, medians:\n\
         | batch | way | records/s | msgs/s (2 records a message) | commit p50 | commit p99 |\n\
         |---:|---|---:|---:|---:|---:|",
        plan.seconds, plan.rounds
    );
    for batch in BATCHES {
        let mut runs: Vec<Vec<Run>> = WAYS.iter().map(|_| Vec::new()).collect();
        for _ in 0..plan.rounds {
            for (i, way) in WAYS.into_iter().enumerate() {
                db.batch_execute("TRUNCATE log_rows, log_blobs")?;
                runs[i].push(write_run(db, lines, batch, way, plan.seconds)?);
            }
        }
        for (way, runs) in WAYS.iter().zip(runs) {
            let run = median_run(&runs);
            println!(
                "| {batch} | {way:?} | {:.0} | {:.0} | {} | {} |",
                run.per_sec,
                run.per_sec / 2.0,
                ms(run.p50),
                ms(run.p99)
            );
        }
    }
    Ok(())
}

/// The leader's committer for `seconds`: a transaction a batch.
fn write_run(db: &mut Client, lines: &[String], batch: usize, way: Way, seconds: f64) -> Result<Run> {
    // Each prepared once on the connection, at its first use (the client's own).
    let fence = "SELECT epoch FROM lease FOR SHARE";
    let rows = "INSERT INTO log_rows (pos, epoch, line) SELECT p, $1, l FROM unnest($2::int8[], $3::text[]) AS t(p, l)";
    let blob = "INSERT INTO log_blobs (pos, epoch, records, bytes) VALUES ($1, $2, $3, $4)";
    let epoch = 1i64;
    let (mut pos, mut committed, mut latencies) = (0i64, 0usize, Vec::new());
    let mut cursor = 0;
    let mut bytes = Vec::new();
    let length = Duration::from_secs_f64(seconds);
    let began = Instant::now();
    while began.elapsed() < length {
        let texts: Vec<&str> = (0..batch).map(|k| lines[(cursor + k) % lines.len()].as_str()).collect();
        cursor += batch;
        let t = Instant::now();
        let mut tx = db.transaction()?;
        let held: i64 = tx.query_one(fence, &[])?.get(0);
        if held != epoch {
            return Err("fenced".into());
        }
        match way {
            Way::Rows => {
                let mut at = pos;
                let positions: Vec<i64> = texts
                    .iter()
                    .map(|t| {
                        let p = at;
                        at += t.len() as i64 + 1;
                        p
                    })
                    .collect();
                tx.execute(rows, &[&epoch, &positions, &texts])?;
                pos = at;
            }
            Way::Copy => {
                let mut copy = tx.copy_in("COPY log_rows (pos, epoch, line) FROM STDIN")?;
                let mut row = String::new();
                for text in &texts {
                    row.clear();
                    // COPY's text format: a backslash and a tab are escaped.
                    row.push_str(&format!("{pos}\t{epoch}\t"));
                    row.push_str(&text.replace('\\', "\\\\").replace('\t', "\\t"));
                    row.push('\n');
                    copy.write_all(row.as_bytes())?;
                    pos += text.len() as i64 + 1;
                }
                copy.finish()?;
            }
            Way::Blob => {
                bytes.clear();
                for text in &texts {
                    bytes.extend_from_slice(text.as_bytes());
                    bytes.push(b'\n');
                }
                tx.execute(blob, &[&pos, &epoch, &(batch as i32), &bytes])?;
                pos += bytes.len() as i64;
            }
        }
        tx.commit()?;
        latencies.push(t.elapsed());
        committed += batch;
    }
    let elapsed = began.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Ok(Run { per_sec: committed as f64 / elapsed, p50: at(0.5), p99: at(0.99) })
}

fn median_run(runs: &[Run]) -> Run {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let secs = |f: fn(&Run) -> Duration| {
        Duration::from_secs_f64(median(runs.iter().map(|r| f(r).as_secs_f64()).collect()))
    };
    Run {
        per_sec: median(runs.iter().map(|r| r.per_sec).collect()),
        p50: secs(|r| r.p50),
        p99: secs(|r| r.p99),
    }
}

// ----- 3. a node's start ------------------------------------------------------

/// The whole log as blobs of 2,000 records, read back in order and
/// applied to a `State`, the accounts aside (a node starting with no
/// checkpoint at all: the worst case of "a checkpoint, then the tail").
fn start_up(db: &mut Client, lines: &[String]) -> Result<()> {
    db.batch_execute("TRUNCATE log_blobs")?;
    let mut pos = 0i64;
    let insert = "INSERT INTO log_blobs (pos, epoch, records, bytes) VALUES ($1, 1, $2, $3)";
    for chunk in lines.chunks(2_000) {
        let mut bytes = Vec::new();
        for line in chunk {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        db.execute(insert, &[&pos, &(chunk.len() as i32), &bytes])?;
        pos += bytes.len() as i64;
    }
    let started = Instant::now();
    let mut read = 0u64;
    let mut decoded = 0u64;
    for row in db.query("SELECT bytes FROM log_blobs ORDER BY pos", &[])? {
        let bytes: &[u8] = row.get(0);
        read += bytes.len() as u64;
        for line in std::str::from_utf8(bytes)?.lines() {
            // Decoded, not applied: the accounts are not in this state.
            Record::decode(line)?;
            decoded += 1;
        }
    }
    println!(
        "\nthe whole log read back from the table and decoded: {decoded} records, {:.1} MiB, {:.2} s",
        mib(read),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every record's line in the store's log, in order (segments oldest
/// first, each without its header line).
fn log_lines(dir: &Path) -> Result<Vec<String>> {
    let mut segments: Vec<_> =
        std::fs::read_dir(dir.join("log"))?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    segments.sort();
    let mut lines = Vec::new();
    for segment in segments {
        let text = std::fs::read_to_string(&segment)?;
        lines.extend(text.lines().skip(1).map(str::to_string));
    }
    Ok(lines)
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
