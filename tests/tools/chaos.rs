//! `wachat chaos`, run as a teacher runs it: the binary against a real
//! `wachat serve` under every fault, restarts included (a kill -9 and a
//! start on the same data and ports), with no guarantee violated; and
//! against examples/minimal_server.py and copies of it with one planted
//! bug each, where chaos must name the guarantee the bug breaks.
//!
//! `wachat serve` runs chaos's default 30 s at each level; the planted bugs
//! 10 s each (every one is caught in its first seconds), to keep CI time
//! down. The seeds are fixed, so a failure here replays with the same
//! `--seed`.

use super::support;

use std::process::Output;
use std::time::Duration;

use support::TestServer;
use support::chaos::{report, violated};
use support::minimal::{Minimal, minimal_server};

/// No per-address limit on new accounts: every run registers its own.
const SERVE: [&str; 2] = ["--exempt", "127.0.0.1"];

/// Runs `wachat chaos` with `args`, its output kept.
fn chaos(args: &[&str]) -> Output {
    support::chaos::run(args, Duration::from_secs(180))
}

/// `wachat serve` at `level` with `devices` per user, 30 s of every
/// fault; the test thread does the restarts chaos asks for (its
/// --restart command makes a file and waits until it is gone): kill -9,
/// then the same data and ports.
fn serve_holds_every_guarantee(level: &str, devices: &str, seed: &str) {
    let mut server = TestServer::start_restartable(&SERVE);
    let (send, recv) = (server.send.port().to_string(), server.recv.port().to_string());
    let dir = tempfile::tempdir().unwrap();
    let restarts = support::Restarts::new(dir.path());
    let html = dir.path().join("run.html");
    let restart = restarts.command();
    let (out, restarts) = restarts.serve(
        || {
            chaos(&[
                "127.0.0.1",
                "--send-port",
                &send,
                "--recv-port",
                &recv,
                "--level",
                level,
                "--devices",
                devices,
                "--duration",
                "30",
                "--seed",
                seed,
                "--faults",
                "delay,reset,partition,restart",
                "--restart",
                &restart,
                "--json",
                "--html",
                html.to_str().unwrap(),
            ])
        },
        || server.restart_in_place(&SERVE),
    );
    let (json, statuses) = report(&out);
    assert!(out.status.success(), "{json:#}");
    assert!(violated(&statuses).is_empty() && statuses.len() == 8, "{json:#}");
    assert!(restarts >= 1, "the seed's schedule has a restart");
    assert!(json["operations"].as_u64().unwrap() > 200 && json["oks"].as_u64().unwrap() > 50, "{json:#}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("Lamport") && !page.contains("<script"), "{page}");
}

#[test]
fn wachat_serve_holds_every_guarantee_under_all_faults_level_1_0() {
    serve_holds_every_guarantee("1.0", "1", "20261123");
}

/// Level 1.2 with two devices per user: every device gets its copy of
/// the inbox (messages, copies of its user's own, STATUS, READMARK).
#[test]
fn wachat_serve_holds_every_guarantee_under_all_faults_level_1_2_two_devices() {
    serve_holds_every_guarantee("1.2", "2", "43");
}

/// 10 s of delays, resets and partitions on a minimal server (which keeps
/// everything in memory: a restart would lose it all, by design).
fn chaos_on(server: &Minimal, seed: &str) -> Output {
    chaos(&[
        "127.0.0.1",
        "--send-port",
        &server.send,
        "--recv-port",
        &server.recv,
        "--duration",
        "10",
        "--seed",
        seed,
        "--faults",
        "delay,reset,partition",
        "--json",
    ])
}

/// One planted bug: a text substitution on minimal_server.py, the
/// guarantee chaos must name, and the ones it may name too because the
/// same bug breaks them as well.
struct Bug {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    named: &'static str,
    also: &'static [&'static str],
}

const BUGS: [Bug; 4] = [
    Bug {
        what: "the inbox entry dropped when written instead of on ACK",
        from: "    u[\"inbox\"].append(ev)\n    if fold(u[\"name\"]) in online:\n        ev[\"sent\"] = True\n        online[fold(u[\"name\"])].send(ev[\"line\"])",
        to: "    if fold(u[\"name\"]) in online:\n        ev[\"sent\"] = True\n        online[fold(u[\"name\"])].send(ev[\"line\"])\n    else:\n        u[\"inbox\"].append(ev)",
        named: "lost",
        also: &[],
    },
    Bug {
        what: "a resent id stored again",
        from: r#"    if mid in u["sent"]:"#,
        to: "    if False:",
        named: "duplicated",
        // The second copy has its own DELIVERED, and HISTORY shows both.
        also: &["status", "history"],
    },
    Bug {
        what: "the replay sent newest first",
        from: r#"for ev in u["inbox"]:  # replay"#,
        to: r#"for ev in reversed(u["inbox"]):  # replay"#,
        named: "reordered",
        also: &[],
    },
    Bug {
        what: "DELIVERED sent on delivery instead of on the ACK",
        from: "m)  # to the recipient",
        to: "m); to[0] != \"#\" and fold(r[\"name\"]) in online and set_state(m, \"DELIVERED\")",
        named: "status",
        also: &[],
    },
];

#[test]
fn minimal_python_server_holds_every_guarantee_under_resets_and_partitions() {
    let server = Minimal::start(minimal_server(), &[]);
    let out = chaos_on(&server, "7");
    let (json, statuses) = report(&out);
    assert!(out.status.success() && violated(&statuses).is_empty(), "{json:#}");
}

#[test]
fn each_planted_bug_is_named_by_its_guarantee() {
    let original = std::fs::read_to_string(minimal_server()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The four runs at once: each is mostly waiting on its sockets.
    std::thread::scope(|scope| {
        for (n, bug) in BUGS.iter().enumerate() {
            assert_eq!(
                original.matches(bug.from).count(),
                1,
                "the substitution for {:?} must match once",
                bug.what
            );
            let script = dir.path().join(format!("buggy_{n}.py"));
            std::fs::write(&script, original.replace(bug.from, bug.to)).unwrap();
            scope.spawn(move || {
                let server = Minimal::start(&script, &[]);
                let out = chaos_on(&server, "11");
                let (json, statuses) = report(&out);
                let named = violated(&statuses);
                assert!(named.contains(&bug.named.to_string()), "planted bug: {}\n{json:#}", bug.what);
                let unrelated: Vec<&String> =
                    named.iter().filter(|n| *n != bug.named && !bug.also.contains(&n.as_str())).collect();
                assert!(unrelated.is_empty(), "planted bug: {}: also {unrelated:?}\n{json:#}", bug.what);
                assert_eq!(out.status.code(), Some(1), "a violation makes the exit code 1");
            });
        }
    });
}

#[test]
fn devices_below_level_1_2_and_a_malformed_server_are_usage_errors() {
    let out = chaos(&["127.0.0.1", "--send-port", "1", "--recv-port", "2", "--devices", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--level 1.2"));
    let out = chaos(&["127.0.0.1", "--send-port", "1", "--recv-port", "2", "--server", "127.0.0.1:6000"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:SEND_PORT:RECV_PORT"));
}

#[test]
fn a_restart_fault_without_a_command_is_a_usage_error() {
    let out = chaos(&["127.0.0.1", "--send-port", "1", "--recv-port", "2", "--faults", "reset,restart"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--restart"));
}

/// The restart script that ships (examples/restart_server.sh)
/// does what `--restart` needs for `wachat serve` — kill -9 by the pid in
/// the lock file, then the same data and options — and the replay line
/// quotes it so that it pastes.
#[test]
fn the_shipped_restart_script_restarts_wachat_serve_under_chaos() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (send, recv) = (free().to_string(), free().to_string());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/restart_server.sh");
    let options =
        format!("--send-port {send} --recv-port {recv} --web-port off --exempt 127.0.0.1 --kdf-cost 8");
    // WACHAT: this build, not a wachat on the PATH.
    let restart = format!("WACHAT={} {script} {} {options}", support::wachat_bin(), data.display());
    // The first start is the script's too (no server to kill yet).
    let started = std::process::Command::new("sh").arg("-c").arg(&restart).status();
    assert!(started.unwrap().success());
    let pid_of = |data: &std::path::Path| std::fs::read_to_string(data.join("wachat.lock")).unwrap();
    let first = pid_of(&data);
    let out = chaos(&[
        "127.0.0.1",
        "--send-port",
        &send,
        "--recv-port",
        &recv,
        "--duration",
        "30",
        "--seed",
        "20261123",
        "--faults",
        "delay,restart",
        "--restart",
        &restart,
        "--json",
    ]);
    let last = pid_of(&data);
    // Whatever happened, the server the script left running goes.
    let _ = std::process::Command::new("kill").args(["-9", last.trim()]).status();
    let (json, statuses) = report(&out);
    assert!(out.status.success(), "{json:#}");
    assert!(violated(&statuses).is_empty(), "{json:#}");
    assert_ne!(first, last, "the seed's schedule has a restart, which the script made");
    let replay = json["replay"].as_str().unwrap();
    assert!(replay.contains(&format!("--restart '{restart}'")), "{replay}");
}
