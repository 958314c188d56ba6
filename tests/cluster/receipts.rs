//! Receipts of room messages (protocol 1.2, docs/PROTOCOL.md §31) on a
//! cluster, as on a single server (tests/chat/receipts.rs): a room
//! message of ana's, sent through a follower and then through the
//! leader, with the other members on the other node: ✓✓ once both have
//! it, read once both read it (the `STATUS` to ana's 1.2 device), who and
//! when (`RECEIPTS`), and `HISTORY` with its ticks for a device's
//! connection, `RECEIVED` for a 1.0 one.

use std::time::{Duration, Instant};

use super::support::cluster::Cluster;
use super::support::{Conn, TestServer, without_ts};

/// The next `STATUS` on a 1.2 receive connection, acknowledged, without its time.
fn next_status(conn: &mut Conn) -> String {
    loop {
        let event = conn.next_event();
        if let Some(seq) = event.split(':').nth(1) {
            conn.send(&format!("ACK:{seq}"));
        }
        if event.starts_with("STATUS:") {
            return without_ts(&event);
        }
    }
}

/// The next `MSG` on a 1.0 receive connection, acknowledged.
fn ack_next(conn: &mut Conn) {
    let msg = conn.next_msg();
    conn.send(&format!("ACK:{}", msg.split(':').nth(1).unwrap()));
}

/// Asks `ask` until `done` holds of its lines (receipts are stored
/// without anyone waiting for them, and reach a follower a moment later).
fn until(conn: &mut Conn, ask: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = conn.listing(ask);
        if done(&lines) {
            return lines;
        }
        assert!(Instant::now() < deadline, "{ask}: still {lines:?}");
        std::thread::sleep(Duration::from_millis(30)); // polling the node
    }
}

/// The state field of `HISTORY` lines.
fn states(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| l.split(':').nth(4).unwrap().to_string()).collect()
}

/// ana sends `id` to `room` through `home`; bob and carl are on `other`.
fn walk(home: &TestServer, other: &TestServer, (room, id): (&str, &str)) {
    let mut ana_web = home.login_send("ana@web", "pw-ana");
    let mut ana_events = home.events_1_2("ana", Some("web"));
    let (mut bob, mut carl) = (other.login_send("bob", "pw-bob"), other.login_send("carl", "pw-carl"));
    for c in [&mut ana_web, &mut bob, &mut carl] {
        assert_eq!(c.request(&format!("JOIN:{room}")), "OK");
    }
    assert!(ana_web.request(&format!("MSG:{room}:{id}:lab at 10?")).starts_with(&format!("OK:{id}:")));
    let receipts = format!("RECEIPTS:{room}:{id}");
    let history = format!("HISTORY:{room}:10");
    assert_eq!(ana_web.listing(&receipts), ["TO:2"]);

    let (mut bob_in, mut carl_in) = (other.login_recv("bob", "pw-bob"), other.login_recv("carl", "pw-carl"));
    ack_next(&mut bob_in);
    until(&mut ana_web, &receipts, |l| l.len() == 2 && l[1].starts_with("DELIVERED:bob:"));
    assert_eq!(states(&ana_web.listing(&history)), ["RECEIVED"], "one of two has it");
    ack_next(&mut carl_in);
    let status = next_status(&mut ana_events);
    assert!(status.ends_with(&format!(":{room}:{id}:DELIVERED:<ts>")), "{status}");
    until(&mut ana_web, &history, |l| states(l) == ["DELIVERED"]);

    assert_eq!(bob.request(&format!("READ:{room}:{id}")), "OK");
    assert_eq!(carl.request(&format!("READ:{room}:{id}")), "OK");
    let status = next_status(&mut ana_events);
    assert!(status.ends_with(&format!(":{room}:{id}:READ:<ts>")), "{status}");
    let lines =
        until(&mut ana_web, &receipts, |l| l.len() == 3 && l[1..].iter().all(|l| l.starts_with("READ:")));
    assert!(
        lines.iter().any(|l| l.starts_with("READ:bob:")) && lines.iter().any(|l| l.starts_with("READ:carl:"))
    );
    until(&mut ana_web, &history, |l| states(l) == ["READ"]);
    // A 1.0 connection, on either node, sees what it always saw.
    for node in [home, other] {
        assert_eq!(states(&node.login_send("ana", "pw-ana").listing(&history)), ["RECEIVED"]);
    }
}

#[test]
fn a_room_message_ticks_and_its_receipts_on_a_follower_and_on_the_leader() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    a.wait_for_log("cluster: node a leads (epoch 1)");
    let b = cluster.node("b");
    b.wait_for_log("node a leads (epoch 1): this node follows");
    a.register(&["ana", "bob", "carl"]);
    walk(&b, &a, ("#fol", "f1"));
    walk(&a, &b, ("#lead", "l1"));
}
