//! The rough edges a WhatsApp user meets in a day of the browser app, in
//! a real chromium (tests/support/browser.rs) at a phone's 390×844 and a
//! laptop's 1280×800: the phone's Back inside the app, a second tab and
//! "Use here", a chat of photos opened at its end, the first call leaving
//! the page as it was, a throttled login trying the password typed
//! meanwhile, a banner off a message's menu, a long text sent as the
//! console sends it, `www.` links, a new room's pane, call lines that say
//! which way they went and call back; and every control a finger wide,
//! every text readable as drawn, in both schemes (the rules Lighthouse's
//! accessibility audit checks, measured here). Screenshots go to
//! `target/tmp/screenshots/`.

use super::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::Browser;
use support::files::{photo, upload};
use support::webapp::{
    CALL_FLAGS, CALL_SCREEN, ENTER, joined, logged_in, logged_in_speaking, logged_in_with, open_chat, scheme,
    shot, web_server,
};
use support::{Conn, READ_TIMEOUT};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// Whether the open chat, `name`, is what the page shows (on a phone, instead of the list).
fn chat_shown(name: &str) -> String {
    format!(
        "document.getElementById('chat-pane').checkVisibility() && document.getElementById('chat-title').textContent === {name:?}"
    )
}

/// Whether the page shows the chat list alone (a phone's), still signed in.
const LIST_SHOWN: &str = "document.getElementById('list-pane').checkVisibility() \
    && !document.getElementById('chat-pane').checkVisibility() && document.getElementById('login').hidden \
    && Boolean(document.querySelector('#status.online'))";

/// Whether the Details drawer is open.
const DETAILS_OPEN: &str = "!document.getElementById('chat-panel').hidden";

/// Polls `js` for `wait` and fails if it ever turns false (what must stay as it is).
fn stays(browser: &Browser, js: &str, wait: Duration) {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        assert_eq!(browser.exec(&format!("return Boolean({js})"), json!([])), json!(true), "no longer {js}");
        std::thread::sleep(Duration::from_millis(100)); // polling the page
    }
}

#[test]
fn back_closes_what_was_opened_never_leaves_the_app_and_forward_opens_it_again() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hola").starts_with("OK:"));
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    // A mark of this page: a page left and loaded again has none.
    ana.exec("window.samePage = true", json!([]));
    let same_page = "window.samePage === true";
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for(&chat_shown("bob"));
    ana.click("#members-button");
    ana.wait_for(DETAILS_OPEN);

    // Back closes Details, then the chat; at the list it stays in the app.
    ana.back();
    ana.wait_for(&format!("!({DETAILS_OPEN}) && {}", chat_shown("bob")));
    ana.back();
    ana.wait_for(LIST_SHOWN);
    ana.back();
    stays(&ana, &format!("{LIST_SHOWN} && {same_page}"), Duration::from_secs(1));
    shot(&ana, "back-at-the-list-390");

    // Forward opens the chat again, never the login form; the header's ← is Back too.
    ana.forward();
    ana.wait_for(&format!("{} && {same_page}", chat_shown("bob")));
    ana.click("#back");
    ana.wait_for(&format!("{LIST_SHOWN} && {same_page}"));
    ana.forward();
    ana.wait_for(&format!("{} && {same_page} && document.getElementById('login').hidden", chat_shown("bob")));
    // A chat opened by name is an entry too.
    ana.back();
    ana.wait_for(LIST_SHOWN);
    open_chat(&ana, "bob");
    ana.back();
    ana.wait_for(&format!("{LIST_SHOWN} && {same_page}"));

    // The panels of the header: Back closes each, Forward opens it again, as its button does.
    for (button, panel) in [
        ("#devices-button", "devices-panel"),
        ("#profile-button", "profile-panel"),
        ("#starred-button", "starred-panel"),
    ] {
        // The starred messages' panel is made when it first opens.
        let (open, shut) = (
            format!("document.getElementById('{panel}')?.hidden === false"),
            format!("document.getElementById('{panel}').hidden"),
        );
        ana.click(button);
        ana.wait_for(&open);
        ana.back();
        ana.wait_for(&format!("{shut} && {LIST_SHOWN}"));
        ana.forward();
        ana.wait_for(&format!("{open} && {same_page}"));
        ana.back();
        ana.wait_for(&format!("{shut} && {LIST_SHOWN} && {same_page}"));
    }
}

#[test]
fn a_second_tab_takes_the_session_and_use_here_in_the_first_takes_it_back() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    for (lang, size, use_here, said) in [
        ("en-US", LAPTOP, "Use here", "This account is open in another tab of this browser."),
        ("es", PHONE, "Usar aquí", "Esta cuenta está abierta en otra pestaña de este navegador."),
        ("pt-BR", PHONE, "Usar aqui", "Esta conta está aberta em outra aba deste navegador."),
    ] {
        let browser = logged_in_speaking(&url, "ana", size.0, size.1, lang);
        open_chat(&browser, "bob");
        let (first, second) = browser.new_tab();
        browser.goto(&url);
        browser.type_into("#user", "ana");
        browser.type_into("#password", "pw-ana");
        browser.click("#login-button");
        browser.wait_for("document.querySelector('#status.online')");

        // The first tab says so, its composer closed, and offers "Use here", focused.
        browser.switch_to(&first);
        let offered = format!(
            "document.getElementById('use-here')?.textContent === {use_here:?} && document.activeElement?.id === 'use-here' \
             && document.getElementById('elsewhere-text').textContent === {said:?} \
             && !document.getElementById('composer').checkVisibility()"
        );
        browser.wait_for(&offered);
        let rect = browser.exec("const r = document.getElementById('use-here').getBoundingClientRect(); return [r.width, r.height]", json!([]));
        assert!(rect[0].as_f64().unwrap() >= 44.0 && rect[1].as_f64().unwrap() >= 44.0, "{rect}");
        // The app stays laid out as it was, under the notice: the whole window, its chat's header in place.
        let app = "const r = document.getElementById('app').getBoundingClientRect(); \
                   const h = document.getElementById('chat-title').getBoundingClientRect(); \
                   return [r.left, r.top, r.width === innerWidth, r.height === innerHeight, h.top < 60]";
        assert_eq!(browser.exec(app, json!([])), json!([0, 0, true, true, true]), "{lang}");
        shot(&browser, &format!("use-here-{lang}-{}", size.0));

        // "Use here": this tab is back, with its composer; the other one now offers it.
        browser.click("#use-here");
        browser.wait_for(
            "document.querySelector('#status.online') && !document.getElementById('use-here') \
             && document.getElementById('composer').checkVisibility()",
        );
        browser.type_into("#input", &format!("from the first tab ({lang}){ENTER}"));
        let event = bob.next_msg();
        assert!(event.ends_with(&format!(":from the first tab ({lang})")), "{event}");
        browser.switch_to(&second);
        browser.wait_for(&format!("document.getElementById('use-here')?.textContent === {use_here:?}"));
    }
}

#[test]
fn a_chat_whose_newest_messages_are_photos_opens_at_its_end_and_stays_there() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 0..12 {
        assert!(bob.request(&format!("MSG:ana:b{i}:line {i} of what came before")).starts_with("OK:"));
    }
    assert!(ana.request("READ:bob:b11").starts_with("OK"));
    // ana's newest messages, sent from another device: four tall photos.
    for i in 0..4 {
        let id = upload(&mut ana, &format!("board-{i}.png"), &photo(600, 800));
        assert!(ana.request(&format!("FILE:bob:p{i}:{id}:board {i}")).starts_with("OK:"));
    }
    for (width, height) in [PHONE, LAPTOP] {
        let browser = logged_in(&url, "ana", width, height);
        browser.click("#chat-list button[data-chat='bob']");
        browser.wait_for(&chat_shown("bob"));
        browser.wait_for(
            "(() => { const imgs = [...document.querySelectorAll('#messages img.thumb')]; \
              return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalHeight > 0); })()",
        );
        // How far above its end the chat shows, once the photos are in, and a while later.
        let offset = "const m = document.getElementById('messages'); return m.scrollHeight - m.scrollTop - m.clientHeight";
        for _ in 0..2 {
            std::thread::sleep(Duration::from_millis(300)); // the next frames' layout
            let off = browser.exec(offset, json!([])).as_f64().unwrap();
            assert!(off <= 2.0, "{width}×{height}: {off} px above the chat's end");
        }
        shot(&browser, &format!("photos-at-the-end-{width}"));
        // Scrolled up by the reader, it stays where it was put.
        browser.exec("document.getElementById('messages').scrollTop = 0", json!([]));
        stays(&browser, "document.getElementById('messages').scrollTop < 50", Duration::from_millis(600));
    }
}

#[test]
fn a_throttled_login_tries_again_with_the_password_typed_during_its_wait() {
    let (server, url) = web_server(&[]);
    // Registered from another address, so that the browsers' failures throttle this one.
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("REGISTER:ana::pw-ana"), "OK:ana");
    let phone = Browser::start(PHONE.0, PHONE.1);
    phone.goto(&url);
    phone.type_into("#user", "ana");
    phone.type_into("#password", "pw-anna");
    // The failures just before the press: a browser that starts slowly on
    // a loaded machine would otherwise press after the throttle's wait.
    for _ in 0..5 {
        let mut guess = server.send_conn();
        assert_eq!(guess.request("LOGIN:ana:wrong"), "KO:AUTH_FAILED:wrong user or password");
    }
    phone.click("#login-button");
    phone.wait_for("document.getElementById('login-error').textContent.startsWith('Too many failed logins. Trying again in ')");
    // The typo seen and mended during the wait; no press: the login goes by itself.
    phone.exec("document.getElementById('password').value = ''", json!([]));
    phone.type_into("#password", "pw-ana");
    let deadline = Instant::now() + 3 * READ_TIMEOUT;
    while phone.exec("return Boolean(document.querySelector('#status.online'))", json!([])) != json!(true) {
        let said = phone.exec("return document.getElementById('login-error').textContent", json!([]));
        assert!(!said.as_str().unwrap().contains("Wrong"), "the old password was tried: {said}");
        assert!(Instant::now() < deadline, "not logged in after the wait: {said}");
        std::thread::sleep(Duration::from_millis(100)); // polling the page
    }
    assert_eq!(phone.exec("return document.getElementById('app').hidden", json!([])), json!(false));
}

#[test]
fn a_banner_moves_off_a_message_menu_just_opened_and_never_takes_its_taps() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    for i in 0..8 {
        assert!(bob.request(&format!("MSG:ana:b{i}:message {i}")).starts_with("OK:"));
    }
    for (width, height) in [PHONE, LAPTOP] {
        let room = format!("#trip{width}");
        assert_eq!(bob.request(&format!("JOIN:{room}")), "OK");
        let ana = logged_in(&url, "ana", width, height);
        ana.click("#chat-list button[data-chat='bob']");
        ana.wait_for(&chat_shown("bob"));
        ana.wait_for("document.querySelector('#messages .msg:last-child .more')");
        // An invitation's banner, at the foot of the chat, where the newest message's menu opens.
        assert_eq!(bob.request(&format!("INVITE:{room}:ana")), "OK");
        ana.wait_for("!document.getElementById('banner').hidden");
        ana.click("#messages .msg:last-child .more");
        ana.wait_for("document.querySelector('#messages .menu')");
        // Apart once the menu has come to its place (it may scroll into
        // view after it opens, and the banner follows it).
        let deadline = Instant::now() + READ_TIMEOUT;
        while ana.exec(
            "const b = document.getElementById('banner').getBoundingClientRect(); \
             const m = document.querySelector('#messages .menu').getBoundingClientRect(); \
             return b.bottom <= m.top || b.top >= m.bottom",
            json!([]),
        ) != json!(true)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50)); // polling the page
        }
        let apart = ana.exec(
            "const b = document.getElementById('banner').getBoundingClientRect(); \
             const menu = document.querySelector('#messages .menu'); const m = menu.getBoundingClientRect(); \
             const hit = [...menu.querySelectorAll('button')].every((x) => { const r = x.getBoundingClientRect(); \
               return x.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }); \
             return [b.bottom <= m.top || b.top >= m.bottom, hit, document.getElementById('banner').hidden, [b.top, b.bottom, m.top, m.bottom]]",
            json!([]),
        );
        assert_eq!(
            apart.as_array().unwrap()[..3],
            [json!(true), json!(true), json!(false)],
            "{width}: banner apart, every button of the menu tappable: {apart}"
        );
        shot(&ana, &format!("banner-off-the-menu-{width}"));
        ana.click("#messages .menu button[data-act='reply']");
        ana.wait_for("!document.getElementById('compose-note').hidden");
    }
}

#[test]
fn a_text_longer_than_a_message_goes_as_several_marked_as_the_console_marks_them() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    open_chat(&ana, "bob");
    // 2,600 Cyrillic characters in words: 4,950 bytes, over one message's 4,096.
    let text = "привет мир ".repeat(236).trim_end().to_string();
    assert!(text.len() > 4096 && text.chars().count() < 4096);
    let typed = "const box = document.getElementById('input'); box.value = arguments[0]; \
                 box.dispatchEvent(new Event('input', { bubbles: true }));";
    ana.exec(typed, json!([text]));
    ana.click("#send");
    let expected = wachat::client::split::split(&text);
    assert_eq!(expected.len(), 2);
    for part in &expected {
        let event = bob.next_msg();
        let sent = event.splitn(7, ':').nth(6).unwrap_or_default().to_string(); // MSG:<seq>:<from>:<to>:<id>:<ts>:<text>
        assert_eq!(&sent, part, "each part as the console cuts it");
    }
    assert!(expected[0].starts_with("(1/2) привет") && expected[1].starts_with("(2/2) "));
    ana.wait_for("document.querySelectorAll('#messages .msg.mine .tick[data-state=RECEIVED]').length === 2");
    let shown = ana.exec("return [...document.querySelectorAll('#messages .msg.mine .text')].map(e => e.textContent.slice(0, 6))", json!([]));
    assert_eq!(shown, json!(["(1/2) ", "(2/2) "]));

    // More than 16 messages' worth: kept in the composer, and said in characters.
    let huge = "ж".repeat(40_000);
    ana.exec(typed, json!([huge]));
    ana.click("#send");
    ana.wait_for(
        "document.getElementById('banner-text').textContent === \
         'Too long to send: 40,000 characters, more than 16 messages. Send it as a file, or in pieces.'",
    );
    assert_eq!(ana.exec("return document.getElementById('input').value.length", json!([])), json!(40_000));
}

#[test]
fn a_bare_www_host_is_a_link_and_a_new_room_says_what_it_is_for() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:w1:the notes are at www.example.org/os, or ask").starts_with("OK:"));
    assert!(bob.request("MSG:ana:w2:not a link: my.www.example.org nor www.nothing").starts_with("OK:"));
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 2");
    let links = ana.exec(
        "return [...document.querySelectorAll('#messages .msg .text a')].map((a) => [a.textContent, a.href, a.rel])",
        json!([]),
    );
    assert_eq!(links, json!([["www.example.org/os", "https://www.example.org/os", "noopener noreferrer"]]));

    // A room just made: its pane says what it is for, until its first message.
    ana.click("#back");
    ana.wait_for(LIST_SHOWN);
    open_chat(&ana, "#fresh");
    let said = ana.wait_for("document.querySelector('#messages .chat-start')?.textContent");
    assert_eq!(
        said,
        json!(
            "No messages in #fresh yet. What is written here goes to every member; others join by its name, #fresh, or by an invitation (Details)."
        )
    );
    shot(&ana, "new-room-390");
    ana.type_into("#input", &format!("first{ENTER}"));
    ana.wait_for("!document.querySelector('#messages .chat-start') && document.querySelectorAll('#messages .msg').length === 1");
}

/// The header's call buttons as drawn: size, background, text colour, layout.
const CALL_BUTTONS: &str = "return ['call-voice', 'call-video'].map((id) => { const b = document.getElementById(id); \
    const s = getComputedStyle(b); const r = b.getBoundingClientRect(); \
    return [Math.round(r.width), Math.round(r.height), s.backgroundColor, s.color, s.display]; })";

#[test]
fn the_first_call_leaves_the_page_as_it_was_its_buttons_are_icons_and_its_lines_call_back() {
    let (server, url) = web_server(&["--ring-seconds", "30"]);
    server.register(&["ana", "bob"]);
    let ana = logged_in_with(&url, "ana", LAPTOP, &CALL_FLAGS);
    let bob = logged_in_with(&url, "bob", PHONE, &CALL_FLAGS);
    open_chat(&ana, "bob");
    open_chat(&bob, "ana");
    let before = ana.exec(CALL_BUTTONS, json!([]));

    // ana calls; bob's phone rings: its buttons are drawn icons, no emoji.
    ana.click("#call-voice");
    bob.wait_for(&format!("{CALL_SCREEN}?.dataset.state === 'ringing-here'"));
    for browser in [&ana, &bob] {
        let icons = browser.exec(
            &format!("return [...{CALL_SCREEN}.querySelectorAll('.call-icon')].map((i) => [i.querySelector('svg.ico') !== null, i.textContent])"),
            json!([]),
        );
        let icons = icons.as_array().unwrap();
        assert!(!icons.is_empty() && icons.iter().all(|i| *i == json!([true, ""])), "{icons:?}");
    }
    shot(&bob, "call-ringing-icons-390");
    bob.click(".call-decline");
    ana.wait_for(&format!("!{CALL_SCREEN}"));

    // The header's buttons as before, and a ✓ is "sent", not the call's bytes.
    assert_eq!(ana.exec(CALL_BUTTONS, json!([])), before, "the call's stylesheet left the header alone");
    ana.type_into("#input", &format!("after the call{ENTER}"));
    let tick = "[...document.querySelectorAll('#messages .msg.mine .tick')].pop()";
    ana.wait_for(&format!("['RECEIVED', 'DELIVERED', 'READ'].includes({tick}?.dataset.state)"));
    let label = ana.exec(
        &format!("const t = {tick}; return [t.dataset.state, t.getAttribute('aria-label')]"),
        json!([]),
    );
    let words = [("RECEIVED", "sent"), ("DELIVERED", "delivered"), ("READ", "read")];
    assert!(
        words.iter().any(|(state, word)| label == json!([state, word])),
        "a tick says its state: {label}"
    );

    // The call's line says which way it went, on each side; "Call declined" leaves the foot within 10 s.
    let line = "[...document.querySelectorAll('#messages .call-log .text[data-said]')].map((e) => e.textContent).join('|')";
    ana.wait_for(&format!("{line} === 'Outgoing voice call, declined'"));
    bob.wait_for(&format!("{line} === 'Declined incoming voice call'"));
    for browser in [&ana, &bob] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while browser.exec("return document.getElementById('typing').textContent", json!([])) != json!("") {
            assert!(Instant::now() < deadline, "how the call ended still in the chat's foot after 10 s");
            std::thread::sleep(Duration::from_millis(100)); // polling the page
        }
    }
    // A tap on bob's line calls ana back, the same way.
    let name = bob.exec(
        "return document.querySelector('#messages .call-log .call-again').getAttribute('aria-label')",
        json!([]),
    );
    assert_eq!(name, json!("Declined incoming voice call. Call ana again"));
    bob.click("#messages .call-log .call-again");
    ana.wait_for(&format!(
        "{CALL_SCREEN}?.dataset.state === 'ringing-here' && {CALL_SCREEN}.dataset.media === 'voice'"
    ));
    bob.click(".call-hangup");
    ana.wait_for(&format!("!{CALL_SCREEN}"));
    bob.wait_for(&format!("{line} === 'Declined incoming voice call|Outgoing voice call, no answer'"));
    ana.wait_for(&format!("{line} === 'Outgoing voice call, declined|Missed voice call'"));
}

/// Page script: what breaks the rules a phone's user needs, at this
/// moment, among what is drawn on screen: every control (button, field,
/// box, summary, link outside a sentence) under 44×44 px; every text under
/// 4.5:1 against what is drawn behind its centre (its colour and its
/// ancestors' opacity over the backgrounds there, composed as the browser
/// paints them); a message's time under 12 px; a control without a name,
/// or whose name leaves out the words it shows; a heading more than one
/// level under the one before it; a list item outside a list, or a list
/// given another role.
const AUDIT: &str = "
  const problems = [];
  const shown = (e) => e.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const who = (e) => e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`;
  const onScreen = (r) => r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  const rgba = (c) => { const m = (c.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const opacity = (e) => { let o = 1; for (; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  const over = ([r, g, b, a], below) => [r, g, b].map((v, i) => v * a + below[i] * (1 - a));
  const lum = (c) => c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const backdrop = (e, x, y) => {
    const stack = document.elementsFromPoint(x, y);
    let at = e;
    while (at && !stack.includes(at)) at = at.parentElement;
    let colour = [255, 255, 255];
    for (const below of (at ? stack.slice(stack.indexOf(at)) : stack).reverse()) {
      const [r, g, b, a] = rgba(getComputedStyle(below).backgroundColor);
      colour = over([r, g, b, a * opacity(below)], colour);
    }
    return colour;
  };
  const controls = 'button, input:not([type=hidden]), select, textarea, summary, a[href], [role=button], label.button';
  // Visually hidden (app.css's .visually-hidden): clipped away, out of reach; its <label> is the target drawn.
  const clipped = (e) => getComputedStyle(e).clipPath === 'inset(50%)';
  // The words a control shows, which its name must contain (WCAG 2.5.3): none if only a symbol or a number.
  const words = (e) => (e.innerText || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  for (const e of document.querySelectorAll(controls)) {
    if (!shown(e) || clipped(e)) continue;
    const r = e.getBoundingClientRect();
    if (!onScreen(r)) continue;
    if (e.matches('a') && e.closest('.text, p, li.result')) continue; // a link in a sentence (WCAG 2.5.8's exception)
    if (r.width < 43.5 || r.height < 43.5) problems.push(`small: ${who(e)} ${Math.round(r.width)}×${Math.round(r.height)}`);
    const named = e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.labels?.length
      || e.closest('label') || (e.matches('button, summary, a') && e.textContent.trim()) || e.title;
    if (!named) problems.push(`no name: ${who(e)}`);
    const label = (e.getAttribute('aria-label') || '').replace(/\\s+/g, ' ').trim().toLowerCase();
    if (label && e.matches('button, summary, a, [role=button]') && /[\\p{L}\\p{N}]{2}/u.test(words(e)) && !label.includes(words(e))) {
      problems.push(`name without its words: ${who(e)} ${JSON.stringify(label)} shows ${JSON.stringify(words(e))}`);
    }
  }
  // Headings one level down at a time after the first, in the page's order (a picker or a panel added at its end included).
  let level = 6;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (!shown(h)) continue;
    const n = Number(h.tagName[1]);
    if (n > level + 1) problems.push(`heading h${n} after h${level}: ${who(h)} ${JSON.stringify(h.textContent.trim().slice(0, 30))}`);
    level = n;
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e || e.closest('option, datalist, script, style') || !shown(e)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (!onScreen(r)) continue;
    const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const back = backdrop(e, x, y);
    const [cr, cg, cb, ca] = rgba(getComputedStyle(e).color);
    const text = over([cr, cg, cb, ca * opacity(e)], back);
    const [hi, lo] = [lum(text), lum(back)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}: ${who(e)} ${JSON.stringify(n.textContent.trim().slice(0, 30))}`);
    if (e.closest('.time, .chat-time') && parseFloat(getComputedStyle(e).fontSize) < 12) {
      problems.push(`small time: ${who(e)} ${getComputedStyle(e).fontSize}`);
    }
  }
  for (const list of document.querySelectorAll('ul, ol')) {
    if (list.getAttribute('role') && list.getAttribute('role') !== 'list') problems.push(`list as ${list.getAttribute('role')}: ${who(list)}`);
  }
  for (const item of document.querySelectorAll('li')) {
    if (shown(item) && !item.parentElement.matches('ul, ol')) problems.push(`item outside a list: ${who(item)}`);
  }
  return problems;";

/// What [`AUDIT`] finds in `browser` now, in both schemes; a screenshot of each.
pub(super) fn audit(browser: &Browser, what: &str) -> Vec<String> {
    let mut found = Vec::new();
    for dark in [false, true] {
        scheme(browser, dark);
        std::thread::sleep(Duration::from_millis(150)); // the new scheme's first frame
        let problems: Vec<String> = serde_json::from_value(browser.exec(AUDIT, json!([]))).unwrap();
        let scheme = if dark { "dark" } else { "light" };
        found.extend(problems.into_iter().map(|p| format!("{what}, {scheme}: {p}")));
        shot(browser, &format!("audit-{what}-{scheme}"));
    }
    scheme(browser, false);
    found
}

#[test]
fn every_control_is_a_finger_wide_and_every_text_readable_as_drawn_in_both_schemes() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK"); // ana owns it: Details shows its settings' boxes
    let mut others = joined(&server, "#lab", &["bob", "carla"]);
    assert!(others[0].request("MSG:#lab:b1:¿Vienes al laboratorio?").starts_with("OK:"));
    assert!(others[1].request("MSG:#lab:c1:↪ the room moved to 2.14").starts_with("OK:"));
    assert!(others[0].request("MSG:ana:d1:hola ana").starts_with("OK:"));

    let phone = Browser::start(PHONE.0, PHONE.1);
    phone.goto(&url);
    phone.wait_for("document.getElementById('login-button')");
    phone.click("details summary");
    let mut found = audit(&phone, "login");
    phone.type_into("#user", "ana");
    phone.type_into("#password", "pw-ana");
    phone.click("#login-button");
    phone.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    phone.wait_for("document.querySelector(\"#chat-list button[data-chat='bob']\")");
    found.extend(audit(&phone, "list"));

    phone.click("#chat-list button[data-chat='#lab']");
    phone.wait_for(&chat_shown("#lab"));
    phone.wait_for("document.querySelectorAll('#messages .msg').length === 2");
    phone.click("#messages .msg .more");
    phone.click("#messages .menu button[data-act='reply']");
    phone.type_into("#input", &format!("Sí, voy{ENTER}"));
    phone.wait_for("document.querySelector('#messages .msg.mine .quote') && document.querySelector('#messages .msg.mine .tick[data-state=RECEIVED]')");
    found.extend(audit(&phone, "room"));
    phone.click("#messages .msg.mine .more");
    phone.wait_for("document.querySelector('#messages .menu')");
    found.extend(audit(&phone, "menu"));
    phone.click("#members-button");
    phone.wait_for("!document.getElementById('chat-panel').hidden && document.querySelector('#chat-panel input[type=checkbox]')");
    found.extend(audit(&phone, "details"));
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

/// Opens the chat `name` from the list (a phone's list, after ← if a chat is open).
fn open_from_list(browser: &Browser, name: &str) {
    browser.exec(
        "if (document.getElementById('chat-pane').checkVisibility()) document.getElementById('back').click()",
        json!([]),
    );
    browser.wait_for(LIST_SHOWN);
    browser.click(&format!("#chat-list button[data-chat='{name}']"));
    browser.wait_for(&format!(
        "document.getElementById('chat-pane').checkVisibility() \
         && document.querySelector(\"#chat-list button[data-chat='{name}']\").getAttribute('aria-current') === 'true'"
    ));
}

#[test]
fn a_conversations_newer_controls_are_a_finger_wide_readable_and_named_in_both_schemes() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK");
    let mut others = joined(&server, "#lab", &["bob", "carla"]);
    assert_eq!(others[0].request("NAME:Bob Builder"), "OK");
    assert!(others[0].request("MSG:#lab:b1:¿Vienes al laboratorio?").starts_with("OK:"));
    assert!(others[1].request("MSG:#lab:c1:the room moved to 2.14").starts_with("OK:"));
    assert!(ana_raw.request("MSG:#lab:a1:Sí, voy").starts_with("OK:"));
    assert!(others[1].request("REACT:#lab:c1:👍").starts_with("OK:"));
    // A direct chat with a text, reactions, a photo and a voice message each way.
    assert!(others[0].request("MSG:ana:d1:lunch at noon?").starts_with("OK:"));
    assert!(ana_raw.request("MSG:bob:d2:yes").starts_with("OK:"));
    assert!(others[0].request("REACT:ana:d2:❤️").starts_with("OK:"));
    let board = upload(&mut others[0], "board.png", &photo(400, 300));
    assert!(others[0].request(&format!("FILE:ana:d3:{board}:the board")).starts_with("OK:"));
    let voice = upload(&mut others[0], "voice-3s.webm", &support::files::noise(2048, 7));
    assert!(others[0].request(&format!("FILE:ana:d4:{voice}:")).starts_with("OK:"));
    let mine = upload(&mut ana_raw, "voice-2s.webm", &support::files::noise(1536, 9));
    assert!(ana_raw.request(&format!("FILE:bob:d5:{mine}:")).starts_with("OK:"));

    let phone = logged_in(&url, "ana", PHONE.0, PHONE.1);
    phone.wait_for("document.querySelector(\"#chat-list button[data-chat='bob']\")");
    let mut found = audit(&phone, "chats");

    // The direct chat, its voice message's speed just tapped.
    open_from_list(&phone, "bob");
    phone.wait_for("document.querySelectorAll('#messages .voice .speed').length === 2 && document.querySelector('#messages img.thumb')?.complete");
    phone.click("#messages .msg:not(.mine) .voice .speed");
    phone
        .wait_for("document.querySelector('#messages .msg:not(.mine) .voice .speed').textContent === '1.5×'");
    found.extend(audit(&phone, "direct-speed"));
    // The composer's "Emoji".
    phone.click("#emoji-button");
    phone.wait_for("document.querySelector('#emoji-picker button[data-emoji]')");
    found.extend(audit(&phone, "emoji"));
    phone.click("#emoji-button");
    phone.wait_for("!document.getElementById('emoji-picker')");
    // A message's menu, then its "More reactions".
    phone.click("#messages .msg:not(.mine) .more");
    phone.wait_for("document.querySelector('#messages .menu [data-act=more-reactions]')");
    found.extend(audit(&phone, "message-menu"));
    phone.click("#messages .menu [data-act=more-reactions]");
    phone.wait_for("document.querySelector('#emoji-picker button[data-emoji]')");
    found.extend(audit(&phone, "more-reactions"));
    phone.exec("document.getElementById('emoji-picker').shut()", json!([]));

    // The room, with its senders and ticks.
    open_from_list(&phone, "#lab");
    phone.wait_for("document.querySelectorAll('#messages .msg').length === 3 && document.querySelector('#messages .msg.mine .tick')");
    found.extend(audit(&phone, "room"));

    // The list's menu on a chat, then the profile panel.
    phone.click("#back");
    phone.wait_for(LIST_SHOWN);
    phone.exec(
        "const row = document.querySelector(\"#chat-list button[data-chat='bob']\"); \
         const r = row.getBoundingClientRect(); \
         row.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: r.left + 20, clientY: r.top + 20 }))",
        json!([]),
    );
    phone.wait_for("document.getElementById('list-menu')");
    found.extend(audit(&phone, "list-menu"));
    phone.exec("document.getElementById('list-menu').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))", json!([]));
    phone.wait_for("!document.getElementById('list-menu')");
    phone.click("#profile-button");
    phone.wait_for("document.activeElement?.id === 'display-name'");
    found.extend(audit(&phone, "profile"));
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}
