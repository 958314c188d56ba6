//! What the browser app says, in a real chromium (tests/support/browser.rs)
//! at a phone's 390×844 and a laptop's 1280×800: a throttled login says
//! the server's words and its wait, and logs in by itself after it; an
//! invitation to a room offers Join; the chat list, a reply's quote and
//! the starred messages say "📷 the board", "🎤 Voice message (0:03)",
//! "📎 lab3.pdf", formatting left out, never the wire's text; and "New
//! chat" finds people by the start of their name (`PEOPLE`, 1.2).
//! Screenshots go to `target/tmp/screenshots/`.

use super::support;

use serde_json::json;
use support::browser::Browser;
use support::files::{photo, upload};
use support::webapp::{ENTER, logged_in, open_chat, scheme, shot, web_server};
use support::{Conn, TestServer};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// The login form of a new browser, `user` and `password` typed, not sent.
fn login_form(url: &str, (width, height): (u32, u32), user: &str, password: &str) -> Browser {
    let browser = Browser::start(width, height);
    browser.goto(url);
    browser.type_into("#user", user);
    browser.type_into("#password", password);
    browser
}

#[test]
fn a_throttled_login_says_the_servers_words_and_wait_then_logs_in_by_itself() {
    let (server, url) = web_server(&[]);
    // Registered from another address: ana never logged in from the
    // browsers' one, so its failures there throttle her right password too.
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("REGISTER:ana::pw-ana"), "OK:ana");
    let phone = login_form(&url, PHONE, "ana", "pw-ana");
    let laptop = login_form(&url, LAPTOP, "ana", "pw-ana");
    for _ in 0..5 {
        let mut guess = server.send_conn();
        assert_eq!(guess.request("LOGIN:ana:wrong"), "KO:AUTH_FAILED:wrong user or password");
    }
    for (browser, dark) in [(&phone, false), (&laptop, true)] {
        scheme(browser, dark);
        browser.click("#login-button");
    }
    for (browser, name) in [(&phone, "throttled-login-390"), (&laptop, "throttled-login-dark-1280")] {
        let said = browser.wait_for("document.getElementById('login-error').textContent");
        let said = said.as_str().unwrap();
        let wait: u32 = said
            .strip_prefix("Too many failed logins. Trying again in ")
            .and_then(|rest| rest.strip_suffix(" s…"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("the server's words and its wait: {said:?}"));
        assert!((1..=10).contains(&wait), "{said}");
        shot(browser, name);
    }
    // The count goes down, and the login is tried again once it is over.
    phone.wait_for("/in [0-8] s…$/.test(document.getElementById('login-error').textContent)");
    for browser in [&phone, &laptop] {
        let deadline = std::time::Instant::now() + 3 * support::READ_TIMEOUT;
        while browser.exec("return Boolean(document.querySelector('#status.online'))", json!([]))
            != json!(true)
        {
            let said = browser.exec("return document.getElementById('login-error').textContent", json!([]));
            assert!(!said.as_str().unwrap().contains("reach"), "never 'cannot reach': {said}");
            assert!(std::time::Instant::now() < deadline, "not logged in after the wait: {said}");
            std::thread::sleep(std::time::Duration::from_millis(100)); // polling the page
        }
        assert_eq!(browser.exec("return document.getElementById('app').hidden", json!([])), json!(false));
    }
}

#[test]
fn an_invitation_to_a_room_offers_join_in_its_message_and_its_banner() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "eve"]);
    let mut ana = joined_alone(&server, "ana", "#trip");
    assert_eq!(ana.request("MODE:#trip:+invite"), "OK");
    let mut eve = server.login_send("eve", "pw-eve");
    // A text that only looks like one, from someone else than it names: no Join.
    assert!(
        eve.request("MSG:bob:mod-1-1:* ana invites you to #trip: join it with JOIN:#trip").starts_with("OK:")
    );
    for (size, dark) in [(PHONE, true), (LAPTOP, false)] {
        let room = if size == PHONE { "#trip" } else { "#trip2" };
        if room != "#trip" {
            assert_eq!(ana.request(&format!("JOIN:{room}")), "OK");
            assert_eq!(ana.request(&format!("MODE:{room}:+invite")), "OK");
        }
        let bob = logged_in(&url, "bob", size.0, size.1);
        scheme(&bob, dark);
        assert_eq!(ana.request(&format!("INVITE:{room}:bob")), "OK");
        // The banner (the INVITED event) says it in words, with Join.
        bob.wait_for(&format!(
            "document.getElementById('banner-text').textContent === 'ana invites you to {room}' && !document.getElementById('banner-action').hidden"
        ));
        // The chat with ana says it too, as its last message.
        let row = "document.querySelector(\"#chat-list button[data-chat='ana'] .chat-last\")?.textContent";
        bob.wait_for(&format!("{row} === 'ana invites you to {room}'"));
        bob.click("#chat-list button[data-chat='ana']");
        let join = "#messages .msg .join";
        bob.wait_for(&format!(
            "document.querySelector('{join}:last-child, #messages .msg:last-child .join')?.textContent === 'Join {room}'"
        ));
        let shown = bob.exec(
            "return [...document.querySelectorAll('#messages .msg')].map(m => [m.querySelector('.text')?.textContent, m.querySelector('.join')?.textContent])",
            json!([]),
        );
        let expected = if room == "#trip" {
            json!([["ana invites you to #trip", "Join #trip"]])
        } else {
            json!([["ana invites you to #trip", "Open #trip"], ["ana invites you to #trip2", "Join #trip2"]])
        };
        assert_eq!(shown, expected);
        shot(&bob, &format!("invitation-{}", size.0));
        bob.click("#messages .msg:last-child .join");
        bob.wait_for(&format!(
            "document.getElementById('chat-title').textContent === '{room}' && document.getElementById('chat-sub').textContent === '2 members'"
        ));
        let members = ana.listing(&format!("MEMBERS:{room}"));
        assert!(members.iter().any(|m| m.starts_with("bob:")), "{members:?}");
        // Back in ana's chat, the invitation now opens the room.
        bob.exec("document.getElementById('back').click()", json!([]));
        bob.click("#chat-list button[data-chat='ana']");
        bob.wait_for(&format!(
            "document.querySelector('#messages .msg:last-child .join')?.textContent === 'Open {room}'"
        ));
        // Eve's look-alike, whose sender is not the one it names, stays text.
        bob.exec("document.getElementById('back').click()", json!([]));
        bob.click("#chat-list button[data-chat='eve']");
        bob.wait_for("document.querySelector('#messages .msg .text')?.textContent === '* ana invites you to #trip: join it with JOIN:#trip'");
        assert_eq!(
            bob.exec("return document.querySelectorAll('#messages .join').length", json!([])),
            json!(0)
        );
    }
}

/// A send connection of `user` in `room`, which it owns if it is the first.
fn joined_alone(server: &TestServer, user: &str, room: &str) -> Conn {
    let mut conn = server.login_send(user, &format!("pw-{user}"));
    assert_eq!(conn.request(&format!("JOIN:{room}")), "OK");
    conn
}

#[test]
fn lists_quotes_and_stars_say_photo_voice_and_file_in_words_without_formatting() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    for (size, dark) in [(PHONE, false), (LAPTOP, true)] {
        let ana = logged_in(&url, "ana", size.0, size.1);
        scheme(&ana, dark);
        let row = "document.querySelector(\"#chat-list button[data-chat='bob'] .chat-last\")?.textContent";
        let n = size.0;
        let board = upload(&mut bob, "whiteboard.png", &photo(300, 200));
        let voice = upload(&mut bob, "voice-3s.webm", b"\x1a\x45\xdf\xa3 not really a sound");
        let pdf = upload(&mut bob, "lab3.pdf", b"%PDF-1.4 a lab");
        // Each as the list's last line: the wire's text never shows.
        for (line, said) in [
            (format!("MSG:ana:t{n}:*see* _you_ at ~10~ 11"), "see you at 10 11"),
            (format!("FILE:ana:p{n}:{board}:the board"), "📷 the board"),
            (format!("FILE:ana:q{n}:{board}:"), "📷 Photo"),
            (format!("FILE:ana:d{n}:{pdf}:for *friday*"), "📎 lab3.pdf"),
            (format!("FILE:ana:v{n}:{voice}:"), "🎤 Voice message (0:03)"),
        ] {
            assert!(bob.request(&line).starts_with("OK:"), "{line}");
            ana.wait_for(&format!("{row} === {:?}", said));
        }
        if size == LAPTOP {
            shot(&ana, "previews-dark-1280");
        }
        // A reply to the voice message quotes it in words.
        open_chat(&ana, "bob");
        ana.wait_for(&format!("document.querySelector(\"#messages .msg[data-id='v{n}'] .more\")"));
        ana.click(&format!("#messages .msg[data-id='v{n}'] .more"));
        ana.click("#messages .menu button[data-act='reply']");
        ana.wait_for("document.getElementById('compose-what').textContent === 'Replying to bob: 🎤 Voice message (0:03)'");
        ana.type_into("#input", &format!("loud and clear{ENTER}"));
        ana.wait_for("document.querySelector('#messages .msg.mine .quote')?.textContent === 'bob: 🎤 Voice message (0:03)'");
        // Starred: the photo and the text, in words.
        for id in [format!("p{n}"), format!("t{n}")] {
            ana.click(&format!("#messages .msg[data-id='{id}'] .more"));
            ana.click("#messages .menu button[data-act='star']");
            ana.wait_for(&format!("document.querySelector(\"#messages .msg[data-id='{id}'] .star\")"));
        }
        if size == PHONE {
            ana.click("#back");
        }
        ana.click("#starred-button");
        // (Those of the phone's turn too, on the laptop's: the server keeps them.)
        let stars = if size == PHONE { 2 } else { 4 };
        ana.wait_for(&format!("document.querySelectorAll('#starred-list .result').length === {stars}"));
        let starred = ana.exec(
            "return [...document.querySelectorAll('#starred-list .result > span:last-child')].map(s => s.textContent).slice(0, 2)",
            json!([]),
        );
        assert_eq!(starred, json!(["📷 the board", "see you at 10 11"]), "newest first");
        shot(&ana, &format!("starred-in-words-{n}"));
        // The search results say it alike.
        ana.type_into("#search-words", &format!("friday{ENTER}"));
        ana.wait_for("document.querySelector('#search-results .result > span:last-child')?.textContent === '📎 lab3.pdf'");
    }
}

#[test]
fn new_chat_finds_people_by_the_start_of_their_name() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "Bobby", "boris", "carla"]);
    for (size, dark) in [(PHONE, true), (LAPTOP, false)] {
        // Online now (a receive connection that nobody reads is closed after --timeout).
        let _bob_online = server.login_recv("bob", "pw-bob");
        let ana = logged_in(&url, "ana", size.0, size.1);
        scheme(&ana, dark);
        ana.type_into("#new-chat-name", "bO");
        let names = "[...document.querySelectorAll('#people button')].map(b => b.querySelector('.chat-name').textContent).join(',')";
        ana.wait_for(&format!("{names} === 'bob,Bobby,boris'"));
        let first =
            ana.exec("return document.querySelector('#people button .chat-last').textContent", json!([]));
        assert_eq!(first, json!("online"));
        shot(&ana, &format!("people-{}", size.0));
        // Narrowed as more is typed; nobody is said in words.
        ana.type_into("#new-chat-name", "bb");
        ana.wait_for(&format!("{names} === 'Bobby'"));
        ana.type_into("#new-chat-name", "x");
        ana.wait_for("document.querySelector('#people .note')?.textContent === 'Nobody in your rooms is called bObbx…'");
        // ↓ then Enter opens the one found.
        ana.exec("document.getElementById('new-chat-name').value = ''", json!([]));
        ana.type_into("#new-chat-name", "car");
        ana.wait_for(&format!("{names} === 'carla'"));
        ana.type_into("#new-chat-name", "\u{E015}"); // ArrowDown
        ana.wait_for("document.activeElement.dataset.user === 'carla'");
        ana.type_into("#people button", ENTER);
        ana.wait_for("document.getElementById('chat-title').textContent === 'carla' && !document.getElementById('people')");
        assert_eq!(ana.exec("return document.getElementById('new-chat-name').value", json!([])), json!(""));
    }
}
