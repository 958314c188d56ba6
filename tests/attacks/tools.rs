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
