//! A student's day on three linked servers (protocol 1.3, §27), in the
//! browser at a phone's 390×844 and a laptop's 1280×800: ana of lab1,
//! bob of lab2 and cyd of lab3, each with a display name, and `#lab`
//! homed on lab2 with all three. ana walks what a WhatsApp user does
//! and what broke at the seams between servers and between the app's
//! layers: a star on bob's message kept after a reload; bob's presence
//! in his open chat as he comes, goes, and as lab2 is killed; Back from
//! every layer closing only it; display names wherever a name shows; no
//! wire text in the list; the app at 200 % text; a banner that stays with
//! its chat; the unread line above the first of 1,000; messages written
//! offline keeping their place after a reload; a file over the limit
//! refused before Send; a server that does not exist said so; and the
//! polish (emoji in colour, each ⋯ named, contrast in the dark, User
//! focused at login). The push switch with a push service out of reach,
//! and the previews' setting, are the last tests here (the whole
//! chromium: the headless shell has no notifications).
//!
//! How long presence takes to show in an open chat is printed, not
//! asserted (a loaded machine is slower): README's "class network"
//! section quotes the figures.

use super::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::Browser;
use support::federation::{Lab, give_key, link_port, roster_line, start};
use support::files::{photo, upload};
use support::ports::free_port;
use support::webapp::{ENTER, RATIO, app_url, log_in_again, logged_in, scheme, shot};
use support::{Conn, TestServer};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// The three servers: lab1 on ports it keeps across a restart (ana's
/// browser comes back to it), its files at most 1 MB; their users, each
/// with a display name; `#lab` on lab2 with the three; a few messages.
struct Day {
    root: tempfile::TempDir,
    lab1: TestServer,
    lab2: Lab,
    /// lab3, cyd's.
    lab3: Lab,
    /// lab1's link port, kept across its restart.
    link1: u16,
    url: String,
}

const LAB1_ARGS: [&str; 4] = ["--timeout", "60", "--max-file-mb", "1"];

impl Day {
    fn start() -> Day {
        let root = tempfile::tempdir().unwrap();
        let roster = root.path().join("class.csv");
        let ports = [free_port(), free_port(), free_port()];
        let lines: Vec<String> = ["lab1", "lab2", "lab3"]
            .iter()
            .zip(ports)
            .map(|(name, port)| roster_line(&roster, name, port))
            .collect();
        std::fs::write(&roster, lines.join("\n") + "\n").unwrap();
        let dir1 = root.path().join("lab1");
        give_key(&roster, "lab1", &dir1);
        let link1 = ports[0].to_string();
        let roster_arg = roster.to_str().unwrap().to_string();
        let mut args1 =
            vec!["--name", "lab1", "--peers", &roster_arg, "--link-port", &link1, "--web-port", "0"];
        args1.extend(LAB1_ARGS);
        let lab1 = TestServer::start_restartable_in(&dir1, &args1);
        link_port(&lab1);
        let others = |name: &'static str, port: u16| {
            let dir = root.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            start(name, &dir, &roster, port, &["--timeout", "60", "--rate", "0"])
        };
        let (lab2, lab3) = (others("lab2", ports[1]), others("lab3", ports[2]));
        lab1.register(&["ana"]);
        lab2.server.register(&["bob"]);
        lab3.server.register(&["cyd"]);
        let mut ana = lab1.login_send("ana", "pw-ana");
        let mut bob = lab2.server.login_send("bob", "pw-bob");
        let mut cyd = lab3.server.login_send("cyd", "pw-cyd");
        for (conn, name) in [(&mut ana, "Ana Lima"), (&mut bob, "Bob Builder"), (&mut cyd, "Cyd Chen")] {
            assert_eq!(conn.request(&format!("NAME:{name}")), "OK");
        }
        assert_eq!(bob.request("JOIN:#lab"), "OK");
        assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
        assert_eq!(cyd.request("JOIN:#lab@lab2"), "OK");
        assert!(bob.request("MSG:ana@lab1:b1:hi ana, from lab2").starts_with("OK:"));
        assert!(cyd.request("MSG:ana@lab1:c1:hi ana, from lab3").starts_with("OK:"));
        assert!(bob.request("MSG:#lab@lab2:r1:welcome to the lab").starts_with("OK:"));
        // cyd's photo in the room: lab1 gets it relayed by lab2, its home.
        let file = upload(&mut cyd, "board.png", &photo(600, 400));
        assert!(cyd.request(&format!("FILE:#lab@lab2:p1:{file}:the board")).starts_with("OK:"));
        // What was written to ana is on lab1 before her browser looks: the
        // day tests what the app shows, and a relay that did not come
        // fails here, by name, not as something a page did not draw.
        for (chat, id) in [("bob@lab2", "b1"), ("cyd@lab3", "c1"), ("#lab@lab2", "r1"), ("#lab@lab2", "p1")] {
            at_lab1(&mut ana, chat, id);
        }
        let url = app_url(&lab1);
        Day { root, lab1, lab2, lab3, link1: ports[0], url }
    }

    /// A send connection of `user` (ana, bob or cyd) on its server, new:
    /// one kept through the day would pass the servers' `--timeout`.
    fn send(&self, user: &str) -> Conn {
        let server = match user {
            "ana" => &self.lab1,
            "bob" => &self.lab2.server,
            _ => &self.lab3.server,
        };
        server.login_send(user, &format!("pw-{user}"))
    }
}

/// Waits until ana's `HISTORY` of `chat` on lab1 has the message `id`:
/// within 20 s, well within the 30 s a link's dialer, not woken, would
/// hold it (its idle wait, half the servers' `--timeout`).
fn at_lab1(ana: &mut Conn, chat: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let history = ana.listing(&format!("HISTORY:{chat}:10"));
        if history.iter().any(|line| line.split(':').nth(2) == Some(id)) {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never reached lab1's {chat}: {history:?}");
        std::thread::sleep(Duration::from_millis(50)); // polling lab1
    }
}

/// Looks at the app as a user would (a screenshot in `target/tmp/screenshots/`).
fn look(browser: &Browser, name: &str, size: (u32, u32)) {
    shot(browser, &format!("day-{name}-{}", size.0));
}

/// The page's value of `js` (an expression).
fn value(browser: &Browser, js: &str) -> Value {
    browser.exec(&format!("return ({js});"), json!([]))
}

/// Clicks, in the page, the first element `css` (a bubble's ⋯ is drawn
/// for the pointer over it on a laptop).
fn tap(browser: &Browser, css: &str) {
    browser.wait_for(&format!("document.querySelector({css:?})"));
    browser.exec("document.querySelector(arguments[0]).click()", json!([css]));
}

/// Opens the chat `key` (its folded name) from the list, a phone's list
/// shown first.
fn open(browser: &Browser, key: &str) {
    to_list(browser);
    let button = format!("#chat-list button[data-chat='{key}']");
    browser.wait_for(&format!("document.querySelector(\"{button}\")"));
    browser.click(&button);
    browser.wait_for("document.getElementById('app').classList.contains('chat-open') && !document.getElementById('composer').hidden");
}

/// A phone shows the list or a chat: the list, by the header's ←.
fn to_list(browser: &Browser) {
    if value(browser, "!!document.getElementById('back')?.offsetParent") == json!(true) {
        browser.click("#back");
        browser.wait_for("!document.getElementById('app').classList.contains('chat-open')");
    }
}

/// The menu of the bubble `id` of the open chat, and its item `act`.
fn menu(browser: &Browser, id: &str, act: &str) {
    tap(browser, &format!("#messages .msg[data-id='{id}'] .more"));
    tap(browser, &format!("#messages .menu button[data-act='{act}']"));
}

/// Whether the open chat's header says `name`, and the page shows it.
fn chat_shown(name: &str) -> String {
    format!(
        "document.getElementById('chat-pane').checkVisibility() && document.getElementById('chat-title').textContent === {name:?}"
    )
}

/// Waits until `js` holds; how long that took from `since`.
fn took(browser: &Browser, js: &str, since: Instant) -> Duration {
    browser.wait_for(js);
    since.elapsed()
}

fn a_day_on_three_servers(size: (u32, u32)) {
    let mut day = Day::start();
    let ana = logged_in(&day.url, "ana", size.0, size.1);
    ana.watch_errors();
    let bob_key = "#chat-list button[data-chat='bob@lab2']";
    ana.wait_for(&format!("document.querySelector(\"{bob_key}\")"));

    first_message_after_a_search(&ana, &day);
    names_everywhere(&ana, &mut day, size);
    no_wire_text_in_the_list(&ana, size);
    info_lists_the_readers_of_the_other_servers(&ana, &day, size);
    star_kept_after_a_reload(&ana, &day, size);
    back_closes_only_the_top_layer(&ana, &mut day, size);
    a_banner_stays_with_its_chat(&ana, size);
    usable_at_200_percent(&ana, size);
    the_unread_line_above_the_first_of_1000(&ana, &mut day);
    a_file_over_the_limit_refused_before_send(&ana);
    a_server_that_does_not_exist_is_said_so(&ana);
    polish(&ana, size);
    written_offline_keeps_its_place_after_a_reload(&ana, &mut day, size);
    presence_follows_bob_and_lab2(&ana, &mut day, size);
    assert_eq!(ana.errors(), json!([]));
    drop(day.root);
}

/// New chat finds cyd on lab3 (a people search across, which opens the
/// link for its frame); the message ana writes then reaches cyd's device
/// well within the link's idle wait (half lab1's `--timeout`, 30 s),
/// which a dialer not woken for it would hold it for: a bound, not a speed.
fn first_message_after_a_search(ana: &Browser, day: &Day) {
    let mut cyd = day.lab3.server.login_recv("cyd", "pw-cyd");
    to_list(ana);
    ana.type_into("#new-chat-name", "cyd@lab3");
    ana.wait_for("document.querySelector('#people button')");
    ana.click("#people button");
    ana.wait_for(&chat_shown("Cyd Chen (cyd@lab3)"));
    ana.type_into("#input", &format!("found you, cyd{ENTER}"));
    let sent = Instant::now(); // Enter pressed: the typing is not counted
    let got = loop {
        let line = cyd.next_msg();
        cyd.send(&format!("ACK:{}", line.split(':').nth(1).unwrap()));
        if line.ends_with(":found you, cyd") {
            break sent.elapsed();
        }
    };
    assert!(got < Duration::from_millis(2500), "delivered {got:?} after Enter: the dialer was not woken");
    ana.wait_for("[...document.querySelectorAll('#messages .msg.mine .tick')].some((t) => t.dataset.state === 'DELIVERED')");
}

/// Display names wherever a name shows, for every pair: each server knows
/// the others' users' names (bob's set before anyone wrote to him, cyd's
/// before she joined the room); ana's app shows them in the list, the
/// headers (with the photo or initials), a room's sender lines, a quote,
/// the forward list; her own header shows her name and face.
fn names_everywhere(ana: &Browser, day: &mut Day, size: (u32, u32)) {
    for (conn, others) in [
        (day.send("ana"), [("bob@lab2", "Bob Builder"), ("cyd@lab3", "Cyd Chen")]),
        (day.send("bob"), [("ana@lab1", "Ana Lima"), ("cyd@lab3", "Cyd Chen")]),
        (day.send("cyd"), [("ana@lab1", "Ana Lima"), ("bob@lab2", "Bob Builder")]),
    ] {
        let mut conn = conn;
        for (user, name) in others {
            let said =
                support::addresses::until(|| conn.request(&format!("PROFILE:{user}")), |a| a.ends_with(name));
            assert!(said.ends_with(&format!(":{name}")), "{user}'s name where it is asked: {said}");
        }
    }
    ana.wait_for("document.querySelector(\"#chat-list button[data-chat='bob@lab2'] .chat-name\").textContent === 'Bob Builder (bob@lab2)'");
    ana.wait_for("document.querySelector(\"#chat-list button[data-chat='cyd@lab3'] .chat-name\").textContent === 'Cyd Chen (cyd@lab3)'");
    // One's own header: the name and face, the account and device in its title.
    assert_eq!(value(ana, "document.querySelector('#me .me-name').textContent"), json!("Ana Lima"));
    assert_eq!(value(ana, "!!document.querySelector('#me .avatar')"), json!(true));
    look(ana, "list", size);
    // The other's header: the name and the face.
    open(ana, "bob@lab2");
    ana.wait_for(&chat_shown("Bob Builder (bob@lab2)"));
    assert_eq!(value(ana, "document.querySelector('#chat-face .avatar')?.dataset.initials"), json!("B"));
    // A reply quotes bob by his name.
    menu(ana, "b1", "reply");
    ana.type_into("#input", &format!("hi bob{ENTER}"));
    ana.wait_for(
        "[...document.querySelectorAll('#messages .msg.mine .quote')].some((q) => q.textContent === 'Bob Builder (bob@lab2): hi ana, from lab2')",
    );
    // The room: cyd's line by her name.
    open(ana, "#lab@lab2");
    ana.wait_for("[...document.querySelectorAll('#messages .msg .from')].some((f) => f.textContent.startsWith('Cyd Chen (cyd@lab3)'))");
    // The forward list, each person by the name the app knows them by.
    menu(ana, "r1", "forward");
    ana.wait_for("document.getElementById('forward')");
    let forward_names =
        value(ana, "[...document.querySelectorAll('#forward .chat-name')].map((n) => n.textContent)");
    for name in ["Bob Builder (bob@lab2)", "Cyd Chen (cyd@lab3)"] {
        assert!(forward_names.as_array().unwrap().contains(&json!(name)), "{forward_names}");
    }
    look(ana, "forward", size);
    ana.back();
    ana.wait_for(&format!("!document.getElementById('forward') && {}", chat_shown("#lab@lab2")));
}

/// A photo relayed into the room shows as a photo in the list, never as
/// the relayed marker and the file's line of the wire.
fn no_wire_text_in_the_list(ana: &Browser, size: (u32, u32)) {
    to_list(ana);
    let row = "document.querySelector(\"#chat-list button[data-chat='#lab@lab2'] .chat-last\").textContent";
    ana.wait_for(&format!("{row}.includes('the board')"));
    let said = value(ana, row);
    assert_eq!(said, json!("Cyd Chen (cyd@lab3): 📷 the board"), "the list's line");
    look(ana, "list-photo", size);
}

/// Info on ana's message in `#lab@lab2` (homed on lab2, cyd of lab3 a
/// member): bob and cyd got it, then read it on their own servers, and
/// the open Info lists them both, by name, under "Read by" (their servers
/// tell lab1 across the link); Back closes only Info.
fn info_lists_the_readers_of_the_other_servers(ana: &Browser, day: &Day, size: (u32, u32)) {
    open(ana, "#lab@lab2");
    ana.type_into("#input", &format!("who read this?{ENTER}"));
    let id = ana.wait_for("document.querySelector('#messages .msg.mine')?.dataset.id");
    let id = id.as_str().expect("its id").to_string();
    for (server, user) in [(&day.lab2.server, "bob"), (&day.lab3.server, "cyd")] {
        let mut events = server.login_recv(user, &format!("pw-{user}"));
        loop {
            let line = events.next_msg();
            events.send(&format!("ACK:{}", line.split(':').nth(1).unwrap()));
            if line.split(':').nth(4) == Some(id.as_str()) {
                break;
            }
        }
    }
    menu(ana, &id, "info");
    ana.wait_for("!document.getElementById('info-panel').hidden");
    ana.wait_for("document.querySelectorAll('#info-delivered .who').length === 2");
    // bob reads it in `#lab`, his server's own room; cyd in `#lab@lab2`.
    for (user, room) in [("bob", "#lab"), ("cyd", "#lab@lab2")] {
        assert_eq!(day.send(user).request(&format!("READ:{room}:{id}")), "OK");
    }
    ana.wait_for("document.querySelectorAll('#info-read .who').length === 2");
    let read =
        value(ana, "[...document.querySelectorAll('#info-read .who')].map((e) => e.textContent).sort()");
    assert_eq!(read, json!(["Bob Builder (bob@lab2)", "Cyd Chen (cyd@lab3)"]));
    look(ana, "info-across", size);
    ana.back();
    ana.wait_for("document.getElementById('info-panel').hidden");
    ana.wait_for("document.getElementById('chat-pane').checkVisibility() && document.getElementById('app').classList.contains('chat-open')");
}

/// A star on bob's message (of lab2): kept by lab1, listed after a reload,
/// its ★ on the bubble.
fn star_kept_after_a_reload(ana: &Browser, day: &Day, size: (u32, u32)) {
    open(ana, "bob@lab2");
    menu(ana, "b1", "star");
    ana.wait_for("document.querySelector(\"#messages .msg[data-id='b1'] .star\")");
    log_in_again(ana, &day.url, "ana");
    ana.watch_errors();
    to_list(ana);
    ana.click("#starred-button");
    ana.wait_for("document.querySelector(\"#starred-list button[data-id='b1']\")");
    look(ana, "starred", size);
    ana.click("#starred-list button[data-id='b1']");
    ana.wait_for("document.querySelector(\"#messages .msg[data-id='b1'] .star\")");
    // Back comes back to the starred messages, then closes them.
    ana.back();
    ana.wait_for("!document.getElementById('starred-panel').hidden && !document.getElementById('app').classList.contains('chat-open')");
    ana.back();
    ana.wait_for("document.getElementById('starred-panel').hidden");
}

/// The phone's Back (and a laptop's) closes exactly the top layer, each
/// where it opens: the photo viewer, the forward chooser and the emoji
/// picker over a chat, a message's Info, the call's screen (made small,
/// the call going on), and over the list the profile and the starred.
fn back_closes_only_the_top_layer(ana: &Browser, day: &mut Day, size: (u32, u32)) {
    let mut bob_events = day.lab2.server.events_1_2("bob", None); // rung by ana's call
    let lab = chat_shown("#lab@lab2");
    // ana's own message in the room, for its Info.
    open(ana, "#lab@lab2");
    ana.type_into("#input", &format!("my own, for its info{ENTER}"));
    let mine = ana.wait_for("[...document.querySelectorAll('#messages .msg.mine')].find((m) => m.textContent.includes('for its info') && m.querySelector('.more'))?.dataset.id");
    let mine = mine.as_str().unwrap().to_string();
    let layers: [(&str, &dyn Fn(), &str); 5] = [
        ("viewer", &|| tap(ana, "#messages .msg[data-id='p1'] .file button.photo"), ".viewer"),
        ("forward", &|| menu(ana, "r1", "forward"), "#forward"),
        ("emoji", &|| ana.click("#emoji-button"), "#emoji-picker"),
        ("info", &|| menu(ana, &mine, "info"), "#info-panel:not([hidden])"),
        ("details", &|| ana.click("#members-button"), "#chat-panel:not([hidden])"),
    ];
    for (name, opens, layer) in layers {
        opens();
        ana.wait_for(&format!("document.querySelector({layer:?})"));
        look(ana, &format!("layer-{name}"), size);
        ana.back();
        // Only the layer: the chat under it stays.
        ana.wait_for(&format!("!document.querySelector({layer:?}) && {lab}"));
    }
    // The call's screen: Back makes it small, the call going on; a tap brings it back.
    open(ana, "bob@lab2");
    ana.click("#call-voice");
    ana.wait_for("document.querySelector('.call-screen:not(.minimized)')");
    assert!(bob_events.next_call().starts_with("CALL:ana@lab1:"), "bob is rung");
    ana.wait_for("document.querySelector('.call-screen h2')?.textContent === 'Bob Builder (bob@lab2)'");
    if size == PHONE {
        let details = value(
            ana,
            "document.querySelector('.call-details summary')?.getBoundingClientRect().height ?? 44",
        );
        assert!(details.as_f64().unwrap() >= 44.0, "the call's Details is {details} px high");
    }
    look(ana, "layer-call", size);
    ana.back();
    ana.wait_for(&format!(
        "document.querySelector('.call-screen.minimized') && {}",
        chat_shown("Bob Builder (bob@lab2)")
    ));
    look(ana, "layer-call-small", size);
    ana.click(".call-screen .call-return");
    ana.wait_for("document.querySelector('.call-screen:not(.minimized)')");
    ana.click(".call-screen .call-hangup");
    ana.wait_for("!document.querySelector('.call-screen')");
    // Over the list: the profile and the starred messages.
    to_list(ana);
    for (button, layer) in [("#profile-button", "#profile-panel"), ("#starred-button", "#starred-panel")] {
        ana.click(button);
        ana.wait_for(&format!("!document.querySelector('{layer}').hidden"));
        ana.back();
        ana.wait_for(&format!(
            "document.querySelector('{layer}').hidden && document.getElementById('list-pane').checkVisibility()"
        ));
    }
}

/// A banner raised in one chat does not follow into the next, takes no
/// tap but its buttons', and the chat's newest message shows above it.
fn a_banner_stays_with_its_chat(ana: &Browser, size: (u32, u32)) {
    open(ana, "bob@lab2");
    // A refusal's banner: a reaction the server refuses (a message of no one).
    ana.exec("import('/view.js').then((v) => v.banner('something refused'))", json!([]));
    ana.wait_for("!document.getElementById('banner').hidden");
    assert_eq!(
        value(ana, "getComputedStyle(document.getElementById('banner')).pointerEvents"),
        json!("none")
    );
    let newest = "[...document.querySelectorAll('#messages .msg')].at(-1)";
    ana.wait_for(&format!(
        "{newest}.getBoundingClientRect().bottom <= document.getElementById('banner').getBoundingClientRect().top + 1"
    ));
    look(ana, "banner", size);
    open(ana, "cyd@lab3");
    ana.wait_for("document.getElementById('banner').hidden");
}

/// At 200 % text (the browser's default font size doubled) the composer
/// keeps a whole line to type in, Send is not clipped, the search box is
/// a box, and nothing scrolls sideways.
fn usable_at_200_percent(ana: &Browser, size: (u32, u32)) {
    ana.cdp("Page.setFontSizes", json!({"fontSizes": {"standard": 32, "fixed": 26}}));
    open(ana, "bob@lab2");
    ana.wait_for("getComputedStyle(document.body).fontSize === '30px'");
    let input = value(ana, "document.getElementById('input').getBoundingClientRect().toJSON()");
    assert!(input["width"].as_f64().unwrap() >= 200.0, "the message box is {input}");
    assert!(input["height"].as_f64().unwrap() >= 44.0, "the message box is {input}");
    let send = value(ana, "(() => { const b = document.getElementById('send'); const r = b.getBoundingClientRect();
        return b.scrollWidth <= b.clientWidth + 0.5 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5; })()");
    assert_eq!(send, json!(true), "Send shows whole");
    look(ana, "chat-200", size);
    to_list(ana);
    let search = value(ana, "document.getElementById('search-words').getBoundingClientRect().width");
    assert!(search.as_f64().unwrap() >= 200.0, "the search box is {search} px wide");
    assert_eq!(
        value(ana, "document.documentElement.scrollWidth <= innerWidth"),
        json!(true),
        "no sideways scroll"
    );
    look(ana, "list-200", size);
    ana.cdp("Page.setFontSizes", json!({"fontSizes": {"standard": 16, "fixed": 13}}));
    ana.wait_for("getComputedStyle(document.body).fontSize === '15px'");
}

/// bob writes 1,000 messages while ana is away from his chat: she opens
/// it at the line "Unread messages", just above the first of them.
fn the_unread_line_above_the_first_of_1000(ana: &Browser, day: &mut Day) {
    open(ana, "cyd@lab3");
    day.send("bob").send_burst("ana@lab1", "one of many", 1000);
    // The link carries them to lab1 in windows: a while on a loaded machine.
    let mut raw = day.send("ana");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !raw.listing("CHATS").contains(&"bob@lab2:1000".to_string()) {
        assert!(Instant::now() < deadline, "bob's 1,000 messages never reached lab1");
        std::thread::sleep(Duration::from_millis(200)); // polling lab1
    }
    let badge =
        "document.querySelector(\"#chat-list button[data-chat='bob@lab2'] .badge.unread\")?.textContent";
    to_list(ana);
    ana.wait_for(&format!("{badge} === '1000'"));
    open(ana, "bob@lab2");
    ana.wait_for("document.querySelector('#messages .unread-line')");
    let first = value(ana, "document.querySelector('#messages .unread-line').nextElementSibling?.dataset.id");
    assert_eq!(first, json!("s0"), "the line is above the first unread");
    let below = value(ana, "[...document.querySelectorAll('#messages .unread-line ~ .msg')].length");
    assert_eq!(below, json!(1000));
}

/// A file over the server's limit (lab1 takes 1 MB) is said so when it is
/// picked, Send off, before anything is sent.
fn a_file_over_the_limit_refused_before_send(ana: &Browser) {
    open(ana, "cyd@lab3");
    ana.exec(
        "const dt = new DataTransfer();
         dt.items.add(new File([new Uint8Array(1258291)], 'slides.pdf', { type: 'application/pdf' }));
         const picker = document.getElementById('attach-file');
         picker.files = dt.files;
         picker.dispatchEvent(new Event('change'));",
        json!([]),
    );
    ana.wait_for("document.querySelector('#attach-bar .attach-why')");
    assert_eq!(
        value(ana, "document.querySelector('#attach-bar .attach-why').textContent"),
        json!("This file is too big: the limit is 1.0 MB")
    );
    assert_eq!(value(ana, "document.getElementById('attach-send').disabled"), json!(true));
    ana.click("#attach-bar button.icon");
}

/// People search for a server the network does not have says so.
fn a_server_that_does_not_exist_is_said_so(ana: &Browser) {
    to_list(ana);
    ana.type_into("#new-chat-name", "bo@lab9");
    ana.wait_for("document.querySelector('#people li.note')?.textContent === 'There is no server lab9 in this class network'");
    ana.exec("document.getElementById('new-chat-name').value = ''; document.getElementById('new-chat-name').dispatchEvent(new Event('input'))", json!([]));
    ana.wait_for("!document.getElementById('people')");
}

/// Emoji in colour (a colour emoji font named), each ⋯ named for its
/// message, the dark mode's ⋯ at 4.5:1 or more, a checkbox beside its
/// words.
fn polish(ana: &Browser, size: (u32, u32)) {
    assert!(value(ana, "getComputedStyle(document.body).fontFamily").as_str().unwrap().contains("emoji"));
    open(ana, "#lab@lab2");
    let names = value(
        ana,
        "[...document.querySelectorAll('#messages .more')].map((b) => b.getAttribute('aria-label'))",
    );
    let names: Vec<&str> = names.as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let distinct: std::collections::BTreeSet<&&str> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "each ⋯ says its message: {names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("Actions on the message of Bob Builder (bob@lab2)")),
        "{names:?}"
    );
    scheme(ana, true);
    let ratios = value(
        ana,
        &format!(
            "(() => {{ {RATIO} return [...document.querySelectorAll('#messages .more')].map((b) => ratio(b)); }})()"
        ),
    );
    for ratio in ratios.as_array().unwrap() {
        assert!(ratio.as_f64().unwrap() >= 4.5, "a ⋯ in the dark: {ratios}");
    }
    look(ana, "dark", size);
    scheme(ana, false);
    // The ⚙ panel's switches: each box on the line of its words.
    to_list(ana);
    ana.click("#devices-button");
    ana.wait_for("document.getElementById('push-on')");
    let beside = value(
        ana,
        "[...document.querySelectorAll('#push-box label')].every((l) => { const box = l.querySelector('input').getBoundingClientRect();
           const words = document.createRange(); words.selectNodeContents(l); const text = [...words.getClientRects()].find((r) => r.left >= box.right);
           return text && text.top < box.bottom && text.bottom > box.top; })",
    );
    assert_eq!(beside, json!(true), "a checkbox beside its words");
    look(ana, "devices", size);
    ana.back();
    ana.wait_for("document.getElementById('devices-panel').hidden");
}

/// lab1 goes down; ana writes two messages to cyd, which wait in her
/// browser; meanwhile cyd writes to her. lab1 back, the messages go, and
/// the chat shows them in the server's order: the same after a reload.
fn written_offline_keeps_its_place_after_a_reload(ana: &Browser, day: &mut Day, size: (u32, u32)) {
    open(ana, "cyd@lab3");
    day.lab1.kill();
    ana.wait_for("document.getElementById('chat-offline').textContent");
    ana.type_into("#input", &format!("written offline, one{ENTER}"));
    ana.type_into("#input", &format!("written offline, two{ENTER}"));
    assert!(day.send("cyd").request("MSG:ana@lab1:c2:while you were away").starts_with("OK:"));
    let mut args: Vec<String> = ["--name", "lab1", "--peers"].map(String::from).to_vec();
    args.push(day.root.path().join("class.csv").to_str().unwrap().to_string());
    args.extend(["--link-port".to_string(), day.link1.to_string()]);
    args.extend(LAB1_ARGS.map(String::from));
    day.lab1.restart_in_place(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let sent = "[...document.querySelectorAll('#messages .msg.mine')].filter((m) => m.textContent.includes('written offline')).every((m) => m.querySelector('.tick')?.dataset.state !== 'SENT')";
    ana.wait_for(&format!("{sent} && document.querySelector(\"#messages .msg[data-id='c2']\")"));
    let order =
        "[...document.querySelectorAll('#messages .msg')].map((m) => m.querySelector('.text')?.textContent)";
    // The server's order (its HISTORY, each line's text), which the chat takes once what waited was stored.
    let texts = [
        "hi ana, from lab3",
        "found you, cyd",
        "written offline, one",
        "written offline, two",
        "while you were away",
    ];
    let stored: Vec<Value> = day
        .send("ana")
        .listing("HISTORY:cyd@lab3:10")
        .iter()
        .filter_map(|line| texts.iter().find(|text| line.ends_with(*text)))
        .map(|text| json!(text))
        .collect();
    assert_eq!(stored.len(), 5, "lab1 keeps the five: {stored:?}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while value(ana, order) != json!(stored) {
        assert!(Instant::now() < deadline, "the chat shows {}, lab1 keeps {stored:?}", value(ana, order));
        std::thread::sleep(Duration::from_millis(100)); // polling the page
    }
    let before = value(ana, order);
    look(ana, "offline-sent", size);
    log_in_again(ana, &day.url, "ana");
    ana.watch_errors();
    open(ana, "cyd@lab3");
    ana.wait_for("document.querySelector(\"#messages .msg[data-id='c2']\")");
    look(ana, "offline-reloaded", size);
    assert_eq!(value(ana, order), before, "the same order after a reload");
}

/// bob's presence in his open chat: online as he logs in, last seen as he
/// leaves, and as lab2 is killed while he is online. Each change's delay
/// is printed (README quotes them).
fn presence_follows_bob_and_lab2(ana: &Browser, day: &mut Day, size: (u32, u32)) {
    open(ana, "bob@lab2");
    let sub = "document.getElementById('chat-sub').textContent";
    ana.wait_for(&format!("{sub} !== 'online'"));
    let since = Instant::now();
    let bob = day.lab2.server.login_recv("bob", "pw-bob");
    let online = took(ana, &format!("{sub} === 'online'"), since);
    look(ana, "presence-online", size);
    let since = Instant::now();
    drop(bob);
    let left = took(ana, &format!("{sub}.startsWith('last seen')"), since);
    let _bob = day.lab2.server.login_recv("bob", "pw-bob");
    ana.wait_for(&format!("{sub} === 'online'"));
    let since = Instant::now();
    day.lab2.server.kill();
    let killed = took(ana, &format!("{sub}.startsWith('last seen')"), since);
    look(ana, "presence-lab2-killed", size);
    println!(
        "presence in an open chat at {} px: online after {online:?}, last seen {left:?} after leaving, {killed:?} after lab2's kill -9",
        size.0
    );
}

#[test]
fn a_day_on_three_servers_on_a_phone() {
    a_day_on_three_servers(PHONE);
}

#[test]
fn a_day_on_three_servers_on_a_laptop() {
    a_day_on_three_servers(LAPTOP);
}

/// The push switch where the browser's push service cannot be reached (it
/// never answers a subscription, as chromium's does not here): within 10 s
/// the switch says so and is left off, and nothing was sent to the server.
#[test]
fn the_push_switch_with_a_push_service_out_of_reach_says_so_and_stays_off() {
    let day = Day::start();
    let ana = support::webapp::log_in(Browser::start_whole(PHONE.0, PHONE.1), &day.url, "ana");
    ana.wait_for("navigator.serviceWorker.controller !== null");
    ana.cdp("Browser.grantPermissions", json!({ "origin": day.url, "permissions": ["notifications"] }));
    // The vendor's push service out of reach: a subscription that never comes.
    ana.exec("PushManager.prototype.subscribe = () => new Promise(() => {});", json!([]));
    ana.click("#devices-button");
    ana.wait_for("document.getElementById('push-on') && !document.getElementById('push-on').disabled");
    let since = Instant::now();
    ana.click("#push-on");
    let said = "document.getElementById('push-note').textContent";
    let deadline = Instant::now() + Duration::from_secs(20);
    while !value(&ana, &format!("{said}.endsWith('Notifications with the page closed stay off.')"))
        .as_bool()
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the switch said nothing: {}", value(&ana, said));
        std::thread::sleep(Duration::from_millis(100)); // polling the page
    }
    println!("the push switch said so after {:?}: {}", since.elapsed(), value(&ana, said));
    assert_eq!(
        value(&ana, said),
        json!(
            "This browser's push service did not answer within 8 s. Notifications with the page closed stay off."
        )
    );
    assert_eq!(value(&ana, "document.getElementById('push-on').checked"), json!(false));
    assert_eq!(value(&ana, "document.getElementById('push-on').disabled"), json!(false));
    let kept = std::fs::read_to_string(day.lab1.data_dir.join("push.csv")).unwrap_or_default();
    assert!(!kept.contains("https://"), "no subscription reached the server: {kept}");
    shot(&ana, "day-push-out-of-reach-390");
}

/// With previews off, a push names neither who wrote nor the room: a
/// direct message of bob of lab2 and his post in `#lab@lab2`, pushed to
/// ana of lab1 whose page is closed, show "New message" under a title
/// that says neither.
#[test]
fn previews_off_a_push_names_neither_the_sender_nor_the_room() {
    use support::push_service::{Browser as Subscriber, PushService};
    let service = PushService::start();
    let root = tempfile::tempdir().unwrap();
    let ca = service.ca_arg();
    let labs = support::federation::network(
        root.path(),
        &["lab1", "lab2"],
        &["--web-port", "0", "--timeout", "60", "--push-test-ca", &ca],
    );
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("NAME:Bob Builder"), "OK");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut ana_raw = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab@lab2"), "OK");
    let url = app_url(&labs[0].server);
    let ana = support::webapp::log_in(Browser::start_whole(PHONE.0, PHONE.1), &url, "ana");
    ana.wait_for("navigator.serviceWorker.controller !== null");
    ana.cdp("Browser.grantPermissions", json!({ "origin": url, "permissions": ["notifications"] }));
    let subscriber = Subscriber::new();
    let (p256dh, auth) = subscriber.keys_b64();
    ana.exec(
        "const [p256dh, auth, endpoint] = arguments;
         const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer;
         PushManager.prototype.subscribe = async () => ({ endpoint, getKey: (name) => bytes(name === 'p256dh' ? p256dh : auth), unsubscribe: async () => true });",
        json!([p256dh, auth, service.endpoint("ana")]),
    );
    ana.click("#devices-button");
    ana.wait_for("document.getElementById('push-on') && !document.getElementById('push-on').disabled");
    ana.click("#push-on");
    ana.wait_for("document.getElementById('push-note').textContent.includes('while the page is closed')");
    ana.click("#push-previews");
    ana.wait_for("localStorage.getItem('wachat-previews') === 'off'");
    // The page closed: its connections end, then bob writes.
    ana.cdp("ServiceWorker.enable", json!({}));
    ana.goto("about:blank");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ana_raw.listing("USERS").iter().any(|u| u == "ana") {
        assert!(Instant::now() < deadline, "ana's page still online");
        std::thread::sleep(Duration::from_millis(50)); // polling lab1
    }
    assert!(bob.request("MSG:ana@lab1:b1:meet at the lab?").starts_with("OK:"));
    assert!(bob.request("MSG:#lab:b2:@ana the room's plan").starts_with("OK:"));
    let pushes = service.wait_for("ana", 2, Duration::from_secs(30));
    assert_eq!(pushes.len(), 2, "a push each");
    for push in &pushes {
        let payload = subscriber.decrypt(&push.body).unwrap();
        ana.cdp(
            "ServiceWorker.deliverPushMessage",
            json!({ "origin": url, "registrationId": "0", "data": payload }),
        );
    }
    ana.goto(&url);
    let shown = ana.wait_for(
        "window.shown?.length === 2 ? window.shown : (navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => { window.shown = ns.map((n) => ({ title: n.title, body: n.body })); }), null)",
    );
    for notification in shown.as_array().unwrap() {
        let said = format!("{} {}", notification["title"], notification["body"]);
        for name in ["bob", "Bob Builder", "#lab", "lab2"] {
            assert!(!said.contains(name), "previews off, a notification says {name}: {said}");
        }
    }
}
