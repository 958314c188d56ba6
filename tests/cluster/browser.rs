//! The browser app on a cluster, as a class meets it: ana's browser on
//! follower b, bob's on leader a (tests/web/ runs the same app on one
//! server). Node b passes her browser's two WebSockets on to the leader,
//! one node link each, which serves them as its own:
//! - bob found by the start of his name (`PEOPLE`, a listing the leader
//!   answers for the follower), a chat both ways, her message ticked ✓
//!   (stored), ✓✓ (on bob's device) and read (bob opened the chat), his
//!   reply read by her;
//! - coming back: 300 messages more written from raw sockets (bob on a,
//!   ana's other device on b) while her page was away, then her page
//!   reloaded and a new browser on b, each scrolled to the chat's start:
//!   both sides, her replies too, once and in order; then ten more that
//!   arrive while her page is open;
//! - a video call from ana to bob and a voice call from bob to ana, real
//!   media between two chromiums on loopback (as tests/web/calls.rs,
//!   direct): it rings, is answered, the media flow both ways, a hang-up
//!   ends both screens.

use serde_json::{Value, json};

use super::support::READ_TIMEOUT;
use super::support::TestServer;
use super::support::browser::Browser;
use super::support::cluster::{Cluster, eventually_or};
use super::support::paging::{interleaved_from, scroll_to_start};
use super::support::webapp::{
    CALL_FLAGS, CALL_SCREEN, ENTER, app_url, call_data, log_in_again, logged_in, logged_in_with, open_chat,
};

const LAPTOP: (u32, u32) = (1000, 800);

/// Messages written while ana's page is away.
const AWAY: usize = 300;

/// Messages written once her page is back and open on the chat.
const LIVE: usize = 10;

/// ana's tick on her newest message to bob: its state and what it shows.
const TICK: &str = "const t = [...document.querySelectorAll('#messages .msg.mine .tick')].at(-1); \
                    return t ? [t.dataset.state, t.textContent] : null";

/// Leader a and follower b, each with its web port and `extra`, ana and
/// bob registered: the node that leads waited for, so that ana's browser
/// is on the follower.
fn leader_and_follower(cluster: &Cluster, extra: &[&str]) -> (TestServer, TestServer) {
    let args = [&["--web-port", "0"], extra].concat();
    let a = cluster.node_with("a", &args);
    a.wait_for_log("cluster: node a leads (epoch 1)");
    let b = cluster.node_with("b", &args);
    b.wait_for_log("node a leads (epoch 1): this node follows");
    a.register(&["ana", "bob"]);
    (a, b)
}

/// Waits until ana's newest tick is `state`, showing `shown`.
fn ticked(ana: &Browser, state: &str, shown: &str) {
    ana.wait_for(&format!("(() => {{ {TICK} }})()?.[0] === {state:?}"));
    assert_eq!(ana.exec(TICK, json!([])), json!([state, shown]));
}

/// The messages drawn in the open chat, top to bottom: `(from, id)`, the
/// sender told by the app's side (`mine`: the reader's own).
fn drawn_sides(browser: &Browser, me: &str, friend: &str) -> Vec<(String, String)> {
    let drawn = browser.exec(
        "return [...document.querySelectorAll('#messages li.msg')].map((li) => [li.classList.contains('mine'), li.dataset.id])",
        json!([]),
    );
    let drawn: Vec<(bool, String)> = serde_json::from_value(drawn).expect("a list of messages");
    drawn.into_iter().map(|(mine, id)| ((if mine { me } else { friend }).to_string(), id)).collect()
}

/// Scrolls `browser`'s open chat to its start and checks it draws
/// `want`, every message once, on its side, in order.
fn whole_and_in_order(browser: &Browser, want: &[(String, String)], what: &str) {
    let ids = scroll_to_start(browser);
    assert_eq!(ids.len(), want.len(), "{what}: {} drawn of {}", ids.len(), want.len());
    let drawn = drawn_sides(browser, "ana", "bob");
    if let Some(i) = drawn.iter().zip(want).position(|(got, wanted)| got != wanted) {
        panic!("{what}: {:?} drawn where {:?} belongs", &drawn[i..(i + 4).min(drawn.len())], want[i]);
    }
}

#[test]
fn a_browser_on_a_follower_chats_with_one_on_the_leader_ticks_to_read_and_comes_back_to_the_whole_chat() {
    let cluster = Cluster::start();
    let (a, b) = leader_and_follower(&cluster, &[]);
    let (on_a, on_b) = (app_url(&a), app_url(&b));

    // ana finds bob by the start of his name (`PEOPLE`, a listing the
    // leader answers) and writes to him before his browser is open: stored (✓).
    let ana = logged_in(&on_b, "ana", LAPTOP.0, LAPTOP.1);
    ana.type_into("#new-chat-name", "bo");
    ana.click("#people button[data-user='bob']");
    ana.wait_for("document.getElementById('chat-title').textContent === 'bob' && !document.getElementById('composer').hidden");
    ana.type_into("#input", &format!("hi bob, from node b{ENTER}"));
    ticked(&ana, "RECEIVED", "✓");
    // bob's browser opens on a: the message reaches his device (✓✓).
    let bob = logged_in(&on_a, "bob", LAPTOP.0, LAPTOP.1);
    bob.wait_for("document.querySelector(\"#chat-list button[data-chat='ana'] .chat-last\")?.textContent === 'hi bob, from node b'");
    ticked(&ana, "DELIVERED", "✓✓");
    // He opens the chat: read, and he replies; ana's open chat reads it.
    open_chat(&bob, "ana");
    bob.wait_for("[...document.querySelectorAll('#messages .msg:not(.mine) .text')].some((e) => e.textContent === 'hi bob, from node b')");
    ticked(&ana, "READ", "✓✓");
    bob.type_into("#input", &format!("hi ana, from node a{ENTER}"));
    ana.wait_for("[...document.querySelectorAll('#messages .msg:not(.mine) .text')].some((e) => e.textContent === 'hi ana, from node a')");
    bob.wait_for(
        "[...document.querySelectorAll('#messages .msg.mine .tick')].at(-1)?.dataset.state === 'READ'",
    );
    let texts = ana.exec(
        "return [...document.querySelectorAll('#messages .msg .text')].map((e) => e.textContent)",
        json!([]),
    );
    assert_eq!(texts, json!(["hi bob, from node b", "hi ana, from node a"]));
    let mut sent = drawn_sides(&ana, "ana", "bob");
    assert_eq!(sent.iter().map(|(from, _)| from.as_str()).collect::<Vec<_>>(), ["ana", "bob"]);

    // Away: ana's page left; her other device on b and bob on a write 300.
    ana.goto("about:blank");
    let mut mine = b.login_send("ana", "pw-ana");
    let mut theirs = a.login_send("bob", "pw-bob");
    sent.extend(interleaved_from(("ana", &mut mine), ("bob", &mut theirs), 0, AWAY));
    // Back: the page reloaded, then a new browser (a profile that holds none of it).
    log_in_again(&ana, &on_b, "ana");
    open_chat(&ana, "bob");
    whole_and_in_order(&ana, &sent, "ana's page reloaded on b");
    let fresh = logged_in(&on_b, "ana", LAPTOP.0, LAPTOP.1);
    open_chat(&fresh, "bob");
    whole_and_in_order(&fresh, &sent, "a new browser on b");
    // Ten more while both of ana's pages are open: they arrive live.
    sent.extend(interleaved_from(("ana", &mut mine), ("bob", &mut theirs), AWAY, LIVE));
    // bob's page, open all along, has ana's side live; his own side,
    // written from a raw connection that is no device of his (it has no
    // receive connection), is copied to no device (docs/PROTOCOL.md §16).
    let his: Vec<(String, String)> = sent
        .iter()
        .enumerate()
        .filter(|(i, (from, _))| *i < 2 || from == "ana")
        .map(|(_, m)| m.clone())
        .collect();
    let pages = [
        (&ana, "ana", &sent, "ana's reloaded page"),
        (&fresh, "ana", &sent, "ana's new browser"),
        (&bob, "bob", &his, "bob's page"),
    ];
    for (page, me, want, what) in pages {
        let friend = if me == "ana" { "bob" } else { "ana" };
        eventually_or(
            READ_TIMEOUT,
            || drawn_sides(page, me, friend).len() == want.len(),
            || {
                let drawn = drawn_sides(page, me, friend);
                let missing: Vec<&(String, String)> = want.iter().filter(|m| !drawn.contains(m)).collect();
                format!("{what}: {} drawn of {}, missing {missing:?}", drawn.len(), want.len())
            },
        );
        assert!(drawn_sides(page, me, friend) == *want, "{what}: every message live, in order");
    }
}

/// `caller` calls `callee_name` (in `callee`'s browser) with `media`: it
/// rings there, `callee` answers, the media flow both ways, `hanging_up`
/// (one of the two) ends it, and both screens close.
fn call(caller: &Browser, (callee, callee_name): (&Browser, &str), media: &str, hanging_up: &Browser) {
    open_chat(caller, callee_name);
    caller.wait_for(&format!("!document.getElementById('call-{media}').hidden"));
    caller.click(&format!("#call-{media}"));
    callee.wait_for(&format!(
        "{CALL_SCREEN}?.dataset.state === 'ringing-here' && {CALL_SCREEN}.dataset.media === '{media}'"
    ));
    callee.wait_for(&format!("{CALL_SCREEN}.dataset.tone === 'ringtone'"));
    caller.wait_for(&format!("{CALL_SCREEN}?.dataset.tone === 'ringback'"));
    callee.click(".call-answer");
    for side in [caller, callee] {
        side.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundAudio) > 0"));
        side.wait_for(&format!("{CALL_SCREEN}.dataset.tone === ''"));
        if media == "video" {
            side.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundVideo) > 0"));
        }
    }
    // Flowing, not a first packet: 20 KB more of audio on each side.
    for side in [caller, callee] {
        let audio = call_data(side, "inboundAudio");
        side.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundAudio) > {}", audio + 20_000));
    }
    let path = caller.wait_for(&format!("{CALL_SCREEN}?.dataset.path"));
    assert_eq!(path, callee.wait_for(&format!("{CALL_SCREEN}?.dataset.path")), "both ends see one path");
    assert_eq!(path, json!("host"), "on loopback the media go straight");
    hanging_up.click(".call-hangup");
    for side in [caller, callee] {
        side.wait_for(&format!("!{CALL_SCREEN}"));
    }
    // The caller's own line says which way the call went.
    let line = format!("Outgoing {media} call, 0:");
    caller.wait_for(&format!(
        "[...document.querySelectorAll('#messages .call-log .text')].some((e) => e.textContent.startsWith({line:?}))"
    ));
}

#[test]
fn a_browser_on_a_follower_calls_one_on_the_leader_with_video_and_is_called_back_with_voice() {
    let cluster = Cluster::start();
    let (a, b) = leader_and_follower(&cluster, &["--ring-seconds", "30"]);
    let ana = logged_in_with(&app_url(&b), "ana", LAPTOP, &CALL_FLAGS);
    let bob = logged_in_with(&app_url(&a), "bob", LAPTOP, &CALL_FLAGS);
    call(&ana, (&bob, "bob"), "video", &ana);
    call(&bob, (&ana, "ana"), "voice", &bob);
    // Each call's line in ana's chat, from the log b holds.
    open_chat(&ana, "bob");
    let lines: Value = ana.wait_for(
        "((l) => l.length === 2 && l)([...document.querySelectorAll('#messages .call-log .text')].map((e) => e.textContent))",
    );
    let lines: Vec<String> = serde_json::from_value(lines).unwrap();
    assert!(
        lines[0].starts_with("Outgoing video call, 0:") && lines[1].starts_with("Incoming voice call, 0:"),
        "{lines:?}"
    );
}
