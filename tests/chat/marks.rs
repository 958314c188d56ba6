//! Protocol 1.2's chats marked unread and deleted for oneself
//! (docs/PROTOCOL.md §29), on a single server: `MARK`, `UNMARK`, `MARKED`,
//! `HIDE`, `HIDDEN`, their events on every 1.2 device (and never on a 1.0
//! one), their bound, and that they survive a restart.

use super::support;

use support::TestServer;

#[test]
fn the_session_of_protocol_md_section_29_plays_back() {
    let server = TestServer::start();
    support::prefs::play_session("## 29. Version 1.2: a chat marked unread", 25, |who| match who {
        "P" => server.recv_conn(),
        _ => server.send_conn(),
    });
}

#[test]
fn marks_and_deletions_are_kept_per_user_ignoring_case_and_change_nothing_else() {
    let server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:hello").starts_with("OK:m1:"));
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("MARKED"), Vec::<String>::new());
    assert_eq!(ana.request("MARK:Bob"), "OK");
    assert_eq!(ana.request("MARK:#Lab3"), "OK", "the chat need not exist");
    assert_eq!(ana.request("MARK:BOB"), "OK", "again: the first name stays");
    assert_eq!(ana.listing("MARKED"), ["#Lab3", "Bob"]);
    assert_eq!(ana.request("UNMARK:#lab3"), "OK");
    assert_eq!(ana.request("UNMARK:carl"), "OK", "also when not marked");
    assert_eq!(ana.request("HIDE:bob"), "OK");
    let first = ana.listing("HIDDEN");
    let ts = |line: &str| line.rsplit_once(':').unwrap().1.parse::<u64>().unwrap();
    assert!(first.len() == 1 && first[0].starts_with("bob:"), "{first:?}");
    // Deleted for ana only, and nothing is: bob's copy, ana's history, her unread count.
    assert_eq!(bob.listing("HIDDEN"), Vec::<String>::new());
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 1);
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 1);
    assert_eq!(ana.listing("ARCHIVED"), Vec::<String>::new());
    // A HIDE again moves the time on.
    std::thread::sleep(std::time::Duration::from_millis(5)); // a later millisecond
    assert_eq!(ana.request("HIDE:BOB"), "OK");
    let again = ana.listing("HIDDEN");
    assert!(again[0].starts_with("bob:") && ts(&again[0]) > ts(&first[0]), "{first:?} {again:?}");
    // Kept across a restart.
    let mut server = server;
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("MARKED"), ["Bob"]);
    assert_eq!(ana.listing("HIDDEN"), again);
}

#[test]
fn every_1_2_device_is_told_and_a_1_0_one_never() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut new = server.recv_conn();
    assert_eq!(new.request("VERSION:1.2"), "OK");
    assert_eq!(new.request("LOGIN:ana@phone:pw-ana"), "OK:ana");
    let mut old = server.login_recv("ana", "pw-ana");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("MARK:bob"), "OK");
    assert_eq!(new.line(), "MARK:bob:marked");
    assert_eq!(ana.request("HIDE:bob"), "OK");
    let told = new.line();
    assert!(told.starts_with("HIDE:bob:") && told[9..].parse::<u64>().is_ok(), "{told}");
    assert_eq!(old.line_within(std::time::Duration::from_millis(300)), None, "a 1.0 device is told nothing");
}

#[test]
fn a_thousand_and_first_mark_is_full() {
    let server = TestServer::start_with(&["--rate", "0"]);
    let [mut ana] = server.logged_in(["ana"]);
    let batch: String = (0..1000).map(|i| format!("MARK:#r{i}\n")).collect();
    ana.send_raw(batch.as_bytes());
    assert!((0..1000).all(|_| ana.line() == "OK"));
    assert_eq!(
        ana.request("MARK:#one-more"),
        "KO:FULL:you have 1000 chats marked unread already, the most there may be"
    );
    assert_eq!(ana.request("MARK:#R7"), "OK", "one already there is no new one");
}
