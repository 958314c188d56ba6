//! Moderation across nodes (protocol 1.2, issue 29): a rule made on one
//! node holds on the other (a ban, a mute, +announce, an invite-only
//! room), the event reaches members wherever they are connected, and a
//! ban holds when the nodes restart.

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::{PW, recv_conn, register, send_conn};

fn forbidden(reply: &str) -> bool {
    reply.starts_with("KO:FORBIDDEN:")
}

#[test]
fn rules_made_on_one_node_hold_on_the_other_and_survive_a_restart() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "eve", "carl"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut bob = send_conn(&b, "bob");
    let mut eve = send_conn(&b, "eve");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
    assert_eq!(eve.request("JOIN:#lab3"), "OK");
    // eve, a 1.2 client on node b (its VERSION read once its ACK is),
    // and a non-admin refused there.
    assert!(ana.request("MSG:eve:hello:hi").starts_with("OK:"));
    let mut eve_events = recv_conn(&b, "eve");
    assert!(eve_events.next_event().starts_with("MSG:1:ana:eve:hello:"));
    eve_events.send("VERSION:1.1");
    eve_events.send("VERSION:1.2");
    eve_events.send("ACK:1");
    eventually("eve's ACK", Duration::from_secs(10), || {
        ana.listing("HISTORY:eve:1")[0].contains(":DELIVERED:")
    });
    assert!(forbidden(&bob.request("KICK:#lab3:eve")));
    assert_eq!(bob.listing("ROOMINFO:#lab3"), ["ROOM:#lab3", "OWNER:ana", "ROLE:MEMBER"]);
    // A mute made on a, held on b; eve hears the notice and the event.
    assert_eq!(ana.request("MUTE:#lab3:bob:60"), "OK");
    assert!(forbidden(&bob.request("MSG:#lab3:b1:hi")));
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let line = eve_events.next_event();
        if line.starts_with("MSG:") && line.ends_with(":* ana muted bob in #lab3 for 60 minutes") {
            heard.push("notice");
        } else if line.starts_with("MUTED:#lab3:ana:bob:") {
            heard.push("event");
        }
    }
    assert!(bob.listing("ROOMINFO:#lab3").iter().any(|l| l.starts_with("MUTED:")));
    assert_eq!(ana.request("UNMUTE:#lab3:bob"), "OK");
    assert!(bob.request("MSG:#lab3:b2:thanks").starts_with("OK:b2:"));
    // +announce and a ban, made on a.
    assert_eq!(ana.request("MODE:#lab3:+announce"), "OK");
    assert!(forbidden(&eve.request("MSG:#lab3:e1:hi")));
    assert_eq!(ana.request("BAN:#lab3:bob:0"), "OK");
    assert!(!bob.listing("ROOMS").iter().any(|r| r.starts_with("lab3:")));
    assert!(forbidden(&bob.request("JOIN:#lab3")));
    // Invite-only: carl, a stranger on b, is refused until invited.
    assert_eq!(ana.request("MODE:#lab3:+invite"), "OK");
    let mut carl = b.login_send("carl", PW);
    assert!(forbidden(&carl.request("JOIN:#lab3")));
    assert_eq!(ana.request("INVITE:#lab3:carl"), "OK");
    assert_eq!(carl.request("JOIN:#lab3"), "OK");
    // Both nodes restart: the rules are in the database.
    drop((ana, bob, eve, carl, eve_events));
    drop((a, b));
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let mut bob = send_conn(&b, "bob");
    assert!(forbidden(&bob.request("JOIN:#lab3")));
    let mut ana = send_conn(&a, "ana");
    assert_eq!(
        ana.listing("ROOMINFO:#lab3"),
        ["ROOM:#lab3", "OWNER:ana", "MODE:+announce", "MODE:+invite", "ROLE:OWNER"]
    );
    assert_eq!(ana.request("UNBAN:#lab3:bob"), "OK");
    assert_eq!(ana.request("INVITE:#lab3:bob"), "OK");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
}

#[test]
fn wachat_migrate_carries_the_rules_and_the_server_admins() {
    let single = super::support::TestServer::start();
    for user in ["ana", "bob", "eve"] {
        register(&single, user);
    }
    let mut ana = single.login_send("ana", PW);
    let mut bob = single.login_send("bob", PW);
    let mut eve = single.login_send("eve", PW);
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
    assert_eq!(eve.request("JOIN:#lab3"), "OK");
    for line in ["TOPIC:#lab3:week 2", "MODE:#lab3:+announce", "OP:#lab3:eve", "BAN:#lab3:bob:0"] {
        assert_eq!(ana.request(line), "OK", "{line}");
    }
    drop((ana, bob, eve));
    let mut single = single;
    assert!(single.terminate().success());
    let dir = single.data_dir.to_str().unwrap().to_string();
    let made = super::wachat(&["users", "admin", "eve", "--data-dir", &dir], "");
    assert!(made.status.success(), "{}", made.stderr);

    let cluster = Cluster::start();
    let moved = super::wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    let a = cluster.node("a");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(
        ana.listing("ROOMINFO:#lab3"),
        ["ROOM:#lab3", "OWNER:ana", "ADMIN:eve", "MODE:+announce", "TOPIC:week 2", "ROLE:OWNER"]
    );
    let mut bob = send_conn(&a, "bob");
    assert!(forbidden(&bob.request("JOIN:#lab3")), "the ban came along");
    let mut eve = send_conn(&a, "eve");
    assert_eq!(eve.listing("ROOMINFO:#general").last().map(String::as_str), Some("ROLE:SERVER_ADMIN"));
}

/// Issue 38, item 3 on a cluster: a room's owner whose topics (a change
/// and its notice each) fill its quota gets `KO:FULL`, as on one server.
#[test]
fn past_the_quota_a_topic_gets_full_on_a_cluster_too() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--user-quota", "1500"]);
    register(&a, "ana");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    let refused = (0..50).find_map(|i| {
        let reply = ana.request(&format!("TOPIC:#lab3:deadline moved to friday, version {i}"));
        (reply != "OK").then_some(reply)
    });
    let reply = refused.expect("50 topics never reached a quota of 1500 bytes");
    assert!(reply.starts_with("KO:FULL:") && reply.contains("--user-quota"), "{reply}");
    assert!(ana.request("MSG:#lab3:m1:hi").starts_with("KO:FULL:"));
}

/// Issue 54: a `JOIN` is checked against the room's rules as they are
/// when its batch holds the room, as a single server checks them under
/// its lock. A ban committed while the `JOIN` waits for the room's row
/// refuses it (the rules read before the wait, as a node did before,
/// let bob in).
#[test]
fn a_ban_made_while_a_join_waits_for_the_room_refuses_the_join() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    for user in ["ana", "bob"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("JOIN:#lab5"), "OK");
    let mut bob = send_conn(&a, "bob");

    let mut holder = cluster.pg.client();
    let mut tx = holder.transaction().unwrap();
    let room: i64 =
        tx.query_one("SELECT id FROM rooms WHERE folded = 'lab5' AND live FOR UPDATE", &[]).unwrap().get(0);
    bob.send("JOIN:#lab5");
    // The JOIN's batch waits for the room's row.
    assert_eq!(
        bob.line_within(Duration::from_millis(400)),
        None,
        "a JOIN answered while its room was locked"
    );
    tx.execute(
        "INSERT INTO room_rules (room, user_id, kind) SELECT $1, id, 'BANNED' FROM users WHERE name = 'bob'",
        &[&room],
    )
    .unwrap();
    tx.commit().unwrap();
    assert!(forbidden(&bob.line()), "the ban committed before the JOIN's batch held the room");
    assert!(!ana.listing("MEMBERS:#lab5").iter().any(|m| m.starts_with("bob")));
}

/// A room admin's rank goes with its membership (`Rules::left`) in the
/// `LEAVE`'s own transaction, as a single server drops it with the
/// `LEAVE`'s record. While eve's `ADMIN` row is held locked here, her
/// `LEAVE` waits and none of it shows; a node used to commit the `LEAVE`
/// first and drop the rank in a second transaction, so that a node dying
/// between the two (or, here, a row locked between them) left a departed
/// admin her rank. Then the other node sees her neither member nor admin.
#[test]
fn a_departed_admins_rank_goes_in_the_same_transaction_as_her_leave() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "eve"] {
        register(&a, user);
    }
    let mut ana = send_conn(&b, "ana");
    let mut eve = send_conn(&a, "eve");
    assert_eq!(ana.request("JOIN:#lab6"), "OK");
    assert_eq!(eve.request("JOIN:#lab6"), "OK");
    assert_eq!(ana.request("OP:#lab6:eve"), "OK");

    let mut holder = cluster.pg.client();
    let mut tx = holder.transaction().unwrap();
    let held = tx
        .query(
            "SELECT 1 FROM room_rules x JOIN users u ON u.id = x.user_id \
             WHERE u.name = 'eve' AND x.kind = 'ADMIN' FOR UPDATE OF x",
            &[],
        )
        .unwrap();
    assert_eq!(held.len(), 1, "eve is #lab6's admin");
    eve.send("LEAVE:#lab6");
    assert_eq!(
        eve.line_within(Duration::from_millis(400)),
        None,
        "a LEAVE answered while its admin's rank was locked"
    );
    // What every other transaction sees meanwhile: eve still in the room,
    // or neither in it nor its admin; never gone with her rank kept.
    let seen = cluster
        .pg
        .client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE u.name = 'eve' \
                            AND m.room = (SELECT id FROM rooms WHERE folded = 'lab6' AND live)), \
                    EXISTS (SELECT 1 FROM room_rules x JOIN users u ON u.id = x.user_id \
                            WHERE u.name = 'eve' AND x.kind = 'ADMIN')",
            &[],
        )
        .unwrap();
    let member: bool = seen.get(0);
    let admin: bool = seen.get(1);
    assert!(member || !admin, "eve's LEAVE committed without her rank: a departed admin kept it");
    tx.commit().unwrap();
    assert_eq!(eve.line(), "OK");
    assert_eq!(ana.listing("ROOMINFO:#lab6"), ["ROOM:#lab6", "OWNER:ana", "ROLE:OWNER"]);
}
