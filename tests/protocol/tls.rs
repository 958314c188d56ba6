//! TLS on both ports, against a real `wachat serve --tls-cert`
//! whose certificate `wachat cert` made: consoles chatting with ticks and
//! a room, and coming back after a restart; the one-shot commands; a wrong
//! certificate or name refused clearly; plaintext on a TLS port (and TLS on
//! a plaintext port) ended quickly; a handshake that never ends dropped;
//! no direct chat over plaintext.

use super::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use support::console::{Console, connection_args, run_wachat};
use support::tls::{Certs, connect, login_recv, login_send, register, try_connect};
use support::{Conn, READ_TIMEOUT, TestServer};

/// `wachat <command> --user <user> …` to `server` with extra arguments.
fn one_shot(
    server: &TestServer,
    dir: &Path,
    command: &str,
    user: &str,
    extra: &[&str],
) -> support::console::Outcome {
    let mut args: Vec<String> = vec![command.into(), "--user".into(), user.into()];
    args.extend(connection_args(server.send, server.recv, dir));
    args.extend(extra.iter().map(|a| a.to_string()));
    run_wachat(&args, &format!("secret-{user}"), "") // 6 characters at least
}

#[test]
fn wachat_cert_makes_a_key_only_its_owner_reads_and_says_the_fingerprint() {
    use std::os::unix::fs::PermissionsExt;
    let certs = Certs::make(&["127.0.0.1", "chat.example.org"]);
    let mode = std::fs::metadata(certs.key_path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key.pem mode {mode:o}");
    let der = CertificateDer::from_pem_file(certs.cert_path()).unwrap();
    let fingerprint = wachat::transport::tls::fingerprint(&der);
    assert!(certs.printed.contains(&format!("SHA-256 fingerprint: {fingerprint}")), "{}", certs.printed);
    // A second run would replace what clients trust: refused.
    let out = std::process::Command::new(support::wachat_bin())
        .args(["cert", "--host", "x", "--out"])
        .arg(certs.cert_path().parent().unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    // A name no client could connect to: refused before anything is written.
    let dir = tempfile::tempdir().unwrap();
    for host in ["", "chat example.org"] {
        let out = std::process::Command::new(support::wachat_bin())
            .args(["cert", "--host", "127.0.0.1", "--host", host, "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{host:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("--host {host:?}: not a host name")), "{stderr}");
        assert!(!dir.path().join("key.pem").exists() && !dir.path().join("cert.pem").exists());
    }
}

#[test]
fn the_protocol_is_the_same_over_tls_on_both_ports() {
    let certs = Certs::make(&["127.0.0.1"]);
    let server = TestServer::start_with(&certs.serve_args());
    server.wait_for_log("TLS on both ports");
    register(&server, &certs, &["ana", "bob"]);
    let mut ana = login_send(&server, &certs, "ana");
    let mut bob_events = login_recv(&server, &certs, "bob");
    assert!(ana.request("MSG:bob:m1:hola over tls").starts_with("OK:m1:"));
    let event = bob_events.next_msg();
    assert!(event.starts_with("MSG:1:ana:bob:m1:") && event.ends_with(":hola over tls"), "{event}");
    bob_events.send("ACK:1");
    assert_eq!(ana.listing("USERS"), ["bob"]);
    // A large reply, many records long, arrives whole.
    let text = "z".repeat(4000);
    for i in 0..40 {
        assert!(ana.request(&format!("MSG:#general:g{i}:{text}")).starts_with("OK:"));
    }
    let lines = ana.listing("HISTORY:#general:40");
    assert_eq!(lines.len(), 40);
    assert!(lines.iter().all(|l| l.ends_with(&text)));
    // Direct chats are plaintext: a TLS server introduces nobody (1.1).
    let refused = "KO:BAD_REQUEST:direct chats are plaintext; not on a TLS server";
    assert_eq!(ana.request("P2P:7000"), refused);
    assert_eq!(ana.request("PEER:bob"), refused);
    assert_eq!(ana.request("PING"), "OK", "and the connection goes on");
}

#[test]
fn two_consoles_over_tls_chat_see_ticks_use_a_room_and_come_back_after_a_restart() {
    let certs = Certs::make(&["127.0.0.1"]);
    let mut server = TestServer::start_restartable(&certs.serve_args());
    register(&server, &certs, &["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    let tls = ["--ca", certs.ca()];
    let mut ana = Console::start(&server, "ana", dir.path(), &tls);
    ana.expect("connected to 127.0.0.1 as ana");
    let mut bob = Console::start(&server, "bob", dir.path(), &tls);
    bob.expect("connected to 127.0.0.1 as bob");

    bob.type_line("/chat ana");
    // bob reads what lands in the chat he has open: open before ana writes.
    bob.expect("── ana");
    ana.type_line("/chat bob");
    ana.type_line("hola bob");
    bob.expect("ana: hola bob");
    ana.expect("✓✓ read  (to bob: hola bob)");

    bob.type_line("/join #tls");
    ana.type_line("/join #tls");
    ana.expect("joined #tls");
    bob.type_line("@#tls: in the room");
    ana.expect("[#tls] bob: in the room");

    // Direct chats would be plaintext: refused, with the reason.
    ana.type_line("/p2p bob");
    ana.expect("direct chats are not encrypted, so with --tls they are off");

    server.restart_in_place(&certs.serve_args());
    ana.expect("(back online)");
    bob.expect("(back online)");
    ana.type_line("@bob: after the restart");
    bob.expect("ana: after the restart");
    ana.expect("✓✓ read  (to bob: after the restart)"); // bob has the chat open
    assert!(ana.quit("/quit").0.success());
    assert!(bob.quit("/quit").0.success());
}

#[test]
fn one_shot_commands_take_ca_and_a_wrong_certificate_or_name_fails_clearly() {
    let certs = Certs::make(&["127.0.0.1"]);
    let server = TestServer::start_with(&certs.serve_args());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = ["--ca", certs.ca()];
    assert!(one_shot(&server, d, "register", "ana", &ca).status.success());
    assert!(one_shot(&server, d, "register", "bob", &ca).status.success());
    let sent = one_shot(&server, d, "send", "ana", &["--ca", certs.ca(), "--to", "bob", "over", "tls"]);
    assert!(sent.status.success(), "{}", sent.stderr);
    let history = one_shot(&server, d, "history", "bob", &["--ca", certs.ca(), "--with", "ana"]);
    assert!(history.stdout.trim().ends_with("ana: over tls"), "{}", history.stdout);

    // Another server's certificate: not trusted, whatever the name.
    let other = Certs::make(&["127.0.0.1"]);
    let refused = one_shot(&server, d, "users", "ana", &["--ca", other.ca()]);
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("the server's certificate is not signed by anyone trusted"),
        "{}",
        refused.stderr
    );
    // The right authority, the wrong name.
    let elsewhere = Certs::make(&["chat.example.org"]);
    let misnamed = TestServer::start_with(&elsewhere.serve_args());
    let refused = one_shot(&misnamed, d, "users", "ana", &["--ca", elsewhere.ca()]);
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("is for another name than --server"), "{}", refused.stderr);
    // Plaintext to a TLS server: told so, never a silent success.
    let plain = one_shot(&server, d, "users", "ana", &[]);
    assert!(!plain.status.success());
    assert!(plain.stderr.contains("this port speaks TLS"), "{}", plain.stderr);
    // TLS to a plaintext server: said so, no fallback.
    let plaintext_server = TestServer::start();
    let refused = one_shot(&plaintext_server, d, "users", "ana", &ca);
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("the server does not speak TLS on this port"), "{}", refused.stderr);
    // The raw transport says the same for a wrong name.
    let e = try_connect(misnamed.send, &elsewhere.trust(), "127.0.0.1").err().expect("refused");
    assert!(e.to_string().contains("not valid for name"), "{e}");
}

#[test]
fn a_plaintext_client_on_a_tls_port_is_told_in_plaintext_and_closed() {
    let certs = Certs::make(&["127.0.0.1"]);
    let server = TestServer::start_with(&certs.serve_args());
    for addr in [server.send, server.recv] {
        let mut nc = Conn::connect(addr);
        assert_eq!(
            nc.request("LOGIN:ana:pw"),
            "KO:BAD_REQUEST:this port speaks TLS: connect with TLS (wachat --tls or --ca)"
        );
        nc.expect_closed();
    }
    server.wait_for_log("plaintext on a TLS port, closed");
}

#[test]
fn a_handshake_that_never_ends_is_dropped_by_the_timeout() {
    let certs = Certs::make(&["127.0.0.1"]);
    let server = TestServer::start_with(&[certs.serve_args(), vec!["--timeout", "1"]].concat());
    // A TLS record header, then nothing: the handshake never completes.
    let mut slow = TcpStream::connect(server.send).unwrap();
    slow.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    slow.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let mut rest = Vec::new();
    let ended = slow.read_to_end(&mut rest);
    assert!(
        ended.is_ok() || ended.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "still open"
    );
    // The server goes on serving complete handshakes.
    let mut ok = connect(server.send, &certs);
    assert_eq!(ok.request("PING"), "KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>");
}

#[test]
fn a_non_loopback_server_without_tls_warns_once_at_start() {
    let server = TestServer::start_with(&["--host", "0.0.0.0"]);
    let warning = server.wait_for_log("without TLS: passwords and messages travel in clear");
    assert!(warning.contains("WARN"), "{warning}");
    assert_eq!(server.log().iter().filter(|l| l.contains("travel in clear")).count(), 1);
    let certs = Certs::make(&["127.0.0.1"]);
    let tls = TestServer::start_with(&[certs.serve_args(), vec!["--host", "0.0.0.0"]].concat());
    tls.wait_for_log("TLS on both ports");
    assert!(!tls.log().iter().any(|l| l.contains("travel in clear")));
}

#[test]
fn serve_refuses_a_missing_or_mismatched_certificate_with_a_clear_error() {
    let certs = Certs::make(&["127.0.0.1"]);
    let other = Certs::make(&["127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let serve = |cert: &str, key: &str| {
        let args: Vec<String> = ["serve", "--send-port", "0", "--recv-port", "0", "--data-dir", &data]
            .iter()
            .map(|s| s.to_string())
            .chain(["--tls-cert".into(), cert.into(), "--tls-key".into(), key.into()])
            .collect();
        run_wachat(&args, "", "")
    };
    let key_of_other = other.key_path().display().to_string();
    let mismatched = serve(certs.ca(), &key_of_other);
    assert!(!mismatched.status.success());
    assert!(
        mismatched.stderr.contains("is not the key of the certificate in --tls-cert"),
        "{}",
        mismatched.stderr
    );
    let missing = serve("/nonexistent/cert.pem", &key_of_other);
    assert!(!missing.status.success());
    // Named by its flag and its path, checked as the flags are read.
    assert!(
        missing
            .stderr
            .contains("'/nonexistent/cert.pem' for '--tls-cert <FILE>': /nonexistent/cert.pem: No such file"),
        "{}",
        missing.stderr
    );
    let key_as_cert = serve(&key_of_other, &key_of_other);
    assert!(key_as_cert.stderr.contains("no certificate in it"), "{}", key_as_cert.stderr);
}

#[test]
fn a_tls_receiver_that_stops_reading_never_slows_the_sender_and_loses_nothing() {
    let certs = Certs::make(&["127.0.0.1"]);
    // Far longer than the burst takes, even on a loaded machine (1 s
    // quiet, 20 s at a load of 35): bob is cut off by the limit of what
    // may wait for him, never pinged nor timed out for his silence.
    let slow = vec!["--max-pending", "65536", "--rate", "0", "--timeout", "300"];
    let server = TestServer::start_with(&[certs.serve_args(), slow].concat());
    register(&server, &certs, &["ana", "bob"]);
    let mut bob = login_recv(&server, &certs, "bob");
    let mut ana = login_send(&server, &certs, "ana");
    // Bob reads nothing while ana sends 12 MB: the router must not wait for him.
    let text = "t".repeat(4000);
    ana.send_burst("bob", &text, 3000);
    server.wait_for_log("bob: receiver too slow");
    // He gets whole frames, then BYE:SLOW, then the end.
    let lines = bob.read_until_bye("BYE:SLOW");
    for line in &lines {
        assert!(line.starts_with("MSG:") && line.ends_with(&text), "a torn frame: {line:.60}");
    }
    // Everything is still in his inbox (what he acknowledged after the BYE
    // counts for nothing).
    let mut again = login_recv(&server, &certs, "bob");
    let first = again.next_msg();
    assert!(first.starts_with("MSG:1:ana:bob:s0:"), "the inbox starts over: {first:.40}");
    assert!(lines.len() < 3000, "bob was cut off before the end");
}

#[test]
fn the_bench_runs_over_tls() {
    let certs = Certs::make(&["127.0.0.1"]);
    let server =
        TestServer::start_with(&[certs.serve_args(), vec!["--rate", "0", "--exempt", "127.0.0.1"]].concat());
    let (send, recv) = (server.send.port().to_string(), server.recv.port().to_string());
    let args: Vec<String> = ["bench", "--send-port", &send, "--recv-port", &recv, "--pairs", "2"]
        .iter()
        .map(|s| s.to_string())
        .chain(["--messages", "50", "--idle-users", "3", "--ca", certs.ca()].map(String::from))
        .collect();
    let out = run_wachat(&args, "", "");
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("delivered: 100 messages"), "{}", out.stdout);
}
