//! Peer-to-peer chat (protocol §8) against a real server on port 0: the
//! server only introduces the peers. Two clients go on chatting once it is
//! killed; a forged, a borrowed and a reused token are refused; when the
//! direct connection cannot be made, or drops, the messages go through the
//! server with their ids; a peer that sends garbage or floods is dropped
//! and the client goes on. The library is used directly where the test
//! needs to look at notices, `wachat connect` where it is about the console.

use super::support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Instant;

use support::console::{Console, user_dir};
use support::{Conn, READ_TIMEOUT, TestServer};
use wachat::client::{Client, ClientOptions, Message, Notice};
use wachat::p2p::{BURST, HELLO_LIMIT, MAX_HELLOS_PER_ADDRESS, MAX_PEERS, PER_SECOND};
use wachat::protocol::{Chat, MsgState};

/// Library options for `user` (password `pw-<user>`) on `server`.
fn options(server: &TestServer, user: &str, data_dir: &Path) -> ClientOptions {
    let mut options = ClientOptions::new(user, &format!("pw-{user}"));
    options.send_port = server.send.port();
    options.recv_port = server.recv.port();
    options.data_dir = data_dir.to_path_buf();
    options
}

fn connect(server: &TestServer, user: &str, data_dir: &Path) -> Client {
    Client::connect(options(server, user, data_dir)).expect("connect")
}

/// Waits for the first notice `pick` accepts, passing the others to
/// `skipped`; fails the test after [`READ_TIMEOUT`].
fn wait_for_with<T>(
    client: &Client,
    what: &str,
    mut pick: impl FnMut(&Notice) -> Option<T>,
    mut skipped: impl FnMut(&Notice),
) -> T {
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        match client.events().recv_deadline(deadline) {
            Ok(notice) => match pick(&notice) {
                Some(found) => return found,
                None => {
                    skipped(&notice);
                    seen.push(notice);
                }
            },
            Err(_) => panic!("{}: no {what} in time; got {seen:?}", client.me()),
        }
    }
}

fn wait_for<T>(client: &Client, what: &str, pick: impl FnMut(&Notice) -> Option<T>) -> T {
    wait_for_with(client, what, pick, |_| {})
}

fn message_from(client: &Client, from: &str) -> Message {
    wait_for(client, &format!("message from {from}"), |n| match n {
        Notice::Message(m) if m.from == from => Some(m.clone()),
        _ => None,
    })
}

fn delivered(client: &Client, id: &str) {
    wait_for(client, &format!("✓✓ for {id}"), |n| {
        matches!(n, Notice::State { id: i, state: MsgState::Delivered, .. } if i == id).then_some(())
    });
}

/// The `why` of the end of the direct chat with `peer`.
fn closed(client: &Client, peer: &str) -> (String, usize) {
    wait_for(client, &format!("end of the chat with {peer}"), |n| match n {
        Notice::P2pClosed { peer: p, why, resent } if p == peer => Some((why.clone(), *resent)),
        _ => None,
    })
}

/// `PEER:<user>` on a raw send connection: the address and the token.
fn introduce(conn: &mut Conn, user: &str) -> (SocketAddr, String) {
    let reply = conn.request(&format!("PEER:{user}"));
    let fields = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("PEER:{user} answered {reply}"));
    let (addr, token) = fields.rsplit_once(':').unwrap();
    assert_eq!(token.len(), 32, "{reply}");
    (addr.parse().unwrap(), token.to_string())
}

/// Asserts the other side closes `conn`: end of file, or a reset (closing
/// with our unread bytes in its buffer makes the kernel send one).
fn assert_dropped(conn: &mut Conn) {
    let mut sink = [0u8; 4096];
    loop {
        match conn.stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => return,
            Err(e) => panic!("the peer connection was not closed within {READ_TIMEOUT:?}: {e}"),
        }
    }
}

/// A port where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn two_clients_chat_directly_while_the_server_is_stopped() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let ana = connect(&server, "ana", dir.path());
    let bob = connect(&server, "bob", dir.path());

    ana.open_p2p("bob").expect("direct chat");
    wait_for(&ana, "chat open", |n| {
        matches!(n, Notice::P2pOpened { peer, incoming: false } if peer == "bob").then_some(())
    });
    wait_for(&bob, "chat opened by ana", |n| {
        matches!(n, Notice::P2pOpened { peer, incoming: true } if peer == "ana").then_some(())
    });

    // The rendezvous is over: the server goes, and both clients know it.
    server.kill();
    for client in [&ana, &bob] {
        wait_for(client, "offline", |n| matches!(n, Notice::Offline(_)).then_some(()));
        assert!(!client.is_online());
    }

    let sent = ana.send("bob", "hola bob: no server between us").unwrap();
    assert!(sent.p2p && sent.state == MsgState::Sent, "{sent:?}");
    let got = message_from(&bob, "ana");
    assert!(got.p2p, "{got:?}");
    assert_eq!(
        (got.id.as_str(), got.text.unescaped().as_str()),
        (sent.id.as_str(), "hola bob: no server between us")
    );
    delivered(&ana, &sent.id);

    let reply = bob.send("ana", "hola ana\nen dos líneas").unwrap();
    assert!(reply.p2p);
    assert_eq!(message_from(&ana, "bob").text.unescaped(), "hola ana\nen dos líneas");
    delivered(&bob, &reply.id);

    // Both logs hold both messages, marked p2p, with their states; nothing
    // waits for the server.
    for (client, from, id) in [(&ana, "ana", &sent.id), (&bob, "ana", &sent.id), (&ana, "bob", &reply.id)] {
        let logged = client.local_message(from, id).expect("in the local log");
        assert!(logged.p2p && logged.state == MsgState::Delivered, "{}: {logged:?}", client.me());
    }
    assert_eq!((ana.pending(), bob.pending()), (0, 0));
    let log = std::fs::read_to_string(user_dir(dir.path(), server.send, "bob").join("history.csv")).unwrap();
    assert_eq!(log.lines().filter(|l| l.starts_with("p2p,")).count(), 2, "{log}");
}

#[test]
fn the_p2p_port_listens_only_on_the_address_that_reaches_the_server_and_no_p2p_opens_none() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let bob = connect(&server, "bob", dir.path());
    let addr = bob.p2p_addr().expect("bob listens");
    assert_eq!(addr.ip().to_string(), "127.0.0.1", "a loopback server: loopback only");
    // Another address of this machine (all of 127/8 is loopback on Linux)
    // finds nothing: the port is not open on every interface.
    let elsewhere = SocketAddr::from(([127, 0, 0, 2], addr.port()));
    assert!(std::net::TcpStream::connect_timeout(&elsewhere, READ_TIMEOUT).is_err(), "{elsewhere} answered");
    assert!(std::net::TcpStream::connect_timeout(&addr, READ_TIMEOUT).is_ok());
    drop(bob);

    // --no-p2p: no port announced (the trace shows every frame), and a
    // peer asking for one is told so.
    let mut bob = Console::start(&server, "bob", dir.path(), &["--no-p2p", "--trace"]);
    bob.expect("recv < OK:bob");
    bob.type_line("/users");
    bob.expect("send > USERS");
    assert_eq!(bob.count("P2P:"), 0, "{:?}", bob.seen);
    let mut ana = server.login_send("ana", "pw-ana");
    let refused = ana.request("PEER:bob");
    assert_eq!(refused, "KO:OFFLINE:bob accepts no direct chats (no P2P port announced)");
    assert!(bob.quit("/quit").0.success());
}

#[test]
fn direct_messages_keep_their_time_and_place_and_a_read_mark_leaves_them_delivered() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let ana = connect(&server, "ana", dir.path());
    let bob = connect(&server, "bob", dir.path());
    let s1 = ana.send("bob", "s1 through the server").unwrap();
    message_from(&bob, "ana");
    ana.open_p2p("bob").expect("direct chat");
    wait_for(&bob, "chat opened by ana", |n| matches!(n, Notice::P2pOpened { .. }).then_some(()));
    let p1 = ana.send("bob", "p1 direct").unwrap();
    delivered(&ana, &p1.id);
    let q1 = bob.send("ana", "q1 direct").unwrap();
    message_from(&ana, "bob");
    assert!(ana.hang_up("bob"));
    closed(&ana, "bob");
    let s2 = ana.send("bob", "s2 through the server again").unwrap();
    let got = wait_for(&bob, "s2", |n| match n {
        Notice::Message(m) if m.id == s2.id => Some(m.clone()),
        _ => None,
    });
    // bob reads everything up to s2: the server's READ covers s1 and s2,
    // not the direct message p1, which the server never carried.
    bob.read(&got).unwrap();
    wait_for(&ana, "✓✓ read", |n| matches!(n, Notice::State { state: MsgState::Read, .. }).then_some(()));
    let logged = |id: &str| ana.local_message("ana", id).unwrap();
    assert_eq!(logged(&s1.id).state, MsgState::Read);
    assert_eq!(
        (logged(&p1.id).state, logged(&p1.id).ts),
        (MsgState::Delivered, p1.ts),
        "its ACK moved nothing"
    );
    // In the chat, by time: the direct ones between the two through the server.
    let ids: Vec<String> =
        ana.conversation(&Chat::User("bob".into()), 10).unwrap().messages.into_iter().map(|m| m.id).collect();
    assert_eq!(ids, [s1.id, p1.id, q1.id, s2.id]);
}

#[test]
fn forged_borrowed_and_reused_tokens_are_refused_and_closed() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "eve"]);
    let dir = tempfile::tempdir().unwrap();
    let bob = connect(&server, "bob", dir.path());
    let bob_addr: SocketAddr = ([127, 0, 0, 1], bob.p2p_port().unwrap()).into();

    let refused = |hello: &str| {
        let mut conn = Conn::connect(bob_addr);
        conn.send(hello);
        let answer = conn.line();
        assert!(answer.starts_with("KO:AUTH_FAILED:"), "{hello} answered {answer}");
        conn.expect_closed();
    };
    refused("HELLO:ana:0123456789abcdef0123456789abcdef");
    refused("LOGIN:ana:pw-ana");

    let mut ana = server.login_send("ana", "pw-ana");
    let (addr, token) = introduce(&mut ana, "bob");
    assert_eq!(addr.port(), bob_addr.port(), "the server gives the port bob announced");
    // The token is ana's: eve cannot use it.
    refused(&format!("HELLO:eve:{token}"));
    let mut first = Conn::connect(addr);
    assert_eq!(first.request(&format!("HELLO:ana:{token}")), "OK");
    refused(&format!("HELLO:ana:{token}"));

    // The good connection is a chat.
    assert_eq!(first.request("MSG:m1:1700000000000:hi from a raw socket"), "ACK:m1");
    let got = message_from(&bob, "ana");
    assert!(got.p2p && got.text.unescaped() == "hi from a raw socket", "{got:?}");
    // The same MSG again is acknowledged again, not shown again.
    assert_eq!(first.request("MSG:m1:1700000000000:hi from a raw socket"), "ACK:m1");
    assert_eq!(first.request("MSG:m2:1700000000001:second"), "ACK:m2");
    assert_eq!(message_from(&bob, "ana").id, "m2");
}

#[test]
fn messages_go_through_the_server_when_the_peers_port_is_closed() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    // bob is a raw client that announces a port where nobody listens.
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert_eq!(bob_send.request(&format!("P2P:{}", closed_port())), "OK");

    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");
    ana.type_line("/p2p bob");
    let line = ana.expect("[p2p] no direct chat with bob");
    assert!(line.contains("go through the server"), "{line}");
    ana.type_line("hola bob, vía el servidor");
    ana.expect("you → bob: hola bob, vía el servidor");
    let msg = bob_recv.next_msg();
    assert!(msg.starts_with("MSG:1:ana:bob:") && msg.ends_with(":hola bob, vía el servidor"), "{msg}");
    ana.expect("✓  (to bob: hola bob, vía el servidor)");

    let (status, lines) = ana.quit("/quit");
    assert!(status.success(), "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l.contains("[p2p]")).count(), 1, "one line: {lines:?}");
}

#[test]
fn unacknowledged_messages_go_through_the_server_with_their_ids_when_the_chat_drops() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    // bob is a raw peer that takes one message, never acknowledges it, and hangs up.
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    let mut bob_send = server.login_send("bob", "pw-bob");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(bob_send.request(&format!("P2P:{}", listener.local_addr().unwrap().port())), "OK");
    let (got_tx, got) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut peer = Conn::from_stream(stream);
        let hello = peer.line();
        peer.send("OK");
        let _ = got_tx.send((hello, peer.line()));
        // Dropped here: the connection closes without an ACK.
    });

    let ana = connect(&server, "ana", dir.path());
    ana.open_p2p("bob").expect("direct chat");
    let sent = ana.send("bob", "did you get this?").unwrap();
    assert!(sent.p2p);
    let (hello, msg) = got.recv_timeout(READ_TIMEOUT).expect("the fake peer's frames");
    assert!(hello.starts_with("HELLO:ana:"), "{hello}");
    assert_eq!(msg, format!("MSG:{}:{}:did you get this?", sent.id, sent.ts));

    let (why, resent) = closed(&ana, "bob");
    assert_eq!(resent, 1, "{why}");
    // Through the server now, with the same id.
    let relayed = bob_recv.next_msg();
    assert!(relayed.contains(&format!(":ana:bob:{}:", sent.id)), "{relayed}");
    wait_for(&ana, "✓ from the server", |n| {
        matches!(n, Notice::State { id, state: MsgState::Received, .. } if *id == sent.id).then_some(())
    });
    assert!(!ana.local_message("ana", &sent.id).unwrap().p2p, "no longer a direct message");
    assert!(!ana.is_direct("bob"));
}

#[test]
fn a_peer_that_sends_garbage_or_floods_is_dropped_and_the_client_goes_on() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "eve"]);
    let dir = tempfile::tempdir().unwrap();
    let bob = connect(&server, "bob", dir.path());
    let mut eve = server.login_send("eve", "pw-eve");
    let hello = |eve: &mut Conn| {
        let (addr, token) = introduce(eve, "bob");
        let mut peer = Conn::connect(addr);
        assert_eq!(peer.request(&format!("HELLO:eve:{token}")), "OK");
        peer
    };

    // Garbage: frames that are not the peer protocol.
    let mut peer = hello(&mut eve);
    peer.send("what is this?");
    peer.send_raw(b"\xff\xfe\xfd\n");
    peer.send("HELLO:eve:again");
    peer.send("MSG:no-timestamp:hi");
    assert_dropped(&mut peer);
    let (why, _) = closed(&bob, "eve");
    assert!(why.contains("not the peer protocol"), "{why}");

    // A frame with no end.
    let mut peer = hello(&mut eve);
    let _ = peer.stream.write_all(&[b'x'; 40_000]);
    assert_dropped(&mut peer);
    assert!(closed(&bob, "eve").0.contains("too long"));

    // A flood: well-formed messages, far too many at once.
    let mut peer = hello(&mut eve);
    let flood: String = (0..5000).map(|i| format!("MSG:f{i}:1700000000000:flood {i}\n")).collect();
    // bob hangs up in the middle: the write may fail, that is the point.
    let _ = peer.stream.write_all(flood.as_bytes());
    assert_dropped(&mut peer);
    let mut shown = 0;
    let (why, _) = wait_for_with(
        &bob,
        "end of the flood",
        |n| match n {
            Notice::P2pClosed { peer, why, resent } if peer == "eve" => Some((why.clone(), *resent)),
            _ => None,
        },
        |n| shown += matches!(n, Notice::Message(m) if m.from == "eve") as usize,
    );
    assert!(why.contains("flooding"), "{why}");
    // The burst, and what the bucket refilled while bob stored it.
    assert!(shown <= (BURST + PER_SECOND) as usize, "{shown} messages of the flood got through");

    // bob is undisturbed: messages through the server and a new direct chat work.
    let ana = connect(&server, "ana", dir.path());
    let via_server = ana.send("bob", "still there?").unwrap();
    let got = message_from(&bob, "ana");
    assert!(!got.p2p && got.id == via_server.id, "{got:?}");
    ana.open_p2p("bob").expect("a direct chat after the flood");
    let direct = ana.send("bob", "and directly?").unwrap();
    assert!(direct.p2p);
    let got = message_from(&bob, "ana");
    assert!(got.p2p && got.id == direct.id, "{got:?}");
    assert!(bob.is_online());
}

#[test]
fn two_consoles_chat_over_p2p_on_a_chosen_port_and_hang_up() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let mut bob = Console::start(&server, "bob", dir.path(), &["--p2p-port", &port.to_string()]);
    bob.expect("connected to 127.0.0.1 as bob");
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");

    ana.type_line("/p2p bob");
    ana.expect("[p2p] direct chat with bob open");
    bob.expect("[p2p] ana opened a direct chat with you");
    // bob's console listens on the port it was given.
    let mut raw = server.login_send("ana", "pw-ana");
    assert_eq!(introduce(&mut raw, "bob").0.port(), port);

    ana.type_line("hola bob");
    ana.expect("[p2p] you → bob: hola bob …");
    bob.expect("[p2p] ana: hola bob");
    ana.expect("✓✓  (to bob: hola bob)");
    bob.type_line("@ana: hola ana");
    ana.expect("[p2p] bob: hola ana");
    // The chat shows them, from the local log, though the server never saw them.
    ana.type_line("/chat bob");
    ana.expect("── bob (online): last 2 message(s) ──");
    ana.expect("[p2p] you → bob: hola bob ✓✓");

    bob.type_line("/hangup ana");
    bob.expect("[p2p] direct chat with ana ended (you hung up)");
    ana.expect("[p2p] direct chat with bob ended (bob closed the connection)");
    ana.type_line("hola otra vez");
    bob.expect("ana: hola otra vez");
    assert_eq!(bob.count("[p2p] ana: hola otra vez"), 0, "through the server now");
    let (status, lines) = ana.quit("/quit");
    assert!(status.success(), "{lines:?}");
}

#[test]
fn silent_connections_from_one_address_do_not_keep_a_friend_out() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "eve"]);
    let dir = tempfile::tempdir().unwrap();
    let bob = connect(&server, "bob", dir.path());
    let bob_addr: SocketAddr = ([127, 0, 0, 1], bob.p2p_port().unwrap()).into();
    // A stranger fills bob's places with connections that say nothing.
    let mut silent: Vec<Conn> = (0..MAX_PEERS).map(|_| Conn::connect(bob_addr)).collect();

    // ana, from another address, gets in meanwhile.
    let mut ana = server.login_send("ana", "pw-ana");
    let (addr, token) = introduce(&mut ana, "bob");
    let mut friend = Conn::connect_from(addr, [127, 0, 0, 2]);
    assert_eq!(friend.request(&format!("HELLO:ana:{token}")), "OK");

    // The stranger's address had two places; the rest were refused at
    // once, and the two are dropped for want of a HELLO (within
    // HELLO_LIMIT, less than the read timeout).
    assert!(HELLO_LIMIT < READ_TIMEOUT);
    let answers: Vec<String> = silent.iter_mut().map(Conn::line).collect();
    let count = |code: &str| answers.iter().filter(|a| a.starts_with(code)).count();
    let (busy, no_hello) = (count("KO:BUSY:"), count("KO:AUTH_FAILED:"));
    assert_eq!((busy, no_hello), (MAX_PEERS - MAX_HELLOS_PER_ADDRESS, MAX_HELLOS_PER_ADDRESS), "{answers:?}");

    // Once they are gone, that address gets in too.
    let mut eve = server.login_send("eve", "pw-eve");
    let (addr, token) = introduce(&mut eve, "bob");
    let mut again = Conn::connect(addr);
    assert_eq!(again.request(&format!("HELLO:eve:{token}")), "OK");
}
