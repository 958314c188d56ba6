//! A room's call across the class network (1.3, docs/PROTOCOL.md §27,
//! "A room's call across servers", and §32), byte for byte on the ports
//! of three linked `wachat serve` and a tiny server: a room homed on
//! lab2, with members on lab1 and lab3, calls all three. A start rings
//! every other member's device on every server (with the room's name as
//! each server says it), members join and are told who is in it, an
//! offer, an answer and a candidate cross only between two members in
//! the call, members leave, the last one out ends it, and the call's
//! line, as it starts and as it ends, is in the room's chat on every
//! server and every device, each naming the members as its server names
//! them. `GROUPCALLS` on a member's server lists a call of a room homed
//! elsewhere while it goes on, as its home answers, also after a link
//! dropped. A peer that does not carry group calls (the tiny server) is
//! named in words. And what a
//! hostile peer sends (the test as lab9) is refused: a member that is
//! not its own, a call of a room that is not its own, a signal for
//! someone outside the call.

use super::support;

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use support::Conn;
use support::federation::{Lab, Lab9, ask, give_key, lab9_beside_lab1, start, write_roster};
use support::ports::free_port;
use support::proxy::LinkProxy;
use support::tiny::Tiny;

const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\n";
const ICE: &str = r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}"#;

/// The next `GROUPCALL` event, past messages (acknowledged) and the rest.
fn next_group(events: &mut Conn) -> String {
    loop {
        let line = events.next_event();
        if line.starts_with("GROUPCALL:") {
            return line;
        }
        if line.starts_with("MSG:") {
            events.send(&format!("ACK:{}", line.split(':').nth(1).unwrap()));
        }
    }
}

/// Polls `MEMBERS:<room>` on `conn` until it lists `n` members.
fn members_until(conn: &mut Conn, room: &str, n: usize) {
    let deadline = Instant::now() + support::READ_TIMEOUT;
    while conn.listing(&format!("MEMBERS:{room}")).len() != n {
        assert!(Instant::now() < deadline, "{room} never had {n} members");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
}

/// Polls the last line of `room` on `conn` until its text holds `want`
/// (the call's line and its edit cross the link as messages; a server
/// other than the starter's and the home marks them `[relayed by
/// lab2]`, as every message the home relays for a third server's user).
fn last_line_with(conn: &mut Conn, room: &str, want: &str) -> String {
    let deadline = Instant::now() + support::READ_TIMEOUT;
    loop {
        let history = conn.listing(&format!("HISTORY:{room}:1"));
        let text = history.last().and_then(|l| l.splitn(6, ':').nth(5)).unwrap_or_default().to_string();
        if text.contains(want) {
            return text;
        }
        assert!(Instant::now() < deadline, "the last line of {room} is {history:?}, not {want:?}…");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
}

/// Reads `events` until a message whose text holds `want` (acknowledging
/// each message, past the rest), and returns its text.
fn message_with(events: &mut Conn, want: &str) -> String {
    loop {
        let line = events.next_event();
        if let Some(rest) = line.strip_prefix("MSG:") {
            let seq = rest.split(':').next().unwrap().to_string();
            events.send(&format!("ACK:{seq}"));
            let text = line.splitn(7, ':').nth(6).unwrap_or_default().to_string();
            if text.contains(want) {
                return text;
            }
        }
    }
}

/// `GROUPCALLS` on `conn`, each line without its start time (which the
/// home chose): `<#room>:<call id>:<starter>:<media>:<in it>`.
fn calls(conn: &mut Conn) -> Vec<String> {
    let lines = conn.listing("GROUPCALLS");
    let timeless = |line: &String| {
        let f: Vec<&str> = line.split(':').collect();
        format!("{}:{}:{}:{}:{}", f[0], f[1], f[2], f[3], f[5])
    };
    lines.iter().map(timeless).collect()
}

/// lab1, lab2 and lab3 linked, and lab4, the tiny server, in their roster.
fn three_labs_and_a_tiny_one(root: &Path) -> (Vec<Lab>, Tiny) {
    let roster = root.join("class.csv");
    let ports = [("lab1", free_port()), ("lab2", free_port()), ("lab3", free_port()), ("lab4", free_port())];
    write_roster(&roster, &ports, "");
    let dir = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let flags = ["--timeout", "10", "--ring-seconds", "30"];
    let labs =
        ports[..3].iter().map(|&(name, port)| start(name, &dir(name), &roster, port, &flags)).collect();
    give_key(&roster, "lab4", &dir("lab4"));
    let (path, link) = (roster.display().to_string(), ports[3].1.to_string());
    let args = ["--name", "lab4", "--peers", &path, "--link-port", &link, "--timeout", "4"];
    (labs, Tiny::start_with(&dir("lab4"), ["0", "0"], &args))
}

#[test]
fn a_room_of_lab2_calls_lab1_and_lab3_signals_cross_between_two_in_it_and_its_line_reaches_every_copy() {
    let root = tempfile::tempdir().unwrap();
    let (labs, _lab4) = three_labs_and_a_tiny_one(root.path());
    let (lab1, lab2, lab3) = (&labs[0].server, &labs[1].server, &labs[2].server);
    lab1.register(&["ana", "dan"]);
    lab2.register(&["bob"]);
    lab3.register(&["cyd"]);
    let (mut bob, mut bob_events) = lab2.device("bob", "phone");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let (mut ana, mut ana_events) = lab1.device("ana", "laptop");
    let (mut dan, mut dan_events) = lab1.device("dan", "phone");
    let (mut cyd, mut cyd_events) = lab3.device("cyd", "laptop");
    for member in [&mut ana, &mut dan, &mut cyd] {
        assert_eq!(member.request("JOIN:#lab@lab2"), "OK");
    }
    members_until(&mut bob, "#lab", 4);
    // Their other devices, read only for the call's line at the end.
    let mut others = [
        (lab1.events_1_2("ana", Some("phone")), "ana's phone"),
        (lab1.events_1_2("dan", Some("laptop")), "dan's laptop"),
        (lab3.events_1_2("cyd", Some("phone")), "cyd's phone"),
        (lab2.events_1_2("bob", Some("laptop")), "bob's laptop"),
    ];

    // ana of lab1 starts it: the home (lab2) keeps it and rings bob,
    // cyd of lab3 and dan of lab1, each named as his server names them.
    let started = ana.request("GROUPCALL:#lab@lab2:START:video");
    let id = started.strip_prefix("OK:").unwrap_or_else(|| panic!("{started}")).to_string();
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:RING:{id}:ana@lab1:video"));
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:RING:{id}:ana@lab1:video"));
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab@lab2:RING:{id}:ana:video"));
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab@lab2:START:{id}:ana:video"));
    // The line as it starts, in the room's chat on each server, each
    // naming the starter as its server names her.
    last_line_with(&mut bob, "#lab", "📞 Group video call started by ana@lab1");
    last_line_with(&mut dan, "#lab@lab2", "📞 Group video call started by ana");
    last_line_with(&mut cyd, "#lab@lab2", "📞 Group video call started by ana@lab1");

    // bob (of the home) and cyd (of lab3) join; each is told who is in it.
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:JOIN:{id}")), "OK:ana@lab1");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:bob@lab2"));
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:bob@lab2"));
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:bob@lab2"));
    assert_eq!(cyd.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:ana@lab1,bob@lab2");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:cyd"), "her own");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:cyd@lab3"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:bob"), "his own");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:cyd@lab3"));
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab@lab2:JOINED:{id}:cyd@lab3"));
    assert_eq!(
        cyd.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")),
        "KO:FULL:you are in a call: leave it first",
        "in it already (lab3 knows)"
    );
    // GROUPCALLS on every server lists the call as its server names it,
    // asked of the home now (a browser that logs in now shows Join).
    assert_eq!(calls(&mut bob), [format!("#lab:{id}:ana@lab1:video:ana@lab1,bob,cyd@lab3")]);
    assert_eq!(calls(&mut dan), [format!("#lab@lab2:{id}:ana:video:ana,bob@lab2,cyd@lab3")]);
    assert_eq!(calls(&mut cyd), [format!("#lab@lab2:{id}:ana@lab1:video:ana@lab1,bob@lab2,cyd")]);

    // cyd (lab3) offers to ana (lab1) through lab2, and to bob (lab2);
    // the answers and candidates come back; nothing reaches dan.
    assert_eq!(cyd.request(&format!("GROUPCALL:#lab@lab2:OFFER:{id}:ana@lab1:{SDP}")), "OK");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab@lab2:OFFER:{id}:cyd@lab3:{SDP}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:ANSWER:{id}:cyd@lab3:{SDP}")), "OK");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:ANSWER:{id}:ana@lab1:{SDP}"));
    assert_eq!(cyd.request(&format!("GROUPCALL:#lab@lab2:OFFER:{id}:bob@lab2:{SDP}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:OFFER:{id}:cyd@lab3:{SDP}"));
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:ICE:{id}:cyd@lab3:{ICE}")), "OK");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:ICE:{id}:bob@lab2:{ICE}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:ICE:{id}:bob@lab2:{ICE}")), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:ICE:{id}:ana@lab1:{ICE}"));
    assert_eq!(
        cyd.request(&format!("GROUPCALL:#lab@lab2:OFFER:{id}:dan@lab1:{SDP}")),
        format!("KO:BAD_REQUEST:dan@lab1 is not in #lab's call {id}"),
        "dan, rung, is not in it: the home refuses"
    );
    assert_eq!(
        dan.request(&format!("GROUPCALL:#lab@lab2:OFFER:{id}:ana:{SDP}")),
        format!("KO:BAD_REQUEST:you are not in #lab@lab2's call {id}"),
        "dan's own server refuses"
    );

    // ana leaves, then bob; cyd, the last, ends it: the line is edited on
    // every server, dan missed it.
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:LEAVE:{id}")), "OK");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:LEFT:{id}:ana@lab1"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana@lab1"));
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab@lab2:LEFT:{id}:ana"));
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab@lab2:LEFT:{id}:ana"));
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:LEAVE:{id}")), "OK");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:LEFT:{id}:bob@lab2"));
    assert_eq!(cyd.request(&format!("GROUPCALL:#lab@lab2:LEAVE:{id}")), "OK");
    for (events, room) in
        [(&mut ana_events, "#lab@lab2"), (&mut bob_events, "#lab"), (&mut dan_events, "#lab@lab2")]
    {
        loop {
            let event = next_group(events);
            if event == format!("GROUPCALL:{room}:END:{id}") {
                break;
            }
            assert!(event.contains(":LEFT:") || event.contains(":STOP:"), "{event}");
        }
    }
    // The line as it ended, in the room's chat on every server, each
    // naming its members as its server names them: dan, of lab1, missed it.
    let line = last_line_with(&mut bob, "#lab", "📞 Group video call by ana@lab1, 0:");
    assert!(line.ends_with(" · joined: bob, cyd@lab3 · missed: dan@lab1"), "{line}");
    let line = last_line_with(&mut dan, "#lab@lab2", "📞 Group video call by ana, 0:");
    assert!(line.ends_with(" · joined: bob@lab2, cyd@lab3 · missed: dan"), "{line}");
    let line = last_line_with(&mut cyd, "#lab@lab2", "📞 Group video call by ana@lab1, 0:");
    assert!(line.ends_with(" · joined: bob@lab2, cyd · missed: dan@lab1"), "{line}");
    assert!(!line.contains("relayed"), "the home's word about its call, no words of ana's: {line}");
    // On every device, as it started and as it ended.
    for (events, whose) in &mut others {
        let started = message_with(events, "📞 Group video call started by ");
        let ended = message_with(events, "📞 Group video call by ");
        assert!(
            ended.starts_with("✎ ") && ended.contains(" · missed: dan"),
            "{whose}: {started} then {ended}"
        );
    }
    // No call goes on, on any server.
    for conn in [&mut ana, &mut bob, &mut cyd, &mut dan] {
        assert_eq!(calls(conn), Vec::<String>::new());
    }
    assert_eq!(
        cyd.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")),
        format!("KO:BAD_REQUEST:no call {id} in #lab (it ended, or never started)")
    );

    // lab4, the tiny server, carries no group calls: said in words, at
    // once the second time.
    let refused = ana.request("GROUPCALL:#lab@lab4:START:voice");
    assert_eq!(refused, "KO:BAD_REQUEST:lab4 does not carry group calls");
    assert_eq!(ana.request("GROUPCALL:#lab@lab4:START:voice"), refused);
    assert!(ana.request("MSG:carl@lab4:m1:hi").starts_with("OK:m1:"), "the link goes on");
}

#[test]
fn a_member_s_device_that_goes_leaves_the_call_of_a_room_homed_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let (labs, _lab4) = three_labs_and_a_tiny_one(root.path());
    let (lab1, lab2) = (&labs[0].server, &labs[1].server);
    lab1.register(&["ana"]);
    lab2.register(&["bob"]);
    let (mut bob, mut bob_events) = lab2.device("bob", "phone");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let (mut ana, ana_events) = lab1.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    members_until(&mut bob, "#lab", 2);
    let started = bob.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:START:{id}:bob:voice"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:ana@lab1"));
    // ana's laptop goes: lab1 takes her out of lab2's call.
    drop(ana_events);
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana@lab1"));
    // She joins again from her phone, then leaves the room: out of the call.
    let (mut ana, mut ana_events) = lab1.device("ana", "phone");
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:ana@lab1"));
    assert_eq!(ana.request("LEAVE:#lab@lab2"), "OK");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana@lab1"));
    // Her phone, new while the call rings, may hear its ring (told as
    // it connects) and her own join from lab2 before her LEAVE, or
    // neither if the LEAVE overtook them: then LEFT.
    let ring = format!("GROUPCALL:#lab@lab2:RING:{id}:bob@lab2:voice");
    let joined = format!("GROUPCALL:#lab@lab2:JOINED:{id}:ana");
    let mut event = next_group(&mut ana_events);
    for before in [&ring, &joined] {
        if event == *before {
            event = next_group(&mut ana_events);
        }
    }
    assert_eq!(event, format!("GROUPCALL:#lab@lab2:LEFT:{id}:ana"));
    assert_eq!(
        bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana@lab1:{SDP}")),
        format!("KO:BAD_REQUEST:ana@lab1 is not in #lab's call {id}")
    );
}

#[test]
fn a_call_whose_home_went_away_is_listed_while_it_answers_and_leaves_nobody_in_it_when_it_is_back() {
    let root = tempfile::tempdir().unwrap();
    let (mut labs, _lab4) = three_labs_and_a_tiny_one(root.path());
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    let (mut bob, mut bob_events) = labs[1].server.device("bob", "phone");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let (mut ana, mut ana_events) = labs[0].server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    members_until(&mut bob, "#lab", 2);
    let started = bob.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:START:{id}:bob:voice"));
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:JOINED:{id}:ana@lab1"));
    assert_eq!(calls(&mut ana), [format!("#lab@lab2:{id}:bob@lab2:voice:bob@lab2,ana")]);

    // lab2 goes mid-call (killed: lab1's link to it drops). lab1 lists
    // no call of a home it cannot reach, at once, and keeps ana in hers
    // (its news may come back with the link).
    let (dir, port) = (labs[1].dir.clone(), labs[1].link.port());
    drop((bob, bob_events));
    drop(labs.remove(1));
    assert_eq!(calls(&mut ana), Vec::<String>::new());
    assert_eq!(ana.request("GROUPCALL:#lab@lab2:START:voice"), "KO:FULL:you are in a call: leave it first");

    // lab2 comes back without the call (a start ends every call). bob
    // starts another: once lab2 answers lab1's GROUPCALLS, ana is out of
    // the first (her device told it ended), and joins the second.
    let flags = ["--timeout", "10", "--ring-seconds", "30"];
    let lab2 = start("lab2", &dir, &root.path().join("class.csv"), port, &flags);
    let (mut bob, _bob_events) = lab2.server.device("bob", "phone");
    let started = bob.request("GROUPCALL:#lab:START:video");
    let second = started.strip_prefix("OK:").unwrap_or_else(|| panic!("{started}")).to_string();
    let deadline = Instant::now() + support::READ_TIMEOUT;
    while calls(&mut ana) != [format!("#lab@lab2:{second}:bob@lab2:video:bob@lab2")] {
        assert!(Instant::now() < deadline, "lab1 never listed lab2's second call");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
    // Her device: the first call's ring (or start, had her join come
    // first) and her join, then its end and the second's start, rung, or
    // only told while lab1 still had her in the first (those two in
    // either order).
    let ended = format!("GROUPCALL:#lab@lab2:END:{id}");
    let rung = [format!("RING:{second}:bob@lab2:video"), format!("START:{second}:bob@lab2:video")];
    let mut told = Vec::new();
    while !(told.contains(&ended) && rung.iter().any(|r| told.contains(&format!("GROUPCALL:#lab@lab2:{r}"))))
    {
        let event = next_group(&mut ana_events);
        let first = [
            format!("RING:{id}:bob@lab2:voice"),
            format!("START:{id}:bob@lab2:voice"),
            format!("JOINED:{id}:ana"),
        ];
        assert!(
            event.contains(&second) || event == ended || first.iter().any(|f| event.ends_with(f)),
            "{event}"
        );
        told.push(event);
    }
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{second}")), "OK:bob@lab2");
    assert_eq!(calls(&mut ana), [format!("#lab@lab2:{second}:bob@lab2:video:bob@lab2,ana")]);
}

#[test]
fn a_peer_speaks_only_for_its_own_members_and_its_own_rooms_calls_and_never_outside_a_call() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &["lab2"], &["--ring-seconds", "30"]);
    lab1.server.register(&["ana", "dan"]);
    let (mut ana, mut ana_events) = lab1.server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let (mut dan, mut dan_events) = lab1.server.device("dan", "phone");
    assert_eq!(dan.request("JOIN:#lab"), "OK");
    assert_eq!(dan.request("JOIN:#evil@lab9"), "OK");
    let (link, mut r, ok) = lab9.hello(lab1.link, "00000000000000000000000000000009");
    assert_eq!(ok, "OK:0");
    assert_eq!(ask(&link, &mut r, "JOIN:1:zoe@lab9:#lab@lab1"), "ACK:1");
    members_until(&mut ana, "#lab", 3);
    let started = ana.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();

    // As a member's server: for its own users only, members of the room.
    let say = |r: &mut std::io::BufReader<_>, frame: String| ask(&link, r, &frame);
    assert_eq!(
        say(&mut r, format!("GROUPCALL:#lab@lab1:eve@lab2:JOIN:{id}")),
        "KO:FORBIDDEN:lab9 speaks only for its own users, not eve@lab2"
    );
    assert_eq!(
        say(&mut r, format!("GROUPCALL:#lab@lab1:zed@lab9:JOIN:{id}")),
        "KO:NOT_MEMBER:you are not in #lab@lab1"
    );
    assert_eq!(
        say(&mut r, format!("GROUPCALL:#lab@lab1:zoe@lab9:OFFER:{id}:ana@lab1:{SDP}")),
        format!("KO:BAD_REQUEST:you are not in #lab's call {id}"),
        "zoe is not in the call yet"
    );
    assert_eq!(say(&mut r, format!("GROUPCALL:#lab@lab1:zoe@lab9:JOIN:{id}")), "OK:1");
    let mut member = String::new();
    r.read_line(&mut member).unwrap();
    assert_eq!(member.trim_end(), "ana@lab1", "who is in it, as an address");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:START:{id}:ana:voice"));
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:JOINED:{id}:zoe@lab9"));
    assert_eq!(
        say(&mut r, format!("GROUPCALL:#lab@lab1:zoe@lab9:OFFER:{id}:dan@lab1:{SDP}")),
        format!("KO:BAD_REQUEST:dan is not in #lab's call {id}"),
        "dan, a member of the room, is not in the call"
    );
    assert_eq!(say(&mut r, format!("GROUPCALL:#lab@lab1:zoe@lab9:OFFER:{id}:ana@lab1:{SDP}")), "OK");
    assert_eq!(next_group(&mut ana_events), format!("GROUPCALL:#lab:OFFER:{id}:zoe@lab9:{SDP}"));
    // Its user's calls, listed by addresses; another's, refused.
    assert_eq!(say(&mut r, "GROUPCALLS:zoe@lab9".to_string()), "OK:1");
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let f: Vec<&str> = line.trim_end().split(':').collect();
    assert_eq!(
        (f[0], f[1], f[2], f[3], f[5]),
        ("#lab@lab1", id.as_str(), "ana@lab1", "voice", "ana@lab1,zoe@lab9")
    );
    assert_eq!(
        say(&mut r, "GROUPCALLS:ana@lab1".to_string()),
        "KO:FORBIDDEN:lab9 speaks only for its own users, not ana@lab1"
    );
    assert_eq!(say(&mut r, "GROUPCALLS:nobody@lab9".to_string()), "OK:0", "a user it does not know");

    // As a room's home: for its own rooms only, to their members, a
    // signal only to one in the call.
    assert_eq!(
        say(&mut r, "GROUPEVENT:#lab@lab2:dan@lab1:RING:c1:bob@lab2:video".to_string()),
        "KO:FORBIDDEN:lab9 speaks only for the calls of its own rooms"
    );
    assert_eq!(
        say(&mut r, "GROUPEVENT:#evil@lab9:ana@lab1:RING:c1:eve@lab9:video".to_string()),
        "KO:NOT_MEMBER:you are not in #evil@lab9"
    );
    assert_eq!(
        say(&mut r, format!("GROUPEVENT:#evil@lab9:dan@lab1:OFFER:c1:eve@lab9:{SDP}")),
        "KO:BAD_REQUEST:dan is not in #evil@lab9's call c1"
    );
    assert_eq!(say(&mut r, "GROUPEVENT:#evil@lab9:dan@lab1:RING:c1:eve@lab9:video".to_string()), "OK");
    // dan's phone: the room's own call first, then lab9's ring, and no offer.
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab:RING:{id}:ana:voice"));
    assert_eq!(next_group(&mut dan_events), format!("GROUPCALL:#lab:JOINED:{id}:zoe@lab9"));
    assert_eq!(next_group(&mut dan_events), "GROUPCALL:#evil@lab9:RING:c1:eve@lab9:video");

    // As a room's home, a call's line in the name of a user of lab1's
    // only if it names her as its starter: no words of hers, the home's
    // word about its call (its names said as lab1 says them).
    assert_eq!(
        say(
            &mut r,
            "MSG:2:dan@lab1:#evil@lab9:call-e1:1795500000100:📞 Group voice call started by eve@lab9".into()
        ),
        "KO:2:FORBIDDEN:lab9 speaks only for its own users and rooms: dan@lab1 sent no call-e1 to #evil@lab9"
    );
    assert_eq!(
        say(
            &mut r,
            "MSG:3:dan@lab1:#evil@lab9:call-e2:1795500000200:📞 Group voice call started by dan@lab1".into()
        ),
        "ACK:3"
    );
    let line = last_line_with(&mut dan, "#evil@lab9", "📞 Group voice call started by dan");
    assert_eq!(line, "📞 Group voice call started by dan");
}

/// A home that predates group calls (a wachat of an earlier round)
/// answers a `GROUPCALLS` `KO:BAD_REQUEST` and closes the link, as it
/// does for any word it does not know: its member's server does not ask
/// it again on the link it dials next, so each login of a member does
/// not cost that link (for ten minutes; a home upgraded meanwhile is
/// asked after them).
#[test]
fn a_home_that_predates_group_calls_is_not_asked_for_its_calls_again_on_the_next_link() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &[], &[]);
    lab1.server.register(&["dan"]);
    let (mut dan, _dan_events) = lab1.server.device("dan", "phone");
    assert_eq!(dan.request("JOIN:#old@lab9"), "OK");

    // lab9's side of each link lab1 dials: its hello answered, then each
    // frame answered as a wachat without group calls answers it, told
    // to the test (the link's number, the frame) until dan's message m1.
    let acceptor = lab9.key.acceptor().unwrap();
    let port = lab9.port.try_clone().unwrap();
    let (frames, seen) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for n in 0..3 {
            let Ok((tcp, _)) = port.accept() else { return };
            let stream = wachat::transport::Stream::accept(tcp, Some(&acceptor)).unwrap();
            let link = wachat::transport::SharedStream(std::sync::Arc::new(stream));
            link.0.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = std::io::BufReader::new(link.clone());
            let mut hello = String::new();
            reader.read_line(&mut hello).unwrap();
            assert!(hello.starts_with("HELLO:1.3:lab1:lab9:"), "{hello}");
            writeln!(link.clone(), "OK:0").unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end().to_string();
                let word = line.split(':').next().unwrap_or("").to_string();
                let number = line.split(':').nth(1).filter(|n| n.parse::<u64>().is_ok());
                let answer = match (word.as_str(), number) {
                    ("PING", _) => "PONG".to_string(),
                    (_, Some(n)) => format!("ACK:{n}"),
                    ("GROUPCALLS" | "GROUPCALL" | "GROUPEVENT", None) => {
                        format!("KO:BAD_REQUEST:unknown frame {word:?}")
                    }
                    _ => "OK".to_string(),
                };
                let _ = frames.send((n, line.clone()));
                writeln!(link.clone(), "{answer}").unwrap();
                if answer.starts_with("KO:") || line.contains(":m1:") {
                    break; // an unnumbered word it does not know closes the link
                }
            }
        }
    });
    let until = |want: &dyn Fn(&(i32, String)) -> bool| {
        let mut got = Vec::new();
        loop {
            let frame = seen.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{got:?}"));
            let done = want(&frame);
            got.push(frame);
            if done {
                return got;
            }
        }
    };

    // The first listing asks lab9, which refuses it and closes the link.
    assert_eq!(dan.request("GROUPCALLS"), "OK:0");
    let first = until(&|(_, f)| f.starts_with("GROUPCALLS"));
    assert_eq!(first.last().unwrap(), &(0, "GROUPCALLS:dan@lab1".to_string()));
    // Once lab1 is linked to lab9 again (dan's m0 crossed), the next
    // listing does not ask it: the next frame lab9 gets is dan's m1.
    assert!(dan.request("MSG:#old@lab9:m0:on the next link").starts_with("OK:m0:"));
    let relinked = until(&|(_, f)| f.contains(":m0:"));
    assert_eq!(relinked.last().unwrap().0, 1, "{relinked:?}");
    assert_eq!(dan.request("GROUPCALLS"), "OK:0");
    assert!(dan.request("MSG:#old@lab9:m1:the mark").starts_with("OK:m1:"));
    let after = until(&|(_, f)| f.contains(":m1:"));
    assert!(!after.iter().any(|(_, f)| f.starts_with("GROUPCALLS")), "asked again: {after:?}");
}

/// Reads `events` until the `GROUPCALL` event `want`; none before it is
/// another's leaving nor the call's end.
fn group_until(events: &mut Conn, want: &str) {
    loop {
        let event = next_group(events);
        if event == want {
            return;
        }
        assert!(!event.contains(":LEFT:") && !event.contains(":END:"), "{event} before {want}");
    }
}

/// lab1 goes mid-call (killed) while ana is in lab2's call with bob of
/// lab2 and cyd of lab3: lab2 keeps her in it while lab1 is away (for
/// all lab2 knows, only a link dropped). lab1 starts again on its data
/// (a start ends every call, its users' in other servers' calls too)
/// and links to lab2: lab2 asks it which of its users are in its call,
/// and takes ana out as if she had left; bob and cyd talk on.
#[test]
fn a_member_whose_server_restarted_mid_call_leaves_the_home_s_call_once_it_links_again() {
    let root = tempfile::tempdir().unwrap();
    let (mut labs, _lab4) = three_labs_and_a_tiny_one(root.path());
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    labs[2].server.register(&["cyd"]);
    let (mut bob, mut bob_events) = labs[1].server.device("bob", "phone");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let (mut ana, ana_events) = labs[0].server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    let (mut cyd, mut cyd_events) = labs[2].server.device("cyd", "phone");
    assert_eq!(cyd.request("JOIN:#lab@lab2"), "OK");
    members_until(&mut bob, "#lab", 3);
    let started = bob.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2");
    assert_eq!(cyd.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2,ana@lab1");
    group_until(&mut bob_events, &format!("GROUPCALL:#lab:JOINED:{id}:cyd@lab3"));
    assert_eq!(calls(&mut bob), [format!("#lab:{id}:bob:voice:bob,ana@lab1,cyd@lab3")]);

    // lab1 is killed: its links drop, and lab2 keeps ana in the call.
    let (dir, port) = (labs[0].dir.clone(), labs[0].link.port());
    drop(labs.remove(0));
    drop((ana, ana_events));
    assert_eq!(calls(&mut bob), [format!("#lab:{id}:bob:voice:bob,ana@lab1,cyd@lab3")]);

    // lab1 starts again and links to lab2 (ana's laptop is back): lab2
    // takes ana out, bob's and cyd's devices are told, and the call goes
    // on for them, where ana may join again.
    let flags = ["--timeout", "10", "--ring-seconds", "30"];
    let lab1 = start("lab1", &dir, &root.path().join("class.csv"), port, &flags);
    let (mut ana, _ana_events) = lab1.server.device("ana", "laptop");
    assert_eq!(next_group(&mut bob_events), format!("GROUPCALL:#lab:LEFT:{id}:ana@lab1"));
    group_until(&mut cyd_events, &format!("GROUPCALL:#lab@lab2:LEFT:{id}:ana@lab1"));
    assert_eq!(calls(&mut bob), [format!("#lab:{id}:bob:voice:bob,cyd@lab3")]);
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:cyd@lab3:{SDP}")), "OK");
    assert_eq!(next_group(&mut cyd_events), format!("GROUPCALL:#lab@lab2:OFFER:{id}:bob@lab2:{SDP}"));
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2,cyd@lab3");
}

/// The links between lab1 and lab2 cut (each through a proxy) while
/// both run, mid-call, and dialed again: lab2 asks lab1 which of its
/// users are in its call, and lab1 has ana in it still: she stays, on
/// both sides, and signals still reach her.
#[test]
fn a_member_whose_link_only_dropped_stays_in_the_home_s_call() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let proxies = [LinkProxy::start(), LinkProxy::start()];
    let links = [free_port(), free_port()];
    write_roster(&roster, &[("lab1", proxies[0].at.port()), ("lab2", proxies[1].at.port())], "");
    let dir = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let flags = ["--timeout", "10", "--ring-seconds", "30"];
    let lab1 = start("lab1", &dir("lab1"), &roster, links[0], &flags);
    let lab2 = start("lab2", &dir("lab2"), &roster, links[1], &flags);
    proxies[0].to(lab1.link);
    proxies[1].to(lab2.link);
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let (mut bob, mut bob_events) = lab2.server.device("bob", "phone");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let (mut ana, mut ana_events) = lab1.server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    members_until(&mut bob, "#lab", 2);
    let started = bob.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(ana.request(&format!("GROUPCALL:#lab@lab2:JOIN:{id}")), "OK:bob@lab2");
    group_until(&mut bob_events, &format!("GROUPCALL:#lab:JOINED:{id}:ana@lab1"));

    // Both links cut; ana's next message dials lab2 again, whose answer
    // to lab1's hello is its question about ana, answered: she is in.
    proxies.iter().for_each(LinkProxy::cut);
    assert!(ana.request("MSG:#lab@lab2:m1:still here").starts_with("OK:m1:"));
    assert_eq!(message_with(&mut bob_events, "still here"), "still here");
    lab2.server.wait_for_log(&format!("#lab's call {id}: lab1 says 1 of its 1 users in it are in it there"));
    assert_eq!(calls(&mut bob), [format!("#lab:{id}:bob:voice:bob,ana@lab1")]);
    assert_eq!(calls(&mut ana), [format!("#lab@lab2:{id}:bob@lab2:voice:bob@lab2,ana")]);
    assert_eq!(bob.request(&format!("GROUPCALL:#lab:OFFER:{id}:ana@lab1:{SDP}")), "OK");
    group_until(&mut ana_events, &format!("GROUPCALL:#lab@lab2:OFFER:{id}:bob@lab2:{SDP}"));
}

/// lab9's side of the links lab1 dials to it (the test as lab9): each
/// hello answered `OK:0`, each frame but `PING` told to the test, a
/// `GROUPIN` answered with the test's next answer (a `KO` closes the
/// link, as a wachat closes it on a word it does not know), a numbered
/// frame `ACK`, the rest `OK`.
fn lab9_takes_lab1_s_links(lab9: &Lab9) -> (Sender<String>, Receiver<String>) {
    use std::io::Write;
    let (answers, answer) = crossbeam_channel::unbounded::<String>();
    let (frames, seen) = crossbeam_channel::unbounded();
    let acceptor = lab9.key.acceptor().unwrap();
    let port = lab9.port.try_clone().unwrap();
    std::thread::spawn(move || {
        while let Ok((tcp, _)) = port.accept() {
            let Ok(stream) = wachat::transport::Stream::accept(tcp, Some(&acceptor)) else { continue };
            let link = wachat::transport::SharedStream(std::sync::Arc::new(stream));
            let _ = link.0.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = std::io::BufReader::new(link.clone());
            let mut hello = String::new();
            if reader.read_line(&mut hello).unwrap_or(0) == 0 || writeln!(link.clone(), "OK:0").is_err() {
                continue; // a dial lab1 gave up on before this thread took it
            }
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let frame = line.trim_end().to_string();
                line.clear();
                let number = frame.split(':').nth(1).filter(|n| n.parse::<u64>().is_ok());
                let said = match (frame.split(':').next().unwrap_or(""), number) {
                    ("PING", _) => "PONG".to_string(),
                    ("GROUPIN", _) => {
                        let _ = frames.send(frame.clone());
                        answer.recv_timeout(Duration::from_secs(20)).unwrap_or_default()
                    }
                    (_, Some(n)) => format!("ACK:{n}"),
                    _ => "OK".to_string(),
                };
                if !frame.starts_with("PING") && !frame.starts_with("GROUPIN") {
                    let _ = frames.send(frame);
                }
                if writeln!(link.clone(), "{said}").is_err() || said.starts_with("KO:") {
                    break;
                }
            }
        }
    });
    (answers, seen)
}

/// The next `GROUPIN` lab1 said to lab9, past its other frames.
fn next_groupin(frames: &Receiver<String>) -> String {
    loop {
        let frame = frames.recv_timeout(Duration::from_secs(30)).expect("lab1 asked nothing");
        if frame.starts_with("GROUPIN:") {
            return frame;
        }
    }
}

/// Which of a server's users are in a room's call (`GROUPIN`) is asked
/// only by the room's home, and only of the server's own users; and a
/// member's server answers only for its own users it was asked about:
/// an answer naming another is refused whole and changes nothing (the
/// test as lab9, a home and then a member's server, beside lab1).
#[test]
fn who_is_in_a_call_is_asked_by_its_home_only_and_answered_only_for_the_users_asked_about() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &["lab2"], &["--ring-seconds", "30"]);
    lab1.server.register(&["ana", "dan"]);
    let (mut ana, mut ana_events) = lab1.server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let identity = "00000000000000000000000000000009";
    let (link, mut r, ok) = lab9.hello(lab1.link, identity);
    assert_eq!(ok, "OK:0");

    // As a home asking lab1: of its own rooms' calls, of lab1's users.
    let say = |r: &mut std::io::BufReader<_>, frame: &str| ask(&link, r, frame);
    assert_eq!(
        say(&mut r, "GROUPIN:#lab@lab2:c1:ana@lab1"),
        "KO:FORBIDDEN:lab9 speaks only for the calls of its own rooms"
    );
    assert_eq!(
        say(&mut r, "GROUPIN:#evil@lab9:c1:dan@lab1,zoe@lab9"),
        "KO:UNKNOWN_SERVER:zoe@lab9 is not a user of this server"
    );
    assert_eq!(say(&mut r, "GROUPIN:#evil@lab9:c1:ana@lab1,dan@lab1"), "OK:0", "in no call of lab9's");

    // As a member's server: zoe of lab9 in the call of lab1's #lab.
    assert_eq!(say(&mut r, "JOIN:1:zoe@lab9:#lab@lab1"), "ACK:1");
    members_until(&mut ana, "#lab", 2);
    let started = ana.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(say(&mut r, &format!("GROUPCALL:#lab@lab1:zoe@lab9:JOIN:{id}")), "OK:1");
    let mut member = String::new();
    r.read_line(&mut member).unwrap();
    group_until(&mut ana_events, &format!("GROUPCALL:#lab:JOINED:{id}:zoe@lab9"));

    let (answers, frames) = lab9_takes_lab1_s_links(&lab9);
    let question = || next_groupin(&frames);

    // lab9 links again: lab1 asks about zoe. An answer naming ana, a
    // user of lab1's, is refused: zoe stays in the call.
    answers.send("OK:1\nana@lab1".into()).unwrap();
    let (_link, _r, ok) = lab9.hello(lab1.link, identity);
    assert_eq!(ok, "OK:1", "lab1 took its JOIN");
    assert_eq!(question(), format!("GROUPIN:#lab@lab1:{id}:zoe@lab9"));
    lab1.server
        .wait_for_log(&format!("#lab's call {id}: lab9 answered ana@lab1, whom it was not asked about"));
    assert_eq!(calls(&mut ana), [format!("#lab:{id}:ana:voice:ana,zoe@lab9")]);

    // Once more, answered none of them: zoe is out, ana's laptop told.
    answers.send("OK:0".into()).unwrap();
    let (_link, _r, ok) = lab9.hello(lab1.link, identity);
    assert_eq!(ok, "OK:1");
    assert_eq!(question(), format!("GROUPIN:#lab@lab1:{id}:zoe@lab9"));
    group_until(&mut ana_events, &format!("GROUPCALL:#lab:LEFT:{id}:zoe@lab9"));
    assert_eq!(calls(&mut ana), [format!("#lab:{id}:ana:voice:ana")]);
}

/// A member's server that predates `GROUPIN` (a wachat of an earlier
/// round) answers it `KO:BAD_REQUEST` and closes the link, as it does
/// for any word it does not know: the home takes nobody out of its
/// call, and does not ask it again on the links it takes next (for ten
/// minutes), which would each cost a link.
#[test]
fn a_member_s_server_that_predates_groupin_is_not_asked_again_on_the_next_link() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &[], &["--ring-seconds", "30"]);
    lab1.server.register(&["ana"]);
    let (mut ana, _ana_events) = lab1.server.device("ana", "laptop");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let identity = "00000000000000000000000000000009";
    let (link, mut r, ok) = lab9.hello(lab1.link, identity);
    assert_eq!(ok, "OK:0");
    assert_eq!(ask(&link, &mut r, "JOIN:1:zoe@lab9:#lab@lab1"), "ACK:1");
    members_until(&mut ana, "#lab", 2);
    let started = ana.request("GROUPCALL:#lab:START:voice");
    let id = started.strip_prefix("OK:").unwrap().to_string();
    assert_eq!(ask(&link, &mut r, &format!("GROUPCALL:#lab@lab1:zoe@lab9:JOIN:{id}")), "OK:1");
    let mut member = String::new();
    r.read_line(&mut member).unwrap();

    let (answers, frames) = lab9_takes_lab1_s_links(&lab9);
    answers.send("KO:BAD_REQUEST:unknown frame \"GROUPIN\"".into()).unwrap();
    let _again = lab9.hello(lab1.link, identity);
    assert_eq!(next_groupin(&frames), format!("GROUPIN:#lab@lab1:{id}:zoe@lab9"));

    // lab9 links once more, and ana's message to the room (zoe's too)
    // is the mark: lab1 asks nothing before it; zoe is in the call still.
    let _once_more = lab9.hello(lab1.link, identity);
    assert!(ana.request("MSG:#lab:m1:the mark").starts_with("OK:m1:"));
    let mut before = Vec::new();
    loop {
        let frame = frames.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("{before:?}"));
        if frame.contains(":m1:") {
            break;
        }
        before.push(frame);
    }
    assert!(!before.iter().any(|f| f.starts_with("GROUPIN")), "asked again: {before:?}");
    assert_eq!(calls(&mut ana), [format!("#lab:{id}:ana:voice:ana,zoe@lab9")]);
}
