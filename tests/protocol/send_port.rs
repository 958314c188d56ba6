//! The send port, byte for byte: every request and every error code the
//! wire contract lists (protocol §2–§4), against a real server.

use super::support;

use support::{Conn, TestServer};

#[test]
fn register_login_and_the_name_as_registered() {
    let server = TestServer::start();
    let mut c = server.send_conn();
    assert_eq!(c.request("REGISTER:Ana:ana@example.org:pw:ana"), "OK:Ana");
    assert_eq!(c.request("PING"), "OK");
    // Names are unique ignoring case; the reply spells them as registered.
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:ANA:pw:ana"), "OK:Ana");
    let mut c = server.send_conn();
    assert!(c.request("REGISTER:aNa::another").starts_with("KO:USER_EXISTS:"));
    // After USER_EXISTS the connection waits for another LOGIN/REGISTER.
    assert_eq!(c.request("REGISTER:bob::pw-bob"), "OK:bob");
}

#[test]
fn a_password_under_six_characters_is_a_bad_request_and_the_connection_waits() {
    let server = TestServer::start_with(&["--auto-register"]);
    let mut c = server.send_conn();
    // Refused before the name is looked at: taken or free, the same answer.
    for request in ["REGISTER:carl::12345", "REGISTER:carl:c@example.org:abc", "LOGIN:carl:pw"] {
        assert_eq!(c.request(request), "KO:BAD_REQUEST:a password has at least 6 characters", "{request}");
    }
    // The connection stays, waiting for another LOGIN/REGISTER (1.2).
    assert_eq!(c.request("REGISTER:carl::123456"), "OK:carl");
    let mut taken = server.send_conn();
    assert_eq!(taken.request("REGISTER:carl::x"), "KO:BAD_REQUEST:a password has at least 6 characters");
    // Six characters, not six bytes: "señora" is 6 characters, 7 bytes; "ñañ" is 6 bytes.
    assert_eq!(taken.request("REGISTER:dana::ñañ"), "KO:BAD_REQUEST:a password has at least 6 characters");
    assert_eq!(taken.request("REGISTER:dana::señora"), "OK:dana");
}

#[test]
fn requests_before_login_are_refused_and_closed() {
    let server = TestServer::start();
    for request in ["PING", "MSG:bob:1:hi", "QUIT", "USERS", "garbage", ""] {
        let mut c = server.send_conn();
        let reply = c.request(request);
        assert!(reply.starts_with("KO:AUTH_REQUIRED:"), "{request:?} -> {reply}");
        assert!(!reply.contains("VERSION"), "{request:?} -> {reply}");
        c.expect_closed();
    }
    // VERSION first on the send port keeps its code and says
    // where VERSION goes.
    let mut c = server.send_conn();
    assert_eq!(
        c.request("VERSION:1.2"),
        "KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>; VERSION is said on the receive port, with its login"
    );
    c.expect_closed();
}

#[test]
fn malformed_login_is_a_bad_request_and_the_connection_stays() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut c = server.send_conn();
    for bad in
        ["LOGIN", "LOGIN:ana", "LOGIN:ana:", "LOGIN:a na:pw", "REGISTER:bob:pw", "REGISTER:bob:bad mail:pw"]
    {
        let reply = c.request(bad);
        assert!(reply.starts_with("KO:BAD_REQUEST:"), "{bad:?} -> {reply}");
    }
    assert_eq!(c.request("LOGIN:ana:pw-ana"), "OK:ana");
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer_and_close() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:ana:wrong"), "KO:AUTH_FAILED:wrong user or password");
    c.expect_closed();
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:nobody:wrong"), "KO:AUTH_FAILED:wrong user or password");
    c.expect_closed();
}

#[test]
fn auto_register_creates_the_account_on_first_login() {
    let server = TestServer::start_with(&["--auto-register"]);
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:nuevo:secreto"), "OK:nuevo");
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:nuevo:secreto"), "OK:nuevo");
    let mut c = server.send_conn();
    assert!(c.request("LOGIN:nuevo:otro").starts_with("KO:AUTH_FAILED:"));
}

#[test]
fn msg_is_acknowledged_with_id_and_timestamp_and_resends_are_recognised() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let first = ana.request("MSG:bob:m1:hola: ¿qué tal?");
    let ts: u64 = first.strip_prefix("OK:m1:").expect(&first).parse().unwrap();
    assert!(ts > 1_600_000_000_000, "Unix milliseconds");
    // Same id again, even with another text: the original OK, no new message.
    assert_eq!(ana.request("MSG:bob:m1:something else"), first);
    let history = ana.listing("HISTORY:bob:10");
    assert_eq!(history, [format!("ana:bob:m1:{ts}:RECEIVED:hola: ¿qué tal?")]);
}

#[test]
fn msg_errors() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("MSG:carol:m1:hi"), "KO:UNKNOWN_USER:no user named carol");
    assert_eq!(ana.request("MSG:#nowhere:m1:hi"), "KO:NOT_MEMBER:you are not in #nowhere");
    for (bad, why) in [
        ("MSG:bob:m1", "expected MSG:<to>:<id>:<text>"),
        ("MSG:bob:m1:", "the text is empty"),
        ("MSG:bob:m 1:hi", "not allowed in a message id"),
        ("MSG:bob:m1:a\\tb", "bad escape"),
        ("MSG:bob:m1:trailing\\", "lone backslash"),
    ] {
        let reply = ana.request(bad);
        assert!(reply.starts_with("KO:BAD_REQUEST:") && reply.contains(why), "{bad} -> {reply}");
    }
    let long = format!("MSG:bob:m2:{}", "x".repeat(4097));
    assert!(ana.request(&long).starts_with("KO:BAD_REQUEST:the text is 4097 bytes"));
    let longest = format!("MSG:bob:m3:{}", "\\n".repeat(4096));
    assert!(ana.request(&longest).starts_with("OK:m3:"), "4096 newlines fit");
    // None of the errors closed the connection.
    assert_eq!(ana.request("PING"), "OK");
}

#[test]
fn unknown_and_malformed_requests_keep_the_connection() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("HELLO"), "KO:BAD_REQUEST:unknown request \"HELLO\"");
    assert_eq!(ana.request("ping"), "KO:BAD_REQUEST:unknown request \"ping\"");
    assert_eq!(ana.request("PING:x"), "KO:BAD_REQUEST:PING takes no fields");
    assert_eq!(ana.request(""), "KO:BAD_REQUEST:empty request");
    assert_eq!(ana.request("LOGIN:ana:pw-ana"), "KO:BAD_REQUEST:already logged in as ana");
    ana.send_raw(b"\xff\xfe\n");
    assert_eq!(ana.line(), "KO:BAD_REQUEST:the frame is not UTF-8");
    assert_eq!(ana.request("PING\r"), "OK", "a \\r before the \\n is dropped");
}

#[test]
fn read_errors_and_success() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:hi").starts_with("OK:m1:"));
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("READ:ana:m1"), "OK");
    assert_eq!(bob.request("READ:ana:m9"), "KO:UNKNOWN_MESSAGE:no message m9 from ana to you");
    // ana cannot mark her own message to bob as read by her.
    assert_eq!(ana.request("READ:bob:m1"), "KO:UNKNOWN_MESSAGE:no message m1 from bob to you");
    assert_eq!(bob.request("READ:carol:m1"), "KO:UNKNOWN_MESSAGE:no user named carol");
}

#[test]
fn users_lists_who_is_online_on_the_receive_port() {
    let server = TestServer::start();
    server.register(&["bob", "Ana", "carl"]);
    let mut c = server.login_send("bob", "pw-bob");
    assert_eq!(c.listing("USERS"), Vec::<String>::new());
    let _ana = server.login_recv("Ana", "pw-Ana");
    let _carl = server.login_recv("carl", "pw-carl");
    assert_eq!(c.listing("USERS"), ["Ana", "carl"], "sorted ignoring case");
}

#[test]
fn chats_history_and_unread_counts() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl", "dan"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(ana.listing("CHATS"), Vec::<String>::new());
    assert!(ana.request("MSG:bob:a1:one").starts_with("OK"));
    assert!(carl.request("MSG:ana:c1:hey").starts_with("OK"));
    assert!(carl.request("MSG:ana:c2:you there?").starts_with("OK"));
    assert_eq!(ana.listing("CHATS"), ["carl:2", "bob:0"], "most recent first");
    assert_eq!(ana.request("READ:carl:c1"), "OK");
    assert_eq!(ana.listing("CHATS"), ["carl:1", "bob:0"]);
    let history = ana.listing("HISTORY:carl:1");
    assert_eq!(history.len(), 1);
    assert!(history[0].starts_with("carl:ana:c2:") && history[0].ends_with(":RECEIVED:you there?"));
    assert_eq!(ana.listing("HISTORY:carl:0"), Vec::<String>::new());
    assert_eq!(ana.listing("HISTORY:dan:5").len(), 0, "a user with no conversation");
    assert!(ana.request("HISTORY:ghost:5").starts_with("KO:UNKNOWN_USER:"));
    assert!(ana.request("HISTORY:#secret:5").starts_with("KO:NOT_MEMBER:"));
    assert!(ana.request("HISTORY:carl:-1").starts_with("KO:BAD_REQUEST:"));
}

#[test]
fn rooms_join_leave_and_listing() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("ROOMS"), ["#general:2"], "every account is in #general");
    assert_eq!(ana.request("JOIN:#Devs"), "OK");
    assert_eq!(ana.request("JOIN:#devs"), "OK", "joining twice is fine");
    assert_eq!(ana.listing("ROOMS"), ["#Devs:1", "#general:2"]);
    assert_eq!(ana.request("LEAVE:#general"), "OK");
    assert_eq!(ana.request("LEAVE:#general"), "KO:NOT_MEMBER:you are not in #general");
    assert!(ana.request("JOIN:devs").starts_with("KO:BAD_REQUEST:"));
    assert!(ana.request("JOIN:#bad room").starts_with("KO:BAD_REQUEST:"));
    assert_eq!(ana.listing("ROOMS"), ["#Devs:1"]);
}

#[test]
fn p2p_and_peer() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("PEER:bob"), "KO:OFFLINE:bob is not connected");
    assert_eq!(ana.request("PEER:ghost"), "KO:OFFLINE:ghost is not a user here");
    let mut bob = server.login_send("bob", "pw-bob");
    // Announcing before the receive login is fine (clients open both at once).
    assert_eq!(bob.request("P2P:9000"), "OK");
    assert!(ana.request("PEER:bob").starts_with("KO:OFFLINE:"), "not online yet");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    assert!(bob.request("P2P:0").starts_with("KO:BAD_REQUEST:"));
    let reply = ana.request("PEER:bob");
    let fields: Vec<&str> = reply.split(':').collect();
    assert_eq!(fields[..3], ["OK", "127.0.0.1", "9000"], "{reply}");
    let token = fields[3];
    assert_eq!(token.len(), 32);
    assert_eq!(bob_events.line(), format!("P2P:ana:{token}"));
    let again = ana.request("PEER:bob");
    assert_ne!(again.rsplit(':').next().unwrap(), token, "tokens are single use");
    // The announcement ends with bob's receive connection.
    drop(bob_events);
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    while !ana.request("PEER:bob").starts_with("KO:OFFLINE:") {
        assert!(std::time::Instant::now() < deadline, "bob still announced");
    }
    let _bob_events = server.login_recv("bob", "pw-bob");
    assert_eq!(ana.request("PEER:bob"), "KO:OFFLINE:bob accepts no direct chats (no P2P port announced)");
}

#[test]
fn quit_answers_then_closes_and_one_shot_connections_work() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut c = server.send_conn();
    // The original design's ephemeral connection: everything at once.
    c.send_raw(b"LOGIN:ana:pw-ana\nMSG:bob:m1:hola\nQUIT\n");
    assert_eq!(c.line(), "OK:ana");
    assert!(c.line().starts_with("OK:m1:"));
    assert_eq!(c.line(), "OK");
    c.expect_closed();
}

#[test]
fn pipelined_replies_come_in_request_order() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut c = server.login_send("ana", "pw-ana");
    let mut burst = String::new();
    for i in 0..200 {
        burst.push_str(&format!("MSG:bob:p{i}:n{i}\nPING\n"));
    }
    burst.push_str("HISTORY:bob:1\n");
    c.send_raw(burst.as_bytes());
    for i in 0..200 {
        assert!(c.line().starts_with(&format!("OK:p{i}:")));
        assert_eq!(c.line(), "OK");
    }
    assert_eq!(c.line(), "OK:1");
    assert!(c.line().ends_with(":RECEIVED:n199"), "a read sees the writes before it");
}

/// `OK`s of `MSG` are written by the thread that made them durable,
/// other replies by the connection's own: requests sent one write at a
/// time, without reading, still get their replies in order.
#[test]
fn replies_written_by_other_threads_keep_the_order_of_the_requests() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut c = server.login_send("ana", "pw-ana");
    for i in 0..300 {
        c.send_raw(format!("MSG:bob:q{i}:n{i}\n").as_bytes());
        match i % 3 {
            0 => c.send_raw(b"PING\n"),
            1 => c.send_raw(b"MSG:nobody:x:y\n"),
            _ => c.send_raw(b"ROOMS\n"),
        }
    }
    for i in 0..300 {
        assert!(c.line().starts_with(&format!("OK:q{i}:")), "reply {i}");
        match i % 3 {
            0 => assert_eq!(c.line(), "OK"),
            1 => assert!(c.line().starts_with("KO:UNKNOWN_USER:")),
            _ => assert_eq!([c.line(), c.line()], ["OK:1", "#general:2"]),
        }
    }
    assert_eq!(c.request("PING"), "OK");
}

#[test]
fn too_long_frames_are_refused_and_closed() {
    let server = TestServer::start();
    server.register(&["ana"]);
    // Before login.
    let mut c = server.send_conn();
    c.send_raw(&vec![b'x'; 20_000]);
    assert_eq!(c.line(), "KO:TOO_LONG:a frame is at most 16384 bytes");
    c.expect_closed();
    // After login, a frame of exactly 16384 bytes with its \n is fine; one more is not.
    let mut c = server.login_send("ana", "pw-ana");
    let fits = format!("HISTORY:ana:{}", "1".repeat(16384 - "HISTORY:ana:".len() - 1));
    assert!(c.request(&fits).starts_with("KO:BAD_REQUEST:"), "read whole, refused by grammar");
    c.send(&format!("{fits}1"));
    assert_eq!(c.line(), "KO:TOO_LONG:a frame is at most 16384 bytes");
    c.expect_closed();
}

#[test]
fn an_idle_send_connection_times_out() {
    let server = TestServer::start_with(&["--timeout", "1"]);
    server.register(&["ana"]);
    let mut c = server.login_send("ana", "pw-ana");
    assert_eq!(c.line(), "KO:TIMEOUT:no request for too long");
    c.expect_closed();
    // A client dribbling one byte at a time never completes a frame.
    let mut c = Conn::connect(server.send);
    for byte in b"LOGIN:ana:pw-a" {
        // Writes may fail once the server has given up on us.
        let _ = std::io::Write::write_all(&mut c.stream, &[*byte]);
        std::thread::sleep(std::time::Duration::from_millis(150)); // the slowloris pace
    }
    // (Cut off within --timeout: the KO says so, whenever it comes.)
    assert_eq!(c.line(), "KO:TIMEOUT:no request for too long");
}

#[test]
fn failed_logins_are_throttled_without_closing_the_connection() {
    let server = TestServer::start();
    // ana registers from elsewhere: 127.0.0.1 is not a known address of
    // hers (from one, her right password gets in: tests/attacks/bounded.rs).
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("REGISTER:ana::pw-ana"), "OK:ana");
    // Five wrong passwords are allowed (each closes its connection) ...
    for _ in 0..5 {
        let mut c = server.send_conn();
        assert!(c.request("LOGIN:ana:guess").starts_with("KO:AUTH_FAILED:"));
    }
    // ... then even the right one must wait: RATE_LIMITED, connection kept.
    let mut c = server.send_conn();
    let reply = c.request("LOGIN:ana:pw-ana");
    assert!(reply.starts_with("KO:RATE_LIMITED:too many failed logins; try again in "), "{reply}");
    assert!(c.request("LOGIN:ANA:guess").starts_with("KO:RATE_LIMITED:"), "names ignore case");
    // Another account from the same address is not affected yet.
    assert_eq!(c.request("REGISTER:bob::pw-bob"), "OK:bob");
}

#[test]
fn connections_beyond_the_maximum_are_busy() {
    let server = TestServer::start_with(&["--max-connections", "2"]);
    let mut _one = server.send_conn();
    assert_eq!(_one.request("REGISTER:ana::pw-ana"), "OK:ana");
    let _two = server.login_recv("ana", "pw-ana");
    let mut three = server.send_conn();
    assert_eq!(three.line(), "KO:BUSY:the server is full (2 connections); try later");
    three.expect_closed();
    drop(_one);
    // Once one ends, a new connection is served again. The server counts
    // it down when the handler thread finishes: poll for that.
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    loop {
        let mut c = server.send_conn();
        let reply = c.request("LOGIN:ana:pw-ana");
        if reply == "OK:ana" {
            break;
        }
        assert!(reply.starts_with("KO:BUSY:") && std::time::Instant::now() < deadline, "{reply}");
    }
}

#[test]
fn messages_beyond_the_rate_are_refused_one_by_one() {
    let server = TestServer::start_with(&["--rate", "0.001", "--rate-burst", "3"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let burst: String = (1..=5).map(|i| format!("MSG:bob:r{i}:hi\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 1..=3 {
        assert!(ana.line().starts_with(&format!("OK:r{i}:")));
    }
    for _ in 4..=5 {
        let reply = ana.line();
        assert!(reply.starts_with("KO:RATE_LIMITED:too many requests; try again in "), "{reply}");
    }
    // Every request takes from the same budget, not only MSG.
    assert!(ana.request("ROOMS").starts_with("KO:RATE_LIMITED:"));
    assert_eq!(ana.request("PING"), "OK", "keeping the connection alive is free");
    // Other users have their own budget.
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 3, "refused messages were not stored");
    assert!(bob.request("MSG:ana:b1:hello").starts_with("OK:b1:"));
}

#[test]
fn no_password_ever_reaches_the_log() {
    let mut server = TestServer::start_logging("debug", &["--auto-register"]);
    let mut c = server.send_conn();
    assert_eq!(c.request("REGISTER:ana:ana@example.org:Zebra-Secret-1"), "OK:ana");
    let mut c = server.send_conn();
    assert!(c.request("LOGIN:ana:Wrong-Guess-2").starts_with("KO:AUTH_FAILED:"));
    let mut c = server.recv_conn();
    assert_eq!(c.request("LOGIN:newbie:Auto-Secret-3"), "OK:newbie");
    let mut c = server.send_conn();
    assert!(c.request("LOGIN:ana:Zebra-Secret-1:extra").starts_with("KO:AUTH_FAILED:"));
    drop(c);
    assert!(server.terminate().success());
    let log = server.log().join("\n");
    assert!(log.contains("new account ana"), "the log is there: {log}");
    for secret in ["Zebra-Secret", "Wrong-Guess", "Auto-Secret"] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
    let users = std::fs::read_to_string(server.data_dir.join("users.csv")).unwrap();
    assert!(!users.contains("Secret") && users.contains("$argon2id$"), "{users}");
}

/// A server takes clients only once it is whole (`Server::open`, after
/// its links and browser app are set up): a client that connects while
/// it starts waits in the port's backlog and is answered once it opens;
/// a server stopped before it opened stops all the same.
#[test]
fn a_client_that_connects_while_the_server_starts_is_answered_once_it_is_whole() {
    use std::time::Duration;
    use wachat::server::{Config, Server};
    let dir = tempfile::tempdir().unwrap();
    let listen = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let starting = |dir: &std::path::Path| {
        let config = Config { kdf_cost: 8, ..Config::new(dir) };
        Server::start(listen(), listen(), config).unwrap()
    };
    let server = starting(&dir.path().join("a"));
    let mut early = Conn::connect(server.send_addr());
    early.send("PING");
    assert_eq!(early.line_within(Duration::from_millis(300)), None, "answered before it opened");
    server.open();
    assert!(early.line().starts_with("KO:AUTH_REQUIRED:"), "the PING is answered as any first line");
    server.shutdown();

    let never_opened = starting(&dir.path().join("b"));
    let (stopped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        never_opened.shutdown();
        let _ = stopped.send(());
    });
    done.recv_timeout(support::READ_TIMEOUT).expect("a server stopped before it opened stops");
}
