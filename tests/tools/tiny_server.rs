//! examples/tiny_server.rs, the whole idea of wachat in one file, speaks
//! protocol version 1 as `wachat conform server --level 1.0` checks it,
//! restarts included: each restart is a `kill -9` of the process and a
//! start on the same data, which must give back every account, room,
//! message, inbox and sequence number from its log.

use super::support;

use std::time::Duration;

use support::tiny::Tiny;

/// The example's promise to its readers (its header, README,
/// docs/READING.md): the whole server in about 1,000 lines of plain code,
/// its own framing, escaping and parsing included, and the class network
/// (1.3) in one section of its own at the end, "Federation". Bounds to
/// notice growth by, not targets: it is never squeezed to meet them.
const MOST_LINES: usize = 1012;
const FEDERATION_MOST_LINES: usize = 550;

/// `wachat conform <args> <more>` to its end (at most 4 minutes): its
/// status and its stdout (its stderr shown, as the test's own).
fn conform(args: &[&str], more: &[&str]) -> (std::process::ExitStatus, String) {
    let all: Vec<&str> = args.iter().chain(more).copied().collect();
    let out = support::run_wachat_output("conform", &all, Duration::from_secs(240));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tiny_server_passes_level_1_0_with_restarts() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Tiny::start_restartable(data.path(), &["--timeout", "2"]);
    let [send, recv] = server.ports.clone();
    // The suite asks for a restart by making this file and waiting until
    // it is gone; the loop below restarts the server and removes it.
    let restarts = support::Restarts::new(data.path());
    let restart = restarts.command();
    let (out, restarted) = restarts.serve(
        || {
            let args = ["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv];
            conform(&args, &["--timeout", "2", "--level", "1.0", "--allow-restart", &restart])
        },
        || server.crash_and_restart(),
    );
    assert_eq!(restarted, 4, "one restart per case of the group restart");
    let (status, stdout) = out;
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("pass  restart/ok-message-survives"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("fail ") || l.starts_with("skip ")), "{stdout}");
}

/// A server opens its ports one after the other: a restart is over once
/// both accept connections. Here the send port is back 1 s before the
/// receive port (held meanwhile by a listener that answers nothing, as a
/// server still starting would), and every case of the group still passes.
#[test]
fn waits_1_s_a_restart_is_over_once_both_ports_accept_connections() {
    let data = tempfile::tempdir().unwrap();
    let server = std::sync::Mutex::new(Tiny::start_restartable(data.path(), &["--timeout", "2"]));
    let [send, recv] = server.lock().unwrap().ports.clone();
    let restarts = support::Restarts::new(data.path());
    let restart = restarts.command();
    let (out, restarted) = std::thread::scope(|scope| {
        restarts.serve(
            || {
                let args = ["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv];
                conform(&args, &["--timeout", "2", "--only", "restart", "--allow-restart", &restart])
            },
            || {
                let mut tiny = server.lock().unwrap();
                tiny.crash();
                let early = std::net::TcpListener::bind(("127.0.0.1", send.parse().unwrap())).unwrap();
                drop(tiny);
                let (server, data, ports) = (&server, data.path(), [send.as_str(), recv.as_str()]);
                scope.spawn(move || {
                    let mut tiny = server.lock().unwrap();
                    std::thread::sleep(Duration::from_secs(1)); // the gap this test is about
                    drop(early);
                    *tiny = Tiny::start(data, ports);
                });
            },
        )
    });
    assert_eq!(restarted, 4, "one restart per case of the group restart");
    let (status, stdout) = out;
    assert!(status.success(), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("fail ") || l.starts_with("skip ")), "{stdout}");
}

/// At its default timeout (10 s) the `BYE:TIMEOUT` must come one timeout
/// after the last frame, not a whole timeout after its `PING`: a run at
/// `--timeout 2` cannot tell them apart. The timing cases at 10 s, alone.
#[test]
fn tiny_server_keeps_its_timeouts_at_the_default_timeout() {
    let data = tempfile::tempdir().unwrap();
    let server = Tiny::start_with(data.path(), ["0", "0"], &[]);
    let [send, recv] = server.ports.clone();
    let args = ["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv];
    let (status, stdout) = conform(&args, &["--level", "1.0", "--only", "timing"]);
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("pass  timing/receive-port-silence-bye-timeout"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("fail ") || l.starts_with("skip ")), "{stdout}");
}

#[test]
fn tiny_server_help_says_its_options_and_exits_zero() {
    for help in ["--help", "-h"] {
        let out =
            std::process::Command::new(support::examples::example("tiny_server")).arg(help).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{help}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        for option in ["--send-port", "--recv-port", "--data-dir", "--timeout", "--kdf-cost", "--peers"] {
            assert!(stdout.contains(option), "{help} says nothing of {option}: {stdout}");
        }
    }
}

#[test]
fn the_tiny_server_stands_alone_in_plain_lines_its_federation_in_one_section() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tiny_server.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let heading =
        |line: &str, section: &str| line.starts_with("// ─") && line.contains(&format!(" {section} "));
    // The federation is the last section: from its heading to the end.
    let all: Vec<&str> = source.lines().collect();
    let federation = all.iter().position(|l| heading(l, "Federation")).expect("no section Federation");
    assert!(
        !all[federation + 1..].iter().any(|l| l.starts_with("// ─")),
        "Federation is not the last section"
    );
    let (server, network) = (federation, all.len() - federation);
    assert!(
        server <= MOST_LINES,
        "the server has {server} lines before its federation, more than {MOST_LINES}"
    );
    assert!(
        network <= FEDERATION_MOST_LINES,
        "its section Federation has {network} lines, more than {FEDERATION_MOST_LINES}"
    );
    // Only the standard library, argon2 for the password hash,
    // getrandom for P2P tokens and its identity, and rustls, rcgen and ring
    // for its links' TLS and link key: nothing of wachat, not even its protocol
    // module. Its framing, escaping and parsing are its own, as a
    // student's server in another language has to have them.
    assert!(!source.contains("wachat::"), "examples/tiny_server.rs uses wachat's own code");
    for section in ["Framing", "Text and names", "Requests"] {
        assert!(source.lines().any(|l| heading(l, section)), "no section {section:?}");
    }
}
