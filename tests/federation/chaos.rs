//! `wachat chaos --federation` (protocol 1.3, docs/MODEL.md "A
//! federation"), run as a teacher runs it: three `wachat serve` linked by
//! a roster, split from each other through chaos's link proxies, killed
//! with `SIGKILL` and started again, with every guarantee held — chaos's
//! own servers, and servers someone else started (`--federation FILE`,
//! restarted by examples/restart_server.sh). And, as a test of its own,
//! what chaos found: a message its peer took must not be bounced because
//! the peer's `ACK` was lost.
//!
//! The seeds are fixed, so a failure here replays with the same `--seed`
//! (the replay line is in the report).

use super::support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Output;
use std::time::{Duration, Instant};

use support::chaos::{report, violated};
use support::federation::{Link, give_key, key_dir, roster_line};
use support::ports::free_port;
use support::{Conn, TestServer};

/// Runs `wachat chaos` with `args`, its output kept.
fn chaos(args: &[&str]) -> Output {
    support::chaos::run(args, Duration::from_secs(400))
}

/// Every guarantee held, and the run did what it is for: messages and
/// files across servers, splits, restarts.
fn held_under_faults(out: &Output) -> serde_json::Value {
    let (json, statuses) = report(out);
    assert!(
        out.status.success() && violated(&statuses).is_empty(),
        "{json:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses.len(), 8, "{json:#}");
    assert!(json["oks"].as_u64().unwrap() > 100, "{json:#}");
    assert!(json["file_oks"].as_u64().unwrap() > 5, "files across servers: {json:#}");
    assert!(json["files_fetched"].as_u64().unwrap() > 5, "files checked where they arrived: {json:#}");
    assert!(json["fault_kinds"]["split"].as_u64().unwrap_or(0) >= 2, "{json:#}");
    assert!(json["fault_kinds"]["restart"].as_u64().unwrap_or(0) >= 2, "{json:#}");
    json
}

/// chaos's own three servers, 20 s of splits, kill -9 and client faults;
/// a give-up longer than any outage, so that every message is delivered.
#[test]
fn chaos_over_three_servers_of_its_own_holds_every_guarantee() {
    let out =
        chaos(&["--federation", "3", "--give-up", "90s", "--duration", "20", "--seed", "2611", "--json"]);
    let json = held_under_faults(&out);
    assert!(json["room_oks"].as_u64().unwrap() > 10, "rooms across servers: {json:#}");
    assert_eq!(json["bounces"].as_u64(), Some(0), "{json:#}");
    let replay = json["replay"].as_str().unwrap();
    assert!(replay.starts_with("wachat chaos --federation 3 --give-up 90s "), "{replay}");
}

/// A give-up shorter than the splits: some direct messages bounce, and a
/// bounce is only ever for a message that was not delivered (custody ends
/// in one of the two, never both). With rooms: the room's messages a
/// home queued for a member server cut off past the give-up age are
/// never given up, and its members get them in the home's order, once.
#[test]
fn past_a_short_give_up_messages_bounce_and_none_that_was_delivered() {
    let out = chaos(&[
        "--federation",
        "3",
        "--give-up",
        "3s",
        "--duration",
        "20",
        "--seed",
        "7",
        "--faults",
        "split,restart",
        "--json",
    ]);
    let json = held_under_faults(&out);
    assert!(json["bounces"].as_u64().unwrap() > 0, "{json:#}");
    assert!(json["room_oks"].as_u64().unwrap() > 10, "rooms across servers: {json:#}");
}

#[test]
fn a_split_without_a_federation_and_a_federation_too_small_are_usage_errors() {
    let usage = |args: &[&str], says: &str| {
        let out = chaos(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    usage(&["127.0.0.1", "--send-port", "1", "--recv-port", "2", "--faults", "split"], "--federation");
    usage(&["--federation", "2"], "from 3 to 16");
    usage(&["--federation", "3", "--level", "1.2", "--devices", "2"], "one device each");
    usage(&["--federation", "3", "--server", "127.0.0.1:1:2"], "cannot be used with");
    usage(&["--federation", "3", "--give-up", "soon"], "--give-up");
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two.csv");
    std::fs::write(&two, "lab1,127.0.0.1,1,2,3,4,\nlab2,127.0.0.1,5,6,7,8,\n").unwrap();
    let out = chaos(&["--federation", two.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(2) && stderr.contains("three or more"), "{stderr}");
}

/// `--federation FILE`: three servers started by the shipped restart
/// script (as a student starts theirs), their roster naming chaos's
/// proxies, each restarted by chaos with the same script.
#[test]
fn chaos_over_servers_started_by_someone_else_holds_every_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/restart_server.sh");
    let names = ["lab1", "lab2", "lab3"];
    let ports: Vec<[u16; 4]> =
        names.iter().map(|_| [free_port(), free_port(), free_port(), free_port()]).collect();
    let roster = root.join("class.csv");
    let lines: String = names
        .iter()
        .zip(&ports)
        .map(|(name, [_, _, _, proxy])| roster_line(&roster, name, *proxy) + "\n")
        .collect();
    std::fs::write(&roster, lines).unwrap();
    for name in names {
        give_key(&roster, name, &root.join(name));
    }
    let mut file = String::from("# name,host,send_port,recv_port,link_port,proxy_port,restart\n");
    let mut starts = Vec::new();
    for (name, [send, recv, link, proxy]) in names.iter().zip(&ports) {
        let data = root.join(name);
        let options = format!(
            "--send-port {send} --recv-port {recv} --link-port {link} --name {name} --peers {} \
             --give-up 90s --timeout 5 --web-port off --exempt 127.0.0.1 --kdf-cost 8",
            roster.display()
        );
        let restart = format!("WACHAT={} {script} {} {options}", support::wachat_bin(), data.display());
        file.push_str(&format!("{name},127.0.0.1,{send},{recv},{link},{proxy},{restart}\n"));
        starts.push((data, restart));
    }
    let network = root.join("network.csv");
    std::fs::write(&network, file).unwrap();
    // The first start is the script's too (no server to kill yet).
    for (_, start) in &starts {
        assert!(std::process::Command::new("sh").arg("-c").arg(start).status().unwrap().success());
    }
    let out = chaos(&[
        "--federation",
        network.to_str().unwrap(),
        "--duration",
        "20",
        "--seed",
        "2612",
        "--faults",
        "reset,partition,split,restart",
        "--json",
    ]);
    // Whatever happened, the servers the script left running go.
    for (data, _) in &starts {
        let pid = std::fs::read_to_string(data.join("wachat.lock")).unwrap_or_default();
        let _ = std::process::Command::new("kill").args(["-9", pid.trim()]).status();
    }
    let json = held_under_faults(&out);
    assert!(json["target"].as_str().unwrap().starts_with("federation of 3 (lab1 "), "{json:#}");
}

/// What chaos found, as a test of its own, with the test playing lab2: a
/// message lab2 took (its frame on lab2's disk) whose `ACK` never came
/// back, because the link broke, must not be bounced to its sender when
/// lab2 stays unreachable past the give-up age. lab1 cannot know whether
/// lab2 has it; lab2, once back, says it has (`OK:1`). A bounce would
/// tell ana "not delivered" of a message bob has.
#[test]
fn a_message_the_peer_took_is_not_bounced_when_its_ack_was_lost() {
    took_with_its_ack_lost(false);
}

/// The same, with lab1 killed (`SIGKILL`) once the link broke: the
/// restarted server knows from its disk that frame 1 was written, and
/// keeps it in doubt.
#[test]
fn a_message_the_peer_took_is_not_bounced_after_its_sender_restarts() {
    took_with_its_ack_lost(true);
}

/// lab2 (the test) takes lab1's frame 1 and breaks the link before its
/// `ACK`; lab1 is restarted then if `restart`; lab2 stays unreachable for
/// twice the give-up age, then comes back with `OK:1`: no bounce at any
/// time, and frame 1 is not sent again.
fn took_with_its_ack_lost(restart: bool) {
    let root = tempfile::tempdir().unwrap();
    let lab2 = TcpListener::bind("127.0.0.1:0").unwrap();
    let roster = root.path().join("class.csv");
    let write = |lab1: u16| {
        let lab2 = lab2.local_addr().unwrap().port();
        let lines =
            format!("{}\n{}\n", roster_line(&roster, "lab1", lab1), roster_line(&roster, "lab2", lab2));
        std::fs::write(&roster, lines).unwrap();
    };
    write(1);
    let data = root.path().join("lab1");
    give_key(&roster, "lab1", &data);
    let peers = roster.to_str().unwrap();
    let args = ["--name", "lab1", "--peers", peers, "--link-port", "0", "--give-up", "3s", "--timeout", "2"];
    let mut lab1 = TestServer::start_restartable_in(&data, &args);
    let link_of = |lab1: &TestServer| -> SocketAddr {
        let line = lab1.wait_for_log("listening: link ");
        line.split("listening: link ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap()
    };
    let mut link = link_of(&lab1);
    write(link.port());
    lab1.register(&["ana"]);
    let mut ana = lab1.login_send("ana", "pw-ana");
    let mut events = lab1.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");

    assert!(ana.request("MSG:bob@lab2:m1:hi bob").starts_with("OK:m1:"));
    // lab2 takes frame 1 (it is on its disk: bob will get it), and the
    // link breaks before its ACK.
    let mut first = accept_link(&lab2, &roster, 0);
    let frame = first.line();
    assert!(frame.starts_with("MSG:1:ana@lab1:bob@lab2:m1:"), "{frame}");
    drop(first);
    if restart {
        lab1.restart_in_place(&args);
        link = link_of(&lab1);
        write(link.port());
        events = lab1.recv_conn();
        assert_eq!(events.request("VERSION:1.3"), "OK");
        assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");
    }
    // lab2 unreachable for twice the give-up age: each link refused.
    lab2.set_nonblocking(true).unwrap();
    let until = Instant::now() + Duration::from_secs(6);
    let mut bounced = None;
    while Instant::now() < until && bounced.is_none() {
        if let Ok((refused, _)) = lab2.accept() {
            drop(refused);
        }
        bounced = bounce(&mut events, Duration::from_millis(100));
    }
    assert_eq!(bounced, None, "ana was told m1 failed, and lab2 has it");
    // lab2 is back, and has frame 1: nothing is sent again, nothing bounced.
    let mut back = accept_link(&lab2, &roster, 1);
    assert_eq!(back.line_within(Duration::from_millis(500)), None, "frame 1 is not sent again");
    // The receive connection went idle while lab1 was dialed (its PINGs
    // unanswered): a new one, to which any bounce is replayed.
    let mut events = lab1.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");
    let later = bounce(&mut events, Duration::from_secs(1));
    assert_eq!(later, None, "ana was told m1 failed, and lab2 has it");
}

/// Behind a frame in doubt, a message lab1 never wrote on a link: lab2
/// cannot have it, so past the give-up age it bounces while frame 1 still
/// waits for lab2's word; lab2, back with `OK:1`, never gets it, and the
/// next message comes under its own number (the numbers skip).
#[test]
fn a_message_behind_one_in_doubt_bounces_past_the_give_up_age_and_is_never_sent() {
    let root = tempfile::tempdir().unwrap();
    let lab2 = TcpListener::bind("127.0.0.1:0").unwrap();
    let roster = root.path().join("class.csv");
    let data = root.path().join("lab1");
    std::fs::create_dir_all(&data).unwrap();
    let lab2_port = lab2.local_addr().unwrap().port();
    let line2 = roster_line(&roster, "lab2", lab2_port);
    std::fs::write(&roster, format!("{}\n{line2}\n", roster_line(&roster, "lab1", 1))).unwrap();
    give_key(&roster, "lab1", &data);
    let peers = roster.to_str().unwrap();
    let args = ["--name", "lab1", "--peers", peers, "--link-port", "0", "--give-up", "3s", "--timeout", "2"];
    let lab1 = TestServer::start_in(&data, &args);
    let line = lab1.wait_for_log("listening: link ");
    let link: SocketAddr =
        line.split("listening: link ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    let lines = format!("{}\n{line2}\n", roster_line(&roster, "lab1", link.port()));
    std::fs::write(&roster, lines).unwrap();
    lab1.register(&["ana"]);
    let mut ana = lab1.login_send("ana", "pw-ana");
    let mut events = lab1.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");

    assert!(ana.request("MSG:bob@lab2:m1:taken").starts_with("OK:m1:"));
    let mut first = accept_link(&lab2, &roster, 0);
    let frame = first.line();
    assert!(frame.starts_with("MSG:1:ana@lab1:bob@lab2:m1:"), "{frame}");
    drop(first); // frame 1 is in doubt
    assert!(ana.request("MSG:bob@lab2:m2:never written").starts_with("OK:m2:"));
    // lab2 unreachable: m2 bounces past the give-up age, m1 never.
    lab2.set_nonblocking(true).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let mut bounced = None;
    while Instant::now() < until && bounced.is_none() {
        if let Ok((refused, _)) = lab2.accept() {
            drop(refused);
        }
        bounced = bounce(&mut events, Duration::from_millis(100));
    }
    let bounced = bounced.expect("m2 bounced past --give-up 3s");
    assert!(bounced.contains(":bob@lab2:m2:FAILED:"), "{bounced}");
    // lab2 is back with frame 1: m2 is not sent; m3 comes as frame 3.
    let mut back = accept_link(&lab2, &roster, 1);
    assert_eq!(back.line_within(Duration::from_millis(500)), None, "neither m1 nor m2 is sent again");
    // (ana's send connection went idle meanwhile, its PINGs unanswered.)
    let mut ana = lab1.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob@lab2:m3:after").starts_with("OK:m3:"));
    let frame = back.line();
    assert!(frame.starts_with("MSG:3:ana@lab1:bob@lab2:m3:"), "{frame}");
    back.send("ACK:3");
    let mut events = lab1.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");
    let mut failed = Vec::new();
    while let Some(line) = bounce(&mut events, Duration::from_secs(1)) {
        failed.push(line);
    }
    assert_eq!(failed.len(), 1, "m2 bounced once, m1 and m3 never: {failed:?}");
    assert!(failed[0].contains(":m2:FAILED:"), "{failed:?}");
}

/// A bounce that came within `wait`, `PING`s answered on the way.
fn bounce(events: &mut Conn, wait: Duration) -> Option<String> {
    let until = Instant::now() + wait;
    while let Some(line) =
        events.line_within(until.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))
    {
        if line == "PING" {
            events.send("PONG");
        } else if line.contains(":FAILED:") {
            return Some(line);
        }
    }
    None
}

/// Accepts lab1's next link as lab2 (TLS with lab2's key of the
/// roster): its hello, then `OK:<last>`.
fn accept_link(lab2: &TcpListener, roster: &std::path::Path, last: u64) -> PeerLink {
    let key = wachat::federation::key::LinkKey::load_or_make(&key_dir(roster, "lab2")).unwrap();
    lab2.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90); // lab1's backoff is at most 60 s
    let stream = loop {
        match lab2.accept() {
            Ok((stream, _)) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)), // polling for lab1's dial
            Err(e) => panic!("lab1 did not link to lab2: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    let tls = wachat::transport::Stream::accept(stream, Some(&key.acceptor().unwrap())).unwrap();
    let link = wachat::transport::SharedStream(std::sync::Arc::new(tls));
    let mut link = PeerLink { reader: BufReader::new(link.clone()), link };
    let hello = link.line();
    let fields: Vec<&str> = hello.split(':').collect();
    assert_eq!(&fields[..4], ["HELLO", "1.3", "lab1", "lab2"], "{hello}");
    link.send(&format!("OK:{last}"));
    link
}

/// lab2's end of a link from lab1.
struct PeerLink {
    link: Link,
    reader: BufReader<Link>,
}

impl PeerLink {
    /// The next line from lab1 within `wait`; a `PRESENCE` (§27: lab1's
    /// users' presence, unnumbered) is answered `OK` as a peer does, and
    /// skipped.
    fn line_within(&mut self, wait: Duration) -> Option<String> {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            self.link.0.set_read_timeout(Some(left)).unwrap();
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(1..) if line.starts_with("PRESENCE:") => self.send("OK"),
                Ok(1..) => return Some(line.trim_end().to_string()),
                _ => return None,
            }
        }
    }

    fn line(&mut self) -> String {
        self.line_within(Duration::from_secs(10)).expect("a line from lab1")
    }

    fn send(&mut self, line: &str) {
        writeln!(self.link.clone(), "{line}").unwrap();
    }
}
