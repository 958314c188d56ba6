//! A room's call in the browser (web/groupcall.js), as the tests of
//! tests/web/group_calls.rs (one server) and
//! tests/federation/group_call_browsers.rs (three linked servers) drive
//! it: members logged in with chromium's fake camera and microphone, the
//! call's screen and its tiles, the media each tile gets (read from
//! `getStats()` when the test asks), who shows speaking, the call's line,
//! and what each browser spends.

use std::time::{Duration, Instant};

use serde_json::json;

use super::browser::Browser;
use super::webapp::{CALL_FLAGS, ENTER, logged_in_with};

/// The room's call's screen, as web/groupcall.js draws it.
pub const GROUP: &str = "document.querySelector('.call-screen.group-call')";

pub const PHONE: (u32, u32) = (390, 844);
pub const LAPTOP: (u32, u32) = (1280, 800);

/// `user`'s tile on the call's screen.
pub fn tile(user: &str) -> String {
    format!("{GROUP}?.querySelector('.call-tile[data-user=\"{user}\"]')")
}

/// `js`'s value, the call's screen asked to measure its connections
/// again (its `measure()`: each one's `getStats()`, read at the test's
/// pace, never on the page's own timer). The script does not wait for the
/// reading, which a starved page may take long over: `js` reads the last
/// one done, and the next call the one asked now.
pub fn measured(browser: &Browser, js: &str) -> serde_json::Value {
    browser.exec(&format!("{GROUP}?.measure?.(); return {js};"), json!([]))
}

/// Asks `browser`'s call screen for a reading and waits for it: what it
/// read (its `data-measured-at`, `-bytes-out`, `-bytes-in`).
pub fn fresh_reading(browser: &Browser) -> (f64, f64, f64) {
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
pub fn tile_data(browser: &Browser, user: &str, key: &str) -> f64 {
    fresh_reading(browser);
    let value = browser.exec(&format!("return Number({}?.dataset.{key} || 0)", tile(user)), json!([]));
    value.as_f64().unwrap_or(0.0)
}

/// How long a member's page may take to answer one WebDriver command: a
/// page in a call of eight encodes and decodes for seven connections, and
/// on a loaded machine one took more than the usual minute.
pub const BUSY_PAGE: Duration = Duration::from_secs(180);

/// A browser logged in as `user` at `size`, with the relay forced if `relay`.
pub fn member(url: &str, user: &str, size: (u32, u32), relay: bool) -> Browser {
    let browser = logged_in_with(url, user, size, &CALL_FLAGS).patient(BUSY_PAGE);
    if relay {
        // What docs/CALLS.md tells a student to type: the relay forced.
        browser.exec("localStorage.setItem('wachat:relay', '1')", json!([]));
    }
    browser
}

/// Opens the room `room` (`#lab`, or `#lab@lab2` on another server
/// than its home), its call buttons in its header.
pub fn open_room(browser: &Browser, room: &str) {
    browser.type_into("#new-chat-name", &format!("{room}{ENTER}"));
    browser.wait_for(&format!(
        "document.getElementById('chat-title').textContent === {room:?} && !document.getElementById('call-video').hidden"
    ));
}

/// How long a browser may take to connect to the others and get their
/// media: a mesh of four video calls, each browser encoding its picture
/// three times, on a busy 2-core machine, takes longer than a page's
/// usual wait (`Browser::wait_for`'s 10 s); in a call of eight at a load
/// of 60 a pair's first sound came 89 s after its offer.
pub const MEDIA_WAIT: Duration = Duration::from_secs(240);

/// Polls `js` in `browser`, each time measured, until it is truthy, for
/// [`MEDIA_WAIT`] at most; a timeout says what each tile had.
pub fn wait_long(browser: &Browser, js: &str) {
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
pub fn sees_and_hears(browser: &Browser, others: &[&str], video: bool) -> Vec<String> {
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
pub fn each_sees_and_hears(members: &[(&Browser, &[&str])], video: bool) -> Vec<String> {
    std::thread::scope(|scope| {
        let waits: Vec<_> = members
            .iter()
            .map(|&(browser, others)| scope.spawn(move || sees_and_hears(browser, others, video)))
            .collect();
        waits.into_iter().flat_map(|wait| wait.join().expect("a member's wait")).collect()
    })
}

/// Waits until `browser` shows each of `others` speaking: chromium's
/// fake microphone beeps 20 ms twice a second, and the page reads each
/// member's last packet about four times a second, so a member shows
/// speaking now and then, for 0.75 s each time (groupcall.js's
/// `LISTEN_MS` and `SPEAKING_HOLD_MS`). A poll from
/// here, each a WebDriver command to a busy page, would see a moment of it
/// by chance: the page notes each tile that shows speaking as it does
/// (a `MutationObserver` of the tiles' `data-speaking`), and the test
/// reads those notes.
pub fn seen_speaking(browser: &Browser, others: &[&str]) {
    browser.exec(
        &format!(
            "const screen = {GROUP};
             window.spoke = new Set([...screen.querySelectorAll('.call-tile[data-speaking=\"true\"]')].map((t) => t.dataset.user));
             new MutationObserver((changes) => changes.forEach(({{ target }}) => {{
               if (target.dataset.speaking === 'true') window.spoke.add(target.dataset.user);
             }})).observe(screen, {{ subtree: true, attributeFilter: ['data-speaking'] }});"
        ),
        json!([]),
    );
    let list = serde_json::to_string(others).unwrap();
    let deadline = Instant::now() + MEDIA_WAIT;
    loop {
        let seen = browser.exec(&format!("return {list}.filter((u) => !window.spoke.has(u));"), json!([]));
        if seen.as_array().is_some_and(Vec::is_empty) {
            return;
        }
        if Instant::now() >= deadline {
            let tiles = browser.exec(
                &format!("return [...{GROUP}.querySelectorAll('.call-tile')].map((t) => JSON.stringify(t.dataset));"),
                json!([]),
            );
            panic!("timed out ({MEDIA_WAIT:?}) waiting to see {seen} speaking; the tiles: {tiles}");
        }
        std::thread::sleep(Duration::from_millis(250)); // polling the page's notes
    }
}

/// Each tile's time from the join (or the offer) to its first sound and picture, as the page timed it.
pub fn timings(browser: &Browser, others: &[&str]) -> String {
    others
        .iter()
        .map(|o| {
            let ms = |key| browser.exec(&format!("return {}?.dataset.{key} || '?'", tile(o)), json!([]));
            format!("{o} audio {} ms video {} ms", ms("audioMs"), ms("videoMs"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The call's line in the open room, as this side says it (calllog.js), once it reads `want`;
/// a timeout says what the room's call lines read.
pub fn line_reads(browser: &Browser, want: &str) {
    let said = "[...document.querySelectorAll('#messages .call-log .text')].map(e => e.textContent.replace(/, [0-9:]+ ·/, ', … ·'))";
    let deadline = Instant::now() + super::READ_TIMEOUT;
    loop {
        let lines = browser.exec(&format!("return {said};"), json!([]));
        if lines.as_array().is_some_and(|l| l.iter().any(|line| line == want)) {
            return;
        }
        assert!(Instant::now() < deadline, "no call line {want:?} in the room; its call lines: {lines}");
        std::thread::sleep(Duration::from_millis(50)); // polling the page
    }
}

/// CPU time of process `pid` and every process under it (a browser's
/// driver and its chromium's processes), in ms (`/proc/<pid>/stat`).
pub fn tree_cpu_ms(pid: u32) -> u64 {
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
pub fn cost(browsers: &[(&str, &Browser)], window: Duration) -> Vec<String> {
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
