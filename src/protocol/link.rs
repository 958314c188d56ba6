//! 1.3 (§27): the link protocol between the servers of a class network,
//! as data — the frames a dialer sends, the answers of the acceptor, and
//! the bounce a sender is told. Each with `parse` and `Display`; nothing
//! here touches a socket. The addresses the frames carry (`bob@lab2`,
//! `#lab@lab2`) are names, checked in `names`.

use std::fmt;

use super::call::Signal;
use super::escape::Text;
use super::files;
use super::names::{check_address, check_id, check_name, check_room_address};
use super::profile::{PHOTO_TAG_LEN, check_display_name};
use super::reply::Code;
use crate::protocol::Presence;

/// The version a `HELLO` says.
pub const LINK_VERSION: &str = "1.3";

/// Largest number a frame may carry (`<n>`, `<ts>`, `<last>`): what a
/// double holds exactly, so a client in any language reads it whole.
pub const MAX_NUMBER: u64 = (1 << 53) - 1;

/// Checks a secret of the roster: 1–128 characters from `A-Z a-z 0-9 _ . -`.
pub fn check_secret(secret: &str) -> Result<(), String> {
    let ok = !secret.is_empty()
        && secret.len() <= 128
        && secret.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok { Ok(()) } else { Err("a secret has 1 to 128 characters from A-Z a-z 0-9 _ . -".into()) }
}

/// Checks a dialback key: 16–64 characters from `A-Z a-z 0-9`.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = (16..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err("a key has 16 to 64 characters from A-Z a-z 0-9".into()) }
}

/// Checks a server identity: 32 hex digits (what `SERVER` answers).
pub fn check_identity(id: &str) -> Result<(), String> {
    let ok = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err("an identity is 32 hex digits".into()) }
}

/// The first frame of a connection to a link port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// `HELLO:1.3:<from>:<to>:<secret>:<key>:<identity>`.
    Hello { from: String, to: String, secret: String, key: String, identity: String },
    /// `VERIFY:<asker>:<dialer>:<key>`: the dialback.
    Verify { asker: String, dialer: String, key: String },
}

impl Opening {
    pub fn parse(line: &str) -> Result<Opening, String> {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            "HELLO" => {
                if f.len() != 7 {
                    return Err("HELLO:1.3:<from>:<to>:<secret>:<key>:<identity>".into());
                }
                if f[1] != LINK_VERSION {
                    return Err(format!("this server speaks link version {LINK_VERSION}, not {:?}", f[1]));
                }
                check_name(f[2])?;
                check_name(f[3])?;
                check_secret(f[4])?;
                check_key(f[5])?;
                check_identity(f[6])?;
                let s = |i: usize| f[i].to_string();
                Ok(Opening::Hello { from: s(2), to: s(3), secret: s(4), key: s(5), identity: s(6) })
            }
            "VERIFY" => {
                if f.len() != 4 {
                    return Err("VERIFY:<asker>:<dialer>:<key>".into());
                }
                check_name(f[1])?;
                check_name(f[2])?;
                check_key(f[3])?;
                Ok(Opening::Verify { asker: f[1].into(), dialer: f[2].into(), key: f[3].into() })
            }
            other => Err(format!("a link starts with HELLO or VERIFY, not {other:?}")),
        }
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opening::Hello { from, to, secret, key, identity } => {
                write!(f, "HELLO:{LINK_VERSION}:{from}:{to}:{secret}:{key}:{identity}")
            }
            Opening::Verify { asker, dialer, key } => write!(f, "VERIFY:{asker}:{dialer}:{key}"),
        }
    }
}

/// A state a `STATUS` frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Delivered,
    Read,
}

/// A frame of the stream, after the hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `MSG:<n>:<from>@<origin>:<to>@<dest>:<id>:<ts>:<text>`, or a room
    /// message, `MSG:<n>:<from>@<origin>:<#room>@<home>:<id>:<ts>:<text>`.
    Msg {
        n: u64,
        from: String,
        to: String,
        id: String,
        ts: u64,
        text: Text,
    },
    /// `STATUS:<n>:<reader>@<origin>:<author>@<dest>:<id>:<state>:<ts>`.
    Status {
        n: u64,
        reader: String,
        author: String,
        id: String,
        state: LinkState,
        ts: u64,
    },
    /// `JOIN:<n>:<user>@<origin>:<#room>@<home>`: a user of the dialer
    /// joins a room the acceptor is the home of.
    Join {
        n: u64,
        user: String,
        room: String,
    },
    /// `LEAVE:<n>:<user>@<origin>:<#room>@<home>`: it leaves it.
    Leave {
        n: u64,
        user: String,
        room: String,
    },
    /// 1.3: `CALL:<from>@<origin>:<to>@<dest>:<call id>:<signal>`, a
    /// call's signal (§24) from a user of the sender's server to one of the
    /// other's. Unnumbered, like `PING`: a signal is told, never queued
    /// nor replayed, and answered at once, `OK` or `KO:<CODE>:<reason>`.
    Call {
        from: String,
        to: String,
        id: String,
        signal: Signal,
    },
    /// `FILE:<n>:<from>@<origin>:<to>:<id>:<ts>:<file id>:<text>`: a
    /// message carrying the dialer's file `<file id>`, whose bytes it sent
    /// whole on a link before ([`Frame::Upload`], [`Frame::Part`]); `<to>`
    /// and `<text>` as a `MSG`'s (the text is the readable
    /// `📎 <name> (<size>) <caption>`).
    File {
        n: u64,
        from: String,
        to: String,
        id: String,
        ts: u64,
        file: String,
        text: Text,
    },
    /// `UPLOAD:<file id>:<size>:<sha256>:<name>`, unnumbered: the dialer
    /// is about to send its file `<file id>`; answered `OK:<bytes the
    /// acceptor has of it>`, where the parts resume.
    Upload {
        file: String,
        size: u64,
        sha256: String,
        name: String,
    },
    /// `PART:<file id>:<offset>:<base64>`, unnumbered: bytes of it, at
    /// most `files::PART_BYTES`; answered `OK:<bytes received so far>`.
    Part {
        file: String,
        offset: u64,
        data: Vec<u8>,
    },
    /// 1.3: `PEOPLE:<asker>@<origin>:<start>`, unnumbered: a user of the
    /// dialer looks for the acceptor's users whose names begin with
    /// `<start>` (§26's `PEOPLE:<start>@<server>`). Answered at once, as
    /// `PEOPLE` is on the send port: `OK:<n>` then `n` lines
    /// `<user>:<ONLINE|ts|UNKNOWN>` (at most [`MAX_PEOPLE_ACROSS`]), or
    /// `KO:<CODE>:<reason>`.
    People {
        asker: String,
        start: String,
    },
    /// 1.3: `PROFILE:<user>@<origin>:<photo tag>:<display name>`,
    /// unnumbered: the dialer's user's profile (§30) as it is now, told to
    /// a server where people share a chat with it; answered at once, `OK`
    /// or `KO:<CODE>:<reason>`. The tag names the photo of the
    /// [`Frame::Photo`] said before it (empty: no photo).
    Profile {
        user: String,
        tag: String,
        name: String,
    },
    /// 1.3: `PHOTO:<user>@<origin>:<photo tag>:<base64>`, unnumbered: the
    /// photo (a JPEG the dialer made, at most `MAX_PHOTO_BYTES`) whose
    /// tag a [`Frame::Profile`] after it names; the base64 is checked by
    /// the acceptor (its size, that it is a JPEG of that tag).
    Photo {
        user: String,
        tag: String,
        base64: String,
    },
    /// 1.3: `PRESENCE:<user>@<origin>:<ONLINE|ts|UNKNOWN>[:<user>@<origin>:<…>]…`,
    /// unnumbered: whether each of the dialer's users is online now, or
    /// since when not, as its server shows it to the acceptor's users
    /// (at most [`PRESENCE_BATCH`] users a frame); answered `OK` or
    /// `KO:<CODE>:<reason>`. Told, never stored nor replayed.
    Presence {
        seen: Vec<(String, Presence)>,
    },
    Ping,
    Quit,
}

/// Most lines of a `PEOPLE` frame's answer: what `PEOPLE` answers on the
/// send port.
pub const MAX_PEOPLE_ACROSS: usize = super::request::MAX_PEOPLE;

/// Users one `PRESENCE` frame names, at most.
pub const PRESENCE_BATCH: usize = 64;

/// Reads the fields of a `PRESENCE` frame after its word.
fn parse_presence(rest: &str) -> Result<Frame, (Option<u64>, String)> {
    let bad = |e: String| (None, e);
    let f: Vec<&str> = rest.split(':').collect();
    if !f.len().is_multiple_of(2) || f.is_empty() {
        return Err(bad("PRESENCE:<user>@<origin>:<ONLINE|ts|UNKNOWN>[:<user>@<origin>:<…>]…".into()));
    }
    if f.len() / 2 > PRESENCE_BATCH {
        return Err(bad(format!("a PRESENCE names at most {PRESENCE_BATCH} users")));
    }
    let mut seen = Vec::with_capacity(f.len() / 2);
    for pair in f.chunks(2) {
        check_address(pair[0]).map_err(bad)?;
        let presence = match Presence::parse(pair[1]) {
            Ok(Presence::LastSeen(ts)) if ts > MAX_NUMBER => return Err(bad(format!("{ts} is past 2^53"))),
            Ok(presence) => presence,
            Err(e) => return Err(bad(e)),
        };
        seen.push((pair[0].to_string(), presence));
    }
    Ok(Frame::Presence { seen })
}

fn number(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER && !s.starts_with('+') => Ok(n),
        _ => Err(format!("{s:?} is not a number up to 2^53")),
    }
}

impl Frame {
    /// Parses a frame; the error says what is wrong, and the frame's
    /// number if it had one (its `KO:<n>:…` names it).
    pub fn parse(line: &str) -> Result<Frame, (Option<u64>, String)> {
        match line {
            "PING" => return Ok(Frame::Ping),
            "QUIT" => return Ok(Frame::Quit),
            _ => {}
        }
        let (word, rest) = line.split_once(':').ok_or((None, format!("unknown frame {line:?}")))?;
        let n_of = |rest: &str| rest.split(':').next().and_then(|n| number(n).ok());
        let n = n_of(rest);
        let bad = |e: String| (n, e);
        match word {
            "MSG" => {
                let f: Vec<&str> = rest.splitn(6, ':').collect();
                if f.len() != 6 {
                    return Err(bad("MSG:<n>:<from>@<origin>:<to>@<dest>:<id>:<ts>:<text>".into()));
                }
                let n = number(f[0]).map_err(bad)?;
                check_address(f[1]).map_err(bad)?;
                check_address(f[2]).or_else(|_| check_room_address(f[2])).map_err(bad)?;
                check_id(f[3]).map_err(bad)?;
                let ts = number(f[4]).map_err(bad)?;
                let text = Text::parse_sent(f[5]).map_err(bad)?;
                Ok(Frame::Msg { n, from: f[1].into(), to: f[2].into(), id: f[3].into(), ts, text })
            }
            "STATUS" => {
                let f: Vec<&str> = rest.split(':').collect();
                if f.len() != 6 {
                    return Err(bad("STATUS:<n>:<reader>@<origin>:<author>@<dest>:<id>:<state>:<ts>".into()));
                }
                let n = number(f[0]).map_err(bad)?;
                check_address(f[1]).map_err(bad)?;
                check_address(f[2]).map_err(bad)?;
                check_id(f[3]).map_err(bad)?;
                let state = match f[4] {
                    "DELIVERED" => LinkState::Delivered,
                    "READ" => LinkState::Read,
                    other => return Err(bad(format!("a link's STATUS is DELIVERED or READ, not {other:?}"))),
                };
                let ts = number(f[5]).map_err(bad)?;
                Ok(Frame::Status { n, reader: f[1].into(), author: f[2].into(), id: f[3].into(), state, ts })
            }
            "CALL" => {
                let f: Vec<&str> = rest.splitn(4, ':').collect();
                if f.len() != 4 {
                    return Err((None, "CALL:<from>@<origin>:<to>@<dest>:<call id>:<signal>".into()));
                }
                let bad = |e: String| (None, e);
                check_address(f[0]).map_err(bad)?;
                check_address(f[1]).map_err(bad)?;
                check_id(f[2]).map_err(bad)?;
                let signal = Signal::parse(f[3]).map_err(bad)?;
                Ok(Frame::Call { from: f[0].into(), to: f[1].into(), id: f[2].into(), signal })
            }
            "FILE" => {
                // A `MSG` with the file id between its time and its text.
                let f: Vec<&str> = rest.splitn(7, ':').collect();
                if f.len() != 7 {
                    return Err(bad("FILE:<n>:<from>@<origin>:<to>:<id>:<ts>:<file id>:<text>".into()));
                }
                files::check_file_id(f[5]).map_err(bad)?;
                let msg = format!("MSG:{}:{}", f[..5].join(":"), f[6]);
                let Frame::Msg { n, from, to, id, ts, text } = Frame::parse(&msg)? else {
                    return Err(bad("a FILE is a MSG with a file id".into()));
                };
                if !text.as_escaped().starts_with(files::CLIP) {
                    return Err(bad(format!("a FILE's text begins {:?}", files::CLIP)));
                }
                Ok(Frame::File { n, from, to, id, ts, file: f[5].into(), text })
            }
            "UPLOAD" => {
                let f: Vec<&str> = rest.splitn(4, ':').collect();
                if f.len() != 4 {
                    return Err((None, "UPLOAD:<file id>:<size>:<sha256>:<name>".into()));
                }
                files::check_file_id(f[0]).map_err(|e| (None, e))?;
                let size = number(f[1]).map_err(|e| (None, e))?;
                let sha256 = files::check_sha256(f[2]).map_err(|e| (None, e))?;
                files::check_file_name(f[3]).map_err(|e| (None, e))?;
                Ok(Frame::Upload { file: f[0].into(), size, sha256, name: f[3].into() })
            }
            "PART" => {
                let f: Vec<&str> = rest.splitn(3, ':').collect();
                if f.len() != 3 {
                    return Err((None, "PART:<file id>:<offset>:<base64>".into()));
                }
                files::check_file_id(f[0]).map_err(|e| (None, e))?;
                let offset = number(f[1]).map_err(|e| (None, e))?;
                let data = files::decode(f[2]).map_err(|e| (None, e))?;
                Ok(Frame::Part { file: f[0].into(), offset, data })
            }
            "PEOPLE" => {
                let f: Vec<&str> = rest.split(':').collect();
                if f.len() != 2 {
                    return Err((None, "PEOPLE:<asker>@<origin>:<start of a name>".into()));
                }
                check_address(f[0]).map_err(|e| (None, e))?;
                check_name(f[1]).map_err(|e| (None, format!("bad start of a name: {e}")))?;
                Ok(Frame::People { asker: f[0].into(), start: f[1].into() })
            }
            "PROFILE" | "PHOTO" => {
                let f: Vec<&str> = rest.splitn(3, ':').collect();
                let shape = if word == "PROFILE" {
                    "PROFILE:<user>@<origin>:<photo tag>:<display name>"
                } else {
                    "PHOTO:<user>@<origin>:<photo tag>:<base64>"
                };
                if f.len() != 3 {
                    return Err((None, shape.into()));
                }
                check_address(f[0]).map_err(|e| (None, e))?;
                let tag_ok = f[1].len() == PHOTO_TAG_LEN && f[1].bytes().all(|b| b.is_ascii_hexdigit());
                if !(tag_ok || (word == "PROFILE" && f[1].is_empty())) {
                    return Err((None, format!("a photo tag is {PHOTO_TAG_LEN} hex digits, not {:?}", f[1])));
                }
                let (user, tag) = (f[0].to_string(), f[1].to_string());
                if word == "PHOTO" {
                    return Ok(Frame::Photo { user, tag, base64: f[2].into() });
                }
                let name = check_display_name(f[2]).map_err(|e| (None, e))?;
                Ok(Frame::Profile { user, tag, name: name.into() })
            }
            "PRESENCE" => parse_presence(rest),
            "JOIN" | "LEAVE" => {
                let f: Vec<&str> = rest.split(':').collect();
                if f.len() != 3 {
                    return Err(bad(format!("{word}:<n>:<user>@<origin>:<#room>@<home>")));
                }
                let n = number(f[0]).map_err(bad)?;
                check_address(f[1]).map_err(bad)?;
                check_room_address(f[2]).map_err(bad)?;
                let (user, room) = (f[1].to_string(), f[2].to_string());
                Ok(if word == "JOIN" {
                    Frame::Join { n, user, room }
                } else {
                    Frame::Leave { n, user, room }
                })
            }
            other => Err(bad(format!("unknown frame {other:?}"))),
        }
    }

    /// The frame's number (none for `PING` and `QUIT`).
    pub fn number(&self) -> Option<u64> {
        match self {
            Frame::Msg { n, .. }
            | Frame::Status { n, .. }
            | Frame::Join { n, .. }
            | Frame::Leave { n, .. }
            | Frame::File { n, .. } => Some(*n),
            Frame::Call { .. }
            | Frame::Upload { .. }
            | Frame::Part { .. }
            | Frame::People { .. }
            | Frame::Profile { .. }
            | Frame::Photo { .. }
            | Frame::Presence { .. }
            | Frame::Ping
            | Frame::Quit => None,
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Msg { n, from, to, id, ts, text } => {
                write!(f, "MSG:{n}:{from}:{to}:{id}:{ts}:{}", text.as_escaped())
            }
            Frame::Status { n, reader, author, id, state, ts } => {
                let state = match state {
                    LinkState::Delivered => "DELIVERED",
                    LinkState::Read => "READ",
                };
                write!(f, "STATUS:{n}:{reader}:{author}:{id}:{state}:{ts}")
            }
            Frame::Join { n, user, room } => write!(f, "JOIN:{n}:{user}:{room}"),
            Frame::Leave { n, user, room } => write!(f, "LEAVE:{n}:{user}:{room}"),
            Frame::Call { from, to, id, signal } => write!(f, "CALL:{from}:{to}:{id}:{signal}"),
            Frame::File { n, from, to, id, ts, file, text } => {
                write!(f, "FILE:{n}:{from}:{to}:{id}:{ts}:{file}:{}", text.as_escaped())
            }
            Frame::Upload { file, size, sha256, name } => write!(f, "UPLOAD:{file}:{size}:{sha256}:{name}"),
            Frame::Part { file, offset, data } => write!(f, "PART:{file}:{offset}:{}", files::encode(data)),
            Frame::People { asker, start } => write!(f, "PEOPLE:{asker}:{start}"),
            Frame::Profile { user, tag, name } => write!(f, "PROFILE:{user}:{tag}:{name}"),
            Frame::Photo { user, tag, base64 } => write!(f, "PHOTO:{user}:{tag}:{base64}"),
            Frame::Presence { seen } => {
                f.write_str("PRESENCE")?;
                for (user, presence) in seen {
                    write!(f, ":{user}:{presence}")?;
                }
                Ok(())
            }
            Frame::Ping => f.write_str("PING"),
            Frame::Quit => f.write_str("QUIT"),
        }
    }
}

/// What the acceptor answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `OK:<last>`, to a `HELLO`; and `OK:<bytes received>` to an
    /// `UPLOAD` or a `PART` (the same line: the dialer knows what it asked).
    Hello(u64),
    /// `OK`, to a `VERIFY` or a `QUIT`.
    Ok,
    /// `ACK:<n>`.
    Ack(u64),
    /// `KO:<n>:<CODE>:<reason>` (a frame's) or `KO:<CODE>:<reason>`.
    Ko(Option<u64>, Code, String),
    Pong,
}

impl Answer {
    /// True for a code that refuses a frame only for now (the dialer keeps
    /// it and tries again later): the store or the disk, not the frame.
    pub fn for_now(code: Code) -> bool {
        matches!(code, Code::Full | Code::Internal | Code::Unavailable | Code::RateLimited)
    }

    pub fn parse(line: &str) -> Result<Answer, String> {
        let bad = || format!("not an answer: {line:?}");
        match line {
            "OK" => return Ok(Answer::Ok),
            "PONG" => return Ok(Answer::Pong),
            _ => {}
        }
        if let Some(last) = line.strip_prefix("OK:") {
            return number(last).map(Answer::Hello);
        }
        if let Some(n) = line.strip_prefix("ACK:") {
            return number(n).map(Answer::Ack);
        }
        let rest = line.strip_prefix("KO:").ok_or_else(bad)?;
        let (n, rest) = match rest.split_once(':') {
            Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                (Some(number(n)?), rest)
            }
            _ => (None, rest),
        };
        let (code, reason) = rest.split_once(':').unwrap_or((rest, ""));
        let code = Code::ALL.iter().copied().find(|c| c.as_str() == code).ok_or_else(bad)?;
        Ok(Answer::Ko(n, code, reason.to_string()))
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Hello(last) => write!(f, "OK:{last}"),
            Answer::Ok => f.write_str("OK"),
            Answer::Ack(n) => write!(f, "ACK:{n}"),
            Answer::Ko(Some(n), code, reason) => write!(f, "KO:{n}:{}:{reason}", code.as_str()),
            Answer::Ko(None, code, reason) => write!(f, "KO:{}:{reason}", code.as_str()),
            Answer::Pong => f.write_str("PONG"),
        }
    }
}

/// A reason from a peer or the network made safe to show and store: one
/// line of printable characters, no backslash (texts are escaped with
/// it), at most 200 bytes.
pub fn clean_reason(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        if out.len() >= 200 {
            out.push('…');
            break;
        }
        out.push(if c.is_control() || super::escape::forbidden(c) || c == '\\' { ' ' } else { c });
    }
    out
}

/// A message the network could not deliver, as event `seq` of its
/// author's inbox (§27, "Failures"): `STATUS:<seq>:<peer>:<id>:FAILED:<ts>:<reason>`
/// for a client that said `VERSION:1.3`, a readable `MSG` in the chat
/// with `peer` for every other. `peer` may be a room homed elsewhere
/// (`#lab@lab2`): the readable message is then the author's own in that
/// room. A refused `JOIN` of such a room has no id: it reads, for every
/// version, as that readable message saying so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounce<'a> {
    pub seq: u64,
    pub peer: &'a str,
    pub author: &'a str,
    pub id: &'a str,
    pub ts: u64,
    /// Cleaned ([`clean_reason`]).
    pub reason: &'a str,
    /// The client's protocol minor version.
    pub minor: u8,
}

impl Bounce<'_> {
    /// The id of the readable message (ids `_x<stamp>_…` are the server's).
    pub fn message_id(&self) -> String {
        format!("_x{}_failed", self.ts)
    }

    /// Its text, escaped as on the wire.
    pub fn message_text(&self) -> String {
        if self.id.is_empty() {
            return format!("⚠ not joined: {}", self.reason);
        }
        format!("⚠ not delivered: {} (your message {})", self.reason, self.id)
    }

    /// True for a refused `JOIN` (no message).
    pub fn is_join(&self) -> bool {
        self.id.is_empty()
    }
}

/// A bounce read back from its readable message (an event of a client
/// that did not say `VERSION:1.3`, or a line of `HISTORY`): what a client
/// shows on the message it names instead of a message of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadBounce {
    /// Your message `id` was not delivered, for `reason`.
    Message { id: String, reason: String },
    /// Your `JOIN` of a room of another server was refused, for `reason`.
    Join { reason: String },
}

impl ReadBounce {
    /// The bounce a message with this id and (plain) text says, if it is
    /// one: an id `_x<decimal ts>_failed` (`_x…` ids are the server's
    /// alone: no client and no peer can send one, `action::check_sent_id`,
    /// `action::check_peer_id`) and the text [`Bounce::message_text`]
    /// writes. Anything else is `None` (an admin's deletion `_x…` reads
    /// `(message from … deleted)`).
    pub fn of(id: &str, text: &str) -> Option<ReadBounce> {
        let stamp = id.strip_prefix("_x")?.strip_suffix("_failed")?;
        if stamp.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Some(reason) = text.strip_prefix("⚠ not joined: ") {
            return Some(ReadBounce::Join { reason: reason.to_string() });
        }
        let rest = text.strip_prefix("⚠ not delivered: ")?.strip_suffix(')')?;
        let (reason, id) = rest.rsplit_once(" (your message ")?;
        check_id(id).ok()?;
        Some(ReadBounce::Message { id: id.to_string(), reason: reason.to_string() })
    }
}

impl fmt::Display for Bounce<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Bounce { seq, peer, author, id, ts, reason, minor } = self;
        let (mid, text) = (self.message_id(), self.message_text());
        if *minor >= 3 && !self.is_join() {
            write!(f, "STATUS:{seq}:{peer}:{id}:FAILED:{ts}:{reason}")
        } else if peer.starts_with('#') {
            write!(f, "MSG:{seq}:{author}:{peer}:{mid}:{ts}:{text}")
        } else {
            write!(f, "MSG:{seq}:{peer}:{author}:{mid}:{ts}:{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_print_back() {
        for line in [
            "MSG:1:ana@lab1:bob@lab2:m1:1795500000100:hi bob\\nline two",
            "STATUS:2:bob@lab2:ana@lab1:m1:READ:1795500000250",
            "JOIN:3:ana@lab1:#lab@lab2",
            "LEAVE:4:ana@lab1:#lab@lab2",
            "MSG:5:ana@lab1:#lab@lab2:r1:1795500000300:hi room",
            "CALL:ana@lab1:bob@lab2:c1:OFFER:video:v=0\\no=- 1 2 IN IP4 127.0.0.1\\n",
            "CALL:bob@lab2:ana@lab1:c1:END:missed",
            "FILE:6:ana@lab1:bob@lab2:f1:1795500000400:f52d1252566a5125f87acd8e841eadca:📎 notes.txt (13 B) for friday",
            "UPLOAD:f52d1252566a5125f87acd8e841eadca:13:b482e431d2a3177119b78af53c10e01fc2ca43a95796433b95d5baa924b4e1a6:notes: v2.txt",
            "PART:f52d1252566a5125f87acd8e841eadca:6:IGxhYiAzCg==",
            "PEOPLE:ana@lab1:bo",
            "PROFILE:ana@lab1:0123456789abcdef:Ana María: TA 🎓",
            "PROFILE:ana@lab1::",
            "PHOTO:ana@lab1:0123456789abcdef:/9j/4AAQ",
            "PRESENCE:bob@lab2:ONLINE:cleo@lab2:1795500000500:dan@lab2:UNKNOWN",
            "PING",
            "QUIT",
        ] {
            assert_eq!(Frame::parse(line).unwrap().to_string(), line);
        }
        let hello = "HELLO:1.3:lab9:lab1:s9:Zk3q9wPpXc41LmNb:00000000000000000000000000000009";
        assert_eq!(Opening::parse(hello).unwrap().to_string(), hello);
        for answer in
            ["OK:0", "OK", "ACK:7", "KO:2:UNKNOWN_USER:lab2 has no user nobody", "KO:AUTH_FAILED:no", "PONG"]
        {
            assert_eq!(Answer::parse(answer).unwrap().to_string(), answer);
        }
    }

    #[test]
    fn hostile_frames_are_refused_with_their_number() {
        assert_eq!(Frame::parse("MSG:3:eve:bob@lab2:x:1:hi").unwrap_err().0, Some(3));
        assert!(Frame::parse("MSG:3:eve@lab3:bob@lab2:x:1:a\u{1b}[2J").is_err());
        assert!(Frame::parse("MSG:99999999999999999999:a@b:c@d:x:1:hi").unwrap_err().0.is_none());
        assert!(Frame::parse("STATUS:4:a@b:c@d:x:FAILED:1").is_err());
        assert_eq!(Frame::parse("JOIN:5:ana@lab1:lab@lab2").unwrap_err().0, Some(5));
        assert!(Frame::parse("JOIN:6:ana@lab1:#lab").is_err());
        assert!(Frame::parse("LEAVE:7:ana:#lab@lab2").is_err());
        assert!(Frame::parse("MSG:8:ana@lab1:#lab:r1:1:hi").is_err());
        assert!(Opening::parse("HELLO:1.2:a:b:s:Zk3q9wPpXc41LmNb:00000000000000000000000000000009").is_err());
        assert!(Opening::parse("HELLO:1.3:a:b:s:short:00000000000000000000000000000009").is_err());
        assert!(Answer::parse("KO:1:NOPE:x").is_err());
        assert!(Frame::parse("CALL:ana:bob@lab2:c1:HANGUP").is_err(), "an author without its server");
        assert!(Frame::parse("CALL:ana@lab1:bob@lab2:c1:OFFER:voice:a\\rb").is_err(), "an SDP's bad escape");
        assert_eq!(
            Frame::parse("FILE:9:a@b:c@d:x:1:f52d1252566a5125f87acd8e841eadca:hi").unwrap_err().0,
            Some(9)
        );
        assert!(Frame::parse("UPLOAD:f52d:1:00:a").is_err());
        assert!(Frame::parse("PEOPLE:ana:bo").is_err(), "an asker without its server");
        assert!(Frame::parse("PEOPLE:ana@lab1:b o").is_err());
        assert!(Frame::parse("PEOPLE:ana@lab1:bo:x").is_err());
        assert!(Frame::parse("PROFILE:ana:0123456789abcdef:Ana").is_err(), "an author without its server");
        assert!(Frame::parse("PROFILE:ana@lab1:xyz:Ana").is_err(), "a bad tag");
        assert!(Frame::parse("PHOTO:ana@lab1::/9j/").is_err(), "a photo has a tag");
        assert!(
            Frame::parse(&format!("PROFILE:ana@lab1::{}", "é".repeat(65))).is_err(),
            "64 characters at most"
        );
        assert!(Frame::parse("PROFILE:ana@lab1::ana\u{202E}").is_err(), "an invisible character");
        assert!(Frame::parse("PART:f52d1252566a5125f87acd8e841eadca:0:!!").unwrap_err().0.is_none());
        for presence in [
            "PRESENCE",
            "PRESENCE:bob@lab2",
            "PRESENCE:bob:ONLINE",
            "PRESENCE:bob@lab2:AWAY",
            "PRESENCE:bob@lab2:99999999999999999999",
        ] {
            assert_eq!(Frame::parse(presence).unwrap_err().0, None, "{presence}");
        }
        let crowd: String = (0..=PRESENCE_BATCH).map(|i| format!(":u{i}@lab2:ONLINE")).collect();
        assert!(Frame::parse(&format!("PRESENCE{crowd}")).is_err(), "one user more than a batch");
    }

    #[test]
    fn a_bounce_reads_as_a_status_or_a_message() {
        let b = Bounce {
            seq: 4,
            peer: "nobody@lab2",
            author: "ana",
            id: "m2",
            ts: 5,
            reason: "no user",
            minor: 3,
        };
        assert_eq!(b.to_string(), "STATUS:4:nobody@lab2:m2:FAILED:5:no user");
        let old = Bounce { minor: 2, ..b };
        assert_eq!(
            old.to_string(),
            "MSG:4:nobody@lab2:ana:_x5_failed:5:⚠ not delivered: no user (your message m2)"
        );
        let room = Bounce { peer: "#lab@lab2", ..b };
        assert_eq!(room.to_string(), "STATUS:4:#lab@lab2:m2:FAILED:5:no user");
        assert_eq!(
            Bounce { minor: 0, ..room }.to_string(),
            "MSG:4:ana:#lab@lab2:_x5_failed:5:⚠ not delivered: no user (your message m2)"
        );
        assert_eq!(
            ReadBounce::of("_x5_failed", "⚠ not delivered: no user (your message m2)"),
            Some(ReadBounce::Message { id: "m2".into(), reason: "no user".into() })
        );
        let join = Bounce { id: "", reason: "lab2 has no room #lab", ..room };
        assert_eq!(join.to_string(), "MSG:4:ana:#lab@lab2:_x5_failed:5:⚠ not joined: lab2 has no room #lab");
        assert_eq!(clean_reason("a\nb\\c\u{1b}"), "a b c ");
        assert_eq!(
            ReadBounce::of(&join.message_id(), &join.message_text()),
            Some(ReadBounce::Join { reason: "lab2 has no room #lab".into() })
        );
    }

    #[test]
    fn only_the_servers_bounce_reads_as_one() {
        // A reason may hold parentheses: the id is the last one's.
        let tricky = "⚠ not delivered: lab2 refused it: (your message x) no (your message m2)";
        let read = ReadBounce::of("_x17_failed", tricky);
        assert_eq!(
            read,
            Some(ReadBounce::Message {
                id: "m2".into(),
                reason: "lab2 refused it: (your message x) no".into()
            })
        );
        for (id, text) in [
            ("_x17_failed", "(message from bob deleted)"),
            ("_xz7_failed", "⚠ not delivered: no (your message m2)"),
            ("_x_failed", "⚠ not delivered: no (your message m2)"),
            ("_x17_m2", "⚠ not delivered: no (your message m2)"),
            ("m2", "⚠ not delivered: no (your message m2)"),
            ("_x17_failed", "⚠ not delivered: no (your message a:b)"),
        ] {
            assert_eq!(ReadBounce::of(id, text), None, "{id} {text}");
        }
    }
}
