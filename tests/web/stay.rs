//! "Stay signed in on this device", in a real chromium
//! (tests/support/browser.rs): a password login with the box ticked makes
//! the browser a device with its own token, as a linked one; a reload logs
//! in with it, and nothing the browser keeps holds the password. Unticked,
//! a reload asks again. With the server gone, the login form says so.

use super::support;

use serde_json::json;
use support::webapp::{ENTER, web_server};

const LAPTOP: (u32, u32) = (1280, 800);

/// Every key and value of the page's localStorage and sessionStorage, one string.
const STORAGE: &str = "return JSON.stringify([{...localStorage}, {...sessionStorage}])";

fn log_in(browser: &support::browser::Browser, user: &str, stay: bool) {
    browser.wait_for("document.getElementById('stay') && document.getElementById('stay').checked === false");
    browser.type_into("#user", user);
    browser.type_into("#password", &format!("pw-{user}"));
    if stay {
        browser.click("#stay");
    }
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
}

#[test]
fn ticked_a_reload_is_in_with_the_device_token_and_no_password_is_kept() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let ana = support::browser::Browser::start(LAPTOP.0, LAPTOP.1);
    ana.goto(&url);
    // Its accessible name is its label's text.
    let name = ana.exec("return document.getElementById('stay').labels[0].textContent.trim()", json!([]));
    assert_eq!(name, json!("Stay signed in on this device"));
    log_in(&ana, "ana", true);
    ana.wait_for("Object.keys(localStorage).some((k) => k.startsWith('wachat:link:'))");
    let kept = ana.exec(STORAGE, json!([]));
    assert!(!kept.as_str().unwrap().contains("pw-ana"), "no password kept: {kept}");
    // Logged in again with the token, the session links another device
    // once it gives the password (a token is one device's: it
    // vouches for no other).
    ana.wait_for("document.querySelector('#status.online')");
    ana.click("#devices-button");
    ana.wait_for("!document.getElementById('devices-panel').hidden");
    ana.click("#link-new");
    ana.wait_for("document.getElementById('link-password')");
    ana.type_into("#link-password", &format!("pw-ana{ENTER}"));
    let code = ana.wait_for("document.getElementById('link-code').dataset.code");
    assert_eq!(code.as_str().unwrap().len(), 10);
    // The code links a tablet; this browser unlinks it only with the
    // password too (UNLINK:<device>:<password>: a token unlinks no other).
    let paired = server.send_conn().request(&format!("PAIR:ana@tablet:{}", code.as_str().unwrap()));
    assert!(paired.starts_with("OK:"), "{paired}");
    let tablet = "document.querySelector('#devices li[data-device=\"tablet\"] button')";
    ana.wait_for(tablet);
    ana.exec(&format!("{tablet}.click(); {tablet}.click()"), json!([]));
    ana.wait_for("document.getElementById('unlink-password')");
    ana.type_into("#unlink-password", &format!("pw-ana{ENTER}"));
    ana.wait_for("!document.querySelector('#devices li[data-device=\"tablet\"]')");

    ana.goto(&url);
    ana.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    assert_eq!(ana.exec("return document.getElementById('password').value", json!([])), json!(""));
    // The header's own place names the account and this device in its title.
    let me = ana.exec("return document.getElementById('me').title", json!([]));
    assert!(me.as_str().unwrap().starts_with("ana · browser-"), "{me}");
    // The server has that device with a token: it is listed, and the same one after the reload.
    let mut raw = server.login_send("ana", "pw-ana");
    let devices = raw.listing("DEVICES");
    let device = me.as_str().unwrap().trim_start_matches("ana · ");
    assert!(devices.iter().any(|d| d.starts_with(&format!("{device}:ONLINE"))), "{devices:?}");
    let kept = ana.exec(STORAGE, json!([]));
    assert!(!kept.as_str().unwrap().contains("pw-ana"), "no password kept: {kept}");
}

#[test]
fn waits_0_7_s_unticked_a_reload_shows_the_login_form() {
    let (server, url) = web_server(&[]);
    server.register(&["bob"]);
    let bob = support::browser::Browser::start(LAPTOP.0, LAPTOP.1);
    bob.goto(&url);
    log_in(&bob, "bob", false);
    bob.goto(&url);
    bob.wait_for("document.getElementById('user').value === 'bob'");
    // Time for a login to happen, if one would.
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(bob.exec("return document.getElementById('login').hidden", json!([])), json!(false));
    assert_eq!(bob.exec("return document.getElementById('app').hidden", json!([])), json!(true));
    let kept = bob.exec(STORAGE, json!([]));
    assert!(!kept.as_str().unwrap().contains("wachat:link:"), "no token kept: {kept}");
    assert!(!kept.as_str().unwrap().contains("pw-bob"), "no password kept: {kept}");
}

#[test]
fn with_the_server_down_the_login_form_says_it_cannot_reach_it() {
    let (mut server, url) = web_server(&[]);
    server.register(&["carla"]);
    let carla = support::browser::Browser::start(LAPTOP.0, LAPTOP.1);
    carla.goto(&url);
    carla.wait_for("document.getElementById('login-button')");
    server.kill();
    carla.type_into("#user", "carla");
    carla.type_into("#password", "pw-carla");
    carla.click("#login-button");
    carla.wait_for("document.getElementById('login-error').textContent.includes('Cannot reach the server') && document.getElementById('login-error').textContent");
    assert_eq!(carla.exec("return document.getElementById('app').hidden", json!([])), json!(true));
    assert_eq!(
        carla.exec("return document.getElementById('login-button').disabled", json!([])),
        json!(false)
    );
}
