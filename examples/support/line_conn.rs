//! A line connection to a `wachat serve` started by an example: what the
//! cost examples (`devices_cost`, `flood_costs`, `room_flood`) write and
//! read raw, so that the frames they measure are the frames on the wire.
//! Included with `#[path = "support/line_conn.rs"] mod line_conn;`.
// Each example uses part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The `wachat` to measure: `$WACHAT_BIN`, or the one built beside the
/// example (`target/release/wachat`).
pub fn wachat_bin() -> String {
    std::env::var("WACHAT_BIN").unwrap_or_else(|_| {
        let exe = std::env::current_exe().expect("the example's path");
        exe.parent().and_then(|p| p.parent()).expect("target/release").join("wachat").display().to_string()
    })
}

/// Starts `wachat serve` on free ports with `args` (a `--data-dir` among
/// them), and returns it with its send and receive addresses, read from
/// its log; the rest of the log is read away so that it never blocks.
pub fn spawn_serve<S: AsRef<OsStr>>(args: &[S]) -> Result<(Child, SocketAddr, SocketAddr)> {
    let mut child = Command::new(wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--kdf-cost", "8"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut log = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut addr = |what: &str| -> Result<SocketAddr> {
        loop {
            let mut line = String::new();
            if log.read_line(&mut line)? == 0 {
                return Err("the server ended before listening".into());
            }
            if let Some(addr) = line.split(what).nth(1) {
                return Ok(addr.trim().parse()?);
            }
        }
    };
    let (send, recv) = (addr("listening: send ")?, addr("listening: receive ")?);
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    Ok((child, send, recv))
}

/// Stops a server as its operator does (`sys::signals::terminate`:
/// SIGTERM; on Windows, at once), waiting up to 15 s for it to end, then
/// kills it: a cluster node that stops so lets its lease go, and the next
/// node started on the database leads at once.
pub fn stop(child: &mut Child) {
    if wachat::sys::signals::terminate(child).is_ok() {
        for _ in 0..150 {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100)); // polling the child's end
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One TCP connection, read a line at a time (each read waits 60 s at most).
pub struct Conn {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Result<Conn> {
        Conn::from_stream(TcpStream::connect(addr)?)
    }

    /// A connection the example opened itself (from a source address of
    /// its choice, for one).
    pub fn from_stream(stream: TcpStream) -> Result<Conn> {
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Conn { reader: BufReader::new(stream.try_clone()?), stream })
    }

    /// Writes `bytes` as they are: one frame or a burst of them, each
    /// ending in `\n`.
    pub fn send(&mut self, bytes: &str) -> Result<()> {
        Ok(self.stream.write_all(bytes.as_bytes())?)
    }

    /// The next line, without its `\n`; an error once the server closed.
    pub fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("closed".into());
        }
        Ok(line.trim_end().to_string())
    }

    /// Sends one frame and reads the one line that answers it.
    pub fn request(&mut self, frame: &str) -> Result<String> {
        self.send(&format!("{frame}\n"))?;
        self.line()
    }
}
