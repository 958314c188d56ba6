//! docs/CLUSTER-OPS.md's latency run in CI's reach: two nodes, 100 pairs
//! whose sender and receiver are on different nodes, 20 messages a second
//! each (2,000 msgs/s offered), through `wachat bench` as the document
//! runs it (`examples/cluster_bench.sh` prints the same figures from a
//! release build, in turns with another build).
//!
//! What fails it is a known way to go slow, not a timing close to
//! normal. Its cause, a PostgreSQL connection made and closed for most
//! reads once 16 are busy, is counted: a node's readers share at most 16
//! connections (`cluster/db/pool.rs`), so a run makes at most that many
//! per node, where a pool that opens one a read past its size makes
//! hundreds. Its effect,
//! messages taking hundreds of milliseconds to seconds, is bounded far
//! above what a test build on a busy machine takes (a p50 of 0.8 s was
//! seen with the machine's load average at 20): a p50 of two seconds, a
//! p99 of five. Checked against 304fd22's build, whose pool did open one
//! a read past its size: 384 connections made.

use std::time::Duration;

use super::support::cluster::Cluster;
use super::support::run_wachat_output;

/// Connections a node's readers share (`cluster/db/pool.rs`, `POOL`).
const POOL: i64 = 16;

/// Sessions PostgreSQL has started on the test's database so far.
fn sessions(cluster: &Cluster) -> i64 {
    let mut client = cluster.pg.client();
    let sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()";
    let row = client.query_one(sessions, &[]).unwrap();
    row.get(0)
}

/// `wachat bench` on both nodes; its figures (`--json`).
fn bench(servers: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--server", servers, "--pairs", "100", "--json"];
    all.extend_from_slice(args);
    let out = run_wachat_output("bench", &all, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wachat bench {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("wachat bench --json: {e}: {stdout}"))
}

#[test]
fn two_nodes_at_2000_msgs_a_second_share_their_connections_and_take_no_message_seconds() {
    let cluster = Cluster::start();
    // As docs/CLUSTER-OPS.md runs them: 200 accounts from one address.
    let exempt = ["--exempt", "127.0.0.1"];
    let (a, b) = (cluster.node_with("a", &exempt), cluster.node_with("b", &exempt));
    let servers = format!(
        "127.0.0.1:{}:{},127.0.0.1:{}:{}",
        a.send.port(),
        a.recv.port(),
        b.send.port(),
        b.recv.port()
    );
    bench(&servers, &["--messages", "10"]); // the accounts
    let before = sessions(&cluster);
    let figures = bench(&servers, &["--messages", "60", "--rate", "20"]); // 3 s
    let made = sessions(&cluster) - before;
    let latency = &figures["latency_us"];
    let (p50, p99) = (latency["p50"].as_u64().unwrap(), latency["p99"].as_u64().unwrap());
    println!("2,000 msgs/s on two nodes: p50 {p50} us, p99 {p99} us, {made} connections made; {figures}");
    // Each node's pool, and the connection each `sessions` opens.
    assert!(
        made <= 2 * POOL + 2,
        "{made} PostgreSQL connections made in 3 s by two nodes: a connection per read?"
    );
    assert!(p50 < 2_000_000, "p50 {p50} us: messages take seconds ({made} connections made)");
    assert!(p99 < 5_000_000, "p99 {p99} us: messages take seconds ({made} connections made)");
}
