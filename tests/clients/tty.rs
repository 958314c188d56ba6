//! `wachat connect` in a terminal (a pseudo-terminal, `support::pty`):
//! what only a terminal has. Ctrl+C and Ctrl+D as keys, the prompt that
//! says `[p2p]` and stops saying it when the direct chat ends, a console
//! that must stop while the keyboard is being read, and a new password
//! typed twice at a hidden prompt.

use super::support;

use std::path::Path;
use std::process::Command;

use support::console::{Console, connection_args};
use support::pty::Pty;
use support::{TestServer, wachat_bin};

/// `wachat <subcommand> --user <user>` on a terminal, password
/// `pw-<user>` in the environment unless `password` says otherwise.
fn on_terminal(server: &TestServer, subcommand: &str, user: &str, dir: &Path, password: Option<&str>) -> Pty {
    let mut command = Command::new(wachat_bin());
    command
        .args([subcommand, "--user", user])
        .args(connection_args(server.send, server.recv, dir))
        .env("RUST_LOG", "warn")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("WACHAT_PASSWORD");
    if let Some(password) = password {
        command.env("WACHAT_PASSWORD", password);
    }
    Pty::spawn(command)
}

fn console(server: &TestServer, user: &str, dir: &Path) -> Pty {
    let mut pty = on_terminal(server, "connect", user, dir, Some(&format!("pw-{user}")));
    pty.expect(&format!("connected to 127.0.0.1 as {user}"));
    pty.expect("> ");
    pty
}

/// ana's console on a terminal, with her chat with bob open.
fn chatting_with_bob(server: &TestServer, dir: &Path) -> Pty {
    let mut ana = console(server, "ana", dir);
    ana.type_keys("/chat bob\r");
    ana.expect("bob> ");
    ana
}

#[test]
fn ctrl_c_discards_a_draft_and_ctrl_c_and_ctrl_d_say_what_they_do() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = chatting_with_bob(&server, dir.path());
    // A message of two lines, interrupted on the second: nothing leaves.
    ana.type_keys("first line \\\r");
    ana.expect("… ");
    ana.type_keys("second line\x03");
    ana.expect("(Ctrl+C: message discarded; nothing was sent)");
    // Keys are typed once the next prompt is up: between two reads the
    // terminal is in its ordinary mode, where Ctrl+C is a signal.
    ana.expect("bob> ");
    ana.type_keys("\x03");
    ana.expect("(Ctrl+C: line cleared; to leave, type /quit or press Ctrl+D)");
    ana.expect("bob> ");
    ana.type_keys("after\r");
    let first = bob.next_msg();
    assert!(first.starts_with("MSG:1:ana:bob:") && first.ends_with(":after"), "{first}");
    ana.expect("bob> ");
    ana.type_keys("\x04");
    ana.expect("(Ctrl+D: leaving)");
    assert!(ana.wait().success());

    // Ctrl+D in the middle of a draft leaves, and says the draft stays unsent.
    let mut ana = console(&server, "ana", dir.path());
    ana.type_keys("@bob: unfinished \\\r");
    ana.expect("… ");
    ana.type_keys("\x04");
    ana.expect("(Ctrl+D: leaving; the unfinished message was not sent)");
    assert!(ana.wait().success());
    let mut raw = server.login_send("ana", "pw-ana");
    assert!(raw.request("MSG:bob:m9:barrier").starts_with("OK:m9:"));
    let next = bob.next_msg();
    assert!(next.starts_with("MSG:2:ana:bob:m9:") && next.ends_with(":barrier"), "{next}");
}

#[test]
fn the_prompt_drops_its_p2p_mark_as_soon_as_the_direct_chat_ends() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);
    let mut ana = console(&server, "ana", dir.path());
    ana.type_keys("/p2p bob\r");
    ana.expect("direct chat with bob open");
    ana.expect("bob [p2p]> ");
    // bob's console has the link too before he hangs it up (a /hangup
    // typed before it arrived would find no direct chat to end).
    bob.expect("ana opened a direct chat with you");
    // bob hangs up while ana's prompt is shown: it is redrawn under the
    // line that says so, without [p2p], before she presses any key.
    bob.type_line("/hangup ana");
    ana.expect("direct chat with bob ended");
    let redrawn = ana.expect("bob>");
    assert!(!redrawn.contains("[p2p]>"), "{redrawn:?}");
    ana.type_keys("through the server\r");
    bob.expect("ana: through the server");
    ana.expect("bob> ");
    assert!(!ana.screen().ends_with("[p2p]> "));
}

#[test]
fn a_replaced_console_exits_non_zero_says_why_and_gives_the_terminal_back() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = console(&server, "ana", dir.path());
    ana.type_keys("half typed");
    // Another client of ana, as the same device, takes its receive port.
    let _elsewhere = support::console::replacing_recv(&server, dir.path(), "ana");
    ana.expect("another wachat logged in as ana and now receives the messages; this one stopped");
    assert_eq!(ana.wait().code(), Some(1));
    assert!(ana.is_cooked(), "the terminal is left in rustyline's raw mode");
}

#[test]
fn a_new_password_is_typed_twice_and_asked_again_when_too_short_or_mistyped() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut carl = on_terminal(&server, "register", "carl", dir.path(), None);
    carl.expect("choose a password: at least 6 characters, typed twice");
    carl.expect("password for carl: ");
    carl.type_keys("x\r");
    carl.expect("a new password has at least 6 characters; try again");
    carl.expect("password for carl: ");
    carl.type_keys("correct horse\r");
    carl.expect("again: ");
    carl.type_keys("correct h0rse\r");
    carl.expect("the two passwords differ; no account was created; try again");
    carl.expect("password for carl: ");
    carl.type_keys("correct horse\r");
    carl.expect("again: ");
    carl.type_keys("correct horse\r");
    carl.expect("registered carl");
    assert!(carl.wait().success());
    let mut c = server.send_conn();
    assert_eq!(c.request("LOGIN:carl:correct horse"), "OK:carl");

    // Three wrong tries, and it gives up (a script typing into it never loops).
    let mut dana = on_terminal(&server, "register", "dana", dir.path(), None);
    for _ in 0..3 {
        dana.expect("password for dana: ");
        dana.type_keys("short\r");
    }
    dana.expect("a new password has at least 6 characters");
    assert_eq!(dana.wait().code(), Some(1));
}

/// `/chats` shows a chat's newest message as it now
/// reads, and counts it once: a reaction and an edit are not messages.
#[test]
fn chats_shows_the_message_not_the_reaction() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana_send = server.login_send("ana", "pw-ana");
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert!(ana_send.request("MSG:bob:a1:vienes").starts_with("OK:a1:"));
    assert!(bob_send.request("MSG:ana:b1:si a las 8").starts_with("OK:b1:"));
    assert!(bob_send.request("EDIT:ana:b1:si a las 9").starts_with("OK:_"));
    assert!(bob_send.request("REACT:ana:a1:👍").starts_with("OK:_"));
    let mut ana = console(&server, "ana", dir.path());
    // The inbox's replay ends with the reaction (before or after the
    // first prompt is drawn: two threads print); keys are typed at a prompt.
    ana.expect_shown("👍");
    ana.type_keys("/chats\r");
    let before = ana.expect(" unread ");
    let line = format!("{}{}", before.lines().last().unwrap_or_default(), ana.expect("\n"));
    assert!(line.contains("bob: si a las 9"), "{line}");
    assert!(line.contains(", 1 unread") && !line.contains("👍"), "{line}");
}

/// bob's next messages on his receive connection: their texts.
fn texts(bob: &mut support::Conn, n: usize) -> Vec<String> {
    (0..n).map(|_| bob.next_msg().splitn(7, ':').nth(6).unwrap_or_default().to_string()).collect()
}

#[test]
fn five_lines_pasted_at_once_arrive_as_five_messages_in_order() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = chatting_with_bob(&server, dir.path());
    // A paste into a terminal without bracketed paste: the lines arrive as
    // if typed, Enter after each, faster than any hand.
    ana.type_keys("one\rtwo\rthree\rfour\rfive\r");
    assert_eq!(texts(&mut bob, 5), ["one", "two", "three", "four", "five"]);
}

#[test]
fn a_message_of_three_lines_typed_while_the_console_prints_ticks_arrives_whole() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut bob = server.login_recv("bob", "pw-bob");
    let mut ana = chatting_with_bob(&server, dir.path());
    // A line, then at once a message of three lines (`\` continues one)
    // and /quit, all typed ahead while the console sends the first one
    // and prints its ticks ...
    ana.type_keys("first\rA \\\rB \\\rC\r/quit\r");
    assert_eq!(texts(&mut bob, 2), ["first", "A \\nB \\nC"]);
    assert!(ana.wait().success(), "/quit was a command");
    // ... and typed once the first one's tick is on the screen.
    let mut ana = chatting_with_bob(&server, dir.path());
    ana.type_keys("second\r");
    ana.expect("(to bob: second)");
    let typed = std::time::Instant::now();
    ana.type_keys("D \\\rE \\\rF\r/quit\r");
    assert_eq!(texts(&mut bob, 2), ["second", "D \\nE \\nF"]);
    println!("the three-line message arrived {:?} after it was typed", typed.elapsed());
    // /quit was a command, never a line of a message: the console left.
    assert!(ana.wait().success());
    let mut raw = server.login_send("ana", "pw-ana");
    assert!(raw.request("MSG:bob:m9:barrier").starts_with("OK:m9:"));
    assert_eq!(texts(&mut bob, 1), ["barrier"], "nothing was sent between");
}
