//! Message actions (protocol 1.2, docs/PROTOCOL.md §19), over sockets:
//! `REPLY`, `EDIT`, `DELETE`, `REACT` and `SEARCH`; what a client of
//! version 1 sees of them (readable `MSG`s); the rules (only the author,
//! within the limits); resends; the replay to a device that was offline;
//! and a deleted text gone from the server's files.

use super::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Conn, READ_TIMEOUT, TestServer, without_ts};

/// The `<id>` of an `OK:<id>:<ts>`.
fn accepted_id(reply: &str) -> String {
    let fields: Vec<&str> = reply.split(':').collect();
    assert!(fields.len() == 3 && fields[0] == "OK", "{reply}");
    fields[1].to_string()
}

/// The `MSG` event's text and id, with its sequence number and time left out.
fn msg(event: &str) -> (String, String) {
    let fields: Vec<&str> = event.splitn(7, ':').collect();
    assert_eq!(fields[0], "MSG", "{event}");
    (fields[4].to_string(), fields[6].to_string())
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && String::from_utf8_lossy(&bytes).contains(needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Waits until no file under `dir` holds `needle`.
fn wait_gone(dir: &Path, needle: &str) {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let found = files_holding(dir, needle);
        if found.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{needle:?} still in {found:?}");
        std::thread::sleep(Duration::from_millis(20)); // polling the eraser's work
    }
}

fn users(server: &TestServer) -> (Conn, Conn) {
    server.register(&["ana", "bob", "carl"]);
    (server.login_send("ana", "pw-ana"), server.login_send("bob", "pw-bob"))
}

#[test]
fn each_action_reaches_a_version_1_client_as_readable_text() {
    let server = TestServer::start();
    let (mut ana, mut bob) = users(&server);
    let mut bob_events = server.login_recv("bob", "pw-bob"); // a 1.0 client: no VERSION
    let mut ana_events = server.login_recv("ana", "pw-ana");

    assert!(ana.request("MSG:bob:m1:hello there").starts_with("OK:m1:"));
    assert_eq!(without_ts(&bob_events.next_msg()), "MSG:1:ana:bob:m1:<ts>:hello there");

    // A reply: a normal MSG with its own id, a quote on its first line.
    assert!(bob.request("REPLY:ana:b1:m1:yes, hi").starts_with("OK:b1:"));
    assert_eq!(without_ts(&ana_events.next_msg()), "MSG:1:bob:ana:b1:<ts>:> ana: hello there\\nyes, hi");

    // An edit: a MSG of ana's, under an id the server made.
    let edit = accepted_id(&ana.request("EDIT:bob:m1:hello world"));
    assert!(edit.starts_with('_') && edit.ends_with("_m1"), "{edit}");
    assert_eq!(msg(&bob_events.next_msg()), (edit.clone(), "✎ hello world".into()));

    // A reaction: the start of the text it answers (as edited).
    let react = accepted_id(&bob.request("REACT:ana:m1:👍"));
    assert_eq!(msg(&ana_events.next_msg()), (react, "👍 to: hello world".into()));
    // The same emoji again takes it back.
    let back = accepted_id(&bob.request("REACT:ana:m1:👍"));
    assert_eq!(msg(&ana_events.next_msg()), (back, "👍 taken back from: hello world".into()));

    // A delete for everyone.
    let delete = accepted_id(&ana.request("DELETE:bob:m1"));
    assert_eq!(msg(&bob_events.next_msg()), (delete, "(message deleted)".into()));

    // HISTORY folds them in: the deleted text is shown nowhere.
    let history = ana.listing("HISTORY:bob:10");
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(history.iter().all(|l| !l.contains("hello")), "{history:?}");
    assert!(history[0].starts_with("ana:bob:m1:") && history[0].ends_with(":(message deleted)"));
    assert!(history[1].ends_with(":> ana: (message deleted)\\nyes, hi"), "{history:?}");
    // A version-1 client still works as before.
    assert!(bob.request("MSG:ana:b2:still here").starts_with("OK:b2:"));
    assert_eq!(without_ts(&ana_events.next_msg()), "MSG:4:bob:ana:b2:<ts>:still here");
}

/// 1.2: a reaction is any one emoji (§19): the six of the menu, and any
/// other, a ZWJ sequence, a flag, a skin tone, a keycap, a subdivision
/// flag; a 1.0 client reads it as text. Two emoji, letters, an emoji with
/// a letter or an accent, a control or invisible character, or more than
/// 32 bytes are `KO:BAD_REQUEST`, and change nothing: no event, nothing
/// in `HISTORY`.
#[test]
fn any_one_emoji_is_a_reaction_and_anything_else_changes_nothing() {
    let server = TestServer::start();
    let (mut ana, mut bob) = users(&server);
    let mut ana_events = server.login_recv("ana", "pw-ana"); // a 1.0 client: no VERSION
    assert!(ana.request("MSG:bob:m1:hello there").starts_with("OK:m1:"));
    let accepted = [
        "👍",
        "🦀",
        "👍🏽",
        "👩‍👩‍👧‍👦",
        "👩🏽‍💻",
        "🏳️‍🌈",
        "🇦🇷",
        "#️⃣",
        "❤️",
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", // Scotland's flag, 28 bytes
    ];
    for emoji in accepted {
        let id = accepted_id(&bob.request(&format!("REACT:ana:m1:{emoji}")));
        assert!(id.starts_with("_r") && id.ends_with("_m1"), "{emoji}: {id}");
        assert_eq!(msg(&ana_events.next_msg()), (id, format!("{emoji} to: hello there")));
    }
    let history_before = bob.listing("HISTORY:ana:50");
    assert_eq!(history_before.len(), 1 + accepted.len(), "{history_before:?}");
    let refused = [
        "👍👍",       // two emoji
        "🦀🇦🇷",       // two again
        "ok",         // letters
        "a",          // a letter
        "👍a",        // an emoji and a letter
        "👍\u{301}",  // an accent on an emoji: one cluster, not an emoji
        "\u{7}",      // a control character
        "👍\u{7}",    // an emoji and a control character
        "\u{200B}👍", // an invisible character first
        "👍\u{200D}", // a joiner with nothing after it
        "\u{1F1E6}",  // half a flag
        "1",          // a digit without its keycap
        "",           // nothing
        "👨‍👩‍👧‍👦‍👨‍👩‍👧‍👦",         // two families joined: one cluster, 50 bytes
    ];
    for emoji in refused {
        let reply = bob.request(&format!("REACT:ana:m1:{emoji}"));
        assert!(reply.starts_with("KO:BAD_REQUEST:"), "{emoji:?}: {reply}");
        if !emoji.is_empty() {
            assert!(reply.contains("is not a reaction: one emoji"), "{emoji:?}: {reply}");
        }
    }
    // Nothing changed: the history as it was, and no event reached ana.
    assert_eq!(bob.listing("HISTORY:ana:50"), history_before);
    assert!(bob.request("MSG:ana:b2:still here").starts_with("OK:b2:"));
    assert_eq!(msg(&ana_events.next_msg()), ("b2".into(), "still here".into()));
}

#[test]
fn history_shows_an_edit_in_place() {
    let server = TestServer::start();
    let (mut ana, mut bob) = users(&server);
    assert!(ana.request("MSG:#general:g1:helo all").starts_with("OK:g1:"));
    assert!(ana.request("EDIT:#general:g1:hello all").starts_with("OK:_"));
    let history = bob.listing("HISTORY:#general:10");
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0].starts_with("ana:#general:g1:") && history[0].ends_with(":RECEIVED:hello all"));
    assert!(history[1].ends_with(":✎ hello all"), "{history:?}");
}

#[test]
fn only_the_author_acts_on_a_message_and_only_in_time() {
    let server = TestServer::start();
    let (mut ana, mut bob) = users(&server);
    assert!(ana.request("MSG:bob:m1:mine").starts_with("OK:m1:"));
    // Bob has no message m1: he cannot edit or delete ana's.
    assert_eq!(
        bob.request("EDIT:ana:m1:hacked"),
        "KO:UNKNOWN_MESSAGE:you sent no message m1 in ana among its newest 1000"
    );
    assert!(bob.request("DELETE:ana:m1").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(ana.request("EDIT:bob:nope:x").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(bob.request("REACT:ana:nope:👍").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(bob.request("REACT:ana:m1:🦀🦀").starts_with("KO:BAD_REQUEST:\"🦀🦀\" is not a reaction"));
    // Carl is not in this conversation: ana's direct message is not his to see.
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(carl.request("REACT:ana:m1:👍").starts_with("KO:UNKNOWN_MESSAGE:"));
    // A deleted message takes no more actions.
    assert!(ana.request("DELETE:bob:m1").starts_with("OK:_"));
    assert_eq!(ana.request("EDIT:bob:m1:again"), "KO:UNKNOWN_MESSAGE:the message m1 was deleted");
    assert_eq!(bob.request("REPLY:ana:b1:m1:what?"), "KO:UNKNOWN_MESSAGE:the message m1 was deleted");

    // Too late: a server whose limits are zero.
    let strict = TestServer::start_with(&["--edit-minutes", "0", "--delete-hours", "0"]);
    let (mut ana, _) = users(&strict);
    assert!(ana.request("MSG:bob:m1:hi").starts_with("OK:m1:"));
    assert!(ana.request("EDIT:bob:m1:ho").starts_with("KO:BAD_REQUEST:too late to edit m1"));
    assert!(ana.request("DELETE:bob:m1").starts_with("KO:BAD_REQUEST:too late to delete m1"));
}

#[test]
fn resends_are_recognised() {
    let server = TestServer::start();
    let (mut ana, _) = users(&server);
    let mut bob_events = server.login_recv("bob", "pw-bob");
    assert!(ana.request("MSG:bob:m1:hi").starts_with("OK:m1:"));
    let first = ana.request("EDIT:bob:m1:hey");
    assert_eq!(ana.request("EDIT:bob:m1:hey"), first);
    let reply = ana.request("REPLY:bob:m2:m1:again");
    assert_eq!(ana.request("REPLY:bob:m2:m1:again"), reply);
    let delete = ana.request("DELETE:bob:m1");
    assert_eq!(ana.request("DELETE:bob:m1"), delete);
    assert!(ana.request("MSG:bob:m3:last").starts_with("OK:m3:"));
    // Bob got each once: m1, the edit, the reply, the delete, m3.
    let ids: Vec<String> = (0..5).map(|_| msg(&bob_events.next_msg()).0).collect();
    assert_eq!(ids, ["m1", &accepted_id(&first), "m2", &accepted_id(&delete), "m3"]);
}

#[test]
fn a_device_that_was_offline_gets_the_final_state_in_its_replay() {
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    let (mut ana, _) = users(&server);
    assert!(ana.request("MSG:bob:m1:top secret plan").starts_with("OK:m1:"));
    assert!(ana.request("MSG:bob:m2:keep this").starts_with("OK:m2:"));
    let edit = accepted_id(&ana.request("EDIT:bob:m2:keep this one"));
    let delete = accepted_id(&ana.request("DELETE:bob:m1"));
    wait_gone(&server.data_dir, "top secret");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    let replay: Vec<(String, String)> = (0..4).map(|_| msg(&bob_events.next_msg())).collect();
    assert_eq!(replay[0].0, "m1");
    assert!(!replay[0].1.contains("secret"), "{replay:?}");
    assert_eq!(replay[1], ("m2".into(), "keep this".into()));
    assert_eq!(replay[2], (edit, "✎ keep this one".into()));
    assert_eq!(replay[3], (delete, "(message deleted)".into()));
}

#[test]
fn a_deleted_text_leaves_the_servers_files() {
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    let (mut ana, mut bob) = users(&server);
    for conn in [&mut ana, &mut bob] {
        assert_eq!(conn.request("JOIN:#club"), "OK");
    }
    assert!(ana.request("MSG:#club:m1:zebra, \"quoted\" crossing").starts_with("OK:m1:"));
    assert!(bob.request("REACT:#club:m1:❤️").starts_with("OK:_"));
    assert!(bob.request("REPLY:#club:b1:m1:nice one").starts_with("OK:b1:"));
    assert!(ana.request("EDIT:#club:m1:zebra crossing, fixed").starts_with("OK:_"));
    assert!(bob.request("REPLY:#club:b2:m1:better").starts_with("OK:b2:"));
    // Reactions to the replies repeat their quote: `👍 to: > ana: zebra…`.
    assert!(ana.request("REACT:#club:b1:👍").starts_with("OK:_"));
    assert!(ana.request("REACT:#club:b2:😂").starts_with("OK:_"));
    assert!(ana.request("REACT:#club:b2:😂").starts_with("OK:_")); // taken back
    assert_eq!(files_holding(&server.data_dir, "zebra").len(), 1, "the log holds it");
    assert!(ana.request("DELETE:#club:m1").starts_with("OK:_"));
    wait_gone(&server.data_dir, "zebra");
    // The replies' own words stay.
    let history = bob.listing("HISTORY:#club:10");
    assert!(history.iter().any(|l| l.ends_with(":> ana: (message deleted)\\nnice one")), "{history:?}");
    assert!(history.iter().any(|l| l.ends_with(":> ana: (message deleted)\\nbetter")), "{history:?}");
}

#[test]
fn a_deletion_not_yet_erased_is_erased_by_the_next_start() {
    let mut server = TestServer::start(); // --erase-minutes 60
    let (mut ana, _) = users(&server);
    assert!(ana.request("MSG:bob:m1:walrus song").starts_with("OK:m1:"));
    assert!(ana.request("DELETE:bob:m1").starts_with("OK:_"));
    assert!(!files_holding(&server.data_dir, "walrus").is_empty(), "within the hour, still there");
    server.restart(&[]); // a crash (SIGKILL): erase.csv says what to do
    assert!(files_holding(&server.data_dir, "walrus").is_empty());
    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:10");
    assert!(history[0].ends_with(":(message deleted)"), "{history:?}");
}

#[test]
fn search_ignores_case_and_accents_and_sees_only_your_chats() {
    let server = TestServer::start();
    let (mut ana, mut bob) = users(&server);
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(ana.request("JOIN:#club"), "OK");
    assert_eq!(bob.request("JOIN:#club"), "OK");
    assert!(ana.request("MSG:bob:m1:Un Café, por favor").starts_with("OK:m1:"));
    assert!(bob.request("MSG:#club:b1:cafe au lait").starts_with("OK:b1:"));
    assert!(ana.request("MSG:#club:m2:tea").starts_with("OK:m2:"));
    assert!(carl.request("MSG:bob:c1:CAFÉ secret").starts_with("OK:c1:"));
    assert!(ana.request("MSG:#general:m3:no coffee here, café gone").starts_with("OK:m3:"));
    assert!(ana.request("DELETE:#general:m3").starts_with("OK:_"));

    let found = ana.listing("SEARCH:*:CAFE");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("bob:#club:b1:") && found[0].ends_with(":cafe au lait"), "{found:?}");
    assert!(found[1].starts_with("ana:bob:m1:") && found[1].ends_with(":Un Café, por favor"));
    // Every word, in any order; one chat only.
    assert_eq!(ana.listing("SEARCH:#club:lait cafe").len(), 1);
    assert_eq!(ana.listing("SEARCH:bob:lait").len(), 0);
    // An edit is found by its new text, not its old one.
    assert!(bob.request("EDIT:#club:b1:un thé").starts_with("OK:_"));
    assert_eq!(ana.listing("SEARCH:*:lait").len(), 0);
    assert_eq!(ana.listing("SEARCH:*:THE").len(), 1);
    // Not a room you are not in.
    assert_eq!(carl.request("SEARCH:#club:tea"), "KO:NOT_MEMBER:you are not in #club");
    assert_eq!(carl.listing("SEARCH:*:tea").len(), 0);
    assert!(carl.request("SEARCH:*:").starts_with("KO:BAD_REQUEST:"));
}

/// The console: numbers on screen name the messages; an edit and a
/// delete reach the other user's console, and the deleted text leaves
/// both users' folders.
#[test]
fn console_actions_by_number_and_a_deleted_text_leaves_every_folder() {
    use support::console::Console;
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected to 127.0.0.1 as bob");
    ana.type_line("/chat bob");
    ana.expect("── bob");
    ana.type_line("the narwhal password is 1234");
    ana.expect("[1] you → bob: the narwhal password is 1234");
    bob.expect("[1] ana: the narwhal password is 1234");
    bob.type_line("/react 1 👍");
    bob.expect("👍 added to [1]");
    // Any one emoji (1.2), a ZWJ sequence too; ana sees it on her message.
    bob.type_line("/react 1 🏳️‍🌈");
    bob.expect("🏳️‍🌈 added to [1]");
    ana.expect("🏳️‍🌈");
    bob.type_line("/react 1 🦀🦀");
    bob.expect("usage: /react <n> <emoji>, any one emoji");
    bob.type_line("/reply 1 got it");
    bob.expect("> ana: the narwhal password is 1234");
    ana.expect("got it");
    ana.type_line("/edit 1 the narwhal password is 5678");
    ana.expect("[1] edited");
    bob.expect("✎ the narwhal password is 5678 → [1]");
    bob.type_line("/edit 1 mine now");
    bob.expect("[1] is not your message");
    bob.type_line("/search NARWHAL");
    bob.expect("2 message(s) found"); // the message, and the reply quoting it
    ana.type_line("/delete 1");
    ana.expect("[1] deleted for everyone");
    bob.expect("(message deleted)");
    wait_gone(dir.path(), "narwhal");
    wait_gone(&server.data_dir, "narwhal");
    // /chat shows the message deleted, and the reply without its quote.
    bob.type_line("/chat ana");
    bob.expect("ana: (message deleted)");
    bob.expect("> ana: (message deleted)");
}

/// A search over more than one block of the index (1,024 records): a
/// word in an old block is found, a deleted message in an old block is
/// not, and a word in no block reads nothing.
#[test]
fn search_reads_the_blocks_that_may_hold_the_words() {
    let server = TestServer::start_with(&["--rate", "0"]);
    let (mut ana, mut bob) = users(&server);
    let total = 3000;
    for k in 0..total {
        let text = match k {
            10 => "an old quokka".to_string(),
            20 => "a deleted quokka".to_string(),
            2990 => "a new quokka".to_string(),
            _ => format!("filler message number {k}"),
        };
        ana.send(&format!("MSG:bob:m{k}:{text}"));
    }
    for k in 0..total {
        assert!(ana.line().starts_with(&format!("OK:m{k}:")));
    }
    assert!(ana.request("DELETE:bob:m20").starts_with("KO:UNKNOWN_MESSAGE:"), "past the newest 1,000");
    let found = bob.listing("SEARCH:*:Quokka");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].contains(":m2990:") && found[2].contains(":m10:"), "{found:?}");
    assert!(ana.request("MSG:bob:late:a late quokka").starts_with("OK:late:"));
    assert!(ana.request("DELETE:bob:late").starts_with("OK:_"));
    assert_eq!(bob.listing("SEARCH:ana:quokka").len(), 3);
    assert_eq!(bob.listing("SEARCH:*:wombat").len(), 0);
    assert_eq!(bob.listing("SEARCH:*:number 1234").len(), 1);
}

/// ana owns `#lab3`, eve is its admin (`OP`), bob and carl are members.
fn class(server: &TestServer) -> (Conn, Conn, Conn, Conn) {
    server.register(&["ana", "bob", "carl", "eve"]);
    let mut conns: Vec<Conn> =
        ["ana", "bob", "carl", "eve"].iter().map(|u| server.login_send(u, &format!("pw-{u}"))).collect();
    for c in conns.iter_mut() {
        assert_eq!(c.request("JOIN:#lab3"), "OK");
    }
    assert_eq!(conns[0].request("OP:#lab3:eve"), "OK");
    let eve = conns.pop().unwrap();
    let carl = conns.pop().unwrap();
    let bob = conns.pop().unwrap();
    (conns.pop().unwrap(), bob, carl, eve)
}

#[test]
fn a_room_admin_deletes_a_members_message_and_its_text_leaves_the_server() {
    // --delete-hours 0: the authors may delete nothing; an admin still may.
    let server = TestServer::start_with(&["--erase-minutes", "0", "--delete-hours", "0"]);
    let (_ana, mut bob, mut carl, mut eve) = class(&server);
    let mut carl_events = server.login_recv("carl", "pw-carl"); // a 1.0 client
    assert!(bob.request("MSG:#lab3:m1:buy cheap okapi pills").starts_with("OK:m1:"));
    // (The notices of the joins and the OP come first.)
    while !msg(&carl_events.next_msg()).1.ends_with("okapi pills") {}
    assert!(carl.request("REPLY:#lab3:c1:m1:spam!").starts_with("OK:c1:"));
    assert!(bob.request("DELETE:#lab3:m1").starts_with("KO:BAD_REQUEST:too late"));

    let reply = eve.request("DELETE:#lab3:m1:BOB"); // the author ignoring case
    let id = accepted_id(&reply);
    assert!(id.starts_with("_x") && id.ends_with("_m1"), "{reply}");
    assert_eq!(msg(&carl_events.next_msg()), (id.clone(), "(message from bob deleted)".into()));
    assert_eq!(eve.request("DELETE:#lab3:m1:bob"), reply, "a resend: the same OK");
    wait_gone(&server.data_dir, "okapi");
    let history = carl.listing("HISTORY:#lab3:10");
    assert!(
        history.iter().any(|l| l.starts_with("bob:#lab3:m1:") && l.ends_with(":(message deleted)")),
        "{history:?}"
    );
    assert!(history.iter().any(|l| l.ends_with(":> bob: (message deleted)\\nspam!")), "{history:?}");
    assert!(history.last().unwrap().ends_with(":(message from bob deleted)"), "{history:?}");
    assert!(bob.request("REACT:#lab3:m1:👍").starts_with("KO:UNKNOWN_MESSAGE:the message m1 was deleted"));
    assert!(eve.request("DELETE:#lab3:nope:bob").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(eve.request("DELETE:#lab3:m1:nobody").starts_with("KO:UNKNOWN_USER:"));
}

#[test]
fn a_member_cannot_delete_anothers_message_nor_an_admin_the_owners() {
    let server = TestServer::start();
    let (mut ana, mut bob, mut carl, mut eve) = class(&server);
    assert!(bob.request("MSG:#lab3:b1:mine").starts_with("OK:b1:"));
    assert!(ana.request("MSG:#lab3:a1:the owner's").starts_with("OK:a1:"));
    assert!(eve.request("MSG:#lab3:e1:an admin's").starts_with("OK:e1:"));
    let refused = carl.request("DELETE:#lab3:b1:bob");
    assert!(refused.starts_with("KO:FORBIDDEN:only the admins of #lab3"), "{refused}");
    let refused = eve.request("DELETE:#lab3:a1:ana");
    assert_eq!(refused, "KO:FORBIDDEN:ana is of your rank or above in #lab3");
    assert!(ana.request("DELETE:#lab3:e1:eve").starts_with("OK:_x"), "the owner outranks an admin");
    // The 3-field form names your own; the 4-field one with your name too.
    assert!(carl.request("DELETE:#lab3:b1").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(bob.request("DELETE:#lab3:b1:bob").starts_with("OK:_d"));
    // A direct chat has no admins.
    assert!(bob.request("MSG:carl:d1:hi").starts_with("OK:d1:"));
    assert!(carl.request("DELETE:bob:d1:bob").starts_with("KO:FORBIDDEN:"));
    // Nobody forges an admin's delete: its ids are the server's.
    let forged = carl.request("MSG:#lab3:_x1_a1:(message from ana deleted)");
    assert!(forged.starts_with("KO:BAD_REQUEST:the id _x1_a1"), "{forged}");
    assert!(carl.request("REPLY:#lab3:_x2_a1:a1:x").starts_with("KO:BAD_REQUEST:"));
    let history = carl.listing("HISTORY:#lab3:10");
    assert!(history.iter().any(|l| l.ends_with(":the owner's")), "{history:?}");
}

/// The console: `/delete N` on a member's message, typed by the room's
/// owner, sends the admin's form; the text leaves the server's files and
/// both consoles' folders, and a plain member's `/delete` is refused.
#[test]
fn console_an_admin_deletes_a_members_message_by_number() {
    use support::console::Console;
    let server = TestServer::start_with(&["--erase-minutes", "0"]);
    server.register(&["ana", "bob"]);
    for user in ["ana", "bob"] {
        assert_eq!(server.login_send(user, &format!("pw-{user}")).request("JOIN:#lab3"), "OK");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected to 127.0.0.1 as bob");
    ana.type_line("/chat #lab3");
    ana.expect("── #lab3");
    bob.type_line("/chat #lab3");
    bob.expect("── #lab3");
    ana.type_line("welcome to the lab");
    let welcome = bob.expect("ana: welcome to the lab");
    bob.type_line("the capybara answers are on my page");
    let seen = ana.expect("bob: the capybara answers");
    let n = seen.split('[').nth(1).and_then(|s| s.split(']').next()).unwrap().to_string();
    // bob is no admin: the server's reason.
    let theirs = welcome.split('[').nth(1).and_then(|s| s.split(']').next()).unwrap().to_string();
    bob.type_line(&format!("/delete {theirs}"));
    bob.expect("only the admins of #lab3");
    ana.type_line(&format!("/delete {n}"));
    ana.expect(&format!("[{n}] deleted for everyone"));
    bob.expect("(message from bob deleted) → [2]"); // his own, [2] on his screen
    wait_gone(&server.data_dir, "capybara");
    wait_gone(dir.path(), "capybara");
    bob.type_line("/chat #general");
    bob.expect("── #general");
    bob.type_line("/chat #lab3");
    bob.expect("── #lab3");
    bob.expect("you: (message deleted)");
}
