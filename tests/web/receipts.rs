//! A room message's ticks and its Info (protocol 1.2, §31), in a real
//! chromium at a phone's 390×844 and a laptop's 1280×800: ✓ until every
//! other member has it, ✓✓, then read; "Info" in the menu of one's own
//! message, listing "Read by" then "Delivered to" with the members' shown
//! names and times, updated while open, closed by Esc and Back with the
//! focus back on the message, in English and Spanish; a room of 65 says
//! why it keeps none (in Portuguese); a reload draws the ticks again.

use super::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::Conn;
use support::browser::Browser;
use support::webapp::{ENTER, joined, log_in_again, logged_in, logged_in_speaking, open_chat, web_server};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// What the Info says, in one language.
struct Words {
    lang: &'static str,
    info: &'static str,
    title: &'static str,
    read_by: &'static str,
    delivered_to: &'static str,
    one_remaining: &'static str,
    no_one: &'static str,
    sent_to_two: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en-US",
    info: "Info",
    title: "Message info",
    read_by: "Read by",
    delivered_to: "Delivered to",
    one_remaining: "1 remaining",
    no_one: "No one yet",
    sent_to_two: "Sent to 2 members",
};

const SPANISH: Words = Words {
    lang: "es",
    info: "Info.",
    title: "Info. del mensaje",
    read_by: "Leído por",
    delivered_to: "Entregado a",
    one_remaining: "Falta 1",
    no_one: "Nadie aún",
    sent_to_two: "Enviado a 2 miembros",
};

/// The tick of my message `id` in the open chat: `[state, text, class]`.
fn tick(id: &str) -> String {
    format!(
        "(() => {{ const t = document.querySelector(\"#messages .msg.mine[data-id='{id}'] .tick\");
            return t && [t.dataset.state, t.textContent, t.className].join('|'); }})()"
    )
}

/// The lines of one of the Info's lists (`info-read`, `info-delivered`), as `name|time`.
fn listed(browser: &Browser, list: &str) -> Vec<String> {
    let value = browser.exec(
        "return [...document.getElementById(arguments[0]).children].map((li) =>
           [li.querySelector('.who')?.textContent ?? li.textContent, li.querySelector('time')?.textContent ?? ''].join('|'))",
        json!([list]),
    );
    serde_json::from_value(value).unwrap()
}

/// RECEIPTS of `id` on ana's own connection until `done` holds of its lines.
fn receipts_until(ana: &mut Conn, id: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + support::READ_TIMEOUT;
    loop {
        let lines = ana.listing(&format!("RECEIPTS:#lab:{id}"));
        if done(&lines) {
            return lines;
        }
        assert!(Instant::now() < deadline, "still {lines:?}");
        std::thread::sleep(Duration::from_millis(50)); // polling the store
    }
}

/// The next MSG on `conn`, acknowledged; its id.
fn ack_next(conn: &mut Conn) -> String {
    let msg = conn.next_msg();
    let seq = msg.split(':').nth(1).unwrap().to_string();
    conn.send(&format!("ACK:{seq}"));
    msg.split(':').nth(4).unwrap().to_string()
}

/// Whether a time of today, as the Info draws it (`10:42`, `10:42 AM`), ends a listed line.
fn timed(line: &str) -> bool {
    let time = line.rsplit('|').next().unwrap_or("").as_bytes();
    time.len() >= 5 && time[2] == b':' && [0, 1, 3, 4].iter().all(|&i| time[i].is_ascii_digit())
}

/// ana, bob and cyd in `#lab`; bob named "Bob Builder"; ana's and bob's
/// browsers at `size`, ana's speaking `words`'s language: ana's message
/// goes ✓ (bob's browser has it, cyd has not connected), ✓✓ once cyd's
/// receive connection has it, read once both read it; her Info says who,
/// as it goes, and closes with Esc and Back.
fn ticks_and_info(size: (u32, u32), words: &Words) {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "cyd"]);
    let mut raw = joined(&server, "#lab", &["ana", "bob", "cyd"]);
    assert_eq!(raw[1].request("NAME:Bob Builder"), "OK");
    let ana = logged_in_speaking(&url, "ana", size.0, size.1, words.lang);
    let bob = logged_in(&url, "bob", size.0, size.1);
    open_chat(&ana, "#lab");
    ana.type_into("#input", &format!("lab at 10?{ENTER}"));
    let id = ana.wait_for(
        "document.querySelector('#messages .msg.mine .tick[data-state=RECEIVED]')?.closest('li').dataset.id",
    );
    let id = id.as_str().unwrap().to_string();

    // bob's browser has it (his list says so) and acknowledged it; cyd has not: still ✓.
    bob.wait_for(
        "document.querySelector(\"#chat-list button[data-chat='#lab'] .badge.unread\")?.textContent === '1'",
    );
    receipts_until(&mut raw[0], &id, |l| l.iter().any(|l| l.starts_with("DELIVERED:bob:")));
    assert_eq!(ana.exec(&format!("return {}", tick(&id)), json!([])), json!("RECEIVED|✓|tick RECEIVED"));

    // Info, in the menu of her own message: delivered to bob, one to go.
    ana.click(&format!("#messages .msg.mine[data-id='{id}'] .more"));
    let item = "#messages .menu button[data-act='info']";
    assert_eq!(ana.wait_for(&format!("document.querySelector(\"{item}\")?.textContent")), json!(words.info));
    ana.click(item);
    ana.wait_for(
        "!document.getElementById('info-panel').hidden && document.activeElement.id === 'info-close'",
    );
    let named = ana.exec(
        "const p = document.getElementById('info-panel');
         return [document.getElementById(p.getAttribute('aria-labelledby')).textContent, p.querySelector('h3').tagName,
                 document.activeElement.getAttribute('aria-label'), document.getElementById('info-text').textContent,
                 [...p.querySelectorAll('h4')].map((h) => h.textContent)]",
        json!([]),
    );
    let close = if words.lang == "es" { "Cerrar" } else { "Close" };
    assert_eq!(named, json!([words.title, "H3", close, "lab at 10?", [words.read_by, words.delivered_to]]));
    ana.wait_for(&format!("document.getElementById('info-to').textContent === {:?}", words.sent_to_two));
    ana.wait_for(&format!(
        "document.getElementById('info-waiting').textContent === {:?}",
        words.one_remaining
    ));
    let delivered = listed(&ana, "info-delivered");
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(delivered[0].starts_with("Bob Builder (bob)|") && timed(&delivered[0]), "{delivered:?}");
    assert_eq!(listed(&ana, "info-read"), [format!("{}|", words.no_one)]);
    if size == PHONE {
        let found = super::edges::audit(&ana, "info-delivered");
        assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
    }

    // cyd connects: his receive connection has it, so everyone has: ✓✓, and the open Info says so.
    let mut cyd_in = server.login_recv("cyd", "pw-cyd");
    assert_eq!(ack_next(&mut cyd_in), id);
    ana.wait_for(&format!("{} === 'DELIVERED|✓✓|tick DELIVERED'", tick(&id)));
    ana.wait_for("document.getElementById('info-waiting').hidden && document.querySelectorAll('#info-delivered time').length === 2");
    let delivered = listed(&ana, "info-delivered");
    assert!(delivered.iter().any(|l| l.starts_with("Bob Builder (bob)|")), "{delivered:?}");
    assert!(
        delivered.iter().any(|l| l.starts_with("cyd|")) && delivered.iter().all(|l| timed(l)),
        "{delivered:?}"
    );

    // Both read (bob opens the room, cyd says READ): read, blue; the Info lists both under Read by.
    bob.click("#chat-list button[data-chat='#lab']");
    receipts_until(&mut raw[0], &id, |l| l.iter().any(|l| l.starts_with("READ:bob:")));
    assert!(
        ana.exec(&format!("return {}", tick(&id)), json!([])).as_str().unwrap().starts_with("DELIVERED|")
    );
    assert_eq!(raw[2].request(&format!("READ:#lab:{id}")), "OK");
    ana.wait_for(&format!("{} === 'READ|✓✓|tick READ'", tick(&id)));
    let blue = ana.exec(
        &format!("return getComputedStyle(document.querySelector(\"#messages .msg.mine[data-id='{id}'] .tick\")).color"),
        json!([]),
    );
    assert_eq!(blue, json!("rgb(5, 99, 168)"), "the read tick's blue (app.css's --read)");
    ana.wait_for("document.querySelectorAll('#info-read time').length === 2");
    let read = listed(&ana, "info-read");
    assert!(read.iter().any(|l| l.starts_with("Bob Builder (bob)|")), "{read:?}");
    assert!(read.iter().any(|l| l.starts_with("cyd|")) && read.iter().all(|l| timed(l)), "{read:?}");
    assert_eq!(listed(&ana, "info-delivered"), [format!("{}|", words.no_one)]);
    if size == PHONE {
        let found = super::edges::audit(&ana, "info-read");
        assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
    }

    // Esc closes it, the focus back on the message's ⋯; Back does too, and stays in the chat.
    let more = format!("document.querySelector(\"#messages .msg.mine[data-id='{id}'] .more\")");
    ana.type_into("#info-close", "\u{E00C}");
    ana.wait_for(&format!(
        "document.getElementById('info-panel').hidden && document.activeElement === {more}"
    ));
    ana.click(&format!("#messages .msg.mine[data-id='{id}'] .more"));
    ana.click(item);
    ana.wait_for("!document.getElementById('info-panel').hidden && document.querySelectorAll('#info-read time').length === 2");
    ana.back();
    ana.wait_for(&format!(
        "document.getElementById('info-panel').hidden && document.getElementById('chat-title').textContent === '#lab'
         && document.getElementById('chat-pane').checkVisibility() && document.activeElement === {more}"
    ));
    // Others' messages offer no Info (only the sender sees who has a message).
    assert_eq!(raw[1].request("MSG:#lab:b1:yes").split(':').next(), Some("OK"));
    ana.wait_for("document.querySelector(\"#messages .msg[data-id='b1'] .more\")");
    ana.click("#messages .msg[data-id='b1'] .more");
    ana.wait_for("document.querySelector('#messages .menu button[data-act=reply]')");
    assert_eq!(
        ana.exec("return document.querySelector(\"#messages .menu button[data-act='info']\")", json!([])),
        json!(null)
    );
    ana.type_into("#messages .menu button", "\u{E00C}");

    // Forward opens the Info again; once Esc closed it, Back goes on to the chat list.
    ana.forward();
    ana.wait_for(
        "!document.getElementById('info-panel').hidden && document.activeElement.id === 'info-close'",
    );
    ana.wait_for("document.querySelectorAll('#info-read time').length === 2");
    ana.type_into("#info-close", "\u{E00C}");
    ana.wait_for(&format!(
        "document.getElementById('info-panel').hidden && document.activeElement === {more}"
    ));
    ana.back();
    ana.wait_for("!document.getElementById('app').classList.contains('chat-open') && document.getElementById('info-panel').hidden");
}

#[test]
fn a_room_messages_ticks_and_info_follow_its_members_on_a_phone_in_spanish() {
    ticks_and_info(PHONE, &SPANISH);
}

#[test]
fn a_room_messages_ticks_and_info_follow_its_members_on_a_laptop() {
    ticks_and_info(LAPTOP, &ENGLISH);
}

/// A reload draws a room message's ticks as they were: HISTORY says
/// DELIVERED and READ of the sender's own room messages (§31), as the
/// live STATUS did.
#[test]
fn a_reload_draws_a_room_messages_ticks_again() {
    for (size, lang) in [(PHONE, "es"), (LAPTOP, "en-US")] {
        let (server, url) = web_server(&[]);
        server.register(&["ana", "bob", "cyd"]);
        let mut raw = joined(&server, "#lab", &["ana", "bob", "cyd"]);
        let (mut bob_in, mut cyd_in) =
            (server.login_recv("bob", "pw-bob"), server.login_recv("cyd", "pw-cyd"));
        let ana = logged_in_speaking(&url, "ana", size.0, size.1, lang);
        open_chat(&ana, "#lab");
        ana.type_into("#input", &format!("first{ENTER}"));
        let first = ana.wait_for("document.querySelector('#messages .msg.mine .tick[data-state=RECEIVED]')?.closest('li').dataset.id");
        let first = first.as_str().unwrap().to_string();
        assert_eq!((ack_next(&mut bob_in), ack_next(&mut cyd_in)), (first.clone(), first.clone()));
        for member in [1, 2] {
            assert_eq!(raw[member].request(&format!("READ:#lab:{first}")), "OK");
        }
        ana.wait_for(&format!("{} === 'READ|✓✓|tick READ'", tick(&first)));
        ana.type_into("#input", &format!("second{ENTER}"));
        let second = ana.wait_for(
            "[...document.querySelectorAll('#messages .msg.mine')].find((li) => li.querySelector('.text').textContent === 'second'
               && li.querySelector('.tick').dataset.state === 'RECEIVED')?.dataset.id",
        );
        let second = second.as_str().unwrap().to_string();
        assert_eq!((ack_next(&mut bob_in), ack_next(&mut cyd_in)), (second.clone(), second.clone()));
        ana.wait_for(&format!("{} === 'DELIVERED|✓✓|tick DELIVERED'", tick(&second)));
        ana.type_into("#input", &format!("third{ENTER}"));
        let third = ana.wait_for(
            "[...document.querySelectorAll('#messages .msg.mine')].find((li) => li.querySelector('.text').textContent === 'third'
               && li.querySelector('.tick').dataset.state === 'RECEIVED')?.dataset.id",
        );
        let third = third.as_str().unwrap().to_string();

        log_in_again(&ana, &url, "ana");
        ana.click("#chat-list button[data-chat='#lab']");
        ana.wait_for(&format!("{} === 'READ|✓✓|tick READ'", tick(&first)));
        ana.wait_for(&format!("{} === 'DELIVERED|✓✓|tick DELIVERED'", tick(&second)));
        ana.wait_for(&format!("{} === 'RECEIVED|✓|tick RECEIVED'", tick(&third)));
    }
}

#[test]
fn a_room_of_65_members_says_in_its_info_that_it_keeps_no_receipts() {
    let (server, url) = web_server(&["--exempt", "127.0.0.1", "--rate", "0"]);
    let names: Vec<String> =
        std::iter::once("ana".to_string()).chain((1..=64).map(|i| format!("m{i:02}"))).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    server.register(&names);
    let _raw = joined(&server, "#big", &names);
    let ana = logged_in_speaking(&url, "ana", PHONE.0, PHONE.1, "pt-BR");
    open_chat(&ana, "#big");
    ana.type_into("#input", &format!("oi, todos{ENTER}"));
    let id = ana.wait_for(
        "document.querySelector('#messages .msg.mine .tick[data-state=RECEIVED]')?.closest('li').dataset.id",
    );
    let id = id.as_str().unwrap();
    ana.click(&format!("#messages .msg.mine[data-id='{id}'] .more"));
    assert_eq!(
        ana.wait_for("document.querySelector(\"#messages .menu button[data-act='info']\")?.textContent"),
        json!("Dados")
    );
    ana.click("#messages .menu button[data-act='info']");
    ana.wait_for(
        "document.getElementById('info-to')?.textContent === 'As confirmações não são guardadas em salas com mais de 64 membros (#big tem 65): as mensagens ficam em ✓.'",
    );
    let shown = ana.exec(
        "return [document.getElementById('info-title').textContent,
                 ...['info-read-title', 'info-read', 'info-delivered-title', 'info-delivered', 'info-waiting'].map((id) => document.getElementById(id).checkVisibility())]",
        json!([]),
    );
    assert_eq!(shown, json!(["Dados da mensagem", false, false, false, false, false]));
    assert_eq!(ana.exec(&format!("return {}", tick(id)), json!([])), json!("RECEIVED|✓|tick RECEIVED"));
    let found = super::edges::audit(&ana, "info-large");
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

/// The README's picture of a room message's Info at 390×844:
/// `cargo test --all-features --test web -- --ignored screenshots`
/// writes docs/web-info-phone.png (then `pngquant` keeps it small).
#[test]
#[ignore]
fn screenshots_of_a_room_messages_info_for_the_readme() {
    let (server, url) = web_server(&[]);
    server.register(&["ana", "bob", "carla", "prof"]);
    let mut raw = joined(&server, "#os-lab", &["prof", "ana", "bob", "carla"]);
    assert_eq!(raw[2].request("NAME:Bob Builder"), "OK");
    assert_eq!(raw[3].request("NAME:Carla Gómez"), "OK");
    assert_eq!(raw[0].request("NAME:Prof. Ruiz"), "OK");
    assert!(raw[0].request("MSG:#os-lab:p1:Lab 3 is due Friday").starts_with("OK:"));
    let mut ins: Vec<Conn> =
        ["bob", "carla", "prof"].iter().map(|u| server.login_recv(u, &format!("pw-{u}"))).collect();
    for conn in &mut ins[..2] {
        assert_eq!(ack_next(conn), "p1");
    }
    let phone = logged_in(&url, "ana", PHONE.0, PHONE.1);
    open_chat(&phone, "#os-lab");
    phone.type_into("#input", &format!("I pushed the reconnection part: see client/link.rs{ENTER}"));
    let id = phone.wait_for(
        "document.querySelector('#messages .msg.mine .tick[data-state=RECEIVED]')?.closest('li').dataset.id",
    );
    let id = id.as_str().unwrap().to_string();
    for conn in &mut ins {
        assert_eq!(ack_next(conn), id);
    }
    for member in [2, 3] {
        assert_eq!(raw[member].request(&format!("READ:#os-lab:{id}")), "OK");
    }
    phone.click(&format!("#messages .msg.mine[data-id='{id}'] .more"));
    phone.click("#messages .menu button[data-act='info']");
    phone.wait_for("document.querySelectorAll('#info-read time').length === 2 && document.querySelectorAll('#info-delivered time').length === 1");
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::write(docs.join("web-info-phone.png"), phone.screenshot()).unwrap();
}
