//! A user's connection to its proxy: lines in and out, each one written
//! into the [`Journal`] with the connection's number.
//!
//! Lines are read by [`client::wire`](crate::client::wire): every read
//! has a deadline and a line is at most [`MAX_LINE`] bytes, since the
//! server under test may be anyone's, and chaos must not hang or grow
//! because of it.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::history::{DeviceIndex, Journal, Way};
use crate::client::wire::{MAX_LINE, NoLine, ReadHalf};
use crate::protocol::Port;
use crate::transport::{SharedStream, Stream};

/// What a read ended with, when not a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// Nothing within the wait: the connection may still be fine.
    Silent,
    /// Closed, reset, or not speaking lines: log in again.
    Closed,
}

pub struct Wiretap {
    /// The stream, written here and read by `lines`.
    stream: SharedStream,
    lines: ReadHalf,
    pub conn: u64,
    user: usize,
    device: DeviceIndex,
    port: Port,
    journal: Arc<Journal>,
}

impl Wiretap {
    pub fn open(
        addr: SocketAddr,
        (user, device): (usize, DeviceIndex),
        port: Port,
        journal: &Arc<Journal>,
    ) -> Option<Wiretap> {
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        tcp.set_nodelay(true).ok();
        let stream = SharedStream(Arc::new(Stream::plain(tcp)));
        let lines = ReadHalf::new(stream.clone(), 8192, MAX_LINE);
        let conn = journal.new_conn();
        Some(Wiretap { stream, lines, conn, user, device, port, journal: journal.clone() })
    }

    /// Writes one frame; false when the connection failed.
    pub fn send(&mut self, text: &str) -> bool {
        // A password never reaches a report.
        let shown = match crate::protocol::Request::parse(text) {
            Ok(request) => request.redacted(),
            Err(_) => text.to_string(),
        };
        self.journal.frame((self.user, self.device), self.conn, self.port, Way::Out, &shown);
        self.stream.0.set_write_timeout(Some(Duration::from_secs(5))).ok();
        (&*self.stream.0).write_all(format!("{text}\n").as_bytes()).is_ok()
    }

    /// The next line within `wait`.
    pub fn read(&mut self, wait: Duration) -> Result<String, Gone> {
        match self.lines.next_by(Instant::now() + wait) {
            Ok(line) => {
                self.journal.frame((self.user, self.device), self.conn, self.port, Way::In, &line);
                Ok(line)
            }
            Err(NoLine::Silent) => Err(Gone::Silent),
            Err(NoLine::Closed { .. } | NoLine::TooLong | NoLine::Failed(_)) => Err(Gone::Closed),
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

impl Drop for Wiretap {
    fn drop(&mut self) {
        self.stream.0.shutdown(Shutdown::Both).ok();
    }
}
