//! The console client (`wachat connect`, driven through piped stdin) and
//! the one-shot subcommands, against a real server on port 0: chatting,
//! ticks, the offline outbox, reconnection, `--trace`, every command, exit
//! codes. A fake server at the end pins what the receiver does with a
//! duplicate `MSG`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use support::console::{Console, connection_args, run_wachat, user_dir};
use support::{READ_TIMEOUT, TestServer};

/// A one-shot subcommand as `user` (password `pw-<user>`).
fn one_shot(server: &TestServer, data_dir: &Path, user: &str, args: &[&str]) -> support::console::Outcome {
    let mut all: Vec<String> = vec![args[0].into(), "--user".into(), user.into()];
    all.extend(connection_args(server.send, server.recv, data_dir));
    all.extend(args[1..].iter().map(|a| a.to_string()));
    run_wachat(&all, &format!("pw-{user}"), "")
}

/// The data rows of a user's outbox file for the server on `send`.
fn outbox_rows(data_dir: &Path, send: SocketAddr, user: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(user_dir(data_dir, send, user).join("outbox_tmp.csv")).unwrap_or_default();
    text.lines().skip(1).map(str::to_string).collect()
}

/// Polls `done` until it is true; fails the test after [`READ_TIMEOUT`].
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + READ_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "not in time: {what}");
        std::thread::sleep(Duration::from_millis(20)); // polling a file
    }
}

/// Two addresses where nothing listens (a server that is down).
fn dead_addrs() -> (SocketAddr, SocketAddr) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (a.local_addr().unwrap(), b.local_addr().unwrap())
}

#[test]
fn two_users_chat_and_the_ticks_reach_read() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected to 127.0.0.1 as bob");
    ana.expect("bob is online");

    bob.type_line("/chat ana");
    bob.expect("── ana: no messages yet ──");
    ana.type_line("/chat bob");
    ana.expect("── bob: no messages yet ──");
    ana.type_line("hola bob");
    ana.expect("you → bob: hola bob …");
    bob.expect("ana: hola bob");
    // bob has the chat open, so he reads it at once: every tick shows up.
    ana.expect("✓✓ read  (to bob: hola bob)");
    let ticks: Vec<&String> = ana.seen.iter().filter(|l| l.contains("(to bob: hola bob)")).collect();
    assert!(ticks.len() <= 3 && ticks.iter().all(|l| l.starts_with("  ✓")), "{ticks:?}");

    bob.type_line("hola ana, ¿qué tal?");
    ana.expect("bob: hola ana, ¿qué tal?");
    // A line ending in \ goes on: one message of two lines.
    ana.type_line("first line \\");
    ana.type_line("second line");
    bob.expect("ana: first line ");
    bob.expect("    second line");
    // The other ways to send a direct message; none changes the open chat.
    ana.type_line("@bob: via at");
    bob.expect("ana: via at");
    ana.type_line("/msg bob via msg");
    bob.expect("ana: via msg");
    ana.type_line("/whisper bob psst");
    bob.expect("ana: psst");
    ana.expect("✓✓ read  (to bob: psst)");

    // Rooms: everyone is in #general.
    ana.type_line("/chat #general");
    ana.type_line("hi all");
    bob.expect("[#general] ana: hi all");
    ana.expect("✓  (to #general: hi all)");

    let (status, _) = bob.quit("/salir");
    assert!(status.success());
    ana.expect("bob went offline");
    let (status, lines) = ana.quit("@salir");
    assert!(status.success(), "{lines:?}");
}

#[test]
fn the_outbox_fills_while_the_server_is_down_and_drains_once_in_order() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected");
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected");

    server.kill();
    ana.expect("(offline:");
    for text in ["one", "two", "three"] {
        ana.type_line(&format!("@bob: {text}"));
        ana.expect(&format!("you → bob: {text} …"));
    }
    // Each message is in the outbox file before its `…` is shown.
    let rows = outbox_rows(dir.path(), server.send, "ana");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].ends_with(",one") && rows[2].ends_with(",three"), "{rows:?}");

    server.restart_in_place(&[]);
    ana.expect("(back online)");
    for text in ["one", "two", "three"] {
        // `✓`, or already `✓✓` if bob's ACK came back before the OK was read.
        ana.expect(&format!("  (to bob: {text})"));
    }
    // bob's client reconnected by itself and gets them in order.
    for text in ["one", "two", "three"] {
        bob.expect(&format!("ana: {text}"));
    }
    // A last message: once it is through, nothing else can still be coming.
    ana.type_line("@bob: marker");
    bob.expect("ana: marker");
    for text in ["one", "two", "three"] {
        assert_eq!(bob.count(&format!("ana: {text}")), 1, "shown once: {text}");
    }
    eventually("the outbox is emptied", || outbox_rows(dir.path(), server.send, "ana").is_empty());
    // The server has each message exactly once.
    let history = one_shot(&server, dir.path(), "bob", &["history", "--with", "ana"]);
    assert!(history.status.success(), "{}", history.stderr);
    let texts: Vec<&str> = history.stdout.lines().map(|l| l.trim_start_matches("ana: ")).collect();
    assert_eq!(texts, ["one", "two", "three", "marker"]);
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn a_client_started_offline_keeps_its_outbox_until_the_next_start() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(server_dir.path(), &[]);
    server.register(&["ana", "bob"]);
    let (send, recv) = (server.send, server.recv);
    drop(server); // killed: the ports are free again, nothing listens
    let dir = tempfile::tempdir().unwrap();

    let mut ana = Console::start_at(send, recv, "ana", dir.path(), &[]);
    ana.expect("working offline as ana");
    ana.expect("(offline:");
    ana.type_line("@bob: written offline");
    ana.expect("you → bob: written offline …");
    let (status, lines) = ana.quit("/sair");
    assert!(status.success(), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("1 message(s) wait in the outbox")), "{lines:?}");
    assert_eq!(outbox_rows(dir.path(), send, "ana").len(), 1);

    let server = TestServer::start_on(server_dir.path(), send.port(), recv.port(), &[]);
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("1 message(s) from last time wait in the outbox");
    ana.expect("✓  (to bob: written offline)");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("ana: written offline");
    ana.expect("✓✓  (to bob: written offline)");
    assert!(ana.quit("/quit").0.success());
    assert!(bob.quit("/quit").0.success());
}

#[test]
fn both_connections_come_back_after_a_server_restart() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected");

    server.restart_in_place(&[]);
    ana.expect("(offline:");
    ana.expect("(back online)");
    bob.expect("(back online)");
    // The send connection works again (USERS), and both receive
    // connections are up (USERS lists who is logged in there).
    ana.type_line("/users");
    ana.expect("online (2): ana, bob");
    // And the receive connection delivers again.
    ana.type_line("@bob: after the restart");
    bob.expect("ana: after the restart");
    ana.expect("✓✓  (to bob: after the restart)");
    assert_eq!(ana.count("(offline:"), 1, "one quiet line per loss");
    assert!(ana.quit("/quit").0.success());
    assert!(bob.quit("/quit").0.success());
}

#[test]
fn an_idle_client_pings_and_pongs_and_stays_connected() {
    // A 1 s timeout on both sides: the client PINGs its send connection
    // every half second, and answers the server's PINGs on the receive one.
    let server = TestServer::start_with(&["--timeout", "1"]);
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace", "--timeout", "1"]);
    for _ in 0..3 {
        ana.expect("send > PING");
        ana.expect("recv < PING");
        ana.expect("recv > PONG");
    }
    ana.type_line("/users");
    ana.expect("online (1): ana");
    assert_eq!(ana.count("(offline"), 0, "{:?}", ana.seen);
    assert_eq!(ana.count("TIMEOUT"), 0, "{:?}", ana.seen);
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn trace_shows_every_frame_with_the_password_masked() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace"]);
    ana.expect("send > LOGIN:ana:***");
    ana.expect("send < OK:ana");
    ana.expect("recv > LOGIN:ana:***");
    ana.expect("recv < OK:ana");
    ana.type_line("/users");
    ana.expect("send > USERS");
    ana.expect("send < OK:1");
    ana.expect("send < ana");
    let sent = one_shot(&server, dir.path(), "bob", &["send", "--to", "ana", "traced"]);
    assert!(sent.status.success(), "{}", sent.stderr);
    ana.expect("recv < MSG:1:bob:ana:");
    ana.expect("recv > ACK:1");
    ana.expect("bob: traced");
    let (status, lines) = ana.quit("/quit");
    assert!(status.success());
    assert!(lines.iter().any(|l| l == "send > QUIT"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("pw-ana")), "the password leaked: {lines:?}");

    // The one-shot subcommands trace on stderr, masked too.
    let users = one_shot(&server, dir.path(), "bob", &["users", "--trace"]);
    assert!(users.status.success());
    assert!(users.stderr.contains("send > LOGIN:bob:***\nsend < OK:bob\nsend > USERS\n"), "{}", users.stderr);
    assert!(!users.stderr.contains("pw-bob") && !users.stdout.contains("pw-bob"));
}

#[test]
fn every_command_works_and_bad_ones_get_a_clear_error() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected");

    let steps: &[(&str, &str)] = &[
        ("/help", "/chat <user|#room>      open a chat"),
        ("/users", "online (1): ana"),
        ("/chats", "no conversations yet"),
        ("/rooms", "#general  (2 members)"),
        ("hello?", "error: no chat is open: /chat <user|#room> first, or @user: text"),
        ("/history", "error: no chat is open"),
        ("/leave", "error: usage: /leave [#room] (no room is open)"),
        ("/join #tea", "joined #tea"),
        ("/rooms", "#tea  (1 members)"),
        ("/chat #tea", "── #tea: no messages yet ──"),
        ("tea for one", "[#tea] you: tea for one …"),
        ("/leave", "left #tea"),
        ("still there?", "error: no chat is open"),
        ("/chat bob", "── bob: no messages yet ──"),
        ("hi bob", "you → bob: hi bob …"),
        ("/chats", "bob  (0 unread)"),
        ("/history 1", "── bob: last 1 message(s) ──"),
        ("/history lots", "error: usage: /history [n], n from 1 to 1000"),
        (
            "/chat zed",
            "error: history zed: the server refused (no such user): no user named zed (UNKNOWN_USER)",
        ),
        ("/chat #nowhere", "(NOT_MEMBER)"),
        ("/chat b@d", "error: bad user name:"),
        ("/frobnicate", "error: unknown command /frobnicate (try /help)"),
        ("/msg bob", "error: usage: /msg <user> <text>"),
        ("/whisper #general hi", "error: a whisper goes to one user"),
        ("@bob hi", "error: usage: @user: text"),
        ("/join tea", "error: a room name starts with '#'"),
        ("/users everyone", "error: /users takes no arguments"),
        ("/leave #tea", "error: leave #tea: the server refused"),
        ("@zed: anyone?", "you → zed: anyone? …"),
        ("", "  ✗ not delivered to zed (no such user): no user named zed"),
        // Still alive after all that, and the open chat is still bob.
        ("still here", "you → bob: still here …"),
    ];
    for (line, answer) in steps {
        ana.type_line(line);
        ana.expect(answer);
    }
    let (status, lines) = ana.quit("/quit");
    assert!(status.success(), "{lines:?}");
}

#[test]
fn one_shot_subcommands_exit_zero_on_ok_and_non_zero_with_the_reason_on_ko() {
    let server = TestServer::start();
    server.register(&["bob"]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let ok = one_shot(&server, data, "carl", &["register", "--email", "carl@example.org"]);
    assert!(ok.status.success(), "{}", ok.stderr);
    assert_eq!(ok.stdout, "registered carl\n");
    let taken = one_shot(&server, data, "carl", &["register"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(taken.stderr.contains("the name carl is taken (USER_EXISTS)"), "{}", taken.stderr);

    let sent = one_shot(&server, data, "carl", &["send", "--to", "bob", "hello", "there"]);
    assert!(sent.status.success(), "{}", sent.stderr);
    assert_eq!(sent.stdout, "sent to bob ✓\n");
    let unknown = one_shot(&server, data, "carl", &["send", "--to", "zed", "hello"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        unknown
            .stderr
            .contains("send to zed: the server refused (no such user): no user named zed (UNKNOWN_USER)")
    );
    let not_member = one_shot(&server, data, "carl", &["send", "--to", "#secret", "hello"]);
    assert!(not_member.stderr.contains("(NOT_MEMBER)"), "{}", not_member.stderr);

    let history = one_shot(&server, data, "carl", &["history", "--with", "bob"]);
    assert!(history.status.success(), "{}", history.stderr);
    assert_eq!(history.stdout, "you → bob: hello there ✓\n");
    let history = one_shot(&server, data, "carl", &["history", "--with", "zed"]);
    assert!(!history.status.success() && history.stderr.contains("UNKNOWN_USER"));

    let users = one_shot(&server, data, "carl", &["users"]);
    assert!(users.status.success());
    assert_eq!(users.stdout, "", "nobody is on a receive port");

    // Wrong password, no password at all, the password on stdin.
    let mut args: Vec<String> = vec!["users".into(), "--user".into(), "carl".into()];
    args.extend(connection_args(server.send, server.recv, data));
    let wrong = run_wachat(&args, "nope", "");
    assert!(!wrong.status.success() && wrong.stderr.contains("(AUTH_FAILED)"), "{}", wrong.stderr);
    let none = run_wachat(&args, "", "");
    assert!(!none.status.success() && none.stderr.contains("no password"), "{}", none.stderr);
    args.push("--password-stdin".into());
    let stdin = run_wachat(&args, "", "pw-carl\n");
    assert!(stdin.status.success(), "{}", stdin.stderr);

    // Bad input: clap's usage error; a server that is down: say so.
    let bad = run_wachat(
        &["send".into(), "--user".into(), "a b".into(), "--to".into(), "bob".into(), "x".into()],
        "pw",
        "",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stderr.contains("not allowed in a name"), "{}", bad.stderr);
    let (send, recv) = dead_addrs();
    let mut args: Vec<String> = vec!["users".into(), "--user".into(), "carl".into()];
    args.extend(connection_args(send, recv, data));
    let down = run_wachat(&args, "pw-carl", "");
    assert!(
        !down.status.success() && down.stderr.contains("cannot connect to the send port"),
        "{}",
        down.stderr
    );
}

#[test]
fn a_refused_login_stops_the_console_with_the_reason() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["connect".into(), "--user".into(), "ana".into()];
    args.extend(connection_args(server.send, server.recv, dir.path()));
    let wrong = run_wachat(&args, "wrong", "");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stderr.contains("login as ana: the server refused"), "{}", wrong.stderr);
    args.extend(["--register".into(), "--email".into(), "ana@example.org".into()]);
    let taken = run_wachat(&args, "pw", "");
    assert!(taken.stderr.contains("(USER_EXISTS)"), "{}", taken.stderr);
}

/// A fake server: replays the same `MSG` on a second receive connection,
/// as a real one does when an `ACK` was lost. The client must store the
/// message before acknowledging it, acknowledge it both times, and show it
/// once.
#[test]
fn a_duplicate_msg_is_acknowledged_again_and_shown_once() {
    let send = TcpListener::bind("127.0.0.1:0").unwrap();
    let recv = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ana =
        Console::start_at(send.local_addr().unwrap(), recv.local_addr().unwrap(), "ana", dir.path(), &[]);
    // The send port: log in, then answer whatever comes (PING) with OK.
    let mut send_conn = Fake::accept(&send);
    assert_eq!(send_conn.line(), "LOGIN:ana:pw-ana");
    send_conn.send("OK:ana");
    std::thread::spawn(move || {
        while send_conn.try_line().is_some() {
            send_conn.send("OK")
        }
    });

    let msg = "MSG:1:bob:ana:b1:1700000000000:only once";
    for round in 0..2 {
        let mut conn = Fake::accept(&recv);
        assert_eq!(conn.line(), "LOGIN:ana:pw-ana");
        conn.send("OK:ana");
        conn.send(msg);
        assert_eq!(conn.line(), "ACK:1", "round {round}");
        let ana_dir = user_dir(dir.path(), send.local_addr().unwrap(), "ana");
        let log = std::fs::read_to_string(ana_dir.join("history.csv")).unwrap();
        assert!(
            log.contains("msg,1700000000000,bob,ana,b1,DELIVERED,only once"),
            "stored before the ACK: {log}"
        );
        // Dropping the connection: the client reconnects by itself.
    }
    ana.expect("bob: only once");
    ana.type_line("/help");
    ana.expect("commands:");
    assert_eq!(ana.count("bob: only once"), 1);
}

/// One side of a fake server's connection.
struct Fake {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Fake {
    /// Accepts the client's next connection; fails the test after
    /// [`READ_TIMEOUT`] (a blocking `accept` could wait forever).
    fn accept(listener: &TcpListener) -> Fake {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + READ_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the client did not connect in time");
                    std::thread::sleep(Duration::from_millis(10)); // polling accept
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Fake { stream, reader }
    }

    fn send(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    fn try_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end().to_string()),
            _ => None,
        }
    }

    fn line(&mut self) -> String {
        self.try_line().expect("a line from the client in time")
    }
}
