//! Several devices of one user (protocol 1.2) in a cluster: a user's
//! devices are served by the node of its session; their positions and
//! tokens are the database's (docs/CLUSTER.md, "Devices").

use super::support::cluster::{Cluster, eventually};
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
    // Two grey ticks at the first device's ACK, and only once.
    laptop.send("ACK:1");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "STATUS:1:ana:m1:DELIVERED:<ts>");
    phone.send("ACK:1");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:r1:hi").starts_with("OK:r1:"));
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:2:ana:bob:r1:<ts>:hi", "no second DELIVERED");
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

/// `LINK` on `node`: the code.
fn link(node: &TestServer, user: &str) -> String {
    let mut c = send_conn(node, user);
    c.request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string()
}

#[test]
fn a_token_made_on_one_node_logs_in_on_the_other_until_unlinked_on_any() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    let code = link(&a, "ana");
    let mut fresh = a.send_conn();
    let token = fresh.request(&format!("PAIR:ana@browser:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();
    // The token works on node b, for its device only.
    let mut browser = b.recv_conn();
    assert_eq!(browser.request("VERSION:1.2"), "OK");
    assert_eq!(browser.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana");
    let mut other = b.send_conn();
    assert!(other.request(&format!("LOGIN:ana@laptop:{token}")).starts_with("KO:AUTH_FAILED:"));
    // DEVICES on node a lists it; UNLINK there logs it out on node b and
    // revokes its token on both nodes.
    let mut ana = send_conn(&a, "ana");
    // (Online on another node, it shows the time it was last seen there.)
    assert!(ana.listing("DEVICES").iter().any(|l| l.starts_with("browser:")));
    assert_eq!(ana.request("UNLINK:browser"), "OK");
    assert_eq!(browser.read_to_close(), "BYE:UNLINKED\n");
    for node in [&a, &b] {
        let mut after = node.send_conn();
        assert!(after.request(&format!("LOGIN:ana@browser:{token}")).starts_with("KO:AUTH_FAILED:"));
    }
    assert!(!ana.listing("DEVICES").iter().any(|l| l.starts_with("browser:")));
}

#[test]
fn a_device_keeps_its_position_when_it_comes_back_on_another_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    drop(device(&a, "ana", "phone"));
    let mut bob = send_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:one").starts_with("OK:m1:"));
    assert_eq!(without_ts(&next_event(&mut laptop)), "MSG:1:bob:ana:m1:<ts>:one");
    laptop.send("ACK:1");
    drop(laptop);
    // Node a's flusher writes the position to the database within a second.
    let mut pg = cluster.pg.client();
    eventually("the laptop's position in the database", std::time::Duration::from_secs(10), || {
        pg.query_opt("SELECT position FROM devices WHERE folded = 'laptop'", &[])
            .unwrap()
            .and_then(|row| row.get::<_, Option<i64>>(0))
            == Some(1)
    });
    // On node b, the phone (which never had m1) gets it; the laptop does not.
    let mut phone = device(&b, "ana", "phone");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:1:bob:ana:m1:<ts>:one");
    let mut laptop = device(&b, "ana", "laptop");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&next_event(&mut laptop)), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:2:bob:ana:m2:<ts>:two");
}

#[test]
fn wachat_migrate_carries_positions_and_tokens() {
    let single = TestServer::start();
    register(&single, "ana");
    register(&single, "bob");
    let code = link(&single, "ana");
    let token = single.send_conn().request(&format!("PAIR:ana@browser:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();
    let mut laptop = device(&single, "ana", "laptop");
    drop(device(&single, "ana", "phone"));
    assert!(send_conn(&single, "bob").request("MSG:ana:m1:one").starts_with("OK:m1:"));
    assert_eq!(without_ts(&next_event(&mut laptop)), "MSG:1:bob:ana:m1:<ts>:one");
    laptop.send("ACK:1");
    drop(laptop);
    let file = single.data_dir.join("devices.csv");
    eventually("the laptop's position in devices.csv", std::time::Duration::from_secs(10), || {
        std::fs::read_to_string(&file).unwrap_or_default().contains("ana,laptop,1,")
    });
    let mut single = single;
    assert!(single.terminate().success());

    let cluster = Cluster::start();
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = super::wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("devices: 3 in"), "{}", moved.stdout);
    let a = cluster.node("a");
    let mut browser = a.recv_conn();
    assert_eq!(browser.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana", "the token moved");
    drop(browser);
    let mut phone = device(&a, "ana", "phone");
    assert_eq!(without_ts(&next_event(&mut phone)), "MSG:1:bob:ana:m1:<ts>:one", "the phone never had it");
    let mut laptop = device(&a, "ana", "laptop");
    assert!(send_conn(&a, "bob").request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&next_event(&mut laptop)), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
}
