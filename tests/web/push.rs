//! Web Push in the browser (protocol 1.2, §28): the ⚙ panel's switch
//! asks for permission at that tap, subscribes with the server's key and
//! hands the subscription to the server; a push delivered to the service
//! worker through the DevTools protocol (`ServiceWorker.deliverPushMessage`,
//! chromium's push service being out of reach here), carrying what the
//! server sent to the test's push service, decrypted, shows the chat's
//! notification with the page closed; and what its tap opens, `/#chat=`,
//! opens that chat. With previews off, the notification names neither
//! the sender nor the room.
//!
//! The boundary replaced: `PushManager.subscribe` answers the subscription
//! the test made (its keys are the test's, so that it can decrypt what
//! the server sends), as the vendor's push service would.

use std::time::Duration;

use serde_json::{Value, json};

use super::support;
use support::browser::Browser;
use support::push_service::{Browser as Subscriber, PushService};
use support::webapp::{log_in, log_in_again, web_server};

#[test]
fn the_switch_subscribes_and_a_push_shows_the_chats_notification_with_the_page_closed() {
    let service = PushService::start();
    let (server, url) = web_server(&["--push-test-ca", &service.ca_arg()]);
    server.register(&["ana", "bob"]);
    let bob = log_in(Browser::start_whole(1280, 800), &url, "bob");
    bob.wait_for("navigator.serviceWorker.controller !== null");
    // What a person's "Allow" in the permission prompt gives.
    bob.cdp("Browser.grantPermissions", json!({ "origin": url, "permissions": ["notifications"] }));
    let subscriber = Subscriber::new();
    let (p256dh, auth) = subscriber.keys_b64();
    let endpoint = service.endpoint("bob");
    bob.exec(
        "const [p256dh, auth, endpoint] = arguments;
         const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer;
         PushManager.prototype.subscribe = async function (options) {
           window.subscribedWith = options.applicationServerKey;
           return { endpoint, getKey: (name) => bytes(name === 'p256dh' ? p256dh : auth), unsubscribe: async () => true };
         };",
        json!([p256dh, auth, endpoint]),
    );
    bob.click("#devices-button");
    bob.wait_for("document.getElementById('push-on') && !document.getElementById('push-on').disabled");
    bob.click("#push-on");
    bob.wait_for("document.getElementById('push-note').textContent.includes('while the page is closed')");
    let mut raw = server.login_send("bob@raw", "pw-bob");
    let key = raw.request("PUSHKEY");
    assert_eq!(bob.exec("return window.subscribedWith", json!([])), json!(key.strip_prefix("OK:").unwrap()));
    let csv = std::fs::read_to_string(server.data_dir.join("push.csv")).unwrap();
    assert!(csv.contains(&endpoint), "{csv}");

    // The page closed: a message for bob is pushed; what the push service
    // got, decrypted, goes to the service worker.
    let registration = registration_id();
    // The DevTools' service worker domain, on this tab: it learns the
    // registrations while the page closes and the message goes.
    bob.cdp("ServiceWorker.enable", json!({}));
    bob.goto("about:blank");
    let mut ana = server.login_send("ana", "pw-ana");
    // Closed once the server saw its connections end.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ana.listing("USERS").iter().any(|u| u == "bob") {
        assert!(std::time::Instant::now() < deadline, "bob's page still online");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ana.request("MSG:bob:m1:lunch at noon?").starts_with("OK:m1:"));
    let pushes = service.wait_for("bob", 1, Duration::from_secs(15));
    assert_eq!(pushes.len(), 1);
    let payload = subscriber.decrypt(&pushes[0].body).unwrap();
    // With previews off, a room's message: its notification names
    // neither ana nor the room.
    assert_eq!(raw.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(raw.request("PREVIEWS:OFF"), "OK");
    assert!(ana.request("MSG:#lab:r1:the secret plan").starts_with("OK:r1:"));
    let pushes = service.wait_for("bob", 2, Duration::from_secs(15));
    assert_eq!(pushes.len(), 2);
    let hidden = subscriber.decrypt(&pushes[1].body).unwrap();
    for data in [payload, hidden] {
        bob.cdp(
            "ServiceWorker.deliverPushMessage",
            json!({ "origin": url, "registrationId": registration, "data": data }),
        );
    }

    // The notification, read back from a page of the app opened again.
    bob.goto(&url);
    let shown = bob.wait_for(
        "window.shown?.length >= 2 ? window.shown : (navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => { window.shown = ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon })); }), null)",
    );
    let mut shown: Vec<Value> = serde_json::from_value(shown).unwrap();
    shown.sort_by_key(|n| n["tag"].as_str().unwrap_or("").to_string());
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[1]["title"], "ana");
    assert_eq!(shown[1]["body"], "lunch at noon?");
    assert_eq!(shown[1]["tag"], "chat:ana");
    assert!(shown[1]["icon"].as_str().unwrap().ends_with("/icon-192.png"));
    assert_eq!(
        (&shown[0]["title"], &shown[0]["body"]),
        (&json!("wachat"), &json!("New message")),
        "{shown:?}"
    );
    assert_eq!(shown[0]["tag"], "chat:#lab");

    // Its tap, with no window of the app open, opens /#chat=ana: that chat.
    log_in_again(&bob, &format!("{url}/#chat=ana"), "bob");
    bob.wait_for("document.getElementById('chat-title').textContent === 'ana'");
    bob.wait_for("[...document.querySelectorAll('#messages .msg .text')].some((e) => e.textContent === 'lunch at noon?')");
}

/// The id chromium gave the app's service worker registration, which
/// `ServiceWorker.deliverPushMessage` names: the first (and only) one of
/// the profile, as chromium numbers them from 0 (the notification checked
/// below would not show for another).
fn registration_id() -> String {
    "0".to_string()
}
