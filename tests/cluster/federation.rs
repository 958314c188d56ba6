//! A cluster is one server of the class network (protocol 1.3, §27): its
//! leader links to the peers, with the queues the cluster replicates; a
//! follower opens no link, and passes the links it is given to the
//! leader; after a failover the new leader links, and sends what waited;
//! every request and event that names a user takes an address on it.

use std::path::PathBuf;

use super::support::cluster::Cluster;
use super::support::federation::{give_key, roster_line};
use super::support::ports::free_port;
use super::support::{Conn, TestServer};

/// A test's class network: its directory, the roster of lab1 (the
/// cluster, at node a's link port) and lab2, each line as `wachat
/// roster-line` prints it, and the link keys in the data directories
/// `a` and `b` (the cluster's nodes share lab1's, copied into each:
/// docs/CLUSTER-OPS.md) and `lab2`.
struct Network {
    root: tempfile::TempDir,
    roster: PathBuf,
    /// The link ports of node a, node b (in no roster: a follower opens
    /// no link) and lab2.
    ports: [u16; 3],
}

impl Network {
    fn new() -> Network {
        let root = tempfile::tempdir().unwrap();
        let roster = root.path().join("class.csv");
        let ports = [free_port(), free_port(), free_port()];
        let lines = format!(
            "{}\n{}\n",
            roster_line(&roster, "lab1", ports[0]),
            roster_line(&roster, "lab2", ports[2])
        );
        std::fs::write(&roster, lines).unwrap();
        for (dir, server) in [("a", "lab1"), ("b", "lab1"), ("lab2", "lab2")] {
            give_key(&roster, server, &root.path().join(dir));
        }
        Network { root, roster, ports }
    }

    /// The data directory `name` (a, b or lab2).
    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn roster_arg(&self) -> &str {
        self.roster.to_str().unwrap()
    }
}

fn as_str(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The next message on `events`, without its number and time.
fn next(events: &mut Conn) -> String {
    let got = events.next_msg();
    let f: Vec<&str> = got.splitn(7, ':').collect();
    format!("{}:{}:{}:{}", f[2], f[3], f[4], f[6])
}

#[test]
fn a_cluster_is_one_server_its_leader_links_and_a_new_leader_takes_over() {
    let cluster = Cluster::start();
    let net = Network::new();
    let ([port_a, port_b, port2], roster_arg) = (net.ports, net.roster_arg());
    let node_args = |node: &'static str, port: u16| -> Vec<String> {
        let mut args: Vec<String> = ["--store", &cluster.pg.url, "--node", node].map(String::from).to_vec();
        args.extend(
            ["--rate", "0", "--name", "lab1", "--peers", roster_arg, "--link-port", &port.to_string()]
                .map(String::from),
        );
        args.extend(["--timeout", "4"].map(String::from));
        args
    };
    let (dir_a, dir_b) = (net.dir("a"), net.dir("b"));
    let args_a = node_args("a", port_a);
    let mut a = TestServer::start_restartable_in(&dir_a, &as_str(&args_a));
    a.wait_for_log("node a leads (epoch 1");
    let b = TestServer::start_in(&dir_b, &as_str(&node_args("b", port_b)));
    b.wait_for_log("this node follows");
    let dir2 = net.dir("lab2");
    let lab2_args =
        ["--name", "lab2", "--peers", roster_arg, "--link-port", &port2.to_string(), "--timeout", "4"];
    let mut lab2 = TestServer::start_restartable_in(&dir2, &lab2_args);
    a.register(&["ana"]);
    lab2.register(&["bob"]);

    // ana is on the follower: her messages go out through the leader.
    let mut ana = b.login_send("ana", "pw-ana");
    let mut ana_events = b.login_recv("ana", "pw-ana");
    let mut bob_events = lab2.login_recv("bob", "pw-bob");
    assert!(ana.request("MSG:bob@lab2:m1:from the cluster").starts_with("OK:m1:"));
    assert_eq!(next(&mut bob_events), "ana@lab1:bob:m1:from the cluster");
    let mut bob = lab2.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana@lab1:b1:to the cluster").starts_with("OK:b1:"));
    assert_eq!(next(&mut ana_events), "bob@lab2:ana:b1:to the cluster");
    assert!(a.log().iter().any(|l| l.contains("link to lab2: linked")), "the leader links");
    assert!(!b.log().iter().any(|l| l.contains("link to lab2: linked")), "a follower opens no link");
    assert!(!b.log().iter().any(|l| l.contains("linked to us")), "nor takes one");

    // lab2 down, a message waits in the cluster's queue for it; the
    // leader is killed. The roster names node a: back as a follower, it
    // passes what comes to it to node b, which leads now (lab2's call
    // back of a link, lab2's links): node b sends what waited.
    lab2.kill();
    assert!(ana.request("MSG:bob@lab2:m2:queued through a failover").starts_with("OK:m2:"));
    a.kill();
    b.wait_for_log("node b leads (epoch 2");
    a.restart_in_place(&as_str(&args_a));
    a.wait_for_log("this node follows");
    lab2.restart_in_place(&lab2_args);
    let mut bob_events = lab2.login_recv("bob", "pw-bob");
    let mut got = next(&mut bob_events);
    if got.contains(":m1:") {
        got = next(&mut bob_events); // m1 again if its ACK was not stored
    }
    assert_eq!(got, "ana@lab1:bob:m2:queued through a failover");
    assert!(b.log().iter().any(|l| l.contains("link to lab2: linked")), "the new leader links");
    let mut bob = lab2.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana@lab1:b2:through the follower").starts_with("OK:b2:"));
    let mut ana_events = b.login_recv("ana", "pw-ana");
    let mut got = next(&mut ana_events);
    if got.contains(":b1:") {
        got = next(&mut ana_events);
    }
    assert_eq!(got, "bob@lab2:ana:b2:through the follower");
    assert!(!a.log().iter().any(|l| l.contains("link to lab2: linked")), "a follower again: no link");
}

/// One grammar for a user (1.3, §27) on a cluster: every request whose
/// field means a user takes `bob@lab2` from ana on a follower, and every
/// event that names a user names bob by his address
/// (tests/support/addresses.rs walks them).
#[test]
fn on_a_follower_every_request_and_event_naming_a_user_takes_an_address() {
    let cluster = Cluster::start();
    let net = Network::new();
    let ([port_a, port_b, port2], roster_arg) = (net.ports, net.roster_arg());
    let network = |port: u16| -> Vec<String> {
        ["--name", "lab1", "--peers", roster_arg, "--link-port", &port.to_string(), "--timeout", "10"]
            .map(String::from)
            .to_vec()
    };
    let (dir_a, dir_b, dir2) = (net.dir("a"), net.dir("b"), net.dir("lab2"));
    let args_a = network(port_a);
    let a = TestServer::start_in(&dir_a, &cluster.node_args("a", &as_str(&args_a)));
    a.wait_for_log("node a leads (epoch 1");
    let args_b = network(port_b);
    let b = TestServer::start_in(&dir_b, &cluster.node_args("b", &as_str(&args_b)));
    b.wait_for_log("this node follows");
    let port2 = port2.to_string();
    let lab2 = TestServer::start_in(
        &dir2,
        &["--name", "lab2", "--peers", roster_arg, "--link-port", &port2, "--timeout", "10"],
    );
    super::support::addresses::across(&b, &lab2);
}
