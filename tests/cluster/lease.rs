//! Who leads (`cluster::lease`, docs/CLUSTER.md "The lease, the epoch and
//! fencing"): a starting node takes the lease only if nobody holds it,
//! its leader let it go, or it is the node's own; a lease that ran out is
//! followed, and taken once it is confirmed run out, as a running
//! follower does; of two nodes that start at once, one leads and the
//! other follows it.

use std::time::Duration;

use super::support;
use super::{recv_conn, register, send_conn};
use support::cluster::{Cluster, WAITING_OUT_A_FROZEN_HOST, eventually, store_behind_a_proxy};
use support::{TestServer, without_ts};
use wachat::cluster::db::postgres;

/// The lease's holder and epoch, as the database has them.
fn lease(cluster: &Cluster) -> (String, i64) {
    let row = cluster.pg.client().query_one("SELECT holder, epoch FROM lease", &[]).unwrap();
    (row.get(0), row.get(1))
}

/// Sends `signal` to `node`'s process.
fn signal(node: &TestServer, signal: libc::c_int) {
    // SAFETY: kill(2) on a process this test started.
    assert_eq!(unsafe { libc::kill(node.pid() as libc::pid_t, signal) }, 0);
}

/// Waits until two nodes wait to write the lease with `statement`
/// (`INSERT INTO lease`, `UPDATE lease SET epoch`), held back by `hold`,
/// a transaction that holds the table (`EXCLUSIVE`: reads go on, writes
/// wait); then ends it: the two take the lease at the same moment.
fn let_two_race(cluster: &Cluster, hold: postgres::Transaction, statement: &str) {
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '{statement}%'"
    );
    let mut pg = cluster.pg.client();
    eventually("two nodes taking the lease", Duration::from_secs(20), || {
        pg.query_one(&waiting, &[]).unwrap().get::<i64>(0) == 2
    });
    drop(hold); // rolled back: the lease is free
}

/// ana's message to bob through `node` gets its `OK`: the node leads, or
/// its leader answers what it forwards.
fn a_message_goes_through(node: &TestServer, id: &str) {
    let reply = send_conn(node, "ana").request(&format!("MSG:bob:{id}:through {id}"));
    assert!(reply.starts_with(&format!("OK:{id}:")), "{reply}");
}

/// Two nodes started at once on a cluster that nobody led yet both find
/// the lease free and take it at the same moment (the test holds the
/// table until both wait to write it): one gets it, and the other follows
/// it instead of stopping.
#[test]
fn of_two_nodes_started_at_once_one_leads_and_the_other_follows_it() {
    let cluster = Cluster::start();
    let mut holder = cluster.pg.client();
    let mut hold = holder.transaction().unwrap();
    hold.batch_execute("LOCK TABLE lease IN EXCLUSIVE MODE").unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| cluster.node("a"));
        let b = s.spawn(|| cluster.node("b"));
        let_two_race(&cluster, hold, "INSERT INTO lease");
        (a.join().unwrap(), b.join().unwrap())
    });
    let (leader, epoch) = lease(&cluster);
    assert_eq!(epoch, 1, "one took it");
    let follower = if leader == "a" { &b } else { &a };
    follower.wait_for_log(&format!("node {leader} leads (epoch 1): this node follows"));
    register(follower, "ana");
    register(follower, "bob");
    a_message_goes_through(follower, "m1");
}

/// A node that starts while the leader's lease has run out (the leader
/// frozen past its term) follows that leader: woken at once, the leader
/// renews its lease, keeps leading, and answers what the new node
/// forwards. (Taking a run-out lease at its start, a node restarted
/// while a database's failover kept the leader from renewing took the
/// cluster from a leader that was about to renew.)
#[test]
fn a_node_started_while_the_lease_has_run_out_follows_its_leader() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    register(&a, "ana");
    register(&a, "bob");
    signal(&a, libc::SIGSTOP);
    let run_out = "SELECT now() - renewed > interval '3 seconds' FROM lease";
    let mut pg = cluster.pg.client();
    eventually("the lease run out", Duration::from_secs(10), || pg.query_one(run_out, &[]).unwrap().get(0));
    let b = cluster.node("b");
    signal(&a, libc::SIGCONT);
    assert_eq!(lease(&cluster), ("a".to_string(), 1), "node b took the lease at its start");
    b.wait_for_log("node a leads (epoch 1): this node follows");
    a_message_goes_through(&b, "m1");
    assert_eq!(lease(&cluster), ("a".to_string(), 1), "node a leads still");
}

/// A leader that stops lets its lease go: a running follower takes it at
/// its next look, without confirming that it ran out.
#[test]
fn a_lease_let_go_by_a_leader_that_stops_is_taken_at_once() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    let b = cluster.node("b");
    register(&a, "ana");
    register(&a, "bob");
    let stopped = a.terminate();
    assert!(stopped.success(), "node a stopped with {stopped}; its log:\n{}", a.log().join("\n"));
    b.wait_for_log("the lease (epoch 1) was let go: taking it");
    // It says so once the lease is its own, and leads once it took over.
    b.wait_for_log("cluster: node b took over in");
    assert_eq!(lease(&cluster), ("b".to_string(), 2));
    a_message_goes_through(&b, "m1");
}

/// The leader killed (LAB part 11): both followers find its lease run
/// out and try to take it at once (the test holds the table until both
/// wait to write it); the one that took it says `taking it` and leads,
/// the other says who leads now, and never `taking it`.
#[test]
fn of_two_followers_only_the_one_that_took_the_lease_says_it_takes_it() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    let (b, c) = (cluster.node("b"), cluster.node("c"));
    for node in [&b, &c] {
        node.wait_for_log("node a leads (epoch 1): this node follows");
    }
    let mut holder = cluster.pg.client();
    let mut hold = holder.transaction().unwrap();
    hold.batch_execute("LOCK TABLE lease IN EXCLUSIVE MODE").unwrap();
    a.kill();
    let_two_race(&cluster, hold, "UPDATE lease SET epoch");
    eventually("a new leader", Duration::from_secs(20), || lease(&cluster).1 == 2);
    let (leader, _) = lease(&cluster);
    let (took, other) = if leader == "b" { (&b, &c) } else { (&c, &b) };
    took.wait_for_log("the lease of node a (epoch 1) ran out: taking it");
    took.wait_for_log(&format!("cluster: node {leader} took over in"));
    other.wait_for_log(&format!("node {leader} leads now (epoch 2, was a's 1)"));
    let said: Vec<String> = other.log().into_iter().filter(|l| l.contains("taking it")).collect();
    assert!(said.is_empty(), "the node that did not take the lease said {said:?}");
}

/// A renewal that comes after its leader let the lease go (the keeper's
/// last renewal racing the stop's release) is refused and leaves the
/// lease as released: let go and run out, taken at once by the next node,
/// not held by nobody for a whole term.
#[test]
fn a_renewal_never_revives_a_lease_its_leader_let_go() {
    use wachat::cluster::lease;
    let cluster = Cluster::start();
    let mut pg = cluster.pg.client();
    let epoch = lease::take(&mut pg, "a", None).unwrap().expect("nobody held it");
    assert!(lease::renew(&mut pg, epoch).unwrap(), "its leader renews it");
    lease::release(&mut pg, epoch).unwrap();
    assert!(!lease::renew(&mut pg, epoch).unwrap(), "a renewal after the release");
    let after = lease::read(&mut pg).unwrap().expect("a lease");
    assert!(after.released() && after.expired, "{after:?}");
    assert_eq!(lease::take(&mut pg, "b", Some(epoch)).unwrap(), Some(epoch + 1), "taken at once");
}

/// A follower frozen past a lease's term holds nothing the leader waits
/// for: its clients' connections are the leader's, passed on byte for
/// byte. Frozen, they stall as a stalled network does (the leader's own
/// `--timeout` bounds that, as for any client); woken, they go on: bob
/// gets what ana sent meanwhile, on the connection he had.
#[test]
fn a_follower_frozen_past_its_term_wakes_with_its_connections_going_on() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("LASTSEEN:bob"), "OK:bob:ONLINE");
    signal(&b, libc::SIGSTOP);
    assert!(ana.request("MSG:bob:m1:while you slept").starts_with("OK:m1:"));
    // Past a lease's term and its confirmation: a frozen process gives
    // nothing to poll.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(ana.request("LASTSEEN:bob"), "OK:bob:ONLINE", "his connection is the leader's");
    signal(&b, libc::SIGCONT);
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:bob:m1:<ts>:while you slept");
}

/// `GET /healthz` on a follower's metrics port: 200 while it follows a
/// leader; 503 naming the lease that ran out while its leader is frozen
/// and nobody leads; 200 again once it leads itself.
#[test]
fn a_followers_health_is_503_while_no_node_leads() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    let b = cluster.node_with("b", &["--metrics", "0"]);
    let health = support::metrics::metrics_address(&b);
    let status = || support::metrics::http_get(health, "/healthz");
    eventually("b healthy, following a", Duration::from_secs(20), || status().starts_with("HTTP/1.1 200 OK"));
    signal(&a, libc::SIGSTOP);
    let mut seen = String::new();
    eventually("b says no node leads", Duration::from_secs(20), || {
        seen = status();
        seen.starts_with("HTTP/1.1 503 ")
    });
    assert!(seen.contains("no leader: the lease of node a"), "{seen}");
    eventually("b leads, healthy again", Duration::from_secs(30), || status().starts_with("HTTP/1.1 200 OK"));
    signal(&a, libc::SIGCONT);
    a.kill();
}

/// A leader deposed while the first host of its `--store` hangs (a
/// primary frozen: its kernel takes connections, nothing answers) starts
/// again as a follower without waiting out the frozen host: its start
/// tries it for a moment, then the next, while its clients wait on its
/// ports. Host 1 is a proxy to the test's PostgreSQL that the test
/// freezes, host 2 the same PostgreSQL direct; the lease is taken from
/// the node by hand.
#[test]
fn a_deposed_leader_starts_again_without_waiting_out_a_frozen_first_host() {
    let cluster = Cluster::start();
    let (proxy, store) = store_behind_a_proxy(&cluster);
    let a = TestServer::start_with(&["--store", &store, "--node", "a", "--rate", "0"]);
    a.wait_for_log("cluster: node a leads");
    proxy.freeze();
    // The keeper's connection through the proxy is cut at its deadline,
    // and the next one made to host 2.
    eventually("node a on host 2", Duration::from_secs(30), || {
        a.log().iter().any(|l| l.contains("the primary database is now host 2"))
    });
    let (_, epoch) = lease(&cluster);
    let taken = cluster
        .pg
        .client()
        .execute(
            "UPDATE lease SET epoch = epoch + 1, holder = 'b', renewed = now() WHERE epoch = $1",
            &[&epoch],
        )
        .unwrap();
    assert_eq!(taken, 1);
    let deposed = std::time::Instant::now();
    a.wait_for_log("it starts again as a follower");
    // Started again: its second start says where it takes node links.
    let started = || a.log().iter().filter(|l| l.contains("node links at")).count() == 2;
    support::cluster::eventually_or(WAITING_OUT_A_FROZEN_HOST, started, || {
        let log = a.log();
        format!("node a not started again {:?} after it was deposed:\n{}", deposed.elapsed(), log.join("\n"))
    });
    println!("node a started again {:?} after it was deposed", deposed.elapsed());
    let after = a.log().into_iter().skip_while(|l| !l.contains("starting again")).collect::<Vec<_>>();
    assert!(after.iter().any(|l| l.contains("the primary database is now host 2")), "{after:?}");
    // It follows node b, which nothing runs: it takes the lease once b's
    // has run out, and serves, host 1 still frozen.
    a.wait_for_log("cluster: node a took over in");
    register(&a, "ana");
    register(&a, "bob");
    a_message_goes_through(&a, "m1");
    proxy.thaw();
}

/// A leader given `--node-port` (as nodes on several machines are,
/// docs/CLUSTER-OPS.md), frozen past its lease and woken, is deposed and
/// starts again as a follower on the same ports: its client port passes
/// ana's request on to the new leader, and its node port is its own still,
/// where, leading again once that leader dies, it takes the links of a
/// node that joins.
#[test]
fn a_deposed_leader_given_a_node_port_starts_again_as_a_follower_on_the_same_ports() {
    let cluster = Cluster::start();
    let (port_a, port_b) = (support::ports::free_port().to_string(), support::ports::free_port().to_string());
    let a = cluster.node_with("a", &["--node-port", &port_a]);
    let mut b = cluster.node_with("b", &["--node-port", &port_b]);
    register(&a, "ana");
    register(&a, "bob");
    b.wait_for_log("node a leads (epoch 1): this node follows");
    signal(&a, libc::SIGSTOP);
    b.wait_for_log("cluster: node b took over in");
    signal(&a, libc::SIGCONT);
    a.wait_for_log("starting again (another node took the lease)");
    a.wait_for_log("node b leads (epoch 2): this node follows");
    a_message_goes_through(&a, "m1");
    let starts: Vec<String> = a.log().into_iter().filter(|l| l.contains("node links at")).collect();
    assert_eq!(starts.len(), 2, "a started twice: {starts:?}");
    for start in &starts {
        assert!(start.contains(&format!("node links at 127.0.0.1:{port_a}")), "{start}");
    }
    b.kill();
    a.wait_for_log("cluster: node a took over in");
    let c = cluster.node("c");
    c.wait_for_log("node a leads (epoch 3): this node follows");
    a_message_goes_through(&c, "m2");
    assert!(a.log().iter().all(|l| !l.contains("cannot listen")), "{:?}", a.log());
}
