//! What a hostile peer can do to a client: text full of terminal control
//! characters (from another user, in data stored before protocol 1.2
//! refused them, or from a server that lies), and a
//! listing that never ends. The screen shows the control characters as
//! harmless text and the local log keeps the text as it was sent; a
//! listing past the client's bounds ends the connection with a clear
//! protocol error instead of eating memory.

use super::support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use support::console::{Console, connection_args, console_on_fake_server, run_wachat, user_dir};
use support::{FakeConn, TestServer};

/// What a message can carry to a terminal: clear the screen, set the
/// window title, go back over the sender's name, rub out letters.
const NASTY: &str = "\u{1b}[2Jfake\u{1b}]0;pwned\u{7}\rSYSTEM: re-run with --password\u{8}\u{8}\u{9b}";
/// How the console shows it.
const SHOWN: &str = "^[[2Jfake^[]0;pwned^G^MSYSTEM: re-run with --password^H^HM-^[";

#[test]
fn control_characters_from_a_user_are_shown_harmless_everywhere_and_stored_as_sent() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    // 1.2: the server refuses such a text on MSG...
    let mut ana = server.login_send("ana", "pw-ana");
    let refused = ana.request(&format!("MSG:bob:m1:{NASTY}"));
    assert_eq!(refused, "KO:BAD_REQUEST:a text may not hold U+001B (escape)");
    drop(ana);
    // ...but one a server before 1.2 stored still reaches bob, harmless.
    support::old_data::plant_old_text(&mut server, &[], "ana", "bob", "m1", NASTY);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::start(&server, "bob", dir.path(), &[]);
    bob.expect(&format!("ana: {SHOWN}"));
    bob.type_line("/chat ana");
    bob.expect(&format!("ana: {SHOWN}"));
    let (status, lines) = bob.quit("/quit");
    assert!(status.success());
    assert!(lines.iter().all(|l| !l.contains('\u{1b}') && !l.contains('\r')), "{lines:?}");

    // The local log holds the text byte for byte.
    let log = std::fs::read_to_string(user_dir(dir.path(), server.send, "bob").join("history.csv")).unwrap();
    assert!(log.contains(NASTY), "{log:?}");

    // The one-shot history, and its trace of frames on stderr, likewise.
    let mut args: Vec<String> = vec!["history".into(), "--user".into(), "bob".into()];
    args.extend(connection_args(server.send, server.recv, dir.path()));
    args.extend(["--with".into(), "ana".into(), "--trace".into()]);
    let history = run_wachat(&args, "pw-bob", "");
    assert!(history.status.success(), "{}", history.stderr);
    assert!(history.stdout.contains(&format!("ana: {SHOWN}")), "{}", history.stdout);
    assert!(history.stderr.contains(&format!(":READ:{SHOWN}")), "{}", history.stderr);
    for out in [&history.stdout, &history.stderr] {
        assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{9b}'), "{out:?}");
    }
}

/// A fake server that logs the console in on both ports, then pushes what
/// a malicious server would: names and texts full of control characters.
#[test]
fn control_characters_from_a_lying_server_are_shown_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ana, _, recv) = console_on_fake_server(dir.path());
    let mut events = support::console::old_server_login_recv(&recv, "ana", "pw-ana");
    events.send("JOINED:ev\u{1b}[2Jil");
    events.send("MEMBER:#r:u\u{8}ser:JOINED");
    events.send("MSG:1:b\u{1b}]0;t\u{7}ob:ana:m1:1700000000000:hi");
    ana.expect("ev^[[2Jil is online");
    ana.expect("[#r] u^Hser joined the room");
    ana.expect("b^[]0;t^Gob: hi");
    assert!(ana.seen.iter().all(|l| !l.contains('\u{1b}') && !l.contains('\u{8}')), "{:?}", ana.seen);
}

/// A fake send port that logs anyone in and answers `USERS` with `head`,
/// then `line` again and again until the client hangs up.
fn endless_listing(head: &'static str, line: &'static str) -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut conn = FakeConn::accept(&server);
        conn.line();
        conn.send("OK:ana");
        assert_eq!(conn.line(), "USERS");
        conn.send(head);
        let chunk = format!("{line}\n").repeat(64);
        while conn.send_raw(chunk.as_bytes()).is_ok() {}
    });
    listener
}

fn users_from(listener: &TcpListener) -> support::console::Outcome {
    let port = listener.local_addr().unwrap();
    let mut args: Vec<String> = vec!["users".into(), "--user".into(), "ana".into()];
    let dir = tempfile::tempdir().unwrap();
    args.extend(connection_args(port, port, dir.path()));
    run_wachat(&args, "pw-ana", "")
}

#[test]
fn a_listing_past_the_clients_bounds_is_a_protocol_error_not_a_memory_hog() {
    let endless = endless_listing("OK:18446744073709551615", "x");
    let users = users_from(&endless);
    assert_eq!(users.status.code(), Some(1));
    assert!(
        users.stderr.contains("protocol: send port 127.0.0.1:")
            && users.stderr.contains(
                "the server announced a list of 18446744073709551615 lines; at most 100000 are accepted"
            ),
        "{}",
        users.stderr
    );
    assert_eq!(users.stdout, "");

    // Within the count, but lines of 10 kB each: the bytes are bounded too.
    let long: &'static str = Box::leak("y".repeat(10_000).into_boxed_str());
    let heavy = endless_listing("OK:50000", long);
    let users = users_from(&heavy);
    assert_eq!(users.status.code(), Some(1));
    assert!(users.stderr.contains("a list from the server passed 16 MiB"), "{}", users.stderr);
}

/// Answers a client's first line with 32 MiB and no `\n`.
fn line_without_end(stream: &mut TcpStream) {
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..512 {
        if stream.write_all(&chunk).is_err() {
            return; // the client hung up: it stopped reading
        }
    }
    let _ = stream.write_all(b"\n");
}

#[test]
fn the_bench_reads_at_most_one_frame_of_a_line_that_never_ends() {
    let endless = support::fake_server(line_without_end);
    let port = endless.local_addr().unwrap().port().to_string();
    let args: Vec<String> =
        ["bench", "--send-port", &port, "--recv-port", &port, "--pairs", "1", "--messages", "1"]
            .iter()
            .map(|a| a.to_string())
            .collect();
    let bench = run_wachat(&args, "", "");
    assert_eq!(bench.status.code(), Some(1), "{}", bench.stderr);
    assert!(bench.stderr.contains("a line from the server passed 16384 bytes"), "{}", bench.stderr);
}

#[test]
fn text_reversing_and_invisible_characters_are_shown_by_their_code_in_the_console_and_one_shots() {
    // U+202E would print the rest of the line backwards (the next sender's
    // name too); U+200B makes "b​ob" look like "bob".
    const SNEAKY: &str = "evil\u{202E}txt.exe from b\u{200B}ob";
    const CODED: &str = "evil<U+202E>txt.exe from b<U+200B>ob";
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request(&format!("MSG:bob:m1:{SNEAKY}")).starts_with("OK:m1:"));
    bob.expect(&format!("ana: {CODED}"));
    let (status, lines) = bob.quit("/quit");
    assert!(status.success());
    assert!(lines.iter().all(|l| !l.contains('\u{202E}') && !l.contains('\u{200B}')), "{lines:?}");

    let mut args: Vec<String> = vec!["history".into(), "--user".into(), "bob".into()];
    args.extend(connection_args(server.send, server.recv, dir.path()));
    args.extend(["--with".into(), "ana".into()]);
    let history = run_wachat(&args, "pw-bob", "");
    assert!(history.status.success(), "{}", history.stderr);
    assert!(history.stdout.contains(&format!("ana: {CODED}")), "{}", history.stdout);
    assert!(!history.stdout.contains('\u{202E}'), "{}", history.stdout);
}
