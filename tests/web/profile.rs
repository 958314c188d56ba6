//! The profile and privacy (1.2, docs/PROTOCOL.md §30) in the browser app,
//! end to end in headless chromium, as a user walks them at 390×844 and
//! 1280×800: "Profile" in the chat list's header opens a panel whose
//! "Display name" field has the focus; a name saved, a photo chosen with
//! the `<input type=file accept="image/*">` (uploaded, then made square by
//! the server); a classmate's phone shows both in its chat list and the
//! chat's header; a file that is not an image and a name the server
//! refuses are said in the panel and change nothing; the privacy switches
//! reach the server; a room's sender lines and its row in the list say a
//! member by the display name with the account. tests/chat/profile.rs has
//! the server's side.

use super::support;

use serde_json::json;
use support::browser::Browser;
use support::webapp::{joined, logged_in, web_server};

/// Chooses a file in the photo control as a person's file picker would:
/// a PNG drawn on a canvas (`png`), else a text file.
fn choose(browser: &Browser, png: bool) {
    browser.exec_async(
        "const [png, done] = arguments;
         const pick = (file) => { const dt = new DataTransfer(); dt.items.add(file);
           const input = document.getElementById('photo-file'); input.files = dt.files;
           input.dispatchEvent(new Event('change')); done(); };
         if (!png) return pick(new File(['hello, lab 3\\n'], 'notes.txt', { type: 'text/plain' }));
         const c = document.createElement('canvas'); c.width = 480; c.height = 240;
         const g = c.getContext('2d'); g.fillStyle = '#2040c0'; g.fillRect(0, 0, 480, 240);
         g.fillStyle = '#c02020'; g.fillRect(120, 0, 240, 240);
         c.toBlob((b) => pick(new File([b], 'me.png', { type: 'image/png' })), 'image/png');",
        json!([png]),
    );
}

/// The bounding box of `css` in `browser`, `[left, top, right, bottom]`.
fn rect(browser: &Browser, css: &str) -> Vec<f64> {
    let r = browser.exec(
        &format!("const r = document.querySelector({css:?}).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];"),
        json!([]),
    );
    r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

#[test]
fn a_name_and_a_photo_set_in_the_profile_show_in_a_classmates_list_and_header() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert!(ana_raw.request("MSG:bob:a1:hello bob").starts_with("OK:a1:"));
    let laptop = logged_in(&url, "ana", 1280, 800);
    let phone = logged_in(&url, "bob", 390, 844);
    phone.wait_for("document.querySelector('#chat-list [data-chat=\"ana\"]') !== null");

    // The header's "Profile" opens the panel, its name field focused.
    // Named "Profile" and by the words it shows, the account and this browser's device.
    laptop.wait_for(
        "/^Profile, ana · browser-[0-9a-f]{4}$/.test(document.getElementById('profile-button').getAttribute('aria-label'))",
    );
    laptop.click("#profile-button");
    laptop.wait_for(
        "document.activeElement.id === 'display-name' \
         && document.querySelector('label[for=display-name]').textContent === 'Display name' \
         && document.getElementById('profile-button').getAttribute('aria-expanded') === 'true' \
         && document.querySelector('#profile-panel input[type=file]').accept === 'image/*'",
    );
    let (button, panel) = (rect(&laptop, "#profile-button"), rect(&laptop, "#profile-panel"));
    assert!(panel[1] >= button[3] - 1.0, "the panel opens under the header: {button:?} {panel:?}");
    assert!(button[3] - button[1] >= 24.0, "a pointer's target, 24 px at least (WCAG 2.5.8): {button:?}");

    // A name the server refuses is said, and changes nothing.
    laptop.type_into("#display-name", "b\u{202E}ob\u{E007}");
    laptop.wait_for(
        "document.getElementById('profile-note').textContent.includes('U+202E') \
         && document.getElementById('profile-note').classList.contains('error')",
    );
    assert_eq!(ana_raw.request("PROFILE:ana"), "OK:ana::");
    laptop.exec("document.getElementById('display-name').value = ''", json!([]));
    laptop.type_into("#display-name", "Ana María: TA\u{E007}");
    laptop.wait_for("document.getElementById('profile-note').textContent === 'Saved'");
    assert_eq!(ana_raw.request("PROFILE:ana"), "OK:ana::Ana María: TA");

    // Not an image: said, nothing sent. Then a photo: shown square in the panel.
    choose(&laptop, false);
    laptop.wait_for(
        "document.getElementById('profile-note').textContent === 'Choose an image (PNG, JPEG, GIF or WebP)'",
    );
    choose(&laptop, true);
    laptop.wait_for(
        "document.getElementById('profile-note').textContent === 'Your photo is set' \
         && document.getElementById('profile-photo').naturalWidth === 192 \
         && document.getElementById('profile-photo').naturalHeight === 192",
    );
    let tag = ana_raw.request("PROFILE:ana");
    assert!(tag.len() == "OK:ana:".len() + 16 + ":Ana María: TA".len(), "{tag}");

    // bob's phone: the name with the account's, and the photo, in the list and the header.
    phone.wait_for(
        "(() => { const row = document.querySelector('#chat-list [data-chat=\"ana\"]');
           const img = row && row.querySelector('.avatar img');
           return row.querySelector('.chat-name').textContent === 'Ana María: TA (ana)' && img && img.complete && img.naturalWidth === 192; })()",
    );
    let row = rect(&phone, "#chat-list [data-chat=\"ana\"]");
    let face = rect(&phone, "#chat-list [data-chat=\"ana\"] .avatar img");
    assert!(
        face[0] >= row[0] && face[2] <= row[2] && row[2] <= 390.0,
        "the photo sits in its row: {face:?} {row:?}"
    );
    phone.click("#chat-list [data-chat=\"ana\"]");
    phone.wait_for("document.getElementById('chat-title').textContent === 'Ana María: TA (ana)'");

    // On the phone, bob's own panel: every control a thumb's size, within the screen.
    phone.click("#back");
    phone.click("#profile-button");
    phone.wait_for("document.activeElement.id === 'display-name'");
    for css in
        ["#display-name", "#profile-panel button[type=submit]", "label[for=photo-file]", "label.switch"]
    {
        let r = rect(&phone, css);
        assert!(r[3] - r[1] >= 44.0 && r[2] - r[0] >= 44.0 && r[2] <= 390.0, "{css} at 390×844: {r:?}");
    }

    // Privacy: read receipts off, as the server has it.
    laptop.click("#privacy-receipts");
    laptop.wait_for("!document.getElementById('privacy-receipts').checked");
    assert_eq!(ana_raw.request("PRIVACY"), "OK:lastseen:on:receipts:off");
    // The photo removed: bob's list goes back to the initials.
    laptop.click("#photo-remove");
    phone.wait_for("document.querySelector('#chat-list [data-chat=\"ana\"] .avatar img') === null");
}

#[test]
fn a_rooms_sender_lines_and_its_row_say_a_member_by_the_display_name_with_the_account() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut members = joined(&server, "#lab", &["ana", "bob", "carla"]);
    assert_eq!(members[1].request("NAME:Bob Builder"), "OK");
    assert!(members[2].request("MSG:#lab:c1:the room moved to 2.14").starts_with("OK:"));
    assert!(members[1].request("MSG:#lab:b1:¿Vienes?").starts_with("OK:"));
    let senders =
        "[...document.querySelectorAll('#messages .msg .from')].map((f) => f.textContent).join('|')";
    let row = "document.querySelector(\"#chat-list button[data-chat='#lab'] .chat-last\")?.textContent";
    for (width, height) in [(390, 844), (1280, 800)] {
        let browser = logged_in(&url, "ana", width, height);
        // The list's row: the last sender by name, carla (no display name) by her account.
        browser.wait_for(&format!("{row} === 'Bob Builder (bob): ¿Vienes?'"));
        browser.click("#chat-list button[data-chat='#lab']");
        browser.wait_for(&format!("{senders} === 'carla|Bob Builder (bob)'"));
        // A name changed meanwhile: the lines already drawn follow; one removed leaves the account.
        assert_eq!(members[2].request("NAME:Carla Gómez"), "OK");
        browser.wait_for(&format!("{senders} === 'Carla Gómez (carla)|Bob Builder (bob)'"));
        assert_eq!(members[1].request("NAME:"), "OK");
        browser.wait_for(&format!("{senders} === 'Carla Gómez (carla)|bob' && {row} === 'bob: ¿Vienes?'"));
        support::webapp::shot(&browser, &format!("room-senders-by-name-{width}"));
        assert_eq!(members[1].request("NAME:Bob Builder"), "OK");
        assert_eq!(members[2].request("NAME:"), "OK");
    }
}
