//! The node links (`src/cluster/links.rs`): what a follower passes on to
//! the leader, one TCP connection per client, and who may open one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::support::cluster::Cluster;
use super::support::{READ_TIMEOUT, TestServer, tls, without_ts};

/// Where `node` takes node links, as its log says.
fn node_port(node: &TestServer) -> SocketAddr {
    let said = node.wait_for_log("node links at ");
    said.split("node links at ").nth(1).unwrap().trim().parse().expect("an address")
}

/// With `--tls-cert`, the clients speak TLS to the follower and the
/// follower speaks TLS to the leader: a chat across both, and the
/// leader's node port refuses a link in plaintext.
#[test]
fn where_the_client_ports_speak_tls_the_node_links_do_too() {
    let certs = tls::Certs::make(&["127.0.0.1"]);
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &certs.serve_args());
    let b = cluster.node_with("b", &certs.serve_args());
    tls::register(&b, &certs, &["ana", "bob"]);
    let mut bob = tls::login_recv(&a, &certs, "bob");
    let mut ana = tls::login_send(&b, &certs, "ana");
    let ok = ana.request("MSG:bob:m1:over two TLS hops");
    assert!(ok.starts_with("OK:m1:"), "{ok}");
    assert_eq!(without_ts(&bob.next_event()), "MSG:1:ana:bob:m1:<ts>:over two TLS hops");
    let mut plain = TcpStream::connect(node_port(&a)).unwrap();
    plain.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    plain.write_all(b"NODE:00:send:127.0.0.1:4000\nLOGIN:ana:pw-ana\n").unwrap();
    let mut heard = Vec::new();
    let _ = plain.read_to_end(&mut heard);
    assert!(!String::from_utf8_lossy(&heard).contains("OK"), "{heard:?}");
}

/// A connection to the leader's node port that cannot prove it read the
/// cluster's log (a client passing for a node, to have its limits
/// counted under another address) is closed before a frame is served.
#[test]
fn a_link_that_does_not_prove_it_is_a_node_is_closed_unserved() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    a.register(&["ana"]);
    let mut link = TcpStream::connect(node_port(&a)).unwrap();
    link.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let guess = "0".repeat(32);
    link.write_all(format!("NODE:{guess}:send:10.9.8.7:4000\nLOGIN:ana:pw-ana\n").as_bytes()).unwrap();
    // Closed with what it sent unread: an end, or a reset.
    let mut heard = String::new();
    let _ = link.read_to_string(&mut heard);
    assert_eq!(heard, "", "nothing served");
    a.wait_for_log("is not of this cluster");
    // A first line that is no node's at all is closed too.
    let mut link = TcpStream::connect(node_port(&a)).unwrap();
    link.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    link.write_all(b"LOGIN:ana:pw-ana\n").unwrap();
    let mut heard = String::new();
    let _ = link.read_to_string(&mut heard);
    assert_eq!(heard, "");
}
