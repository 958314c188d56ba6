//! Protocol 1.1's additions, byte for byte (docs/PROTOCOL.md §11):
//! `LASTSEEN`, `MEMBERS` and `SERVER` on the send port, `VERSION:1.1` and
//! the `MEMBER` event on the receive port. And the other half of the
//! promise: a version-1 client, which never says `VERSION:1.1`, sees no
//! difference.

use super::support;

use std::time::{Duration, Instant};

use support::{Conn, READ_TIMEOUT, TestServer, without_ts};

/// `LASTSEEN:<user>` until its answer is not `ONLINE` (the server notes
/// the end of a receive connection when its thread sees it close).
fn seen_once_offline(conn: &mut Conn, user: &str) -> String {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let reply = conn.request(&format!("LASTSEEN:{user}"));
        if !reply.ends_with(":ONLINE") {
            return reply;
        }
        assert!(Instant::now() < deadline, "{user} still online");
        std::thread::sleep(Duration::from_millis(20)); // polling the server's view
    }
}

/// The `<ts>` of `OK:<user>:<ts>`.
fn seen_ts(reply: &str) -> u64 {
    reply.rsplit(':').next().and_then(|ts| ts.parse().ok()).unwrap_or_else(|| panic!("no time in {reply}"))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Every record of a data directory's log, segment after segment.
fn log_text(dir: &std::path::Path) -> String {
    let mut segments: Vec<_> =
        std::fs::read_dir(dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    segments.iter().map(|s| std::fs::read_to_string(s).unwrap()).collect()
}

#[test]
fn lastseen_says_online_or_since_when_and_remembers_it_across_restarts() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("LASTSEEN:bob"), "OK:bob:UNKNOWN", "never online");
    assert_eq!(ana.request("LASTSEEN:nobody"), "KO:UNKNOWN_USER:no user named nobody");
    assert!(ana.request("LASTSEEN:a b").starts_with("KO:BAD_REQUEST:bad user name"));
    assert_eq!(ana.request("LASTSEEN"), "KO:BAD_REQUEST:expected LASTSEEN:<user>");

    let before = now_ms();
    let bob = server.login_recv("bob", "pw-bob");
    // The name as registered, whatever the spelling asked.
    assert_eq!(ana.request("LASTSEEN:BOB"), "OK:bob:ONLINE");
    drop(bob);
    let first = seen_once_offline(&mut ana, "bob");
    let ts = seen_ts(&first);
    assert!(first.starts_with("OK:bob:") && (before..=now_ms()).contains(&ts), "{first}");
    drop(server.login_recv("bob", "pw-bob"));
    let offline = seen_once_offline(&mut ana, "bob");
    assert!(seen_ts(&offline) >= ts, "{offline} after {first}");

    // A crash keeps it once written (a `SEEN` record in the server's log),
    // and a clean stop notes whoever was online at that moment. (Nothing
    // waits for it to be written: poll.)
    let written = format!("SEEN,{},bob\n", seen_ts(&offline));
    let deadline = Instant::now() + READ_TIMEOUT;
    while !log_text(&server.data_dir).contains(&written) {
        assert!(Instant::now() < deadline, "the last seen time was never written");
        std::thread::sleep(Duration::from_millis(20)); // polling a file
    }
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("LASTSEEN:bob"), offline);
    let _carl = server.login_recv("carl", "pw-carl");
    assert_eq!(ana.request("LASTSEEN:carl"), "OK:carl:ONLINE");
    let before_stop = now_ms();
    assert!(server.terminate().success());
    let server = TestServer::start_in(&server.data_dir.clone(), &[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(seen_ts(&ana.request("LASTSEEN:carl")) >= before_stop);
    assert_eq!(ana.request("LASTSEEN:bob"), offline);
}

#[test]
fn members_lists_a_room_with_each_members_presence_for_its_members_only() {
    let server = TestServer::start();
    server.register(&["ana", "Bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("Bob", "pw-Bob");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(ana.request("JOIN:#Tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    let _bob_events = server.login_recv("Bob", "pw-Bob");
    assert_eq!(ana.listing("MEMBERS:#TEA"), ["ana:UNKNOWN", "Bob:ONLINE"]);
    assert_eq!(carl.request("MEMBERS:#tea"), "KO:NOT_MEMBER:you are not in #tea");
    assert_eq!(carl.request("MEMBERS:#nowhere"), "KO:NOT_MEMBER:no room named #nowhere");
    assert!(carl.request("MEMBERS:tea").starts_with("KO:BAD_REQUEST:a room name starts with '#'"));
    // #general holds everyone; the connection goes on after every KO.
    assert_eq!(carl.listing("MEMBERS:#general"), ["ana:UNKNOWN", "Bob:ONLINE", "carl:UNKNOWN"]);
}

#[test]
fn member_events_go_only_to_clients_that_said_version_1_1() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let (mut ana, mut bob, mut carl) = (
        server.login_send("ana", "pw-ana"),
        server.login_send("bob", "pw-bob"),
        server.login_send("carl", "pw-carl"),
    );
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    // One message waits for ana, so that her ACK shows when the server has
    // read what she sent before it.
    assert!(carl.request("MSG:ana:c1:hi").starts_with("OK:c1:"));

    let mut carl_events = server.login_recv("carl", "pw-carl");
    let mut ana_events = server.login_recv("ana", "pw-ana");
    assert_eq!(carl_events.line(), "JOINED:ana");
    assert_eq!(without_ts(&ana_events.line()), "MSG:1:carl:ana:c1:<ts>:hi");
    ana_events.send("VERSION:1.1");
    ana_events.send("ACK:1");
    // The server read VERSION:1.1 before the ACK that made this STATUS.
    assert_eq!(without_ts(&carl_events.line()), "STATUS:1:ana:c1:DELIVERED:<ts>");
    let mut bob_events = server.login_recv("bob", "pw-bob"); // a version-1 client
    assert_eq!(ana_events.line(), "JOINED:bob");
    assert_eq!(carl_events.line(), "JOINED:bob");

    assert_eq!(carl.request("JOIN:#tea"), "OK");
    assert_eq!(ana_events.line(), "MEMBER:#tea:carl:JOINED");
    assert_eq!(carl.request("JOIN:#tea"), "OK", "joining twice changes nothing, and says nothing");
    assert_eq!(carl.request("LEAVE:#tea"), "OK");
    assert_eq!(ana_events.line(), "MEMBER:#tea:carl:LEFT");
    // The version-1 clients (bob, and carl, who moved) hear nothing of it:
    // the next frame each gets is the message sent after.
    assert!(carl.request("MSG:bob:c2:after").starts_with("OK:c2:"));
    assert_eq!(without_ts(&bob_events.line()), "MSG:1:carl:bob:c2:<ts>:after");
    assert!(ana.request("MSG:carl:a1:after").starts_with("OK:a1:"));
    assert_eq!(without_ts(&carl_events.line()), "MSG:2:ana:carl:a1:<ts>:after");
}

#[test]
fn rooms_above_the_presence_limit_say_no_member_event() {
    let server = TestServer::start_with(&["--presence-limit", "2"]);
    server.register(&["ana", "bob", "carl"]);
    let (mut ana, mut bob, mut carl) = (
        server.login_send("ana", "pw-ana"),
        server.login_send("bob", "pw-bob"),
        server.login_send("carl", "pw-carl"),
    );
    assert_eq!(ana.request("JOIN:#big"), "OK");
    assert!(carl.request("MSG:ana:c0:first").starts_with("OK:c0:"));
    let mut ana_events = opted_in(&server, "ana", &mut carl);
    assert_eq!(bob.request("JOIN:#big"), "OK");
    assert_eq!(ana_events.line(), "MEMBER:#big:bob:JOINED", "2 members: within the limit");
    assert_eq!(carl.request("JOIN:#big"), "OK");
    assert!(carl.request("MSG:ana:c1:after").starts_with("OK:c1:"));
    assert_eq!(without_ts(&ana_events.line()), "MSG:2:carl:ana:c1:<ts>:after", "3 members: silence");
}

/// `user`'s receive connection, logged in, having said `VERSION:1.1`, and
/// the server sure to have read it: the frame is followed by the `ACK` of
/// the one message waiting for `user` (sent by `sender`), whose `STATUS`
/// reaches `sender` only once the server has read both.
fn opted_in(server: &TestServer, user: &str, sender: &mut Conn) -> Conn {
    let mut events = server.login_recv(user, &format!("pw-{user}"));
    assert!(events.next_msg().starts_with("MSG:1:"));
    events.send("VERSION:1.1");
    events.send("ACK:1");
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let history = sender.listing(&format!("HISTORY:{user}:1"));
        if history[0].contains(":DELIVERED:") {
            return events;
        }
        assert!(Instant::now() < deadline, "the ACK was not read: {history:?}");
        std::thread::sleep(Duration::from_millis(20)); // polling the server's view
    }
}

/// A 1.1 console against a version-1 server (a fake one, answering as
/// version 1 does): the new requests are unknown requests there, and the
/// console does without them, saying so where the user asked for them.
#[test]
fn a_1_1_console_does_without_against_a_version_1_server() {
    use std::net::TcpListener;
    use support::FakeConn;
    use support::console::Console;

    let (send, recv) = (TcpListener::bind("127.0.0.1:0").unwrap(), TcpListener::bind("127.0.0.1:0").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut ana =
        Console::start_at(send.local_addr().unwrap(), recv.local_addr().unwrap(), "ana", dir.path(), &[]);
    let mut send_conn = FakeConn::accept(&send);
    std::thread::spawn(move || {
        let history = ["OK:1", "Bob:ana:m1:1700000000000:DELIVERED:hola"];
        while let Some(request) = send_conn.try_line() {
            let word = request.split(':').next().unwrap_or("");
            match word {
                "LOGIN" => send_conn.send("OK:ana"),
                "LASTSEEN" | "MEMBERS" => send_conn.send(&format!("KO:BAD_REQUEST:unknown request {word:?}")),
                "HISTORY" => history.iter().for_each(|line| send_conn.send(line)),
                _ => send_conn.send("OK"), // P2P, READ, PING
            }
        }
    });
    // A version-1 server refuses VERSION before LOGIN and ignores it after.
    let _events = support::console::old_server_login_recv(&recv, "ana", "pw-ana");
    ana.expect("connected");
    // The user as the server spells it (from the history), no presence.
    ana.type_line("/chat bob");
    ana.expect("── Bob: last 1 message(s) ──");
    ana.expect("Bob: hola");
    ana.type_line("/members #general");
    ana.expect("(this server does not say who was online when: it speaks protocol 1.0)");
    ana.type_line("/help");
    ana.expect("commands:");
    assert_eq!(ana.count("error"), 0, "{:?}", ana.seen);
}

/// The id in a data directory's `server.csv` (`id,created_ms`, one row).
fn id_in(dir: &std::path::Path) -> String {
    let file = std::fs::read_to_string(dir.join("server.csv")).unwrap();
    let row = file.lines().nth(1).unwrap_or_else(|| panic!("no row in {file:?}"));
    row.split(',').next().unwrap().to_string()
}

/// `SERVER`: the random id of the server's data, made at its first start,
/// the same after a restart, another for a fresh data directory, and made
/// at the next start for a directory from before ids.
#[test]
fn server_says_the_id_of_its_data_and_keeps_it_across_restarts() {
    let mut server = TestServer::start();
    server.register(&["ana"]);
    let id = id_in(&server.data_dir);
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("SERVER"), format!("OK:{id}"));
    assert_eq!(ana.request("SERVER:x"), "KO:BAD_REQUEST:SERVER takes no fields");
    assert_eq!(ana.request("SERVER"), format!("OK:{id}"), "the connection goes on");
    // Like every request, only after a login.
    let mut anonymous = server.send_conn();
    assert_eq!(anonymous.request("SERVER"), "KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>");

    server.restart(&[]);
    assert_eq!(server.login_send("ana", "pw-ana").request("SERVER"), format!("OK:{id}"));
    let other = TestServer::start();
    other.register(&["ana"]);
    assert_ne!(other.login_send("ana", "pw-ana").request("SERVER"), format!("OK:{id}"));

    // A data directory from before ids gets one at its next start.
    server.kill();
    std::fs::remove_file(server.data_dir.join("server.csv")).unwrap();
    server.restart(&[]);
    let new = id_in(&server.data_dir);
    assert_ne!(new, id);
    assert_eq!(server.login_send("ana", "pw-ana").request("SERVER"), format!("OK:{new}"));
}
