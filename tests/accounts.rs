//! `wachat users add|list|remove|passwd|import`, end to end: the commands
//! edit a data directory, then a real server started on it lets the users
//! log in (or not). And while a server runs, every one of them refuses.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::TestServer;
use support::console::{Outcome, run_wachat};

/// `wachat users <args> --data-dir <dir>`, with fast hashing where it applies.
fn users(dir: &Path, args: &[&str], password: &str, stdin: &str) -> Outcome {
    let mut all: Vec<String> =
        std::iter::once("users").chain(args.iter().copied()).map(String::from).collect();
    all.extend(["--data-dir".into(), dir.display().to_string()]);
    if ["add", "passwd", "import"].contains(&args[0]) {
        all.extend(["--kdf-cost".into(), "8".into()]);
    }
    run_wachat(&all, password, stdin)
}

fn ok(outcome: Outcome) -> String {
    assert!(outcome.status.success(), "exit {}: {}", outcome.status, outcome.stderr);
    outcome.stdout
}

fn refused(outcome: &Outcome) -> &str {
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stdout);
    &outcome.stderr
}

#[test]
fn add_list_passwd_and_remove_work_on_a_real_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let added = ok(users(&data, &["add", "ana", "--email", "ana@example.org"], "pw-ana", ""));
    assert_eq!(added, "added ana (a member of #general)\n");
    let bob = ok(users(&data, &["add", "bob", "--random"], "", ""));
    let bob_pw = bob.trim_end().rsplit("password: ").next().unwrap().to_string();
    assert_eq!(bob_pw.len(), 12, "{bob}");
    let taken = users(&data, &["add", "ANA"], "x", "");
    assert!(refused(&taken).contains("cannot add: ana already has an account"), "{}", taken.stderr);
    assert_eq!(ok(users(&data, &["list"], "", "")), "ana  ana@example.org\nbob\n");
    ok(users(&data, &["passwd", "ana", "--password-stdin"], "", "new-ana\n"));

    let mut server = TestServer::start_in(&data, &[]);
    let mut ana = server.login_send("ana", "new-ana");
    assert_eq!(ana.listing("ROOMS"), ["#general:2"]);
    assert!(ana.request("MSG:bob:m1:hola").starts_with("OK:m1:"));
    server.login_send("bob", &bob_pw);
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"), "old password");
    assert_eq!(server.terminate().code(), Some(0));

    assert_eq!(
        ok(users(&data, &["remove", "bob"], "", "")),
        "removed bob: it can no longer log in; its messages stay\n"
    );
    assert_eq!(ok(users(&data, &["list"], "", "")), "ana  ana@example.org  39 B stored\nbob  (removed)\n");
    assert!(
        refused(&users(&data, &["passwd", "bob"], "x", ""))
            .contains("no account named bob (or it was removed)")
    );
    assert!(refused(&users(&data, &["add", "bob"], "x", "")).contains("bob was removed"));

    // The history that names bob still loads; bob cannot log in.
    let server = TestServer::start_in(&data, &[]);
    assert!(server.send_conn().request(&format!("LOGIN:bob:{bob_pw}")).starts_with("KO:AUTH_FAILED:"));
    let mut ana = server.login_send("ana", "new-ana");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 1);
    assert_eq!(ana.listing("ROOMS"), ["#general:1"], "bob left #general");
}

#[test]
fn every_account_command_refuses_while_a_server_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(users(&data, &["add", "ana"], "pw-ana", ""));
    let roster = tmp.path().join("roster.csv");
    std::fs::write(&roster, "name,email\ncarl,\n").unwrap();
    let before = std::fs::read(data.join("users.csv")).unwrap();

    let server = TestServer::start_in(&data, &[]);
    let pid = std::fs::read_to_string(data.join("wachat.lock")).unwrap().trim().to_string();
    let expected =
        format!("{} is in use by a running wachat server (pid {pid}); stop it first", data.display());
    let roster = roster.display().to_string();
    for args in [
        vec!["add", "bob"],
        vec!["list"],
        vec!["remove", "ana"],
        vec!["passwd", "ana"],
        vec!["import", roster.as_str()],
    ] {
        let outcome = users(&data, &args, "pw", "");
        assert!(refused(&outcome).contains(&expected), "users {args:?}: {}", outcome.stderr);
    }
    assert_eq!(std::fs::read(data.join("users.csv")).unwrap(), before);
    assert!(!tmp.path().join("roster.passwords.csv").exists());
    server.login_send("ana", "pw-ana");
}

#[test]
fn a_roster_import_is_all_or_nothing_and_its_passwords_log_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(users(&data, &["add", "ana"], "pw-ana", ""));
    let before = std::fs::read(data.join("users.csv")).unwrap();

    // Every problem is reported at once, and nothing is written.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "name,email\neve,eve@example.org\nAna,\nmaría,\nfrank,frank.example.org\nEVE,\n")
        .unwrap();
    let outcome = users(&data, &["import", bad.to_str().unwrap()], "", "");
    let stderr = refused(&outcome);
    for problem in [
        "nothing imported",
        "line 3: ana already has an account",
        "line 4: 'í' is not allowed in a name",
        "line 5: bad email address \"frank.example.org\"",
        "line 6: EVE is there twice (also line 2)",
    ] {
        assert!(stderr.contains(problem), "{problem:?} not in {stderr}");
    }
    assert!(!stderr.contains("line 2:"), "eve alone is fine: {stderr}");
    assert_eq!(std::fs::read(data.join("users.csv")).unwrap(), before);
    assert!(!tmp.path().join("bad.passwords.csv").exists());

    // The passwords cannot be written: no account is created either.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/roster.sample.csv");
    let nowhere = tmp.path().join("no-such-dir/passwords.csv");
    let outcome = users(&data, &["import", sample, "--out", nowhere.to_str().unwrap()], "", "");
    assert!(refused(&outcome).contains("passwords.csv"), "{}", outcome.stderr);
    assert_eq!(std::fs::read(data.join("users.csv")).unwrap(), before);

    // The sample roster imports; its passwords file is the teacher's only.
    let out = tmp.path().join("passwords.csv");
    let imported = ok(users(&data, &["import", sample, "--out", out.to_str().unwrap()], "", ""));
    assert!(imported.starts_with("imported 4 accounts into "), "{imported}");
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let table = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<(String, String)> = table
        .lines()
        .skip(1)
        .map(|row| {
            let (name, password) = row.split_once(',').unwrap();
            (name.to_string(), password.to_string())
        })
        .collect();
    assert!(table.starts_with("name,password\n"), "{table}");
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["bea", "bob", "carla.souza", "diego_m"]);
    // A second import of the same roster changes nothing.
    let again = users(&data, &["import", sample, "--out", out.to_str().unwrap()], "", "");
    assert!(refused(&again).contains("line 3: bob already has an account"), "{}", again.stderr);

    let server = TestServer::start_in(&data, &[]);
    for (name, password) in &rows {
        let mut conn = server.login_send(name, password);
        assert_eq!(conn.listing("ROOMS"), ["#general:5"], "{name}");
    }
}

#[test]
fn users_import_says_its_one_line_and_no_log_line_with_rust_log_unset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("passwords.csv");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/roster.sample.csv");
    let mut command = std::process::Command::new(support::wachat_bin());
    command
        .args(["users", "import", sample, "--kdf-cost", "8", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&out);
    // As a teacher runs it: no RUST_LOG, so the default level applies.
    let output = command.env_remove("RUST_LOG").env("LANG", "C").env_remove("LC_ALL").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("imported 4 accounts into "), "{stdout}");
    // The store's INFO lines (a new server identity, …) are the server's
    // log, not the teacher's answer.
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "");
}
