//! Bounded by design: each test plays one attack a hostile student can
//! make on a shared server (a guessing neighbour, accounts multiplying a
//! rate, a registration flood, a disk filled, a damaged log, a room
//! flooded for its offline members) against a real server, over sockets,
//! and checks the limit that stops it. The figures are measured by
//! `examples/abuse` (`cargo run --release --example abuse`); docs/RELIABILITY.md
//! lists each attack with its defence.

use super::support;

use support::{Conn, TestServer, without_ts};

/// A stranger behind bob's NAT guesses bob's password, and keeps
/// guessing while bob logs in 15 times from there with the right one.
#[test]
fn a_neighbour_guessing_does_not_lock_bob_out() {
    let server = TestServer::start();
    server.register(&["bob"]); // bob is known at 127.0.0.1 from now on
    let guess = |conn: &mut Option<Conn>| {
        let c = conn.get_or_insert_with(|| server.send_conn());
        let reply = c.request("LOGIN:bob:guess");
        if reply.starts_with("KO:AUTH_FAILED") {
            *conn = None; // closed after a wrong password
        }
        reply
    };
    let mut stranger = None;
    let replies: Vec<String> = (0..20).map(|_| guess(&mut stranger)).collect();
    assert!(
        replies.iter().any(|r| r.starts_with("KO:RATE_LIMITED")),
        "the stranger is throttled: {replies:?}"
    );
    let mut bob_ok = 0;
    for _ in 0..15 {
        if server.send_conn().request("LOGIN:bob:pw-bob") == "OK:bob" {
            bob_ok += 1;
        }
        assert!(guess(&mut stranger).starts_with("KO:RATE_LIMITED"), "the stranger stays throttled");
    }
    assert!(bob_ok >= 14, "bob got in {bob_ok} times of 15");
    // The guesses came from a pair that is known: the account is not locked.
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("LOGIN:bob:pw-bob"), "OK:bob", "the account itself is not locked");
}

/// Pipelines `n` `JOIN:#lab` (one token each): how many were accepted,
/// and how many refused by the address's bucket.
fn joins_per_address(conn: &mut Conn, n: usize) -> (usize, usize) {
    conn.send_raw("JOIN:#lab\n".repeat(n).as_bytes());
    let replies: Vec<String> = (0..n).map(|_| conn.line()).collect();
    assert!(replies.iter().all(|r| r == "OK" || r.starts_with("KO:RATE_LIMITED")), "{replies:?}");
    let accepted = replies.iter().filter(|r| *r == "OK").count();
    (accepted, replies.iter().filter(|r| r.contains("(--address-rate)")).count())
}

fn joins_refused_per_address(conn: &mut Conn, n: usize) -> usize {
    joins_per_address(conn, n).1
}

/// More accounts do not bring more requests from one address.
#[test]
fn rates_cannot_be_multiplied_by_accounts() {
    // A burst of 200 per address (10 s of 20/s); 1,000 per user (--rate).
    let server = TestServer::start_with(&["--address-rate", "20", "--rate", "500"]);
    let users = ["ana", "bob", "carl"];
    server.register(&users);
    let started = std::time::Instant::now();
    let (accepted, refused) = users
        .iter()
        .map(|u| joins_per_address(&mut server.login_send(u, &format!("pw-{u}")), 150))
        .fold((0, 0), |(a, r), (a2, r2)| (a + a2, r + r2));
    // 450 asked, none past a user's own --rate: the address held them to
    // its burst and what refilled meanwhile (each refused connection
    // pausing 50 ms before it reads on, `server::send::RATE_PAUSE`).
    let refilled = (started.elapsed().as_secs_f64() * 20.0).ceil() as usize;
    assert!(refused > 0, "the address's bucket refused nothing");
    assert!(
        accepted <= 200 + refilled + 3,
        "{accepted} of 450 accepted: more than 200 + {refilled} refilled"
    );
    // Another address has its own budget.
    let mut dan = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(dan.request("REGISTER:dan::pw-dan"), "OK:dan");
    assert_eq!(joins_refused_per_address(&mut dan, 150), 0);
    // An exempt address is held to --rate only.
    let exempt = TestServer::start_with(&["--address-rate", "20", "--exempt", "127.0.0.1"]);
    exempt.register(&users);
    for u in users {
        assert_eq!(joins_refused_per_address(&mut exempt.login_send(u, &format!("pw-{u}")), 150), 0);
    }
}

/// `wachat users invite` on a running server's data directory: its codes.
fn invite(server: &TestServer, count: usize) -> Vec<String> {
    let out = std::process::Command::new(support::wachat_bin())
        .args(["users", "invite", "--count", &count.to_string(), "--days", "1", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .expect("run wachat users invite");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("valid until"));
    let codes: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(codes.len(), count);
    codes
}

/// With `--registration invite`, nobody registers without a
/// code, and a code is enough, whatever the register caps say.
#[test]
fn with_invite_registration_codes_let_the_class_in_once_each() {
    let server = TestServer::start_with(&["--registration", "invite"]);
    let refused = server.send_conn().request("REGISTER:mallory::secret");
    assert!(
        refused.starts_with("KO:AUTH_FAILED:this server registers with an invite code only"),
        "{refused}"
    );
    let codes = invite(&server, 70); // made while the server runs
    // A password too short spends no code (one rule for every
    // password: 6 characters).
    let short = server.send_conn().request(&format!("REDEEM:{}:ana::pw", codes[0]));
    assert_eq!(short, "KO:BAD_REQUEST:a password has at least 6 characters");
    assert_eq!(server.send_conn().request(&format!("REDEEM:{}:ana::secret:a", codes[0])), "OK:ana");
    let again = server.send_conn().request(&format!("REDEEM:{}:ana2::secret", codes[0]));
    assert!(again.starts_with("KO:AUTH_FAILED:this invite code was used already"), "{again}");
    let unknown = server.send_conn().request("REDEEM:nosuchcode:eve::secret");
    assert!(unknown.starts_with("KO:AUTH_FAILED:no such invite code"), "{unknown}");
    // A taken name does not use the code up.
    let mut conn = server.send_conn();
    assert!(conn.request(&format!("REDEEM:{}:ANA::secret", codes[1])).starts_with("KO:USER_EXISTS"));
    assert_eq!(conn.request(&format!("REDEEM:{}:bob::secret", codes[1].to_uppercase())), "OK:bob");
    // 68 more from one address: past the 60 a REGISTER flood may create.
    for (i, code) in codes[2..].iter().enumerate() {
        assert_eq!(server.send_conn().request(&format!("REDEEM:{code}:s{i}::secret")), format!("OK:s{i}"));
    }
    assert_eq!(server.send_conn().request("LOGIN:ana:secret:a"), "OK:ana");
    // The clients: wachat register --invite.
    let code = invite(&server, 1).remove(0);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["register", "--user", "carl", "--invite", &code].map(String::from).to_vec();
    args.extend(support::console::connection_args(server.send, server.recv, dir.path()));
    let ok = support::console::run_wachat(&args, "carl-secret-1", "");
    assert!(ok.status.success(), "{}", ok.stderr);
    let again = support::console::run_wachat(
        &args.iter().map(|a| a.replace("carl", "dan")).collect::<Vec<_>>(),
        "dan-secret-1",
        "",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        again.stderr.contains("this invite code was used already: ask for another (AUTH_FAILED)"),
        "{}",
        again.stderr
    );
}

/// `--registration closed`: accounts come from `wachat users add` only.
#[test]
fn with_closed_registration_nobody_registers() {
    let server = TestServer::start_with(&["--registration", "closed"]);
    for frame in ["REGISTER:eve::secret", "REDEEM:somecode:eve::secret"] {
        let reply = server.send_conn().request(frame);
        assert!(reply.starts_with("KO:AUTH_FAILED:registration is closed on this server"), "{reply}");
    }
}

/// A message's line blanked in the log (by hand, or a disk that
/// garbles a block): it is passed over, and the rest is served.
#[test]
fn a_damaged_line_in_the_log_is_skipped_and_named() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    for id in ["m1", "m2", "m3"] {
        assert!(ana.request(&format!("MSG:bob:{id}:hello {id}")).starts_with(&format!("OK:{id}:")));
    }
    drop(ana);
    server.terminate();
    // m2's line, blanked in place (the positions of the others stay).
    let log_dir = server.data_dir.join("log");
    let segment = std::fs::read_dir(&log_dir).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&segment).unwrap();
    let (n, line) = text.lines().enumerate().find(|(_, l)| l.contains(",m2,")).expect("m2 is in the log");
    std::fs::write(&segment, text.replace(line, &" ".repeat(line.len()))).unwrap();
    server.restart(&[]);

    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:10");
    let ids: Vec<&str> = history.iter().map(|l| l.split(':').nth(2).unwrap()).collect();
    assert_eq!(ids, ["m1", "m3"], "{history:?}");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 2, "and again");
    let mut bob = server.login_recv("bob", "pw-bob");
    let events = bob.events(2);
    assert!(events[0].contains(":m1:") && events[1].contains(":m3:"), "{events:?}");
    server.wait_for_log("is damaged");

    let out = std::process::Command::new(support::wachat_bin())
        .args(["users", "check", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{} line {}: a blank line", segment.display(), n + 1)), "{stdout}");
}

/// A blank line inserted in the newest log segment (a stray newline typed
/// into it, a half-written editor save) moves the records after it by a
/// byte. Every one of the 40 messages is still read back, by `HISTORY`,
/// `SEARCH` and the recipient's replay, after a restart (a reader that
/// stopped at the blank line, or took it for a record, would lose every
/// other message after it).
#[test]
fn a_blank_line_inserted_in_the_newest_segment_loses_no_message() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 0..40 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hello {i}")).starts_with(&format!("OK:m{i}:")));
    }
    drop(ana);
    server.terminate();
    let log_dir = server.data_dir.join("log");
    let mut segments: Vec<_> = std::fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    let newest = segments.last().unwrap();
    let text = std::fs::read_to_string(newest).unwrap();
    let m20 = text.find(",m20,").expect("m20 is in the newest segment");
    let line_start = text[..m20].rfind('\n').unwrap() + 1;
    std::fs::write(newest, format!("{}\n{}", &text[..line_start], &text[line_start..])).unwrap();
    server.restart(&[]);

    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:100");
    let ids: Vec<&str> = history.iter().map(|l| l.split(':').nth(2).unwrap()).collect();
    let all: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    assert_eq!(ids, all, "{history:?}");
    let found = ana.listing("SEARCH:bob:hello");
    assert_eq!(found.len(), 40, "SEARCH reads past the blank line too: {found:?}");
    let mut bob = server.login_recv("bob", "pw-bob");
    let events = bob.events(40);
    for (i, event) in events.iter().enumerate() {
        assert!(event.contains(&format!(":m{i}:")), "{events:?}");
    }
}

/// Accounts write long messages until the disk is full. Each
/// user's messages have a quota of stored bytes (`--user-quota`):
/// past it, that user's sends get `KO:FULL` with the reason, others go
/// on, the count survives a restart, and `wachat users list` shows it.
#[test]
fn a_user_past_its_quota_gets_full_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &["--user-quota", "16KiB", "--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "x".repeat(4000);
    let mut stored = 0;
    let refused = loop {
        let reply = ana.request(&format!("MSG:#general:m{stored}:{text}"));
        if !reply.starts_with("OK:") {
            break reply;
        }
        stored += 1;
        assert!(stored < 100, "the quota was never reached");
    };
    assert_eq!(stored, 5, "4 KB each against 16 KiB: the fifth one crosses it");
    assert!(refused.starts_with("KO:FULL:you have stored 19."), "{refused}");
    assert!(refused.contains("--user-quota"), "{refused}");
    assert!(ana.request("MSG:bob:d1:short").starts_with("KO:FULL:"), "direct messages count too");
    assert_eq!(ana.request("PING"), "OK", "the connection stays usable");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hola").starts_with("OK:"), "bob has his own quota");
    // After a restart the count is the same.
    server.terminate();
    let mut server = TestServer::start_in(dir.path(), &["--user-quota", "16KiB"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:#general:again:x").starts_with("KO:FULL:"));
    server.terminate();
    // More quota: the same request goes through (nothing stuck).
    let mut server = TestServer::start_in(dir.path(), &["--user-quota", "64KiB"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:#general:again:x").starts_with("OK:"));
    server.terminate();
    let out = std::process::Command::new(support::wachat_bin())
        .args(["users", "list", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("ana  19.") && list.contains(" KiB stored"), "{list}");
    assert!(list.lines().any(|l| l.starts_with("bob  ") && l.ends_with(" B stored")), "{list}");
}

/// A user who is away collects at most `--inbox-max`
/// events; past it the SENDER gets `KO:FULL`, and the user, once back,
/// receives every event that was accepted.
#[test]
fn a_full_inbox_refuses_the_sender_and_loses_nothing() {
    let server = TestServer::start_with(&["--inbox-max", "5", "--rate", "0"]);
    server.register(&["ana", "bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("LEAVE:#general"), "OK", "bob gets direct messages only");
    for i in 0..5 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hola {i}")).starts_with("OK:"));
    }
    let refused = server.login_send("carl", "pw-carl").request("MSG:bob:c1:hey");
    assert_eq!(
        refused,
        "KO:FULL:bob has 5 events not yet received, the most an inbox holds (--inbox-max); \
         try again once they have connected"
    );
    assert!(ana.request("MSG:#general:r1:rooms go on").starts_with("OK:"));
    let mut recv = server.login_recv("bob", "pw-bob");
    let events = recv.events(5);
    let ids: Vec<&str> = events.iter().map(|e| e.split(':').nth(4).unwrap()).collect();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"], "every accepted message, in order");
    recv.send("ACK:5");
    // Room again once bob acknowledged them (polled: the ACK is written soon after).
    let mut carl = server.login_send("carl", "pw-carl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = carl.request("MSG:bob:c1:hey");
        if reply.starts_with("OK:") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {reply}");
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling
    }
}

/// Below `--min-free` every write gets `KO:FULL` before
/// the disk is full (here a floor of 100 %, never met), reads go on.
#[test]
fn below_the_free_space_floor_writes_get_full_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:before").starts_with("OK:"));
    server.terminate();
    let server = TestServer::start_in(dir.path(), &["--min-free", "100%"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let refused = ana.request("MSG:bob:m2:after");
    assert!(
        refused.starts_with("KO:FULL:the server's disk is almost full (less than 100% free"),
        "{refused}"
    );
    assert!(refused.ends_with("writes resume by themselves once there is room"), "{refused}");
    assert_eq!(ana.request("JOIN:#lab"), refused, "every write");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 1, "reads go on");
    let made = server.send_conn().request("REGISTER:dan::pw-dan-1");
    assert!(made.starts_with("KO:FULL:"), "{made}");
}

/// The next `n` `MSG` events of a receive connection, without their times.
fn msgs(conn: &mut Conn, n: usize) -> Vec<String> {
    (0..n).map(|_| without_ts(&conn.next_msg())).collect()
}

/// Room messages are not copied into members' inboxes one by one
/// (they are stretches of the rooms' chains, see `store::state`). An
/// offline member still gets exactly what it missed, in order, once,
/// interleaved with its direct messages, across a restart.
#[test]
fn an_offline_member_gets_the_room_messages_it_missed_in_order_once() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob", "cyd", "dan"]);
    let [mut ana, mut bob, mut cy, mut dan] =
        ["ana", "bob", "cyd", "dan"].map(|u| server.login_send(u, &format!("pw-{u}")));
    for (conn, rooms) in
        [(&mut ana, &["#lab", "#ops"][..]), (&mut bob, &["#lab"]), (&mut cy, &["#lab", "#ops"])]
    {
        for room in rooms {
            assert_eq!(conn.request(&format!("JOIN:{room}")), "OK");
        }
    }
    let mut dan_events = server.login_recv("dan", "pw-dan");
    let ok = |conn: &mut Conn, frame: &str| assert!(conn.request(frame).starts_with("OK:"), "{frame}");
    ok(&mut ana, "MSG:#lab:a1:one");
    ok(&mut bob, "MSG:#lab:b1:two");
    ok(&mut ana, "MSG:#ops:o1:three");
    ok(&mut dan, "MSG:cyd:d1:direct one");
    ok(&mut cy, "MSG:#lab:c1:cy's own"); // not an event for cy itself
    ok(&mut bob, "MSG:#lab:b2:four");
    ok(&mut ana, "MSG:#ops:o2:five");
    ok(&mut ana, "MSG:#lab:a2:six");
    let first = [
        "MSG:1:ana:#lab:a1:<ts>:one",
        "MSG:2:bob:#lab:b1:<ts>:two",
        "MSG:3:ana:#ops:o1:<ts>:three",
        "MSG:4:dan:cyd:d1:<ts>:direct one",
        "MSG:5:bob:#lab:b2:<ts>:four",
        "MSG:6:ana:#ops:o2:<ts>:five",
        "MSG:7:ana:#lab:a2:<ts>:six",
    ];
    let mut cy_events = server.login_recv("cyd", "pw-cyd");
    assert_eq!(msgs(&mut cy_events, 7), first);
    cy_events.send("ACK:4");
    // The DELIVERED of d1 proves the server took the ACK.
    assert_eq!(next_status(&mut dan_events, "d1"), "STATUS:1:cyd:d1:DELIVERED");
    drop(cy_events);
    ok(&mut bob, "MSG:#lab:b3:seven");
    ok(&mut ana, "MSG:#ops:o3:eight");
    ok(&mut bob, "MSG:cyd:d2:direct two");
    ok(&mut ana, "MSG:#lab:a3:nine");
    server.restart(&[]);
    let mut cy_events = server.login_recv("cyd", "pw-cyd");
    let mut want: Vec<String> = first[4..].iter().map(|s| s.to_string()).collect();
    want.extend(
        [
            "MSG:8:bob:#lab:b3:<ts>:seven",
            "MSG:9:ana:#ops:o3:<ts>:eight",
            "MSG:10:bob:cyd:d2:<ts>:direct two",
            "MSG:11:ana:#lab:a3:<ts>:nine",
        ]
        .map(String::from),
    );
    assert_eq!(msgs(&mut cy_events, 7), want, "what was not acknowledged, in order, after the restart");
    cy_events.send("ACK:11");
    let mut ana = server.login_send("ana", "pw-ana");
    ok(&mut ana, "MSG:#lab:a4:ten");
    assert_eq!(msgs(&mut cy_events, 1), ["MSG:12:ana:#lab:a4:<ts>:ten"], "live, numbered after the replay");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    ok(&mut bob, "MSG:cyd:d3:proof");
    assert_eq!(msgs(&mut cy_events, 1), ["MSG:13:bob:cyd:d3:<ts>:proof"]);
    cy_events.send("ACK:13");
    assert!(next_status(&mut bob_events, "d3").ends_with("DELIVERED"));
    drop(cy_events);
    // All acknowledged: nothing comes again before the next message.
    let mut cy_events = server.login_recv("cyd", "pw-cyd");
    ok(&mut ana, "MSG:#ops:o4:eleven");
    assert_eq!(msgs(&mut cy_events, 1), ["MSG:14:ana:#ops:o4:<ts>:eleven"]);
}

/// The next `STATUS` event of message `id`, skipping other events.
fn next_status(conn: &mut Conn, id: &str) -> String {
    loop {
        let line = conn.line();
        if line.starts_with("STATUS:") && line.split(':').nth(3) == Some(id) {
            return without_ts(&line).trim_end_matches(":<ts>").to_string();
        }
    }
}

/// Forty classmates who each ring ana and hang up at once, each within
/// its own 6 offers a minute: her phone rings at most 12 times a minute
/// from everyone together (`RINGS_PER_MINUTE_CALLEE`); the others find
/// her busy.
#[test]
fn rings_per_callee_are_bounded_a_minute_from_every_caller_together() {
    const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n";
    // (Forty callers on one address: exempt from --address-rate.)
    let server = TestServer::start_with(&["--ring-seconds", "60", "--exempt", "127.0.0.1"]);
    let callers: Vec<String> = (0..40).map(|n| format!("caller{n}")).collect();
    let names: Vec<&str> = callers.iter().map(String::as_str).chain(["ana"]).collect();
    server.register(&names);
    let mut ana = server.events_1_2("ana", Some("phone"));
    let mut heard = Vec::new();
    for (n, caller) in callers.iter().enumerate() {
        let events = server.events_1_2(caller, Some("laptop"));
        let mut send = server.login_send(&format!("{caller}@laptop"), &format!("pw-{caller}"));
        assert_eq!(send.request(&format!("CALL:ana:c{n}:OFFER:voice:{SDP}")), "OK");
        let _ = send.request(&format!("CALL:ana:c{n}:HANGUP"));
        heard.push(events);
    }
    // Busy comes to the caller as an END when it offers; a ring, as
    // nothing. Read once every call was made, so that a loaded machine's
    // late event still counts.
    let mut busy = 0;
    for events in &mut heard {
        while let Some(line) = events.line_within(std::time::Duration::from_secs(1)) {
            if line.ends_with(":END:busy") {
                busy += 1;
                break;
            }
        }
    }
    // ana heard an OFFER for each call that rang her, then its hang-up.
    let mut offers = 0;
    while let Some(line) = ana.line_within(std::time::Duration::from_millis(500)) {
        if line.starts_with("CALL:") && line.contains(":OFFER:") {
            offers += 1;
        }
        if line == "PING" {
            ana.send("PONG");
        }
    }
    assert_eq!(offers, 12, "ana was rung {offers} times in a minute");
    assert_eq!(busy, 28, "{busy} callers found her busy");
}

/// 25 accounts registered from one address each ask `TURN` and allocate
/// relays with it: together they hold one address's quota (coturn's
/// `--user-quota=12`, counted by the credential's `<user>`, which is the
/// address), and a classmate at another address still gets a relay.
#[test]
fn one_address_holds_one_quota_of_relays_whatever_its_accounts() {
    use support::coturn::{self, Coturn};
    use wachat::server::turn::stun::{Transport, TurnClient};

    let coturn = Coturn::documented(&coturn::ON_LOOPBACK);
    let args = ["--turn", &coturn.url(), "--turn-secret", coturn::SECRET, "--exempt", "127.0.0.1"];
    let server = TestServer::start_with(&args);
    let hostile: Vec<String> = (0..25).map(|n| format!("acct{n}")).collect();
    let names: Vec<&str> = hostile.iter().map(String::as_str).chain(["bob", "cleo"]).collect();
    server.register(&names);
    let _bob = server.events_1_2("bob", Some("phone"));
    let relay = |conn: &mut Conn| {
        let line = conn.request("TURN");
        let f: Vec<&str> = line.splitn(5, ':').collect();
        assert!(f.len() == 5 && f[0] == "OK", "{line}");
        let mut client = TurnClient::new(coturn.addr(), &format!("{}:{}", f[1], f[2]), f[3]).unwrap();
        let answer = client.allocate(false, Transport::Udp).unwrap();
        (answer.map(|_| ()).map_err(|r| r.code), client)
    };
    // No credential before an offer that rings: each account rings
    // another of them (one call each way of a pair: both ends may ask).
    let mut conns: Vec<(Conn, Conn)> = hostile
        .iter()
        .map(|name| (server.login_send(name, &format!("pw-{name}")), server.events_1_2(name, None)))
        .collect();
    let before = conns[0].0.request("TURN:bob");
    assert!(before.starts_with("KO:FORBIDDEN:"), "a credential before any offer: {before}");
    for k in (0..hostile.len() - 1).step_by(2) {
        let offer = format!("CALL:{}:r{k}:OFFER:voice:v=0\\n", hostile[k + 1]);
        assert_eq!(conns[k].0.request(&offer), "OK");
    }
    let offer = format!("CALL:{}:r24:OFFER:voice:v=0\\n", hostile[0]);
    assert_eq!(conns[24].0.request(&offer), "OK", "the last one rings the first");
    let mut held = Vec::new();
    let mut refused = 0;
    for (conn, _) in &mut conns {
        // Each account asks as often as it may: 13 allocations each.
        for _ in 0..13 {
            match relay(conn) {
                (Ok(()), client) => held.push(client),
                (Err(code), _) => {
                    assert_eq!(code, 486, "past the quota");
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(held.len(), 12, "relays held from one address by 25 accounts ({refused} refused)");
    // cleo, at another address, calls bob all the same.
    let mut cleo = support::Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(cleo.request("LOGIN:cleo:pw-cleo"), "OK:cleo");
    assert_eq!(cleo.request("CALL:bob:c1:OFFER:voice:v=0\\n"), "OK");
    let (answer, _client) = relay(&mut cleo);
    assert_eq!(answer, Ok(()), "{}", coturn.log());
    // Each of the 12 is an allocation coturn holds: each gives it back.
    for mut client in held {
        assert_eq!(client.release().unwrap(), Ok(()), "{:?}", client.local_addr());
    }
}

/// coturn knows a client by its address and port, and remembers a gone
/// client's: its allocation until it expires (one given back: 1 s more);
/// the session of one it refused, with its credential, for 60 s. The
/// system gives a new socket a port at random, a gone client's too (in
/// one run in five to eight of the test above, one of its 326 sockets got
/// the port of one of the ~15 clients of the `--turn` check and of the
/// test's coturn start): coturn answers its Allocate `437` (Allocation
/// Mismatch) for the gone client's state. The client asks again from
/// another port, and gets its own answer.
#[test]
fn a_client_given_the_port_of_a_gone_one_gets_its_own_relay() {
    use support::coturn::{self, Coturn};
    use wachat::server::turn::stun::{Transport, TurnClient};

    let coturn = Coturn::documented(&coturn::ON_LOOPBACK);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let credential = coturn.turn().credentials("127.0.0.1", now);
    let mut holder = coturn.client("+holder");
    assert!(holder.allocate(false, Transport::Udp).unwrap().is_ok(), "{}", coturn.log());
    // A TCP relay, which the documented line does not give (442).
    let mut refused = coturn.client("+refused");
    assert_eq!(refused.allocate(false, Transport::Tcp).unwrap().map_err(|r| r.code), Err(442));
    for gone in [holder, refused] {
        let port = gone.local_addr().unwrap();
        drop(gone);
        let mut client =
            TurnClient::bound(port, coturn.addr(), &credential.username, &credential.password).unwrap();
        let answer = client.allocate(false, Transport::Udp).unwrap();
        assert!(answer.is_ok(), "asked from {port}, a gone client's: {answer:?}");
        assert_ne!(client.local_addr().unwrap(), port, "asked again from another port");
        assert_eq!(client.release().unwrap(), Ok(()), "an allocation coturn holds");
    }
}

/// The documented coturn run on a machine whose own address it relays to
/// (on loopback, that address allowed back as the browser tests do):
/// `wachat serve --turn` warns, naming the address and the flag.
#[test]
fn the_turn_check_warns_when_the_relay_reaches_the_turn_host_s_own_address() {
    use support::coturn::{self, Coturn};
    let extra: Vec<&str> = coturn::ON_LOOPBACK.iter().chain(&coturn::ONE_LOOPBACK_PEER).copied().collect();
    let coturn = Coturn::documented(&extra);
    let server = TestServer::start_with(&["--turn", &coturn.url(), "--turn-secret", coturn::SECRET]);
    let line = server.wait_for_log("TURN turn:127.0.0.1");
    assert!(line.contains(" WARN "), "{line}");
    assert!(
        line.contains("it relays to its own address 127.0.0.1 (add --denied-peer-ip=127.0.0.1)"),
        "{line}"
    );
}
