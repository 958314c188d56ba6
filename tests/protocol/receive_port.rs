//! The receive port (protocol §5–§7): inbox replay, live events, sequence
//! numbers, cumulative ACK, DELIVERED/READ states, replacement, timeouts.

use super::support;

use support::{TestServer, without_ts};

fn sent_ok(reply: String) -> u64 {
    let fields: Vec<&str> = reply.split(':').collect();
    assert_eq!(fields[0], "OK", "{reply}");
    fields[2].parse().unwrap()
}

#[test]
fn offline_recipient_gets_the_inbox_at_login_and_an_offline_sender_gets_delivered_later() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let ts1 = sent_ok(ana.request("MSG:bob:m1:hola"));
    sent_ok(ana.request("MSG:bob:m2:dos\\nlíneas"));
    drop(ana); // ana is offline everywhere from now on

    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(bob.line(), format!("MSG:1:ana:bob:m1:{ts1}:hola"));
    assert_eq!(without_ts(&bob.line()), "MSG:2:ana:bob:m2:<ts>:dos\\nlíneas");
    bob.send("ACK:2");

    // ana logs in later: both STATUS events wait in her inbox.
    let mut ana_events = server.login_recv("ana", "pw-ana");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:2:bob:m2:DELIVERED:<ts>");
    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:5");
    assert!(history.iter().all(|line| line.contains(":DELIVERED:")), "{history:?}");
}

#[test]
fn live_events_status_and_cumulative_read() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana_events = server.login_recv("ana", "pw-ana");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    // Both are in #general: ana hears that bob came online.
    assert_eq!(ana_events.line(), "JOINED:bob");
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    for i in 1..=3 {
        sent_ok(ana.request(&format!("MSG:bob:m{i}:text {i}")));
        assert_eq!(without_ts(&bob_events.line()), format!("MSG:{i}:ana:bob:m{i}:<ts>:text {i}"));
    }
    bob_events.send("ACK:3");
    for i in 1..=3 {
        assert_eq!(without_ts(&ana_events.line()), format!("STATUS:{i}:bob:m{i}:DELIVERED:<ts>"));
    }
    // READ m2 covers m1 too: one STATUS, cumulative.
    assert_eq!(bob.request("READ:ana:m2"), "OK");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:4:bob:m2:READ:<ts>");
    let states: Vec<String> =
        ana.listing("HISTORY:bob:10").iter().map(|l| l.split(':').nth(4).unwrap().to_string()).collect();
    assert_eq!(states, ["READ", "READ", "DELIVERED"]);
    // Reading an older message again moves nothing and sends nothing.
    assert_eq!(bob.request("READ:ana:m1"), "OK");
    assert_eq!(bob.request("READ:ana:m3"), "OK");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:5:bob:m3:READ:<ts>");
    // bob's unread count follows his READs.
    assert_eq!(bob.listing("CHATS"), ["ana:0"]);
}

#[test]
fn unacknowledged_events_come_again_and_acknowledged_ones_do_not() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana_events = server.login_recv("ana", "pw-ana");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 1..=4 {
        sent_ok(ana.request(&format!("MSG:bob:m{i}:n{i}")));
    }
    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(ana_events.line(), "JOINED:bob");
    assert_eq!(bob.events(4).len(), 4);
    bob.send("ACK:2");
    // ACK has no reply; the DELIVERED states prove the server took it.
    assert_eq!(without_ts(&ana_events.line()), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:2:bob:m2:DELIVERED:<ts>");
    drop(bob);
    let mut bob = server.login_recv("bob", "pw-bob");
    let again: Vec<String> = bob.events(2).iter().map(|e| without_ts(e)).collect();
    assert_eq!(again, ["MSG:3:ana:bob:m3:<ts>:n3", "MSG:4:ana:bob:m4:<ts>:n4"]);
    // An ACK above the last seq sent counts as the last one sent.
    bob.send("ACK:1000");
    sent_ok(ana.request("MSG:bob:m5:n5"));
    assert_eq!(without_ts(&bob.line()), "MSG:5:ana:bob:m5:<ts>:n5", "seq 5 was not swallowed");
}

#[test]
fn a_second_receive_login_replaces_the_first() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut first = server.login_recv("bob", "pw-bob");
    let mut second = server.login_recv("bob", "pw-bob");
    assert_eq!(first.line(), "BYE:REPLACED");
    first.expect_closed();
    let mut ana = server.login_send("ana", "pw-ana");
    sent_ok(ana.request("MSG:bob:m1:to the new one"));
    assert_eq!(without_ts(&second.line()), "MSG:1:ana:bob:m1:<ts>:to the new one");
    assert_eq!(ana.listing("USERS"), ["bob"], "still online once");
}

#[test]
fn receive_port_login_errors() {
    let server = TestServer::start();
    server.register(&["bob"]);
    let mut c = server.recv_conn();
    assert!(c.request("ACK:1").starts_with("KO:AUTH_REQUIRED:"));
    c.expect_closed();
    let mut c = server.recv_conn();
    assert!(c.request("LOGIN:bob").starts_with("KO:BAD_REQUEST:"));
    assert!(c.request("LOGIN:bob:nope").starts_with("KO:AUTH_FAILED:"));
    c.expect_closed();
    // REGISTER works on the receive port too.
    let mut c = server.recv_conn();
    assert_eq!(c.request("REGISTER:carl::pw-carl"), "OK:carl");
}

#[test]
fn unknown_frames_are_ignored_and_too_long_ones_close() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    bob.send("HELLO");
    bob.send("ACK:x");
    bob.send_raw(b"\xff\n");
    let mut ana = server.login_send("ana", "pw-ana");
    sent_ok(ana.request("MSG:bob:m1:still here"));
    assert_eq!(without_ts(&bob.line()), "MSG:1:ana:bob:m1:<ts>:still here");
    bob.send_raw(&vec![b'A'; 17_000]);
    bob.expect_closed();
}

#[test]
fn ping_pong_keeps_a_quiet_client_and_silence_ends_it() {
    let server = TestServer::start_with(&["--timeout", "2"]);
    server.register(&["bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    let started = std::time::Instant::now();
    // Answer two PINGs: still connected after more than one timeout.
    for _ in 0..2 {
        assert_eq!(bob.line(), "PING");
        bob.send("PONG");
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    // Now stay silent: PING, then BYE:TIMEOUT and the close.
    assert_eq!(bob.line(), "PING");
    assert_eq!(bob.line(), "BYE:TIMEOUT");
    bob.expect_closed();
    // Before the login too, the receive port says BYE:TIMEOUT.
    let mut silent = server.recv_conn();
    assert_eq!(silent.line(), "BYE:TIMEOUT");
    silent.expect_closed();
}

#[test]
fn sigterm_says_bye_and_exits_zero() {
    let mut server = TestServer::start();
    server.register(&["bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    let status = server.terminate();
    assert_eq!(bob.line(), "BYE:SHUTDOWN");
    bob.expect_closed();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_server_serves_until_sigterm_whatever_its_rust_log() {
    // LAB part 5 starts its server with RUST_LOG=warn; most users set none.
    for level in [Some("warn"), Some("error"), Some("off"), None] {
        let mut server = TestServer::start_with_rust_log(level, &[]);
        server.register(&["ana", "bob"]);
        let mut bob = server.login_recv("bob", "pw-bob");
        let mut ana = server.login_send("ana", "pw-ana");
        assert!(ana.request("MSG:bob:m1:still here").starts_with("OK:m1:"), "RUST_LOG={level:?}");
        assert!(without_ts(&bob.line()).starts_with("MSG:1:ana:bob:m1:"), "RUST_LOG={level:?}");
        assert!(server.is_running(), "RUST_LOG={level:?}: the server exited while serving");
        let status = server.terminate();
        assert_eq!(bob.line(), "BYE:SHUTDOWN", "RUST_LOG={level:?}");
        assert!(status.success(), "RUST_LOG={level:?}: {status:?}");
    }
}

#[test]
fn messages_to_yourself_work_like_any_other() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let mut events = server.login_recv("ana", "pw-ana");
    let mut ana = server.login_send("ana", "pw-ana");
    sent_ok(ana.request("MSG:ana:note1:buy milk"));
    assert_eq!(without_ts(&events.line()), "MSG:1:ana:ana:note1:<ts>:buy milk");
    events.send("ACK:1");
    assert_eq!(without_ts(&events.line()), "STATUS:2:ana:note1:DELIVERED:<ts>");
}

#[test]
fn a_receiver_that_stops_reading_gets_bye_slow_and_loses_nothing() {
    // Far longer than the burst takes, even on a loaded machine (1 s
    // quiet, 20 s at a load of 35): bob is cut off by the limit of what
    // may wait for him, never pinged nor timed out for his silence.
    let server = TestServer::start_with(&["--max-pending", "65536", "--rate", "0", "--timeout", "300"]);
    server.register(&["ana", "bob"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    // bob stops reading. ana sends far more than the kernel buffers hold:
    // her OKs keep coming, she is not slowed down by bob.
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "x".repeat(4000);
    let total = 3000;
    ana.send_burst("bob", &text, total);
    server.wait_for_log("bob: receiver too slow");
    // Now bob reads: some events, whole, then BYE:SLOW, then the end.
    let lines = bob.read_until_bye("BYE:SLOW");
    assert!(lines.iter().all(|l| l.starts_with("MSG:") && l.ends_with(&text)));
    assert!(lines.len() < total, "bob was cut off before the end");
    // Every message is still in bob's inbox, in order.
    let mut bob = server.login_recv("bob", "pw-bob");
    for i in 1..=total {
        let event = bob.line();
        assert!(event.starts_with(&format!("MSG:{i}:ana:bob:s{}:", i - 1)), "{}", &event[..40]);
        if i % 500 == 0 {
            bob.send(&format!("ACK:{i}"));
        }
    }
}
