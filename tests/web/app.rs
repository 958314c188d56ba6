//! The browser app people would rather use, end to end: a
//! real `wachat serve` with its web port, Debian's chromium driven
//! headless (tests/support/browser.rs), and raw protocol connections for
//! the others. The header at phone and laptop widths, room notices, a
//! composer that says why it is closed, errors where the user looks, the
//! admin's controls, the installable app and its offline start, mentions,
//! the link code's QR code, and the little things.

use super::support;

use std::process::Command;

use serde_json::{Value, json};
use support::browser::Browser;
use support::webapp::{
    ENTER, joined, log_in_again, logged_in, logged_in_speaking, new_link_code, open_chat,
    restartable_web_server, web_server,
};

/// The labels of the app's own words that are shown, each as `[text, fits]`:
/// none may be cut (`scrollWidth <= clientWidth`), and the page may not
/// scroll sideways.
const LABELS_FIT: &str = "
    const labels = [...document.querySelectorAll('#list-pane .bar h2, .bar button, #chat-panel button, #status')]
        .filter(e => e.offsetParent !== null && e.textContent.trim());
    const cut = labels.filter(e => e.scrollWidth > e.clientWidth + 0.5).map(e => e.id || e.textContent);
    return { cut, labels: labels.length, sideways: document.documentElement.scrollWidth > window.innerWidth };";

fn assert_labels_fit(browser: &Browser, what: &str) {
    let fit = browser.exec(LABELS_FIT, json!([]));
    assert_eq!(fit["cut"], json!([]), "{what}: labels cut: {fit}");
    assert_eq!(fit["sideways"], json!(false), "{what}: scrolls sideways");
    assert!(fit["labels"].as_u64().unwrap() >= 3, "{what}: {fit}");
}

#[test]
fn the_header_never_cuts_a_label_at_360_390_and_1280_px() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#operating-systems-lab"), "OK");
    assert!(bob.request("MSG:ana:h1:hello").starts_with("OK"));
    // Spanish and Portuguese say it in longer words.
    for (width, height, lang) in [
        (360, 740, "en-US"),
        (390, 844, "en-US"),
        (1280, 800, "en-US"),
        (360, 740, "es"),
        (360, 740, "pt-BR"),
    ] {
        let ana = logged_in_speaking(&url, "ana", width, height, lang);
        // One's display name as long as they go (64 characters).
        ana.exec(
            "document.querySelector('#me .me-name').textContent = 'Ana María de los Ángeles Fernández-Villanueva, TA of the lab 3'",
            json!([]),
        );
        assert_labels_fit(&ana, &format!("the chat list at {width} px in {lang}"));
        open_chat(&ana, "#operating-systems-lab");
        ana.click("#members-button");
        ana.wait_for("document.querySelector('#members li')");
        assert_labels_fit(&ana, &format!("a room at {width} px in {lang}"));
    }
}

#[test]
fn a_rooms_notice_is_drawn_as_a_notice_and_announce_only_closes_the_composer_with_its_reason() {
    let (server, url) = web_server(&[]);
    server.register(&["prof", "bob", "carla"]);
    let mut prof = server.login_send("prof", "pw-prof");
    assert_eq!(prof.request("JOIN:#news"), "OK");
    let mut bob_raw = server.login_send("bob", "pw-bob");
    assert_eq!(bob_raw.request("JOIN:#news"), "OK");
    assert!(prof.request("MSG:#news:n1:welcome").starts_with("OK"));
    assert_eq!(prof.request("MODE:#news:+announce"), "OK");
    let bob = logged_in(&url, "bob", 390, 844);
    open_chat(&bob, "#news");
    let notice = bob.wait_for("document.querySelector('#messages li.notice')?.textContent");
    assert_eq!(notice, json!("prof made #news announce-only: only admins write in it"));
    // A notice is no bubble: no sender line, no tick, no actions.
    assert_eq!(
        bob.exec("return document.querySelector('#messages li.notice').children.length", json!([])),
        json!(0)
    );
    assert_eq!(bob.exec("return document.querySelectorAll('#messages .msg').length", json!([])), json!(1));
    // The composer is closed, and says why.
    bob.wait_for("document.getElementById('input').disabled && document.getElementById('send').disabled");
    let why = bob.exec("return document.getElementById('room-note').textContent", json!([]));
    assert_eq!(why, json!("Only admins write here"));
    assert_eq!(
        bob.exec("return document.getElementById('input').placeholder", json!([])),
        json!("Only admins write here")
    );
    // The header's count follows a join.
    bob.wait_for("document.getElementById('chat-sub').textContent.startsWith('2 ')");
    let mut carla = server.login_send("carla", "pw-carla");
    assert_eq!(carla.request("JOIN:#news"), "OK");
    bob.wait_for("document.getElementById('chat-sub').textContent.startsWith('3 ')");
    // Open again: the room's mode lifted, the composer opens.
    assert_eq!(prof.request("MODE:#news:-announce"), "OK");
    bob.wait_for("!document.getElementById('input').disabled && document.getElementById('room-note').hidden");
    // Muted: closed again, saying until when; and a banner says who did it.
    assert_eq!(prof.request("MUTE:#news:bob:60"), "OK");
    bob.wait_for("document.getElementById('input').disabled && document.getElementById('room-note').textContent.startsWith('You are muted until ')");
    let said = bob.wait_for(
        "!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent",
    );
    assert!(said.as_str().unwrap().starts_with("prof muted you in #news until "), "{said}");
}

#[test]
fn a_refusal_is_shown_as_text_in_an_error_colour_on_a_phone() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let ana = logged_in(&url, "ana", 390, 844);
    ana.type_into("#new-chat-name", &format!("zed{ENTER}"));
    ana.wait_for("!document.getElementById('banner').hidden");
    let shown = ana.exec(
        "const b = document.getElementById('banner'); const r = b.getBoundingClientRect(); const s = getComputedStyle(b);
         return { text: b.textContent, color: s.color, size: parseFloat(s.fontSize),
                  inside: r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight };",
        json!([]),
    );
    assert_eq!(shown["text"], json!("refused: no user named zed✕"), "{shown}");
    assert_eq!(shown["color"], json!("rgb(179, 38, 30)"), "the error colour");
    assert!(shown["size"].as_f64().unwrap() >= 15.0, "readable on a phone: {shown}");
    assert_eq!(shown["inside"], json!(true), "on the screen: {shown}");
    ana.click("#banner-close");
    ana.wait_for("document.getElementById('banner').hidden");
}

#[test]
fn an_admin_runs_the_room_from_its_panel_and_destructive_actions_ask_first() {
    let (server, url) = web_server(&[]);
    server.register(&["prof", "bob", "carla"]);
    let [mut prof_raw, mut bob]: [_; 2] = joined(&server, "#lab", &["prof", "bob"]).try_into().ok().unwrap();
    let prof = logged_in(&url, "prof", 1280, 800);
    open_chat(&prof, "#lab");
    prof.click("#members-button");
    prof.wait_for("document.querySelector('#topic-input')");
    // The topic, and the modes.
    prof.exec("document.getElementById('topic-input').value = 'week 4: threads'", json!([]));
    prof.click("#room-admin button[data-act='setTopic']");
    prof.wait_for("document.getElementById('chat-topic').textContent === 'week 4: threads'");
    // Invitation only, and carla invited: she may join.
    prof.click("#room-admin input[data-mode='invite']");
    let mut carla = server.login_send("carla", "pw-carla");
    poll(|| carla.request("JOIN:#lab").starts_with("KO:FORBIDDEN").then_some(()));
    prof.wait_for("document.querySelector(\"#room-admin input[data-mode='invite']\").checked");
    prof.type_into("#invite-name", "carla");
    prof.click("#room-admin button[data-act='invite']");
    poll(|| (carla.request("JOIN:#lab") == "OK").then_some(()));
    prof.wait_for("document.getElementById('chat-sub').textContent.startsWith('3 ')");
    prof.click("#room-admin input[data-mode='announce']");
    prof.wait_for("document.getElementById('chat-flag').textContent === '📢'");
    assert!(bob.listing("ROOMINFO:#lab").contains(&"MODE:+announce".to_string()));
    // A mute for the time chosen: one hour.
    prof.exec(
        "const s = document.querySelector('#members .mute-for'); s.value = '60'; s.dispatchEvent(new Event('change'))",
        json!([]),
    );
    prof.click("#members button[data-act='mute']");
    let muted = poll(|| bob.listing("ROOMINFO:#lab").into_iter().find(|l| l.starts_with("MUTED:")));
    let until: u64 = muted.trim_start_matches("MUTED:").parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(until > now + 50 * 60_000 && until < now + 70 * 60_000, "about an hour: {until} vs {now}");
    // Remove asks first: one tap does nothing but ask.
    prof.click("#members button[data-act='kick']");
    prof.wait_for("document.querySelector(\"#members button[data-act='kick']\").classList.contains('armed')");
    assert_eq!(bob.listing("MEMBERS:#lab").len(), 3, "one tap removed nobody");
    prof.click("#members button[data-act='kick']");
    poll(|| (prof_raw.listing("MEMBERS:#lab").len() == 2).then_some(()));
    prof.wait_for("document.getElementById('chat-sub').textContent.startsWith('2 ')");
}

/// Polls `f` (a question to the server) until it answers.
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

/// A browser linked to `user` with a code (its token kept: it logs in by itself after a reload).
fn linked(server: &support::TestServer, url: &str, user: &str, width: u32, height: u32) -> Browser {
    let mut raw = server.login_send(user, &format!("pw-{user}"));
    let code = raw.request("LINK").trim_start_matches("OK:").to_string();
    let browser = Browser::start(width, height);
    browser.goto(url);
    browser.click("#link-mode");
    browser.type_into("#user", user);
    browser.type_into("#code", &code);
    browser.click("#link-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    browser
}

#[test]
fn the_app_is_installable_and_a_reload_offline_shows_the_last_chats() {
    let (mut server, url) = restartable_web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:s1:the secret plan").starts_with("OK"));
    assert!(bob.request("MSG:ana:s2:see you at 3").starts_with("OK"));
    let ana = linked(&server, &url, "ana", 390, 844);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 2");

    // Installable, as chromium says through the DevTools protocol.
    let manifest = ana.cdp("Page.getAppManifest", json!({}));
    assert!(manifest["url"].as_str().unwrap().ends_with("/manifest.webmanifest"), "{manifest}");
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    ana.wait_for("navigator.serviceWorker.controller !== null");
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    loop {
        let errors = ana.cdp("Page.getInstallabilityErrors", json!({}));
        if errors["installabilityErrors"] == json!([]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not installable: {errors}");
        std::thread::sleep(std::time::Duration::from_millis(200)); // polling chromium
    }

    // The service worker keeps the app's own files, and nothing else: no WebSocket, no query, no token.
    let kept = ana.exec_async(
        "const done = arguments[0]; caches.open('wachat-shell').then(c => c.keys()).then(ks => done(ks.map(k => new URL(k.url).pathname + new URL(k.url).search)))",
        json!([]),
    );
    let kept: Vec<String> = serde_json::from_value(kept).unwrap();
    assert!(kept.contains(&"/".to_string()) && kept.contains(&"/app.js".to_string()), "{kept:?}");
    for path in &kept {
        assert!(!path.contains('?') && !path.starts_with("/ws/"), "{path}");
        let served = ana.exec_async(
            "const done = arguments[1]; caches.match(arguments[0]).then(r => r.text()).then(t => done(t))",
            json!([path]),
        );
        assert!(!served.as_str().unwrap().contains("\"token\""), "{path}");
    }

    // A deleted message leaves what the browser kept.
    assert!(bob.request("DELETE:ana:s1").starts_with("OK"));
    ana.wait_for("document.querySelector('#messages .msg .text').textContent === '(message deleted)'");
    ana.wait_for("!Object.keys(localStorage).some(k => localStorage[k].includes('the secret plan')) && Object.keys(localStorage).some(k => k.startsWith('wachat:kept:') && localStorage[k].includes('see you at 3'))");

    // The server goes away; a reload still shows the chat list and the open chat.
    server.kill();
    ana.goto(&url);
    ana.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.offline')");
    ana.wait_for("document.querySelector(\"#chat-list button[data-chat='bob'] .chat-last\")?.textContent === 'see you at 3'");
    ana.wait_for("document.getElementById('chat-title').textContent === 'bob' && document.querySelectorAll('#messages .msg').length === 2");
    let texts = ana.exec(
        "return [...document.querySelectorAll('#messages .msg .text')].map(e => e.textContent)",
        json!([]),
    );
    assert_eq!(texts, json!(["(message deleted)", "see you at 3"]));
    assert!(
        ana.exec("return document.getElementById('app').classList.contains('offline')", json!([]))
            == json!(true)
    );
    // Offline, nobody's presence is known: an online dot is drawn grey, not green.
    let dot = ana.exec("const d = document.querySelector('#chat-list .dot'); d.classList.add('on'); return getComputedStyle(d).backgroundColor", json!([]));
    assert_eq!(dot, json!("rgb(215, 219, 224)"));
    // The outbox works as before: typed offline, kept, sent when the server is back.
    ana.type_into("#input", &format!("typed with no network{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'SENT'");
    server.restart_in_place(&[]);
    ana.wait_for("document.querySelector('#status.online') && document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.listing("HISTORY:ana:10").iter().any(|l| l.ends_with(":typed with no network")));
}

#[test]
fn the_browsers_mention_rule_passes_every_shared_case() {
    let (_server, url) = web_server(&[]);
    let cases: Vec<Value> = include_str!("../data/mentions.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            json!([f[0], f[1], f[2] == "1"])
        })
        .collect();
    assert!(cases.len() >= 20);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let wrong = browser.exec_async(
        "const [cases, done] = arguments;
         import('/mentions.js').then(m => done(cases.filter(([user, text, want]) => m.mentions(text, user) !== want)));",
        json!([cases]),
    );
    assert_eq!(wrong, json!([]));
}

#[test]
fn a_mention_is_highlighted_and_counted_in_its_own_badge() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let [_ana_raw, mut bob]: [_; 2] = joined(&server, "#lab", &["ana", "bob"]).try_into().ok().unwrap();
    let ana = logged_in(&url, "ana", 1280, 800);
    assert!(bob.request("MSG:#lab:m1:hi all").starts_with("OK"));
    assert!(bob.request("MSG:#lab:m2:@Ana, your turn").starts_with("OK"));
    assert!(bob.request("MSG:#lab:m3:mail ana@example.org").starts_with("OK"));
    let row = "#chat-list button[data-chat='#lab']";
    ana.wait_for(&format!("document.querySelector(\"{row} .badge.unread\")?.textContent === '3'"));
    ana.wait_for(&format!("document.querySelector(\"{row} .badge.mentions\")?.textContent === '@1'"));
    ana.click(row);
    let marked = ana
        // An empty array is truthy: wait for one marked message, not for the list.
        .wait_for("((t) => t.length ? t : null)([...document.querySelectorAll('#messages .msg.mention .text')].map(e => e.textContent))");
    assert_eq!(marked, json!(["@Ana, your turn"]));
    ana.wait_for(&format!("!document.querySelector(\"{row} .badge\")"));
}

#[test]
fn the_link_code_is_large_with_a_qr_code_and_goes_once_used() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let laptop = logged_in(&url, "ana", 1280, 800);
    let code = new_link_code(&laptop);
    let shown = laptop.exec("const c = document.getElementById('link-code-text'); return [c.textContent, parseFloat(getComputedStyle(c).fontSize)]", json!([]));
    assert_eq!(shown[0], json!(code));
    assert!(shown[1].as_f64().unwrap() >= 20.0, "large: {shown}");
    // The QR code says this app's address with the user and the code: read back by zbarimg.
    let text = laptop.wait_for("document.getElementById('link-qr').dataset.text");
    let expected = format!("{url}/#link=ana:{code}");
    assert_eq!(text, json!(expected));
    laptop.exec("document.getElementById('link-qr').scrollIntoView()", json!([]));
    let png = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("link-qr.png");
    std::fs::write(&png, laptop.screenshot()).unwrap();
    let read = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&png)
        .output()
        .expect("zbarimg is missing: apt-get install -y zbar-tools (as root), or run .ci/test");
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), expected);
    // A phone that opened that address finds the form filled in.
    let phone = Browser::start(390, 844);
    phone.goto(&expected);
    let filled = phone.exec("return [document.getElementById('user').value, document.getElementById('code').value, document.getElementById('login-form').classList.contains('linking')]", json!([]));
    assert_eq!(filled, json!(["ana", code, true]));
    // A hostile address fills in nothing, and the app still works.
    let other = Browser::start(390, 844);
    other.goto(&format!("{url}/#link=%E0%A4%A:<img src=x onerror=alert(1)>"));
    // The app takes the address's hash away once it has read it (on a
    // busy machine, after the page is loaded: .ci/run once read it first).
    other.wait_for("location.hash === ''");
    let left = other.exec("return [document.getElementById('user').value, document.getElementById('code').value, location.hash, document.getElementById('search-scope').options[1].disabled]", json!([]));
    assert_eq!(left, json!(["", "", "", true]));
    // Used: the code leaves the laptop's screen.
    phone.click("#link-button");
    phone.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    laptop.wait_for(
        "document.getElementById('link-box').hidden && !document.getElementById('link-code').dataset.code",
    );
}

#[test]
fn the_little_things_name_scope_suggestions_and_avatars() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:l1:hi").starts_with("OK"));
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK");
    let ana = logged_in(&url, "ana", 1280, 800);
    // Search looks through all chats while none is open.
    assert_eq!(ana.exec("return document.getElementById('search-scope').value", json!([])), json!("*"));
    // "New chat" suggests the people and rooms of my chats.
    let suggested =
        ana.wait_for("[...document.querySelectorAll('#suggested option')].map(o => o.value).join(' ')");
    assert!(
        suggested.as_str().unwrap().contains("bob") && suggested.as_str().unwrap().contains("#lab"),
        "{suggested}"
    );
    // Initials on a colour that is the same for the same name, wherever it is drawn.
    let faces = ana.exec("return [...document.querySelectorAll('#chat-list .avatar')].map(a => [a.dataset.initials, a.style.background])", json!([]));
    let faces = faces.as_array().unwrap();
    assert!(
        faces.iter().any(|f| f[0] == json!("B")) && faces.iter().any(|f| f[0] == json!("L")),
        "{faces:?}"
    );
    let again = ana.exec(
        "return document.querySelector(\"#chat-list button[data-chat='bob'] .avatar\").style.background",
        json!([]),
    );
    let carla = logged_in(&url, "carla", 800, 600);
    open_chat(&carla, "bob");
    let there = carla.exec(
        "return document.querySelector(\"#chat-list button[data-chat='bob'] .avatar\").style.background",
        json!([]),
    );
    assert_eq!(again, there);
    // The user name, never the password, is remembered after a reload.
    ana.goto(&url);
    ana.wait_for("!document.getElementById('login').hidden");
    assert_eq!(ana.exec("return document.getElementById('user').value", json!([])), json!("ana"));
    let stored = ana.exec("return JSON.stringify(localStorage)", json!([]));
    assert!(!stored.as_str().unwrap().contains("pw-ana"), "{stored}");
}

#[test]
fn a_chat_whose_newest_lines_are_reactions_keeps_its_preview_and_time() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:ana:c1:an older chat").starts_with("OK"));
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:r1:the real message").starts_with("OK"));
    // Twelve reactions after it (each REACT a line of the chat): more than the 10 lines first asked.
    for _ in 0..12 {
        assert!(bob.request("REACT:ana:r1:👍").starts_with("OK"));
    }
    let ana = logged_in(&url, "ana", 1280, 800);
    let row = "#chat-list button[data-chat='bob']";
    ana.wait_for(&format!(
        "document.querySelector(\"{row} .chat-last\")?.textContent === 'the real message'"
    ));
    assert!(
        ana.exec(
            &format!("return document.querySelector(\"{row} .chat-time\").textContent !== ''"),
            json!([])
        ) == json!(true)
    );
    // Newest first: bob's chat above carla's.
    let order = ana.exec(
        "return [...document.querySelectorAll('#chat-list button')].map(b => b.dataset.chat)",
        json!([]),
    );
    assert_eq!(order.as_array().unwrap()[..2], [json!("bob"), json!("carla")]);
}

/// The 1.2 lines of levels, pins and blocks as the app writes and reads
/// them (web/wire.js), hostile ones included: what the prefs requests and
/// events are on the wire (docs/PROTOCOL.md).
#[test]
fn the_apps_lines_of_levels_pins_and_blocks() {
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let out = browser.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => {
           const req = (f) => { try { return f(); } catch (e) { return 'throws'; } };
           done({
             requests: [req(() => w.request.notify('#lab', 'mentions')), req(() => w.request.notify('bob', 'none')),
                        req(() => w.request.pin('bob', true)), req(() => w.request.pin('#lab', false)),
                        req(() => w.request.block('bob')), req(() => w.request.unblock('bob')), w.request.blocks(), w.request.prefs(),
                        req(() => w.request.notify('bob', 'loud')), req(() => w.request.block('#lab')), req(() => w.request.pin('a:b', true))],
             prefs: ['bob:none:unpinned', '#lab:mentions:pinned', '#lab:all:pinned', 'bob:loud:pinned', 'bob:none:yes', 'b:o:b:none:pinned', ':all:pinned']
               .map(w.parsePrefLine),
             events: ['PREF:#lab:mentions:pinned', 'PREF:bob:all:unpinned', 'BLOCKED:bob', 'UNBLOCKED:bob', 'BLOCKED:', 'BLOCKED:a:b', 'PREF:bob:none', 'PREFX:bob:all:pinned']
               .map(w.parseEvent),
             listings: [w.isListing('PREFS'), w.isListing('BLOCKS')],
           });
         });",
        json!([]),
    );
    assert_eq!(
        out["requests"],
        json!([
            "NOTIFY:#lab:mentions",
            "NOTIFY:bob:none",
            "PIN:bob",
            "UNPIN:#lab",
            "BLOCK:bob",
            "UNBLOCK:bob",
            "BLOCKS",
            "PREFS",
            "throws",
            "throws",
            "throws"
        ])
    );
    assert_eq!(
        out["prefs"],
        json!([
            {"chat": "bob", "level": "none", "pinned": false},
            {"chat": "#lab", "level": "mentions", "pinned": true},
            {"chat": "#lab", "level": "all", "pinned": true},
            null, null, null, null
        ])
    );
    assert_eq!(
        out["events"],
        json!([
            {"kind": "PREF", "chat": "#lab", "level": "mentions", "pinned": true},
            {"kind": "PREF", "chat": "bob", "level": "all", "pinned": false},
            {"kind": "BLOCKED", "user": "bob"},
            {"kind": "UNBLOCKED", "user": "bob"},
            null, null, null, null
        ])
    );
    assert_eq!(out["listings"], json!([true, true]));
}

/// Sets the open chat's notification level from its Details panel.
fn set_level(browser: &Browser, level: &str) {
    browser.wait_for("document.getElementById('level')");
    browser.exec(
        "const s = document.getElementById('level'); s.value = arguments[0]; s.dispatchEvent(new Event('change'))",
        json!([level]),
    );
}

/// The server's side of levels, pins and blocks (`NOTIFY`, `PIN`,
/// `BLOCK`, `PREFS`, `BLOCKS`, the `PREF`/`BLOCKED` events, PROTOCOL.md
/// §22) with the app's.
#[test]
fn a_chat_muted_on_one_device_is_muted_on_the_second_and_pins_and_blocks_follow() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "dan", "eve"]);
    for (i, who) in ["carla", "dan", "eve", "bob"].iter().enumerate() {
        let mut raw = server.login_send(who, &format!("pw-{who}"));
        assert!(raw.request(&format!("MSG:ana:p{i}:hi from {who}")).starts_with("OK"));
    }
    let laptop = logged_in(&url, "ana", 1280, 800);
    let phone = logged_in(&url, "ana", 390, 844);
    let row =
        |chat: &str| format!("document.querySelector(\"#chat-list button[data-chat='{chat}'] .chat-name\")");
    // Muted on the laptop: muted on the phone, by the server's PREF event.
    open_chat(&laptop, "bob");
    laptop.click("#members-button");
    set_level(&laptop, "none");
    phone.wait_for(&format!("{}?.classList.contains('silent')", row("bob")));
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.listing("PREFS"), ["bob:none:unpinned"]);
    // Pinned: on top of the list everywhere; a fourth pin is refused, in words.
    for chat in ["carla", "dan"] {
        assert_eq!(ana_raw.request(&format!("PIN:{chat}")), "OK");
    }
    laptop.click("#pin-button");
    phone.wait_for(&format!("{}?.classList.contains('pinned')", row("bob")));
    open_chat(&laptop, "eve");
    laptop.click("#members-button");
    laptop.click("#pin-button");
    laptop.wait_for("!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent.startsWith('refused: ')");
    let first = phone.exec("return [...document.querySelectorAll('#chat-list button')].slice(0, 3).map(b => b.dataset.chat).sort()", json!([]));
    assert_eq!(first, json!(["bob", "carla", "dan"]));
    // Blocked on the laptop: the phone's composer for bob says so; Unblock from the phone's list opens both.
    open_chat(&laptop, "bob");
    laptop.click("#members-button");
    laptop.click("#block-button");
    laptop.wait_for("document.getElementById('input').disabled && document.getElementById('room-note').textContent === 'You blocked bob'");
    phone.click("#chat-list button[data-chat='bob']");
    phone.wait_for("document.getElementById('input').disabled && document.getElementById('room-note').textContent === 'You blocked bob'");
    phone.click("#back");
    phone.click("#devices-button");
    phone.click("#blocked button[data-user='bob']");
    laptop.wait_for("!document.getElementById('input').disabled");
    assert_eq!(ana_raw.listing("BLOCKS"), Vec::<String>::new());
}

/// Archived chats (1.2, PROTOCOL.md §23) in the app: archived on a
/// phone, the chat leaves the list on the phone and on the laptop (the
/// server's `ARCHIVE` event) for an "Archived (1)" row; a message into it
/// keeps it there, counted on the row; unarchived from the laptop's
/// archived view, it is back everywhere. And the wire's lines.
#[test]
fn a_chat_archived_on_the_phone_leaves_the_list_everywhere_and_a_message_keeps_it_there() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hi from bob").starts_with("OK"));
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:ana:c1:hi from carla").starts_with("OK"));
    let phone = logged_in(&url, "ana", 390, 844);
    let laptop = logged_in(&url, "ana", 1280, 800);
    let listed = "[...document.querySelectorAll('#chat-list button[data-chat]')].map(b => b.dataset.chat).sort().join()";
    let row = "document.getElementById('archived-row')?.textContent";
    laptop.wait_for(&format!("{listed} === '#general,bob,carla'"));
    // Archived on the phone, from bob's Details.
    phone.click("#chat-list button[data-chat='bob']");
    phone.click("#members-button");
    phone.wait_for("document.getElementById('archive-button')?.textContent === 'Archive'");
    phone.click("#archive-button");
    phone.wait_for("document.getElementById('archive-button').textContent === 'Unarchive'");
    phone.click("#panel-close"); // the Details drawer covers the chat, its header too
    phone.click("#back");
    phone.wait_for(&format!("{listed} === '#general,carla' && {row} === 'Archived (1)'"));
    laptop.wait_for(&format!("{listed} === '#general,carla' && {row} === 'Archived (1)'"));
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.listing("ARCHIVED"), ["bob"]);
    // A new message keeps it archived; the row counts the chat as unread.
    assert!(bob.request("MSG:ana:b2:are you there?").starts_with("OK"));
    laptop.wait_for(&format!("{listed} === '#general,carla' && {row} === 'Archived (1)1'"));
    // The laptop's archived view, then Unarchive: back in the list everywhere.
    laptop.click("#archived-row");
    laptop.wait_for(&format!("{listed} === 'bob' && {row} === '‹ Chats'"));
    laptop.click("#chat-list button[data-chat='bob']");
    laptop.click("#members-button");
    laptop.wait_for("document.getElementById('archive-button')?.textContent === 'Unarchive'");
    laptop.click("#archive-button");
    phone.wait_for(&format!("{listed} === '#general,bob,carla' && !document.getElementById('archived-row')"));
    // The laptop's archived view (beside the open chat) closed with its last chat.
    laptop
        .wait_for(&format!("{listed} === '#general,bob,carla' && !document.getElementById('archived-row')"));
    assert_eq!(ana_raw.listing("ARCHIVED"), Vec::<String>::new());
    // The wire's lines, hostile ones included.
    let out = phone.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => {
           const req = (f) => { try { return f(); } catch (e) { return 'throws'; } };
           done({
             requests: [w.request.archive('#lab', true), w.request.archive('bob', false), w.request.archived(), req(() => w.request.archive('a:b', true))],
             events: ['ARCHIVE:#lab:archived', 'ARCHIVE:bob:unarchived', 'ARCHIVE:bob:yes', 'ARCHIVE:a:b:archived', 'ARCHIVE:bob', 'ARCHIVE:<img>:archived']
               .map(w.parseEvent),
             listing: w.isListing('ARCHIVED'),
           });
         });",
        json!([]),
    );
    assert_eq!(out["requests"], json!(["ARCHIVE:#lab", "UNARCHIVE:bob", "ARCHIVED", "throws"]));
    assert_eq!(
        out["events"],
        json!([
            {"kind": "ARCHIVE", "chat": "#lab", "archived": true},
            {"kind": "ARCHIVE", "chat": "bob", "archived": false},
            null, null, null, null
        ])
    );
    assert_eq!(out["listing"], json!(true));
}

/// While the tab is hidden, the title counts what notifies (1.2,
/// `Level::rings`): in an archived chat, only an `@` mention (a direct
/// message, which counts as a mention elsewhere, does not wake it); in a
/// direct chat whose level is `mentions`, every message.
#[test]
fn an_archived_chat_notifies_only_when_it_mentions_me() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "dan"]);
    let [mut ana_raw, mut bob, mut dan]: [_; 3] =
        joined(&server, "#lab", &["ana", "bob", "dan"]).try_into().ok().unwrap();
    for chat in ["bob", "#lab"] {
        assert_eq!(ana_raw.request(&format!("ARCHIVE:{chat}")), "OK");
    }
    assert_eq!(ana_raw.request("NOTIFY:carla:mentions"), "OK");
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:ana:c0:first").starts_with("OK"));
    let phone = logged_in(&url, "ana", 390, 844);
    let folder = "document.getElementById('archived-row')?.textContent";
    phone.wait_for(&format!("{folder} === 'Archived (2)'"));
    phone.exec("Object.defineProperty(document, 'hidden', { get: () => true })", json!([]));
    assert!(bob.request("MSG:ana:b1:psst").starts_with("OK"));
    assert!(bob.request("MSG:#lab:b2:hi all").starts_with("OK"));
    phone.wait_for(&format!("{folder} === 'Archived (2)2'"));
    assert_eq!(phone.exec("return document.title", json!([])), json!("wachat"));
    assert!(dan.request("MSG:#lab:d1:@ana look").starts_with("OK"));
    assert!(dan.request("MSG:ana:d2:hello").starts_with("OK"));
    assert!(carla.request("MSG:ana:c1:are you there?").starts_with("OK"));
    let last = |chat: &str| {
        format!("document.querySelector(\"#chat-list button[data-chat='{chat}'] .chat-last\")?.textContent")
    };
    phone.wait_for(&format!(
        "{}?.includes('hello') && {}?.includes('are you there?')",
        last("dan"),
        last("carla")
    ));
    assert_eq!(phone.exec("return document.title", json!([])), json!("(3) wachat"));
}

/// The README's pictures, from a real server with a little conversation:
/// `cargo test --all-features --test web -- --ignored screenshots`
/// writes docs/web-phone.png (390×844), docs/web-profile-phone.png (its
/// profile panel) and docs/web.png (1280×800). Made
/// with Debian's `fonts-noto-color-emoji` installed (📌, 🔕 and the
/// reactions are emoji; without it chromium draws empty boxes), then
/// made smaller as the other pictures of docs/ are:
/// `pngquant --quality=60-90 --nofs --strip --force --output F F` (each under 100 KB).
#[test]
#[ignore]
fn screenshots_for_the_readme() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "prof"]);
    let mut raw: Vec<_> =
        ["prof", "bob", "carla", "ana"].iter().map(|u| server.login_send(u, &format!("pw-{u}"))).collect();
    let _online = (server.login_recv("bob", "pw-bob"), server.login_recv("carla", "pw-carla"));
    let (prof, bob, carla, ana) = (0, 1, 2, 3);
    for (who, line) in [
        (prof, "JOIN:#os-lab"),
        (bob, "JOIN:#os-lab"),
        (carla, "JOIN:#os-lab"),
        (ana, "JOIN:#os-lab"),
        (prof, "TOPIC:#os-lab:Lab 3: sockets, due Friday"),
        (prof, "MSG:#os-lab:p1:The server for lab 3 is up: wachat serve --web-port 8080"),
        (bob, "MSG:#os-lab:b1:Does the receive port replay what I missed?"),
        (carla, "MSG:#os-lab:c1:@ana you wrote the reconnection part, can you explain the backoff?"),
        (bob, "MSG:ana:d1:Did you read docs/READING.md?"),
        (carla, "MSG:ana:d2:¿Nos vemos en el laboratorio a las 3?"),
        (prof, "JOIN:#announcements"),
        (ana, "JOIN:#announcements"),
        (prof, "MODE:#announcements:+announce"),
        (prof, "MSG:#announcements:a1:No class on Monday."),
        (ana, "PIN:#os-lab"),
        (ana, "NOTIFY:#announcements:none"),
        (carla, "NAME:Carla Gómez"),
        (prof, "NAME:Prof. Ruiz"),
        (bob, "REACT:#os-lab:p1:🎉"),
        (carla, "REACT:#os-lab:p1:👍"),
    ] {
        assert!(raw[who].request(line).starts_with("OK"), "{line}");
    }
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let phone = logged_in(&url, "ana", 390, 844);
    phone.wait_for("document.querySelector(\"#chat-list button[data-chat='#os-lab'] .badge.mentions\")");
    std::fs::write(docs.join("web-phone.png"), phone.screenshot()).unwrap();
    // The profile panel, under "Profile" in the list's header: ana names herself.
    phone.click("#profile-button");
    phone.wait_for("document.activeElement.id === 'display-name'");
    phone.type_into("#display-name", &format!("Ana María{ENTER}"));
    phone.wait_for("document.getElementById('profile-note').textContent === 'Saved'");
    std::fs::write(docs.join("web-profile-phone.png"), phone.screenshot()).unwrap();
    phone.click("#profile-button");
    drop(phone);
    let laptop = logged_in(&url, "ana", 1280, 800);
    laptop.click("#chat-list button[data-chat='#os-lab']");
    laptop.wait_for("document.querySelector('#messages .msg.mention') && document.getElementById('chat-topic').textContent");
    laptop.type_into("#input", &format!("Sure: 0.5 s, then twice as long each time, up to 15 s{ENTER}"));
    laptop.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    std::fs::write(docs.join("web.png"), laptop.screenshot()).unwrap();
}

/// The chat list's counts when the app logs in (or comes back) while
/// messages land: once the login's refresh is over, the badge counts every
/// unread message up to the one the row shows, never one fewer. `CHATS`
/// and the previews' `HISTORY` are separate requests: a message that lands
/// between them is in the preview, so its event adds nothing, and may not
/// be in the count, which the refresh must not keep.
#[test]
fn the_chat_list_counts_the_message_it_shows_when_messages_land_during_a_login() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let (server, url) = web_server(&["--rate", "1000000", "--address-rate", "1000000"]);
    server.register(&["ana", "bob"]);
    let row = "#chat-list button[data-chat='bob']";
    // The badge and the preview agree: the row shows "message n" and counts n.
    let agree = format!(
        "(() => {{ const row = document.querySelector(\"{row}\");
           const n = /message (\\d+)$/.exec(row?.querySelector('.chat-last')?.textContent || '');
           return n && Number(row.querySelector('.badge.unread')?.textContent || 0) === Number(n[1]); }})()"
    );
    let (paused, done) = (AtomicBool::new(false), AtomicBool::new(false));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut bob = server.login_send("bob", "pw-bob");
            let mut n = 0;
            while !done.load(SeqCst) {
                if !paused.load(SeqCst) {
                    n += 1;
                    assert!(
                        bob.request(&format!("MSG:ana:b{n}:message {n}")).starts_with(&format!("OK:b{n}:"))
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        // bob stops when this ends, failed or not.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let _stop = Stop(&done);
        let ana = logged_in(&url, "ana", 1280, 800);
        for login in 1..=8 {
            if login > 1 {
                log_in_again(&ana, &url, "ana");
            }
            ana.wait_for(&format!(
                "document.querySelector(\"{row} .chat-last\")?.textContent.startsWith('message')"
            ));
            // Messages stop once the row is drawn: when the refresh is
            // over, the badge must agree with the row, and nothing else
            // would change it.
            paused.store(true, SeqCst);
            eprintln!("login {login}: waiting for the badge to count the message shown");
            ana.wait_for(&agree);
            paused.store(false, SeqCst);
        }
    });
}
