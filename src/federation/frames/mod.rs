//! What each side of a link does with each family of frames, one file a
//! family, as `server/requests/` has a file a request: the family's
//! grammar is `protocol::link`'s file of the same name (the rule that
//! keeps `protocol` free of sockets puts it there), its behaviour here.
//!
//! | family | numbered | told | accepting side | sending side |
//! |---|---|---|---|---|
//! | `hello.rs` | | `PING` `QUIT` | the hello's checks, `PONG`, `OK` | the dialer's hello, its pings |
//! | `message.rs` | `MSG` `STATUS` | | taken into the store | the store's queue |
//! | `room.rs` | `JOIN` `LEAVE` | | taken, the room's members told | the store's queue |
//! | `call.rs` | | `CALL` | handed to `server::calls_across` | a user's signal, its answer to the user |
//! | `people.rs` | | `PEOPLE` | answered at once, bounded | a user's search, the lines to the user |
//! | `profile.rs` | | `PROFILE` `PHOTO` | kept by `server::profile_across` | told when a profile changes |
//! | `presence.rs` | | `PRESENCE` | kept by `server::presence_across` | what it noted, a batch a second |
//! | `file.rs` | `FILE` | `UPLOAD` `PART` | an upload of the peer's, its message | the bytes before their message |
//! | `receipt.rs` | `RECEIPT` | | a member's mark, taken into the store | the store's queue |
//!
//! The counts that bound the people and profile families (and
//! `--people-across`) are `counts.rs`'s, held by the links
//! ([`Federation`]).
//!
//! # The accepting side
//!
//! `accept.rs` reads a link's frames and hands each to [`take`]: one
//! `match` on the [`Frame`], an arm a family, as the send port's
//! `requests::serve` is. A family's `take` is given the link
//! ([`Taking`]) and its frame; a numbered frame goes through
//! [`Taking::numbered`] (its window, its `ACK:<n>` or `KO:<n>:…`, a
//! refusal for now that ends the link), a told one is answered at once.
//!
//! # The sending side
//!
//! The dialer (`dial.rs`) has one outbound queue per peer: the numbered
//! frames are the store's queue for it, sent in windows and dropped by
//! their `ACK`s; the told frames a handler has for the peer wait in its
//! [`Outbound`](super::outbound::Outbound), each a [`Told`] with its
//! reply slot, said between windows by its family's `say`
//! ([`Told::say`], here), with a [`Dialing`], the dialer's side of the
//! link.
//!
//! # Adding a family
//!
//! Its grammar first (`protocol::link`'s module documentation), then a
//! file here with its `take` (and, if a handler tells it, a variant of
//! [`Tell`] and its `say`), its arm in [`take`], and its line in the
//! table above; conform's door (`conform::federation::door`) answers it
//! too, in its own `match`.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use super::links::{FRAME_WINDOW, Federation, PeerStatus, said};
use super::outbound::{Tell, Told};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::{Answer, Frame};
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::transport::{SharedStream, Stream};

pub(super) mod call;
pub(super) mod counts;
pub(super) mod file;
pub(super) mod hello;
pub(super) mod message;
pub(super) mod people;
pub(super) mod presence;
pub(super) mod profile;
pub(super) mod receipt;
pub(super) mod room;

/// Why a link ended, in words (the dialer's).
pub(super) type Why = String;

/// Takes one frame of a link (the accepting side): each family's
/// `take`, given the fields of its variant.
pub(super) fn take(link: &mut Taking, frame: Frame) -> std::io::Result<Flow> {
    match frame {
        Frame::Ping => hello::take_ping(link),
        Frame::Quit => hello::take_quit(link),
        Frame::Message(message) => message::take(link, message),
        Frame::Room(room) => room::take(link, room),
        Frame::Call(call) => call::take(link, call),
        Frame::People(search) => people::take(link, search),
        Frame::Profile(profile) => profile::take(link, profile),
        Frame::Presence(presence) => presence::take(link, presence),
        Frame::File(file) => file::take(link, file),
        Frame::Receipt(receipt) => receipt::take(link, receipt),
    }
}

/// What a link does after a frame.
pub(super) enum Flow {
    /// It reads the next.
    More,
    /// It ends (a `QUIT`, answered).
    Done,
}

/// Writes `answer` on `stream`, a line.
pub(super) fn say(mut stream: &Stream, answer: &Answer) -> std::io::Result<()> {
    stream.write_all(format!("{answer}\n").as_bytes())
}

/// Says `KO:<CODE>:<why>` on `stream`, and ends the link with `why`.
pub(super) fn refuse<T>(stream: &Stream, code: Code, why: String) -> std::io::Result<T> {
    say(stream, &Answer::Ko(None, code, why.clone()))?;
    Err(std::io::Error::other(why))
}

/// The accepting side of a link whose hello was taken: the peer, the
/// stream, and how far its numbered frames went.
pub(super) struct Taking<'a> {
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

/// The sending side of a told frame: its family's.
impl Told {
    /// Says it on the link, and its answer to whoever waits (the sending
    /// side of its family); `Err` if the link broke or the peer said what
    /// no answer says: the link ends.
    pub fn say(self, d: &mut Dialing) -> Result<(), Why> {
        match self.tell {
            Tell::Call(frame, answer) => call::say(d, frame, answer),
            Tell::People(frame, listing) => people::say(d, frame, listing),
            Tell::Profile(frame) => profile::say(d, frame),
        }
    }
}

/// The dialer's side of an open link: the stream, read a frame at a
/// time, and the peer; what each family's sending side is given.
pub(super) struct Dialing<'a> {
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
