//! A cluster's backup is its database's, with PostgreSQL's own tools, as
//! docs/CLUSTER-OPS.md "Backups" says: `pg_dump` of a running cluster, then
//! `pg_restore` into an empty database, and a node started on it serves
//! what was acknowledged before the dump, with the same identity.

use std::process::Command;
use std::time::Duration;

use super::support;
use super::{register, send_conn};
use support::cluster::Cluster;

#[test]
fn a_pg_dump_of_a_running_cluster_restored_serves_its_history() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    register(&a, "ana");
    register(&a, "bob");
    let mut ana = send_conn(&a, "ana");
    for i in 0..20 {
        assert!(ana.request(&format!("MSG:bob:m{i}:before the dump {i}")).starts_with(&format!("OK:m{i}:")));
    }
    let id = ana.request("SERVER");
    let history = ana.listing("HISTORY:bob:100");
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("wachat.dump");
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&cluster.pg.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    // Written after the dump: the restored cluster has forgotten it.
    assert!(ana.request("MSG:bob:late:after the dump").starts_with("OK:late:"));

    let restored = Cluster::start_empty();
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &restored.pg.url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));
    let b = restored.node("b");
    // The dump holds node a's lease: b takes it once it has run out, as
    // after a leader's crash, and serves from then on.
    support::cluster::eventually("b serves the restored cluster", Duration::from_secs(30), || {
        let mut c = b.send_conn();
        c.send(&format!("LOGIN:ana:{}", super::PW));
        c.send("SERVER");
        c.line_or_none().is_some_and(|l| l == "OK:ana")
            && c.line_or_none().is_some_and(|l| l.starts_with("OK:"))
    });
    let mut ana = send_conn(&b, "ana");
    assert_eq!(ana.request("SERVER"), id, "the same server");
    assert_eq!(
        ana.listing("HISTORY:bob:100"),
        history,
        "every message acknowledged before the dump, once, in order"
    );
}
