//! Calls in the browser (protocol 1.2, §24; web/call.js), with real
//! media: three headless chromiums on loopback, each its own device, with
//! chromium's fake camera and microphone. ana calls bob, both of bob's
//! devices ring, one answers, and `getStats()` (which call.js shows on the
//! in-call screen) has the inbound audio growing on both sides; a hang-up
//! ends both. Then the same call forced through a coturn on loopback
//! (`iceTransportPolicy: "relay"`), with the credentials wachat hands out.
//!
//! Prints the time from the answer to media flowing; asserts no figure.

use super::support;

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::json;
use support::TestServer;
use support::browser::Browser;
use support::webapp::{ENTER, web_server};

/// chromium's flags for a call on one machine: a fake camera and
/// microphone that need no permission prompt, and host candidates with
/// real addresses instead of mDNS names (which nothing resolves here);
/// loopback candidates for a machine whose only interface is `lo`.
const CALL_FLAGS: [&str; 4] = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
];

/// The call's screen, as call.js draws it.
const SCREEN: &str = "document.querySelector('.call-screen')";

fn browser(url: &str, user: &str, relay: bool) -> Browser {
    let browser = Browser::start_with(1000, 800, "en-US", &CALL_FLAGS);
    browser.goto(url);
    if relay {
        // What docs/CALLS.md tells a student to type: the relay forced.
        browser.exec("localStorage.setItem('wachat:relay', '1')", json!([]));
    }
    browser.type_into("#user", user);
    browser.type_into("#password", &format!("pw-{user}"));
    browser.click("#login-button");
    browser.wait_for("!document.getElementById('app').hidden && document.querySelector('#status.online')");
    browser
}

/// Inbound audio bytes on `browser`'s call screen (from getStats).
fn inbound_audio(browser: &Browser) -> u64 {
    let value = browser.exec(&format!("return Number({SCREEN}?.dataset.inboundAudio || 0)"), json!([]));
    value.as_u64().unwrap_or(0)
}

/// ana calls bob, who has two devices; one answers, the other stops
/// ringing; the media flow both ways and grow; ana hangs up. The path the
/// media took, as ana's browser saw it (`host` or `relay`). Prints what
/// the server spent meanwhile, and checks that no media byte went its way.
fn call(server: &TestServer, url: &str, relay: bool) -> String {
    let ana = browser(url, "ana", relay);
    let phone = browser(url, "bob", relay);
    let laptop = browser(url, "bob", relay);

    ana.type_into("#new-chat-name", &format!("bob{ENTER}"));
    ana.wait_for("document.getElementById('chat-title').textContent === 'bob' && !document.getElementById('call-voice').hidden");
    let web_port = server.web.expect("the web port").port();
    let (cpu_start, bytes_start) = (cpu_ms(server.pid()), tcp_bytes(web_port));
    ana.click("#call-voice");
    for device in [&phone, &laptop] {
        device.wait_for(&format!("{SCREEN}?.dataset.state === 'ringing-here'"));
    }
    let answered = Instant::now();
    phone.click(".call-answer");
    // The laptop hears the phone took it: "answered on another device".
    laptop.wait_for(&format!("!{SCREEN}"));
    laptop.wait_for("document.getElementById('typing').textContent === 'Answered on another device'");

    for side in [&ana, &phone] {
        side.wait_for(&format!("Number({SCREEN}?.dataset.inboundAudio) > 0"));
    }
    // call.js times it in each browser, from its side of the answer to its first audio byte.
    let after = |side: &Browser| {
        side.wait_for(&format!("{SCREEN}?.dataset.mediaMs")).as_str().unwrap_or("").to_string()
    };
    println!(
        "{}: first audio {} ms (ana) and {} ms (bob) after the answer; {} ms as the test polls",
        path_name(relay),
        after(&ana),
        after(&phone),
        answered.elapsed().as_millis()
    );
    // The signalling, from the call button to the media flowing: what the
    // server did for the call.
    let (cpu, bytes) = (cpu_ms(server.pid()), tcp_bytes(web_port));
    println!(
        "{}: the signalling took {} ms of the server's CPU and {} bytes on its web port",
        path_name(relay),
        cpu - cpu_start,
        bytes.saturating_sub(bytes_start)
    );
    // Then a window of the call: 20 KB more of audio on ana's side (some
    // seconds of chromium's fake beep in Opus), and what the server spent
    // meanwhile: its PINGs, nothing of the media.
    let (audio, bob_audio) = (inbound_audio(&ana), inbound_audio(&phone));
    for more in (5_000..=20_000).step_by(5_000) {
        ana.wait_for(&format!("Number({SCREEN}?.dataset.inboundAudio) > {}", audio + more));
    }
    let (cpu, audio) = (cpu_ms(server.pid()) - cpu, inbound_audio(&ana) - audio);
    phone.wait_for(&format!("Number({SCREEN}?.dataset.inboundAudio) > {bob_audio}")); // and bob's grows too
    // (An HTTP connection that closed meanwhile takes its bytes out of the sum.)
    let bytes = tcp_bytes(web_port).saturating_sub(bytes);
    println!(
        "{}: while ana received {audio} bytes of audio, the server used {cpu} ms of CPU and its web port carried {bytes} bytes",
        path_name(relay)
    );
    assert_eq!(udp_sockets(server.pid()), 0, "the server holds no UDP socket: no media reach it");
    assert!(bytes < audio / 4, "the server's {bytes} bytes cannot carry {audio} bytes of audio");
    let path = ana.wait_for(&format!("{SCREEN}?.dataset.path")).as_str().unwrap_or("").to_string();
    let phone_path = phone.wait_for(&format!("{SCREEN}?.dataset.path")).as_str().unwrap_or("").to_string();
    assert_eq!(path, phone_path, "both ends see one path");

    ana.click(".call-hangup");
    for side in [&ana, &phone] {
        side.wait_for(&format!("!{SCREEN}"));
    }
    // The call's line in ana's chat with bob.
    let line = ana.wait_for("document.querySelector('#messages .call-line')?.textContent");
    assert!(line.as_str().unwrap().starts_with("📞 voice call with bob, 0:"), "{line}");
    path
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

fn path_name(relay: bool) -> &'static str {
    if relay { "through coturn" } else { "direct" }
}

#[test]
fn ana_calls_bob_whose_two_devices_ring_and_the_media_flow_browser_to_browser() {
    let (server, url) = web_server(&["--ring-seconds", "30"]);
    server.register(&["ana", "bob"]);
    assert_eq!(call(&server, &url, false), "host", "on loopback the media go straight, not through wachat");
}

/// A coturn on loopback, as docs/CALLS.md starts one: `--use-auth-secret`
/// with the secret wachat shares, loopback peers allowed (else "403
/// Forbidden IP" and no media), on free ports.
struct Coturn {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Coturn {
    fn start(secret: &str) -> (Coturn, u16) {
        assert!(
            std::path::Path::new("/usr/bin/turnserver").exists(),
            "/usr/bin/turnserver is missing: install coturn (apt-get install -y coturn), or run .ci/test"
        );
        let free = || UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, low) = (free(), free());
        let (low, high) = (low.min(65000), low.min(65000) + 100);
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("/usr/bin/turnserver")
            .args(["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--realm=wachat"])
            .arg(format!("--listening-port={port}"))
            .arg(format!("--min-port={low}"))
            .arg(format!("--max-port={high}"))
            .args(["--use-auth-secret", &format!("--static-auth-secret={secret}"), "--allow-loopback-peers"])
            .args(["--no-cli", "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log"])
            .arg(format!("--pidfile={}", dir.path().join("turnserver.pid").display()))
            .arg(format!("--db={}", dir.path().join("turndb").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver");
        (Coturn { child, _dir: dir }, port)
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_same_call_forced_through_coturn_with_the_credentials_wachat_hands_out() {
    let (_coturn, port) = Coturn::start("north-wind");
    let turn = format!("turn:127.0.0.1:{port}");
    let (server, url) = web_server(&["--ring-seconds", "30", "--turn", &turn, "--turn-secret", "north-wind"]);
    server.register(&["ana", "bob"]);
    assert_eq!(call(&server, &url, true), "relay");
}
