//! Protocol 1.2's starred messages (docs/PROTOCOL.md §25), on a single
//! server: `STAR`, `UNSTAR`, `STARRED`, the `STAR` event on every 1.2
//! device (and never on a 1.0 one), what may be starred, what a deletion
//! does, the bound of 500, and that stars survive a `kill -9` and a
//! checkpoint, go with a deleted account and are in an account's export.

use super::support;

use std::time::Duration;

use support::{Conn, TestServer};

/// Sends `lines` without waiting, then reads one reply each.
fn pipelined(conn: &mut Conn, lines: &[String]) -> Vec<String> {
    let batch: String = lines.iter().map(|l| format!("{l}\n")).collect();
    conn.send_raw(batch.as_bytes());
    lines.iter().map(|_| conn.line()).collect()
}

/// `line`'s `<ts>` field (a `STARRED` line is a `HISTORY` line) as `<ts>`.
fn no_ts(line: &str) -> String {
    let mut f: Vec<&str> = line.splitn(6, ':').collect();
    f[3] = "<ts>";
    f.join(":")
}

#[test]
fn the_session_of_protocol_md_section_25_plays_back() {
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    support::prefs::play_session("## 25. Version 1.2: starred messages", 50, |who| match who {
        "P" => server.recv_conn(),
        _ => server.send_conn(),
    });
}

#[test]
fn only_a_message_you_can_see_is_starred() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    assert!(bob.request("MSG:carl:c1:between us").starts_with("OK:c1:"));
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert!(bob.request("MSG:#lab:r1:in the lab").starts_with("OK:r1:"));
    assert!(bob.request("MSG:ana:m1:hi ana").starts_with("OK:m1:"));
    assert!(bob.request("EDIT:ana:m1:hello ana").starts_with("OK:_e"));
    let edit_id = bob.listing("HISTORY:ana:10")[1].split(':').nth(2).unwrap().to_string();

    for (line, reply) in [
        (
            "STAR:carl:bob:c1",
            "KO:UNKNOWN_MESSAGE:there is no message c1 of bob in carl among its newest 1000",
        ),
        ("STAR:bob:bob:c1", "KO:UNKNOWN_MESSAGE:there is no message c1 of bob in bob among its newest 1000"),
        ("STAR:#lab:bob:r1", "KO:NOT_MEMBER:you are not in #lab"),
        ("STAR:nobody:bob:m1", "KO:UNKNOWN_USER:no user named nobody"),
        ("STAR:bob:ana:m1", "KO:UNKNOWN_MESSAGE:there is no message m1 of ana in bob among its newest 1000"),
    ] {
        assert_eq!(ana.request(line), reply, "{line}");
    }
    // An action is no message of its own to star.
    let action = ana.request(&format!("STAR:bob:bob:{edit_id}"));
    assert!(action.starts_with("KO:UNKNOWN_MESSAGE:there is no message _e"), "{action}");
    assert_eq!(ana.listing("STARRED"), Vec::<String>::new());

    assert_eq!(carl.request("STAR:bob:bob:c1"), "OK", "carl sees it");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("STAR:#lab:bob:r1"), "OK", "a member sees the room's");
    assert_eq!(ana.request("STAR:bob:BOB:m1"), "OK");
    let mut starred: Vec<String> = ana.listing("STARRED").iter().map(|l| no_ts(l)).collect();
    starred.sort(); // sent in the same millisecond, maybe
    assert_eq!(starred, ["bob:#lab:r1:<ts>:RECEIVED:in the lab", "bob:ana:m1:<ts>:RECEIVED:hello ana"]);
    assert_eq!(carl.listing("STARRED").len(), 1, "stars are each user's own");

    // Leaving the room hides its star; coming back shows it again.
    assert_eq!(ana.request("LEAVE:#lab"), "OK");
    assert_eq!(ana.listing("STARRED").len(), 1);
    assert_eq!(ana.request("UNSTAR:#lab:bob:r1"), "OK", "unstarring needs no sight of it");
    assert_eq!(ana.request("UNSTAR:#lab:bob:r1"), "OK", "nor a star");
}

#[test]
fn a_deleted_message_hides_its_star_until_unstarred() {
    let server = TestServer::start();
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert!(bob.request("MSG:ana:m1:a secret").starts_with("OK:m1:"));
    assert!(bob.request("MSG:#lab:r1:spam").starts_with("OK:r1:"));
    assert!(ana.request("MSG:bob:a1:mine").starts_with("OK:a1:"));
    for line in ["STAR:bob:bob:m1", "STAR:#lab:bob:r1", "STAR:bob:ana:a1"] {
        assert_eq!(ana.request(line), "OK", "{line}");
    }
    assert_eq!(ana.listing("STARRED").len(), 3);

    assert!(bob.request("DELETE:ana:m1").starts_with("OK:_d"), "by its author");
    // The room's owner is bob; ana deletes her own, so the rule holds for both.
    assert!(ana.request("DELETE:bob:a1").starts_with("OK:_d"));
    let left: Vec<String> = ana.listing("STARRED").iter().map(|l| no_ts(l)).collect();
    assert_eq!(left, ["bob:#lab:r1:<ts>:RECEIVED:spam"]);
    assert_eq!(ana.request("STAR:bob:bob:m1"), "KO:UNKNOWN_MESSAGE:the message m1 of bob was deleted");
    assert_eq!(ana.request("UNSTAR:bob:bob:m1"), "OK");
    assert_eq!(ana.listing("STARRED").len(), 1);
}

#[test]
fn every_1_2_device_is_told_and_a_1_0_client_is_not() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut laptop = server.login_send("ana@laptop", "pw-ana");
    let mut phone_events = server.events_1_2("ana", Some("phone"));
    let mut laptop_events = server.events_1_2("ana", Some("laptop"));
    let mut old_events = server.login_recv("ana", "pw-ana");

    assert!(bob.request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    for events in [&mut phone_events, &mut laptop_events] {
        assert!(events.next_event().starts_with("MSG:1:bob:ana:b1:"));
    }
    assert!(old_events.next_msg().starts_with("MSG:1:bob:ana:b1:"));
    assert_eq!(laptop.request("STAR:bob:bob:b1"), "OK");
    for events in [&mut phone_events, &mut laptop_events] {
        assert_eq!(events.next_event(), "STAR:bob:bob:b1:starred");
    }
    assert_eq!(laptop.request("UNSTAR:Bob:bob:b1"), "OK");
    assert_eq!(phone_events.next_event(), "STAR:Bob:bob:b1:unstarred");
    // A refused star tells nobody.
    assert!(laptop.request("STAR:bob:bob:nope").starts_with("KO:UNKNOWN_MESSAGE:"));

    // The 1.0 connection's next event is bob's next message: it was told nothing else.
    assert!(bob.request("MSG:ana:b2:again").starts_with("OK:b2:"));
    assert!(old_events.next_msg().starts_with("MSG:2:bob:ana:b2:"));
    assert!(phone_events.next_event().starts_with("MSG:2:bob:ana:b2:"));
}

#[test]
fn the_501st_star_is_full() {
    let server = TestServer::start_with(&["--rate", "0"]);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    let sent: Vec<String> = (0..501).map(|i| format!("MSG:ana:m{i}:number {i}")).collect();
    assert!(pipelined(&mut bob, &sent).iter().all(|reply| reply.starts_with("OK:m")));
    let stars: Vec<String> = (0..500).map(|i| format!("STAR:bob:bob:m{i}")).collect();
    assert!(pipelined(&mut ana, &stars).iter().all(|reply| reply == "OK"));
    let full = ana.request("STAR:bob:bob:m500");
    assert_eq!(full, "KO:FULL:you have 500 starred messages already, the most there may be");
    assert_eq!(ana.request("STAR:bob:bob:m7"), "OK", "one already starred is no new one");
    assert_eq!(ana.request("UNSTAR:bob:bob:m0"), "OK");
    assert_eq!(ana.request("STAR:bob:bob:m500"), "OK", "room again");
    let listed = ana.listing("STARRED");
    assert_eq!(listed.len(), 500);
    assert!(listed[0].starts_with("bob:ana:m500:"), "newest first: {}", listed[0]);
    assert!(listed[499].starts_with("bob:ana:m1:"), "{}", listed[499]);
}

#[test]
fn stars_survive_a_crash_and_a_checkpoint() {
    let mut server = TestServer::start();
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    for i in 0..4 {
        assert!(bob.request(&format!("MSG:ana:m{i}:text {i}")).starts_with("OK:"));
    }
    for line in ["STAR:bob:bob:m0", "STAR:bob:bob:m1", "STAR:bob:bob:m2", "UNSTAR:bob:bob:m1"] {
        assert_eq!(ana.request(line), "OK");
    }
    let before = ana.listing("STARRED");
    assert_eq!(before.len(), 2);
    // From the log; then from a checkpoint written at every record.
    for args in [&[][..], &["--checkpoint-records", "1"][..], &[][..]] {
        server.restart(args); // kill -9, then a start on the same data
        let mut ana = server.login_send("ana", "pw-ana");
        assert_eq!(ana.listing("STARRED"), before, "{args:?}");
        assert_eq!(ana.request("STAR:bob:bob:m3"), "OK", "{args:?}");
        assert_eq!(ana.request("UNSTAR:bob:bob:m3"), "OK", "{args:?}");
    }
}

#[test]
fn a_deleted_account_takes_its_stars_along() {
    let at_once = ["--name-quarantine-days", "0"];
    let mut server = TestServer::start_with(&at_once);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert!(bob.request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    assert_eq!(ana.request("STAR:bob:bob:m1"), "OK");
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("STARRED"), Vec::<String>::new());
    server.restart(&at_once); // the log replayed: the old account's are gone still
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("STARRED"), Vec::<String>::new());
    assert!(bob_again(&server).request("MSG:ana:m2:new ana").starts_with("OK:m2:"));
    assert_eq!(ana.request("STAR:bob:bob:m2"), "OK");
    assert_eq!(ana.listing("STARRED").len(), 1);
}

fn bob_again(server: &TestServer) -> Conn {
    server.login_send("bob", "pw-bob")
}

#[test]
fn an_export_holds_the_stars_as_starred_lists_them() {
    let mut server = TestServer::start();
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert!(bob.request("MSG:ana:m1:star \"me\"").starts_with("OK:m1:"));
    assert_eq!(ana.request("STAR:bob:bob:m1"), "OK");
    let line = ana.listing("STARRED").remove(0);
    let ts = line.split(':').nth(3).unwrap().to_string();
    let expected = format!(
        r#"{{"type":"starred","from":"bob","to":"ana","id":"m1","state":"RECEIVED","text":"star \"me\"","ts":{ts}}}"#
    );
    let export = |server: &TestServer| {
        let dir = server.data_dir.display().to_string();
        let out = support::run_wachat_output(
            "users",
            &["export", "ana", "--data-dir", &dir],
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Beside the running server, then from the data directory alone.
    assert!(export(&server).lines().any(|l| l == expected), "{}", export(&server));
    assert_eq!(server.terminate().code(), Some(0));
    assert!(export(&server).lines().any(|l| l == expected));
}
