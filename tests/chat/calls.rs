//! Protocol 1.2's calls (docs/PROTOCOL.md §24), byte for byte on the two
//! ports: every device of the callee rings, the first to answer takes the
//! call, and each way a call ends (hang-up, decline, missed, busy, gone)
//! reaches both ends; a missed call stays in the chat as a message that
//! every client version and `HISTORY` show. And the bounds: blocks, rooms,
//! the SDP's size, `--rate`, one ringing call per peer, a few at once.
//! And the console, which takes no call but says who calls.

use super::support;

use support::console::Console;
use support::{Conn, TestServer};

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n";
const MISSED: &str = "📞 Missed voice call from ana";

/// A server that rings for a second (unless `args` say), and ana, bob,
/// carl, dan and eve registered.
fn server(args: &[&str]) -> TestServer {
    let mut all = args.to_vec();
    if !args.contains(&"--ring-seconds") {
        all.extend_from_slice(&["--ring-seconds", "1"]);
    }
    let server = TestServer::start_with(&all);
    server.register(&["ana", "bob", "carl", "dan", "eve"]);
    server
}

/// `user`'s send connection and 1.2 receive connection on `device`.
fn device(server: &TestServer, user: &str, device: &str) -> (Conn, Conn) {
    let events = server.events_1_2(user, Some(device));
    (server.login_send(&format!("{user}@{device}"), &format!("pw-{user}")), events)
}

/// The next `CALL` event (skipping presence and pings).
fn call_event(events: &mut Conn) -> String {
    loop {
        let line = events.next_event();
        if line.starts_with("CALL:") {
            return line;
        }
    }
}

/// The next `CALL` event of the call `id`, skipping other calls'.
fn event_of(events: &mut Conn, id: &str) -> String {
    loop {
        let line = call_event(events);
        if line.split(':').nth(2) == Some(id) {
            return line;
        }
    }
}

/// `user`'s next event is `TYPING` from `from`: no `CALL` came before it.
fn nothing_before_typing(events: &mut Conn, from: &mut Conn, user: &str) {
    assert_eq!(from.request(&format!("TYPING:{user}")), "OK");
    loop {
        let line = events.next_event();
        assert!(!line.starts_with("CALL:"), "expected no CALL, got {line}");
        if line.starts_with("TYPING:") {
            return;
        }
    }
}

#[test]
fn every_device_rings_the_first_answer_takes_the_call_and_a_hang_up_ends_both() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = device(&server, "ana", "laptop");
    let (mut phone, mut phone_events) = device(&server, "bob", "phone");
    let (mut laptop, mut laptop_events) = device(&server, "bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    let ring = format!("CALL:ana:c1:OFFER:voice:{SDP}");
    assert_eq!(call_event(&mut phone_events), ring);
    assert_eq!(call_event(&mut laptop_events), ring);

    // ana's candidates reach both ringing devices; the answering one uses them.
    assert_eq!(ana.request("CALL:bob:c1:ICE:{\"candidate\":\"a\"}"), "OK");
    assert_eq!(call_event(&mut phone_events), "CALL:ana:c1:ICE:{\"candidate\":\"a\"}");
    assert_eq!(call_event(&mut laptop_events), "CALL:ana:c1:ICE:{\"candidate\":\"a\"}");

    assert_eq!(phone.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ANSWER:v=0\\n");
    // Every device of bob's hears it, the phone too (which ignores its own).
    assert_eq!(call_event(&mut phone_events), "CALL:bob:c1:ANSWER:v=0\\n");
    // The laptop hears bob answered: it stops ringing, "answered on another device".
    assert_eq!(call_event(&mut laptop_events), "CALL:bob:c1:ANSWER:v=0\\n");
    let late = laptop.request("CALL:ana:c1:ANSWER:v=0\\n");
    assert_eq!(late, "KO:BAD_REQUEST:the call was answered on another device");

    assert_eq!(phone.request("CALL:ana:c1:ICE:{\"candidate\":\"b\"}"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c1:ICE:{\"candidate\":\"b\"}");

    assert_eq!(ana.request("CALL:bob:c1:HANGUP"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:ana:c1:END:hangup");
    assert_eq!(call_event(&mut phone_events), "CALL:ana:c1:END:hangup");
    assert_eq!(call_event(&mut laptop_events), "CALL:ana:c1:END:hangup");
    // Over: its id is free, and an answered call leaves no missed call.
    assert!(phone.request("CALL:ana:c1:ICE:x").starts_with("KO:BAD_REQUEST:no call c1"));
    assert!(phone.listing("HISTORY:ana:5").iter().all(|line| !line.contains("Missed")));
}

#[test]
fn a_decline_ends_the_call_on_every_device_and_is_no_missed_call() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = device(&server, "ana", "laptop");
    let (mut phone, mut phone_events) = device(&server, "bob", "phone");
    let (_laptop, mut laptop_events) = device(&server, "bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c2:OFFER:video:{SDP}")), "OK");
    assert!(call_event(&mut laptop_events).starts_with("CALL:ana:c2:OFFER:video:"));
    assert!(call_event(&mut phone_events).starts_with("CALL:ana:c2:OFFER:video:"));
    assert!(ana.request("CALL:bob:c2:DECLINE").starts_with("KO:BAD_REQUEST:"), "the caller hangs up");
    assert_eq!(phone.request("CALL:ana:c2:DECLINE"), "OK");
    for events in [&mut ana_events, &mut phone_events, &mut laptop_events] {
        assert_eq!(call_event(events), "CALL:bob:c2:END:declined");
    }
    assert!(phone.listing("HISTORY:ana:5").iter().all(|line| !line.contains("Missed")));
}

#[test]
fn a_call_nobody_answers_is_a_missed_call_in_history_and_for_a_1_0_client() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = device(&server, "ana", "laptop");
    let (_phone, mut phone_events) = device(&server, "bob", "phone");
    // A 1.0 client of bob's: never rung, but it gets the missed call as a message.
    let mut old = server.login_recv("bob", "pw-bob");

    assert_eq!(ana.request(&format!("CALL:bob:c3:OFFER:voice:{SDP}")), "OK");
    assert!(call_event(&mut phone_events).starts_with("CALL:ana:c3:OFFER:voice:"));
    // `--ring-seconds 1`: it ends by itself, on both sides.
    assert_eq!(call_event(&mut ana_events), "CALL:ana:c3:END:missed");
    assert_eq!(call_event(&mut phone_events), "CALL:ana:c3:END:missed");
    let msg = old.next_msg();
    assert!(msg.starts_with("MSG:") && msg.ends_with(&format!(":{MISSED}")), "{msg}");
    let mut bob = server.login_send("bob", "pw-bob");
    let history = bob.listing("HISTORY:ana:5");
    assert!(history.iter().any(|line| line.ends_with(MISSED)), "{history:?}");

    // A caller who gives up before the answer leaves a missed call too.
    assert_eq!(ana.request(&format!("CALL:bob:c4:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana.request("CALL:bob:c4:HANGUP"), "OK");
    assert_eq!(call_event(&mut ana_events), "CALL:ana:c4:END:hangup");
    let history = bob.listing("HISTORY:ana:5");
    assert_eq!(history.iter().filter(|line| line.ends_with(MISSED)).count(), 2, "{history:?}");
}

#[test]
fn a_peer_in_a_call_is_busy_and_a_caller_rings_a_peer_once_and_a_few_at_once() {
    let server = server(&["--ring-seconds", "60"]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&server, "bob", "phone");
    let (mut carl, mut carl_events) = device(&server, "carl", "phone");
    let (_dan, _dan_events) = device(&server, "dan", "phone");
    let (_eve, _eve_events) = device(&server, "eve", "phone");

    // One ringing call per peer, and at most three at once.
    assert_eq!(ana.request(&format!("CALL:carl:r1:OFFER:voice:{SDP}")), "OK");
    let again = ana.request(&format!("CALL:carl:r2:OFFER:voice:{SDP}"));
    assert_eq!(again, "KO:FULL:you are calling carl already");
    assert_eq!(ana.request(&format!("CALL:dan:r3:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana.request(&format!("CALL:eve:r4:OFFER:voice:{SDP}")), "OK");
    assert_eq!(
        ana.request(&format!("CALL:bob:r5:OFFER:voice:{SDP}")),
        "KO:FULL:you have 3 calls ringing, the most"
    );
    for (peer, id) in [("carl", "r1"), ("dan", "r3"), ("eve", "r4")] {
        assert_eq!(ana.request(&format!("CALL:{peer}:{id}:HANGUP")), "OK");
    }

    // ana and bob in a call: carl finds both busy, and neither rings.
    assert_eq!(ana.request(&format!("CALL:bob:c5:OFFER:voice:{SDP}")), "OK");
    assert!(call_event(&mut bob_events).starts_with("CALL:ana:c5:OFFER"));
    assert_eq!(bob.request("CALL:ana:c5:ANSWER:v=0\\n"), "OK");
    assert!(call_event(&mut bob_events).starts_with("CALL:bob:c5:ANSWER"));
    assert_eq!(carl.request(&format!("CALL:bob:c6:OFFER:voice:{SDP}")), "OK");
    assert_eq!(event_of(&mut carl_events, "c6"), "CALL:bob:c6:END:busy");
    assert_eq!(carl.request(&format!("CALL:ana:c7:OFFER:voice:{SDP}")), "OK");
    assert_eq!(event_of(&mut carl_events, "c7"), "CALL:ana:c7:END:busy");
    assert_eq!(
        bob.request(&format!("CALL:carl:c8:OFFER:voice:{SDP}")),
        "KO:FULL:you are in a call: hang up first"
    );
    nothing_before_typing(&mut bob_events, &mut carl, "bob");
    // Busy is no missed call.
    assert!(bob.listing("HISTORY:carl:5").is_empty());
}

#[test]
fn a_device_that_vanishes_mid_call_ends_it_for_the_other_end() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = device(&server, "ana", "laptop");
    let (mut phone, mut phone_events) = device(&server, "bob", "phone");
    let (_laptop, mut laptop_events) = device(&server, "bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c9:OFFER:voice:{SDP}")), "OK");
    assert!(call_event(&mut phone_events).starts_with("CALL:ana:c9:OFFER"));
    assert_eq!(phone.request("CALL:ana:c9:ANSWER:v=0\\n"), "OK");
    assert!(call_event(&mut ana_events).starts_with("CALL:bob:c9:ANSWER"));
    // The phone's tab closes: its receive connection goes.
    drop(phone_events);
    assert_eq!(call_event(&mut ana_events), "CALL:bob:c9:END:gone");
    assert!(call_event(&mut laptop_events).starts_with("CALL:ana:c9:OFFER"));
    assert!(call_event(&mut laptop_events).starts_with("CALL:bob:c9:ANSWER"));
    assert_eq!(call_event(&mut laptop_events), "CALL:bob:c9:END:gone");
    // ana may call again at once: the call is over on the server too.
    assert_eq!(ana.request(&format!("CALL:bob:c10:OFFER:voice:{SDP}")), "OK");

    // A caller that vanishes while it rings stops the ringing.
    drop(ana_events);
    assert!(call_event(&mut laptop_events).starts_with("CALL:ana:c10:OFFER"));
    assert_eq!(call_event(&mut laptop_events), "CALL:ana:c10:END:gone");
}

#[test]
fn a_blocked_user_an_offline_one_a_room_and_yourself_cannot_be_called() {
    let server = server(&[]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let (mut bob, mut bob_events) = device(&server, "bob", "phone");
    let (mut carl, _carl_events) = device(&server, "carl", "phone");

    assert_eq!(bob.request("BLOCK:ana"), "OK");
    // The same answer as for a user offline: a block is not told (§22).
    let blocked = ana.request(&format!("CALL:bob:c11:OFFER:voice:{SDP}"));
    assert_eq!(blocked, "KO:OFFLINE:bob cannot be called now");
    assert_eq!(
        ana.request(&format!("CALL:dan:c12:OFFER:voice:{SDP}")),
        "KO:OFFLINE:dan cannot be called now"
    );
    nothing_before_typing(&mut bob_events, &mut carl, "bob");

    let room = ana.request(&format!("CALL:#lab:c13:OFFER:voice:{SDP}"));
    assert_eq!(room, "KO:BAD_REQUEST:#lab is a room: only a user can be called");
    assert!(
        ana.request(&format!("CALL:ana:c14:OFFER:voice:{SDP}")).starts_with("KO:BAD_REQUEST:you cannot call")
    );
    assert!(ana.request(&format!("CALL:zed:c15:OFFER:voice:{SDP}")).starts_with("KO:UNKNOWN_USER:"));
    assert!(ana.request("CALL:carl:c16:END:missed").starts_with("KO:BAD_REQUEST:END is the server's"));
}

#[test]
fn a_user_cannot_ring_someone_it_blocked_either() {
    let server = server(&[]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let (_bob, mut bob_events) = device(&server, "bob", "phone");

    // The block is the caller's own (`blocked_either` asks both ways).
    assert_eq!(ana.request("BLOCK:BOB"), "OK");
    let reply = ana.request(&format!("CALL:bob:c18:OFFER:voice:{SDP}"));
    assert_eq!(reply, "KO:OFFLINE:bob cannot be called now");
    // Unblocked, the call rings: the first call bob hears is this one.
    assert_eq!(ana.request("UNBLOCK:bob"), "OK");
    assert_eq!(ana.request(&format!("CALL:bob:c19:OFFER:voice:{SDP}")), "OK");
    assert!(call_event(&mut bob_events).starts_with("CALL:ana:c19:OFFER:voice:"));
}

#[test]
fn an_sdp_past_its_limit_or_not_escaped_is_refused() {
    let server = server(&[]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let (_bob, _bob_events) = device(&server, "bob", "phone");
    let big = "a".repeat(12 * 1024 + 1);
    let reply = ana.request(&format!("CALL:bob:c17:OFFER:video:{big}"));
    assert_eq!(reply, "KO:BAD_REQUEST:an SDP is 12289 bytes, the limit is 12288");
    let reply = ana.request("CALL:bob:c17:OFFER:video:v=0\u{1b}[2J");
    assert!(reply.starts_with("KO:BAD_REQUEST:an SDP may not hold a control character"), "{reply}");
    assert_eq!(ana.request(&format!("CALL:bob:c17:OFFER:video:{SDP}")), "OK", "nothing was left of them");
}

#[test]
fn call_requests_cost_rate_tokens() {
    // A bucket of 10 tokens, refilled at one a second: an offer takes 5
    // (`requests/mod.rs`'s unit test holds every cost), so at most 5
    // candidates follow it before `KO:RATE_LIMITED`.
    let server = server(&["--rate", "1", "--rate-burst", "10"]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let (_bob, _bob_events) = device(&server, "bob", "phone");
    assert_eq!(ana.request(&format!("CALL:bob:c18:OFFER:voice:{SDP}")), "OK");
    let passed = (0..20).take_while(|n| ana.request(&format!("CALL:bob:c18:ICE:{n}")) == "OK").count();
    assert!(passed <= 5, "{passed} candidates passed after the offer");
}

#[test]
fn turn_hands_out_coturn_credentials_only_when_the_server_has_one() {
    let plain = server(&[]);
    let (mut ana, _) = device(&plain, "ana", "laptop");
    assert_eq!(ana.request("TURN"), "OK");
    drop(plain);

    let turn = server(&["--turn", "turn:127.0.0.1:3478", "--turn-secret", "north"]);
    let (mut ana, _) = device(&turn, "ana", "laptop");
    let reply = ana.request("TURN");
    let fields: Vec<&str> = reply.splitn(5, ':').collect();
    assert_eq!((fields[0], fields[2], fields[4]), ("OK", "ana", "turn:127.0.0.1:3478"), "{reply}");
    let expiry: u64 = fields[1].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(expiry > now && expiry <= now + 24 * 3600 + 5, "{expiry} vs {now}");
    assert_eq!(fields[3].len(), 28, "base64 of a 20-byte HMAC-SHA1: {reply}");
}

#[test]
fn the_console_says_who_calls_and_the_missed_call_and_trace_shows_the_frames() {
    let server = server(&[]);
    let (mut ana, _ana_events) = device(&server, "ana", "laptop");
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &["--device", "lab", "--trace"]);

    assert_eq!(ana.request(&format!("CALL:bob:c20:OFFER:voice:{SDP}")), "OK");
    bob.expect(&format!("< CALL:ana:c20:OFFER:voice:{SDP}"));
    bob.expect("📞 ana is calling (voice): answer in the browser");
    // `--ring-seconds 1`: it rings out, a notice, and the message every
    // client shows. The server stores the message before it tells the
    // end, but the two reach the console by different paths (an inbox's
    // delivery, an event): in either order.
    let missed = format!("ana: {MISSED}");
    bob.expect_each(&["< CALL:ana:c20:END:missed", "📞 nobody answered the call from ana", &missed]);
}
