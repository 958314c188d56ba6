//! A deleted account's name taken again once its quarantine is over
//! (protocol 1.2, §20) in a cluster: the new account keeps the old one's
//! number but sees nothing from before its cut, on every node, while the
//! old account's correspondents keep their whole conversation; and a
//! deleted account gets no message, whatever node it is sent on.

use super::support::TestServer;
use super::support::cluster::Cluster;
use super::{PW, register, send_conn};

const NEW_PW: &str = "another-pw";

fn delete(node: &TestServer, user: &str) {
    let mut c = send_conn(node, user);
    assert_eq!(c.request(&format!("DELACCOUNT:{PW}")), "OK");
    c.expect_closed();
}

#[test]
fn a_deleted_name_is_reserved_on_every_node_for_the_default_quarantine() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    delete(&a, "ana");
    for node in [&a, &b] {
        let again = node.send_conn().request(&format!("REGISTER:Ana::{NEW_PW}"));
        assert_eq!(
            again,
            "KO:USER_EXISTS:the name ana belonged to an account that was deleted; it is reserved for 30 days \
             more, so that nobody takes it over at once"
        );
    }
}

/// What the new ana sees, from either node.
fn check_new_ana(node: &TestServer) {
    let mut ana = node.login_send("ana", NEW_PW);
    let history = ana.listing("HISTORY:bob:50");
    assert_eq!(history.len(), 2, "only what came after the cut: {history:?}");
    assert!(history[0].starts_with("ana:bob:m1:") && history[0].ends_with(":new hello"), "{history:?}");
    assert!(history[1].starts_with("bob:ana:b3:") && history[1].ends_with(":welcome back"), "{history:?}");
    assert_eq!(ana.listing("HISTORY:#general:50"), Vec::<String>::new(), "the room's old lines");
    assert_eq!(ana.listing("CHATS"), ["bob:1"], "one unread, not the three the old ana left");
    assert_eq!(ana.listing("SEARCH:*:old"), Vec::<String>::new());
    assert_eq!(ana.listing("SEARCH:*:welcome").len(), 1);
    // `wachat export --user` follows HISTORY and CHATS.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ana.jsonl");
    let mut args: Vec<String> =
        ["export", "--user", "ana", "--out", out.to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    args.extend(super::support::console::connection_args(node.send, node.recv, tmp.path()));
    let outcome = super::support::console::run_wachat(&args, NEW_PW, "");
    assert!(outcome.status.success(), "{}", outcome.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let messages: Vec<&str> = text.lines().filter(|l| l.contains(r#""type":"message""#)).collect();
    assert_eq!(messages.len(), 2, "{text}");
    assert!(!text.contains("old "), "{text}");
}

/// What bob sees of his conversation with the name: all of it.
fn check_bob(node: &TestServer) {
    let mut bob = send_conn(node, "bob");
    let history = bob.listing("HISTORY:ana:50");
    let texts: Vec<&str> = history.iter().map(|l| l.rsplit(':').next().unwrap_or("")).collect();
    assert_eq!(
        texts,
        ["old hello", "old secret", "old reply", "old unread", "old again", "new hello", "welcome back"],
        "{history:?}"
    );
    assert_eq!(bob.listing("SEARCH:ana:old").len(), 5);
}

#[test]
fn a_freed_name_is_a_new_account_that_sees_nothing_from_before_it_on_every_node() {
    let cluster = Cluster::start();
    let free = ["--name-quarantine-days", "0"];
    let (mut a, mut b) = (cluster.node_with("a", &free), cluster.node_with("b", &free));
    register(&a, "ana");
    register(&b, "bob");
    let (mut ana, mut bob_a, mut bob_b) = (send_conn(&a, "ana"), send_conn(&a, "bob"), send_conn(&b, "bob"));
    let sent = |conn: &mut super::support::Conn, line: &str| {
        let id = line.split(':').nth(2).unwrap_or_default();
        assert!(conn.request(line).starts_with(&format!("OK:{id}:")), "{line}");
    };
    sent(&mut ana, "MSG:bob:m1:old hello");
    sent(&mut ana, "MSG:bob:m0:old secret");
    sent(&mut bob_b, "MSG:ana:b1:old reply");
    sent(&mut bob_b, "MSG:ana:b2:old unread");
    sent(&mut bob_a, "MSG:ana:b0:old again");
    sent(&mut ana, "MSG:#general:g1:old room talk");
    assert_eq!(ana.request("JOIN:#lab"), "OK", "its owner");
    assert_eq!(bob_a.request("JOIN:#lab"), "OK");
    drop(ana);
    delete(&a, "ana");

    // Both nodes know the name (bob wrote to ana on each): neither takes
    // a message for the deleted account.
    for bob in [&mut bob_a, &mut bob_b] {
        assert_eq!(bob.request("MSG:ana:b9:anyone there?"), "KO:UNKNOWN_USER:ana deleted its account");
    }

    // Registered again on the other node, in another case: the name is
    // the old account's, its password the new one.
    assert_eq!(b.send_conn().request(&format!("REGISTER:ANA::{NEW_PW}")), "OK:ana");
    let again = a.send_conn().request(&format!("REGISTER:ana::{NEW_PW}"));
    assert_eq!(again, "KO:USER_EXISTS:the name ana is taken");
    assert!(a.send_conn().request(&format!("LOGIN:ana:{PW}")).starts_with("KO:AUTH_FAILED:"));
    let mut ana = a.login_send("ana", NEW_PW);
    assert_eq!(ana.listing("CHATS"), Vec::<String>::new(), "nothing yet: the old chats are not its");

    // An id the old account used is a new message, not a resend.
    let sent = ana.request("MSG:bob:m1:new hello");
    assert!(sent.starts_with("OK:m1:"), "{sent}");
    // The old account's messages are not the new one's to change.
    for action in ["EDIT:bob:m0:rewritten", "DELETE:bob:m0"] {
        let refused = ana.request(action);
        assert_eq!(
            refused, "KO:UNKNOWN_MESSAGE:you sent no message m0 in bob among its newest 1000",
            "{action}"
        );
    }
    // Nor is the old account's room: #lab has no owner now.
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let kick = ana.request("KICK:#lab:bob");
    assert!(kick.starts_with("KO:FORBIDDEN:"), "{kick}");
    assert!(bob_b.request("MSG:ana:b3:welcome back").starts_with("OK:b3:"), "accepted again");
    let mut ana_events = b.login_recv("ana", NEW_PW);
    assert!(ana_events.next_msg().ends_with(":welcome back"), "no old message replayed first");

    for node in [&a, &b] {
        check_new_ana(node);
        check_bob(node);
    }
    drop((ana, ana_events, bob_a, bob_b));

    // Nothing of it lives in a node: both restarted, the same.
    a.kill();
    b.kill();
    let (a, b) = (cluster.node_with("a", &free), cluster.node_with("b", &free));
    for node in [&a, &b] {
        check_new_ana(node);
        check_bob(node);
    }
}

#[test]
fn of_two_registrations_of_a_freed_name_at_once_on_two_nodes_one_wins() {
    let cluster = Cluster::start();
    let free = ["--name-quarantine-days", "0"];
    let (a, b) = (cluster.node_with("a", &free), cluster.node_with("b", &free));
    register(&a, "ana");
    delete(&a, "ana");
    let answers: Vec<String> = std::thread::scope(|s| {
        let racers: Vec<_> = [(&a, "pw-from-a"), (&b, "pw-from-b")]
            .into_iter()
            .map(|(node, pw)| s.spawn(move || node.send_conn().request(&format!("REGISTER:ana::{pw}"))))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..2).filter(|&i| answers[i] == "OK:ana").collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let lost = &answers[1 - won[0]];
    assert_eq!(lost, "KO:USER_EXISTS:the name ana is taken");
    let (winner, loser) = if won[0] == 0 { ("pw-from-a", "pw-from-b") } else { ("pw-from-b", "pw-from-a") };
    for node in [&a, &b] {
        node.login_send("ana", winner);
        assert!(node.send_conn().request(&format!("LOGIN:ana:{loser}")).starts_with("KO:AUTH_FAILED:"));
    }
}

#[test]
fn an_account_deleted_before_schema_version_8_is_reserved_from_the_upgrade_on() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    register(&a, "ana");
    drop(a);
    // As a node of schema version 7 left it: the plain mark, no cut.
    cluster
        .pg
        .client()
        .batch_execute(
            "UPDATE users SET hash = '!deleted', email = '' WHERE folded = 'ana'; \
             ALTER TABLE users DROP COLUMN since; ALTER TABLE directions DROP COLUMN base; \
             UPDATE wachat_schema SET version = 7",
        )
        .unwrap();
    let a = cluster.node_with("a", &["--name-quarantine-days", "1"]);
    let again = a.send_conn().request(&format!("REGISTER:ana::{NEW_PW}"));
    assert!(again.contains("deleted; it is reserved for 24 hours more"), "{again}");
}

#[test]
fn wachat_migrate_carries_a_reused_names_cut() {
    let single = TestServer::start_with(&["--name-quarantine-days", "0"]);
    register(&single, "ana");
    register(&single, "bob");
    let mut ana = send_conn(&single, "ana");
    assert!(ana.request("MSG:bob:m1:the old ana").starts_with("OK:m1:"));
    let mut bob = send_conn(&single, "bob");
    assert!(bob.request("MSG:ana:b1:unread by the old ana").starts_with("OK:b1:"));
    delete(&single, "ana");
    assert_eq!(single.send_conn().request(&format!("REGISTER:ana::{NEW_PW}")), "OK:ana");
    let mut ana = single.login_send("ana", NEW_PW);
    assert!(ana.request("MSG:bob:m2:the new ana").starts_with("OK:m2:"));
    assert!(bob.request("MSG:ana:b2:for the new ana").starts_with("OK:b2:"));
    drop((ana, bob));
    let mut single = single;
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    let mut ana = a.login_send("ana", NEW_PW);
    let history = ana.listing("HISTORY:bob:50");
    assert_eq!(history.len(), 2, "only what came after the cut: {history:?}");
    assert!(history[0].ends_with(":the new ana") && history[1].ends_with(":for the new ana"), "{history:?}");
    assert_eq!(ana.listing("CHATS"), ["bob:1"], "b1 was the old ana's");
    let mut bob = send_conn(&a, "bob");
    assert_eq!(bob.listing("HISTORY:ana:50").len(), 4, "bob keeps the whole conversation");
}
