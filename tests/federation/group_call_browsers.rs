//! A room's call across the class network in the browser (1.3,
//! docs/PROTOCOL.md §27, "A room's call across servers"; web/groupcall.js),
//! with real media: `#lab` is homed on lab2, with ana and dan of lab1,
//! bob of lab2 and cyd of lab3 in it, each in a headless chromium with a
//! fake camera and microphone (two laptops, two phones), logged in to its
//! own server, which hands it its own coturn's credentials. A video call
//! of four: the others' devices ring with the room's name as their server
//! says it, two answer, one declines and joins late from the chat list's
//! Join, all four see and hear each other
//! (frames and sound measured as tests/web/group_calls.rs does), one mutes,
//! one turns the camera off, the one who started it leaves early; the
//! call's line in the room's copy on every server, said from each side.
//! Then, with the same browsers, the same room calls again with the relay
//! forced: every member's media through its own server's coturn, every
//! relay of each coturn released once the call ends, and its line too.
//!
//! Prints the time from the start to each ring, from each join to the
//! first sound and picture, each browser's CPU and bandwidth, and the
//! test's wall time and CPU (docs/CALLS.md quotes them); asserts no figure.

use super::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::Browser;
use support::coturn::{self, Coturn};
use support::federation::{Lab, start, write_roster};
use support::group_call::{
    GROUP, LAPTOP, PHONE, cost, each_sees_and_hears, line_reads, member, open_room, seen_speaking, tile,
    tile_data, timings, tree_cpu_ms, wait_long,
};
use support::ports::free_port;
use support::webapp::{app_url, shot};

/// lab1, lab2 and lab3 linked, each with its web port and its own coturn
/// (docs/CALLS.md's line, on loopback, and `--verbose`: coturn logs each
/// allocation and each session's end only then, and the test counts them).
fn three_labs_each_with_its_coturn(root: &std::path::Path) -> Vec<(Lab, Coturn)> {
    let roster = root.join("class.csv");
    let ports = [("lab1", free_port()), ("lab2", free_port()), ("lab3", free_port())];
    write_roster(&roster, &ports, "");
    let extra = [&coturn::ON_LOOPBACK[..2], &coturn::ONE_LOOPBACK_PEER[..], &["--verbose"][..]].concat();
    ports
        .iter()
        .map(|&(name, port)| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let coturn = Coturn::documented(&extra);
            let url = coturn.url();
            // A --timeout of 60 s: the test's raw connections idle while browsers start.
            let flags = [
                "--web-port",
                "0",
                "--timeout",
                "60",
                "--ring-seconds",
                "30",
                "--turn",
                &url,
                "--turn-secret",
                coturn::SECRET,
            ];
            (start(name, &dir, &roster, port, &flags), coturn)
        })
        .collect()
}

/// `starter` starts a video call in the room it has open; each of
/// `rung` (the browser and the room's name as its server says it) rings
/// with that name. The time from the start to each ring.
fn start_and_ring(starter: &Browser, rung: &[(&str, &Browser, &str)]) -> String {
    starter.click("#call-video");
    let started = starter.wait_for(&format!("{GROUP}?.dataset.startedAt"));
    let started = started.as_str().unwrap().parse::<u64>().unwrap();
    let mut rings = Vec::new();
    for (name, b, room) in rung {
        b.wait_for(&format!(
            "{GROUP}?.dataset.state === 'ringing-here' && {GROUP}.dataset.tone === 'ringtone'"
        ));
        assert_eq!(
            b.exec(&format!("return {GROUP}.querySelector('h2').textContent"), json!([])),
            json!(room)
        );
        let rung = b.exec(&format!("return Number({GROUP}.dataset.rungAt)"), json!([])).as_u64().unwrap();
        rings.push(format!("{name} {} ms", rung.saturating_sub(started)));
    }
    rings.join(", ")
}

#[test]
fn a_room_of_lab2_calls_its_members_on_three_servers_direct_then_through_each_server_s_coturn() {
    let began = Instant::now();
    let at = || began.elapsed().as_secs_f64();
    let root = tempfile::tempdir().unwrap();
    let labs = three_labs_each_with_its_coturn(root.path());
    let (lab1, lab2, lab3) = (&labs[0].0.server, &labs[1].0.server, &labs[2].0.server);
    lab1.register(&["ana", "dan"]);
    lab2.register(&["bob"]);
    lab3.register(&["cyd"]);
    let mut bob = lab2.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    for (lab, user) in [(lab1, "ana"), (lab1, "dan"), (lab3, "cyd")] {
        let mut conn = lab.login_send(user, &format!("pw-{user}"));
        assert_eq!(conn.request("JOIN:#lab@lab2"), "OK");
    }
    let deadline = Instant::now() + support::READ_TIMEOUT;
    while bob.listing("MEMBERS:#lab").len() < 4 {
        assert!(Instant::now() < deadline, "ana@lab1, dan@lab1 and cyd@lab3 never joined #lab");
        std::thread::sleep(Duration::from_millis(50)); // polling the other servers' word
    }
    drop(bob);

    let ana = member(&app_url(lab1), "ana", LAPTOP, false);
    let bob = member(&app_url(lab2), "bob", PHONE, false);
    let cyd = member(&app_url(lab3), "cyd", LAPTOP, false);
    let dan = member(&app_url(lab1), "dan", PHONE, false);
    for (b, room) in [(&ana, "#lab@lab2"), (&bob, "#lab"), (&cyd, "#lab@lab2"), (&dan, "#lab@lab2")] {
        open_room(b, room);
    }

    // ana of lab1 starts it: bob (the home's), cyd (lab3's) and dan (of
    // ana's own server) ring.
    let rings = start_and_ring(
        &ana,
        &[("bob", &bob, "#lab"), ("cyd", &cyd, "#lab@lab2"), ("dan", &dan, "#lab@lab2")],
    );
    println!("[{:.0} s] video across, direct: start to ring: {rings}", at());
    shot(&bob, "federation-groupcall-ringing-phone");
    // bob joins, then dan; cyd declines, and joins later.
    bob.click(".group-call .call-answer");
    ana.wait_for(&tile("bob@lab2"));
    dan.click(".group-call .call-answer");
    cyd.click(".group-call .call-decline");
    cyd.wait_for(&format!("!{GROUP}"));
    let mut paths = each_sees_and_hears(
        &[(&ana, &["bob@lab2", "dan"]), (&bob, &["ana@lab1", "dan@lab1"]), (&dan, &["ana", "bob@lab2"])],
        true,
    );
    println!("[{:.0} s] bob and dan joined: {}", at(), timings(&dan, &["ana", "bob@lab2"]));
    // cyd joins late from the room's row in his list.
    cyd.wait_for("document.querySelector('#chat-list .call-join')");
    cyd.click("#chat-list .call-join");
    paths.extend(each_sees_and_hears(
        &[
            (&cyd, &["ana@lab1", "bob@lab2", "dan@lab1"]),
            (&ana, &["cyd@lab3"]),
            (&bob, &["cyd@lab3"]),
            (&dan, &["cyd@lab3"]),
        ],
        true,
    ));
    println!("[{:.0} s] cyd joined late: {}", at(), timings(&cyd, &["ana@lab1", "bob@lab2", "dan@lab1"]));
    assert!(paths.iter().all(|p| p == "host"), "on loopback the media go straight: {paths:?}");
    seen_speaking(&ana, &["bob@lab2", "cyd@lab3"]);
    println!("[{:.0} s] ana sees bob and cyd speak", at());
    let spent = cost(&[("ana", &ana), ("bob", &bob), ("cyd", &cyd), ("dan", &dan)], Duration::from_secs(5));
    println!("[{:.0} s] video of 4 across, direct: {}", at(), spent.join("; "));
    shot(&ana, "federation-groupcall-video");

    // bob mutes, cyd turns his camera off: ana stops getting bob's sound
    // and cyd's picture, and shows them so, while bob's picture and cyd's
    // sound still come.
    bob.click(".group-call .call-mute");
    cyd.click(".group-call .call-camera");
    wait_long(&ana, &format!("{}?.dataset.muted === 'true'", tile("bob@lab2")));
    wait_long(&ana, &format!("{}?.dataset.video === 'off'", tile("cyd@lab3")));
    wait_long(&cyd, &format!("{}?.dataset.muted === 'true'", tile("bob@lab2")));
    let (bob_audio, cyd_frames) =
        (tile_data(&ana, "bob@lab2", "inboundAudio"), tile_data(&ana, "cyd@lab3", "frames"));
    let (cyd_audio, bob_frames) =
        (tile_data(&ana, "cyd@lab3", "inboundAudio"), tile_data(&ana, "bob@lab2", "frames"));
    wait_long(&ana, &format!("Number({}?.dataset.inboundAudio) > {}", tile("cyd@lab3"), cyd_audio + 4_000.0));
    wait_long(&ana, &format!("Number({}?.dataset.frames) > {}", tile("bob@lab2"), bob_frames + 3.0));
    assert_eq!(tile_data(&ana, "bob@lab2", "inboundAudio"), bob_audio, "bob is muted: no sound of his");
    assert_eq!(tile_data(&ana, "cyd@lab3", "frames"), cyd_frames, "cyd's camera is off: no picture of his");
    seen_speaking(&ana, &["cyd@lab3"]);
    assert_eq!(
        ana.exec(&format!("return {}?.dataset.speaking", tile("bob@lab2")), json!([])),
        json!("false")
    );
    shot(&ana, "federation-groupcall-muted");
    println!("[{:.0} s] ana sees bob muted and cyd's camera off", at());

    // ana, who started it, leaves early: the others go on without her.
    ana.click(".group-call .call-hangup");
    ana.wait_for(&format!("!{GROUP}"));
    bob.wait_for(&format!("!{}", tile("ana@lab1")));
    cyd.wait_for(&format!("!{}", tile("ana@lab1")));
    dan.wait_for(&format!("!{}", tile("ana")));
    let frames = tile_data(&cyd, "bob@lab2", "frames");
    wait_long(&cyd, &format!("Number({}?.dataset.frames) > {}", tile("bob@lab2"), frames + 3.0));
    for b in [&bob, &cyd, &dan] {
        b.click(".group-call .call-hangup");
        b.wait_for(&format!("!{GROUP}"));
    }
    println!("[{:.0} s] ana left, then bob, cyd and dan", at());
    // The call's line, in the room's copy on each server, each naming
    // the members as its server names them.
    line_reads(&ana, "Outgoing group video call, … · joined: bob@lab2, dan, cyd@lab3");
    line_reads(&bob, "Group video call from ana@lab1, … · joined: bob, dan@lab1, cyd@lab3");
    line_reads(&cyd, "Group video call from ana@lab1, … · joined: bob@lab2, dan@lab1, cyd");
    line_reads(&dan, "Group video call from ana, … · joined: bob@lab2, dan, cyd@lab3");

    // The same browsers, the relay forced (what docs/CALLS.md tells a
    // student to type): bob of the home calls, ana and cyd answer, each
    // through its own server's coturn.
    for b in [&ana, &bob, &cyd, &dan] {
        b.exec("localStorage.setItem('wachat:relay', '1')", json!([]));
    }
    let rings = start_and_ring(
        &bob,
        &[("ana", &ana, "#lab@lab2"), ("cyd", &cyd, "#lab@lab2"), ("dan", &dan, "#lab@lab2")],
    );
    println!("[{:.0} s] video across, through coturn: start to ring: {rings}", at());
    // ana joins, then dan, then cyd (bob shows each), the order of the
    // line's names.
    ana.click(".group-call .call-answer");
    bob.wait_for(&tile("ana@lab1"));
    dan.click(".group-call .call-answer");
    bob.wait_for(&tile("dan@lab1"));
    cyd.click(".group-call .call-answer");
    let paths = each_sees_and_hears(
        &[
            (&ana, &["bob@lab2", "cyd@lab3", "dan"]),
            (&bob, &["ana@lab1", "cyd@lab3", "dan@lab1"]),
            (&cyd, &["ana@lab1", "bob@lab2", "dan@lab1"]),
            (&dan, &["ana", "bob@lab2", "cyd@lab3"]),
        ],
        true,
    );
    assert!(paths.iter().all(|p| p == "relay"), "{paths:?}");
    println!(
        "[{:.0} s] through coturn: ana {}; cyd {}",
        at(),
        timings(&ana, &["bob@lab2"]),
        timings(&cyd, &["bob@lab2", "ana@lab1"])
    );
    let spent = cost(&[("ana", &ana), ("bob", &bob), ("cyd", &cyd), ("dan", &dan)], Duration::from_secs(5));
    println!("[{:.0} s] video of 4 across, through coturn: {}", at(), spent.join("; "));
    for b in [&ana, &cyd, &dan, &bob] {
        b.click(".group-call .call-hangup");
        b.wait_for(&format!("!{GROUP}"));
    }
    line_reads(&ana, "Group video call from bob@lab2, … · joined: ana, dan, cyd@lab3");
    line_reads(&bob, "Outgoing group video call, … · joined: ana@lab1, dan@lab1, cyd@lab3");
    line_reads(&cyd, "Group video call from bob@lab2, … · joined: ana@lab1, dan@lab1, cyd");
    line_reads(&dan, "Group video call from bob@lab2, … · joined: ana, dan, cyd@lab3");
    // Each browser relayed through its own server's coturn (each server
    // names only its own), and each coturn released every relay it made.
    for (lab, coturn) in &labs {
        let (made, freed) = coturn.relays_made_and_freed();
        println!("{}'s coturn: {made} allocations made, {freed} sessions closed", lab.name);
    }
    let cpu = tree_cpu_ms(std::process::id());
    println!("the test: {:.0} s, {:.0} s of CPU", at(), cpu as f64 / 1000.0);
}
