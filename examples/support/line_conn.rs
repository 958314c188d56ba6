//! A line connection to a `wachat serve` started by an example: what the
//! cost examples (`devices_cost`, `flood_costs`, `room_flood`) write and
//! read raw, so that the frames they measure are the frames on the wire.
//! Included with `#[path = "support/line_conn.rs"] mod line_conn;`.
// Each example uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

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
