//! The suite's side of a connection: raw lines to and from a server under
//! test, every one of them written down in a [`Transcript`] with the time
//! it passed, so that a failing case can show exactly what was said.
//!
//! Nothing here trusts the other side: lines are read by
//! [`client::wire`](crate::client::wire), with a deadline each, at most
//! [`MAX_LINE`] bytes, and bytes that are not UTF-8 shown, not refused (a
//! student's server may well send them).

use std::io::Write;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};

use crate::client::wire::{MAX_LINE, NoLine, ReadHalf};
use crate::transport::{SharedStream, Stream, Tls};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::failure::Failure;
use crate::protocol::{Code, Event, Reply};

/// Who said a line: the suite (`>`), the other side (`<`), or a remark of
/// the suite about what happened (`!`: a close, an expectation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Sent,
    Got,
    Note,
}

/// One line of a transcript.
#[derive(Clone, Debug)]
pub struct TranscriptLine {
    /// Milliseconds since the case began.
    pub at_ms: u64,
    /// The connection's label (`A`, `B`, …), as in docs/PROTOCOL.md.
    pub conn: String,
    pub dir: Dir,
    pub text: String,
}

/// How many lines of a long transcript a report shows from its start, and
/// from its end ([`Transcript::excerpt`]).
const REPORT_HEAD: usize = 50;
const REPORT_TAIL: usize = 150;

/// Everything one case said and heard, shared by its connections.
#[derive(Clone)]
pub struct Transcript {
    start: Instant,
    lines: Arc<Mutex<Vec<TranscriptLine>>>,
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript { start: Instant::now(), lines: Arc::default() }
    }

    pub fn push(&self, conn: &str, dir: Dir, text: &str) {
        let at_ms = self.start.elapsed().as_millis() as u64;
        // The longest frames (16 KiB of x) would drown the report.
        let text = match text.char_indices().nth(160) {
            Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
            None => text.to_string(),
        };
        let line = TranscriptLine { at_ms, conn: conn.to_string(), dir, text };
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    pub fn lines(&self) -> Vec<TranscriptLine> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lines a report shows: all of them, or, for a case that says
    /// thousands (a long inbox), the first [`REPORT_HEAD`] and the last
    /// [`REPORT_TAIL`], where a failure shows, with a note of how many
    /// are left out between them.
    pub fn excerpt(&self) -> Vec<TranscriptLine> {
        let mut lines = self.lines();
        if lines.len() <= REPORT_HEAD + REPORT_TAIL {
            return lines;
        }
        let tail = lines.split_off(lines.len() - REPORT_TAIL);
        let left_out = lines.split_off(REPORT_HEAD);
        let text = format!("… {} lines left out …", left_out.len());
        lines.push(TranscriptLine { at_ms: left_out[0].at_ms, conn: String::new(), dir: Dir::Note, text });
        lines.extend(tail);
        lines
    }

    /// Copies into this transcript the lines `other` took from the moment
    /// `since` on, timed from this one's start, and keeps the lines in the
    /// order of their times: what a connection that outlives a case (a
    /// peer's link to `wachat conform federation`) said during the case.
    pub fn merge(&self, other: &Transcript, since: Instant) {
        let from_ms = since.saturating_duration_since(other.start).as_millis() as u64;
        let shift = |at_ms: u64| {
            let at = other.start + std::time::Duration::from_millis(at_ms);
            at.saturating_duration_since(self.start).as_millis() as u64
        };
        let theirs: Vec<TranscriptLine> = other
            .lines()
            .into_iter()
            .filter(|l| l.at_ms >= from_ms)
            .map(|l| TranscriptLine { at_ms: shift(l.at_ms), ..l })
            .collect();
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.extend(theirs);
        lines.sort_by_key(|l| l.at_ms); // stable: lines of one moment keep their order
    }
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

/// A connection to the server under test (plaintext or TLS), with a
/// label for the transcript.
pub struct Conn {
    /// The stream, written here and read by `lines`.
    stream: SharedStream,
    lines: ReadHalf,
    label: String,
    transcript: Transcript,
    /// How long a read waits for a line that must come.
    pub wait: Duration,
    /// How long the server may take to close a connection it must close:
    /// less than its timeout, so that a close for silence does not count.
    pub close_wait: Duration,
    closed: bool,
}

impl Conn {
    pub fn open(
        addr: &str,
        tls: Option<&Tls>,
        label: &str,
        transcript: &Transcript,
        wait: Duration,
    ) -> Result<Conn, Failure> {
        let fail = |e: std::io::Error| Failure::new(format!("connect to {addr}"), format!("error: {e}"));
        let target = addr.to_socket_addrs().map_err(fail)?.next();
        let target = target.ok_or_else(|| Failure::new(format!("an address for {addr}"), "none"))?;
        let tcp = TcpStream::connect_timeout(&target, wait).map_err(fail)?;
        tcp.set_nodelay(true).ok();
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let stream = Stream::connect(tcp, tls, host, Instant::now() + wait)
            .map_err(|e| Failure::new(format!("a TLS handshake with {addr}"), format!("error: {e}")))?;
        transcript.push(label, Dir::Note, &format!("connected to {addr}"));
        Ok(Conn::new(stream, label, transcript, wait))
    }

    /// A connection accepted by the suite playing a server (`wachat
    /// conform client`, `federation`); `who` says who connected.
    pub fn accepted(tcp: TcpStream, label: &str, transcript: &Transcript, wait: Duration, who: &str) -> Conn {
        tcp.set_nodelay(true).ok();
        transcript.push(label, Dir::Note, &format!("{who} connected"));
        Conn::new(Stream::plain(tcp), label, transcript, wait)
    }

    /// As [`Conn::accepted`], TLS with `config` (the suite's link port):
    /// the handshake happens as the first line is read.
    pub fn accepted_tls(
        tcp: TcpStream,
        config: &Arc<rustls::ServerConfig>,
        label: &str,
        transcript: &Transcript,
        wait: Duration,
    ) -> std::io::Result<Conn> {
        tcp.set_nodelay(true).ok();
        transcript.push(label, Dir::Note, "the server under test connected (TLS)");
        Ok(Conn::new(Stream::accept(tcp, Some(config))?, label, transcript, wait))
    }

    /// The certificate the other end showed (TLS), once its handshake is done.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        self.stream.0.peer_certificate()
    }

    /// A fresh connection's state, however it began.
    fn new(stream: Stream, label: &str, transcript: &Transcript, wait: Duration) -> Conn {
        let stream = SharedStream(Arc::new(stream));
        Conn {
            lines: ReadHalf::new(stream.clone(), 8192, MAX_LINE),
            stream,
            label: label.into(),
            transcript: transcript.clone(),
            wait,
            close_wait: wait,
            closed: false,
        }
    }

    /// Sends one frame (the `\n` is added).
    pub fn send(&mut self, line: &str) -> Result<(), Failure> {
        self.transcript.push(&self.label, Dir::Sent, line);
        self.write(format!("{line}\n").as_bytes())
    }

    /// Sends bytes as they are (a frame cut in two, a `\r\n`, no `\n`).
    pub fn send_raw(&mut self, bytes: &[u8], shown: &str) -> Result<(), Failure> {
        self.transcript.push(&self.label, Dir::Sent, shown);
        self.write(bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        (&*self.stream.0)
            .write_all(bytes)
            .map_err(|e| Failure::new("to send the frame", format!("the connection failed: {e}")))
    }

    pub fn note(&self, text: &str) {
        self.transcript.push(&self.label, Dir::Note, text);
    }

    /// The next line within `wait`, without its `\n` (and `\r`); `Ok(None)`
    /// when the server closed the connection, `Err` on silence.
    pub fn read_within(&mut self, wait: Duration) -> Result<Option<String>, Failure> {
        if self.closed {
            return Ok(None);
        }
        match self.lines.next_by(Instant::now() + wait) {
            Ok(line) => {
                self.transcript.push(&self.label, Dir::Got, &crate::display::visible(&line));
                Ok(Some(line))
            }
            Err(NoLine::Silent) => Err(Failure::silent(wait)),
            Err(NoLine::TooLong) => {
                Err(Failure::new("a line", format!("more than {MAX_LINE} bytes without a newline")))
            }
            Err(NoLine::Closed { mid_line }) => {
                self.closed = true;
                if mid_line {
                    self.note("closed in the middle of a line");
                }
                self.note("closed by the server");
                Ok(None)
            }
            Err(NoLine::Failed(e)) => {
                self.closed = true;
                self.note(&format!("connection error: {e}"));
                Ok(None)
            }
        }
    }

    /// The next line, which must come within `wait`.
    pub fn line(&mut self, expected: &str) -> Result<String, Failure> {
        self.line_by(Instant::now() + self.wait, expected)
    }

    /// The next line, which must come by `deadline` (for loops that skip
    /// lines: a server that PINGs must not stretch the wait forever).
    pub fn line_by(&mut self, deadline: Instant, expected: &str) -> Result<String, Failure> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.read_within(wait) {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(Failure::new(expected, "the connection closed")),
            Err(_) => Err(Failure::new(expected, format!("nothing within {:.1} s", self.wait.as_secs_f64()))),
        }
    }

    /// On a receive connection: the next event that is not presence
    /// (`JOINED`, `LEFT`), answering `PING`s meanwhile, which must be
    /// `want` and come within `wait` (1.2's ephemeral events, §22, §23).
    pub fn expect_event(&mut self, want: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + self.wait;
        loop {
            let line = self.line_by(deadline, want)?;
            if line == "PING" {
                self.send("PONG")?;
            } else if !line.starts_with("JOINED:") && !line.starts_with("LEFT:") {
                return super::failure::check(line == want, want, line);
            }
        }
    }

    /// Sends a request and returns its reply's first line.
    pub fn request(&mut self, line: &str) -> Result<String, Failure> {
        self.send(line)?;
        self.line("a reply")
    }

    /// Sends a request that must be answered `OK` or `OK:…`; returns what
    /// follows `OK:` (empty for a bare `OK`).
    pub fn ok(&mut self, line: &str) -> Result<String, Failure> {
        self.send(line)?;
        self.expect_ok()
    }

    /// Reads a reply that must be `OK` or `OK:…`.
    pub fn expect_ok(&mut self) -> Result<String, Failure> {
        let reply = self.line("OK")?;
        match Reply::parse(&reply) {
            Ok(Reply::Ok) => Ok(String::new()),
            Ok(Reply::OkWith(rest)) => Ok(rest),
            _ => Err(Failure::new("OK…", reply)),
        }
    }

    /// Sends a request that must be refused with `code`.
    pub fn ko(&mut self, line: &str, code: Code) -> Result<(), Failure> {
        self.send(line)?;
        self.expect_ko(code)
    }

    /// Reads a reply that must be `KO:<code>:…` (the reason is for humans:
    /// never compared).
    pub fn expect_ko(&mut self, code: Code) -> Result<(), Failure> {
        let expected = format!("KO:{}:…", code.as_str());
        let reply = self.line(&expected)?;
        match Reply::parse(&reply) {
            Ok(Reply::Ko(ko)) if ko.code == code => Ok(()),
            _ => Err(Failure::new(expected, reply)),
        }
    }

    /// Sends a listing request: `OK:<n>` then exactly `n` lines.
    pub fn listing(&mut self, line: &str) -> Result<Vec<String>, Failure> {
        let head = self.ok(line)?;
        let n: usize = head.parse().map_err(|_| Failure::new("OK:<n>", format!("OK:{head}")))?;
        (0..n).map(|i| self.line(&format!("line {} of {n}", i + 1))).collect()
    }

    /// The server must close the connection (within `close_wait`), having
    /// said nothing more.
    pub fn expect_closed(&mut self) -> Result<(), Failure> {
        match self.read_within(self.close_wait) {
            Ok(None) => Ok(()),
            Ok(Some(line)) => Err(Failure::new("the server to close the connection", line)),
            Err(_) => Err(Failure::new("the server to close the connection", "it stayed open")),
        }
    }

    /// The next event, skipping `PING` (answered `PONG`); with `presence`
    /// false, presence events (`JOINED`/`LEFT`) are skipped too, since
    /// they belong to other users' comings and goings.
    pub fn event(&mut self, expected: &str, presence: bool) -> Result<Event, Failure> {
        let deadline = Instant::now() + self.wait;
        loop {
            let line = self.line_by(deadline, expected)?;
            match Event::parse(&line) {
                Ok(Event::Ping) => self.send("PONG")?,
                Ok(Event::Joined { .. } | Event::Left { .. }) if !presence => {}
                Ok(event) => return Ok(event),
                Err(why) => return Err(Failure::new(expected, format!("{line} ({why})"))),
            }
        }
    }

    /// Nothing but presence or `PING` may come for `quiet`: anything else
    /// is returned as a failure.
    pub fn expect_quiet(&mut self, quiet: Duration, what: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + quiet;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.read_within(left) {
                Err(_) => return Ok(()),
                Ok(None) => return Err(Failure::new(what, "the connection closed")),
                Ok(Some(line)) => match Event::parse(&line) {
                    Ok(Event::Ping) => self.send("PONG")?,
                    Ok(Event::Joined { .. } | Event::Left { .. }) => {}
                    _ => return Err(Failure::new(what, line)),
                },
            }
        }
    }

    pub fn close(&mut self) {
        if !self.closed {
            self.note("closed by the suite");
            self.stream.0.shutdown(Shutdown::Both).ok();
            self.closed = true;
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.stream.0.shutdown(Shutdown::Both).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_transcript_shows_its_start_and_its_end() {
        let long = Transcript::new();
        for i in 0..1000 {
            long.push("b.recv", Dir::Got, &format!("MSG:{i}"));
        }
        let shown = long.excerpt();
        assert_eq!(shown.len(), REPORT_HEAD + 1 + REPORT_TAIL);
        assert_eq!(shown[0].text, "MSG:0");
        assert_eq!(shown[REPORT_HEAD - 1].text, format!("MSG:{}", REPORT_HEAD - 1));
        assert_eq!(shown[REPORT_HEAD].text, "… 800 lines left out …");
        assert_eq!(shown[REPORT_HEAD + 1].text, format!("MSG:{}", 1000 - REPORT_TAIL));
        assert_eq!(shown.last().unwrap().text, "MSG:999");
        let short = Transcript::new();
        short.push("b.recv", Dir::Got, "OK:b");
        assert_eq!(short.excerpt().len(), 1);
    }
}
