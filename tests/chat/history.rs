//! `HISTORY` a page at a time (protocol 1.2, docs/PROTOCOL.md §4, "Paging
//! back") on a single server, from raw sockets: a conversation of any
//! length read whole, in the order stored, by a device that holds none
//! of it; cursors that are not one's own refused; the rate slowing a
//! reader down, never cutting it short.

use super::support;

use support::TestServer;
use support::console::{Console, connection_args, run_wachat};
use support::paging::{WRITE_FAST, interleaved, interleaved_from, page, read_back, who_and_id};

/// Messages in the long chat: past the 1,000 one `HISTORY` lists.
const LONG: usize = 1_500;

#[test]
fn a_chat_of_1500_is_read_back_whole_and_in_order_by_a_new_connection() {
    let server = TestServer::start_with(&WRITE_FAST);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    let sent = interleaved(("ana", &mut ana), ("bob", &mut bob), LONG);
    let mut fresh = server.login_send("ana", "pw-ana");
    for limit in [100, 1000, 7] {
        let (lines, pages) = read_back(&mut fresh, "bob", limit);
        let got: Vec<(String, String)> = lines.iter().map(|l| who_and_id(l)).collect();
        assert_eq!(got.len(), LONG, "pages of {limit}");
        assert!(got == sent, "pages of {limit}: every message once, in the order stored");
        assert_eq!(pages, LONG.div_ceil(limit));
    }
    // Bob reads the same conversation, with the states of his side.
    let (lines, _) = read_back(&mut bob, "ana", 1000);
    assert_eq!(lines.iter().map(|l| who_and_id(l)).collect::<Vec<_>>(), sent);
    // Version 1's forms are as they were: the newest 1,000, `OK:<n>`.
    let (newest, cursor) = page(&mut fresh, "HISTORY:bob:1000:*");
    assert_eq!(fresh.listing("HISTORY:bob:1000"), newest);
    assert_eq!(fresh.listing("HISTORY:bob:99999"), newest);
    let (older, none) = page(&mut fresh, &format!("HISTORY:bob:1000:{}", cursor.unwrap()));
    assert_eq!((older.len(), none), (LONG - 1000, None));
    let (none, cursor) = page(&mut fresh, "HISTORY:bob:0:*");
    assert!(none.is_empty() && cursor.is_some(), "nothing, and where the newest is");
}

#[test]
fn messages_sent_while_paging_leave_the_pages_whole() {
    let server = TestServer::start();
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    let mut sent = interleaved(("ana", &mut ana), ("bob", &mut bob), 300);
    let (newest, cursor) = page(&mut ana, "HISTORY:bob:100:*");
    // More arrive: the next page goes on from where the first ended.
    let later = interleaved_from(("ana", &mut ana), ("bob", &mut bob), 300, 40);
    let mut older = Vec::new();
    let mut start = cursor;
    while let Some(at) = start {
        let (lines, cursor) = page(&mut ana, &format!("HISTORY:bob:100:{at}"));
        older.splice(0..0, lines);
        start = cursor;
    }
    let got: Vec<_> = older.iter().chain(&newest).map(|l| who_and_id(l)).collect();
    assert_eq!(got, sent);
    sent.extend(later);
    let (all, _) = read_back(&mut ana, "bob", 1000);
    assert_eq!(all.iter().map(|l| who_and_id(l)).collect::<Vec<_>>(), sent);
}

#[test]
fn a_cursor_reads_only_the_chat_it_came_from() {
    let server = TestServer::start();
    let [mut ana, mut bob, mut carl] = server.logged_in(["ana", "bob", "carl"]);
    interleaved(("ana", &mut ana), ("bob", &mut bob), 30);
    for conn in [&mut ana, &mut carl] {
        assert_eq!(conn.request("JOIN:#tea"), "OK");
    }
    interleaved(("ana", &mut ana), ("carl", &mut carl), 30);
    assert!(carl.request("MSG:#tea:t1:in the room").starts_with("OK:t1:"));
    assert!(carl.request("MSG:#tea:t2:again").starts_with("OK:t2:"));
    let (_, Some(bob_cursor)) = page(&mut ana, "HISTORY:bob:10:*") else { panic!("more than 10") };
    let (_, Some(room_cursor)) = page(&mut ana, "HISTORY:#tea:1:*") else { panic!("two") };
    let refused = |conn: &mut support::Conn, request: &str| {
        let reply = conn.request(request);
        assert!(reply.starts_with("KO:BAD_REQUEST:"), "{request}: {reply}");
        assert!(reply.contains("start again at *"), "{reply}");
    };
    // Carl may not read ana's chat with bob through its cursor, nor ana
    // her chat with carl or the room.
    refused(&mut carl, &format!("HISTORY:ana:10:{bob_cursor}"));
    refused(&mut ana, &format!("HISTORY:carl:10:{bob_cursor}"));
    refused(&mut ana, &format!("HISTORY:#tea:10:{bob_cursor}"));
    refused(&mut ana, &format!("HISTORY:bob:10:{room_cursor}"));
    // Nor from inside a record, nor from what is not there.
    let inside = bob_cursor.parse::<u64>().unwrap() + 3;
    refused(&mut ana, &format!("HISTORY:bob:10:{inside}"));
    refused(&mut ana, "HISTORY:bob:10:99999999999");
    refused(&mut ana, "HISTORY:bob:10:18446744073709551615");
    let bad = ana.request("HISTORY:bob:10:next");
    assert!(bad.starts_with("KO:BAD_REQUEST:a page starts at *"), "{bad}");
    // The connection goes on; the room's own cursor reads the room.
    let (lines, none) = page(&mut carl, &format!("HISTORY:#tea:10:{room_cursor}"));
    assert_eq!((lines.len(), none), (1, None));
    assert!(lines[0].starts_with("carl:#tea:t1:"), "{lines:?}");
}

#[test]
fn wachat_history_reads_past_1000_and_from_a_cursor_even_at_a_strict_rate() {
    // Five requests a second, ten at once: a page of 1,000 costs the most
    // a request may (the burst), so the client waits and asks again.
    let mut server = TestServer::start_with(&WRITE_FAST);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    interleaved(("ana", &mut ana), ("bob", &mut bob), LONG);
    drop((ana, bob));
    server.restart(&["--rate", "5"]);
    let dir = tempfile::tempdir().unwrap();
    let history = |extra: &[&str]| {
        let mut args: Vec<String> = ["history", "--user", "ana", "--with", "bob"].map(String::from).to_vec();
        args.extend(connection_args(server.send, server.recv, dir.path()));
        args.extend(extra.iter().map(|a| a.to_string()));
        let out = run_wachat(&args, "pw-ana", "");
        assert!(out.status.success(), "{}", out.stderr);
        (out.stdout, out.stderr)
    };
    let texts = |out: &str| -> Vec<String> {
        out.lines().filter(|l| l.contains("question") || l.contains("reply")).map(|l| l.to_string()).collect()
    };
    // Version 1's HISTORY first, while the bucket is full: as before, one
    // request, and no note (the paged reads after it wait for the rate).
    let (newest, note) = history(&["--limit", "1000"]);
    let newest = texts(&newest);
    assert!(!note.contains("--before"), "{note}");
    let (all, note) = history(&["--limit", "1500"]);
    let all = texts(&all);
    assert_eq!(all.len(), LONG, "every message");
    for (i, line) in all.iter().enumerate() {
        assert!(line.contains(&format!(": {}", support::paging::text_of(i))), "message {i} in order: {line}");
    }
    assert!(!note.contains("--before"), "the start was reached: {note}");
    assert_eq!(newest, all[500..], "version 1's HISTORY, as before");
    let (part, note) = history(&["--limit", "1200"]);
    assert_eq!(texts(&part), all[300..]);
    let cursor = note.rsplit("--before ").next().unwrap().trim().to_string();
    assert!(note.contains("older messages: wachat history --with bob --before "), "{note}");
    let (rest, note) = history(&["--limit", "1000", "--before", &cursor]);
    assert_eq!(texts(&rest), all[..300], "the page before, from its cursor");
    assert!(!note.contains("--before"), "{note}");
}

#[test]
fn a_new_console_shows_1500_messages_with_history() {
    let server = TestServer::start_with(&WRITE_FAST);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    interleaved(("ana", &mut ana), ("bob", &mut bob), LONG);
    // A console on a new device: its local log holds none of it.
    let dir = tempfile::tempdir().unwrap();
    let mut console = Console::connected(&server, "ana", dir.path(), &[]);
    // Bob's messages are its inbox: they come first, each said as it comes.
    console.expect("[750] bob: question 1494?");
    console.type_line("/chat bob");
    console.expect("my reply 1499");
    console.type_line("/history 1500");
    console.expect("question 0?");
    console.expect("my reply 1499");
    let from = console.seen.iter().rposition(|l| l.contains("question 0?")).unwrap();
    let shown: Vec<&String> =
        console.seen[from..].iter().filter(|l| l.contains("question ") || l.contains("my reply ")).collect();
    assert_eq!(shown.len(), LONG);
    for (i, line) in shown.iter().enumerate() {
        assert!(line.contains(&support::paging::text_of(i)), "message {i} in order: {line}");
    }
}
