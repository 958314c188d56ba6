//! The browser client, end to end: a real `wachat serve` with its web
//! port, Debian's chromium driven headless (tests/support/browser.rs), and
//! raw protocol connections for the other side of each conversation.
//!
//! One test binary: the chat, rooms, actions and the account panel here,
//! the rest by topic in `tests/web/` (the app's own features, accounts,
//! calls, a user's day's rough edges, files, a long history, its look,
//! media, the outbox, rough edges, a room message's receipts, starred
//! messages, staying signed in, its words).

mod support;

#[path = "web/accounts.rs"]
mod accounts;
#[path = "web/app.rs"]
mod app;
#[path = "web/calls.rs"]
mod calls;
#[path = "web/edges.rs"]
mod edges;
#[path = "web/files.rs"]
mod files;
#[path = "web/group_calls.rs"]
mod group_calls;
#[path = "web/habits.rs"]
mod habits;
#[path = "web/history.rs"]
mod history;
#[path = "web/look.rs"]
mod look;
#[path = "web/media.rs"]
mod media;
#[path = "web/network.rs"]
mod network;
#[path = "web/outbox.rs"]
mod outbox;
#[path = "web/polish.rs"]
mod polish;
#[path = "web/profile.rs"]
mod profile;
#[path = "web/push.rs"]
mod push;
#[path = "web/receipts.rs"]
mod receipts;
#[path = "web/starred.rs"]
mod starred;
#[path = "web/stay.rs"]
mod stay;
#[path = "web/words.rs"]
mod words;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use serde_json::{Value, json};
use support::browser::Browser;
use support::webapp::{
    ENTER, log_in_again, logged_in, new_link_code, open_chat, restartable_web_server, web_server,
};
use support::{Conn, Random, TestServer};

const SHIFT_ENTER: &str = "\u{E008}\u{E007}\u{E000}";

/// The texts of the messages shown in the open chat.
fn texts(browser: &Browser) -> Vec<String> {
    let value = browser.exec(
        "return [...document.querySelectorAll('#messages .msg .text')].map(e => e.textContent)",
        json!([]),
    );
    serde_json::from_value(value).unwrap()
}

#[test]
fn two_browsers_chat_and_the_ticks_reach_read_in_place() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let ana = logged_in(&url, "ana", 1200, 800);
    let bob = logged_in(&url, "bob", 1200, 800);
    open_chat(&ana, "bob");
    ana.type_into("#input", &format!("hola bob{ENTER}"));
    // The message's tick, kept to check that it changes in place.
    ana.wait_for("(window.tick = document.querySelector('#messages .msg.mine .tick')) && tick.dataset.state !== 'SENT'");
    // Bob's list: a chat with ana, one unread, its last message.
    bob.wait_for("[...document.querySelectorAll('#chat-list button')].some(b => b.querySelector('.badge')?.textContent === '1' && b.querySelector('.chat-last').textContent === 'hola bob')");
    // Delivered as soon as bob's browser acknowledged it.
    ana.wait_for("tick.dataset.state === 'DELIVERED' && tick.textContent === '✓✓'");
    bob.click("#chat-list button[data-chat='ana']");
    bob.wait_for("document.querySelector('#messages .msg .text')?.textContent === 'hola bob'");
    ana.wait_for("document.contains(tick) && tick.dataset.state === 'READ'");
    // And back: bob answers, ana's open chat shows it.
    bob.type_into("#input", &format!("hola ana{ENTER}"));
    ana.wait_for("[...document.querySelectorAll('#messages .msg:not(.mine) .text')].some(e => e.textContent === 'hola ana')");
    assert_eq!(texts(&ana), ["hola bob", "hola ana"]);
    // Bob's badge is gone, and the divider showed where unread began.
    assert_eq!(bob.exec("return document.querySelector('#chat-list .badge')", json!([])), Value::Null);
    assert_eq!(bob.exec("return document.querySelectorAll('.unread-line').length", json!([])), json!(1));
}

/// Ana's browser in her chat with bob, and bob on raw connections: the
/// server, ana's browser, bob's receive and send connections.
fn ana_in_her_chat_with_bob() -> (TestServer, Browser, Conn, Conn) {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let bob_recv = server.login_recv("bob", "pw-bob");
    let bob_send = server.login_send("bob", "pw-bob");
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "bob");
    (server, ana, bob_recv, bob_send)
}

#[test]
fn a_browser_and_a_terminal_client_chat_over_the_same_protocol() {
    let (_server, ana, mut bob_recv, mut bob_send) = ana_in_her_chat_with_bob();
    // Enter sends; Shift+Enter is a new line inside the message.
    ana.type_into("#input", &format!("line one{SHIFT_ENTER}line two{ENTER}"));
    let event = bob_recv.next_msg();
    assert!(event.starts_with("MSG:"), "{event}");
    assert!(event.contains(":ana:bob:") && event.ends_with(":line one\\nline two"), "{event}");
    let seq = event.split(':').nth(1).unwrap();
    bob_recv.send(&format!("ACK:{seq}"));
    let id = event.split(':').nth(4).unwrap().to_string();
    assert!(bob_send.request(&format!("READ:ana:{id}")).starts_with("OK"));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'READ'");
    assert!(bob_send.request("MSG:ana:t1:from the terminal").starts_with("OK:t1:"));
    ana.wait_for(
        "[...document.querySelectorAll('#messages .text')].some(e => e.textContent === 'from the terminal')",
    );
    assert_eq!(texts(&ana), ["line one\nline two", "from the terminal"]);
}

/// What the open chat shows is read with a cumulative `READ` now and
/// then, never one per message: a burst of ten costs two at most.
#[test]
fn a_burst_in_the_open_chat_is_read_once_not_per_message() {
    let (_server, ana, mut bob_recv, mut bob_send) = ana_in_her_chat_with_bob();
    assert!(bob_send.request("MSG:ana:b0:hola").starts_with("OK:b0:"));
    assert_eq!(bob_recv.reads_until("b0").len(), 1, "shown in the open chat, read at once");
    for n in 1..=10 {
        assert!(bob_send.request(&format!("MSG:ana:b{n}:burst {n}")).starts_with(&format!("OK:b{n}:")));
    }
    ana.wait_for("[...document.querySelectorAll('#messages .text')].some(e => e.textContent === 'burst 10')");
    let reads = bob_recv.reads_until("b10");
    assert!(reads.len() <= 2, "{reads:?}");
}

/// A disabled student's browser says so in plain words and stops: no
/// login after it, which the server would refuse (and log) every time.
#[test]
fn waits_2_s_a_disabled_accounts_browser_says_so_and_stops_trying() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let ana = logged_in(&url, "ana", 1200, 800);
    let disabled = std::process::Command::new(support::wachat_bin())
        .args(["users", "disable", "ana", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(disabled.status.success(), "{disabled:?}");
    ana.wait_for("!document.getElementById('login').hidden && document.getElementById('login-error').textContent.includes('administrator disabled your account')");
    std::thread::sleep(std::time::Duration::from_secs(2)); // longer than a reconnection's backoff
    assert!(!server.log().iter().any(|l| l.contains("ana refused: disabled")), "{:?}", server.log());
}

/// Ana's browser in her chat with bob, the server killed, and `text`
/// sent while offline (in the outbox, `SENT`): the server, the app's URL
/// and the browser.
fn typed_offline(text: &str) -> (TestServer, String, Browser) {
    let (mut server, url) = restartable_web_server(&[]);
    server.register(&["ana", "bob"]);
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "bob");
    server.kill();
    ana.wait_for("document.getElementById('status').className.includes('offline')");
    ana.type_into("#input", &format!("{text}{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'SENT'");
    (server, url, ana)
}

#[test]
fn an_offline_browser_queues_reconnects_and_delivers_once() {
    let (mut server, _, ana) = typed_offline("typed offline");
    // A password's login keeps its outbox in the tab, not past it.
    let outbox = ana.exec("return Object.keys(sessionStorage).filter(k => k.startsWith('wachat:outbox:')).map(k => JSON.parse(sessionStorage[k]).length)", json!([]));
    assert_eq!(outbox, json!([1]));
    assert_eq!(
        ana.exec(
            "return Object.keys(localStorage).filter(k => k.startsWith('wachat:outbox:')).length",
            json!([])
        ),
        json!(0)
    );
    // The server comes back on the same ports; the app reconnects by itself.
    server.restart_in_place(&[]);
    ana.wait_for("document.querySelector('#status.online') && document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob.next_msg().ends_with(":typed offline"));
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert_eq!(bob_send.listing("HISTORY:ana:10").len(), 1, "delivered once");
    assert_eq!(ana.exec("return JSON.parse(sessionStorage[Object.keys(sessionStorage).find(k => k.startsWith('wachat:outbox:'))]).length", json!([])), json!(0));
}

#[test]
fn hostile_text_is_shown_as_text_and_does_nothing() {
    let (mut server, url) = restartable_web_server(&[]);
    server.register(&["ana", "bob"]);
    let long = "x".repeat(4096);
    let hostile = [
        "<img src=x onerror=\"window.pwned=1\">",
        "<script>window.pwned=2</script>",
        "\u{1b}[31mred\u{7}",
        long.as_str(),
    ];
    // Since protocol 1.2 a control character in MSG is refused; one stored
    // before (old data, planted in the log) still reaches the browser.
    for (i, text) in hostile.iter().enumerate() {
        if text.contains('\u{1b}') {
            support::old_data::plant_old_text(&mut server, &[], "bob", "ana", &format!("h{i}"), text);
        } else {
            let mut bob = server.login_send("bob", "pw-bob");
            assert!(bob.request(&format!("MSG:ana:h{i}:{text}")).starts_with(&format!("OK:h{i}:")));
        }
    }
    let ana = logged_in(&url, "ana", 1200, 800);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("MSG:ana:hx:\u{1b}[31mred"), "KO:BAD_REQUEST:a text may not hold U+001B (escape)");
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 4");
    let shown = texts(&ana);
    assert_eq!(shown[0], hostile[0]);
    assert_eq!(shown[1], hostile[1]);
    assert_eq!(shown[2], "^[[31mred^G", "control characters made visible");
    assert_eq!(shown[3], long);
    assert_eq!(ana.exec("return window.pwned === undefined && document.querySelectorAll('#messages img, #messages script').length === 0", json!([])), json!(true));
    // The 4 KB line wraps: nothing scrolls sideways.
    assert_eq!(
        ana.exec("return document.documentElement.scrollWidth <= window.innerWidth", json!([])),
        json!(true)
    );
}

#[test]
fn the_phone_layout_is_one_column_without_horizontal_scroll() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("JOIN:#lab").starts_with("OK"));
    assert!(bob.request("MSG:ana:p1:¿Vienes al laboratorio? https://example.org/a-very-long-address-without-any-space-in-it-at-all").starts_with("OK"));
    let ana = logged_in(&url, "ana", 390, 844);
    let no_scroll = "return document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth === 390 \
        || [document.documentElement.scrollWidth, window.innerWidth]";
    assert_eq!(ana.exec(no_scroll, json!([])), json!(true));
    // One column: the list, then the chat in its place with a way back.
    let visible = "return [getComputedStyle(document.getElementById('list-pane')).display, getComputedStyle(document.getElementById('chat-pane')).display]";
    assert_eq!(ana.exec(visible, json!([])), json!(["flex", "none"]));
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 1");
    assert_eq!(ana.exec(visible, json!([])), json!(["none", "flex"]));
    assert_eq!(ana.exec(no_scroll, json!([])), json!(true));
    ana.type_into("#input", &format!("Sí, voy{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    save_screenshot(&ana, "web-phone.png");
    ana.click("#back");
    assert_eq!(ana.exec(visible, json!([])), json!(["flex", "none"]));
}

#[test]
fn rooms_join_members_and_leave() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("JOIN:#lab").starts_with("OK"));
    let _bob_online = server.login_recv("bob", "pw-bob");
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "#lab");
    ana.click("#members-button");
    ana.wait_for("[...document.querySelectorAll('#members li')].map(e => e.textContent).join('|').includes('bob · online')");
    assert!(bob.request("MSG:#lab:r1:hi room").starts_with("OK"));
    ana.wait_for("[...document.querySelectorAll('#messages .msg')].some(m => m.querySelector('.from')?.textContent === 'bob' && m.querySelector('.text').textContent === 'hi room')");
    // Leaving asks to be tapped twice.
    ana.click("#leave-button");
    ana.wait_for("document.getElementById('leave-button').classList.contains('armed')");
    assert!(
        ana.exec(
            "return document.querySelector(\"#chat-list button[data-chat='#lab']\") !== null",
            json!([])
        ) == json!(true)
    );
    ana.click("#leave-button");
    ana.wait_for("!document.querySelector(\"#chat-list button[data-chat='#lab']\")");
    assert_eq!(bob.listing("MEMBERS:#lab").len(), 1);
}

#[test]
fn a_room_header_shows_its_topic_and_announce_and_an_admin_acts_from_the_members_panel() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let (mut ana_raw, mut bob) = (server.login_send("ana", "pw-ana"), server.login_send("bob", "pw-bob"));
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK"); // ana made it: she owns it
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(ana_raw.request("TOPIC:#lab:week 2: <b>sockets</b>"), "OK");
    assert_eq!(ana_raw.request("MODE:#lab:+announce"), "OK");
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "#lab");
    ana.wait_for("document.getElementById('chat-flag').textContent === '📢'");
    ana.wait_for("document.getElementById('chat-topic').textContent === 'week 2: <b>sockets</b>'");
    // A change made elsewhere reaches the open header (the 1.2 event).
    assert_eq!(ana_raw.request("TOPIC:#lab:week 3"), "OK");
    ana.wait_for("document.getElementById('chat-topic').textContent === 'week 3'");
    // The notice is in the room's text too (for the others: ana's own
    // messages are not sent back to her).
    assert!(
        bob.listing("HISTORY:#lab:5").iter().any(|l| l.ends_with(":* ana set the topic of #lab: week 3"))
    );
    // The room's panel has an admin's actions beside bob, none beside ana;
    // a mute is for the time chosen above (10 minutes first).
    ana.click("#members-button");
    ana.wait_for("document.querySelectorAll(\"#members button[data-act='mute']\").length === 1");
    ana.click("#members button[data-act='mute']");
    let deadline = Instant::now() + support::READ_TIMEOUT;
    while !bob.listing("ROOMINFO:#lab").iter().any(|l| l.starts_with("MUTED:")) {
        assert!(Instant::now() < deadline, "the mute from the members panel did not arrive");
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling the server's view
    }
    assert_eq!(ana_raw.request("MODE:#lab:-announce"), "OK");
    ana.wait_for("document.getElementById('chat-flag').textContent === ''");
    assert!(bob.request("MSG:#lab:b1:hi").starts_with("KO:FORBIDDEN:"), "muted");
}

#[test]
fn a_laptop_screenshot_for_the_readme() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut carla = server.login_send("carla", "pw-carla");
    let _carla_online = server.login_recv("carla", "pw-carla");
    assert!(carla.request("MSG:ana:c1:¿Nos vemos en el laboratorio a las 3?").starts_with("OK"));
    assert!(bob.request("MSG:#general:g1:Bom dia! The lab server is up: wachat serve").starts_with("OK"));
    assert!(bob.request("MSG:ana:b1:Did you read docs/LAB.md?").starts_with("OK"));
    let ana = logged_in(&url, "ana", 1000, 600);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 1");
    ana.type_into("#input", &format!("Yes: the frames in the developer tools are the ones nc shows{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    let png = save_screenshot(&ana, "web.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// Saves a screenshot in the test's temporary directory (the README's pictures: tests/web/app.rs, `screenshots_for_the_readme`).
fn save_screenshot(browser: &Browser, name: &str) -> Vec<u8> {
    let png = browser.screenshot();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, &png).unwrap();
    png
}

/// Sends a WebSocket handshake by hand; the status line of the answer.
fn handshake(addr: SocketAddr, path: &str, origin: Option<&str>) -> (TcpStream, String) {
    handshake_with(addr, path, origin, "")
}

/// [`handshake`] with more header lines (each ending in `\r\n`).
fn handshake_with(addr: SocketAddr, path: &str, origin: Option<&str>, more: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}{more}\r\n"
    );
    tcp.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    (tcp, head.lines().next().unwrap_or("").to_string())
}

/// A masked text frame (the client's side of RFC 6455).
fn text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n < 65536 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [7u8, 1, 9, 3];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The next server frame: (opcode, payload).
fn read_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).ok()?;
    let len = match head[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            tcp.read_exact(&mut n).ok()?;
            u16::from_be_bytes(n) as usize
        }
        127 => {
            let mut n = [0u8; 8];
            tcp.read_exact(&mut n).ok()?;
            u64::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).ok()?;
    Some((head[0] & 0x0F, payload))
}

fn read_text(tcp: &mut TcpStream) -> String {
    let (opcode, payload) = read_frame(tcp).expect("a frame");
    assert_eq!(opcode, 1, "a text frame");
    String::from_utf8(payload).unwrap()
}

#[test]
fn a_wrong_origin_is_refused_and_the_frames_are_the_protocol_lines() {
    let (server, _url) = web_server(&[]);
    server.register(&["ana"]);
    let web = server.web.unwrap();
    let (_, status) = handshake(web, "/ws/send", Some("http://evil.example"));
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    let (_, status) = handshake(web, "/ws/send", Some(&format!("http://{web}")));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    // No Origin: a tool, not a browser. Lines in, lines out, as with nc.
    let (mut ws, status) = handshake(web, "/ws/send", None);
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    ws.write_all(&text_frame("USERS")).unwrap();
    assert_eq!(read_text(&mut ws), "KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>");
    let (mut ws, _) = handshake(web, "/ws/send", None);
    ws.write_all(&text_frame("LOGIN:ana:pw-ana")).unwrap();
    assert_eq!(read_text(&mut ws), "OK:ana");
    ws.write_all(&[text_frame("PING"), text_frame("ROOMS")].concat()).unwrap();
    assert_eq!(read_text(&mut ws), "OK");
    assert_eq!(read_text(&mut ws), "OK:1");
    assert_eq!(read_text(&mut ws), "#general:1");
}

#[test]
fn a_websocket_message_past_the_frame_limit_closes_the_socket() {
    let (server, _url) = web_server(&[]);
    server.register(&["ana"]);
    let web = server.web.unwrap();
    // Whole: one message of 20,000 bytes.
    let (mut ws, _) = handshake(web, "/ws/send", None);
    ws.write_all(&text_frame(&"A".repeat(20_000))).unwrap();
    let (opcode, payload) = read_frame(&mut ws).expect("a close frame");
    assert_eq!((opcode, &payload[..2]), (8, &[0x03, 0xF1][..]), "close 1009: too big");
    // Announced only: a header that promises 2^40 bytes.
    let (mut ws, _) = handshake(web, "/ws/receive", None);
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(1u64 << 40).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    ws.write_all(&frame).unwrap();
    let (opcode, _) = read_frame(&mut ws).expect("a close frame");
    assert_eq!(opcode, 8);
    // Fragmented: continuation frames that add up past the limit.
    let (mut ws, _) = handshake(web, "/ws/send", None);
    let mut first = text_frame(&"A".repeat(10_000));
    first[0] = 0x01; // text, not final
    let mut second = text_frame(&"A".repeat(10_000));
    second[0] = 0x80; // continuation, final
    ws.write_all(&[first, second].concat()).unwrap();
    let (opcode, _) = read_frame(&mut ws).expect("a close frame");
    assert_eq!(opcode, 8);
    let mut rest = Vec::new();
    let _ = ws.read_to_end(&mut rest); // and the server closes it
    // The server lives on.
    let (mut ws, _) = handshake(web, "/ws/send", None);
    ws.write_all(&text_frame("LOGIN:ana:pw-ana")).unwrap();
    assert_eq!(read_text(&mut ws), "OK:ana");
}

/// The browser's reaction rule (web/wire.js's `isReaction`, on its
/// engine's `\p{Extended_Pictographic}`) is the server's
/// (`action::is_reaction`, on its own table), for every code point alone
/// and for the sequences emoji are made of (flags, keycaps, skin tones,
/// joiners, tags) and the ones that are no emoji. Part of the next test,
/// on its page: each browser started costs the browser tests' group, the
/// suite's longest, a few seconds.
fn the_browsers_reaction_rule_is_the_servers_over_every_code_point(browser: &Browser) {
    use wachat::protocol::action::is_reaction;
    // The code points the browser takes alone, as ranges [first, last].
    let browsers = browser.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => {
           const ranges = [];
           for (let c = 0; c <= 0x10FFFF; c++) {
             if (c >= 0xD800 && c <= 0xDFFF) continue; // no character alone
             if (!w.isReaction(String.fromCodePoint(c))) continue;
             const last = ranges[ranges.length - 1];
             if (last && last[1] === c - 1) last[1] = c; else ranges.push([c, c]);
           }
           done(ranges);
         });",
        json!([]),
    );
    let mut servers: Vec<[u32; 2]> = Vec::new();
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        if !is_reaction(c.encode_utf8(&mut [0; 4])) {
            continue;
        }
        let c = c as u32;
        match servers.last_mut() {
            Some(last) if last[1] + 1 == c => last[1] = c,
            _ => servers.push([c, c]),
        }
    }
    assert!(servers.len() > 100, "{} ranges", servers.len());
    assert_eq!(browsers, json!(servers), "the code points each takes as a reaction");
    let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    let sequences = [
        "🇦🇷",
        "🇦",
        "🇦🇷🇧",
        "#️⃣",
        "#⃣",
        "5⃣",
        "x⃣",
        "*️⃣",
        "👍🏽",
        "🏽",
        "👍🏽🏽",
        "👩‍👩‍👧",
        "👩‍❤️‍👨",
        "🏳️‍🌈",
        "👍\u{200D}",
        "\u{200D}👍",
        "👍👍",
        "👍a",
        "a👍",
        "👍\u{301}",
        "©️",
        "©",
        "☺️",
        "☺\u{FE0E}",
        scotland,
        "🏴\u{E0067}",
        "👨‍👩‍👧‍👦‍👨‍👩‍👧‍👦",
        "👨‍👩‍👧‍👦",
        "",
        " ",
        "🫠",
    ];
    let browsers = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(s => w.isReaction(s))));",
        json!([sequences]),
    );
    for (sequence, browsers) in sequences.iter().zip(browsers.as_array().unwrap()) {
        assert_eq!(browsers, &json!(is_reaction(sequence)), "{sequence:?}");
    }
}

#[test]
fn the_apps_frame_parsing_agrees_with_the_rust_grammar() {
    use wachat::protocol::{Event, Text, names};
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    // Texts, names and ids: random strings from the characters that matter.
    let mut random = Random(0x5eed_0f3a_1100);
    let pieces = [
        "a", "Z", "9", "\\", "\\n", "\\\\", "n", ":", "ñ", "你", "😀", "#", ".", "-", "_", " ", "\\t", "\n",
        "@",
    ];
    let mut cases = Vec::new();
    for _ in 0..400 {
        let len = random.below(8);
        let s: String = (0..len).map(|_| pieces[random.below(pieces.len() as u64) as usize]).collect();
        cases.push(s);
    }
    cases.push("x".repeat(4096));
    cases.push("x".repeat(4097));
    cases.push("ñ".repeat(2048));
    cases.push("ñ".repeat(2049));
    cases.push("\\n".repeat(4096));
    // 1.3: addresses, and what is none.
    for user in ["bob@lab2", "b.o-b_2@lab-2", "bob@", "@lab2", "bob@lab2@lab3", "#lab@lab2", "bob@lab 2"] {
        cases.push(user.to_string());
    }
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(s => {
           let plain = null; try { plain = w.unescapeText(s); } catch (_) {}
           return [w.textProblem(s) === null, plain, w.isName(s), w.isId(s), w.isRoom(s),
                   w.escapeText(s), w.isChat(s), w.isUser(s)];
         })));",
        json!([cases]),
    );
    for (case, got) in cases.iter().zip(js.as_array().unwrap()) {
        let text = Text::parse(case);
        assert_eq!(got[0], json!(text.is_ok()), "text {case:?}");
        assert_eq!(got[1], text.as_ref().map_or(Value::Null, |t| json!(t.unescaped())), "unescape {case:?}");
        assert_eq!(got[2], json!(names::check_name(case).is_ok()), "name {case:?}");
        assert_eq!(got[3], json!(names::check_id(case).is_ok()), "id {case:?}");
        assert_eq!(got[4], json!(names::Chat::parse_room(case).is_ok()), "room {case:?}");
        // 1.3: `bob@lab2` and `#lab@lab2` are chats too.
        assert_eq!(got[6], json!(names::Chat::parse(case).is_ok()), "chat {case:?}");
        // One grammar for a user (protocol::names::check_user).
        assert_eq!(got[7], json!(names::check_user(case).is_ok()), "user {case:?}");
        if !case.is_empty() && case.len() < 2000 {
            let escaped = Text::from_plain(case).map(|t| t.as_escaped().to_string());
            assert_eq!(
                got[5],
                json!(escaped.unwrap_or_else(|_| got[5].as_str().unwrap().to_string())),
                "escape {case:?}"
            );
        }
    }
    // Events: lines built from valid and broken fields.
    let seqs = ["1", "42", "", "x", "18446744073709551615"];
    let texts = ["hola", "a:b:c", "\\n", "bad\\t", "", "<b>x</b>"];
    let mut lines = vec!["PING".to_string(), "JOINED:ana".into(), "LEFT:bob".into(), "BYE:SHUTDOWN".into()];
    for seq in seqs {
        for text in texts {
            lines.push(format!("MSG:{seq}:ana:bob:m1:1795243272540:{text}"));
            lines.push(format!("MSG:{seq}:ana:#lab:m-2:{seq}:{text}"));
        }
        for state in ["DELIVERED", "READ", "SENT", "read"] {
            lines.push(format!("STATUS:{seq}:bob:m1:{state}:1795243272540"));
            // 1.2 (§31): my message in a room.
            lines.push(format!("STATUS:{seq}:#lab:m-2:{state}:1795243272540"));
        }
        // 1.2: a read on another of my devices.
        lines.push(format!("READMARK:{seq}:bob:m1:1795243272540"));
        lines.push(format!("READMARK:{seq}:#lab:m-2:{seq}"));
    }
    // 1.3 (§27): users and rooms of other servers, and a bounce as a
    // 1.2 client reads it.
    lines.push("MSG:3:ana@lab1:bob:m1:1795243272540:hi".into());
    lines.push("MSG:4:ana@lab1:#lab@lab2:m1:1795243272540:hi room".into());
    lines.push("MSG:5:ana:#nope@lab2:_x1795243272540_failed:1795243272540:⚠ not joined: no room".into());
    lines.push("STATUS:6:bob@lab2:m1:READ:1795243272540".into());
    // Every event that names a user names one of another server by its address.
    for line in [
        "JOINED:bob@lab2",
        "LEFT:bob@lab2",
        "MEMBER:#lab:bob@lab2:JOINED",
        "TYPING:bob@lab2:ana",
        "KICKED:#lab:ana:bob@lab2",
        "MUTED:#lab@lab2:bob@lab2:cyd@lab3:1795243272540",
        "OPPED:#lab:ana:bob@lab2",
        "STAR:bob@lab2:bob@lab2:m1:starred",
        "BLOCKED:bob@lab2",
        "PROFILE:bob@lab2::Bob Builder",
        "CALL:bob@lab2:c1:END:missed",
    ] {
        lines.push(line.into());
    }
    lines.push("BYE:UNLINKED".into());
    lines.push("MSG:1:ana:bob:m1:5".into());
    lines.push("STATUS:1:bob:m1:READ".into());
    // Moderation (1.2).
    for line in [
        "TOPIC:#lab:ana:week 2: sockets",
        "TOPIC:#lab:ana:",
        "MODE:#lab:ana:+announce",
        "MODE:#lab:ana:+moderated",
        "KICKED:#lab:ana:bob",
        "MUTED:#lab:ana:bob:1795243272540",
        "MUTED:#lab:ana:bob:soon",
        "BANNED:#lab:ana:bob:0",
        "OPPED:lab:ana:eve",
    ] {
        lines.push(line.into());
    }
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(l => w.parseEvent(l))));",
        json!([lines]),
    );
    for (line, got) in lines.iter().zip(js.as_array().unwrap()) {
        // The Rust side knows `SENT` as a state, which no STATUS carries (§5).
        let rust = Event::parse(line)
            .ok()
            .filter(|e| !matches!(e, Event::Status { state, .. } if state.to_string() == "SENT"));
        match rust {
            None => assert_eq!(got, &Value::Null, "{line}"),
            Some(Event::Msg { seq, text, ts, .. }) => {
                assert_eq!(got["seq"], json!(seq.to_string()), "{line}");
                assert_eq!(got["ts"].as_f64(), Some(ts as f64), "{line}");
                assert_eq!(got["text"], json!(text.unescaped()), "{line}");
            }
            Some(Event::Status { seq, state, .. }) => {
                assert_eq!(got["seq"], json!(seq.to_string()), "{line}");
                assert_eq!(got["state"], json!(state.to_string()), "{line}");
            }
            Some(Event::ReadMark { seq, chat, id, ts }) => {
                assert_eq!(got["seq"], json!(seq.to_string()), "{line}");
                assert_eq!((&got["chat"], &got["id"]), (&json!(chat), &json!(id)), "{line}");
                assert_eq!(got["ts"].as_f64(), Some(ts as f64), "{line}");
            }
            Some(_) => assert_ne!(got, &Value::Null, "{line}"),
        }
    }
    // What is no user is no event (the server never sends one).
    let none = ["JOINED:bob@", "LEFT:@lab2", "TYPING:bob@lab2@lab3:ana", "KICKED:#lab:ana:bob@"];
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(l => w.parseEvent(l))));",
        json!([none]),
    );
    assert_eq!(js, json!([null, null, null, null]));
    // 1.2 (§19): reactions.
    the_browsers_reaction_rule_is_the_servers_over_every_code_point(&browser);
}

#[test]
fn only_the_embedded_files_are_served_with_the_policy() {
    let (server, _url) = web_server(&[]);
    let web = server.web.unwrap();
    // The head as text, and the body's bytes; `headers`: more request headers.
    let ask = |path: &str, headers: &str| -> (String, Vec<u8>) {
        let mut tcp = TcpStream::connect(web).unwrap();
        tcp.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
        write!(tcp, "GET {path} HTTP/1.1\r\nHost: {web}\r\n{headers}Connection: close\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
        (String::from_utf8_lossy(&answer[..end]).into_owned(), answer[end..].to_vec())
    };
    let get = |path: &str| ask(path, "").0;
    let (index, _) = ask("/", "");
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("\r\nContent-Security-Policy: default-src 'self'"));
    assert!(!String::from_utf8_lossy(&ask("/", "").1).contains("<script>"), "no inline script");
    for path in ["/../Cargo.toml", "/..%2fCargo.toml", "/data/users.csv", "/src/lib.rs", "//etc/passwd"] {
        assert!(get(path).starts_with("HTTP/1.1 404"), "{path}");
    }
    // Every file of the first load, and their size over the wire: gzipped
    // for a browser that takes it (budget: FIRST_LOAD_BUDGET with the
    // largest icon, which a phone may fetch at once: src/web/assets.rs),
    // and as it is for one that does not.
    let started = Instant::now();
    let (mut total, mut zipped) = (0, 0);
    let header = |head: &str, name: &str| -> Option<String> {
        head.split("\r\n").find_map(|h| h.strip_prefix(&format!("{name}: ")).map(str::to_string))
    };
    let length = |head: &str| -> usize { header(head, "Content-Length").unwrap().parse().unwrap() };
    for path in [
        "/",
        "/app.css",
        "/app.js",
        "/state.js",
        "/wire.js",
        "/i18n.js",
        "/icon.svg",
        "/sw.js",
        "/manifest.webmanifest",
    ] {
        let (plain, body) = ask(path, "");
        assert!(plain.starts_with("HTTP/1.1 200"), "{path}");
        assert!(plain.contains("\r\nContent-Security-Policy: default-src 'self'"), "{path}");
        assert_eq!(header(&plain, "Content-Encoding"), None, "{path}: not asked for");
        total += length(&plain);
        let (gz, gz_body) = ask(path, "Accept-Encoding: gzip, deflate, br\r\n");
        assert_eq!(header(&gz, "Content-Encoding").as_deref(), Some("gzip"), "{path}");
        assert_eq!(header(&gz, "Vary").as_deref(), Some("Accept-Encoding"), "{path}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz_body[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, body, "{path}: the same bytes");
        zipped += length(&gz);
        // A reload sends back the ETag, and gets 304 with no body.
        for (head, encoding) in [(&plain, ""), (&gz, "Accept-Encoding: gzip\r\n")] {
            let etag = header(head, "ETag").unwrap_or_else(|| panic!("{path}: an ETag"));
            let (again, body) = ask(path, &format!("{encoding}If-None-Match: {etag}\r\n"));
            assert!(again.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{path}: {again}");
            assert!(body.is_empty() && header(&again, "ETag") == Some(etag), "{path}");
        }
        let (changed, _) = ask(path, "If-None-Match: \"0123456789abcdef\"\r\n");
        assert!(changed.starts_with("HTTP/1.1 200"), "{path}: another version's tag gets the file");
    }
    let mut largest_icon = 0;
    for path in ["/icon-192.png", "/icon-512.png"] {
        let (answer, _) = ask(path, "Accept-Encoding: gzip\r\n");
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains("\r\nContent-Type: image/png\r\n"),
            "{path}"
        );
        assert_eq!(header(&answer, "Content-Encoding"), None, "{path}: a PNG is compressed already");
        largest_icon = largest_icon.max(length(&answer));
    }
    println!(
        "first load: {zipped} bytes gzipped, {total} as they are (+ {largest_icon} for an icon) in {:?}",
        started.elapsed()
    );
    assert!(
        zipped + largest_icon < wachat::web::assets::FIRST_LOAD_BUDGET,
        "{zipped} + {largest_icon} bytes"
    );
}

#[test]
fn with_tls_the_web_port_speaks_https_and_wss() {
    let certs = support::tls::Certs::make(&["127.0.0.1"]);
    let (server, _url) = web_server(&certs.serve_args());
    assert!(server.wait_for_log("listening: web https://").contains("https://"));
    let web = server.web.unwrap();
    let tcp = TcpStream::connect(web).unwrap();
    let deadline = Instant::now() + support::READ_TIMEOUT;
    let tls = certs.trust();
    let stream = wachat::transport::Stream::connect(tcp, Some(&tls), "127.0.0.1", deadline).unwrap();
    stream.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
    let mut io = &stream;
    let request = format!(
        "GET /ws/receive HTTP/1.1\r\nHost: {web}\r\nOrigin: https://{web}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    io.write_all(request.as_bytes()).unwrap();
    io.write_all(&text_frame("REGISTER:ana::pw-ana")).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let expected = b"\x81\x06OK:ana";
    while !got.windows(expected.len()).any(|w| w == expected) {
        let n = io.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    // Plaintext HTTP to the TLS port is told, in plaintext, to use HTTPS.
    let mut plain = TcpStream::connect(web).unwrap();
    plain.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
    plain.write_all(format!("GET / HTTP/1.1\r\nHost: {web}\r\n\r\n").as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request") && answer.contains("HTTPS"), "{answer}");
}

#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let (server, _url) = web_server(&["--trusted-proxy", "127.0.0.1"]);
    let web = server.web.unwrap();
    let (mut ws, status) =
        handshake_with(web, "/ws/send", None, "X-Forwarded-For: 198.51.100.1, 192.0.2.7\r\n");
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    ws.write_all(&text_frame("REGISTER:carol::pw-carol")).unwrap();
    assert_eq!(read_text(&mut ws), "OK:carol");
    server.wait_for_log("192.0.2.7: new account carol");
    // Without --trusted-proxy, the header is anyone's word, and ignored.
    let (other, _url) = web_server(&[]);
    let (mut ws, _) = handshake_with(other.web.unwrap(), "/ws/send", None, "X-Forwarded-For: 192.0.2.7\r\n");
    ws.write_all(&text_frame("REGISTER:dave::pw-dave")).unwrap();
    assert_eq!(read_text(&mut ws), "OK:dave");
    other.wait_for_log("127.0.0.1: new account dave");
}

#[test]
fn older_messages_load_on_scroll_and_a_hidden_tab_counts_in_its_title() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let burst: Vec<String> = (0..80).map(|i| format!("MSG:ana:o{i}:message number {i}")).collect();
    for line in &burst {
        assert!(bob.request(line).starts_with("OK"));
    }
    let ana = logged_in(&url, "ana", 1200, 800);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length >= 50");
    // The newest are shown; scrolling to the top brings the 30 older ones, above.
    ana.exec("document.getElementById('messages').scrollTop = 0", json!([]));
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 80");
    let shown = texts(&ana);
    assert_eq!(shown.first().unwrap(), "message number 0");
    assert_eq!(shown.last().unwrap(), "message number 79");
    // The tab is hidden (as the page sees it): new messages count in the title.
    ana.exec("Object.defineProperty(document, 'hidden', { get: () => true })", json!([]));
    assert!(bob.request("MSG:ana:n1:are you there?").starts_with("OK"));
    assert!(bob.request("MSG:ana:n2:hello?").starts_with("OK"));
    ana.wait_for("document.title === '(2) wachat'");
}

/// The page is read once the app has applied its language: the page's
/// own `lang` is English (`<html lang="en">`) until the app says which it
/// speaks, so a page read before that, on a slow machine, reads English.
#[test]
fn the_app_speaks_the_browsers_language() {
    let (_server, url) = web_server(&[]);
    let languages = [
        ("es", "es", "Entrar"),
        ("pt-BR", "pt", "Entrar"),
        ("en-US", "en", "Log in"),
        ("de", "en", "Log in"),
    ];
    for (lang, spoken, login) in languages {
        let browser = Browser::start_in(800, 600, lang);
        browser.goto(&url);
        let shown = browser.wait_for(&format!(
            "document.documentElement.lang === '{spoken}' && document.getElementById('login-button').textContent"
        ));
        assert_eq!(shown, json!(login), "{lang}");
        let register =
            browser.exec("return document.getElementById('register-button').textContent", json!([]));
        let expected = match lang {
            "es" => "Registrarse",
            "pt-BR" => "Registrar",
            _ => "Register",
        };
        assert_eq!(register, json!(expected), "{lang}");
    }
}

#[test]
fn a_web_port_given_explicitly_that_is_taken_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(support::wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--web-port", &port, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
    // `off` serves no web port at all.
    let server = TestServer::start_with(&["--web-port", "off"]);
    assert_eq!(server.web, None);
    assert!(!server.log().iter().any(|line| line.contains("listening: web")));
}

#[test]
fn the_outbox_survives_a_reload_and_is_sent_once() {
    let (mut server, url, ana) = typed_offline("kept in the outbox");
    server.restart_in_place(&[]);
    // A reload forgets the password (it was in the page's memory only), not the outbox.
    ana.goto(&url);
    ana.wait_for(
        "!document.getElementById('login').hidden && document.getElementById('password').value === ''",
    );
    // The user name is remembered.
    assert_eq!(ana.exec("return document.getElementById('user').value", json!([])), json!("ana"));
    ana.type_into("#password", "pw-ana");
    ana.click("#login-button");
    ana.wait_for("document.querySelector('#status.online')");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob.next_msg().ends_with(":kept in the outbox"));
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert_eq!(bob_send.listing("HISTORY:ana:10").len(), 1, "sent once");
    ana.wait_for("JSON.parse(sessionStorage[Object.keys(sessionStorage).find(k => k.startsWith('wachat:outbox:'))]).length === 0");
}

/// Devices in the browser: a browser linked with a code keeps only its
/// token; another browser of the same user unlinks it, and it is logged
/// out at once, its token gone.
#[test]
fn linking_a_browser_with_a_code_then_unlink_logs_it_out() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    // The laptop logs in with the password (as a device of its own) and
    // asks for a code in its devices panel.
    let laptop = logged_in(&url, "ana", 1200, 800);
    let code = new_link_code(&laptop);
    let said = laptop.exec("return document.getElementById('link-code').textContent", json!([]));
    assert!(said.as_str().unwrap().contains(&format!("--pair {code}")), "{said}");

    // The phone links with the code: no password typed there.
    let phone = Browser::start(390, 844);
    phone.goto(&url);
    phone.exec("localStorage.setItem('wachat:device:' + location.host + ':ana', 'phone')", json!([]));
    phone.click("#link-mode");
    phone.type_into("#user", "ana");
    // Typed in capitals, as a phone's keyboard does, with a space.
    phone.type_into("#code", &format!("{} {}", code[..5].to_uppercase(), code[5..].to_uppercase()));
    phone.click("#link-button");
    phone.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    let stored = phone.exec("return JSON.stringify(localStorage)", json!([]));
    let stored = stored.as_str().unwrap();
    assert!(stored.contains("\\\"device\\\":\\\"phone\\\"") && stored.contains("\\\"token\\\":"), "{stored}");
    assert!(!stored.contains("pw-ana"), "the browser kept the password: {stored}");
    // A reload logs in by itself, with the token.
    phone.goto(&url);
    phone.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");

    // The laptop sees the phone among the devices, and unlinks it.
    laptop.click("#devices-button"); // closed
    laptop.click("#devices-button"); // open again: asked again
    laptop.wait_for("document.querySelector('#devices li[data-device=\"phone\"] button')");
    let me =
        laptop.exec("return document.querySelector('#devices li:not(:has(button))')?.textContent", json!([]));
    assert!(me.as_str().unwrap().contains("(this browser)"), "{me}");
    laptop.click("#devices li[data-device=\"phone\"] button"); // asks first
    laptop.click("#devices li[data-device=\"phone\"] button");
    phone.wait_for("!document.getElementById('login').hidden && document.getElementById('login-error').textContent.includes('unlinked')");
    let left = phone
        .exec("return Object.keys(localStorage).filter(k => k.startsWith('wachat:link:')).length", json!([]));
    assert_eq!(left, json!(0), "the token is forgotten");
    laptop.wait_for("!document.querySelector('#devices li[data-device=\"phone\"]')");
    // The token no longer logs in, anywhere.
    let mut again = server.send_conn();
    let token = stored.split("\\\"token\\\":\\\"").nth(1).unwrap().split('\\').next().unwrap().to_string();
    assert!(again.request(&format!("LOGIN:ana@phone:{token}")).starts_with("KO:AUTH_FAILED"));
}

/// A message sent from ana's console shows in ana's browser as hers, with
/// its ticks; a read on the console clears the browser's badge.
#[test]
fn a_message_sent_from_the_console_shows_as_mine_in_the_browser() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let browser = logged_in(&url, "ana", 1200, 800);
    let mut console = support::console::Console::start(&server, "ana", dir.path(), &["--device", "lab"]);
    console.expect("connected");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    let mut bob_send = server.login_send("bob", "pw-bob");

    console.type_line("@bob: sent from the console");
    let event = bob_recv.next_msg();
    assert!(event.ends_with(":sent from the console"), "{event}");
    browser.wait_for("document.querySelector('#chat-list button[data-chat=\"bob\"] .chat-last')?.textContent === 'you: sent from the console'");
    assert_eq!(
        browser.exec("return document.querySelector('#chat-list .badge')", json!([])),
        Value::Null,
        "mine: not unread"
    );
    open_chat(&browser, "bob");
    browser.wait_for(
        "document.querySelector('#messages .msg.mine .text')?.textContent === 'sent from the console'",
    );
    // Bob reads it: the tick turns read in the browser too.
    bob_recv.send(&format!("ACK:{}", event.split(':').nth(1).unwrap()));
    let id = event.split(':').nth(4).unwrap();
    assert!(bob_send.request(&format!("READ:ana:{id}")).starts_with("OK"));
    browser.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'READ'");

    // Bob writes to #general; the console reads it; the browser's badge goes.
    assert!(bob_send.request("MSG:#general:g1:for the room").starts_with("OK:g1:"));
    browser.wait_for(
        "document.querySelector('#chat-list button[data-chat=\"#general\"] .badge')?.textContent === '1'",
    );
    console.expect("[#general] bob: for the room");
    console.type_line("/chat #general");
    console.expect("── #general");
    browser.wait_for("!document.querySelector('#chat-list button[data-chat=\"#general\"] .badge')");
}

#[test]
fn the_rules_show_on_the_button_never_by_themselves() {
    let (server, url) = web_server(&["--retain-days", "30"]);
    server.register(&["ana"]);
    let rules = "[...document.querySelectorAll('#rules-list li')].map(e => e.textContent).join('|')";
    let ana = logged_in(&url, "ana", 1200, 800);
    // The first login does not open them by itself. Not a pause
    // but an order: a message sent after the login leaves SENT when its OK
    // comes back on the same link, after the replies to all the login asked
    // (replies leave in the order of the requests, §4), so whatever those
    // replies did to the page is done by then.
    ana.wait_for("document.querySelector('#chat-list button')");
    open_chat(&ana, "#general");
    ana.type_into("#input", &format!("after the login{ENTER}"));
    ana.wait_for("(window.tick = document.querySelector('#messages .msg.mine .tick')) && tick.dataset.state !== 'SENT'");
    assert_eq!(ana.exec("return document.getElementById('rules').hidden", json!([])), json!(true));
    ana.click("#rules-button");
    ana.wait_for(&format!("!document.getElementById('rules').hidden && {rules}.includes('after 30 days')"));
    let shown: String = serde_json::from_value(ana.exec(&format!("return {rules}"), json!([]))).unwrap();
    assert_eq!(
        shown,
        "Messages are deleted from the server after 30 days.|Each account may store 64 MiB.|\
         Devices connected at once per account: 5.|\
         One message holds 4,096 Latin letters, 2,048 Cyrillic or Arabic ones, or 1,024 emoji; a longer text goes as several.|\
         A deleted account's name is free for a new account after 30 days."
    );
    ana.click("#rules-close");
    ana.wait_for("document.getElementById('rules').hidden");
}

// Message actions (protocol 1.2 §19) in the browser.

/// Opens the "⋯" menu of the message `which` (a CSS selector of its bubble) and clicks `button`.
fn act_on(browser: &Browser, which: &str, button: &str) {
    browser.click(&format!("{which} .more"));
    browser.click(&format!("{which} .menu {button}"));
}

/// True if no text of the page nor of its localStorage holds `text`.
fn gone_everywhere(browser: &Browser, text: &str) -> bool {
    let script = "return !document.body.textContent.includes(arguments[0]) && \
                  !JSON.stringify(localStorage).includes(arguments[0])";
    browser.exec(script, json!([text])) == json!(true)
}

#[test]
fn reply_edit_react_and_delete_from_the_menu_reach_the_other_browser() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let ana = logged_in(&url, "ana", 1200, 800);
    let bob = logged_in(&url, "bob", 1200, 800);
    open_chat(&ana, "bob");
    ana.type_into("#input", &format!("see you at 10, café Sur{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .more')"); // on the server: it has actions
    open_chat(&bob, "ana");
    bob.wait_for("document.querySelector('#messages .msg .text')?.textContent === 'see you at 10, café Sur'");

    // Bob replies: the composer shows what he answers; both see the quote.
    act_on(&bob, "#messages .msg:not(.mine)", "button[data-act='reply']");
    bob.wait_for("!document.getElementById('compose-note').hidden");
    bob.type_into("#input", &format!("ok, 10 it is{ENTER}"));
    bob.wait_for("document.getElementById('compose-note').hidden");
    ana.wait_for("document.querySelector('#messages .msg:not(.mine) .quote')?.textContent === 'ana: see you at 10, café Sur'");
    assert_eq!(texts(&ana), ["see you at 10, café Sur", "ok, 10 it is"]);

    // Ana edits hers: the text in the box, changed, sent; bob's copy reads the new text, "edited".
    act_on(&ana, "#messages .msg.mine", "button[data-act='edit']");
    ana.wait_for("document.getElementById('input').value === 'see you at 10, café Sur'");
    ana.exec("document.getElementById('input').value = ''", json!([]));
    ana.type_into("#input", &format!("see you at 11, café Sur{ENTER}"));
    bob.wait_for("document.querySelector('#messages .msg:not(.mine) .text')?.textContent === 'see you at 11, café Sur' && document.querySelector('#messages .msg:not(.mine) .edited')");
    ana.wait_for("document.querySelector('#messages .msg.mine .edited')");
    assert_eq!(texts(&bob), ["see you at 11, café Sur", "ok, 10 it is"], "an edit is no bubble");

    // Bob reacts 👍 to it: both see the count, bob's own highlighted; the same again takes it back, and again adds it.
    act_on(&bob, "#messages .msg:not(.mine)", "button[data-react='👍']");
    bob.wait_for(
        "document.querySelector('#messages .msg:not(.mine) .reaction.mine')?.textContent === '👍 1'",
    );
    ana.wait_for("document.querySelector('#messages .msg.mine .reaction')?.textContent === '👍 1'");
    act_on(&bob, "#messages .msg:not(.mine)", "button[data-react='👍']");
    ana.wait_for("!document.querySelector('#messages .reaction')");
    act_on(&bob, "#messages .msg:not(.mine)", "button[data-react='👍']");
    ana.wait_for(
        "document.querySelector('#messages .msg.mine .reaction:not(.mine)')?.textContent === '👍 1'",
    );
    // And ana ❤️ bob's reply.
    act_on(&ana, "#messages .msg:not(.mine)", "button[data-react='❤️']");
    bob.wait_for("document.querySelector('#messages .msg.mine .reaction')?.textContent === '❤️ 1'");

    // Ana deletes hers for everyone (a second tap confirms): its text leaves both pages,
    // bob's quote of it included, and nothing of it is in either localStorage.
    act_on(&ana, "#messages .msg.mine", "button[data-act='del']");
    assert!(texts(&ana).contains(&"see you at 11, café Sur".to_string()), "not before the confirmation");
    ana.click("#messages .msg.mine .menu button[data-act='confirm']");
    bob.wait_for(
        "document.querySelector('#messages .msg.deleted .text')?.textContent === '(message deleted)'",
    );
    ana.wait_for("document.querySelector('#messages .msg.mine.deleted')");
    for browser in [&ana, &bob] {
        browser
            .wait_for("document.querySelector('#messages .quote')?.textContent === 'ana: (message deleted)'");
        assert!(gone_everywhere(browser, "café"), "the deleted text is still in a page or its storage");
        assert_eq!(browser.exec("return document.querySelectorAll('#messages .msg.deleted .reaction, #messages .msg.deleted .more').length", json!([])), json!(0));
    }
    // The same from HISTORY, after a reload: the actions folded in, not shown as messages.
    log_in_again(&bob, &url, "bob");
    bob.click("#chat-list button[data-chat='ana']");
    bob.wait_for("document.querySelector('#messages .msg.mine .reaction')?.textContent === '❤️ 1'");
    assert_eq!(texts(&bob), ["(message deleted)", "ok, 10 it is"]);
    assert_eq!(
        bob.exec("return document.querySelector('#messages .quote').textContent", json!([])),
        json!("ana: (message deleted)")
    );
    assert!(gone_everywhere(&bob, "café"));
}

#[test]
fn search_finds_in_every_chat_or_in_the_open_one_and_a_result_opens_its_chat() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:Café con leche?").starts_with("OK:b1:"));
    assert!(bob.request("MSG:ana:b2:<b>nothing</b> else").starts_with("OK:b2:"));
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "#lab");
    assert!(bob.request("MSG:#lab:b3:the cafe is closed").starts_with("OK:b3:"));
    // All chats, without accents or case.
    ana.exec("document.getElementById('search-scope').value = '*'", json!([]));
    ana.type_into("#search-words", &format!("CAFE{ENTER}"));
    ana.wait_for("document.querySelectorAll('#search-results .result').length === 2");
    let found = ana.exec(
        "return [...document.querySelectorAll('#search-results .result')].map(r => r.lastChild.textContent)",
        json!([]),
    );
    assert_eq!(found, json!(["the cafe is closed", "Café con leche?"]), "newest first");
    // Only the open chat (the default while one is open).
    ana.exec("document.getElementById('search-scope').value = 'here'; document.getElementById('search-words').value = ''", json!([]));
    ana.type_into("#search-words", &format!("nothing{ENTER}"));
    ana.wait_for("document.getElementById('search-count').textContent === 'Nothing found'");
    // A result opens its chat, scrolled to the message; its text stays text.
    ana.exec("document.getElementById('search-scope').value = '*'", json!([]));
    ana.click("#search button[type='submit']");
    ana.wait_for(
        "document.querySelector('#search-results .result')?.lastChild.textContent === '<b>nothing</b> else'",
    );
    assert_eq!(ana.exec("return document.querySelectorAll('#search-results b').length", json!([])), json!(0));
    ana.click("#search-results .result");
    ana.wait_for("document.getElementById('chat-title').textContent === 'bob' && document.querySelector('#messages .msg.found .text')?.textContent === '<b>nothing</b> else'");
}

/// A room admin deletes someone else's message: `DELETE:<#room>:<id>:<author>` (1.2).
/// The server stores it as an `_x<stamp>_<id>` MSG of the admin, text
/// `(message from <author> deleted)`, which the browser applies to the author's message.
#[test]
fn a_room_admin_deletes_a_members_message_from_the_menu() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carl"]);
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK"); // ana made it: she owns it
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(carl.request("JOIN:#lab"), "OK");
    let mut carl_recv = server.login_recv("carl", "pw-carl");
    assert!(bob.request("MSG:#lab:b1:buy cheap essays at spam.example").starts_with("OK:b1:"));
    assert!(carl_recv.next_msg().ends_with(":buy cheap essays at spam.example"));
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "#lab");
    ana.wait_for(
        "document.querySelector('#messages .msg:not(.mine) .text')?.textContent.includes('spam.example')",
    );
    act_on(&ana, "#messages .msg:not(.mine)", "button[data-act='del']");
    ana.click("#messages .msg:not(.mine) .menu button[data-act='confirm']");
    ana.wait_for(
        "document.querySelector('#messages .msg.deleted .text')?.textContent === '(message deleted)'",
    );
    assert!(gone_everywhere(&ana, "spam.example"));
    let event = carl_recv.next_msg();
    let fields: Vec<&str> = event.splitn(7, ':').collect();
    assert_eq!((fields[2], fields[3]), ("ana", "#lab"), "{event}");
    assert!(fields[4].starts_with("_x") && fields[4].ends_with("_b1"), "{event}");
    assert_eq!(fields[6], "(message from bob deleted)");
    assert!(!carl.listing("HISTORY:#lab:10").iter().any(|l| l.contains("spam.example")));
}

/// Actions made on another device of mine reach the browser as copies (§16)
/// and apply there: the browser opens on a chat whose message was edited,
/// then sees it reacted to and deleted from the laptop.
#[test]
fn actions_from_my_other_device_apply_in_the_browser() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut laptop_recv = server.recv_conn();
    laptop_recv.send("VERSION:1.2");
    assert_eq!(laptop_recv.line(), "OK");
    assert_eq!(laptop_recv.request("LOGIN:ana@laptop:pw-ana"), "OK:ana");
    let mut laptop = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(laptop.request("MSG:bob:m1:helo, this is ana").starts_with("OK:m1:"));
    assert!(laptop.request("EDIT:bob:m1:hello, this is ana").starts_with("OK:_e"));
    let browser = logged_in(&url, "ana", 1200, 800);
    open_chat(&browser, "bob");
    browser.wait_for("document.querySelector('#messages .msg.mine .edited')");
    assert_eq!(texts(&browser), ["hello, this is ana"], "from HISTORY, the edit folded in");
    assert!(bob.request("REACT:ana:m1:😂").starts_with("OK:_r"));
    browser.wait_for("document.querySelector('#messages .msg.mine .reaction')?.textContent === '😂 1'");
    assert!(laptop.request("DELETE:bob:m1").starts_with("OK:_d"));
    browser.wait_for("document.querySelector('#messages .msg.mine.deleted')");
    assert_eq!(texts(&browser), ["(message deleted)"]);
    assert!(gone_everywhere(&browser, "this is ana"));
}

/// wire.js reads an action's id and text as protocol/action.rs does, and
/// quotes a text in a reply as the server does.
#[test]
fn the_apps_reading_of_actions_agrees_with_the_rust_grammar() {
    use wachat::protocol::Text;
    use wachat::protocol::action::{self, Action};
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let ids = [
        "m1",
        "_m1",
        "_e_m1",
        "_e1",
        "_e1_",
        "e1_m1",
        "_e1-2_m",
        "_emwsl1ft5_m1",
        "_d1_m_1",
        "_r1_m1",
        "_u9z_m1",
        "_q1_m1",
    ];
    let texts = [
        "✎ see you at 11",
        "✎ ",
        "(message deleted)",
        "👍 to: hello",
        "❤️ taken back from: hi",
        "🦀 to: x",
        "hello",
    ];
    let mut cases = Vec::new();
    for id in ids {
        for text in texts {
            cases.push((id, text));
        }
    }
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(([id, text]) => w.parseAction(id, text))));",
        json!([cases]),
    );
    for ((id, text), got) in cases.iter().zip(js.as_array().unwrap()) {
        let rust = Action::of(id, &Text::from_plain(text).unwrap());
        match rust {
            None if action::ActionId::parse(id).is_none() => assert_eq!(got, &Value::Null, "{id} {text}"),
            None => assert_eq!(got["act"], Value::Null, "{id} {text}"),
            Some(Action::Edit { target, text: new }) => {
                assert_eq!((&got["act"], &got["target"]), (&json!("edit"), &json!(target)), "{id}");
                assert_eq!(got["text"], json!(new.unescaped()), "{id} {text}");
            }
            Some(Action::Delete { target }) => {
                assert_eq!((&got["act"], &got["target"]), (&json!("delete"), &json!(target)), "{id}")
            }
            Some(Action::React { target, emoji, added }) => {
                let act = if added { "react" } else { "unreact" };
                assert_eq!(
                    (&got["act"], &got["target"], &got["emoji"]),
                    (&json!(act), &json!(target), &json!(emoji))
                );
            }
            // An admin's delete (`_x`), where the Rust grammar reads it too.
            #[allow(unreachable_patterns)]
            Some(other) => {
                assert_eq!((&got["act"], &got["target"]), (&json!("remove"), &json!(other.target())), "{id}")
            }
        }
    }
    // An admin's delete (1.2): `_x<stamp>_<id>`, the author in its text.
    let js = browser.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => done([w.parseAction('_x1_m1', '(message from bob deleted)'),
                                            w.parseAction('_x1_m1', '(message from b:b deleted)')]));",
        json!([]),
    );
    assert_eq!(
        (&js[0]["act"], &js[0]["author"], &js[0]["target"]),
        (&json!("remove"), &json!("bob"), &json!("m1"))
    );
    assert_eq!(js[1]["act"], Value::Null);
    // Quotes: the first line, at most 40 characters, `…` if cut.
    let quoted =
        ["short", "two\nlines", &"é".repeat(40), &"é".repeat(41), &"😀".repeat(45), "> bob: hi\nyes"];
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(t => [w.quoteLine('ana', t), w.parseQuote(w.quoteLine('ana', t) + '\\nok')])));",
        json!([quoted]),
    );
    for (text, got) in quoted.iter().zip(js.as_array().unwrap()) {
        let line = action::quote_line("ana", &Text::from_plain(text).unwrap());
        assert_eq!(got[0], json!(line), "{text:?}");
        assert_eq!((&got[1]["author"], &got[1]["body"]), (&json!("ana"), &json!("ok")), "{text:?}");
    }
}

/// On a phone (390 px, touch) the "⋯" of a message is shown, its menu fits
/// the screen, and a reply goes out from it; Escape cancels one.
#[test]
fn on_a_phone_the_menu_of_a_message_fits_and_replies() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    assert!(bob.request("MSG:ana:p1:¿Vienes al laboratorio?").starts_with("OK"));
    let ana = logged_in(&url, "ana", 390, 844);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 1");
    let more = ana.exec(
        "return Number(getComputedStyle(document.querySelector('#messages .msg .more')).opacity)",
        json!([]),
    );
    assert!(more.as_f64().unwrap() >= 0.7, "the ⋯ of a touch screen is shown: {more}");
    ana.click("#messages .msg .more");
    ana.wait_for("document.querySelectorAll('#messages .menu button').length === 10"); // six reactions, More reactions, Reply, Forward, Star
    let fits = "const r = document.querySelector('#messages .menu').getBoundingClientRect(); \
        return r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(ana.exec(fits, json!([])), json!(true));
    save_screenshot(&ana, "web-phone-actions.png");
    ana.click("#messages .menu button[data-act='reply']");
    ana.type_into("#input", "\u{E00C}"); // Escape: no longer a reply
    ana.wait_for("document.getElementById('compose-note').hidden");
    ana.click("#messages .msg .more");
    ana.click("#messages .menu button[data-act='reply']");
    ana.type_into("#input", &format!("Sí, voy{ENTER}"));
    let event = bob_recv.next_msg();
    assert!(event.ends_with(":> bob: ¿Vienes al laboratorio?\\nSí, voy"), "{event}");
}

#[test]
fn the_account_panel_changes_the_password() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let mut old_device = server.login_recv("ana", "pw-ana");
    let ana = logged_in(&url, "ana", 1200, 800);
    ana.click("#devices-button");
    ana.click("#account-button");
    ana.type_into("#old-password", "pw-ana");
    ana.type_into("#new-password", "new:secret");
    ana.type_into("#new-password-again", "other");
    ana.click("#passwd-button");
    ana.wait_for("document.getElementById('account-note').textContent === 'The two new passwords differ.'");
    ana.exec("document.getElementById('new-password-again').value = ''", json!([]));
    ana.type_into("#new-password-again", "new:secret");
    ana.click("#passwd-button");
    ana.wait_for("document.getElementById('account-note').textContent.startsWith('Password changed. Your other devices are logged out')");
    assert_eq!(ana.exec("return document.getElementById('new-password').value", json!([])), json!(""));
    // The other device (a server's PING may come first: the password's hashing takes a while).
    let said = old_device.read_to_close();
    assert_eq!(said.lines().filter(|l| *l != "PING").collect::<Vec<_>>(), ["BYE:REPLACED"], "{said:?}");
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
    server.login_send("ana", "new:secret");
}

#[test]
fn the_account_panel_deletes_the_account_once_the_name_is_typed() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let ana = logged_in(&url, "ana", 1200, 800);
    ana.click("#devices-button");
    ana.click("#account-button");
    ana.type_into("#delete-password", "pw-ana");
    ana.type_into("#delete-name", "bob");
    ana.click("#delete-button");
    ana.wait_for("document.getElementById('account-note').textContent === 'That is not your user name: nothing was deleted.'");
    server.login_send("ana", "pw-ana");
    ana.exec("document.getElementById('delete-name').value = ''", json!([]));
    ana.type_into("#delete-name", "ANA");
    ana.click("#delete-button");
    ana.wait_for("!document.getElementById('login').hidden && document.getElementById('login-error').textContent.startsWith('Your account is deleted')");
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
}

/// `wachat users invite` on a running server's data directory: its codes,
/// and what it says on stderr.
fn invite_codes(server: &TestServer, count: usize) -> (Vec<String>, String) {
    let out = std::process::Command::new(support::wachat_bin())
        .args(["users", "invite", "--count", &count.to_string(), "--days", "1", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .expect("run wachat users invite");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let codes: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(codes.len(), count);
    (codes, String::from_utf8(out.stderr).unwrap())
}

/// At an invite-only server (a class's set-up), the
/// browser registers with a code: typed into the field that the refusal
/// shows, or filled in by the teacher's link `#invite=CODE`.
#[test]
fn a_browser_registers_with_an_invite_code_by_the_form_and_by_the_link() {
    let (server, url) = web_server(&["--registration", "invite"]);
    let (codes, said) = invite_codes(&server, 2);
    // The link names the web port the server runs on (it writes it down for `users invite`).
    let port = server.web.unwrap().port();
    assert!(said.contains(&format!("http://<server>:{port}/#invite={}", codes[0])), "{said}");

    // The form: Register without a code says why, and shows the field.
    let laptop = Browser::start(1200, 800);
    laptop.goto(&url);
    laptop.type_into("#user", "ana");
    laptop.type_into("#password", "pw-ana");
    laptop.click("#register-button");
    laptop.wait_for("document.getElementById('invite') && document.getElementById('login-error').textContent.includes('invite code')");
    // Typed as a phone would: capitals, a space.
    let typed = format!("{} {}", codes[0][..6].to_uppercase(), &codes[0][6..]);
    laptop.type_into("#invite", &typed);
    laptop.click("#register-button");
    laptop.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");

    // The link: the code is filled in; a name and a password are enough.
    let phone = Browser::start(390, 844);
    phone.goto(&format!("{url}/#invite={}", codes[1]));
    phone.wait_for(&format!("document.getElementById('invite')?.value === {:?}", codes[1]));
    phone.type_into("#user", "bob");
    phone.type_into("#password", "pw-bob");
    phone.click("#register-button");
    phone.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");

    // Both accounts exist and log in; the codes are used up.
    for user in ["ana", "bob"] {
        let mut conn = server.send_conn();
        let reply = conn.request(&format!("LOGIN:{user}:pw-{user}"));
        assert!(reply.starts_with("OK:"), "{user}: {reply}");
    }
    let mut conn = server.send_conn();
    let again = conn.request(&format!("REDEEM:{}:carl::pw-carl", codes[1]));
    assert!(again.starts_with("KO:AUTH_FAILED:this invite code was used already"), "{again}");
}

/// "bob is typing…" goes as soon as his message comes,
/// not when its 5 s are over.
#[test]
fn typing_is_cleared_by_the_message_it_announced() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let ana = logged_in(&url, "ana", 1200, 800);
    open_chat(&ana, "bob");
    assert_eq!(bob.request("TYPING:ana"), "OK");
    ana.wait_for("document.getElementById('typing').textContent.includes('bob')");
    assert!(bob.request("MSG:ana:b1:here it is").starts_with("OK:b1:"));
    ana.wait_for(
        "[...document.querySelectorAll('#messages .text')].some(e => e.textContent === 'here it is')",
    );
    let typing = ana.exec("return document.getElementById('typing').textContent", json!([]));
    assert_eq!(typing, json!(""), "still typing after the message");
}
