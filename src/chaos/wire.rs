//! A user's connection to its proxy: lines in and out, each one written
//! into the [`Journal`] with the connection's number.
//!
//! Every read has a deadline and a line is at most
//! [`MAX_LINE`](crate::conform::wire::MAX_LINE) bytes: the server under test
//! may be anyone's, and chaos must not hang or grow because of it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::history::{Device, Dir, Journal};
use super::schedule::Port;
use crate::conform::wire::MAX_LINE;

/// What a read ended with, when not a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// Nothing within the wait: the connection may still be fine.
    Silent,
    /// Closed, reset, or not speaking lines: log in again.
    Closed,
}

pub struct Line {
    stream: TcpStream,
    pending: Vec<u8>,
    pub conn: u64,
    user: usize,
    device: Device,
    port: Port,
    journal: Arc<Journal>,
}

impl Line {
    pub fn open(
        addr: SocketAddr,
        (user, device): (usize, Device),
        port: Port,
        journal: &Arc<Journal>,
    ) -> Option<Line> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_nodelay(true).ok();
        let conn = journal.new_conn();
        Some(Line { stream, pending: Vec::new(), conn, user, device, port, journal: journal.clone() })
    }

    /// Writes one frame; false when the connection failed.
    pub fn send(&mut self, text: &str) -> bool {
        // A password never reaches a report.
        let shown = match crate::protocol::Request::parse(text) {
            Ok(request) => request.redacted(),
            Err(_) => text.to_string(),
        };
        self.journal.frame((self.user, self.device), self.conn, self.port, Dir::Out, &shown);
        self.stream.set_write_timeout(Some(Duration::from_secs(5))).ok();
        self.stream.write_all(format!("{text}\n").as_bytes()).is_ok()
    }

    /// The next line within `wait`.
    pub fn read(&mut self, wait: Duration) -> Result<String, Gone> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                let mut raw: Vec<u8> = self.pending.drain(..=at).collect();
                raw.pop();
                if raw.last() == Some(&b'\r') {
                    raw.pop();
                }
                let line = String::from_utf8_lossy(&raw).into_owned();
                self.journal.frame((self.user, self.device), self.conn, self.port, Dir::In, &line);
                return Ok(line);
            }
            if self.pending.len() > MAX_LINE {
                return Err(Gone::Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Gone::Silent);
            }
            self.stream.set_read_timeout(Some(left)).ok();
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Gone::Closed),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Err(Gone::Closed),
            }
        }
    }

    /// Sends a request and reads its first reply line.
    pub fn request(&mut self, text: &str, wait: Duration) -> Result<String, Gone> {
        if !self.send(text) {
            return Err(Gone::Closed);
        }
        self.read(wait)
    }

    /// A listing's `n` lines after its `OK:<n>`.
    pub fn listing(&mut self, text: &str, wait: Duration) -> Result<Vec<String>, Gone> {
        let head = self.request(text, wait)?;
        let n = match crate::protocol::Reply::parse(&head) {
            Ok(crate::protocol::Reply::OkWith(n)) => n.parse::<usize>().map_err(|_| Gone::Closed)?,
            _ => return Err(Gone::Closed),
        };
        (0..n).map(|_| self.read(wait)).collect()
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.stream.shutdown(Shutdown::Both).ok();
    }
}
