//! Pipelined replies leave in the order of the requests, refusals
//! included (protocol §2): a `KO` the server can give at once must still
//! wait behind the `OK` of a `MSG` read before it, which waits for the
//! disk. Over the send port and over the web port's `/ws/send`.

use super::support;

use std::net::TcpStream;

use support::{READ_TIMEOUT, TestServer};
use tungstenite::{Message, WebSocket};

/// A stored `MSG`, a line that is no request, a `MSG` to nobody, a `PING`
/// and a last stored `MSG`, all sent in one write.
const BURST: [&str; 5] = ["MSG:bob:r1:uno", "hola", "MSG:nadie:r2:dos", "PING", "MSG:bob:r3:tres"];

/// What each reply of [`BURST`] must start with, in order.
const EXPECTED: [&str; 5] = ["OK:r1:", "KO:BAD_REQUEST:", "KO:UNKNOWN_USER:", "OK", "OK:r3:"];

fn assert_in_order(replies: &[String], expected: &[&str]) {
    let matches = replies.len() == expected.len()
        && replies
            .iter()
            .zip(expected)
            .all(|(reply, start)| if *start == "OK" { reply == "OK" } else { reply.starts_with(start) });
    assert!(matches, "replies out of order: {replies:#?}, expected {expected:?}");
}

#[test]
fn pipelined_refusals_wait_their_turn_behind_stored_messages() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut c = server.login_send("ana", "pw-ana");
    // A frame that is not UTF-8 (Latin-1 é), right behind a stored MSG:
    // refused by the framing, before any parsing.
    let mut burst = b"MSG:bob:r0:cero\nMSG:bob:r9:caf\xE9\n".to_vec();
    burst.extend(BURST.iter().flat_map(|line| format!("{line}\n").into_bytes()));
    burst.extend_from_slice(b"QUIT\n");
    c.send_raw(&burst); // one write
    let mut expected = vec!["OK:r0:", "KO:BAD_REQUEST:"];
    expected.extend(EXPECTED);
    expected.push("OK");
    let replies: Vec<String> = expected.iter().map(|_| c.line()).collect();
    assert_in_order(&replies, &expected);
    c.expect_closed();
}

/// A WebSocket client on the web port's `/ws/send` (no `Origin`: a tool,
/// not a browser), with a timeout on every read.
fn ws_send(server: &TestServer) -> WebSocket<TcpStream> {
    let web = server.web.expect("the web port");
    let tcp = TcpStream::connect(web).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let (ws, _) = tungstenite::client(format!("ws://{web}/ws/send"), tcp).expect("the handshake");
    ws
}

fn ws_line(ws: &mut WebSocket<TcpStream>) -> String {
    match ws.read().expect("a reply within the read timeout") {
        Message::Text(text) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

#[test]
fn pipelined_refusals_keep_their_order_over_the_websocket() {
    let server = TestServer::start_with(&["--web-port", "0"]);
    server.register(&["ana", "bob"]);
    let mut ws = ws_send(&server);
    ws.send(Message::text("LOGIN:ana:pw-ana")).unwrap();
    assert_eq!(ws_line(&mut ws), "OK:ana");
    for line in BURST {
        ws.write(Message::text(line)).unwrap(); // buffered: one write at the flush
    }
    ws.flush().unwrap();
    let replies: Vec<String> = (0..BURST.len()).map(|_| ws_line(&mut ws)).collect();
    assert_in_order(&replies, &EXPECTED);
}
