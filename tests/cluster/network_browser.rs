//! A cluster in the class network (protocol 1.3, docs/PROTOCOL.md §27, "A
//! cluster in the network"), in the browser: the cluster `lab1` (leader
//! a, follower b, on the run's PostgreSQL) linked to a single server
//! `lab2`. ana's browser on the follower (or the leader), bob's on lab2,
//! at 390×844 and 1280×800 (each test one size for each), exchange what a WhatsApp user
//! exchanges: a message; a photo with its caption each way, opened in the
//! viewer, its bytes those sent; a reply drawn as a quote block on both
//! sides; and ana's message to a user lab2 does not have, shown failed
//! with lab2's reason.

use std::path::Path;

use base64::Engine as _;
use serde_json::json;

use super::support::browser::Browser;
use super::support::cluster::Cluster;
use super::support::federation::{give_key, roster_line};
use super::support::files::{fetch, photo, sha256};
use super::support::ports::free_port;
use super::support::webapp::{ENTER, app_url, logged_in, open_chat};
use super::support::{Conn, TestServer};

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

#[test]
fn a_user_on_a_cluster_follower_and_one_on_a_single_server_chat_on_a_phone() {
    cluster_and_single_server_in_the_browser(Node::Follower, PHONE, LAPTOP);
}

#[test]
fn a_user_on_a_cluster_follower_and_one_on_a_single_server_chat_on_a_laptop() {
    cluster_and_single_server_in_the_browser(Node::Follower, LAPTOP, PHONE);
}

#[test]
fn a_user_on_a_cluster_leader_and_one_on_a_single_server_chat_on_a_phone() {
    cluster_and_single_server_in_the_browser(Node::Leader, PHONE, LAPTOP);
}

/// Which node of the cluster ana's browser is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Leader,
    Follower,
}

/// Clicks, in the page, the first element `css` (a bubble's ⋯ is drawn
/// for the pointer over it on a laptop).
fn tap(browser: &Browser, css: &str) {
    browser.wait_for(&format!("document.querySelector({css:?})"));
    browser.exec("document.querySelector(arguments[0]).click()", json!([css]));
}

/// Picks `bytes` as the photo `name` with the 📎 button, types its
/// caption, and sends it.
fn send_photo(browser: &Browser, name: &str, bytes: &[u8], caption: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    browser.exec(
        "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
         const dt = new DataTransfer();
         dt.items.add(new File([bytes], arguments[1], { type: 'image/png' }));
         const picker = document.getElementById('attach-file');
         picker.files = dt.files;
         picker.dispatchEvent(new Event('change'));",
        json!([encoded, name]),
    );
    browser.wait_for("document.getElementById('attach-caption')");
    browser.type_into("#attach-caption", caption);
    browser.click("#attach-send");
}

/// The photo of another user in the open chat of `browser` whose caption
/// is `caption`: drawn from its thumbnail, opened in the viewer whole
/// (`width` pixels wide), the viewer closed again; its file id.
fn photo_opened(browser: &Browser, caption: &str, width: u32) -> String {
    let bubble = format!(
        "[...document.querySelectorAll('#messages .msg:not(.mine)')].find(m => m.querySelector('.text')?.textContent === {caption:?})"
    );
    let img = format!("{bubble}?.querySelector('.file img.thumb')");
    browser.wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth > 0"));
    browser.exec(&format!("{bubble}.querySelector('.file button.photo').click()"), json!([]));
    let full = "document.querySelector('.viewer img.full')";
    browser.wait_for(&format!(
        "{full}?.dataset.full === 'shown' && {full}.complete && {full}.naturalWidth === {width}"
    ));
    browser.exec(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
        json!([]),
    );
    browser.wait_for("!document.querySelector('.viewer')");
    let file = browser.exec(&format!("return {bubble}.querySelector('.file').dataset.file"), json!([]));
    file.as_str().unwrap_or_else(|| panic!("no file id: {file}")).to_string()
}

/// Whether the open chat shows the message `text`.
fn shows(text: &str) -> String {
    format!("[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === {text:?})")
}

/// The sha256 of the file `file` as `conn`'s user fetches it.
fn fetched(conn: &mut Conn, file: &str) -> String {
    sha256(&fetch(conn, file).unwrap_or_else(|ko| panic!("FETCH {file}: {ko}")))
}

/// `roster` with lab1 (the cluster, at node a's link port) and lab2.
fn write_roster(roster: &Path, lab1: u16, lab2: u16) {
    let lines = format!("{}\n{}\n", roster_line(roster, "lab1", lab1), roster_line(roster, "lab2", lab2));
    std::fs::write(roster, lines).unwrap();
}

/// ana's browser on the cluster's node `node` (`ana_size`), bob's on lab2
/// (`bob_size`).
fn cluster_and_single_server_in_the_browser(node: Node, ana_size: (u32, u32), bob_size: (u32, u32)) {
    let cluster = Cluster::start();
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let (port_a, port_b, port2) = (free_port(), free_port(), free_port());
    write_roster(&roster, port_a, port2);
    let roster_arg = roster.to_str().unwrap().to_string();
    let network = |name: &'static str, port: u16| -> Vec<String> {
        ["--name", name, "--peers", &roster_arg, "--link-port", &port.to_string(), "--web-port", "0"]
            .into_iter()
            .chain(["--timeout", "60"])
            .map(String::from)
            .collect()
    };
    // Both nodes hold lab1's link key (docs/CLUSTER-OPS.md).
    let (dir_a, dir_b, dir2) = (root.path().join("a"), root.path().join("b"), root.path().join("lab2"));
    give_key(&roster, "lab1", &dir_a);
    give_key(&roster, "lab1", &dir_b);
    give_key(&roster, "lab2", &dir2);
    let args_a = network("lab1", port_a);
    let a = TestServer::start_in(
        &dir_a,
        &cluster.node_args("a", &args_a.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    a.wait_for_log("node a leads (epoch 1");
    let args_b = network("lab1", port_b);
    let b = TestServer::start_in(
        &dir_b,
        &cluster.node_args("b", &args_b.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    b.wait_for_log("this node follows");
    let args2 = network("lab2", port2);
    let lab2 = TestServer::start_in(&dir2, &args2.iter().map(String::as_str).collect::<Vec<_>>());
    a.register(&["ana"]);
    lab2.register(&["bob"]);

    let ana_node = if node == Node::Follower { &b } else { &a };
    let ana = logged_in(&app_url(ana_node), "ana", ana_size.0, ana_size.1);
    let bob = logged_in(&app_url(&lab2), "bob", bob_size.0, bob_size.1);
    ana.watch_errors();
    bob.watch_errors();

    // A message, from the follower to the single server.
    open_chat(&ana, "bob@lab2");
    ana.type_into("#input", &format!("hello from the cluster{ENTER}"));
    let button = "#chat-list button[data-chat='ana@lab1']";
    bob.wait_for(&format!("document.querySelector(\"{button}\")"));
    bob.click(button);
    bob.wait_for(&shows("hello from the cluster"));

    // A photo with its caption each way, opened in the other's viewer,
    // its bytes those sent: lab2's copy of ana's, the cluster's of bob's
    // (fetched through ana's node).
    let board = photo(1200, 900);
    send_photo(&ana, "board.png", &board, "the board");
    let file = photo_opened(&bob, "the board", 1200);
    assert_eq!(
        fetched(&mut lab2.login_send("bob", "pw-bob"), &file),
        sha256(&board),
        "lab2's copy of ana's photo"
    );
    let diagram = photo(800, 600);
    send_photo(&bob, "diagram.png", &diagram, "the diagram");
    let file = photo_opened(&ana, "the diagram", 800);
    assert_eq!(
        fetched(&mut ana_node.login_send("ana", "pw-ana"), &file),
        sha256(&diagram),
        "lab1's copy of bob's photo"
    );

    // bob answers ana's first message from its menu: a quote block on
    // both sides, under the name each side knows her by, no raw `> ` line.
    tap(&bob, "#messages .msg:not(.mine):not(:has(.file)) .more");
    tap(&bob, "#messages .menu button[data-act='reply']");
    bob.type_into("#input", &format!("hello from lab2{ENTER}"));
    let quoted = |who: &str| {
        format!(
            "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.text')?.textContent === 'hello from lab2')?.querySelector('.quote')?.textContent === '{who}: hello from the cluster'"
        )
    };
    bob.wait_for(&quoted("ana@lab1"));
    ana.wait_for(&quoted("ana"));
    for side in [&ana, &bob] {
        let raw = "return [...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent.startsWith('> '))";
        assert_eq!(side.exec(raw, json!([])), json!(false));
    }

    // A user lab2 does not have: lab2 refuses, the cluster bounces it to
    // ana's browser, failed, in lab2's words.
    if ana.exec("return !!document.getElementById('back')?.offsetParent", json!([])) == json!(true) {
        ana.click("#back"); // a phone shows the list or a chat
    }
    open_chat(&ana, "zed@lab2");
    ana.type_into("#input", &format!("anyone there?{ENTER}"));
    let why = "[...document.querySelectorAll('#messages .msg.mine.failed')].find(m => m.querySelector('.text')?.textContent === 'anyone there?')?.querySelector('.why')?.textContent";
    assert_eq!(ana.wait_for(why), json!("not delivered: lab2 refused it: lab2 has no user zed"));
    let tick =
        ana.exec("return document.querySelector('#messages .msg.mine .tick').dataset.state", json!([]));
    assert_eq!(tick, json!("FAILED"));
    assert_eq!(ana.errors(), json!([]));
    assert_eq!(bob.errors(), json!([]));
}
