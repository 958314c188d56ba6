//! The class network (protocol 1.3, docs/PROTOCOL.md §27), tested from
//! outside: real `wachat serve` processes, each in its own temporary
//! directory, linked by a roster file that names their link ports (a
//! server reads its roster again when it changes). Where the test plays a
//! peer itself, it speaks the link protocol over TLS with a link key of
//! its own, as a student's server would.

use super::support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::federation::{
    Lab, Link, ask, events_1_3, hello_on, key_dir, lab1_with_the_browser_app_and_lab2, lab9_beside_lab1,
    network, roster_line, start, tls_to, write_roster,
};
use support::ports::free_port;
use support::webapp::app_url;
use support::{Conn, TestServer, without_ts};
use wachat::federation::key::LinkKey;
use wachat::transport::{SharedStream, Stream};

/// A bounce (`STATUS:…:FAILED:<ts>:<reason>`) without its time.
fn failed(event: &str) -> String {
    let f: Vec<&str> = event.splitn(7, ':').collect();
    assert_eq!(f.len(), 7, "{event}");
    format!("{}:{}:{}:{}:{}:<ts>:{}", f[0], f[1], f[2], f[3], f[4], f[6])
}

/// The next event that is not a presence or a ping, without its time.
fn event(conn: &mut Conn) -> String {
    without_ts(&conn.next_event())
}

#[test]
fn a_message_crosses_servers_and_its_statuses_come_back() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2", "lab3"], &[]);
    let (lab1, lab2, lab3) = (&labs[0].server, &labs[1].server, &labs[2].server);
    let [mut ana] = lab1.logged_in(["ana"]);
    let [mut bob] = lab2.logged_in(["bob"]);
    let [mut carl] = lab3.logged_in(["carl"]);
    let mut ana_events = events_1_3(lab1, "ana");
    let mut bob_events = lab2.login_recv("bob", "pw-bob");

    let ok = ana.request("MSG:bob@lab2:m1:hi bob, from lab1");
    let ts = ok.strip_prefix("OK:m1:").expect(&ok);
    assert_eq!(bob_events.next_msg(), format!("MSG:1:ana@lab1:bob:m1:{ts}:hi bob, from lab1"));
    bob_events.send("ACK:1");
    assert_eq!(event(&mut ana_events), "STATUS:1:bob@lab2:m1:DELIVERED:<ts>");
    assert_eq!(bob.request("READ:ana@lab1:m1"), "OK");
    assert_eq!(event(&mut ana_events), "STATUS:2:bob@lab2:m1:READ:<ts>");
    assert!(bob.request("MSG:ana@lab1:b1:hello ana").starts_with("OK:b1:"));
    assert_eq!(event(&mut ana_events), "MSG:3:bob@lab2:ana:b1:<ts>:hello ana");
    let history = ana.listing("HISTORY:bob@lab2:10");
    let no_ts = |l: &String| {
        let f: Vec<&str> = l.splitn(5, ':').collect();
        format!("{}:{}:{}:<ts>:{}", f[0], f[1], f[2], f[4])
    };
    assert_eq!(
        history.iter().map(no_ts).collect::<Vec<_>>(),
        ["ana:bob@lab2:m1:<ts>:READ:hi bob, from lab1", "bob@lab2:ana:b1:<ts>:RECEIVED:hello ana"]
    );

    // A third server, both ways.
    assert!(carl.request("MSG:ana@lab1:c1:from lab3").starts_with("OK:c1:"));
    assert_eq!(event(&mut ana_events), "MSG:4:carl@lab3:ana:c1:<ts>:from lab3");
    assert!(carl.request("MSG:bob@lab2:c2:lab3 to lab2").starts_with("OK:c2:"));
    assert_eq!(without_ts(&bob_events.next_msg()), "MSG:2:carl@lab3:bob:c2:<ts>:lab3 to lab2");

    // Refusals: a server not in the roster at once; a user the peer does
    // not have, bounced within seconds (a 1.3 client reads a STATUS, an
    // older one a message in the chat).
    assert_eq!(ana.request("MSG:bob@lab9:m2:hi"), "KO:UNKNOWN_SERVER:no server named lab9 in the roster");
    assert!(ana.request("MSG:nobody@lab2:m3:anyone?").starts_with("OK:m3:"));
    assert_eq!(
        failed(&ana_events.next_event()),
        "STATUS:5:nobody@lab2:m3:FAILED:<ts>:lab2 refused it: lab2 has no user nobody"
    );
    let mut old = lab1.login_recv("ana", "pw-ana");
    let replay: Vec<String> = (0..5).map(|_| old.next_event()).collect();
    let f: Vec<&str> = replay[4].splitn(7, ':').collect();
    assert_eq!((f[0], f[1], f[2], f[3]), ("MSG", "5", "nobody@lab2", "ana"), "{replay:?}");
    assert!(f[4].starts_with("_x") && f[4].ends_with("_failed"), "a server's id: {replay:?}");
    assert_eq!(f[6], "⚠ not delivered: lab2 refused it: lab2 has no user nobody (your message m3)");
    // The name of this server is this server.
    assert!(ana.request("MSG:ana@lab1:m4:note to self").starts_with("OK:m4:"));
    let info = ana.listing("INFO");
    assert!(info.contains(&"name=lab1".to_string()), "{info:?}");
}

/// The ids of the next `n` different messages, in order: the wire is
/// at-least-once, and a client drops a resend by its id.
fn ids_once(events: &mut Conn, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let id = events.next_msg().split(':').nth(4).unwrap().to_string();
        if !got.contains(&id) {
            got.push(id);
        }
    }
    got
}

#[test]
fn queues_drain_after_an_outage_and_survive_kill_9_on_both_sides() {
    let root = tempfile::tempdir().unwrap();
    // Checkpoints every few records: the queues, remote users and link
    // counters must come back from a checkpoint as from the log.
    let often = ["--checkpoint-records", "7"];
    let mut labs = network(root.path(), &["lab1", "lab2"], &often);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    let roster = root.path().join("class.csv");
    let (port1, port2) = (labs[0].link.port(), labs[1].link.port());

    // lab2 down: ana's messages are held by lab1.
    labs[1].server.kill();
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    for i in 0..40 {
        assert!(ana.request(&format!("MSG:bob@lab2:a{i}:to bob {i}")).starts_with(&format!("OK:a{i}:")));
    }
    // lab2 back: bob writes to ana while lab1 is killed mid-queue.
    let dir2 = labs[1].dir.clone();
    labs[1] = start("lab2", &dir2, &roster, port2, &often);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    labs[0].server.kill();
    for i in 0..20 {
        assert!(bob.request(&format!("MSG:ana@lab1:b{i}:to ana {i}")).starts_with(&format!("OK:b{i}:")));
    }
    labs[1].server.kill(); // queued both ways, both killed
    let dir1 = labs[0].dir.clone();
    labs[0] = start("lab1", &dir1, &roster, port1, &often);
    labs[1] = start("lab2", &dir2, &roster, port2, &often);

    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    let expected = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
    assert_eq!(ids_once(&mut bob_events, 40), expected("a", 40), "every message once, in order");
    let mut ana_events = labs[0].server.login_recv("ana", "pw-ana");
    assert_eq!(ids_once(&mut ana_events, 20), expected("b", 20));
    // Nothing more is delivered: no duplicates after the acknowledgement.
    bob_events.send("ACK:1000");
    // The acknowledgement is taken (bob's history says DELIVERED) before
    // a new connection replaces this one, which would drop it unread.
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bob.listing("HISTORY:ana@lab1:60").iter().any(|l| l.contains(":a39:") && l.contains(":DELIVERED:"))
    {
        assert!(Instant::now() < deadline, "bob's ACK was never taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut bob_again = labs[1].server.login_recv("bob", "pw-bob");
    assert_eq!(bob_again.line_within(Duration::from_millis(500)), None);
}

/// A link that breaks again and again (a flaky network between two
/// labs) is dialed again about a second after each break: the dialer's
/// backoff counts from the last link made, not from the first break.
/// Each cut is noticed when ana's next message is written to it; that
/// message reaches bob well within the 8 s a fourth consecutive doubling
/// would wait (a bound, not a speed).
#[test]
fn a_link_that_breaks_again_and_again_is_dialed_again_a_second_after_each_break() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let proxy = support::proxy::LinkProxy::start();
    let port1 = free_port();
    write_roster(&roster, &[("lab1", port1), ("lab2", proxy.at.port())], "");
    let dir = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    // A --timeout of 60 s: ana's connection waits, idle, for each delivery.
    let lab1 = start("lab1", &dir("lab1"), &roster, port1, &["--timeout", "60"]);
    let lab2 = start("lab2", &dir("lab2"), &roster, free_port(), &["--timeout", "60"]);
    proxy.to(lab2.link);
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    for cut in 0..6 {
        if cut > 0 {
            proxy.cut();
        }
        let sent = Instant::now();
        let ok = ana.request(&format!("MSG:bob@lab2:m{cut}:after cut {cut}"));
        assert!(ok.starts_with(&format!("OK:m{cut}:")), "{ok}");
        let line = bob_events.next_msg();
        bob_events.send(&format!("ACK:{}", line.split(':').nth(1).unwrap()));
        assert!(line.ends_with(&format!(":after cut {cut}")), "{line}");
        let took = sent.elapsed();
        assert!(took < Duration::from_secs(5), "after cut {cut}, delivered in {took:?}: the backoff grew");
    }
    let broken = lab1.server.log().iter().filter(|l| l.contains("link to lab2: broken")).count();
    assert_eq!(broken, 5, "one line per link that broke");
}

/// lab2 down long enough for lab1's backoff to reach 16 s, then back:
/// its first link to lab1 (bob writes to ana) tells lab1 it is back, and
/// lab1 dials it at once, so that what waited for bob reaches him within
/// seconds of lab2's restart, not at lab1's next try (a bound, not a
/// speed: up to 16 s later without the hello's word).
#[test]
fn a_peer_that_links_to_us_is_dialed_at_once_whatever_our_backoff() {
    let root = tempfile::tempdir().unwrap();
    let mut labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "60"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    labs[1].server.kill();
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob@lab2:m1:while you were away").starts_with("OK:m1:"));
    // lab1 dials at about 1, 3, 7 and 15 s, each failing, then waits 16 s.
    std::thread::sleep(Duration::from_secs(17)); // the outage
    labs[1] = labs[1].restart(&root.path().join("class.csv"), &["--timeout", "60"]);
    let back = Instant::now();
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    assert!(bob.request("MSG:ana@lab1:b1:I am back").starts_with("OK:b1:"));
    let line = bob_events.next_msg();
    assert!(line.ends_with(":while you were away"), "{line}");
    let took = back.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "delivered {took:?} after lab2 was back: lab1 waited out its backoff"
    );
}

#[test]
fn a_peer_unreachable_past_the_give_up_age_is_bounced() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    // lab2's port is one nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    write_roster(&roster, &[("lab1", 1), ("lab2", closed)], "");
    let dir = root.path().join("lab1");
    std::fs::create_dir_all(&dir).unwrap();
    let lab1 = start("lab1", &dir, &roster, 0, &["--give-up", "2s"]);
    lab1.server.register(&["ana"]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    let mut events = events_1_3(&lab1.server, "ana");
    assert!(ana.request("MSG:bob@lab2:m1:are you there?").starts_with("OK:m1:"));
    let bounce = failed(&events.next_event());
    assert!(
        bounce.starts_with("STATUS:1:bob@lab2:m1:FAILED:<ts>:lab2 unreachable for 2 s (--give-up): "),
        "{bounce}"
    );
}

/// The hello's `<secret>` and `<key>` have no role: any well-formed words
/// are taken (an earlier dialer's as a dialer of now's). `VERIFY`, the
/// dialback that is gone, is refused in words, its grammar as before.
#[test]
fn a_hello_takes_any_words_in_its_unused_fields_and_a_verify_is_refused_in_words() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _roster) = lab9_beside_lab1(root.path(), &[], &[]);
    let id = "00000000000000000000000000000009";
    let first = |line: &str| {
        let link = tls_to(lab1.link, &lab9.key, &lab9.lab1).unwrap();
        hello_on(&link, line).2
    };
    assert_eq!(first(&format!("HELLO:1.3:lab9:lab1:s9:Zk3q9wPpXc41LmNb:{id}")), "OK:0");
    assert_eq!(first(&format!("HELLO:1.3:lab9:lab1:-:0000000000000000:{id}")), "OK:0");
    assert_eq!(
        first(&format!("HELLO:1.3:lab9:lab1:s9:short:{id}")),
        "KO:BAD_REQUEST:a key has 16 to 64 characters from A-Z a-z 0-9"
    );
    assert_eq!(
        first("VERIFY:lab1:lab9:Zk3q9wPpXc41LmNb"),
        "KO:BAD_REQUEST:there is no dialback: a link proves which server it is by its TLS key (§27)"
    );
    assert_eq!(first("VERIFY:lab1:lab9"), "KO:BAD_REQUEST:VERIFY:<asker>:<dialer>:<key>");
    assert_eq!(
        first("VERIFY:lab1:lab9:short"),
        "KO:BAD_REQUEST:a key has 16 to 64 characters from A-Z a-z 0-9"
    );
    assert_eq!(first("HOLA:lab9"), "KO:BAD_REQUEST:a link starts with HELLO or VERIFY, not \"HOLA\"");
}

#[test]
fn a_peer_speaks_only_for_itself_duplicates_are_dropped_and_identity_is_pinned() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, roster) = lab9_beside_lab1(root.path(), &[], &[]);
    lab1.server.register(&["bob"]);
    let mut bob = lab1.server.login_recv("bob", "pw-bob");
    let id = "00000000000000000000000000000009";

    // Another key, claiming lab9: refused before any frame.
    let impostor = LinkKey::load_or_make(&root.path().join("impostor")).unwrap();
    let wrong = tls_to(lab1.link, &impostor, &lab9.lab1).unwrap();
    let (_, _, wrong) = hello_on(&wrong, &format!("HELLO:1.3:lab9:lab1:-:0000000000000000:{id}"));
    assert!(wrong.starts_with("KO:AUTH_FAILED:this link's key is not lab9's"), "{wrong}");
    let (link, mut r, ok) = lab9.hello(lab1.link, id);
    assert_eq!(ok, "OK:0");
    assert_eq!(ask(&link, &mut r, "MSG:1:ana@lab9:bob@lab1:m1:1795500000100:hi"), "ACK:1");
    assert_eq!(bob.next_msg(), "MSG:1:ana@lab9:bob:m1:1795500000100:hi");
    // The same frame again, and the same message under a new number.
    assert_eq!(ask(&link, &mut r, "MSG:1:ana@lab9:bob@lab1:m1:1795500000100:hi"), "ACK:1");
    assert_eq!(ask(&link, &mut r, "MSG:2:ana@lab9:bob@lab1:m1:1795500000100:hi"), "ACK:2");
    // Spoofed origin, unknown user, a hostile text, a status for nothing.
    assert_eq!(
        ask(&link, &mut r, "MSG:3:eve@lab3:bob@lab1:x1:1795500000500:I am eve"),
        "KO:3:FORBIDDEN:lab9 speaks only for its own users, not eve@lab3"
    );
    assert_eq!(
        ask(&link, &mut r, "MSG:4:ana@lab9:nobody@lab1:m2:1:hi"),
        "KO:4:UNKNOWN_USER:lab1 has no user nobody"
    );
    assert!(ask(&link, &mut r, "MSG:5:ana@lab9:bob@lab1:m3:1:a\u{1b}[2Jb").starts_with("KO:5:BAD_REQUEST:"));
    assert_eq!(
        ask(&link, &mut r, "STATUS:6:ana@lab9:bob@lab1:zz:READ:1"),
        "KO:6:UNKNOWN_MESSAGE:bob sent ana@lab9 no message zz"
    );
    assert_eq!(ask(&link, &mut r, "PING"), "PONG");
    assert_eq!(ask(&link, &mut r, "MSG:7:ana@lab9:bob@lab1:m4:1795500000900:second"), "ACK:7");
    assert_eq!(without_ts(&bob.next_msg()), "MSG:2:ana@lab9:bob:m4:<ts>:second", "m1 once, nothing refused");
    drop(link);

    // A new hello resumes at the last frame taken; another identity under
    // the same key is refused.
    let (_, _, again) = lab9.hello(lab1.link, id);
    assert_eq!(again, "OK:7");
    let other = "ffffffffffffffffffffffffffffffff";
    let (_, _, changed) = lab9.hello(lab1.link, other);
    assert!(changed.starts_with(&format!("KO:AUTH_FAILED:lab9 was {id}, it is now {other}")), "{changed}");
    // lab9 has a new key, and the teacher its new line: the old key is
    // refused, and the new server is taken from frame 1.
    let port = lab9.port.local_addr().unwrap().port();
    let new_line = roster_line(&roster, "lab9-new", port).replacen("lab9-new", "lab9", 1);
    write_roster(&roster, &[("lab1", 1)], &(new_line + "\n"));
    let new_key = LinkKey::load_or_make(&key_dir(&roster, "lab9-new")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, old) = lab9.hello(lab1.link, other);
        if old.starts_with("KO:AUTH_FAILED:this link's key is not lab9's") {
            break; // the roster was read again
        }
        assert!(Instant::now() < deadline, "{old}");
        std::thread::sleep(Duration::from_millis(100)); // the roster is looked at again each second
    }
    let link = tls_to(lab1.link, &new_key, &lab9.lab1).unwrap();
    let (_, _, fresh) = hello_on(&link, &format!("HELLO:1.3:lab9:lab1:-:0000000000000000:{other}"));
    assert_eq!(fresh, "OK:0");
}

/// A room event without its sequence number and time: `<from>:<to>:<id>:<text>`.
fn room_msg(event: &str) -> String {
    let f: Vec<&str> = event.splitn(7, ':').collect();
    assert_eq!((f[0], f.len()), ("MSG", 7), "{event}");
    format!("{}:{}:{}:{}", f[2], f[3], f[4], f[6])
}

/// The next `n` room messages of `events` (acknowledged), as [`room_msg`].
fn room_msgs(events: &mut Conn, n: usize) -> Vec<String> {
    let got: Vec<String> = (0..n).map(|_| events.next_msg()).collect();
    if let Some(last) = got.last() {
        events.send(&format!("ACK:{}", last.split(':').nth(1).unwrap()));
    }
    got.iter().map(|e| room_msg(e)).collect()
}

#[test]
fn a_room_homed_on_one_server_spans_three_and_a_member_server_catches_up() {
    let root = tempfile::tempdir().unwrap();
    let mut labs = network(root.path(), &["lab1", "lab2", "lab3"], &["--timeout", "10"]);
    let roster = root.path().join("class.csv");
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    labs[2].server.register(&["carl"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    // #lab lives on lab2, and said three things before anyone else came.
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    for i in 0..3 {
        assert!(bob.request(&format!("MSG:#lab:b{i}:early {i}")).starts_with("OK:"));
    }
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    let mut ana_events = events_1_3(&labs[0].server, "ana");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    // The first member of lab1 gets what the room said before it came.
    let early: Vec<String> = (0..3).map(|i| format!("bob@lab2:#lab@lab2:b{i}:early {i}")).collect();
    assert_eq!(room_msgs(&mut ana_events, 3), early);
    let mut carl = labs[2].server.login_send("carl", "pw-carl");
    let mut carl_events = labs[2].server.login_recv("carl", "pw-carl");
    assert_eq!(carl.request("JOIN:#lab@lab2"), "OK");
    assert_eq!(room_msgs(&mut carl_events, 3), early);
    let eventually_members = |bob: &mut Conn, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let members = bob.listing("MEMBERS:#lab");
            if members.len() == n || Instant::now() > deadline {
                return members;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let members = eventually_members(&mut bob, 3);
    assert!(members.iter().any(|m| m.starts_with("ana@lab1")), "{members:?}");
    assert!(members.iter().any(|m| m.starts_with("carl@lab3")), "{members:?}");

    // A message from each server, ordered by the home, seen everywhere.
    assert!(ana.request("MSG:#lab@lab2:a1:hi from lab1").starts_with("OK:a1:"));
    assert_eq!(room_msg(&bob_events.next_msg()), "ana@lab1:#lab:a1:hi from lab1");
    // A post of a third server's user reaches a member server marked as
    // the home's word (§27, "Rooms").
    assert_eq!(room_msgs(&mut carl_events, 1), ["ana@lab1:#lab@lab2:a1:[relayed by lab2] hi from lab1"]);
    assert!(carl.request("MSG:#LAB@Lab2:c1:hi from lab3").starts_with("OK:c1:"));
    assert_eq!(room_msg(&bob_events.next_msg()), "carl@lab3:#lab:c1:hi from lab3");
    assert_eq!(room_msgs(&mut ana_events, 1), ["carl@lab3:#lab@lab2:c1:[relayed by lab2] hi from lab3"]);
    // A resend is one message; the author's own copy is its echo (in the
    // history, not as an event).
    assert!(ana.request("MSG:#lab@lab2:a1:hi from lab1").starts_with("OK:a1:"));
    let history = |conn: &mut Conn, room: &str| -> Vec<String> {
        conn.listing(&format!("HISTORY:{room}:20"))
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.splitn(6, ':').collect();
                format!("{}:{}", f[0], f[2])
            })
            .collect()
    };
    let order = ["bob:b0", "bob:b1", "bob:b2", "ana@lab1:a1", "carl@lab3:c1"];
    assert_eq!(history(&mut bob, "#lab"), order);
    let deadline = Instant::now() + Duration::from_secs(10);
    while history(&mut ana, "#lab@lab2").len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let on_lab1: Vec<String> =
        order.iter().map(|l| l.replace("bob:", "bob@lab2:").replace("ana@lab1:", "ana:")).collect();
    assert_eq!(history(&mut ana, "#lab@lab2"), on_lab1, "the home's order, once");

    // lab3 down: the home keeps the room's messages for it, and lab3
    // catches up when it is back, in order, once.
    let dir3 = labs[2].dir.clone();
    let port3 = labs[2].link.port();
    labs[2].server.kill();
    for i in 0..5 {
        assert!(bob.request(&format!("MSG:#lab:d{i}:while lab3 was down {i}")).starts_with("OK:"));
        assert!(ana.request(&format!("MSG:#lab@lab2:e{i}:lab1 too {i}")).starts_with("OK:"));
    }
    labs[2] = start("lab3", &dir3, &roster, port3, &[]);
    let mut carl_events = labs[2].server.login_recv("carl", "pw-carl");
    let mut expected = Vec::new();
    for i in 0..5 {
        expected.push(format!("bob@lab2:#lab@lab2:d{i}:while lab3 was down {i}"));
        expected.push(format!("ana@lab1:#lab@lab2:e{i}:[relayed by lab2] lab1 too {i}"));
    }
    // bob's and ana's messages reach the home on two links: each sender's
    // order is kept, and the home's order is the one every copy has.
    // carl's ACK of a1 may not have been stored when lab3 was killed: then
    // a1 comes again first, a replay of what he had (at least once).
    let mut got = room_msgs(&mut carl_events, 10);
    if got[0] == "ana@lab1:#lab@lab2:a1:[relayed by lab2] hi from lab1" {
        got.remove(0);
        got.extend(room_msgs(&mut carl_events, 1));
    }
    let mut sorted = got.clone();
    sorted.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(sorted, want, "every message once");
    let of =
        |who: &str, list: &[String]| list.iter().filter(|l| l.starts_with(who)).cloned().collect::<Vec<_>>();
    assert_eq!(of("bob", &got), of("bob", &expected));
    assert_eq!(of("ana", &got), of("ana", &expected));
    let mut carl = labs[2].server.login_send("carl", "pw-carl");
    let home_order: Vec<String> =
        history(&mut bob, "#lab").into_iter().map(|l| l.replace("bob:", "bob@lab2:")).collect();
    assert_eq!(
        history(&mut carl, "#lab@lab2"),
        home_order.iter().map(|l| l.replace("carl@lab3:", "carl:")).collect::<Vec<_>>()
    );

    // carl leaves: the home forgets lab3's member.
    assert_eq!(carl.request("LEAVE:#lab@lab2"), "OK");
    let members = eventually_members(&mut bob, 2);
    assert!(!members.iter().any(|m| m.starts_with("carl@lab3")), "{members:?}");
    // A room that is not there, a server that is not in the roster, and
    // a room of another server run by its home.
    assert_eq!(ana.request("JOIN:#lab@lab9"), "KO:UNKNOWN_SERVER:no server named lab9 in the roster");
    assert_eq!(
        ana.request("TOPIC:#lab@lab2:mine now"),
        "KO:FORBIDDEN:#lab@lab2 is run by its home server, lab2"
    );
    assert_eq!(ana.request("JOIN:#nope@lab2"), "OK");
    let bounce = loop {
        let event = ana_events.next_msg();
        if event.contains("_failed:") {
            break room_msg(&event);
        }
    };
    let f: Vec<&str> = bounce.splitn(4, ':').collect();
    assert_eq!(
        (f[0], f[1], f[3]),
        ("ana", "#nope@lab2", "⚠ not joined: lab2 refused it: lab2 has no room #nope")
    );
    let rooms = ana.listing("ROOMS");
    assert!(!rooms.iter().any(|r| r.starts_with("nope")), "{rooms:?}");
}

/// lab2, home of `#lab`, where bob is, and lab3, where carl joined it
/// (both started with `flags`): the labs, bob's send connection and the
/// roster.
fn lab3_in_a_room_of_lab2(root: &Path, flags: &[&str]) -> (Vec<Lab>, Conn, PathBuf) {
    let labs = network(root, &["lab2", "lab3"], flags);
    labs[0].server.register(&["bob"]);
    labs[1].server.register(&["carl"]);
    let mut bob = labs[0].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut carl = labs[1].server.login_send("carl", "pw-carl");
    assert_eq!(carl.request("JOIN:#lab@lab2"), "OK");
    let deadline = Instant::now() + Duration::from_secs(10);
    while bob.listing("MEMBERS:#lab").len() < 2 {
        assert!(Instant::now() < deadline, "carl@lab3 never joined");
        std::thread::sleep(Duration::from_millis(50));
    }
    (labs, bob, root.join("class.csv"))
}

/// A member server away past the give-up age: a direct message to it,
/// between the room's messages, bounces; the room's messages wait (they
/// are nobody's custody, and never given up), those posted before the
/// give-up and those after it. When it is back its member gets every
/// message of the room in the room's order, each once.
#[test]
fn a_member_server_back_after_the_give_up_age_gets_the_room_in_order_once() {
    let root = tempfile::tempdir().unwrap();
    let (mut labs, _, roster) = lab3_in_a_room_of_lab2(root.path(), &["--give-up", "2s"]);
    let (dir3, port3) = (labs[1].dir.clone(), labs[1].link.port());
    labs[1].server.kill();
    let post = |lab2: &Lab, ids: std::ops::Range<usize>| {
        let mut bob = lab2.server.login_send("bob", "pw-bob");
        for i in ids {
            let ok = bob.request(&format!("MSG:#lab:m{i}:said {i}"));
            assert!(ok.starts_with("OK:"), "{ok}");
        }
        bob
    };
    let mut bob = post(&labs[0], 0..3);
    assert!(bob.request("MSG:carl@lab3:d1:are you there?").starts_with("OK:d1:"));
    post(&labs[0], 3..6);
    // d1 bounced: a sweep may drop older frames that are not messages first
    // ("1 frames waited past --give-up 2 s: dropped, 0 messages bounced").
    labs[0].server.wait_for_log(", 1 messages bounced");
    post(&labs[0], 6..8);
    labs[1] = start("lab3", &dir3, &roster, port3, &["--give-up", "2s"]);
    let mut carl_events = labs[1].server.login_recv("carl", "pw-carl");
    let want: Vec<String> = (0..8).map(|i| format!("bob@lab2:#lab@lab2:m{i}:said {i}")).collect();
    assert_eq!(room_msgs(&mut carl_events, 8), want, "the room's order");
    // Nothing more of the room came twice: the next event is the next message.
    post(&labs[0], 8..9);
    assert_eq!(room_msgs(&mut carl_events, 1), ["bob@lab2:#lab@lab2:m8:said 8"]);
    let mut carl = labs[1].server.login_send("carl", "pw-carl");
    let ids: Vec<String> = carl
        .listing("HISTORY:#lab@lab2:20")
        .iter()
        .map(|l| l.split(':').nth(2).unwrap().to_string())
        .collect();
    assert_eq!(ids, (0..9).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

/// A post to a room of another server is taken into the room when the
/// home's copy comes back, however many messages its author wrote
/// meanwhile: carl's post waits for lab2 while he writes 300 direct
/// messages (more than the resend window holds), lab3 restarts from its
/// checkpoints, and when lab2 is back the post is in the room, once, on
/// both servers.
#[test]
fn a_post_is_taken_back_from_its_home_after_many_more_messages_of_its_author() {
    let root = tempfile::tempdir().unwrap();
    let flags = ["--give-up", "5m", "--checkpoint-records", "7"];
    let (mut labs, _, roster) = lab3_in_a_room_of_lab2(root.path(), &flags);
    labs[1].server.register(&["dora"]);
    let (dir2, port2) = (labs[0].dir.clone(), labs[0].link.port());
    let (dir3, port3) = (labs[1].dir.clone(), labs[1].link.port());
    labs[0].server.kill();
    let mut carl = labs[1].server.login_send("carl", "pw-carl");
    assert!(carl.request("MSG:#lab@lab2:p0:while lab2 was down").starts_with("OK:p0:"));
    carl.send_burst("dora", "to dora", 300);
    labs[1].server.kill();
    labs[1] = start("lab3", &dir3, &roster, port3, &flags);
    labs[0] = start("lab2", &dir2, &roster, port2, &flags);
    let mut bob = labs[0].server.login_send("bob", "pw-bob");
    let mut carl = labs[1].server.login_send("carl", "pw-carl");
    let ids = |conn: &mut Conn, room: &str| -> Vec<String> {
        let lines = conn.listing(&format!("HISTORY:{room}:10"));
        lines.iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while ids(&mut carl, "#lab@lab2").is_empty() {
        assert!(Instant::now() < deadline, "p0 never came back to lab3's copy of #lab");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Once, and what follows it comes once too.
    assert!(carl.request("MSG:#lab@lab2:p1:lab2 is back").starts_with("OK:p1:"));
    while ids(&mut carl, "#lab@lab2").len() < 2 {
        assert!(Instant::now() < deadline, "p1 never came back to lab3's copy of #lab");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ids(&mut carl, "#lab@lab2"), ["p0", "p1"]);
    assert_eq!(ids(&mut bob, "#lab"), ["p0", "p1"]);
}

/// lab9's link port while lab1 may dial it: a thread takes each link
/// lab1 opens (TLS with lab9's key) and hands it over, its `HELLO` read.
fn lab9_port(port: TcpListener, key: &LinkKey) -> std::sync::mpsc::Receiver<Link> {
    let (tx, rx) = std::sync::mpsc::channel();
    let acceptor = key.acceptor().unwrap();
    std::thread::spawn(move || {
        for conn in port.incoming() {
            let Ok(conn) = conn else { return };
            let link = SharedStream(std::sync::Arc::new(Stream::accept(conn, Some(&acceptor)).unwrap()));
            link.0.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut line = String::new();
            if BufReader::new(link.clone()).read_line(&mut line).is_err() {
                continue;
            }
            if line.starts_with("HELLO:") && tx.send(link).is_err() {
                return;
            }
        }
    });
    rx
}

/// A member server behind (its queue was full: the room's newer messages
/// were not queued for it), whose first user of another room of the home
/// joins it before the home links to it again: what was queued comes,
/// then the catch-up, with the rest of the first room and the other room,
/// each room in its order.
#[test]
fn a_member_server_behind_that_joins_another_room_still_catches_up_in_order() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &[], &["--exempt", "127.0.0.1", "--rate", "0"]);
    lab1.server.register(&["bob"]);
    let mut bob = lab1.server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(bob.request("JOIN:#two"), "OK");
    let id = "00000000000000000000000000000009";
    let (link, mut r, ok) = lab9.hello(lab1.link, id);
    assert_eq!(ok, "OK:0");
    assert_eq!(ask(&link, &mut r, "JOIN:1:zoe@lab9:#lab@lab1"), "ACK:1");
    drop((link, r));
    let port = lab9.port.local_addr().unwrap();
    let (key, lab1_print) = (lab9.key, lab9.lab1);
    drop(lab9.port); // unreachable: lab1's dials are refused
    // 10,000 frames wait for lab9 (the most): the last five are not queued.
    let sent = 10_005;
    bob.send_burst("#lab", "x", sent);
    assert!(bob.request("MSG:#two:t0:x").starts_with("OK:t0:"));

    // lab9 is back; yan, its first member of #two, joins before lab1
    // links to it again.
    let links = lab9_port(TcpListener::bind(port).unwrap(), &key);
    let link = tls_to(lab1.link, &key, &lab1_print).unwrap();
    let mut r = BufReader::new(link.clone());
    assert_eq!(ask(&link, &mut r, &format!("HELLO:1.3:lab9:lab1:-:0000000000000000:{id}")), "OK:1");
    assert_eq!(ask(&link, &mut r, "JOIN:2:yan@lab9:#two@lab1"), "ACK:2");
    let from_lab1 = links.recv_timeout(Duration::from_secs(90)).expect("lab1 links to lab9 again");
    writeln!(from_lab1.clone(), "OK:0").unwrap();
    from_lab1.0.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut frames = BufReader::new(from_lab1.clone());
    // As a member server takes them: a message it has is dropped.
    let (lab, two): (Vec<String>, Vec<String>) =
        ((0..sent).map(|i| format!("s{i}")).collect(), vec!["t0".into()]);
    let (mut got_lab, mut got_two) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while (got_lab.len() < lab.len() || got_two.len() < two.len()) && Instant::now() < deadline {
        let mut line = String::new();
        if frames.read_line(&mut line).is_err() {
            continue; // nothing within a second
        }
        let f: Vec<&str> = line.trim_end().splitn(7, ':').collect();
        match f[0] {
            "PING" => writeln!(from_lab1.clone(), "PONG").unwrap(),
            // lab1's users' presence, and the home's members (§27).
            "PRESENCE" => writeln!(from_lab1.clone(), "OK").unwrap(),
            "JOIN" => writeln!(from_lab1.clone(), "ACK:{}", f[1]).unwrap(),
            "MSG" => {
                writeln!(from_lab1.clone(), "ACK:{}", f[1]).unwrap();
                let got = if f[3] == "#lab@lab1" { &mut got_lab } else { &mut got_two };
                if !got.iter().any(|id| id == f[4]) {
                    got.push(f[4].to_string());
                }
            }
            _ => panic!("lab1 sent {line:?}"),
        }
    }
    assert!(
        got_lab == lab,
        "#lab in its order, all of it: {} of {sent}, ends {:?}",
        got_lab.len(),
        got_lab.last()
    );
    assert_eq!(got_two, two);
}

#[test]
fn a_spoofed_room_frame_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &["lab2"], &[]);
    lab1.server.register(&["ana"]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#club@lab9"), "OK");
    assert_eq!(ana.request("JOIN:#other@lab2"), "OK");
    let mut ana_events = lab1.server.login_recv("ana", "pw-ana");
    let id = "00000000000000000000000000000009";
    let (link, mut r, ok) = lab9.hello(lab1.link, id);
    assert_eq!(ok, "OK:0");
    let mut n = 0;
    let mut ask = |frame: &str| {
        n += 1;
        ask(&link, &mut r, &frame.replace("<n>", &n.to_string()))
    };
    // lab9 speaks for its own users only, in rooms homed here too.
    assert_eq!(
        ask("JOIN:<n>:eve@lab2:#lab@lab1"),
        "KO:1:FORBIDDEN:lab9 speaks only for its own users, not eve@lab2"
    );
    assert_eq!(ask("JOIN:<n>:zoe@lab9:#nope@lab1"), "KO:2:NOT_MEMBER:lab1 has no room #nope");
    assert_eq!(
        ask("MSG:<n>:zoe@lab9:#lab@lab1:z1:1:not a member"),
        "KO:3:NOT_MEMBER:zoe@lab9 is not in #lab"
    );
    // lab9 is not the home of #other@lab2, and may not put words in the
    // mouth of lab1's users, nor of a server the roster does not have.
    assert_eq!(
        ask("MSG:<n>:bob@lab2:#other@lab2:o1:1:I am lab2"),
        "KO:4:FORBIDDEN:lab9 is not the home of #other@lab2"
    );
    assert_eq!(
        ask("MSG:<n>:ana@lab1:#club@lab9:f1:1:ana never said this"),
        "KO:5:FORBIDDEN:lab9 speaks only for its own users and rooms: ana@lab1 sent no f1 to #club@lab9"
    );
    assert_eq!(
        ask("MSG:<n>:zed@lab7:#club@lab9:f2:1:who?"),
        "KO:6:FORBIDDEN:lab7 of zed@lab7 is not in the roster"
    );
    // What lab9 may say: its room's messages, from any member it
    // announced (its own users it speaks for), once.
    assert_eq!(ask("MSG:<n>:zoe@lab9:#club@lab9:c1:1795500000100:welcome"), "ACK:7");
    assert_eq!(
        ask("MSG:<n>:bob@lab2:#club@lab9:c2:1795500000200:hi\\nall"),
        "KO:8:NOT_MEMBER:bob@lab2 is not in #club@lab9: lab9 announced no JOIN of it"
    );
    assert_eq!(ask("JOIN:<n>:bob@lab2:#club@lab9"), "ACK:9");
    assert_eq!(ask("MSG:<n>:bob@lab2:#club@lab9:c2:1795500000200:hi\\nall"), "ACK:10");
    assert_eq!(ask("MSG:<n>:zoe@lab9:#club@lab9:c1:1795500000100:welcome"), "ACK:11");
    assert_eq!(ask("JOIN:<n>:zoe@lab9:#lab@lab1"), "ACK:12");
    assert_eq!(ask("MSG:<n>:zoe@lab9:#lab@lab1:z2:1:now a member"), "ACK:13");
    let got: Vec<String> = (0..3).map(|_| room_msg(&ana_events.next_msg())).collect();
    assert_eq!(
        got,
        [
            "zoe@lab9:#club@lab9:c1:welcome",
            "bob@lab2:#club@lab9:c2:[relayed by lab9] hi\\nall",
            "zoe@lab9:#lab:z2:now a member"
        ]
    );
}

/// `GET /metrics` of `addr`: the body.
fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stream, &mut text).unwrap();
    text
}

#[test]
fn the_metrics_and_top_show_each_peer_s_link() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = root.path().join("lab1");
    std::fs::create_dir_all(&dir).unwrap();
    // lab2 is up, lab3 is a port nobody listens on.
    let dir2 = root.path().join("lab2");
    std::fs::create_dir_all(&dir2).unwrap();
    write_roster(&roster, &[("lab1", 1), ("lab2", 1), ("lab3", closed)], "");
    let lab1 = start("lab1", &dir, &roster, 0, &["--metrics", "0"]);
    let lab2 = start("lab2", &dir2, &roster, 0, &[]);
    write_roster(&roster, &[("lab1", lab1.link.port()), ("lab2", lab2.link.port()), ("lab3", closed)], "");
    let line = lab1.server.wait_for_log("listening: metrics http://");
    let metrics = line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics").to_string();
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    assert!(ana.request("MSG:bob@lab2:m1:hi").starts_with("OK:"));
    bob_events.next_msg();
    for i in 0..3 {
        assert!(ana.request(&format!("MSG:carl@lab3:c{i}:anyone?")).starts_with("OK:"));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = scrape(&metrics);
        if text.contains("wachat_link_up{peer=\"lab2\"} 1")
            && !text.contains("wachat_link_retrying_since{peer=\"lab3\"} 0")
        {
            break text;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains("wachat_link_queue{peer=\"lab2\"} 0"), "{text}");
    assert!(text.contains("wachat_link_up{peer=\"lab3\"} 0"), "{text}");
    assert!(text.contains("wachat_link_queue{peer=\"lab3\"} 3"), "{text}");
    assert!(text.contains("wachat_link_behind{peer=\"lab3\"} 0"), "{text}");
    let out = std::process::Command::new(support::wachat_bin())
        .args(["top", &metrics, "--once", "--interval", "0.1"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.lines().any(|l| l.starts_with("links          lab2") && l.contains("linked")), "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.contains("lab3") && l.contains("retrying for") && l.contains("3 waiting, oldest")),
        "{shown}"
    );
    let info = ana.listing("INFO");
    assert!(info.contains(&"name=lab1".to_string()), "{info:?}");
}

#[test]
fn the_browser_app_opens_chats_and_rooms_of_another_server_on_a_laptop() {
    the_browser_app_opens_chats_and_rooms_of_another_server((1000, 800));
}

#[test]
fn the_browser_app_opens_chats_and_rooms_of_another_server_on_a_phone() {
    the_browser_app_opens_chats_and_rooms_of_another_server((390, 844));
}

/// A user and a room of lab2, from lab1's browser app of `width` ×
/// `height`: opened from "New chat", written to, read as text.
fn the_browser_app_opens_chats_and_rooms_of_another_server((width, height): (u32, u32)) {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = lab1_with_the_browser_app_and_lab2(root.path());
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let mut bob = lab2.server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert!(bob.request("MSG:#lab:b0:<img src=x onerror=alert(1)> in the room").starts_with("OK:"));
    drop(bob);

    let url = app_url(&lab1.server);
    let ana = support::webapp::logged_in(&url, "ana", width, height);
    // A user of another server, from "New chat". bob's connections are
    // made when they are used: the servers' --timeout of 4 s is shorter
    // than a browser's start on a busy machine.
    support::webapp::open_chat(&ana, "bob@lab2");
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    ana.type_into("#input", &format!("hi bob, from the browser{}", support::webapp::ENTER));
    let got = bob_events.next_msg();
    let f: Vec<&str> = got.splitn(7, ':').collect();
    assert_eq!((f[2], f[3], f[6]), ("ana@lab1", "bob", "hi bob, from the browser"), "{got}");
    bob_events.send(&format!("ACK:{}", f[1]));
    let mut bob = lab2.server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana@lab1:b1:<script>document.title='owned'</script> hi").starts_with("OK:"));
    ana.wait_for("[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === \"<script>document.title='owned'</script> hi\")");
    // A room of another server: joined from "New chat", what it said
    // before shown under its authors' addresses, as text. A phone shows
    // the list or a chat: back to the list first (app.css, 480 px).
    if width <= 480 {
        ana.click("#back");
    }
    support::webapp::open_chat(&ana, "#lab@lab2");
    let from = ana.wait_for(
        "[...document.querySelectorAll('#messages .msg')].find(m => m.querySelector('.text')?.textContent === '<img src=x onerror=alert(1)> in the room')?.querySelector('.from')?.textContent",
    );
    assert_eq!(from, serde_json::json!("bob@lab2"));
    assert_eq!(
        ana.exec("return document.querySelectorAll('#messages img[src=x]').length", serde_json::json!([])),
        serde_json::json!(0)
    );
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    ana.type_into("#input", &format!("hello room{}", support::webapp::ENTER));
    let got = loop {
        let got = bob_events.next_msg();
        bob_events.send(&format!("ACK:{}", got.split(':').nth(1).unwrap_or_default()));
        if got.ends_with(":hello room") {
            break got;
        }
    };
    let f: Vec<&str> = got.splitn(7, ':').collect();
    assert_eq!((f[2], f[3], f[6]), ("ana@lab1", "#lab", "hello room"), "{got}");
    // The room's own copy comes back: ana's message in the room, once.
    ana.wait_for("[...document.querySelectorAll('#messages .msg .text')].filter(e => e.textContent === 'hello room').length === 1");
    ana.wait_for("document.querySelector(\"#chat-list button[data-chat='#lab@lab2']\") !== null");
    assert_eq!(
        ana.exec("return document.title", serde_json::json!([])).as_str().map(|t| t.contains("owned")),
        Some(false)
    );
}

#[test]
fn the_console_and_the_full_screen_open_chats_and_rooms_of_another_server() {
    use support::console::{Console, connection_args};
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &[]);
    let (lab1, lab2) = (&labs[0].server, &labs[1].server);
    lab1.register(&["ana", "carl"]);
    lab2.register(&["bob"]);
    let mut bob = lab2.login_send("bob", "pw-bob");
    let mut bob_events = lab2.login_recv("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert!(bob.request("MSG:#lab:b0:said in the room before").starts_with("OK:"));

    // The console: a room and a user of lab2, by their addresses.
    let dir = root.path().join("ana-console");
    let mut ana = Console::connected(lab1, "ana", &dir, &[]);
    ana.type_line("/join #lab@lab2");
    ana.expect("#lab@lab2");
    let line = ana.expect("said in the room before");
    assert!(line.contains("bob@lab2"), "{line}");
    ana.type_line("/chat bob@lab2");
    ana.type_line("hi bob, from the console");
    let got = bob_events.next_msg();
    let f: Vec<&str> = got.splitn(7, ':').collect();
    assert_eq!((f[2], f[3], f[6]), ("ana@lab1", "bob", "hi bob, from the console"), "{got}");
    assert!(bob.request("MSG:ana@lab1:b1:back to you").starts_with("OK:"));
    let line = ana.expect("back to you");
    assert!(line.contains("bob@lab2"), "{line}");
    let _ = ana.quit("/quit");

    // The full screen: carl joins the room and sees who said what.
    let mut command = std::process::Command::new(support::wachat_bin());
    command
        .args(["connect", "--tui", "--user", "carl"])
        .args(connection_args(lab1.send, lab1.recv, &root.path().join("carl-tui")))
        .env("WACHAT_PASSWORD", "pw-carl")
        .env("RUST_LOG", "off")
        .env("TZ", "UTC")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("NO_COLOR");
    let mut carl = support::pty::Pty::spawn_sized(command, 24, 80);
    carl.wait_screen("the chat list", |s| s.rows[0].starts_with("┌ Chats "));
    carl.type_keys("/join #lab@lab2\r");
    carl.wait_screen("the room of lab2 in the list", |s| s.find("#lab@lab2").is_some());
    carl.type_keys("/chat #lab@lab2\r");
    carl.wait_screen("the room's words, under bob@lab2", |s| {
        s.find("said in the room before").is_some() && s.find("bob@lab2").is_some()
    });
    carl.type_keys("hello from the full screen\r");
    let got = bob_events.next_msg();
    let f: Vec<&str> = got.splitn(7, ':').collect();
    assert_eq!((f[2], f[3], f[6]), ("carl@lab1", "#lab", "hello from the full screen"), "{got}");
    carl.type_keys("\x03");
    assert!(carl.wait().success());
}

#[test]
fn a_peer_stores_no_more_than_its_quota_here_all_its_users_together() {
    let root = tempfile::tempdir().unwrap();
    // Each user of lab9 may store 2 KiB, lab9's users together 3 KiB.
    let flags = ["--peer-quota", "3KiB", "--user-quota", "2KiB", "--checkpoint-records", "4"];
    let (lab9, mut lab1, roster) = lab9_beside_lab1(root.path(), &[], &flags);
    let dir = lab1.dir.clone();
    lab1.server.register(&["bob"]);
    let mut bob = lab1.server.login_recv("bob", "pw-bob");
    let info = lab1.server.login_send("bob", "pw-bob").listing("INFO");
    assert!(info.contains(&"peer_quota_bytes=3072".to_string()), "{info:?}");
    let id = "00000000000000000000000000000009";
    let (link, mut r, ok) = lab9.hello(lab1.link, id);
    assert_eq!(ok, "OK:0");
    let text = "x".repeat(300);
    let mut n = 0;
    let refused = loop {
        n += 1;
        let from = if n % 2 == 0 { "ana" } else { "zoe" };
        let answer = ask(&link, &mut r, &format!("MSG:{n}:{from}@lab9:bob@lab1:m{n}:1795500000100:{text}"));
        if answer != format!("ACK:{n}") {
            break answer;
        }
        assert!(n < 50, "never refused");
    };
    // Neither user reached its own quota: lab9's did.
    assert!(n > 7, "refused after {n} messages of ~350 bytes: {refused}");
    assert!(
        refused.starts_with(&format!("KO:{n}:FULL:lab9 has stored ")) && refused.contains("(--peer-quota)"),
        "{refused}"
    );
    for i in 1..n {
        assert!(bob.next_msg().contains(&format!(":m{i}:")), "m{i}");
    }
    // Refused for now: nothing of it stored, and the link resumes before it.
    let (_, _, again) = lab9.hello(lab1.link, id);
    assert_eq!(again, format!("OK:{}", n - 1));
    // What lab9 stored is counted again at a start (from a checkpoint).
    let port = lab1.link.port();
    lab1.server.kill();
    lab1 = start("lab1", &dir, &roster, port, &flags);
    let (link, mut r, again) = lab9.hello(lab1.link, id);
    assert_eq!(again, format!("OK:{}", n - 1));
    let answer = ask(&link, &mut r, &format!("MSG:{n}:zoe@lab9:bob@lab1:m{n}:1795500000100:{text}"));
    assert!(answer.starts_with(&format!("KO:{n}:FULL:lab9 has stored ")), "{answer}");
}

/// `room_msg`'s fields with an action's id made readable: `_e…_m1` is
/// `_e*_m1` (the server's stamp in the middle).
fn action(event: &str) -> String {
    let msg = room_msg(event);
    let f: Vec<&str> = msg.splitn(4, ':').collect();
    let (kind, rest) = f[2].split_at(2);
    let target = rest.split_once('_').map_or(rest, |(_, t)| t);
    format!("{}:{}:{kind}*_{target}:{}", f[0], f[1], f[3])
}

#[test]
fn edits_reactions_and_deletions_cross_servers_typing_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &[]);
    let (lab1, lab2) = (&labs[0].server, &labs[1].server);
    let [mut ana] = lab1.logged_in(["ana"]);
    let [mut bob] = lab2.logged_in(["bob"]);
    let mut ana_events = events_1_3(lab1, "ana");
    let mut bob_events = events_1_3(lab2, "bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");

    // An action is a message of its author (§19): it crosses as one, and
    // a client of the other server applies it to the message it names.
    assert!(ana.request("MSG:bob@lab2:m1:hi").starts_with("OK:m1:"));
    assert_eq!(room_msg(&bob_events.next_msg()), "ana@lab1:bob:m1:hi");
    assert!(bob.request("MSG:ana@lab1:b1:yo").starts_with("OK:b1:"));
    assert_eq!(room_msg(&ana_events.next_msg()), "bob@lab2:ana:b1:yo");
    assert!(ana.request("EDIT:bob@lab2:m1:hi again").starts_with("OK:_e"));
    assert_eq!(action(&bob_events.next_msg()), "ana@lab1:bob:_e*_m1:✎ hi again");
    assert!(ana.request("REACT:bob@lab2:b1:👍").starts_with("OK:_r"));
    assert_eq!(action(&bob_events.next_msg()), "ana@lab1:bob:_r*_b1:👍 to: yo");
    assert!(ana.request("DELETE:bob@lab2:m1").starts_with("OK:_d"));
    assert_eq!(action(&bob_events.next_msg()), "ana@lab1:bob:_d*_m1:(message deleted)");
    // In a room of another server, both ways: the home orders the actions
    // as it orders the room's messages.
    assert!(ana.request("MSG:#lab@lab2:r1:room hi").starts_with("OK:r1:"));
    assert_eq!(room_msg(&bob_events.next_msg()), "ana@lab1:#lab:r1:room hi");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ana.listing("HISTORY:#lab@lab2:5").iter().any(|l| l.contains(":r1:")) {
        assert!(Instant::now() < deadline, "r1 never came back to lab1's copy of #lab");
        std::thread::sleep(Duration::from_millis(50)); // polling for the home's echo
    }
    assert!(ana.request("EDIT:#lab@lab2:r1:room edited").starts_with("OK:_e"));
    assert_eq!(action(&bob_events.next_msg()), "ana@lab1:#lab:_e*_r1:✎ room edited");
    assert!(bob.request("REACT:#lab:r1:❤️").starts_with("OK:_r"));
    assert_eq!(action(&ana_events.next_msg()), "bob@lab2:#lab@lab2:_r*_r1:❤️ to: room edited");
    assert!(ana.request("DELETE:#lab@lab2:r1").starts_with("OK:_d"));
    assert_eq!(action(&bob_events.next_msg()), "ana@lab1:#lab:_d*_r1:(message deleted)");

    // Typing is told on one server only: refused at once, with the
    // reason, and nothing reaches the other side.
    let refusals = [
        ("TYPING:bob@lab2", "KO:BAD_REQUEST:typing does not cross servers: bob@lab2 is a user of lab2"),
        ("TYPING:#lab@lab2", "KO:BAD_REQUEST:typing does not cross servers: #lab@lab2 is a room of lab2"),
        ("TYPING:bob@lab9", "KO:UNKNOWN_SERVER:no server named lab9 in the roster"),
        // (A call crosses: tests/federation/calls.rs.)
        ("CALL:bob@lab9:c1:HANGUP", "KO:UNKNOWN_SERVER:no server named lab9 in the roster"),
    ];
    for (request, refusal) in refusals {
        assert_eq!(ana.request(request), refusal);
    }
    // This server's own address is its user: typing to it is told here.
    lab1.register(&["cleo"]);
    let mut cleo_events = events_1_3(lab1, "cleo");
    assert_eq!(ana.request("TYPING:cleo@lab1"), "OK");
    assert_eq!(cleo_events.next_event(), "TYPING:ana:cleo");
    // bob was told none of the refused: his next event, statuses aside,
    // is ana's next word.
    assert!(ana.request("MSG:bob@lab2:m2:still here").starts_with("OK:m2:"));
    let next = loop {
        let event = bob_events.next_event();
        if !event.starts_with("STATUS:") {
            break event;
        }
    };
    assert_eq!(room_msg(&next), "ana@lab1:bob:m2:still here");

    // A server that is in no network answers an address as it always did.
    let alone = TestServer::start();
    let [mut dora] = alone.logged_in(["dora"]);
    let old = "KO:BAD_REQUEST:bad user name: '@' is not allowed in a name (only A-Z a-z 0-9 _ . -)";
    for request in ["TYPING:bob@lab2", "CALL:bob@lab2:c1:HANGUP", "TURN:bob@lab2"] {
        assert_eq!(dora.request(request), old, "{request}");
    }
}

#[test]
fn a_deleted_account_leaves_the_rooms_of_other_servers_even_one_that_was_down() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let metrics = ["--metrics", "0"];
    let mut labs = network(root.path(), &["lab1", "lab2"], &metrics);
    let (port1, port2) = (labs[0].link.port(), labs[1].link.port());
    let (dir1, dir2) = (labs[0].dir.clone(), labs[1].dir.clone());
    labs[0].server.register(&["ana", "cleo", "dora"]);
    labs[1].server.register(&["bob"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    for user in ["ana", "cleo", "dora"] {
        let mut member = labs[0].server.login_send(user, &format!("pw-{user}"));
        assert_eq!(member.request("JOIN:#lab@lab2"), "OK");
    }
    // lab2's members of #lab, once they are `want` (in sorted order).
    let members_become = |server: &TestServer, want: &[&str]| {
        let mut bob = server.login_send("bob", "pw-bob");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut members: Vec<String> = bob
                .listing("MEMBERS:#lab")
                .iter()
                .map(|m| m.split(':').next().unwrap().to_string())
                .collect();
            members.sort();
            if members == want {
                return;
            }
            assert!(Instant::now() < deadline, "#lab on lab2 has {members:?}, not {want:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    members_become(&labs[1].server, &["ana@lab1", "bob", "cleo@lab1", "dora@lab1"]);

    // ana deletes her account: lab2 forgets its member ana@lab1.
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    members_become(&labs[1].server, &["bob", "cleo@lab1", "dora@lab1"]);

    // lab2 is down when cleo deletes hers: the leave waits in lab1's
    // queue, and reaches lab2 once it is back.
    labs[1].server.kill();
    let mut cleo = labs[0].server.login_send("cleo", "pw-cleo");
    assert_eq!(cleo.request("DELACCOUNT:pw-cleo"), "OK");
    labs[1] = start("lab2", &dir2, &roster, port2, &metrics);
    members_become(&labs[1].server, &["bob", "dora@lab1"]);

    // An administrator removes dora's account, lab1 stopped: lab1 tells
    // lab2 when it starts again.
    labs[0].server.kill();
    let removed = std::process::Command::new(support::wachat_bin())
        .args(["users", "remove", "dora", "--data-dir", dir1.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    labs[0] = start("lab1", &dir1, &roster, port1, &metrics);
    members_become(&labs[1].server, &["bob"]);

    // The room's messages are queued for lab1 no more: with lab1 down,
    // what waits for it is the one direct message bob writes after them.
    labs[0].server.kill();
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    for i in 0..3 {
        assert!(bob.request(&format!("MSG:#lab:r{i}:only bob now {i}")).starts_with("OK:"));
    }
    assert!(bob.request("MSG:ana@lab1:d1:are you still there?").starts_with("OK:d1:"));
    let line = labs[1].server.wait_for_log("listening: metrics http://");
    let at = line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics").to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let queued = loop {
        let text = scrape(&at);
        let queued = text
            .lines()
            .find_map(|l| l.strip_prefix("wachat_link_queue{peer=\"lab1\"} "))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = queued.filter(|&n| n > 0) {
            break n;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(queued, 1, "only the direct message waits for lab1");
}

#[test]
fn the_browser_app_sends_no_typing_in_a_chat_of_another_server() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = lab1_with_the_browser_app_and_lab2(root.path());
    lab1.server.register(&["ana", "cleo"]);
    lab2.server.register(&["bob"]);
    let url = app_url(&lab1.server);
    let ana = support::webapp::logged_in(&url, "ana", 1000, 800);
    support::webapp::open_chat(&ana, "bob@lab2");
    let mut bob_events = events_1_3(&lab2.server, "bob");
    ana.type_into("#input", "typing to another server");
    // A TYPING:bob@lab2 would be refused (KO:BAD_REQUEST), and the app
    // takes that refusal for a server without typing: it would tell
    // nobody again. So typing in a chat of this server must still be told.
    let mut cleo_events = events_1_3(&lab1.server, "cleo");
    support::webapp::open_chat(&ana, "cleo");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        ana.type_into("#input", "x");
        match cleo_events.line_within(Duration::from_millis(500)).as_deref() {
            Some("TYPING:ana:cleo") => break,
            Some("PING") => cleo_events.send("PONG"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "cleo was never told that ana types: typing was turned off");
    }
    // And nothing reached bob.
    while let Some(line) = bob_events.line_within(Duration::from_millis(300)) {
        assert!(!line.starts_with("TYPING"), "{line}");
    }
}

#[test]
fn a_server_added_to_the_roster_of_running_servers_is_dialed_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &[]);
    let roster = root.path().join("class.csv");
    let [mut ana] = labs[0].server.logged_in(["ana"]);
    assert_eq!(
        ana.request("MSG:carl@lab3:c0:too early"),
        "KO:UNKNOWN_SERVER:no server named lab3 in the roster"
    );

    // lab3 starts with the roster of all three; its line is then added to
    // the file the running lab1 and lab2 read.
    let port3 = free_port();
    let line3 = roster_line(&roster, "lab3", port3) + "\n";
    let with_lab3 = format!("{}{line3}", std::fs::read_to_string(&roster).unwrap());
    let roster3 = root.path().join("class3.csv");
    std::fs::write(&roster3, &with_lab3).unwrap();
    let dir3 = root.path().join("lab3");
    std::fs::create_dir_all(&dir3).unwrap();
    let lab3 = start("lab3", &dir3, &roster3, port3, &[]);
    lab3.server.register(&["carl"]);
    let mut carl = lab3.server.login_recv("carl", "pw-carl");
    std::fs::OpenOptions::new().append(true).open(&roster).unwrap().write_all(line3.as_bytes()).unwrap();

    // The first message lab1 takes for lab3 (the roster is read again
    // within a second) reaches carl within 15 s of its OK.
    let deadline = Instant::now() + Duration::from_secs(5);
    let ok = loop {
        let ok = ana.request("MSG:carl@lab3:c1:hi carl, from lab1");
        if ok.starts_with("OK:c1:") {
            break ok;
        }
        assert!(Instant::now() < deadline, "lab1 never read the new roster: {ok}");
        std::thread::sleep(Duration::from_millis(100)); // the roster is looked at each second
    };
    let sent = Instant::now();
    let ts = ok.strip_prefix("OK:c1:").unwrap();
    assert_eq!(carl.next_msg(), format!("MSG:1:ana@lab1:carl:c1:{ts}:hi carl, from lab1"));
    assert!(sent.elapsed() < Duration::from_secs(15), "carl got it {:?} after the OK", sent.elapsed());

    // lab2 dials it too, and lab3 them back.
    let [mut bob] = labs[1].server.logged_in(["bob"]);
    assert!(bob.request("MSG:carl@lab3:b1:and from lab2").starts_with("OK:b1:"));
    assert_eq!(without_ts(&carl.next_msg()), "MSG:2:bob@lab2:carl:b1:<ts>:and from lab2");
    let mut ana_events = labs[0].server.login_recv("ana", "pw-ana");
    let mut carl_send = lab3.server.login_send("carl", "pw-carl");
    assert!(carl_send.request("MSG:ana@lab1:k1:back to lab1").starts_with("OK:k1:"));
    assert_eq!(without_ts(&ana_events.next_msg()), "MSG:1:carl@lab3:ana:k1:<ts>:back to lab1");

    // Its line taken out again: lab1's dialer for it ends, and lab3 is
    // unknown again.
    std::fs::write(&roster, with_lab3.replace(&line3, "")).unwrap();
    labs[0].server.wait_for_log("link to lab3: no longer in the roster");
    assert_eq!(ana.request("MSG:carl@lab3:c2:gone?"), "KO:UNKNOWN_SERVER:no server named lab3 in the roster");
}

/// A roster line of the earlier form (`name,host,port,secret`) links with
/// nobody, and the servers say, in words, what to add: lab1 as it dials
/// lab2, lab1 at its start for its own line; a hello claiming lab2 is
/// refused with the same words. The link key is the owner's only (0600).
#[test]
fn an_old_roster_line_links_with_nobody_and_says_what_to_add() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let lab2_port = free_port();
    std::fs::write(&roster, format!("lab1,127.0.0.1,1,s-lab1\nlab2,127.0.0.1,{lab2_port},s-lab2\n")).unwrap();
    let dir = root.path().join("lab1");
    let lab1 = start("lab1", &dir, &roster, 0, &[]);
    let own = lab1.server.wait_for_log("the roster's line for lab1 has no fingerprint");
    assert!(own.contains("wachat roster-line"), "{own}");
    let mode = std::fs::metadata(dir.join("link-key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "link-key.pem is the owner's only");
    let [mut ana] = lab1.server.logged_in(["ana"]);
    assert!(ana.request("MSG:bob@lab2:o1:anyone?").starts_with("OK:o1:"));
    let said = lab1.server.wait_for_log("the roster's line for lab2 has no fingerprint");
    assert!(said.contains("lab2 runs `wachat roster-line`"), "{said}");
    let key = LinkKey::load_or_make(&root.path().join("someone")).unwrap();
    let lab1_print = LinkKey::load_or_make(&dir).unwrap().fingerprint;
    let link = tls_to(lab1.link, &key, &lab1_print).unwrap();
    let (_, _, answer) =
        hello_on(&link, "HELLO:1.3:lab2:lab1:-:0000000000000000:00000000000000000000000000000002");
    assert!(answer.starts_with("KO:AUTH_FAILED:the roster's line for lab2 has no fingerprint"), "{answer}");
}
