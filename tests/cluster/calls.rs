//! Calls (protocol 1.2, §24) on a cluster: ana's laptop on node a, bob's
//! phone on node b. The leader keeps every call, as a single server does
//! (`server::calls`): each signal a follower's connection sends goes to
//! it, and what it relays reaches the devices on every node. The offer
//! rings across nodes, the answer reaches ana and takes the call out of
//! its ring time, a hang-up ends it on both; a call nobody answers is
//! missed as on one server; a device that leaves another node ends its
//! calls; a new call is judged against every call. And (1.2, §32) a
//! room's call with members on both nodes.

use super::support::cluster::{Cluster, eventually};
use super::support::{Conn, READ_TIMEOUT, TestServer};
use super::{PW, register};

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\n";

fn device(node: &TestServer, user: &str, device: &str) -> (Conn, Conn) {
    let mut events = node.recv_conn();
    assert_eq!(events.request("VERSION:1.2"), "OK");
    assert_eq!(events.request(&format!("LOGIN:{user}@{device}:{PW}")), format!("OK:{user}"));
    (node.login_send(&format!("{user}@{device}"), PW), events)
}

#[test]
fn waits_1_5_s_a_call_between_two_nodes_rings_is_answered_outlives_the_ring_time_and_hangs_up() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--ring-seconds", "1"]);
    let b = cluster.node_with("b", &["--ring-seconds", "1"]);
    register(&a, "ana");
    register(&a, "bob");
    let (mut ana, mut ana_events) = device(&a, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&b, "bob", "phone");

    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(bob_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(ana.request("CALL:bob:c1:ICE:a"), "OK");
    assert_eq!(bob_events.next_call(), "CALL:ana:c1:ICE:a");
    assert_eq!(bob.request("CALL:ana:c1:ICE:b"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:ICE:b");

    // Past node a's ring time: the call was answered, so it is not missed.
    // (A timer that must not fire can only be waited out.)
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(bob.request("CALL:ana:c1:HANGUP"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:END:hangup");
    assert_eq!(bob_events.next_call(), "CALL:bob:c1:END:hangup");
    // Node a heard the end: ana may call again at once.
    assert_eq!(ana.request(&format!("CALL:bob:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana:c2:OFFER:voice:{SDP}"));
    // Nobody answers: missed on both sides, and in bob's history on node b.
    assert_eq!(ana_events.next_call(), "CALL:ana:c2:END:missed");
    assert_eq!(bob_events.next_call(), "CALL:ana:c2:END:missed");
    // The answered call, hung up on node b, left its length (told by node
    // a, which kept it: past its ring time, 0:01 at least).
    let history = bob.listing("HISTORY:ana:5");
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0].contains(":📞 Voice call, 0:0") && !history[0].ends_with(", 0:00"), "{history:?}");
    assert!(history[1].ends_with(":📞 Missed voice call"), "{history:?}");
}

/// Signals about a call that never rang: the callee's four, sent by bob.
const STRAY: [&str; 4] =
    ["CALL:ana:c9:ANSWER:v=0\\n", "CALL:ana:c9:ICE:a", "CALL:ana:c9:DECLINE", "CALL:ana:c9:HANGUP"];

/// bob sends ana the stray signals, then a third user on bob's side
/// answers ana's real call with bob; the replies, and the next `CALL`
/// event ana hears (bob's offer, not a stray one).
fn strays(ana_at: &TestServer, bob_at: &TestServer) -> Vec<String> {
    let (mut ana, mut ana_events) = device(ana_at, "ana", "laptop");
    let (mut bob, mut bob_events) = device(bob_at, "bob", "phone");
    let (mut carl, _carl_events) = device(bob_at, "carl", "phone");
    let mut seen: Vec<String> = STRAY.iter().map(|request| bob.request(request)).collect();
    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    seen.push(carl.request("CALL:ana:c1:ANSWER:v=0\\n"));
    seen.push(carl.request("CALL:ana:c1:HANGUP"));
    assert_eq!(bob.request(&format!("CALL:ana:c2:OFFER:voice:{SDP}")), "OK");
    seen.push(ana_events.next_call());
    seen
}

#[test]
fn a_signal_about_no_call_between_the_two_is_refused_across_nodes_as_on_one_server() {
    let single = super::TestServer::start();
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&single, user);
        register(&a, user);
    }
    let alone = strays(&single, &single);
    let no_call = |id: &str| format!("KO:BAD_REQUEST:no call {id} (it ended, or never rang)");
    let mut expected = vec![no_call("c9"); 4];
    expected.extend([no_call("c1"), no_call("c1"), format!("CALL:bob:c2:OFFER:voice:{SDP}")]);
    assert_eq!(alone, expected, "one server");
    // ana on node a, bob and carl on node b only.
    assert_eq!(strays(&a, &b), alone, "the cluster answers as one server");
}

/// Whether `user`'s `device` is online, as `DEVICES` on `node` says.
fn seen_online(node: &TestServer, user: &str, device: &str) -> bool {
    let lines = node.login_send(user, PW).listing("DEVICES");
    lines.iter().any(|l| l.starts_with(&format!("{device}:ONLINE")))
}

#[test]
fn a_device_that_leaves_another_node_ends_the_calls_kept_for_it() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--ring-seconds", "600"]);
    let b = cluster.node_with("b", &["--ring-seconds", "600"]);
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let (_, mut bob_events) = device(&b, "bob", "phone");
    // ana's laptop: requests through node a, events through node b.
    let mut ana_events = b.recv_conn();
    assert_eq!(ana_events.request("VERSION:1.2"), "OK");
    assert_eq!(ana_events.request(&format!("LOGIN:ana@laptop:{PW}")), "OK:ana");
    let mut ana = a.login_send("ana@laptop", PW);
    eventually("node a sees ana's laptop and bob", READ_TIMEOUT, || {
        seen_online(&a, "ana", "laptop") && seen_online(&a, "bob", "phone")
    });
    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    drop(ana_events);
    assert_eq!(bob_events.next_call(), "CALL:ana:c1:END:gone");
    let mut bob = b.login_send("bob@phone", PW);
    let history = bob.listing("HISTORY:ana:5");
    assert!(history.iter().any(|l| l.ends_with(":📞 Missed voice call")), "{history:?}");

    let (mut carl, mut carl_events) = device(&a, "carl", "laptop");
    assert_eq!(carl.request(&format!("CALL:bob:c2:OFFER:video:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:carl:c2:OFFER:video:{SDP}"));
    assert_eq!(bob.request("CALL:carl:c2:ANSWER:v=0\\n"), "OK");
    assert_eq!(carl_events.next_call(), "CALL:bob:c2:ANSWER:v=0\\n");
    drop(bob_events);
    assert_eq!(carl_events.next_call(), "CALL:bob:c2:END:gone");
    // The call is out of node a's table.
    assert_eq!(carl.request("CALL:bob:c2:HANGUP"), "KO:BAD_REQUEST:no call c2 (it ended, or never rang)");
}

/// A new call is judged against every call, as one server judges it
/// against its one table (`calls::may_ring`): ana on node a calls bob on
/// node b, who answers; then carl, on node b, finds bob busy and ana
/// busy, and bob may not reuse the id of the call he is in.
#[test]
fn a_call_offered_on_one_node_is_judged_against_the_calls_of_the_others() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let (mut ana, mut ana_events) = device(&a, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&b, "bob", "phone");
    let (mut carl, mut carl_events) = device(&b, "carl", "phone");
    eventually("node a sees bob and carl", READ_TIMEOUT, || {
        seen_online(&a, "bob", "phone") && seen_online(&a, "carl", "phone")
    });
    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(bob_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");

    assert_eq!(carl.request(&format!("CALL:bob:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(carl_events.next_call(), "CALL:bob:c2:END:busy");
    assert_eq!(carl.request(&format!("CALL:ana:c3:OFFER:voice:{SDP}")), "OK");
    assert_eq!(carl_events.next_call(), "CALL:ana:c3:END:busy");
    let reused = bob.request(&format!("CALL:carl:c1:OFFER:voice:{SDP}"));
    assert_eq!(reused, "KO:BAD_REQUEST:the call id c1 is in use");
    let talking = bob.request(&format!("CALL:carl:c4:OFFER:voice:{SDP}"));
    assert_eq!(talking, "KO:FULL:you are in a call: hang up first");
    // Hung up: bob is free again on node b, for carl's next call.
    assert_eq!(ana.request("CALL:bob:c1:HANGUP"), "OK");
    assert_eq!(bob_events.next_call(), "CALL:ana:c1:END:hangup");
    assert_eq!(carl.request(&format!("CALL:bob:c5:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:carl:c5:OFFER:voice:{SDP}"));
}

/// The next `GROUPCALL` event, past the rest.
fn next_group(events: &mut Conn) -> String {
    loop {
        let line = events.next_event();
        if line.starts_with("GROUPCALL:") {
            return line;
        }
    }
}

/// 1.2 (§32): a room's call with members on both nodes: ana on node a
/// starts it, bob and carl on node b ring and join, each signal goes from
/// one node's connection to the other node's device in the call and to
/// no one else, carl's device leaving node b takes him out, and the last
/// one out ends the call, its line edited for everyone.
#[test]
fn a_room_s_call_rings_and_is_joined_from_a_follower_and_its_signals_cross_nodes() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--ring-seconds", "600"]);
    let b = cluster.node_with("b", &["--ring-seconds", "600"]);
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
        assert_eq!(a.login_send(user, PW).request("JOIN:#lab"), "OK");
    }
    let (mut ana, mut ana_events) = device(&a, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&b, "bob", "phone");
    let (mut carl, mut carl_events) = device(&b, "carl", "laptop");
    eventually("node a sees bob and carl", READ_TIMEOUT, || {
        seen_online(&a, "bob", "phone") && seen_online(&a, "carl", "laptop")
    });
    let id =
        ana.request("GROUPCALL:#lab:START:video").strip_prefix("OK:").expect("the call's id").to_string();
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:RING:{id}:ana:video"));
    assert_eq!(next_group(&mut carl_events), format!("GROUPCALL:#lab:RING:{id}:ana:video"));
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:START:{id}:ana:video"));
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:JOINED:{id}:bob"));
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana:{SDP}")), "OK");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:OFFER:{id}:bob:{SDP}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:ANSWER:{id}:bob:{SDP}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:bob"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:ANSWER:{id}:ana:{SDP}"));
    // carl, on the follower, not in the call yet: nothing reaches him, nothing of his goes.
    assert_eq!(
        carl.request(&format!("GROUPCALL:#lab:ICE:{id}:ana:x")),
        format!("KO:BAD_REQUEST:you are not in #lab's call {id}")
    );
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana,bob");
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:OFFER:{id}:bob:{SDP}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:carl"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:OFFER:{id}:carl:{SDP}"));
    // carl's laptop leaves node b: he is out of the call.
    drop(carl_events);
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:carl"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana"));
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    let mut seen = Vec::new();
    while seen.last() != Some(&format!("GROUPCALL:#lab:END:{id}")) {
        seen.push(next_group(&mut ana_events));
    }
    assert!(seen.contains(&format!("GROUPCALL:#lab:LEFT:{id}:carl")), "{seen:?}");
    let history = b.login_send("carl", PW).listing("HISTORY:#lab:1");
    assert!(history[0].ends_with(" · joined: bob, carl · missed: nobody"), "{history:?}");
}
