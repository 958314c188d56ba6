//! The upper bound for `wachat bench`: a relay with a thread per connection
//! that speaks just enough of the protocol for the bench (REGISTER/LOGIN,
//! MSG → OK and a MSG event to the recipient, ACK/PONG ignored) and does
//! nothing else: no disk, no history, no states, no inbox, no checks.
//! Whatever wachat reaches is read as a fraction of what this reaches on the
//! same machine (see BENCHMARKS.md).
//!
//!     cargo run --release --example bare_relay -- 7001 7002
//!     wachat bench --send-port 7001 --recv-port 7002 --pairs 100 --messages 3000
//!
//! Like wachat it writes everything already queued for a socket in one
//! `write()`, so the comparison is about the work, not the syscalls.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// user → (its receive socket, its next sequence number)
type Online = Arc<Mutex<HashMap<String, (TcpStream, u64)>>>;

fn main() -> std::io::Result<()> {
    let ports: Vec<u16> = std::env::args().skip(1).map(|p| p.parse().expect("a port")).collect();
    let (send_port, recv_port) =
        (ports.first().copied().unwrap_or(7001), ports.get(1).copied().unwrap_or(7002));
    let online: Online = Arc::default();
    let recv = TcpListener::bind(("127.0.0.1", recv_port))?;
    let online_recv = online.clone();
    std::thread::spawn(move || accept(recv, online_recv, receive_side));
    println!("bare relay: send 127.0.0.1:{send_port}, receive 127.0.0.1:{recv_port}");
    accept(TcpListener::bind(("127.0.0.1", send_port))?, online, send_side);
    Ok(())
}

fn accept(listener: TcpListener, online: Online, serve: fn(TcpStream, Online) -> Option<()>) {
    for stream in listener.incoming().flatten() {
        let _ = stream.set_nodelay(true); // as wachat: no Nagle delay on small frames
        let online = online.clone();
        std::thread::spawn(move || serve(stream, online));
    }
}

/// Reads the first frame (LOGIN/REGISTER) and answers `OK:<user>`.
fn login(stream: &TcpStream, reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let user = line.trim_end().split(':').nth(1)?.to_string();
    (&*stream).write_all(format!("OK:{user}\n").as_bytes()).ok()?;
    Some(user)
}

fn receive_side(stream: TcpStream, online: Online) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let user = login(&stream, &mut reader)?;
    online.lock().unwrap().insert(user, (stream.try_clone().ok()?, 0));
    // Read (and ignore) ACKs and PONGs until the client leaves.
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 0 {
        line.clear();
    }
    Some(())
}

fn send_side(mut stream: TcpStream, online: Online) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let user = login(&stream, &mut reader)?;
    let (mut replies, mut events) = (String::new(), HashMap::<String, String>::new());
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 0 {
        let fields: Vec<&str> = line.trim_end().splitn(4, ':').collect();
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis();
        match fields[..] {
            ["MSG", to, id, text] => {
                replies.push_str(&format!("OK:{id}:{ts}\n"));
                events
                    .entry(to.to_string())
                    .or_default()
                    .push_str(&format!("{user}:{to}:{id}:{ts}:{text}\n"));
            }
            _ => replies.push_str("OK\n"),
        }
        line.clear();
        if !reader.buffer().contains(&b'\n') {
            // Everything buffered is handled: one write per socket.
            deliver(&online, &mut events);
            stream.write_all(replies.as_bytes()).ok()?;
            replies.clear();
        }
    }
    Some(())
}

/// Numbers and writes the events of a burst, one write per recipient.
fn deliver(online: &Online, events: &mut HashMap<String, String>) {
    let mut online = online.lock().unwrap();
    for (to, lines) in events.drain() {
        if let Some((stream, seq)) = online.get_mut(&to) {
            let mut out = String::with_capacity(lines.len() + 64);
            for line in lines.lines() {
                *seq += 1;
                out.push_str(&format!("MSG:{seq}:{line}\n"));
            }
            let _ = stream.write_all(out.as_bytes());
        }
    }
}
