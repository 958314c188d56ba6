//! `wachat users add|list|remove|passwd|import`, end to end: the commands
//! edit a data directory, then a real server started on it lets the users
//! log in (or not). While a server runs, `remove` refuses; the others
//! work beside it (`add`, `import`, `passwd`, `admin`, `room`: tests/tools/teacher.rs).

use super::support;

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
fn users_remove_refuses_while_a_server_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(users(&data, &["add", "ana"], "pw-ana", ""));
    let before = std::fs::read(data.join("users.csv")).unwrap();

    let server = TestServer::start_in(&data, &[]);
    let pid = std::fs::read_to_string(data.join("wachat.lock")).unwrap().trim().to_string();
    let expected =
        format!("{} is in use by a running wachat server (pid {pid}); stop it first", data.display());
    let outcome = users(&data, &["remove", "ana"], "pw", "");
    assert!(refused(&outcome).contains(&expected), "users remove: {}", outcome.stderr);
    assert_eq!(std::fs::read(data.join("users.csv")).unwrap(), before);
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

#[test]
fn a_disabled_user_is_refused_and_its_live_sessions_closed() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let data = server.data_dir.clone();
    // ana speaks 1.2 on her receive connection, bob an older version.
    let mut ana_recv = server.login_recv("ana", "pw-ana");
    ana_recv.send("VERSION:1.1");
    ana_recv.send("VERSION:1.2");
    let mut ana_send = server.login_send("ana", "pw-ana");
    assert_eq!(ana_send.request("PING"), "OK", "the VERSION lines are in");
    let mut bob_recv = server.login_recv("bob", "pw-bob");
    let mut carl = server.login_send("carl", "pw-carl");

    let said = ok(users(&data, &["disable", "ana"], "", ""));
    assert_eq!(said, "ana disabled: its logins are refused, its sessions closed\n");
    let said = loop {
        let line = ana_recv.line();
        if !line.starts_with("JOINED:") && !line.starts_with("LEFT:") {
            break line; // presence of roommates comes and goes meanwhile
        }
    };
    assert_eq!(said, "BYE:DISABLED");
    ana_recv.expect_closed();
    ana_send.expect_closed();
    let refused = server.send_conn().request("LOGIN:ana:pw-ana");
    assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
    assert!(server.recv_conn().request("LOGIN:ANA:pw-ana").starts_with("KO:AUTH_FAILED:"));
    // Messages to her are still taken: they wait for her return.
    assert!(carl.request("MSG:ana:m1:still there?").starts_with("OK:m1:"));

    // A client older than 1.2 cannot read BYE:DISABLED: a plain close.
    ok(users(&data, &["disable", "Bob"], "", ""));
    let rest = bob_recv.read_to_close();
    assert!(rest.lines().all(|l| l.starts_with("LEFT:") || l.starts_with("JOINED:")), "{rest}");
    assert!(ok(users(&data, &["disable", "bob"], "", "")).contains("was already disabled"));
    let nobody = users(&data, &["disable", "nobody"], "", "");
    assert!(refused_with(&nobody).contains("no account named nobody"));

    assert_eq!(ok(users(&data, &["enable", "ana"], "", "")), "ana enabled: it may log in again\n");
    let mut ana_recv = server.login_recv("ana", "pw-ana");
    assert!(ana_recv.next_msg().contains(":carl:ana:m1:"), "what waited is delivered");
    assert!(ok(users(&data, &["enable", "ana"], "", "")).contains("was not disabled"));
    let log = server.log().join("\n");
    assert!(log.contains("account bob disabled: closing its sessions"), "{log}");
    // With the server stopped, the flag stays, and the list shows it.
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(ok(users(&data, &["list"], "", "")), "ana\nbob   (disabled)\ncarl  48 B stored\n");
}

/// A data directory of an older build kept its disabled accounts as files
/// (`disabled/<name>`): the next start makes them records of its log,
/// once (the folder goes), and they stay disabled: refused at login,
/// marked in the list, enabled as any other. A file of no account is left
/// out.
#[test]
fn a_data_directory_that_kept_disabled_accounts_as_files_keeps_them_disabled() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let data = server.data_dir.clone();
    assert_eq!(server.terminate().code(), Some(0));
    std::fs::create_dir(data.join("disabled")).unwrap();
    for name in ["ana", "nobody"] {
        std::fs::write(data.join("disabled").join(name), "").unwrap();
    }
    server.restart(&[]);
    assert!(!data.join("disabled").exists(), "converted once");
    let refused = server.send_conn().request("LOGIN:ana:pw-ana");
    assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
    server.login_send("bob", "pw-bob");
    assert!(ok(users(&data, &["disable", "ana"], "", "")).contains("was already disabled"));
    // Through a restart, as a record of the log.
    server.restart(&[]);
    let refused = server.send_conn().request("LOGIN:ana:pw-ana");
    assert!(refused.starts_with("KO:AUTH_FAILED:"), "{refused}");
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(ok(users(&data, &["list"], "", "")), "ana  (disabled)\nbob\n");
    assert_eq!(ok(users(&data, &["enable", "ana"], "", "")), "ana enabled: it may log in again\n");
    server.restart(&[]);
    server.login_send("ana", "pw-ana");
}

/// With no server running, `disable` writes the record into the data
/// directory itself, as `users add` does: the next start refuses the
/// account.
#[test]
fn an_account_disabled_while_no_server_runs_is_refused_at_the_next_start() {
    let mut server = TestServer::start();
    server.register(&["ana"]);
    let data = server.data_dir.clone();
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(
        ok(users(&data, &["disable", "ANA"], "", "")),
        "ANA disabled: its logins are refused, its sessions closed\n"
    );
    assert!(ok(users(&data, &["disable", "ana"], "", "")).contains("was already disabled"));
    assert!(!data.join("disabled").exists(), "a record of the log, no file");
    server.restart(&[]);
    let refused = server.send_conn().request("LOGIN:ana:pw-ana");
    assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
}

fn refused_with(outcome: &Outcome) -> &str {
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stdout);
    &outcome.stderr
}

#[test]
fn users_list_beside_a_running_server_shows_presence_and_usage() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let data = server.data_dir.clone();
    let _ana = server.login_recv("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    assert!(bob.request("MSG:carl:m2:hi").starts_with("OK:m2:"));
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    // carl was online once, and is no more.
    drop(server.login_recv("carl", "pw-carl"));
    ok(users(&data, &["disable", "carl"], "", ""));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = loop {
        let listed = ok(users(&data, &["list"], "", ""));
        if listed.contains("last seen") || std::time::Instant::now() > deadline {
            break listed;
        }
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling: carl's last seen is being recorded
    };
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert_eq!(lines[0], "ana   online  rooms 1  chats 1  unread 1", "{listed}");
    assert_eq!(lines[1], "bob   never seen  rooms 2  chats 2  unread 0", "{listed}");
    assert!(lines[2].starts_with("carl  (disabled)  last seen "), "{listed}");
    assert!(lines[2].ends_with("  rooms 1  chats 1  unread 1"), "{listed}");
    assert!(!data.join("status.request").exists());
}

/// A data directory of an older build kept its invite codes as files
/// (`invites/<code>`, `<code>.used` once taken): the next start makes them
/// records of its log, once (the folder goes): the unused one lets one
/// student in, the used one nobody. A code made while no server runs
/// (the command writes the directory itself) lets a student in at the
/// next start.
#[test]
fn a_data_directory_that_kept_invite_codes_as_files_keeps_them() {
    let invite_only = ["--registration", "invite"];
    let mut server = TestServer::start_with(&invite_only);
    let data = server.data_dir.clone();
    assert_eq!(server.terminate().code(), Some(0));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let later = now + 86_400_000;
    std::fs::create_dir(data.join("invites")).unwrap();
    std::fs::write(data.join("invites/aaaabbbbccccddd"), format!("{later}\n")).unwrap();
    std::fs::write(data.join("invites/eeeeffffgggghhh.used"), format!("{later}\n")).unwrap();
    server.restart(&invite_only);
    assert!(!data.join("invites").exists(), "converted once");
    let mut conn = server.send_conn();
    assert_eq!(conn.request("REDEEM:aaaabbbbccccddd:ana::pw-ana-long"), "OK:ana");
    let again = server.send_conn().request("REDEEM:aaaabbbbccccddd:bob::pw-bob-long");
    assert_eq!(again, "KO:AUTH_FAILED:this invite code was used already: ask for another");
    let used = server.send_conn().request("REDEEM:eeeeffffgggghhh:bob::pw-bob-long");
    assert_eq!(used, "KO:AUTH_FAILED:this invite code was used already: ask for another");
    assert_eq!(server.terminate().code(), Some(0));
    // Made with no server running: the command writes the log itself.
    let made = ok(users(&data, &["invite"], "", ""));
    let code = made.lines().next().unwrap().to_string();
    let listed = ok(users(&data, &["invites", "--all"], "", ""));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains(&format!("{code}  valid until ")), "{listed}");
    assert!(listed.contains("aaaabbbbccccddd  used"), "{listed}");
    server.restart(&invite_only);
    assert_eq!(server.send_conn().request(&format!("REDEEM:{code}:bob::pw-bob-long")), "OK:bob");
}

#[test]
fn info_tells_the_rules_of_the_server() {
    let rules = ["--retain-days", "30", "--registration", "invite", "--rate", "50", "--timeout", "10"];
    let server = TestServer::start_with(&rules);
    let mut conn = server.send_conn();
    assert!(conn.request("INFO").starts_with("KO:AUTH_REQUIRED:"), "after a login only");
    let ana = ok(users(&server.data_dir, &["invite"], "", ""));
    let code = ana.lines().next().unwrap().trim().to_string();
    let mut ana = server.send_conn();
    assert_eq!(ana.request(&format!("REDEEM:{code}:ana::pw-ana")), "OK:ana");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        ana.listing("INFO"),
        [
            "version=1.2".to_string(),
            format!("server=wachat {version}"),
            "retention_days=30".into(),
            "quota_bytes=67108864".into(),
            "max_devices=5".into(),
            "registration=invite".into(),
            "max_text_bytes=4096".into(),
            "max_frame_bytes=16384".into(),
            "max_history=1000".into(),
            "rate=50".into(),
            "name_quarantine_days=30".into(),
            "timeout_secs=10".into(),
            // REDEEM takes none of the address's budget of new accounts.
            "new_accounts_left=60".into(),
            "max_file_bytes=16777216".into(),
        ]
    );
    assert_eq!(ana.request("INFO:x"), "KO:BAD_REQUEST:INFO takes no fields");
    assert_eq!(ana.request("PING"), "OK", "the connection goes on");
}

#[test]
fn the_console_shows_the_rules_at_the_first_login_and_on_info() {
    use support::console::Console;
    let server = TestServer::start_with(&["--retain-days", "30"]);
    server.register(&["ana"]);
    let tmp = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", tmp.path(), &[]);
    ana.expect("connected to");
    ana.expect("this server's rules:");
    ana.expect("  messages are deleted from the server after 30 days");
    ana.expect("  each account may store 64 MiB");
    let (status, _) = ana.quit("/quit");
    assert!(status.success());

    // The second login says nothing of them; /info says all of them.
    let mut ana = Console::start(&server, "ana", tmp.path(), &[]);
    ana.expect("connected to");
    ana.type_line("/info");
    ana.expect("this server's rules:");
    ana.expect("  devices connected at once per account: 5");
    ana.expect("  new accounts: anyone may register");
    let (status, seen) = ana.quit("/quit");
    assert!(status.success());
    assert_eq!(seen.iter().filter(|l| l.contains("this server's rules:")).count(), 1, "{seen:?}");
}

#[test]
fn an_export_lists_what_history_returns() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert!(ana.request("MSG:bob:m1:hola \"bob\" \\\\ and\\nsecond line").starts_with("OK:m1:"));
    assert!(bob.request("MSG:ana:b1:hi ana").starts_with("OK:b1:"));
    assert!(ana.request("MSG:#tea:t1:tea time").starts_with("OK:t1:"));
    assert!(server.send_conn().request("LOGIN:carl:pw-carl").starts_with("OK"));
    let laptop = device_recv(&server, "ana", "laptop", "pw-ana");

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ana.jsonl");
    let mut args: Vec<String> =
        ["export", "--user", "ana", "--out", out.to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    args.extend(support::console::connection_args(server.send, server.recv, tmp.path()));
    let outcome = run_wachat(&args, "pw-ana", "");
    assert!(outcome.status.success(), "{}", outcome.stderr);
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "account");
    assert_eq!(lines[0]["user"], "ana");
    assert_eq!(lines[0]["server"], ana.request("SERVER").trim_start_matches("OK:"));
    let of = |kind: &str| lines.iter().filter(|l| l["type"] == kind).cloned().collect::<Vec<_>>();
    let rooms: Vec<String> =
        of("room").iter().map(|r| format!("{}:{}", r["room"].as_str().unwrap(), r["members"])).collect();
    assert_eq!(rooms, ana.listing("ROOMS"));
    let chats: Vec<String> =
        of("chat").iter().map(|c| format!("{}:{}", c["chat"].as_str().unwrap(), c["unread"])).collect();
    assert_eq!(chats, ana.listing("CHATS"));
    // Every chat's messages, as HISTORY lines again: the same lines.
    for chat in ["bob", "#tea", "#general"] {
        let exported: Vec<String> = of("message")
            .iter()
            .filter(|m| m["chat"].as_str().unwrap().eq_ignore_ascii_case(chat))
            .map(|m| {
                let text = m["text"].as_str().unwrap().replace('\\', "\\\\").replace('\n', "\\n");
                let s = |k: &str| m[k].as_str().unwrap().to_string();
                format!("{}:{}:{}:{}:{}:{text}", s("from"), s("to"), s("id"), m["ts"], s("state"))
            })
            .collect();
        assert_eq!(exported, ana.listing(&format!("HISTORY:{chat}:1000")), "{chat}");
    }
    assert_eq!(of("message").len(), 3, "{text}");
    assert!(text.contains(r#""text":"hola \"bob\" \\ and\nsecond line""#), "{text}");
    let devices = of("device");
    assert_eq!(devices.len(), 1, "{text}");
    assert_eq!(
        (devices[0]["device"].as_str(), devices[0]["presence"].as_str()),
        (Some("laptop"), Some("online"))
    );

    // An administrator's export, beside the running server: the same lines.
    let after_first = |text: &str| text.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    let live = ok(users(&server.data_dir, &["export", "ANA"], "", ""));
    assert_eq!(after_first(&live), after_first(&text), "{live}");
    assert!(live.starts_with(r#"{"type":"account","user":"ana","server":""#), "{live}");
    assert!(
        !server.data_dir.join("export.request").exists() && !server.data_dir.join("export.jsonl").exists()
    );
    assert!(refused(&users(&server.data_dir, &["export", "zed"], "", "")).contains("no account named zed"));

    // And with the server stopped: the same, the laptop last seen.
    drop(laptop);
    assert_eq!(server.terminate().code(), Some(0));
    let stopped = ok(users(&server.data_dir, &["export", "ana"], "", ""));
    let (stopped, live) = (after_first(&stopped), after_first(&live));
    assert_eq!(stopped[..stopped.len() - 1], live[..live.len() - 1]);
    assert!(
        stopped.last().unwrap().contains(r#""device":"laptop","address":"127.0.0.1","presence":"last seen""#)
    );
}

// ----- protocol 1.2, §20: a user's own account --------------------------

/// A receive connection of `user`'s `device` (password `password`),
/// speaking 1.2.
fn device_recv(server: &TestServer, user: &str, device: &str, password: &str) -> support::Conn {
    let mut c = server.recv_conn();
    assert_eq!(c.request("VERSION:1.2"), "OK");
    assert_eq!(c.request(&format!("LOGIN:{user}@{device}:{password}")), format!("OK:{user}"));
    c
}

/// A token for `user`'s `device`, from a `LINK` code and a `PAIR`.
fn token(server: &TestServer, user: &str, password: &str, device: &str) -> String {
    let mut c = server.login_send(user, password);
    let code = c.request("LINK").strip_prefix("OK:").expect("OK:<code>").to_string();
    let paired = server.send_conn().request(&format!("PAIR:{user}@{device}:{code}"));
    paired.strip_prefix("OK:").expect("OK:<token>").to_string()
}

#[test]
fn passwd_needs_the_old_password_and_logs_the_other_devices_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana", "bob"]);
    let phone_token = token(&server, "ana", "pw-ana", "phone");
    let mut laptop = device_recv(&server, "ana", "laptop", "pw-ana");
    let mut old_client = server.login_recv("ana", "pw-ana"); // `default`, a 1.0 client
    let mut other_send = server.login_send("ana", "pw-ana");
    let mut desk = server.send_conn();
    assert_eq!(desk.request("LOGIN:ana@desk:pw-ana"), "OK:ana");
    let mut desk_events = device_recv(&server, "ana", "desk", "pw-ana");

    // Refusals keep the session: a new password too short, a wrong old one.
    assert!(desk.request("PASSWD:pw-ana:short").starts_with("KO:BAD_REQUEST:"));
    assert_eq!(desk.request("PASSWD:wrong:new-secret"), "KO:FORBIDDEN:wrong password");
    assert!(desk.request("PASSWD:pw-ana").starts_with("KO:BAD_REQUEST:expected PASSWD:<old password>:"));
    assert_eq!(desk.request("PING"), "OK");

    // The new password may hold a colon (the last field).
    assert_eq!(desk.request("PASSWD:pw-ana:new:secret"), "OK");
    assert_eq!(laptop.read_to_close(), "BYE:UNLINKED\n", "another 1.2 device");
    assert_eq!(old_client.read_to_close(), "BYE:REPLACED\n", "a 1.0 client is told not to come back");
    other_send.expect_closed();
    assert_eq!(desk.request("PING"), "OK", "the device that asked stays");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:still there?").starts_with("OK:m1:"));
    assert!(desk_events.next_msg().contains(":bob:ana:m1:"), "its receive connection too");
    assert!(
        server.send_conn().request(&format!("LOGIN:ana@phone:{phone_token}")).starts_with("KO:AUTH_FAILED")
    );
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"), "old");
    server.login_send("ana", "new:secret");

    // Durable: after a kill (the log's record), then a clean stop (a
    // checkpoint carries it), the new password is the one.
    server.kill();
    let mut server = TestServer::start_in(&data, &[]);
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
    let mut ana = server.login_send("ana", "new:secret");
    assert_eq!(ana.request("PASSWDKEEP:new:again-1"), "KO:FORBIDDEN:wrong password");
    assert_eq!(server.terminate().code(), Some(0));
    let server = TestServer::start_in(&data, &[]);
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
    server.login_send("ana", "new:secret");
}

#[test]
fn passwdkeep_keeps_the_other_devices_and_their_tokens() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let phone_token = token(&server, "ana", "pw-ana", "phone");
    let mut laptop = device_recv(&server, "ana", "laptop", "pw-ana");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("PASSWDKEEP:pw-ana:new-secret"), "OK");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:m1:still there?").starts_with("OK:m1:"));
    assert!(laptop.next_msg().contains(":bob:ana:m1:"), "still logged in");
    assert_eq!(server.send_conn().request(&format!("LOGIN:ana@phone:{phone_token}")), "OK:ana");
    server.login_send("ana", "new-secret");
}

#[test]
fn wrong_old_passwords_are_throttled_like_logins() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let answers: Vec<String> = (0..6).map(|_| ana.request("PASSWD:guess:new-secret")).collect();
    assert!(answers[..5].iter().all(|a| a == "KO:FORBIDDEN:wrong password"), "{answers:?}");
    assert!(answers[5].starts_with("KO:RATE_LIMITED:too many failed logins"), "{answers:?}");
    // The right one waits too: no second chance for a password change.
    assert!(ana.request("PASSWD:pw-ana:new-secret").starts_with("KO:RATE_LIMITED:"));
    assert_eq!(ana.request("PING"), "OK");
}

#[test]
fn the_console_changes_the_password_with_passwd_and_logs_in_with_it_again() {
    use support::console::Console;
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let mut other_device = server.login_recv("ana", "pw-ana"); // `default`
    let tmp = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", tmp.path(), &[]);
    ana.expect("connected to");
    ana.type_line("/passwd");
    ana.expect("current password:");
    ana.type_line("pw-ana");
    ana.expect("new password (at least 6 characters):");
    ana.type_line("new-secret");
    ana.expect("new password again:");
    ana.type_line("new-secret");
    ana.expect("password changed; your other devices are logged out");
    assert_eq!(other_device.read_to_close(), "BYE:REPLACED\n");
    // The console logs in with the new password when it reconnects.
    server.restart_in_place(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    while !bob.listing("USERS").contains(&"ana".to_string()) {
        assert!(std::time::Instant::now() < deadline, "the console did not come back");
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling
    }
    let (status, seen) = ana.quit("/quit");
    assert!(status.success(), "{seen:?}");
    assert!(!seen.iter().any(|l| l.contains("new-secret") || l.contains("pw-ana")), "{seen:?}");
}

#[test]
fn wachat_passwd_asks_both_passwords_and_says_what_is_wrong() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let tmp = tempfile::tempdir().unwrap();
    let passwd = |stdin: &str, extra: &[&str]| {
        let mut args: Vec<String> =
            ["passwd", "--user", "ana", "--password-stdin"].map(String::from).to_vec();
        args.extend(support::console::connection_args(server.send, server.recv, tmp.path()));
        args.extend(extra.iter().map(|s| s.to_string()));
        run_wachat(&args, "", stdin)
    };
    let wrong = passwd("nope\nnew-secret\n", &[]);
    // The current password logs in first: a wrong one goes no further.
    assert!(refused(&wrong).contains("wrong user or password"), "{}", wrong.stderr);
    let short = passwd("pw-ana\nshort\n", &[]);
    assert!(refused(&short).contains("at least 6 characters"), "{}", short.stderr);
    let done = ok(passwd("pw-ana\nnew-secret\n", &["--keep"]));
    assert_eq!(done, "password changed; your other devices stay logged in\n");
    server.login_send("ana", "new-secret");
}

// ----- DELACCOUNT (1.2, §20) ----------------------------------------------

#[test]
fn delaccount_deletes_for_good_and_the_recipient_keeps_what_it_was_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:keep this").starts_with("OK:m1:"), "bob is offline: it waits");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let phone_token = token(&server, "ana", "pw-ana", "phone");
    let mut laptop = device_recv(&server, "ana", "laptop", "pw-ana");
    let mut old_client = server.login_recv("ana", "pw-ana"); // `default`, a 1.0 client
    let mut other_send = server.login_send("ana", "pw-ana");

    // A wrong password deletes nothing and keeps the session.
    assert_eq!(ana.request("DELACCOUNT:wrong"), "KO:FORBIDDEN:wrong password");
    assert!(ana.request("DELACCOUNT").starts_with("KO:BAD_REQUEST:expected DELACCOUNT:<password>"));
    assert_eq!(ana.request("PING"), "OK");

    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    ana.expect_closed();
    assert!(laptop.read_to_close().ends_with("BYE:UNLINKED\n"), "a 1.2 device is told");
    assert!(!old_client.read_to_close().contains("BYE"), "a 1.0 client: a plain close");
    other_send.expect_closed();

    let after = |server: &TestServer| {
        // No password, no token logs in; the name cannot be registered.
        assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
        let phone = server.send_conn().request(&format!("LOGIN:ana@phone:{phone_token}"));
        assert!(phone.starts_with("KO:AUTH_FAILED:"), "{phone}");
        let again = server.send_conn().request("REGISTER:ANA::new-secret");
        assert!(
            again.starts_with("KO:USER_EXISTS:the name ana belonged to an account that was deleted"),
            "{again}"
        );
        // The recipient keeps the message: in its inbox and its history.
        let mut bob = server.login_send("bob", "pw-bob");
        let history = bob.listing("HISTORY:ana:10");
        assert!(history.iter().any(|l| l.contains(":keep this")), "{history:?}");
        assert!(bob.request("MSG:ana:m2:hello?").starts_with("KO:UNKNOWN_USER:ana deleted its account"));
        assert!(!bob.listing("MEMBERS:#general").iter().any(|l| l.starts_with("ana")), "out of its rooms");
        assert!(
            bob.request("JOIN:#lab") == "OK" && bob.listing("MEMBERS:#lab").len() == 1,
            "#lab was ana's only"
        );
        assert_eq!(bob.request("LEAVE:#lab"), "OK");
    };
    after(&server);
    let mut bob_events = server.login_recv("bob", "pw-bob");
    assert!(bob_events.next_msg().ends_with(":keep this"), "delivered after the deletion");
    drop(bob_events);

    // Durable: the record after a kill, a checkpoint after a clean stop.
    server.kill();
    let mut server = TestServer::start_in(&data, &[]);
    after(&server);
    assert_eq!(server.terminate().code(), Some(0));
    let server = TestServer::start_in(&data, &[]);
    after(&server);
}

#[test]
fn a_deleted_name_is_free_after_its_quarantine_for_a_new_account_that_starts_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let first_m1 = ana.request("MSG:bob:m1:the old ana's secret");
    assert!(first_m1.starts_with("OK:m1:"), "{first_m1}");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:for the old ana").starts_with("OK:b1:"));
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    // During the quarantine (30 days by default), the name stays taken.
    let taken = server.send_conn().request("REGISTER:ana::pw-new");
    assert!(
        taken.starts_with("KO:USER_EXISTS:the name ana belonged to an account that was deleted"),
        "{taken}"
    );
    assert!(taken.contains("reserved for 30 days more"), "{taken}");

    // Once it is over (here at once), the name is a new account's ...
    server.kill();
    let mut server = TestServer::start_in(&data, &["--name-quarantine-days", "0"]);
    assert_eq!(server.send_conn().request("REGISTER:Ana::pw-new"), "OK:ana");
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
    let mut ana = server.login_send("ana", "pw-new");
    // ... which sees nothing of the old one's, and acts on none of it;
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
    assert_eq!(ana.listing("CHATS"), Vec::<String>::new());
    assert_eq!(ana.listing("SEARCH:bob:secret"), Vec::<String>::new());
    assert!(ana.request("EDIT:bob:m1:rewritten").starts_with("KO:"), "not its message");
    // its m1 is a new message, not a resend of the old m1;
    let second_m1 = ana.request("MSG:bob:m1:hello, I am new here");
    assert!(second_m1.starts_with("OK:m1:") && second_m1 != first_m1, "{second_m1} vs {first_m1}");
    // bob keeps the whole conversation with the name, old and new.
    let mut bob = server.login_send("bob", "pw-bob");
    let history = bob.listing("HISTORY:ana:10");
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history[0].ends_with(":the old ana's secret") && history[2].ends_with(":hello, I am new here"));
    assert!(bob.request("MSG:ana:b2:welcome").starts_with("OK:b2:"));
    assert_eq!(ana.listing("CHATS"), ["bob:1"], "only the new message is unread");
    assert!(ana.request("EDIT:bob:m1:hello, I am new").starts_with("OK:"), "its own message");
    // Durable, after a kill and after a clean stop.
    server.kill();
    let mut server = TestServer::start_in(&data, &[]);
    let mut ana = server.login_send("ana", "pw-new");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 3, "m1, its edit, b2");
    assert_eq!(server.terminate().code(), Some(0));
    let server = TestServer::start_in(&data, &[]);
    let mut ana = server.login_send("ana", "pw-new");
    assert_eq!(ana.listing("CHATS"), ["bob:1"]);
}

#[test]
fn wrong_delaccount_passwords_are_throttled_like_logins() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let answers: Vec<String> = (0..6).map(|_| ana.request("DELACCOUNT:guess")).collect();
    assert!(answers[..5].iter().all(|a| a == "KO:FORBIDDEN:wrong password"), "{answers:?}");
    assert!(answers[5].starts_with("KO:RATE_LIMITED:too many failed logins"), "{answers:?}");
    assert!(ana.request("DELACCOUNT:pw-ana").starts_with("KO:RATE_LIMITED:"), "the right one waits too");
    assert_eq!(ana.request("PING"), "OK");
}

#[test]
fn the_console_deletes_the_account_once_the_name_is_typed() {
    use support::console::Console;
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let tmp = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", tmp.path(), &[]);
    ana.expect("connected to");
    ana.type_line("/delete-account");
    ana.expect("password:");
    ana.type_line("pw-ana");
    ana.expect("type your user name to delete it for good:");
    ana.type_line("bob");
    ana.expect("\"bob\" is not your user name (ana): nothing deleted");
    server.login_send("ana", "pw-ana");
    ana.type_line("/delete-account");
    ana.expect("password:");
    ana.type_line("pw-ana");
    ana.expect("type your user name to delete it for good:");
    ana.type_line("ana");
    ana.expect("the account ana is deleted");
    let (status, seen) = ana.quit("/quit");
    assert!(status.success(), "{seen:?}");
    assert!(!seen.iter().any(|l| l.contains("pw-ana")), "{seen:?}");
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
}
