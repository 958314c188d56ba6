//! What survives a crash: every `OK`ed message, states, inboxes and sequence
//! numbers across SIGKILL and restart; torn last lines; corrupt files.

use super::support;

use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Command, Stdio};

use support::{READ_TIMEOUT, TestServer, wachat_bin, wait_with_timeout, without_ts};

#[test]
fn a_restart_in_the_middle_of_a_conversation_loses_nothing() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana_events = server.login_recv("ana", "pw-ana");
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 1..=3 {
        assert!(ana.request(&format!("MSG:bob:m{i}:n{i}")).starts_with("OK:"));
    }
    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(ana_events.line(), "JOINED:bob");
    assert_eq!(bob.events(3).len(), 3);
    bob.send("ACK:1");
    // The STATUS proves the batch holding the ACK is on disk.
    assert_eq!(without_ts(&ana_events.line()), "STATUS:1:bob:m1:DELIVERED:<ts>");

    server.restart(&[]); // SIGKILL, then start again on the same files

    let mut bob = server.login_recv("bob", "pw-bob");
    let replay: Vec<String> = bob.events(2).iter().map(|e| without_ts(e)).collect();
    assert_eq!(replay, ["MSG:2:ana:bob:m2:<ts>:n2", "MSG:3:ana:bob:m3:<ts>:n3"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m4:after the crash").starts_with("OK:"));
    assert_eq!(without_ts(&bob.line()), "MSG:4:ana:bob:m4:<ts>:after the crash", "seq not reused");
    let states: Vec<String> =
        ana.listing("HISTORY:bob:10").iter().map(|l| l.split(':').nth(4).unwrap().to_string()).collect();
    assert_eq!(states, ["DELIVERED", "RECEIVED", "RECEIVED", "RECEIVED"]);
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert_eq!(bob_send.listing("CHATS"), ["ana:4"]);
    // ana's own inbox kept its STATUS numbering too.
    let mut ana_events = server.login_recv("ana", "pw-ana");
    assert_eq!(without_ts(&ana_events.line()), "STATUS:1:bob:m1:DELIVERED:<ts>");
}

#[test]
fn every_ok_survives_sigkill() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let burst: String = (0..300).map(|i| format!("MSG:bob:b{i}:burst {i}\n")).collect();
    ana.send_raw(burst.as_bytes());
    let oks: Vec<String> = (0..300).map(|_| ana.line()).collect();
    assert!(oks.iter().all(|ok| ok.starts_with("OK:b")));
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    let history = ana.listing("HISTORY:bob:1000");
    assert_eq!(history.len(), 300);
    for (i, (line, ok)) in history.iter().zip(&oks).enumerate() {
        let ts = ok.rsplit(':').next().unwrap();
        assert_eq!(*line, format!("ana:bob:b{i}:{ts}:RECEIVED:burst {i}"));
    }
}

#[test]
fn resent_ids_are_recognised_after_a_restart() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let first = ana.request("MSG:bob:once:hello");
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("MSG:bob:once:hello again?"), first);
    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(without_ts(&bob.line()), "MSG:1:ana:bob:once:<ts>:hello");
    bob.send("ACK:1");
    // Nothing else was queued: the next event bob gets is a new message.
    assert!(ana.request("MSG:bob:next:x").starts_with("OK:next:"));
    assert_eq!(without_ts(&bob.line()), "MSG:2:ana:bob:next:<ts>:x");
}

fn append(path: &std::path::Path, bytes: &str) {
    OpenOptions::new().append(true).open(path).unwrap().write_all(bytes.as_bytes()).unwrap();
}

/// The newest segment of the log of a data directory.
fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> =
        std::fs::read_dir(dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    segments.pop().unwrap()
}

#[test]
fn a_torn_last_line_in_any_file_is_dropped_with_a_warning() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:kept").starts_with("OK:"));
    assert_eq!(ana.request("JOIN:#club"), "OK");
    server.kill();
    let dir = server.data_dir.clone();
    let segment = last_segment(&dir);
    // What a crash in the middle of a write() leaves: no final newline.
    append(&dir.join("users.csv"), "carl,,$argon2id$v=19$m=8,t=2");
    append(&segment, "ACK,1700000000000,bob,,,,1\nMSG,1700000000000,ana,bob,m2,,1,1,half a mess");
    server.restart(&[]);
    let log = server.log().join("\n");
    let segment_name = segment.file_name().unwrap().to_string_lossy().to_string();
    for file in ["users.csv", &segment_name] {
        assert!(log.contains(&format!("{file}: dropped a torn last line")), "{file}: {log}");
    }
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 1);
    assert_eq!(ana.listing("ROOMS"), ["#club:1", "#general:2"]);
    assert!(ana.request("MSG:carl:x:y").starts_with("KO:UNKNOWN_USER:"));
    // The files are whole again: a new line appended after the repair reads back.
    assert!(ana.request("MSG:bob:m3:after repair").starts_with("OK:"));
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("HISTORY:bob:10").len(), 2);
    let mut bob = server.login_recv("bob", "pw-bob");
    // The whole ACK before the torn line was kept: m1 is acknowledged.
    assert_eq!(without_ts(&bob.line()), "MSG:2:ana:bob:m3:<ts>:after repair");
}

#[test]
fn blank_lines_are_passed_over_with_a_warning() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:one").starts_with("OK:"));
    server.kill();
    let users = server.data_dir.join("users.csv");
    let text = std::fs::read_to_string(&users).unwrap();
    let (first, rest) = text.split_once("\nbob,").unwrap();
    std::fs::write(&users, format!("{first}\n\nbob,{rest}")).unwrap();
    append(&last_segment(&server.data_dir), "\n");
    server.restart(&[]);
    let log = server.log().join("\n");
    assert!(log.contains("users.csv: skipped 1 blank line(s) before line 4"), "{log}");
    assert!(log.contains("skipped a blank line at position"), "{log}");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 1);
    assert!(bob.request("MSG:ana:b1:after").starts_with("OK:"));
    server.restart(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 2);
}

/// Runs `wachat serve` on `dir`, expecting it to refuse to start.
fn refused_start(dir: &std::path::Path) -> String {
    let mut child = Command::new(wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--data-dir"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, READ_TIMEOUT);
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    stderr
}

#[test]
fn a_corrupt_line_in_the_middle_stops_the_start_with_file_and_line() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:one").starts_with("OK:"));
    server.kill();
    let segment = last_segment(&server.data_dir);
    let good = std::fs::read_to_string(&segment).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let bad =
        format!("{}\nMSG,notatime,ana,bob,m2,,1,1,x\n{}\n", lines[..3].join("\n"), lines[3..].join("\n"));
    std::fs::write(&segment, bad).unwrap();
    let err = refused_start(&server.data_dir);
    let name = segment.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.contains(&format!("{name} line 4: position")), "{err}");
    assert!(err.contains("\"notatime\" is not a number"), "{err}");
    // Nothing was changed by the refused start.
    assert!(std::fs::read_to_string(&segment).unwrap().contains("notatime"));
}

#[test]
fn a_file_with_the_wrong_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.csv"), "who,what\n").unwrap();
    let err = refused_start(dir.path());
    assert!(err.contains("users.csv line 1: expected the header"), "{err}");
}

#[test]
fn a_second_server_on_the_same_data_is_refused() {
    let server = TestServer::start();
    let err = refused_start(&server.data_dir);
    assert!(err.contains("is in use by a running wachat server (pid "), "{err}");
}

#[test]
fn a_full_disk_refuses_writes_keeps_reads_and_keeps_no_refused_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_with_file_limit(dir.path(), 8 * 1024, &[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let text = "x".repeat(300);
    let mut stored = Vec::new();
    // Messages are stored until the limit; the one that meets it gets no
    // answer while the disk refuses it (a KO would have to mean "not
    // stored", and it may still be, once there is room).
    loop {
        let id = format!("m{}", stored.len());
        ana.send(&format!("MSG:bob:{id}:{text}"));
        match ana.try_line() {
            Some(reply) if reply.starts_with("OK:") => stored.push(id),
            Some(reply) => panic!("{id}: {reply}"),
            None => break,
        }
        assert!(stored.len() < 100, "the file limit was never hit");
    }
    assert!(stored.len() >= 5, "some messages fit first");
    // Later writes are refused at once, not stored; reads still work and
    // show exactly what was stored.
    let mut other = server.login_send("ana", "pw-ana");
    assert_eq!(
        other.request("MSG:bob:later:x"),
        "KO:INTERNAL:the server cannot write to its disk; try later"
    );
    assert_eq!(other.listing("HISTORY:bob:1000").len(), stored.len());
    assert_eq!(other.listing("ROOMS"), ["#general:2"]);
    // After a restart with room on the disk: the same, and writes work again.
    server.kill();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let mut ana = server.login_send("ana", "pw-ana");
    let ids: Vec<String> =
        ana.listing("HISTORY:bob:1000").iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect();
    assert_eq!(ids, stored, "no refused message came back");
    assert!(ana.request(&format!("MSG:bob:m{}:{text}", stored.len())).starts_with("OK:"));
    server.kill();
}
