//! Protocol 1.2's calls (docs/PROTOCOL.md §24), byte for byte on the two
//! ports: every device of the callee rings, the first to answer takes the
//! call, and each way a call ends (hang-up, decline, missed, busy, gone)
//! reaches both ends; every call leaves its line in the chat (`📞 Voice
//! call, 0:02`, `📞 Missed voice call`, missed calls in a row folded into
//! one), a message that every client version and `HISTORY` show. And the
//! bounds: blocks, rooms, the SDP's size, `--rate`, one ringing call per
//! peer, a few at once, offers a minute, rings a callee gets, candidates
//! a call carries, the log lines a caller causes. And `TURN`: credentials
//! only for a call, and the documented coturn, checked. And the console,
//! which takes no call but says who calls.

use super::support;

use support::console::Console;
use support::coturn::{self, Coturn};
use support::{Conn, TestServer};

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n";
const MISSED: &str = "📞 Missed voice call";

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

/// The next `CALL` event of the call `id`, skipping other calls'.
fn event_of(events: &mut Conn, id: &str) -> String {
    loop {
        let line = events.next_call();
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
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (mut phone, mut phone_events) = server.device("bob", "phone");
    let (mut laptop, mut laptop_events) = server.device("bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c1:OFFER:voice:{SDP}")), "OK");
    let ring = format!("CALL:ana:c1:OFFER:voice:{SDP}");
    assert_eq!(phone_events.next_call(), ring);
    assert_eq!(laptop_events.next_call(), ring);

    // ana's candidates reach both ringing devices; the answering one uses them.
    assert_eq!(ana.request("CALL:bob:c1:ICE:{\"candidate\":\"a\"}"), "OK");
    assert_eq!(phone_events.next_call(), "CALL:ana:c1:ICE:{\"candidate\":\"a\"}");
    assert_eq!(laptop_events.next_call(), "CALL:ana:c1:ICE:{\"candidate\":\"a\"}");

    assert_eq!(phone.request("CALL:ana:c1:ANSWER:v=0\\n"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    // Every device of bob's hears it, the phone too (which ignores its own).
    assert_eq!(phone_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    // The laptop hears bob answered: it stops ringing, "answered on another device".
    assert_eq!(laptop_events.next_call(), "CALL:bob:c1:ANSWER:v=0\\n");
    let late = laptop.request("CALL:ana:c1:ANSWER:v=0\\n");
    assert_eq!(late, "KO:BAD_REQUEST:the call was answered on another device");

    assert_eq!(phone.request("CALL:ana:c1:ICE:{\"candidate\":\"b\"}"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:bob:c1:ICE:{\"candidate\":\"b\"}");

    assert_eq!(ana.request("CALL:bob:c1:HANGUP"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:ana:c1:END:hangup");
    assert_eq!(phone_events.next_call(), "CALL:ana:c1:END:hangup");
    assert_eq!(laptop_events.next_call(), "CALL:ana:c1:END:hangup");
    // Over: its id is free, and an answered call leaves its length in the
    // chat, on both sides.
    assert!(phone.request("CALL:ana:c1:ICE:x").starts_with("KO:BAD_REQUEST:no call c1"));
    for (who, chat) in [(&mut phone, "ana"), (&mut ana, "bob")] {
        let history = who.listing(&format!("HISTORY:{chat}:5"));
        assert_eq!(history.len(), 1, "{history:?}");
        assert!(
            history[0].starts_with("ana:bob:call-") && history[0].contains(":📞 Voice call, 0:0"),
            "{history:?}"
        );
    }
}

#[test]
fn a_decline_ends_the_call_on_every_device_and_is_no_missed_call() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (mut phone, mut phone_events) = server.device("bob", "phone");
    let (_laptop, mut laptop_events) = server.device("bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c2:OFFER:video:{SDP}")), "OK");
    assert!(laptop_events.next_call().starts_with("CALL:ana:c2:OFFER:video:"));
    assert!(phone_events.next_call().starts_with("CALL:ana:c2:OFFER:video:"));
    assert!(ana.request("CALL:bob:c2:DECLINE").starts_with("KO:BAD_REQUEST:"), "the caller hangs up");
    assert_eq!(phone.request("CALL:ana:c2:DECLINE"), "OK");
    for events in [&mut ana_events, &mut phone_events, &mut laptop_events] {
        assert_eq!(events.next_call(), "CALL:bob:c2:END:declined");
    }
    let history = phone.listing("HISTORY:ana:5");
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(history[0].ends_with(":📞 Declined video call"), "{history:?}");
}

#[test]
fn a_call_nobody_answers_is_a_missed_call_in_history_and_for_a_1_0_client_and_the_next_ones_fold_into_it() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (_phone, mut phone_events) = server.device("bob", "phone");
    // A 1.0 client of bob's: never rung, but it gets the missed call as a message.
    let mut old = server.login_recv("bob", "pw-bob");

    assert_eq!(ana.request(&format!("CALL:bob:c3:OFFER:voice:{SDP}")), "OK");
    assert!(phone_events.next_call().starts_with("CALL:ana:c3:OFFER:voice:"));
    // `--ring-seconds 1`: it ends by itself, on both sides.
    assert_eq!(ana_events.next_call(), "CALL:ana:c3:END:missed");
    assert_eq!(phone_events.next_call(), "CALL:ana:c3:END:missed");
    let msg = old.next_msg();
    assert!(msg.starts_with("MSG:") && msg.ends_with(&format!(":{MISSED}")), "{msg}");
    let mut bob = server.login_send("bob", "pw-bob");
    let history = bob.listing("HISTORY:ana:5");
    assert!(history.len() == 1 && history[0].ends_with(MISSED), "{history:?}");

    let notice = history[0].split(':').nth(2).unwrap().to_string();

    // A caller who gives up before the answer leaves a missed call too,
    // folded into the line before: an edit of it, which a 1.0 client
    // reads as text, and every 1.2 client applies.
    assert_eq!(ana.request(&format!("CALL:bob:c4:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana.request("CALL:bob:c4:HANGUP"), "OK");
    assert_eq!(ana_events.next_call(), "CALL:ana:c4:END:hangup");
    let msg = old.next_msg();
    assert!(msg.contains(":_e") && msg.contains(&format!("_{notice}:")), "{msg}");
    assert!(msg.ends_with(":✎ 📞 2 missed voice calls"), "{msg}");
    assert_eq!(ana.request(&format!("CALL:bob:c5:OFFER:voice:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), "CALL:ana:c5:END:missed");
    let msg = old.next_msg();
    assert!(msg.contains(&format!("_{notice}:")) && msg.ends_with(":✎ 📞 3 missed voice calls"), "{msg}");
    // A video call is another line; so is a missed call after a word from bob.
    assert_eq!(ana.request(&format!("CALL:bob:c6:OFFER:video:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), "CALL:ana:c6:END:missed");
    assert!(old.next_msg().ends_with(":📞 Missed video call"));
    assert!(bob.request("MSG:ana:b1:sorry, call me again").starts_with("OK:"));
    assert_eq!(ana.request(&format!("CALL:bob:c7:OFFER:video:{SDP}")), "OK");
    assert_eq!(ana_events.next_call(), "CALL:ana:c7:END:missed");
    let history = bob.listing("HISTORY:ana:10");
    let texts: Vec<&str> = history.iter().map(|line| line.splitn(6, ':').nth(5).unwrap()).collect();
    assert_eq!(
        texts,
        [
            "📞 3 missed voice calls", // HISTORY shows a message as last edited
            "✎ 📞 2 missed voice calls",
            "✎ 📞 3 missed voice calls",
            "📞 Missed video call",
            "sorry, call me again",
            "📞 Missed video call"
        ],
        "{history:?}"
    );
}

#[test]
fn a_peer_in_a_call_is_busy_and_a_caller_rings_a_peer_once_and_a_few_at_once() {
    let server = server(&["--ring-seconds", "60"]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (mut bob, mut bob_events) = server.device("bob", "phone");
    let (mut carl, mut carl_events) = server.device("carl", "phone");
    let (_dan, _dan_events) = server.device("dan", "phone");
    let (_eve, _eve_events) = server.device("eve", "phone");

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
    assert!(bob_events.next_call().starts_with("CALL:ana:c5:OFFER"));
    assert_eq!(bob.request("CALL:ana:c5:ANSWER:v=0\\n"), "OK");
    assert!(bob_events.next_call().starts_with("CALL:bob:c5:ANSWER"));
    assert_eq!(carl.request(&format!("CALL:bob:c6:OFFER:voice:{SDP}")), "OK");
    assert_eq!(event_of(&mut carl_events, "c6"), "CALL:bob:c6:END:busy");
    assert_eq!(carl.request(&format!("CALL:ana:c7:OFFER:voice:{SDP}")), "OK");
    assert_eq!(event_of(&mut carl_events, "c7"), "CALL:ana:c7:END:busy");
    assert_eq!(
        bob.request(&format!("CALL:carl:c8:OFFER:voice:{SDP}")),
        "KO:FULL:you are in a call: hang up first"
    );
    nothing_before_typing(&mut bob_events, &mut carl, "bob");
    // Busy, bob missed carl's call: its line is in their chat.
    let history = bob.listing("HISTORY:carl:5");
    assert!(history.len() == 1 && history[0].starts_with("carl:bob:call-") && history[0].ends_with(MISSED));
}

#[test]
fn a_device_that_vanishes_mid_call_ends_it_for_the_other_end() {
    let server = server(&[]);
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (mut phone, mut phone_events) = server.device("bob", "phone");
    let (_laptop, mut laptop_events) = server.device("bob", "laptop");

    assert_eq!(ana.request(&format!("CALL:bob:c9:OFFER:voice:{SDP}")), "OK");
    assert!(phone_events.next_call().starts_with("CALL:ana:c9:OFFER"));
    assert_eq!(phone.request("CALL:ana:c9:ANSWER:v=0\\n"), "OK");
    assert!(ana_events.next_call().starts_with("CALL:bob:c9:ANSWER"));
    // The phone's tab closes: its receive connection goes.
    drop(phone_events);
    assert_eq!(ana_events.next_call(), "CALL:bob:c9:END:gone");
    assert!(laptop_events.next_call().starts_with("CALL:ana:c9:OFFER"));
    assert!(laptop_events.next_call().starts_with("CALL:bob:c9:ANSWER"));
    assert_eq!(laptop_events.next_call(), "CALL:bob:c9:END:gone");
    // ana may call again at once: the call is over on the server too.
    assert_eq!(ana.request(&format!("CALL:bob:c10:OFFER:voice:{SDP}")), "OK");

    // A caller that vanishes while it rings stops the ringing.
    drop(ana_events);
    assert!(laptop_events.next_call().starts_with("CALL:ana:c10:OFFER"));
    assert_eq!(laptop_events.next_call(), "CALL:ana:c10:END:gone");
}

#[test]
fn a_blocked_user_an_offline_one_a_room_and_yourself_cannot_be_called() {
    let server = server(&[]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (mut bob, mut bob_events) = server.device("bob", "phone");
    let (mut carl, _carl_events) = server.device("carl", "phone");

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
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (_bob, mut bob_events) = server.device("bob", "phone");

    // The block is the caller's own (`blocked_either` asks both ways).
    assert_eq!(ana.request("BLOCK:BOB"), "OK");
    let reply = ana.request(&format!("CALL:bob:c18:OFFER:voice:{SDP}"));
    assert_eq!(reply, "KO:OFFLINE:bob cannot be called now");
    // Unblocked, the call rings: the first call bob hears is this one.
    assert_eq!(ana.request("UNBLOCK:bob"), "OK");
    assert_eq!(ana.request(&format!("CALL:bob:c19:OFFER:voice:{SDP}")), "OK");
    assert!(bob_events.next_call().starts_with("CALL:ana:c19:OFFER:voice:"));
}

#[test]
fn an_sdp_past_its_limit_or_not_escaped_is_refused() {
    let server = server(&[]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (_bob, _bob_events) = server.device("bob", "phone");
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
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (_bob, _bob_events) = server.device("bob", "phone");
    assert_eq!(ana.request(&format!("CALL:bob:c18:OFFER:voice:{SDP}")), "OK");
    let passed = (0..20).take_while(|n| ana.request(&format!("CALL:bob:c18:ICE:{n}")) == "OK").count();
    assert!(passed <= 5, "{passed} candidates passed after the offer");
}

/// `TURN` hands credentials only for a call: to a user with a call
/// ringing or going on (`TURN:<peer>`: with that peer), good for
/// minutes; anyone else gets `KO:FORBIDDEN`, a caller before its offer
/// too.
/// Without `--turn`, `OK` alone, as before.
#[test]
fn turn_hands_out_credentials_of_minutes_only_for_a_call() {
    let plain = server(&[]);
    let (mut ana, _) = plain.device("ana", "laptop");
    assert_eq!(ana.request("TURN"), "OK");
    assert_eq!(ana.request("TURN:bob"), "OK");
    drop(plain);

    let turn = server(&["--turn", "turn:127.0.0.1:3478", "--turn-secret", "north", "--ring-seconds", "60"]);
    let (mut ana, _ana_events) = turn.device("ana", "laptop");
    let (mut bob, mut bob_events) = turn.device("bob", "phone");
    let (mut carl, _carl_events) = turn.device("carl", "phone");
    let forbidden = "KO:FORBIDDEN:TURN is for a call: you have none ringing or going on";
    assert_eq!(ana.request("TURN"), forbidden);
    assert_eq!(ana.request("TURN:dan"), "KO:OFFLINE:dan cannot be called now");
    assert_eq!(ana.request("TURN:ana"), "KO:BAD_REQUEST:you cannot call yourself");
    assert_eq!(ana.request("TURN:#lab"), "KO:BAD_REQUEST:#lab is a room: only a user can be called");
    assert_eq!(carl.request("BLOCK:ana"), "OK");
    assert_eq!(ana.request("TURN:carl"), "KO:OFFLINE:carl cannot be called now", "a block is not told");

    // About to call bob: nothing yet. Once the offer rings, credentials,
    // good for 150 to 300 s.
    assert_eq!(ana.request("TURN:bob"), "KO:FORBIDDEN:TURN is for a call: offer bob one first, then ask");
    assert_eq!(bob.request("TURN"), forbidden);
    assert_eq!(ana.request(&format!("CALL:bob:t1:OFFER:voice:{SDP}")), "OK");
    assert!(bob_events.next_call().starts_with("CALL:ana:t1:OFFER"));
    let reply = ana.request("TURN:bob");
    let fields: Vec<&str> = reply.splitn(5, ':').collect();
    assert_eq!((fields[0], fields[2], fields[4]), ("OK", "127.0.0.1", "turn:127.0.0.1:3478"), "{reply}");
    let expiry: u64 = fields[1].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(expiry >= now + 150 && expiry <= now + 301, "{expiry} vs {now}");
    assert_eq!(fields[3].len(), 28, "base64 of a 20-byte HMAC-SHA1: {reply}");
    assert_eq!(ana.request("TURN:bob"), reply, "the same credential again: at most two are good at once");

    // bob, rung, gets them too, for this call; after it, nobody does.
    assert!(bob.request("TURN").starts_with("OK:"), "ringing");
    assert!(bob.request("TURN:ana").starts_with("OK:"), "ringing, named");
    assert!(ana.request("TURN").starts_with("OK:"), "calling");
    assert_eq!(bob.request("CALL:ana:t1:ANSWER:v=0\\n"), "OK");
    assert!(bob.request("TURN").starts_with("OK:"), "in the call");
    assert_eq!(carl.request("UNBLOCK:ana"), "OK");
    assert_eq!(carl.request("TURN:ana"), "KO:FULL:ana is in another call");
    assert_eq!(ana.request("CALL:bob:t1:HANGUP"), "OK");
    assert!(bob_events.next_call().starts_with("CALL:bob:t1:ANSWER"), "bob's own answer");
    assert_eq!(bob_events.next_call(), "CALL:ana:t1:END:hangup");
    assert_eq!(bob.request("TURN"), forbidden);
    assert_eq!(carl.request("TURN:ana"), "KO:FORBIDDEN:TURN is for a call: offer ana one first, then ask");
}

/// A caller offers at most 6 calls a minute; a callee rings for at most
/// 3 at once (a fourth caller finds it busy, and it does not ring); an end
/// of a call sends at most 64 candidates.
#[test]
fn rings_per_caller_and_per_callee_and_candidates_per_call_are_bounded() {
    let server = server(&["--ring-seconds", "60"]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (mut bob, mut bob_events) = server.device("bob", "phone");
    let (mut carl, _carl_events) = server.device("carl", "phone");
    let (mut dan, _dan_events) = server.device("dan", "phone");
    let (mut eve, mut eve_events) = server.device("eve", "phone");

    for n in 0..6 {
        assert_eq!(ana.request(&format!("CALL:bob:a{n}:OFFER:voice:{SDP}")), "OK", "offer {n}");
        assert_eq!(ana.request(&format!("CALL:bob:a{n}:HANGUP")), "OK");
    }
    let seventh = ana.request(&format!("CALL:bob:a6:OFFER:voice:{SDP}"));
    assert!(
        seventh.starts_with("KO:RATE_LIMITED:you offered 6 calls in a minute, the most: try again in "),
        "{seventh}"
    );
    println!("rings per caller: 6 a minute (the 7th: {seventh})");
    // The six folded into one line in bob's chat.
    let history = bob.listing("HISTORY:ana:10");
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(history[5].ends_with(":✎ 📞 6 missed voice calls"), "{history:?}");

    // bob rings for carl, dan and fay at once: eve finds him busy, and he
    // does not ring for her.
    server.register(&["fay"]);
    let (mut fay, _fay_events) = server.device("fay", "phone");
    for (caller, id) in [(&mut carl, "b1"), (&mut dan, "b2"), (&mut fay, "b3")] {
        assert_eq!(caller.request(&format!("CALL:bob:{id}:OFFER:voice:{SDP}")), "OK");
        assert!(event_of(&mut bob_events, id).contains(":OFFER:"));
    }
    assert_eq!(eve.request(&format!("CALL:bob:b4:OFFER:voice:{SDP}")), "OK");
    assert_eq!(event_of(&mut eve_events, "b4"), "CALL:bob:b4:END:busy");
    nothing_before_typing(&mut bob_events, &mut eve, "bob");
    println!("rings per callee: 3 at once (the 4th caller: END:busy)");

    // Candidates: 64 from each end.
    assert_eq!(bob.request("CALL:carl:b1:ANSWER:v=0\\n"), "OK");
    for n in 0..64 {
        assert_eq!(carl.request(&format!("CALL:bob:b1:ICE:c{n}")), "OK", "candidate {n}");
    }
    assert_eq!(
        carl.request("CALL:bob:b1:ICE:c64"),
        "KO:FULL:a call carries at most 64 candidates from each end"
    );
    assert_eq!(bob.request("CALL:carl:b1:ICE:b0"), "OK", "bob's own are his");
}

/// A caller past its storage quota rings and hangs up: each call's line
/// cannot be stored, and says so in the log, within the log's limit (20
/// lines a second of a kind, then a count of those left out), however
/// many callers do it at once.
#[test]
fn waits_1_1_s_the_log_lines_callers_cause_are_limited() {
    // (Twenty callers on one address: exempt from --address-rate.)
    let args = ["--user-quota", "2048", "--ring-seconds", "60", "--exempt", "127.0.0.1"];
    let server = TestServer::start_logging("info", &args);
    let callers: Vec<String> = (0..20).map(|n| format!("caller{n}")).collect();
    let names: Vec<&str> = callers.iter().map(String::as_str).chain(["bob"]).collect();
    server.register(&names);
    let (_bob, _bob_events) = server.device("bob", "phone");
    let mut sends: Vec<Conn> = callers.iter().map(|c| server.login_send(c, &format!("pw-{c}"))).collect();
    let filler = "x".repeat(1000);
    for (caller, send) in callers.iter().zip(&mut sends) {
        // Past the quota: as many 1 KB messages as it takes.
        let full = (0..4)
            .map(|n| send.request(&format!("MSG:bob:{caller}f{n}:{filler}")))
            .any(|r| r.starts_with("KO:FULL"));
        assert!(full, "{caller} past its quota");
    }
    // Each caller rings and hangs up as often as it may (6 a minute): a
    // line each, all refused.
    let mut attempts = 0;
    for round in 0..6 {
        for (caller, send) in callers.iter().zip(&mut sends) {
            let id = format!("{caller}r{round}");
            if send.request(&format!("CALL:bob:{id}:OFFER:voice:{SDP}")) == "OK" {
                send.request(&format!("CALL:bob:{id}:HANGUP")); // KO once busy: it never rang
                attempts += 1;
            }
        }
    }
    assert_eq!(attempts, 120);
    server.wait_for_log("its line was not stored");
    // One more, a second later: it says how many were left out.
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the log limit's window
    server.register(&["zed"]);
    let mut zed = server.login_send("zed", "pw-zed");
    for n in 0..4 {
        zed.request(&format!("MSG:bob:z{n}:{filler}"));
    }
    assert_eq!(zed.request(&format!("CALL:bob:z9:OFFER:voice:{SDP}")), "OK");
    // bob was rung 12 times this minute: zed finds him busy (its line
    // stored all the same), and its hang-up finds no call.
    zed.request("CALL:bob:z9:HANGUP");
    let summary = server.wait_for_log("more like it not logged");
    let logged = server.log().iter().filter(|l| l.contains("its line was not stored")).count();
    println!("{attempts} calls whose line could not be stored: {logged} log lines; then {summary}");
    assert!(logged < attempts / 2, "{logged} lines for {attempts} calls: not limited");
}
#[test]
fn the_console_says_who_calls_and_the_missed_call_and_trace_shows_the_frames() {
    let server = server(&[]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &["--device", "lab", "--trace"]);

    assert_eq!(ana.request(&format!("CALL:bob:c20:OFFER:voice:{SDP}")), "OK");
    bob.expect(&format!("< CALL:ana:c20:OFFER:voice:{SDP}"));
    bob.expect("📞 ana is calling (voice): answer in the browser");
    // `--ring-seconds 1`: it rings out, and the message every client shows
    // says so, once (the end's event is in the trace, no line of its own).
    // The server stores the message before it tells the end, but the two
    // reach the console by different paths (an inbox's delivery, an
    // event): in either order.
    let missed = format!("ana: {MISSED}");
    bob.expect_each(&["< CALL:ana:c20:END:missed", &missed]);
    let (_, lines) = bob.quit("/quit");
    assert!(!lines.iter().any(|l| l.contains("nobody answered")), "{lines:#?}");
}

/// docs/CALLS.md's coturn line, run as written (on loopback, free
/// ports): every denied range refused at its first address, its best
/// known one and its last, IPv4 and IPv6; TCP relays refused; one user
/// held to its quota while another still gets a relay. And `wachat
/// serve --turn` checks it at start and says so; a coturn started as the
/// docs once did (no safety flag) is named in a warning, with what it
/// relays to.
#[test]
fn the_documented_coturn_refuses_every_denied_range_and_wachat_checks_it_at_start() {
    use wachat::server::turn::check::DENIED;
    use wachat::server::turn::stun::Transport;

    let coturn = Coturn::documented(&coturn::ON_LOOPBACK);
    let mut v4 = coturn.client("eve");
    let mut v6 = coturn.client("eve");
    assert!(v4.allocate(false, Transport::Udp).unwrap().is_ok());
    assert!(v6.allocate(true, Transport::Udp).unwrap().is_ok(), "an IPv6 relay on ::1");
    let mut refused = Vec::new();
    for range in DENIED {
        let relay = if range.first.is_ipv4() { &mut v4 } else { &mut v6 };
        for addr in [range.first, range.probe, range.last] {
            let answer = relay.permit(addr).unwrap();
            let code = answer.as_ref().map_err(|r| r.code);
            assert_eq!(code, Err(403), "{addr} ({}): {answer:?}", range.what);
        }
        refused.push(format!("{}-{}", range.first, range.last));
    }
    println!("refused (403) at the first, best-known and last address of: {}", refused.join(", "));
    // Addresses of no denied range are granted: the 403s are the ranges'.
    // (Public addresses: a permission sends nothing to them.)
    assert_eq!(v4.permit("8.8.4.4".parse().unwrap()).unwrap(), Ok(()), "{}", coturn.log());
    assert_eq!(v6.permit("2606:4700::1111".parse().unwrap()).unwrap(), Ok(()), "{}", coturn.log());
    let tcp = coturn.client("eve").allocate(false, Transport::Tcp).unwrap();
    assert_eq!(tcp.map_err(|r| r.code), Err(442), "no TCP relay");

    // eve's 12 allocations (2 above, 10 more), then 486; ana still gets one.
    let mut held: Vec<_> = (0..10).map(|_| coturn.client("eve")).collect();
    for client in &mut held {
        assert!(client.allocate(false, Transport::Udp).unwrap().is_ok());
    }
    let past = coturn.client("eve").allocate(false, Transport::Udp).unwrap();
    assert_eq!(past.map_err(|r| r.code), Err(486), "--user-quota=12");
    assert!(coturn.client("ana").allocate(false, Transport::Udp).unwrap().is_ok(), "another user's");
    println!("ports per user: 12 (the 13th allocation of one user: 486)");

    let server = TestServer::start_with(&["--turn", &coturn.url(), "--turn-secret", coturn::SECRET]);
    let line = server.wait_for_log("TURN turn:127.0.0.1");
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains(": checked with a test allocation: 24 of 24 denied ranges refused, its own address 127.0.0.1 refused, TCP relays refused (442), one user held to 12 allocations (486)"),
        "{line}"
    );

    // The line docs/CALLS.md had: no safety flag.
    let bare: Vec<String> = coturn::documented_line()
        .into_iter()
        .filter(|flag| {
            !["--denied-peer-ip", "--no-tcp-relay", "--no-multicast-peers", "--user-quota", "--total-quota"]
                .iter()
                .any(|unsafe_without| flag.starts_with(unsafe_without))
        })
        .collect();
    let open = Coturn::start(bare, &coturn::ON_LOOPBACK);
    let server = TestServer::start_with(&["--turn", &open.url(), "--turn-secret", coturn::SECRET]);
    let line = server.wait_for_log("TURN turn:127.0.0.1");
    assert!(line.contains(" WARN ") && line.contains("is not docs/CALLS.md's safe set-up"), "{line}");
    for granted in ["10.1.2.3 (private)", "169.254.169.254 (link-local: the cloud's metadata)", "224.0.0.251"]
    {
        assert!(line.contains(granted), "{granted}: {line}");
    }
    assert!(line.contains("it allows TCP relays") && line.contains("add --user-quota"), "{line}");
}

/// Calls that ring out together are stored together: 36 missed calls of
/// one sweep of the timer cost a few group commits of the store (fsyncs),
/// not one each, so the last is stored as soon as the first.
#[test]
fn calls_that_ring_out_together_are_stored_in_one_batch() {
    let server = TestServer::start_with(&["--ring-seconds", "1", "--metrics", "0", "--exempt", "127.0.0.1"]);
    let line = server.wait_for_log("listening: metrics http://");
    let metrics: std::net::SocketAddr =
        line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics").parse().unwrap();
    let callers: Vec<String> = (0..12).map(|n| format!("caller{n}")).collect();
    let callees: Vec<String> = (0..12).map(|n| format!("callee{n}")).collect();
    let names: Vec<&str> = callers.iter().chain(&callees).map(String::as_str).collect();
    server.register(&names);
    let _online: Vec<Conn> = callees.iter().map(|c| server.events_1_2(c, Some("phone"))).collect();
    let mut sends: Vec<Conn> = callers.iter().map(|c| server.login_send(c, &format!("pw-{c}"))).collect();
    let commits = |name: &str| {
        let scrape = scrape(metrics);
        scrape.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok()).unwrap()
    };
    let (batches, records) = (commits("wachat_batch_records_count"), commits("wachat_batch_records_sum"));
    for (i, send) in sends.iter_mut().enumerate() {
        for k in 0..3 {
            let callee = &callees[(i + k) % 12];
            assert_eq!(send.request(&format!("CALL:{callee}:r{i}x{k}:OFFER:voice:{SDP}")), "OK");
        }
    }
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    while commits("wachat_batch_records_sum") < records + 36.0 {
        assert!(std::time::Instant::now() < deadline, "the 36 lines were not stored");
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling the metrics
    }
    let used = commits("wachat_batch_records_count") - batches;
    println!("36 calls rung out: their lines stored in {used} group commits");
    assert!(used <= 12.0, "{used} group commits for 36 lines: stored one by one");
}

/// A scrape of the metrics endpoint at `addr` (the whole HTTP answer).
fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, support::READ_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

#[test]
fn the_console_says_each_call_line_from_its_side_and_missed_calls_folded_are_one_line() {
    let server = server(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &["--device", "lab"]);
    // The caller's own console, another device of hers.
    let mut ana = Console::connected(&server, "ana", dir.path(), &["--device", "desk"]);
    let (mut caller, mut events) = server.device("ana", "laptop");
    for id in ["c30", "c31"] {
        assert_eq!(caller.request(&format!("CALL:bob:{id}:OFFER:voice:{SDP}")), "OK");
        assert_eq!(events.next_call(), format!("CALL:ana:{id}:END:missed"));
    }
    // Live: the line, then the same line with its new count, pointing at it, with no number of its own.
    bob.expect("[1] ana: 📞 Missed voice call");
    let fold = bob.expect("ana: 📞 2 missed voice calls → [1]");
    assert!(!fold.contains("[2]") && !fold.contains('✎'), "{fold}");
    ana.expect("[1] you → bob: 📞 Outgoing voice call, no answer");
    let fold = ana.expect("you → bob: 📞 2 outgoing voice calls, no answer");
    assert!(!fold.contains("[2]") && fold.ends_with("→ [1]"), "{fold}");
    // Listed: one line each, said from each side.
    bob.type_line("/chat ana");
    bob.expect("── ana");
    bob.expect("[1] ana: 📞 2 missed voice calls");
    ana.type_line("/chat bob");
    ana.expect("── bob");
    ana.expect("[1] you → bob: 📞 2 outgoing voice calls, no answer");
    for console in [bob, ana] {
        let (_, lines) = console.quit("/quit");
        assert!(!lines.iter().any(|l| l.contains("[2]") || l.contains("✎")), "{lines:#?}");
    }
}
