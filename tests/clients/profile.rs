//! Your profile and privacy (docs/PROTOCOL.md §30) in the line console,
//! end to end: `/name`, `/photo` (a file uploaded and made into the
//! photo), `/profile` of yourself and of a classmate, `/privacy`, and bad
//! input said and changing nothing, in English and Spanish.
//! tests/chat/profile.rs has the server's side (the raw protocol).

use super::support;

use support::TestServer;
use support::console::Console;
use support::files::photo;

#[test]
fn the_console_sets_a_name_a_photo_and_the_privacy_and_shows_a_classmates_profile() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut bob = server.login_send("bob", "pw-bob");
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("me.png");
    std::fs::write(&image, photo(800, 600)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello, lab 3\n").unwrap();
    let mut ana = Console::connected(&server, "ana", dir.path(), &[]);

    ana.type_line("/profile");
    ana.expect("ana: display name (none), no photo");
    ana.type_line("/name Ana María: TA 🎓");
    ana.expect("your display name is now Ana María: TA 🎓");
    ana.type_line(&format!("/photo {}", image.display()));
    ana.expect("your photo is set: cropped square");
    ana.type_line(&format!("/photo {}", dir.path().join("notes.txt").display()));
    ana.expect("not an image");
    ana.type_line(&format!("/name {}", "я".repeat(65)));
    ana.expect("a display name is at most 64 characters, not 65");
    ana.type_line("/profile");
    ana.expect("ana: display name Ana María: TA 🎓, with a photo");
    assert!(bob.request("PROFILE:ana").starts_with("OK:ana:"), "bob sees it too");
    assert!(bob.request("PHOTOOF:ana").starts_with("OK:/9j/"), "a JPEG");

    assert_eq!(bob.request("NAME:Roberto"), "OK");
    ana.type_line("/profile bob");
    ana.expect("bob: display name Roberto, no photo");
    ana.type_line("/privacy receipts off");
    ana.expect("last seen: shown · read receipts: hidden (who hides them does not see others' either)");
    assert_eq!(bob.request("PRIVACY"), "OK:lastseen:on:receipts:on");
    ana.type_line("/privacy seen off");
    ana.expect("usage: /privacy [lastseen|receipts on|off]");
    ana.type_line("/photo");
    ana.expect("you have no photo now");
    ana.type_line("/help");
    ana.expect("/profile [user] /name /photo /privacy");

    let mut es = Console::start(&server, "ana", dir.path(), &["--lang", "es", "--device", "es"]);
    es.expect("conectado");
    es.type_line("/privacy");
    es.expect("última vez: visibles · confirmaciones de lectura: ocultas");
    es.type_line("/name");
    es.expect("ya no tienes nombre visible");
}
