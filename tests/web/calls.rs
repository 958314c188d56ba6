//! Calls in the browser (protocol 1.2, §24; web/call.js), with real
//! media: three headless chromiums on loopback, each its own device, with
//! chromium's fake camera and microphone: ana, and bob on a phone and a
//! laptop. Voice and video, each way, direct and forced through the
//! documented coturn (`iceTransportPolicy: "relay"`): every device of the
//! callee rings (a ringtone, the caller a ringback), the one that answers
//! takes the call and the others stop, the media flow both ways and grow
//! (`getStats()`, which the in-call screen shows behind "Details"), a
//! hang-up ends both, and each call leaves its line in the chat of both,
//! said from each side, there after a reload. A video offer and answer
//! are over 4,096 bytes (a message's limit, which once kept video calls
//! from ringing). A stranger's `END` with the same call id ends nothing.
//! And (1.3) calls across two linked servers, direct and through each
//! side's coturn, a phone on one and a laptop on the other; a call to a
//! server that does not carry calls says so.
//!
//! Prints the time from the answer to the first audio and video bytes,
//! and what the server spent; asserts no figure.

use super::support;

use std::process::Command;
use std::time::Instant;

use serde_json::json;
use support::TestServer;
use support::browser::Browser;
use support::coturn::{self, Coturn};
use support::federation;
use support::ports::free_port;
use support::webapp::{CALL_FLAGS, CALL_SCREEN, ENTER, app_url, call_data, log_in_again, web_server};

/// The page's peer connections, kept as call.js makes them (the test's
/// own hook, not the app's), to read the SDPs that crossed the server.
const KEEP_PEERS: &str = "if (!window.keptPeers) {
    const Real = window.RTCPeerConnection;
    window.keptPeers = [];
    window.RTCPeerConnection = function (...args) { const pc = new Real(...args); window.keptPeers.push(pc); return pc; };
  }";

/// A phone's window, where the call's screen fills it.
const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1000, 800);

fn browser(url: &str, user: &str, relay: bool, (width, height): (u32, u32)) -> Browser {
    let browser = Browser::start_with(width, height, "en-US", &CALL_FLAGS);
    browser.goto(url);
    if relay {
        // What docs/CALLS.md tells a student to type: the relay forced.
        browser.exec("localStorage.setItem('wachat:relay', '1')", json!([]));
    }
    browser.type_into("#user", user);
    browser.type_into("#password", &format!("pw-{user}"));
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    browser.exec(KEEP_PEERS, json!([]));
    browser
}

fn open_chat(browser: &Browser, name: &str) {
    browser.type_into("#new-chat-name", &format!("{name}{ENTER}"));
    browser.wait_for(&format!(
        "document.getElementById('chat-title').textContent === {name:?} && !document.getElementById('call-voice').hidden"
    ));
}

/// Keeps what `browser` shows as `name`.png, to look at
/// (`target/tmp/screenshots/`; the ones in docs/ are copies).
fn shot(browser: &Browser, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot()).unwrap();
}

/// On a phone the call's screen fills the window, and its buttons are
/// targets of 44 px or more.
fn fills_a_phone(browser: &Browser) {
    let sizes = browser.exec(
        &format!(
            "const r = {CALL_SCREEN}.getBoundingClientRect();
             const buttons = [...{CALL_SCREEN}.querySelectorAll('.call-icon')].map(b => b.getBoundingClientRect());
             return [r.width === innerWidth && r.height === innerHeight, buttons.length, Math.min(...buttons.map(b => Math.min(b.width, b.height)))]"
        ),
        json!([]),
    );
    assert_eq!(sizes[0], json!(true), "full screen: {sizes}");
    assert!(sizes[1].as_u64().unwrap() >= 2 && sizes[2].as_f64().unwrap() >= 44.0, "{sizes}");
}

/// One call: `caller` (on `caller_name`) calls `callee_name` with `media`;
/// every device of `ringing` rings, `answering` (one of them) answers and
/// the others stop; the media flow; `caller` hangs up. Returns the path
/// the media took (`host` or `relay`).
fn call(
    server: &TestServer,
    caller: (&Browser, &str),
    callee: (&str, &[&Browser]),
    answering: &Browser,
    media: &str,
) -> String {
    let ((caller, caller_name), (callee_name, ringing)) = (caller, callee);
    let path_name = if caller.exec("return localStorage.getItem('wachat:relay')", json!([])) == json!("1") {
        "through coturn"
    } else {
        "direct"
    };
    open_chat(caller, callee_name);
    let web_port = server.web.expect("the web port").port();
    let (cpu_start, bytes_start) = (cpu_ms(server.pid()), tcp_bytes(web_port));
    caller.click(&format!("#call-{media}"));
    for device in ringing {
        device.wait_for(&format!(
            "{CALL_SCREEN}?.dataset.state === 'ringing-here' && {CALL_SCREEN}.dataset.media === '{media}'"
        ));
        // The ringtone runs (an AudioContext playing), made in the page.
        device.wait_for(&format!("{CALL_SCREEN}.dataset.tone === 'ringtone'"));
        if device.exec("return innerWidth", json!([])) == json!(PHONE.0) {
            fills_a_phone(device);
            shot(device, &format!("web-call-incoming-{media}-phone"));
        }
    }
    caller.wait_for(&format!("{CALL_SCREEN}?.dataset.tone === 'ringback'"));
    let answered = Instant::now();
    answering.click(".call-answer");
    for device in ringing.iter().filter(|d| !std::ptr::eq(**d, answering)) {
        // The others hear it was taken: "answered on another device".
        device.wait_for(&format!("!{CALL_SCREEN}"));
        device.wait_for("document.getElementById('typing').textContent === 'Answered on another device'");
    }
    let sides = [caller, answering];
    for side in sides {
        side.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundAudio) > 0"));
        side.wait_for(&format!("{CALL_SCREEN}.dataset.tone === ''"));
        if media == "video" {
            side.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundVideo) > 0"));
            side.wait_for(&format!("{CALL_SCREEN}.querySelector('video.self').srcObject"));
        }
    }
    // call.js times it in each browser, from its side of the answer to its first bytes.
    let timing = |side: &Browser| {
        let audio =
            side.wait_for(&format!("{CALL_SCREEN}?.dataset.mediaMs")).as_str().unwrap_or("").to_string();
        let video = match media {
            "video" => format!(
                ", video {} ms",
                side.wait_for(&format!("{CALL_SCREEN}?.dataset.videoMs")).as_str().unwrap_or("")
            ),
            _ => String::new(),
        };
        format!("audio {audio} ms{video}")
    };
    println!(
        "{media} call {caller_name} -> {callee_name}, {path_name}: first media after the answer: {} ({caller_name}), {} ({callee_name}); {} ms as the test polls",
        timing(caller),
        timing(answering),
        answered.elapsed().as_millis()
    );
    if media == "video" {
        // The SDPs that crossed the server, over a message's 4,096 bytes.
        let sdp = |side: &Browser, which: &str| {
            side.exec(&format!("return window.keptPeers.at(-1).{which}.sdp.length"), json!([]))
                .as_u64()
                .unwrap()
        };
        let (offer, answer) = (sdp(answering, "remoteDescription"), sdp(caller, "remoteDescription"));
        println!(
            "{media} call {caller_name} -> {callee_name}: the offer {offer} bytes, the answer {answer} bytes"
        );
        assert!(offer > 4096 && answer > 4096, "offer {offer}, answer {answer}: not past a message's limit");
    }
    let (cpu, bytes) = (cpu_ms(server.pid()), tcp_bytes(web_port));
    println!(
        "{path_name}: the signalling took {} ms of the server's CPU and {} bytes on its web port",
        cpu - cpu_start,
        bytes.saturating_sub(bytes_start)
    );
    // A window of the call: 20 KB more of audio on the caller's side, and
    // what the server spent meanwhile: its PINGs, nothing of the media.
    let audio = call_data(caller, "inboundAudio");
    caller.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundAudio) > {}", audio + 20_000));
    let (cpu, audio) = (cpu_ms(server.pid()) - cpu, call_data(caller, "inboundAudio") - audio);
    let bytes = tcp_bytes(web_port).saturating_sub(bytes);
    println!(
        "{path_name}: while {audio} bytes of audio arrived, the server used {cpu} ms of CPU and carried {bytes} bytes"
    );
    assert_eq!(udp_sockets(server.pid()), 0, "the server holds no UDP socket: no media reach it");
    assert!(bytes < audio / 4, "the server's {bytes} bytes cannot carry {audio} bytes of audio");
    for side in sides {
        if side.exec("return innerWidth", json!([])) == json!(PHONE.0) {
            fills_a_phone(side);
            shot(side, &format!("web-call-{media}-phone"));
        } else {
            shot(side, &format!("web-call-{media}"));
        }
    }
    // The connection's facts wait behind "Details".
    let details =
        caller.exec(&format!("return {CALL_SCREEN}.querySelector('details.call-details').open"), json!([]));
    assert_eq!(details, json!(false), "the details are folded");
    let path = caller.wait_for(&format!("{CALL_SCREEN}?.dataset.path")).as_str().unwrap_or("").to_string();
    let other_path =
        answering.wait_for(&format!("{CALL_SCREEN}?.dataset.path")).as_str().unwrap_or("").to_string();
    assert_eq!(path, other_path, "both ends see one path");

    caller.click(".call-hangup");
    for side in sides {
        side.wait_for(&format!("!{CALL_SCREEN}"));
    }
    // Its line in the caller's open chat, from the server.
    let line = format!("Outgoing {media} call, 0:");
    caller.wait_for(&format!(
        "[...document.querySelectorAll('#messages .call-log .text')].some(e => e.textContent.startsWith({line:?}))"
    ));
    path
}

/// The calls of one path: voice ana → bob (both of bob's devices ring, the
/// phone answers), video bob → ana, video ana → bob (the laptop answers);
/// then the lines they left, as each side says them, after a reload; and
/// a missed and a declined call.
fn calls_both_ways(server: &TestServer, url: &str, relay: bool) -> Vec<String> {
    let ana = browser(url, "ana", relay, LAPTOP);
    let phone = browser(url, "bob", relay, PHONE);
    let laptop = browser(url, "bob", relay, LAPTOP);
    let paths = vec![
        call(server, (&ana, "ana"), ("bob", &[&phone, &laptop]), &phone, "voice"),
        call(server, (&phone, "bob"), ("ana", &[&ana]), &ana, "video"),
        call(server, (&ana, "ana"), ("bob", &[&phone, &laptop]), &laptop, "video"),
    ];
    // ana gives up before bob answers: a missed call; then bob declines one.
    ana.click("#call-voice");
    phone.wait_for(&format!("{CALL_SCREEN}?.dataset.state === 'ringing-here'"));
    ana.wait_for(&format!("{CALL_SCREEN}?.dataset.tone === 'ringback'"));
    ana.click(".call-hangup");
    phone.wait_for(&format!("!{CALL_SCREEN}"));
    laptop.wait_for(&format!("!{CALL_SCREEN}"));
    ana.click("#call-video");
    phone.wait_for(&format!("{CALL_SCREEN}?.dataset.state === 'ringing-here'"));
    phone.click(".call-decline");
    ana.wait_for(&format!("!{CALL_SCREEN}"));

    // Each side's chat, after a reload: the lines from the server, each
    // said from its side, in order.
    let lines = |browser: &Browser, user: &str, peer: &str| {
        log_in_again(browser, url, user);
        open_chat(browser, peer);
        // Each line once said from this side (calllog.js loads after the reload).
        browser.wait_for("document.querySelectorAll('#messages .call-log .text[data-said]').length >= 5");
        let texts = browser.exec(
            "return [...document.querySelectorAll('#messages .call-log .text')].map(e => e.textContent)",
            json!([]),
        );
        let texts: Vec<String> = serde_json::from_value(texts).unwrap();
        texts
            .into_iter()
            .map(|t| t.rsplit_once(", 0:").map_or(t.clone(), |(start, _)| format!("{start}, 0:…")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines(&ana, "ana", "bob"),
        [
            "Outgoing voice call, 0:…",
            "Incoming video call, 0:…",
            "Outgoing video call, 0:…",
            "Outgoing voice call, no answer",
            "Outgoing video call, declined"
        ]
    );
    assert_eq!(
        lines(&phone, "bob", "ana"),
        [
            "Incoming voice call, 0:…",
            "Outgoing video call, 0:…",
            "Incoming video call, 0:…",
            "Missed voice call",
            "Declined incoming video call"
        ]
    );
    shot(&phone, "web-call-log-phone");
    paths
}

#[test]
fn voice_and_video_calls_both_ways_ring_and_flow_browser_to_browser() {
    let (server, url) = web_server(&["--ring-seconds", "30"]);
    server.register(&["ana", "bob"]);
    let paths = calls_both_ways(&server, &url, false);
    assert!(
        paths.iter().all(|p| p == "host"),
        "on loopback the media go straight, not through wachat: {paths:?}"
    );
}

/// The same calls forced through docs/CALLS.md's coturn, with the
/// credentials wachat hands out for each call; on loopback it listens
/// there and allows the one peer address the browsers use.
#[test]
fn the_same_calls_through_the_documented_coturn() {
    let extra = [&coturn::ON_LOOPBACK[..2], &coturn::ONE_LOOPBACK_PEER[..]].concat();
    let coturn = Coturn::documented(&extra);
    let url = coturn.url();
    let (server, web) =
        web_server(&["--ring-seconds", "30", "--turn", &url, "--turn-secret", coturn::SECRET]);
    server.register(&["ana", "bob"]);
    let paths = calls_both_ways(&server, &web, true);
    assert!(paths.iter().all(|p| p == "relay"), "{paths:?}");
}

/// Two servers of a class network (1.3, §27), linked, each serving the
/// browser app with `--ring-seconds 30` and, `relay`ed, a coturn of its
/// own (each browser takes its credentials from its own server): ana on
/// lab1 with a phone, bob on lab2 with a laptop. A video call each way,
/// answered and hung up, its line in both chats; then a missed call
/// across, said from each side.
fn calls_across_two_servers(relay: bool) -> Vec<String> {
    let root = tempfile::tempdir().unwrap();
    let extra = [&coturn::ON_LOOPBACK[..2], &coturn::ONE_LOOPBACK_PEER[..]].concat();
    let coturns = relay.then(|| [Coturn::documented(&extra), Coturn::documented(&extra)]);
    let roster = root.path().join("class.csv");
    let ports = [("lab1", free_port()), ("lab2", free_port())];
    federation::write_roster(&roster, &ports, "");
    let lab = |i: usize| {
        let (name, port) = ports[i];
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let turn = coturns.as_ref().map(|c| c[i].url()).unwrap_or_default();
        // A browser's timeout (a busy machine films, encodes and decodes
        // two video calls' worth), not the link tests' 4 s.
        let mut flags = vec!["--web-port", "0", "--ring-seconds", "30", "--timeout", "10"];
        if relay {
            flags.extend(["--turn", &turn, "--turn-secret", coturn::SECRET]);
        }
        federation::start(["lab1", "lab2"][i], &dir, &roster, port, &flags)
    };
    let (lab1, lab2) = (lab(0), lab(1));
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let ana = browser(&app_url(&lab1.server), "ana", relay, PHONE);
    let bob = browser(&app_url(&lab2.server), "bob", relay, (1280, 800));
    let paths = vec![
        call(&lab1.server, (&ana, "ana"), ("bob@lab2", &[&bob]), &bob, "video"),
        call(&lab2.server, (&bob, "bob"), ("ana@lab1", &[&ana]), &ana, "video"),
    ];
    // A missed call across: ana gives up before bob answers.
    if ana.exec("return !!document.getElementById('back')?.offsetParent", json!([])) == json!(true) {
        ana.click("#back"); // a phone shows the list or a chat
    }
    open_chat(&ana, "bob@lab2");
    ana.click("#call-voice");
    bob.wait_for(&format!("{CALL_SCREEN}?.dataset.state === 'ringing-here'"));
    ana.wait_for(&format!("{CALL_SCREEN}?.dataset.tone === 'ringback'"));
    ana.click(".call-hangup");
    bob.wait_for(&format!("!{CALL_SCREEN}"));
    // Each side's chat: the three lines, each said from its side.
    let lines = |browser: &Browser, want: &[&str]| {
        let want = serde_json::to_string(want).unwrap();
        let said = "[...document.querySelectorAll('#messages .call-log .text')].map(e => e.textContent.replace(/, 0:[0-9]+$/, ', 0:…'))";
        browser.wait_for(&format!("JSON.stringify({said}.slice(-3)) === {want:?}"));
    };
    lines(&ana, &["Outgoing video call, 0:…", "Incoming video call, 0:…", "Outgoing voice call, no answer"]);
    lines(&bob, &["Incoming video call, 0:…", "Outgoing video call, 0:…", "Missed voice call"]);
    shot(&ana, "web-call-across-log-phone");
    paths
}

#[test]
fn video_calls_across_two_linked_servers_each_way_go_direct() {
    let paths = calls_across_two_servers(false);
    assert!(paths.iter().all(|p| p == "host"), "{paths:?}");
}

#[test]
fn video_calls_across_two_linked_servers_go_through_each_side_s_coturn() {
    let paths = calls_across_two_servers(true);
    assert!(paths.iter().all(|p| p == "relay"), "{paths:?}");
}

/// A user of a server that does not carry calls (the tiny server, in
/// lab1's network): 📞 says why, in words, and nothing rings there.
#[test]
fn a_call_to_a_server_that_does_not_carry_calls_says_why() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let ports = [("lab1", free_port()), ("lab3", free_port())];
    federation::write_roster(&roster, &ports, "");
    let (dir1, dir3) = (root.path().join("lab1"), root.path().join("lab3"));
    std::fs::create_dir_all(&dir1).unwrap();
    let lab1 = federation::start("lab1", &dir1, &roster, ports[0].1, &["--web-port", "0", "--timeout", "10"]);
    federation::give_key(&roster, "lab3", &dir3);
    let (path, link) = (roster.display().to_string(), ports[1].1.to_string());
    let args = ["--name", "lab3", "--peers", &path, "--link-port", &link, "--timeout", "10"];
    let lab3 = support::tiny::Tiny::start_with(&dir3, ["0", "0"], &args);
    lab1.server.register(&["ana"]);
    let send: u16 = lab3.ports[0].parse().unwrap();
    let mut carl = support::Conn::connect(([127, 0, 0, 1], send).into());
    assert_eq!(carl.request("REGISTER:carl::pw-carl"), "OK:carl");

    let ana = browser(&app_url(&lab1.server), "ana", false, PHONE);
    open_chat(&ana, "carl@lab3");
    ana.click("#call-voice");
    ana.wait_for(
        "document.getElementById('typing').textContent === 'Call failed: lab3 does not carry calls'",
    );
    ana.wait_for(&format!("!{CALL_SCREEN}"));
    shot(&ana, "web-call-no-calls-phone");
}

/// A stranger who rings bob with the id of ana's call while it rings,
/// then hangs up, ends nothing of ana's call: bob's browser hears an
/// `END` from carl for an id it knows, and checks who sent it.
#[test]
fn an_end_from_someone_else_with_the_same_id_ends_nothing() {
    let (server, url) = web_server(&["--ring-seconds", "30"]);
    server.register(&["ana", "bob", "carl"]);
    let ana = browser(&url, "ana", false, LAPTOP);
    let bob = browser(&url, "bob", false, LAPTOP);
    open_chat(&ana, "bob");
    ana.click("#call-voice");
    let id = bob
        .wait_for(&format!("{CALL_SCREEN}?.dataset.state === 'ringing-here' && {CALL_SCREEN}.dataset.call"));
    let id = id.as_str().unwrap().to_string();

    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(
        carl.request(&format!("CALL:bob:{id}:OFFER:voice:v=0\\n")),
        "OK",
        "carl rings bob with ana's id"
    );
    assert_eq!(carl.request(&format!("CALL:bob:{id}:HANGUP")), "OK");
    // carl's missed call reached bob's chat list; ana's call rings on.
    bob.wait_for("[...document.querySelectorAll('#chat-list li')].some(e => e.textContent.includes('carl'))");
    assert_eq!(bob.exec(&format!("return {CALL_SCREEN}?.dataset.call"), json!([])), json!(id));
    bob.click(".call-answer");
    bob.wait_for(&format!("Number({CALL_SCREEN}?.dataset.inboundAudio) > 0"));
    ana.click(".call-hangup");
    bob.wait_for(&format!("!{CALL_SCREEN}"));
}

/// CPU time of process `pid`, user and system, in ms (`/proc/<pid>/stat`,
/// in clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) * 10
}

/// Bytes sent and received by the server's sockets on `port` (its
/// WebSockets), as the kernel counts them (`ss -ti`).
fn tcp_bytes(port: u16) -> u64 {
    let out =
        Command::new("ss").args(["-tinH", "state", "established", &format!("( sport = :{port} )")]).output();
    let text = String::from_utf8_lossy(&out.expect("ss (iproute2)").stdout).to_string();
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("bytes_sent:").or_else(|| w.strip_prefix("bytes_received:")))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

/// How many UDP sockets process `pid` holds: its descriptors' socket
/// inodes found in the kernel's UDP tables (`/proc/<pid>/io` counts no UDP,
/// so the sockets are what shows where media could go).
fn udp_sockets(pid: u32) -> usize {
    let mut udp = String::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        udp.push_str(&std::fs::read_to_string(table).unwrap_or_default());
    }
    let inodes: Vec<&str> = udp.lines().skip(1).filter_map(|l| l.split_whitespace().nth(9)).collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            link.to_string_lossy().strip_prefix("socket:[")?.strip_suffix(']').map(String::from)
        })
        .filter(|inode| inodes.contains(&inode.as_str()))
        .count()
}
