//! Blocks and chat preferences (protocol 1.2, §22) on a cluster: the
//! session of PROTOCOL.md §22 answered as a single server answers it
//! (tests/chat/prefs.rs plays the same), its device on another node; a block
//! made on one node hides messages sent through another.

use super::support::cluster::Cluster;
use super::{register, send_conn};

#[test]
fn the_session_of_section_21_is_answered_as_on_one_server_across_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    // ana's laptop and bob on node a, ana's phone on node b.
    super::support::prefs::play_section_21(|who| match who {
        "P" => b.recv_conn(),
        _ => a.send_conn(),
    });
    // The block, made on node a, hides what bob sends through node b; and
    // bob sees no presence of ana's.
    let mut ana = a.login_send("ana", "s3cret");
    assert_eq!(ana.request("BLOCK:bob"), "OK");
    let mut bob = b.login_send("bob", "hunter2");
    assert!(bob.request("MSG:ana:b2:still there?").starts_with("OK:b2:"));
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:UNKNOWN");
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
    register(&a, "carl");
    assert!(send_conn(&a, "carl").request("MSG:ana:c1:hi").starts_with("OK:c1:"));
    let mut phone = b.recv_conn();
    assert_eq!(phone.request("LOGIN:ana@phone:s3cret"), "OK:ana");
    let first = phone.next_event();
    assert!(first.starts_with("MSG:1:carl:ana:c1:"), "{first}");
}

#[test]
fn wachat_migrate_carries_blocks_levels_and_pins() {
    let mut single = super::support::TestServer::start();
    for user in ["ana", "bob"] {
        register(&single, user);
    }
    let mut ana = send_conn(&single, "ana");
    for request in ["BLOCK:bob", "PIN:#general", "NOTIFY:bob:mentions"] {
        assert_eq!(ana.request(request), "OK", "{request}");
    }
    let prefs = ana.listing("PREFS");
    drop(ana);
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.listing("BLOCKS"), ["bob"]);
    assert_eq!(ana.listing("PREFS"), prefs);
    assert!(send_conn(&a, "bob").request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
}

/// Issue 54: a database at schema version 13 keeps its blocks and chat
/// preferences in the `blocks` and `prefs` tables of version 10; version
/// 14 moves them into `settings`, where they answer and act as before.
#[test]
fn schema_14_moves_the_blocks_and_preferences_into_the_settings() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    a.kill();
    // The database as version 13 left it, with rows in the old tables.
    let mut pg = cluster.pg.client();
    pg.batch_execute(include_str!("../../src/cluster/migrations/010_prefs.sql")).unwrap();
    pg.batch_execute(
        "DROP INDEX settings_key; \
         INSERT INTO blocks SELECT u.id, b.id FROM users u, users b WHERE u.folded = 'ana' AND b.folded = 'bob'; \
         INSERT INTO prefs SELECT id, '#lab', '#Lab', 'mentions', true FROM users WHERE folded = 'ana'; \
         INSERT INTO prefs SELECT id, 'carl', 'Carl', 'none', false FROM users WHERE folded = 'ana'; \
         UPDATE wachat_schema SET version = 13;",
    )
    .unwrap();
    let b = cluster.node("b");
    let version: i32 = pg.query_one("SELECT version FROM wachat_schema", &[]).unwrap().get(0);
    assert_eq!(version, wachat::cluster::schema::current(), "brought to the newest version");
    let gone: Option<String> = pg.query_one("SELECT to_regclass('blocks')::text", &[]).unwrap().get(0);
    assert_eq!(gone, None, "the old tables go");
    let mut ana = send_conn(&b, "ana");
    assert_eq!(ana.listing("BLOCKS"), ["bob"]);
    assert_eq!(ana.listing("PREFS"), ["#Lab:mentions:pinned", "Carl:none:unpinned"]);
    assert!(send_conn(&b, "bob").request("MSG:ana:b1:hidden").starts_with("OK:b1:"));
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new(), "the block acts");
    assert_eq!(send_conn(&b, "bob").request("LASTSEEN:ana"), "OK:ana:UNKNOWN");
}

/// Issue 54: what other users kept about a deleted account does not
/// apply to the next account of its name (tests/chat/prefs.rs: the same on a
/// single server), its connections on either node.
#[test]
fn a_name_taken_again_is_somebody_else_on_every_node() {
    let cluster = Cluster::start();
    let free = ["--name-quarantine-days", "0"];
    let (a, b) = (cluster.node_with("a", &free), cluster.node_with("b", &free));
    let turn = std::cell::Cell::new(0);
    super::support::prefs::a_name_taken_again_is_somebody_else(|| {
        turn.set(turn.get() + 1);
        if turn.get() % 2 == 0 { a.send_conn() } else { b.send_conn() }
    });
    for node in [&a, &b] {
        let mut ana = node.login_send("ana", super::support::prefs::REUSE_PW);
        super::support::prefs::what_ana_keeps_after_the_reuse(&mut ana);
    }
}

/// Issue 54: whom a user blocked is read one way (`Store::blocked`'s
/// keys, each with the account it names) by the node that tells a user's
/// roommates: ana, coming online on node b, is told to carl on node a and
/// never to bob, beside him, whom she blocked; dan, coming online on b at
/// the same moment, is told to both. (Node a tells the changes that wait
/// together with one read of their users' rooms and blocks; whether
/// these two wait together is the timing's, so `cluster/presence.rs`'s
/// unit test makes sure that one user's block is never taken for
/// another's.)
#[test]
fn a_blocked_user_is_not_told_that_the_blocker_came_online_on_another_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl", "dan"] {
        register(&a, user);
    }
    assert_eq!(send_conn(&a, "ana").request("BLOCK:bob"), "OK");
    let mut bob_recv = super::recv_conn(&a, "bob");
    let mut carl_recv = super::recv_conn(&a, "carl");
    let _on_b = (super::recv_conn(&b, "ana"), super::recv_conn(&b, "dan"));
    let mut heard = std::collections::BTreeSet::new();
    while heard.len() < 2 {
        let line = super::next_presence(&mut carl_recv);
        if line == "JOINED:ana" || line == "JOINED:dan" {
            heard.insert(line);
        }
    }
    // A marker sent after carl heard of both: bob's events up to it.
    assert!(send_conn(&a, "carl").request("MSG:bob:m1:marker").starts_with("OK:m1:"));
    let deadline = std::time::Instant::now() + super::support::EVENT_TIMEOUT;
    let mut told_of_dan = false;
    loop {
        assert!(std::time::Instant::now() < deadline, "no marker for bob");
        let line = bob_recv.line();
        assert_ne!(line, "JOINED:ana", "bob was told of ana, who blocked him");
        match line.as_str() {
            "PING" => bob_recv.send("PONG"),
            "JOINED:dan" => told_of_dan = true,
            l if l.starts_with("MSG:") => break,
            _ => {}
        }
    }
    assert!(told_of_dan, "bob was not told of dan, who blocked nobody");
}

/// Issue 54: a node reads the rooms of the users whose presence it tells
/// together in one query (`cluster/presence.rs`): each user's rooms as
/// `reads::rooms` reads them for that user alone, and nothing past the
/// bound it is given (the node then reads one user at a time, each read
/// bounded by `MAX_ROOMS_PER_USER` × `--presence-limit`).
#[test]
fn the_rooms_of_several_users_are_read_at_once_each_as_alone_and_within_a_bound() {
    use wachat::cluster::db::Db;
    use wachat::cluster::reads;
    let cluster = Cluster::start();
    let a = cluster.node("a");
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    for (user, room) in [("ana", "#tea"), ("bob", "#tea"), ("carl", "#lab")] {
        assert_eq!(send_conn(&a, user).request(&format!("JOIN:{room}")), "OK", "{user}");
    }
    let mut client = cluster.pg.client();
    let mut id = |name: &str| {
        client.query_one("SELECT id FROM users WHERE folded = $1", &[&name]).unwrap().get::<_, i64>(0)
    };
    let users: Vec<usize> = ["ana", "bob", "carl"].into_iter().map(|name| id(name) as usize).collect();
    let db = Db::new(&cluster.pg.url).unwrap();
    let all = reads::rooms_of(&db, &users, 200, usize::MAX).unwrap().expect("no bound");
    for &user in &users {
        assert_eq!(all[&user], reads::rooms(&db, user, 200).unwrap(), "user #{user}");
    }
    // A row per member of each small room of each user.
    let rows: usize = all.values().flatten().map(|(_, members)| members.len().max(1)).sum();
    assert_eq!(rows, 3 + 2 + 3 + 2 + 3 + 1, "#general and #tea for ana and bob, #general and #lab for carl");
    assert!(reads::rooms_of(&db, &users, 200, rows).unwrap().is_some(), "within the bound");
    assert!(reads::rooms_of(&db, &users, 200, rows - 1).unwrap().is_none(), "past the bound: nothing read");
}

/// Issue 54: a block is read in the batch's transaction and is the last
/// check of a direct message, as on a single server (tests/chat/prefs.rs):
/// ana blocks bob on node a, bob's quota runs out on node b, and ana's
/// answer to him is `KO:FULL` as carl's is.
#[test]
fn a_spent_quota_is_full_to_whoever_blocked_you_across_nodes() {
    let cluster = Cluster::start();
    let quota = ["--user-quota", "16KiB"];
    let (a, b) = (cluster.node_with("a", &quota), cluster.node_with("b", &quota));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let (mut ana, mut bob) = (send_conn(&a, "ana"), send_conn(&b, "bob"));
    super::support::prefs::a_spent_quota_is_full_to_whoever_blocked_you(&mut ana, &mut bob);
}
