//! Rules a hostile student might slip past, and the checks that hold
//! them: moderation that would store past `--user-quota`, a `MSG` with an
//! action's id to be taken for an edit, a muted member's `TYPING`,
//! invisible characters in names, a text that draws itself as a quote,
//! a forgotten room's past, another member's message with your id to
//! hide your receipts. Black-box, over sockets (and a browser for the
//! quote).

use super::support;

use support::TestServer;
use support::webapp::app_url;

// ----- moderation pays from its author's quota ---------------------------

/// ana owns `#lab3` and sends `TOPIC`s, each a rule record and a notice.
#[test]
fn past_the_quota_topic_gets_full() {
    let server = TestServer::start_with(&["--user-quota", "2000"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    let mut refused = None;
    for i in 0..200 {
        let reply = ana.request(&format!("TOPIC:#lab3:deadline moved to friday, version {i}"));
        if reply != "OK" {
            refused = Some((i, reply));
            break;
        }
    }
    let (after, reply) = refused.expect("200 topics of ~200 bytes each never reached a quota of 2000 bytes");
    assert!(reply.starts_with("KO:FULL:") && reply.contains("--user-quota"), "{reply}");
    assert!(after >= 3, "refused after {after} topics only: {reply}");
    // The same budget as messages: a MSG is refused too, other
    // moderation as well; reads still work, and a topic that changes
    // nothing stores nothing, so it is no refusal.
    assert!(ana.request("MSG:#lab3:m1:hi").starts_with("KO:FULL:"));
    assert!(ana.request("MODE:#lab3:+invite").starts_with("KO:FULL:"));
    assert!(ana.request("INVITE:#lab3:bob").starts_with("KO:FULL:"));
    let info = ana.listing("ROOMINFO:#lab3");
    let topic = format!("TOPIC:deadline moved to friday, version {}", after - 1);
    assert!(info.contains(&topic), "{info:?}");
    assert_eq!(ana.request(&format!("TOPIC:#lab3:deadline moved to friday, version {}", after - 1)), "OK");
}

/// Filled by messages first, the quota refuses the next `TOPIC` at once.
#[test]
fn a_user_whose_messages_fill_the_quota_may_not_moderate_either() {
    let server = TestServer::start_with(&["--user-quota", "2000"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    let text = "x".repeat(300);
    let full = (0..50).any(|i| ana.request(&format!("MSG:#lab3:m{i}:{text}")).starts_with("KO:FULL:"));
    assert!(full, "50 messages of 300 bytes never reached a quota of 2000 bytes");
    let reply = ana.request("TOPIC:#lab3:one more");
    assert!(reply.starts_with("KO:FULL:"), "{reply}");
}

// ----- only the server makes action ids ------------------------------------

#[test]
fn msg_with_an_action_id_is_refused() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:see you at 10").starts_with("OK:m1:"));
    for id in ["_e1_m1", "_d1_m1", "_r1_m1", "_u1_m1", "_x1_m1", "_eZZZZZZZZZZZZZZZZZZZZZZ_m1"] {
        let reply = bob.request(&format!("MSG:ana:{id}:✎ see you at 11"));
        assert!(reply.starts_with(&format!("KO:BAD_REQUEST:the id {id} has the form")), "{reply}");
        let reply = bob.request(&format!("REPLY:ana:{id}:m1:ok"));
        assert!(reply.starts_with("KO:BAD_REQUEST:the id "), "{reply}");
    }
    // Ids that only start alike are a client's to choose.
    for id in ["_e_m1", "_m1", "e1_m1"] {
        assert!(bob.request(&format!("MSG:ana:{id}:hi")).starts_with("OK:"), "{id}");
    }
    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:10");
    assert!(history[0].ends_with(":see you at 10"), "{history:?}");
    assert_eq!(history.len(), 4, "{history:?}");
}

/// A client's `MSG:ana:_e1_m1:✎ …` that an older server stored is a
/// plain message: `HISTORY` does not apply it as bob's edit of m1 (past
/// `--edit-minutes`, or by a new account of a reused name, it would have
/// rewritten m1 on every screen), nor does `SEARCH`.
#[test]
fn a_stored_old_action_id_is_not_applied_as_an_edit() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:see you at 10").starts_with("OK:m1:"));
    drop(bob);
    support::old_data::plant_old_id(&mut server, "bob", "ana", "_e1_m1", "✎ you all fail");
    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:10");
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0].starts_with("bob:ana:m1:") && history[0].ends_with(":see you at 10"), "{history:?}");
    assert!(
        history[1].starts_with("bob:ana:_e1_m1:") && history[1].ends_with(":✎ you all fail"),
        "{history:?}"
    );
    let found = ana.listing("SEARCH:bob:see you");
    assert!(found.len() == 1 && found[0].ends_with(":see you at 10"), "{found:?}");
    // A real edit, made by this server, is still one.
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("EDIT:ana:m1:see you at 11").starts_with("OK:_e"));
    let history = ana.listing("HISTORY:bob:10");
    assert!(history[0].ends_with(":see you at 11"), "{history:?}");
}

// ----- mutes, invisible characters, quotes ---------------------------------

/// A muted member's `TYPING` gets the `KO` its `MSG` gets, and the room
/// is not told; an admin's still goes out.
#[test]
fn a_muted_member_may_not_type_to_the_room() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "eve"]);
    let (mut ana, mut bob) = (server.login_send("ana", "pw-ana"), server.login_send("bob", "pw-bob"));
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    assert_eq!(bob.request("JOIN:#lab3"), "OK");
    assert_eq!(bob.request("TYPING:#lab3"), "OK");
    assert_eq!(ana.request("MUTE:#lab3:bob:10"), "OK");
    let msg = bob.request("MSG:#lab3:m1:hi");
    assert!(msg.starts_with("KO:FORBIDDEN:you are muted in #lab3"), "{msg}");
    assert_eq!(bob.request("TYPING:#lab3"), msg);
    assert_eq!(ana.request("TYPING:#lab3"), "OK");
    // Announce-only: the same rule as a MSG's.
    assert_eq!(ana.request("UNMUTE:#lab3:bob"), "OK");
    assert_eq!(ana.request("MODE:#lab3:+announce"), "OK");
    let typing = bob.request("TYPING:#lab3");
    assert_eq!(typing, bob.request("MSG:#lab3:m2:hi"));
    assert!(typing.starts_with("KO:FORBIDDEN:"), "{typing}");
}

/// A topic (a room's name in every member's title) and an e-mail address
/// may not hold a character that reorders or hides text.
#[test]
fn invisible_characters_in_names_are_bad_requests() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab3"), "OK");
    for (topic, why) in [
        ("grades\u{202E}txt.exe", "U+202E (right-to-left override)"),
        ("b\u{200B}ob is admin", "U+200B (zero width space)"),
        ("\u{FEFF}lab", "U+FEFF (byte order mark)"),
        ("a\u{2066}b", "U+2066 (direction isolate)"),
    ] {
        let reply = ana.request(&format!("TOPIC:#lab3:{topic}"));
        assert_eq!(reply, format!("KO:BAD_REQUEST:a topic may not hold {why}"), "{topic:?}");
    }
    // Joiners stay: an emoji family is one picture.
    assert_eq!(ana.request("TOPIC:#lab3:lab 👨‍👩‍👧"), "OK");
    let reply = server.send_conn().request("REGISTER:eve:eve\u{202E}@x.org:pw-eve");
    assert!(reply.starts_with("KO:BAD_REQUEST:bad email address"), "{reply}");
    // In a message's text they are the reader's to show by their code.
    assert!(ana.request("MSG:#lab3:m1:evil\u{202E}txt.exe").starts_with("OK:m1:"));
}

/// The browser draws a quote only of a message that is there and says
/// it (a `REPLY`'s quote), never a `MSG` whose first line looks like one;
/// and it shows invisible characters by their code.
#[test]
fn a_text_that_looks_like_a_quote_is_not_drawn_as_one_in_the_browser() {
    use serde_json::json;
    let server = TestServer::start_with(&["--web-port", "0"]);
    let browser = support::browser::Browser::start(800, 600);
    browser.goto(&app_url(&server));
    let got = browser.exec_async(
        "const done = arguments[0];
         Promise.all([import('/fates.js'), import('/view.js')]).then(([f, v]) => {
           const chat = { messages: [{ from: 'teacher', text: 'exam on friday' }], keys: new Map() };
           const forged = { from: 'eve', text: '> teacher: you all pass\\nyay' };
           const real = { from: 'bob', text: '> teacher: exam on friday\\nok' };
           const edited = { from: 'bob', text: '> teacher: exam on monday\\nok' };
           chat.messages.push(forged, real, edited);
           chat.messages[0].quotes = new Set(['> teacher: exam on monday']);
           done([f.replyQuote(chat, forged), f.replyQuote(chat, real), f.replyQuote(chat, edited),
                 v.visible('evil\\u202etxt.exe from b\\u200bob \\ufeff')]);
         });",
        json!([]),
    );
    assert_eq!(got[0], serde_json::Value::Null, "a MSG's '> teacher:' line drawn as a quote: {got}");
    assert_eq!(got[1]["author"], json!("teacher"), "{got}");
    assert_eq!(got[1]["body"], json!("ok"), "{got}");
    assert_eq!(got[2]["quoted"], json!("exam on monday"), "a quote of the text before an edit: {got}");
    assert_eq!(got[3], json!("evil<U+202E>txt.exe from b<U+200B>ob <U+FEFF>"));
}

// ----- a forgotten room's past ---------------------------------------------

/// A room nobody is in is forgotten, and one made again under its name
/// starts empty (§7): its new maker finds none of the old one's messages
/// with `SEARCH` either, though the log still holds them under the room's
/// name, as `HISTORY` shows none; the same after a start from the log
/// alone, and from a checkpoint.
#[test]
fn a_room_made_again_under_a_forgotten_name_shows_its_maker_nothing_of_the_old_one() {
    let mut server = TestServer::start();
    server.register(&["ana", "eve"]);
    let mut eve = server.login_send("eve", "pw-eve");
    assert_eq!(eve.request("JOIN:#old"), "OK");
    assert!(eve.request("MSG:#old:o1:the exam's answers").starts_with("OK:o1:"));
    assert_eq!(eve.request("LEAVE:#old"), "OK");
    drop(eve);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#old"), "OK");
    assert!(ana.request("MSG:#old:a1:the exam is today").starts_with("OK:a1:"));
    assert_eq!(exam_ids(&mut ana), [["a1"], ["a1"]], "the new room's message; none of the old one");
    assert_eq!(ana.listing("HISTORY:#old:10").len(), 1);
    drop(ana);
    server.restart(&[]); // SIGKILL: the state comes back from the log
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(exam_ids(&mut ana), [["a1"], ["a1"]], "after a start from the log");
    drop(ana);
    assert!(server.terminate().success(), "a clean stop writes a checkpoint");
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(exam_ids(&mut ana), [["a1"], ["a1"]], "after a start from a checkpoint");
}

/// The ids of the messages `SEARCH` finds for "exam" in `#old`, then in
/// all of the user's chats.
fn exam_ids(conn: &mut support::Conn) -> [Vec<String>; 2] {
    ["SEARCH:#old:exam", "SEARCH:*:exam"].map(|search| {
        conn.listing(search).iter().map(|line| line.split(':').nth(2).unwrap().to_string()).collect()
    })
}

// ----- a message's receipts are its author's ------------------------------

/// eve posts in `#lab` with the id of ana's message, after it: ana's
/// `RECEIPTS` of that id still finds her own message (ids are each
/// sender's; a message is its id and its author), and eve's own id is
/// still hers alone to ask about.
#[test]
fn another_members_message_with_my_id_does_not_hide_my_receipts() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut eve] = server.logged_in(["ana", "bob", "eve"]);
    for c in [&mut ana, &mut bob, &mut eve] {
        assert_eq!(c.request("JOIN:#lab"), "OK");
    }
    assert!(ana.request("MSG:#lab:r1:ana's question").starts_with("OK:r1:"));
    assert!(eve.request("MSG:#lab:r1:same id, eve's").starts_with("OK:r1:"));
    assert_eq!(ana.listing("RECEIPTS:#lab:r1"), ["TO:2"], "ana's own message, nobody has it yet");
    assert_eq!(eve.listing("RECEIPTS:#lab:r1"), ["TO:2"], "eve's own, too");
    let refused = bob.request("RECEIPTS:#lab:r1");
    assert!(refused.starts_with("KO:FORBIDDEN:"), "bob sent no r1: {refused}");
}
