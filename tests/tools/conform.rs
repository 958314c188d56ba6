//! `wachat conform`, run the way students and teachers run it: the binary
//! against a real `wachat serve` (one suite, not two: these are the
//! project's own protocol cases, levels 1.0 and 1.1, restarts included),
//! against examples/minimal_server.py (a second implementation) and
//! copies of it with one planted bug each, and in client mode against
//! examples/wachat_client.py and `wachat connect`.

use super::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::json_lines::with_status;
use support::minimal::{Minimal, minimal_server};
use support::{TestServer, wachat_bin};

/// The arguments of the test servers: fast timeouts for the timing cases,
/// and no per-address limit on new accounts (the suite makes ~150).
const SERVE: [&str; 4] = ["--exempt", "127.0.0.1", "--timeout", "2"];

/// Runs `wachat conform` with `args`, its output kept.
fn conform(args: &[&str]) -> Output {
    support::run_wachat_output("conform", args, Duration::from_secs(240))
}

fn ports(server: &TestServer) -> [String; 2] {
    [server.send.port().to_string(), server.recv.port().to_string()]
}

#[test]
fn wachat_serve_passes_level_1_0_fast_with_reports() {
    let server = TestServer::start_with(&SERVE);
    let [send, recv] = ports(&server);
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = conform(&[
        "server",
        "127.0.0.1",
        "--send-port",
        &send,
        "--recv-port",
        &recv,
        "--timeout",
        "2",
        "--fast",
        "--json",
        "--html",
        html.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let passed = with_status(&out, "pass");
    assert!(passed.len() >= 60 && passed.contains("receive/unacked-replayed-after-reconnect"), "{stdout}");
    // --fast leaves out the timeouts; level 1.0 has none of the 1.1 cases.
    assert!(with_status(&out, "skip").contains("timing/idle-send-connection-timeout"), "{stdout}");
    assert!(!stdout.contains("v1.1/"), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("framing/crlf-accepted") && !page.contains("<script"), "{page}");
}

#[test]
fn wachat_serve_passes_level_1_1_restarts_included() {
    let mut server = TestServer::start_restartable(&SERVE);
    let [send, recv] = ports(&server);
    let dir = tempfile::tempdir().unwrap();
    // The suite asks for a restart by making this file and waiting until
    // it is gone; this thread restarts the server in place (a crash: kill
    // -9, then the same data and ports) and removes it.
    let restarts = support::Restarts::new(dir.path());
    let restart = restarts.command();
    let (out, restarted) = restarts.serve(
        || {
            conform(&[
                "server",
                "127.0.0.1",
                "--send-port",
                &send,
                "--recv-port",
                &recv,
                "--timeout",
                "2",
                "--level",
                "1.1",
                "--allow-restart",
                &restart,
            ])
        },
        || server.restart_in_place(&SERVE),
    );
    assert_eq!(restarted, 5, "one restart per case of the group restart");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pass  restart/ok-message-survives"), "{stdout}");
    assert!(stdout.contains("pass  v1.1/member-event-after-version"), "{stdout}");
    // Every case ran but the two that need a TLS server (that test is below).
    let skipped: Vec<&str> = stdout.lines().filter(|l| l.starts_with("skip ")).collect();
    assert!(skipped.len() == 2 && skipped.iter().all(|l| l.contains("v1.1/tls-")), "{stdout}");
    assert!(stdout.contains("total          88     0     2"), "{stdout}");
}

#[test]
fn wachat_serve_passes_level_1_2() {
    let server = TestServer::start_with(&SERVE);
    let [send, recv] = ports(&server);
    let out = conform(&[
        "server",
        "127.0.0.1",
        "--send-port",
        &send,
        "--recv-port",
        &recv,
        "--level",
        "1.2",
        "--fast",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // §23, archived chats, among them.
    let passed = with_status(&out, "pass");
    assert!(
        passed.contains("v1.2/archive-and-list") && passed.contains("v1.2/archive-told-to-devices"),
        "{stdout}"
    );
    // §25, starred messages, too.
    for case in ["v1.2/star-and-list", "v1.2/star-hidden-by-delete", "v1.2/star-told-to-devices"] {
        assert!(passed.contains(case), "{case}: {stdout}");
    }
    // §4, HISTORY a page at a time.
    for case in ["v1.2/history-pages-meet", "v1.2/history-pages-while-sending", "v1.2/history-page-not-yours"]
    {
        assert!(passed.contains(case), "{case}: {stdout}");
    }
}

/// `conform` against a minimal server, with `extra` arguments.
fn check(server: &Minimal, extra: &[&str]) -> Output {
    let mut args = vec!["server", "127.0.0.1", "--send-port", &server.send, "--recv-port", &server.recv];
    args.extend_from_slice(&["--timeout", "2", "--json"]);
    args.extend_from_slice(extra);
    conform(&args)
}

/// A minimal server (or a copy of it) as conform tries it: it closes a
/// silent connection after 2 s, so the timeout cases do not take long.
fn minimal(script: &Path) -> Minimal {
    Minimal::start(script, &["--timeout", "2"])
}

#[test]
fn minimal_python_server_passes_the_core_groups() {
    let server = minimal(minimal_server());
    let out = check(&server, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(with_status(&out, "fail").is_empty(), "{stdout}");
    // Only the restart group is left out: nothing survives a restart there.
    let skipped = with_status(&out, "skip");
    assert!(!skipped.is_empty() && skipped.iter().all(|c| c.starts_with("restart/")), "{stdout}");
}

/// One planted bug: a text substitution on minimal_server.py, and the
/// cases that must fail because of it (and no other).
struct Bug {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    fails: &'static [&'static str],
}

const BUGS: [Bug; 4] = [
    Bug {
        what: "no replay after a reconnect (events are forgotten once written, not once acknowledged)",
        from: r#"for ev in u["inbox"]:  # replay"#,
        to: r#"for ev in [e for e in u["inbox"] if not e["sent"]]:  # replay"#,
        fails: &["receive/unacked-replayed-after-reconnect"],
    },
    Bug {
        what: "KO:AUTH_REQUIRED without closing",
        from: "        conn.send(\"KO:AUTH_REQUIRED:log in first\")\n        return None, True",
        to: "        conn.send(\"KO:AUTH_REQUIRED:log in first\")\n        return None, False",
        fails: &["auth/auth-required-closes", "auth/receive-port-auth-required", "codes/auth-required"],
    },
    Bug {
        what: "DELIVERED sent before the ACK",
        from: "m)  # to the recipient",
        to: "m); to[0] != \"#\" and fold(r[\"name\"]) in online and set_state(m, \"DELIVERED\")",
        fails: &["status/delivered-only-after-ack"],
    },
    Bug {
        what: "a resent id delivered again",
        from: r#"    if mid in u["sent"]:"#,
        to: "    if False:",
        fails: &["messages/resend-gets-original-ok"],
    },
];

#[test]
fn each_planted_bug_fails_the_case_that_names_it_and_no_other() {
    let original = std::fs::read_to_string(minimal_server()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (n, bug) in BUGS.iter().enumerate() {
        assert_eq!(
            original.matches(bug.from).count(),
            1,
            "the substitution for {:?} must match once",
            bug.what
        );
        let script = dir.path().join(format!("buggy_{n}.py"));
        std::fs::write(&script, original.replace(bug.from, bug.to)).unwrap();
        let server = minimal(&script);
        let out = check(&server, &["--fast"]);
        let failed = with_status(&out, "fail");
        let want: BTreeSet<String> = bug.fails.iter().map(|c| c.to_string()).collect();
        assert_eq!(failed, want, "planted bug: {}\n{}", bug.what, String::from_utf8_lossy(&out.stdout));
        assert!(!out.status.success(), "a failing case makes the exit code non-zero");
    }
}

/// Runs `wachat conform client` on a shell command line that sees the
/// WACHAT_* variables.
fn conform_client(extra: &[&str], shell: &str) -> (Output, Duration) {
    let start = Instant::now();
    let mut args = vec!["client", "--timeout", "2", "--json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", shell]);
    (conform(&args), start.elapsed())
}

#[test]
fn client_mode_judges_the_python_example_client() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wachat_client.py");
    let shell = format!(
        "exec python3 {example} \"$WACHAT_USER\" \"$WACHAT_HOST\" \"$WACHAT_SEND_PORT\" \"$WACHAT_RECV_PORT\""
    );
    let (out, _) = conform_client(&[], &shell);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let passed = with_status(&out, "pass");
    for case in [
        "client/logs-in-on-both-ports",
        "client/acks-a-burst",
        "client/answers-ping",
        "client/hostile-text-stays-text",
    ] {
        assert!(passed.contains(case), "{case}\n{stdout}");
    }
    // It leaves out the reconnection and the outbox, as its docs say.
    let failed = with_status(&out, "fail");
    assert!(
        failed.contains("client/replay-shown-once") && failed.contains("client/resends-with-same-id"),
        "{stdout}"
    );
    assert!(!out.status.success());
}

#[test]
fn client_mode_passes_wachat_connect() {
    let dir = tempfile::tempdir().unwrap();
    let shell = format!(
        "exec {} connect --user \"$WACHAT_USER\" --server \"$WACHAT_HOST\" --send-port \"$WACHAT_SEND_PORT\" \
         --recv-port \"$WACHAT_RECV_PORT\" --timeout 2 --no-p2p --data-dir {}",
        wachat_bin(),
        dir.path().display()
    );
    let (out, took) = conform_client(&["--say", "/msg {to} {text}"], &shell);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(with_status(&out, "pass").len(), 8, "{stdout}");
    println!("conform client against wachat connect: {took:?}");
}

#[test]
fn wachat_serve_with_tls_passes_level_1_1() {
    let certs = support::tls::Certs::make(&["127.0.0.1"]);
    let mut args = certs.serve_args();
    args.extend_from_slice(&SERVE);
    let server = TestServer::start_with(&args);
    let [send, recv] = ports(&server);
    let out = conform(&[
        "server",
        "127.0.0.1",
        "--send-port",
        &send,
        "--recv-port",
        &recv,
        "--level",
        "1.1",
        "--fast",
        "--ca",
        certs.ca(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("pass  v1.1/tls-plaintext-refused")
            && stdout.contains("pass  v1.1/tls-no-direct-chats")
    );
    assert!(!stdout.lines().any(|l| l.starts_with("FAIL ")), "{stdout}");
}

/// `wachat conform server` against `server`, fast, with `extra` flags.
fn conform_fast(server: &TestServer, extra: &[&str]) -> Output {
    let [send, recv] = ports(server);
    let mut args =
        vec!["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv, "--fast", "--timeout", "2"];
    args.extend_from_slice(extra);
    conform(&args)
}

#[test]
fn against_an_invite_only_server_conform_stops_at_once_and_names_invite() {
    let server = TestServer::start_with(&["--registration", "invite", "--timeout", "2"]);
    let out = conform_fast(&server, &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("--invite") && stderr.contains("invite"), "{stderr}");
    assert!(!stdout.contains("pass") && !stdout.contains("FAIL"), "no case ran: {stdout}");
}

#[test]
fn with_invite_codes_conform_runs_against_an_invite_only_server() {
    let server = TestServer::start_with(&["--registration", "invite", "--timeout", "2"]);
    let codes = Command::new(wachat_bin())
        .args(["users", "invite", "--count", "60", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(codes.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("codes.txt");
    std::fs::write(&file, &codes.stdout).unwrap();
    let out = conform_fast(
        &server,
        &["--only", "messages", "--only", "auth", "--invites", file.to_str().unwrap(), "--json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(with_status(&out, "pass").contains("messages/resend-gets-original-ok"), "{stdout}");
    // The cases that test REGISTER itself cannot run there, and say why.
    assert!(with_status(&out, "skip").contains("auth/login-ignores-case"), "{stdout}");
}

#[test]
fn against_a_rate_limited_server_conform_stops_and_leaves_no_account() {
    // A class server: the per-address limits on (no --exempt).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start_in(&data, &["--timeout", "2"]);
    let out = conform_fast(&server, &["--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // It stops before its first case, naming --exempt, instead
    // of spending the budget of new accounts that the class behind the
    // address shares.
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.trim().is_empty(), "no case ran: {stdout}");
    assert!(stderr.contains("new_accounts_left") && stderr.contains("--exempt"), "{stderr}");
    // The address's budget is as it was, but for the probe's one account.
    let mut conn = server.send_conn();
    assert_eq!(conn.request("REGISTER:teacher::teacher-pw"), "OK:teacher");
    assert!(conn.listing("INFO").contains(&"new_accounts_left=58".to_string()));
    server.terminate();
    let listed =
        Command::new(wachat_bin()).args(["users", "list", "--data-dir"]).arg(&data).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let left: Vec<&str> = listed
        .lines()
        .filter(|l| !l.contains("(deleted by its user)") && !l.starts_with("teacher"))
        .collect();
    assert!(left.is_empty(), "accounts left: {left:?}");
}
