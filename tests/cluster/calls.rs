//! Calls (protocol 1.2, §24) on a cluster: ana's laptop on node a, bob's
//! phone on node b. The offer rings across nodes, the answer served by b
//! reaches ana and takes the call out of a's ring time (`calls::heard`),
//! a hang-up ends it on both; a call nobody answers is missed as on one
//! server, the notice in bob's inbox on his node. Over three nodes, a
//! signal goes to the node that keeps its call alone (`cluster::kept`),
//! counted by each node's metrics.

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

/// `wachat_cluster_call_asks_total` of a node started with `--metrics 0`:
/// the other nodes' questions about a call's signal it answered.
fn call_asks(node: &TestServer) -> u64 {
    use std::io::{Read, Write};
    let line = node.wait_for_log("listening: metrics http://");
    let addr = line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics");
    let mut stream = std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), READ_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut scrape = String::new();
    let _ = stream.read_to_string(&mut scrape);
    let value = scrape.lines().find_map(|l| l.strip_prefix("wachat_cluster_call_asks_total "));
    value.unwrap_or_else(|| panic!("no call_asks in\n{scrape}")).parse().unwrap()
}

/// Whether `DEVICES` of `user`, asked on `node`, shows `device` online.
fn seen_online(node: &TestServer, user: &str, device: &str) -> bool {
    let lines = node.login_send(user, PW).listing("DEVICES");
    lines.iter().any(|l| l.starts_with(&format!("{device}:ONLINE")))
}

/// Where a call is kept is remembered (`cluster::kept`): ana's laptop on
/// node c offers, her phone is on node a, bob's phone on node b. Asking
/// ana's nodes in turn (by name) would ask node a first; each of bob's
/// signals goes to node c alone, told at the offer, and so do those of
/// ana's phone: every node hears the offer's `KEEP`. A call over is
/// forgotten: a stray signal after it goes round, refused as before.
#[test]
fn a_signal_after_the_offer_goes_to_the_node_that_keeps_the_call_only() {
    let cluster = Cluster::start();
    let node = |name| cluster.node_with(name, &["--metrics", "0"]);
    let (a, b, c) = (node("a"), node("b"), node("c"));
    register(&a, "ana");
    register(&a, "bob");
    let (mut ana, mut ana_events) = device(&c, "ana", "laptop");
    let (mut phone, _phone_events) = device(&a, "ana", "phone");
    let (mut bob, mut bob_events) = device(&b, "bob", "phone");
    let timeout = READ_TIMEOUT;
    eventually("node b sees both of ana's devices", timeout, || {
        seen_online(&b, "ana", "laptop") && seen_online(&b, "ana", "phone")
    });
    eventually("nodes a and c see bob", timeout, || {
        seen_online(&a, "bob", "phone") && seen_online(&c, "bob", "phone")
    });

    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(call_event(&mut bob_events), "CALL:bob:c1:ANSWER:v=0\\n");
    for candidate in ["b1", "b2", "b3"] {
        assert_eq!(bob.request(&format!("CALL:ana:c1:ICE:{candidate}")), "OK");
        assert_eq!(call_event(&mut ana_events), format!("CALL:bob:c1:ICE:{candidate}"));
    }
    assert_eq!((call_asks(&a), call_asks(&c)), (0, 4), "bob's 4 signals, to node c alone");

    for candidate in ["p1", "p2"] {
        assert_eq!(phone.request(&format!("CALL:bob:c1:ICE:{candidate}")), "OK");
        assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:ICE:{candidate}"));
    }
    // Node b is not asked: node a heard the `KEEP` too, and knows node c
    // keeps the call. (Before, only the nodes where the callee was online
    // remembered the keeping node, so the phone asked a round once — node
    // b said `NONE`, then node c — which the answers did not show: ana and
    // bob see the same replies and events.)
    assert_eq!((call_asks(&b), call_asks(&c)), (0, 6), "the phone's signals, to node c alone");

    assert_eq!(bob.request("CALL:ana:c1:HANGUP"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:END:hangup");
    let refused = bob.request("CALL:ana:c1:ICE:late");
    assert_eq!(refused, "KO:BAD_REQUEST:no call c1 (it ended, or never rang)");
    assert_eq!((call_asks(&a), call_asks(&c)), (1, 8), "over: forgotten, the stray asks both");
}

/// A device that leaves another node than the one keeping its call ends
/// the call there, `gone`, as on one server (`Calls::left_elsewhere`):
/// ana offers through node a while her laptop receives through node b;
/// her laptop's connection closes, and bob, ringing on node b, hears the
/// end and finds the missed call. Then bob answers a call of carl's kept
/// on node a with his phone on node b, and the phone leaves: carl hears
/// `gone` from bob. (Before, node a never heard of either: the first call
/// rang on until its ring time and was then told `missed`, the second
/// went on with nobody at the other end; the differential script, seed 1
/// at 200 steps.)
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
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    drop(ana_events);
    assert_eq!(call_event(&mut bob_events), "CALL:ana:c1:END:gone");
    let mut bob = b.login_send("bob@phone", PW);
    let history = bob.listing("HISTORY:ana:5");
    assert!(history.iter().any(|l| l.ends_with(":📞 Missed voice call")), "{history:?}");

    let (mut carl, mut carl_events) = device(&a, "carl", "laptop");
    assert_eq!(carl.request(&format!("CALL:bob:c2:OFFER:video:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:carl:c2:OFFER:video:{SDP}"));
    assert_eq!(bob.request("CALL:carl:c2:ANSWER:v=0\\n"), "OK");
    assert_eq!(call_event(&mut carl_events), "CALL:bob:c2:ANSWER:v=0\\n");
    drop(bob_events);
    assert_eq!(call_event(&mut carl_events), "CALL:bob:c2:END:gone");
    // The call is out of node a's table.
    assert_eq!(carl.request("CALL:bob:c2:HANGUP"), "KO:BAD_REQUEST:no call c2 (it ended, or never rang)");
}

/// A new call is judged against the calls other nodes keep, as one server
/// judges it against its one table (`calls::may_ring`, `cluster::kept`'s
/// `Elsewhere`): ana on node a calls bob on node b, who answers; then
/// carl, on node b, finds bob busy and ana busy, and bob may not reuse the
/// id of the call he is in. (Before, node b rang bob and ana for carl, and
/// took bob's id: the differential script, seed 26 at 200 steps.)
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
    assert_eq!(call_event(&mut bob_events), format!("CALL:ana:c1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ANSWER:v=0\\n");
    assert_eq!(call_event(&mut bob_events), "CALL:bob:c1:ANSWER:v=0\\n");

    assert_eq!(carl.request(&format!("CALL:bob:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut carl_events), "CALL:bob:c2:END:busy");
    assert_eq!(carl.request(&format!("CALL:ana:c3:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut carl_events), "CALL:ana:c3:END:busy");
    let reused = bob.request(&format!("CALL:carl:c1:OFFER:voice:{SDP}"));
    assert_eq!(reused, "KO:BAD_REQUEST:the call id c1 is in use");
    let talking = bob.request(&format!("CALL:carl:c4:OFFER:voice:{SDP}"));
    assert_eq!(talking, "KO:FULL:you are in a call: hang up first");
    // Hung up: bob is free again on node b, for carl's next call.
    assert_eq!(ana.request("CALL:bob:c1:HANGUP"), "OK");
    assert_eq!(call_event(&mut bob_events), "CALL:ana:c1:END:hangup");
    assert_eq!(carl.request(&format!("CALL:bob:c5:OFFER:voice:{SDP}")), "OK");
    assert_eq!(call_event(&mut bob_events), format!("CALL:carl:c5:OFFER:voice:{SDP}"));
}

/// eve, sending through `eve_at` and receiving through `bob_at`, calls
/// bob (`c2`); ana, through `ana_at`, calls eve with the same id, and
/// hangs up. bob then declines eve's call: the replies, and the end eve
/// hears.
fn a_declined_call_after_another_of_its_id(
    ana_at: &TestServer,
    eve_at: &TestServer,
    bob_at: &TestServer,
) -> Vec<String> {
    let mut eve_events = bob_at.recv_conn();
    assert_eq!(eve_events.request("VERSION:1.2"), "OK");
    assert_eq!(eve_events.request(&format!("LOGIN:eve:{PW}")), "OK:eve");
    let mut eve = eve_at.login_send("eve", PW);
    let (mut bob, mut bob_events) = device(bob_at, "bob", "phone");
    let (mut ana, _ana_events) = device(ana_at, "ana", "laptop");
    eventually("every node sees eve and bob", READ_TIMEOUT, || {
        [ana_at, eve_at].iter().all(|n| seen_online(n, "eve", "default") && seen_online(n, "bob", "phone"))
    });
    let mut seen = vec![eve.request(&format!("CALL:bob:c2:OFFER:voice:{SDP}"))];
    seen.push(call_event(&mut bob_events));
    seen.push(ana.request(&format!("CALL:eve:c2:OFFER:video:{SDP}")));
    seen.push(call_event(&mut eve_events));
    seen.push(ana.request("CALL:eve:c2:HANGUP"));
    seen.push(call_event(&mut eve_events));
    seen.push(bob.request("CALL:eve:c2:DECLINE"));
    seen.push(call_event(&mut eve_events));
    seen
}

/// The end of ana's call `c2` with eve ends no other call of eve's named
/// `c2` on the node that heard of it (`cluster::kept`'s `Elsewhere`
/// matches an end by both ends, as `calls::heard` does): bob, on node b,
/// declines eve's call `c2`, kept on node a, as on one server. (Before,
/// node b forgot eve's call with bob when it heard ana's end, and bob's
/// decline found no call: the differential script, seed 316 at 800
/// steps.)
#[test]
fn an_end_heard_from_another_node_ends_only_the_call_between_its_two_ends() {
    let expected = alike(&["ana", "bob", "eve"], |a, b| a_declined_call_after_another_of_its_id(a, a, b));
    assert_eq!(expected[6], "OK", "a single server: {expected:?}");
}

/// Plays `script` on a single server (`script(one, one)`) and on a
/// two-node cluster (`script(a, b)`), `users` registered on each: the
/// same replies and events, which it returns.
fn alike(users: &[&str], script: impl Fn(&TestServer, &TestServer) -> Vec<String>) -> Vec<String> {
    let one = TestServer::start();
    for user in users {
        register(&one, user);
    }
    let expected = script(&one, &one);
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in users {
        register(&a, user);
    }
    assert_eq!(script(&a, &b), expected, "the cluster, where a single server said {expected:?}");
    expected
}

/// eve, sending through `eve_at` and receiving through `bob_at`, calls
/// bob, who declines after two heartbeats: the replies, and the end eve
/// hears.
fn a_call_declined_after_two_beats(eve_at: &TestServer, bob_at: &TestServer) -> Vec<String> {
    let mut eve_events = bob_at.recv_conn();
    assert_eq!(eve_events.request("VERSION:1.2"), "OK");
    assert_eq!(eve_events.request(&format!("LOGIN:eve:{PW}")), "OK:eve");
    let mut eve = eve_at.login_send("eve", PW);
    let (mut bob, mut bob_events) = device(bob_at, "bob", "phone");
    eventually("eve's node sees bob", READ_TIMEOUT, || seen_online(eve_at, "bob", "phone"));
    let mut seen = vec![eve.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}"))];
    seen.push(call_event(&mut bob_events));
    // The heartbeat's sweep (`kept.rs`) runs every second.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    seen.push(bob.request("CALL:eve:c1:DECLINE"));
    seen.push(call_event(&mut eve_events));
    seen
}

/// A call kept by a node that holds no device (its caller's requests
/// alone go through it) is still that node's after a heartbeat: bob, on
/// node b, declines it as on one server. (Before, node b's heartbeat
/// forgot the calls of every node without a device, as if it were gone,
/// and bob's decline found no call: the differential script, seed 316 at
/// 800 steps.)
#[test]
fn a_call_kept_by_a_node_without_devices_is_not_forgotten_by_the_others() {
    let expected = alike(&["bob", "eve"], a_call_declined_after_two_beats);
    assert_eq!(expected[2], "OK", "a single server: {expected:?}");
}
