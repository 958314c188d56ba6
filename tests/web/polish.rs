//! The small things of the browser app, in a real chromium (tests/support/browser.rs)
//! at a phone's 390×844 and a laptop's 1280×800: a draft per chat, no
//! stale header after Leave room, Esc, the offline state inside a chat,
//! a header that neither wraps nor jumps, "jump to newest", contrast in
//! both colour schemes, a colour per sender, owner and admins marked,
//! targets a finger can tap, and WhatsApp's formatting built as nodes;
//! one background under the conversation, a quiet room's members, focus
//! rings, the login's words, and every control named in English, Spanish
//! and Portuguese (every string of web/ too, read from the files).
//! Each test leaves a screenshot of what it checked in
//! `target/tmp/screenshots/` (docs/ keeps a few).

use super::support;

use serde_json::json;
use support::browser::Browser;
use support::webapp::{ENTER, RATIO, joined, log_in_again, logged_in, open_chat, shot, web_server};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

#[test]
fn a_draft_stays_with_its_chat_across_chats_and_a_reload() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    open_chat(&ana, "bob");
    ana.type_into("#input", "half a thought");
    ana.click("#back");
    open_chat(&ana, "carla");
    assert_eq!(ana.exec("return document.getElementById('input').value", json!([])), json!(""));
    // Enter in carla's chat sends nothing, and nothing of bob's draft.
    ana.type_into("#input", ENTER);
    ana.click("#back");
    let bob_row = "document.querySelector(\"#chat-list button[data-chat='bob'] .chat-last\")?.textContent";
    ana.wait_for(&format!("{bob_row} === 'Draft: half a thought'"));
    shot(&ana, "draft-in-the-list-390");
    let mut raw = server.login_send("ana", "pw-ana");
    assert_eq!(raw.listing("HISTORY:bob:10"), Vec::<String>::new(), "nothing was sent to bob");
    assert_eq!(raw.listing("HISTORY:carla:10"), Vec::<String>::new(), "nor to carla");

    // A reload keeps it; opening bob brings it back, and sending it forgets it.
    log_in_again(&ana, &url, "ana");
    ana.wait_for(&format!("{bob_row} === 'Draft: half a thought'"));
    ana.click("#chat-list button[data-chat='bob']");
    ana.wait_for("document.getElementById('input').value === 'half a thought'");
    ana.type_into("#input", ENTER);
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'RECEIVED'");
    ana.click("#back");
    ana.wait_for(&format!("{bob_row} === 'you: half a thought'"));
    log_in_again(&ana, &url, "ana");
    ana.wait_for(&format!("{bob_row} === 'you: half a thought'"));
}

#[test]
fn waits_0_2_s_leaving_a_room_leaves_no_header_no_details_and_no_error() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let _owner = joined(&server, "#os-lab", &["bob"]);
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    ana.watch_errors();
    // No chat open: no header to act on.
    let header_shown = "getComputedStyle(document.getElementById('members-button')).display !== 'none'";
    assert_eq!(ana.exec(&format!("return {header_shown}"), json!([])), json!(false));
    open_chat(&ana, "#os-lab");
    ana.click("#members-button");
    ana.wait_for("!document.getElementById('chat-panel').hidden && document.getElementById('leave-button')");
    ana.wait_for("[...document.querySelectorAll('#members .role.owner')].some(r => r.parentNode.querySelector('.who').textContent.startsWith('bob'))");
    shot(&ana, "details-drawer-1280");
    ana.click("#leave-button");
    ana.click("#leave-button"); // asks first
    ana.wait_for("document.getElementById('chat-title').textContent === '' && document.getElementById('chat-panel').hidden");
    assert_eq!(ana.exec(&format!("return {header_shown}"), json!([])), json!(false));
    // Details with no chat (a click that reaches the hidden button) does nothing, and throws nothing.
    ana.exec("document.getElementById('members-button').click()", json!([]));
    std::thread::sleep(std::time::Duration::from_millis(200)); // time for panel.js to act, if it would
    assert_eq!(ana.exec("return document.getElementById('chat-panel').hidden", json!([])), json!(true));
    assert_eq!(ana.errors(), json!([]));
    shot(&ana, "after-leave-1280");
}

/// A server, and ana's browser in her chat with bob, where she said
/// "hello" and its bubble has its actions (⋯).
fn ana_said_hello_to_bob() -> (support::TestServer, Browser) {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    open_chat(&ana, "bob");
    ana.type_into("#input", &format!("hello{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .more')");
    (server, ana)
}

#[test]
fn escape_closes_details_devices_search_and_the_message_menu() {
    let (_server, ana) = ana_said_hello_to_bob();
    let esc = || {
        ana.exec(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
            json!([]),
        )
    };
    ana.click("#messages .msg.mine .more");
    ana.wait_for("document.querySelector('#messages .menu')");
    esc();
    ana.wait_for("!document.querySelector('#messages .menu')");
    ana.click("#members-button");
    ana.wait_for("!document.getElementById('chat-panel').hidden");
    esc();
    ana.wait_for("document.getElementById('chat-panel').hidden");
    ana.click("#devices-button");
    ana.wait_for("!document.getElementById('devices-panel').hidden");
    esc();
    ana.wait_for("document.getElementById('devices-panel').hidden");
    ana.type_into("#search-words", &format!("hello{ENTER}"));
    ana.wait_for("!document.getElementById('search-panel').hidden");
    esc();
    ana.wait_for("document.getElementById('search-panel').hidden");
}

/// A bubble drawn again while its menu is open (a reaction to it comes)
/// keeps the menu open, with its focus, and its actions work.
#[test]
fn a_message_menu_stays_open_while_its_bubble_is_drawn_again() {
    let (server, ana) = ana_said_hello_to_bob();
    ana.click("#messages .msg.mine .more");
    ana.wait_for("document.activeElement?.closest('#messages .menu')");
    let id = ana.exec("return document.querySelector('#messages .msg.mine').dataset.id", json!([]));
    let mut bob = server.login_send("bob", "pw-bob");
    let react = format!("REACT:ana:{}:👍", id.as_str().expect("an id"));
    assert!(bob.request(&react).starts_with("OK:"), "{react}");
    ana.wait_for("document.querySelector('#messages .msg.mine .reactions')?.textContent.includes('👍')");
    ana.wait_for("document.activeElement?.closest('#messages .msg.mine .menu') != null");
    ana.click("#messages .menu button[data-act='reply']");
    ana.wait_for("document.getElementById('compose-what').textContent.endsWith(': hello')");
}

/// The height of the list's header and of the chat's.
fn header_heights(browser: &Browser) -> serde_json::Value {
    browser.exec(
        "return [...document.querySelectorAll('.bar')].map(b => Math.round(b.getBoundingClientRect().height))",
        json!([]),
    )
}

#[test]
fn offline_shows_inside_the_chat_and_the_header_neither_wraps_nor_moves() {
    for (width, height) in [PHONE, LAPTOP] {
        let (mut server, url) = web_server(&[]);
        server.register(&["ana", "bob"]);
        let ana = logged_in(&url, "ana", width, height);
        // One row: everything in the list's header on one line (their centres level).
        let centres = ana.exec(
            "return [...document.querySelectorAll('.head > *')].filter(e => e.offsetParent && !e.classList.contains('status'))
               .map(e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; })",
            json!([]),
        );
        let centres: Vec<f64> = centres.as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect();
        let spread = centres.iter().cloned().fold(f64::MIN, f64::max)
            - centres.iter().cloned().fold(f64::MAX, f64::min);
        assert!(
            centres.len() >= 4 && spread < 4.0,
            "{width}: the header's items are on several rows: {centres:?}"
        );
        let name_cut = ana.exec(
            "const me = document.getElementById('me'); return me.scrollWidth > me.clientWidth",
            json!([]),
        );
        assert_eq!(name_cut, json!(false), "{width}: the name and device fit");
        let list_top = "Math.round(document.getElementById('chat-list').getBoundingClientRect().top)";
        let top = ana.exec(&format!("return {list_top}"), json!([]));
        open_chat(&ana, "bob");
        let before = header_heights(&ana);
        server.kill();
        ana.wait_for("document.getElementById('chat-offline').textContent.includes('offline')");
        let inside = ana.exec(
            "const r = document.getElementById('chat-offline').getBoundingClientRect(); return r.height > 0 && r.width > 0",
            json!([]),
        );
        assert_eq!(inside, json!(true), "{width}: the open chat says it is offline");
        shot(&ana, &format!("offline-in-chat-{width}"));
        if width > 480 {
            assert_eq!(header_heights(&ana), before, "the headers keep their height offline");
            assert_eq!(ana.exec(&format!("return {list_top}"), json!([])), top, "the list does not jump");
        }
    }
}

#[test]
fn jump_to_newest_counts_what_arrives_while_scrolled_up() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    for i in 0..40 {
        assert!(bob.request(&format!("MSG:ana:o{i}:older message {i}")).starts_with("OK:"));
    }
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    open_chat(&ana, "bob");
    ana.wait_for("document.querySelectorAll('#messages .msg').length === 40");
    ana.exec("document.getElementById('messages').scrollTop = 200", json!([]));
    assert_eq!(ana.exec("return document.getElementById('jump').hidden", json!([])), json!(true));
    for i in 0..3 {
        assert!(bob.request(&format!("MSG:ana:n{i}:new message {i}")).starts_with("OK:"));
    }
    ana.wait_for(
        "!document.getElementById('jump').hidden && document.getElementById('jump').textContent === '↓ 3'",
    );
    let label = ana.exec("return document.getElementById('jump').getAttribute('aria-label')", json!([]));
    assert_eq!(label, json!("Jump to the newest messages (3 new)"));
    shot(&ana, "jump-to-newest-390");
    ana.click("#jump");
    ana.wait_for("document.getElementById('jump').hidden");
    let at_bottom = ana.exec(
        "const m = document.getElementById('messages'); return m.scrollHeight - m.scrollTop - m.clientHeight < 40",
        json!([]),
    );
    assert_eq!(at_bottom, json!(true));
}

/// Sends `line` until the server answers OK (a message is stored before its READ can name it).
fn poll_ok(conn: &mut support::Conn, line: &str) {
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    while conn.request(line) != "OK" {
        assert!(std::time::Instant::now() < deadline, "{line} never accepted");
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling the server
    }
}

/// The contrast of each of the elements `arguments[0]` names.
fn contrast() -> String {
    format!(
        "{RATIO} return arguments[0].map((css) => {{ const n = document.querySelector(css); return [css, n && ratio(n)]; }});"
    )
}

/// The lowest contrast of the sender's name `arguments[0]` over the 360 hues a name may get, and that hue.
fn lowest_over_hues() -> String {
    format!(
        "{RATIO} const n = document.querySelector(arguments[0]); let low = [99, 0];
         for (let h = 0; h < 360; h++) {{ n.style.setProperty('--hue', h); const r = ratio(n); if (r < low[0]) low = [r, h]; }}
         return low;"
    )
}

#[test]
fn the_listed_elements_have_a_contrast_of_4_5_in_light_and_dark() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let mut carla = joined(&server, "#lab", &["carla", "ana"]).remove(0);
    let mut bob = server.login_send("bob", "pw-bob");
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    // #lab muted, so that its unread badge is the muted one.
    open_chat(&ana, "#lab");
    ana.click("#members-button");
    ana.wait_for("document.getElementById('level')");
    ana.exec(
        "const s = document.getElementById('level'); s.value = 'none'; s.dispatchEvent(new Event('change'))",
        json!([]),
    );
    ana.wait_for("document.querySelector(\"#chat-list button[data-chat='#lab'] .silent\")");
    // A message of mine to bob that bob reads: the blue ticks.
    open_chat(&ana, "bob");
    ana.type_into("#input", &format!("read me{ENTER}"));
    let id = ana.wait_for("document.querySelector('#messages .msg.mine')?.dataset.id");
    poll_ok(&mut bob, &format!("READ:ana:{}", id.as_str().unwrap()));
    ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.dataset.state === 'READ'");
    // Edited, for the "edited" beside the time in my bubble.
    ana.click("#messages .msg.mine .more");
    ana.click("#messages .menu button[data-act='edit']");
    ana.type_into("#input", &format!(" again{ENTER}"));
    ana.wait_for("document.querySelector('#messages .msg.mine .edited')");
    assert!(carla.request("MSG:#lab:c1:hey").starts_with("OK:"));
    assert!(carla.request("MSG:#lab:c2:@ana look").starts_with("OK:"));
    ana.wait_for("document.querySelector('.badge.muted') && document.querySelector('.badge.mentions')");
    let listed = json!([
        ".badge.muted",
        ".badge.mentions",
        "#messages .msg.mine .time",
        "#messages .msg.mine .edited",
        "#messages .msg.mine .tick.READ",
        "#send",
        ".chat-last",
        ".chat-time",
        // And what else is written on the conversation's background or a pill in it.
        "#typing",
        "#messages .day",
        "#chat-sub",
    ]);
    for scheme in ["light", "dark"] {
        ana.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
        let dark = ana.exec("return matchMedia('(prefers-color-scheme: dark)').matches", json!([]));
        assert_eq!(dark, json!(scheme == "dark"));
        assert_eq!(bob.request("TYPING:ana"), "OK");
        ana.wait_for("document.getElementById('typing').textContent === 'bob is typing…'");
        let measured = ana.exec(&contrast(), json!([listed]));
        for pair in measured.as_array().unwrap() {
            let ratio = pair[1].as_f64().unwrap_or_else(|| panic!("{scheme}: {} not found", pair[0]));
            assert!(ratio >= 4.5, "{scheme}: {} has a contrast of {ratio}", pair[0]);
        }
        shot(&ana, &format!("contrast-{scheme}-1280"));
    }
}

#[test]
fn a_room_colours_each_sender_and_a_finger_gets_44_px_targets() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "dan"]);
    let mut conns = joined(&server, "#lab", &["ana", "bob", "carla"]);
    assert!(conns[1].request("MSG:#lab:b1:from bob").starts_with("OK:"));
    assert!(conns[2].request("MSG:#lab:c1:from carla").starts_with("OK:"));
    assert!(conns[2].request("MSG:#lab:c2:@ana see").starts_with("OK:"));
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "#lab");
        ana.wait_for("document.querySelectorAll('#messages .msg .from').length === 3");
        let colours = ana.exec(
            "return [...document.querySelectorAll('#messages .msg .from')].map(f => getComputedStyle(f).color)",
            json!([]),
        );
        assert_ne!(colours[0], colours[1], "bob and carla in two colours");
        // Whatever hue a name gets, it reads at 4.5:1 on a bubble and on a mention's, light and dark.
        for scheme in ["light", "dark"] {
            ana.cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
            );
            for bubble in ["#messages .msg:not(.mention) .from", "#messages .msg.mention .from"] {
                let low = ana.exec(&lowest_over_hues(), json!([bubble]));
                assert!(
                    low[0].as_f64().unwrap() >= 4.5,
                    "{scheme}: {bubble} at hue {} is {}",
                    low[1],
                    low[0]
                );
            }
        }
        ana.cdp("Emulation.setEmulatedMedia", json!({"features": []}));
        ana.click("#members-button");
        ana.wait_for("document.querySelectorAll('#members .member-actions').length === 2");
        let owner = ana.exec("return document.querySelector('#members .role.owner')?.parentNode.querySelector('.who').textContent", json!([]));
        assert!(owner.as_str().unwrap().starts_with("ana · "), "{owner}");
        let smallest = ana.exec(
            "return Math.min(...[...document.querySelectorAll('#chat-panel button, #chat-panel select')]
               .filter(b => b.offsetParent).map(b => b.getBoundingClientRect().height))",
            json!([]),
        );
        let least = if width <= 480 { 44.0 } else { 24.0 };
        assert!(smallest.as_f64().unwrap() >= least, "{width}: a target is {smallest} px tall");
        // The drawer covers the conversation instead of pushing it down.
        let messages_top =
            ana.exec("return document.getElementById('messages').getBoundingClientRect().top", json!([]));
        let bar_bottom = ana.exec(
            "return document.querySelector('.chat-pane .bar').getBoundingClientRect().bottom",
            json!([]),
        );
        assert!(
            messages_top.as_f64().unwrap() - bar_bottom.as_f64().unwrap() < 2.0,
            "{width}: the messages stay below the header"
        );
        shot(&ana, &format!("room-details-{width}"));
    }
}

#[test]
fn formatting_and_links_are_built_as_nodes_never_as_html() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let text = "*bold* _italic_ ~gone~ `x<y` see https://example.org/a?b=1. <b>not bold</b> 2*3*4 <img src=x onerror=window.pwned=1>";
    assert!(bob.request(&format!("MSG:ana:f1:{text}")).starts_with("OK:"));
    let ana = logged_in(&url, "ana", PHONE.0, PHONE.1);
    open_chat(&ana, "bob");
    ana.wait_for("document.querySelector('#messages .msg .text')");
    let shown = ana.exec(
        "const t = document.querySelector('#messages .msg .text');
         const one = (sel) => [...t.querySelectorAll(sel)].map(n => n.textContent);
         const a = t.querySelector('a');
         return { strong: one('strong'), em: one('em'), s: one('s'), code: one('code'), href: a?.href, rel: a?.rel, target: a?.target,
                  link: a?.textContent, tags: [...t.querySelectorAll('*')].map(n => n.tagName).sort(), text: t.textContent, pwned: window.pwned === undefined }",
        json!([]),
    );
    assert_eq!(shown["strong"], json!(["bold"]));
    assert_eq!(shown["em"], json!(["italic"]));
    assert_eq!(shown["s"], json!(["gone"]));
    assert_eq!(shown["code"], json!(["x<y"]));
    assert_eq!(shown["href"], json!("https://example.org/a?b=1"));
    assert_eq!(shown["link"], json!("https://example.org/a?b=1"));
    assert_eq!(shown["rel"], json!("noopener noreferrer"));
    assert_eq!(shown["target"], json!("_blank"));
    assert_eq!(shown["tags"], json!(["A", "CODE", "EM", "S", "STRONG"]), "no element from the wire");
    assert_eq!(shown["pwned"], json!(true));
    let plain = shown["text"].as_str().unwrap();
    assert!(plain.contains("<b>not bold</b> 2*3*4 <img src=x"), "{plain}");
    shot(&ana, "formatting-390");
}

#[test]
fn at_in_a_room_offers_its_members_and_tab_or_a_tap_puts_the_name() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "carlos"]);
    let _members = joined(&server, "#lab", &["bob", "carla", "carlos", "ana"]);
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        open_chat(&ana, "#lab");
        ana.type_into("#input", "hi @car");
        let options =
            "[...document.querySelectorAll('#mention-list [role=option]')].map(o => o.textContent).join(',')";
        ana.wait_for(&format!("{options} === '@carla,@carlos'"));
        shot(&ana, &format!("mentions-{width}"));
        // ↓ chooses the second; Tab puts it, with a space, and Enter then sends.
        ana.type_into("#input", "\u{E015}\u{E004}"); // ArrowDown, Tab
        ana.wait_for("document.getElementById('input').value === 'hi @carlos ' && !document.getElementById('mention-list')");
        ana.type_into("#input", "hello");
        ana.type_into("#input", ENTER);
        ana.wait_for("[...document.querySelectorAll('#messages .msg.mine .text')].some(t => t.textContent === 'hi @carlos hello')");
        // A tap on a name does the same; Esc closes the list and leaves the text.
        ana.type_into("#input", "@b");
        ana.wait_for(&format!("{options} === '@bob'"));
        ana.click("#mention-list [role=option]");
        ana.wait_for("document.getElementById('input').value === '@bob '");
        ana.type_into("#input", "@c");
        ana.wait_for("document.getElementById('mention-list')");
        ana.type_into("#input", "\u{E00C}"); // Escape
        ana.wait_for("!document.getElementById('mention-list') && document.getElementById('input').value === '@bob @c'");
        ana.exec("document.getElementById('input').value = ''", json!([]));
    }
}

#[test]
fn the_login_says_a_wrong_password_plainly_and_asks_no_email() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let browser = Browser::start(PHONE.0, PHONE.1);
    browser.goto(&url);
    let email_shown = "document.getElementById('email').checkVisibility()";
    assert_eq!(browser.exec(&format!("return {email_shown}"), json!([])), json!(false), "no Email on Log in");
    browser.type_into("#user", "ana");
    browser.type_into("#password", "not-hers");
    browser.click("#login-button");
    browser.wait_for("document.getElementById('login-error').textContent === 'Wrong user name or password.'");
    // Registering offers it, folded.
    browser.click(".card summary");
    browser.wait_for(email_shown);
    shot(&browser, "login-390");
}

#[test]
fn focus_rings_show_whole_on_chat_rows_and_the_scope_select() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let ana = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    ana.wait_for("document.querySelector('#chat-list button')");
    // Tab onto them (a ring shows for the keyboard only): the row's ring is inside the row, the select's is ours.
    let ring = |css: &str| -> serde_json::Value {
        ana.exec(
            "const n = document.querySelector(arguments[0]); n.focus({focusVisible: true});
             const s = getComputedStyle(n); return [s.outlineStyle, s.outlineWidth, parseFloat(s.outlineOffset)]",
            json!([css]),
        )
    };
    let row = ring("#chat-list button");
    assert_eq!((&row[0], &row[1]), (&json!("solid"), &json!("2px")), "{row}");
    assert!(row[2].as_f64().unwrap() < 0.0, "inside the row, where the list cannot clip it: {row}");
    let select = ring("#search-scope");
    assert_eq!((&select[0], &select[1]), (&json!("solid"), &json!("2px")), "{select}");
}

/// Escape, as `type_into` types it.
const ESCAPE: &str = "\u{E00C}";

/// Every visible control's accessible name, in document order: its
/// `aria-label`, the text it is labelled by, its `<label>`, its text, its
/// title; "" for one without a name that says something (a glyph alone,
/// ✕ or ⋯, says nothing to a screen reader).
const NAMES: &str = "
  const words = /[\\p{L}\\p{N}]/u;
  const text = (ids) => (ids || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ');
  const name = (n) => [n.getAttribute('aria-label'), text(n.getAttribute('aria-labelledby')),
      n.labels ? [...n.labels].map((l) => l.textContent).join(' ') : '',
      ['INPUT', 'TEXTAREA', 'SELECT'].includes(n.tagName) ? '' : n.textContent, n.title]
    .map((s) => (s || '').trim()).find((s) => words.test(s)) || '';
  return [...document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a[href], summary, [role=button], [role=option]')]
    .filter((n) => n.checkVisibility())
    .map((n) => [n.id || `${n.tagName.toLowerCase()}.${n.className}`, name(n), Boolean(n.closest('#chat-list, .msg .text') || n.dataset.chat)]);";

/// The names of the controls of each state a user goes through: the login,
/// the list, a room with a message, its menu, a reply, the forward chooser,
/// a file about to go, Details, Devices, the rules, search results, a
/// direct chat and the starred messages, in the browser's language `lang`.
fn names_in(lang: &str) -> Vec<(String, String, bool)> {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut conns = joined(&server, "#lab", &["ana", "bob"]);
    assert!(conns[1].request("MSG:#lab:b1:hello there").starts_with("OK:"));
    let browser = Browser::start_in(LAPTOP.0, LAPTOP.1, lang);
    let mut names = Vec::new();
    let mut take = |browser: &Browser, state: &str| {
        let seen: Vec<(String, String, bool)> =
            serde_json::from_value(browser.exec(NAMES, json!([]))).unwrap();
        names.extend(seen.into_iter().map(|(id, name, content)| (format!("{state}: {id}"), name, content)));
    };
    browser.goto(&url);
    browser.wait_for("!document.getElementById('login').hidden");
    take(&browser, "login");
    browser.click(".card summary");
    take(&browser, "register");
    browser.type_into("#user", "ana");
    browser.type_into("#password", "pw-ana");
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    browser.wait_for("document.querySelector(\"#chat-list button[data-chat='#lab']\")");
    take(&browser, "list");
    open_chat(&browser, "#lab");
    browser.wait_for("document.querySelector('#messages .msg .more')");
    take(&browser, "room");
    browser.click("#messages .msg .more");
    browser.wait_for("document.querySelector('#messages .menu')");
    take(&browser, "menu");
    let esc = || {
        browser.exec(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
            json!([]),
        )
    };
    browser.click("#messages .menu button[data-act='reply']");
    browser.wait_for("!document.getElementById('compose-note').hidden");
    take(&browser, "reply");
    browser.type_into("#input", ESCAPE);
    browser.wait_for("document.getElementById('compose-note').hidden");
    browser.click("#messages .msg .more");
    browser.click("#messages .menu button[data-act='forward']");
    browser.wait_for("document.querySelector('#forward button')");
    take(&browser, "forward");
    esc();
    browser.wait_for("!document.getElementById('forward')?.checkVisibility()");
    browser.exec(
        "const dt = new DataTransfer(); dt.items.add(new File(['notes'], 'notes.txt'));
         const picker = document.getElementById('attach-file'); picker.files = dt.files; picker.dispatchEvent(new Event('change'));",
        json!([]),
    );
    browser.wait_for("document.getElementById('attach-caption')");
    take(&browser, "attach");
    browser.type_into("#attach-caption", ESCAPE);
    browser.wait_for("!document.getElementById('attach-bar')");
    browser.click("#members-button");
    browser.wait_for("document.querySelectorAll('#members .member-actions').length === 1");
    take(&browser, "details");
    esc();
    browser.wait_for("document.getElementById('chat-panel').hidden");
    browser.click("#devices-button");
    browser.wait_for("document.querySelector('#devices li')");
    take(&browser, "devices");
    esc();
    browser.wait_for("document.getElementById('devices-panel').hidden");
    browser.click("#rules-button");
    browser.wait_for("document.querySelector('#rules-list li')");
    take(&browser, "rules");
    browser.click("#rules-close");
    browser.type_into("#search-words", &format!("hello{ENTER}"));
    browser.wait_for("document.querySelector('#search-results li')");
    take(&browser, "search");
    browser.click("#search-close");
    open_chat(&browser, "bob");
    // Drawn once its page is in (the composer takes the focus then).
    browser.wait_for("document.activeElement === document.getElementById('input')");
    take(&browser, "direct chat");
    browser.click("#starred-button");
    browser.wait_for("document.getElementById('starred-button').getAttribute('aria-expanded') === 'true'");
    take(&browser, "starred");
    names
}

#[test]
fn every_control_has_a_name_in_english_spanish_and_portuguese() {
    let english = names_in("en-US");
    for state in [
        "login",
        "register",
        "list",
        "room",
        "menu",
        "reply",
        "forward",
        "attach",
        "details",
        "devices",
        "rules",
        "search",
        "direct chat",
        "starred",
    ] {
        assert!(english.iter().any(|c| c.0.starts_with(&format!("{state}: "))), "no control seen in {state}");
    }
    for (control, name, _) in &english {
        assert!(!name.is_empty(), "{control} has no name");
    }
    for lang in ["es", "pt-BR"] {
        let names = names_in(lang);
        let ids = |n: &[(String, String, bool)]| n.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
        let (theirs, ours) = (ids(&names), ids(&english));
        // Only what differs, so that a long list does not hide it.
        let only =
            |a: &[String], b: &[String]| a.iter().filter(|c| !b.contains(c)).cloned().collect::<Vec<_>>();
        assert!(
            theirs == ours,
            "{lang}: not the same controls ({} against {} in English): {:?} only in {lang}, {:?} only in English",
            theirs.len(),
            ours.len(),
            only(&theirs, &ours),
            only(&ours, &theirs)
        );
        for ((control, name, content), (_, in_english, _)) in names.iter().zip(&english) {
            assert!(!name.is_empty(), "{lang}: {control} has no name");
            // A chat's row (the list's, the forward chooser's) and a link in a message
            // are named by what people wrote; the rest is ours.
            assert!(*content || name != in_english, "{lang}: {control} is still {name:?}");
        }
    }
}

/// The background each point of the conversation's pane shows, from under
/// its header to the composer (or the pane's foot), down its sides and
/// middle; a bubble, a date or "Unread messages" pill is skipped, since
/// it is meant to stand out.
const PANE_BACKGROUNDS: &str = "
  const pane = document.getElementById('chat-pane').getBoundingClientRect();
  const top = document.querySelector('.chat-pane .bar');
  const from = top.checkVisibility() ? top.getBoundingClientRect().bottom + 1 : pane.top + 1;
  const composer = document.getElementById('composer');
  const to = composer.checkVisibility() ? composer.getBoundingClientRect().top - 1 : pane.bottom - 1;
  const back = (n) => { for (; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor; if (!/^rgba\\(.*, 0\\)$|transparent/.test(c)) return c; } return 'none'; };
  const seen = new Map();
  for (const x of [pane.left + 3, (pane.left + pane.right) / 2, pane.right - 3])
    for (let y = from; y <= to; y += 4) {
      const n = document.elementFromPoint(x, y);
      if (n && !n.closest('.msg, .day, .unread-line, .jump') && !seen.has(back(n))) seen.set(back(n), `${n.tagName} #${n.id} .${n.className} at ${Math.round(y)}`);
    }
  return [getComputedStyle(document.getElementById('chat-pane')).backgroundColor, [...seen.keys()], [...seen.values()]];";

#[test]
fn the_conversation_has_one_background_with_no_white_strip_or_band() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hi ana").starts_with("OK:"));
    for (width, height) in [PHONE, LAPTOP] {
        let ana = logged_in(&url, "ana", width, height);
        for scheme in ["light", "dark"] {
            ana.cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
            );
            // The empty pane beside the list (a phone shows the list alone), then an open chat.
            ana.exec("document.getElementById('back').click()", json!([]));
            ana.wait_for("document.getElementById('chat-title').textContent === ''");
            if width > 480 {
                let seen = ana.exec(PANE_BACKGROUNDS, json!([]));
                assert_eq!(seen[1], json!([seen[0]]), "{scheme}: the empty pane, one colour: {}", seen[2]);
                shot(&ana, &format!("empty-pane-{scheme}-{width}"));
            }
            open_chat(&ana, "bob");
            ana.wait_for("document.querySelector('#messages .msg')");
            let seen = ana.exec(PANE_BACKGROUNDS, json!([]));
            assert_eq!(
                seen[1],
                json!([seen[0]]),
                "{scheme} {width}: above the composer, one colour: {}",
                seen[2]
            );
            assert_ne!(seen[0], json!("rgb(255, 255, 255)"), "the chat's colour, not white");
            shot(&ana, &format!("chat-{scheme}-{width}"));
        }
    }
}

#[test]
fn a_quiet_room_says_its_members_and_my_message_there_is_ticked() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla"]);
    let _owner = joined(&server, "#quiet", &["bob", "carla", "ana"]);
    // The laptop first: the phone then sends the room's first message.
    for (width, height) in [LAPTOP, PHONE] {
        let ana = logged_in(&url, "ana", width, height);
        // #general, which every account is in, and #quiet: no message yet, so their members say what they are.
        for room in ["#general", "#quiet"] {
            let line = ana.wait_for(&format!(
                "document.querySelector(\"#chat-list button[data-chat='{room}'] .chat-last\")?.textContent"
            ));
            assert_eq!(line, json!("3 members"), "{width}: {room}");
        }
        if width == PHONE.0 {
            open_chat(&ana, "#quiet");
            // The header says what the room is, in words (not "3 · Members").
            assert_eq!(
                ana.exec("return document.getElementById('chat-sub').textContent", json!([])),
                json!("3 members")
            );
            assert_eq!(
                ana.exec("return document.getElementById('members-button').textContent", json!([])),
                json!("Details")
            );
            ana.type_into("#input", &format!("first here{ENTER}"));
            // The server keeps it: ✓ (bob and carla have no receive connection: neither has it yet, §31).
            ana.wait_for("document.querySelector('#messages .msg.mine .tick')?.textContent === '✓'");
            let label = ana.exec(
                "return document.querySelector('#messages .msg.mine .tick').getAttribute('aria-label')",
                json!([]),
            );
            assert_eq!(label, json!("sent"));
            ana.click("#back");
            let line = ana.wait_for(
                "document.querySelector(\"#chat-list button[data-chat='#quiet'] .chat-last\")?.textContent",
            );
            assert_eq!(line, json!("you: first here"));
            shot(&ana, "rooms-in-the-list-390");
        }
    }
}

/// The keys of each language of the strings object that opens at `src[at]`
/// (`{en: {key: 'text', …}, es: {…}, pt: {…}}`): string literals are
/// skipped whole, so a `word:` inside a text is not taken for a key.
fn keys_by_language(src: &str, at: usize) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut langs = std::collections::BTreeMap::<String, Vec<String>>::new();
    let (mut depth, mut lang, mut word, mut last) = (0, String::new(), String::new(), None::<String>);
    let mut chars = src[at..].chars();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            last = Some(std::mem::take(&mut word));
        }
        match c {
            '\'' | '"' | '`' => {
                let mut escaped = false;
                for s in chars.by_ref() {
                    if s == c && !escaped {
                        break;
                    }
                    escaped = s == '\\' && !escaped;
                }
                last = None;
            }
            '{' => {
                depth += 1;
                if depth == 2 {
                    lang = last.take().unwrap_or_default();
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ':' if depth == 2 => {
                if let Some(key) = last.take() {
                    langs.entry(lang.clone()).or_default().push(key);
                }
            }
            // A language's name stands before `: {`.
            ':' => {}
            c if c.is_whitespace() => {}
            _ => last = None,
        }
    }
    langs
}

/// Every module's strings in the three languages, and each key one
/// module's: `addStrings` merges them all into one table, where a key two
/// modules define would say whichever loaded last, in both.
#[test]
fn every_string_of_the_app_is_in_english_spanish_and_portuguese() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut modules = 0;
    let (mut owner, mut twice) = (std::collections::BTreeMap::<String, String>::new(), Vec::new());
    for entry in std::fs::read_dir(&web).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let Some(at) =
            ["addStrings({", "const STRINGS = {"].iter().find_map(|m| src.find(m).map(|i| i + m.len() - 1))
        else {
            continue;
        };
        modules += 1;
        let langs = keys_by_language(&src, at);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(langs.keys().collect::<Vec<_>>(), ["en", "es", "pt"], "{name}");
        let mut english = langs["en"].clone();
        english.sort();
        assert!(!english.is_empty(), "{name}");
        for lang in ["es", "pt"] {
            let mut keys = langs[lang].clone();
            keys.sort();
            assert_eq!(keys, english, "{name}: {lang} says other things than en");
        }
        for key in english {
            if let Some(other) = owner.insert(key.clone(), name.to_string()) {
                twice.push(format!("{key} ({other}, {name})"));
            }
        }
    }
    assert!(modules >= 10, "only {modules} modules with strings");
    assert!(twice.is_empty(), "strings of two modules, each saying the other's words: {twice:?}");
}
