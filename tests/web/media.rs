//! Photos and forwarding in a real chromium (tests/support/browser.rs): the
//! photo viewer, forwarding a message or a photo (the same file, never
//! uploaded again: the server's rule of docs/PROTOCOL.md §21), and the
//! server's side of that rule over raw protocol connections.

use super::support;

use serde_json::json;
use support::browser::Browser;
use support::files::{fetch, login_recv_1_2, next_file_event, photo, upload};
use support::webapp::{logged_in, shot, web_server};

#[test]
fn whoever_may_fetch_a_file_may_forward_it_and_nobody_else() {
    let server = support::TestServer::start();
    server.register(&["ana", "bob", "carla", "eve"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut eve = server.login_send("eve", "pw-eve");
    let mut carla_events = login_recv_1_2(&server, "carla");
    let png = photo(300, 200);
    let id = upload(&mut ana, "board.png", &png);
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    // Eve may not fetch it, so she may not send it either: one answer for both.
    assert_eq!(eve.request(&format!("FILE:carla:e1:{id}:")), "KO:UNKNOWN_FILE:no such file that you may see");
    // Bob may: his forward carries the same file to carla, who may now fetch it.
    assert!(bob.request(&format!("FILE:carla:f1:{id}:↪ the board")).starts_with("OK:f1:"));
    let event = next_file_event(&mut carla_events);
    assert!(event.contains(":bob:carla:f1:") && event.contains(&format!(":{id}:")), "{event}");
    assert!(event.contains(":📎 board.png (") && event.ends_with(") ↪ the board"), "{event}");
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(fetch(&mut carla, &id).unwrap() == png, "byte for byte");
    // Ana's FILES lists her own message only: bob's forward says nothing to her.
    let files = ana.listing("FILES");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].contains(":bob:p1:board.png"), "{files:?}");
    // Ana deletes her message: the file stays for the forward that still carries it.
    assert!(ana.request("DELETE:bob:p1").starts_with("OK:"));
    assert!(fetch(&mut carla, &id).unwrap() == png, "still carried by bob's forward");
}

#[test]
fn a_photo_opens_in_a_viewer_and_is_forwarded_with_a_text_without_uploading_again() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:bob:c1:hi bob").starts_with("OK:"));
    let id = upload(&mut ana, "whiteboard.png", &photo(1200, 900));
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    assert!(ana.request("MSG:bob:t1:*see* you at 10").starts_with("OK:t1:"));
    for (width, height) in [(390, 844), (1280, 800)] {
        let bob = logged_in(&url, "bob", width, height);
        bob.click("#chat-list button[data-chat='ana']");
        bob.wait_for("document.querySelector('#messages .msg .file img.thumb')?.naturalWidth > 0");
        // The viewer: the photo whole, its name, Download, Forward, ✕; Esc closes it and the focus comes back.
        bob.click("#messages .msg .file button.photo");
        bob.wait_for("document.querySelector('.viewer img.full')?.naturalWidth === 1200");
        let viewer = bob.exec(
            "const v = document.querySelector('.viewer'); const r = v.getBoundingClientRect();
             return { full: r.width === innerWidth && r.height === innerHeight, role: v.getAttribute('role'),
                      name: v.querySelector('.viewer-name').textContent, focus: document.activeElement.getAttribute('aria-label'),
                      labels: [...v.querySelectorAll('button')].map(b => b.getAttribute('aria-label')) }",
            json!([]),
        );
        assert_eq!(viewer["full"], json!(true), "{width}: full screen");
        assert_eq!(viewer["role"], json!("dialog"));
        assert_eq!(viewer["name"], json!("whiteboard.png"));
        assert_eq!(viewer["focus"], json!("Close"));
        assert_eq!(viewer["labels"], json!(["Download whiteboard.png", "Forward", "Close"]));
        shot(&bob, &format!("photo-viewer-{width}"));
        bob.exec("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))", json!([]));
        bob.wait_for(
            "!document.querySelector('.viewer') && document.activeElement.classList.contains('photo')",
        );
        if width > 480 {
            // Forward, from the viewer: the same file id reaches carla (listening from now on:
            // a connection left unread while the phone was looked at may have timed out).
            let mut carla_events = login_recv_1_2(&server, "carla");
            bob.click("#messages .msg .file button.photo");
            bob.wait_for("document.querySelector(\".viewer button[aria-label='Forward']\")");
            bob.click(".viewer button[aria-label='Forward']");
            bob.wait_for("document.querySelector(\"#forward button[data-chat='carla']\")");
            shot(&bob, "forward-chooser-1280");
            bob.click("#forward button[data-chat='carla']");
            let event = next_file_event(&mut carla_events);
            assert!(event.contains(":bob:carla:") && event.contains(&format!(":{id}:")), "{event}");
            assert!(event.ends_with(" ↪ the board"), "{event}");
            // And a text, from its menu.
            bob.click("#messages .msg[data-id='t1'] .more");
            bob.wait_for("document.querySelector(\"#messages .menu button[data-act='forward']\")");
            bob.click("#messages .menu button[data-act='forward']");
            bob.wait_for("document.querySelector(\"#forward button[data-chat='carla']\")");
            bob.click("#forward button[data-chat='carla']");
            // A connection of its own: the first may have timed out while the phone was looked at.
            let mut carla = server.login_send("carla", "pw-carla");
            let text = poll(|| {
                carla.listing("HISTORY:bob:5").into_iter().find(|l| l.ends_with(":↪ *see* you at 10"))
            });
            assert!(text.starts_with("bob:carla:"), "{text}");
            // Bob's own view of both: "Forwarded", the arrow gone, the formatting kept.
            bob.click("#chat-list button[data-chat='carla']");
            bob.wait_for("document.querySelectorAll('#messages .msg.mine .forwarded').length === 2");
            let shown = bob.exec(
                "return [...document.querySelectorAll('#messages .msg.mine')].map(m => [m.querySelector('.forwarded').textContent, m.querySelector('.text').textContent, !!m.querySelector('.file')])",
                json!([]),
            );
            assert_eq!(
                shown,
                json!([["Forwarded", "the board", true], ["Forwarded", "see you at 10", false]])
            );
            shot(&bob, "forwarded-1280");
        }
    }
}

/// Asks `f` until it answers.
fn poll<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "the server never said so");
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling the server
    }
}

#[test]
fn the_browser_reads_voice_messages_by_the_consoles_rule() {
    let (_server, url) = web_server(&[]);
    let cases: Vec<serde_json::Value> = include_str!("../data/voice.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let want = f[1].parse::<u32>().ok().map(|s| json!([s, f[2]]));
            assert_eq!(wachat::protocol::files::voice(f[0]).map(|(s, c)| json!([s, c])), want, "{l}");
            json!([f[0], want])
        })
        .collect();
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let wrong = browser.exec_async(
        "const [cases, done] = arguments;
         import('/voice.js').then(m => done(cases.filter(([text, want]) => {
           const got = m.voice(text);
           return JSON.stringify(got ? [got.seconds, got.caption] : null) !== JSON.stringify(want);
         })));",
        json!([cases]),
    );
    assert_eq!(wrong, json!([]));
}

#[test]
fn a_voice_message_is_recorded_sent_as_a_file_and_played_with_its_length() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob_events = login_recv_1_2(&server, "bob");
    // Recorded on a phone, with chromium's fake microphone (a tone).
    let ana = logged_in(&url, "ana", 390, 844);
    support::webapp::open_chat(&ana, "bob");
    let label = ana.exec("return document.getElementById('record').getAttribute('aria-label')", json!([]));
    assert_eq!(label, json!("Record a voice message"));
    ana.click("#record");
    ana.wait_for("document.getElementById('voice-bar')");
    ana.wait_for("/Recording 0:0[2-9]/.test(document.getElementById('voice-bar').textContent)");
    shot(&ana, "voice-recording-390");
    ana.click("#voice-send");
    let event = next_file_event(&mut bob_events);
    let fields: Vec<&str> = event.splitn(11, ':').collect();
    let (file, name, text) = (fields[6], fields[9], fields[10]);
    assert!(name.starts_with("voice-") && name.ends_with("s.webm"), "{event}");
    let (seconds, caption) =
        wachat::protocol::files::voice(text).unwrap_or_else(|| panic!("a voice message: {event}"));
    // At least the 2 s seen on the bar; more when a loaded machine is slow to click.
    assert!((2..=9).contains(&seconds) && caption.is_empty(), "{event}");
    let mut bob = server.login_send("bob", "pw-bob");
    let bytes = fetch(&mut bob, file).unwrap();
    assert!(bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]), "a WebM file");
    // Ana's bubble is a player, its length known from the name.
    let length = format!("0:{seconds:02}");
    ana.wait_for(&format!(
        "document.querySelector('#messages .msg.mine .voice .voice-time')?.textContent === '{length}'"
    ));
    // Bob, on a laptop, plays it: the bar moves.
    let bob_browser = logged_in(&url, "bob", 1280, 800);
    bob_browser.click("#chat-list button[data-chat='ana']");
    bob_browser.wait_for("document.querySelector('#messages .msg .voice .play')");
    let labels = bob_browser.exec(
        "const v = document.querySelector('#messages .msg .voice');
         return [v.querySelector('.play').getAttribute('aria-label'), v.querySelector('progress').getAttribute('aria-label'),
                 document.querySelector('#messages .msg .text').hidden]",
        json!([]),
    );
    assert_eq!(labels, json!(["Play voice message", format!("Voice message, {length}"), true]));
    bob_browser.click("#messages .msg .voice .play");
    bob_browser.wait_for("document.querySelector('#messages .msg .voice progress').value > 0");
    bob_browser.wait_for("document.querySelector('#messages .msg .voice .play').getAttribute('aria-label') === 'Play voice message' && document.querySelector('#messages .msg .voice progress').value >= 1");
    shot(&bob_browser, "voice-player-1280");
}

/// The page's own moves of its history (`history.back()`, `go`, `forward`)
/// held until `land()` lets them go, as on a slow phone where each lands
/// late: `moving` counts those let go and not landed yet (each lands with
/// a popstate).
const SLOW_HISTORY: &str = "window.moving = 0; const held = [];
    addEventListener('popstate', () => { if (moving > 0) moving -= 1; });
    for (const f of ['back', 'forward', 'go']) {
      const real = history[f].bind(history);
      history[f] = (...a) => held.push(() => real(...a));
    }
    window.land = () => { for (const move of held.splice(0)) { moving += 1; move(); } };";

/// Lets the held moves go and waits for them to land; what the current entry says.
fn land(browser: &Browser) -> serde_json::Value {
    browser.exec("land()", json!([]));
    browser.wait_for("moving === 0");
    browser.exec("return [history.state.wachat, history.state.layer ?? null, history.state.at]", json!([]))
}

#[test]
fn a_slow_history_closes_neither_a_photo_tapped_again_after_esc_nor_the_forward_chooser() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:bob:c1:hi bob").starts_with("OK:"));
    let id = upload(&mut ana, "whiteboard.png", &photo(300, 200));
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    let bob = logged_in(&url, "bob", 1280, 800);
    bob.click("#chat-list button[data-chat='ana']");
    bob.wait_for("document.querySelector('#messages .msg .file img.thumb')?.naturalWidth > 0");
    bob.exec(SLOW_HISTORY, json!([]));
    let shown = "return [!!document.querySelector('.viewer'), !!document.querySelector('#forward')]";
    // Esc closes the viewer, and the photo is tapped again before the viewer's Back has landed.
    bob.click("#messages .msg .file button.photo");
    bob.wait_for("document.querySelector('.viewer')");
    assert_eq!(land(&bob), json!(["layer", ".viewer", 3]));
    let esc =
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))";
    bob.exec(esc, json!([]));
    bob.wait_for("!document.querySelector('.viewer') && document.activeElement.classList.contains('photo')");
    bob.click("#messages .msg .file button.photo");
    bob.wait_for("document.querySelector('.viewer')");
    assert_eq!(land(&bob), json!(["layer", ".viewer", 3]));
    assert_eq!(bob.exec(shown, json!([])), json!([true, false]), "the viewer stays open");
    // Forward closes the viewer and opens the chooser before the viewer's Back has landed.
    bob.click(".viewer button[aria-label='Forward']");
    bob.wait_for("document.querySelector(\"#forward button[data-chat='carla']\")");
    assert_eq!(land(&bob), json!(["layer", "#forward", 3]));
    assert_eq!(bob.exec(shown, json!([])), json!([false, true]), "the chooser stays open");
    // Back closes the chooser, and only it.
    bob.back();
    bob.wait_for("!document.querySelector('#forward')");
    assert_eq!(land(&bob), json!(["chat", null, 2]));
    assert_eq!(bob.exec("return !!document.querySelector('#messages .msg .file')", json!([])), json!(true));
}
