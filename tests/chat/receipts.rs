//! Receipts of room messages (protocol 1.2, §31): a room message reaches
//! ✓✓ once every other member has it on a device, and read once every
//! one read it; its sender asks `RECEIPTS:<#room>:<id>` for who and when.
//! Through a `kill -9`, with read receipts off (§30), in a room too large
//! to keep them, and refused to anyone but the sender.

use std::time::{Duration, Instant};

use super::support;

use support::{Conn, TestServer, without_ts};

/// `RECEIPTS` until `done` holds of its lines (an `ACK` is stored
/// without anyone waiting for it), without their times.
fn receipts_until(conn: &mut Conn, ask: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<String> = conn.listing(ask).iter().map(|l| untimed(l)).collect();
        if done(&lines) {
            return lines;
        }
        assert!(Instant::now() < deadline, "{ask}: still {lines:?}");
        std::thread::sleep(Duration::from_millis(30)); // polling the store
    }
}

/// A `READ:<member>:<ts>` or `DELIVERED:<member>:<ts>` line with `<ts>`
/// checked to be a time and replaced.
fn untimed(line: &str) -> String {
    match line.rsplit_once(':') {
        Some((head, ts)) if head.starts_with("READ:") || head.starts_with("DELIVERED:") => {
            assert!(ts.parse::<u64>().is_ok_and(|t| t > 1_600_000_000_000), "no time in {line}");
            format!("{head}:<ts>")
        }
        _ => line.to_string(),
    }
}

/// A 1.0 receive connection of `user` that acknowledges its next message.
fn receives(server: &TestServer, user: &str) -> Conn {
    server.login_recv(user, &format!("pw-{user}"))
}

fn ack_next(conn: &mut Conn) -> String {
    let msg = conn.next_msg();
    let seq = msg.split(':').nth(1).unwrap().to_string();
    conn.send(&format!("ACK:{seq}"));
    msg
}

/// The next `STATUS` on a 1.2 receive connection, acknowledged, without its time.
fn next_status(conn: &mut Conn) -> String {
    loop {
        let event = conn.next_event();
        if let Some(seq) = event.split(':').nth(1) {
            conn.send(&format!("ACK:{seq}"));
        }
        if event.starts_with("STATUS:") {
            return without_ts(&event);
        }
    }
}

#[test]
fn a_room_message_is_delivered_then_read_by_every_member_and_survives_a_kill() {
    let mut server = TestServer::start_restartable(&[]);
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    for c in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    let ana_events = server.events_1_2("ana", None);
    // ana's 1.0 laptop: it is sent nothing new.
    let mut laptop = server.recv_conn();
    assert_eq!(laptop.request("LOGIN:ana@laptop:pw-ana"), "OK:ana");
    assert!(ana.request("MSG:#lab:r1:hello lab").starts_with("OK:r1:"));
    assert_eq!(ana.listing("RECEIPTS:#lab:r1"), ["TO:2"], "nobody has it yet");

    // bob gets it: one of two, ana's message stays at ✓.
    let mut bob_in = receives(&server, "bob");
    ack_next(&mut bob_in);
    let lines = receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| l.len() == 2);
    assert_eq!(lines, ["TO:2", "DELIVERED:bob:<ts>"]);

    // Killed: the receipt stays, and carl's acknowledgement after the
    // start makes it ✓✓ for ana's devices that speak 1.2.
    drop((ana, bob, carl, bob_in, ana_events, laptop));
    server.restart_in_place(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut ana_events = server.events_1_2("ana", None);
    let mut laptop = server.recv_conn();
    assert_eq!(laptop.request("LOGIN:ana@laptop:pw-ana"), "OK:ana");
    let lines: Vec<String> = ana.listing("RECEIPTS:#lab:r1").iter().map(|l| untimed(l)).collect();
    assert_eq!(lines, ["TO:2", "DELIVERED:bob:<ts>"]);
    let mut carl_in = receives(&server, "carl");
    ack_next(&mut carl_in);
    let delivered = next_status(&mut ana_events);
    assert!(delivered.ends_with(":#lab:r1:DELIVERED:<ts>"), "{delivered}");

    // Both read it: read (blue) for ana, and "Read by" lists them.
    let mut bob = server.login_send("bob", "pw-bob");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(bob.request("READ:#lab:r1"), "OK");
    let lines = receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| l.iter().any(|l| l == "READ:bob:<ts>"));
    assert_eq!(lines, ["TO:2", "READ:bob:<ts>", "DELIVERED:carl:<ts>"]);
    assert_eq!(carl.request("READ:#lab:r1"), "OK");
    let read = next_status(&mut ana_events);
    assert!(read.ends_with(":#lab:r1:READ:<ts>"), "{read}");
    let lines =
        receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| l.len() == 3 && !l[2].starts_with("DELIVERED"));
    assert_eq!(lines.len(), 3);
    assert!(lines.contains(&"READ:carl:<ts>".to_string()) && lines.contains(&"READ:bob:<ts>".to_string()));

    // The 1.0 laptop was sent neither STATUS: its next event is bob's message.
    assert!(bob.request("MSG:ana:d1:psst").starts_with("OK:d1:"));
    let next = laptop.next_event();
    assert!(next.starts_with("MSG:") && next.contains(":bob:ana:d1:"), "{next}");

    // Only the sender asks; a stranger is not a member; no such message.
    let refused = bob.request("RECEIPTS:#lab:r1");
    assert!(refused.starts_with("KO:FORBIDDEN:"), "{refused}");
    server.register(&["dee"]);
    let mut dee = server.login_send("dee", "pw-dee");
    assert!(dee.request("RECEIPTS:#lab:r1").starts_with("KO:NOT_MEMBER:"));
    assert!(ana.request("RECEIPTS:#lab:zz").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(ana.request("RECEIPTS:lab:r1").starts_with("KO:BAD_REQUEST:"));
}

#[test]
fn read_receipts_off_hide_a_reader_and_the_reads_of_others() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    for c in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    assert_eq!(carl.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    // ana's 1.2 device (a room's STATUS goes to a user who logs in as one).
    let mut ana_events = server.events_1_2("ana", Some("web"));
    assert!(ana.request("MSG:#lab:r1:hello").starts_with("OK:r1:"));
    let (mut bob_in, mut carl_in) = (receives(&server, "bob"), receives(&server, "carl"));
    ack_next(&mut bob_in);
    ack_next(&mut carl_in);
    assert!(next_status(&mut ana_events).ends_with(":#lab:r1:DELIVERED:<ts>"));
    assert_eq!(carl.request("READ:#lab:r1"), "OK");
    assert_eq!(bob.request("READ:#lab:r1"), "OK");
    // carl counts once delivered: bob's read makes it read; carl is not "Read by".
    assert!(next_status(&mut ana_events).ends_with(":#lab:r1:READ:<ts>"));
    let lines = receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| l.len() == 3);
    assert_eq!(lines, ["TO:2", "READ:bob:<ts>", "DELIVERED:carl:<ts>"]);

    // Who hides them does not see others': ana turns hers off.
    assert_eq!(ana.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    let mut lines = ana.listing("RECEIPTS:#lab:r1").iter().map(|l| untimed(l)).collect::<Vec<_>>();
    lines[1..].sort();
    assert_eq!(lines, ["TO:2", "DELIVERED:bob:<ts>", "DELIVERED:carl:<ts>"]);
    assert!(ana.request("MSG:#lab:r2:again").starts_with("OK:r2:"));
    ack_next(&mut bob_in);
    ack_next(&mut carl_in);
    assert!(next_status(&mut ana_events).ends_with(":#lab:r2:DELIVERED:<ts>"));
    assert_eq!(bob.request("READ:#lab:r2"), "OK");
    // No READ comes: the next STATUS is that of the message after it.
    assert!(ana.request("MSG:#lab:r3:and again").starts_with("OK:r3:"));
    ack_next(&mut bob_in);
    ack_next(&mut carl_in);
    assert!(next_status(&mut ana_events).ends_with(":#lab:r3:DELIVERED:<ts>"));
}

#[test]
fn a_room_of_more_than_64_members_keeps_its_messages_at_one_tick() {
    let server = TestServer::start_with(&["--exempt", "127.0.0.1", "--rate", "0"]);
    let names: Vec<String> = (0..65).map(|i| format!("u{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    server.register(&refs);
    let mut sends: Vec<Conn> = names.iter().map(|n| server.login_send(n, &format!("pw-{n}"))).collect();
    for c in &mut sends[..64] {
        assert_eq!(c.request("JOIN:#big"), "OK");
    }
    assert!(sends[0].request("MSG:#big:s1:small still").starts_with("OK:s1:"));
    assert_eq!(sends[0].listing("RECEIPTS:#big:s1"), ["TO:63"], "64 members keep receipts");
    assert_eq!(sends[64].request("JOIN:#big"), "OK");
    assert!(sends[0].request("MSG:#big:b1:hello all").starts_with("OK:b1:"));
    let mut first = receives(&server, "u01");
    ack_next(&mut first);
    ack_next(&mut first);
    assert_eq!(sends[0].listing("RECEIPTS:#big:b1"), ["LARGE:65:64"]);
    assert_eq!(sends[0].listing("RECEIPTS:#big:s1"), ["LARGE:65:64"]);
}

/// A receive connection of `user`'s device `device` (1.2 login, 1.0 frames).
fn device_receives(server: &TestServer, user: &str, device: &str) -> Conn {
    let mut conn = server.recv_conn();
    assert_eq!(conn.request(&format!("LOGIN:{user}@{device}:pw-{user}")), format!("OK:{user}"));
    conn
}

/// `HISTORY` until its lines are `want` (receipts are stored without
/// anyone waiting for them).
fn history_until(conn: &mut Conn, ask: &str, want: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = conn.listing(ask);
        if lines == want {
            return;
        }
        assert!(Instant::now() < deadline, "{ask}: still {lines:?}, not {want:?}");
        std::thread::sleep(Duration::from_millis(30)); // polling the store
    }
}

#[test]
fn history_shows_a_device_its_room_ticks_and_a_1_0_connection_what_it_always_saw() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    for c in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    assert!(ana.request("MSG:#lab:r1:first").starts_with("OK:r1:"));
    assert!(ana.request("MSG:#lab:r2:second").starts_with("OK:r2:"));
    assert!(bob.request("MSG:#lab:b1:mine").starts_with("OK:b1:"));
    let as_1_0 = ana.listing("HISTORY:#lab:10");
    let states = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{}:{}", l.split(':').nth(2).unwrap(), l.split(':').nth(4).unwrap()))
            .collect()
    };
    assert_eq!(states(&as_1_0), ["r1:RECEIVED", "r2:RECEIVED", "b1:RECEIVED"]);
    // ana's browser (a device's login, 1.2) sees the same while nobody has them.
    let mut web = server.login_send("ana@web", "pw-ana");
    assert_eq!(web.listing("HISTORY:#lab:10"), as_1_0);

    // One of bob's two devices has them: delivered to bob; carl's too: ✓✓.
    let mut laptop = device_receives(&server, "bob", "laptop");
    let _phone = device_receives(&server, "bob", "phone");
    for _ in 0..2 {
        let msg = laptop.next_msg();
        laptop.send(&format!("ACK:{}", msg.split(':').nth(1).unwrap()));
    }
    let mut carl_in = receives(&server, "carl");
    for _ in 0..2 {
        ack_next(&mut carl_in);
    }
    let with = |lines: &[String], r1: &str, r2: &str| -> Vec<String> {
        let mut out = lines.to_vec();
        out[0] = out[0].replacen(":RECEIVED:", &format!(":{r1}:"), 1);
        out[1] = out[1].replacen(":RECEIVED:", &format!(":{r2}:"), 1);
        out
    };
    history_until(&mut web, "HISTORY:#lab:10", &with(&as_1_0, "DELIVERED", "DELIVERED"));

    // bob read r1, carl r2 (and so r1): r1 read by all, r2 by carl only.
    assert_eq!(bob.request("READ:#lab:r1"), "OK");
    assert_eq!(carl.request("READ:#lab:b1"), "OK");
    history_until(&mut web, "HISTORY:#lab:10", &with(&as_1_0, "READ", "DELIVERED"));
    // A page (1.2) says the same; bob's message stays RECEIVED for ana.
    assert_eq!(web.request("HISTORY:#lab:10:*"), "OK:3:", "the whole chat: no page before it");
    let page: Vec<String> = (0..3).map(|_| web.line()).collect();
    assert_eq!(page, with(&as_1_0, "READ", "DELIVERED"));

    // After a reconnection: the 1.0 connection's HISTORY is byte for byte
    // what it was; the device's keeps the ticks.
    drop((ana, web));
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("HISTORY:#lab:10"), as_1_0);
    let mut web = server.login_send("ana@web", "pw-ana");
    assert_eq!(web.listing("HISTORY:#lab:10"), with(&as_1_0, "READ", "DELIVERED"));
    // bob's own view of his message: delivered to ana? ana's device never
    // acknowledged it (she has no receive connection): RECEIVED.
    let mut bob_web = server.login_send("bob@web", "pw-bob");
    let bobs = bob_web.listing("HISTORY:#lab:10");
    assert_eq!(states(&bobs), ["r1:RECEIVED", "r2:RECEIVED", "b1:RECEIVED"]);
}

#[test]
fn a_user_who_never_named_a_device_keeps_the_inbox_numbers_of_version_1() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    for c in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    assert!(ana.request("MSG:#lab:r1:hello").starts_with("OK:r1:"));
    let (mut bob_in, mut carl_in) = (receives(&server, "bob"), receives(&server, "carl"));
    ack_next(&mut bob_in);
    ack_next(&mut carl_in);
    receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| l.len() == 3);
    assert_eq!(bob.request("READ:#lab:r1"), "OK");
    assert_eq!(carl.request("READ:#lab:r1"), "OK");
    receipts_until(&mut ana, "RECEIPTS:#lab:r1", |l| {
        l.iter().filter(|l| l.starts_with("READ:")).count() == 2
    });
    // Delivered and read by all, and ana's 1.0 inbox holds no STATUS of
    // it: bob's direct message is her event 1, as in version 1.
    assert!(bob.request("MSG:ana:d1:psst").starts_with("OK:d1:"));
    let mut ana_in = receives(&server, "ana");
    let first = ana_in.next_event();
    assert!(first.starts_with("MSG:1:bob:ana:d1:"), "{first}");
}
