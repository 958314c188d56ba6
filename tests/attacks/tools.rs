//! Attacks on the teacher's tools rather than on the server: an endpoint
//! or a "server" that a hostile student runs, read by `wachat top` and
//! `wachat conform`. Each must give up in a stated time and show nothing
//! it was not told.

use super::support;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::run_wachat_output;

/// A `--metrics` endpoint that answers every `GET` a byte every 100 ms,
/// for ever.
fn dripping_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n# HELP wachat_x drip\n";
                for byte in answer.bytes().cycle() {
                    if stream.write_all(&[byte]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100)); // the drip itself
                }
            });
        }
    });
    addr
}

#[test]
fn top_once_gives_up_on_an_endpoint_that_drips() {
    let addr = dripping_endpoint();
    let started = Instant::now();
    let out = run_wachat_output("top", &[&addr, "--once", "--interval", "0.1"], Duration::from_secs(30));
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "top succeeded on a drip: {}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("no whole answer within 5 s"), "{stderr}");
    assert!(took < Duration::from_secs(15), "gave up after {took:?}");
}

/// A student's restart command that prints escape sequences (a new
/// window title, a cleared screen) and 100,000 bytes: `conform` keeps its
/// output off the teacher's terminal, shown in the transcript only cut
/// and with its control characters made visible.
#[test]
fn conform_s_restart_command_prints_nothing_raw_on_the_teacher_s_terminal() {
    let server = support::TestServer::start_with(&["--exempt", "127.0.0.1"]);
    let command = "printf 'restarted\\033]0;pwned\\007\\033[2J'; head -c 100000 /dev/zero | tr '\\0' y";
    let send = server.send.port().to_string();
    let recv = server.recv.port().to_string();
    let args = ["server", "127.0.0.1", "--send-port", &send, "--recv-port", &recv, "--only", "restart"];
    let args: Vec<&str> =
        args.into_iter().chain(["--allow-restart", command, "--html", "/dev/null"]).collect();
    let out = run_wachat_output("conform", &args, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("restart"), "the restart group ran:\n{stdout}");
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !bytes.iter().any(|&b| b == 0x1b || b == 0x07),
            "{name} holds a raw control character:\n{text}"
        );
        assert!(!text.contains(&"y".repeat(3000)), "{name} holds the command's whole output");
    }
}

/// A "server" at lab2's roster address that answers every hello with a
/// crafted refusal naming the roster's fingerprint for lab1, as a real
/// server's refusal of the suite's probe does: the teacher's `conform
/// federation --class` table must not say `ok` for it (it cannot show
/// the key the roster names).
#[test]
fn a_server_that_answers_every_hello_with_a_crafted_ko_is_not_ok_in_the_class_table() {
    const PRINT: &str =
        "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB";
    use std::io::{BufRead, BufReader};
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = fake.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in fake.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(stream.try_clone().unwrap()).read_line(&mut line).is_ok() {
                let _ = writeln!(
                    stream,
                    "KO:AUTH_FAILED:this link's key is not lab1's (the roster's fingerprint for it is {PRINT})"
                );
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("class.csv");
    // Each server its own key (a roster giving one key to two is refused).
    let lab2_print = PRINT.replace("AB", "CD");
    std::fs::write(&roster, format!("lab1,127.0.0.1,{port},{PRINT}\nlab2,127.0.0.1,{port},{lab2_print}\n"))
        .unwrap();
    let out = run_wachat_output(
        "conform",
        &["federation", "--class", roster.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 of 2 links can be made"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("key!"), "{stdout}");
}
