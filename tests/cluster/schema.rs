//! The schema: a single server's data moved in (`wachat migrate`), an
//! older schema upgraded with what it holds, a newer one refused.

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::{self, TestServer, without_ts};
use super::{PW, recv_conn, register, send_conn, wachat};

#[test]
fn a_single_servers_data_moves_into_a_cluster_whole() {
    // The single server: accounts, a room, direct messages read and not,
    // an inbox left unacknowledged, a last-seen time.
    let single = TestServer::start();
    for user in ["ana", "bob", "cy"] {
        register(&single, user);
    }
    let mut ana = single.login_send("ana", PW);
    let mut bob = single.login_send("bob", PW);
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    for i in 0..3 {
        assert!(ana.request(&format!("MSG:bob:d{i}:direct {i}")).starts_with("OK:"));
    }
    assert!(bob.request("MSG:#tea:r1:to the room").starts_with("OK:"));
    let mut bob_recv = single.login_recv("bob", PW);
    for _ in 0..3 {
        bob_recv.next_event();
    }
    bob_recv.send("ACK:2");
    // An ACK has no reply: wait until it is stored (d1 DELIVERED), or the
    // picture taken below may be from before it and the cluster's after.
    eventually("bob's ACK:2 stored", Duration::from_secs(10), || {
        ana.listing("HISTORY:bob:10").iter().any(|l| l.contains(":d1:") && l.contains(":DELIVERED:"))
    });
    assert_eq!(bob.request("READ:ana:d0"), "OK");
    assert!(ana.request("MSG:cy:c1:for cy, offline").starts_with("OK:"));
    let before: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| single.login_send("ana", PW).listing(r))
        .collect();
    let bob_chats = bob.listing("CHATS");
    drop(bob_recv);
    eventually("bob's last seen", Duration::from_secs(10), || {
        !ana.request("LASTSEEN:bob").ends_with("ONLINE")
    });
    let seen = ana.request("LASTSEEN:bob");
    let id = ana.request("SERVER");
    drop((ana, bob));
    let mut single = single;
    assert!(single.terminate().success());

    let cluster = Cluster::start();
    // Node a runs before the migration, while the database still has the
    // id it was made with: it must answer the one the migration copies.
    let a = cluster.node("a");
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("messages: 5 in"), "{}", moved.stdout);
    let again = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(!again.status.success() && again.stderr.contains("accounts already"), "{}", again.stderr);

    let b = cluster.node("b");
    let after: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| send_conn(&b, "ana").listing(r))
        .collect();
    assert_eq!(after, before);
    assert_eq!(send_conn(&a, "bob").listing("CHATS"), bob_chats);
    assert_eq!(send_conn(&a, "ana").request("LASTSEEN:bob"), seen);
    // The same chat, the same identity: clients keep their folders.
    assert_eq!(send_conn(&b, "ana").request("SERVER"), id);
    assert_eq!(send_conn(&a, "ana").request("SERVER"), id, "a node started before the migration");
    // Inboxes go on where they were: bob gets what he did not acknowledge,
    // cy her message, with the numbers they had; new ones follow.
    let mut bob_recv = recv_conn(&a, "bob");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:3:ana:bob:d2:<ts>:direct 2");
    let mut cy_recv = recv_conn(&b, "cy");
    assert_eq!(without_ts(&cy_recv.next_event()), "MSG:1:ana:cy:c1:<ts>:for cy, offline");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:d3:after").starts_with("OK:d3:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:4:ana:bob:d3:<ts>:after");
    // A resend of a migrated message is recognised.
    assert!(ana.request("MSG:bob:d2:again").starts_with("OK:d2:"));
    assert_eq!(send_conn(&b, "bob").listing("HISTORY:ana:10").len(), 4);
}

/// A database a node of schema version 1 left (every event a row of its
/// own) is upgraded at start: unacknowledged messages and statuses come
/// with their numbers, new ones follow, marks and history are kept.
#[test]
fn a_database_at_schema_version_1_is_upgraded_with_its_inboxes() {
    let cluster = Cluster::start_empty();
    let mut pg = cluster.pg.client();
    pg.batch_execute(include_str!("../../src/cluster/migrations/001_initial.sql")).unwrap();
    pg.batch_execute(
        "CREATE TABLE wachat_schema (version integer NOT NULL); INSERT INTO wachat_schema VALUES (1)",
    )
    .unwrap();
    let hash = wachat::store::password::Hasher::new(8).unwrap().hash(PW).unwrap();
    // ana (1) sent bob (2) three messages; bob acknowledged the first,
    // which gave ana a DELIVERED (her event 1); bob has 2 and 3 to come.
    pg.execute(
        "INSERT INTO users (id, name, folded, hash, created_ms) VALUES (1, 'ana', 'ana', $1, 0), (2, 'bob', 'bob', $1, 0)",
        &[&hash],
    )
    .unwrap();
    pg.batch_execute(
        "SELECT setval('users_id_seq', 2); \
         INSERT INTO sessions (user_id) VALUES (1), (2); \
         INSERT INTO inboxes VALUES (1, 1, 0, 3), (2, 3, 1, 0); \
         INSERT INTO directions VALUES (1, 2, 3, 1, 0, 3); \
         INSERT INTO messages SELECT i, 1, i - 1, 2, NULL, i - 1, 'd' || (i - 1), 1000 + i, 'ana', 'bob', 'text ' || (i - 1) \
             FROM generate_series(1, 3) AS i; \
         SELECT setval('messages_id_seq', 3); \
         INSERT INTO events VALUES (2, 2, 2, 0, 1002), (2, 3, 3, 0, 1003), (1, 1, 1, 1, 5000);",
    )
    .unwrap();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let version: i32 = pg.query_one("SELECT version FROM wachat_schema", &[]).unwrap().get(0);
    assert!(version > 1);
    let mut bob_recv = recv_conn(&b, "bob");
    assert_eq!(bob_recv.next_event(), "MSG:2:ana:bob:d1:1002:text 1");
    assert_eq!(bob_recv.next_event(), "MSG:3:ana:bob:d2:1003:text 2");
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(ana_recv.next_event(), "STATUS:1:bob:d0:DELIVERED:5000");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:d3:after").starts_with("OK:d3:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:4:ana:bob:d3:<ts>:after");
    // A resend of an old message is still recognised.
    assert_eq!(ana.request("MSG:bob:d1:again"), "OK:d1:1002");
    bob_recv.send("ACK:4");
    for (seq, id) in [(2, "d1"), (3, "d2"), (4, "d3")] {
        assert_eq!(without_ts(&ana_recv.next_event()), format!("STATUS:{seq}:bob:{id}:DELIVERED:<ts>"));
    }
    let history = send_conn(&b, "bob").listing("HISTORY:ana:10");
    assert_eq!(history[0], "ana:bob:d0:1001:DELIVERED:text 0");
    assert_eq!(history.len(), 4);
}

#[test]
fn a_node_refuses_a_schema_newer_than_it_knows() {
    let cluster = Cluster::start();
    drop(cluster.node("a")); // creates the schema
    cluster.pg.client().batch_execute("UPDATE wachat_schema SET version = 999").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(support::wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--data-dir"])
        .arg(data.path())
        .args(["--store", &cluster.pg.url, "--bus", &cluster.nats.url])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = support::wait_with_timeout(&mut child, support::READ_TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("schema is version 999, newer than this wachat knows"), "{stderr}");
}

/// Version 17: an empty live room that a refused `JOIN` left before
/// (issue 54) is taken back, so it is no room, as on a single server, and
/// its name's next `JOIN` makes a room of the joiner's own spelling.
#[test]
fn schema_17_takes_back_the_empty_rooms_a_refused_join_left() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    register(&a, "ana");
    a.kill();
    // The database as version 16 could leave it: a live room nobody is in.
    let mut pg = cluster.pg.client();
    pg.batch_execute(
        "INSERT INTO rooms (name, folded) VALUES ('#Ghost', 'ghost'); \
         UPDATE wachat_schema SET version = 16;",
    )
    .unwrap();
    let b = cluster.node("b");
    let mut ana = send_conn(&b, "ana");
    assert_eq!(ana.request("ROOMINFO:#ghost"), "KO:NOT_MEMBER:no room named #ghost");
    assert_eq!(ana.request("JOIN:#ghost"), "OK");
    assert_eq!(ana.listing("ROOMINFO:#ghost")[..2], ["ROOM:#ghost", "OWNER:ana"]);
}

/// Version 18: the messages that carry a file are numbered in the order
/// they are stored (issue 54), and `FILES` lists them so from then on.
#[test]
fn schema_18_numbers_the_messages_that_carry_a_file() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    for user in ["ana", "bob"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    let id = support::files::upload(&mut ana, "notes.txt", b"hello");
    for msg in ["f1", "f2"] {
        assert!(ana.request(&format!("FILE:bob:{msg}:{id}:")).starts_with(&format!("OK:{msg}:")));
    }
    drop(ana);
    a.kill();
    // The database as version 17 left it: no number.
    let mut pg = cluster.pg.client();
    pg.batch_execute(
        "ALTER TABLE file_carriers DROP COLUMN attached; UPDATE wachat_schema SET version = 17;",
    )
    .unwrap();
    let b = cluster.node("b");
    let numbered: i64 = pg.query_one("SELECT count(attached) FROM file_carriers", &[]).unwrap().get(0);
    assert_eq!(numbered, 2);
    let mut ana = send_conn(&b, "ana");
    assert!(ana.request(&format!("FILE:bob:f3:{id}:")).starts_with("OK:f3:"));
    let messages: Vec<String> =
        ana.listing("FILES").iter().map(|l| l.rsplit(':').nth(1).unwrap().to_string()).collect();
    assert_eq!(messages, ["f1", "f2", "f3"]);
}
