//! Calls across the class network (1.3, docs/PROTOCOL.md §27, "Calls
//! across servers"), byte for byte on the two ports of two linked
//! `wachat serve`: ana on lab1 calls bob on lab2 and back; every device of
//! the callee rings, the first answer takes the call, candidates cross,
//! each way a call ends reaches both ends, and the line lands in both
//! chats, a missed call's too, rung out at the callee's server's
//! `--ring-seconds`. And what is refused before anything rings: a callee
//! offline, no such user, a peer down, a peer that does not carry calls
//! (the tiny server).

use super::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::Conn;
use support::federation::{Lab, give_key, start, write_roster};
use support::ports::free_port;
use support::tiny::Tiny;

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\n";
const ICE: &str = r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}"#;

/// lab1 and lab2, linked, with `more` flags each (lab2 rings for
/// `ring` seconds, lab1 for 30: a call across rings out at the callee's).
fn two_labs(root: &Path, ring: &str) -> (Lab, Lab) {
    let roster = root.join("class.csv");
    let ports = [("lab1", free_port()), ("lab2", free_port())];
    write_roster(&roster, &ports, "");
    let at = |name: &'static str, port, ring: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        // Each server its own TURN secret: a browser takes its
        // credentials from its own server (no coturn is asked here).
        let secret = format!("secret-of-{name}");
        let flags = ["--ring-seconds", ring, "--turn", "turn:127.0.0.1:3478", "--turn-secret", &secret];
        start(name, &dir, &roster, port, &flags)
    };
    (at("lab1", ports[0].1, "30"), at("lab2", ports[1].1, ring))
}

/// The call's `END` and the text of its line (acknowledged), on a device
/// of the side whose server does not store the line: that server ends
/// its own end once the other answered, and the line crosses the link
/// meanwhile, so the two come in either order.
fn end_and_line(events: &mut Conn) -> (String, String) {
    let (mut end, mut line) = (None, None);
    while end.is_none() || line.is_none() {
        let event = events.next_event();
        if event.starts_with("MSG:") {
            events.send(&format!("ACK:{}", event.split(':').nth(1).unwrap()));
            line = event.splitn(7, ':').nth(6).map(str::to_string);
        } else if event.starts_with("CALL:") {
            assert!(end.is_none(), "a second call event before the line: {event}");
            end = Some(event);
        }
    }
    (end.unwrap(), line.unwrap())
}

/// The text of the last line of `user`'s chat with `peer`, polled until
/// it is `want` (the line crosses the link as a message).
fn last_line(conn: &mut Conn, peer: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let history = conn.listing(&format!("HISTORY:{peer}:1"));
        let text = history.last().and_then(|l| l.splitn(6, ':').nth(5)).unwrap_or_default().to_string();
        if text == want {
            return;
        }
        assert!(Instant::now() < deadline, "the last line with {peer} is {history:?}, not {want:?}");
        std::thread::sleep(Duration::from_millis(50)); // polling the store, not timing
    }
}

#[test]
fn a_call_across_rings_every_device_is_answered_and_leaves_its_line_in_both_chats() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = two_labs(root.path(), "30");
    let (lab1, lab2) = (&lab1.server, &lab2.server);
    lab1.register(&["ana"]);
    lab2.register(&["bob"]);
    let (mut ana, mut ana_events) = lab1.device("ana", "laptop");
    let (mut phone, mut phone_events) = lab2.device("bob", "phone");
    let (_laptop, mut laptop_events) = lab2.device("bob", "laptop");

    // No call yet: no TURN credential either side.
    assert_eq!(
        ana.request("TURN:bob@lab2"),
        "KO:FORBIDDEN:TURN is for a call: offer bob@lab2 one first, then ask"
    );
    assert_eq!(ana.request(&format!("CALL:bob@lab2:c1:OFFER:video:{SDP}")), "OK");
    let ring = format!("CALL:ana@lab1:c1:OFFER:video:{SDP}");
    assert_eq!(phone_events.next_call(), ring);
    assert_eq!(laptop_events.next_call(), ring);
    // Each side's credentials are its own server's.
    let (ana_turn, bob_turn) = (ana.request("TURN:bob@lab2"), phone.request("TURN"));
    assert!(ana_turn.starts_with("OK:") && ana_turn.ends_with(":turn:127.0.0.1:3478"), "{ana_turn}");
    assert!(bob_turn.starts_with("OK:") && bob_turn != ana_turn, "another secret: {bob_turn} {ana_turn}");
    assert_eq!(ana.request(&format!("CALL:bob@lab2:c1:ICE:{ICE}")), "OK");
    assert_eq!(phone_events.next_call(), format!("CALL:ana@lab1:c1:ICE:{ICE}"));
    assert_eq!(laptop_events.next_call(), format!("CALL:ana@lab1:c1:ICE:{ICE}"));

    // The phone answers: ana hears it across, the laptop stops ringing.
    assert_eq!(phone.request(&format!("CALL:ana@lab1:c1:ANSWER:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), format!("CALL:bob@lab2:c1:ANSWER:{SDP}"));
    assert_eq!(laptop_events.next_call(), format!("CALL:bob:c1:ANSWER:{SDP}"));
    assert_eq!(phone_events.next_call(), format!("CALL:bob:c1:ANSWER:{SDP}"));
    assert_eq!(
        phone.request(&format!("CALL:ana@lab1:c1:ANSWER:{SDP}")),
        "KO:BAD_REQUEST:the call was answered on another device",
        "lab1 keeps ana's end: a second answer is refused there"
    );
    assert_eq!(phone.request(&format!("CALL:ana@lab1:c1:ICE:{ICE}")), "OK");
    assert_eq!(ana_events.next_call(), format!("CALL:bob@lab2:c1:ICE:{ICE}"));

    // bob hangs up on lab2: both ends hear it, and the line (stored by
    // the caller's server, lab1) is in both chats.
    assert_eq!(phone.request("CALL:ana@lab1:c1:HANGUP"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob@lab2:c1:END:hangup");
    assert_eq!(
        end_and_line(&mut phone_events),
        ("CALL:bob:c1:END:hangup".to_string(), "📞 Video call, 0:00".to_string())
    );
    last_line(&mut ana, "bob@lab2", "📞 Video call, 0:00");
    last_line(&mut phone, "ana@lab1", "📞 Video call, 0:00");
    assert_eq!(phone.request("TURN"), "KO:FORBIDDEN:TURN is for a call: you have none ringing or going on");
    assert_eq!(ana.request("CALL:bob@lab2:c1:HANGUP"), "KO:BAD_REQUEST:no call c1 (it ended, or never rang)");

    // The other way: bob calls ana, ana declines.
    assert_eq!(phone.request(&format!("CALL:ana@lab1:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), format!("CALL:bob@lab2:c2:OFFER:voice:{SDP}"));
    assert_eq!(ana.request("CALL:bob@lab2:c2:DECLINE"), "OK");
    assert_eq!(phone_events.next_call(), "CALL:ana@lab1:c2:END:declined");
    assert_eq!(ana_events.next_call(), "CALL:ana:c2:END:declined");
    last_line(&mut phone, "ana@lab1", "📞 Declined voice call");
    last_line(&mut ana, "bob@lab2", "📞 Declined voice call");
}

#[test]
fn a_call_across_rings_out_at_the_callee_s_ring_time_and_its_missed_line_is_in_both_chats() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = two_labs(root.path(), "1");
    let (lab1, lab2) = (&lab1.server, &lab2.server);
    lab1.register(&["ana"]);
    lab2.register(&["bob", "dan"]);
    let (mut ana, mut ana_events) = lab1.device("ana", "laptop");
    let (mut bob, mut bob_events) = lab2.device("bob", "phone");

    // lab1 rings for 30 s, lab2 for 1: the call is missed within ~1 s.
    let offered = Instant::now();
    assert_eq!(ana.request(&format!("CALL:bob@lab2:c1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana@lab1:c1:OFFER:voice:{SDP}"));
    let (end, line) = end_and_line(&mut bob_events);
    assert_eq!((end.as_str(), line.as_str()), ("CALL:ana@lab1:c1:END:missed", "📞 Missed voice call"));
    assert_eq!(ana_events.next_call(), "CALL:ana:c1:END:missed");
    let rang = offered.elapsed();
    assert!(rang < Duration::from_secs(20), "rang out at lab2's --ring-seconds 1, not lab1's 30: {rang:?}");
    last_line(&mut ana, "bob@lab2", "📞 Missed voice call");
    // A second missed call folds into the first line, on both sides.
    assert_eq!(ana.request(&format!("CALL:bob@lab2:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:ana@lab1:c2:OFFER:voice:{SDP}"));
    assert_eq!(ana.request("CALL:bob@lab2:c2:HANGUP"), "OK");
    assert_eq!(bob_events.next_call(), "CALL:ana@lab1:c2:END:hangup");
    assert_eq!(ana_events.next_call(), "CALL:ana:c2:END:hangup");
    last_line(&mut ana, "bob@lab2", "✎ 📞 2 missed voice calls");
    last_line(&mut bob, "ana@lab1", "✎ 📞 2 missed voice calls");

    // bob in a call with dan on lab2: ana's call finds him busy, told
    // across; nothing rings.
    let mut dan = lab2.login_send("dan", "pw-dan");
    let _dan_events = lab2.events_1_2("dan", None);
    assert_eq!(dan.request(&format!("CALL:bob:d1:OFFER:voice:{SDP}")), "OK");
    assert_eq!(bob_events.next_call(), format!("CALL:dan:d1:OFFER:voice:{SDP}"));
    assert_eq!(bob.request(&format!("CALL:dan:d1:ANSWER:{SDP}")), "OK");
    assert_eq!(ana.request(&format!("CALL:bob@lab2:c3:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob@lab2:c3:END:busy");
}

#[test]
fn what_cannot_ring_across_is_refused_in_words_before_anything_rings() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let ports = [("lab1", free_port()), ("lab2", free_port()), ("lab3", free_port())];
    write_roster(&roster, &ports, "");
    let dir = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let lab1 = start("lab1", &dir("lab1"), &roster, ports[0].1, &[]);
    let lab2 = start("lab2", &dir("lab2"), &roster, ports[1].1, &[]);
    // lab3 is the tiny server, which carries messages but not calls.
    give_key(&roster, "lab3", &dir("lab3"));
    let path = roster.display().to_string();
    let link = ports[2].1.to_string();
    let lab3_args = ["--name", "lab3", "--peers", &path, "--link-port", &link, "--timeout", "4"];
    let _lab3 = Tiny::start_with(&dir("lab3"), ["0", "0"], &lab3_args);
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let (mut ana, _ana_events) = lab1.server.device("ana", "laptop");

    let offer = |to: &str| format!("CALL:{to}:c1:OFFER:voice:{SDP}");
    assert_eq!(ana.request(&offer("bob@lab2")), "KO:OFFLINE:bob cannot be called now", "bob is offline");
    assert_eq!(ana.request(&offer("nobody@lab2")), "KO:UNKNOWN_USER:no user named nobody");
    assert_eq!(ana.request(&offer("bob@lab9")), "KO:UNKNOWN_SERVER:no server named lab9 in the roster");
    let refused = ana.request(&offer("carl@lab3"));
    assert_eq!(refused, "KO:BAD_REQUEST:lab3 does not carry calls");
    // Known now: refused at once, with the same words.
    assert_eq!(ana.request(&offer("carl@lab3")), refused);
    // ana's messages to lab3 still go: the refusal closed no link.
    assert!(ana.request("MSG:carl@lab3:m1:hi").starts_with("OK:m1:"));
    assert_eq!(ana.request("CALL:bob@lab2:c1:HANGUP"), "KO:BAD_REQUEST:no call c1 (it ended, or never rang)");

    // lab2 down: the caller hears why at once (lab1 dials it to ask).
    let (mut bob, _bob_events) = lab2.server.device("bob", "phone");
    assert_eq!(bob.request("PING"), "OK");
    drop(lab2);
    let refused = ana.request(&offer("bob@lab2"));
    assert!(refused.starts_with("KO:OFFLINE:lab2 cannot be reached now: "), "{refused}");
}
