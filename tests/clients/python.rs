//! The lab's Python client (`examples/wachat_client.py`) against a real
//! server: it logs in on both ports, gets and acknowledges a message that
//! waited for it, sends one, and shows its ticks move to `✓✓ read`. If the
//! server or the protocol changes under it, this test fails, so the lab
//! that teaches with it cannot drift. It needs `python3` (CI installs it).

use super::support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};

use support::{Conn, FakeConn, READ_TIMEOUT, TestServer, wait_with_timeout, without_ts};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wachat_client.py");

/// The Python client running as a child process, its stdout read line by line.
struct Python {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Python {
    fn start(server: &TestServer, user: &str, password: &str, extra: &[&str]) -> Python {
        Python::start_on(server.send.port(), server.recv.port(), user, password, extra)
    }

    fn start_on(send: u16, recv: u16, user: &str, password: &str, extra: &[&str]) -> Python {
        let (send, recv) = (send.to_string(), recv.to_string());
        let mut child = Command::new("python3")
            .args([SCRIPT, user, "127.0.0.1", &send, &recv])
            .args(extra)
            .env("WACHAT_PASSWORD", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 must be installed to test the lab's Python client");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        Python { child, stdin, lines, seen: Vec::new() }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a printed line that starts with `start`; returns it.
    fn expect(&mut self, start: &str) -> String {
        loop {
            match self.lines.recv_timeout(READ_TIMEOUT) {
                Ok(line) if line.starts_with(start) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("the Python client never printed {start:?}; it printed {:?}", self.seen),
            }
        }
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next event on a receive connection that is not presence.
fn next_event(conn: &mut Conn) -> String {
    loop {
        let line = conn.line();
        if !line.starts_with("JOINED:") && !line.starts_with("LEFT:") {
            return line;
        }
    }
}

#[test]
fn the_python_client_receives_sends_and_sees_its_ticks() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    // Two lines in one message: the client must unescape `\n`.
    assert!(bob.request("MSG:ana:b1:hola ana\\ny adiós").starts_with("OK:b1:"));
    let mut bob_events = server.login_recv("bob", "pw-bob");

    let mut python = Python::start(&server, "ana", "pw-ana", &[]);
    python.expect("bob → ana: hola ana");
    python.expect("y adiós");
    // It acknowledged the message: bob's tick moves to ✓✓.
    assert_eq!(without_ts(&next_event(&mut bob_events)), "STATUS:1:ana:b1:DELIVERED:<ts>");
    bob_events.send("ACK:1");

    // A backslash is escaped on the way out; what was shown is read first
    // (one cumulative READ, before the answer).
    python.type_line(r"bob hi from python \o/");
    let sent = python.expect("  ✓ py");
    let id = sent.trim_start_matches("  ✓ ").to_string();
    assert_eq!(without_ts(&next_event(&mut bob_events)), "STATUS:2:ana:b1:READ:<ts>");
    assert_eq!(
        without_ts(&next_event(&mut bob_events)),
        format!(r"MSG:3:ana:bob:{id}:<ts>:hi from python \\o/")
    );
    bob_events.send("ACK:3");
    python.expect(&format!("  ✓✓ {id} (to bob)"));
    assert_eq!(bob.request(&format!("READ:ana:{id}")), "OK");
    python.expect(&format!("  ✓✓ read {id} (to bob)"));

    // A refusal is shown with the server's reason.
    python.type_line("zed hello");
    python.expect("  not sent: KO:UNKNOWN_USER:");

    // 1.2: a control character in a sent text is refused (old data that
    // holds one is shown escaped: see the next test).
    assert_eq!(bob.request("MSG:ana:b2:\u{1b}[2Jboo"), "KO:BAD_REQUEST:a text may not hold U+001B (escape)");

    drop(python.stdin.take()); // Ctrl+D
    let status = wait_with_timeout(&mut python.child, READ_TIMEOUT);
    assert!(status.success(), "the Python client exited with {status}");
}

/// What the client shows is read: a burst of five messages, shown, costs
/// one cumulative `READ` (two if the burst straddles its two seconds),
/// never one per message, with nothing typed.
#[test]
fn the_python_client_says_read_for_what_it_shows_once_per_chat() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    let mut python = Python::start(&server, "ana", "pw-ana", &[]);
    bob_events.hears("JOINED:ana"); // its receive port is up
    for n in 1..=5 {
        assert!(bob.request(&format!("MSG:ana:b{n}:burst {n}")).starts_with(&format!("OK:b{n}:")));
    }
    python.expect("bob → ana: burst 5");
    let reads = bob_events.reads_until("b5");
    assert!(reads.len() <= 2, "{reads:?}");
    drop(python.stdin.take()); // Ctrl+D
    assert!(wait_with_timeout(&mut python.child, READ_TIMEOUT).success());
}

/// Control characters from the network are shown, not obeyed. Since 1.2
/// the server refuses them in `MSG`, so the text comes as old data: a
/// record a server before 1.2 stored. A CR or U+2028 does not split the
/// line the client shows, and ESC does not reach the terminal.
#[test]
fn the_python_client_shows_control_characters_in_old_data_escaped() {
    let mut server = TestServer::start_restartable(&[]);
    server.register(&["ana", "bob"]);
    support::old_data::plant_old_text(
        &mut server,
        &[],
        "bob",
        "ana",
        "b1",
        "\u{1b}[2Jboo\rSYSTEM: forged\u{2028}too",
    );
    let mut python = Python::start(&server, "ana", "pw-ana", &[]);
    let shown = python.expect("bob → ana: ^[[2Jboo^MSYSTEM: forged<U+2028>too");
    assert!(!shown.contains(['\u{1b}', '\r', '\u{2028}']), "{shown:?}");
    drop(python.stdin.take()); // Ctrl+D
    let status = wait_with_timeout(&mut python.child, READ_TIMEOUT);
    assert!(status.success(), "the Python client exited with {status}");
}

#[test]
fn the_python_client_speaks_tls_with_the_certificate_of_wachat_cert() {
    let certs = support::tls::Certs::make(&["127.0.0.1"]);
    let server = TestServer::start_with(&certs.serve_args());
    support::tls::register(&server, &certs, &["ana"]);
    let mut bob = support::tls::login_send(&server, &certs, "bob");
    let mut python = Python::start(&server, "ana", "pw-ana", &["--ca", certs.ca()]);
    python.type_line("bob over tls");
    let sent = python.expect("  ✓ py");
    let id = sent.trim_start_matches("  ✓ ").to_string();
    let lines = bob.listing("HISTORY:ana:1");
    assert!(lines[0].starts_with(&format!("ana:bob:{id}:")) && lines[0].ends_with(":over tls"), "{lines:?}");
    drop(python.stdin.take());
    assert!(wait_with_timeout(&mut python.child, READ_TIMEOUT).success());
}

#[test]
fn the_python_client_survives_odd_events_and_reads_no_endless_frame() {
    // A fake receive port: a tick state the client does not know, a
    // malformed event, then a message; then a frame that never ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut python = Python::start_on(port, port, "ana", "pw-ana", &[]);
    let mut events = FakeConn::accept(&listener);
    assert_eq!(events.line(), "LOGIN:ana:pw-ana");
    events.send("OK:ana");
    events.send("STATUS:1:bob:m1:SEEN:1700000000000");
    events.send("MSG:2:bob");
    events.send("MSG:3:bob:ana:b1:1700000000000:still here");
    python.expect("  SEEN m1 (to bob)");
    python.expect("(malformed: MSG:2:bob)");
    python.expect("bob → ana: still here");
    assert_eq!((events.line(), events.line()), ("ACK:1".to_string(), "ACK:3".to_string()));
    // 20 kB and no newline, the connection left open: the client stops
    // reading at 16 kB and says so.
    events.send_raw(&[b'A'; 20_000]).unwrap();
    python.expect("(receive port closed: a frame longer than 16384 bytes");
}

#[test]
fn the_python_client_says_in_one_line_that_no_server_runs_and_fails() {
    // Two ports where nothing listens: bound, then let go.
    let ports: Vec<u16> =
        (0..2).map(|_| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let mut child = Command::new("python3")
        .args([SCRIPT, "ana", "127.0.0.1", &ports[0].to_string(), &ports[1].to_string()])
        .env("WACHAT_PASSWORD", "pw-ana")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to test the lab's Python client");
    let status = wait_with_timeout(&mut child, READ_TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, format!("cannot connect to 127.0.0.1:{}: Connection refused\n", ports[1]));
}
