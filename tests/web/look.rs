//! How the browser app looks and answers, in a real chromium
//! (tests/support/browser.rs) at a phone's 390×844 and a laptop's
//! 1280×800, light and dark: the call, 📎 and 🎤 buttons' icons and the
//! placeholders at WCAG's contrasts, a finger's 44 px targets, text that
//! follows the browser's font size, right-to-left messages; banners that
//! go by themselves and never cover the headers; the photo about to go
//! and a photo's caption shown, both marks of a pinned muted chat, "1
//! member", a joined room's count, 📎 and 🎤 closed while muted, the
//! focus back after Esc; and the first visit's bytes on the wire.
//! Screenshots go to `target/tmp/screenshots/`.

use super::support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::browser::Browser;
use support::files::{photo, upload};
use support::webapp::{RATIO, joined, logged_in, open_chat, scheme, shot, web_server};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// `[name, contrast]` of each icon button (its icon's stroke on the
/// button, the icon drawn in the text's colour and no glyph beside it)
/// and each field's placeholder (on the field).
const MEASURED: &str = "
  const icon = (css) => { const b = document.querySelector(css); const svg = b.querySelector('svg.ico');
    return [css, svg && !b.textContent.trim() ? ratio(b, getComputedStyle(svg).stroke) : 0]; };
  const hint = (css) => { const n = document.querySelector(css);
    return [`${css}::placeholder`, n.placeholder ? ratio(n, getComputedStyle(n, '::placeholder').color) : 0]; };
  return [...arguments[0].map(icon), ...arguments[1].map(hint)];";

/// The width and height of each element `arguments[0]` names, visible or not found.
const SIZES: &str = "return arguments[0].map((css) => { const n = document.querySelector(css);
  const r = n?.getBoundingClientRect(); return [css, r ? Math.round(r.width) : 0, r ? Math.round(r.height) : 0]; });";

#[test]
fn controls_and_placeholders_read_in_both_schemes_and_a_finger_gets_44_px_on_a_phone() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let notes = upload(&mut bob, "notes.txt", b"hello, lab 3\n");
    let voice = upload(&mut bob, "voice-3s.webm", b"\x1a\x45\xdf\xa3 a sound");
    assert!(bob.request(&format!("FILE:ana:f1:{notes}:for friday")).starts_with("OK:"));
    assert!(bob.request(&format!("FILE:ana:v1:{voice}:")).starts_with("OK:"));
    assert!(bob.request("MSG:ana:r1:مرحبا يا آنا، كيف حالك؟").starts_with("OK:"));
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "bob");
        ana.wait_for("document.querySelector('#messages .voice .play') && document.querySelector('#messages .file button') && document.getElementById('record')");
        for dark in [false, true] {
            scheme(&ana, dark);
            let measured = ana.exec(
                &format!("{RATIO} {MEASURED}"),
                json!([
                    ["#call-voice", "#call-video", "#attach", "#record"],
                    ["#input", "#new-chat-name", "#search-words"]
                ]),
            );
            for pair in measured.as_array().unwrap() {
                let (what, ratio) = (pair[0].as_str().unwrap(), pair[1].as_f64().unwrap());
                let least = if what.ends_with("::placeholder") { 4.5 } else { 3.0 };
                assert!(ratio >= least, "{width} dark={dark}: {what} at {ratio}:1");
            }
            eprintln!("contrast {width} {}: {measured}", if dark { "dark" } else { "light" });
            shot(&ana, &format!("controls-{}-{width}", if dark { "dark" } else { "light" }));
        }
        // A right-to-left message reads right to left, in its bubble.
        let rtl = ana.exec(
            "const t = document.querySelector(\"#messages .msg[data-id='r1'] .text\"); return [t.dir, getComputedStyle(t).direction]",
            json!([]),
        );
        assert_eq!(rtl, json!(["auto", "rtl"]));
        if width == PHONE.0 {
            let sizes = ana.exec(
                SIZES,
                json!([[
                    "#messages .msg .more",
                    "#messages .file:not(.voice) button",
                    "#messages .voice .play",
                    "#back",
                    "#call-voice",
                    "#members-button",
                    "#attach",
                    "#record",
                    "#send"
                ]]),
            );
            for size in sizes.as_array().unwrap() {
                let (w, h) = (size[1].as_u64().unwrap(), size[2].as_u64().unwrap());
                assert!(w >= 44 && h >= 44, "a finger's target: {size}");
            }
            eprintln!("targets 390: {sizes}");
        }
        // The text follows the browser's font size (rem, not px).
        let before = ana.exec("return parseFloat(getComputedStyle(document.body).fontSize)", json!([]));
        ana.cdp("Page.setFontSizes", json!({"fontSizes": {"standard": 24}}));
        let after = ana.exec("return parseFloat(getComputedStyle(document.body).fontSize)", json!([]));
        assert_eq!((before, after), (json!(15), json!(22.5)), "15 px of 16, then of 24");
    }
}

/// The banner's box, and those of the headers' controls it overlaps.
const OVER_HEADERS: &str = "
  const b = document.getElementById('banner').getBoundingClientRect();
  const over = (r) => r.width && r.height && r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
  return [...document.querySelectorAll('.bar, .bar *, #back')].filter((n) => over(n.getBoundingClientRect())).map((n) => n.id || n.className);";

#[test]
fn banners_go_by_themselves_and_never_cover_a_header() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "prof"]);
    let mut prof = joined(&server, "#lab", &["prof", "ana"]).remove(0);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:forward me").starts_with("OK:"));
    let mut carla = server.login_send("carla", "pw-carla");
    assert!(carla.request("MSG:ana:c1:hi").starts_with("OK:"));
    for ((width, height), dark) in [(PHONE, false), (LAPTOP, true)] {
        let ana = logged_in(&url, "ana", width, height);
        scheme(&ana, dark);
        // News: "Forwarded to carla", over the open chat's foot.
        open_chat(&ana, "bob");
        ana.click("#messages .msg .more");
        ana.click("#messages .menu button[data-act='forward']");
        ana.click("#forward button[data-chat='carla']");
        ana.wait_for("!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent === 'Forwarded to carla'");
        assert_eq!(ana.exec(OVER_HEADERS, json!([])), json!([]), "{width}: over a header");
        shot(&ana, &format!("banner-news-{width}"));
        ana.wait_for("document.getElementById('banner').hidden"); // by itself
        // A moderation notice about me, in the room: an error's colour, over the room's foot.
        if width == PHONE.0 {
            ana.click("#back");
        }
        open_chat(&ana, "#lab");
        assert_eq!(prof.request("MUTE:#lab:ana:60"), "OK");
        ana.wait_for("!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent.startsWith('prof muted you in #lab until ')");
        assert_eq!(ana.exec(OVER_HEADERS, json!([])), json!([]), "{width}: over a header");
        let error =
            ana.exec("return !document.getElementById('banner').classList.contains('info')", json!([]));
        assert_eq!(error, json!(true));
        shot(&ana, &format!("banner-muted-{width}"));
        let deadline = std::time::Instant::now() + 2 * support::READ_TIMEOUT;
        while ana.exec("return document.getElementById('banner').hidden", json!([])) != json!(true) {
            assert!(std::time::Instant::now() < deadline, "the banner stays");
            std::thread::sleep(std::time::Duration::from_millis(100)); // polling the page
        }
        assert_eq!(prof.request("UNMUTE:#lab:ana"), "OK");
    }
}

#[test]
fn the_small_things_a_photo_and_its_caption_marks_counts_and_focus() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "prof"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let board = upload(&mut bob, "IMG_2031.png", &photo(400, 300));
    assert!(bob.request(&format!("FILE:ana:p1:{board}:the board")).starts_with("OK:")); // a photo's caption
    let mut prof = joined(&server, "#lab", &["prof"]).remove(0);
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#quiet"), "OK"); // ana alone in it: "1 member"
    assert_eq!(ana_raw.request("PIN:bob"), "OK");
    assert_eq!(ana_raw.request("NOTIFY:bob:none"), "OK");
    for ((width, height), dark) in [(PHONE, true), (LAPTOP, false)] {
        let ana = logged_in(&url, "ana", width, height);
        scheme(&ana, dark);
        // Pinned and muted: both marks.
        let marks = "getComputedStyle(document.querySelector(\"#chat-list button[data-chat='bob'] .chat-name\"), '::after').content";
        let shown = ana.wait_for(marks);
        assert!(shown.as_str().unwrap().contains('📌') && shown.as_str().unwrap().contains('🔕'), "{shown}");
        // A room of one: "1 member", in the list and its header.
        let row = "document.querySelector(\"#chat-list button[data-chat='#quiet'] .chat-last\")?.textContent";
        ana.wait_for(&format!("{row} === '1 member'"));
        open_chat(&ana, "#quiet");
        ana.wait_for("document.getElementById('chat-sub').textContent === '1 member'");
        // A room joined from "New chat": its header says how many are in it.
        if width == PHONE.0 {
            ana.click("#back");
        }
        open_chat(&ana, "#lab");
        ana.wait_for("document.getElementById('chat-sub').textContent === '2 members'");
        // Muted there: the composer, 📎 and 🎤 closed; unmuted, open again.
        ana.wait_for("document.getElementById('attach') && document.getElementById('record')");
        let closed =
            "['input', 'send', 'attach', 'record'].map((id) => document.getElementById(id).disabled).join()";
        assert_eq!(prof.request("MUTE:#lab:ana:60"), "OK");
        ana.wait_for(&format!("{closed} === 'true,true,true,true'"));
        shot(&ana, &format!("muted-composer-{width}"));
        assert_eq!(prof.request("UNMUTE:#lab:ana"), "OK");
        ana.wait_for(&format!("{closed} === 'false,false,false,false'"));
        assert_eq!(ana_raw.request("LEAVE:#lab"), "OK"); // the next turn joins it again
        // The photo about to go, beside its caption.
        if width == PHONE.0 {
            ana.click("#back");
        }
        open_chat(&ana, "bob");
        let png = base64::engine::general_purpose::STANDARD.encode(photo(320, 240));
        ana.exec(
            "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
             const dt = new DataTransfer(); dt.items.add(new File([bytes], 'snap.png', { type: 'image/png' }));
             const picker = document.getElementById('attach-file'); picker.files = dt.files; picker.dispatchEvent(new Event('change'));",
            json!([png]),
        );
        ana.wait_for("document.querySelector('#attach-bar img.attach-preview')?.naturalWidth === 320");
        // A banner shown meanwhile (the unmute's) moves up over the conversation, off the caption's bar.
        ana.wait_for(
            "document.getElementById('banner').hidden || (() => { const b = document.getElementById('banner').getBoundingClientRect();
               return b.bottom <= document.getElementById('attach-bar').getBoundingClientRect().top; })()",
        );
        shot(&ana, &format!("caption-step-{width}"));
        ana.type_into("#attach-caption", "\u{E00C}"); // Escape: not sent
        ana.wait_for("!document.getElementById('attach-bar')");
        // The viewer says the photo's caption, not its file's name alone.
        ana.wait_for("document.querySelector(\"#messages .msg[data-id='p1'] img.thumb\")?.naturalWidth > 0");
        ana.click("#messages .msg[data-id='p1'] button.photo");
        ana.wait_for("document.querySelector('.viewer img.full')?.naturalWidth === 400");
        let caption =
            ana.exec("return document.querySelector('.viewer .viewer-caption')?.textContent", json!([]));
        assert_eq!(caption, json!("the board"));
        shot(&ana, &format!("viewer-caption-{width}"));
        ana.exec("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))", json!([]));
        ana.wait_for("!document.querySelector('.viewer')");
        // Esc on a message's menu closes it, the focus back on its ⋯.
        ana.click("#messages .msg[data-id='p1'] .more");
        ana.wait_for("document.querySelector('#messages .menu button') === document.activeElement");
        ana.type_into("#messages .menu button", "\u{E00C}");
        ana.wait_for("!document.querySelector('#messages .menu') && document.activeElement === document.querySelector(\"#messages .msg[data-id='p1'] .more\")");
    }
}

/// The first visit, as README says it: the login form's page, its files
/// and the service worker, which keeps the same files (from the
/// browser's cache, no second download) before it is ready.
#[test]
fn the_first_visit_is_at_most_60_kb_on_the_wire() {
    let (server, url) = web_server(&[]);
    let browser = Browser::start(PHONE.0, PHONE.1);
    browser.goto(&url);
    browser.wait_for("document.readyState === 'complete' && !document.getElementById('login').hidden");
    // The service worker installed: everything the first visit fetches is in.
    browser.exec_async("navigator.serviceWorker.ready.then(() => arguments[0](true))", json!([]));
    // What the page fetched, headers and all (transferSize)…
    let page: Value = browser.exec(
        "const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
         return [all.reduce((n, e) => n + e.transferSize, 0), all.map((e) => [new URL(e.name).pathname, e.transferSize])];",
        json!([]),
    );
    // …and the service worker's script, which the browser fetches for it
    // (its copies of the page's files come from the browser's cache).
    let worker = {
        use std::io::{Read, Write};
        let web = server.web.unwrap();
        let mut tcp = std::net::TcpStream::connect(web).unwrap();
        tcp.set_read_timeout(Some(support::READ_TIMEOUT)).unwrap();
        write!(
            tcp,
            "GET /sw.js HTTP/1.1\r\nHost: {web}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).unwrap();
        answer.len() as u64
    };
    let total = page[0].as_u64().unwrap() + worker;
    eprintln!("first visit: {total} bytes on the wire ({worker} of them sw.js): {}", page[1]);
    assert!(total <= 60 * 1024, "{total} bytes: {}", page[1]);
    assert!(page[0].as_u64().unwrap() > 10_000, "the page's files were counted: {}", page[1]);
}

/// Every module the app loads later imports what it names from the
/// others: a name moved from one module to another and still imported
/// from the first would break only the feature that loads it. (Its
/// style sheets, `call.css`, are not modules.)
#[test]
fn every_module_loaded_later_loads() {
    let (_server, url) = web_server(&[]);
    let browser = Browser::start(LAPTOP.0, LAPTOP.1);
    browser.goto(&url);
    browser.wait_for("!document.getElementById('login').hidden");
    let failed = browser.exec_async(
        "const done = arguments[1];
         Promise.allSettled(arguments[0].map((path) => import(path)))
           .then((all) => done(all.map((r, i) => r.status === 'rejected' ? `${arguments[0][i]}: ${r.reason}` : null).filter(Boolean)));",
        json!([wachat::web::assets::LOADED_LATER.iter().filter(|p| p.ends_with(".js")).collect::<Vec<_>>()]),
    );
    assert_eq!(failed, json!([]));
}
