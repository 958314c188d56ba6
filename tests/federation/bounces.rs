//! Bounces a user sees (protocol 1.3, docs/PROTOCOL.md §27 "Failures"):
//! `HISTORY` gives a bounced message the state `FAILED` and, right after
//! it, the bounce's readable line, so that a device loading the chat
//! later (another device, a reload, a 1.0 client) shows why; after a
//! restart too.

use super::support;

use std::path::Path;

use serde_json::json;
use support::browser::Browser;
use support::federation::{Lab, start, write_roster};
use support::ports::free_port;
use support::webapp::{ENTER, app_url, log_in_again, logged_in, open_chat};
use support::without_ts;

/// lab1 and lab2, linked by one roster in `root`, lab1 with `more` flags.
pub fn two_labs(root: &Path, more: &[&str]) -> (Lab, Lab) {
    let roster = root.join("class.csv");
    let servers = [("lab1", free_port()), ("lab2", free_port())];
    write_roster(&roster, &servers, "");
    let dir = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let lab1 = start("lab1", &dir("lab1"), &roster, servers[0].1, more);
    let lab2 = start("lab2", &dir("lab2"), &roster, servers[1].1, &[]);
    (lab1, lab2)
}

/// A HISTORY line without its time (the fourth field).
fn no_ts(line: &str) -> String {
    let f: Vec<&str> = line.splitn(5, ':').collect();
    format!("{}:{}:{}:<ts>:{}", f[0], f[1], f[2], f[4])
}

#[test]
fn history_gives_a_bounced_message_failed_and_its_reason_after_a_restart_too() {
    let root = tempfile::tempdir().unwrap();
    let (mut lab1, lab2) = two_labs(root.path(), &["--checkpoint-records", "3"]);
    lab2.server.register(&["bob"]);
    let [mut ana] = lab1.server.logged_in(["ana"]);
    let mut events = lab1.server.login_recv("ana", "pw-ana");
    assert!(ana.request("MSG:zed@lab2:m1:anyone there?").starts_with("OK:m1:"));
    // ana's device is told (as a 1.0 client reads it)…
    let told = without_ts(&events.next_event());
    assert!(told.starts_with("MSG:1:zed@lab2:ana:_x"), "{told}");
    assert!(
        told.ends_with(
            "_failed:<ts>:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m1)"
        )
    );
    events.send("ACK:1");
    assert!(ana.request("MSG:zed@lab2:m2:hello?").starts_with("OK:m2:"));
    events.next_event();
    events.send("ACK:2");
    assert!(ana.request("MSG:bob@lab2:m3:hi bob").starts_with("OK:m3:"));

    // …and a device that loads the chat later reads the same in HISTORY.
    let expected = [
        "ana:zed@lab2:m1:<ts>:FAILED:anyone there?",
        "zed@lab2:ana:_x<stamp>_failed:<ts>:RECEIVED:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m1)",
        "ana:zed@lab2:m2:<ts>:FAILED:hello?",
        "zed@lab2:ana:_x<stamp>_failed:<ts>:RECEIVED:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m2)",
    ];
    let shown = |ana: &mut support::Conn| -> Vec<String> {
        let lines = ana.listing("HISTORY:zed@lab2:10");
        lines
            .iter()
            .map(|l| {
                let l = no_ts(l);
                match l.split_once("_x").and_then(|(head, rest)| Some((head, rest.split_once("_failed")?.1)))
                {
                    Some((head, tail)) => format!("{head}_x<stamp>_failed{tail}"),
                    None => l,
                }
            })
            .collect()
    };
    assert_eq!(shown(&mut ana), expected);
    // A chat without bounces is as it was; a page of one message still
    // brings the bounce's line with it.
    assert!(ana.listing("HISTORY:bob@lab2:10").iter().all(|l| !l.contains(":FAILED:")));
    let page = ana.listing("HISTORY:zed@lab2:1");
    assert_eq!(page.len(), 2, "{page:?}");

    // A kill -9 and a start from the checkpoint and the log: the same.
    drop(ana);
    drop(events);
    lab1.server.restart(&lab1_args(&lab1, root.path()));
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(shown(&mut ana), expected);
}

/// lab1's flags again, for a restart.
fn lab1_args(lab1: &Lab, root: &Path) -> Vec<&'static str> {
    let roster: &'static str =
        Box::leak(root.join("class.csv").to_str().unwrap().to_string().into_boxed_str());
    let port: &'static str = Box::leak(lab1.link.port().to_string().into_boxed_str());
    vec![
        "--name",
        "lab1",
        "--peers",
        roster,
        "--link-port",
        port,
        "--timeout",
        "4",
        "--checkpoint-records",
        "3",
    ]
}

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// Clicks, in the page, the first element `css` (a bubble's ⋯ is drawn
/// for the pointer over it on a laptop).
fn tap(browser: &Browser, css: &str) {
    browser.wait_for(&format!("document.querySelector({css:?})"));
    browser.exec("document.querySelector(arguments[0]).click()", json!([css]));
}

/// The failed mark of my message `text` in the open chat: what its line says.
fn failed_words(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#messages .msg.mine.failed')].find(m => m.querySelector('.text')?.textContent === {text:?})?.querySelector('.why')?.textContent"
    )
}

#[test]
fn a_bounce_is_shown_failed_with_its_reason_on_two_devices_and_after_a_reload() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, _lab2) = two_labs(root.path(), &["--web-port", "0"]);
    lab1.server.register(&["ana"]);
    let url = app_url(&lab1.server);
    let phone = logged_in(&url, "ana", PHONE.0, PHONE.1);
    let laptop = logged_in(&url, "ana", LAPTOP.0, LAPTOP.1);
    phone.watch_errors();
    laptop.watch_errors();
    open_chat(&phone, "zed@lab2");
    phone.type_into("#input", &format!("anyone there?{ENTER}"));
    let said = "not delivered: lab2 refused it: lab2 has no user zed";
    assert_eq!(phone.wait_for(&failed_words("anyone there?")), json!(said));
    let tick =
        phone.exec("return document.querySelector('#messages .msg.mine .tick').dataset.state", json!([]));
    assert_eq!(tick, json!("FAILED"));
    // ana's other device: the chat came with her copy, the bounce after it.
    laptop.click("#chat-list button[data-chat='zed@lab2']");
    assert_eq!(laptop.wait_for(&failed_words("anyone there?")), json!(said));
    assert_eq!(phone.errors(), json!([]));
    assert_eq!(laptop.errors(), json!([]));
    // A reload: the chat from HISTORY, the bounce event acknowledged long
    // since. The bounce's own line is no bubble.
    log_in_again(&phone, &url, "ana");
    phone.watch_errors();
    phone.click("#chat-list button[data-chat='zed@lab2']");
    assert_eq!(phone.wait_for(&failed_words("anyone there?")), json!(said));
    assert_eq!(phone.exec("return document.querySelectorAll('#messages .msg').length", json!([])), json!(1));
    assert_eq!(phone.errors(), json!([]));
}

#[test]
fn replies_reactions_and_edits_across_servers_are_drawn_as_local_ones() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = two_labs_on_the_web(root.path());
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let ana = logged_in(&app_url(&lab1.server), "ana", LAPTOP.0, LAPTOP.1);
    let bob = logged_in(&app_url(&lab2.server), "bob", PHONE.0, PHONE.1);
    ana.watch_errors();
    bob.watch_errors();
    open_chat(&ana, "bob@lab2");
    ana.type_into("#input", &format!("see you at 10{ENTER}"));
    bob.click("#chat-list button[data-chat='ana@lab1']");
    bob.wait_for(
        "[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === 'see you at 10')",
    );

    // bob answers from the message's menu: a quote block on both sides,
    // under the name each side knows the author by, and no raw `> ` line.
    tap(&bob, "#messages .msg:not(.mine) .more");
    tap(&bob, "#messages .menu button[data-act='reply']");
    bob.type_into("#input", &format!("yes, at 10{ENTER}"));
    let quoted = |who: &str| {
        format!(
            "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.text')?.textContent === 'yes, at 10')?.querySelector('.quote')?.textContent === '{who}: see you at 10'"
        )
    };
    bob.wait_for(&quoted("ana@lab1"));
    ana.wait_for(&quoted("ana"));
    for side in [&ana, &bob] {
        let raw = "return [...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent.startsWith('> '))";
        assert_eq!(side.exec(raw, json!([])), json!(false));
    }

    // ana reacts to the reply; bob sees it on his message.
    tap(&ana, "#messages .msg:not(.mine) .more");
    tap(&ana, "#messages .menu button[data-react='👍']");
    bob.wait_for(
        "document.querySelector('#messages .msg.mine .reactions .reaction')?.textContent === '👍 1'",
    );

    // ana edits her message; bob's copy reads the new words, marked edited,
    // and his reply's quote still stands (it quotes an earlier version).
    tap(&ana, "#messages .msg.mine .more");
    tap(&ana, "#messages .menu button[data-act='edit']");
    ana.exec("document.getElementById('input').value = ''", json!([]));
    ana.type_into("#input", &format!("see you at 11{ENTER}"));
    bob.wait_for("[...document.querySelectorAll('#messages .msg:not(.mine)')].some(m => m.querySelector('.text')?.textContent === 'see you at 11' && m.querySelector('.edited'))");
    bob.wait_for(&quoted("ana@lab1"));
    assert_eq!(ana.errors(), json!([]));
    assert_eq!(bob.errors(), json!([]));
}

/// lab1 and lab2, both with the browser app.
fn two_labs_on_the_web(root: &Path) -> (Lab, Lab) {
    let roster = root.join("class.csv");
    let servers = [("lab1", free_port()), ("lab2", free_port())];
    write_roster(&roster, &servers, "");
    let start_lab = |(name, port): (&'static str, u16)| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        start(name, &dir, &roster, port, &["--web-port", "0"])
    };
    (start_lab(servers[0]), start_lab(servers[1]))
}

/// The browser's one reader of the id grammar (wire.js `readId`) against
/// every kind of id the server makes, each with the text the server gives
/// it: clients' ids (`m1`, the app's `w…`), the server's own messages
/// (`mod-…`, `call-…`), actions (`_e…`, `_d…`, `_r…`, `_u…`, an admin's
/// `_x…`, on targets that look like bounces too), and bounces
/// (`_x<ts>_failed`, a message's and a JOIN's), read as the Rust grammar
/// reads them (`ActionId`, `Action::of`, `ReadBounce::of`): no bounce is
/// ever an action, no action a bounce.
#[test]
fn the_apps_reading_of_ids_agrees_with_every_id_the_server_makes() {
    use wachat::protocol::Text;
    use wachat::protocol::action::{self, Act, Action, ActionId};
    use wachat::protocol::link::{Bounce, ReadBounce};
    let (_server, url) = support::webapp::web_server(&[]);
    let browser = Browser::start(800, 600);
    browser.goto(&url);
    let ts = 1_795_500_000_400;
    let bounce = Bounce {
        seq: 4,
        peer: "zed@lab2",
        author: "ana",
        id: "m2",
        ts,
        reason: "lab2 refused it: lab2 has no user zed",
        minor: 0,
    };
    let joined =
        Bounce { peer: "#nope@lab2", id: "", reason: "lab2 refused it: lab2 has no room #nope", ..bounce };
    let own = wachat::server::own_ids::own_message_id;
    let mut cases: Vec<(String, String)> = vec![
        ("m1".into(), "hi".into()),
        ("wmwy3eogg1a2b3c".into(), "> bob@lab2: hello\nyes".into()),
        (own("mod"), "* ana set the topic".into()),
        (own("call"), "📞 Missed voice call".into()),
        (bounce.message_id(), bounce.message_text()),
        (joined.message_id(), joined.message_text()),
        // Not the server's bounce: a client id, an action's stamp, another text.
        ("x1_failed".into(), bounce.message_text()),
        (format!("_x{ts}_failed"), "(message from bob deleted)".into()),
        (format!("_x{ts}_failed"), "⚠ not delivered: no (your message a:b)".into()),
    ];
    for act in [Act::Edit, Act::Delete, Act::React, Act::Unreact, Act::Remove] {
        for target in ["m1", "failed", "_x5_failed"] {
            let id = ActionId { act, stamp: ts, target: target.into() }.to_string();
            let text = match act {
                Act::Edit => "✎ new words".to_string(),
                Act::Delete => action::DELETED.to_string(),
                Act::React => "👍 to: hello".to_string(),
                Act::Unreact => "👍 taken back from: hello".to_string(),
                Act::Remove => "(message from bob deleted)".to_string(),
            };
            cases.push((id, text));
        }
    }
    let js = browser.exec_async(
        "const done = arguments[1];
         import('/wire.js').then(w => done(arguments[0].map(([id, text]) => w.readId(id, text))));",
        json!([cases]),
    );
    for ((id, text), got) in cases.iter().zip(js.as_array().unwrap()) {
        let plain = Text::from_plain(text).unwrap();
        match (ReadBounce::of(id, text), Action::of(id, &plain)) {
            (Some(_), Some(_)) => panic!("{id} reads as a bounce and an action"),
            (Some(ReadBounce::Message { id: named, reason }), None) => {
                assert_eq!(
                    (&got["kind"], &got["id"], &got["reason"]),
                    (&json!("bounce"), &json!(named), &json!(reason)),
                    "{id}"
                );
            }
            (Some(ReadBounce::Join { reason }), None) => {
                assert_eq!(
                    (&got["kind"], &got["join"], &got["reason"]),
                    (&json!("bounce"), &json!(true), &json!(reason)),
                    "{id}"
                );
            }
            (None, Some(a)) => {
                assert_eq!(
                    (&got["kind"], &got["action"]["target"]),
                    (&json!("action"), &json!(a.target())),
                    "{id} {text}"
                );
                let act = match a {
                    Action::Edit { .. } => "edit",
                    Action::Delete { .. } => "delete",
                    Action::Remove { .. } => "remove",
                    Action::React { added: true, .. } => "react",
                    Action::React { added: false, .. } => "unreact",
                };
                assert_eq!(got["action"]["act"], json!(act), "{id}");
            }
            // An action's form with a text no action has: hidden, as an action nobody can read.
            (None, None) if ActionId::parse(id).is_some() => {
                assert_eq!(
                    (&got["kind"], &got["action"]["act"]),
                    (&json!("action"), &json!(null)),
                    "{id} {text}"
                )
            }
            (None, None) => assert_eq!(got["kind"], json!("message"), "{id} {text}"),
        }
    }
    // The quote of a reply names a user of this server or of another.
    let js = browser.exec_async(
        "const done = arguments[0];
         import('/wire.js').then(w => done([w.parseQuote('> bob@lab2: hello\\nyes'), w.parseQuote('> bob@: hello\\nyes')]));",
        json!([]),
    );
    assert_eq!((&js[0]["author"], &js[0]["body"]), (&json!("bob@lab2"), &json!("yes")));
    assert_eq!(js[1], json!(null));
}

/// The consoles: the bounce said at once in the peer's words, and a
/// device that loads the chat later (a new console folder, the full
/// screen) shows the message refused with the reason, the bounce's own
/// line never as a message.
#[test]
fn the_console_and_the_full_screen_show_a_bounce_with_its_reason() {
    use support::console::{Console, connection_args};
    let root = tempfile::tempdir().unwrap();
    let (lab1, _lab2) = two_labs(root.path(), &[]);
    lab1.server.register(&["ana"]);
    let reason = "lab2 refused it: lab2 has no user zed";

    let mut ana = Console::connected(&lab1.server, "ana", &root.path().join("ana-console"), &[]);
    ana.type_line("@zed@lab2: anyone there?");
    ana.expect(&format!("✗ not delivered to zed@lab2: {reason}"));
    let _ = ana.quit("/quit");

    // Another device: the chat read from HISTORY.
    let mut other = Console::connected(&lab1.server, "ana", &root.path().join("ana-laptop"), &[]);
    other.type_line("/chat zed@lab2");
    let line = other.expect("anyone there?");
    assert!(line.contains(&format!("✗ ({reason})")), "{line}");
    let _ = other.quit("/quit");

    let mut command = std::process::Command::new(support::wachat_bin());
    command
        .args(["connect", "--tui", "--user", "ana"])
        .args(connection_args(lab1.server.send, lab1.server.recv, &root.path().join("ana-tui")))
        .env("WACHAT_PASSWORD", "pw-ana")
        .env("RUST_LOG", "off")
        .env("TZ", "UTC")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("NO_COLOR");
    let mut tui = support::pty::Pty::spawn_sized(command, 24, 100);
    tui.wait_screen("the chat list", |s| s.rows[0].starts_with("┌ Chats "));
    tui.type_keys("/chat zed@lab2\r");
    tui.wait_screen("the message refused, with the peer's reason", |s| {
        s.find("anyone there?").is_some() && s.find(&format!("✗ not delivered: {reason}")).is_some()
    });
    assert!(tui.screen().find("⚠").is_none(), "the bounce's line is no message");
    tui.type_keys("\x03");
    assert!(tui.wait().success());
}
