//! Frames NATS loses while neither node reconnects (a proxy between node
//! b and NATS drops them: `support::nats_proxy`). The leader hears no
//! `ALIVE` from its follower for a lease's term and lets the follower's
//! connections go (`Gateway::sweep`); its words that say so to the
//! follower (`CLOSED`, `SHUT`) are lost too, so the follower still holds
//! them. Once frames pass again, the leader says those words again at
//! the follower's next `ALIVE` in the same run (`Gateway::alive`); and
//! should they be lost again, it answers what it hears of a connection
//! it let go by closing it (`Gateway::send`, `Gateway::let_go`). The
//! user's clients reconnect at once, not after `--timeout`.
//!
//! A single frame lost while the follower still speaks is seen sooner:
//! the next frame of the same sender on the same subject has a number
//! past the next one (`cluster::bus`), and the node that missed it acts
//! at once (`Node::lost_from`).

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::nats_proxy::NatsProxy;
use super::support::{Conn, TestServer, without_ts};
use super::{PW, once_it_serves, recv_conn, recv_once_it_serves, register, send_conn};

/// Whether `USERS`, asked on `conn`, lists `user` online.
fn online(conn: &mut Conn, user: &str) -> bool {
    conn.listing("USERS").iter().any(|u| u == user)
}

/// Leader a, and follower b whose NATS is a proxy (what b publishes and
/// what it is sent), with ana and bob registered.
fn leader_and_follower_behind_a_proxy(cluster: &Cluster) -> (TestServer, NatsProxy, TestServer) {
    let a = cluster.node("a");
    let proxy = NatsProxy::start(cluster.nats.port);
    let args = ["--store", &cluster.pg.url, "--bus", &proxy.url, "--node", "b", "--rate", "0"];
    let b = TestServer::start_with(&args);
    b.wait_for_log("node a leads (epoch 1): this node follows");
    register(&a, "ana");
    register(&a, "bob");
    (a, proxy, b)
}

/// Ana, on follower b, talks with bob, on leader a; b's `ALIVE`s are
/// lost for longer than a term, and the leader's `CLOSED` and `SHUT` for
/// ana's connections with them. Her next request on her old send
/// connection has the connection closed (the leader has no session for
/// it: `CLOSED` again) within a read timeout, far under `--timeout`
/// (60 s): she sends it again on a new one, and bob gets it once. The
/// leader's words said again are lost too: her next acknowledgement on
/// her old receive connection has it closed (no outlet: `SHUT`): she logs
/// in again, bob sees her online, and her events come again from the
/// last acknowledgement the leader applied.
#[test]
fn connections_the_leader_let_go_while_their_frames_were_lost_are_closed_at_their_next_word() {
    let cluster = Cluster::start();
    let (a, proxy, b) = leader_and_follower_behind_a_proxy(&cluster);
    let (mut bob, mut bob_recv) = (send_conn(&a, "bob"), recv_conn(&a, "bob"));
    let (mut ana, mut ana_recv) = (send_conn(&b, "ana"), recv_conn(&b, "ana"));
    assert!(bob.request("MSG:ana:m1:hello").starts_with("OK:m1:"));
    assert_eq!(without_ts(&ana_recv.next_event()), "MSG:1:bob:ana:m1:<ts>:hello");
    assert!(ana.request("MSG:bob:m2:hi").starts_with("OK:m2:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:bob:m2:<ts>:hi");
    assert!(online(&mut bob, "ana"));

    proxy.to_server.drop_starting_with(&["ALIVE"]);
    proxy.to_client.drop_starting_with(&["CLOSED", "SHUT"]);
    // Ana offline to bob is the sweep done; the lost `CLOSED` (her send
    // session's pair shut) and `SHUT` (her outlet) are its last words.
    eventually(
        "the leader letting node b's connections go, its CLOSED and SHUT lost",
        Duration::from_secs(20),
        || {
            !online(&mut bob, "ana")
                && proxy.to_client.dropped("CLOSED") > 0
                && proxy.to_client.dropped("SHUT") > 0
        },
    );
    assert!(a.log().iter().any(|l| l.contains("node b is silent")), "{:?}", a.log());
    let lost = |word: &str| proxy.to_client.dropped(word);
    let (closed, shut) = (lost("CLOSED"), lost("SHUT"));
    proxy.to_server.pass_everything();
    eventually("the leader saying CLOSED and SHUT again, lost again", Duration::from_secs(10), || {
        lost("CLOSED") > closed && lost("SHUT") > shut
    });
    proxy.to_client.pass_everything();

    ana.send("MSG:bob:m3:again");
    ana.expect_closed();
    let mut ana = once_it_serves(&b, "ana", PW);
    assert!(ana.request("MSG:bob:m3:again").starts_with("OK:m3:"));
    assert!(ana.request("MSG:bob:m4:next").starts_with("OK:m4:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:2:ana:bob:m3:<ts>:again");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:3:ana:bob:m4:<ts>:next", "m3 once");

    ana_recv.send("ACK:1");
    ana_recv.expect_closed();
    let mut ana_recv = recv_once_it_serves(&b, "ana");
    eventually("bob seeing ana online", Duration::from_secs(10), || online(&mut bob, "ana"));
    assert_eq!(without_ts(&ana_recv.next_event()), "MSG:1:bob:ana:m1:<ts>:hello", "ACK:1 not applied");
}

/// As above, but ana says nothing once frames pass again (her phone lies
/// on the table): at b's next `ALIVE`, in the run the leader took for
/// dead, the leader says its `SHUT` again, and b closes her receive
/// connection, which she opens again at once, and bob sees her online.
#[test]
fn a_follower_taken_for_dead_that_speaks_again_is_told_lost_and_its_quiet_users_come_back_online() {
    let cluster = Cluster::start();
    let (a, proxy, b) = leader_and_follower_behind_a_proxy(&cluster);
    let mut bob = send_conn(&a, "bob");
    let mut ana_recv = recv_conn(&b, "ana");
    eventually("bob seeing ana online", Duration::from_secs(10), || online(&mut bob, "ana"));

    proxy.to_server.drop_starting_with(&["ALIVE"]);
    proxy.to_client.drop_starting_with(&["SHUT"]);
    eventually("the leader letting node b's connections go, its SHUT lost", Duration::from_secs(20), || {
        !online(&mut bob, "ana") && proxy.to_client.dropped("SHUT") > 0
    });
    proxy.to_server.pass_everything();
    proxy.to_client.pass_everything();

    ana_recv.expect_closed();
    let said_again = |l: &String| {
        l.contains("node b, taken for dead, speaks again: the ends of its connections said again")
    };
    assert!(a.log().iter().any(said_again), "{:?}", a.log());
    let _ana_recv = recv_once_it_serves(&b, "ana");
    eventually("bob seeing ana online again", Duration::from_secs(10), || online(&mut bob, "ana"));
}

/// Node b is killed and started again under its name before the leader
/// takes it for dead: its first `ALIVE`, in a new run, ends the
/// connections of its run before at the leader, so ana, whose phone was
/// on b and does not come back, is shown offline to bob at once, not
/// online for ever (b's new run keeps the leader hearing from b).
#[test]
fn a_follower_started_again_within_a_term_ends_its_old_connections_at_the_leader() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    let mut b = cluster.node("b");
    b.wait_for_log("node a leads (epoch 1): this node follows");
    register(&a, "ana");
    register(&a, "bob");
    let mut bob = send_conn(&a, "bob");
    let ana_recv = recv_conn(&b, "ana");
    eventually("bob seeing ana online", Duration::from_secs(10), || online(&mut bob, "ana"));

    let args = ["--store", &cluster.pg.url, "--bus", &cluster.nats.url, "--node", "b"];
    b.restart(&args);
    b.wait_for_log("node a leads (epoch 1): this node follows");
    drop(ana_recv);
    eventually("bob seeing ana offline", Duration::from_secs(10), || !online(&mut bob, "ana"));
    // A machine slow enough to start b again after a whole term has the
    // leader take b for dead first, which ends them too.
    let ended = |l: &String| l.contains("node b started again") || l.contains("node b is silent");
    assert!(a.log().iter().any(ended), "{:?}", a.log());
}

/// Ana's receive connection on `node`, in protocol 1.2 (told `TYPING`).
fn recv_1_2(node: &TestServer) -> Conn {
    let mut conn = node.recv_conn();
    assert_eq!(conn.request("VERSION:1.2"), "OK");
    assert_eq!(conn.request(&format!("LOGIN:ana:{PW}")), "OK:ana");
    conn
}

/// The `PUSH` of bob's `TYPING` to ana's receive connection on follower
/// b is lost, and nothing else goes wrong; no login, no message ever
/// brings it again. The leader's next frame to b (the `PUSH` of bob's
/// next `TYPING`) is numbered past the next one: b cuts her receive
/// connection instead of handing it that frame alone; she logs in again,
/// and is told what bob does from then on.
#[test]
fn a_push_lost_towards_a_follower_is_seen_at_the_leaders_next_frame() {
    let cluster = Cluster::start();
    let (a, proxy, b) = leader_and_follower_behind_a_proxy(&cluster);
    let mut bob = send_conn(&a, "bob");
    let mut ana_recv = recv_1_2(&b);
    // A sender's first frame heard is taken as it comes: this one is.
    assert_eq!(bob.request("TYPING:ana"), "OK");
    assert_eq!(ana_recv.next_event(), "TYPING:bob:ana");

    proxy.to_client.drop_starting_with(&["PUSH"]);
    assert_eq!(bob.request("TYPING:ana"), "OK");
    eventually("the PUSH of bob's TYPING lost", Duration::from_secs(10), || {
        proxy.to_client.dropped("PUSH") > 0
    });
    proxy.to_client.pass_everything();

    assert_eq!(bob.request("TYPING:ana"), "OK");
    ana_recv.expect_closed();
    b.wait_for_log("NATS lost a message of node a");
    let mut ana_recv = recv_1_2(&b);
    assert_eq!(bob.request("TYPING:ana"), "OK");
    assert_eq!(ana_recv.next_event(), "TYPING:bob:ana");
}

/// Ana's receive connection on follower b closes, and b's `DETACH` is
/// lost on its way to the leader: nothing else would ever show her
/// offline to bob, since b's `ALIVE`s keep coming. Its next one is
/// numbered past the next one: the leader lets b's connections go, and
/// bob sees ana offline.
#[test]
fn a_detach_lost_towards_the_leader_is_seen_at_the_followers_next_frame() {
    let cluster = Cluster::start();
    let (a, proxy, b) = leader_and_follower_behind_a_proxy(&cluster);
    let mut bob = send_conn(&a, "bob");
    let ana_recv = recv_conn(&b, "ana");
    eventually("bob seeing ana online", Duration::from_secs(10), || online(&mut bob, "ana"));

    proxy.to_server.drop_starting_with(&["DETACH"]);
    drop(ana_recv);
    eventually("b's DETACH lost", Duration::from_secs(10), || proxy.to_server.dropped("DETACH") > 0);
    proxy.to_server.pass_everything();

    eventually("bob seeing ana offline", Duration::from_secs(10), || !online(&mut bob, "ana"));
    a.wait_for_log("NATS lost a message of node b");
    let _ana_recv = recv_once_it_serves(&b, "ana");
    eventually("bob seeing ana online again", Duration::from_secs(10), || online(&mut bob, "ana"));
}
