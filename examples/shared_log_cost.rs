//! What one state machine replicated through a shared log would cost a
//! cluster (issue 54's second shape), measured before choosing it: the
//! cluster would store the single server's own log lines in one
//! PostgreSQL table, each committer taking one global order (an advisory
//! lock) and reading the tail it has not applied before it decides, and
//! every node would hold the whole `State`, rebuilt from that table at a
//! start. For docs/CLUSTER.md ("Why a functional core and not a
//! replicated log").
//!
//! ```sh
//! cargo run --release --features cluster --example shared_log_cost            # ~3.5 min
//! cargo run --release --features cluster --example shared_log_cost -- --quick # ~15 s
//! ```
//!
//! It starts its own PostgreSQL (default settings: every commit waits for
//! its fsync, as a node's do), then:
//!
//! 1. **The records.** Fills a single server's store offline with 1M
//!    messages (`--quick`: 100k; `support/filling.rs`, as `fill_store`)
//!    and takes its log's lines: real records, written by the project's
//!    own encoder (`MSG`, `DELIVERED`, `ACK`, `JOIN`).
//! 2. **Writes under one ordering.** 1, 2 and 4 writer connections (the
//!    nodes) commit batches of 1, 10 and 100 of those lines for a few
//!    seconds each. *One ordering*: each transaction takes
//!    `pg_advisory_xact_lock`, reads the log's rows after the last it
//!    applied (what a node must know before it decides) and decodes them,
//!    then inserts its batch with the next sequence numbers. *Today*: the
//!    same insert, a row lock on the writer's own inbox row, ids from a
//!    PostgreSQL sequence (no global order): the cluster's row locks per
//!    user and room. Each configuration runs the two in turns (ABAB),
//!    on an emptied table; records/s and commit latency p50/p99, medians.
//! 3. **Start-up and memory.** Copies the whole log into the table, then,
//!    each in a fresh process and in turns: the single server's start
//!    (`LocalStore::open`: its checkpoint and the log after it), the
//!    whole flat log replayed into a `State`, and the whole table read in
//!    sequence order and replayed into a `State` with the same code
//!    (`State::load`), which is what a node of the replicated design does
//!    without a snapshot of its own. Time and RSS, medians.

use std::path::Path;
use std::process::Command;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use wachat::store::disk::RealDisk;
use wachat::store::users::load_users;
use wachat::store::{LocalStore, Record, State, StoreOptions};

#[path = "support/filling.rs"]
mod filling;
#[path = "support/postgres.rs"]
mod postgres_of_our_own;

use postgres_of_our_own::Postgres;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Writer connections: the nodes that commit at once.
const NODES: [usize; 3] = [1, 2, 4];
/// Records per transaction: a node's committer batches what arrived
/// meanwhile (one message; a burst; a pipelining client).
const BATCHES: [usize; 3] = [1, 10, 100];
/// The advisory lock's key: the one ordering.
const ORDER_LOCK: i64 = 54;

const SCHEMA: &str = "
    CREATE TABLE log (seq int8 PRIMARY KEY, line text NOT NULL);
    CREATE TABLE log_today (id bigserial PRIMARY KEY, line text NOT NULL);
    CREATE TABLE inboxes (id int4 PRIMARY KEY);
    INSERT INTO inboxes SELECT generate_series(0, 15);";

/// How big and how long.
struct Plan {
    messages: usize,
    /// Seconds each write configuration runs.
    seconds: f64,
    /// Turns of each measurement (ABAB), medians over them.
    rounds: usize,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(which) = args.first().and_then(|a| a.strip_prefix("--child=")) {
        return child(which, &args[1..]);
    }
    let plan = if args.iter().any(|a| a == "--quick") {
        Plan { messages: 100_000, seconds: 0.5, rounds: 1 }
    } else {
        Plan { messages: 1_000_000, seconds: 3.0, rounds: 3 }
    };
    println!("load average before: {}", load_average());
    let data = tempfile::tempdir()?;
    let started = Instant::now();
    let sent = filling::fill(data.path(), plan.messages)?;
    let lines = log_lines(data.path())?;
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "the single server's log: {sent} messages, {} records, {:.1} MiB, {:.0} bytes a record (filled in {:.1} s)",
        lines.len(),
        mib(bytes as u64),
        bytes as f64 / lines.len() as f64,
        started.elapsed().as_secs_f64()
    );
    let pg = Postgres::start()?;
    let mut db = Client::connect(&pg.url, NoTls)?;
    db.batch_execute(SCHEMA)?;
    writes(&pg.url, &mut db, &lines, &plan)?;
    start_up(&pg.url, &mut db, data.path(), &lines, &plan)?;
    println!("load average after: {}", load_average());
    Ok(())
}

// ----- 2. writes under one ordering ---------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Advisory lock, tail read, consecutive sequence numbers.
    OneOrdering,
    /// A row lock of the writer's own, ids from a sequence.
    Today,
}

/// One run's figures.
struct Run {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn writes(url: &str, db: &mut Client, lines: &[String], plan: &Plan) -> Result<()> {
    println!(
        "\nwrites, {} s a run, {} run(s) each in turns, medians:\n\
         | nodes | batch | one ordering: records/s | p50 | p99 | today: records/s | p50 | p99 | ordering costs |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        plan.seconds, plan.rounds
    );
    for nodes in NODES {
        for batch in BATCHES {
            let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..plan.rounds {
                for (i, mode) in [Mode::OneOrdering, Mode::Today].into_iter().enumerate() {
                    db.batch_execute("TRUNCATE log, log_today")?;
                    runs[i].push(write_run(url, lines, nodes, batch, mode, plan.seconds)?);
                }
            }
            let [ordered, today] = runs.map(|r| median_run(&r));
            println!(
                "| {nodes} | {batch} | {:.0} | {} | {} | {:.0} | {} | {} | {:.0} % |",
                ordered.per_sec,
                ms(ordered.p50),
                ms(ordered.p99),
                today.per_sec,
                ms(today.p50),
                ms(today.p99),
                100.0 * (1.0 - ordered.per_sec / today.per_sec)
            );
        }
    }
    Ok(())
}

/// `nodes` writers commit batches of `batch` records for `seconds`.
fn write_run(
    url: &str,
    lines: &[String],
    nodes: usize,
    batch: usize,
    mode: Mode,
    seconds: f64,
) -> Result<Run> {
    let start = Barrier::new(nodes);
    // A thread's error goes back as its text: a boxed error is not `Send`.
    let results: Vec<std::result::Result<(usize, Vec<Duration>), String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..nodes)
            .map(|node| {
                let start = &start;
                s.spawn(move || {
                    let client = Client::connect(url, NoTls).map_err(|e| e.to_string());
                    start.wait(); // every writer passes it, connected or not
                    let length = Duration::from_secs_f64(seconds);
                    writer(&mut client?, lines, node, batch, mode, length).map_err(|e| e.to_string())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err("a writer panicked".into()))).collect()
    });
    let (mut records, mut latencies) = (0, Vec::new());
    for result in results {
        let (n, l) = result?;
        records += n;
        latencies.extend(l);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Ok(Run { per_sec: records as f64 / seconds, p50: at(0.5), p99: at(0.99) })
}

/// One node's committer: transactions until `length` is over. Returns
/// the records it committed and each commit's latency.
fn writer(
    client: &mut Client,
    lines: &[String],
    node: usize,
    batch: usize,
    mode: Mode,
    length: Duration,
) -> Result<(usize, Vec<Duration>)> {
    let tail = client.prepare("SELECT seq, line FROM log WHERE seq > $1 ORDER BY seq")?;
    let ordered =
        client.prepare("INSERT INTO log (seq, line) SELECT * FROM unnest($1::int8[], $2::text[])")?;
    let today = client.prepare("INSERT INTO log_today (line) SELECT * FROM unnest($1::text[])")?;
    let inbox = client.prepare("SELECT 1 FROM inboxes WHERE id = $1 FOR UPDATE")?;
    let (mut applied, mut committed, mut latencies) = (0i64, 0, Vec::new());
    let mut cursor = node * 7919;
    let began = Instant::now();
    while began.elapsed() < length {
        let texts: Vec<&str> = (0..batch).map(|k| lines[(cursor + k) % lines.len()].as_str()).collect();
        cursor += batch;
        let t = Instant::now();
        let mut tx = client.transaction()?;
        match mode {
            Mode::OneOrdering => {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ORDER_LOCK])?;
                for row in tx.query(&tail, &[&applied])? {
                    Record::decode(row.get(1))?;
                    applied = row.get(0);
                }
                let seqs: Vec<i64> = (applied + 1..=applied + batch as i64).collect();
                tx.execute(&ordered, &[&seqs, &texts])?;
                applied += batch as i64;
            }
            Mode::Today => {
                tx.query(&inbox, &[&(node as i32)])?;
                tx.execute(&today, &[&texts])?;
            }
        }
        tx.commit()?;
        latencies.push(t.elapsed());
        committed += batch;
    }
    Ok((committed, latencies))
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

// ----- 3. start-up and memory ---------------------------------------------

fn start_up(url: &str, db: &mut Client, dir: &Path, lines: &[String], plan: &Plan) -> Result<()> {
    db.batch_execute("TRUNCATE log, log_today")?;
    let copying = Instant::now();
    let mut copy = db.copy_in("COPY log (seq, line) FROM STDIN")?;
    let mut row = String::new();
    for (seq, line) in lines.iter().enumerate() {
        row.clear();
        row.push_str(&format!("{}\t", seq + 1));
        // COPY's text format: a backslash and a tab are escaped.
        row.push_str(&line.replace('\\', "\\\\").replace('\t', "\\t"));
        row.push('\n');
        std::io::Write::write_all(&mut copy, row.as_bytes())?;
    }
    copy.finish()?;
    db.batch_execute("VACUUM ANALYZE log")?;
    let size: i64 = db.query_one("SELECT pg_total_relation_size('log')", &[])?.get(0);
    println!(
        "\nthe whole log copied into the table in {:.1} s: {:.1} MiB in PostgreSQL (index included)",
        copying.elapsed().as_secs_f64(),
        mib(size as u64)
    );
    let ways = [
        (
            "the single server's start (its checkpoint; no log after it here)",
            vec!["--child=open".to_string(), path(dir)],
        ),
        ("the whole flat log replayed into a State", vec!["--child=file".to_string(), path(dir)]),
        (
            "the whole table replayed into a State (a node)",
            vec!["--child=table".into(), path(dir), url.into()],
        ),
    ];
    let mut figures: Vec<Vec<[f64; 3]>> = vec![Vec::new(); ways.len()];
    for _ in 0..plan.rounds {
        for (i, (_, args)) in ways.iter().enumerate() {
            let output = Command::new(std::env::current_exe()?).args(args).output()?;
            if !output.status.success() {
                return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
            }
            let text = String::from_utf8(output.stdout)?;
            let numbers: Vec<f64> =
                text.split_whitespace().map(str::parse).collect::<std::result::Result<_, _>>()?;
            figures[i].push(numbers.try_into().map_err(|_| format!("{args:?} printed {text:?}"))?);
        }
    }
    println!(
        "start-up, each in a fresh process, {} run(s) in turns, medians:\n\
         | how | records replayed | time | RSS after |\n|---|---:|---:|---:|",
        plan.rounds
    );
    for ((what, _), runs) in ways.iter().zip(figures) {
        let median = |i: usize| {
            let mut v: Vec<f64> = runs.iter().map(|r| r[i]).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!("| {what} | {:.0} | {:.2} s | {:.1} MiB |", median(0), median(1), median(2));
    }
    Ok(())
}

/// A measurement in a process of its own (the parent's memory must not
/// count): prints the records replayed, the seconds and the RSS in MiB.
fn child(which: &str, args: &[String]) -> Result<()> {
    let dir = Path::new(args.first().ok_or("a data directory")?);
    let started = Instant::now();
    let (replayed, kept): (u64, Box<dyn std::any::Any>) = match which {
        "open" => {
            let options = StoreOptions { report: false, ..StoreOptions::default() };
            let store = LocalStore::open(dir, options, Box::new(|_| {}))?;
            (0, Box::new(store))
        }
        "file" => {
            let mut state = accounts(dir)?;
            let mut replayed = 0;
            // Line by line, as `Log::scan` does: the log is never all in memory.
            for segment in segments(dir)? {
                let reader = std::io::BufReader::new(std::fs::File::open(segment)?);
                for line in std::io::BufRead::lines(reader).skip(1) {
                    replay(&mut state, &line?)?;
                    replayed += 1;
                }
            }
            (replayed, Box::new(state))
        }
        "table" => {
            let mut state = accounts(dir)?;
            let url = args.get(1).ok_or("a database")?;
            let mut db = Client::connect(url, NoTls)?;
            let mut replayed = 0;
            let rows = db.query_raw("SELECT line FROM log ORDER BY seq", std::iter::empty::<i64>())?;
            for row in postgres::fallible_iterator::FallibleIterator::iterator(rows) {
                replay(&mut state, row?.get(0))?;
                replayed += 1;
            }
            (replayed, Box::new(state))
        }
        other => return Err(format!("unknown measurement {other:?}").into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    let rss = wachat::sys::process::rss_bytes(std::process::id()).unwrap_or(0);
    println!("{replayed} {seconds} {}", mib(rss));
    drop(kept);
    Ok(())
}

/// The accounts of `users.csv` (a node of the replicated design would
/// have them from the table too; 200 rows here).
fn accounts(dir: &Path) -> Result<State> {
    let mut state = State::default();
    load_users(&RealDisk, dir, &mut state)?;
    Ok(state)
}

/// Applies one line at the state's end, as `LocalStore::open` does.
fn replay(state: &mut State, line: &str) -> Result<()> {
    let record = Record::decode(line)?;
    let end = state.end;
    state.load(end, line.len() as u64 + 1, &record)?;
    Ok(())
}

/// Every record's line in the store's log, in order (segments oldest
/// first, each without its header line).
fn log_lines(dir: &Path) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for segment in segments(dir)? {
        let text = std::fs::read_to_string(&segment)?;
        lines.extend(text.lines().skip(1).map(str::to_string));
    }
    Ok(lines)
}

/// The log's segment files, oldest first (their names are positions).
fn segments(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir.join("log"))?;
    let mut segments: Vec<_> = entries.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    segments.sort();
    Ok(segments)
}

fn path(dir: &Path) -> String {
    dir.display().to_string()
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
