//! What a teacher does during a class, against the running class server:
//! `wachat users add`, `import`, `admin` and `room` work
//! beside it, students stay connected, and a roster is put in a room in
//! one command; `users list` shows who is a server admin.

use super::support;

use std::path::Path;

use support::console::Outcome;
use support::{Conn, TestServer};

/// `wachat users <args> --data-dir <dir>`, with fast hashing where it applies.
fn users(dir: &Path, args: &[&str], password: &str) -> Outcome {
    support::console::users(["--data-dir", &dir.display().to_string()], args, password)
}

/// A receive connection that speaks 1.1, so it hears the rooms' members
/// come and go (`MEMBER:…`).
fn listening(server: &TestServer, user: &str) -> Conn {
    let mut recv = server.recv_conn();
    assert_eq!(recv.request("VERSION:1.1"), "OK");
    assert_eq!(recv.request(&format!("LOGIN:{user}:pw-{user}")), format!("OK:{user}"));
    recv
}

#[test]
fn a_teacher_puts_a_roster_in_a_room_while_the_students_stay_connected() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let data = server.data_dir.clone();
    let mut ana = listening(&server, "ana");
    let mut bob_send = server.login_send("bob", "pw-bob");
    let _bob = listening(&server, "bob");

    let said = users(&data, &["room", "#lab", "--add", "ana,bob"], "").ok();
    assert_eq!(said, "ana is now in #lab\nbob is now in #lab\n");
    // ana, in it first, hears bob come in, on the connection she had.
    ana.hears("MEMBER:#lab:bob:JOINED");
    assert!(bob_send.listing("ROOMS").iter().any(|r| r.starts_with("#lab")), "bob sees the room");
    assert!(bob_send.request("MSG:#lab:r1:hola").starts_with("OK:r1:"));
    assert!(ana.next_msg().contains(":bob:#lab:r1:"));
    // Again: nothing changes, and it says so.
    assert_eq!(users(&data, &["room", "#lab", "--add", "bob"], "").ok(), "bob was in #lab already\n");

    // A roster, imported and put in the room, during the class.
    let tmp = tempfile::tempdir().unwrap();
    let roster = tmp.path().join("late.csv");
    std::fs::write(&roster, "name,email\ncarl,\ndora,dora@example.org\n").unwrap();
    let roster_arg = roster.display().to_string();
    let imported = users(&data, &["import", &roster_arg, "--room", "#lab"], "").ok();
    assert!(imported.starts_with("imported 2 accounts"), "{imported}");
    ana.hears("MEMBER:#lab:carl:JOINED");
    ana.hears("MEMBER:#lab:dora:JOINED");
    let passwords = std::fs::read_to_string(tmp.path().join("late.passwords.csv")).unwrap();
    let carl = passwords.lines().find_map(|l| l.strip_prefix("carl,")).unwrap();
    let mut carl_send = server.login_send("carl", carl);
    assert!(carl_send.listing("ROOMS").iter().any(|r| r.starts_with("#lab")));
    // ana's and bob's sessions were never closed.
    assert!(bob_send.request("MSG:#lab:r2:still here").starts_with("OK:r2:"));
    assert!(ana.next_msg().contains(":bob:#lab:r2:"));
}

#[test]
fn users_add_and_admin_work_beside_a_running_server_and_list_shows_admins() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");

    assert_eq!(users(&data, &["add", "prof"], "pw-prof").ok(), "added prof (a member of #general)\n");
    assert_eq!(
        users(&data, &["admin", "prof"], "").ok(),
        "prof is a server admin: it moderates every room\n"
    );
    let mut prof = server.login_send("prof", "pw-prof");
    // A server admin moderates #general.
    assert_eq!(prof.request("MUTE:#general:ana:10"), "OK");
    let listed = users(&data, &["list"], "").ok();
    let prof_line = listed.lines().find(|l| l.starts_with("prof")).unwrap_or_default();
    assert!(prof_line.contains("server admin"), "{listed}");
    assert!(!listed.lines().find(|l| l.starts_with("ana")).unwrap().contains("server admin"), "{listed}");
    // A taken name is refused by the running server, and nothing changes.
    let taken = users(&data, &["add", "ANA"], "pw");
    assert!(!taken.status.success());
    assert!(taken.stderr.contains("ana already has an account"), "{}", taken.stderr);
    assert_eq!(ana.request("PING"), "OK", "ana stays connected");
    // ana forgot her password: a new one, and she logs in with it.
    let reset = users(&data, &["passwd", "ana", "--random"], "").ok();
    let new = reset.trim_end().rsplit("password: ").next().unwrap().to_string();
    drop(server.login_send("ana", &new));

    // With the server stopped, list reads the directory, admins marked too.
    drop((ana, prof));
    server.terminate();
    let listed = users(&data, &["list"], "").ok();
    assert!(listed.lines().any(|l| l.starts_with("prof") && l.contains("server admin")), "{listed}");
}

/// A teacher's `users passwd` is the recovery of a student who lost both
/// laptop and password, so it must shut out whoever holds them: it ends
/// every session of the account (the old password's and the laptop's
/// token sessions) and revokes every token, so the laptop's token never
/// logs in again, beside a running server as on a stopped one's data
/// directory.
#[test]
fn a_teachers_new_password_ends_every_session_and_token_of_the_account() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana"]);
    let mut old = server.login_send("ana", "pw-ana");
    let link = |from: &mut Conn, device: &str| {
        let code = from.request("LINK");
        let code = code.strip_prefix("OK:").unwrap_or_else(|| panic!("{code}")).to_string();
        let token = server.send_conn().request(&format!("PAIR:ana@{device}:{code}"));
        token.strip_prefix("OK:").unwrap_or_else(|| panic!("{token}")).to_string()
    };
    let laptop = link(&mut old, "laptop");
    let mut thief = server.send_conn();
    assert_eq!(thief.request(&format!("LOGIN:ana@laptop:{laptop}")), "OK:ana");
    let mut thief_events = server.recv_conn();
    assert_eq!(thief_events.request("VERSION:1.2"), "OK");
    assert_eq!(thief_events.request(&format!("LOGIN:ana@laptop:{laptop}")), "OK:ana");

    let reset = users(&data, &["passwd", "ana", "--random"], "").ok();
    assert!(reset.contains("logged out and its tokens revoked"), "{reset}");
    let new = reset.trim_end().rsplit("password: ").next().unwrap().to_string();
    assert_eq!(thief_events.next_event(), "BYE:UNLINKED");
    thief.expect_closed();
    old.expect_closed();
    assert!(server.send_conn().request(&format!("LOGIN:ana@laptop:{laptop}")).starts_with("KO:AUTH_FAILED:"));
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
    let mut ana = server.login_send("ana", &new);

    // The same on a stopped server's data directory: no token survives it.
    let phone = link(&mut ana, "phone");
    drop(ana);
    server.terminate();
    let reset = users(&data, &["passwd", "ana", "--random"], "").ok();
    let newer = reset.trim_end().rsplit("password: ").next().unwrap().to_string();
    server.restart(&[]);
    assert!(server.send_conn().request(&format!("LOGIN:ana@phone:{phone}")).starts_with("KO:AUTH_FAILED:"));
    drop(server.login_send("ana", &newer));
}

/// The teacher's edges: `serve` says at start that registration
/// is invite-only; `users invite` prints a link with the web port the
/// server really serves; `users list` is sorted by name.
#[test]
fn an_invite_only_server_says_so_and_its_invite_link_has_its_web_port() {
    let server = TestServer::start_with(&["--registration", "invite", "--web-port", "0"]);
    server.wait_for_log("registration: invite-only");
    server.wait_for_log("listening: web "); // the port is noted for `users` once it listens
    let port = server.web.expect("a web port").port();
    let invite = users(&server.data_dir, &["invite"], "");
    assert!(invite.status.success(), "{}", invite.stderr);
    assert!(invite.stderr.contains(&format!("http://<server>:{port}/#invite=")), "{}", invite.stderr);
    // An open server says that too.
    TestServer::start().wait_for_log("registration: open");
}

#[test]
fn users_list_is_sorted_by_name_ignoring_case() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["zoe", "Bob", "ana", "carl"] {
        users(dir.path(), &["add", name], &format!("pw-{name}-long")).ok();
    }
    let listed = users(dir.path(), &["list"], "").ok();
    let names: Vec<&str> = listed.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names, ["ana", "Bob", "carl", "zoe"], "{listed}");
}

/// `users import` beside a running server names the roster and
/// the line of each problem, as it does on a stopped server's directory.
#[test]
fn users_import_beside_a_running_server_names_the_file_and_the_line() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("class.csv");
    std::fs::write(&roster, "name,email\ncarl,\nANA,\nbad name,\n").unwrap();
    let out = users(&server.data_dir, &["import", roster.to_str().unwrap()], "");
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains("class.csv: nothing imported"), "{}", out.stderr);
    assert!(out.stderr.contains("line 3: ") && out.stderr.contains("line 4: "), "{}", out.stderr);
    assert!(!out.stderr.contains("line 2: "), "carl is fine: {}", out.stderr);
    // Nothing was made: carl cannot log in.
    assert!(server.send_conn().request("LOGIN:carl:x").starts_with("KO:AUTH_FAILED"));
}

/// Beside a running server, `users list` shows the state the
/// server has: an account deleted a moment ago (`DELACCOUNT`, which
/// `users.csv` says only from the next checkpoint on) is listed as
/// deleted, not as a live account never seen; and so after the server
/// stopped.
#[test]
fn users_list_beside_a_running_server_marks_an_account_deleted_a_moment_ago() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("DELACCOUNT:pw-bob"), "OK");
    let bob_line =
        |listed: &str| listed.lines().find(|l| l.starts_with("bob")).unwrap_or_default().to_string();
    let listed = users(&data, &["list", "--all"], "").ok();
    assert!(bob_line(&listed).contains("(deleted by its user)"), "{listed}");
    assert!(!bob_line(&listed).contains("never seen"), "{listed}");
    assert!(!listed.lines().find(|l| l.starts_with("ana")).unwrap().contains("deleted"), "{listed}");
    // Without --all, the deleted accounts do not crowd the class's list.
    let plain = users(&data, &["list"], "");
    assert!(plain.stderr.contains("(1 accounts deleted by their users not listed"), "{}", plain.stderr);
    assert_eq!(plain.ok().lines().map(|l| l.split(' ').next().unwrap()).collect::<Vec<_>>(), ["ana"]);
    server.terminate();
    let listed = users(&data, &["list", "--all"], "").ok();
    assert!(bob_line(&listed).contains("(deleted by its user)"), "{listed}");
    assert!(bob_line(&users(&data, &["list"], "").ok()).is_empty(), "stopped, the same");
}
