//! Protocol 1.2's additions, byte for byte (docs/PROTOCOL.md §15):
//! `TYPING:<to>` on the send port, `VERSION:1.2` and the `TYPING` event on
//! the receive port. Ephemeral: never stored, never replayed, no sequence
//! number; and a client that did not say `VERSION:1.2` sees no difference.

use super::support;

use std::time::Instant;

use support::{Conn, READ_TIMEOUT, TestServer, without_ts};

/// `user`'s receive connection, logged in, having said `versions`, and the
/// server sure to have read them: they are followed by the `ACK` of the one
/// message waiting for `user` (sent by `sender`), whose `DELIVERED` shows
/// in `sender`'s history only once the server has read all of them.
fn opted_in(server: &TestServer, user: &str, versions: &[&str], sender: &mut Conn) -> Conn {
    let mut events = server.login_recv(user, &format!("pw-{user}"));
    assert!(events.next_msg().starts_with("MSG:1:"));
    versions.iter().for_each(|v| events.send(v));
    events.send("ACK:1");
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let history = sender.listing(&format!("HISTORY:{user}:1"));
        if history[0].contains(":DELIVERED:") {
            return events;
        }
        assert!(Instant::now() < deadline, "the ACK was not read: {history:?}");
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling the server's view
    }
}

#[test]
fn typing_reaches_the_peer_and_the_room_on_1_2_connections_only() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl", "dan"]);
    let (mut ana, mut bob, mut carl) = (
        server.login_send("ana", "pw-ana"),
        server.login_send("bob", "pw-bob"),
        server.login_send("carl", "pw-carl"),
    );
    for conn in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(conn.request("JOIN:#tea"), "OK");
    }
    assert!(ana.request("MSG:bob:a0:first").starts_with("OK:a0:"));
    assert!(ana.request("MSG:carl:a1:first").starts_with("OK:a1:"));
    let mut bob_events = opted_in(&server, "bob", &["VERSION:1.1", "VERSION:1.2"], &mut ana);
    let mut carl_events = opted_in(&server, "carl", &["VERSION:1.1"], &mut ana); // a 1.1 client
    assert_eq!(bob_events.line(), "JOINED:carl");

    // A direct chat: the peer, by the name as registered.
    assert_eq!(ana.request("TYPING:BOB"), "OK");
    assert_eq!(bob_events.line(), "TYPING:ana:bob");
    // A room: its other members online, on 1.2 connections.
    assert_eq!(ana.request("TYPING:#Tea"), "OK");
    assert_eq!(bob_events.line(), "TYPING:ana:#tea");
    assert_eq!(carl.request("TYPING:#tea"), "OK");
    assert_eq!(bob_events.line(), "TYPING:carl:#tea");
    // Carl (1.1) heard nothing: his next frame is the message sent after.
    assert_eq!(ana.request("TYPING:carl"), "OK");
    assert!(ana.request("MSG:carl:a2:after").starts_with("OK:a2:"));
    assert_eq!(without_ts(&carl_events.line()), "MSG:2:ana:carl:a2:<ts>:after");
    // Ephemeral: no sequence number was taken, the next event is number 2.
    assert!(ana.request("MSG:bob:a3:after").starts_with("OK:a3:"));
    assert_eq!(without_ts(&bob_events.line()), "MSG:2:ana:bob:a3:<ts>:after");

    // Nobody needs to be online; the names must exist, the room be yours.
    assert_eq!(ana.request("TYPING:dan"), "OK");
    assert_eq!(ana.request("TYPING:nobody"), "KO:UNKNOWN_USER:no user named nobody");
    let mut dan = server.login_send("dan", "pw-dan");
    assert_eq!(dan.request("TYPING:#tea"), "KO:NOT_MEMBER:you are not in #tea");
    assert_eq!(dan.request("TYPING:#nowhere"), "KO:NOT_MEMBER:you are not in #nowhere");
    assert_eq!(dan.request("TYPING"), "KO:BAD_REQUEST:expected TYPING:<user or #room>");
    assert!(dan.request("TYPING:a b").starts_with("KO:BAD_REQUEST:bad user name"));
}

#[test]
fn typing_is_never_stored_nor_replayed() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("TYPING:bob"), "OK", "bob offline");
    assert!(ana.request("MSG:bob:a1:hi").starts_with("OK:a1:"));
    server.restart(&[]);
    let mut bob_events = server.login_recv("bob", "pw-bob");
    bob_events.send("VERSION:1.2");
    assert_eq!(without_ts(&bob_events.line()), "MSG:1:ana:bob:a1:<ts>:hi", "the replay has no TYPING");
    let log: String = std::fs::read_dir(server.data_dir.join("log"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(!log.contains("TYPING"), "{log}");
}

#[test]
fn typing_costs_a_rate_token() {
    let server = TestServer::start_with(&["--rate", "5"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    ana.send_raw("TYPING:bob\n".repeat(60).as_bytes());
    let replies: Vec<String> = (0..60).map(|_| ana.line()).collect();
    let refused = replies.iter().filter(|r| r.starts_with("KO:RATE_LIMITED:")).count();
    assert!(refused > 0, "60 TYPINGs at --rate 5 were all served: {replies:?}");
    assert!(replies.iter().all(|r| r == "OK" || r.starts_with("KO:RATE_LIMITED:")), "{replies:?}");
}
