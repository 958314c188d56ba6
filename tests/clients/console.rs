//! The console client (`wachat connect`, driven through piped stdin) and
//! the one-shot subcommands, against a real server on port 0: chatting,
//! ticks, the offline outbox, reconnection, `--trace`, every command, exit
//! codes. A fake server at the end pins what the receiver does with a
//! duplicate `MSG`.

use super::support;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use support::console::{
    Console, connection_args, console_on_fake_server, old_server_login_recv, run_wachat, user_dir,
};
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

/// A message line without its `HH:MM ` (the time depends on the clock).
fn without_time(line: &str) -> &str {
    let (time, rest) = line.split_at(6.min(line.len()));
    assert!(time.as_bytes().get(2) == Some(&b':') && time.ends_with(' '), "no time in {line:?}");
    rest
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
    bob.expect("── ana (online): no messages yet ──");
    ana.type_line("/chat bob");
    ana.expect("── bob (online): no messages yet ──");
    ana.type_line("hola bob");
    ana.expect("you → bob: hola bob …");
    // Every message line starts with its time.
    without_time(&bob.expect("ana: hola bob"));
    // bob has the chat open, so he reads it at once: the ticks show up,
    // in order (one may be skipped when a later one came first).
    ana.expect("✓✓ read  (to bob: hola bob)");
    let ticks: Vec<&str> = ana
        .seen
        .iter()
        .filter(|l| l.contains("(to bob: hola bob)"))
        .map(|l| l.trim_start().split("  (").next().unwrap())
        .collect();
    let rank = |tick: &&str| ["✓", "✓✓", "✓✓ read"].iter().position(|t| t == tick).expect("a tick");
    assert!(ticks.windows(2).all(|w| rank(&w[0]) < rank(&w[1])), "ticks went backwards: {ticks:?}");

    bob.type_line("hola ana, ¿qué tal?");
    ana.expect("bob: hola ana, ¿qué tal?");
    // A line ending in \ goes on: one message of two lines.
    ana.type_line("first line \\");
    ana.type_line("second line");
    bob.expect("ana: first line ");
    bob.expect("      second line");
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
    // Members of a room joining and leaving are shown in it.
    ana.type_line("/join #tea");
    ana.expect("joined #tea");
    bob.type_line("/join #tea");
    ana.expect("[#tea] bob joined the room");
    ana.type_line("/members #tea");
    ana.expect("#tea, 2 members:");
    ana.expect("  ana: online");
    ana.expect("  bob: online");
    bob.type_line("/leave #tea");
    ana.expect("[#tea] bob left the room");

    let (status, _) = bob.quit("/salir");
    assert!(status.success());
    ana.expect("bob went offline");
    // When he was last seen: in /users (someone ana writes to), and when
    // his chat opens.
    ana.type_line("/users");
    ana.expect("online (1): ana");
    ana.expect("not online (1):");
    ana.expect("  bob: last seen ");
    ana.type_line("/chat bob");
    ana.expect("── bob (last seen ");
    let (status, lines) = ana.quit("@salir");
    assert!(status.success(), "{lines:?}");
}

#[test]
fn the_outbox_fills_while_the_server_is_down_and_drains_once_in_order() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);
    let mut ana = Console::connected(&server, "ana", dir.path(), &[]);

    server.kill();
    // Said in plain words, not which port read what.
    let offline = ana.expect("(offline:");
    assert!(!offline.contains("port"), "{offline}");
    for text in ["one", "two", "three"] {
        ana.type_line(&format!("@bob: {text}"));
        ana.expect(&format!("you → bob: {text} …"));
    }
    // The chat list works offline, from the local log.
    ana.type_line("/chats");
    ana.expect("(offline: your chats as the local log has them)");
    ana.expect("  you: three");
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
    // Today's messages under today's date line, as the README says.
    assert_eq!(history.stdout.lines().next(), Some("── today ──"), "{}", history.stdout);
    let texts: Vec<&str> =
        history.stdout.lines().skip(1).map(|l| without_time(l).trim_start_matches("ana: ")).collect();
    assert_eq!(texts, ["one", "two", "three", "marker"]);
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn a_client_started_offline_keeps_its_outbox_until_the_next_start_and_says_if_it_never_reached_the_server() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_restartable_in(server_dir.path(), &[]);
    server.register(&["ana", "bob"]);
    let (send, recv) = (server.send, server.recv);
    drop(server); // killed: the ports are free again, nothing listens
    let dir = tempfile::tempdir().unwrap();

    // Never connected from here: the first line says the server was not
    // reached, and where it was looked for (a wrong port reads so).
    let mut ana = Console::start_at(send, recv, "ana", dir.path(), &[]);
    ana.expect(&format!("could not reach the server at 127.0.0.1:{}: is it running", send.port()));
    ana.expect("(offline:");
    assert_eq!(ana.count("working offline"), 0, "{:?}", ana.seen);
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
    // Connected once, a start without the server works offline on what
    // this device has.
    drop(server);
    let mut ana = Console::start_at(send, recv, "ana", dir.path(), &[]);
    ana.expect("working offline as ana");
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn waits_10_s_a_console_told_to_try_again_at_its_login_waits_and_logs_in() {
    let server = TestServer::start();
    // ana's account, made elsewhere; a neighbour at this address guesses
    // at it until the pair's bucket (5, one every 10 s) is empty.
    let mut made = support::Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(made.request("REGISTER:ana::pw-ana"), "OK:ana");
    for _ in 0..5 {
        assert!(server.send_conn().request("LOGIN:ana:guess").starts_with("KO:AUTH_FAILED:"));
    }
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:RATE_LIMITED:"));
    // Told "try again in 10 s", the console waits and asks again.
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    let deadline = Instant::now() + 3 * READ_TIMEOUT;
    while ana.count("connected") == 0 {
        assert!(ana.is_running(), "the console exited: {:?}", ana.seen);
        assert!(Instant::now() < deadline, "not logged in: {:?}", ana.seen);
        std::thread::sleep(Duration::from_millis(100)); // polling the console's output
    }
    assert!(ana.count("too many failed logins; try again in 10 s; asking again in ") > 0, "{:?}", ana.seen);
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn both_connections_come_back_after_a_server_restart() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::connected(&server, "ana", dir.path(), &[]);
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);

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
    assert_eq!(ana.count("(back online)"), 1, "and one when back");
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
fn waits_3_5_s_a_console_keeps_its_connections_within_a_longer_server_timeout() {
    // A server at `--timeout 600` pings a receive connection every
    // 300 s; a console that kept its own 10 s would take the silence for a
    // broken connection and reconnect every 10–20 s. Here the server's timeout
    // is 30 s and the console's 1 s: it learns 30 from INFO and stays.
    let server = TestServer::start_with(&["--timeout", "30"]);
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace", "--timeout", "1"]);
    ana.expect("send > INFO");
    ana.expect("send < timeout_secs=30");
    ana.expect("connected to 127.0.0.1 as ana");
    // Quiet for three of the console's own timeouts (this test is about
    // time, so it waits: nothing to poll for).
    std::thread::sleep(Duration::from_millis(3_500));
    ana.type_line("/users");
    ana.expect("online (1): ana");
    assert_eq!(ana.count("recv > LOGIN:"), 1, "the receive port was dialled again: {:?}", ana.seen);
    assert_eq!(ana.count("(offline"), 0, "{:?}", ana.seen);
    // And its send port is pinged within its own 1 s all the same.
    assert!(ana.count("send > PING") >= 3, "{:?}", ana.seen);
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn waits_3_times_2_5_s_a_server_with_a_shorter_timeout_is_redialled_and_then_pinged_in_time() {
    // The server times out after 2 s of quiet; the console keeps its default
    // 10 s, so it would PING only after 5 s. Its first request after 2.5 s of
    // quiet gets KO:TIMEOUT (the server never ran it): the console dials
    // again and sends it again, without a word to the user, and from then
    // on pings often enough: no second KO:TIMEOUT.
    let server = TestServer::start_with(&["--timeout", "2"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace"]);
    ana.expect("connected to 127.0.0.1 as ana");
    for (command, answer) in
        [("/users", "online (1): ana"), ("/chat bob", "no messages yet ──"), ("/users", "online (1): ana")]
    {
        // Quiet for longer than the server's timeout (this test is about
        // time, so it waits: nothing to poll for). The server's 2 s leaves
        // the console's pings, every 1 s once it knows, a second's margin
        // on a busy machine; 1 s would leave half of one.
        std::thread::sleep(Duration::from_millis(2_500));
        ana.type_line(command);
        ana.expect(answer);
        assert!(ana.count("send < KO:TIMEOUT") <= 1, "pinged too late again: {:?}", ana.seen);
    }
    ana.type_line("hello after the quiet");
    ana.expect("you → bob: hello after the quiet");
    let (status, lines) = ana.quit("/quit");
    assert!(status.success());
    let shown: Vec<&String> =
        lines.iter().filter(|l| !l.starts_with("send ") && !l.starts_with("recv ")).collect();
    for word in ["(offline:", "(back online)", "TIMEOUT", "error", "no chat is open"] {
        assert!(!shown.iter().any(|l| l.contains(word)), "{word:?} shown: {shown:?}");
    }
    assert!(lines.iter().filter(|l| l.starts_with("send < KO:TIMEOUT")).count() <= 1, "{lines:?}");
}

#[test]
fn a_text_over_4096_bytes_goes_as_marked_messages_and_nothing_is_lost() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    ana.expect("connected to 127.0.0.1 as ana");
    // 5,003 bytes, as a user pasted them: words, so the cut falls between two.
    let long: String = (0..715).map(|i| format!("w{:05}", i)).collect::<Vec<_>>().join(" ");
    let long = &long[..5_003];
    ana.type_line("/chat bob");
    ana.expect("── bob");
    ana.type_line(long);
    ana.expect("(the text is 5003 bytes, one message holds 4096: it goes as 2 messages, marked (1/2) …)");
    ana.expect("you → bob: (1/2) w00000 w00001");
    ana.expect("you → bob: (2/2) ");
    ana.type_line("@bob: after it");
    ana.expect("you → bob: after it");
    assert!(ana.quit("/quit").0.success());

    let history = one_shot(&server, dir.path(), "bob", &["history", "--with", "ana"]);
    assert!(history.status.success(), "{}", history.stderr);
    let texts: Vec<&str> =
        history.stdout.lines().skip(1).map(|l| without_time(l).trim_start_matches("ana: ")).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    let (one, two) = (texts[0].strip_prefix("(1/2) ").unwrap(), texts[1].strip_prefix("(2/2) ").unwrap());
    assert_eq!(format!("{one} {two}"), long, "the cut took one space, nothing else");
    assert_eq!(texts[2], "after it");
}

#[test]
fn trace_shows_every_frame_with_the_password_masked() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace", "--device", "lab"]);
    ana.expect("send > LOGIN:ana@lab:***");
    ana.expect("send < OK:ana");
    // 1.2: the receive port asks for 1.2's events before its login.
    ana.expect("recv > VERSION:1.2");
    // LOGIN:ana@lab:*** (tests/clients/devices.rs pins the 1.2 frames).
    ana.expect("recv > LOGIN:ana");
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
    let mut ana = Console::connected(&server, "ana", dir.path(), &[]);

    let steps: &[(&str, &str)] = &[
        ("/help", "/chat <user|#room>      open a chat"),
        ("/users", "online (1): ana"),
        ("/chats", "no conversations yet"),
        ("/rooms", "#general  (2 members)"),
        ("hello?", "error: no chat is open: /chat <user|#room> first, or @user: text"),
        ("/history", "error: no chat is open"),
        ("/leave", "error: usage: /leave [#room] (no room is open)"),
        ("/join #tea", "joined #tea"),
        ("/rooms", "#tea  (1 member: you)"),
        ("/chat #tea", "── #tea: no messages yet ──"),
        ("tea for one", "[#tea] you: tea for one …"),
        ("/leave", "left #tea"),
        ("still there?", "error: no chat is open"),
        ("/chat bob", "── bob (offline): no messages yet ──"),
        ("hi bob", "you → bob: hi bob …"),
        ("/chats", "  you: hi bob"),
        ("/history 1", "── bob (offline): last 1 message(s) ──"),
        ("/history lots", "error: usage: /history [n], n from 1 to 100000"),
        ("/chat zed", "error: look up zed: no user named zed (UNKNOWN_USER)"),
        // The account's name as registered, not as typed.
        ("/chat BOB", "── bob (offline): last 1 message(s) ──"),
        ("/p2p zed", "error: look up zed: no user named zed (UNKNOWN_USER)"),
        ("/members", "error: usage: /members [#room] (no room is open)"),
        ("/members #general", "#general, 2 members:"),
        ("", "  ana: online"),
        ("", "  bob: offline"),
        ("/chat #nowhere", "(NOT_MEMBER)"),
        ("/chat b!d", "error: bad user name: '!' is not allowed in a name"),
        ("/chat bob@", "error: bad address \"bob@\" (user@server): a name has 1 to 32 characters"),
        // An address `user@server` is a chat (protocol 1.3); this server
        // is in no class network, and has no such user.
        ("/chat b@d", "error: history b@d: no user named b@d (UNKNOWN_USER)"),
        ("/frobnicate", "error: unknown command /frobnicate (try /help)"),
        ("/msg bob", "error: usage: /msg <user> <text>"),
        ("/whisper #general hi", "error: a whisper goes to one user"),
        ("@bob hi", "error: usage: @user: text"),
        ("/join tea", "error: a room name starts with '#'"),
        ("/users everyone", "error: /users takes no arguments"),
        // Nobody is in #tea any more: the room was forgotten.
        ("/leave #tea", "error: leave #tea: no room named #tea (NOT_MEMBER)"),
        ("/leave #nowhere", "error: leave #nowhere: no room named #nowhere (NOT_MEMBER)"),
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

    let ok = one_shot(&server, data, "carlota", &["register", "--email", "carlota@example.org"]);
    assert!(ok.status.success(), "{}", ok.stderr);
    assert_eq!(ok.stdout, "registered carlota\n");
    let taken = one_shot(&server, data, "carlota", &["register"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(taken.stderr.contains("the name carlota is taken (USER_EXISTS)"), "{}", taken.stderr);

    let sent = one_shot(&server, data, "carlota", &["send", "--to", "bob", "hello", "there"]);
    assert!(sent.status.success(), "{}", sent.stderr);
    assert_eq!(sent.stdout, "sent to bob ✓\n");
    let unknown = one_shot(&server, data, "carlota", &["send", "--to", "zed", "hello"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(unknown.stderr.contains("send to zed: no user named zed (UNKNOWN_USER)"));
    let not_member = one_shot(&server, data, "carlota", &["send", "--to", "#secret", "hello"]);
    assert!(not_member.stderr.contains("(NOT_MEMBER)"), "{}", not_member.stderr);

    let history = one_shot(&server, data, "carlota", &["history", "--with", "bob"]);
    assert!(history.status.success(), "{}", history.stderr);
    assert_eq!(history.stdout.lines().next(), Some("── today ──"), "{}", history.stdout);
    assert_eq!(
        history.stdout.lines().skip(1).map(without_time).collect::<Vec<_>>(),
        ["you → bob: hello there ✓"]
    );
    let history = one_shot(&server, data, "carlota", &["history", "--with", "zed"]);
    assert!(!history.status.success() && history.stderr.contains("UNKNOWN_USER"));

    let users = one_shot(&server, data, "carlota", &["users"]);
    assert!(users.status.success());
    assert_eq!(users.stdout, "", "nobody is on a receive port");
    // Without --user nor a subcommand, it shows what it can do: the
    // accounts' subcommands too, not only "--user is required".
    let bare = run_wachat(&["users".into()], "", "");
    assert_eq!(bare.status.code(), Some(2));
    for subcommand in ["add", "list", "remove", "passwd", "import"] {
        assert!(bare.stderr.contains(&format!("\n  {subcommand} ")), "{subcommand}: {}", bare.stderr);
    }

    // Wrong password, no password at all, the password on stdin.
    let mut args: Vec<String> = vec!["users".into(), "--user".into(), "carlota".into()];
    args.extend(connection_args(server.send, server.recv, data));
    let wrong = run_wachat(&args, "nope", "");
    assert!(!wrong.status.success() && wrong.stderr.contains("(AUTH_FAILED)"), "{}", wrong.stderr);
    let none = run_wachat(&args, "", "");
    assert!(!none.status.success() && none.stderr.contains("no password"), "{}", none.stderr);
    args.push("--password-stdin".into());
    let stdin = run_wachat(&args, "", "pw-carlota\n");
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
    let mut args: Vec<String> = vec!["users".into(), "--user".into(), "carlota".into()];
    args.extend(connection_args(send, recv, data));
    let down = run_wachat(&args, "pw-carlota", "");
    assert!(
        !down.status.success() && down.stderr.contains("cannot connect to the send port"),
        "{}",
        down.stderr
    );
}

#[test]
fn a_second_console_on_the_same_device_is_refused_and_the_first_goes_on() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut first = Console::connected(&server, "ana", dir.path(), &[]);
    // The device the first one made up (a second console without
    // --device is a second device: tests/clients/devices.rs).
    let folder = user_dir(dir.path(), server.send, "ana");
    let device = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(first.seen.iter().any(|l| l.contains(&format!("(this device: {device})"))), "{:?}", first.seen);
    let mut args: Vec<String> =
        vec!["connect".into(), "--user".into(), "ana".into(), "--device".into(), device];
    args.extend(connection_args(server.send, server.recv, dir.path()));
    let second = run_wachat(&args, "pw-ana", "/quit\n");
    assert_eq!(second.status.code(), Some(1));
    let port = server.send.port();
    assert!(second.stderr.contains("another wachat (pid "), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("is already running as ana on 127.0.0.1:{port} with the device")),
        "{}",
        second.stderr
    );
    // The first one's outbox and receive port are untouched.
    first.type_line("@bob: still mine");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob.next_msg().ends_with(":still mine"));
    assert!(first.quit("/quit").0.success());
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
    assert!(wrong.stderr.contains("login as ana: wrong user or password (AUTH_FAILED)"), "{}", wrong.stderr);
    args.extend(["--register".into(), "--email".into(), "ana@example.org".into()]);
    let short = run_wachat(&args, "pw", "");
    assert_eq!(short.status.code(), Some(1));
    assert!(short.stderr.contains("a new password has at least 6 characters"), "{}", short.stderr);
    let taken = run_wachat(&args, "a-long-password", "");
    assert!(taken.stderr.contains("(USER_EXISTS)"), "{}", taken.stderr);
}

/// A fake server: replays the same `MSG` on a second receive connection,
/// as a real one does when an `ACK` was lost. The client must store the
/// message before acknowledging it, acknowledge it both times, and show it
/// once.
#[test]
fn a_duplicate_msg_is_acknowledged_again_and_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ana, send, recv) = console_on_fake_server(dir.path());

    let msg = "MSG:1:bob:ana:b1:1700000000000:only once";
    for round in 0..2 {
        // A server from before 1.2: the client logs in the old way.
        let mut conn = old_server_login_recv(&recv, "ana", "pw-ana");
        conn.send(msg);
        assert_eq!(conn.line(), "ACK:1", "round {round}");
        let ana_dir = user_dir(dir.path(), send, "ana");
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

/// A fake cluster node failing over (1.2): it answers the first `MSG`
/// `KO:UNAVAILABLE`. The console keeps the message in its outbox, sends
/// it again with the same id on the same connection after a pause, and
/// shows no error; the second time it is taken.
#[test]
fn a_message_refused_unavailable_is_sent_again_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let send = TcpListener::bind("127.0.0.1:0").unwrap();
    let recv = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut ana = support::console::Console::start_at(
        send.local_addr().unwrap(),
        recv.local_addr().unwrap(),
        "ana",
        dir.path(),
        &[],
    );
    let mut conn = support::FakeConn::accept(&send);
    support::console::old_server_login_send(&mut conn, "ana", "pw-ana");
    let (msgs, sent) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut refused = false;
        while let Some(line) = conn.try_line() {
            if !line.starts_with("MSG:") {
                conn.send("OK");
                continue;
            }
            let id = line.split(':').nth(2).unwrap().to_string();
            let _ = msgs.send((line.clone(), Instant::now()));
            if refused {
                conn.send(&format!("OK:{id}:1700000000000"));
            } else {
                refused = true;
                conn.send("KO:UNAVAILABLE:the database is failing over; try again in a moment");
            }
        }
    });
    let _events = old_server_login_recv(&recv, "ana", "pw-ana");
    ana.type_line("/msg bob during a failover");
    let (first, at) = sent.recv_timeout(READ_TIMEOUT).expect("the MSG");
    let (again, again_at) = sent.recv_timeout(READ_TIMEOUT).expect("the MSG sent again");
    assert_eq!(first, again, "the same id and text");
    assert!(again_at - at >= Duration::from_millis(200), "after a pause: {:?}", again_at - at);
    eventually("the message out of the outbox", || {
        outbox_rows(dir.path(), send.local_addr().unwrap(), "ana").is_empty()
    });
    let (_, lines) = ana.quit("/quit");
    assert!(!lines.iter().any(|l| l.contains("UNAVAILABLE") || l.contains("offline")), "{lines:?}");
}

/// Missed calls in a row fold into one line: the console prints each fold
/// once, as the line it is, and a call's line wears no ticks (it is the
/// server's record of a call, not a message sent); from both sides.
#[test]
fn a_missed_calls_fold_is_printed_once_and_a_calls_line_has_no_ticks() {
    const SDP: &str = "v=0\\no=- 1 2 IN IP4 127.0.0.1\\ns=-\\nt=0 0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n";
    let server = TestServer::start_with(&["--ring-seconds", "1"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let (mut ana, mut ana_events) = server.device("ana", "laptop");
    let mut ana_console = Console::start(&server, "ana", dir.path(), &[]);
    ana_console.expect("connected to 127.0.0.1 as ana");
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect("connected to 127.0.0.1 as bob");
    bob.type_line("/chat ana");
    ana_console.type_line("/chat bob");
    for (id, folded) in
        [("c1", "Missed voice call"), ("c2", "2 missed voice calls"), ("c3", "3 missed voice calls")]
    {
        assert_eq!(ana.request(&format!("CALL:bob:{id}:OFFER:voice:{SDP}")), "OK");
        assert_eq!(ana_events.next_call(), format!("CALL:ana:{id}:END:missed"));
        bob.expect(folded);
    }
    // The chat opened again: its history, the line as last edited, its folds not again.
    bob.type_line("/chat ana");
    bob.expect("── ana");
    std::thread::sleep(Duration::from_millis(500)); // anything printed twice is printed by now
    let (_, bob_lines) = bob.quit("/quit");
    let (_, ana_lines) = ana_console.quit("/quit");
    // cyd was away: her console starts with the calls waiting (the line and its two folds).
    server.register(&["cyd"]);
    let _cyd_phone = server.device("cyd", "phone"); // the calls ring there
    for id in ["d1", "d2", "d3"] {
        assert_eq!(ana.request(&format!("CALL:cyd:{id}:OFFER:voice:{SDP}")), "OK");
        assert_eq!(ana_events.next_call(), format!("CALL:ana:{id}:END:missed"));
    }
    let mut cyd = Console::start(&server, "cyd", dir.path(), &[]);
    cyd.expect("3 missed voice calls");
    std::thread::sleep(Duration::from_millis(500)); // anything printed twice is printed by now
    let (_, cyd_lines) = cyd.quit("/quit");
    let folds: Vec<&String> = cyd_lines.iter().filter(|l| l.contains("📞")).collect();
    assert_eq!(folds.len(), 3, "the line and its two folds, each once: {folds:#?}");
    for (who, lines, said) in
        [("bob", &bob_lines, "missed voice calls"), ("ana", &ana_lines, "outgoing voice calls, no answer")]
    {
        let calls: Vec<&String> =
            lines.iter().filter(|l| l.contains("📞") && !l.contains("is calling")).collect();
        // Said once each, by its line: no second line that nobody answered.
        assert!(calls.iter().all(|l| !l.contains("nobody answered")), "{who}: {calls:#?}");
        let live = if who == "bob" { 2 } else { 1 }; // bob's history shows the line as last edited once more
        for (fold, times) in [("2 ", 1), ("3 ", live)] {
            let printed = calls.iter().filter(|l| l.contains(&format!("{fold}{said}"))).count();
            assert_eq!(printed, times, "{who}'s console prints the fold {fold}{times} time(s): {calls:#?}");
        }
        assert!(calls.iter().all(|l| !l.contains('✓')), "{who}: no ticks on a call's line: {calls:#?}");
    }
}
