//! Moderation across nodes (protocol 1.2, issue 29): a rule made on one
//! node holds on the other (a ban, a mute, +announce, an invite-only
//! room), the event reaches members wherever they are connected, and a
//! ban holds when the nodes restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::support::cluster::{Cluster, eventually};
use super::support::metrics::{http_get, metrics_address, scrape_until, value};
use super::support::{Conn, READ_TIMEOUT, TestServer};
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

    // The JOIN's batch waits for the room's row, and the ban comes.
    let (answer, ()) = while_held(
        &cluster,
        "SELECT id FROM rooms WHERE folded = 'lab5' AND live FOR UPDATE",
        (&mut bob, "JOIN:#lab5"),
        |tx| {
            let ban = "INSERT INTO room_rules (room, user_id, kind) SELECT r.id, u.id, 'BANNED' \
                       FROM rooms r, users u WHERE r.folded = 'lab5' AND r.live AND u.name = 'bob'";
            assert_eq!(tx.execute(ban, &[]).unwrap(), 1);
        },
    );
    assert!(forbidden(&answer), "the ban committed before the JOIN's batch held the room");
    assert!(!ana.listing("MEMBERS:#lab5").iter().any(|m| m.starts_with("bob")));
}

/// Issue 54: a room another node's batch empties while a `JOIN` (or a new
/// account's `#general`) waits for its row is gone once the `JOIN` holds
/// it, and the `JOIN` makes the name's new room, as it would a moment
/// later, where it was answered `KO:INTERNAL` ("the room changed
/// meanwhile"), and a new account joined no room. The other node's batch
/// is played here in SQL: its step 2 (the room's row locked), then what
/// its step 7 writes for the last member's `LEAVE` (the member gone, the
/// row no longer live).
#[test]
fn a_room_emptied_while_a_join_waits_for_it_is_made_again() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("JOIN:#Lab7"), "OK");
    assert_eq!(ana.request("MODE:#lab7:+announce"), "OK");
    let mut bob = send_conn(&b, "bob");
    // Another node's batch holding the room's row, then emptying it.
    let emptied_while = |room: &str, conn: &mut Conn, request: &str| {
        let lock = format!("SELECT id FROM rooms WHERE folded = '{room}' AND live FOR UPDATE");
        let (answer, ()) = while_held(&cluster, &lock, (conn, request), |tx| {
            let live = "(SELECT id FROM rooms WHERE folded = $1 AND live)";
            tx.execute(&format!("DELETE FROM members WHERE room = {live}"), &[&room]).unwrap();
            tx.execute(&format!("UPDATE rooms SET live = false WHERE id = {live}"), &[&room]).unwrap();
        });
        answer
    };

    assert_eq!(emptied_while("lab7", &mut bob, "JOIN:#lab7"), "OK");
    // A new room: its maker's, spelt as bob spelt it, without ana's rules.
    assert_eq!(bob.listing("ROOMINFO:#lab7"), ["ROOM:#lab7", "OWNER:bob", "ROLE:OWNER"]);
    let names = |c: &mut Conn, room: &str| -> Vec<String> {
        c.listing(&format!("MEMBERS:{room}"))
            .iter()
            .map(|m| m.split(':').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&mut bob, "#lab7"), ["bob"]);

    let mut carl = b.send_conn();
    assert_eq!(emptied_while("general", &mut carl, &format!("REGISTER:carl::{PW}")), "OK:carl");
    let mut carl = send_conn(&b, "carl");
    assert_eq!(names(&mut carl, "#general"), ["carl"], "carl is in the #general made again");
}

/// Holds the rows `lock` selects (`FOR UPDATE`) while `request` is sent
/// on `conn`: the request must wait for them (no answer within 400 ms).
/// Meanwhile `meanwhile` runs, given the holding transaction (what
/// another node's batch would do holding them, or what other
/// transactions see); then the rows are let go. What the request
/// answered, and what `meanwhile` returned.
fn while_held<R>(
    cluster: &Cluster,
    lock: &str,
    (conn, request): (&mut Conn, &str),
    meanwhile: impl FnOnce(&mut postgres::Transaction<'_>) -> R,
) -> (String, R) {
    let mut holder = cluster.pg.client();
    let mut tx = holder.transaction().unwrap();
    assert_eq!(tx.query(lock, &[]).unwrap().len(), 1, "one row held: {lock}");
    conn.send(request);
    assert_eq!(
        conn.line_within(Duration::from_millis(400)),
        None,
        "{request} answered while a row it needs was held"
    );
    let done = meanwhile(&mut tx);
    tx.commit().unwrap();
    (conn.line(), done)
}

/// What a transaction other than the holder's sees: `seen`, a row of two
/// booleans.
fn seen_by_others(cluster: &Cluster, seen: &str) -> [bool; 2] {
    let row = cluster.pg.client().query_one(seen, &[]).unwrap();
    [row.get(0), row.get(1)]
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

    // What every other transaction sees meanwhile: eve still in the room,
    // or neither in it nor its admin; never gone with her rank kept.
    let (answer, [member, admin]) = while_held(
        &cluster,
        "SELECT 1 FROM room_rules x JOIN users u ON u.id = x.user_id \
         WHERE u.name = 'eve' AND x.kind = 'ADMIN' FOR UPDATE OF x",
        (&mut eve, "LEAVE:#lab6"),
        |_| {
            seen_by_others(
                &cluster,
                "SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE u.name = 'eve' \
                        AND m.room = (SELECT id FROM rooms WHERE folded = 'lab6' AND live)), \
                EXISTS (SELECT 1 FROM room_rules x JOIN users u ON u.id = x.user_id \
                        WHERE u.name = 'eve' AND x.kind = 'ADMIN')",
            )
        },
    );
    assert!(member || !admin, "eve's LEAVE committed without her rank: a departed admin kept it");
    assert_eq!(answer, "OK");
    assert_eq!(ana.listing("ROOMINFO:#lab6"), ["ROOM:#lab6", "OWNER:ana", "ROLE:OWNER"]);
}

/// Issue 54: a `BAN`, its notice in the room and the banned member's
/// `LEAVE` are one commit, as a single server's one batch. While bob's
/// inbox row is held locked here, the notice to the room (bob among its
/// members) and his `LEAVE` wait, and the ban waits with them: no other
/// transaction sees him banned and still in the room. A node used to
/// commit the ban first, then the notice and the `LEAVE` as jobs of their
/// own, so a node dying between them (here, a row locked) left a banned
/// member in the room, and the ban done again changed nothing.
#[test]
fn a_ban_its_notice_and_the_leave_are_one_commit() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(ana.request("JOIN:#lab8"), "OK");
    assert_eq!(bob.request("JOIN:#lab8"), "OK");
    // What every other transaction sees meanwhile: bob in the room and
    // not banned yet; never banned and still in it.
    let (answer, [member, banned]) = while_held(
        &cluster,
        "SELECT 1 FROM inboxes WHERE user_id = (SELECT id FROM users WHERE name = 'bob') FOR UPDATE",
        (&mut ana, "BAN:#lab8:bob:0"),
        |_| {
            seen_by_others(
                &cluster,
                "SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE u.name = 'bob' \
                        AND m.room = (SELECT id FROM rooms WHERE folded = 'lab8' AND live)), \
                EXISTS (SELECT 1 FROM room_rules x JOIN users u ON u.id = x.user_id \
                        WHERE u.name = 'bob' AND x.kind = 'BANNED')",
            )
        },
    );
    assert!(member && !banned, "the ban committed before its LEAVE: bob banned and in the room");
    assert_eq!(answer, "OK");
    // Done: out of the room, refused at the door, the notice in its text.
    assert!(bob.request("JOIN:#lab8").starts_with("KO:FORBIDDEN"));
    let history = ana.listing("HISTORY:#lab8:10");
    assert!(
        history.iter().any(|l| l.starts_with("ana:#lab8:mod-") && l.contains("banned bob")),
        "{history:?}"
    );
}

/// The requests of [`a_room_emptied_and_joined_again_in_one_batch_is_a_new_room`]
/// on `server`: ana, bob and eve register; ana makes `#Lab7` and gives it rules (a topic,
/// `+announce`, a ban of eve) and a message; `between` then plays ana's
/// `LEAVE` (she is its last member), bob's and eve's `JOIN`s, and bob's
/// `READ` of ana's message from a second connection, in that order, and
/// returns their replies. What follows is the room as bob
/// sees it and eve's message to it; then, one request at a time (a
/// batch each on a cluster), bob gives it a topic, bob and eve leave it
/// and ana joins its name again: another new room, hers.
fn rules_of_a_room_joined_again(
    server: &TestServer,
    between: impl FnOnce([&mut Conn; 4], [&str; 4]) -> Vec<String>,
) -> Vec<String> {
    let [mut ana, mut bob, mut eve] = server.logged_in(["ana", "bob", "eve"]);
    assert_eq!(ana.request("JOIN:#Lab7"), "OK");
    for line in ["TOPIC:#Lab7:week 2", "MODE:#Lab7:+announce", "BAN:#Lab7:eve:0"] {
        assert_eq!(ana.request(line), "OK", "{line}");
    }
    assert!(ana.request("MSG:#Lab7:m1:old news").starts_with("OK:m1:"));
    let mut bob_too = server.login_send("bob", "pw-bob");
    let requests = ["LEAVE:#Lab7", "JOIN:#lab7", "JOIN:#lab7", "READ:#lab7:m1"];
    let mut seen = between([&mut ana, &mut bob, &mut eve, &mut bob_too], requests);
    seen.extend(bob.listing("ROOMINFO:#lab7"));
    seen.extend(bob.listing("HISTORY:#lab7:10"));
    let sent = eve.request("MSG:#lab7:m2:hi");
    seen.push(if sent.starts_with("OK:m2:") { "OK:m2".into() } else { sent });
    seen.push(bob.request("TOPIC:#lab7:week 3"));
    seen.push(bob.request("LEAVE:#lab7"));
    seen.push(eve.request("LEAVE:#lab7"));
    seen.push(ana.request("JOIN:#LAB7"));
    seen.extend(ana.listing("ROOMINFO:#lab7"));
    seen.extend(ana.listing("HISTORY:#lab7:10"));
    seen
}

/// Issue 54: a room its last member leaves is gone, rules and all, and
/// the next `JOIN` of its name makes a new room, its joiner's: on a
/// single server, and on a cluster even when the `LEAVE` and the `JOIN`s
/// share a batch (one transaction of `apply.rs`). Such a batch used to
/// bring the old room back with its owner, topic, modes and bans: eve's
/// `JOIN` was refused by the old ban, and bob found ana's room.
///
/// The batch: carl's `JOIN` of `#plug`, whose row is held locked here,
/// keeps the node's committer in its transaction while the three
/// requests queue; released, they are the next batch, in their order.
#[test]
fn a_room_emptied_and_joined_again_in_one_batch_is_a_new_room() {
    let single = TestServer::start();
    let expected = rules_of_a_room_joined_again(&single, one_at_a_time);
    // The requests that share a batch on the cluster, then those that do not.
    let read = "KO:UNKNOWN_MESSAGE:no message m1 from #lab7 to you";
    let shared = ["OK", "OK", "OK", read, "ROOM:#lab7", "OWNER:bob", "ROLE:OWNER", "OK:m2"];
    let apart = ["OK", "OK", "OK", "OK", "ROOM:#LAB7", "OWNER:ana", "ROLE:OWNER"];
    assert_eq!(
        expected,
        [&shared[..], &apart[..]].concat(),
        "a single server: a new room each time, with none of the old one's rules or messages"
    );

    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--metrics", "0"]);
    let mut carl = plug(&a, "carl");
    let in_one_batch = in_one_batch(&cluster, &a, &mut carl);
    assert_eq!(rules_of_a_room_joined_again(&a, in_one_batch), expected, "the cluster, in one batch");
}

/// A single server's way of playing a script's requests: one after the
/// other, each answered before the next is sent.
fn one_at_a_time<const N: usize>(conns: [&mut Conn; N], requests: [&str; N]) -> Vec<String> {
    conns.into_iter().zip(requests).map(|(c, r)| c.request(r)).collect()
}

/// A cluster's way of playing them in one batch ([`one_batch`], held
/// by `plug`).
fn in_one_batch<'a, const N: usize>(
    cluster: &'a Cluster,
    node: &TestServer,
    plug: &'a mut Conn,
) -> impl FnOnce([&mut Conn; N], [&str; N]) -> Vec<String> + 'a {
    let metrics = metrics_address(node);
    move |conns, requests| one_batch(cluster, metrics, plug, conns.into_iter().zip(requests).collect())
}

/// `user`, registered on `node`, in `#plug` and out of `#general`: the
/// plug of [`one_batch`], in no room of the script it lets through.
fn plug(node: &TestServer, user: &str) -> Conn {
    register(node, user);
    let mut plug = send_conn(node, user);
    assert_eq!(plug.request("JOIN:#plug"), "OK");
    assert_eq!(plug.request("LEAVE:#general"), "OK");
    plug
}

/// Sends each request on its connection, in their order, as one batch of
/// the node's committer, and returns their replies: `plug`'s message to
/// `#plug`, whose row is held locked here, keeps the committer in its
/// transaction while they queue; released, they are the next batch.
///
/// The node's metrics (at `metrics`) say when the committer has taken
/// the plug's job, and when each request is in its queue: only then is
/// the next one sent, so that they queue in their order however slowly
/// the node's threads are scheduled. A request the node answers without
/// its committer is answered at once, and is in no batch.
fn one_batch(
    cluster: &Cluster,
    metrics: SocketAddr,
    plug: &mut Conn,
    requests: Vec<(&mut Conn, &str)>,
) -> Vec<String> {
    const TAKEN: &str = "wachat_cluster_pg_queue_seconds_count";
    const QUEUED: &str = "wachat_cluster_pg_queued";
    let mut holder = cluster.pg.client();
    let mut tx = holder.transaction().unwrap();
    tx.query_one("SELECT id FROM rooms WHERE folded = 'plug' AND live FOR UPDATE", &[]).unwrap();
    let taken = value(&http_get(metrics, "/metrics"), TAKEN);
    plug.send("MSG:#plug:p1:hold on");
    let scrape = scrape_until(metrics, TAKEN, taken + 1.0);
    assert!(value(&scrape, TAKEN) > taken, "the committer took the plug's job");
    assert_eq!(plug.line_within(Duration::from_millis(300)), None, "the plug's batch waits for #plug");
    let mut queued = value(&http_get(metrics, "/metrics"), QUEUED);
    let mut sent = Vec::new();
    for (c, r) in requests {
        c.send(r);
        let deadline = Instant::now() + READ_TIMEOUT;
        let answered = loop {
            let now_queued = value(&http_get(metrics, "/metrics"), QUEUED);
            if now_queued > queued {
                queued = now_queued;
                break None;
            }
            // Polling: the request in the queue, or its answer.
            if let Some(reply) = c.line_within(Duration::from_millis(20)) {
                break Some(reply);
            }
            assert!(Instant::now() < deadline, "{r}: neither queued nor answered");
        };
        sent.push((c, answered));
    }
    tx.commit().unwrap();
    assert!(plug.line().starts_with("OK:p1:"));
    sent.into_iter().map(|(c, answered)| answered.unwrap_or_else(|| c.line())).collect()
}

/// The reply to `request`: its lines after `OK:<n>`, or its one line.
fn answer(c: &mut Conn, request: &str) -> Vec<String> {
    let head = c.request(request);
    match head.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => (0..n).map(|_| c.line()).collect(),
        None => vec![head],
    }
}

/// The requests of [`a_refused_join_leaves_no_room_behind`] on `server`:
/// ana is in 256 rooms (`#general`, `#r1` to `#r255`), the most allowed;
/// `between` plays ana's `JOIN:#Ghost` (one room too many), bob's `LEAVE`
/// of `#ghost` and of `#fresh` (neither is a room) and carl's
/// `JOIN:#Fresh`, in that order, and returns their replies. Then, a
/// request at a time: what bob reads of `#ghost`, ana's `JOIN:#Ghost2`
/// refused on its own and what bob reads of it, bob's `JOIN:#ghost` (a
/// new room, his, spelled as he spells it) and what carl reads of
/// `#fresh`.
fn rooms_of_refused_joins(
    server: &TestServer,
    between: impl FnOnce([&mut Conn; 4], [&str; 4]) -> Vec<String>,
) -> Vec<String> {
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    for i in 1..256 {
        assert_eq!(ana.request(&format!("JOIN:#r{i}")), "OK", "#r{i}");
    }
    let mut bob_too = server.login_send("bob", "pw-bob");
    let requests = ["JOIN:#Ghost", "LEAVE:#ghost", "LEAVE:#fresh", "JOIN:#Fresh"];
    let mut seen = between([&mut ana, &mut bob, &mut bob_too, &mut carl], requests);
    seen.extend(answer(&mut bob, "ROOMINFO:#ghost"));
    seen.extend(answer(&mut bob, "MEMBERS:#ghost"));
    seen.push(ana.request("JOIN:#Ghost2"));
    seen.extend(answer(&mut bob, "ROOMINFO:#ghost2"));
    seen.push(bob.request("LEAVE:#ghost2"));
    seen.push(bob.request("JOIN:#ghost"));
    seen.extend(answer(&mut bob, "ROOMINFO:#ghost"));
    seen.extend(answer(&mut carl, "ROOMINFO:#fresh"));
    seen
}

/// Issue 54: a `JOIN` refused leaves no room behind, and a room's name
/// is no room until someone is in it: on a single server, nothing is
/// made for a refused `JOIN`; a cluster's batch makes the rows its
/// `JOIN`s need first (`apply.rs`, step 1), and used to keep the row of
/// a refused one, live and empty, so that `ROOMINFO` found a room there,
/// spelled as the refused joiner spelled it, and a `LEAVE` before a
/// `JOIN` of a new room in the same batch was told `you are not in` a
/// room that was not there yet.
#[test]
fn a_refused_join_leaves_no_room_behind() {
    let single = TestServer::start();
    let expected = rooms_of_refused_joins(&single, one_at_a_time);
    let too_many = "KO:BAD_REQUEST:you are in 256 rooms, the most allowed; LEAVE one first";
    let none = |room: &str| format!("KO:NOT_MEMBER:no room named #{room}");
    let mut decided = vec![too_many.to_string(), none("ghost"), none("fresh"), "OK".into()];
    decided.extend([none("ghost"), none("ghost")]);
    decided.extend([too_many.to_string(), none("ghost2"), none("ghost2"), "OK".into()]);
    decided.extend(
        ["ROOM:#ghost", "OWNER:bob", "ROLE:OWNER", "ROOM:#Fresh", "OWNER:carl", "ROLE:OWNER"]
            .map(String::from),
    );
    assert_eq!(expected, decided, "a single server: no room where a JOIN was refused");

    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--metrics", "0"]);
    let mut dan = plug(&a, "dan");
    let in_one_batch = in_one_batch(&cluster, &a, &mut dan);
    assert_eq!(rooms_of_refused_joins(&a, in_one_batch), expected, "the cluster, in one batch");
}

/// The requests of [`a_new_account_joins_general_where_its_registration_comes`]
/// on `server`: ana and bob, in `#general`, each send it a message;
/// `between` plays bob's message `g3`, ana's and bob's `LEAVE:#general`
/// (then nobody is in it: it is forgotten), and carl's and dan's
/// `REGISTER`s (connections not logged in), in that order. What carl and
/// dan then read: their rooms and chats, `#general`'s members and
/// history, and the events waiting for them.
fn general_as_accounts_come(
    server: &TestServer,
    between: impl FnOnce([&mut Conn; 5], [&str; 5]) -> Vec<String>,
) -> Vec<String> {
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert!(ana.request("MSG:#general:g1:hello").starts_with("OK:g1:"));
    assert!(bob.request("MSG:#general:g2:hi").starts_with("OK:g2:"));
    let (mut bob_too, mut carl, mut dan) =
        (server.login_send("bob", "pw-bob"), server.send_conn(), server.send_conn());
    let requests = [
        "MSG:#general:g3:bye",
        "LEAVE:#general",
        "LEAVE:#general",
        "REGISTER:carl::pw-carl",
        "REGISTER:dan::pw-dan",
    ];
    let mut seen = between([&mut bob_too, &mut ana, &mut bob, &mut carl, &mut dan], requests);
    seen[0] = seen[0].split(':').take(2).collect::<Vec<_>>().join(":"); // `OK:g3`: not its time
    for user in ["carl", "dan"] {
        let mut c = server.login_send(user, &format!("pw-{user}"));
        seen.extend(answer(&mut c, "ROOMS"));
        seen.extend(answer(&mut c, "CHATS"));
        // Who is in it; whether online or when seen last is not the point.
        let members = answer(&mut c, "MEMBERS:#general");
        seen.extend(members.iter().map(|l| l.split(':').next().unwrap_or_default().to_string()));
        // A message's time is its own on each backend: its id says which.
        let history = answer(&mut c, "HISTORY:#general:10");
        seen.extend(history.iter().map(|l| l.split(':').take(3).collect::<Vec<_>>().join(":")));
        let mut events = server.login_recv(user, &format!("pw-{user}"));
        while let Some(event) = events.line_within(Duration::from_millis(500)) {
            seen.push(event.split(':').take(5).collect::<Vec<_>>().join(":"));
        }
    }
    seen
}

/// Issue 54: a new account joins `#general` where its `REGISTER` comes
/// among the requests, as on a single server, which applies them in
/// order: a message before it is not the account's, and once the last
/// member has left `#general`, a new account makes it again, new. A
/// cluster's batch used to put its new accounts in `#general` before
/// any of its other jobs: carl and dan got bob's `g3`, and found the old
/// `#general` with its messages, which ana's and bob's `LEAVE` no longer
/// emptied.
#[test]
fn a_new_account_joins_general_where_its_registration_comes() {
    let single = TestServer::start();
    let expected = general_as_accounts_come(&single, one_at_a_time);
    let decided = ["OK:g3", "OK", "OK", "OK:carl", "OK:dan"];
    let seen_by = ["#general:2", "carl", "dan"]; // rooms, members; no chat, history or event
    assert_eq!(
        expected,
        [&decided[..], &seen_by[..], &seen_by[..]].concat(),
        "a single server: a new #general"
    );

    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--metrics", "0"]);
    let mut plug = plug(&a, "plug");
    let in_one_batch = in_one_batch(&cluster, &a, &mut plug);
    assert_eq!(general_as_accounts_come(&a, in_one_batch), expected, "the cluster, in one batch");
}
