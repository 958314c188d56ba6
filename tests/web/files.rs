//! 1.2 files in chats in the browser (docs/PROTOCOL.md §21), end
//! to end: a real `wachat serve` with its web port, Debian's chromium
//! driven headless (tests/support/browser.rs), and raw protocol
//! connections for the other side: a photo shown inline from its
//! thumbnail (the full image on tap), and a 10 MB file from a terminal
//! client to the browser and back, byte for byte, through the page's own
//! download and attach paths.

use super::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::READ_TIMEOUT;
use support::browser::Browser;
use support::files::{fetch, login_recv_1_2, noise, photo, sha256, upload};
use support::webapp::{open_chat, web_server};

/// A laptop-sized browser logged in as `user`.
fn logged_in(url: &str, user: &str) -> Browser {
    support::webapp::logged_in(url, user, 1200, 800)
}

/// [`Browser::wait_for`] with a longer time: 10 MB through a debug build.
fn wait_long(browser: &Browser, js: &str) -> Value {
    let deadline = Instant::now() + 6 * READ_TIMEOUT;
    loop {
        let value = browser.exec(&format!("return ({js});"), json!([]));
        if !(value.is_null() || value == json!(false) || value == json!("")) {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {js}");
        std::thread::sleep(Duration::from_millis(100)); // polling the page
    }
}

#[test]
fn a_photo_is_shown_inline_from_its_thumbnail_and_whole_on_tap() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let bob = logged_in(&url, "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    let png = photo(1200, 900);
    let id = upload(&mut ana, "whiteboard.png", &png);
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    bob.click("#chat-list button[data-chat='ana']");
    let img = "document.querySelector('#messages .msg .file img.thumb')";
    bob.wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth > 0"));
    let thumb = bob.exec(&format!("return [{img}.naturalWidth, {img}.naturalHeight]"), json!([]));
    assert_eq!(thumb, json!([480, 360]), "the thumbnail, not the photo");
    // Only the caption under the photo: its name and size are the photo's own.
    let text = bob.exec("return document.querySelector('#messages .msg .text').textContent", json!([]));
    assert_eq!(text, json!("the board"));
    // A tap opens the viewer, with the photo whole; Esc closes it.
    bob.click("#messages .msg .file button.photo");
    let full = "document.querySelector('.viewer img.full')";
    bob.wait_for(&format!(
        "{full}?.dataset.full === 'shown' && {full}.complete && {full}.naturalWidth === 1200"
    ));
    bob.exec(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
        json!([]),
    );
    bob.wait_for("!document.querySelector('.viewer')");

    // A new browser (no localStorage) loads the chat from HISTORY, whose
    // lines are version 1's: the photo is found by FILEOF and shown.
    // A plain MSG after it that merely reads like a file stays text: its
    // FILEOF is asked before the photo's thumbnail is fetched, so it is
    // answered once the thumbnail shows.
    assert!(ana.request("MSG:bob:p2:📎 fake.png (1 KB)").starts_with("OK:p2:"));
    drop(bob);
    let fresh = logged_in(&url, "bob");
    open_chat(&fresh, "ana");
    fresh
        .wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth === 480"));
    let file = fresh.exec("return document.querySelector('#messages .msg .file').dataset.file", json!([]));
    assert_eq!(file, json!(id));
    fresh.wait_for("[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === '📎 fake.png (1 KB)')");
    let cards = fresh.exec("return document.querySelectorAll('#messages .msg .file').length", json!([]));
    assert_eq!(cards, json!(1), "only the real file has a card");

    // FILEOF's OK is checked as the FILE event is: a hostile one is no file.
    let hex = "f".repeat(32);
    let cases = [
        format!("{hex}:12:image/png:a b.png"),
        format!("{}:12:image/png:a.png", &hex[1..]),
        format!("{hex}:1e3:image/png:a.png"),
        format!("{hex}:12:image/png:../x"),
        format!("{hex}:12:image/png"),
    ];
    let parsed = fresh.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(v => w.parseFileOf(v))));",
        json!([cases]),
    );
    let good = json!({"id": hex, "size": 12, "type": "image/png", "name": "a b.png"});
    assert_eq!(parsed, json!([good, null, null, null, null]));
    // And the request it writes is one the server reads; bad fields never leave.
    let written = fresh.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => {
           const req = (f) => { try { return f(); } catch (e) { return 'throws'; } };
           done([req(() => w.request.fileOf('#lab3', 'ana', 'm1')), req(() => w.request.fileOf('ana', 'ana', 'p1')),
                 req(() => w.request.fileOf('ana', 'a:b', 'p1')), req(() => w.request.fileOf('ana', 'ana', ''))]);
         });",
        json!([]),
    );
    assert_eq!(written, json!(["FILEOF:#lab3:ana:m1", "FILEOF:ana:ana:p1", "throws", "throws"]));
    for line in ["FILEOF:#lab3:ana:m1", "FILEOF:ana:ana:p1"] {
        assert_eq!(wachat::protocol::Request::parse(line).unwrap().to_string(), line);
    }
}

#[test]
fn ten_megabytes_go_from_a_terminal_to_the_browser_and_back_byte_for_byte() {
    let (server, url) = web_server(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let bob = logged_in(&url, "bob");
    let mut ana = server.login_send("ana", "pw-ana");
    let bytes = noise(10 * 1024 * 1024, 5);
    let id = upload(&mut ana, "dataset.bin", &bytes);
    assert!(ana.request(&format!("FILE:bob:d1:{id}:")).starts_with("OK:d1:"));

    // The browser's download button: its blob is kept to check and send back.
    open_chat(&bob, "ana");
    bob.exec("URL.createObjectURL = (blob) => { window.saved = blob; return 'blob:kept'; }", json!([]));
    bob.click("#messages .msg .file button");
    wait_long(&bob, "window.saved");
    let digest = bob.exec_async(
        "const done = arguments[0];
         window.saved.arrayBuffer().then((b) => crypto.subtle.digest('SHA-256', b)).then((d) =>
           done([...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join('')));",
        json!([]),
    );
    assert_eq!(digest, json!(sha256(&bytes)), "the browser has it byte for byte");

    // And back, through the attach button's file picker. (Ana's receive
    // connection opens only now: unread, it would have timed out meanwhile.)
    let mut ana_events = login_recv_1_2(&server, "ana");
    bob.exec(
        "const dt = new DataTransfer();
         dt.items.add(new File([window.saved], 'back.bin'));
         const picker = document.getElementById('attach-file');
         picker.files = dt.files;
         picker.dispatchEvent(new Event('change'));",
        json!([]),
    );
    // What the bar above the composer shows while it goes, looked at every 10 ms.
    bob.exec(
        "window.bars = []; setInterval(() => { const p = document.querySelector('.attach-bar progress');
           if (p) bars.push([p.value, p.max, p.getAttribute('aria-label')]); }, 10);",
        json!([]),
    );
    bob.click("#attach-send"); // one file: its caption asked first, none given
    let event = next_file_event_long(&mut ana_events);
    assert!(event.contains(":bob:ana:") && event.ends_with(":back.bin:📎 back.bin (10.0 MB)"), "{event}");
    let back = event.split(':').nth(6).unwrap().to_string();
    assert_ne!(back, id);
    assert!(fetch(&mut ana, &back).unwrap() == bytes, "back byte for byte");
    wait_long(
        &bob,
        // The card names it; the text, which said the same, is not repeated.
        "[...document.querySelectorAll('#messages .msg.mine')].some(m => m.querySelector('.file-name')?.textContent === 'back.bin' && m.querySelector('.text').hidden)",
    );
    // Its progress was shown on the way, and the bar is gone once it is sent.
    wait_long(&bob, "!document.querySelector('.attach-bar')");
    let bars = bob.exec("return window.bars", json!([]));
    let bars = bars.as_array().unwrap();
    assert!(
        bars.iter().any(|b| b[0].as_f64().unwrap() > 0.0 && b[0].as_f64() < b[1].as_f64()),
        "a bar part way: {bars:?}"
    );
    assert!(
        bars.iter().all(|b| b[2] == json!("Sending back.bin…") && b[1] == json!(bytes.len())),
        "{bars:?}"
    );
}

/// The next `FILE` event, waiting as long as a 10 MB upload from a browser takes.
fn next_file_event_long(events: &mut support::Conn) -> String {
    let deadline = Instant::now() + 6 * READ_TIMEOUT;
    loop {
        // `line` times out after READ_TIMEOUT; PINGs keep the connection alive meanwhile.
        if let Some(line) = events.try_line() {
            if line.starts_with("FILE:") {
                return line;
            }
            if line == "PING" {
                events.send("PONG");
            }
        }
        assert!(Instant::now() < deadline, "no FILE event");
    }
}

/// What a long session keeps of files is bounded: the thumbnails' URLs
/// and the `FILEOF` answers each go oldest first past their most
/// (web/files.js `remember`), a dropped thumbnail's URL revoked.
#[test]
fn the_browser_keeps_a_bounded_number_of_thumbnails_and_lookups() {
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let out = browser.exec_async(
        "const done = arguments[0];
         import('/files.js').then(f => {
           const map = new Map(), gone = [];
           for (const k of ['a', 'b', 'c', 'b', 'd', 'e']) f.remember(map, k, k.toUpperCase(), 3, (v) => gone.push(v));
           done({ kept: [...map.keys()], gone, most: [f.MOST_THUMBS, f.MOST_LOOKED] });
         });",
        json!([]),
    );
    assert_eq!(out["kept"], json!(["b", "d", "e"]));
    assert_eq!(out["gone"], json!(["A", "C"]));
    assert_eq!(out["most"], json!([200, 1000]));
}

/// The page's SHA-256 (web/files.js `Sha256`, which an `UPLOAD` says)
/// is the server's: at every length around a block's edges (the padding
/// in the same block or a block of its own), fed whole, a byte at a
/// time, or in pieces that cut blocks anywhere. An upload feeds it whole
/// windows, a multiple of a block; a wrong sum of a length the uploads
/// do not meet would be refused only when a user sends that file.
#[test]
fn the_browsers_sha256_is_the_servers_at_every_block_edge_and_in_any_pieces() {
    use base64::Engine as _;
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 12_001, 100_000];
    let cases: Vec<Value> = lengths
        .iter()
        .map(|&len| {
            json!([base64::engine::general_purpose::STANDARD.encode(noise(len, len as u64 + 7)), len])
        })
        .collect();
    let sums = browser.exec_async(
        "const [cases, done] = arguments;
         import('/files.js').then((f) => done(cases.map(([encoded, len]) => {
           const text = atob(encoded);
           const bytes = new Uint8Array(text.length);
           for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
           return [1, 3, 63, 64, 65, 1000, len || 1].map((piece) => {
             const hash = new f.Sha256();
             for (let at = 0; at < len; at += piece) hash.update(bytes.subarray(at, at + piece));
             return hash.hex();
           });
         })));",
        json!([cases]),
    );
    for (len, sums) in lengths.iter().zip(sums.as_array().unwrap()) {
        let want = sha256(&noise(*len, *len as u64 + 7));
        for (piece, sum) in [1, 3, 63, 64, 65, 1000, (*len).max(1)].iter().zip(sums.as_array().unwrap()) {
            assert_eq!(sum, &json!(want), "{len} bytes in pieces of {piece}");
        }
    }
}

/// On a phone (390×844): a photo received shows inside the screen (no
/// sideways scroll), and one sent with the 📎 button reaches the other
/// side as a `FILE` event, thumbnail and all.
#[test]
fn on_a_phone_a_photo_fits_the_screen_and_one_goes_back_through_the_attach_button() {
    use base64::Engine as _;
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let bob = support::webapp::logged_in(&url, "bob", 390, 844);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut ana_events = login_recv_1_2(&server, "ana");
    let id = upload(&mut ana, "board.png", &photo(1200, 900));
    assert!(ana.request(&format!("FILE:bob:p1:{id}:the board")).starts_with("OK:p1:"));
    bob.click("#chat-list button[data-chat='ana']");
    let img = "document.querySelector('#messages .msg .file img.thumb')";
    bob.wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth > 0"));
    let fit = bob.exec(
        &format!(
            "const r = {img}.getBoundingClientRect();
             return [r.left >= 0 && r.right <= innerWidth, document.documentElement.scrollWidth <= innerWidth]"
        ),
        json!([]),
    );
    assert_eq!(fit, json!([true, true]), "the photo fits a phone's screen");

    let snap = photo(800, 600);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&snap);
    bob.exec(
        "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
         const dt = new DataTransfer();
         dt.items.add(new File([bytes], 'snap.png', { type: 'image/png' }));
         const picker = document.getElementById('attach-file');
         picker.files = dt.files;
         picker.dispatchEvent(new Event('change'));",
        json!([encoded]),
    );
    bob.type_into("#attach-caption", "my snap");
    bob.click("#attach-send");
    let event = next_file_event_long(&mut ana_events);
    assert!(event.contains(":bob:ana:") && event.contains(":image/png:snap.png:"), "{event}");
    assert!(event.ends_with(") my snap"), "the caption typed: {event}");
    let sent = event.split(':').nth(6).unwrap().to_string();
    assert!(fetch(&mut ana, &sent).unwrap() == snap, "byte for byte");
    assert!(!fetch(&mut ana, &format!("{sent}-t")).unwrap().is_empty(), "with its thumbnail");
    bob.wait_for("document.querySelectorAll('#messages .msg.mine .file img.thumb').length === 1");
}
