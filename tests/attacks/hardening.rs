//! Every cost a client can make the server pay is bounded:
//! each test plays one attack against a real server and checks the limit
//! that stops it — the `KO`, the drop or the throttle. The figures (how
//! fast, how much memory) are measured by `examples/abuse/`, never here.

use super::support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use support::{Conn, READ_TIMEOUT, TestServer};

/// Bytes waiting in a socket's receive queue.
fn queued(conn: &Conn) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`.
    unsafe { libc::ioctl(conn.stream.as_raw_fd(), libc::FIONREAD, &mut n) };
    n as usize
}

/// Reads until the server closes; true if it did (EOF or a reset).
fn closed_by_server(conn: &mut Conn) -> bool {
    let mut sink = vec![0u8; 1 << 16];
    let deadline = Instant::now() + READ_TIMEOUT;
    while Instant::now() < deadline {
        match conn.stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true, // reset
        }
    }
    false
}

/// `#general` with `n` messages of 4 KB from `ana`.
fn big_room(server: &TestServer, n: usize) {
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "x".repeat(4000);
    let burst: String = (0..n).map(|i| format!("MSG:#general:big{i}:{text}\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 0..n {
        assert!(ana.line().starts_with(&format!("OK:big{i}:")));
    }
}

#[test]
fn history_is_clamped_to_its_maximum() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let max = wachat::protocol::MAX_HISTORY;
    let burst: String = (0..max + 5).map(|i| format!("MSG:bob:m{i}:hi {i}\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 0..max + 5 {
        assert!(ana.line().starts_with(&format!("OK:m{i}:")));
    }
    // A limit far past the maximum is legal (v1) and served as the maximum.
    let lines = ana.listing("HISTORY:bob:18446744073709551615");
    assert_eq!(lines.len(), max);
    assert!(lines[0].starts_with("ana:bob:m5:"), "the newest {max}, oldest first: {}", lines[0]);
    assert!(lines[max - 1].starts_with(&format!("ana:bob:m{}:", max + 4)));
    assert_eq!(ana.listing("HISTORY:bob:3").len(), 3, "smaller limits are untouched");
}

#[test]
fn history_of_long_messages_is_cut_to_its_byte_maximum() {
    let server = TestServer::start_with(&["--rate", "0"]);
    big_room(&server, 300); // 300 lines of about 4 KB: 1.2 MB
    let mut ana = server.login_send("ana", "pw-ana");
    let lines = ana.listing("HISTORY:#general:1000");
    let bytes: usize = lines.iter().map(|line| line.len() + 1).sum();
    assert!(bytes <= wachat::protocol::MAX_HISTORY_BYTES, "{bytes} bytes");
    assert!(lines.len() > 200 && lines.len() < 300, "the newest that fit: {}", lines.len());
    assert!(lines.last().unwrap().starts_with("ana:#general:big299:"), "the newest last");
}

#[test]
fn a_client_that_does_not_read_its_replies_is_dropped() {
    let server = TestServer::start_with(&["--timeout", "2", "--rate", "0"]);
    big_room(&server, 300); // 1.2 MB
    let mut hog = server.login_send("ana", "pw-ana");
    let requests = "HISTORY:#general:1000000\n".repeat(100);
    hog.send_raw(requests.as_bytes());
    // Never read: the server gives up on the write and says so.
    server.wait_for_log("did not read its replies for 2 s: dropped");
    assert!(closed_by_server(&mut hog), "the connection is closed");
    // Everyone else is served meanwhile and after.
    let mut other = server.login_send("ana", "pw-ana");
    assert_eq!(other.request("PING"), "OK");
}

#[test]
fn sigterm_does_not_wait_for_a_client_that_does_not_read() {
    // A write deadline far longer than the test may wait.
    let mut server = TestServer::start_with(&["--timeout", "60", "--rate", "0"]);
    big_room(&server, 300);
    let mut hog = server.login_send("ana", "pw-ana");
    hog.stream.write_all("HISTORY:#general:1000000\n".repeat(100).as_bytes()).unwrap();
    // The server is writing (and soon blocked on our full buffers).
    let deadline = Instant::now() + READ_TIMEOUT;
    while queued(&hog) < 64 * 1024 {
        assert!(Instant::now() < deadline, "the replies do not come: {}", queued(&hog));
        std::thread::sleep(Duration::from_millis(10)); // polling the socket
    }
    // terminate() fails the test if the server takes longer than READ_TIMEOUT.
    assert!(server.terminate().success());
    let log = server.log().join("\n");
    assert!(log.contains("shutdown: 1 clients are not reading their replies: cut off"), "{log}");
    drop(hog);
}

#[test]
fn a_closing_connection_holds_no_slot_and_lingers_briefly() {
    let server = TestServer::start_with(&["--timeout", "1", "--max-connections", "2"]);
    server.register(&["ana"]);
    // Two clients time out, then trickle bytes into the closing connection.
    let tricklers: Vec<_> = (0..2)
        .map(|_| {
            // (Refused while the registration's connection still holds its slot.)
            let deadline = Instant::now() + READ_TIMEOUT;
            let c = loop {
                let mut c = server.send_conn();
                match c.line().as_str() {
                    "KO:TIMEOUT:no request for too long" => break c,
                    busy if busy.starts_with("KO:BUSY:") && Instant::now() < deadline => {}
                    other => panic!("{other}"),
                }
            };
            let mut writer = c.stream.try_clone().unwrap();
            let trickle = std::thread::spawn(move || {
                // Until the server closes (then a write fails) or 20 s.
                for _ in 0..200 {
                    if writer.write_all(b"x").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100)); // the trickle's pace
                }
            });
            (c, trickle)
        })
        .collect();
    // Their slots are free: a third client is served, not told BUSY.
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let mut c = server.send_conn();
        let reply = c.request("LOGIN:ana:pw-ana");
        if reply == "OK:ana" {
            break;
        }
        assert!(reply.starts_with("KO:BUSY:") && Instant::now() < deadline, "{reply}");
    }
    // And the server ends each lingering close, trickle or not.
    for (mut c, trickle) in tricklers {
        assert!(closed_by_server(&mut c), "a trickling client still holds its connection");
        trickle.join().unwrap();
    }
}

/// Threads and open descriptors of a process (Linux `/proc`).
fn threads_and_fds(pid: u32) -> (usize, usize) {
    let count = |what: &str| std::fs::read_dir(format!("/proc/{pid}/{what}")).unwrap().count();
    (count("task"), count("fd"))
}

#[test]
fn closing_connections_hold_no_thread_and_few_descriptors() {
    // max_lingering(20) = 16 closes linger at once at most.
    let (max_connections, max_lingering) = (20, 16);
    let server = TestServer::start_with(&["--max-connections", &max_connections.to_string()]);
    let (threads, fds) = threads_and_fds(server.pid());
    // 300 clients each send a bad line, get their KO and keep their socket
    // open: the server closes its end, and lingers over each close.
    let mut held = Vec::new();
    let (mut peak_threads, mut peak_fds) = (0, 0);
    for _ in 0..300 {
        let mut c = std::net::TcpStream::connect(server.send).unwrap();
        c.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        c.write_all(b"X\n").unwrap();
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while c.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            reply.push(byte[0]);
        }
        let reply = String::from_utf8(reply).unwrap();
        assert!(reply.starts_with("KO:AUTH_REQUIRED:") || reply.starts_with("KO:BUSY:"), "{reply}");
        held.push(c);
        let (t, f) = threads_and_fds(server.pid());
        (peak_threads, peak_fds) = (peak_threads.max(t), peak_fds.max(f));
    }
    // A thread per connection being served, none per lingering close; a
    // descriptor per connection and per lingering close, no more.
    assert!(peak_threads <= threads + max_connections, "{peak_threads} threads (from {threads})");
    assert!(peak_fds <= fds + max_connections + max_lingering, "{peak_fds} descriptors (from {fds})");
    // Every socket is closed by the server in the end, and it still serves.
    for mut c in held {
        let mut sink = [0u8; 64];
        loop {
            match c.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the server did not close a lingering connection: {e}"),
            }
        }
    }
    server.register(&["ana"]);
}

#[test]
fn a_read_looks_back_no_further_than_history_can_show() {
    // A room has no recent-id map: READ walks its messages from the newest.
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let n = 1001; // MAX_HISTORY + 1
    let burst: String = (0..n).map(|i| format!("MSG:#general:r{i}:hello {i}\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 0..n {
        assert!(ana.line().starts_with(&format!("OK:r{i}:")));
    }
    let mut bob = server.login_send("bob", "pw-bob");
    // r0 is 1,001 messages back: past the window, never walked to.
    assert_eq!(bob.request("READ:#general:r0"), "KO:UNKNOWN_MESSAGE:no message r0 from #general to you");
    assert_eq!(bob.request("READ:#general:r1"), "OK", "1,000 back is found");
    assert_eq!(bob.request("READ:#general:nope"), "KO:UNKNOWN_MESSAGE:no message nope from #general to you");
}

/// Ana's receive port logs in and out `n` times, one session after the other.
fn reconnect_in_a_loop(server: &TestServer, ana: &mut Conn, n: usize) {
    for _ in 0..n {
        drop(server.login_recv("ana", "pw-ana"));
        // One session after the other (a new one would replace the old).
        let deadline = Instant::now() + READ_TIMEOUT;
        while ana.request("LASTSEEN:ana") == "OK:ana:ONLINE" {
            assert!(Instant::now() < deadline, "ana never went offline");
        }
    }
}

/// What bob hears of ana: the `JOINED`/`LEFT` counts and whether he was
/// told last that she is online.
#[derive(Default)]
struct Heard {
    joined: usize,
    left: usize,
    online: bool,
}

impl Heard {
    /// Reads one line of bob's; true if it was a `MSG`.
    fn read(&mut self, bob: &mut Conn) -> bool {
        let line = bob.line();
        self.heard(bob, &line)
    }

    /// Counts `line`, answering a `PING`; true if it was a `MSG`.
    fn heard(&mut self, bob: &mut Conn, line: &str) -> bool {
        match line {
            "JOINED:ana" => (self.joined, self.online) = (self.joined + 1, true),
            "LEFT:ana" => (self.left, self.online) = (self.left + 1, false),
            "PING" => bob.send("PONG"),
            line => return line.starts_with("MSG:"),
        }
        false
    }

    /// Pairs allowed since `started`: `PRESENCE_BURST` at once, one more
    /// per 10 s begun, and the one told late.
    fn allowed(started: Instant) -> usize {
        3 + (started.elapsed().as_secs_f64() / 10.0).ceil() as usize + 1
    }
}

#[test]
fn reconnecting_in_a_loop_announces_a_few_pairs_not_one_per_login() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]); // both in #general
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    let started = Instant::now();
    reconnect_in_a_loop(&server, &mut ana, 10);
    let looped = Instant::now();
    assert!(ana.request("MSG:bob:after:the loop").starts_with("OK:after:"));
    // Bob reads up to the message, then on until a change held back by
    // the limit has been told (10 s after the loop at most): ana is
    // offline, and the last thing bob was told is LEFT. (A late frame
    // makes this test pass wrongly, never fail wrongly.)
    let mut heard = Heard::default();
    while !heard.read(&mut bob) {}
    let settled = looped + Duration::from_secs(11);
    while let Some(left) = settled.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
        bob.stream.set_read_timeout(Some(left)).unwrap();
        match bob.try_line() {
            Some(line) => _ = heard.heard(&mut bob, &line),
            None => break,
        }
    }
    let allowed = Heard::allowed(started);
    assert!(
        (1..=allowed).contains(&heard.joined),
        "{} JOINED for 10 logins ({allowed} allowed)",
        heard.joined
    );
    assert_eq!(heard.left, heard.joined, "every JOINED has its LEFT");
    assert!(!heard.online, "ana is offline, bob must not be told otherwise");
}

#[test]
fn reconnecting_in_a_loop_then_staying_is_announced_within_ten_seconds() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "bob"]); // both in #general
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = server.login_send("ana", "pw-ana");
    let started = Instant::now();
    reconnect_in_a_loop(&server, &mut ana, 5);
    // Flaky wifi, then a good connection: ana stays online.
    let _stays = server.login_recv("ana", "pw-ana");
    assert!(ana.request("MSG:bob:after:the loop").starts_with("OK:after:"));
    // The login past the limit is told when a pair comes back (10 s at
    // most): bob reads until he was told last that ana is online.
    bob.stream.set_read_timeout(Some(READ_TIMEOUT + Duration::from_secs(10))).unwrap();
    let (mut heard, mut msg) = (Heard::default(), false);
    let deadline = Instant::now() + READ_TIMEOUT + Duration::from_secs(10);
    while !msg || !heard.online {
        assert!(Instant::now() < deadline, "bob was never told that ana is back");
        msg |= heard.read(&mut bob);
    }
    let allowed = Heard::allowed(started);
    assert!(heard.joined <= allowed, "{} JOINED for 6 logins ({allowed} allowed)", heard.joined);
    assert_eq!(heard.left + 1, heard.joined, "{} LEFT, {} JOINED", heard.left, heard.joined);
    assert_eq!(ana.request("LASTSEEN:ana"), "OK:ana:ONLINE");
}

#[test]
fn connections_per_address_are_capped() {
    let server = TestServer::start_with(&["--max-per-address", "3"]);
    let _held: Vec<Conn> = (0..3).map(|_| server.send_conn()).collect();
    let mut fourth = server.send_conn();
    assert_eq!(fourth.line(), "KO:BUSY:too many connections from your address (3); try later");
    fourth.expect_closed();
    server.wait_for_log("refused, 3 connections from this address already (--max-per-address)");
    // Another address is not affected.
    let mut elsewhere = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(elsewhere.request("PING"), "KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>");
    // --exempt lifts the cap for one address.
    let exempt = TestServer::start_with(&["--max-per-address", "3", "--exempt", "127.0.0.1"]);
    let mut many: Vec<Conn> = (0..6).map(|_| exempt.send_conn()).collect();
    assert!(many[5].request("PING").starts_with("KO:AUTH_REQUIRED:"));
}

#[test]
fn registrations_are_throttled_per_address() {
    let server = TestServer::start();
    let mut c = server.send_conn();
    let mut created = 0;
    let refused = loop {
        let reply = c.request(&format!("REGISTER:u{created}::secret-u{created}"));
        if reply != format!("OK:u{created}") {
            break reply;
        }
        created += 1;
        c = server.send_conn();
        assert!(created <= 200, "200 registrations from one address, none refused");
    };
    assert_eq!(created, 60, "a class behind one NAT may register at once");
    assert!(refused.starts_with("KO:RATE_LIMITED:too many new accounts from your address; try again in "));
    // The connection waits for another LOGIN (protocol §3), which works.
    assert_eq!(c.request("LOGIN:u0:secret-u0"), "OK:u0");
    server.wait_for_log("registration of u60 throttled");
    // Another address may still register.
    let mut other = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(other.request("REGISTER:newcomer::pw-newcomer"), "OK:newcomer");
}

#[test]
fn a_taken_name_costs_what_a_wrong_password_costs() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut prober = Conn::connect_from(server.send, [127, 0, 0, 2]);
    for _ in 0..5 {
        assert_eq!(prober.request("REGISTER:ana::xxxxxx"), "KO:USER_EXISTS:the name ana is taken");
    }
    // Asking again is throttled like guessing ana's password, and the two
    // share one budget: the prober cannot log in as ana either now.
    assert!(prober.request("REGISTER:ana::xxxxxx").starts_with("KO:RATE_LIMITED:too many failed logins"));
    assert!(prober.request("LOGIN:ana:pw-ana").starts_with("KO:RATE_LIMITED:"));
    server.wait_for_log("127.0.0.2: registration of a taken name for ana");
}

#[test]
fn a_stranger_cannot_lock_a_user_out() {
    let server = TestServer::start();
    server.register(&["ana"]); // from 127.0.0.1: ana is known there
    let guess = |from: [u8; 4]| Conn::connect_from(server.send, from).request("LOGIN:ana:guess");
    let replies: Vec<String> = (0..20).map(|_| guess([127, 0, 0, 2])).collect();
    assert!(replies[..5].iter().all(|r| r.starts_with("KO:AUTH_FAILED:")), "{replies:?}");
    assert!(replies[5..].iter().all(|r| r.starts_with("KO:RATE_LIMITED:")), "{replies:?}");
    server.wait_for_log("127.0.0.2: failed login for ana");
    // Ana, from where she logged in before, is not refused.
    assert_eq!(server.send_conn().request("LOGIN:ana:pw-ana"), "OK:ana");
}

#[test]
fn guessing_from_many_addresses_is_still_slowed() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let guess = |last: u8| Conn::connect_from(server.send, [127, 0, 1, last]).request("LOGIN:ana:guess");
    // One guess from each of many addresses: the account's own budget ends it.
    let failed = (1..=100).take_while(|&i| guess(i).starts_with("KO:AUTH_FAILED:")).count();
    assert_eq!(failed, 20, "guesses at one account from new addresses");
    assert!(guess(200).starts_with("KO:RATE_LIMITED:"), "a fresh address is slowed too");
    assert_eq!(server.send_conn().request("LOGIN:ana:pw-ana"), "OK:ana", "ana's own address is not");
}

#[test]
fn the_default_burst_is_two_seconds_of_rate_and_every_request_counts() {
    let server = TestServer::start_with(&["--rate", "5"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let burst: String = (0..30).map(|i| format!("JOIN:#r{i}\n")).collect();
    let started = Instant::now();
    ana.send_raw(burst.as_bytes());
    let replies: Vec<String> = (0..30).map(|_| ana.line()).collect();
    // The bucket refills at 5 a second while they are served: however
    // slow the machine, at most this many more were allowed.
    let refilled = (5.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    let ok = replies.iter().filter(|r| *r == "OK").count();
    // 10 = 2 s of --rate 5, plus what refilled meanwhile.
    assert!((10..=10 + refilled).contains(&ok), "{ok} OK, {refilled} refilled: {replies:?}");
    for refused in replies.iter().filter(|r| *r != "OK") {
        assert!(refused.starts_with("KO:RATE_LIMITED:too many requests; try again in "), "{refused}");
    }
    if ok < replies.len() {
        server.wait_for_log("ana refused: over its own --rate (5 requests a second)");
    }
}

#[test]
fn server_costs_a_token_like_any_read_and_ping_stays_free() {
    // A client asks SERVER once per connection; one that loops on it is
    // metered like any read, and only PING is free.
    let server = TestServer::start_with(&["--rate", "5"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    ana.send_raw("PING\n".repeat(30).as_bytes());
    assert!((0..30).all(|_| ana.line() == "OK"), "PING costs nothing");
    ana.send_raw("SERVER\n".repeat(60).as_bytes());
    let replies: Vec<String> = (0..60).map(|_| ana.line()).collect();
    let refused = replies.iter().filter(|r| r.starts_with("KO:RATE_LIMITED:")).count();
    assert!(refused > 0, "60 SERVERs at --rate 5 were all served: {replies:?}");
    for served in replies.iter().filter(|r| !r.starts_with("KO:RATE_LIMITED:")) {
        assert!(served.starts_with("OK:") && served.len() == 35, "{served}");
    }
}

#[test]
fn a_receiver_that_reads_nothing_is_dropped_even_if_it_answers_pings() {
    let server = TestServer::start_with(&["--timeout", "2", "--rate", "0", "--max-pending", "100000000"]);
    server.register(&["ana", "bob"]);
    // Bob's receive socket takes little, and he never reads it.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.recv.into()).unwrap();
    let mut bob: std::net::TcpStream = socket.into();
    bob.write_all(b"LOGIN:bob:pw-bob\n").unwrap();
    // He keeps saying PONG, so he is never silent.
    let mut pong = bob.try_clone().unwrap();
    let ponger = std::thread::spawn(move || {
        for _ in 0..200 {
            if pong.write_all(b"PONG\n").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100)); // a live client's PONGs
        }
    });
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "y".repeat(4000);
    let burst: String = (0..3000).map(|i| format!("MSG:bob:s{i}:{text}\n")).collect();
    ana.send_raw(burst.as_bytes());
    for i in 0..3000 {
        assert!(ana.line().starts_with(&format!("OK:s{i}:")));
    }
    server.wait_for_log("bob: did not read its events for 2 s: dropped");
    ponger.join().unwrap(); // ends once a PONG cannot be written
}
