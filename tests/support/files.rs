//! 1.2 files in chats (docs/PROTOCOL.md §21) on the wire, for the tests
//! of `tests/chat/files.rs` and `tests/web/files.rs`: an upload, a fetch, and
//! bytes to send.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Conn, READ_TIMEOUT, TestServer};

/// Most bytes of one `PART` (protocol::files::PART_BYTES).
pub const PART: usize = 12_000;

pub fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `line` on every connection at once (a barrier lines the
/// threads up); the replies, in the order of `conns`.
pub fn request_at_once(conns: &mut [Conn], line: &str) -> Vec<String> {
    let start = std::sync::Barrier::new(conns.len());
    std::thread::scope(|s| {
        let asks: Vec<_> = conns
            .iter_mut()
            .map(|conn| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    conn.request(line)
                })
            })
            .collect();
        asks.into_iter().map(|ask| ask.join().unwrap()).collect()
    })
}

/// Bytes that no compressor or sniffer mistakes for anything.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `UPLOAD` and every `PART` of `bytes`; the file id.
pub fn upload(conn: &mut Conn, name: &str, bytes: &[u8]) -> String {
    let reply = conn.request(&format!("UPLOAD:{name}:{}:{}", bytes.len(), sha256(bytes)));
    let id = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("UPLOAD: {reply}")).to_string();
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    send_parts(conn, &id, bytes, 0);
    id
}

/// The `PART`s of `bytes` from `from` on, each answered with the bytes so far.
pub fn send_parts(conn: &mut Conn, id: &str, bytes: &[u8], from: usize) {
    for start in (from..bytes.len()).step_by(PART) {
        let end = (start + PART).min(bytes.len());
        let reply = conn.request(&format!("PART:{id}:{start}:{}", STANDARD.encode(&bytes[start..end])));
        assert_eq!(reply, format!("OK:{end}"));
    }
}

/// Every byte of `what` (a file id, or `<id>-t`) by `FETCH`, or the `KO`.
pub fn fetch(conn: &mut Conn, what: &str) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    loop {
        let reply = conn.request(&format!("FETCH:{what}:{}", got.len()));
        let Some(b64) = reply.strip_prefix("OK:") else { return Err(reply) };
        if b64.is_empty() {
            return Ok(got);
        }
        got.extend(STANDARD.decode(b64).expect("base64"));
    }
}

/// A receive connection that said `VERSION:1.2` before its login.
pub fn login_recv_1_2(server: &TestServer, user: &str) -> Conn {
    let mut conn = server.recv_conn();
    assert_eq!(conn.request("VERSION:1.2"), "OK");
    assert_eq!(conn.request(&format!("LOGIN:{user}:pw-{user}")), format!("OK:{user}"));
    conn
}

/// The next `FILE` event, skipping presence and `PING`s (answered).
pub fn next_file_event(events: &mut Conn) -> String {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "no FILE event");
        let line = events.line();
        if line.starts_with("FILE:") {
            return line;
        }
        if line == "PING" {
            events.send("PONG");
        }
    }
}

/// A photo-like PNG of `width` × `height`.
pub fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    let image =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x / 5) as u8, (y / 4) as u8, 128]));
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

/// One story of `--user-quota 200000` (docs/PROTOCOL.md §21: a user's
/// messages and files count together), told to a single server (`first`
/// and `second` the same) and to a cluster's two nodes, which must
/// answer alike. ana, bob and carl are registered (password `pw-<name>`),
/// and no `--rate` limits them.
pub fn messages_and_files_share_the_quota(first: &TestServer, second: &TestServer) {
    // ana's messages first, through `first`: about 125,000 bytes counted
    // (120 of 1,000 bytes of text, and what each row or line costs).
    let mut ana = first.login_send("ana", "pw-ana");
    let text = "x".repeat(1000);
    for i in 0..120 {
        assert!(ana.request(&format!("MSG:bob:m{i}:{text}")).starts_with(&format!("OK:m{i}:")));
    }
    // Then, through `second`, a file that would pass the quota with
    // them, and one that fits beside them.
    let mut ana = second.login_send("ana", "pw-ana");
    let big = noise(80_000, 1);
    let refused = ana.request(&format!("UPLOAD:big.bin:{}:{}", big.len(), sha256(&big)));
    assert!(refused.starts_with("KO:FULL:"), "the messages count for a file: {refused}");
    upload(&mut ana, "small.bin", &noise(30_000, 2));

    // bob's file first: 195,000 bytes, carried by a message to carl.
    let mut bob = second.login_send("bob", "pw-bob");
    let id = upload(&mut bob, "big.bin", &noise(195_000, 3));
    assert!(bob.request(&format!("FILE:carl:f1:{id}:")).starts_with("OK:f1:"));
    // Then messages of 1,000 bytes: a few fit, then the file counts.
    let replies = messages_until_full(&mut bob, "carl", &text);
    let last = replies.last().unwrap();
    assert!(
        last.starts_with("KO:FULL:") && last.contains("messages and files"),
        "the file counts: {replies:?}"
    );
}

/// The replies to `MSG`s of `text` to `to`, sent until one is `KO:FULL`
/// (at most 10).
pub fn messages_until_full(conn: &mut Conn, to: &str, text: &str) -> Vec<String> {
    let mut replies = Vec::new();
    for i in 1..=10 {
        let reply = conn.request(&format!("MSG:{to}:m{i}:{text}"));
        let full = reply.starts_with("KO:FULL:");
        replies.push(reply);
        if full {
            break;
        }
    }
    replies
}
