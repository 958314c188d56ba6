//! A room flood on a cluster: accounts flood a room whose members
//! are mostly offline, through two nodes on one PostgreSQL. A cluster
//! keeps what a single server keeps (`room_flood.rs`: each node's copy of
//! the log, its inboxes in memory), plus the shared log's rows in
//! PostgreSQL: one row per batch of the leader's group commit, whatever
//! the number of offline members (a room message is one record; who waits
//! for it is each node's state). This prints the log's rows and bytes,
//! the tables' sizes on disk, each node's copy on its disk and its RSS,
//! before and after the flood, and checks that an offline member's replay
//! on the follower is complete and in order. For docs/RELIABILITY.md.
//!
//! ```sh
//! cargo build --release --features cluster
//! cargo run --release --features cluster --example room_flood_cluster -- 20   # seconds (default 20)
//! ```
//!
//! It starts its own PostgreSQL (`initdb` in a temporary directory, under
//! `runuser -u postgres` as root) on a free port, and two
//! `wachat serve` nodes (the binary next to this example, or `WACHAT_BIN`):
//! 200 members in `#flood`, 20 flood it (10 on each node, pipelined), 10
//! read and acknowledge (5 on each node); the other 190 stay offline.

use std::net::SocketAddr;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/flooding.rs"]
mod flooding;
#[path = "support/line_conn.rs"]
mod line_conn;
#[path = "support/postgres.rs"]
mod postgres_of_our_own;

use flooding::{flood, read_and_ack};
use line_conn::{Conn, Result, spawn_serve};
use postgres_of_our_own::Postgres;
use wachat::cluster::db::postgres;

const MEMBERS: usize = 200;
const FLOODERS: usize = 20;
const ONLINE: usize = 10;
fn main() -> Result<()> {
    let secs: u64 = std::env::args().nth(1).map_or(Ok(20), |s| s.parse())?;
    let pg = Postgres::start()?;
    let nodes = [Node::start(&pg.url, "a")?, Node::start(&pg.url, "b")?];
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let mut setup = Conn::connect(nodes[i % 2].send)?;
        expect_ok(setup.request(&format!("REGISTER:{name}::password-{name}"))?)?;
        expect_ok(setup.request("JOIN:#flood")?)?;
    }
    let mut db = postgres::Client::connect(&pg.url)?;
    println!("{MEMBERS} members in #flood on two nodes, {FLOODERS} flood it, {} offline", MEMBERS - ONLINE);
    report(&mut db, &nodes, "before the flood")?;

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for (i, name) in names.iter().take(ONLINE).enumerate() {
        let mut recv = Conn::connect(nodes[i % 2].recv)?;
        expect_ok(recv.request(&format!("LOGIN:{name}:password-{name}"))?)?;
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || read_and_ack(recv, &stop).is_ok()));
    }
    let started = Instant::now();
    for (i, name) in names.iter().take(FLOODERS).enumerate() {
        let mut send = Conn::connect(nodes[i % 2].send)?;
        expect_ok(send.request(&format!("LOGIN:{name}:password-{name}"))?)?;
        let (stop, sent) = (stop.clone(), sent.clone());
        threads.push(std::thread::spawn(move || flood(send, i, &stop, &sent).is_ok()));
    }
    let mut peak = [0f64; 2];
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(250)); // sampling the RSS
        for (p, node) in peak.iter_mut().zip(&nodes) {
            *p = p.max(node.rss_mib());
        }
    }
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        let _ = thread.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = sent.load(Ordering::SeqCst);
    println!("flood: {total} room messages in {elapsed:.1} s ({:.0}/s)", total as f64 / elapsed);
    println!("RSS during the flood: peak {:.0} MiB (node a), {:.0} MiB (node b)", peak[0], peak[1]);
    report(&mut db, &nodes, "after the flood")?;

    // An offline member gets every message, numbered 1..=total, on node b.
    let last = &names[MEMBERS - 1];
    let mut recv = Conn::connect(nodes[1].recv)?;
    let replay = Instant::now();
    expect_ok(recv.request(&format!("LOGIN:{last}:password-{last}"))?)?;
    let mut seq = 0;
    while seq < total {
        let line = recv.line()?;
        if let Some(rest) = line.strip_prefix("MSG:") {
            let n: u64 = rest.split(':').next().unwrap_or("").parse()?;
            if n != seq + 1 {
                return Err(format!("offline member: event {n} after {seq}").into());
            }
            seq = n;
        } else if line == "PING" {
            recv.send("PONG\n")?;
        }
    }
    println!(
        "an offline member's replay: {seq} events, in order, in {:.1} s; node b's RSS after it {:.0} MiB",
        replay.elapsed().as_secs_f64(),
        nodes[1].rss_mib()
    );
    Ok(())
}

/// The shared log's rows and sizes in PostgreSQL, and each node's copy
/// and RSS.
fn report(db: &mut postgres::Client, nodes: &[Node; 2], when: &str) -> Result<()> {
    db.batch_execute("VACUUM ANALYZE log")?; // sizes without dead rows' pages still counted
    let row = db.query_one(
        "SELECT count(*), coalesce(sum(octet_length(records)), 0)::int8, pg_total_relation_size('log'), \
                pg_total_relation_size('log_archive'), pg_database_size(current_database()) FROM log",
        &[],
    )?;
    let (rows, bytes, table, archive, database): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    let mib = |b: i64| b as f64 / (1 << 20) as f64;
    println!(
        "{when}: the shared log {rows} rows holding {:.1} MiB of records, its table {:.1} MiB, \
         the archive {:.1} MiB, the database {:.1} MiB; each node's copy {:.1} MiB (a), {:.1} MiB (b); \
         RSS {:.0} MiB (a), {:.0} MiB (b)",
        mib(bytes),
        mib(table),
        mib(archive),
        mib(database),
        mib(nodes[0].copy_bytes()),
        mib(nodes[1].copy_bytes()),
        nodes[0].rss_mib(),
        nodes[1].rss_mib()
    );
    Ok(())
}

fn expect_ok(reply: String) -> Result<()> {
    if reply.starts_with("OK") { Ok(()) } else { Err(reply.into()) }
}

/// A `wachat serve --store …` node on free ports.
struct Node {
    child: Child,
    /// The node's own data directory: its copy of the log.
    dir: tempfile::TempDir,
    send: SocketAddr,
    recv: SocketAddr,
}

impl Node {
    fn start(store: &str, name: &str) -> Result<Node> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().display().to_string();
        let (child, send, recv) = spawn_serve(&[
            "--store",
            store,
            "--node",
            name,
            "--rate",
            "0",
            "--exempt",
            "127.0.0.1",
            "--data-dir",
            &data,
        ])?;
        Ok(Node { child, dir, send, recv })
    }

    /// Bytes of the node's data directory: its copy of the log, its
    /// checkpoints, its cache of devices.
    fn copy_bytes(&self) -> i64 {
        fn size(path: &std::path::Path) -> u64 {
            let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
            if !meta.is_dir() {
                return meta.len();
            }
            std::fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|e| size(&e.path())).sum())
        }
        i64::try_from(size(self.dir.path())).unwrap_or(i64::MAX)
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
        let kib: f64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
