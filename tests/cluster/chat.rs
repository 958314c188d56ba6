//! One chat across nodes: direct messages and their statuses, offline
//! delivery, rooms, sessions, presence and peers.

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::without_ts;
use super::{PW, next_presence, recv_conn, register, send_conn};

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
    assert_eq!(bob_recv.next_event(), format!("MSG:1:ana:bob:m1:{ts}:hola bob"));
    // The same id again is a resend: its first OK, never delivered twice.
    assert_eq!(ana.request("MSG:bob:m1:hola again"), ok);
    bob_recv.send("ACK:1");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:1:bob:m1:DELIVERED:<ts>");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.request("READ:ana:m1"), "OK");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:2:bob:m1:READ:<ts>");
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
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:bob:m1:<ts>:one");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:2:ana:bob:m2:<ts>:two");
    bob_recv.send("ACK:2");
    // Acknowledged: a login on the first node replays nothing more.
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:2:bob:m2:DELIVERED:<ts>");
    drop(bob_recv);
    // Acknowledged on B: a login on A replays nothing; the next event is new.
    let mut again = recv_conn(&a, "bob");
    assert!(ana.request("MSG:bob:m3:three").starts_with("OK:m3:"));
    assert_eq!(without_ts(&again.next_event()), "MSG:3:ana:bob:m3:<ts>:three");
}

/// A pipelined burst shares a batch, whose events an inbox keeps as runs
/// (`Queued::width`, in `src/store/state/inbox.rs`): they still come one by one, are acknowledged
/// part way, and the rest is replayed from where the acknowledgement
/// stopped, on either node; their DELIVERED ticks likewise.
#[test]
fn a_burst_is_delivered_acknowledged_part_way_and_replayed_from_there() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut ana = send_conn(&a, "ana");
    let burst: String = (0..10).map(|i| format!("MSG:bob:m{i}:text {i}\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 0..10 {
        let ok = ana.line();
        assert!(ok.starts_with(&format!("OK:m{i}:")), "{ok}");
    }
    let msg = |i: usize| format!("MSG:{}:ana:bob:m{i}:<ts>:text {i}", i + 1);
    let delivered = |seq: usize, i: usize| format!("STATUS:{seq}:bob:m{i}:DELIVERED:<ts>");
    let mut bob_recv = recv_conn(&b, "bob");
    for i in 0..10 {
        assert_eq!(without_ts(&bob_recv.next_event()), msg(i));
    }
    bob_recv.send("ACK:4");
    let mut ana_recv = recv_conn(&a, "ana");
    for i in 0..4 {
        assert_eq!(without_ts(&ana_recv.next_event()), delivered(i + 1, i));
    }
    drop(bob_recv);
    // Acknowledged up to 4 (ana heard of it): the rest only, on A.
    let mut bob_recv = recv_conn(&a, "bob");
    for i in 4..10 {
        assert_eq!(without_ts(&bob_recv.next_event()), msg(i));
    }
    bob_recv.send("ACK:10");
    for i in 4..10 {
        assert_eq!(without_ts(&ana_recv.next_event()), delivered(i + 1, i));
    }
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.request("READ:ana:m7"), "OK");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:11:bob:m7:READ:<ts>");
    // ana acknowledged nothing: a login on B replays her eleven events.
    drop(ana_recv);
    let mut ana_recv = recv_conn(&b, "ana");
    for i in 0..10 {
        assert_eq!(without_ts(&ana_recv.next_event()), delivered(i + 1, i));
    }
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:11:bob:m7:READ:<ts>");
    let history = ana.listing("HISTORY:bob:20");
    let states: Vec<&str> = history.iter().map(|l| l.split(':').nth(4).unwrap()).collect();
    assert_eq!(states, [["READ"; 8].as_slice(), &["DELIVERED"; 2]].concat());
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
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert_eq!(without_ts(&cy_recv.next_event()), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert!(bob.request("MSG:#tea:t2:from b").starts_with("OK:t2:"));
    assert_eq!(without_ts(&ana_recv.next_event()), "MSG:1:bob:#tea:t2:<ts>:from b");
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
    // Told BYE, a client closes: until then node A counts the
    // connection (its reader waits up to --timeout for the close).
    drop(ana_on_a);
    // Moving is not leaving: bob hears neither LEFT nor JOINED; a message
    // reaches ana on B.
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:x1:where are you").starts_with("OK:x1:"));
    assert_eq!(without_ts(&ana_on_b.next_event()), "MSG:1:bob:ana:x1:<ts>:where are you");
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
    assert_eq!(bob_recv.next_event(), format!("P2P:ana:{}", fields[3]));
    assert!(ana.request("PEER:nobody").starts_with("KO:OFFLINE:"));
    // Why not, in a single server's words (`p2p::offline`), though
    // carl's node said it: the reason names carl once.
    register(&a, "carl");
    let _carl_recv = recv_conn(&b, "carl");
    // carl's receive connection on B reaches the leader, A, through a
    // node link of its own: until it is there, A rightly says carl is not
    // connected.
    let mut answer = String::new();
    eventually("carl online on node A", Duration::from_secs(10), || {
        answer = ana.request("PEER:carl");
        answer != "KO:OFFLINE:carl is not connected"
    });
    assert_eq!(answer, "KO:OFFLINE:carl accepts no direct chats (no P2P port announced)");
}

/// The leader killed: the connections the follower passed on to it end
/// (the loss signal, as when a single server dies); once the follower
/// leads, its users log in there again, and the dead leader's own users
/// are offline.
#[test]
fn a_dead_leaders_users_are_offline_on_the_node_that_leads_after_it() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let _ana_recv = recv_conn(&a, "ana");
    assert_eq!(next_presence(&mut bob_recv), "JOINED:ana");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
    a.kill(); // no goodbye
    bob_recv.read_to_close();
    bob.read_to_close();
    let mut bob = super::once_it_serves(&b, "bob", PW);
    let _bob_recv = super::recv_once_it_serves(&b, "bob");
    assert!(!bob.request("LASTSEEN:ana").ends_with("ONLINE"));
    assert_eq!(bob.listing("USERS"), ["bob"]);
}

#[test]
fn typing_reaches_a_peer_and_a_room_on_the_other_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for (node, user) in [(&a, "ana"), (&b, "bob"), (&b, "cy")] {
        register(node, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut cy = send_conn(&b, "cy");
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(cy.request("JOIN:#tea"), "OK");
    let mut ana_recv = recv_conn(&a, "ana");
    // One message waits for each of bob and cy on B: their ACK, sent after
    // VERSION:1.2, comes back to ana on A as a STATUS once B has read both.
    let mut on_b = Vec::new();
    for user in ["bob", "cy"] {
        assert!(ana.request(&format!("MSG:{user}:to-{user}:hi")).starts_with("OK:"));
        let mut events = recv_conn(&b, user);
        assert!(events.next_event().starts_with("MSG:1:ana:"));
        events.send("VERSION:1.2");
        events.send("ACK:1");
        let status = without_ts(&ana_recv.next_event());
        assert_eq!(status, format!("STATUS:{}:{user}:to-{user}:DELIVERED:<ts>", on_b.len() + 1));
        on_b.push(events);
    }
    let (bob_recv, cy_recv) = on_b.split_at_mut(1);
    assert_eq!(ana.request("TYPING:bob"), "OK");
    assert_eq!(bob_recv[0].next_event(), "TYPING:ana:bob");
    assert_eq!(ana.request("TYPING:#tea"), "OK");
    assert_eq!(cy_recv[0].next_event(), "TYPING:ana:#tea");
}

/// A relayed event (never stored) reaches a device the moment its login
/// is answered, on whichever node: the node that relays it must not
/// first have to hear where the device logged in. (The test above waits
/// for a round trip before its `TYPING`; this one does not.) Ten users
/// in turn log in on B, and ana, already on A, types to each at once.
#[test]
fn a_relayed_event_reaches_a_device_logged_in_a_moment_before_on_the_other_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    let users: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    for user in &users {
        register(&b, user);
    }
    let mut ana = send_conn(&a, "ana");
    for user in &users {
        let mut events = b.recv_conn();
        assert_eq!(events.request("VERSION:1.2"), "OK");
        assert_eq!(events.request(&format!("LOGIN:{user}:{PW}")), format!("OK:{user}"));
        assert_eq!(ana.request(&format!("TYPING:{user}")), "OK");
        assert_eq!(events.next_event(), format!("TYPING:ana:{user}"), "{user}, typed to as it logged in");
    }
}
