//! What a hostile client can still try on the web port, played
//! over raw sockets against a real `wachat serve`: WebSocket frames are
//! written by hand (masked, as a browser's), so that the test can do what
//! no browser does — ping without ever reading, or lie about its `Host`.

use super::support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::{READ_TIMEOUT, TestServer};

/// Sends a WebSocket handshake for `path` naming `host` (and `origin`, if
/// any); the socket and the status line of the answer.
fn handshake(addr: SocketAddr, path: &str, host: &str, origin: Option<&str>) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
    );
    tcp.write_all(request.as_bytes()).unwrap();
    let status = read_head(&mut tcp).lines().next().unwrap_or("").to_string();
    (tcp, status)
}

/// Reads a response head, byte by byte (nothing after it is taken).
fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// `GET path` naming `host`: the whole response (the server closes).
fn get(addr: SocketAddr, path: &str, host: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A masked ping frame with the largest payload a control frame may carry.
fn ping_frame() -> Vec<u8> {
    let mask = [7u8, 1, 9, 3];
    let mut frame = vec![0x89, 0x80 | 125];
    frame.extend_from_slice(&mask);
    frame.extend((0..125).map(|i| b'p' ^ mask[i % 4]));
    frame
}

/// Writes pings on `ws` and never reads, until the server closes the
/// connection (true) or `budget` bytes went out without that (false).
fn ping_without_reading(ws: &mut TcpStream, budget: usize) -> bool {
    ws.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    // Whole frames, so that a write taken in part goes on where it stopped.
    let batch = ping_frame().repeat(1000);
    let (mut sent, mut at) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    while sent < budget && Instant::now() < deadline {
        match ws.write(&batch[at..]) {
            Ok(0) => return true,
            Ok(n) => {
                sent += n;
                at = (at + n) % batch.len();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true, // reset, or broken pipe: closed
        }
    }
    false
}

#[test]
fn a_websocket_that_pings_and_never_reads_is_closed() {
    let server = TestServer::start_with(&["--web-port", "0"]);
    let web = server.web.unwrap();
    // Before any login, on both WebSockets. The kernel's buffers take a
    // few MiB of pongs first; the server then holds at most 64 KiB more.
    // Without a limit it held all of them: 64 MiB of pings, never closed.
    for path in ["/ws/send", "/ws/receive"] {
        let (mut ws, status) = handshake(web, path, &web.to_string(), None);
        assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
        assert!(
            ping_without_reading(&mut ws, 64 << 20),
            "{path}: 64 MiB of pings and the server still reads"
        );
    }
    // The server lives on, and a peer that reads its pongs is served.
    let (mut ws, _) = handshake(web, "/ws/send", &web.to_string(), None);
    ws.write_all(&ping_frame().repeat(100)).unwrap();
    let mut pongs = vec![0u8; 100 * 127];
    ws.read_exact(&mut pongs).unwrap();
    assert_eq!(&pongs[..2], &[0x8A, 125], "a pong");
}

#[test]
fn a_name_the_server_does_not_answer_to_is_refused() {
    let server =
        TestServer::start_with(&["--web-port", "0", "--web-host", "chat.school.example,lab.example"]);
    let web = server.web.unwrap();
    let port = web.port();
    // DNS rebinding: the attacker's name resolves to this server, so the
    // page, its Host and its Origin all say that name.
    let evil = format!("rebind.evil.example:{port}");
    let refused = get(web, "/", &evil);
    assert!(refused.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{refused}");
    assert!(refused.contains("--web-host"), "the refusal says what to do: {refused}");
    assert!(get(web, "/app.js", &evil).starts_with("HTTP/1.1 403 "));
    for path in ["/ws/send", "/ws/receive"] {
        let (_, status) = handshake(web, path, &evil, Some(&format!("http://{evil}")));
        assert_eq!(status, "HTTP/1.1 403 Forbidden", "{path}");
    }
    // Its own address, any address (a rebinding needs a name), localhost,
    // and the names given with --web-host, in any case, with a final dot.
    for host in [
        web.to_string(),
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("[::1]:{port}"),
        "192.0.2.7".to_string(),
        format!("chat.school.example:{port}"),
        "CHAT.School.Example.".to_string(),
        format!("lab.example:{port}"),
    ] {
        let answer = get(web, "/", &host);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "Host: {host}: {answer}");
    }
    let local = format!("localhost:{port}");
    let (_, status) = handshake(web, "/ws/send", &local, Some(&format!("http://{local}")));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    let named = format!("chat.school.example:{port}");
    let (_, status) = handshake(web, "/ws/receive", &named, Some(&format!("http://{named}")));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
}
