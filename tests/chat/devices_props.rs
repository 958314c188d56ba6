//! Property: random interleavings of sends, ACKs, reads and
//! device reconnections never lose or duplicate an event for any device.
//!
//! One real server per case; ana has three devices (two speak 1.2, one is
//! a 1.0 client, the device `default`), bob sends to her. A model keeps
//! ana's inbox (every event's frame, numbered) and, per device, the last
//! number it acknowledged. After every step each online device must have
//! received exactly the events the model says, in order: on a (re)connect,
//! every event after its own last `ACK` (no loss, no duplicate), then each
//! new one live; a 1.0 device never gets a `READMARK` or a copy.

use super::support;

use proptest::prelude::*;
use support::{Conn, TestServer, without_ts};

#[derive(Clone, Debug)]
enum Op {
    /// bob sends a message to ana (`to_room`: to `#general`).
    Send { to_room: bool },
    /// ana sends a message to bob, from her send connection.
    Own,
    /// Device `d` acknowledges everything it has.
    Ack { d: usize },
    /// ana reads bob's latest message.
    Read,
    /// Device `d` acknowledges, hangs up and logs in again.
    Reconnect { d: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(|to_room| Op::Send { to_room }),
        1 => Just(Op::Own),
        3 => (0..DEVICES).prop_map(|d| Op::Ack { d }),
        1 => Just(Op::Read),
        2 => (0..DEVICES).prop_map(|d| Op::Reconnect { d }),
    ]
}

const DEVICES: usize = 3;
/// Device 2 is the 1.0 client (no device named, no `VERSION`).
const OLD: usize = 2;

/// What a device is sent, by the model: a number and a frame without its `<ts>`.
#[derive(Clone, Debug, PartialEq)]
struct Event {
    seq: u64,
    frame: String,
    /// Only for 1.2 connections (a copy, a `READMARK`).
    v12: bool,
}

struct Device {
    conn: Conn,
    /// The last number it acknowledged.
    acked: u64,
    /// The last number it received.
    got: u64,
}

fn connect(server: &TestServer, d: usize) -> Conn {
    let mut c = server.recv_conn();
    if d == OLD {
        assert_eq!(c.request("LOGIN:ana:pw-ana"), "OK:ana");
    } else {
        assert_eq!(c.request("VERSION:1.2"), "OK");
        assert_eq!(c.request(&format!("LOGIN:ana@d{d}:pw-ana")), "OK:ana");
    }
    c
}

/// The frame of an event without its `<ts>` (`MSG`, `STATUS`, `READMARK`).
fn shape(line: &str) -> String {
    match line.rsplit_once(':') {
        Some((head, ts)) if line.starts_with("READMARK:") && ts.parse::<u64>().is_ok() => {
            format!("{head}:<ts>")
        }
        _ => without_ts(line),
    }
}

/// Reads what `device` must have been sent since its last check.
fn expect(device: &mut Device, d: usize, inbox: &[Event]) -> Result<(), TestCaseError> {
    for event in inbox.iter().filter(|e| e.seq > device.got) {
        if d == OLD && event.v12 {
            continue;
        }
        let line = loop {
            let line = device.conn.line();
            match line.as_str() {
                "PING" => device.conn.send("PONG"),
                l if l.starts_with("JOINED:") || l.starts_with("LEFT:") => {}
                _ => break line,
            }
        };
        prop_assert_eq!(shape(&line), event.frame.clone(), "device {}", d);
    }
    device.got = inbox.last().map_or(0, |e| e.seq);
    Ok(())
}

proptest! {
    // A server per case: 12 cases in CI; `PROPTEST_CASES=200` for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_device_loses_or_gets_twice_an_event(ops in proptest::collection::vec(op(), 1..30)) {
        let server = TestServer::start();
        server.register(&["ana", "bob"]);
        let mut bob = server.login_send("bob", "pw-bob");
        let mut ana = server.login_send("ana", "pw-ana");
        let mut devices: Vec<Device> =
            (0..DEVICES).map(|d| Device { conn: connect(&server, d), acked: 0, got: 0 }).collect();
        let mut inbox: Vec<Event> = Vec::new();
        let (mut sent, mut latest_from_bob, mut read) = (0, None::<String>, None::<String>);
        for op in &ops {
            let next = inbox.last().map_or(1, |e| e.seq + 1);
            match op {
                Op::Send { to_room } => {
                    sent += 1;
                    let (to, id) = (if *to_room { "#general" } else { "ana" }, format!("b{sent}"));
                    let ok = bob.request(&format!("MSG:{to}:{id}:hi {sent}"));
                    prop_assert!(ok.starts_with("OK:"), "{}", ok);
                    let frame = format!("MSG:{next}:bob:{to}:{id}:<ts>:hi {sent}");
                    inbox.push(Event { seq: next, frame, v12: false });
                    if !to_room {
                        latest_from_bob = Some(id);
                    }
                }
                Op::Own => {
                    sent += 1;
                    let id = format!("a{sent}");
                    let ok = ana.request(&format!("MSG:bob:{id}:mine {sent}"));
                    prop_assert!(ok.starts_with("OK:"), "{}", ok);
                    let frame = format!("MSG:{next}:ana:bob:{id}:<ts>:mine {sent}");
                    inbox.push(Event { seq: next, frame, v12: true });
                }
                Op::Ack { d } => {
                    let device = &mut devices[*d];
                    device.conn.send(&format!("ACK:{}", device.got));
                    device.acked = device.got;
                }
                Op::Read => {
                    if let Some(id) = &latest_from_bob && read.as_ref() != Some(id) {
                        prop_assert_eq!(ana.request(&format!("READ:bob:{id}")), "OK");
                        let frame = format!("READMARK:{next}:bob:{id}:<ts>");
                        inbox.push(Event { seq: next, frame, v12: true });
                        read = Some(id.clone());
                    }
                }
                Op::Reconnect { d } => {
                    let device = &mut devices[*d];
                    device.conn.send(&format!("ACK:{}", device.got));
                    device.acked = device.got;
                    // The server reads the ACK before it sees the end.
                    device.conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
                    prop_assert_eq!(device.conn.read_to_close(), "");
                    device.conn = connect(&server, *d);
                    device.got = device.acked;
                }
            }
            // bob's STATUS events are his; ana's devices each get theirs.
            for (d, device) in devices.iter_mut().enumerate() {
                expect(device, d, &inbox)?;
            }
        }
    }
}
