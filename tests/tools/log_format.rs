//! `wachat serve --log-format json`: every line the server writes, on
//! stdout and stderr, start-up errors included, is one JSON object with
//! `timestamp`, `level`, `target` and `message`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{self, wachat_bin};

/// Checks that `line` is one JSON object with the four keys as strings;
/// returns it.
fn object(line: &str) -> serde_json::Map<String, serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let object = value.as_object().unwrap_or_else(|| panic!("not an object: {line}")).clone();
    for key in ["timestamp", "level", "target", "message"] {
        assert!(object.get(key).is_some_and(|v| v.is_string()), "no {key} in {line}");
    }
    let ts = object["timestamp"].as_str().unwrap();
    assert!(ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "RFC 3339, UTC: {ts}");
    object
}

#[test]
fn every_line_of_a_running_server_is_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(wachat_bin())
        .args(["serve", "--log-format", "json", "--send-port", "0", "--recv-port", "0", "--web-port", "off"])
        .args(["--kdf-cost", "8", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let send = loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("a log line");
        let object = object(&line);
        seen.push(line.clone());
        let message = object["message"].as_str().unwrap();
        if let Some(addr) = message.strip_prefix("listening: send ") {
            break addr.trim().to_string();
        }
    };
    assert!(
        seen.iter().any(|l| l.contains("\"level\":\"INFO\"") && l.contains("\"target\":\"wachat::")),
        "{seen:?}"
    );
    // A line about a client's doing: a message with quotes and a control
    // character stays one line, one object.
    let mut conn = std::net::TcpStream::connect(&send).unwrap();
    std::io::Write::write_all(&mut conn, b"LOGIN:\"ana\x1b[2J:x\n").unwrap();
    drop(conn);
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = support::wait_with_timeout(&mut child, Duration::from_secs(30));
    for line in rx.try_iter().chain(std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(2)).ok())) {
        object(&line);
        seen.push(line);
    }
    assert!(status.success(), "{seen:?}");
    let stdout = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    assert!(stdout.lines().all(|l| !object(l).is_empty()), "{stdout}");
}

#[test]
fn a_start_up_error_and_a_bad_flag_are_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let data = file.to_str().unwrap();
    let out = support::run_wachat_output(
        "serve",
        &[
            "--log-format",
            "json",
            "--send-port",
            "0",
            "--recv-port",
            "0",
            "--web-port",
            "off",
            "--data-dir",
            data,
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().expect("an error line");
    for line in stderr.lines() {
        object(line);
    }
    let error = object(last);
    assert_eq!(error["level"], "ERROR", "{stderr}");
    assert!(error["message"].as_str().unwrap().contains("a-file"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = support::run_wachat_output(
        "serve",
        &["--log-format=json", "--send-prot", "1"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "a usage error's code, as clap gives it");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let error = object(stderr.trim_end());
    assert!(error["message"].as_str().unwrap().contains("--send-prot"), "{stderr}");
    // The same mistake without the flag: today's text.
    let out = support::run_wachat_output("serve", &["--send-prot", "1"], Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: unexpected argument"));
}
