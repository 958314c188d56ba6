//! Starred messages (docs/PROTOCOL.md §25) in the line console, end to
//! end: `/star N`, `/unstar N` and `/starred` on one device, the star
//! told on another, the list after a deletion and a new login, and the
//! commands in Spanish and Portuguese. tests/chat/starred.rs has the server's
//! side (the raw protocol); tests/web/starred.rs the browser's.

use super::support;

use support::TestServer;
use support::console::Console;

#[test]
fn the_console_stars_by_number_on_every_device_and_a_deletion_hides_the_star() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:the exam is on friday").starts_with("OK:b1:"));
    assert!(bob.request("MSG:ana:b2:bring a pencil").starts_with("OK:b2:"));
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);

    lab.expect("[2] bob: bring a pencil"); // as they arrive, numbered
    lab.type_line("/starred");
    lab.expect("no starred message (/star <n> stars one)");
    lab.type_line("/star 1");
    lab.expect("★ [1] starred (/starred lists your starred messages)");
    laptop.expect("(another device) bob's message b1 in bob starred");
    lab.type_line("/star 9");
    lab.expect("no message [9] on screen");
    lab.type_line("/star");
    lab.expect("usage: /star <n>");
    laptop.type_line("/starred");
    laptop.expect("★ starred messages (1), newest first:");
    laptop.expect("bob: the exam is on friday");

    // bob deletes it: the star is hidden; ana unstars it all the same.
    assert!(bob.request("DELETE:ana:b1").starts_with("OK:_d"));
    lab.expect("(message deleted)");
    lab.type_line("/starred");
    lab.expect("no starred message");
    lab.type_line("/unstar 1");
    lab.expect("[1] is no longer starred");
    laptop.expect("(another device) bob's message b1 in bob no longer starred");

    // A new login finds the stars the server keeps.
    lab.type_line("/star 2");
    lab.expect("★ [2] starred");
    let (status, lines) = lab.quit("/quit");
    assert!(status.success(), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("(another device) bob's")), "an echo of its own: {lines:?}");
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    lab.type_line("/starred");
    lab.expect("★ starred messages (1), newest first:");
    lab.expect("bob: bring a pencil");
    lab.type_line("/help");
    lab.expect("/[un]star n");
}

#[test]
fn the_commands_speak_spanish_and_portuguese() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    assert!(server.login_send("bob", "pw-bob").request("MSG:ana:b1:hola").starts_with("OK:b1:"));
    let dir = tempfile::tempdir().unwrap();
    let mut es = Console::start(&server, "ana", dir.path(), &["--lang", "es", "--device", "es"]);
    es.expect("conectado");
    let mut pt = Console::start(&server, "ana", dir.path(), &["--lang", "pt", "--device", "pt"]);
    pt.expect("conectado");
    es.expect("[1] bob: hola");
    es.type_line("/star 1");
    es.expect("★ [1] destacado");
    pt.expect("(outro dispositivo) mensagem b1 de bob em bob favoritada");
    pt.type_line("/starred");
    pt.expect("★ mensagens favoritas (1), as mais novas primeiro:");
    pt.type_line("/unstar");
    pt.expect("uso: /unstar <n>");
    es.type_line("/starred todo");
    es.expect("/starred");
}
