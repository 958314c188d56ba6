//! Files across servers (protocol 1.3, docs/PROTOCOL.md §27, "Files
//! across servers"): a file, a photo with its caption and a voice note
//! sent to a user or a room of another server reach its recipients as
//! files — the `FILE` event, `FILEOF` and `FETCH` on the recipient's
//! server, the bytes equal by checksum — and a peer that does not carry
//! files has the message bounced in words.

use super::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::federation::{Lab, events_1_3, give_key, network, start, write_roster};
use support::files::{fetch, noise, photo, sha256, upload};
use support::ports::free_port;
use support::tiny::Tiny;
use support::{Conn, TestServer, without_ts};

/// How long the servers wait for a quiet connection (`--timeout`): the
/// tests' connections wait while browsers start on a loaded machine,
/// past 10 s at times.
const QUIET: &str = "60";

/// The fields of a `FILE` event: `(from, to, id, file id, size, type,
/// name, text)`.
fn file_event(event: &str) -> (String, String, String, String, u64, String, String, String) {
    let f: Vec<&str> = event.splitn(11, ':').collect();
    assert_eq!((f.len(), f[0]), (11, "FILE"), "a FILE event: {event}");
    let s = |i: usize| f[i].to_string();
    (s(2), s(3), s(4), s(6), f[7].parse().unwrap(), s(8), s(9), s(10))
}

/// Sends `bytes` as `name` from `conn` to `to` with `caption`; the `OK`'s time.
fn send_file(conn: &mut Conn, to: &str, id: &str, name: &str, bytes: &[u8], caption: &str) -> String {
    let file = upload(conn, name, bytes);
    let ok = conn.request(&format!("FILE:{to}:{id}:{file}:{caption}"));
    ok.strip_prefix(&format!("OK:{id}:")).unwrap_or_else(|| panic!("FILE: {ok}")).to_string()
}

/// The next event of `conn` that is not a presence line, a ping or a
/// status.
fn next_message(conn: &mut Conn) -> String {
    loop {
        let event = conn.next_event();
        if !event.starts_with("STATUS:") {
            return event;
        }
    }
}

/// Waits for the `STATUS` of message `id` in state `state`.
fn wait_status(conn: &mut Conn, id: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let event = conn.next_event();
        let f: Vec<&str> = event.split(':').collect();
        if f[0] == "STATUS" && f.get(3) == Some(&id) && f.get(4) == Some(&state) {
            return;
        }
    }
    panic!("no {state} for {id}");
}

#[test]
fn a_file_a_photo_and_a_voice_note_cross_to_a_user_each_way_whole() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &["--timeout", QUIET]);
    let (lab1, lab2) = (&labs[0].server, &labs[1].server);
    let [mut ana] = lab1.logged_in(["ana"]);
    let [mut bob] = lab2.logged_in(["bob"]);
    let mut ana_events = events_1_3(lab1, "ana");
    let mut bob_events = events_1_3(lab2, "bob");

    // A file of several parts (and not a whole number of them).
    let notes = noise(40_000, 7);
    let ts = send_file(&mut ana, "bob@lab2", "f1", "lab3 notes.bin", &notes, "for friday");
    let event = next_message(&mut bob_events);
    let (from, to, id, file, size, kind, name, text) = file_event(&event);
    assert_eq!((from.as_str(), to.as_str(), id.as_str()), ("ana@lab1", "bob", "f1"), "{event}");
    assert_eq!((size, kind.as_str(), name.as_str()), (40_000, "application/octet-stream", "lab3 notes.bin"));
    assert_eq!(text, "📎 lab3 notes.bin (40 KB) for friday");
    assert!(event.contains(&format!(":f1:{ts}:")), "the sender's time: {event}");
    let got = fetch(&mut bob, &file).unwrap();
    assert_eq!(sha256(&got), sha256(&notes), "the bytes, whole");
    assert_eq!(
        bob.request("FILEOF:ana@lab1:ana@lab1:f1"),
        format!("OK:{file}:40000:application/octet-stream:lab3 notes.bin")
    );
    let seq = event.split(':').nth(1).unwrap().to_string();
    bob_events.send(&format!("ACK:{seq}"));
    wait_status(&mut ana_events, "f1", "DELIVERED");
    // Nobody else on lab2 may fetch it.
    let [mut eve] = lab2.logged_in(["eve"]);
    assert!(fetch(&mut eve, &file).unwrap_err().starts_with("KO:UNKNOWN_FILE"));
    assert!(eve.request("FILEOF:ana@lab1:ana@lab1:f1").starts_with("KO:UNKNOWN_FILE"));

    // A photo with its caption, the other way: lab1 makes its thumbnail.
    let png = photo(320, 200);
    send_file(&mut bob, "ana@lab1", "p1", "whiteboard.png", &png, "the diagram");
    let event = next_message(&mut ana_events);
    let (from, _, id, file, size, kind, name, text) = file_event(&event);
    assert_eq!((from.as_str(), id.as_str(), kind.as_str()), ("bob@lab2", "p1", "image/png"), "{event}");
    assert_eq!((size, name.as_str()), (png.len() as u64, "whiteboard.png"));
    assert!(text.ends_with(" the diagram"), "{text}");
    assert_eq!(sha256(&fetch(&mut ana, &file).unwrap()), sha256(&png));
    let thumb = fetch(&mut ana, &format!("{file}-t")).unwrap();
    assert_eq!(&thumb[..3], &[0xff, 0xd8, 0xff], "a JPEG thumbnail made on lab1");

    // A voice note: its name says what it is.
    let voice = noise(9_214, 3);
    send_file(&mut ana, "bob@lab2", "v1", "voice-12s.webm", &voice, "");
    let event = next_message(&mut bob_events);
    let (_, _, id, file, _, _, name, text) = file_event(&event);
    assert_eq!(
        (id.as_str(), name.as_str(), text.as_str()),
        ("v1", "voice-12s.webm", "📎 voice-12s.webm (9 KB)")
    );
    assert_eq!(sha256(&fetch(&mut bob, &file).unwrap()), sha256(&voice));

    // A 1.0 client reads the message's text (the voice note, not
    // acknowledged, is replayed to it), and HISTORY has it.
    let mut old = lab2.login_recv("bob", "pw-bob");
    let replayed = without_ts(&old.next_msg());
    assert!(replayed.ends_with(":ana@lab1:bob:v1:<ts>:📎 voice-12s.webm (9 KB)"), "{replayed}");
    let history = bob.listing("HISTORY:ana@lab1:10");
    assert!(
        history.iter().any(|l| l.contains(":v1:") && l.ends_with("📎 voice-12s.webm (9 KB)")),
        "{history:?}"
    );
    // The same file sent again reaches lab2 once: one file there.
    let files_of = |dir: &Path| std::fs::read_dir(dir.join("files")).unwrap().count();
    let before = files_of(&labs[1].dir);
    let first = fetch_id(&mut ana, "bob@lab2", "f1");
    let ok = ana.request(&format!("FILE:bob@lab2:f2:{first}:again"));
    assert!(ok.starts_with("OK:f2:"), "{ok}");
    let event = old.next_msg();
    assert!(without_ts(&event).ends_with(":ana@lab1:bob:f2:<ts>:📎 lab3 notes.bin (40 KB) again"), "{event}");
    assert_eq!(file_event_file(&mut bob, "f2"), file_event_file(&mut bob, "f1"), "the same file");
    assert_eq!(files_of(&labs[1].dir), before, "no second copy of the bytes");
}

/// The file id the message `id` of ana to `to` carries, on her server.
fn fetch_id(ana: &mut Conn, to: &str, id: &str) -> String {
    let ok = ana.request(&format!("FILEOF:{to}:ana:{id}"));
    ok.strip_prefix("OK:").unwrap().split(':').next().unwrap().to_string()
}

/// The file id ana@lab1's message `id` carries on bob's server.
fn file_event_file(bob: &mut Conn, id: &str) -> String {
    let ok = bob.request(&format!("FILEOF:ana@lab1:ana@lab1:{id}"));
    ok.strip_prefix("OK:").unwrap().split(':').next().unwrap().to_string()
}

/// A peer that does not carry files (the tiny server) says so, and the
/// sender's server bounces the message with its words: never a text in
/// its place.
#[test]
fn a_file_to_a_server_that_does_not_carry_files_bounces_in_words() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let ports = [free_port(), free_port()];
    write_roster(&roster, &[("lab1", ports[0]), ("lab2", ports[1])], "");
    let path = roster.display().to_string();
    let lab2_dir = root.path().join("lab2");
    give_key(&roster, "lab2", &lab2_dir);
    let link2 = ports[1].to_string();
    let tiny_flags = ["--name", "lab2", "--peers", &path, "--link-port", &link2, "--timeout", "4"];
    let tiny = Tiny::start_with(&lab2_dir, ["0", "0"], &tiny_flags);
    let lab1_dir = root.path().join("lab1");
    let lab1 = start("lab1", &lab1_dir, &roster, ports[0], &[]);
    let mut bob = Conn::connect(format!("127.0.0.1:{}", tiny.ports[0]).parse().unwrap());
    assert_eq!(bob.request("REGISTER:bob::pw-bob"), "OK:bob");
    let mut bob_events = Conn::connect(format!("127.0.0.1:{}", tiny.ports[1]).parse().unwrap());
    assert_eq!(bob_events.request("LOGIN:bob:pw-bob"), "OK:bob");
    let [mut ana] = lab1.server.logged_in(["ana"]);
    let mut ana_events = events_1_3(&lab1.server, "ana");

    // Text crosses as always; the file is refused in words.
    assert!(ana.request("MSG:bob@lab2:m1:text crosses").starts_with("OK:m1:"));
    let first = bob_events.next_msg();
    assert!(first.contains(":ana@lab1:bob:m1:") && first.ends_with(":text crosses"), "{first}");
    send_file(&mut ana, "bob@lab2", "f1", "notes.txt", b"hello, lab 3\n", "for friday");
    let deadline = Instant::now() + Duration::from_secs(30);
    let bounce = loop {
        assert!(Instant::now() < deadline, "no bounce of f1");
        let event = ana_events.next_event();
        if event.starts_with("STATUS:") && event.contains(":f1:FAILED:") {
            break event;
        }
    };
    let reason = bounce.splitn(7, ':').nth(6).unwrap();
    assert_eq!(
        reason,
        "lab2 refused its file: lab2 does not carry files (a small server, §27): send the file's link as text"
    );
    // Messages after it go on; bob never got a text in the file's place.
    assert!(ana.request("MSG:bob@lab2:m2:after the file").starts_with("OK:m2:"));
    let next = bob_events.next_msg();
    assert!(next.contains(":ana@lab1:bob:m2:") && next.ends_with(":after the file"), "{next}");
}

/// Waits until `MEMBERS:#lab` on the home lists `n` members.
/// Three servers, lab1 to lab3, each with one user (ana, bob, carl)
/// logged in, all three in `#lab`, homed on lab2.
fn lab_room(root: &Path, flags: &[&str]) -> (Vec<Lab>, [Conn; 3]) {
    let labs = network(root, &["lab1", "lab2", "lab3"], flags);
    let [mut ana] = labs[0].server.logged_in(["ana"]);
    let [mut bob] = labs[1].server.logged_in(["bob"]);
    let [mut carl] = labs[2].server.logged_in(["carl"]);
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    assert_eq!(carl.request("JOIN:#lab@lab2"), "OK");
    members_are(&mut bob, 3);
    (labs, [ana, bob, carl])
}

fn members_are(bob: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while bob.listing("MEMBERS:#lab").len() < n {
        assert!(Instant::now() < deadline, "{n} members never joined");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next `FILE` event of `conn` in the room `room`.
fn room_file(conn: &mut Conn, room: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no FILE in {room}");
        let event = conn.next_event();
        if event.starts_with("FILE:") && event.split(':').nth(3) == Some(room) {
            return event;
        }
    }
}

#[test]
fn a_photo_with_its_caption_and_a_voice_note_cross_to_a_room_of_another_server() {
    let root = tempfile::tempdir().unwrap();
    let (labs, [mut ana, mut bob, mut carl]) = lab_room(root.path(), &["--timeout", QUIET]);
    let (lab1, lab2, lab3) = (&labs[0].server, &labs[1].server, &labs[2].server);
    let mut ana_events = events_1_3(lab1, "ana");
    let mut bob_events = events_1_3(lab2, "bob");
    let mut carl_events = events_1_3(lab3, "carl");

    // ana's photo: at the home, and on a third member server.
    let png = photo(400, 300);
    send_file(&mut ana, "#lab@lab2", "p1", "board.png", &png, "friday's diagram");
    let at_home = room_file(&mut bob_events, "#lab");
    let (from, _, id, file, size, kind, _, text) = file_event(&at_home);
    assert_eq!((from.as_str(), id.as_str(), kind.as_str()), ("ana@lab1", "p1", "image/png"), "{at_home}");
    let kb = (png.len() as u64).div_ceil(1024);
    assert_eq!((size, text), (png.len() as u64, format!("📎 board.png ({kb} KB) friday's diagram")));
    assert_eq!(sha256(&fetch(&mut bob, &file).unwrap()), sha256(&png));
    assert!(bob.request("FILEOF:#lab:ana@lab1:p1").starts_with(&format!("OK:{file}:")));
    let at_lab3 = room_file(&mut carl_events, "#lab@lab2");
    let (from, _, _, file3, _, kind, _, text) = file_event(&at_lab3);
    assert_eq!((from.as_str(), kind.as_str()), ("ana@lab1", "image/png"), "{at_lab3}");
    assert!(text.starts_with("[relayed by lab2] 📎 board.png"), "marked as the home's word: {text}");
    assert_eq!(sha256(&fetch(&mut carl, &file3).unwrap()), sha256(&png));
    assert!(fetch(&mut carl, &format!("{file3}-t")).is_ok(), "lab3 made its thumbnail");
    // On her own server the room's copy of her post carries her own file.
    let own = ana.request("FILEOF:#lab@lab2:ana:p1");
    let own =
        own.strip_prefix("OK:").unwrap_or_else(|| panic!("{own}")).split(':').next().unwrap().to_string();
    assert_eq!(sha256(&fetch(&mut ana, &own).unwrap()), sha256(&png));

    // bob's voice note in his room reaches both member servers.
    let voice = noise(20_000, 5);
    send_file(&mut bob, "#lab", "v1", "voice-3s.ogg", &voice, "");
    for (conn, events) in [(&mut ana, &mut ana_events), (&mut carl, &mut carl_events)] {
        let event = room_file(events, "#lab@lab2");
        let (from, _, id, file, _, _, name, _) = file_event(&event);
        assert_eq!(
            (from.as_str(), id.as_str(), name.as_str()),
            ("bob@lab2", "v1", "voice-3s.ogg"),
            "{event}"
        );
        assert_eq!(sha256(&fetch(conn, &file).unwrap()), sha256(&voice));
        let of = conn.request("FILEOF:#lab@lab2:bob@lab2:v1");
        assert_eq!(of, format!("OK:{file}:20000:application/octet-stream:voice-3s.ogg"));
    }
}

/// Bytes of the unfinished uploads in `dir`'s `files/` (`<id>.part`).
fn part_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir.join("files")) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

/// Waits until lab2 holds part of a file, not all of it, of `size` bytes.
fn wait_mid_transfer(lab2_dir: &Path, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = part_bytes(lab2_dir);
        if got > 0 && got < size {
            return;
        }
        assert!(Instant::now() < deadline, "no transfer under way ({got} bytes)");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// bob's `HISTORY` with ana@lab1 holds message `id` exactly once, and it
/// carries a file of `bytes`.
fn once_and_whole(lab2: &TestServer, id: &str, bytes: &[u8]) {
    let mut bob = lab2.login_send("bob", "pw-bob");
    let deadline = Instant::now() + Duration::from_secs(60);
    let of = loop {
        let of = bob.request(&format!("FILEOF:ana@lab1:ana@lab1:{id}"));
        if of.starts_with("OK:") || Instant::now() > deadline {
            break of;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let file = of.strip_prefix("OK:").unwrap_or_else(|| panic!("{id}: {of}")).split(':').next().unwrap();
    assert_eq!(sha256(&fetch(&mut bob, file).unwrap()), sha256(bytes), "{id} whole");
    let history = bob.listing("HISTORY:ana@lab1:100");
    assert_eq!(history.iter().filter(|l| l.split(':').nth(2) == Some(id)).count(), 1, "{history:?}");
}

#[test]
fn a_file_cut_by_kill_9_of_the_receiving_server_arrives_once_whole_after_the_restart() {
    file_cut_by_kill_9(1);
}

#[test]
fn a_file_cut_by_kill_9_of_the_sending_server_arrives_once_whole_after_the_restart() {
    file_cut_by_kill_9(0);
}

/// ana on lab1 sends bob on lab2 a message, a file of 12 MB and a
/// message after it, all `OK`'d; server `killed` (0: lab1, the sender's,
/// 1: lab2) is killed with SIGKILL while lab2 holds part of the bytes,
/// and started again on its data. The file arrives once and whole, the
/// messages once, in order around it; ana's ✓✓ of all three come once
/// bob's device has them; no unfinished upload is left on lab2.
fn file_cut_by_kill_9(killed: usize) {
    let root = tempfile::tempdir().unwrap();
    let mut labs = network(root.path(), &["lab1", "lab2"], &[]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    let roster = root.path().join("class.csv");
    let names = ["lab1", "lab2"];
    let (port, dir) = (labs[killed].link.port(), labs[killed].dir.clone());
    let lab2_dir = labs[1].dir.clone();
    // 1,000 parts: at most 1,000 frames a second on a link, so the
    // transfer lasts a second at least.
    let size = 1000 * 12_000;
    let bytes = noise(size, 11 + killed as u64);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob@lab2:m1:the recording comes next").starts_with("OK:m1:"));
    send_file(&mut ana, "bob@lab2", "f1", "lecture.mp4", &bytes, "the recording");
    assert!(ana.request("MSG:bob@lab2:m2:did it come whole?").starts_with("OK:m2:"));
    wait_mid_transfer(&lab2_dir, size as u64);
    labs[killed].server.kill();
    labs[killed] = start(names[killed], &dir, &roster, port, &[]);
    once_and_whole(&labs[1].server, "f1", &bytes);

    // bob's device gets the three once, in order; ana's ✓✓ follow its ACK.
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    let got: Vec<(String, String)> = (0..3)
        .map(|_| {
            let event = bob_events.next_msg();
            let f: Vec<&str> = event.split(':').collect();
            (f[1].to_string(), f[4].to_string())
        })
        .collect();
    let ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["m1", "f1", "m2"]);
    bob_events.send(&format!("ACK:{}", got[2].0));
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = ana.listing("HISTORY:bob@lab2:10");
        if history.iter().filter(|l| l.contains(":DELIVERED:")).count() == 3 {
            assert_eq!(history.len(), 3, "each message once: {history:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{history:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = labs[1].server.login_send("bob", "pw-bob").listing("HISTORY:ana@lab1:10");
    assert_eq!(history.len(), 3, "each message once on lab2: {history:?}");
    assert_eq!(part_bytes(&lab2_dir), 0, "no upload left unfinished on lab2");
}

#[test]
fn a_photo_and_a_voice_note_across_servers_in_the_browser_on_a_phone() {
    files_across_servers_in_the_browser((390, 844), (1280, 800));
}

#[test]
fn a_photo_and_a_voice_note_across_servers_in_the_browser_on_a_laptop() {
    files_across_servers_in_the_browser((1280, 800), (390, 844));
}

/// ana's browser on lab1 (`ana_size`) and bob's on lab2 (`bob_size`): bob's
/// photo with its caption shown in ana's chat, opened in her viewer, its
/// bytes equal; ana's voice note, recorded in her browser, played in bob's.
fn files_across_servers_in_the_browser(ana_size: (u32, u32), bob_size: (u32, u32)) {
    use support::webapp::{app_url, logged_in};
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &["--web-port", "0", "--timeout", QUIET]);
    let (lab1, lab2) = (&labs[0].server, &labs[1].server);
    lab1.register(&["ana"]);
    lab2.register(&["bob"]);

    // bob's photo, from a terminal on lab2, in ana's browser on lab1.
    let ana = logged_in(&app_url(lab1), "ana", ana_size.0, ana_size.1);
    let mut bob = lab2.login_send("bob", "pw-bob");
    let png = photo(1200, 900);
    send_file(&mut bob, "ana@lab1", "p1", "whiteboard.png", &png, "the board");
    let button = "#chat-list button[data-chat='bob@lab2']";
    ana.wait_for(&format!("document.querySelector(\"{button}\")"));
    ana.click(button);
    let img = "document.querySelector('#messages .msg .file img.thumb')";
    ana.wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth > 0"));
    let text =
        ana.exec("return document.querySelector('#messages .msg .text').textContent", serde_json::json!([]));
    assert_eq!(text, serde_json::json!("the board"), "the caption under the photo");
    ana.click("#messages .msg .file button.photo");
    let full = "document.querySelector('.viewer img.full')";
    ana.wait_for(&format!(
        "{full}?.dataset.full === 'shown' && {full}.complete && {full}.naturalWidth === 1200"
    ));
    // The file the page shows is lab1's copy of bob's bytes, whole.
    let file =
        ana.exec("return document.querySelector('#messages .msg .file').dataset.file", serde_json::json!([]));
    let mut ana_conn = lab1.login_send("ana", "pw-ana");
    assert_eq!(sha256(&fetch(&mut ana_conn, file.as_str().unwrap()).unwrap()), sha256(&png));
    ana.exec(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
        serde_json::json!([]),
    );
    ana.wait_for("!document.querySelector('.viewer')");

    // ana's voice note, recorded on lab1 (chromium's fake microphone),
    // played in bob's browser on lab2.
    ana.click("#record");
    ana.wait_for("/Recording 0:0[2-9]/.test(document.getElementById('voice-bar')?.textContent)");
    ana.click("#voice-send");
    let bob_browser = logged_in(&app_url(lab2), "bob", bob_size.0, bob_size.1);
    let button = "#chat-list button[data-chat='ana@lab1']";
    bob_browser.wait_for(&format!("document.querySelector(\"{button}\")"));
    bob_browser.click(button);
    bob_browser.wait_for("document.querySelector('#messages .msg .voice .play')");
    bob_browser.click("#messages .msg .voice .play");
    bob_browser.wait_for("document.querySelector('#messages .msg .voice progress').value > 0");
    bob_browser.wait_for("document.querySelector('#messages .msg .voice progress').value >= 1");
}

#[test]
fn files_across_servers_loaded_from_history_are_files_in_a_fresh_browser_on_a_phone() {
    files_from_history_in_the_browser((390, 844), (1280, 800));
}

#[test]
fn files_across_servers_loaded_from_history_are_files_in_a_fresh_browser_on_a_laptop() {
    files_from_history_in_the_browser((1280, 800), (390, 844));
}

/// The photo in the open chat of `browser` whose caption is `caption`:
/// drawn from its thumbnail, opened in the viewer whole (`width` pixels
/// wide), its file id; the viewer closed again.
fn photo_shown(browser: &support::browser::Browser, caption: &str, width: u32) -> String {
    let bubble = format!(
        "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.text')?.textContent === {caption:?})"
    );
    let img = format!("{bubble}?.querySelector('.file img.thumb')");
    browser.wait_for(&format!("{img}?.src.startsWith('blob:') && {img}.complete && {img}.naturalWidth > 0"));
    browser.exec(&format!("{bubble}.querySelector('.file button.photo').click()"), serde_json::json!([]));
    let full = "document.querySelector('.viewer img.full')";
    browser.wait_for(&format!(
        "{full}?.dataset.full === 'shown' && {full}.complete && {full}.naturalWidth === {width}"
    ));
    browser.exec(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
        serde_json::json!([]),
    );
    browser.wait_for("!document.querySelector('.viewer')");
    let file =
        browser.exec(&format!("return {bubble}.querySelector('.file').dataset.file"), serde_json::json!([]));
    file.as_str().unwrap_or_else(|| panic!("no file id: {file}")).to_string()
}

/// Waits until `conn`, a receive connection, has had `n` queued events,
/// and `ACK`s them: the messages are then known from `HISTORY` only.
fn ack_all(conn: &mut Conn, n: usize) {
    let mut seq = String::new();
    for _ in 0..n {
        let event = next_message(conn);
        seq = event.split(':').nth(1).unwrap().to_string();
    }
    conn.send(&format!("ACK:{seq}"));
}

/// A chat with a user of another server, and a room of another server
/// whose post came from a third one (its text marked as relayed), opened
/// in a browser that never got their events (a fresh device, then a
/// reload): each file message loaded from `HISTORY` is drawn as a file,
/// its photo opened in the viewer with its bytes equal, its voice note a
/// player, its caption alone under it.
fn files_from_history_in_the_browser(ana_size: (u32, u32), carl_size: (u32, u32)) {
    use support::webapp::{app_url, log_in_again, logged_in};
    let root = tempfile::tempdir().unwrap();
    let flags = ["--web-port", "0", "--timeout", QUIET];
    let (labs, [mut ana, mut bob, mut carl]) = lab_room(root.path(), &flags);
    let (lab1, lab3) = (&labs[0].server, &labs[2].server);
    let mut ana_events = events_1_3(lab1, "ana");
    let mut carl_events = events_1_3(lab3, "carl");

    // bob's photo and voice note to ana; ana's photo in lab2's room,
    // which carl on lab3 has as relayed by lab2. Every event taken and
    // acknowledged by a terminal: the browsers will know them from
    // HISTORY only.
    let board = photo(640, 480);
    send_file(&mut bob, "ana@lab1", "p1", "whiteboard.png", &board, "the board");
    let voice = noise(9_214, 3);
    send_file(&mut bob, "ana@lab1", "v1", "voice-12s.webm", &voice, "");
    let diagram = photo(800, 600);
    send_file(&mut ana, "#lab@lab2", "p2", "diagram.png", &diagram, "friday's diagram");
    ack_all(&mut ana_events, 2);
    let relayed = room_file(&mut carl_events, "#lab@lab2");
    assert!(relayed.contains(":[relayed by lab2] 📎 diagram.png"), "{relayed}");
    carl_events.send(&format!("ACK:{}", relayed.split(':').nth(1).unwrap()));
    let history = carl.listing("HISTORY:#lab@lab2:10");
    assert!(
        history.iter().any(|l| l.contains(":p2:") && l.contains(":[relayed by lab2] 📎 diagram.png")),
        "{history:?}"
    );

    let (url1, url3) = (app_url(lab1), app_url(lab3));
    let ana_browser = logged_in(&url1, "ana", ana_size.0, ana_size.1);
    let carl_browser = logged_in(&url3, "carl", carl_size.0, carl_size.1);
    for (browser, url, user) in [(&ana_browser, &url1, "ana"), (&carl_browser, &url3, "carl")] {
        for again in [false, true] {
            if again {
                log_in_again(browser, url, user);
            }
            browser.watch_errors();
            if user == "ana" {
                let button = "#chat-list button[data-chat='bob@lab2']";
                browser.wait_for(&format!("document.querySelector(\"{button}\")"));
                browser.click(button);
                let file = photo_shown(browser, "the board", 640);
                let mut conn = lab1.login_send("ana", "pw-ana");
                assert_eq!(
                    sha256(&fetch(&mut conn, &file).unwrap()),
                    sha256(&board),
                    "ana's copy of bob's photo"
                );
                browser.wait_for("document.querySelector('#messages .msg .voice .play')");
                let texts = "return [...document.querySelectorAll('#messages .msg .text')].map(t => t.hidden ? '' : t.textContent)";
                let shown = browser.exec(texts, serde_json::json!([]));
                assert!(!shown.to_string().contains("📎"), "no file shown as its text: {shown}");
            } else {
                let button = "#chat-list button[data-chat='#lab@lab2']";
                browser.wait_for(&format!("document.querySelector(\"{button}\")"));
                browser.click(button);
                let file = photo_shown(browser, "friday's diagram", 800);
                let mut conn = lab3.login_send("carl", "pw-carl");
                assert_eq!(
                    sha256(&fetch(&mut conn, &file).unwrap()),
                    sha256(&diagram),
                    "lab3's copy of ana's photo"
                );
                let by = "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.file'))?.querySelector('.from .relayed')?.textContent";
                assert_eq!(
                    browser.wait_for(by),
                    serde_json::json!("relayed by lab2"),
                    "its author's line says whose word it is"
                );
            }
            assert_eq!(browser.errors(), serde_json::json!([]), "{user}");
        }
    }
}

/// A console on a new device opens a chat with a user of another server
/// and a room of another server from `HISTORY`: `/save` saves each file,
/// the relayed post's too, its bytes whole; the full screen draws the
/// relayed one as it draws it live.
#[test]
fn the_console_saves_files_across_servers_known_from_history_only() {
    use support::console::Console;
    let root = tempfile::tempdir().unwrap();
    let (labs, [mut ana, mut bob, _carl]) = lab_room(root.path(), &["--timeout", QUIET]);
    let lab3 = &labs[2].server;
    let mut carl_events = events_1_3(lab3, "carl");
    let notes = noise(30_000, 9);
    send_file(&mut bob, "carl@lab3", "f1", "notes.bin", &notes, "for friday");
    let slides = noise(25_000, 10);
    send_file(&mut ana, "#lab@lab2", "f2", "slides.bin", &slides, "");
    ack_all(&mut carl_events, 2);

    let dir = root.path().join("carl-console");
    let mut console = Console::connected(lab3, "carl", &dir, &[]);
    let saved = |name: &str| root.path().join(name);
    console.type_line("/chat bob@lab2");
    let line = console.expect("📎 notes.bin (30 KB) for friday");
    let n = line.split('[').nth(1).and_then(|r| r.split(']').next()).unwrap().to_string();
    console.type_line(&format!("/save {n} {}", saved("notes.bin").display()));
    console.expect(&format!("[{n}] saved as "));
    assert_eq!(sha256(&std::fs::read(saved("notes.bin")).unwrap()), sha256(&notes));
    console.type_line("/chat #lab@lab2");
    let line = console.expect("📎 slides.bin (25 KB)");
    assert!(line.contains("ana@lab1 (relayed by lab2)"), "{line}");
    let n = line.split('[').nth(1).and_then(|r| r.split(']').next()).unwrap().to_string();
    console.type_line(&format!("/save {n} {}", saved("slides.bin").display()));
    console.expect(&format!("[{n}] saved as "));
    assert_eq!(sha256(&std::fs::read(saved("slides.bin")).unwrap()), sha256(&slides));
    let _ = console.quit("/quit");

    // The full screen on a new device: the relayed file, from HISTORY,
    // drawn as when it comes live (its author relayed by the home, its
    // file's line without the marker).
    let mut command = std::process::Command::new(support::wachat_bin());
    command
        .args(["connect", "--tui", "--user", "carl"])
        .args(support::console::connection_args(lab3.send, lab3.recv, &root.path().join("carl-tui")))
        .env("WACHAT_PASSWORD", "pw-carl")
        .env("RUST_LOG", "off")
        .env("TZ", "UTC")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("NO_COLOR");
    let mut tui = support::pty::Pty::spawn_sized(command, 24, 100);
    tui.wait_screen("the chat list", |s| s.rows[0].starts_with("┌ Chats "));
    tui.type_keys("/chat #lab@lab2\r");
    tui.wait_screen("the relayed file", |s| {
        s.find("ana@lab1 (relayed by lab2): 📎 slides.bin (25 KB)").is_some()
    });
    tui.type_keys("\x03");
    assert!(tui.wait().success());
}
