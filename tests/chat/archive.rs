//! Protocol 1.2's archived chats (docs/PROTOCOL.md §23), on a single
//! server: `ARCHIVE`, `UNARCHIVE`, `ARCHIVED`, the `ARCHIVE` event on
//! every 1.2 device (and never on a 1.0 one), the bound of
//! `MAX_ARCHIVED`, and that they survive a `kill -9` and a checkpoint and
//! go with a deleted account.

use super::support;

use support::{Conn, TestServer};

#[test]
fn archive_unarchive_and_list_ignoring_case_keeping_the_first_name() {
    let server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    assert_eq!(ana.listing("ARCHIVED"), Vec::<String>::new());
    assert_eq!(ana.request("ARCHIVE:Bob"), "OK", "the chat need not exist");
    assert_eq!(ana.request("ARCHIVE:#Lab3"), "OK");
    assert_eq!(ana.request("ARCHIVE:carl"), "OK");
    assert_eq!(ana.request("ARCHIVE:bob"), "OK", "again: the first name stays");
    assert_eq!(ana.listing("ARCHIVED"), ["#Lab3", "Bob", "carl"], "sorted by folded name");

    assert_eq!(ana.request("UNARCHIVE:BOB"), "OK");
    assert_eq!(ana.request("UNARCHIVE:bob"), "OK", "also when not archived");
    assert_eq!(ana.request("UNARCHIVE:#lab3"), "OK");
    assert_eq!(ana.listing("ARCHIVED"), ["carl"]);
    // Nothing else changes: no preference, and the chats are as they were.
    assert_eq!(ana.listing("PREFS"), Vec::<String>::new());
}

#[test]
fn bad_names_and_fields_are_bad_requests() {
    let server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    for line in ["ARCHIVE:", "ARCHIVE:#", "ARCHIVE:bad name", "UNARCHIVE:a:b", "ARCHIVED:x"] {
        let reply = ana.request(line);
        assert!(reply.starts_with("KO:BAD_REQUEST:"), "{line}: {reply}");
    }
    assert_eq!(ana.listing("ARCHIVED"), Vec::<String>::new());
}

/// Sends `lines` without waiting, then reads one reply each.
fn pipelined(conn: &mut Conn, lines: &[String]) -> Vec<String> {
    let batch: String = lines.iter().map(|l| format!("{l}\n")).collect();
    conn.send_raw(batch.as_bytes());
    lines.iter().map(|_| conn.line()).collect()
}

#[test]
fn a_thousand_and_first_archived_chat_is_full() {
    let server = TestServer::start_with(&["--rate", "0"]);
    let [mut ana] = server.logged_in(["ana"]);
    let lines: Vec<String> = (0..1000).map(|i| format!("ARCHIVE:#r{i}")).collect();
    assert!(pipelined(&mut ana, &lines).iter().all(|reply| reply == "OK"));
    let full = ana.request("ARCHIVE:#one-more");
    assert_eq!(full, "KO:FULL:you have 1000 archived chats already, the most there may be");
    assert_eq!(ana.request("ARCHIVE:#R7"), "OK", "one already there is no new one");
    assert_eq!(ana.request("UNARCHIVE:#r0"), "OK");
    assert_eq!(ana.request("ARCHIVE:#one-more"), "OK", "room again");
    let listed = ana.listing("ARCHIVED");
    assert_eq!(listed.len(), 1000);
    assert_eq!((listed[0].as_str(), listed[999].as_str()), ("#one-more", "#r999"));
}

#[test]
fn every_1_2_device_is_told_and_a_1_0_client_is_not() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = server.login_send("ana@laptop", "pw-ana");
    let mut phone_events = server.events_1_2("ana", Some("phone"));
    let mut laptop_events = server.events_1_2("ana", Some("laptop"));
    let mut old_events = server.login_recv("ana", "pw-ana");

    assert_eq!(laptop.request("ARCHIVE:Bob"), "OK");
    for events in [&mut phone_events, &mut laptop_events] {
        assert_eq!(events.next_event(), "ARCHIVE:Bob:archived");
    }
    assert_eq!(laptop.request("UNARCHIVE:bob"), "OK");
    assert_eq!(phone_events.next_event(), "ARCHIVE:Bob:unarchived", "the name kept");
    assert_eq!(laptop.request("UNARCHIVE:#nowhere"), "OK");
    assert_eq!(phone_events.next_event(), "ARCHIVE:#nowhere:unarchived");

    // A message still arrives (and the chat would stay archived); the 1.0
    // connection's next event is that message: it was told nothing else.
    assert_eq!(laptop.request("ARCHIVE:bob"), "OK");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    assert!(old_events.next_msg().starts_with("MSG:1:bob:ana:b1:"));
    assert_eq!(phone_events.next_event(), "ARCHIVE:bob:archived");
    assert!(phone_events.next_event().starts_with("MSG:1:bob:ana:b1:"));
    assert_eq!(laptop.listing("ARCHIVED"), ["bob"], "a new message leaves it archived");
}

#[test]
fn archived_chats_survive_a_crash_and_a_checkpoint() {
    let mut server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    assert_eq!(ana.request("ARCHIVE:Bob"), "OK");
    assert_eq!(ana.request("ARCHIVE:#lab"), "OK");
    assert_eq!(ana.request("ARCHIVE:carl"), "OK");
    assert_eq!(ana.request("UNARCHIVE:carl"), "OK");
    // From the log; then from a checkpoint written at every record.
    for args in [&[][..], &["--checkpoint-records", "1"][..], &[][..]] {
        server.restart(args); // kill -9, then a start on the same data
        let mut ana = server.login_send("ana", "pw-ana");
        assert_eq!(ana.listing("ARCHIVED"), ["#lab", "Bob"], "{args:?}");
        assert_eq!(ana.request("ARCHIVE:bob"), "OK", "{args:?}");
        assert_eq!(ana.request(&format!("ARCHIVE:#c{}", args.len())), "OK");
        assert_eq!(ana.request(&format!("UNARCHIVE:#c{}", args.len())), "OK");
        if !args.is_empty() {
            // The next start loads them from a checkpoint (written aside).
            wait_for_checkpoint_row(&server.data_dir, "SET,ana,archive,bob,Bob");
        }
    }
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("ARCHIVED"), ["#lab", "Bob"]);
}

/// Polls the data directory until a checkpoint file has the line `row`.
fn wait_for_checkpoint_row(dir: &std::path::Path, row: &str) {
    let holds = || {
        let files = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path());
        let mut checkpoints = files.filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("checkpoint-") && name.ends_with(".csv")
        });
        checkpoints.any(|p| std::fs::read_to_string(p).is_ok_and(|text| text.lines().any(|l| l == row)))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !holds() {
        assert!(std::time::Instant::now() < deadline, "no checkpoint with {row:?}");
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling the directory
    }
}

#[test]
fn a_deleted_account_takes_its_archived_chats_along() {
    // The name is free again at once, for a new account that starts empty.
    let at_once = ["--name-quarantine-days", "0"];
    let mut server = TestServer::start_with(&at_once);
    let [mut ana] = server.logged_in(["ana"]);
    assert_eq!(ana.request("ARCHIVE:bob"), "OK");
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("ARCHIVED"), Vec::<String>::new());
    assert_eq!(ana.request("ARCHIVE:carl"), "OK");
    server.restart(&at_once); // the log replayed: the old account's are gone still
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("ARCHIVED"), ["carl"]);
}

#[test]
fn the_session_of_protocol_md_section_23_plays_back() {
    let server = TestServer::start();
    support::prefs::play_session("## 23. Version 1.2: archived chats", 25, |who| match who {
        "P" => server.recv_conn(),
        _ => server.send_conn(),
    });
}

#[test]
fn a_request_that_changes_nothing_writes_nothing() {
    let server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    for line in
        ["ARCHIVE:Bob", "ARCHIVE:bob", "ARCHIVE:BOB", "UNARCHIVE:bob", "UNARCHIVE:bob", "UNARCHIVE:carl"]
    {
        assert_eq!(ana.request(line), "OK", "{line}");
    }
    // Each `OK` waited for the disk: the log holds what changed, and only that.
    let mut sets = Vec::new();
    for segment in std::fs::read_dir(server.data_dir.join("log")).unwrap() {
        let text = std::fs::read_to_string(segment.unwrap().path()).unwrap();
        sets.extend(
            text.lines()
                .filter(|l| l.starts_with("SET,"))
                .map(|l| l.split_once(",ana,").unwrap().1.to_string()),
        );
    }
    assert_eq!(sets, ["bob,archive,,1,,Bob", "bob,archive,,0"]);
}
