//! Archived chats (docs/PROTOCOL.md §23) in the line console, end to end:
//! `/archive`, `/unarchive` and `/archived` on one device, the change told
//! on another, `/chats` listing the archived chats last under their
//! heading, and a new login still finding them archived. tests/chat/archive.rs
//! has the server's side (the raw protocol); tests/clients/tui.rs has the full
//! screen's list.

use super::support;

use support::TestServer;
use support::console::Console;

#[test]
fn the_console_archives_on_every_device_lists_them_last_and_keeps_them_after_a_restart() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(bob.request("MSG:ana:b1:from bob").starts_with("OK:b1:"));
    assert!(carl.request("MSG:ana:c1:from carl").starts_with("OK:c1:"));
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);

    lab.type_line("/archived");
    lab.expect("no chat is archived");
    lab.type_line("/archive Bob");
    lab.expect("Bob is archived: listed apart, it notifies only when you are mentioned");
    laptop.expect("(another device) Bob is archived");
    lab.type_line("/archive #lab3");
    lab.expect("#lab3 is archived");
    laptop.expect("(another device) #lab3 is archived");
    lab.type_line("/archive");
    lab.expect("usage: /archive <user|#room>");
    laptop.type_line("/archived");
    laptop.expect("archived (2): #lab3, Bob  (/unarchive <user|#room> to bring one back)");

    // `/chats`: carl's chat first, bob's after the heading (#lab3 has no
    // messages: it is no chat yet).
    lab.type_line("/chats");
    lab.expect("carl, 1 unread");
    lab.expect("── archived (1) ──");
    lab.expect("bob, 1 unread");

    // Case-insensitive, idempotent, told to the other device by the name
    // given first.
    laptop.type_line("/unarchive #LAB3");
    laptop.expect("#LAB3 is no longer archived");
    lab.expect("(another device) #lab3 is no longer archived");
    laptop.type_line("/unarchive #lab3");
    laptop.expect("#lab3 is no longer archived");

    // A new login finds bob's chat archived still; a new message keeps it so.
    let (status, lines) = lab.quit("/quit");
    assert!(status.success(), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("(another device) Bob")), "an echo of its own: {lines:?}");
    assert!(bob.request("MSG:ana:b2:still there?").starts_with("OK:b2:"));
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    lab.type_line("/archived");
    lab.expect("archived (1): Bob");
    lab.type_line("/chats");
    lab.expect("carl, 1 unread");
    lab.expect("── archived (1) ──");
    lab.expect("bob, 2 unread");
    lab.type_line("/help");
    lab.expect("/archive /unarchive <chat>");
}

#[test]
fn the_commands_speak_spanish_and_portuguese() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut es = Console::start(&server, "ana", dir.path(), &["--lang", "es", "--device", "es"]);
    es.expect("conectado");
    let mut pt = Console::start(&server, "ana", dir.path(), &["--lang", "pt", "--device", "pt"]);
    pt.expect("conectado");
    es.type_line("/archive #tea");
    es.expect("el chat #tea está archivado: aparte en la lista, solo avisa cuando te mencionan");
    pt.expect("(outro dispositivo) a conversa #tea está arquivada");
    pt.type_line("/archived");
    pt.expect("arquivadas (1): #tea");
    pt.type_line("/unarchive");
    pt.expect("uso: /unarchive <usuário|#sala>");
}
