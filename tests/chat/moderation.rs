//! Moderation (protocol 1.2), black-box over sockets: every
//! request of the table, each refused to a non-admin; a mute that runs
//! out; a ban that holds across restarts; an invite-only room; server
//! admins; and what a client of 1.0 sees (the notice in the room's text)
//! beside what a 1.2 client sees (the event too).

use super::support;

use std::time::{Duration, Instant};

use support::console::run_wachat;
use support::{Conn, READ_TIMEOUT, TestServer};

/// ana owns `#lab3`; bob and eve are in it. Returns their send connections.
fn class(server: &TestServer) -> (Conn, Conn, Conn) {
    server.register(&["ana", "bob", "eve", "carl"]);
    let (mut ana, mut bob, mut eve) = (
        server.login_send("ana", "pw-ana"),
        server.login_send("bob", "pw-bob"),
        server.login_send("eve", "pw-eve"),
    );
    for c in [&mut ana, &mut bob, &mut eve] {
        assert_eq!(c.request("JOIN:#lab3"), "OK");
    }
    (ana, bob, eve)
}

/// `wachat users admin <args>`.
fn users_admin(args: &[&str]) -> support::console::Outcome {
    let all: Vec<String> = ["users", "admin"].iter().chain(args).map(|s| s.to_string()).collect();
    run_wachat(&all, "", "")
}

fn forbidden(reply: &str) -> bool {
    reply.starts_with("KO:FORBIDDEN:")
}

/// A receive connection of `user` that said `VERSION:1.1` and `1.2`, once
/// the server has read them (ana's direct message to it is acknowledged).
fn opted_in(server: &TestServer, user: &str, ana: &mut Conn) -> Conn {
    assert!(ana.request(&format!("MSG:{user}:hello-{user}:hi")).starts_with("OK:"));
    let mut events = server.login_recv(user, &format!("pw-{user}"));
    let first = events.next_msg();
    let seq = first.split(':').nth(1).unwrap().to_string();
    events.send("VERSION:1.1");
    events.send("VERSION:1.2");
    events.send(&format!("ACK:{seq}"));
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let history = ana.listing(&format!("HISTORY:{user}:1"));
        if history[0].contains(":DELIVERED:") {
            return events;
        }
        assert!(Instant::now() < deadline, "the ACK was not read: {history:?}");
        std::thread::sleep(Duration::from_millis(20)); // polling the server's view
    }
}

#[test]
fn a_non_admin_can_do_none_of_it() {
    let server = TestServer::start();
    let (_ana, mut bob, _eve) = class(&server);
    for line in [
        "TOPIC:#lab3:mine now",
        "MODE:#lab3:+announce",
        "MODE:#lab3:-invite",
        "INVITE:#lab3:carl",
        "KICK:#lab3:eve",
        "BAN:#lab3:eve:0",
        "UNBAN:#lab3:eve",
        "MUTE:#lab3:eve:5",
        "UNMUTE:#lab3:eve",
        "OP:#lab3:bob",
        "DEOP:#lab3:ana",
    ] {
        let reply = bob.request(line);
        assert!(forbidden(&reply), "{line}: {reply}");
    }
    // A stranger too, and nothing changed.
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(forbidden(&carl.request("KICK:#lab3:bob")));
    assert_eq!(carl.request("ROOMINFO:#lab3"), "KO:NOT_MEMBER:you are not in #lab3");
    assert_eq!(bob.listing("ROOMINFO:#lab3"), ["ROOM:#lab3", "OWNER:ana", "ROLE:MEMBER"]);
    assert!(bob.request("MSG:#lab3:b1:still here").starts_with("OK:b1:"));
    // Bad shapes are BAD_REQUEST, as any request.
    assert!(bob.request("MUTE:#lab3:eve:0").starts_with("KO:BAD_REQUEST:"));
    assert!(bob.request("MODE:#lab3:+moderated").starts_with("KO:BAD_REQUEST:"));
}

#[test]
fn every_row_of_the_table_works_for_the_owner_and_its_admins() {
    let server = TestServer::start();
    let (mut ana, mut bob, mut eve) = class(&server);
    // TOPIC, shown by ROOMINFO.
    assert_eq!(ana.request("TOPIC:#lab3:Deadline: friday 23:59"), "OK");
    assert!(bob.listing("ROOMINFO:#lab3").contains(&"TOPIC:Deadline: friday 23:59".to_string()));
    // MODE +announce: only admins send.
    assert_eq!(ana.request("MODE:#lab3:+announce"), "OK");
    assert!(forbidden(&bob.request("MSG:#lab3:b1:hi")));
    assert!(ana.request("MSG:#lab3:a1:read chapter 3").starts_with("OK:a1:"));
    assert_eq!(ana.request("MODE:#lab3:-announce"), "OK");
    assert!(bob.request("MSG:#lab3:b2:hi").starts_with("OK:b2:"));
    // MUTE / UNMUTE: bob reads, cannot send; ROOMINFO says until when.
    assert_eq!(ana.request("MUTE:#lab3:bob:60"), "OK");
    let reply = bob.request("MSG:#lab3:b3:hi");
    assert!(forbidden(&reply) && reply.contains("muted"), "{reply}");
    assert!(bob.listing("ROOMINFO:#lab3").iter().any(|l| l.starts_with("MUTED:")));
    assert!(bob.listing("HISTORY:#lab3:50").iter().any(|l| l.contains("read chapter 3")));
    assert_eq!(ana.request("UNMUTE:#lab3:bob"), "OK");
    assert!(bob.request("MSG:#lab3:b4:thanks").starts_with("OK:b4:"));
    // OP: eve moderates, but may not act on the owner nor grant admin.
    assert!(forbidden(&eve.request("MUTE:#lab3:bob:5")));
    assert_eq!(ana.request("OP:#lab3:eve"), "OK");
    assert!(eve.listing("ROOMINFO:#lab3").contains(&"ADMIN:eve".to_string()));
    assert!(forbidden(&eve.request("KICK:#lab3:ana")));
    assert!(forbidden(&eve.request("OP:#lab3:bob")));
    // KICK: bob is out, and may join again.
    assert_eq!(eve.request("KICK:#lab3:bob"), "OK");
    assert!(!bob.listing("ROOMS").iter().any(|r| r.starts_with("lab3:")));
    assert_eq!(bob.request("MSG:#lab3:b5:hi").split(':').nth(1), Some("NOT_MEMBER"));
    assert_eq!(eve.request("KICK:#lab3:bob"), "KO:NOT_MEMBER:bob is not in #lab3");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
    // BAN for good / UNBAN.
    assert_eq!(eve.request("BAN:#lab3:bob:0"), "OK");
    let reply = bob.request("JOIN:#lab3");
    assert!(forbidden(&reply) && reply.contains("banned"), "{reply}");
    assert_eq!(bob.listing("ROOMINFO:#lab3").last().map(String::as_str), Some("BANNED:0"));
    assert_eq!(eve.request("UNBAN:#lab3:bob"), "OK");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
    // DEOP is the owner's.
    assert!(forbidden(&eve.request("DEOP:#lab3:eve")));
    assert_eq!(ana.request("DEOP:#lab3:eve"), "OK");
    assert!(forbidden(&eve.request("KICK:#lab3:bob")));
    // Unknown users and rooms.
    assert_eq!(ana.request("KICK:#lab3:nobody"), "KO:UNKNOWN_USER:no user named nobody");
    assert_eq!(ana.request("TOPIC:#nowhere:x"), "KO:NOT_MEMBER:no room named #nowhere");
}

#[test]
fn an_invite_only_room_refuses_strangers() {
    let server = TestServer::start();
    let (mut ana, _bob, _eve) = class(&server);
    assert_eq!(ana.request("MODE:#lab3:+invite"), "OK");
    let mut carl = server.login_send("carl", "pw-carl");
    let reply = carl.request("JOIN:#lab3");
    assert!(forbidden(&reply) && reply.contains("invite-only"), "{reply}");
    assert_eq!(ana.request("INVITE:#lab3:Carl"), "OK");
    // The invitation reached carl as a direct message from ana.
    assert!(carl.listing("HISTORY:ana:5").iter().any(|l| l.contains("invites you to #lab3")));
    assert!(carl.listing("ROOMINFO:#lab3").contains(&"ROLE:NONE".to_string()));
    assert_eq!(carl.request("JOIN:#lab3"), "OK");
    // Used up: out again, carl needs a new one.
    assert_eq!(carl.request("LEAVE:#lab3"), "OK");
    assert!(forbidden(&carl.request("JOIN:#lab3")));
    // The owner always gets in.
    assert_eq!(ana.request("LEAVE:#lab3"), "OK");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
}

#[test]
fn a_mute_runs_out_on_time() {
    // A minute of 300 ms (the hidden --minute-ms), so the test takes a moment.
    let server = TestServer::start_with(&["--minute-ms", "300"]);
    let (mut ana, mut bob, _eve) = class(&server);
    assert_eq!(ana.request("MUTE:#lab3:bob:1"), "OK");
    let muted_at = Instant::now();
    assert!(forbidden(&bob.request("MSG:#lab3:b1:hi")));
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut n = 2;
    loop {
        let reply = bob.request(&format!("MSG:#lab3:b{n}:hi"));
        if reply.starts_with("OK:") {
            break;
        }
        assert!(forbidden(&reply), "{reply}");
        assert!(Instant::now() < deadline, "the mute did not run out");
        n += 1;
        std::thread::sleep(Duration::from_millis(25)); // polling the server's clock
    }
    assert!(muted_at.elapsed() >= Duration::from_millis(250), "ran out too soon: {:?}", muted_at.elapsed());
    assert!(!bob.listing("ROOMINFO:#lab3").iter().any(|l| l.starts_with("MUTED:")));
}

#[test]
fn rules_hold_across_restarts_from_the_log_and_from_a_checkpoint() {
    let mut server = TestServer::start();
    let (mut ana, _bob, _eve) = class(&server);
    for line in
        ["BAN:#lab3:bob:0", "MODE:#lab3:+announce", "TOPIC:#lab3:week 2", "OP:#lab3:eve", "MUTE:#lab3:eve:60"]
    {
        assert_eq!(ana.request(line), "OK", "{line}");
    }
    drop(ana);
    let expected = ["ROOM:#lab3", "OWNER:ana", "ADMIN:eve", "MODE:+announce", "TOPIC:week 2", "ROLE:OWNER"]
        .map(String::from);
    // From the log, then from a checkpoint written at every record.
    for args in [&[][..], &["--checkpoint-records", "1"][..], &[][..]] {
        server.restart(args);
        let mut bob = server.login_send("bob", "pw-bob");
        assert!(forbidden(&bob.request("JOIN:#lab3")), "{args:?}");
        let mut ana = server.login_send("ana", "pw-ana");
        assert_eq!(ana.listing("ROOMINFO:#lab3"), expected, "{args:?}");
        assert!(ana.request(&format!("MSG:#lab3:a{}:still mine", args.len())).starts_with("OK:"));
        let mut carl = server.login_send("carl", "pw-carl");
        assert_eq!(carl.request("JOIN:#lab3"), "OK");
        assert!(forbidden(&carl.request("MSG:#lab3:c1:hi")), "+announce after a restart");
        assert_eq!(carl.request("LEAVE:#lab3"), "OK");
    }
}

#[test]
fn a_v1_client_sees_the_notice_and_a_1_2_client_the_event_too() {
    let server = TestServer::start();
    let (mut ana, _bob, mut eve) = class(&server);
    let mut eve_events = opted_in(&server, "eve", &mut ana);
    let mut bob_events = server.login_recv("bob", "pw-bob"); // a 1.0 client: no VERSION
    assert_eq!(ana.request("MUTE:#lab3:bob:10"), "OK");
    let notice = bob_events.next_msg();
    assert!(
        notice.contains(":ana:#lab3:mod-") && notice.ends_with(":* ana muted bob in #lab3 for 10 minutes"),
        "{notice}"
    );
    // eve, on 1.2: the same message (the room's text) and the event.
    let mut two = [eve_events.next_event(), eve_events.next_event()];
    two.sort();
    assert!(
        two[0].starts_with("MSG:") && two[0].ends_with("* ana muted bob in #lab3 for 10 minutes"),
        "{two:?}"
    );
    assert!(two[1].starts_with("MUTED:#lab3:ana:bob:"), "{two:?}");
    // The v1 client still works: it reads, and is told why it cannot send.
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(forbidden(&bob.request("MSG:#lab3:b1:hi")));
    assert!(eve.request("MSG:#lab3:e1:hi bob").starts_with("OK:"));
    assert!(bob_events.next_msg().ends_with(":hi bob"));
    // A kick: bob hears it before it leaves the room.
    assert_eq!(ana.request("KICK:#lab3:bob"), "OK");
    assert!(bob_events.next_msg().ends_with(":* ana removed bob from #lab3"));
    let mut kicked = [eve_events.next_event(), eve_events.next_event()];
    kicked.sort();
    assert_eq!(kicked[0], "KICKED:#lab3:ana:bob", "{kicked:?}");
    // A change that changes nothing is neither stored nor told.
    assert_eq!(ana.request("TOPIC:#lab3:"), "OK");
    assert!(eve.request("PING") == "OK");
}

#[test]
fn a_server_admin_moderates_every_room_and_general_has_no_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let server = TestServer::start_in(&data, &[]);
        let (_ana, _bob, _eve) = class(&server);
    }
    let dir = data.display().to_string();
    let out = users_admin(&["carl", "--data-dir", &dir]);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("carl is a server admin"), "{}", out.stdout);
    let missing = users_admin(&["nobody", "--data-dir", &dir]);
    assert_eq!(missing.status.code(), Some(1));
    let server = TestServer::start_in(&data, &[]);
    let mut carl = server.login_send("carl", "pw-carl");
    // Not in #lab3, and yet: (no notice in its text, carl has no place there)
    assert_eq!(carl.listing("ROOMINFO:#lab3").last().map(String::as_str), Some("ROLE:SERVER_ADMIN"));
    assert_eq!(carl.request("KICK:#lab3:ana"), "OK", "even the owner");
    assert_eq!(carl.request("OP:#lab3:bob"), "OK");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(forbidden(&bob.request("KICK:#lab3:carl")), "nobody acts on a rank above");
    // #general: nobody owns it, the server admin runs it.
    assert_eq!(bob.listing("ROOMINFO:#general"), ["ROOM:#general", "ROLE:MEMBER"]);
    assert!(forbidden(&bob.request("MODE:#general:+announce")));
    assert_eq!(carl.request("MODE:#general:+announce"), "OK");
    assert!(forbidden(&bob.request("MSG:#general:b1:hi all")));
    drop(server);
    let removed = users_admin(&["carl", "--remove", "--data-dir", &dir]);
    assert!(removed.status.success(), "{}", removed.stderr);
    let server = TestServer::start_in(&data, &[]);
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(forbidden(&carl.request("MODE:#general:-announce")));
}

#[test]
fn the_console_moderates_and_a_muted_user_is_told_until_when() {
    let server = TestServer::start();
    let (mut ana_raw, _bob, _eve) = class(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = support::console::Console::start(&server, "ana", dir.path(), &[]);
    let mut bob = support::console::Console::start(&server, "bob", dir.path(), &[]);
    // bob's console said VERSION:1.2 once the server read its ACK of this.
    assert!(ana_raw.request("MSG:bob:hello:are you there?").starts_with("OK:"));
    bob.expect("are you there?");
    let deadline = Instant::now() + READ_TIMEOUT;
    while !ana_raw.listing("HISTORY:bob:1")[0].contains(":DELIVERED:") {
        assert!(Instant::now() < deadline, "bob's console did not acknowledge");
        std::thread::sleep(Duration::from_millis(20)); // polling the server's view
    }
    ana.type_line("/chat #lab3");
    ana.type_line("/topic week 2: sockets");
    ana.expect("done");
    bob.expect("[#lab3] ana: * ana set the topic of #lab3: week 2: sockets");
    ana.type_line("/mute bob 10");
    ana.expect("done");
    // bob's console says until when (the 1.2 event), beside the room's notice.
    bob.expect("[#lab3] ana muted you until");
    bob.type_line("/chat #lab3");
    // The room's header line: its topic, and until when bob is muted.
    bob.expect("topic: week 2: sockets · you are muted until");
    bob.type_line("may I?");
    bob.expect("you are muted in #lab3 for 10 more minutes");
    bob.type_line("/roominfo");
    bob.expect("topic: week 2: sockets");
    bob.expect("you are muted until");
    ana.type_line("/mode +announce");
    ana.expect("done");
    ana.type_line("/roominfo #lab3");
    ana.expect("📢 announce-only");
    ana.expect("you are: owner");
    // Not an admin: refused, with the server's reason.
    bob.type_line("/kick eve");
    bob.expect("only the admins of #lab3");
    let (status, _) = ana.quit("/quit");
    assert!(status.success());
    let (status, _) = bob.quit("/quit");
    assert!(status.success());
}
