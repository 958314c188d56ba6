//! A protocol connection of `tests/cluster/ha.rs` that reports
//! failures instead of failing the test: a failover makes them expected.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A protocol connection that reports failures instead of failing the test.
pub struct Line {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    /// What came of a line whose read timed out.
    partial: String,
}

impl Line {
    pub fn open(addr: SocketAddr, login: &str) -> Option<Line> {
        let mut line = Line::connect(addr)?;
        line.request(login).filter(|r| r.starts_with("OK"))?;
        Some(line)
    }

    /// [`Line::open`], and what the login got: its answer, or `(no
    /// answer)` (connection refused, closed, or no line within the read
    /// timeout).
    pub fn open_saying(addr: SocketAddr, login: &str) -> (Option<Line>, String) {
        let Some(mut line) = Line::connect(addr) else { return (None, "(no connection)".into()) };
        match line.request(login) {
            Some(answer) if answer.starts_with("OK") => (Some(line), answer),
            Some(answer) => (None, answer),
            None => (None, "(no answer)".into()),
        }
    }

    pub fn connect(addr: SocketAddr) -> Option<Line> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        Some(Line {
            reader: BufReader::new(stream.try_clone().ok()?),
            writer: stream,
            partial: String::new(),
        })
    }

    /// The next line within `within`: `Ok(None)` if none came by then,
    /// `Err` if the connection ended.
    pub fn read_within(&mut self, within: Duration) -> Result<Option<String>, ()> {
        self.writer.set_read_timeout(Some(within)).map_err(drop)?;
        let read = self.reader.read_line(&mut self.partial);
        self.writer.set_read_timeout(Some(Duration::from_secs(20))).map_err(drop)?;
        match read {
            Ok(0) => Err(()),
            Ok(_) => Ok(Some(std::mem::take(&mut self.partial).trim_end().to_string())),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Ok(None)
            }
            Err(_) => Err(()),
        }
    }

    /// A listing's lines (`OK:<n>` and n lines), or its refusal alone.
    pub fn listing(&mut self, frame: &str) -> Vec<String> {
        let Some(head) = self.request(frame) else { return vec!["(no answer)".into()] };
        match head.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => (0..n).map(|_| self.read().unwrap_or_default()).collect(),
            None => vec![head],
        }
    }

    pub fn send(&mut self, frame: &str) -> Option<()> {
        self.writer.write_all(format!("{frame}\n").as_bytes()).ok()
    }

    pub fn read(&mut self) -> Option<String> {
        match self.reader.read_line(&mut self.partial) {
            Ok(n) if n > 0 => Some(std::mem::take(&mut self.partial).trim_end().to_string()),
            _ => None,
        }
    }

    pub fn request(&mut self, frame: &str) -> Option<String> {
        self.send(frame)?;
        self.read()
    }
}
