//! What a WhatsApp Web user's hands expect, in a real chromium
//! (tests/support/browser.rs) at a phone's 390×844 and a laptop's
//! 1280×800: an emoji picker beside the message box (loaded at its first
//! tap; names in English, Spanish and Portuguese; the recent ones first;
//! a name where the system draws no emoji), voice messages at 1×, 1.5×
//! and 2×, and keyboard shortcuts listed under `?`.

use super::support;

use serde_json::{Value, json};
use support::browser::Browser;
use support::webapp::{ENTER, logged_in, logged_in_speaking, open_chat, shot, web_server};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// Whether the page fetched `path` (a module loaded when first used).
fn fetched(browser: &Browser, path: &str) -> bool {
    browser.exec(
        "return performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname === arguments[0])",
        json!([path]),
    ) == json!(true)
}

/// The emoji buttons the picker shows, by section: `[[heading, [[emoji, name, text]…]]…]`.
fn picker(browser: &Browser) -> Value {
    browser.exec(
        "return [...document.querySelectorAll('#emoji-picker .emoji-row')].map((row) => [row.getAttribute('aria-label'),
           [...row.querySelectorAll('button')].map((b) => [b.dataset.emoji, b.getAttribute('aria-label'), b.textContent])])",
        json!([]),
    )
}

#[test]
fn the_emoji_picker_puts_an_emoji_at_the_caret_finds_it_by_name_and_shows_the_recent_first() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "bob");
        assert!(!fetched(&ana, "/emoji.js"), "the picker loads when first used");
        // "Emoji", beside the message box: on its row, before it.
        let place = ana.exec(
            "const b = document.getElementById('emoji-button'), i = document.getElementById('input');
             const rb = b.getBoundingClientRect(), ri = i.getBoundingClientRect();
             return [b.getAttribute('aria-label'), rb.right <= ri.left, rb.top < ri.bottom && rb.bottom > ri.top,
                     rb.width >= (innerWidth < 500 ? 44 : 24) && rb.height >= (innerWidth < 500 ? 44 : 24)]",
            json!([]),
        );
        assert_eq!(place, json!(["Emoji", true, true, true]), "{width}×{height}");
        ana.type_into("#input", "hello world");
        ana.exec("document.getElementById('input').setSelectionRange(5, 5)", json!([]));
        ana.click("#emoji-button");
        ana.wait_for(
            "document.getElementById('emoji-picker') && document.activeElement.id === 'emoji-search'",
        );
        assert!(fetched(&ana, "/emoji.js"));
        // Over the composer, inside the window; nothing used yet, so no "Recently used".
        let frame = ana.exec(
            "const p = document.getElementById('emoji-picker').getBoundingClientRect();
             const c = document.getElementById('composer').getBoundingClientRect();
             return [p.left >= 0, p.right <= innerWidth, p.top >= 0, p.bottom <= c.top + 1,
                     document.getElementById('emoji-button').getAttribute('aria-expanded')]",
            json!([]),
        );
        assert_eq!(frame, json!([true, true, true, true, "true"]), "{width}×{height}");
        let shown = picker(&ana);
        assert_eq!(shown.as_array().unwrap().len(), 1, "{shown}");
        assert_eq!(shown[0][0], json!("Emoji"));
        // What a user sees on each: the emoji, or (no emoji font, as on
        // this machine's chromium) its name; a screen reader its name.
        for b in shown[0][1].as_array().unwrap() {
            assert!(b[2] == b[0] || b[2] == b[1], "{b}");
        }
        shot(&ana, &format!("emoji-picker-{width}"));
        // By its name in English, Spanish or Portuguese, accents or not.
        for (query, first) in [
            ("red heart", "❤️"),
            ("corazón", "❤️"),
            ("coracao", "❤️"),
            ("thumbs", "👍"),
            ("pulgar", "👍"),
            ("beer", "🍺"),
        ] {
            ana.exec("const s = document.getElementById('emoji-search'); s.value = ''; s.focus()", json!([]));
            ana.type_into("#emoji-search", query);
            let found = picker(&ana);
            assert_eq!(found[0][1][0][0], json!(first), "{query}: {found}");
        }
        ana.exec("document.getElementById('emoji-search').value = ''", json!([]));
        ana.type_into("#emoji-search", &format!("zzzz{ENTER}"));
        ana.wait_for(
            "document.querySelector('#emoji-picker .note')?.textContent === 'No emoji named “zzzz”'",
        );
        // Enter takes the first one found: it goes in at the caret, the
        // picker closes, and the caret is after it, in the message box.
        ana.exec("const s = document.getElementById('emoji-search'); s.value = ''", json!([]));
        ana.type_into("#emoji-search", &format!("thumbs up{ENTER}"));
        ana.wait_for("!document.getElementById('emoji-picker')");
        let after = ana.exec(
            "const i = document.getElementById('input');
             return [i.value, i.selectionStart, document.activeElement === i, document.getElementById('emoji-button').getAttribute('aria-expanded')]",
            json!([]),
        );
        assert_eq!(after, json!(["hello👍 world", 7, true, "false"]), "{width}×{height}");
        // Opened again: the one used is first, under "Recently used"; a
        // tap on another adds it, and it leads the next time.
        ana.click("#emoji-button");
        ana.wait_for("document.getElementById('emoji-picker')");
        let shown = picker(&ana);
        assert_eq!(shown[0][0], json!("Recently used"));
        assert_eq!(shown[0][1][0][0], json!("👍"));
        ana.click("#emoji-picker .emoji-row[aria-label='Emoji'] button[data-emoji='🎉']");
        ana.wait_for("!document.getElementById('emoji-picker')");
        ana.click("#emoji-button");
        ana.wait_for("document.getElementById('emoji-picker')");
        let recent: Vec<Value> =
            picker(&ana)[0][1].as_array().unwrap().iter().map(|b| b[0].clone()).collect();
        assert_eq!(recent, [json!("🎉"), json!("👍")]);
        // Esc closes it, and the message box has the focus back.
        ana.type_into("#emoji-search", "\u{E00C}");
        ana.wait_for("!document.getElementById('emoji-picker') && document.activeElement.id === 'input'");
        // The message goes as any other.
        ana.type_into("#input", ENTER);
        let mut raw = server.login_send("bob", "pw-bob");
        let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
        loop {
            let history = raw.listing("HISTORY:ana:10");
            if history.iter().any(|l| l.ends_with(":hello👍🎉 world")) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{history:?}");
            std::thread::sleep(std::time::Duration::from_millis(100)); // polling the server
        }
    }
    // In Spanish: the control's name, the search field's and the emoji's.
    let ana = logged_in_speaking(&url, "ana", PHONE.0, PHONE.1, "es");
    open_chat(&ana, "bob");
    ana.click("#emoji-button");
    ana.wait_for("document.getElementById('emoji-picker')");
    let words = ana.exec(
        "return [document.getElementById('emoji-button').getAttribute('aria-label'), document.getElementById('emoji-search').getAttribute('aria-label'),
                 document.querySelector(\"#emoji-picker button[data-emoji='👍']\").getAttribute('aria-label')]",
        json!([]),
    );
    assert_eq!(words, json!(["Emojis", "Buscar emoji", "pulgar arriba"]));
}

#[test]
fn a_voice_message_plays_at_1_1_5_and_2_times_its_speed_said_in_its_name() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "bob");
        ana.click("#record");
        ana.wait_for("/Recording 0:0[2-9]/.test(document.getElementById('voice-bar')?.textContent)");
        ana.click("#voice-send");
        // The newest of ana's bubbles, whatever the list draws after it.
        let speed = "#messages .msg.mine:nth-last-child(1 of .msg.mine) .voice .speed";
        ana.wait_for(&format!("document.querySelector('{speed}')"));
        // What the speed control says, and the rate the sound plays at
        // (null: not fetched yet), once the bubble shows them.
        let said = |browser: &Browser, want: Value| {
            let got = format!(
                "(() => {{ const b = document.querySelector('{speed}'); if (!b) return null;
                   const rate = b.closest('.voice').dataset.rate;
                   return JSON.stringify([b.textContent, b.getAttribute('aria-label'), rate ? Number(rate) : null]) }})()"
            );
            browser.wait_for(&format!("{got} === {:?}", want.to_string()));
        };
        said(&ana, json!(["1×", "Playback speed 1×", null]));
        // In the bubble, after the time; a finger's size on a phone. Asked
        // until the bubble is there (the list may draw it again meanwhile).
        let place = ana.wait_for(&format!(
            "(() => {{ const b = document.querySelector('{speed}'), box = b?.closest('.voice');
               if (!box) return null;
               const r = b.getBoundingClientRect(), t = box.querySelector('.voice-time').getBoundingClientRect(), m = box.getBoundingClientRect();
               return [r.left >= t.right, r.right <= m.right + 1, r.width >= (innerWidth < 500 ? 44 : 24), r.height >= (innerWidth < 500 ? 44 : 24)] }})()"
        ));
        assert_eq!(place, json!([true, true, true, true]), "{width}×{height}");
        ana.click(speed);
        said(&ana, json!(["1.5×", "Playback speed 1.5×", null]));
        // Played at the speed chosen before; changed while it plays.
        ana.click("#messages .msg.mine:nth-last-child(1 of .msg.mine) .voice .play");
        ana.wait_for("document.querySelector('#messages .msg.mine:nth-last-child(1 of .msg.mine) .voice').dataset.rate");
        said(&ana, json!(["1.5×", "Playback speed 1.5×", 1.5]));
        ana.click(speed);
        said(&ana, json!(["2×", "Playback speed 2×", 2]));
        shot(&ana, &format!("voice-speed-{width}"));
        ana.click(speed);
        said(&ana, json!(["1×", "Playback speed 1×", 1]));
    }
    // Its name in Portuguese.
    let bob = logged_in_speaking(&url, "bob", PHONE.0, PHONE.1, "pt-BR");
    bob.click("#chat-list button[data-chat='ana']");
    bob.wait_for("document.querySelector('#messages .msg .voice .speed')");
    let label = bob.exec(
        "return document.querySelector('#messages .msg .voice .speed').getAttribute('aria-label')",
        json!([]),
    );
    assert_eq!(label, json!("Velocidade de reprodução 1×"));
}

/// A key pressed as a person presses it (DevTools' `Input.dispatchKeyEvent`):
/// `modifiers` Alt 1, Ctrl 2, Shift 8; `text`, when it types a character.
fn press(browser: &Browser, key: &str, code: &str, vk: u32, modifiers: u32, text: Option<&str>) {
    let mut down = json!({"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers});
    if let Some(text) = text {
        down["text"] = json!(text);
    }
    browser.cdp("Input.dispatchKeyEvent", down);
    browser.cdp(
        "Input.dispatchKeyEvent",
        json!({"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers}),
    );
}

const CTRL_ALT: u32 = 3;
const SHIFT: u32 = 8;

fn focused(browser: &Browser) -> Value {
    browser.exec("return document.activeElement?.id || document.activeElement?.dataset?.chat || document.activeElement?.tagName", json!([]))
}

#[test]
fn keyboard_shortcuts_open_a_new_chat_search_and_the_next_chat_and_question_mark_lists_them() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "dan"]);
    let mut sends: Vec<_> =
        ["bob", "carla", "dan"].iter().map(|u| server.login_send(u, &format!("pw-{u}"))).collect();
    for (i, conn) in sends.iter_mut().enumerate() {
        assert!(conn.request(&format!("MSG:ana:k{i}:hello")).starts_with(&format!("OK:k{i}:")));
    }
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    ana.wait_for(
        "['bob', 'carla', 'dan'].every((c) => document.querySelector(`#chat-list button[data-chat='${c}']`))",
    );
    assert!(!fetched(&ana, "/shortcuts.js"), "the shortcuts load when first used");
    // `?`, the focus on no text field: the list, focus in it.
    ana.exec("document.activeElement.blur()", json!([]));
    press(&ana, "?", "Slash", 191, SHIFT, Some("?"));
    ana.wait_for(
        "document.getElementById('shortcuts')?.open && document.activeElement.id === 'shortcuts-close'",
    );
    let listed = ana.exec(
        "const d = document.getElementById('shortcuts');
         return [document.getElementById(d.getAttribute('aria-labelledby')).textContent,
                 [...d.querySelectorAll('dt')].map((dt, i) => [dt.textContent, d.querySelectorAll('dd')[i].textContent])]",
        json!([]),
    );
    assert_eq!(listed[0], json!("Keyboard shortcuts"));
    let rows: Vec<(String, String)> = serde_json::from_value(listed[1].clone()).unwrap();
    for (keys, what) in [
        ("Ctrl+Alt+N", "New chat"),
        ("Ctrl+Alt+/", "Search messages"),
        ("Ctrl+Alt+Shift+]", "Next chat"),
        ("Ctrl+Alt+Shift+[", "Previous chat"),
        ("?", "This list"),
        ("Enter", "Send the message"),
        ("Shift+Enter", "A new line in the message"),
    ] {
        assert!(rows.contains(&(keys.to_string(), what.to_string())), "{keys}: {rows:?}");
    }
    let inside = ana.exec(
        "const r = document.getElementById('shortcuts').getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight",
        json!([]),
    );
    assert_eq!(inside, json!(true));
    shot(&ana, "shortcuts-1280");
    press(&ana, "Escape", "Escape", 27, 0, None);
    ana.wait_for("!document.getElementById('shortcuts').open");
    // New chat, search.
    press(&ana, "n", "KeyN", 78, CTRL_ALT, None);
    assert_eq!(focused(&ana), json!("new-chat-name"));
    press(&ana, "/", "Slash", 191, CTRL_ALT, None);
    assert_eq!(focused(&ana), json!("search-words"));
    // Next and previous chat, in the list's order, round its ends.
    let order: Vec<String> = serde_json::from_value(ana.exec(
        "return [...document.querySelectorAll('#chat-list button[data-chat]')].map((b) => b.dataset.chat)",
        json!([]),
    ))
    .unwrap();
    ana.click(&format!("#chat-list button[data-chat='{}']", order[0]));
    ana.wait_for(&format!("document.getElementById('chat-title').textContent === '{}'", order[0]));
    let last = order.len() - 1;
    for next in (1..=last).chain([0]) {
        press(&ana, "}", "BracketRight", 221, CTRL_ALT | SHIFT, None);
        ana.wait_for(&format!("document.getElementById('chat-title').textContent === '{}'", order[next]));
    }
    press(&ana, "{", "BracketLeft", 219, CTRL_ALT | SHIFT, None);
    ana.wait_for(&format!("document.getElementById('chat-title').textContent === '{}'", order[last]));
    // `?` in the message box is a question mark.
    ana.click("#input");
    press(&ana, "?", "Slash", 191, SHIFT, Some("?"));
    ana.wait_for("document.getElementById('input').value === '?'");
    assert_eq!(ana.exec("return document.getElementById('shortcuts').open", json!([])), json!(false));

    // On a phone, a chat open: New chat brings the list back, its field focused and on the screen.
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.getElementById('app').classList.contains('chat-open')");
    ana.exec("document.activeElement.blur()", json!([]));
    press(&ana, "n", "KeyN", 78, CTRL_ALT, None);
    ana.wait_for("document.activeElement.id === 'new-chat-name'");
    let seen = ana.exec(
        "const r = document.getElementById('new-chat-name').getBoundingClientRect(); return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight",
        json!([]),
    );
    assert_eq!(seen, json!(true));
    press(&ana, "?", "Slash", 191, SHIFT, Some("?"));
    assert_eq!(
        ana.exec("return document.getElementById('shortcuts')?.open ?? false", json!([])),
        json!(false)
    );
    ana.exec("document.activeElement.blur()", json!([]));
    press(&ana, "?", "Slash", 191, SHIFT, Some("?"));
    ana.wait_for("document.getElementById('shortcuts')?.open");
    let inside = ana.exec(
        "const r = document.getElementById('shortcuts').getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight",
        json!([]),
    );
    assert_eq!(inside, json!(true));
    shot(&ana, "shortcuts-390");
}

/// A mouse's `button` pressed and released at `x, y` (DevTools' `Input.dispatchMouseEvent`).
fn mouse(browser: &Browser, button: &str, x: f64, y: f64) {
    for kind in ["mousePressed", "mouseReleased"] {
        browser.cdp(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": button, "clickCount": 1}),
        );
    }
}

/// The centre of the element `css`.
fn centre(browser: &Browser, css: &str) -> (f64, f64) {
    let at = browser.exec(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]",
        json!([css]),
    );
    (at[0].as_f64().unwrap(), at[1].as_f64().unwrap())
}

/// The open chat menu: its name, its entries, whether it lies inside the window.
fn list_menu(browser: &Browser) -> Value {
    browser.exec(
        "const m = document.getElementById('list-menu'); if (!m) return null; const r = m.getBoundingClientRect();
         return [m.getAttribute('role'), m.getAttribute('aria-label'), [...m.querySelectorAll('[role=menuitem]')].map((b) => b.textContent),
                 r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight, document.activeElement === m.querySelector('button')]",
        json!([]),
    )
}

#[test]
fn a_right_click_or_a_long_press_on_a_chat_opens_its_menu_to_mark_pin_mute_archive_and_delete_it() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    for (i, user) in ["bob", "carla"].iter().enumerate() {
        let mut conn = server.login_send(user, &format!("pw-{user}"));
        assert!(conn.request(&format!("MSG:ana:l{i}:hi ana")).starts_with(&format!("OK:l{i}:")));
    }
    let mut ana_raw = server.login_send("ana", "pw-ana");
    let row = |chat: &str| format!("#chat-list button[data-chat='{chat}']");
    // A laptop: a right-click where the pointer is.
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    ana.wait_for(&format!("document.querySelector(\"{}\")", row("bob")));
    assert!(!fetched(&ana, "/listmenu.js"), "the menu loads when first used");
    let (x, y) = centre(&ana, &row("bob"));
    mouse(&ana, "right", x, y);
    ana.wait_for("document.getElementById('list-menu')");
    assert_eq!(
        list_menu(&ana),
        json!([
            "menu",
            "Chat menu: bob",
            ["Mark as unread", "Pin chat", "Mute notifications", "Archive chat", "Delete chat"],
            true,
            true
        ])
    );
    let at = ana.exec(
        "const r = document.getElementById('list-menu').getBoundingClientRect(); return [r.left, r.top]",
        json!([]),
    );
    assert!(
        (at[0].as_f64().unwrap() - x).abs() < 2.0 && (at[1].as_f64().unwrap() - y).abs() < 2.0,
        "at the pointer: {at}"
    );
    assert_eq!(
        ana.exec("return document.getElementById('app').classList.contains('chat-open')", json!([])),
        json!(false)
    );
    shot(&ana, "list-menu-1280");
    // Pin: stored by the server, bob first in the list, marked pinned.
    ana.click("#list-menu button[data-act='pin']");
    ana.wait_for(&format!(
        "!document.getElementById('list-menu') && document.activeElement === document.querySelector(\"{}\")",
        row("bob")
    ));
    ana.wait_for(&format!("document.querySelector(\"{} .chat-name.pinned\")", row("bob")));
    ana.wait_for("document.querySelector('#chat-list button[data-chat]').dataset.chat === 'bob'");
    // Mute, from the keyboard's menu key on the row: the entries now say what undoes them.
    ana.exec(&format!("document.querySelector(\"{}\").focus()", row("bob")), json!([]));
    press(&ana, "F10", "F10", 121, SHIFT, None);
    ana.wait_for("document.getElementById('list-menu')");
    assert_eq!(
        list_menu(&ana)[2],
        json!(["Mark as unread", "Unpin chat", "Mute notifications", "Archive chat", "Delete chat"])
    );
    press(&ana, "ArrowDown", "ArrowDown", 40, 0, None);
    press(&ana, "ArrowDown", "ArrowDown", 40, 0, None);
    assert_eq!(focused(&ana), json!("BUTTON"));
    assert_eq!(
        ana.exec("return document.activeElement.dataset.act", json!([])),
        json!("mute"),
        "↓ goes to the next entry"
    );
    press(&ana, "Enter", "Enter", 13, 0, Some("\r"));
    ana.wait_for(&format!("document.querySelector(\"{} .chat-name.silent\")", row("bob")));
    assert!(
        ana_raw.listing("PREFS").contains(&"bob:none:pinned".to_string()),
        "{:?}",
        ana_raw.listing("PREFS")
    );
    // Esc closes the menu, nothing done.
    mouse(&ana, "right", x, y);
    ana.wait_for("document.getElementById('list-menu')");
    press(&ana, "Escape", "Escape", 27, 0, None);
    ana.wait_for("!document.getElementById('list-menu')");
    // Mark as unread (bob's chat read first): a badge with no number,
    // named; kept by the server.
    ana.click(&row("bob"));
    ana.wait_for(&format!("!document.querySelector(\"{} .badge.unread\")", row("bob")));
    let (x, y) = centre(&ana, &row("bob"));
    mouse(&ana, "right", x, y);
    ana.click("#list-menu button[data-act='mark']");
    let marked = format!(
        "document.querySelector(\"{} .badge.marked\")?.getAttribute('aria-label') === 'Marked unread'",
        row("bob")
    );
    ana.wait_for(&marked);
    assert_eq!(ana_raw.listing("MARKED"), ["bob"]);

    // A phone: a long press on carla's row opens the menu, not the chat; archive.
    let phone = logged_in(&url, "ana", PHONE.0, PHONE.1);
    phone.wait_for(&format!("document.querySelector(\"{}\")", row("carla")));
    let (x, y) = centre(&phone, &row("carla"));
    let point = json!([{"x": x, "y": y}]);
    phone.cdp("Input.dispatchTouchEvent", json!({"type": "touchStart", "touchPoints": point}));
    phone.wait_for("document.getElementById('list-menu')");
    phone.cdp("Input.dispatchTouchEvent", json!({"type": "touchEnd", "touchPoints": []}));
    assert_eq!(
        list_menu(&phone),
        json!([
            "menu",
            "Chat menu: carla",
            ["Mark as unread", "Pin chat", "Mute notifications", "Archive chat", "Delete chat"],
            true,
            true
        ])
    );
    // bob's pin, mute and mark came from the laptop.
    phone.wait_for(&format!("document.querySelector(\"{} .chat-name.pinned.silent\")", row("bob")));
    phone.wait_for(&marked);
    let sizes = phone.exec(
        "return [...document.querySelectorAll('#list-menu button')].every((b) => b.getBoundingClientRect().height >= 44)",
        json!([]),
    );
    assert_eq!(sizes, json!(true), "a finger's targets");
    assert_eq!(
        phone.exec("return document.getElementById('app').classList.contains('chat-open')", json!([])),
        json!(false)
    );
    shot(&phone, "list-menu-390");
    phone.click("#list-menu button[data-act='archive']");
    phone.wait_for(&format!(
        "!document.querySelector(\"{}\") && document.getElementById('archived-row')",
        row("carla")
    ));
    assert_eq!(ana_raw.listing("ARCHIVED"), ["carla"]);
    // The laptop follows.
    ana.wait_for(&format!("!document.querySelector(\"{}\")", row("carla")));
    // bob opened on the phone: the mark goes, there and on the laptop.
    phone.click(&row("bob"));
    phone.wait_for("document.getElementById('app').classList.contains('chat-open')");
    ana.wait_for(&format!("!document.querySelector(\"{} .badge.marked\")", row("bob")));
    assert_eq!(ana_raw.listing("MARKED"), Vec::<String>::new());

    // Delete chat, on the laptop, bob's chat open: a second tap confirms; it
    // leaves the list on both devices and closes, the server keeps when; a
    // newer message brings it back.
    ana.click(&row("bob"));
    ana.wait_for("document.getElementById('app').classList.contains('chat-open')");
    let (x, y) = centre(&ana, &row("bob"));
    mouse(&ana, "right", x, y);
    ana.click("#list-menu button[data-act='delete']");
    ana.wait_for("document.querySelector('#list-menu button[data-act=confirm]')?.textContent === 'Delete this chat? Tap again'");
    ana.click("#list-menu button[data-act='confirm']");
    ana.wait_for(&format!(
        "!document.querySelector(\"{}\") && !document.getElementById('app').classList.contains('chat-open')",
        row("bob")
    ));
    let hidden = ana_raw.listing("HIDDEN");
    assert!(hidden.len() == 1 && hidden[0].starts_with("bob:"), "{hidden:?}");
    phone.click("#back");
    phone.wait_for(&format!("!document.querySelector(\"{}\")", row("bob")));
    assert_eq!(ana_raw.listing("HISTORY:bob:10").len(), 1, "nothing is deleted on the server");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:l9:still there?").starts_with("OK:l9:"));
    ana.wait_for(&format!(
        "document.querySelector(\"{} .chat-last\")?.textContent === 'still there?'",
        row("bob")
    ));
    phone.wait_for(&format!("document.querySelector(\"{}\")", row("bob")));
}

/// The reactions under the newest bubble of `side` (`mine` or `theirs`): its chips' texts.
fn chips(browser: &Browser, side: &str) -> Value {
    browser.exec(
        "const all = [...document.querySelectorAll(arguments[0] === 'mine' ? '#messages .msg.mine' : '#messages .msg:not(.mine)')];
         const last = all[all.length - 1];
         return last ? [...last.querySelectorAll('.reactions .reaction')].map((r) => r.textContent) : null",
        json!([side]),
    )
}

/// A message's menu offers "More reactions", which opens the composer's
/// picker: a search, a pick, and that emoji is the reaction, on both
/// sides, and first in the picker's "Recently used". Any one emoji sent
/// by another client (a ZWJ sequence, a flag) shows too.
#[test]
fn more_reactions_opens_the_emoji_picker_and_its_pick_is_the_reaction_on_both_sides() {
    for (width, height) in [PHONE, LAPTOP] {
        let (server, url) = web_server(&[]);
        server.register(&["ana", "bob"]);
        let bob = logged_in(&url, "bob", width, height);
        open_chat(&bob, "ana");
        bob.type_into("#input", &format!("lunch at noon?{ENTER}"));
        bob.wait_for("document.querySelector('#messages .msg.mine')?.dataset.id");
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "bob");
        ana.wait_for("[...document.querySelectorAll('#messages .msg:not(.mine) .text')].some((t) => t.textContent === 'lunch at noon?')");
        ana.click("#messages .msg:not(.mine) .more");
        ana.wait_for("document.querySelector(\"#messages .menu button[data-act='more-reactions']\")");
        // After the six, named in words, a target a thumb can hit on a phone.
        let more = ana.exec(
            "const b = document.querySelector(\"#messages .menu button[data-act='more-reactions']\");
             const r = b.getBoundingClientRect();
             const six = [...b.parentElement.querySelectorAll('button[data-react]')].map((x) => x.dataset.react);
             return [b.getAttribute('aria-label'), six, b.previousElementSibling.dataset.react,
                     r.width >= (innerWidth < 500 ? 44 : 24) && r.height >= (innerWidth < 500 ? 44 : 24)]",
            json!([]),
        );
        assert_eq!(
            more,
            json!(["More reactions", ["👍", "❤️", "😂", "😮", "😢", "🙏"], "🙏", true]),
            "{width}×{height}"
        );
        ana.click("#messages .menu button[data-act='more-reactions']");
        ana.wait_for(
            "document.getElementById('emoji-picker') && document.activeElement.id === 'emoji-search'",
        );
        let frame = ana.exec(
            "const p = document.getElementById('emoji-picker').getBoundingClientRect();
             return [p.left >= 0, p.right <= innerWidth, p.top >= 0, p.bottom <= innerHeight, p.height >= 150]",
            json!([]),
        );
        assert_eq!(frame, json!([true, true, true, true, true]), "{width}×{height}");
        ana.type_into("#emoji-search", "rocket");
        assert_eq!(picker(&ana)[0][1][0][0], json!("🚀"));
        ana.type_into("#emoji-search", ENTER);
        ana.wait_for(
            "!document.getElementById('emoji-picker') && !document.querySelector('#messages .menu')",
        );
        // On ana's screen, hers; on bob's, under his message.
        ana.wait_for(
            "document.querySelector('#messages .msg:not(.mine) .reaction.mine')?.textContent === '🚀 1'",
        );
        assert_eq!(chips(&ana, "theirs"), json!(["🚀 1"]));
        bob.wait_for("document.querySelector('#messages .msg.mine .reactions')?.textContent === '🚀 1'");
        // The picker's "Recently used" now starts with it.
        ana.click("#emoji-button");
        ana.wait_for("document.getElementById('emoji-picker')");
        let shown = picker(&ana);
        assert_eq!((shown[0][0].clone(), shown[0][1][0][0].clone()), (json!("Recently used"), json!("🚀")));
        ana.type_into("#emoji-search", "\u{E00C}");
        ana.wait_for("!document.getElementById('emoji-picker')");
        // Any one emoji from another client: a ZWJ sequence and a flag, after the six's order.
        let id = bob.exec("return document.querySelector('#messages .msg.mine').dataset.id", json!([]));
        let mut raw = server.login_send("bob", "pw-bob");
        for emoji in ["🏳️‍🌈", "🇦🇷", "👍🏽"] {
            let line = format!("REACT:ana:{}:{emoji}", id.as_str().expect("an id"));
            assert!(raw.request(&line).starts_with("OK:_r"), "{line}");
        }
        ana.wait_for("document.querySelectorAll('#messages .msg:not(.mine) .reaction').length === 4");
        let mut seen: Vec<String> = chips(&ana, "theirs")
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        seen.sort();
        let mut want: Vec<String> = ["🚀 1", "🏳️‍🌈 1", "🇦🇷 1", "👍🏽 1"].iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(seen, want, "{width}×{height}");
        shot(&ana, &format!("more-reactions-{width}"));
    }
    // The control's name in Spanish and Portuguese.
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut raw = server.login_send("bob", "pw-bob");
    assert!(raw.request("MSG:ana:b1:hola").starts_with("OK:b1:"));
    for (lang, name) in [("es", "Más reacciones"), ("pt", "Mais reações")] {
        let ana = logged_in_speaking(&url, "ana", PHONE.0, PHONE.1, lang);
        open_chat(&ana, "bob");
        ana.wait_for("document.querySelector('#messages .msg:not(.mine) .more')");
        ana.click("#messages .msg:not(.mine) .more");
        ana.wait_for("document.querySelector(\"#messages .menu button[data-act='more-reactions']\")");
        let label = ana.exec(
            "return document.querySelector(\"#messages .menu button[data-act='more-reactions']\").getAttribute('aria-label')",
            json!([]),
        );
        assert_eq!(label, json!(name));
    }
}
