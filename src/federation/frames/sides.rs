//! The two sides of an open link, as each family's file is given them:
//! the accepting side ([`Taking`]: the peer's frames read, each answered
//! in order, a numbered one within its window) and the sending side
//! ([`Dialing`]: the dialer's stream, a frame said and its answer read).
//! What the families share is here, apart from the table
//! ([`super`]) that dispatches to them.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use super::super::links::{FRAME_WINDOW, Federation, PeerStatus, said};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::Answer;
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::transport::{SharedStream, Stream};

/// Why a link ended, in words (the dialer's).
pub type Why = String;

/// What a link does after a frame.
pub enum Flow {
    /// It reads the next.
    More,
    /// It ends (a `QUIT`, answered).
    Done,
}

/// Writes `answer` on `stream`, a line.
pub fn say(mut stream: &Stream, answer: &Answer) -> std::io::Result<()> {
    stream.write_all(format!("{answer}\n").as_bytes())
}

/// Says `KO:<CODE>:<why>` on `stream`, and ends the link with `why`.
pub fn refuse<T>(stream: &Stream, code: Code, why: String) -> std::io::Result<T> {
    say(stream, &Answer::Ko(None, code, why.clone()))?;
    Err(std::io::Error::other(why))
}

/// The accepting side of a link whose hello was taken: the peer, the
/// stream, and how far its numbered frames went.
pub struct Taking<'a> {
    pub f: &'a Federation,
    /// The peer, as the roster names it.
    pub from: &'a str,
    stream: &'a Stream,
    /// The `<last>` of the hello, or the last numbered frame answered
    /// since: a frame is taken up to [`FRAME_WINDOW`] past it.
    last: u64,
    /// 1.3: when the link's last `PRESENCE` was taken.
    pub last_presence: Option<Instant>,
}

impl<'a> Taking<'a> {
    pub fn new(f: &'a Federation, from: &'a str, stream: &'a Stream, last: u64) -> Taking<'a> {
        Taking { f, from, stream, last, last_presence: None }
    }

    /// Says `answer`; the link reads on.
    pub fn say(&self, answer: &Answer) -> std::io::Result<Flow> {
        say(self.stream, answer).map(|()| Flow::More)
    }

    /// Says several lines at once (a listing's).
    pub fn say_lines(&self, lines: &str) -> std::io::Result<Flow> {
        let mut stream = self.stream;
        stream.write_all(lines.as_bytes()).map(|()| Flow::More)
    }

    /// Says `KO:<CODE>:<why>` and ends the link.
    pub fn refuse(&self, code: Code, why: String) -> std::io::Result<Flow> {
        refuse(self.stream, code, why)
    }

    /// The server's context; shutting down, the link is refused and ends.
    pub fn ctx(&self) -> std::io::Result<Arc<Ctx>> {
        self.f.ctx().map_or_else(|| refuse(self.stream, Code::Unavailable, "shutting down".into()), Ok)
    }

    /// Answers a told frame (a `what`, for the log) with `OK`, or with
    /// its refusal.
    pub fn answer_told(&self, what: &str, taken: Result<(), Ko>) -> std::io::Result<Flow> {
        if let Err(ko) = &taken {
            log::debug!("link: {}'s {what} refused: {}", self.from, ko.reason);
        }
        self.say(&taken.map_or_else(|ko| Answer::Ko(None, ko.code, ko.reason), |()| Answer::Ok))
    }

    /// A numbered frame `<n>`: within its window, taken by `take` (once
    /// it returns, on disk), then answered `ACK:<n>`; refused for good,
    /// `KO:<n>:<CODE>:<reason>`; refused for now, the same and the link
    /// ends (the peer sends it again on its next link). What `take`
    /// returned, with the context, once the `ACK` left.
    pub fn numbered<T>(
        &mut self,
        n: u64,
        take: impl FnOnce(&Ctx) -> Result<T, Ko>,
    ) -> std::io::Result<Option<(Arc<Ctx>, T)>> {
        if n > self.last.saturating_add(FRAME_WINDOW) {
            let why = format!("frame {n} is more than {FRAME_WINDOW} past the last, {}", self.last);
            self.say(&Answer::Ko(Some(n), Code::BadRequest, why))?;
            return Ok(None);
        }
        self.last = self.last.max(n);
        let ctx = self.ctx()?;
        match take(&ctx) {
            Ok(taken) => {
                self.say(&Answer::Ack(n))?;
                Ok(Some((ctx, taken)))
            }
            Err(ko) if Answer::for_now(ko.code) => {
                self.say(&Answer::Ko(Some(n), ko.code, ko.reason.clone()))?;
                Err(std::io::Error::other(format!("frame {n} refused for now: {}", ko.reason)))
            }
            Err(ko) => {
                log::debug!("link: {}'s frame {n} refused: {}", self.from, ko.reason);
                self.say(&Answer::Ko(Some(n), ko.code, ko.reason))?;
                Ok(None)
            }
        }
    }
}

/// The dialer's side of an open link: the stream, read a frame at a
/// time, and the peer; what each family's sending side is given.
pub struct Dialing<'a> {
    pub f: &'a Federation,
    /// The peer, as the roster names it.
    pub peer: &'a str,
    stream: Arc<Stream>,
    reader: FrameReader<SharedStream>,
}

impl<'a> Dialing<'a> {
    pub fn new(f: &'a Federation, peer: &'a str, stream: Stream) -> std::result::Result<Dialing<'a>, Why> {
        let stream = Arc::new(stream);
        stream.set_write_timeout(Some(f.timeout)).map_err(|e| e.to_string())?;
        let reader = FrameReader::new(SharedStream(stream.clone()), 8192, f.max_frame);
        Ok(Dialing { f, peer, stream, reader })
    }

    /// Writes `line` (several, `\n` between them) and its `\n`.
    pub fn write(&self, line: &str) -> std::result::Result<(), Why> {
        (&*self.stream).write_all(format!("{line}\n").as_bytes()).map_err(|e| e.to_string())
    }

    /// Reads the next line, within the `--timeout`.
    pub fn line(&mut self) -> std::result::Result<&str, Why> {
        self.reader.read_frame(Some(Instant::now() + self.f.timeout)).map_err(|e| said(&e))
    }

    /// Reads the peer's next answer, within the `--timeout`.
    pub fn answer(&mut self) -> std::result::Result<Answer, Why> {
        let line = self.line()?;
        Answer::parse(line).map_err(|e| crate::protocol::link::clean_reason(&e))
    }

    /// Changes what the peer's status says (`INFO`, the metrics).
    pub fn status(&self, change: impl FnOnce(&mut PeerStatus)) {
        change(self.f.status.lock().entry(self.peer.to_string()).or_default());
    }
}
