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
