//! What a lost laptop or a hostile message can get from the browser app,
//! in a real chromium (tests/support/browser.rs), on a phone (390×844)
//! and a laptop (1280×800): what an account leaves in a browser
//! (a password's login: nothing past the tab; "Log out": nothing at all,
//! the browser's device unlinked at the server), a 2,000-line message
//! folded behind "Read more", and a look-alike link shown by its punycode.

use super::support;

use serde_json::{Value, json};
use support::browser::Browser;
use support::webapp::{ENTER, logged_in, open_chat, web_server};

const SIZES: [(u32, u32); 2] = [(390, 844), (1280, 800)];

/// What the page keeps: its localStorage and sessionStorage (every key
/// and value), the names of its IndexedDB databases, and each cache of
/// Cache Storage with the paths it holds.
const KEPT: &str = "const done = arguments[arguments.length - 1];
(async () => {
  const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
  const cached = {};
  for (const name of await caches.keys()) {
    cached[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
  }
  return { local: { ...localStorage }, session: { ...sessionStorage }, dbs, cached };
})().then(done, (e) => done(String(e)));";

fn kept(browser: &Browser) -> Value {
    browser.exec_async(KEPT, json!([]))
}

/// Asserts nothing `kept` names bob or holds his draft: not a key, not a
/// value, not a database, not a cached path.
fn nothing_of_bob(kept: &Value, what: &str) {
    let text = kept.to_string().to_lowercase();
    assert!(!text.contains("bob") && !text.contains("hunter2"), "{what}: {kept}");
    assert_eq!(kept["dbs"], json!([]), "{what}: no IndexedDB");
    for (cache, paths) in kept["cached"].as_object().unwrap() {
        assert_eq!(cache, "wachat-shell", "{what}: the service worker's one cache");
        for path in paths.as_array().unwrap() {
            let path = path.as_str().unwrap();
            assert!(
                path == "/"
                    || path.ends_with(".js")
                    || path.ends_with(".css")
                    || path.ends_with(".svg")
                    || path.ends_with(".webmanifest"),
                "{what}: the app's files only: {path}"
            );
        }
    }
}

const DRAFT: &str = "my exam answers ... my other password is hunter2";

/// Types the draft in the chat with ana, and waits until it is kept.
fn leave_a_draft(bob: &Browser) {
    open_chat(bob, "ana");
    bob.type_into("#input", DRAFT);
    bob.wait_for("Object.values({...localStorage, ...sessionStorage}).some((v) => v.includes('hunter2'))");
}

/// Devices → Log out, and the login form back, with nothing in memory either.
fn log_out(bob: &Browser) {
    // On a phone the open chat hides the list and its header: back first.
    bob.exec("const back = document.getElementById('back'); if (back.offsetParent) back.click();", json!([]));
    bob.click("#devices-button");
    bob.wait_for("!document.getElementById('devices-panel').hidden");
    // The page that logs out is replaced by a fresh one: wait for that one
    // (the old may show its login form, filled, before it goes).
    bob.exec("window.loggingOut = true", json!([]));
    bob.click("#logout-button");
    bob.wait_for("!window.loggingOut && document.getElementById('login') && !document.getElementById('login').hidden && document.readyState === 'complete'");
    assert_eq!(bob.exec("return document.getElementById('user').value", json!([])), json!(""));
    assert_eq!(bob.exec("return document.getElementById('messages').childElementCount", json!([])), json!(0));
}

/// This browser's device, as the header says it (`bob · browser-1a2b`).
fn device_of(bob: &Browser) -> String {
    let me = bob.exec("return document.getElementById('me').textContent", json!([]));
    me.as_str().unwrap().rsplit(" · ").next().unwrap().to_string()
}

#[test]
fn a_password_login_keeps_nothing_past_the_tab_and_log_out_leaves_nothing_of_the_account() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    for (width, height) in SIZES {
        let bob = logged_in(&url, "bob", width, height);
        let device = device_of(&bob);
        leave_a_draft(&bob);
        // The draft is the tab's (a reload keeps it); nothing of bob's past it.
        let now = kept(&bob);
        assert!(now["session"].to_string().contains("hunter2"), "{now}");
        nothing_of_bob(
            &json!({ "local": now["local"], "dbs": now["dbs"], "cached": now["cached"] }),
            "past the tab",
        );
        bob.goto(&url);
        bob.wait_for("document.getElementById('user').value === 'bob'");
        bob.type_into("#password", &format!("pw-bob{ENTER}"));
        bob.wait_for("document.querySelector('#chat-list .draft')");

        log_out(&bob);
        nothing_of_bob(&kept(&bob), "after Log out");
        let mut raw = server.login_send("bob", "pw-bob");
        let devices = raw.listing("DEVICES");
        assert!(!devices.iter().any(|d| d.starts_with(&format!("{device}:"))), "unlinked: {devices:?}");
    }
}

#[test]
fn waits_0_5_s_log_out_of_a_browser_that_stays_signed_in_kills_its_token_and_forgets_its_chats() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    for (width, height) in SIZES {
        let bob = Browser::start(width, height);
        bob.goto(&url);
        bob.wait_for("document.getElementById('stay')");
        bob.exec("document.getElementById('user').value = ''", json!([]));
        bob.type_into("#user", "bob");
        bob.type_into("#password", "pw-bob");
        bob.click("#stay");
        bob.click("#login-button");
        let token = bob.wait_for(
            "Object.keys(localStorage).filter((k) => k.startsWith('wachat:link:')).map((k) => JSON.parse(localStorage[k]).token)[0]",
        );
        let token = token.as_str().unwrap().to_string();
        bob.wait_for("document.querySelector('#status.online')");
        let device = device_of(&bob);
        leave_a_draft(&bob);
        assert!(kept(&bob)["local"].to_string().contains("hunter2"), "stays signed in: its draft stays");

        log_out(&bob);
        nothing_of_bob(&kept(&bob), "after Log out");
        let refused = server.send_conn().request(&format!("LOGIN:bob@{device}:{token}"));
        assert!(refused.starts_with("KO:AUTH_FAILED:"), "the token is dead at the server: {refused}");
        // A reload stays logged out.
        bob.goto(&url);
        bob.wait_for("!document.getElementById('login').hidden");
        std::thread::sleep(std::time::Duration::from_millis(500)); // time for a login, if one would happen
        assert_eq!(bob.exec("return document.getElementById('app').hidden", json!([])), json!(true));
    }
}

/// The bubble of the message whose id is `id`: its height in px, and
/// the height of its text as shown.
fn bubble(browser: &Browser, id: &str) -> (f64, f64) {
    let found = browser.exec(
        "const li = document.querySelector(`#messages li[data-id=\"${arguments[0]}\"]`);
         return [li.getBoundingClientRect().height, li.querySelector('.text').getBoundingClientRect().height];",
        json!([id]),
    );
    (found[0].as_f64().unwrap(), found[1].as_f64().unwrap())
}

/// Whether the message `id` has a Read more button.
fn folded(browser: &Browser, id: &str) -> bool {
    let js = "return document.querySelector(`#messages li[data-id=\"${arguments[0]}\"] .read-more`) !== null";
    browser.exec(js, json!([id])) == json!(true)
}

#[test]
fn a_message_of_2000_lines_folds_behind_read_more() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let long = format!("top{}bottom", "\\n".repeat(1999));
    assert!(ana.request(&format!("MSG:bob:lines:{long}")).starts_with("OK:lines:"));
    let words = ["word"; 800].join(" ");
    assert!(ana.request(&format!("MSG:bob:words:{words}")).starts_with("OK:words:"));
    let short = ["word"; 150].join(" ");
    assert!(ana.request(&format!("MSG:bob:short:{short}")).starts_with("OK:short:"));
    for (width, height) in SIZES {
        let bob = logged_in(&url, "bob", width, height);
        open_chat(&bob, "ana");
        bob.wait_for("document.querySelector('#messages li[data-id=\"short\"]')");
        let (folded_height, _) = bubble(&bob, "lines");
        assert!(
            folded(&bob, "lines") && folded_height < 700.0,
            "20 lines, not 2,000: {folded_height} px at {width}×{height}"
        );
        let (words_height, _) = bubble(&bob, "words");
        assert!(
            folded(&bob, "words") && words_height < 700.0,
            "4,000 characters: {words_height} px at {width}×{height}"
        );
        // 750 characters are 8 lines of a laptop's bubble: nothing to fold there; on a phone, over 20.
        assert_eq!(folded(&bob, "short"), width < 1000, "750 characters at {width}×{height}");
        bob.click("#messages li[data-id=\"lines\"] .read-more");
        bob.wait_for("!document.querySelector('#messages li[data-id=\"lines\"] .read-more')");
        let (unfolded, text) = bubble(&bob, "lines");
        eprintln!(
            "at {width}×{height}: the 2,000-line message {folded_height} px folded, {unfolded} px read in full"
        );
        assert!(
            unfolded > 10.0 * folded_height && text > 10.0 * folded_height,
            "read in full: {unfolded} px"
        );
    }
}

#[test]
fn a_look_alike_host_shows_its_punycode_and_others_as_typed() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "log in at https://gооgle.com/login or https://аррӏе.com/ id, books at https://bücher.de/x, \
                 mail at https://почта.рф/ and https://example.com/ok";
    assert!(ana.request(&format!("MSG:bob:links:{text}")).starts_with("OK:links:"));
    for (width, height) in SIZES {
        let bob = logged_in(&url, "bob", width, height);
        open_chat(&bob, "ana");
        // `wait_for` takes an empty array for an answer: the links once drawn.
        let links = bob.wait_for(
            "((l) => l.length ? l : null)([...document.querySelectorAll('#messages li[data-id=\"links\"] .text a')].map((a) => [a.textContent, a.href]))",
        );
        assert_eq!(
            links,
            json!([
                ["https://xn--ggle-55da.com/login", "https://xn--ggle-55da.com/login"],
                ["https://xn--80ak6aa92e.com/", "https://xn--80ak6aa92e.com/"],
                ["https://bücher.de/x", "https://xn--bcher-kva.de/x"],
                ["https://почта.рф/", "https://xn--80a1acny.xn--p1ai/"],
                ["https://example.com/ok", "https://example.com/ok"],
            ]),
            "at {width}×{height}"
        );
    }
}
