//! Calls (protocol 1.2, §24) on a cluster: ana's laptop on node a, bob's
//! phone on node b. The offer rings across nodes, the answer served by b
//! reaches ana and takes the call out of a's ring time (`calls::heard`),
//! a hang-up ends it on both; a call nobody answers is missed as on one
//! server, the notice in bob's inbox on his node.

use super::support::Conn;
use super::support::cluster::Cluster;
use super::{PW, register};

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\n";

fn device(node: &super::support::TestServer, user: &str, device: &str) -> (Conn, Conn) {
    let mut events = node.recv_conn();
    assert_eq!(events.request("VERSION:1.2"), "OK");
    assert_eq!(events.request(&format!("LOGIN:{user}@{device}:{PW}")), format!("OK:{user}"));
    (node.login_send(&format!("{user}@{device}"), PW), events)
}

/// The next `CALL` event (skipping presence, messages and pings).
fn call_event(events: &mut Conn) -> String {
    loop {
        let line = events.next_event();
        if line.starts_with("CALL:") {
            return line;
        }
    }
}

#[test]
fn a_call_between_two_nodes_rings_is_answered_outlives_the_ring_time_and_hangs_up() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--ring-seconds", "1"]);
    let b = cluster.node_with("b", &["--ring-seconds", "1"]);
    register(&a, "ana");
    register(&a, "bob");
    let (mut ana, mut ana_events) = device(&a, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&b, "bob", "phone");

    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(call_event(&mut bob_events), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(ana.request("CALL:bob:c1:ICE:a"), "OK");
    assert_eq!(call_event(&mut bob_events), "CALL:ana:c1:ICE:a");
    assert_eq!(bob.request("CALL:ana:c1:ICE:b"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ICE:b");

    // Past node a's ring time: the call was answered, so it is not missed.
    // (A timer that must not fire can only be waited out.)
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(bob.request("CALL:ana:c1:HANGUP"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:END:hangup");
    assert_eq!(call_event(&mut bob_events), "CALL:bob:c1:END:hangup");
    // Node a heard the end: ana may call again at once.
    assert_eq!(ana.request(&format!("CALL:bob:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c2:OFFER:voice:{SDP}"));
    // Nobody answers: missed on both sides, and in bob's history on node b.
    assert_eq!(call_event(&mut ana_events), "CALL:ana:c2:END:missed");
    assert_eq!(call_event(&mut bob_events), "CALL:ana:c2:END:missed");
    let history = bob.listing("HISTORY:ana:5");
    assert!(history.iter().any(|line| line.ends_with("📞 Missed voice call from ana")), "{history:?}");
    assert_eq!(history.len(), 1, "the answered call left no notice: {history:?}");
}

/// Signals about a call that never rang: the callee's four, sent by bob.
const STRAY: [&str; 4] =
    ["CALL:ana:c9:ANSWER:v=0\\n", "CALL:ana:c9:ICE:a", "CALL:ana:c9:DECLINE", "CALL:ana:c9:HANGUP"];

/// bob sends ana the stray signals, then a third user on bob's side
/// answers ana's real call with bob; the replies, and the next `CALL`
/// event ana hears (bob's offer, not a stray one).
fn strays(ana_at: &super::support::TestServer, bob_at: &super::support::TestServer) -> Vec<String> {
    let (mut ana, mut ana_events) = device(ana_at, "ana", "laptop");
    let (mut bob, mut bob_events) = device(bob_at, "bob", "phone");
    let (mut carl, _carl_events) = device(bob_at, "carl", "phone");
    let mut seen: Vec<String> = STRAY.iter().map(|request| bob.request(request)).collect();
    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    seen.push(carl.request("CALL:ana:c1:ANSWER:v=0\\n"));
    seen.push(carl.request("CALL:ana:c1:HANGUP"));
    assert_eq!(bob.request(&format!("CALL:ana:c2:OFFER:voice:{SDP}")), "OK");
    seen.push(call_event(&mut ana_events));
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
    // ana on node a keeps the call; bob and carl are on node b only.
    assert_eq!(strays(&a, &b), alone, "the cluster answers as one server");
}
