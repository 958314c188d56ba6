//! The console as one device of several (protocol 1.2): a folder
//! per device, copies of your own messages and read marks from your other
//! devices, `/devices`, `/unlink`, `/link` and `--pair`. Every case runs
//! real `wachat connect` processes against a real server, over sockets.

use super::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::TestServer;
use support::console::{Console, connection_args, device_dir, device_of, run_wachat, user_dir};

/// `wachat connect --user <user> … <extra>` with no password anywhere,
/// `stdin` typed; what it printed once it ended.
fn connect_without_password(
    server: &TestServer,
    dir: &Path,
    extra: &[&str],
    stdin: &str,
) -> support::console::Outcome {
    connect_ana(server, dir, extra, "", stdin)
}

/// `wachat connect --user ana` with `extra` arguments, `password` in the
/// environment and `stdin` typed.
fn connect_ana(
    server: &TestServer,
    dir: &Path,
    extra: &[&str],
    password: &str,
    stdin: &str,
) -> support::console::Outcome {
    let mut args: Vec<String> = vec!["connect".into(), "--user".into(), "ana".into()];
    args.extend(connection_args(server.send, server.recv, dir));
    args.extend(extra.iter().map(|a| a.to_string()));
    run_wachat(&args, password, stdin)
}

/// ana's `device` starts with no password anywhere: its kept `token`
/// logs it in, and the trace shows the login without it.
fn logs_in_by_its_token(server: &TestServer, dir: &Path, device: &str, token: &str) {
    let back = connect_without_password(server, dir, &["--device", device, "--trace"], "/quit\n");
    assert!(back.status.success(), "{}", back.stderr);
    // The console prints its trace above the prompt, on stdout.
    assert!(back.stdout.contains(&format!("send > LOGIN:ana@{device}:***")), "{}", back.stdout);
    assert!(!back.stdout.contains(token.trim_end()), "the token is a secret: {}", back.stdout);
}

#[test]
fn two_consoles_of_one_user_are_two_devices_each_with_its_folder_and_both_get_a_message() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut first = Console::connected(&server, "ana", dir.path(), &[]);
    let mut second = Console::connected(&server, "ana", dir.path(), &[]);
    // Two default devices made up, kept in the user's folder, in order.
    let user = dir.path().join(format!("127.0.0.1:{}", server.send.port())).join("ana");
    let kept = fs::read_to_string(user.join("default_devices")).unwrap();
    let names: Vec<&str> = kept.lines().collect();
    assert_eq!(names.len(), 2, "{kept}");
    assert_ne!(names[0], names[1]);
    for (console, name) in [(&first, names[0]), (&second, names[1])] {
        assert!(
            console.seen.iter().any(|l| l.contains(&format!("(this device: {name})"))),
            "{:?}",
            console.seen
        );
        let folder = device_dir(dir.path(), server.send, "ana", name);
        assert_eq!(fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(folder.join("wachat.lock").is_file());
    }

    // Neither replaced the other: both receive.
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);
    bob.type_line("@ana: hola a los dos");
    first.expect("bob: hola a los dos");
    second.expect("bob: hola a los dos");
    // Each kept it in its own files.
    for name in &names {
        let log =
            fs::read_to_string(device_dir(dir.path(), server.send, "ana", name).join("history.csv")).unwrap();
        assert!(log.contains(",bob,ana,") && log.contains("hola a los dos"), "{log}");
    }
    assert!(second.quit("/quit").0.success());
    assert!(first.quit("/quit").0.success());

    // Started again, the first one is the first device again.
    let mut again = Console::start(&server, "ana", dir.path(), &[]);
    again.expect(&format!("(this device: {})", names[0]));
}

#[test]
fn a_message_sent_on_one_device_shows_as_mine_on_the_other_with_its_ticks() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);
    let mut bob = Console::connected(&server, "bob", dir.path(), &[]);

    lab.type_line("@bob: sent from the lab");
    bob.expect("ana: sent from the lab");
    // The laptop shows it as its own, never as a message to read.
    laptop.expect("you → bob: sent from the lab");
    // Bob reads it: both of ana's devices see the same ticks.
    bob.type_line("/chat ana");
    lab.expect("✓✓ read  (to bob: sent from the lab)");
    laptop.expect("✓✓ read  (to bob: sent from the lab)");
    // Kept in the laptop's files like one of its own sends.
    let log =
        fs::read_to_string(device_dir(dir.path(), server.send, "ana", "laptop").join("history.csv")).unwrap();
    assert!(log.contains(",ana,bob,") && log.contains("sent from the lab"), "{log}");
    assert!(log.contains(",READ,"), "{log}");
    assert_eq!(laptop.count("ana: sent from the lab"), 0, "shown as someone else's: {:?}", laptop.seen);
}

#[test]
fn a_chat_read_on_one_device_is_read_on_the_other() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:one").starts_with("OK:b1:"));
    assert!(bob.request("MSG:ana:b2:two").starts_with("OK:b2:"));
    lab.expect("bob: two");
    laptop.expect("bob: two");

    // Read on the lab: the laptop's local log has them read too.
    lab.type_line("/chat bob");
    lab.expect("── bob");
    let folder = device_dir(dir.path(), server.send, "ana", "laptop");
    let deadline = std::time::Instant::now() + support::READ_TIMEOUT;
    loop {
        let log = fs::read_to_string(folder.join("history.csv")).unwrap_or_default();
        if log.lines().any(|l| l.starts_with("state,") && l.contains(",bob,,b2,READ,")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the laptop's log never marked b2 read:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling a file
    }
    laptop.type_line("/chats");
    let line = laptop.expect("bob");
    assert!(!line.contains("unread"), "{line}");
}

#[test]
fn devices_are_listed_and_one_is_unlinked_from_another() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    let mut laptop = Console::connected(&server, "ana", dir.path(), &["--device", "laptop"]);

    lab.type_line("/devices");
    lab.expect("2 device(s) of ana:");
    lab.expect("  lab (this one): online, from 127.0.0.1");
    lab.expect("  laptop: online, from 127.0.0.1");
    // Each asks the password (UNLINK:<device>:<password>: a console that
    // logged in with its token unlinks another device only so).
    lab.type_line("/unlink lab");
    lab.expect("password:");
    lab.type_line("pw-ana");
    lab.expect("lab is this device");
    lab.type_line("/unlink nothing-here");
    lab.expect("password:");
    lab.type_line("pw-ana");
    lab.expect("(UNKNOWN_DEVICE)");

    lab.type_line("/unlink laptop");
    lab.expect("password:");
    lab.type_line("pw-ana");
    lab.expect("laptop is unlinked");
    laptop.expect("this device (laptop) was unlinked from ana's other devices");
    let (status, _) = laptop.quit("/quit");
    assert_eq!(status.code(), Some(1), "the unlinked console stops");
    lab.type_line("/devices");
    lab.expect("1 device(s) of ana:");
}

#[test]
fn a_device_linked_with_a_code_logs_in_with_its_token_until_it_is_unlinked() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    lab.type_line("/link");
    lab.expect("password:");
    lab.type_line("pw-ana");
    let line = lab.expect("link code: ");
    assert!(line.contains("valid 5 minutes, once"), "{line}");
    let code = line.split("link code: ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    assert!(line.contains(&format!("--pair {code}")), "{line}");

    // No password anywhere: the code links the tablet.
    let paired =
        connect_without_password(&server, dir.path(), &["--device", "tablet", "--pair", &code], "/quit\n");
    assert!(paired.status.success(), "{}\n{}", paired.stdout, paired.stderr);
    assert!(paired.stdout.contains("connected to 127.0.0.1"), "{}", paired.stdout);
    let tablet = device_dir(dir.path(), server.send, "ana", "tablet");
    let token = fs::read_to_string(tablet.join("token")).unwrap();
    assert_eq!(token.trim_end().len(), 32, "{token:?}");
    assert_eq!(fs::metadata(tablet.join("token")).unwrap().permissions().mode() & 0o777, 0o600);
    // The code was single use.
    let again =
        connect_without_password(&server, dir.path(), &["--device", "other", "--pair", &code], "/quit\n");
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stderr.contains("AUTH_FAILED"), "{}", again.stderr);

    // From then on the tablet needs no password: its token logs it in.
    logs_in_by_its_token(&server, dir.path(), "tablet", &token);

    // Unlinked from the lab while it runs: it stops and forgets its token.
    let mut running = Console::connected(&server, "ana", dir.path(), &["--device", "tablet"]);
    lab.type_line("/unlink tablet");
    lab.expect("password:");
    lab.type_line("pw-ana");
    lab.expect("tablet is unlinked");
    running.expect("this device (tablet) was unlinked");
    assert_eq!(running.quit("/quit").0.code(), Some(1));
    assert!(!tablet.join("token").exists(), "the token is forgotten");
}

#[test]
fn the_receive_port_asks_for_1_2_before_its_login_as_the_device() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", dir.path(), &["--trace", "--device", "Lab"]);
    ana.expect("send > LOGIN:ana@Lab:***");
    ana.expect("send < OK:ana");
    ana.expect("recv > VERSION:1.2");
    ana.expect("recv < OK");
    ana.expect("recv > LOGIN:ana@Lab:***");
    ana.expect("recv < OK:ana");
    ana.expect("connected");
    assert_eq!(ana.count("VERSION:1.1"), 0, "a 1.2 server needs no VERSION after the login");
    assert!(device_dir(dir.path(), server.send, "ana", "lab").join("history.csv").is_file());
}

#[test]
fn a_folder_from_before_devices_becomes_the_first_devices_folder() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    // ana's files as a console before devices kept them.
    let old = user_dir(dir.path(), server.send, "ana");
    fs::create_dir_all(&old).unwrap();
    let row = "msg,1700000000000,bob,ana,b0,DELIVERED,kept from before devices";
    fs::write(old.join("history.csv"), format!("kind,ts,from,to,id,state,text\n{row}\n")).unwrap();

    let mut ana = Console::start(&server, "ana", dir.path(), &[]);
    // The move is logged on stderr and the connection told on stdout:
    // two pipes, read in either order.
    ana.expect_each(&["from before folders per device", "connected"]);
    let device = device_of(dir.path(), server.send, "ana");
    let folder = device_dir(dir.path(), server.send, "ana", &device);
    assert!(fs::read_to_string(folder.join("history.csv")).unwrap().contains(row));
    assert!(!old.join("history.csv").exists(), "moved, not copied");
    assert!(ana.quit("/quit").0.success());
}

#[test]
fn a_bad_device_name_or_link_code_is_refused_before_anything_starts() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = connect_without_password(&server, dir.path(), &["--device", "ana@lab"], "");
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("bad device name") && bad.stderr.contains("'@'"), "{}", bad.stderr);
    let es = connect_without_password(&server, dir.path(), &["--lang", "es", "--device", ""], "");
    assert!(es.stderr.contains("nombre de dispositivo no válido"), "{}", es.stderr);
    let code = connect_without_password(&server, dir.path(), &["--pair", "not a code"], "");
    assert_eq!(code.status.code(), Some(2), "{}", code.stderr);
    assert!(!dir.path().join(format!("127.0.0.1:{}", server.send.port())).exists(), "no folder made");
}

#[test]
fn stay_keeps_a_token_after_a_password_login_and_the_next_start_needs_no_password() {
    let server = TestServer::start();
    server.register(&["ana"]);
    let dir = tempfile::tempdir().unwrap();
    let first = connect_ana(&server, dir.path(), &["--device", "lab", "--stay"], "pw-ana", "/quit\n");
    assert!(first.status.success(), "{}\n{}", first.stdout, first.stderr);
    let lab = device_dir(dir.path(), server.send, "ana", "lab");
    let token = fs::read_to_string(lab.join("token")).unwrap();
    assert_eq!(token.trim_end().len(), 32, "{token:?}");
    assert_eq!(fs::metadata(lab.join("token")).unwrap().permissions().mode() & 0o777, 0o600);
    // Nothing of the device's folder holds the password.
    for entry in fs::read_dir(&lab).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains("pw-ana"), "no password kept");
    }

    // The next start: no password anywhere, the token logs it in.
    logs_in_by_its_token(&server, dir.path(), "lab", &token);
    // The session logged in with the token links another device with
    // the password (a token is one device's), asked hidden.
    let mut running = Console::connected(&server, "ana", dir.path(), &["--device", "lab"]);
    running.type_line("/link");
    running.expect("password:");
    running.type_line("a-wrong-guess");
    running.expect("(FORBIDDEN)");
    running.type_line("/link");
    running.expect("password:");
    running.type_line("pw-ana");
    running.expect("link code: ");
}
