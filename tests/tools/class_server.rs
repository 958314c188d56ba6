//! What a teacher meets on a class server, beside it, as TEACHING.md
//! says to do it: invite links that name the scheme and port the server
//! serves, every time; invite codes listed and revoked; a room named
//! without its `#` (which the shell takes for a comment); the conformance
//! suite run against the live server, which throttles nothing into the
//! log and leaves no account in `users list`; and a disabled student's
//! console, told in plain words, that stops trying.

use super::support;

use std::path::Path;
use std::process::Command;

use support::console::{Console, Outcome};
use support::tls::Certs;
use support::{TestServer, wachat_bin};

/// `wachat users <args> --data-dir <dir>`, with fast hashing where it applies.
fn users(dir: &Path, args: &[&str]) -> Outcome {
    support::console::users(["--data-dir", &dir.display().to_string()], args, "")
}

#[test]
fn an_invite_link_names_the_scheme_and_the_web_port_every_time() {
    let certs = Certs::make(&["127.0.0.1"]);
    let args = [certs.serve_args(), vec!["--registration", "invite", "--web-port", "0"]].concat();
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(&tmp.path().join("data"), &args);
    let port = server.web.expect("a web port").port();
    for _ in 0..3 {
        let said = users(&server.data_dir, &["invite"]);
        assert!(said.status.success(), "{}", said.stderr);
        assert!(said.stderr.contains(&format!("https://<server>:{port}/#invite=")), "{}", said.stderr);
    }
    // Stopped, the link is the one it served last; started with no web
    // app, the link says so instead of naming a port it does not serve.
    let dir = server.data_dir.clone();
    drop(server);
    assert!(users(&dir, &["invite"]).stderr.contains(&format!("https://<server>:{port}/#invite=")));
    let plain = TestServer::start_in(&dir, &["--registration", "invite"]);
    let said = users(&plain.data_dir, &["invite"]);
    assert!(said.stderr.contains("serves no web app now"), "{}", said.stderr);
}

#[test]
fn invite_codes_are_listed_and_revoked_while_the_server_runs() {
    let server = TestServer::start_with(&["--registration", "invite"]);
    let printed = users(&server.data_dir, &["invite", "--count", "3"]).ok();
    let codes: Vec<&str> = printed.lines().collect();
    let listed = users(&server.data_dir, &["invites"]).ok();
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(codes.iter().all(|c| listed.contains(&format!("{c}  valid until "))), "{listed}");
    // One used, one revoked: the revoked one lets nobody in.
    let mut conn = server.send_conn();
    assert_eq!(conn.request(&format!("REDEEM:{}:ana::pw-ana-long", codes[0])), "OK:ana");
    assert_eq!(
        users(&server.data_dir, &["revoke", codes[1]]).ok(),
        format!("{} revoked: it lets nobody in any more\n", codes[1])
    );
    let mut conn = server.send_conn();
    assert!(conn.request(&format!("REDEEM:{}:bob::pw-bob-long", codes[1])).starts_with("KO:AUTH_FAILED:"));
    // A used code is not revoked (its account stays), and says so.
    let used = users(&server.data_dir, &["revoke", codes[0]]);
    assert!(!used.status.success() && used.stderr.contains("was used already"), "{}", used.stderr);
    let listed = users(&server.data_dir, &["invites"]);
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
    assert!(listed.stderr.contains("(1 used and 0 expired codes not listed"), "{}", listed.stderr);
    assert!(users(&server.data_dir, &["invites", "--all"]).ok().contains(&format!("{}  used", codes[0])));
    // The rest at once, when the term's registration is over.
    assert_eq!(
        users(&server.data_dir, &["revoke", "--unused"]).ok(),
        format!("{} revoked: it lets nobody in any more\n1 unused codes revoked\n", codes[2])
    );
    assert!(users(&server.data_dir, &["invites"]).ok().is_empty());
}

#[test]
fn a_room_may_be_named_without_its_hash_and_a_lost_one_is_explained() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let said = users(&server.data_dir, &["room", "lab", "--add", "ana,bob"]).ok();
    assert_eq!(said, "ana is now in #lab\nbob is now in #lab\n");
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.listing("ROOMS").iter().any(|r| r.starts_with("#lab:")));
    // `wachat users room #lab --add ana` as the shell runs it: `#lab` on
    // started a comment, and nothing of it reached wachat.
    let lost = users(&server.data_dir, &["room"]);
    assert!(!lost.status.success());
    assert!(lost.stderr.contains("an unquoted #lab starts a shell comment"), "{}", lost.stderr);
    let roster = server.data_dir.parent().unwrap().join("roster.csv");
    std::fs::write(&roster, "name,email\ncarl,\n").unwrap();
    let lost = users(&server.data_dir, &["import", roster.to_str().unwrap(), "--room"]);
    assert!(lost.stderr.contains("--room needs a room"), "{}", lost.stderr);
}

#[test]
fn the_conformance_suite_on_a_live_class_server_throttles_nothing_and_leaves_the_list_alone() {
    // The class server as TEACHING.md starts it: invite-only, default limits.
    let server = TestServer::start_with(&["--registration", "invite", "--timeout", "2"]);
    let data = server.data_dir.clone();
    let codes = users(&data, &["invite", "--count", "300"]).ok();
    let file = data.parent().unwrap().join("codes.txt");
    std::fs::write(&file, codes).unwrap();
    let send = server.send.port().to_string();
    let recv = server.recv.port().to_string();
    let out = support::run_wachat_output(
        "conform",
        &[
            "server",
            "127.0.0.1",
            "--send-port",
            &send,
            "--recv-port",
            &recv,
            "--timeout",
            "2",
            "--fast",
            "--level",
            "1.2",
            "--invites",
            file.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(600),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deleted the "), "{stderr}");
    let refused: Vec<String> =
        server.log().into_iter().filter(|l| l.contains("refused:") || l.contains("throttled")).collect();
    assert!(refused.is_empty(), "the suite was refused: {refused:?}");
    // Its accounts, deleted, do not crowd the teacher's list.
    let listed = users(&data, &["list"]);
    assert!(listed.ok().trim().is_empty(), "the suite's accounts are listed");
}

#[test]
fn waits_2_s_a_disabled_students_console_says_so_in_plain_words_and_stops_trying() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::connected(&server, "ana", dir.path(), &[]);
    let disabled = Command::new(wachat_bin())
        .args(["users", "disable", "ana", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(disabled.status.success());
    ana.expect("the server's administrator disabled the account ana: this console stopped trying to connect");
    let (status, seen) = ana.quit("/quit");
    assert_eq!(status.code(), Some(1), "{seen:?}");
    assert!(!seen.iter().any(|l| l.contains("(offline") || l.contains("BYE:DISABLED")), "{seen:?}");
    // It tried no login after (a login refused for it would be logged).
    std::thread::sleep(std::time::Duration::from_secs(2)); // longer than a reconnection's backoff
    assert!(!server.log().iter().any(|l| l.contains("ana refused: disabled")), "{:?}", server.log());
}

#[test]
fn invite_codes_read_by_a_reader_that_stops_early_end_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let made = users(dir.path(), &["invite", "--count", "2000"]);
    assert!(made.status.success(), "{}", made.stderr);
    // `wachat users invites | head -1`, and `wachat users invite` the same
    // way: more than a pipe holds, its reader gone after one line.
    for args in [vec!["invites"], vec!["invite", "--count", "2000"]] {
        let mut child = Command::new(wachat_bin())
            .arg("users")
            .args(&args)
            .args(["--data-dir", &dir.path().display().to_string()])
            .env("LANG", "C")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first)
            .unwrap();
        assert!(!first.trim().is_empty());
        let status = support::wait_with_timeout(&mut child, support::READ_TIMEOUT);
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(status.success(), "{args:?}: {status:?} {stderr}");
    }
}
