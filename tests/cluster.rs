//! Two (or three) `wachat serve` nodes on one PostgreSQL,
//! each test with a database of its own (`tests/support/cluster.rs`):
//! whatever node a client uses, it sees one chat. Built with `--features
//! cluster` only.
//!
//! A cluster is the single server replicated (`store::shared_log`): what
//! a request means is tested once, on a single server; here, what only a
//! cluster does. One test binary, its tests by topic in `tests/cluster/`:
//! `client.rs` (the PostgreSQL client of the nodes),
//! `chat.rs` (messages, rooms, statuses, sessions and presence across
//! nodes), `devices.rs` (several devices of one user), `accounts.rs` (a
//! new password on every node), `history.rs` (`HISTORY` a page at a time,
//! 1.2, read on any node: nothing of the cluster's own), `people.rs`
//! (`PEOPLE`, 1.2), `receipts.rs` (a room message's ticks and receipts, 1.2), `calls.rs` (calls across nodes, 1.2), `checkpoints.rs`
//! (a node's start from the cluster's checkpoint, the log trimmed), `durable.rs`
//! (an `OK` survives PostgreSQL crashing), `failures.rs` (a node
//! killed, PostgreSQL down, a node of the list down, the node links cut
//! or a follower restarted: its clients connect again; a node or `wachat
//! users` started before PostgreSQL is up, or with the first host of
//! `--store` frozen), `lease.rs`
//! (who leads: nodes started at once, a lease run out or let go),
//! `links.rs` (the node links: TLS where the client ports have it, a link
//! that cannot prove it is a node refused),
//! `federation.rs` (a cluster as one server of the class network, 1.3),
//! `network_browser.rs` (the browser on a follower of a cluster linked to
//! a single server: a message, photos, a reply, a bounce), `schema.rs`
//! (migrations, `wachat migrate`), `differential.rs` (random scripts
//! against a single server and a cluster: the same replies and state),
//! `latency.rs` (docs/CLUSTER-OPS.md's run at 2,000 msgs/s: no connection
//! per read, no message taking seconds), `teacher.rs` (`wachat users …
//! --store` while the nodes run; a node's directory refused),
//! `browser.rs` (the browser app on a follower: a chat, coming back to
//! it, calls across nodes).
//! Also `files.rs` (photos and files on two nodes), `chaos.rs` (`wachat
//! chaos` against two nodes under faults) and `ha.rs` (a pg_auto_failover
//! formation: no single point of failure).
#![cfg(feature = "cluster")]

mod support;

#[path = "cluster/accounts.rs"]
mod accounts;
#[path = "cluster/backup.rs"]
mod backup;
#[path = "cluster/browser.rs"]
mod browser;
#[path = "cluster/calls.rs"]
mod calls;
#[path = "cluster/chaos.rs"]
mod chaos;
#[path = "cluster/chat.rs"]
mod chat;
#[path = "cluster/checkpoints.rs"]
mod checkpoints;
#[path = "cluster/client.rs"]
mod client;
#[path = "cluster/devices.rs"]
mod devices;
#[path = "cluster/differential.rs"]
mod differential;
#[path = "cluster/durable.rs"]
mod durable;
#[path = "cluster/failures.rs"]
mod failures;
#[path = "cluster/federation.rs"]
mod federation;
#[path = "cluster/files.rs"]
mod files;
#[path = "cluster/ha.rs"]
mod ha;
#[path = "cluster/history.rs"]
mod history;
#[path = "cluster/latency.rs"]
mod latency;
#[path = "cluster/lease.rs"]
mod lease;
#[path = "cluster/links.rs"]
mod links;
#[path = "cluster/network_browser.rs"]
mod network_browser;
#[path = "cluster/people.rs"]
mod people;
#[path = "cluster/receipts.rs"]
mod receipts;
#[path = "cluster/schema.rs"]
mod schema;
#[path = "cluster/teacher.rs"]
mod teacher;

use support::{Conn, TestServer};

const PW: &str = "password1";

fn register(node: &TestServer, user: &str) {
    let mut c = node.send_conn();
    assert_eq!(c.request(&format!("REGISTER:{user}::{PW}")), format!("OK:{user}"));
}

fn send_conn(node: &TestServer, user: &str) -> Conn {
    node.login_send(user, PW)
}

fn recv_conn(node: &TestServer, user: &str) -> Conn {
    node.login_recv(user, PW)
}

/// The next `JOINED`/`LEFT`, answering `PING`s on the way.
fn next_presence(c: &mut Conn) -> String {
    loop {
        let line = c.line();
        match line.as_str() {
            "PING" => c.send("PONG"),
            l if l.starts_with("JOINED:") || l.starts_with("LEFT:") => return line,
            _ => {}
        }
    }
}

/// A send connection of `user` on `node` once the node takes requests
/// again (after its leader was killed, or once it knows where the new
/// one is): as a client does, it connects again until a
/// `PING` is answered (docs/CLUSTER.md, "Failover, step by step").
fn once_it_serves(node: &TestServer, user: &str, password: &str) -> Conn {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut c = node.send_conn();
        c.send(&format!("LOGIN:{user}:{password}"));
        if c.line_or_none() == Some(format!("OK:{user}")) {
            c.send("PING");
            if c.line_or_none().as_deref() == Some("OK") {
                return c;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the node took no request within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(200)); // a client's back-off
    }
}

/// A receive connection of `user` on `node`, logged in once the node
/// takes logins again (the leader it passes clients to may be dead, or
/// not known yet), trying again as a client does.
fn recv_once_it_serves(node: &TestServer, user: &str) -> Conn {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut c = node.recv_conn();
        c.send(&format!("LOGIN:{user}:{PW}"));
        let said = c.line_or_none();
        if said == Some(format!("OK:{user}")) {
            return c;
        }
        // No reply: the link to the leader broke as it opened.
        assert!(said.as_ref().is_none_or(|said| said.starts_with("KO:UNAVAILABLE:")), "{said:?}");
        assert!(std::time::Instant::now() < deadline, "the node took no login within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(200)); // a client's back-off
    }
}

/// `wachat migrate` of the single server `single`, stopped first, into a
/// new cluster's database: the cluster, and what the command printed.
fn migrated(single: &mut TestServer) -> (support::cluster::Cluster, String) {
    assert!(single.terminate().success());
    let cluster = support::cluster::Cluster::start();
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    (cluster, moved.stdout)
}

/// Every record of the cluster's shared log, in order (`cluster::log`):
/// what the leader stored, as a single server's log holds it.
fn logged(cluster: &support::cluster::Cluster) -> Vec<wachat::store::Record> {
    let mut records = Vec::new();
    for row in cluster.pg.client().query("SELECT records FROM log ORDER BY pos", &[]).unwrap() {
        let bytes: Vec<u8> = row.get(0);
        for line in String::from_utf8(bytes).unwrap().lines() {
            records.push(wachat::store::Record::decode(line).unwrap());
        }
    }
    records
}

fn wachat(args: &[&str], password: &str) -> support::console::Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    support::console::run_wachat(&args, password, "")
}
