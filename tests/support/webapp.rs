//! What the browser tests of tests/web.rs and tests/web/ share: a server
//! with its web port, a browser logged in, a chat opened. How many tests
//! drive browsers at once is the runner's bound (the `browser` group of
//! .config/nextest.toml), not theirs. (tests/support/browser.rs stays free
//! of `TestServer`: examples/web_vs_tcp.rs includes it alone.)

use super::TestServer;
use super::browser::Browser;

/// Enter, as `type_into` types it.
pub const ENTER: &str = "\u{E007}";

/// chromium's flags for a call on one machine: a fake camera and
/// microphone that need no permission prompt, and host candidates with
/// real addresses instead of mDNS names (which nothing resolves here);
/// loopback candidates for a machine whose only interface is `lo`. The
/// camera films 5 frames a second, not its usual 20: each browser
/// encodes and decodes video in software, which at 20 took a test of
/// tests/web/calls.rs (three browsers) ~230 s of CPU (and missed its
/// deadlines beside other tests), at 5 ~50 s; a frame still reaches the
/// other side within the first second.
pub const CALL_FLAGS: [&str; 4] = [
    "--use-fake-device-for-media-stream=fps=5",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
];

/// A server with its web port, and the app's URL.
pub fn web_server(args: &[&str]) -> (TestServer, String) {
    let server = TestServer::start_with(&[&["--web-port", "0"], args].concat());
    let url = app_url(&server);
    (server, url)
}

/// The same, on ports the test may start it again on
/// ([`TestServer::start_restartable`]): the app's URL stays the same.
pub fn restartable_web_server(args: &[&str]) -> (TestServer, String) {
    let server = TestServer::start_restartable(&[&["--web-port", "0"], args].concat());
    let url = app_url(&server);
    (server, url)
}

/// The app's URL on `server`, started with a web port.
pub fn app_url(server: &TestServer) -> String {
    format!("http://{}", server.web.expect("the web port"))
}

/// The call's screen, as web/call.js draws it.
pub const CALL_SCREEN: &str = "document.querySelector('.call-screen')";

/// A number of the call screen's data in `browser` (getStats's bytes
/// received, call.js's timing), 0 while there is none.
pub fn call_data(browser: &Browser, key: &str) -> u64 {
    let value =
        browser.exec(&format!("return Number({CALL_SCREEN}?.dataset.{key} || 0)"), serde_json::json!([]));
    value.as_u64().unwrap_or(0)
}

/// A browser on the app, logged in as `user` (password `pw-<user>`, as
/// `TestServer::register` makes them).
pub fn logged_in(url: &str, user: &str, width: u32, height: u32) -> Browser {
    logged_in_speaking(url, user, width, height, "en-US")
}

/// The same, in a browser whose language is `lang` (`es`, `pt-BR`).
pub fn logged_in_speaking(url: &str, user: &str, width: u32, height: u32, lang: &str) -> Browser {
    log_in(Browser::start_in(width, height, lang), url, user)
}

/// The same, in English, in a browser started with more of chromium's
/// `flags` (a call's fake camera: tests/cluster/browser.rs).
pub fn logged_in_with(url: &str, user: &str, (width, height): (u32, u32), flags: &[&str]) -> Browser {
    log_in(Browser::start_with(width, height, "en-US", flags), url, user)
}

/// Logs `user` in on `browser` at `url` (password `pw-<user>`).
pub fn log_in(browser: Browser, url: &str, user: &str) -> Browser {
    browser.goto(url);
    browser.type_into("#user", user);
    browser.type_into("#password", &format!("pw-{user}"));
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    browser
}

/// Logs `user` in again in `browser` after a reload (a password login
/// keeps no token; the password is `pw-<user>`).
pub fn log_in_again(browser: &Browser, url: &str, user: &str) {
    browser.goto(url);
    browser.wait_for("!document.getElementById('login').hidden");
    browser.exec("document.getElementById('user').value = ''", serde_json::json!([]));
    browser.type_into("#user", user);
    browser.type_into("#password", &format!("pw-{user}"));
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
}

/// Opens the chat with `name` from the "new chat" field.
pub fn open_chat(browser: &Browser, name: &str) {
    browser.type_into("#new-chat-name", &format!("{name}{ENTER}"));
    browser.wait_for(&format!("document.getElementById('chat-title').textContent === {name:?} && !document.getElementById('composer').hidden"));
}

/// Opens the devices panel of `browser` and asks "Link a new device"; the code shown.
pub fn new_link_code(browser: &Browser) -> String {
    browser.click("#devices-button");
    browser.wait_for("!document.getElementById('devices-panel').hidden"); // devices.js loads at the first tap
    browser.click("#link-new");
    let code = browser.wait_for("document.getElementById('link-code').dataset.code");
    code.as_str().unwrap().to_string()
}

/// Send connections of `users` (password `pw-<user>`), each joined to `room` in that order: the first owns it.
pub fn joined(server: &TestServer, room: &str, users: &[&str]) -> Vec<super::Conn> {
    users
        .iter()
        .map(|user| {
            let mut conn = server.login_send(user, &format!("pw-{user}"));
            assert_eq!(conn.request(&format!("JOIN:{room}")), "OK", "{user} joins {room}");
            conn
        })
        .collect()
}

/// Page script that defines `ratio(n, colour)`: the contrast (WCAG 2's
/// formula) of `colour` (by default node `n`'s text colour: give an
/// icon's stroke, a placeholder's colour) on `n`'s own background, or
/// the nearest one behind it (its bubble's, its button's).
pub const RATIO: &str = "
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const back = (n) => { for (; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const ratio = (n, colour = getComputedStyle(n).color) => { const a = lum(rgb(colour)), b = lum(back(n));
    return Math.round(100 * (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) / 100; };";

/// Keeps what `browser` shows as `target/tmp/screenshots/<name>.png`, to look at (docs/ keeps a few).
pub fn shot(browser: &Browser, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot()).unwrap();
}

/// The page as in the system's dark scheme (`dark`), or its light one.
pub fn scheme(browser: &Browser, dark: bool) {
    let value = if dark { "dark" } else { "light" };
    browser.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
    );
}
