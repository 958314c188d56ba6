//! Protocol 1.2's blocks and chat preferences (docs/PROTOCOL.md §22), on
//! a single server: `BLOCK`, `UNBLOCK`, `BLOCKS`, `NOTIFY`, `PIN`, `UNPIN`,
//! `PREFS`, the `PREF`/`BLOCKED`/`UNBLOCKED` events on every device, what
//! a block hides (messages, invitations, presence, `TYPING`), and that it
//! all survives a `kill -9`.

use super::support;

use support::TestServer;

#[test]
fn a_block_hides_direct_messages_for_good_and_is_told_to_your_devices() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    assert!(bob.request("MSG:ana:b0:before").starts_with("OK:b0:"));
    let mut ana_events = server.events_1_2("ana", None);
    assert!(ana_events.next_event().starts_with("MSG:1:bob:ana:b0:"));
    ana_events.send("ACK:1");

    assert_eq!(ana.request("BLOCK:Bob"), "OK");
    assert_eq!(ana_events.next_event(), "BLOCKED:bob");
    assert_eq!(ana.listing("BLOCKS"), ["bob"]);
    assert_eq!(ana.request("BLOCK:bob"), "OK", "a second BLOCK changes nothing…");
    assert_eq!(ana_events.next_event(), "BLOCKED:bob", "…and tells the state again");
    assert_eq!(ana.request("BLOCK:ana"), "KO:BAD_REQUEST:you cannot block yourself");
    assert_eq!(ana.request("BLOCK:nobody"), "KO:UNKNOWN_USER:no user named nobody");

    // bob is told OK, as for any message, and nothing is stored.
    assert!(bob.request("MSG:ana:b1:are you there?").starts_with("OK:b1:"));
    let reacted = bob.request("REACT:ana:b0:👍");
    assert!(reacted.starts_with("OK"), "an action is hidden too: {reacted}");
    let only_b0 = |history: Vec<String>| {
        history.len() == 1 && history[0].contains(":b0:") && history[0].ends_with(":before")
    };
    assert!(only_b0(ana.listing("HISTORY:bob:10")));
    assert!(only_b0(bob.listing("HISTORY:ana:10")));
    assert_eq!(ana.listing("CHATS")[0], "bob:1", "b1 is no unread message");
    // ana's inbox never had them: carl's message is her next event.
    assert!(carl.request("MSG:ana:c1:hi").starts_with("OK:c1:"));
    let next = ana_events.next_event();
    assert!(next.starts_with("MSG:2:carl:ana:c1:"), "{next}");
    ana_events.send("ACK:2");

    // Unblocked: what bob sent while blocked never comes; what he sends now does.
    assert_eq!(ana.request("UNBLOCK:bob"), "OK");
    assert_eq!(ana_events.next_event(), "UNBLOCKED:bob");
    assert_eq!(ana.request("UNBLOCK:bob"), "OK", "also when not blocked");
    assert_eq!(ana_events.next_event(), "UNBLOCKED:bob");
    assert_eq!(ana.listing("BLOCKS"), Vec::<String>::new());
    assert!(bob.request("MSG:ana:b2:now?").starts_with("OK:b2:"));
    assert!(ana_events.next_event().starts_with("MSG:3:bob:ana:b2:"));
    let history = ana.listing("HISTORY:bob:10");
    assert_eq!(history.len(), 2, "b0 and b2: {history:?}");
}

/// A block is the last check of a direct message, so that it
/// shows in no answer.
#[test]
fn a_spent_quota_is_full_to_whoever_blocked_you_as_to_anyone() {
    let server = TestServer::start_with(&["--user-quota", "16KiB", "--rate", "0"]);
    let [mut ana, mut bob, _carl] = server.logged_in(["ana", "bob", "carl"]);
    support::prefs::a_spent_quota_is_full_to_whoever_blocked_you(&mut ana, &mut bob);
}

/// A blocked user's `DELETE` of his own earlier message is stored
/// nowhere, like his other messages to you, and so deletes and erases
/// nothing, not even at the eraser's next pass (it must not be queued
/// for erasure either); sent again, it gets the same `OK`.
/// tests/cluster/differential.rs plays it on a single server and a
/// cluster alike.
#[test]
fn a_delete_hidden_by_a_block_leaves_the_message_and_answers_alike_twice() {
    let mut server = TestServer::start_restartable(&["--erase-minutes", "0"]);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    assert!(bob.request("MSG:ana:b0:keep me").starts_with("OK:b0:"));
    assert_eq!(ana.request("BLOCK:bob"), "OK");
    let first = bob.request("DELETE:ana:b0");
    assert!(first.starts_with("OK:_d") && first.contains("_b0:"), "{first}");
    assert_eq!(bob.request("DELETE:ana:b0"), first, "the same OK again");
    // Erasures left to do are done when the store opens, before it serves.
    server.restart_in_place(&["--erase-minutes", "0"]);
    for (user, peer) in [("ana", "bob"), ("bob", "ana")] {
        let history = server.login_send(user, &format!("pw-{user}")).listing(&format!("HISTORY:{peer}:10"));
        assert!(history.len() == 1 && history[0].ends_with(":keep me"), "{user}: {history:?}");
    }
}

#[test]
fn a_blocked_user_sees_no_presence_no_typing_and_cannot_invite_you() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    let mut bob_events = server.events_1_2("bob", None);
    let _ana_events = server.events_1_2("ana", None);
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:ONLINE");
    assert_eq!(ana.request("BLOCK:bob"), "OK");

    // Presence: ana is "unknown" to bob, and to bob alone.
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:UNKNOWN");
    assert_eq!(carl.request("LASTSEEN:ana"), "OK:ana:ONLINE");
    assert!(bob.listing("MEMBERS:#general").contains(&"ana:UNKNOWN".to_string()));
    assert!(carl.listing("MEMBERS:#general").contains(&"ana:ONLINE".to_string()));
    // TYPING: ana's never reaches bob; carl's, sent after, does.
    assert_eq!(ana.request("TYPING:bob"), "OK");
    assert_eq!(ana.request("TYPING:#general"), "OK");
    assert_eq!(carl.request("TYPING:bob"), "OK");
    assert_eq!(bob_events.next_event(), "TYPING:carl:bob");
    // A room's MEMBER event about ana: not to bob.
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    assert_eq!(ana.request("LEAVE:#tea"), "OK");
    assert_eq!(carl.request("TYPING:bob"), "OK");
    let next = bob_events.line();
    assert_eq!(next, "TYPING:carl:bob", "no MEMBER:#tea:ana:LEFT before it");

    // An invitation from bob: OK, and ana is not invited.
    assert_eq!(bob.request("JOIN:#club"), "OK"); // bob owns it
    assert_eq!(bob.request("MODE:#club:+invite"), "OK");
    assert_eq!(bob.request("INVITE:#club:ana"), "OK");
    assert!(ana.request("JOIN:#club").starts_with("KO:FORBIDDEN:"), "ana was not invited");
    assert_eq!(bob.request("INVITE:#club:carl"), "OK");
    assert_eq!(carl.request("JOIN:#club"), "OK");

    // Room messages are not hidden (as in WhatsApp's groups).
    assert!(bob.request("MSG:#general:g1:hello all").starts_with("OK:g1:"));
    let history = ana.listing("HISTORY:#general:5");
    assert!(history.iter().any(|l| l.contains(":g1:")), "{history:?}");
}

#[test]
fn pins_and_levels_reach_every_device_and_are_bounded() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut laptop = server.login_send("ana@laptop", "pw-ana");
    let mut phone_events = server.events_1_2("ana", Some("phone"));
    let mut laptop_events = server.events_1_2("ana", Some("laptop"));

    assert_eq!(laptop.request("PIN:#General"), "OK");
    for events in [&mut phone_events, &mut laptop_events] {
        assert_eq!(events.next_event(), "PREF:#general:all:pinned");
    }
    assert_eq!(laptop.request("NOTIFY:Bob:none"), "OK");
    assert_eq!(phone_events.next_event(), "PREF:bob:none:unpinned");
    assert_eq!(laptop.request("NOTIFY:#lab:mentions"), "OK");
    assert_eq!(phone_events.next_event(), "PREF:#lab:mentions:unpinned");
    assert_eq!(laptop.request("NOTIFY:nobody:none"), "KO:UNKNOWN_USER:no user named nobody");
    assert_eq!(
        laptop.request("NOTIFY:bob:loud"),
        "KO:BAD_REQUEST:a notification level is all, mentions or none, not \"loud\""
    );
    assert_eq!(laptop.request("PIN:bob"), "OK");
    assert_eq!(laptop.request("PIN:#lab"), "OK");
    let full = laptop.request("PIN:#other");
    assert!(full.starts_with("KO:FULL:3 chats are pinned already"), "{full}");
    assert_eq!(laptop.request("PIN:bob"), "OK", "a pinned chat again is no fourth");
    assert_eq!(laptop.listing("PREFS"), ["#general:all:pinned", "#lab:mentions:pinned", "bob:none:pinned"]);

    // Back to the default: the chat's line goes.
    assert_eq!(laptop.request("UNPIN:#general"), "OK");
    assert_eq!(laptop.request("UNPIN:#general"), "OK");
    assert_eq!(laptop.request("NOTIFY:bob:all"), "OK");
    assert_eq!(laptop.listing("PREFS"), ["#lab:mentions:pinned", "bob:all:pinned"]);
    let told: Vec<String> = (0..5).map(|_| phone_events.next_event()).collect();
    assert_eq!(
        told,
        [
            "PREF:bob:none:pinned",
            "PREF:#lab:mentions:pinned",
            "PREF:bob:none:pinned",
            "PREF:#general:all:unpinned",
            "PREF:#general:all:unpinned",
        ]
    );
}

#[test]
fn blocks_and_preferences_survive_a_crash() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("BLOCK:bob"), "OK");
    assert_eq!(ana.request("PIN:#general"), "OK");
    assert_eq!(ana.request("NOTIFY:bob:mentions"), "OK");
    server.restart(&[]); // kill -9, then a start on the same data
    let (mut ana, mut bob) = (server.login_send("ana", "pw-ana"), server.login_send("bob", "pw-bob"));
    assert_eq!(ana.listing("BLOCKS"), ["bob"]);
    assert_eq!(ana.listing("PREFS"), ["#general:all:pinned", "bob:mentions:unpinned"]);
    assert!(bob.request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
}

#[test]
fn a_client_of_1_0_knows_none_of_it_and_gets_bad_request() {
    // The requests are 1.2's: the grammar refuses what it does not know
    // with a readable reason, and a 1.0 receive connection is never sent
    // the events (`Event::since`, tested in src/protocol/event/mod.rs).
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("BLOCKS:x"), "KO:BAD_REQUEST:BLOCKS takes no fields");
    assert!(ana.request("PIN:#").starts_with("KO:BAD_REQUEST:bad room name: "));
}

#[test]
fn the_session_of_protocol_md_section_21_plays_back() {
    let server = TestServer::start();
    support::prefs::play_section_21(|who| match who {
        "P" => server.recv_conn(),
        _ => server.send_conn(),
    });
}

#[test]
fn the_console_blocks_pins_mutes_and_marks_mentions_on_every_device() {
    use support::console::Console;
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);

    lab.type_line("/block bob");
    lab.expect("bob is blocked: their messages and invitations no longer reach you");
    laptop.expect("(another device) bob is blocked");
    lab.type_line("/blocks");
    lab.expect("blocked (1): bob  (/unblock <user> to undo)");
    lab.type_line("/block ana");
    lab.expect("you cannot block yourself");
    lab.type_line("/unblock bob");
    lab.expect("bob is unblocked");
    lab.type_line("/blocks");
    lab.expect("you blocked nobody");

    lab.type_line("/pin #general");
    lab.expect("#general: every message notifies, pinned");
    laptop.expect("(another device) #general: every message notifies, pinned");
    lab.type_line("/notify bob none");
    lab.expect("bob: muted");
    lab.type_line("/notify bob loud");
    lab.expect("usage: /notify <user|#room> all|mentions|none");
    laptop.type_line("/prefs");
    laptop.expect("#general: every message notifies, pinned");
    laptop.expect("bob: muted");

    // A room message that mentions ana is marked; one that does not is not.
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:#general:g1:lunch, @Ana?").starts_with("OK:"));
    assert!(bob.request("MSG:#general:g2:lunch, anyone?").starts_with("OK:"));
    let marked = lab.expect("lunch, @Ana?");
    assert!(marked.contains("(@) [#general] bob: lunch, @Ana?"), "{marked}");
    let plain = lab.expect("lunch, anyone?");
    assert!(!plain.contains("(@)"), "{plain}");
    lab.type_line("/help");
    lab.expect("/block /notify /pin /prefs");
}

/// A log written by an older server, where blocks and preferences were
/// not settings, holds `BLOCK` and `PREF` records, written here as that
/// code wrote them; it replays to the same blocks and preferences, and they act.
#[test]
fn a_log_with_the_old_block_and_pref_records_replays_to_the_same_state() {
    let mut server = TestServer::start_restartable(&[]);
    drop(server.logged_in(["ana", "bob", "carl"]));
    server.kill();
    let log = server.data_dir.join("log");
    let mut segments: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    segments.sort();
    let newest = segments.last().expect("a log segment");
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let old: String = [
        "BLOCK,{ts},ana,bob,,,1",
        "BLOCK,{ts},ana,carl,,,1",
        "BLOCK,{ts},ana,carl,,,0",
        "PREF,{ts},ana,#Lab,mentions,,1",
        "PREF,{ts},ana,Bob,none,,0",
        "PREF,{ts},ana,carl,none,,1",
        "PREF,{ts},ana,carl,all,,0",
    ]
    .iter()
    .map(|line| format!("{}\n", line.replace("{ts}", &ts.to_string())))
    .collect();
    let mut bytes = std::fs::read(newest).unwrap();
    bytes.extend_from_slice(old.as_bytes());
    std::fs::write(newest, bytes).unwrap();
    for _ in 0..2 {
        // Replayed from the old records, then (restarted) from the log
        // holding both the old records and a new one.
        server.restart_in_place(&[]);
        let mut ana = server.login_send("ana", "pw-ana");
        assert_eq!(ana.listing("BLOCKS"), ["bob"]);
        assert_eq!(ana.listing("PREFS"), ["#Lab:mentions:pinned", "Bob:none:unpinned"]);
        let mut bob = server.login_send("bob", "pw-bob");
        assert!(bob.request("MSG:ana:b1:hidden").starts_with("OK:b1:"));
        assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new(), "the block acts");
        assert_eq!(ana.request("PIN:carl"), "OK");
        assert_eq!(ana.request("UNPIN:carl"), "OK");
    }
}

/// What other users kept about a deleted account does not
/// apply to the next account of its name, after a restart too.
#[test]
fn a_name_taken_again_is_somebody_else_to_those_who_kept_settings_about_it() {
    let at_once = ["--name-quarantine-days", "0"];
    let mut server = TestServer::start_with(&at_once);
    support::prefs::a_name_taken_again_is_somebody_else(|| server.send_conn());
    server.restart(&at_once);
    let mut ana = server.login_send("ana", support::prefs::REUSE_PW);
    support::prefs::what_ana_keeps_after_the_reuse(&mut ana);
}
