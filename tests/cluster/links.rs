//! The node links (`src/cluster/links.rs`): what a follower passes on to
//! the leader, one TCP connection per client, and who may open one (a
//! follower answering the leader's challenge; an answer replayed gets nothing).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::support::cluster::{Cluster, LinkProxy, node_links_at};
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
    // Closed with what it sent unread (an end, or a reset), once it said
    // its challenge.
    let mut heard = String::new();
    let _ = link.read_to_string(&mut heard);
    assert!(heard.starts_with("NONCE:") && heard.lines().count() == 1, "nothing served: {heard:?}");
    a.wait_for_log("is not of this cluster");
    // A first line that is no node's at all is closed too.
    let mut link = TcpStream::connect(node_port(&a)).unwrap();
    link.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    link.write_all(b"LOGIN:ana:pw-ana\n").unwrap();
    let mut heard = String::new();
    let _ = link.read_to_string(&mut heard);
    assert!(heard.starts_with("NONCE:") && heard.lines().count() == 1, "nothing served: {heard:?}");
}

/// A listener on the path between the nodes (the links are plaintext
/// where the client ports are) keeps a follower's link: the leader's
/// challenge, the follower's answer for its client's address, the
/// client's `REGISTER`. Replayed to the leader's node port, the answer
/// (as it was, or naming another client address) gets a new challenge
/// and nothing more: no account made, the answer "not of this cluster".
/// The follower's own links go on.
#[test]
fn a_replayed_node_answer_gets_nothing() {
    let cluster = Cluster::start();
    let proxy = LinkProxy::start();
    let at = proxy.at.to_string();
    let a = cluster.node_with("a", &["--node-advertise", &at]);
    proxy.to_node(&a);
    let b = cluster.node("b");
    b.register(&["ana"]); // through b, so through a link of b's, through the proxy
    let (onward, back) = proxy.seen();
    let (onward, back) = (String::from_utf8_lossy(&onward), String::from_utf8_lossy(&back));
    let challenge = back.lines().next().unwrap_or_default().to_string();
    let answer = onward.lines().next().unwrap_or_default().to_string();
    assert!(challenge.starts_with("NONCE:"), "{back:?}");
    assert!(answer.starts_with("NODE:") && onward.contains("REGISTER:ana"), "{onward:?}");
    println!("seen on the path: {challenge} / {answer}");
    let (said, _) = answer.strip_prefix("NODE:").and_then(|rest| rest.split_once(':')).unwrap();
    let elsewhere = format!("NODE:{said}:send:10.66.66.1:5555");

    for replayed in [&answer, &elsewhere] {
        let mut link = TcpStream::connect(node_links_at(&a)).unwrap();
        link.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let _ = link.write_all(format!("{replayed}\nREGISTER:mallory::pw-mallory\n").as_bytes());
        let mut heard = String::new();
        let _ = link.read_to_string(&mut heard);
        assert!(heard.starts_with("NONCE:") && heard.lines().count() == 1, "served: {heard:?}");
        assert_ne!(heard.trim_end(), challenge, "a nonce of its own");
    }
    a.wait_for_log("its answer to the challenge differs");
    // Nobody registered mallory; ana, through b, goes on.
    let mut probe = a.send_conn();
    assert!(probe.request("LOGIN:mallory:pw-mallory").starts_with("KO:"), "mallory was made");
    let mut ana = b.login_send("ana", "pw-ana");
    assert_eq!(ana.request("PING"), "OK");
}
