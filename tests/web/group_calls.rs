//! A room's calls in the browser (protocol 1.2, §32; web/groupcall.js),
//! with real media: headless chromiums on loopback, each its own user,
//! with chromium's fake camera and microphone, at 390x844 and 1280x800.
//! A video call of four from a room: everyone's devices ring, the media
//! flow between every two of them (frames and sound measured from
//! `getStats()` when the test asks, the screen's `measure()`, which keeps
//! them on each tile), each shows the others speaking, one joins late from the chat
//! list's Join, one mutes, one turns the camera off, the one who started
//! it leaves early; a member who never joins sees Join on the call's
//! line while it lasts, and the call as missed after; the line in the
//! room on every device, said from its side. The same forced through the
//! documented coturn, whose every relay is released once the call ends.
//! And eight in a voice call, each hearing the seven others.
//!
//! A member removed from the room is dropped from its call.
//!
//! Prints the time from the start to the first ring, from each join to
//! the first sound and picture, and each browser's CPU and bandwidth at
//! 3, 4 and 8 (docs/CALLS.md quotes them); asserts no figure.

use super::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::TestServer;
use support::browser::Browser;
use support::coturn::{self, Coturn};
use support::webapp::{CALL_FLAGS, ENTER, joined, logged_in_with, shot, web_server};

/// The room's call's screen, as web/groupcall.js draws it.
const GROUP: &str = "document.querySelector('.call-screen.group-call')";

const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1280, 800);

/// `user`'s tile on the call's screen.
fn tile(user: &str) -> String {
    format!("{GROUP}?.querySelector('.call-tile[data-user=\"{user}\"]')")
}

/// `js`'s value, the call's screen asked to measure its connections
/// again (its `measure()`: each one's `getStats()`, read at the test's
/// pace, never on the page's own timer). The script does not wait for the
/// reading, which a starved page may take long over: `js` reads the last
/// one done, and the next call the one asked now.
fn measured(browser: &Browser, js: &str) -> serde_json::Value {
    browser.exec(&format!("{GROUP}?.measure?.(); return {js};"), json!([]))
}

/// Asks `browser`'s call screen for a reading and waits for it: what it
/// read (its `data-measured-at`, `-bytes-out`, `-bytes-in`).
fn fresh_reading(browser: &Browser) -> (f64, f64, f64) {
    let asked = browser.exec(&format!("{GROUP}?.measure?.(); return Date.now();"), json!([]));
    let asked = asked.as_f64().unwrap_or(0.0);
    wait_long(browser, &format!("Number({GROUP}?.dataset.measuredAt) >= {asked}"));
    let v = browser.exec(
        &format!("const d = {GROUP}.dataset; return [Number(d.measuredAt), Number(d.bytesOut || 0), Number(d.bytesIn || 0)];"),
        json!([]),
    );
    (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0), v[2].as_f64().unwrap_or(0.0))
}

/// A number of `user`'s tile's data (its bytes of sound, its frames…)
/// in a reading asked now, 0 while there is none.
fn tile_data(browser: &Browser, user: &str, key: &str) -> f64 {
    fresh_reading(browser);
    let value = browser.exec(&format!("return Number({}?.dataset.{key} || 0)", tile(user)), json!([]));
    value.as_f64().unwrap_or(0.0)
}

/// How long a member's page may take to answer one WebDriver command: a
/// page in a call of eight encodes and decodes for seven connections, and
/// on a loaded machine one took more than the usual minute.
const BUSY_PAGE: Duration = Duration::from_secs(180);

/// A browser logged in as `user` at `size`, with the relay forced if `relay`.
fn member(url: &str, user: &str, size: (u32, u32), relay: bool) -> Browser {
    let browser = logged_in_with(url, user, size, &CALL_FLAGS).patient(BUSY_PAGE);
    if relay {
        // What docs/CALLS.md tells a student to type: the relay forced.
        browser.exec("localStorage.setItem('wachat:relay', '1')", json!([]));
    }
    browser
}

/// Opens the room `#lab` (its call buttons in its header).
fn open_lab(browser: &Browser) {
    browser.type_into("#new-chat-name", &format!("#lab{ENTER}"));
    browser.wait_for(
        "document.getElementById('chat-title').textContent === '#lab' && !document.getElementById('call-video').hidden",
    );
}

/// How long a browser may take to connect to the others and get their
/// media: a mesh of four video calls, each browser encoding its picture
/// three times, on a busy 2-core machine, takes longer than a page's
/// usual wait (`Browser::wait_for`'s 10 s); in a call of eight at a load
/// of 60 a pair's first sound came 89 s after its offer.
const MEDIA_WAIT: Duration = Duration::from_secs(240);

/// Polls `js` in `browser`, each time measured, until it is truthy, for
/// [`MEDIA_WAIT`] at most; a timeout says what each tile had.
fn wait_long(browser: &Browser, js: &str) {
    let deadline = Instant::now() + MEDIA_WAIT;
    while !measured(browser, &format!("Boolean({js})")).as_bool().unwrap_or(false) {
        if Instant::now() >= deadline {
            let tiles = browser.exec(
                &format!("return [...({GROUP}?.querySelectorAll('.call-tile') || [])].map((t) => JSON.stringify(t.dataset));"),
                json!([]),
            );
            panic!("timed out ({MEDIA_WAIT:?}) waiting for {js}; the tiles: {tiles}");
        }
        // Polling the page, which is asked for a reading each time: once a second is enough.
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Waits until `browser` gets sound and, for a video call, pictures from
/// each of `others`, and both keep coming (4 KB more of each one's sound,
/// about a second of it, and 3 more of its frames), all asked at once.
/// The path each took.
fn sees_and_hears(browser: &Browser, others: &[&str], video: bool) -> Vec<String> {
    let list = serde_json::to_string(others).unwrap();
    let each = |test: &str| {
        format!(
            "{list}.every((u) => {{ const t = {GROUP}?.querySelector(`.call-tile[data-user=\"${{u}}\"]`); return t && ({test}); }})"
        )
    };
    let mut coming = "Number(t.dataset.inboundAudio) > 0 && Number(t.dataset.energy) > 0".to_string();
    if video {
        coming += " && t.dataset.video === 'on' && t.querySelector('video').videoWidth > 0";
    }
    wait_long(browser, &each(&coming));
    let before = measured(
        browser,
        &format!(
            "Object.fromEntries({list}.map((u) => {{ const t = {GROUP}.querySelector(`.call-tile[data-user=\"${{u}}\"]`); return [u, [Number(t.dataset.inboundAudio), Number(t.dataset.frames)]]; }}))"
        ),
    );
    let grown = format!(
        "Number(t.dataset.inboundAudio) > {before}[t.dataset.user][0] + 4000 && (!{video} || Number(t.dataset.frames) > {before}[t.dataset.user][1] + 3)"
    );
    wait_long(browser, &each(&grown));
    wait_long(browser, &each("t.dataset.path"));
    others
        .iter()
        .map(|o| {
            browser
                .exec(&format!("return {}?.dataset.path", tile(o)), json!([]))
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// [`sees_and_hears`] for each browser and the members it waits for, all
/// at once (a thread each: each browser has its own chromedriver): the
/// call's browsers spend their CPU as long as the test waits, and one
/// after another the waits of eight took minutes on a busy machine. The
/// paths, in the order given.
fn each_sees_and_hears(members: &[(&Browser, &[&str])], video: bool) -> Vec<String> {
    std::thread::scope(|scope| {
        let waits: Vec<_> = members
            .iter()
            .map(|&(browser, others)| scope.spawn(move || sees_and_hears(browser, others, video)))
            .collect();
        waits.into_iter().flat_map(|wait| wait.join().expect("a member's wait")).collect()
    })
}

/// Waits until `browser` shows each of `others` speaking, one after
/// another: chromium's fake microphone beeps twice a second, and the page
/// reads each member's level four times a second, so a member shows
/// speaking now and then.
fn seen_speaking(browser: &Browser, others: &[&str]) {
    for o in others {
        wait_long(browser, &format!("{}?.dataset.speaking === 'true'", tile(o)));
    }
}

/// Each tile's time from the join (or the offer) to its first sound and picture, as the page timed it.
fn timings(browser: &Browser, others: &[&str]) -> String {
    others
        .iter()
        .map(|o| {
            let ms = |key| browser.exec(&format!("return {}?.dataset.{key} || '?'", tile(o)), json!([]));
            format!("{o} audio {} ms video {} ms", ms("audioMs"), ms("videoMs"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The call's line in the open room, as this side says it (calllog.js), once it reads `want`.
fn line_reads(browser: &Browser, want: &str) {
    let said = "[...document.querySelectorAll('#messages .call-log .text')].map(e => e.textContent.replace(/, [0-9:]+ ·/, ', … ·'))";
    browser.wait_for(&format!("{said}.includes({want:?})"));
}

/// CPU time of process `pid` and every process under it (a browser's
/// driver and its chromium's processes), in ms (`/proc/<pid>/stat`).
fn tree_cpu_ms(pid: u32) -> u64 {
    let stat = |p: &str| std::fs::read_to_string(format!("/proc/{p}/stat")).ok();
    let fields =
        |s: &str| -> Vec<String> { s[s.rfind(')').unwrap() + 2..].split(' ').map(String::from).collect() };
    let mut parent = std::collections::HashMap::new();
    let mut cpu = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(p) = name.parse::<u32>() else { continue };
        let Some(s) = stat(&name) else { continue };
        let f = fields(&s);
        parent.insert(p, f[1].parse::<u32>().unwrap_or(0));
        cpu.insert(p, (f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)) * 10);
    }
    let under = |mut p: u32| loop {
        if p == pid {
            return true;
        }
        match parent.get(&p) {
            Some(&up) if up > 1 => p = up,
            _ => return false,
        }
    };
    cpu.iter().filter(|(p, _)| under(**p)).map(|(_, ms)| ms).sum()
}

/// What each of `browsers` spends over `window` of a call: CPU (% of one
/// core) and the bandwidth its getStats counts, up and down (kbit/s).
/// Each browser is read at its own times, before and after: reading a
/// busy page takes a while. The CPU over the test's clock, the bytes
/// over the page's (when each reading was done).
fn cost(browsers: &[(&str, &Browser)], window: Duration) -> Vec<String> {
    let read = |b: &Browser| (Instant::now(), tree_cpu_ms(b.pid()), fresh_reading(b));
    let before: Vec<_> = browsers.iter().map(|(_, b)| read(b)).collect();
    std::thread::sleep(window); // the window measured: nothing to wait for
    browsers
        .iter()
        .zip(before)
        .map(|((name, b), (at, cpu, (read_at, out, got)))| {
            let (at2, cpu2, (read_at2, out2, got2)) = read(b);
            let cpu = cpu2.saturating_sub(cpu) as f64 / (at2 - at).as_secs_f64() / 10.0;
            let seconds = (read_at2 - read_at) / 1000.0;
            let kbit = |n: f64| n * 8.0 / 1000.0 / seconds;
            format!(
                "{name}: CPU {cpu:.0}%, up {:.0} kbit/s, down {:.0} kbit/s",
                kbit(out2 - out),
                kbit(got2 - got)
            )
        })
        .collect()
}

/// The video call of four (and eve, who never joins), direct or
/// through coturn (`relay`): the paths the media took.
fn video_call_of_four(server: &TestServer, url: &str, relay: bool) -> Vec<String> {
    let users = ["ana", "bob", "carl", "dan", "eve"];
    server.register(&users);
    drop(joined(server, "#lab", &users));
    let ana = member(url, "ana", LAPTOP, relay);
    let bob = member(url, "bob", PHONE, relay);
    let carl = member(url, "carl", LAPTOP, relay);
    let dan = member(url, "dan", LAPTOP, relay);
    let eve = member(url, "eve", PHONE, relay);
    for b in [&ana, &bob, &carl, &eve] {
        open_lab(b);
    }
    // ana starts it: the others' devices ring, with the room's name.
    ana.click("#call-video");
    let started =
        ana.wait_for(&format!("{GROUP}?.dataset.startedAt")).as_str().unwrap().parse::<u64>().unwrap();
    let mut rings = Vec::new();
    for (name, b) in [("bob", &bob), ("carl", &carl), ("dan", &dan), ("eve", &eve)] {
        b.wait_for(&format!(
            "{GROUP}?.dataset.state === 'ringing-here' && {GROUP}.dataset.tone === 'ringtone'"
        ));
        assert_eq!(
            b.exec(&format!("return {GROUP}.querySelector('h2').textContent"), json!([])),
            json!("#lab")
        );
        let rung = b.exec(&format!("return Number({GROUP}.dataset.rungAt)"), json!([])).as_u64().unwrap();
        rings.push(format!("{name} {} ms", rung.saturating_sub(started)));
    }
    println!(
        "video, {}: start to ring: {}",
        if relay { "through coturn" } else { "direct" },
        rings.join(", ")
    );
    shot(&bob, "web-groupcall-ringing-phone");
    // bob and carl join; dan declines (he joins later); eve lets it ring.
    bob.click(".group-call .call-answer");
    carl.click(".group-call .call-answer");
    dan.click(".group-call .call-decline");
    dan.wait_for(&format!("!{GROUP}"));
    let mut paths = each_sees_and_hears(
        &[(&ana, &["bob", "carl"]), (&bob, &["ana", "carl"]), (&carl, &["ana", "bob"])],
        true,
    );
    println!("joined at once: bob {}; carl {}", timings(&bob, &["ana"]), timings(&carl, &["ana", "bob"]));
    // bob's phone: Back makes the call's screen small, the call going on over #lab (the screen
    // he answered on gave way to the call's, one layer); its button brings it back.
    bob.back();
    bob.wait_for(&format!(
        "{GROUP}?.classList.contains('minimized') && document.getElementById('app').classList.contains('chat-open') && document.getElementById('chat-title').textContent === '#lab'"
    ));
    bob.click(".group-call .call-return");
    bob.wait_for(&format!("{GROUP} && !{GROUP}.classList.contains('minimized')"));
    let spent = cost(&[("ana", &ana), ("bob", &bob), ("carl", &carl)], Duration::from_secs(5));
    println!("video of 3, {}: {}", if relay { "through coturn" } else { "direct" }, spent.join("; "));
    // eve's ring runs out; while the call lasts her room's line says Join.
    wait_long(&eve, &format!("!{GROUP}"));
    eve.wait_for("document.querySelector('#messages .call-log .call-live')?.textContent === 'Join'");
    // dan joins late from the room's row in his list.
    dan.wait_for("document.querySelector('#chat-list .call-join')");
    shot(&dan, "web-groupcall-join");
    dan.click("#chat-list .call-join");
    paths.extend(each_sees_and_hears(
        &[(&dan, &["ana", "bob", "carl"]), (&ana, &["dan"]), (&bob, &["dan"]), (&carl, &["dan"])],
        true,
    ));
    println!("dan joined late: {}", timings(&dan, &["ana", "bob", "carl"]));
    seen_speaking(&ana, &["bob", "carl", "dan"]);
    let spent = cost(&[("ana", &ana), ("bob", &bob), ("carl", &carl), ("dan", &dan)], Duration::from_secs(5));
    println!("video of 4, {}: {}", if relay { "through coturn" } else { "direct" }, spent.join("; "));
    shot(&ana, "web-groupcall-video");

    // carl mutes: the others stop getting his sound, and show him muted.
    carl.click(".group-call .call-mute");
    // bob turns his camera off: the others stop getting his picture, and show his initial.
    bob.click(".group-call .call-camera");
    for b in [&ana, &dan] {
        wait_long(b, &format!("{}?.dataset.muted === 'true'", tile("carl")));
        wait_long(b, &format!("{}?.dataset.video === 'off'", tile("bob")));
        let (carl_audio, bob_frames) = (tile_data(b, "carl", "inboundAudio"), tile_data(b, "bob", "frames"));
        let other = if std::ptr::eq(b, &ana) { "dan" } else { "ana" };
        let (audio, frames) = (tile_data(b, other, "inboundAudio"), tile_data(b, other, "frames"));
        wait_long(b, &format!("Number({}?.dataset.inboundAudio) > {}", tile(other), audio + 4_000.0));
        wait_long(b, &format!("Number({}?.dataset.frames) > {}", tile(other), frames + 3.0));
        assert_eq!(tile_data(b, "carl", "inboundAudio"), carl_audio, "carl is muted: no sound of his");
        assert_eq!(tile_data(b, "bob", "frames"), bob_frames, "bob's camera is off: no picture of his");
        // bob's sound and carl's picture still come; carl, muted, never shows speaking.
        assert!(tile_data(b, "carl", "frames") > 0.0 && tile_data(b, "bob", "inboundAudio") > 0.0);
        seen_speaking(b, &["bob"]);
        let carl_speaks = format!("return {}?.dataset.speaking", tile("carl"));
        assert_eq!(b.exec(&carl_speaks, json!([])), json!("false"));
    }
    shot(&ana, "web-groupcall-muted");

    // ana, who started it, leaves early: the others go on without her.
    ana.click(".group-call .call-hangup");
    ana.wait_for(&format!("!{GROUP}"));
    for b in [&bob, &carl, &dan] {
        b.wait_for(&format!("!{}", tile("ana")));
    }
    let frames = tile_data(&dan, "carl", "frames");
    wait_long(&dan, &format!("Number({}?.dataset.frames) > {}", tile("carl"), frames + 3.0));
    // The last three leave: the call ends, and its line says so on every device.
    for b in [&bob, &carl, &dan] {
        b.click(".group-call .call-hangup");
        b.wait_for(&format!("!{GROUP}"));
    }
    line_reads(&ana, "Outgoing group video call, … · joined: bob, carl, dan");
    for b in [&bob, &carl] {
        line_reads(b, "Group video call from ana, … · joined: bob, carl, dan");
    }
    open_lab(&dan);
    line_reads(&dan, "Group video call from ana, … · joined: bob, carl, dan");
    line_reads(&eve, "Missed group video call from ana");
    eve.wait_for("!document.querySelector('#messages .call-live')");
    shot(&eve, "web-groupcall-missed");
    assert!(
        dan.exec("return !document.querySelector('#chat-list .call-join')", json!([])).as_bool().unwrap()
    );
    paths
}

#[test]
fn a_video_call_of_four_from_a_room_rings_joins_late_mutes_and_ends_with_its_line_everywhere() {
    let (server, url) = web_server(&["--ring-seconds", "20"]);
    let paths = video_call_of_four(&server, &url, false);
    assert!(paths.iter().all(|p| p == "host"), "on loopback the media go straight: {paths:?}");
}

/// The same forced through docs/CALLS.md's coturn, each browser with the
/// credentials wachat hands a member in the call; once the call ended,
/// coturn holds no relay of it.
///
/// Two flags beside the documented line. `--verbose`: coturn logs each
/// allocation and each session's end only then (coturn 4.6's
/// `--simple-log` alone logs neither), and the test counts them. And a
/// quota of 48 for the one address all four browsers come from
/// (loopback), where the line gives an address 12: forced through the
/// relay each browser takes one or two relays per connection, and with
/// 12 the fourth member's were refused (coturn's 486, five times) and its
/// connections never carried a byte. docs/CALLS.md says what that means
/// for members behind one NAT; tests/chat/calls.rs checks the quota.
#[test]
fn the_same_video_call_of_four_through_the_documented_coturn_frees_its_relays() {
    let flags = ["--verbose", "--user-quota=48"];
    let extra = [&coturn::ON_LOOPBACK[..2], &coturn::ONE_LOOPBACK_PEER[..], &flags[..]].concat();
    let coturn = Coturn::documented(&extra);
    let url = coturn.url();
    let (server, web) =
        web_server(&["--ring-seconds", "20", "--turn", &url, "--turn-secret", coturn::SECRET]);
    let paths = video_call_of_four(&server, &web, true);
    assert!(paths.iter().all(|p| p == "relay"), "{paths:?}");
    // Each browser closed its connections: coturn deleted every allocation it made.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = coturn.log();
        let made = log.matches("ALLOCATE processed, success").count();
        let freed = log.matches("closed (2nd stage)").count();
        if made > 0 && freed >= made {
            println!("coturn: {made} allocations made, {freed} sessions closed");
            break;
        }
        assert!(Instant::now() < deadline, "coturn holds relays past the call: {made} made, {freed} closed");
        std::thread::sleep(Duration::from_millis(200)); // polling coturn's log
    }
}

#[test]
fn eight_in_a_voice_call_each_hear_the_seven_others_and_one_removed_from_the_room_is_dropped() {
    let (server, url) = web_server(&["--ring-seconds", "600"]);
    let users: Vec<String> = (1..=8).map(|n| format!("mem{n}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    server.register(&names);
    // mem1 made the room: it owns it, and may remove a member.
    drop(joined(&server, "#lab", &names));
    let browsers: Vec<Browser> = names
        .iter()
        .enumerate()
        .map(|(i, u)| member(&url, u, if i % 2 == 0 { LAPTOP } else { PHONE }, false))
        .collect();
    open_lab(&browsers[0]);
    browsers[0].click("#call-voice");
    let started = browsers[0].wait_for(&format!("{GROUP}?.dataset.startedAt"));
    let started = started.as_str().unwrap().parse::<u64>().unwrap();
    let mut rings = Vec::new();
    // The first four join, then the four others: what each browser
    // spends with 4 in the call, then with 8.
    for (n, at) in [(4, 1..4), (8, 4..8)] {
        for (b, name) in browsers[at.clone()].iter().zip(&names[at]) {
            b.wait_for(&format!("{GROUP}?.dataset.state === 'ringing-here'"));
            let rung = b.exec(&format!("return Number({GROUP}.dataset.rungAt)"), json!([])).as_u64().unwrap();
            rings.push(format!("{name} {} ms", rung.saturating_sub(started)));
            b.click(".group-call .call-answer");
            b.wait_for(&format!("{GROUP}?.dataset.state === 'in-call'"));
        }
        let others: Vec<Vec<&str>> = (0..n)
            .map(|i| names[..n].iter().enumerate().filter(|(j, _)| *j != i).map(|(_, n)| *n).collect())
            .collect();
        let members: Vec<(&Browser, &[&str])> =
            browsers[..n].iter().zip(&others).map(|(b, o)| (b, o.as_slice())).collect();
        let paths = each_sees_and_hears(&members, false);
        assert!(paths.iter().all(|p| p == "host"), "{paths:?}");
        let named: Vec<(&str, &Browser)> = names[..n].iter().copied().zip(browsers.iter()).collect();
        println!("voice of {n}: {}", cost(&named, Duration::from_secs(5)).join("; "));
    }
    println!("voice, start to ring: {}", rings.join(", "));
    seen_speaking(&browsers[1], &[&names[..1], &names[2..]].concat());
    shot(&browsers[0], "web-groupcall-voice");
    shot(&browsers[1], "web-groupcall-voice-phone");
    println!("mem8 joined last: {}", timings(&browsers[7], &names[..7]));
    // mem1 removes mem8 from the room: mem8 is out of the call, its screen
    // gone with its words, and the seven others no longer have its tile.
    // (A connection of its own, made now: one kept since the room was
    // made would have idled past the server's --timeout during the call.)
    let mut owner = server.login_send("mem1", "pw-mem1");
    assert_eq!(owner.request("KICK:#lab:mem8"), "OK");
    wait_long(
        &browsers[7],
        &format!("!{GROUP} && document.getElementById('typing').textContent === 'You are out of the call'"),
    );
    for b in &browsers[..7] {
        wait_long(b, &format!("!{}", tile("mem8")));
    }
    // The others still hear each other.
    sees_and_hears(&browsers[1], &names[2..7], false);
    for b in &browsers[..7] {
        b.click(".group-call .call-hangup");
    }
    let ended = "[...document.querySelectorAll('#messages .call-log .text')].some(e => e.textContent.startsWith('Outgoing group voice call'))";
    browsers[0].wait_for(ended);
}

/// The wire of a room's call as web/wire.js writes and reads it, hostile
/// lines refused (null), and its line as calllog.js says it from each
/// side; a line that is not a call's well-formed line shows as its text.
#[test]
fn the_wire_and_the_line_of_a_rooms_call_refuse_what_is_not_theirs() {
    let (server, url) = web_server(&[]);
    server.register(&["ana"]);
    let ana = member(&url, "ana", PHONE, false);
    let out = ana.exec_async(
        "const done = arguments[0];
         Promise.all([import('/wire.js'), import('/calllog.js')]).then(([w, log]) => {
           const req = (f) => { try { return f(); } catch (e) { return 'throws'; } };
           const call = (a) => req(() => w.request.groupCall('#lab', a));
           const ended = '📞 Group voice call by ana, 1:02:03 · joined: bob, carl · missed: dan and 3 more';
           done({
             requests: [call({ start: 'video' }), call({ start: 'film' }), call({ join: 'call-1-2' }), call({ decline: 'call-1-2' }),
               call({ leave: 'a:b' }), req(() => w.request.groupCall('bob', { start: 'voice' })),
               call({ id: 'call-1-2', to: 'bob', offer: 'v=0\\r\\no=- 1' }), call({ id: 'call-1-2', to: 'bob:x', ice: 'c' }),
               call({ id: 'call-1-2', to: 'bob' }), w.request.groupCalls(), w.request.turn()],
             events: ['GROUPCALL:#lab:RING:call-1-2:ana:video', 'GROUPCALL:#lab:START:call-1-2:ana:voice', 'GROUPCALL:#lab:RING:call-1-2:ana:audio',
               'GROUPCALL:#lab:JOINED:call-1-2:bob', 'GROUPCALL:#lab:LEFT:call-1-2:<b>', 'GROUPCALL:#lab:STOP:call-1-2:missed',
               'GROUPCALL:#lab:STOP:call-1-2:bored', 'GROUPCALL:#lab:END:call-1-2', 'GROUPCALL:#lab:END:call 1', 'GROUPCALL:lab:END:call-1-2',
               'GROUPCALL:#lab:OFFER:call-1-2:ana:v=0\\\\no=- 1', 'GROUPCALL:#lab:ICE:call-1-2:ana:' + 'x'.repeat(2000),
               'GROUPCALL:#lab:HUG:call-1-2:ana'].map(w.parseEvent),
             lines: ['#lab:call-1-2:ana:video:1700000000000:ana,bob', '#lab:call-1-2:ana:video:1:ana,<b>', '#lab:call-1-2:ana:film:1:ana',
               'lab:call-1-2:ana:voice:1:ana'].map(w.parseGroupCallLine),
             listing: w.isListing('GROUPCALLS'),
             said: [[ended, true, 'ana'], [ended, false, 'Carl'], [ended, false, 'dan'],
               ['📞 Group video call started by ana', false, 'bob'],
               ['📞 Group video call by ana, 0:05 · joined: <img> · missed: nobody', false, 'bob'],
               [`📞 Group video call by ana, 0:05 · joined: ${'abcdefghijklm'.split('').join(', ')} · missed: nobody`, false, 'a']]
               .map(([text, mine, me]) => log.said({ text, mine }, me)),
           });
         });",
        json!([]),
    );
    assert_eq!(
        out["requests"],
        json!([
            "GROUPCALL:#lab:START:video",
            "GROUPCALL:#lab:START:voice",
            "GROUPCALL:#lab:JOIN:call-1-2",
            "GROUPCALL:#lab:DECLINE:call-1-2",
            "throws",
            "throws",
            "GROUPCALL:#lab:OFFER:call-1-2:bob:v=0\\no=- 1",
            "throws",
            "throws",
            "GROUPCALLS",
            "TURN"
        ])
    );
    let event = |what: &str, rest: serde_json::Value| {
        let mut e = json!({"kind": "GROUPCALL", "room": "#lab", "what": what, "id": "call-1-2"});
        e.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
        e
    };
    assert_eq!(
        out["events"],
        json!([
            event("RING", json!({"from": "ana", "media": "video"})),
            event("START", json!({"from": "ana", "media": "voice"})),
            null,
            event("JOINED", json!({"user": "bob"})),
            null,
            event("STOP", json!({"why": "missed"})),
            null,
            event("END", json!({})),
            null,
            null,
            event("OFFER", json!({"from": "ana", "text": "v=0\r\no=- 1"})),
            null,
            null
        ])
    );
    assert_eq!(
        out["lines"],
        json!([
            {"room": "#lab", "id": "call-1-2", "by": "ana", "media": "video", "since": 1_700_000_000_000_u64, "members": ["ana", "bob"]},
            null, null, null
        ])
    );
    assert_eq!(out["listing"], json!(true));
    assert_eq!(
        out["said"],
        json!([
            "Outgoing group voice call, 1:02:03 · joined: bob, carl",
            "Group voice call from ana, 1:02:03 · joined: bob, carl",
            "Missed group voice call from ana",
            "Group video call started by ana",
            "Group video call by ana, 0:05 · joined: <img> · missed: nobody",
            "Group video call by ana, 0:05 · joined: a, b, c, d, e, f, g, h, i, j, k, l, m · missed: nobody"
        ])
    );
}
