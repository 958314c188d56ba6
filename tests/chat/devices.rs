//! Several devices on one account (protocol 1.2, docs/PROTOCOL.md §16),
//! end to end over sockets, in the manner of irctest's bouncer tests: each
//! device is its own receive connection, `LOGIN:<user>@<device>:<secret>`.

use super::support;

use std::time::{Duration, Instant};

use support::{Conn, TestServer, without_ts};

/// A receive connection of `user`'s `device`, speaking 1.2 (said before
/// the login, so the login does not wait for it).
fn device(server: &TestServer, user: &str, device: &str) -> Conn {
    let mut c = server.recv_conn();
    assert_eq!(c.request("VERSION:1.2"), "OK");
    assert_eq!(c.request(&format!("LOGIN:{user}@{device}:pw-{user}")), format!("OK:{user}"));
    c
}

/// `from` sends `text` to `to` as message `id`; returns its `OK`.
fn send(conn: &mut Conn, to: &str, id: &str, text: &str) -> String {
    let ok = conn.request(&format!("MSG:{to}:{id}:{text}"));
    assert!(ok.starts_with(&format!("OK:{id}:")), "{ok}");
    ok
}

/// The next event that is not presence or a `PING` (answered).
fn next_event(conn: &mut Conn) -> String {
    loop {
        let line = conn.line();
        match line.as_str() {
            "PING" => conn.send("PONG"),
            l if l.starts_with("JOINED:") || l.starts_with("LEFT:") => {}
            _ => return without_ts(&line),
        }
    }
}

#[test]
fn two_devices_both_get_a_message_and_delivered_comes_once_on_the_first_ack() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    let mut phone = device(&server, "ana", "phone");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "hola");
    assert_eq!(next_event(&mut laptop), "MSG:1:bob:ana:m1:<ts>:hola");
    assert_eq!(next_event(&mut phone), "MSG:1:bob:ana:m1:<ts>:hola");
    laptop.send("ACK:1");
    assert_eq!(next_event(&mut bob_recv), "STATUS:1:ana:m1:DELIVERED:<ts>");
    phone.send("ACK:1");
    // The second device's ACK says nothing more: the next STATUS bob gets
    // is the one of his next message.
    send(&mut bob, "ana", "m2", "otra");
    assert_eq!(next_event(&mut phone), "MSG:2:bob:ana:m2:<ts>:otra");
    phone.send("ACK:2");
    assert_eq!(next_event(&mut bob_recv), "STATUS:2:ana:m2:DELIVERED:<ts>");
    assert_eq!(next_event(&mut laptop), "MSG:2:bob:ana:m2:<ts>:otra");
    laptop.send("ACK:2");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("USERS"), ["ana", "bob"], "a user with two devices is online once");
}

#[test]
fn a_device_that_comes_back_gets_exactly_what_it_missed() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    let mut phone = device(&server, "ana", "phone");
    let mut bob = server.login_send("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "one");
    for d in [&mut laptop, &mut phone] {
        assert_eq!(next_event(d), "MSG:1:bob:ana:m1:<ts>:one");
        d.send("ACK:1");
    }
    drop(laptop);
    // The laptop is away once the server has read its connection to the
    // end (its ACK:1 with it): a loaded machine may run that thread late.
    let mut ana = server.login_send("ana@phone", "pw-ana");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ana.listing("DEVICES").iter().any(|l| l.starts_with("laptop:") && !l.starts_with("laptop:ONLINE"))
    {
        assert!(Instant::now() < deadline, "the laptop still online after 10 s");
        std::thread::sleep(Duration::from_millis(20)); // polling
    }
    send(&mut bob, "ana", "m2", "two");
    send(&mut bob, "ana", "m3", "three");
    assert_eq!(next_event(&mut phone), "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(next_event(&mut phone), "MSG:3:bob:ana:m3:<ts>:three");
    phone.send("ACK:3");
    // The phone has everything; the laptop's position still holds 2 and 3.
    let mut laptop = device(&server, "ana", "laptop");
    assert_eq!(next_event(&mut laptop), "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(next_event(&mut laptop), "MSG:3:bob:ana:m3:<ts>:three");
    laptop.send("ACK:3");
    send(&mut bob, "ana", "m4", "four");
    assert_eq!(next_event(&mut laptop), "MSG:4:bob:ana:m4:<ts>:four", "and nothing twice");
    assert_eq!(next_event(&mut phone), "MSG:4:bob:ana:m4:<ts>:four");
}

#[test]
fn a_read_on_one_device_clears_the_unread_count_of_all_and_the_sender_gets_read_once() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    let mut phone = device(&server, "ana", "phone");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "hi");
    assert_eq!(next_event(&mut laptop), "MSG:1:bob:ana:m1:<ts>:hi");
    assert_eq!(next_event(&mut phone), "MSG:1:bob:ana:m1:<ts>:hi");
    phone.send("ACK:1");
    assert_eq!(next_event(&mut bob_recv), "STATUS:1:ana:m1:DELIVERED:<ts>");
    let mut on_laptop = server.login_send("ana@laptop", "pw-ana");
    let mut on_phone = server.login_send("ana@phone", "pw-ana");
    assert!(on_laptop.listing("CHATS").contains(&"bob:1".to_string()));
    assert_eq!(on_phone.request("READ:bob:m1"), "OK");
    assert!(on_laptop.listing("CHATS").contains(&"bob:0".to_string()), "read on the phone");
    assert_eq!(on_laptop.request("READ:bob:m1"), "OK");
    send(&mut bob, "ana", "m2", "again");
    phone.send("ACK:1"); // nothing new
    assert_eq!(next_event(&mut bob_recv), "STATUS:2:ana:m1:READ:<ts>");
    // One read mark, for the first READ: the laptop's moved nothing.
    assert_eq!(mark_without_ts(&next_event(&mut phone)), "READMARK:2:bob:m1:<ts>");
    assert_eq!(next_event(&mut phone), "MSG:3:bob:ana:m2:<ts>:again");
    phone.send("ACK:3");
    assert_eq!(next_event(&mut bob_recv), "STATUS:3:ana:m2:DELIVERED:<ts>", "READ came once");
}

#[test]
fn the_same_device_replaces_another_adds_and_one_too_many_is_refused() {
    let server = TestServer::start_with(&["--max-devices", "2"]);
    server.register(&["ana", "carl"]);
    let mut carl = server.login_recv("carl", "pw-carl");
    let mut laptop = device(&server, "ana", "laptop");
    assert_eq!(carl.line(), "JOINED:ana");
    let mut phone = device(&server, "ana", "phone");
    let again = device(&server, "ana", "LAPTOP");
    assert_eq!(laptop.read_to_close(), "BYE:REPLACED\n", "the same device, whatever its case");
    let mut third = server.recv_conn();
    let refused = third.request("LOGIN:ana@tablet:pw-ana");
    assert!(refused.starts_with("KO:TOO_MANY_DEVICES:"), "{refused}");
    // The connection waits for another login: the phone again replaces.
    assert_eq!(third.request("LOGIN:ana@phone:pw-ana"), "OK:ana");
    assert_eq!(phone.read_to_close(), "BYE:REPLACED\n");
    // One JOINED for the user, and one LEFT when its last device goes.
    drop(again.stream.shutdown(std::net::Shutdown::Both));
    drop(third);
    assert_eq!(carl.line(), "LEFT:ana");
}

#[test]
fn devices_lists_them_and_unlink_logs_one_out_for_good() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut laptop = device(&server, "ana", "laptop");
    let phone = device(&server, "ana", "phone");
    drop(phone);
    let mut ana = server.login_send("ana", "pw-ana");
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = ana.listing("DEVICES");
        if !lines[1].contains("ONLINE") || Instant::now() > deadline {
            break lines; // the phone's end is noted (polled)
        }
    };
    assert_eq!(lines[0], "laptop:ONLINE:127.0.0.1");
    let (name, rest) = lines[1].split_once(':').unwrap();
    let (ts, address) = rest.split_once(':').unwrap();
    assert_eq!((name, address), ("phone", "127.0.0.1"));
    assert!(ts.parse::<u64>().is_ok(), "{}", lines[1]);
    assert_eq!(ana.request("UNLINK:laptop"), "OK");
    assert_eq!(laptop.read_to_close(), "BYE:UNLINKED\n");
    assert_eq!(ana.listing("DEVICES").len(), 1);
    let ko = ana.request("UNLINK:laptop");
    assert!(ko.starts_with("KO:UNKNOWN_DEVICE:"), "{ko}");
}

#[test]
fn a_forgotten_device_stops_holding_the_inbox() {
    // --device-days 0: a device not online is forgotten at its user's next
    // ACK once the clock has moved a millisecond past when it was last
    // seen. The rule for longer days, the clock given rather than waited
    // for, is server::devices' unit test.
    let server = TestServer::start_with(&["--device-days", "0"]);
    server.register(&["ana", "bob"]);
    drop(device(&server, "ana", "old"));
    let mut phone = device(&server, "ana", "phone");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    // Messages, each acknowledged, until an ACK finds the old device gone
    // by (the server's log says so; its STATUS proves the ACK is in): an
    // event waited for, not a time slept.
    let forgotten = "devices: old not seen for --device-days: forgotten";
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    while !server.log().iter().any(|line| line.contains(forgotten)) {
        assert!(Instant::now() < deadline, "the old device is never forgotten: {:?}", server.log());
        n += 1;
        send(&mut bob, "ana", &format!("m{n}"), "one");
        assert_eq!(next_event(&mut phone), format!("MSG:{n}:bob:ana:m{n}:<ts>:one"));
        phone.send(&format!("ACK:{n}"));
        assert_eq!(next_event(&mut bob_recv), format!("STATUS:{n}:ana:m{n}:DELIVERED:<ts>"), "the ACK is in");
    }
    // Back, the old device starts from what the inbox still holds: nothing.
    let mut old = device(&server, "ana", "old");
    send(&mut bob, "ana", "last", "three");
    assert_eq!(next_event(&mut old), format!("MSG:{}:bob:ana:last:<ts>:three", n + 1));
}

#[test]
fn positions_survive_a_kill() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    drop(device(&server, "ana", "phone"));
    let mut bob = server.login_send("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "one");
    assert_eq!(next_event(&mut laptop), "MSG:1:bob:ana:m1:<ts>:one");
    laptop.send("ACK:1");
    drop(laptop);
    // The laptop's position is its `ACK` record, which rides the next
    // batch (polled): then the server is killed (`kill -9`).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !logged(&server.data_dir).lines().any(|l| l.starts_with("ACK,") && l.contains(",ana,laptop,,1,")) {
        assert!(Instant::now() < deadline, "the laptop's ACK not written");
        std::thread::sleep(Duration::from_millis(50)); // polling a file
    }
    server.restart(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut phone = device(&server, "ana", "phone");
    assert_eq!(next_event(&mut phone), "MSG:1:bob:ana:m1:<ts>:one", "the phone never had it");
    let mut laptop = device(&server, "ana", "laptop");
    send(&mut bob, "ana", "m2", "two");
    assert_eq!(next_event(&mut laptop), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
}

/// The text of every segment of the log of `data_dir`, oldest first.
fn logged(data_dir: &std::path::Path) -> String {
    let mut segments: Vec<_> =
        std::fs::read_dir(data_dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    segments.iter().map(|s| std::fs::read_to_string(s).unwrap_or_default()).collect()
}

/// A data directory made by an older build keeps its devices in
/// `devices.csv` (and room for it in `devices.spare`): the first start
/// writes them into the log, once, and removes both files. A token
/// linked before logs in after, through a second restart too, and each
/// device's position is kept: the laptop, which had acknowledged 1, gets
/// 2; the tablet, which had nothing, gets both.
#[test]
fn devices_of_an_older_data_directory_move_into_the_log_once() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "one");
    send(&mut bob, "ana", "m2", "two");
    drop(bob);
    server.kill();
    let token = "0123456789abcdef0123456789abcdef";
    let hash: String = wachat::store::devices::hash_token(token).iter().map(|b| format!("{b:02x}")).collect();
    let seen = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let rows = format!(
        "user,device,position,seen,address,token\nana,laptop,1,{seen},10.0.0.7,\nana,tablet,0,{seen},10.0.0.8,{hash}\nghost,x,3,{seen},10.0.0.9,\n"
    );
    std::fs::write(server.data_dir.join("devices.csv"), rows).unwrap();
    std::fs::write(server.data_dir.join("devices.spare"), vec![0; 4096]).unwrap();
    server.restart(&[]);
    for file in ["devices.csv", "devices.spare"] {
        assert!(!server.data_dir.join(file).exists(), "{file} is removed once its rows are in the log");
    }
    assert!(
        logged(&server.data_dir).contains(&format!(",@tablet,device,,1,,tablet 0 {seen} 10.0.0.8 {hash}"))
    );
    let devices = server.login_send("ana", "pw-ana").listing("DEVICES");
    let names: Vec<&str> = devices.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(names, ["laptop", "tablet"], "{devices:?}");
    let mut laptop = device(&server, "ana", "laptop");
    assert_eq!(next_event(&mut laptop), "MSG:2:bob:ana:m2:<ts>:two", "the laptop had 1");
    drop(laptop);
    server.restart(&[]);
    let mut tablet = server.recv_conn();
    assert_eq!(tablet.request("VERSION:1.2"), "OK");
    assert_eq!(
        tablet.request(&format!("LOGIN:ana@tablet:{token}")),
        "OK:ana",
        "linked before, logs in after"
    );
    assert_eq!(next_event(&mut tablet), "MSG:1:bob:ana:m1:<ts>:one");
    assert_eq!(next_event(&mut tablet), "MSG:2:bob:ana:m2:<ts>:two");
    assert!(server.send_conn().request(&format!("LOGIN:ana@laptop:{token}")).starts_with("KO:AUTH_FAILED:"));
}

/// `LINK` on a logged-in connection: the code.
fn link(server: &TestServer, user: &str) -> String {
    let mut c = server.login_send(user, &format!("pw-{user}"));
    let code = c.request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string();
    assert_eq!(code.len(), 10, "{code}");
    code
}

#[test]
fn a_link_code_gives_a_token_once_and_the_token_logs_in_only_its_device() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let code = link(&server, "ana");
    let mut fresh = server.send_conn();
    let token = fresh.request(&format!("PAIR:ana@browser:{code}"));
    let token = token.strip_prefix("OK:").expect("OK:<token>").to_string();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    // The connection waits for a login, which the token makes.
    assert_eq!(fresh.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana");
    let mut reused = server.send_conn();
    assert!(reused.request(&format!("PAIR:ana@tablet:{code}")).starts_with("KO:AUTH_FAILED:"), "used");
    reused.expect_closed();
    let mut recv = server.recv_conn();
    assert_eq!(recv.request(&format!("LOGIN:ana@browser:{token}")), "OK:ana");
    let mut other = server.recv_conn();
    assert!(other.request(&format!("LOGIN:ana@laptop:{token}")).starts_with("KO:AUTH_FAILED:"));
    let mut no_device = server.send_conn();
    assert!(no_device.request(&format!("LOGIN:ana:{token}")).starts_with("KO:AUTH_FAILED:"));
    // Unlinked, the token is worth nothing.
    assert_eq!(fresh.request("UNLINK:browser"), "OK");
    assert_eq!(recv.read_to_close(), "BYE:REPLACED\n", "it did not say VERSION:1.2");
    let mut after = server.send_conn();
    assert!(after.request(&format!("LOGIN:ana@browser:{token}")).starts_with("KO:AUTH_FAILED:"));
}

#[test]
fn guessed_link_codes_are_throttled_like_passwords() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let code = link(&server, "ana");
    let mut answers = Vec::new();
    for i in 0..6 {
        let mut c = server.send_conn();
        answers.push(c.request(&format!("PAIR:ana@x:guess{i}")));
    }
    assert!(answers[..5].iter().all(|a| a.starts_with("KO:AUTH_FAILED:")), "{answers:?}");
    assert!(answers[5].starts_with("KO:RATE_LIMITED:"), "{answers:?}");
    let mut c = server.send_conn();
    assert!(c.request(&format!("PAIR:ana@x:{code}")).starts_with("KO:RATE_LIMITED:"), "even the right one");
}

#[test]
fn a_token_login_is_never_throttled_by_a_neighbours_failures() {
    let server = TestServer::start();
    server.register(&["bob"]);
    let code = link(&server, "bob");
    let mut fresh = server.send_conn();
    let token = fresh.request(&format!("PAIR:bob@laptop:{code}")).strip_prefix("OK:").unwrap().to_string();
    // A stranger at bob's address guesses his password until refused.
    let mut refused = false;
    for _ in 0..100 {
        let answer = server.send_conn().request("LOGIN:bob:guess");
        if answer.starts_with("KO:RATE_LIMITED:") {
            refused = true;
            break;
        }
    }
    assert!(refused, "the guesses are throttled");
    for _ in 0..20 {
        let mut c = server.send_conn();
        assert_eq!(c.request(&format!("LOGIN:bob@laptop:{token}")), "OK:bob");
    }
    let mut recv = server.recv_conn();
    assert_eq!(recv.request(&format!("LOGIN:bob@laptop:{token}")), "OK:bob");
}

#[test]
fn a_device_login_waits_for_version_right_after_it() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut c = server.recv_conn();
    c.send("LOGIN:ana@tui:pw-ana");
    c.send("VERSION:1.1");
    c.send("VERSION:1.2");
    assert_eq!(c.line(), "OK:ana");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("UNLINK:tui"), "OK");
    assert_eq!(c.read_to_close(), "BYE:UNLINKED\n", "it is a 1.2 connection");
}

/// A `READMARK` without its `<ts>`.
fn mark_without_ts(line: &str) -> String {
    match line.rsplit_once(':') {
        Some((head, ts)) if line.starts_with("READMARK:") && ts.parse::<u64>().is_ok() => {
            format!("{head}:<ts>")
        }
        _ => line.to_string(),
    }
}

#[test]
fn a_message_sent_on_one_device_appears_on_the_others_with_its_ticks() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    let mut phone = device(&server, "ana", "phone");
    let mut on_laptop = server.login_send("ana@laptop", "pw-ana");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    send(&mut on_laptop, "bob", "m1", "sent on the laptop");
    assert_eq!(next_event(&mut phone), "MSG:1:ana:bob:m1:<ts>:sent on the laptop", "from = you");
    assert_eq!(next_event(&mut laptop), "MSG:1:ana:bob:m1:<ts>:sent on the laptop");
    assert_eq!(next_event(&mut bob_recv), "MSG:1:ana:bob:m1:<ts>:sent on the laptop");
    bob_recv.send("ACK:1");
    assert_eq!(next_event(&mut phone), "STATUS:2:bob:m1:DELIVERED:<ts>", "the ticks on every device");
    assert_eq!(next_event(&mut laptop), "STATUS:2:bob:m1:DELIVERED:<ts>");
    send(&mut on_laptop, "#general", "r1", "to the room");
    assert_eq!(next_event(&mut phone), "MSG:3:ana:#general:r1:<ts>:to the room");
}

#[test]
fn a_device_away_while_another_reads_gets_what_it_missed_and_the_read_mark() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = device(&server, "ana", "laptop");
    let mut phone = device(&server, "ana", "phone");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    send(&mut bob, "ana", "m1", "one");
    for d in [&mut laptop, &mut phone] {
        assert_eq!(next_event(d), "MSG:1:bob:ana:m1:<ts>:one");
        d.send("ACK:1");
    }
    assert_eq!(next_event(&mut bob_recv), "STATUS:1:ana:m1:DELIVERED:<ts>");
    drop(laptop);
    send(&mut bob, "ana", "m2", "two");
    assert_eq!(next_event(&mut phone), "MSG:2:bob:ana:m2:<ts>:two");
    phone.send("ACK:2");
    assert_eq!(next_event(&mut bob_recv), "STATUS:2:ana:m2:DELIVERED:<ts>");
    let mut on_phone = server.login_send("ana@phone", "pw-ana");
    assert_eq!(on_phone.request("READ:bob:m2"), "OK");
    assert_eq!(mark_without_ts(&next_event(&mut phone)), "READMARK:3:bob:m2:<ts>");
    assert_eq!(next_event(&mut bob_recv), "STATUS:3:ana:m2:READ:<ts>");
    phone.send("ACK:3");
    // The laptop comes back: what it missed, the read mark, nothing twice.
    let mut laptop = device(&server, "ana", "laptop");
    assert_eq!(next_event(&mut laptop), "MSG:2:bob:ana:m2:<ts>:two");
    assert_eq!(mark_without_ts(&next_event(&mut laptop)), "READMARK:3:bob:m2:<ts>");
    laptop.send("ACK:3");
    send(&mut bob, "ana", "m3", "three");
    assert_eq!(next_event(&mut laptop), "MSG:4:bob:ana:m3:<ts>:three");
    assert!(on_phone.listing("CHATS").contains(&"bob:1".to_string()), "unread counts from the mark");
}

#[test]
fn a_version_1_connection_of_a_user_with_devices_gets_version_1_frames() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut old = server.login_recv("ana", "pw-ana"); // the device `default`, 1.0
    let mut phone = device(&server, "ana", "phone");
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    send(&mut ana, "bob", "m1", "mine");
    assert_eq!(next_event(&mut phone), "MSG:1:ana:bob:m1:<ts>:mine");
    send(&mut bob, "ana", "m2", "yours");
    // No copy, no READMARK on the 1.0 connection; its ACKs count past them.
    assert_eq!(next_event(&mut old), "MSG:2:bob:ana:m2:<ts>:yours");
    assert_eq!(ana.request("READ:bob:m2"), "OK");
    old.send("ACK:2");
    send(&mut bob, "ana", "m3", "more");
    assert_eq!(next_event(&mut old), "MSG:4:bob:ana:m3:<ts>:more", "3 was the read mark");
    assert_eq!(next_event(&mut phone), "MSG:2:bob:ana:m2:<ts>:yours");
    assert_eq!(mark_without_ts(&next_event(&mut phone)), "READMARK:3:bob:m2:<ts>");
}
