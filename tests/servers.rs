//! One client, several servers (issue 19): the local files are kept per
//! server and user, so that a message id, an outbox or a history of one
//! server never leaks into another's. Each test runs two real servers on
//! port 0 and `wachat connect` on one shared data directory, as a student
//! does who uses the class server and one of their own.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::TestServer;
use support::console::{Console, user_dir};

/// Two servers, each with the accounts ana and bob.
fn two_servers() -> (TestServer, TestServer) {
    let (a, b) = (TestServer::start(), TestServer::start());
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

    let mut bob = Console::start(&class, "bob", dir.path(), &[]);
    bob.expect("connected");
    by_hand(&class, "m1", "hola from the class server");
    bob.expect("ana: hola from the class server");
    assert!(bob.quit("/quit").0.success());

    let mut bob = Console::start(&own, "bob", dir.path(), &[]);
    bob.expect("connected");
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

    let mut ana = Console::start(&class, "ana", dir.path(), &[]);
    ana.expect("connected");
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
    let mut ana = Console::start(&own, "ana", dir.path(), &[]);
    ana.expect("connected");
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
    bob.expect(&format!("moved {}", old.display()));
    bob.expect("connected");
    assert!(bob.quit("/quit").0.success());
    let adopted = user_dir(dir.path(), first.send, "bob");
    assert!(fs::read_to_string(adopted.join("history.csv")).unwrap().contains(row));
    assert!(!old.exists(), "moved, not copied");

    // The second server starts from nothing: m1 there is a new message.
    let mut bob = Console::start(&second, "bob", dir.path(), &[]);
    bob.expect("connected");
    by_hand(&second, "m1", "new on the second server");
    bob.expect("ana: new on the second server");
    assert!(bob.quit("/quit").0.success());
    assert!(
        !fs::read_to_string(user_dir(dir.path(), second.send, "bob").join("history.csv"))
            .unwrap()
            .contains("kept from before")
    );
}
