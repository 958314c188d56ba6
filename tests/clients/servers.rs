//! One client, several servers: the local files are kept per
//! server and user, so that a message id, an outbox or a history of one
//! server never leaks into another's. Each test runs real servers on
//! port 0 and `wachat connect` on one shared data directory, as a student
//! does who uses the class server and one of their own, or who deletes
//! `data/` and starts the server again at the same address (a server's
//! identity, protocol 1.1's `SERVER`, tells the two apart).

use super::support;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::console::{Console, user_dir};
use support::{FakeConn, TestServer};

/// Two servers, each with the accounts ana and bob.
fn two_servers() -> (TestServer, TestServer) {
    let (a, b) = (TestServer::start_restartable(&[]), TestServer::start());
    a.register(&["ana", "bob"]);
    b.register(&["ana", "bob"]);
    (a, b)
}

/// ana types a message by hand with `nc`, choosing its id herself.
fn by_hand(server: &TestServer, id: &str, text: &str) {
    let mut ana = server.login_send("ana", "pw-ana");
    let reply = ana.request(&format!("MSG:bob:{id}:{text}"));
    assert!(reply.starts_with(&format!("OK:{id}:")), "{reply}");
}

#[test]
fn the_same_name_and_the_same_id_on_two_servers_are_two_messages() {
    let (class, own) = two_servers();
    let dir = tempfile::tempdir().unwrap();

    let mut bob = Console::connected(&class, "bob", dir.path(), &[]);
    by_hand(&class, "m1", "hola from the class server");
    bob.expect("ana: hola from the class server");
    assert!(bob.quit("/quit").0.success());

    let mut bob = Console::connected(&own, "bob", dir.path(), &[]);
    by_hand(&own, "m1", "hola from my own server");
    // A new message, not a duplicate of the class server's m1.
    bob.expect("ana: hola from my own server");
    // Offline, /chat reads the local log of this server only.
    drop(own);
    bob.expect("(offline:");
    bob.type_line("/chat ana");
    bob.expect("── ana: last 1 message(s), offline: from the local log ──");
    bob.expect("ana: hola from my own server");
    bob.type_line("/help");
    bob.expect("commands:");
    assert_eq!(bob.count("hola from the class server"), 0, "the other server's m1 is not here");
    assert!(bob.quit("/quit").0.success());

    // The class server's folder holds its own m1 only, readable by its
    // owner only (folders 0700, files 0600).
    let bob_dir = user_dir(dir.path(), class.send, "bob");
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(bob_dir.parent().unwrap()), mode(&bob_dir)), (0o700, 0o700));
    for file in ["history.csv", "outbox_tmp.csv", "wachat.lock"] {
        assert_eq!(mode(&bob_dir.join(file)), 0o600, "{file}");
    }
    let log = fs::read_to_string(bob_dir.join("history.csv")).unwrap();
    assert!(log.contains(",ana,bob,m1,DELIVERED,hola from the class server"), "{log}");
    assert!(!log.contains("my own server"), "{log}");
}

#[test]
fn an_outbox_written_while_one_server_was_down_is_not_sent_to_another() {
    let (mut class, own) = two_servers();
    let dir = tempfile::tempdir().unwrap();

    let mut ana = Console::connected(&class, "ana", dir.path(), &[]);
    class.kill();
    ana.expect("(offline:");
    ana.type_line("@bob: for the class server only");
    ana.expect("you → bob: for the class server only …");
    let (status, lines) = ana.quit("/quit");
    assert!(status.success(), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("1 message(s) wait in the outbox")), "{lines:?}");

    // On the other server: nothing from last time, and bob's first event
    // there is the message typed there.
    let mut bob_events = own.login_recv("bob", "pw-bob");
    let mut ana = Console::connected(&own, "ana", dir.path(), &[]);
    ana.type_line("@bob: marker on my own server");
    let first = bob_events.next_msg();
    assert!(first.starts_with("MSG:1:ana:bob:") && first.ends_with(":marker on my own server"), "{first}");
    ana.expect("✓  (to bob: marker on my own server)");
    assert_eq!(ana.count("from last time"), 0);
    assert!(ana.quit("/quit").0.success());

    // Back on the class server, it leaves at last.
    class.restart_in_place(&[]);
    let mut bob_events = class.login_recv("bob", "pw-bob");
    let mut ana = Console::start(&class, "ana", dir.path(), &[]);
    ana.expect("1 message(s) from last time wait in the outbox");
    let msg = bob_events.next_msg();
    assert!(msg.starts_with("MSG:1:ana:bob:") && msg.ends_with(":for the class server only"), "{msg}");
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn a_folder_of_the_old_layout_is_adopted_by_the_first_server_it_is_used_with() {
    let (first, second) = two_servers();
    let dir = tempfile::tempdir().unwrap();
    // `<data dir>/bob/`, as clients before folders per server left it.
    let old = dir.path().join("bob");
    fs::create_dir_all(&old).unwrap();
    let row = "msg,1700000000000,ana,bob,m1,DELIVERED,kept from before";
    fs::write(old.join("history.csv"), format!("kind,ts,from,to,id,state,text\n{row}\n")).unwrap();

    let mut bob = Console::start_logging(&first, "bob", dir.path(), "info");
    // The log (standard error) and the console's lines (standard output)
    // reach the test by two paths, either first.
    bob.expect_each(&[&format!("moved {}", old.display()), "connected"]);
    assert!(bob.quit("/quit").0.success());
    let adopted = user_dir(dir.path(), first.send, "bob");
    assert!(fs::read_to_string(adopted.join("history.csv")).unwrap().contains(row));
    assert!(!old.exists(), "moved, not copied");

    // The second server starts from nothing: m1 there is a new message.
    let mut bob = Console::connected(&second, "bob", dir.path(), &[]);
    by_hand(&second, "m1", "new on the second server");
    bob.expect("ana: new on the second server");
    assert!(bob.quit("/quit").0.success());
    assert!(
        !fs::read_to_string(user_dir(dir.path(), second.send, "bob").join("history.csv"))
            .unwrap()
            .contains("kept from before")
    );
}

/// The id a server answers to `SERVER` (protocol 1.1).
fn id_of(server: &TestServer) -> String {
    let reply = server.login_send("ana", "pw-ana").request("SERVER");
    reply.strip_prefix("OK:").unwrap_or_else(|| panic!("SERVER: {reply}")).to_string()
}

/// A fresh server (a new, empty data directory) at the address of `old`,
/// which must be stopped: what `rm -r data/` and a restart give a student.
fn fresh_at(old: &TestServer, args: &[&str]) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(dir.path(), old.send.port(), old.recv.port(), args);
    (server, dir)
}

/// `<data dir>/127.0.0.1:<port>/<user>/devices/<device>@<id>`: a folder
/// moved aside.
fn aside(data_dir: &Path, server: &TestServer, user: &str, id: &str) -> PathBuf {
    let folder = user_dir(data_dir, server.send, user);
    let device = folder.file_name().unwrap().to_string_lossy().into_owned();
    folder.with_file_name(format!("{device}@{id}"))
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Bob's console on `server` shows ana's message `id` (typed by hand
/// with `text`), then quits.
fn bob_is_shown(server: &TestServer, dir: &Path, id: &str, text: &str) {
    let mut bob = Console::connected(server, "bob", dir, &[]);
    by_hand(server, id, text);
    bob.expect(&format!("ana: {text}"));
    assert!(bob.quit("/quit").0.success());
}

#[test]
fn a_fresh_server_at_the_same_address_is_another_server_and_its_m1_is_shown() {
    let mut old = TestServer::start_restartable(&[]);
    old.register(&["ana", "bob"]);
    let old_id = id_of(&old);
    let dir = tempfile::tempdir().unwrap();
    bob_is_shown(&old, dir.path(), "m1", "hola from the first server");
    assert_eq!(read(user_dir(dir.path(), old.send, "bob").join("server_id")), format!("{old_id}\n"));

    // data/ deleted, the server started again: same address, new data.
    old.kill();
    let (new, _new_data) = fresh_at(&old, &[]);
    new.register(&["ana", "bob"]);
    let new_id = id_of(&new);
    assert_ne!(new_id, old_id);
    let mut bob = Console::connected(&new, "bob", dir.path(), &[]);
    let moved = bob.expect("is another server now");
    let old_folder = aside(dir.path(), &new, "bob", &old_id);
    assert!(moved.contains(&old_folder.display().to_string()), "{moved}");
    // The same id, typed by hand again: a new message, shown.
    by_hand(&new, "m1", "hola from the fresh server");
    bob.expect("ana: hola from the fresh server");
    assert!(bob.quit("/quit").0.success());

    // The old server's files are aside, whole; the folder is the new one's.
    assert!(read(old_folder.join("history.csv")).contains("hola from the first server"));
    let folder = user_dir(dir.path(), new.send, "bob");
    assert_eq!(read(folder.join("server_id")), format!("{new_id}\n"));
    let log = read(folder.join("history.csv"));
    assert!(log.contains("hola from the fresh server") && !log.contains("first server"), "{log}");
}

#[test]
fn a_console_left_running_moves_its_folder_when_a_fresh_server_takes_the_address() {
    let mut old = TestServer::start_restartable(&[]);
    old.register(&["ana", "bob"]);
    let old_id = id_of(&old);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&old, "bob", dir.path(), &[]);
    by_hand(&old, "m1", "hola from the first server");
    bob.expect("ana: hola from the first server");

    old.kill();
    bob.expect("(offline:");
    // Accounts are made by their first login, so bob's console gets in by itself.
    let (new, _new_data) = fresh_at(&old, &["--auto-register"]);
    bob.expect("is another server now");
    bob.expect("back online");
    by_hand(&new, "m1", "hola from the fresh server");
    bob.expect("ana: hola from the fresh server");
    // The chat holds this server's m1 only.
    bob.type_line("/chat ana");
    bob.expect("last 1 message(s) ──");
    assert!(bob.quit("/quit").0.success());
    assert!(read(aside(dir.path(), &new, "bob", &old_id).join("history.csv")).contains("first server"));
    let log = read(user_dir(dir.path(), new.send, "bob").join("history.csv"));
    assert!(log.contains("hola from the fresh server") && !log.contains("first server"), "{log}");
}

#[test]
fn an_outbox_written_for_the_old_server_stays_with_its_folder_and_leaves_when_it_is_back() {
    let mut old = TestServer::start_restartable(&[]);
    old.register(&["ana", "bob"]);
    let old_id = id_of(&old);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::connected(&old, "ana", dir.path(), &[]);
    old.kill();
    ana.expect("(offline:");
    ana.type_line("@bob: for the first server only");
    ana.expect("you → bob: for the first server only …");
    assert!(ana.quit("/quit").0.success());

    // A fresh server at the address: the outbox is not sent there.
    let (mut new, _new_data) = fresh_at(&old, &[]);
    new.register(&["ana", "bob"]);
    let mut bob_events = new.login_recv("bob", "pw-bob");
    let mut ana = Console::connected(&new, "ana", dir.path(), &[]);
    ana.expect("1 unsent message(s) written for the other server stay in that folder");
    ana.type_line("@bob: marker on the fresh server");
    let first = bob_events.next_msg();
    assert!(first.starts_with("MSG:1:ana:bob:") && first.ends_with(":marker on the fresh server"), "{first}");
    ana.expect("✓  (to bob: marker on the fresh server)");
    assert_eq!(ana.count("from last time"), 0, "{:?}", ana.seen);
    assert!(ana.quit("/quit").0.success());
    let old_folder = aside(dir.path(), &new, "ana", &old_id);
    assert!(read(old_folder.join("outbox_tmp.csv")).contains("for the first server only"));

    // The first server back on its own data: its folder comes back, and
    // the message leaves at last.
    new.kill();
    old.restart_in_place(&[]);
    let mut bob_events = old.login_recv("bob", "pw-bob");
    let mut ana = Console::start(&old, "ana", dir.path(), &[]);
    ana.expect("1 message(s) from last time wait in the outbox");
    ana.expect("those from your earlier visit to this one are back");
    let msg = bob_events.next_msg();
    assert!(msg.starts_with("MSG:1:ana:bob:") && msg.ends_with(":for the first server only"), "{msg}");
    assert!(ana.quit("/quit").0.success());
    assert!(!old_folder.exists(), "moved back, not copied");
}

#[test]
fn a_restart_of_the_same_server_keeps_the_folder() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let id = id_of(&server);
    let dir = tempfile::tempdir().unwrap();
    bob_is_shown(&server, dir.path(), "m1", "before the restart");

    server.restart_in_place(&[]);
    assert_eq!(id_of(&server), id, "the same data, the same server");
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);
    by_hand(&server, "m2", "after the restart");
    bob.expect("ana: after the restart");
    bob.type_line("/help");
    bob.expect("commands:");
    assert_eq!(bob.count("another server"), 0, "{:?}", bob.seen);
    assert!(bob.quit("/quit").0.success());
    let folder = user_dir(dir.path(), server.send, "bob");
    let log = read(folder.join("history.csv"));
    assert!(log.contains("before the restart") && log.contains("after the restart"), "{log}");
    let names: Vec<String> = fs::read_dir(folder.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [folder.file_name().unwrap().to_string_lossy()], "nothing moved aside");
}

/// A version-1 server cannot say who it is (`SERVER` is an unknown
/// request there): the folder is the address's, as before ids, and the
/// receiver's guard keeps a new message with a known id from being taken
/// for a duplicate. The server is a fake one, answering as version 1 does.
#[test]
fn against_a_version_1_server_a_known_id_with_another_time_is_a_new_message() {
    let (send, recv) = (TcpListener::bind("127.0.0.1:0").unwrap(), TcpListener::bind("127.0.0.1:0").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut bob =
        Console::start_at(send.local_addr().unwrap(), recv.local_addr().unwrap(), "bob", dir.path(), &[]);
    let mut requests = FakeConn::accept(&send);
    support::console::old_server_login_send(&mut requests, "bob", "pw-bob");
    assert_eq!(requests.line(), "SERVER");
    requests.send("KO:BAD_REQUEST:unknown request \"SERVER\"");
    std::thread::spawn(move || {
        while requests.try_line().is_some() {
            requests.send("OK"); // P2P, PING, READ
        }
    });
    let mut events = support::console::old_server_login_recv(&recv, "bob", "pw-bob");
    bob.expect("connected");

    events.send("MSG:1:ana:bob:m1:1700000000000:hola from the class server");
    assert_eq!(events.line(), "ACK:1");
    bob.expect("ana: hola from the class server");
    // The same message again (a resend keeps its time), then ana's m1 of
    // another server, which only its time tells apart, then a marker.
    events.send("MSG:2:ana:bob:m1:1700000000000:hola from the class server");
    events.send("MSG:3:ana:bob:m1:1800000000000:hola from my own server");
    events.send("MSG:4:ana:bob:m2:1800000000001:marker");
    bob.expect("ana: hola from my own server");
    bob.expect("ana: marker");
    assert_eq!(bob.count("hola from the class server"), 1, "{:?}", bob.seen);
    assert!(bob.quit("/quit").0.success());

    let folder = user_dir(dir.path(), send.local_addr().unwrap(), "bob");
    assert!(!folder.join("server_id").exists(), "a version-1 server records no id");
    let log = read(folder.join("history.csv"));
    assert_eq!(log.matches(",ana,bob,m1,").count(), 2, "{log}");
}
