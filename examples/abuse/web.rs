//! The attacks on the web port: WebSockets opened by hand, with
//! masked frames written byte by byte, doing what no browser does.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Result;
use super::harness::Server;

/// 8 WebSockets that ping and never read, before any login; then 8
/// logged-in ones that read 4 KiB a second while they ping, past
/// `--timeout`. The server's RSS, before and at its peak.
pub fn ws_pongs() -> Result<()> {
    let timeout = 5;
    for (reading, seconds) in [(false, 10), (true, 4 * timeout)] {
        let server = Server::start(&["--web-port", "0", "--timeout", &timeout.to_string()])?;
        let web = server.web()?;
        if reading {
            for i in 0..8 {
                server.user(&format!("ana{i}"))?;
            }
        }
        std::thread::sleep(Duration::from_millis(500)); // settled
        let idle = server.rss_kib();
        let closed = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let until = started + Duration::from_secs(seconds);
        let mut floods = Vec::new();
        for i in 0..8 {
            let mut ws = handshake(web, "/ws/send")?;
            if reading {
                ws.write_all(&text_frame(&format!("LOGIN:ana{i}:pw-ana{i}")))?;
                let mut ok = [0u8; 9]; // a text frame of "OK:anaN"
                ws.read_exact(&mut ok)?;
                if &ok[2..5] != b"OK:" {
                    return Err(format!("LOGIN: {}", String::from_utf8_lossy(&ok)).into());
                }
            }
            let closed = closed.clone();
            floods.push(std::thread::spawn(move || {
                if ping(&mut ws, reading, until) {
                    closed.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let mut peak = idle;
        while Instant::now() < until {
            peak = peak.max(server.rss_kib());
            std::thread::sleep(Duration::from_millis(50));
        }
        for flood in floods {
            let _ = flood.join();
        }
        let what = if reading { "logged in, reading 4 KiB/s" } else { "before any login, never reading" };
        println!("8 WebSockets pinging for {seconds} s, {what} (--timeout {timeout})");
        println!("  RSS idle:          {:.1} MiB", idle as f64 / 1024.0);
        println!("  RSS growth (peak): {:.1} MiB (goal: < 50)", (peak - idle) as f64 / 1024.0);
        println!("  closed by the server: {} of 8", closed.load(Ordering::Relaxed));
    }
    Ok(())
}

/// Pings as fast as the socket takes them until `until`, reading nothing,
/// or 4 KiB a second if `reading`; true if the server closed first.
fn ping(ws: &mut TcpStream, reading: bool, until: Instant) -> bool {
    let _ = ws.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = ws.set_read_timeout(Some(Duration::from_millis(1)));
    // Whole frames, so that a write taken in part goes on where it stopped.
    let batch = ping_frame().repeat(1000);
    let (mut at, mut next_read) = (0, Instant::now());
    while Instant::now() < until {
        match ws.write(&batch[at..]) {
            Ok(0) => return true,
            Ok(n) => at = (at + n) % batch.len(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
        if reading && Instant::now() >= next_read {
            next_read += Duration::from_secs(1);
            match ws.read(&mut [0u8; 4096]) {
                Ok(0) => return true,
                Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return true,
                _ => {}
            }
        }
    }
    false
}

/// A WebSocket to `path`, its handshake answered (no `Origin`: a tool).
fn handshake(web: SocketAddr, path: &str) -> Result<TcpStream> {
    let mut tcp = TcpStream::connect(web)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte)? == 0 {
            return Err("closed during the handshake".into());
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101 ") {
        return Err(String::from_utf8_lossy(&head).into_owned().into());
    }
    Ok(tcp)
}

/// A client's frame (masked): `opcode` and a payload under 126 bytes.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [7u8, 1, 9, 3];
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A ping with the largest payload a control frame may carry.
fn ping_frame() -> Vec<u8> {
    frame(9, &[b'p'; 125])
}

fn text_frame(text: &str) -> Vec<u8> {
    frame(1, text.as_bytes())
}
