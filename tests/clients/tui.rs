//! `wachat connect --tui` end to end: the real program on an 80×24
//! pseudo-terminal against a real server, its screen read through a
//! terminal emulator (`support::pty::Pty::wait_screen`), the other side a
//! raw protocol client that acknowledges and reads like any client would.

use super::support;

use std::path::Path;
use std::process::Command;

use support::console::{connection_args, run_wachat};
use support::pty::{Pty, Screen};
use support::{Conn, TestServer, wachat_bin};

/// `wachat connect --tui --user <user>` on an 80×24 terminal, in English
/// and UTC, password `pw-<user>`.
fn tui(server: &TestServer, user: &str, dir: &Path, env: &[(&str, &str)]) -> Pty {
    let mut command = Command::new(wachat_bin());
    command
        .args(["connect", "--tui", "--user", user])
        .args(connection_args(server.send, server.recv, dir))
        .env("WACHAT_PASSWORD", format!("pw-{user}"))
        .env("RUST_LOG", "off")
        .env("TZ", "UTC")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("NO_COLOR");
    for (key, value) in env {
        command.env(key, value);
    }
    Pty::spawn_sized(command, 24, 80)
}

/// The next event on a raw receive connection that starts with `prefix`,
/// answering `PING`s and skipping the rest.
fn next_event(conn: &mut Conn, prefix: &str) -> String {
    loop {
        let line = conn.line();
        if line.starts_with(prefix) {
            return line;
        }
        if line == "PING" {
            conn.send("PONG");
        }
    }
}

/// The conversation pane's part of a row (right of the chat list).
fn right(row: &str) -> String {
    row.chars().skip(24).collect()
}

#[test]
fn receive_open_reply_and_watch_the_tick_turn_to_read() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob_send = server.login_send("bob", "pw-bob");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b1:hola ana, ¿vienes hoy?").starts_with("OK:b1:"));

    let mut ana = tui(&server, "ana", dir.path(), &[]);
    // The chat list: bob, one unread, his words as the preview.
    // bob is online (his receive port is logged in): a dot.
    let screen = ana.wait_screen("bob's chat, online, with 1 unread", |s| {
        s.rows[1].starts_with("│● bob ")
            && s.rows.get(2).is_some_and(|r| r.starts_with("│  hola ana, ¿vien") && r.contains(" 1 │"))
    });
    assert!(screen.alternate, "a full screen, on the alternate screen");
    assert!(screen.rows[0].starts_with("┌ Chats "), "{}", screen.text());
    assert!(screen.rows[23].starts_with(" ● connected │ ana @ 127.0.0.1:"), "{}", screen.text());

    // Enter opens it: the message on the left, the badge gone, and bob's
    // client hears it was read.
    ana.type_keys("\r");
    let screen = ana.wait_screen("the conversation", |s| {
        s.rows[0].contains("┌ bob ")
            && s.find("hola ana, ¿vienes hoy?").is_some_and(|(_, r)| r.contains("││"))
    });
    assert!(!screen.rows[2].contains(" 1 │"), "{}", screen.text());
    // ✓✓ first, then read; or read alone, when ana's READ (send
    // connection) reaches the server before her client's ACK (receive
    // connection): states only move forward, and read covers delivered.
    let first = next_event(&mut bob, "STATUS:");
    let read = match first.starts_with("STATUS:1:ana:b1:DELIVERED:") {
        true => next_event(&mut bob, "STATUS:"),
        false => first,
    };
    assert!(read.contains(":ana:b1:READ:"), "{read}");

    // A reply of two lines (Alt+Enter), and a command through the same keys.
    ana.type_keys("hola bob\x1b\r¿a las 8?\r");
    let msg = next_event(&mut bob, "MSG:");
    let fields: Vec<&str> = msg.splitn(7, ':').collect();
    assert_eq!((fields[2], fields[3], fields[6]), ("ana", "bob", "hola bob\\n¿a las 8?"), "{msg}");
    let (seq, id) = (fields[1].to_string(), fields[4].to_string());
    let row_of = |s: &Screen| s.find("¿a las 8?").map(|(y, r)| (y, right(r)));
    let screen =
        ana.wait_screen("the reply with ✓", |s| row_of(s).is_some_and(|(_, r)| r.ends_with(" ✓│")));
    let (y, _) = row_of(&screen).unwrap();
    assert!(screen.rows[y - 1].contains("hola bob"), "{}", screen.text());

    // bob's client stores it: ✓✓, on the same row.
    bob.send(&format!("ACK:{seq}"));
    let screen = ana.wait_screen("✓✓", |s| row_of(s).is_some_and(|(_, r)| r.ends_with(" ✓✓│")));
    assert_eq!(row_of(&screen).unwrap().0, y, "the tick changes in place");

    // bob reads it: ✓✓ read, still on the same row, and in the chat list.
    assert_eq!(bob_send.request(&format!("READ:ana:{id}")), "OK");
    let screen = ana.wait_screen("✓✓ read", |s| row_of(s).is_some_and(|(_, r)| r.ends_with(" ✓✓ read│")));
    assert_eq!(row_of(&screen).unwrap().0, y, "the tick changes in place");
    assert!(screen.rows[2].starts_with("│  ✓✓ read hola bob"), "{}", screen.text());

    // A message in another chat: a badge and the bell; the open chat stays.
    let bells = screen.bells;
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(carl.request("MSG:ana:c1:¿estás?").starts_with("OK:c1:"));
    let screen =
        ana.wait_screen("carl's badge", |s| s.find("¿estás?").is_some_and(|(_, r)| r.contains(" 1 │")));
    assert!(screen.bells > bells, "no bell for a message in another chat");
    assert!(screen.rows[0].contains("┌ bob "), "{}", screen.text());

    // A bigger window: drawn again, whole, at its new size.
    ana.resize(30, 100);
    let screen = ana.wait_screen("the screen at 100×30", |s| {
        s.rows[29].starts_with(" ● connected") && s.rows[0].ends_with('┐') && s.rows[0].chars().count() == 100
    });
    assert!(screen.find("¿a las 8? ").is_some_and(|(_, r)| r.ends_with(" ✓✓ read│")), "{}", screen.text());

    // Every slash command works here too.
    ana.type_keys("/join #lab\r");
    ana.wait_screen("the answer to /join", |s| s.find("joined #lab").is_some());

    // Ctrl+C on an empty line leaves, and gives the terminal back.
    ana.type_keys("\x03");
    assert!(ana.wait().success());
    assert!(ana.is_cooked(), "the terminal is left in raw mode");
    let screen = ana.wait_screen("the shell's screen", |s| !s.alternate);
    assert!(screen.find("Chats").is_none(), "{}", screen.text());
}

/// What the open chat shows is read with a cumulative `READ` now and
/// then, never one per message: a burst of ten costs two at most.
#[test]
fn a_burst_in_the_open_chat_is_read_once_not_per_message() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob_send = server.login_send("bob", "pw-bob");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b0:hola").starts_with("OK:b0:"));
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("bob's chat", |s| s.rows[1].contains(" bob "));
    ana.type_keys("\r");
    assert_eq!(bob.reads_until("b0").len(), 1, "opening the chat reads it at once");
    for n in 1..=10 {
        assert!(bob_send.request(&format!("MSG:ana:b{n}:burst {n}")).starts_with(&format!("OK:b{n}:")));
    }
    ana.wait_screen("the burst shown", |s| s.find("burst 10").is_some());
    let reads = bob.reads_until("b10");
    assert!(reads.len() <= 2, "{reads:?}");
}

#[test]
fn without_a_terminal_or_with_a_dumb_one_tui_refuses() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["connect", "--tui", "--user", "ana"].map(String::from).to_vec();
    args.extend(connection_args(server.send, server.recv, dir.path()));
    let piped = run_wachat(&args, "pw-ana", "hola\n");
    assert_eq!(piped.status.code(), Some(1));
    assert!(piped.stderr.contains("--tui needs a terminal on stdin and stdout"), "{}", piped.stderr);
    // Not even the password is asked for.
    let piped = run_wachat(&args, "", "");
    assert!(piped.stderr.contains("--tui needs a terminal"), "{}", piped.stderr);

    let mut dumb = tui(&server, "ana", dir.path(), &[("TERM", "dumb")]);
    dumb.expect("--tui needs a terminal that can move its cursor, and TERM=dumb cannot");
    assert_eq!(dumb.wait().code(), Some(1));
}

#[test]
fn ctrl_c_discards_a_draft_and_asks_before_leaving_messages_in_the_outbox() {
    // No server: the console starts offline, and what is sent waits.
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("the screen", |s| s.rows[23].contains("● connected"));
    drop(server);
    ana.wait_screen("reconnecting", |s| s.rows[23].contains("○ reconnecting"));
    ana.type_keys("/msg bob are you there?\r");
    ana.wait_screen("1 in the outbox", |s| s.rows[23].contains("outbox 1"));
    ana.type_keys("a draft");
    ana.wait_screen("the draft", |s| s.find("│a draft").is_some());
    ana.type_keys("\x03");
    ana.wait_screen("the draft discarded", |s| {
        s.find("message discarded").is_some() && s.find("│a draft").is_none()
    });
    ana.type_keys("\x03");
    ana.wait_screen("the question", |s| s.find("1 message(s) still wait in the outbox").is_some());
    ana.type_keys("n");
    ana.wait_screen("the question gone", |s| s.find("still wait").is_none());
    ana.type_keys("\x03");
    ana.wait_screen("the question again", |s| s.find("still wait").is_some());
    ana.type_keys("y");
    assert!(ana.wait().success());
    ana.wait_screen("the outbox's line after the full screen", |s| {
        !s.alternate && s.find("1 message(s) wait in the outbox; they leave when you connect again").is_some()
    });
}

#[test]
fn scrolling_up_loads_older_messages_from_the_server_to_the_start() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    // Written by another program of ana's: on the server, not in this
    // console's local log, so older pages must come from HISTORY.
    let mut elsewhere = server.login_send("ana", "pw-ana");
    for i in 1..=130 {
        assert!(elsewhere.request(&format!("MSG:bob:old{i}:old message {i}")).starts_with("OK:"));
    }
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    let mut screen = scrolled_to_start(&mut ana, 130);
    // Back down to the newest, each message once on the way.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..60 {
        let pane: Vec<String> = screen.rows[..19].iter().map(|r| right(r)).collect();
        for row in &pane {
            if let Some(n) = row.split("old message ").nth(1).and_then(|r| r.split(' ').next()) {
                seen.insert(n.to_string());
            }
        }
        if pane.iter().any(|r| r.contains("old message 130 ")) {
            break;
        }
        let before = screen.text();
        ana.type_keys("\x1b[6~"); // PgDn
        screen = ana.wait_screen("the conversation scrolled down", |s| s.text() != before);
    }
    assert_eq!(seen.len(), 130, "{seen:?}");
}

#[test]
fn scrolling_up_reads_the_servers_pages_past_1000_to_the_start() {
    // No limit for the address: 1,010 messages are written at once.
    let server = TestServer::start_with(&["--address-rate", "0"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut elsewhere = server.login_send("ana", "pw-ana");
    let n = 1_010;
    for i in 1..=n {
        elsewhere.send(&format!("MSG:bob:old{i}:old message {i}"));
    }
    for _ in 1..=n {
        assert!(elsewhere.line().starts_with("OK:"));
    }
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    scrolled_to_start(&mut ana, n);
}

/// Opens the first chat of `ana`'s list (bob's, whose newest message is
/// `old message <newest>`) and scrolls up until the start of the
/// conversation shows, above "old message 1" and "old message 2": the screen.
fn scrolled_to_start(ana: &mut Pty, newest: usize) -> Screen {
    ana.wait_screen("bob's chat", |s| s.rows[1].contains("bob"));
    ana.type_keys("\r");
    let last = format!("old message {newest} ");
    let mut screen = ana.wait_screen("the last message", |s| s.find(&last).is_some());
    for _ in 0..newest {
        if screen.find("── start of the conversation ──").is_some() {
            break;
        }
        let before = screen.text();
        ana.type_keys("\x1b[5~"); // PgUp
        screen = ana.wait_screen("the conversation scrolled", |s| s.text() != before);
    }
    let (start, _) = screen.find("── start of the conversation ──").expect("the start, in time");
    let (first, _) = screen.find("old message 1 ").expect("the first message under it");
    assert!(start < first, "{}", screen.text());
    assert!(screen.find("old message 2 ").is_some_and(|(y, _)| y == first + 1), "{}", screen.text());
    screen
}

#[test]
fn a_replaced_full_screen_exits_non_zero_says_why_and_gives_the_terminal_back() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("the screen", |s| s.rows[23].contains("● connected"));
    ana.type_keys("half typed");
    let _elsewhere = support::console::replacing_recv(&server, dir.path(), "ana");
    assert_eq!(ana.wait().code(), Some(1));
    assert!(ana.is_cooked(), "the terminal is left in raw mode");
    ana.wait_screen("why, on the shell's screen", |s| {
        !s.alternate && s.find("another wachat logged in as ana and now receives the messages").is_some()
    });
}

#[test]
fn the_log_goes_to_a_file_in_the_clients_folder_while_the_screen_is_up() {
    let mut server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    // Everything logged, down to DEBUG: none of it may reach the screen.
    let mut ana = tui(&server, "ana", dir.path(), &[("RUST_LOG", "debug")]);
    ana.wait_screen("the chat list", |s| s.find("Chats").is_some());
    let log = support::console::user_dir(dir.path(), server.send, "ana").join("wachat.log");
    // The server gone: the client logs each failed reconnection (DEBUG).
    server.kill();
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("DEBUG") {
        assert!(std::time::Instant::now() < deadline, "nothing logged to {}", log.display());
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling a file
    }
    let screen = ana.wait_screen("reconnecting", |s| s.text().contains("reconnecting"));
    assert!(!screen.text().contains("DEBUG") && !screen.text().contains("wachat::"), "{}", screen.text());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains('\u{1b}'), "no colour codes in the file: {text:?}");
    // The panel (F2) says where it goes.
    ana.type_keys("\x1bOQ");
    ana.wait_screen("where the log goes", |s| s.text().contains("the log goes to"));
    ana.type_keys("\x1b");
    ana.type_keys("\x03");
    assert!(ana.wait().success());
}

/// 1.2: Up on an empty input chooses a message; `e` edits
/// yours, `+` reacts, `d` deletes after a y, and `/` searches every chat,
/// Enter opening the chat at the result. The other side, a raw client,
/// reads each action as the `MSG` a version-1 client gets.
#[test]
fn choose_a_message_then_edit_react_delete_and_search() {
    const UP: &str = "\x1b[A";
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob_send = server.login_send("bob", "pw-bob");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b1:the okapi plan").starts_with("OK:b1:"));
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("bob's chat", |s| s.rows[1].contains("bob"));
    ana.type_keys("\r");
    ana.wait_screen("the conversation", |s| s.find("the okapi plan").is_some());
    ana.type_keys("see you at 10\r");
    let sent = next_event(&mut bob, "MSG:");
    assert!(sent.ends_with(":see you at 10"), "{sent}");
    ana.wait_screen("it, sent", |s| s.find("see you at 10").is_some_and(|(_, r)| r.contains(" ✓")));

    // Up chooses the newest (hers); e puts its text in the input.
    ana.type_keys(UP);
    ana.wait_screen("chosen", |s| s.find("chosen: you: see you at 10").is_some());
    ana.type_keys("e");
    ana.wait_screen("the edit's input", |s| {
        s.find("edit your message").is_some() && s.find("│see you at 10").is_some()
    });
    ana.type_keys("\x7f\x7f11\r");
    let edit = next_event(&mut bob, "MSG:");
    assert!(edit.contains(":_e") && edit.ends_with(":✎ see you at 11"), "{edit}");
    ana.wait_screen("edited in place", |s| s.find("see you at 11 (edited)").is_some());

    // Up twice: bob's message; + then 1 reacts with 👍.
    ana.type_keys(UP);
    ana.wait_screen("hers chosen", |s| s.find("chosen: you:").is_some());
    ana.type_keys(UP);
    ana.wait_screen("bob's chosen", |s| s.find("chosen: bob: the okapi plan").is_some());
    ana.type_keys("+");
    ana.wait_screen("the menu", |s| s.find("react with: 1 👍").is_some());
    ana.type_keys("1");
    let react = next_event(&mut bob, "MSG:");
    assert!(react.ends_with(":👍 to: the okapi plan"), "{react}");
    ana.wait_screen("the count under it", |s| s.find("👍 1").is_some());

    // d asks; n keeps it; d then y deletes it for everyone.
    ana.type_keys(UP);
    ana.type_keys(UP); // past the oldest: stays on it
    ana.wait_screen("bob's chosen again", |s| s.find("chosen: bob:").is_some());
    ana.type_keys("\x1b[B"); // Down: hers
    ana.wait_screen("hers chosen", |s| s.find("chosen: you: see you at 11").is_some());
    ana.type_keys("d");
    ana.wait_screen("the question", |s| s.find("delete this message for everyone? (y/n)").is_some());
    ana.type_keys("y");
    let deleted = next_event(&mut bob, "MSG:");
    assert!(deleted.contains(":_d") && deleted.ends_with(":(message deleted)"), "{deleted}");
    ana.wait_screen("deleted, in the chat and in the list", |s| {
        s.find("(message deleted)").is_some() && s.find("see you at 1").is_none()
    });

    // / searches every chat; Enter opens the chat with the result chosen.
    assert!(bob_send.request("MSG:#general:g1:an okapi in the lab today").starts_with("OK:g1:"));
    ana.wait_screen("#general's message", |s| s.find("bob: an okapi i").is_some());
    ana.type_keys(UP);
    ana.wait_screen("chosen", |s| s.find("chosen:").is_some());
    ana.type_keys("/");
    ana.wait_screen("the search's input", |s| s.find("search every chat").is_some());
    ana.type_keys("OKAPI\r");
    let screen = ana.wait_screen("2 results", |s| s.find("2 found for \"OKAPI\"").is_some());
    assert!(screen.find("▶ #general · bob: an okapi in the lab today").is_some(), "{}", screen.text());
    ana.type_keys("\r");
    ana.wait_screen("#general open at it", |s| {
        s.rows[0].contains("#general") && s.find("chosen: bob: an okapi in the lab today").is_some()
    });
    ana.type_keys("\x1b");
    ana.wait_screen("let go", |s| s.find("chosen:").is_none());
}

/// 1.2: `r` on a chosen message: the input's title shows the quote, and
/// Enter sends a `REPLY` that the other side reads with it.
#[test]
fn a_reply_shows_its_quote_in_the_input_and_in_the_chat() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob_send = server.login_send("bob", "pw-bob");
    let mut bob = server.login_recv("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b1:lunch at 1?").starts_with("OK:b1:"));
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("bob's chat", |s| s.rows[1].contains("bob"));
    ana.type_keys("\r");
    ana.wait_screen("the conversation", |s| s.find("lunch at 1?").is_some());
    ana.type_keys("\x1b[Ar");
    ana.wait_screen("the quote over the input", |s| s.find("reply > bob: lunch at 1?").is_some());
    ana.type_keys("yes!\r");
    let reply = next_event(&mut bob, "MSG:");
    assert!(reply.ends_with(":> bob: lunch at 1?\\nyes!"), "{reply}");
    let screen = ana.wait_screen("the reply with its quote", |s| s.find("yes!").is_some());
    let (y, _) = screen.find("yes!").unwrap();
    assert!(screen.rows[y - 1].contains("> bob: lunch at 1?"), "{}", screen.text());
}

#[test]
fn delete_account_asks_in_the_input_box_and_the_full_screen_ends_saying_so() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("the screen", |s| s.rows[23].contains("● connected"));
    ana.type_keys("/delete-account\r");
    ana.wait_screen("the password asked", |s| s.find("password:").is_some());
    ana.type_keys("pw-ana\r");
    ana.wait_screen("the name asked", |s| s.find("type your user name").is_some());
    ana.type_keys("ana\r");
    assert_eq!(ana.wait().code(), Some(0));
    assert!(ana.is_cooked(), "the terminal is left in raw mode");
    ana.wait_screen("what went, on the shell's screen", |s| {
        !s.alternate && s.find("the account ana is deleted").is_some()
    });
    assert!(server.send_conn().request("LOGIN:ana:pw-ana").starts_with("KO:AUTH_FAILED:"));
}

/// A reaction or an edit is not a message: the chat list
/// shows the newest message as it now reads, and counts it once.
#[test]
fn the_chat_list_shows_the_message_not_the_reaction() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana_send = server.login_send("ana", "pw-ana");
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert!(ana_send.request("MSG:bob:a1:¿vienes?").starts_with("OK:a1:"));
    assert!(bob_send.request("MSG:ana:b1:sí, a las 8").starts_with("OK:b1:"));
    assert!(bob_send.request("EDIT:ana:b1:sí, a las 9").starts_with("OK:_"));
    assert!(bob_send.request("REACT:ana:a1:❤️").starts_with("OK:_"));

    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("bob's edited message, 1 unread", |s| {
        s.rows.get(2).is_some_and(|r| r.starts_with("│  sí, a las 9") && r.contains(" 1 │"))
    });
    // While the screen is up: a reaction changes nothing, a message counts.
    assert!(bob_send.request("REACT:ana:a1:👍").starts_with("OK:_"));
    assert!(bob_send.request("MSG:ana:b2:hasta luego").starts_with("OK:b2:"));
    let screen = ana
        .wait_screen("bob's new message", |s| s.rows.get(2).is_some_and(|r| r.starts_with("│  hasta luego")));
    assert!(screen.rows[2].contains(" 2 │"), "{}", screen.text());
}

/// The chat list's snapshot (`Client::chat_list`, which the full screen
/// asks at its start and after every reconnection) while messages land:
/// its unread count always covers its preview, never one message fewer.
/// `CHATS` and the previews' `HISTORY` are separate requests: a message
/// that lands between them makes a preview newer than its count, which
/// the snapshot must not hand to the pane.
#[test]
fn the_chat_list_counts_the_message_it_shows_while_messages_land() {
    // Snapshots one after the other, so that each message lands during one.
    let server = TestServer::start_with(&["--rate", "1000000", "--address-rate", "1000000"]);
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut options = wachat::client::ClientOptions::new("ana", "pw-ana");
    options.send_port = server.send.port();
    options.recv_port = server.recv.port();
    options.data_dir = dir.path().to_path_buf();
    let ana = wachat::client::Client::connect(options).expect("connect");
    let messages = 20;
    let done = std::sync::atomic::AtomicBool::new(false);
    // Snapshots begun: each message is sent once a snapshot began after
    // the one before it, so that snapshots and messages interleave however
    // slow the machine is.
    let begun = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut bob = server.login_send("bob", "pw-bob");
            let mut after = 0;
            for n in 1..=messages {
                while begun.load(std::sync::atomic::Ordering::SeqCst) <= after {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                after = begun.load(std::sync::atomic::Ordering::SeqCst);
                assert!(bob.request(&format!("MSG:ana:b{n}:message {n}")).starts_with(&format!("OK:b{n}:")));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut snapshots = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            begun.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (list, offline) = ana.chat_list().expect("the chat list");
            assert!(!offline);
            snapshots += 1;
            let Some(bob) = list.iter().find(|c| c.chat.to_string() == "bob") else { continue };
            let last = bob.last.as_ref().expect("bob's chat has a preview");
            let n: u64 = last.id.trim_start_matches('b').parse().unwrap();
            assert_eq!(bob.unread, n, "snapshot {snapshots}: the preview is b{n}, the count {}", bob.unread);
        }
        assert!(snapshots >= messages, "only {snapshots} snapshots were taken");
    });
}

/// 1.2 (§23): an archived chat leaves the list for its end, under an
/// "Archived (n)" line; it rings for mentions only; the command line's
/// `/archive` and `/unarchive` move a chat there and back.
#[test]
fn archived_chats_are_listed_last_and_ring_for_mentions_only() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana_send = server.login_send("ana", "pw-ana");
    let mut bob_send = server.login_send("bob", "pw-bob");
    let mut carl_send = server.login_send("carl", "pw-carl");
    assert!(bob_send.request("MSG:#general:g1:good morning").starts_with("OK:g1:"));
    assert!(carl_send.request("MSG:ana:c1:hi ana").starts_with("OK:c1:"));
    assert_eq!(ana_send.request("ARCHIVE:#General"), "OK");

    let mut ana = tui(&server, "ana", dir.path(), &[]);
    let under_heading = |s: &Screen, chat: &str| {
        s.find("│Archived (1)").is_some_and(|(y, _)| s.rows.get(y + 1).is_some_and(|r| r.contains(chat)))
    };
    let screen = ana.wait_screen("#general under Archived (1)", |s| under_heading(s, "#general"));
    assert!(screen.rows[1].starts_with("│  carl "), "carl's chat first:\n{}", screen.text());

    // A message from carl, then (in order on the receive port) one in the
    // archived room without a mention, then one with: only two ring.
    assert!(carl_send.request("MSG:ana:c2:sync").starts_with("OK:c2:"));
    let before = ana.wait_screen("carl's sync", |s| s.find("│  sync").is_some()).bells;
    assert!(bob_send.request("MSG:#general:g2:quiet").starts_with("OK:g2:"));
    let quiet = ana.wait_screen("the room's message", |s| s.find("bob: quiet").is_some()).bells;
    assert_eq!(quiet, before, "an archived room rings for mentions only");
    assert!(bob_send.request("MSG:#general:g3:@ana hi").starts_with("OK:g3:"));
    let mentioned = ana.wait_screen("the mention", |s| s.find("bob: @ana hi").is_some());
    assert_eq!(mentioned.bells, before + 1, "a mention rings:\n{}", mentioned.text());
    assert!(under_heading(&mentioned, "#general"), "still archived:\n{}", mentioned.text());

    // The command line: out of the archive, and carl's chat into it.
    ana.type_keys("/unarchive #general\r");
    ana.wait_screen("no archived chat", |s| s.find("Archived").is_none() && s.find("│  #general").is_some());
    ana.type_keys("/archive carl\r");
    ana.wait_screen("carl under Archived (1)", |s| under_heading(s, "carl"));
    assert_eq!(ana_send.listing("ARCHIVED"), ["carl"]);
}

/// 1.2 (§25): `*` on a chosen message stars it: a ★ before its text here
/// and on the server's list; a star made on another device shows too, and
/// `*` again takes the star back.
#[test]
fn a_chosen_message_is_starred_with_a_star_and_a_star_from_elsewhere_shows() {
    const UP: &str = "\x1b[A";
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b1:the okapi plan").starts_with("OK:b1:"));
    assert!(bob_send.request("MSG:ana:b2:second thought").starts_with("OK:b2:"));
    let mut ana_send = server.login_send("ana", "pw-ana");
    let mut ana = tui(&server, "ana", dir.path(), &[]);
    ana.wait_screen("bob's chat", |s| s.rows[1].contains("bob"));
    ana.type_keys("\r");
    ana.wait_screen("the conversation", |s| s.find("second thought").is_some());

    ana.type_keys(UP);
    ana.wait_screen("bob's newest chosen", |s| s.find("chosen: bob: second thought").is_some());
    ana.type_keys("*");
    ana.wait_screen("starred", |s| s.find("★ second thought").is_some() && s.find("★ starred").is_some());
    assert_eq!(ana_send.listing("STARRED").len(), 1);
    assert!(
        ana.wait_screen("no echo", |s| s.find("★ second thought").is_some())
            .find("(another device)")
            .is_none()
    );

    // From another device: b1 starred, its ★ shows.
    assert_eq!(ana_send.request("STAR:bob:bob:b1"), "OK");
    ana.wait_screen("b1 starred elsewhere", |s| s.find("★ the okapi plan").is_some());
    // `*` again on b2: the star is taken back.
    ana.type_keys(UP);
    ana.wait_screen("b2 chosen", |s| s.find("chosen: bob: second thought").is_some());
    ana.type_keys("*");
    ana.wait_screen("unstarred", |s| {
        s.find("★ second thought").is_none() && s.find("star taken back").is_some()
    });
    assert_eq!(ana_send.listing("STARRED").len(), 1);
}
