//! Two (or three) `wachat serve` nodes on one PostgreSQL and one NATS,
//! each test with its own (`tests/support/cluster.rs`): whatever node a
//! client uses, it sees one chat. Built with `--features cluster` only.
#![cfg(feature = "cluster")]

mod support;

use std::time::Duration;

use support::cluster::{Cluster, eventually};
use support::{Conn, TestServer, without_ts};

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

/// The next line that is not presence nor a PING (answered).
fn next_event(c: &mut Conn) -> String {
    loop {
        let line = c.line();
        match line.as_str() {
            "PING" => c.send("PONG"),
            l if l.starts_with("JOINED:") || l.starts_with("LEFT:") || l.starts_with("MEMBER:") => {}
            _ => return line,
        }
    }
}

#[test]
fn a_direct_message_from_a_user_on_one_node_to_one_on_the_other_with_every_status() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana_recv = recv_conn(&a, "ana");
    let mut ana = send_conn(&a, "ana");
    let ok = ana.request("MSG:bob:m1:hola bob");
    assert!(ok.starts_with("OK:m1:"), "{ok}");
    let ts = ok.rsplit(':').next().unwrap().to_string();
    assert_eq!(next_event(&mut bob_recv), format!("MSG:1:ana:bob:m1:{ts}:hola bob"));
    // The same id again is a resend: its first OK, never delivered twice.
    assert_eq!(ana.request("MSG:bob:m1:hola again"), ok);
    bob_recv.send("ACK:1");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:1:bob:m1:DELIVERED:<ts>");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.request("READ:ana:m1"), "OK");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:2:bob:m1:READ:<ts>");
    // Both nodes tell the same history, with the state the message reached.
    for node in [&a, &b] {
        let mut c = send_conn(node, "ana");
        assert_eq!(c.listing("HISTORY:bob:10"), [format!("ana:bob:m1:{ts}:READ:hola bob")]);
    }
    // USERS covers both nodes.
    assert_eq!(ana.listing("USERS"), ["ana", "bob"]);
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
}

#[test]
fn a_message_to_an_offline_user_is_delivered_when_it_logs_in_on_the_other_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut ana = send_conn(&a, "ana");
    let ok1 = ana.request("MSG:bob:m1:one");
    let ok2 = ana.request("MSG:bob:m2:two");
    assert!(ok1.starts_with("OK:m1:") && ok2.starts_with("OK:m2:"));
    let mut bob_recv = recv_conn(&b, "bob");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:bob:m1:<ts>:one");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:2:ana:bob:m2:<ts>:two");
    bob_recv.send("ACK:2");
    // Acknowledged: a login on the first node replays nothing more.
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:2:bob:m2:DELIVERED:<ts>");
    drop(bob_recv);
    // Acknowledged on B: a login on A replays nothing; the next event is new.
    let mut again = recv_conn(&a, "bob");
    assert!(ana.request("MSG:bob:m3:three").starts_with("OK:m3:"));
    assert_eq!(without_ts(&next_event(&mut again)), "MSG:3:ana:bob:m3:<ts>:three");
}

#[test]
fn a_room_with_members_on_both_nodes_and_the_same_history_and_chats_on_both() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for (node, user) in [(&a, "ana"), (&b, "bob"), (&b, "cy")] {
        register(node, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut bob = send_conn(&b, "bob");
    let mut cy = send_conn(&b, "cy");
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#Tea"), "OK");
    assert_eq!(cy.request("JOIN:#tea"), "OK");
    let mut cy_recv = recv_conn(&b, "cy");
    cy_recv.send("VERSION:1.1");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana_recv = recv_conn(&a, "ana");
    let ok = ana.request("MSG:#tea:t1:hello room");
    assert!(ok.starts_with("OK:t1:"), "{ok}");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert_eq!(without_ts(&next_event(&mut cy_recv)), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert!(bob.request("MSG:#tea:t2:from b").starts_with("OK:t2:"));
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "MSG:1:bob:#tea:t2:<ts>:from b");
    assert!(bob.request("MSG:ana:d1:direct").starts_with("OK:d1:"));
    assert_eq!(ana.listing("ROOMS"), ["#general:3", "#tea:3"]);
    // One truth: the same listings whichever node is asked.
    let mut views = Vec::new();
    for node in [&a, &b] {
        let mut c = send_conn(node, "cy");
        views.push((c.listing("HISTORY:#tea:10"), c.listing("CHATS"), c.listing("ROOMS")));
    }
    assert_eq!(views[0], views[1]);
    assert_eq!(views[0].0.len(), 2);
    assert_eq!(views[0].1, ["#tea:2"]);
    let mut views = Vec::new();
    for node in [&a, &b] {
        let mut c = send_conn(node, "ana");
        views.push((c.listing("HISTORY:bob:10"), c.listing("CHATS")));
    }
    assert_eq!(views[0], views[1]);
    assert_eq!(views[0].1, ["bob:1", "#tea:1"]);
    // A 1.1 member on B hears of a LEAVE made on A.
    assert_eq!(ana.request("LEAVE:#tea"), "OK");
    loop {
        let line = cy_recv.line();
        if line.starts_with("MEMBER:") {
            assert_eq!(line, "MEMBER:#tea:ana:LEFT");
            break;
        }
    }
}

#[test]
fn a_login_on_one_node_replaces_the_session_on_the_other_and_presence_spans_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&a, "bob");
    let mut ana_on_a = recv_conn(&a, "ana");
    assert_eq!(bob_recv.line(), "JOINED:ana");
    let mut ana_on_b = recv_conn(&b, "ana");
    assert_eq!(ana_on_a.read_to_close(), "BYE:REPLACED\n");
    // Moving is not leaving: bob hears neither LEFT nor JOINED; a message
    // reaches ana on B.
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:x1:where are you").starts_with("OK:x1:"));
    assert_eq!(without_ts(&next_event(&mut ana_on_b)), "MSG:1:bob:ana:x1:<ts>:where are you");
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:ONLINE");
    drop(ana_on_b);
    assert_eq!(bob_recv.line(), "LEFT:ana");
    eventually("ana offline", Duration::from_secs(10), || bob.listing("USERS") == ["bob"]);
    assert!(!bob.request("LASTSEEN:ana").ends_with("ONLINE"));
}

#[test]
fn a_peer_on_another_node_is_introduced() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut bob = send_conn(&a, "bob"); // announced on A, received on B
    assert_eq!(bob.request("P2P:40123"), "OK");
    let mut ana = send_conn(&a, "ana");
    let answer = ana.request("PEER:bob");
    let fields: Vec<&str> = answer.split(':').collect();
    assert_eq!(&fields[..3], ["OK", "127.0.0.1", "40123"], "{answer}");
    assert_eq!(next_event(&mut bob_recv), format!("P2P:ana:{}", fields[3]));
    assert!(ana.request("PEER:nobody").starts_with("KO:OFFLINE:"));
}
