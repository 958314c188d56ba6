//! Protocol 1.2's calls in a room (docs/PROTOCOL.md §32), byte for byte
//! on the two ports: a start rings every other member's devices (the
//! starter's others are told quietly); a member joins from one device,
//! and is told who is in it; an offer, an answer or a candidate goes
//! from one member in the call to the other's device in it, never to
//! anyone else; a decline stops the ring on every device, the ring time
//! ends it; the last one out ends the call. The call's line: stored as
//! it starts, edited as it ends (who started it, how long, who joined,
//! who missed it), a message every client version reads. A member who
//! leaves the room, is kicked, or whose device goes is out of the call.
//! The bounds: one call a room, starts a minute, members in a call,
//! candidates a pair, one call at a time with the 1:1 calls; `TURN` only
//! in a call. And the console, which joins no call but says where to.

use super::support;

use support::console::Console;
use support::{Conn, TestServer};

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n";

/// A server that rings for `ring` seconds (with more `args`), ana, bob,
/// carl and dan registered and members of `#lab`, ana first (its owner).
fn server(ring: &str, args: &[&str]) -> TestServer {
    let server = TestServer::start_with(&[&["--ring-seconds", ring], args].concat());
    server.register(&["ana", "bob", "carl", "dan"]);
    for user in ["ana", "bob", "carl", "dan"] {
        let mut c = server.login_send(user, &format!("pw-{user}"));
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    server
}

/// The next `GROUPCALL` event, past messages and the rest.
fn next_group(events: &mut Conn) -> String {
    loop {
        let line = events.next_event();
        if line.starts_with("GROUPCALL:") {
            return line;
        }
    }
}

/// The call id of an `OK:<id>` or of an event `GROUPCALL:#lab:<what>:<id>:…`.
fn id_of(line: &str) -> String {
    match line.strip_prefix("OK:") {
        Some(id) => id.to_string(),
        None => line.split(':').nth(3).expect("a call id").to_string(),
    }
}

/// `user`'s next event is `TYPING` from `from` in `#lab`: no `GROUPCALL` came before it.
fn no_group_event_before_typing(events: &mut Conn, from: &mut Conn) {
    assert_eq!(from.request("TYPING:#lab"), "OK");
    loop {
        let line = events.next_event();
        assert!(!line.starts_with("GROUPCALL:"), "expected no GROUPCALL, got {line}");
        if line.starts_with("TYPING:") {
            return;
        }
    }
}

#[test]
fn a_start_rings_the_others_a_join_hears_who_is_in_and_signals_go_between_two_in_the_call_only() {
    let server = server("30", &["--turn", "turn:127.0.0.1:3478", "--turn-secret", "north"]);
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (mut bob, mut bob_phone) = server.device("bob", "phone");
    let (mut bob_laptop, mut bob_laptop_events) = server.device("bob", "laptop");
    let (mut carl, mut carl_events) = server.device("carl", "laptop");
    let (_dan, mut dan_events) = server.device("dan", "phone");
    assert_eq!(ana.request("TURN"), "KO:FORBIDDEN:TURN is for a call: you have none ringing or going on");

    let id = id_of(&ana.request("GROUPCALL:#lab:START:video"));
    assert!(id.starts_with("call-"), "the call's id is its line's: {id}");
    for events in [&mut bob_phone, &mut bob_laptop_events, &mut carl_events, &mut dan_events] {
        // The line first (every client's), then the ring (a 1.2 device's).
        let line = events.next_msg();
        assert!(
            line.contains(&format!(":ana:#lab:{id}:"))
                && line.ends_with(":📞 Group video call started by ana"),
            "{line}"
        );
        assert_eq!(next_group(events), format!("GROUPCALL:#lab:RING:{id}:ana:video"));
    }
    // ana's own receive connection is told, not rung.
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:START:{id}:ana:video"));
    let listed = bob.listing("GROUPCALLS");
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].starts_with(&format!("#lab:{id}:ana:video:")) && listed[0].ends_with(":ana"),
        "{listed:?}"
    );

    // bob joins on his phone: told who is in it; everyone hears it, his laptop stops ringing.
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana");
    for events in [&mut ana_events, &mut bob_phone, &mut bob_laptop_events, &mut carl_events, &mut dan_events]
    {
        assert_eq!(next_group(events), format!("GROUPCALL:#lab:JOINED:{id}:bob"));
    }
    assert!(bob.request("TURN").starts_with("OK"), "a member in a call gets TURN");
    assert_eq!(
        bob_laptop.request(&format!("GROUPCALL:#lab:JOIN:{id}")),
        "KO:FULL:you are in this call already, on phone"
    );

    // bob offers to ana: her laptop alone hears it; her answer reaches his phone alone.
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana:{SDP}")), "OK");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:OFFER:{id}:bob:{SDP}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:ANSWER:{id}:bob:{SDP}")), "OK");
    assert_eq!(next_group(&mut bob_phone), format!("GROUPCALL:#lab:ANSWER:{id}:ana:{SDP}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:ICE:{id}:Bob:{{\"candidate\":\"x\"}}")), "OK");
    assert_eq!(next_group(&mut bob_phone), format!("GROUPCALL:#lab:ICE:{id}:ana:{{\"candidate\":\"x\"}}"));

    // Nothing reaches, nor comes from, anyone outside the call.
    let not_in = |who: &str| format!("KO:BAD_REQUEST:{who} not in #lab's call {id}");
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana:{SDP}")), not_in("you are"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:ICE:{id}:carl:x")), not_in("carl is"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:ICE:{id}:zed:x")), not_in("zed is"));
    assert_eq!(
        bob_laptop.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana:{SDP}")),
        "KO:BAD_REQUEST:you are in #lab's call on phone"
    );
    no_group_event_before_typing(&mut bob_laptop_events, &mut carl);
    no_group_event_before_typing(&mut carl_events, &mut dan_events_sender(&server));

    // carl declines: each of his devices stops; then he joins all the same, while it lasts.
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:DECLINE:{id}")), "OK");
    assert_eq!(next_group(&mut carl_events), format!("GROUPCALL:#lab:STOP:{id}:declined"));
    assert!(
        carl.request(&format!("GROUPCALL:#lab:DECLINE:{id}")).starts_with("KO:BAD_REQUEST:"),
        "no ring to stop"
    );
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana,bob");
    assert_eq!(next_group(&mut bob_phone), format!("GROUPCALL:#lab:JOINED:{id}:carl"));

    // Everyone leaves, ana (who started it) first: the last one out ends it, its line edited.
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(next_group(&mut bob_phone), format!("GROUPCALL:#lab:LEFT:{id}:ana"));
    assert_eq!(
        ana.request(&format!("GROUPCALL:#lab:LEAVE:{id}")),
        format!("KO:BAD_REQUEST:you are not in #lab's call {id}")
    );
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(carl.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    let mut seen = Vec::new();
    loop {
        let line = dan_events.next_event();
        seen.push(line.clone());
        if line == format!("GROUPCALL:#lab:END:{id}") {
            break;
        }
    }
    let edit = seen.iter().find(|l| l.starts_with("MSG:")).expect("the line's edit before the end");
    assert!(
        edit.contains(&format!("_{id}:")) && edit.ends_with(" · joined: bob, carl · missed: dan"),
        "{edit}"
    );
    assert!(edit.contains("✎ 📞 Group video call by ana, 0:"), "{edit}");
    let history = carl.listing("HISTORY:#lab:5");
    assert!(
        history[0].contains(&format!(":{id}:"))
            && history[0].contains("RECEIVED:📞 Group video call by ana, 0:"),
        "{history:?}"
    );
    assert!(bob.listing("GROUPCALLS").is_empty());
    assert_eq!(carl.request("TURN"), "KO:FORBIDDEN:TURN is for a call: you have none ringing or going on");
    assert_eq!(
        carl.request(&format!("GROUPCALL:#lab:JOIN:{id}")),
        format!("KO:BAD_REQUEST:no call {id} in #lab (it ended, or never started)")
    );
}

/// A send connection of dan's, to type with.
fn dan_events_sender(server: &TestServer) -> Conn {
    server.login_send("dan@desk", "pw-dan")
}

#[test]
fn a_ring_runs_out_a_1_0_client_reads_the_line_as_text_and_a_member_who_never_joined_missed_it() {
    let server = server("1", &[]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (_bob, mut bob_events) = server.device("bob", "phone");
    // carl's receive connection is a 1.0 client's: no VERSION, no GROUPCALL.
    let mut carl_old = server.login_recv("carl", "pw-carl");
    let id = id_of(&ana.request("GROUPCALL:#lab:START:voice"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:RING:{id}:ana:voice"));
    // One second later: bob's ring stops, the call goes on.
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:STOP:{id}:missed"));
    assert_eq!(ana.listing("GROUPCALLS").len(), 1, "the call goes on");
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:END:{id}"));
    // What the 1.0 client was told: the line and its edit, as text, and no GROUPCALL.
    let mut msgs = Vec::new();
    while msgs.len() < 2 {
        let line = carl_old.line();
        assert!(!line.starts_with("GROUPCALL"), "a 1.0 client is told no GROUPCALL: {line}");
        if line == "PING" {
            carl_old.send("PONG");
        } else if line.starts_with("MSG:") {
            msgs.push(line);
        }
    }
    assert!(
        msgs[0].contains(&format!(":ana:#lab:{id}:"))
            && msgs[0].ends_with(":📞 Group voice call started by ana"),
        "{msgs:?}"
    );
    assert!(msgs[1].contains(":✎ 📞 Group voice call by ana, 0:"), "{msgs:?}");
    assert!(msgs[1].ends_with(" · joined: nobody · missed: bob, carl, dan"), "{msgs:?}");
}

#[test]
fn a_member_out_of_the_room_or_whose_device_goes_is_out_of_the_call_and_the_last_one_ends_it() {
    let server = server("30", &[]);
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let (mut bob, _bob_events) = server.device("bob", "phone");
    let (mut carl, _carl_events) = server.device("carl", "laptop");
    let (mut dan, dan_events) = server.device("dan", "phone");
    let id = id_of(&ana.request("GROUPCALL:#lab:START:voice"));
    for (who, conn) in [("bob", &mut bob), ("carl", &mut carl), ("dan", &mut dan)] {
        assert!(conn.request(&format!("GROUPCALL:#lab:JOIN:{id}")).starts_with("OK:ana"), "{who}");
    }
    let mut left = |who: &str| loop {
        let line = next_group(&mut ana_events);
        if line.starts_with(&format!("GROUPCALL:#lab:LEFT:{id}:")) {
            assert_eq!(line, format!("GROUPCALL:#lab:LEFT:{id}:{who}"));
            return;
        }
    };
    // bob leaves the room: out of its call within the sweep's quarter of a second.
    assert_eq!(bob.request("LEAVE:#lab"), "OK");
    left("bob");
    assert_eq!(
        bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana:{SDP}")),
        "KO:NOT_MEMBER:you are not in #lab"
    );
    // carl is kicked by ana, who owns the room.
    assert_eq!(ana.request("KICK:#lab:carl"), "OK");
    left("carl");
    // dan's phone goes (its receive connection closes).
    drop(dan_events);
    left("dan");
    assert_eq!(
        ana.request(&format!("GROUPCALL:#lab:ICE:{id}:dan:x")),
        format!("KO:BAD_REQUEST:dan is not in #lab's call {id}")
    );
    // ana's own device goes: the last one out, the call ends. It leaves
    // the table as it ends, and its line is edited just after: the test
    // polls for both.
    drop(ana_events);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ended = |l: &String| l.ends_with(" · joined: bob, carl, dan · missed: nobody");
    loop {
        let history = dan.listing("HISTORY:#lab:4");
        if ana.listing("GROUPCALLS").is_empty() && history.iter().any(ended) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the call did not end with its last member: {history:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn one_call_a_room_starts_a_minute_members_in_a_call_and_candidates_are_bounded() {
    let server = TestServer::start_with(&["--ring-seconds", "30"]);
    let users: Vec<String> = (0..10).map(|n| format!("user{n}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    server.register(&names);
    let mut conns: Vec<(Conn, Conn)> = names.iter().map(|u| server.device(u, "d")).collect();
    for (conn, _) in &mut conns {
        assert_eq!(conn.request("JOIN:#big"), "OK");
    }
    let id = id_of(&conns[0].0.request("GROUPCALL:#big:START:voice"));
    assert_eq!(
        conns[1].0.request("GROUPCALL:#big:START:video"),
        format!("KO:FULL:#big has a call going on: join it, GROUPCALL:#big:JOIN:{id}")
    );
    for (n, (conn, _)) in conns.iter_mut().enumerate().take(8).skip(1) {
        assert!(conn.request(&format!("GROUPCALL:#big:JOIN:{id}")).starts_with("OK:user0"), "user{n}");
    }
    assert_eq!(
        conns[8].0.request(&format!("GROUPCALL:#big:JOIN:{id}")),
        "KO:FULL:the call has 8 people in it, the most"
    );
    // 64 candidates from user1 to user2, no more; user2 to user1 counts its own.
    for n in 0..64 {
        assert_eq!(conns[1].0.request(&format!("GROUPCALL:#big:ICE:{id}:user2:c{n}")), "OK");
    }
    assert_eq!(
        conns[1].0.request(&format!("GROUPCALL:#big:ICE:{id}:user2:c64")),
        "KO:FULL:a member sends at most 64 candidates to each other one"
    );
    assert_eq!(conns[2].0.request(&format!("GROUPCALL:#big:ICE:{id}:user1:c0")), "OK");
    // One call at a time: user1, in the room's call, cannot offer a 1:1 call,
    // and user9's offer to user1 finds him busy.
    assert_eq!(
        conns[1].0.request(&format!("CALL:user9:c1:OFFER:voice:{SDP}")),
        "KO:FULL:you are in a room's call: leave it first"
    );
    assert_eq!(conns[9].0.request(&format!("CALL:user1:c2:OFFER:voice:{SDP}")), "OK");
    assert_eq!(conns[9].1.next_call(), "CALL:user1:c2:END:busy");
    // Every member leaves; the room may start two more calls this minute, then none.
    for (conn, _) in conns.iter_mut().take(8) {
        assert_eq!(conn.request(&format!("GROUPCALL:#big:LEAVE:{id}")), "OK");
    }
    for _ in 0..2 {
        let id = id_of(&conns[9].0.request("GROUPCALL:#big:START:voice"));
        assert_eq!(conns[9].0.request(&format!("GROUPCALL:#big:LEAVE:{id}")), "OK");
    }
    let refused = conns[8].0.request("GROUPCALL:#big:START:voice");
    assert!(
        refused.starts_with("KO:RATE_LIMITED:#big had 3 calls in a minute, the most: try again in "),
        "{refused}"
    );
    // A member in a 1:1 call starts none.
    assert_eq!(conns[8].0.request(&format!("CALL:user7:c3:OFFER:voice:{SDP}")), "OK");
    let ringing = conns[7].1.next_call();
    assert!(ringing.starts_with("CALL:user8:c3:OFFER:voice:"), "{ringing}");
    assert_eq!(conns[7].0.request(&format!("CALL:user8:c3:ANSWER:{SDP}")), "OK");
    assert_eq!(conns[7].0.request("GROUPCALL:#big:START:voice"), "KO:FULL:you are in a call: hang up first");
    // Refusals a room's outsiders and a bad grammar get.
    assert_eq!(conns[0].0.request("GROUPCALL:#nope:START:voice"), "KO:NOT_MEMBER:you are not in #nope");
    assert!(
        conns[0]
            .0
            .request("GROUPCALL:#big:HANGUP:x")
            .starts_with("KO:BAD_REQUEST:expected GROUPCALL:<#room>:START")
    );
    assert!(
        conns[0]
            .0
            .request("GROUPCALL:big:START:voice")
            .starts_with("KO:BAD_REQUEST:a room name starts with '#'")
    );
}

#[test]
fn the_console_says_where_to_join_and_says_the_line_from_its_side() {
    let server = server("30", &[]);
    let (mut ana, _ana_events) = server.device("ana", "laptop");
    let (mut bob, _bob_events) = server.device("bob", "phone");
    let dir = tempfile::tempdir().unwrap();
    let mut dan = Console::connected(&server, "dan", dir.path(), &["--device", "lab"]);
    let id = id_of(&ana.request("GROUPCALL:#lab:START:video"));
    dan.expect_each(&[
        "📞 #lab: call started by ana (video) — join from the browser",
        "📞 Group video call started by ana",
    ]);
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana");
    assert_eq!(ana.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    dan.expect("📞 Missed group video call from ana");
}

/// A room of more than 64 members rings nobody: its call starts, its
/// line is stored, its members are told `START`, and may join.
#[test]
fn a_room_of_more_than_64_members_starts_its_call_without_ringing() {
    // 65 accounts from one address: more than one address may make, unless exempt.
    let server = TestServer::start_with(&["--ring-seconds", "30", "--exempt", "127.0.0.1"]);
    let users: Vec<String> = (0..65).map(|n| format!("member{n}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    server.register(&names);
    for user in &names {
        let mut c = server.login_send(user, &format!("pw-{user}"));
        assert_eq!(c.request("JOIN:#hall"), "OK");
    }
    let (mut first, _) = server.device("member0", "d");
    let (mut last, mut last_events) = server.device("member64", "d");
    let id = id_of(&first.request("GROUPCALL:#hall:START:voice"));
    assert_eq!(next_group(&mut last_events), format!("GROUPCALL:#hall:START:{id}:member0:voice"));
    assert_eq!(last.request(&format!("GROUPCALL:#hall:JOIN:{id}")), "OK:member0");
}
