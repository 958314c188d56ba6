//! Several devices of one user (protocol 1.2) in a cluster: each device
//! has its session on the node it logged in to, and a user's devices may
//! be on several nodes at once; their positions and tokens are records
//! of the cluster's log (docs/CLUSTER-OPS.md, "Devices and the door").

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::{Conn, TestServer, without_ts};
use super::{PW, next_presence, register, send_conn};
use wachat::store::Record;

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
    assert_eq!(without_ts(&laptop.next_event()), "MSG:1:bob:ana:m1:<ts>:hola");
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:hola");
    // Two grey ticks at the first device's ACK, and only once.
    laptop.send("ACK:1");
    assert_eq!(without_ts(&bob_recv.next_event()), "STATUS:1:ana:m1:DELIVERED:<ts>");
    phone.send("ACK:1");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:r1:hi").starts_with("OK:r1:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:2:ana:bob:r1:<ts>:hi", "no second DELIVERED");
    assert_eq!(ana.listing("USERS"), ["ana", "bob"], "ana once");
    assert_eq!(ana.listing("DEVICES").len(), 2);
}

#[test]
fn the_devices_of_a_killed_node_come_back_on_another_and_nothing_is_lost() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&a, "ana", "phone");
    let mut bob = send_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:one").starts_with("OK:m1:"));
    for d in [&mut laptop, &mut phone] {
        assert_eq!(without_ts(&d.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    }
    laptop.send("ACK:1");
    // Node a, the leader, is killed before the phone acknowledged: node b
    // leads once the lease runs out; both devices come back on it, and
    // the phone gets what it never acknowledged.
    a.kill();
    let mut bob = super::once_it_serves(&b, "bob", PW);
    let mut phone = device(&b, "ana", "phone");
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    let mut laptop = device(&b, "ana", "laptop");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    // The laptop may be sent m1 again (its position stayed on node a); it
    // loses nothing.
    let mut first = without_ts(&laptop.next_event());
    if first == "MSG:1:bob:ana:m1:<ts>:one" {
        first = without_ts(&laptop.next_event());
    }
    assert_eq!(first, "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
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

/// A node's directory may hold the file of devices a node of an earlier
/// build kept as a cache of the database: the node removes it at its
/// start, and serves the devices of the log, not of the file.
#[test]
fn a_node_removes_an_old_cache_of_devices_and_serves_those_of_the_log() {
    let cluster = Cluster::start();
    let (a, mut b) = (cluster.node("a"), cluster.restartable_node("b"));
    let b_args = cluster.node_args("b", &[]);
    register(&a, "ana");
    let code = link(&a, "ana");
    let token = a.send_conn().request(&format!("PAIR:ana@browser:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();
    assert!(b.terminate().success());
    let (file, spare) = (b.data_dir.join("devices.csv"), b.data_dir.join("devices.spare"));
    let stale = format!("user,device,position,seen,address,token\nana,phone,3,0,,{}\n", "ab".repeat(32));
    std::fs::write(&file, stale).unwrap();
    std::fs::write(&spare, vec![0u8; 4096]).unwrap();
    b.restart_in_place(&b_args);
    b.wait_for_log("devices.csv removed: the devices are records of the log");
    assert!(!file.exists() && !spare.exists(), "the cache is gone");
    let mut browser = b.recv_conn();
    assert_eq!(browser.request("VERSION:1.2"), "OK");
    assert_eq!(browser.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana");
    let devices = send_conn(&b, "ana").listing("DEVICES");
    assert!(devices.iter().any(|l| l.starts_with("browser:")), "{devices:?}");
    assert!(!devices.iter().any(|l| l.starts_with("phone:")), "{devices:?}");
}

/// A token is in the log the leader writes: the node that leads after
/// it was killed lets the device in, and no other.
#[test]
fn a_token_made_through_a_killed_leader_logs_in_on_the_next() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    let code = link(&a, "ana");
    let token = a.send_conn().request(&format!("PAIR:ana@browser:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();
    a.kill();
    drop(super::once_it_serves(&b, "ana", PW));
    let mut browser = b.recv_conn();
    assert_eq!(browser.request("VERSION:1.2"), "OK");
    assert_eq!(browser.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana");
    let mut other = b.send_conn();
    assert!(other.request(&format!("LOGIN:ana@laptop:{token}")).starts_with("KO:AUTH_FAILED:"));
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
    assert_eq!(without_ts(&laptop.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    laptop.send("ACK:1");
    drop(laptop);
    // The position is the laptop's `ACK` record's, riding the next batch.
    eventually("the laptop's ACK in the log", Duration::from_secs(10), || at_in_log(&cluster, "laptop", 1));
    // On node b, the phone (which never had m1) gets it; the laptop does not.
    let mut phone = device(&b, "ana", "phone");
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    let mut laptop = device(&b, "ana", "laptop");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
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
    assert_eq!(without_ts(&laptop.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    laptop.send("ACK:1");
    drop(laptop);
    // The position is the laptop's `ACK` record in the single server's log.
    let log = single.data_dir.join("log");
    eventually("the laptop's ACK in the log", Duration::from_secs(10), || {
        std::fs::read_dir(&log).unwrap().any(|segment| {
            let text = std::fs::read_to_string(segment.unwrap().path()).unwrap_or_default();
            text.lines().any(|line| line.starts_with("ACK,") && line.contains(",ana,laptop,,1,"))
        })
    });
    let mut single = single;
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    let mut browser = a.recv_conn();
    assert_eq!(browser.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana", "the token moved");
    drop(browser);
    let mut phone = device(&a, "ana", "phone");
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:one", "the phone never had it");
    let mut laptop = device(&a, "ana", "laptop");
    assert!(send_conn(&a, "bob").request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
}

/// True once the shared log holds an `ACK` record of `ana`'s `device`
/// at `position`.
fn at_in_log(cluster: &Cluster, device: &str, position: u64) -> bool {
    super::logged(cluster).iter().any(|r| {
        matches!(r, Record::Ack { user, device: Some((name, at)), .. }
            if &**user == "ana" && &**name == device && *at == position)
    })
}

/// A device's position is its `ACK` record's, which every node applies:
/// the leader killed (`kill -9`) once that record is in the log, the
/// device comes back through the node that leads next exactly where it
/// was (nothing again), and the other device of its user, which had
/// acknowledged nothing, from its own position.
#[test]
fn a_device_keeps_its_position_through_a_failover() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    // Through the follower, b: the leader, a, serves them.
    let mut laptop = device(&b, "ana", "laptop");
    drop(device(&b, "ana", "phone"));
    let mut bob = send_conn(&b, "bob");
    for (n, id) in [(1, "m1"), (2, "m2")] {
        assert!(bob.request(&format!("MSG:ana:{id}:text {n}")).starts_with(&format!("OK:{id}:")));
        assert_eq!(without_ts(&laptop.next_event()), format!("MSG:{n}:bob:ana:{id}:<ts>:text {n}"));
    }
    laptop.send("ACK:2");
    eventually("the laptop's ACK in the log", Duration::from_secs(10), || at_in_log(&cluster, "laptop", 2));
    a.kill();
    drop(laptop);
    let mut bob = super::once_it_serves(&b, "bob", PW);
    let mut laptop = device(&b, "ana", "laptop");
    assert!(bob.request("MSG:ana:m3:text 3").starts_with("OK:m3:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:3:bob:ana:m3:<ts>:text 3", "the laptop had 1 and 2");
    let mut phone = device(&b, "ana", "phone");
    for (n, id) in [(1, "m1"), (2, "m2"), (3, "m3")] {
        assert_eq!(without_ts(&phone.next_event()), format!("MSG:{n}:bob:ana:{id}:<ts>:text {n}"));
    }
}

/// How far `user`'s inbox is acknowledged (trimmed): its newest `ACK`
/// record in the shared log.
fn acked(cluster: &Cluster, user: &str) -> u64 {
    let acks = super::logged(cluster).into_iter().filter_map(|record| match record {
        wachat::store::Record::Ack { user: of, seq, .. } if &*of == user => Some(seq),
        _ => None,
    });
    acks.max().unwrap_or(0)
}

/// `DEVICES` of `user` asked on `node`: `device` → `ONLINE` or a time.
fn presence_of(node: &TestServer, user: &str, device: &str) -> String {
    let lines = send_conn(node, user).listing("DEVICES");
    let line = lines.iter().find(|l| l.starts_with(&format!("{device}:"))).expect("listed");
    line.split(':').nth(1).unwrap().to_string()
}

#[test]
fn two_devices_on_two_nodes_both_get_a_message_and_the_user_is_online_once() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = super::recv_conn(&a, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    assert_eq!(next_presence(&mut bob_recv), "JOINED:ana");
    // Another device on another node is added: the laptop stays.
    let mut phone = device(&b, "ana", "phone");
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:m1:hola").starts_with("OK:m1:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:1:bob:ana:m1:<ts>:hola");
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:hola");
    // DELIVERED at the first device's ACK, on node b; the laptop, on node
    // a, still holds the inbox.
    phone.send("ACK:1");
    assert_eq!(without_ts(&bob_recv.next_event()), "STATUS:1:ana:m1:DELIVERED:<ts>");
    assert_eq!(acked(&cluster, "ana"), 0, "the laptop has not acknowledged");
    laptop.send("ACK:1");
    eventually("the inbox trimmed", Duration::from_secs(10), || acked(&cluster, "ana") == 1);
    // Each node shows both devices online, and ana once.
    for node in [&a, &b] {
        assert_eq!(presence_of(node, "ana", "laptop"), "ONLINE");
        assert_eq!(presence_of(node, "ana", "phone"), "ONLINE");
        assert_eq!(send_conn(node, "bob").listing("USERS"), ["ana", "bob"]);
    }
    // The laptop goes: ana stays online (her phone), nobody hears LEFT.
    drop(laptop);
    eventually("the laptop offline", Duration::from_secs(10), || {
        presence_of(&b, "ana", "laptop") != "ONLINE"
    });
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:ONLINE");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
    // The last device goes: one LEFT, and a time last seen.
    drop(phone);
    assert_eq!(next_presence(&mut bob_recv), "LEFT:ana");
    eventually("ana last seen", Duration::from_secs(10), || !bob.request("LASTSEEN:ana").ends_with("ONLINE"));
    // Back on node a: online again.
    let _laptop = device(&a, "ana", "laptop");
    assert_eq!(next_presence(&mut bob_recv), "JOINED:ana");
}

#[test]
fn the_same_device_on_another_node_replaces_only_itself() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&a, "ana", "phone");
    let mut laptop_on_b = device(&b, "ana", "laptop");
    assert_eq!(laptop.read_to_close(), "BYE:REPLACED\n");
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:m1:hola").starts_with("OK:m1:"));
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:hola", "the phone stays");
    assert_eq!(without_ts(&laptop_on_b.next_event()), "MSG:1:bob:ana:m1:<ts>:hola");
}

#[test]
fn max_devices_are_counted_across_nodes() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--max-devices", "2"]);
    let b = cluster.node_with("b", &["--max-devices", "2"]);
    register(&a, "ana");
    let _laptop = device(&a, "ana", "laptop");
    let phone = device(&b, "ana", "phone");
    // One device on each node: a third is refused on either, and the
    // connection may log in again.
    for node in [&a, &b] {
        let mut tablet = node.recv_conn();
        assert_eq!(tablet.request("VERSION:1.2"), "OK");
        let refused = tablet.request(&format!("LOGIN:ana@tablet:{PW}"));
        assert!(refused.starts_with("KO:TOO_MANY_DEVICES:"), "{refused}");
    }
    // The same device again replaces itself: not one too many.
    let phone_on_a = device(&a, "ana", "phone");
    drop(phone);
    let mut tablet = b.recv_conn();
    assert_eq!(tablet.request("VERSION:1.2"), "OK");
    assert!(tablet.request(&format!("LOGIN:ana@tablet:{PW}")).starts_with("KO:TOO_MANY_DEVICES:"));
    drop(phone_on_a);
    eventually("a place for the tablet", Duration::from_secs(10), || {
        tablet.request(&format!("LOGIN:ana@tablet:{PW}")) == "OK:ana"
    });
}

#[test]
fn one_node_killed_the_other_device_works_and_the_lost_one_gets_exactly_what_it_missed() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&b, "ana", "phone");
    let mut bob = send_conn(&b, "bob");
    let mut bob_recv = super::recv_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:one").starts_with("OK:m1:"));
    for d in [&mut laptop, &mut phone] {
        assert_eq!(without_ts(&d.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
        d.send("ACK:1");
    }
    eventually("both acknowledged", Duration::from_secs(10), || acked(&cluster, "ana") == 1);
    a.kill();
    // Node a led: the connections node b passed on to it end with it (the
    // loss signal); node b leads once the lease runs out, and the phone's
    // client, on node b, connects again and goes on from its last ACK.
    phone.read_to_close();
    bob_recv.read_to_close();
    let mut bob = super::once_it_serves(&b, "bob", PW);
    let mut phone = device(&b, "ana", "phone");
    let mut bob_recv = super::recv_conn(&b, "bob");
    for (id, text) in [("m2", "two"), ("m3", "three")] {
        assert!(bob.request(&format!("MSG:ana:{id}:{text}")).starts_with(&format!("OK:{id}:")));
    }
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(without_ts(&phone.next_event()), "MSG:3:bob:ana:m3:<ts>:three");
    phone.send("ACK:3");
    // The laptop holds the inbox: the phone's ACK (whose transaction gives
    // bob his DELIVERED) trims no further than it.
    while !bob_recv.next_event().contains(":ana:m3:DELIVERED:") {}
    assert_eq!(acked(&cluster, "ana"), 1);
    // The laptop comes back, on node b: exactly what it missed, once.
    let mut laptop = device(&b, "ana", "laptop");
    assert_eq!(without_ts(&laptop.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(without_ts(&laptop.next_event()), "MSG:3:bob:ana:m3:<ts>:three");
    assert!(bob.request("MSG:ana:m4:four").starts_with("OK:m4:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:4:bob:ana:m4:<ts>:four");
    assert_eq!(without_ts(&phone.next_event()), "MSG:4:bob:ana:m4:<ts>:four");
}

/// A `READMARK` without its `<ts>`.
fn mark_without_ts(line: &str) -> String {
    match line.rsplit_once(':') {
        Some((head, ts)) if line.starts_with("READMARK:") && ts.parse::<u64>().is_ok() => {
            format!("{head}:<ts>")
        }
        _ => line.to_string(),
    }
}

#[test]
fn a_message_sent_on_one_node_and_a_read_on_the_other_reach_every_device_of_the_user() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut laptop = device(&a, "ana", "laptop");
    let mut phone = device(&b, "ana", "phone");
    let mut bob_recv = super::recv_conn(&a, "bob");
    // Sent from the laptop's side (node a): a 1.2 copy for every device,
    // the phone on node b too.
    let mut on_laptop = a.send_conn();
    assert_eq!(on_laptop.request(&format!("LOGIN:ana@laptop:{PW}")), "OK:ana");
    assert!(on_laptop.request("MSG:bob:s1:from the laptop").starts_with("OK:s1:"));
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:ana:bob:s1:<ts>:from the laptop");
    assert_eq!(without_ts(&laptop.next_event()), "MSG:1:ana:bob:s1:<ts>:from the laptop");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:bob:s1:<ts>:from the laptop");
    // Read on the phone (node b): bob hears READ once, the laptop (node a)
    // gets the read mark, and the unread count clears everywhere.
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:m1:hola").starts_with("OK:m1:"));
    assert_eq!(without_ts(&laptop.next_event()), "MSG:2:bob:ana:m1:<ts>:hola");
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m1:<ts>:hola");
    let mut on_phone = b.send_conn();
    assert_eq!(on_phone.request(&format!("LOGIN:ana@phone:{PW}")), "OK:ana");
    assert_eq!(on_phone.request("READ:bob:m1"), "OK");
    assert_eq!(without_ts(&bob_recv.next_event()), "STATUS:2:ana:m1:READ:<ts>");
    assert_eq!(mark_without_ts(&laptop.next_event()), "READMARK:3:bob:m1:<ts>");
    assert_eq!(mark_without_ts(&phone.next_event()), "READMARK:3:bob:m1:<ts>");
    assert!(on_laptop.listing("CHATS").contains(&"bob:0".to_string()), "read on the phone");
    // A device that was offline gets them in its replay, in order; a 1.0
    // connection (no device) is sent neither copies nor read marks.
    let mut tablet = device(&b, "ana", "tablet");
    let replay: Vec<String> = (0..3).map(|_| mark_without_ts(&without_ts(&tablet.next_event()))).collect();
    assert_eq!(
        replay,
        ["MSG:1:ana:bob:s1:<ts>:from the laptop", "MSG:2:bob:ana:m1:<ts>:hola", "READMARK:3:bob:m1:<ts>"]
    );
    let mut old = super::recv_conn(&a, "ana");
    assert_eq!(without_ts(&old.next_event()), "MSG:2:bob:ana:m1:<ts>:hola");
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&old.next_event()), "MSG:4:bob:ana:m2:<ts>:two");
}

#[test]
fn waits_2_5_s_a_device_forgotten_on_one_node_stops_holding_the_inbox_for_the_other() {
    // 0.00002 days is 1.7 s.
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--device-days", "0.00002"]);
    let b = cluster.node_with("b", &["--device-days", "0.00002"]);
    register(&a, "ana");
    register(&a, "bob");
    drop(device(&a, "ana", "old"));
    let mut phone = device(&b, "ana", "phone");
    let mut bob = send_conn(&b, "bob");
    let mut bob_recv = super::recv_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:one").starts_with("OK:m1:"));
    assert_eq!(without_ts(&phone.next_event()), "MSG:1:bob:ana:m1:<ts>:one");
    phone.send("ACK:1");
    assert_eq!(without_ts(&bob_recv.next_event()), "STATUS:1:ana:m1:DELIVERED:<ts>");
    assert_eq!(acked(&cluster, "ana"), 0, "the old device (on node a) holds the inbox");
    // The old device's days pass (the clock, not a synchronisation).
    std::thread::sleep(Duration::from_millis(2500));
    assert!(bob.request("MSG:ana:m2:two").starts_with("OK:m2:"));
    assert_eq!(without_ts(&phone.next_event()), "MSG:2:bob:ana:m2:<ts>:two");
    phone.send("ACK:2");
    assert_eq!(without_ts(&bob_recv.next_event()), "STATUS:2:ana:m2:DELIVERED:<ts>", "the ACK is in");
    assert_eq!(acked(&cluster, "ana"), 2, "forgotten, it holds nothing");
    // Back on node a, it starts from what the inbox still holds: nothing.
    let mut old = device(&a, "ana", "old");
    assert!(bob.request("MSG:ana:m3:three").starts_with("OK:m3:"));
    assert_eq!(without_ts(&old.next_event()), "MSG:3:bob:ana:m3:<ts>:three");
}

/// Many receivers acknowledging at once on two nodes: every `ACK` writes
/// its device's position, and the inboxes are trimmed to it. (An `ACK`
/// once held the devices' book across that write to the database, and the
/// node's `ACK`s stopped for good under load: inboxes grew without end.)
#[test]
fn under_load_every_acknowledged_message_leaves_the_inboxes() {
    let cluster = Cluster::start();
    let extra = ["--exempt", "127.0.0.1"];
    let (a, b) = (cluster.node_with("a", &extra), cluster.node_with("b", &extra));
    let nodes = format!(
        "127.0.0.1:{}:{},127.0.0.1:{}:{}",
        a.send.port(),
        a.recv.port(),
        b.send.port(),
        b.recv.port()
    );
    // 2 s of messages, after 120 accounts made: more than a one-shot
    // command's 10 s on a busy machine.
    let args = ["--server", &nodes, "--pairs", "60", "--messages", "40", "--rate", "20"];
    let bench = super::support::run_wachat_output("bench", &args, Duration::from_secs(120));
    assert!(bench.status.success(), "{}", String::from_utf8_lossy(&bench.stderr));
    // Each receiver's inbox is trimmed past its 40 messages: an `ACK`
    // record of each in the log (the senders' STATUS events may wait, as
    // their receive connections are gone).
    eventually("every message acknowledged out of the inboxes", Duration::from_secs(10), || {
        (0..60).all(|i| acked(&cluster, &format!("bench-r{i}")) >= 40)
    });
}
