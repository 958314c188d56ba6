//! A node's start from the cluster's checkpoint (`cluster::checkpoint`):
//! the leader stores its checkpoints in the database and trims the log's
//! rows before the older kept one; a node that joins after that, or
//! comes back with a copy older than the rows left, is made from the
//! newest checkpoint and reads every message, and so does a running
//! follower that missed batches the log no longer holds; a copy recent
//! enough applies only the rows after it; a deposed leader's checkpoint
//! is refused.

use std::path::Path;
use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::{Conn, TestServer};

/// A checkpoint every this many records, so that a few hundred messages
/// make several, and the log is trimmed.
const EVERY: &str = "40";

fn leader(cluster: &Cluster) -> TestServer {
    cluster.node_with("a", &["--checkpoint-records", EVERY])
}

/// `n` messages from `conn` to `to`, ids `<tag><i>`.
fn send(conn: &mut Conn, to: &str, tag: &str, n: usize) {
    for i in 0..n {
        let reply = conn.request(&format!("MSG:{to}:{tag}{i}:{tag} number {i}"));
        assert!(reply.starts_with("OK:"), "{tag}{i}: {reply}");
    }
}

/// The ids of a conversation's `HISTORY`, oldest first, read a page at a time.
fn ids(node: &TestServer, user: &str, chat: &str) -> Vec<String> {
    let mut conn = node.login_send(user, &format!("pw-{user}"));
    let (lines, _) = super::support::paging::read_back(&mut conn, chat, 100);
    lines.iter().map(|line| super::support::paging::who_and_id(line).1).collect()
}

/// How the database's log stands: where its rows begin and end, how many
/// pieces its archive holds, and the newest checkpoint.
fn log_state(cluster: &Cluster) -> (i64, i64, i64, Option<i64>) {
    let row = cluster
        .pg
        .client()
        .query_one(
            "SELECT (SELECT coalesce(min(pos), 0) FROM log),
                    (SELECT coalesce(max(pos + octet_length(records)), 0) FROM log),
                    (SELECT count(*) FROM log_archive),
                    (SELECT max(pos) FROM checkpoints)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// Waits until the log's rows begin after `pos`: what a copy ending
/// there needs is in the archive only.
fn trimmed_past(cluster: &Cluster, pos: i64) {
    eventually("the log's rows trimmed", Duration::from_secs(20), || {
        let (first, _, pieces, _) = log_state(cluster);
        first > pos && pieces > 0
    });
}

/// Every byte of a node's copy of the log.
fn copy_of_log(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir.join("log")).unwrap() {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()));
    }
    all
}

#[test]
fn a_node_joining_after_the_log_was_trimmed_reads_every_message() {
    let cluster = Cluster::start();
    let a = leader(&cluster);
    let [mut ana, mut bob] = a.logged_in(["ana", "bob"]);
    assert!(ana.request("MSG:bob:secret:the launch code is 7741").starts_with("OK:"));
    assert!(ana.request("DELETE:bob:secret").starts_with("OK:"));
    send(&mut ana, "bob", "a", 150);
    send(&mut bob, "ana", "b", 150);
    trimmed_past(&cluster, 0);
    let on_a = ids(&a, "ana", "bob");
    assert_eq!(on_a.len(), 302, "{on_a:?}");

    let b = cluster.node("b");
    b.wait_for_log("copy was made from the checkpoint");
    assert_eq!(ids(&b, "ana", "bob"), on_a, "every message, in order, on the new node");
    assert_eq!(ids(&b, "bob", "ana"), on_a);
    // The deleted text left the new node's copy too (the leader had not
    // erased it yet: its erasure came with the checkpoint).
    eventually("the deleted text erased", Duration::from_secs(10), || {
        !copy_of_log(&b.data_dir).contains("launch code")
    });
    // And the new node goes on: writes through it, reads on both.
    let mut bob_on_b = b.login_send("bob", "pw-bob");
    send(&mut bob_on_b, "ana", "c", 5);
    let on_b = ids(&b, "ana", "bob");
    assert_eq!(on_b.len(), 307);
    assert_eq!(ids(&a, "ana", "bob"), on_b);
}

#[test]
fn a_node_coming_back_applies_the_rows_after_its_copy_or_starts_from_the_checkpoint() {
    let cluster = Cluster::start();
    let a = leader(&cluster);
    let mut b = cluster.restartable_node("b");
    let b_args = cluster.node_args("b", &[]);
    let [mut ana, _bob] = a.logged_in(["ana", "bob"]);
    send(&mut ana, "bob", "a", 60);
    assert_eq!(ids(&b, "ana", "bob").len(), 60);

    // Stopped, then back while the log still has the rows after its copy.
    assert!(b.terminate().success());
    send(&mut ana, "bob", "b", 5);
    b.restart_in_place(&b_args);
    b.wait_for_log("the log's rows after it follow");
    assert!(!b.log().iter().any(|l| l.contains("copy was made")), "{:?}", b.log());
    assert_eq!(ids(&b, "ana", "bob").len(), 65);

    // Stopped again, and the log trimmed past where its copy ends.
    assert!(b.terminate().success());
    let (_, stopped_at, _, _) = log_state(&cluster);
    send(&mut ana, "bob", "c", 200);
    trimmed_past(&cluster, stopped_at);
    b.restart_in_place(&b_args);
    b.wait_for_log("is made again from the checkpoint");
    let on_a = ids(&a, "ana", "bob");
    assert_eq!(on_a.len(), 265);
    assert_eq!(ids(&b, "ana", "bob"), on_a, "every message on the node that came back");
}

#[test]
fn a_checkpoint_of_a_deposed_leader_is_refused() {
    let cluster = Cluster::start();
    let mut a = leader(&cluster);
    let b = cluster.node("b");
    let [mut ana, _bob] = a.logged_in(["ana", "bob"]);
    send(&mut ana, "bob", "a", 100);
    eventually("a checkpoint stored", Duration::from_secs(20), || log_state(&cluster).3.is_some());
    a.kill();
    b.wait_for_log("node b leads (epoch 2");
    let before = log_state(&cluster);

    // What the old leader would store, under its epoch 1: refused.
    let db = wachat::cluster::db::Db::new(&cluster.pg.url).unwrap();
    let mut link = db.connect().unwrap();
    let (_, end, _, newest) = before;
    let state = std::fs::read(
        wachat::store::checkpoint::list(&wachat::store::disk::RealDisk, &a.data_dir)[0].1.clone(),
    )
    .unwrap();
    // At the log's end, and where one is stored already (node a's last,
    // at the end itself if it made one there before it was killed).
    for pos in [end, newest.expect("a checkpoint")] {
        let stored = wachat::cluster::checkpoint::store(&mut link, 1, pos as u64, &state, b"");
        assert!(!stored.unwrap(), "a checkpoint under epoch 1 at {pos} is refused");
    }
    let trimmed = wachat::cluster::checkpoint::trim(&mut link, 1, end as u64);
    assert_eq!(trimmed.unwrap(), None, "and so is a trim");
    assert_eq!(log_state(&cluster), before, "nothing changed");
    let epochs: Vec<i64> = cluster
        .pg
        .client()
        .query("SELECT epoch FROM checkpoints", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(epochs.iter().all(|&e| e == 1), "only the checkpoints epoch 1 stored while it led: {epochs:?}");
}

#[test]
fn a_follower_that_missed_batches_the_log_no_longer_holds_starts_again_from_the_checkpoint() {
    let cluster = Cluster::start_own();
    let a = leader(&cluster);
    let b = cluster.node("b");
    let [mut ana, _bob] = a.logged_in(["ana", "bob"]);
    send(&mut ana, "bob", "a", 30);
    assert_eq!(ids(&b, "ana", "bob").len(), 30);

    // Node b frozen: the batches it did not read are in the log's
    // archive only when it wakes.
    let signal = |which: &str| {
        let status = std::process::Command::new("kill").args([which, &b.pid().to_string()]).status();
        assert!(status.unwrap().success(), "kill {which}");
    };
    signal("-STOP");
    let (_, paused_at, _, _) = log_state(&cluster);
    send(&mut ana, "bob", "b", 200);
    trimmed_past(&cluster, paused_at);
    signal("-CONT");
    b.wait_for_log("is made again from the checkpoint");
    let on_a = ids(&a, "ana", "bob");
    assert_eq!(on_a.len(), 230);
    // What b serves is its own copy once it leads: a killed, b takes over.
    let mut a = a;
    a.kill();
    drop(super::once_it_serves(&b, "ana", "pw-ana"));
    assert_eq!(ids(&b, "ana", "bob"), on_a, "every message on the follower that fell behind");
}
