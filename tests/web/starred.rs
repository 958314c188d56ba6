//! Starred messages (1.2, docs/PROTOCOL.md §25) in the browser app, end
//! to end in headless chromium (tests/support/browser.rs): "Star" in a
//! message's menu, the ★ it then wears on every device of the user (the
//! server's `STAR` event), the "Starred messages" view of the header's ★
//! button, a deletion hiding the star, a new login finding the stars, and
//! the wire's lines. tests/chat/starred.rs has the server's side.

use super::support;

use serde_json::json;
use support::webapp::{logged_in, open_chat, web_server};

/// Whether the bubble of the message `id` wears a ★.
fn wears_star(id: &str) -> String {
    format!("document.querySelector(\"#messages li[data-id='{id}'] .meta .star\") !== null")
}

/// Opens the menu of the message `id` and taps its `act` (`star`, `unstar`).
fn tap(browser: &support::browser::Browser, id: &str, act: &str) {
    browser.click(&format!("#messages li[data-id='{id}'] .more"));
    let button = format!("#messages li[data-id='{id}'] .menu button[data-act='{act}']");
    browser.wait_for(&format!("document.querySelector(\"{button}\") !== null"));
    browser.click(&button);
}

#[test]
fn a_message_starred_on_the_phone_wears_a_star_on_the_laptop_and_is_in_the_starred_view() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:the exam is on friday").starts_with("OK"));
    assert!(bob.request("MSG:ana:b2:bring a pencil").starts_with("OK"));
    let phone = logged_in(&url, "ana", 390, 844);
    let laptop = logged_in(&url, "ana", 1280, 800);
    open_chat(&phone, "bob");
    open_chat(&laptop, "bob");
    laptop.wait_for("document.querySelector(\"#messages li[data-id='b2']\") !== null");

    // Starred from the phone's menu: a ★ on both devices.
    tap(&phone, "b1", "star");
    phone.wait_for(&wears_star("b1"));
    laptop.wait_for(&wears_star("b1"));
    assert_eq!(laptop.exec(&format!("return {}", wears_star("b2")), json!([])), json!(false));
    let mut ana_raw = server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.listing("STARRED").len(), 1);

    // The laptop's Starred view, from the header's ★ button.
    laptop.click("#starred-button");
    laptop.wait_for(
        "document.querySelectorAll('#starred-list li').length === 1 \
         && document.getElementById('starred-list').textContent.includes('the exam is on friday') \
         && document.getElementById('starred-button').getAttribute('aria-label') === 'Starred messages'",
    );
    // Starred on the laptop too: its open view follows the event.
    tap(&laptop, "b2", "star");
    laptop.wait_for("document.querySelectorAll('#starred-list li').length === 2");
    phone.wait_for(&wears_star("b2"));
    // The menu offers Unstar now; taken back on the phone, gone from the laptop.
    tap(&phone, "b2", "unstar");
    laptop.wait_for(&format!(
        "!({}) && document.querySelectorAll('#starred-list li').length === 1",
        wears_star("b2")
    ));

    // bob deletes b1: the star is hidden (the bubble reads deleted, no ★).
    assert!(bob.request("DELETE:ana:b1").starts_with("OK:_d"));
    phone.wait_for(&format!(
        "document.querySelector(\"#messages li[data-id='b1']\").classList.contains('deleted') && !({})",
        wears_star("b1")
    ));
    assert_eq!(ana_raw.listing("STARRED"), Vec::<String>::new());
    laptop.click("#starred-button");
    laptop.wait_for("document.getElementById('starred-count').textContent.startsWith('No starred messages')");

    // A new login finds the stars the server keeps.
    assert_eq!(ana_raw.request("STAR:bob:bob:b2"), "OK");
    phone.wait_for(&wears_star("b2"));
    let again = logged_in(&url, "ana", 1280, 800);
    open_chat(&again, "bob");
    again.wait_for(&wears_star("b2"));
}

#[test]
fn the_wire_writes_star_requests_and_reads_star_events_hostile_ones_refused() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let phone = logged_in(&url, "ana", 390, 844);
    let out = phone.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => {
           const req = (f) => { try { return f(); } catch (e) { return 'throws'; } };
           done({
             requests: [w.request.star('#lab', 'bob', 'm1', true), w.request.star('bob', 'bob', 'm2', false), w.request.starred(),
                        req(() => w.request.star('bob', 'b:ob', 'm1', true)), req(() => w.request.star('bob', 'bob', 'm.1', true))],
             events: ['STAR:#lab:bob:m1:starred', 'STAR:bob:ana:m2:unstarred', 'STAR:bob:bob:m1:yes', 'STAR:bob:bob:starred',
                      'STAR:<img>:bob:m1:starred', 'STAR:bob:bob:m.1:starred'].map(w.parseEvent),
             listing: w.isListing('STARRED'),
           });
         });",
        json!([]),
    );
    assert_eq!(
        out["requests"],
        json!(["STAR:#lab:bob:m1", "UNSTAR:bob:bob:m2", "STARRED", "throws", "throws"])
    );
    assert_eq!(
        out["events"],
        json!([
            {"kind": "STAR", "chat": "#lab", "from": "bob", "id": "m1", "starred": true},
            {"kind": "STAR", "chat": "bob", "from": "ana", "id": "m2", "starred": false},
            null, null, null, null
        ])
    );
    assert_eq!(out["listing"], json!(true));
}
