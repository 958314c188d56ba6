//! Several devices of one user (protocol 1.2) in a cluster: a user's
//! devices are served by the node of its session (docs/CLUSTER.md,
//! "Devices").

use super::support::cluster::Cluster;
use super::support::{Conn, TestServer, without_ts};
use super::{PW, next_event, register, send_conn};

/// A receive connection of `user`'s `device` on `node`, speaking 1.2.
fn device(node: &TestServer, user: &str, device: &str) -> Conn {
    let mut c = node.recv_conn();
    assert_eq!(c.request("VERSION:1.2"), "OK");
    assert_eq!(c.request(&format!("LOGIN:{user}@{device}:{PW}")), format!("OK:{user}"));
    c
}

#[test]
fn two_devices_on_one_node_both_get_a_message_from_another_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&a, "ana", "phone");
    let mut bob = send_conn(&b, "bob");
    let mut bob_recv = super::recv_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:hola").starts_with("OK:m1:"));
    assert_eq!(without_ts(&next_event(&mut laptop)), "MSG:1:bob:ana:m1:<ts>:hola");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:1:bob:ana:m1:<ts>:hola");
    laptop.send("ACK:1");
    phone.send("ACK:1");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "STATUS:1:ana:m1:DELIVERED:<ts>");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.listing("USERS"), ["ana", "bob"], "ana once");
    assert_eq!(ana.listing("DEVICES").len(), 2);
}

#[test]
fn a_device_that_logs_in_on_another_node_takes_the_user_there_and_nothing_is_lost() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&a, "ana", "phone");
    let mut bob = send_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:one").starts_with("OK:m1:"));
    for d in [&mut laptop, &mut phone] {
        assert_eq!(without_ts(&next_event(d)), "MSG:1:bob:ana:m1:<ts>:one");
    }
    laptop.send("ACK:1");
    // Node a is killed before the phone acknowledged: both devices come
    // back on node b, and the phone gets what it never acknowledged.
    a.kill();
    let mut phone = device(&b, "ana", "phone");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:1:bob:ana:m1:<ts>:one");
    let mut laptop = device(&b, "ana", "laptop");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    // The laptop may be sent m1 again (its position stayed on node a); it
    // loses nothing.
    let mut first = without_ts(&next_event(&mut laptop));
    if first == "MSG:1:bob:ana:m1:<ts>:one" {
        first = without_ts(&next_event(&mut laptop));
    }
    assert_eq!(first, "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:2:bob:ana:m2:<ts>:two");
}
