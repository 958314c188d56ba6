//! Photos, files and voice messages in the browser's outbox, in a real
//! chromium (tests/support/browser.rs): sent while the server is down,
//! each shows at once with its caption and waits in the browser (its
//! bytes in IndexedDB, across a reload); once the server is back each
//! goes once, under the id it was given when it was queued. An upload
//! cut halfway goes on where the server's bytes end. And what the server
//! refuses of a file is said in the user's words, as an error.

use super::support;

use base64::Engine as _;
use serde_json::json;
use support::READ_TIMEOUT;
use support::browser::Browser;
use support::files::{fetch, noise, photo};
use support::webapp::{ENTER, open_chat, restartable_web_server, shot, web_server};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// Picks `bytes` as the file `name` of `type` with the 📎 button (the
/// page's own picker). The bytes are copied out of `atob`'s string with
/// a plain loop: `Uint8Array.from(string, mapper)` calls the mapper
/// through the string's iterator for each of 6 million bytes: 11 to 14 s
/// on a loaded machine, which with the 8 MB argument's way through
/// chromedriver (4 to 16 s there) reaches WebDriver's 30 s script timeout.
fn attach(browser: &Browser, name: &str, kind: &str, bytes: &[u8]) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    browser.exec(
        "const text = atob(arguments[0]);
         const bytes = new Uint8Array(text.length);
         for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
         const dt = new DataTransfer();
         dt.items.add(new File([bytes], arguments[1], { type: arguments[2] }));
         const picker = document.getElementById('attach-file');
         picker.files = dt.files;
         picker.dispatchEvent(new Event('change'));",
        json!([encoded, name, kind]),
    );
}

/// Attaches a file, types its caption, and sends it.
fn send_file(browser: &Browser, name: &str, kind: &str, bytes: &[u8], caption: &str) {
    attach(browser, name, kind, bytes);
    browser.wait_for("document.getElementById('attach-caption')");
    browser.type_into("#attach-caption", caption);
    browser.click("#attach-send");
}

/// The outbox entries and the files kept in IndexedDB.
fn waiting(browser: &Browser) -> (usize, usize) {
    let kept = browser.exec_async(
        "const done = arguments[0];
         const outbox = Object.keys(localStorage).filter((k) => k.startsWith('wachat:outbox:')).map((k) => JSON.parse(localStorage[k]).length);
         const asked = indexedDB.open('wachat-outbox', 1);
         asked.onupgradeneeded = () => asked.result.createObjectStore('files');
         asked.onsuccess = () => { const n = asked.result.transaction('files').objectStore('files').count();
           n.onsuccess = () => { asked.result.close(); done([outbox.reduce((a, b) => a + b, 0), n.result]); }; };",
        json!([]),
    );
    (kept[0].as_u64().unwrap() as usize, kept[1].as_u64().unwrap() as usize)
}

/// Polls `f` until it is true, for a longer while (uploads through a debug build).
fn until(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + 4 * READ_TIMEOUT;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100)); // polling
    }
}

#[test]
fn photos_files_and_voice_messages_wait_offline_across_a_reload_and_go_once_with_their_captions() {
    let (mut server, url) = restartable_web_server(&[]);
    server.register(&["ana", "bob"]);
    // Signed in to stay: a reload with the server down opens what was kept.
    let ana = Browser::start(PHONE.0, PHONE.1);
    ana.goto(&url);
    ana.type_into("#user", "ana");
    ana.type_into("#password", "pw-ana");
    ana.click("#stay");
    ana.click("#login-button");
    ana.wait_for("Object.keys(localStorage).some((k) => k.startsWith('wachat:link:')) && document.querySelector('#status.online')");
    open_chat(&ana, "bob");
    ana.wait_for("document.getElementById('attach')");
    server.kill();
    ana.wait_for("document.getElementById('status').className.includes('offline')");

    let board = photo(640, 480);
    send_file(&ana, "whiteboard.png", "image/png", &board, "the board");
    send_file(&ana, "notes.txt", "text/plain", b"hello, lab 3\n", "for friday");
    ana.click("#record");
    ana.wait_for("/Recording 0:0[2-9]/.test(document.getElementById('voice-bar')?.textContent)");
    ana.click("#voice-send");
    ana.wait_for("document.querySelector('#messages .msg.mine .voice')");
    ana.type_into("#input", &format!("and a text{ENTER}"));
    // Each shows at once, as sent, its caption under it; the photo from its own bytes.
    let mine = "[...document.querySelectorAll('#messages .msg.mine')]";
    ana.wait_for(&format!(
        "{mine}.length === 4 && {mine}.every((m) => m.querySelector('.tick').dataset.state === 'SENT')"
    ));
    ana.wait_for("document.querySelector('#messages .msg.mine .file img.thumb')?.naturalWidth === 640");
    let shown = ana.exec(
        &format!("return {mine}.map((m) => [m.querySelector('.file-name')?.textContent || (m.querySelector('.voice') ? 'voice' : m.querySelector('img') ? 'photo' : ''), m.querySelector('.text').hidden ? '' : m.querySelector('.text').textContent])"),
        json!([]),
    );
    assert_eq!(
        shown,
        json!([["photo", "the board"], ["notes.txt", "for friday"], ["voice", ""], ["", "and a text"]])
    );
    assert_eq!(waiting(&ana), (4, 3), "four in the outbox, three files' bytes kept");
    shot(&ana, "outbox-offline-390");

    // A reload while the server is down: the outbox, and the bytes, are still there.
    ana.goto(&url);
    ana.wait_for("!document.getElementById('app').hidden && document.getElementById('chat-title').textContent === 'bob'");
    ana.wait_for(&format!("{mine}.length === 4 && document.querySelector('#messages .msg.mine .file img.thumb')?.naturalWidth === 640"));
    assert_eq!(waiting(&ana), (4, 3));

    // Back: each goes once; the outbox and the kept bytes empty.
    server.restart_in_place(&[]);
    until(
        || {
            ana.exec(
                &format!("return {mine}.every((m) => m.querySelector('.tick').dataset.state !== 'SENT')"),
                json!([]),
            ) == json!(true)
        },
        "every message sent",
    );
    until(|| waiting(&ana) == (0, 0), "the outbox emptied");
    let mut bob = server.login_send("bob", "pw-bob");
    let history = bob.listing("HISTORY:ana:20");
    let texts: Vec<&str> = history.iter().map(|l| l.splitn(6, ':').nth(5).unwrap()).collect();
    assert_eq!(texts.len(), 4, "each once: {texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("📎 whiteboard.png (") && t.ends_with(") the board")),
        "{texts:?}"
    );
    assert!(texts.contains(&"📎 notes.txt (13 B) for friday"), "{texts:?}");
    assert!(texts.iter().any(|t| wachat::protocol::files::voice(t).is_some()), "{texts:?}");
    assert!(texts.contains(&"and a text"), "{texts:?}");
    // The photo byte for byte, and three files, each carried by one message.
    let mut ana_raw = server.login_send("ana", "pw-ana");
    let files = ana_raw.listing("FILES");
    assert_eq!(files.len(), 3, "{files:?}");
    let photo_id = files.iter().find(|f| f.ends_with(":whiteboard.png")).unwrap().split(':').next().unwrap();
    assert!(fetch(&mut bob, photo_id).unwrap() == board, "byte for byte");
    shot(&ana, "outbox-sent-390");
}

#[test]
fn an_upload_cut_by_the_server_going_away_goes_on_and_arrives_once() {
    let (mut server, url) = restartable_web_server(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let ana = support::webapp::logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    open_chat(&ana, "bob");
    ana.wait_for("document.getElementById('attach')");
    let bytes = noise(6 * 1024 * 1024, 9);
    send_file(&ana, "dataset.bin", "application/octet-stream", &bytes, "the data");
    // Cut once a part of it is on the server.
    ana.wait_for("document.querySelector('.attach-bar progress')?.value > 0");
    server.kill();
    ana.wait_for("document.getElementById('status').className.includes('offline')");
    let tick = "document.querySelector('#messages .msg.mine .tick')?.dataset.state";
    assert_eq!(ana.exec(&format!("return {tick}"), json!([])), json!("SENT"));
    server.restart_in_place(&["--rate", "0"]);
    until(|| ana.exec(&format!("return {tick}"), json!([])) == json!("RECEIVED"), "sent once back");
    let mut bob = server.login_send("bob", "pw-bob");
    let history = bob.listing("HISTORY:ana:10");
    assert_eq!(history.len(), 1, "once: {history:?}");
    assert!(history[0].ends_with(":📎 dataset.bin (6.0 MB) the data"), "{history:?}");
    let mut ana_raw = server.login_send("ana", "pw-ana");
    let files = ana_raw.listing("FILES");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(fetch(&mut bob, files[0].split(':').next().unwrap()).unwrap() == bytes, "byte for byte");
    // It went on with the same upload: no second one left behind half done.
    let left: Vec<_> = std::fs::read_dir(server.data_dir.join("files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The banner as the user sees it: its text, whether it is an error's, and its colour.
fn banner(browser: &Browser) -> serde_json::Value {
    browser.wait_for(
        "!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent",
    );
    browser.exec(
        "const b = document.getElementById('banner');
         return [document.getElementById('banner-text').textContent, !b.classList.contains('info'), getComputedStyle(b).color]",
        json!([]),
    )
}

#[test]
fn a_file_the_server_refuses_is_said_in_words_as_an_error() {
    let (server, url) = web_server(&["--max-file-mb", "1", "--user-quota", "1200000", "--rate", "0"]);
    server.register(&["ana", "bob"]);
    for (width, height) in [PHONE, LAPTOP] {
        let ana = support::webapp::logged_in(&url, "ana", width, height);
        open_chat(&ana, "bob");
        ana.wait_for("document.getElementById('attach')");
        // Too big: said when it is picked, in the error colour, Send off: nothing is sent, and the connection stays.
        let before = ana.exec("return document.querySelectorAll('#messages .msg.mine').length", json!([]));
        attach(&ana, "big.bin", "application/octet-stream", &noise(1024 * 1024 + 1, 3));
        let why = "document.querySelector('#attach-bar .attach-why')";
        ana.wait_for(why);
        let said = ana.exec(&format!("return [{why}.textContent, getComputedStyle({why}).color, document.getElementById('attach-send').disabled]"), json!([]));
        assert_eq!(said, json!(["This file is too big: the limit is 1.0 MB", "rgb(179, 38, 30)", true]));
        assert_eq!(
            ana.exec("return document.querySelectorAll('#messages .msg.mine').length", json!([])),
            before
        );
        assert_eq!(
            ana.exec("return document.getElementById('status').className", json!([])),
            json!("status online")
        );
        shot(&ana, &format!("file-too-big-{width}"));
        ana.click("#attach-bar button.icon");
        // Over the quota (what the earlier turn stored counts too): the server's refusal, in words.
        let mut quota = String::new();
        for round in 0..3 {
            send_file(
                &ana,
                &format!("part{round}.bin"),
                "application/octet-stream",
                &noise(700 * 1024, round),
                "",
            );
            let failed = "document.querySelector('#messages .msg.mine.failed')";
            let found = ana.exec(
                &format!("return new Promise((r) => setTimeout(() => r(Boolean({failed})), 1500))"),
                json!([]),
            );
            if found == json!(true) {
                quota = banner(&ana)[0].as_str().unwrap().to_string();
                break;
            }
        }
        assert!(quota.starts_with("not sent: Your space on this server is full ("), "{quota}");
        assert!(quota.ends_with("): delete some messages or files first"), "{quota}");
        for flag in ["FULL", "--", "KO"] {
            assert!(!quota.contains(flag), "{quota}");
        }
        let why = ana
            .exec("return document.querySelector('#messages .msg.mine.failed .why').textContent", json!([]));
        assert_eq!(why.as_str(), Some(quota.as_str()), "the bubble says it too");
    }
}
