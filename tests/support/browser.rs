//! A real browser for the web client's tests: Debian's chromium, as its
//! headless shell (`chromium-headless-shell`: chromium's engine, Blink and
//! V8, without the browser's own windows and their user interface), driven
//! through `chromedriver` with the W3C WebDriver protocol (JSON over HTTP,
//! spoken here with ureq and serde_json, which the tests already have;
//! headless_chrome's build downloads the DevTools protocol from the
//! network, and fantoccini brings an async runtime for a dozen calls).
//!
//! The headless shell rather than `chromium --headless`: the whole browser,
//! headless, costs ~2 s of CPU to start, load the app and log in, and
//! 15–20% of a core while the app sits open; the shell ~0.7 s and 1–2%.
//! The browser tests are most of the suite's CPU, on two cores: with the
//! shell they need half as much.
//!
//! A missing browser is a failure with the command that installs it, never
//! a skipped test (.ci/test installs both packages).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::READ_TIMEOUT;
use super::ports::free_port;

/// The shell itself: /usr/bin/chromium-headless-shell is a script that runs
/// it without `exec`, so that chromedriver, ending a session, would stop the
/// script and leave the browser running.
const CHROMIUM: &str = "/usr/lib/chromium/chromium-headless-shell";
const DRIVER: &str = "/usr/bin/chromedriver";
/// The most of a page's text a failed wait prints ([`Browser::shown`]).
const SHOWN_CHARS: usize = 3000;
/// The whole browser, which Debian's chromium-driver brings along.
const WHOLE_CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// The HTTP client that speaks WebDriver to chromedriver: a command that
/// takes longer than `limit` fails the test.
fn agent(limit: Duration) -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(limit)).build().into()
}

/// One headless browser (its own profile: its own localStorage).
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Browser {
    /// A browser whose window is `width` × `height` CSS pixels, in English.
    pub fn start(width: u32, height: u32) -> Browser {
        Browser::start_in(width, height, "en-US")
    }

    /// The same, with `lang` as the browser's language (`es`, `pt-BR`).
    pub fn start_in(width: u32, height: u32, lang: &str) -> Browser {
        Browser::start_with(width, height, lang, &[])
    }

    /// The same, with more of chromium's flags (tests/web/calls.rs: a
    /// fake camera and microphone).
    pub fn start_with(width: u32, height: u32, lang: &str, flags: &[&str]) -> Browser {
        Browser::start_binary(CHROMIUM, width, height, lang, flags)
    }

    /// The whole chromium, headless (`--headless=new`), instead of the
    /// shell: the shell has no notifications (`Notification.permission`
    /// stays "denied"), which the Web Push test shows.
    pub fn start_whole(width: u32, height: u32) -> Browser {
        // No back-forward cache: a page left is closed, its connections with it.
        Browser::start_binary(
            WHOLE_CHROMIUM,
            width,
            height,
            "en-US",
            &["--headless=new", "--disable-back-forward-cache"],
        )
    }

    fn start_binary(binary: &str, width: u32, height: u32, lang: &str, flags: &[&str]) -> Browser {
        for program in [binary, DRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the web tests need a real browser; install it with \
                 `apt-get install -y chromium-headless-shell chromium-driver` (as root), or run .ci/test"
            );
        }
        let agent = agent(Duration::from_secs(60));
        // The port is free when picked, not when chromedriver binds it: one
        // that exits at once (its port was taken meanwhile) gets another.
        let mut tries = 0;
        let mut browser = loop {
            tries += 1;
            let port = free_port();
            let mut command = Command::new(DRIVER);
            command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
            // As a user's browser runs: no thread raised above the others.
            wachat::sys::process::without_raised_priority(&mut command);
            let driver = command.spawn().expect("start chromedriver");
            let base = format!("http://127.0.0.1:{port}");
            let mut browser = Browser { driver, base, session: String::new(), agent: agent.clone() };
            let deadline = Instant::now() + READ_TIMEOUT;
            let exited = loop {
                if browser.agent.get(format!("{}/status", browser.base)).call().is_ok() {
                    break None;
                }
                if let Ok(Some(status)) = browser.driver.try_wait() {
                    break Some(status);
                }
                assert!(Instant::now() < deadline, "chromedriver did not answer on port {port}");
                std::thread::sleep(Duration::from_millis(50)); // polling its port
            };
            match exited {
                None => break browser,
                Some(status) => {
                    assert!(tries < 5, "chromedriver exited ({status}) {tries} times, port {port} the last")
                }
            }
        };
        let mut options = json!({
            "binary": binary,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}"), format!("--lang={lang}"),
                     // The languages the page is told (navigator.languages, Accept-Language).
                     format!("--accept-lang={lang}"),
                     // A microphone that plays a tone, allowed without asking (voice messages).
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        });
        if let Some(args) = options["args"].as_array_mut() {
            args.extend(flags.iter().map(|flag| json!(flag)));
        }
        if width <= 480 {
            // A desktop window cannot be that narrow: a phone's screen, emulated.
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0}});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let reply = browser.call("POST", "/session", capabilities);
        browser.session = reply["sessionId"].as_str().expect("a WebDriver session").to_string();
        if width > 480 {
            browser.viewport(width, height);
        }
        browser
    }

    /// A WebDriver command; its `value`. Panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|(error, message)| panic!("WebDriver {method} {path}: {error}: {message}"))
    }

    /// A WebDriver command; its `value`, or the WebDriver error and its message.
    fn try_call(&self, method: &str, path: &str, body: Value) -> Result<Value, (String, String)> {
        let url = if path.starts_with("/session/") || path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(&body),
        };
        let reply: Value = response.expect("chromedriver").into_body().read_json().expect("JSON");
        let value = reply.get("value").cloned().unwrap_or(Value::Null);
        if let Some(error) = value.get("error") {
            return Err((error.as_str().unwrap_or("?").to_string(), value["message"].to_string()));
        }
        Ok(if path == "/session" { reply["value"].clone() } else { value })
    }

    /// Makes the page's viewport exactly `width` × `height` (the window is larger by its frame).
    fn viewport(&self, width: u32, height: u32) {
        let inner = self.exec("return [window.innerWidth, window.innerHeight]", json!([]));
        let (w, h) = (inner[0].as_u64().unwrap_or(0) as i64, inner[1].as_u64().unwrap_or(0) as i64);
        let (width, height) = (i64::from(width), i64::from(height));
        if w != width || h != height {
            let rect = json!({"width": 2 * width - w, "height": 2 * height - h});
            self.call("POST", "/window/rect", rect);
        }
    }

    /// Gives each WebDriver command `limit` instead of a minute, for a
    /// page known to be busy (tests/web/group_calls.rs: a room's call of
    /// eight, each page holding seven connections, on a loaded machine
    /// answered a script after more than a minute): the wait for
    /// chromedriver's answer, and chromedriver's own wait for the page
    /// to run a script (its `script` timeout, 30 s unless told).
    pub fn patient(mut self, limit: Duration) -> Browser {
        self.agent = agent(limit);
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        self.call("POST", "/timeouts", json!({ "script": ms }));
        self
    }

    /// The process id of its chromedriver, under which its chromium runs
    /// (tests/web/group_calls.rs adds up their CPU).
    pub fn pid(&self) -> u32 {
        self.driver.id()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    /// The browser's Back, as a phone's gesture or the toolbar's arrow.
    pub fn back(&self) {
        self.call("POST", "/back", json!({}));
    }

    /// The browser's Forward.
    pub fn forward(&self) {
        self.call("POST", "/forward", json!({}));
    }

    /// Opens a new tab of this browser (its profile: the same
    /// localStorage) and goes to it; the handles of the tab left and of
    /// the new one, to go between them with [`Browser::switch_to`].
    pub fn new_tab(&self) -> (String, String) {
        let left = self.call("GET", "/window", json!({})).as_str().expect("a window handle").to_string();
        let tab = self.call("POST", "/window/new", json!({"type": "tab"}));
        let tab = tab["handle"].as_str().expect("the new tab's handle").to_string();
        self.switch_to(&tab);
        (left, tab)
    }

    /// Goes to the tab `handle`.
    pub fn switch_to(&self, handle: &str) {
        self.call("POST", "/window", json!({ "handle": handle }));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Uncaught errors of the page from now on, gathered in
    /// `window.errors` ([`Browser::errors`]).
    pub fn watch_errors(&self) {
        self.exec(
            "window.errors = []; addEventListener('error', (e) => errors.push(e.message));
             addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));",
            json!([]),
        );
    }

    /// The page's uncaught errors since [`Browser::watch_errors`].
    pub fn errors(&self) -> Value {
        self.exec("return window.errors", json!([]))
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1](result)` when done.
    pub fn exec_async(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/async", json!({ "script": script, "args": args }))
    }

    /// Polls the expression `js` until it is truthy; its value. Panics after the timeout.
    pub fn wait_for(&self, js: &str) -> Value {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let value = self.exec(&format!("return ({js});"), json!([]));
            if !(value.is_null() || value == json!(false) || value == json!(0) || value == json!("")) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {js}\nthe page then showed: {}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(50)); // polling the page
        }
    }

    /// What the page shows, as its text (at most [`SHOWN_CHARS`]
    /// characters), for a test's failure to say.
    fn shown(&self) -> String {
        let text = "return document.body ? document.body.innerText.slice(0, arguments[0]) : '(no body)'";
        match self.try_call("POST", "/execute/sync", json!({ "script": text, "args": [SHOWN_CHARS] })) {
            Ok(Value::String(text)) => format!("{text:?}"),
            Ok(other) => other.to_string(),
            Err((error, message)) => format!("(the page could not be read: {error}: {message})"),
        }
    }

    fn element(&self, css: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let found = self.exec("return document.querySelector(arguments[0]) !== null", json!([css]));
            if found == json!(true) {
                break;
            }
            assert!(Instant::now() < deadline, "no element {css}\nthe page then showed: {}", self.shown());
            std::thread::sleep(Duration::from_millis(50)); // polling the page
        }
        let value = self.call("POST", "/element", json!({"using": "css selector", "value": css}));
        value.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string()
    }

    /// Clicks the element `css` as a person would.
    pub fn click(&self, css: &str) {
        self.on_element(css, "click", json!({}));
    }

    /// Types `text` into `css` as key presses (`\u{E007}` is Enter,
    /// `\u{E008}` holds Shift until `\u{E000}`).
    pub fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "value", json!({ "text": text }));
    }

    /// Sends the element command `action` to `css`. A page that drew the
    /// element again between the finding and the command (a receipt
    /// arriving redraws its message) makes WebDriver answer "stale element
    /// reference"; one whose element is there but not yet to be used (a
    /// drawer still opening, a panel drawn again by a setting's event: the
    /// Details' pin button once, in a busy suite) answers "element not
    /// interactable" or "element click intercepted". The element is then
    /// found again, as a person would look again, until the timeout.
    fn on_element(&self, css: &str, action: &str, body: Value) {
        const AGAIN: [&str; 3] =
            ["stale element reference", "element not interactable", "element click intercepted"];
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let id = self.element(css);
            match self.try_call("POST", &format!("/element/{id}/{action}"), body.clone()) {
                Ok(_) => return,
                Err((error, _)) if AGAIN.contains(&error.as_str()) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50)); // polling the page
                }
                Err((error, message)) => panic!("WebDriver {action} on {css}: {error}: {message}"),
            }
        }
    }

    /// The page as a PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        let value = self.call("GET", "/screenshot", json!({}));
        base64_decode(value.as_str().expect("base64"))
    }

    /// A command of the DevTools protocol (`Page.getInstallabilityErrors`),
    /// through chromedriver's `goog/cdp/execute`; its result.
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.call("POST", "/goog/cdp/execute", json!({ "cmd": command, "params": params }))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            // A test that failed may have failed on a page that no longer
            // answers: its session is ended with a short wait, not a
            // patient one (eight such pages waited 24 minutes, their
            // chromiums loading the machine all along).
            let panicking = std::thread::panicking();
            let agent = if panicking { agent(Duration::from_secs(15)) } else { self.agent.clone() };
            let _ = agent.delete(&url).call();
            if panicking {
                // Its chromium, if the session's end did not close it
                // (no answer, or chromedriver's own error), would outlive
                // its driver: it goes first. chromedriver starts it from
                // a thread of its own, and a process's children are
                // listed under the thread that made them.
                let pid = self.driver.id();
                let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
                for task in tasks {
                    let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                    for child in children.split_whitespace() {
                        let _ = Command::new("kill").args(["-KILL", child]).status();
                    }
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64"),
    };
    let digits: Vec<u8> =
        text.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &d)| n | (u32::from(d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
