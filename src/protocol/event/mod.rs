//! The receive port (protocol §5): events the server pushes ([`Event`]) and
//! what the client answers ([`EventReply`]).
//!
//! Protocol 1.1 adds one event, `MEMBER`, sent only to a client that said
//! `VERSION:1.1` on this port after its login (a version-1 server ignores
//! that frame, as it ignores any frame it does not understand there).
//!
//! Protocol 1.2 adds `TYPING`, and for a user with several devices (§16)
//! `READMARK` (a read made on another of your devices) and `BYE:UNLINKED`.
//! A copy of a message you sent from another device is an ordinary `MSG`
//! whose `<from>` is you and `<to>` the peer or room: the 1.0 shape, sent
//! only to a connection that said `VERSION:1.2`.

use std::fmt;

use super::lines::{MsgState, Number};
use super::moderation::{Change, EVENT_WORDS};
use super::{Text, split_fields};

/// Why the server is closing a receive connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bye {
    /// A newer receive login of the same user took over.
    Replaced,
    /// The server is stopping.
    Shutdown,
    /// The client sent nothing (not even `PONG`) for `--timeout` seconds.
    Timeout,
    /// The client did not read its events fast enough; they stay in its inbox.
    Slow,
    /// 1.2: this device was unlinked (`UNLINK`): it is logged out for
    /// good, and its token no longer logs in. A connection that did not
    /// say `VERSION:1.2` is sent `BYE:REPLACED` instead, which tells a
    /// 1.0 client, as this does, not to reconnect on its own.
    Unlinked,
    /// 1.2: an administrator disabled the account (`wachat users
    /// disable`); a client must not log in again by itself. Only a
    /// connection that said `VERSION:1.2` is told; an older one is just closed.
    Disabled,
}

impl Bye {
    pub fn as_str(self) -> &'static str {
        match self {
            Bye::Replaced => "REPLACED",
            Bye::Shutdown => "SHUTDOWN",
            Bye::Timeout => "TIMEOUT",
            Bye::Slow => "SLOW",
            Bye::Unlinked => "UNLINKED",
            Bye::Disabled => "DISABLED",
        }
    }
}

/// One event pushed by the server on the receive port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `MSG:<seq>:<from>:<to>:<id>:<ts>:<text>`; `to` is you or a `#room`.
    Msg { seq: u64, from: String, to: String, id: String, ts: u64, text: Text },
    /// `STATUS:<seq>:<peer>:<id>:<state>:<ts>`: your message to `peer` moved.
    Status { seq: u64, peer: String, id: String, state: MsgState, ts: u64 },
    /// `JOINED:<user>`: someone who shares a room with you came online.
    Joined { user: String },
    /// `LEFT:<user>`: someone who shares a room with you went offline.
    Left { user: String },
    /// `P2P:<from>:<token>`: `from` is about to connect to your P2P port.
    P2p { from: String, token: String },
    /// 1.1: `MEMBER:<#room>:<user>:JOINED|LEFT`: `user` joined or left a
    /// room you are in (a `JOIN`/`LEAVE`, not coming online).
    Member { room: String, user: String, joined: bool },
    /// 1.2: `TYPING:<from>:<to>`: `from` is typing to `to` (you, or a
    /// `#room` you are in). Ephemeral: no sequence number, never stored.
    Typing { from: String, to: String },
    /// 1.2: `KICKED:<#room>:<by>:<user>`, `TOPIC:<#room>:<by>:<text>`, …:
    /// `by` changed `room` (see [`moderation`](super::moderation)).
    /// Ephemeral: the room's text also holds it as a message from `by`.
    Moderation { room: String, by: String, change: Change },
    /// 1.2: `READMARK:<seq>:<peer or #room>:<id>:<ts>`: another of your
    /// devices read `chat` up to the message `id` (a peer's message, or a
    /// room's) at `ts`. Queued like `MSG`; a marker only moves forward.
    ReadMark { seq: u64, chat: String, id: String, ts: u64 },
    /// 1.2 (§21): `FILE:<seq>:<from>:<to>:<id>:<ts>:<file id>:<size>:<type>:<name>:<text>`,
    /// a message carrying a file, sent instead of its `MSG`. Queued like `MSG`.
    File(super::files::FileEvent),
    /// `PING`: answer `PONG`.
    Ping,
    /// `BYE:<reason>`: the server is about to close this connection.
    Bye(Bye),
    /// 1.2 (§22): `PREF:<chat>:<level>:<pinned|unpinned>`: one of your
    /// devices changed a chat's preference. Ephemeral, like `TYPING`.
    Pref(super::PrefLine),
    /// 1.2 (§22): `BLOCKED:<user>` / `UNBLOCKED:<user>` (`blocked`
    /// false): one of your devices blocked or unblocked `user`. Ephemeral.
    Block { user: String, blocked: bool },
    /// 1.2 (§23): `ARCHIVE:<chat>:<archived|unarchived>`: one of your
    /// devices archived `chat` (or took it out of the archive). Ephemeral.
    Archive { chat: String, archived: bool },
    /// 1.2 (§29): `MARK:<chat>:<marked|unmarked>`: one of your devices
    /// marked `chat` unread (or took the mark away). Ephemeral.
    Mark { chat: String, marked: bool },
    /// 1.2 (§29): `HIDE:<chat>:<ts>`: one of your devices deleted `chat`
    /// for you: what it holds up to `ts` is hidden. Ephemeral.
    Hide { chat: String, ts: u64 },
    /// 1.2 (§25): `STAR:<chat>:<from>:<id>:<starred|unstarred>`: one of
    /// your devices starred `from`'s message `id` of `chat` (or took the
    /// star back). Ephemeral.
    Star { chat: String, from: String, id: String, starred: bool },
    /// 1.2 (§24): `CALL:<from>:<call id>:<signal>`: a call's signalling
    /// from `from` (the offer rings, the answer, a candidate), or its end
    /// (`END:<why>`, made by the server). Ephemeral, like `TYPING`.
    Call { from: String, id: String, signal: super::call::Signal },
    /// 1.2 (§32): `GROUPCALL:<#room>:<what>:…`: a room's call rings,
    /// starts, is joined or left, stops ringing here, ends; or a member in
    /// it signals to this device. Ephemeral, like `CALL`.
    GroupCall { room: String, event: super::group_call::GroupEvent },
    /// 1.2 (§30): `PROFILE:<user>:<photo tag>:<display name>`: a user you
    /// share a chat with (or you, from another device) changed a display
    /// name or photo. Ephemeral, like `PREF`.
    Profile(super::profile::ProfileLine),
    /// 1.2 (§30): `PRIVACY:lastseen:<on|off>:receipts:<on|off>`: one of
    /// your devices changed your privacy. Ephemeral.
    Privacy(super::profile::PrivacyLine),
}

impl Event {
    /// The minor protocol version that added this event: a receive
    /// connection is sent it only once its client said `VERSION:1.<minor>`
    /// (or later). An exhaustive match, so that a new event must say.
    pub fn since(&self) -> u8 {
        match self {
            Event::Msg { .. }
            | Event::Status { .. }
            | Event::Joined { .. }
            | Event::Left { .. }
            | Event::P2p { .. }
            | Event::Ping
            | Event::Bye(Bye::Replaced | Bye::Shutdown | Bye::Timeout | Bye::Slow) => 0,
            Event::Bye(Bye::Disabled) => 2,
            Event::Member { .. } => 1,
            Event::Typing { .. }
            | Event::Moderation { .. }
            | Event::ReadMark { .. }
            | Event::File(_)
            | Event::Bye(Bye::Unlinked)
            | Event::Pref(_)
            | Event::Block { .. }
            | Event::Archive { .. }
            | Event::Mark { .. }
            | Event::Hide { .. }
            | Event::Star { .. }
            | Event::Call { .. }
            | Event::GroupCall { .. }
            | Event::Profile(_)
            | Event::Privacy(_) => 2,
        }
    }

    /// The sequence number of a queued event (`MSG`, `STATUS`, `READMARK`).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Event::Msg { seq, .. } | Event::Status { seq, .. } | Event::ReadMark { seq, .. } => Some(*seq),
            Event::File(file) => Some(file.seq),
            _ => None,
        }
    }

    /// Parses one frame from the receive port.
    pub fn parse(line: &str) -> Result<Event, String> {
        let word = line.split(':').next().unwrap_or("");
        let shape =
            |n, what: &str| split_fields(line, n).ok_or_else(|| format!("expected {what}, got {line:?}"));
        let number = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?} in {line:?}"));
        Ok(match word {
            "MSG" => {
                let f = shape(7, "MSG:<seq>:<from>:<to>:<id>:<ts>:<text>")?;
                Event::Msg {
                    seq: number(f[1])?,
                    from: f[2].into(),
                    to: f[3].into(),
                    id: f[4].into(),
                    ts: number(f[5])?,
                    text: Text::parse(f[6])?,
                }
            }
            "STATUS" => {
                let f = shape(6, "STATUS:<seq>:<peer>:<id>:<state>:<ts>")?;
                Event::Status {
                    seq: number(f[1])?,
                    peer: f[2].into(),
                    id: f[3].into(),
                    state: f[4].parse()?,
                    ts: number(f[5])?,
                }
            }
            "JOINED" => Event::Joined { user: shape(2, "JOINED:<user>")?[1].into() },
            "LEFT" => Event::Left { user: shape(2, "LEFT:<user>")?[1].into() },
            "P2P" => {
                let f = shape(3, "P2P:<from>:<token>")?;
                Event::P2p { from: f[1].into(), token: f[2].into() }
            }
            "MEMBER" => {
                let f = shape(4, "MEMBER:<#room>:<user>:JOINED|LEFT")?;
                let joined = match f[3] {
                    "JOINED" => true,
                    "LEFT" => false,
                    other => return Err(format!("unknown MEMBER change {other:?}")),
                };
                Event::Member { room: f[1].into(), user: f[2].into(), joined }
            }
            "CALL" => {
                let (from, id, signal) = super::call::split(line)
                    .ok_or_else(|| format!("expected CALL:<from>:<id>:<signal>, got {line:?}"))?;
                Event::Call { from: from.into(), id: id.into(), signal: super::call::Signal::parse(signal)? }
            }
            "GROUPCALL" => {
                let f = shape(3, "GROUPCALL:<#room>:<what>:…")?;
                if !f[1].starts_with('#') {
                    return Err(format!("expected GROUPCALL:<#room>:…, got {line:?}"));
                }
                Event::GroupCall { room: f[1].into(), event: super::group_call::GroupEvent::parse(f[2])? }
            }
            "TYPING" => {
                let f = shape(3, "TYPING:<from>:<to>")?;
                if f[2].contains(':') {
                    return Err(format!("expected TYPING:<from>:<to>, got {line:?}"));
                }
                Event::Typing { from: f[1].into(), to: f[2].into() }
            }
            word if EVENT_WORDS.contains(&word) => {
                let (room, by, change) = Change::parse_event(line)?;
                Event::Moderation { room, by, change }
            }
            "READMARK" => {
                let f = shape(5, "READMARK:<seq>:<peer or #room>:<id>:<ts>")?;
                Event::ReadMark { seq: number(f[1])?, chat: f[2].into(), id: f[3].into(), ts: number(f[4])? }
            }
            "PREF" | "BLOCKED" | "UNBLOCKED" | "ARCHIVE" | "STAR" => preference(word, line)?,
            "MARK" => {
                let f = shape(3, "MARK:<chat>:<marked|unmarked>")?;
                let marked = match f[2] {
                    "marked" => true,
                    "unmarked" => false,
                    other => return Err(format!("expected marked or unmarked, not {other:?}")),
                };
                Event::Mark { chat: f[1].into(), marked }
            }
            "HIDE" => {
                let f = shape(3, "HIDE:<chat>:<ts>")?;
                Event::Hide { chat: f[1].into(), ts: number(f[2])? }
            }
            "FILE" => Event::File(super::files::FileEvent::parse(line)?),
            "PROFILE" => {
                Event::Profile(super::profile::ProfileLine::parse(&line["PROFILE:".len().min(line.len())..])?)
            }
            "PRIVACY" => {
                Event::Privacy(super::profile::PrivacyLine::parse(&line["PRIVACY:".len().min(line.len())..])?)
            }
            "PING" if line == "PING" => Event::Ping,
            "BYE" => Event::Bye(match shape(2, "BYE:<reason>")?[1] {
                "REPLACED" => Bye::Replaced,
                "SHUTDOWN" => Bye::Shutdown,
                "TIMEOUT" => Bye::Timeout,
                "SLOW" => Bye::Slow,
                "UNLINKED" => Bye::Unlinked,
                "DISABLED" => Bye::Disabled,
                other => return Err(format!("unknown BYE reason {other:?}")),
            }),
            _ => return Err(format!("unknown event {line:?}")),
        })
    }
}

/// 1.2 (§22, §23, §25): the events that tell your devices of a change of
/// your blocks and chat preferences: `PREF`, `BLOCKED`, `UNBLOCKED`,
/// `ARCHIVE`; and of your stars, `STAR`.
fn preference(word: &str, line: &str) -> Result<Event, String> {
    let shape = |n, what: &str| split_fields(line, n).ok_or_else(|| format!("expected {what}, got {line:?}"));
    Ok(match word {
        "PREF" => Event::Pref(super::PrefLine::parse(&line["PREF:".len().min(line.len())..])?),
        "BLOCKED" => Event::Block { user: shape(2, "BLOCKED:<user>")?[1].into(), blocked: true },
        "UNBLOCKED" => Event::Block { user: shape(2, "UNBLOCKED:<user>")?[1].into(), blocked: false },
        "STAR" => {
            let f = shape(5, "STAR:<chat>:<from>:<id>:<starred|unstarred>")?;
            let starred = match f[4] {
                "starred" => true,
                "unstarred" => false,
                other => return Err(format!("expected starred or unstarred, not {other:?}")),
            };
            Event::Star { chat: f[1].into(), from: f[2].into(), id: f[3].into(), starred }
        }
        _ => {
            let f = shape(3, "ARCHIVE:<chat>:<archived|unarchived>")?;
            let archived = match f[2] {
                "archived" => true,
                "unarchived" => false,
                other => return Err(format!("expected archived or unarchived, not {other:?}")),
            };
            Event::Archive { chat: f[1].into(), archived }
        }
    })
}

impl fmt::Display for Event {
    /// Writes the frame without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Msg { seq, from, to, id, ts, text } => {
                let text = text.as_escaped();
                EventRef::Msg { seq: *seq, from, to, id, ts: *ts, text }.fmt(f)
            }
            Event::Status { seq, peer, id, state, ts } => {
                EventRef::Status { seq: *seq, peer, id, state: *state, ts: *ts }.fmt(f)
            }
            Event::Joined { user } => write!(f, "JOINED:{user}"),
            Event::Left { user } => write!(f, "LEFT:{user}"),
            Event::P2p { from, token } => write!(f, "P2P:{from}:{token}"),
            Event::Member { room, user, joined } => {
                write!(f, "MEMBER:{room}:{user}:{}", if *joined { "JOINED" } else { "LEFT" })
            }
            Event::Typing { from, to } => write!(f, "TYPING:{from}:{to}"),
            Event::Call { from, id, signal } => write!(f, "CALL:{from}:{id}:{signal}"),
            Event::GroupCall { room, event } => write!(f, "GROUPCALL:{room}:{event}"),
            Event::Moderation { room, by, change } => change.fmt_event(room, by, f),
            Event::ReadMark { seq, chat, id, ts } => {
                EventRef::ReadMark { seq: *seq, chat, id, ts: *ts }.fmt(f)
            }
            Event::File(file) => file.fmt(f),
            Event::Ping => f.write_str("PING"),
            Event::Bye(reason) => write!(f, "BYE:{}", reason.as_str()),
            Event::Pref(line) => write!(f, "PREF:{line}"),
            Event::Profile(line) => write!(f, "PROFILE:{line}"),
            Event::Privacy(line) => write!(f, "PRIVACY:{line}"),
            Event::Block { user, blocked: true } => write!(f, "BLOCKED:{user}"),
            Event::Block { user, blocked: false } => write!(f, "UNBLOCKED:{user}"),
            Event::Archive { chat, archived } => {
                write!(f, "ARCHIVE:{chat}:{}", if *archived { "archived" } else { "unarchived" })
            }
            Event::Star { chat, from, id, starred } => {
                write!(f, "STAR:{chat}:{from}:{id}:{}", if *starred { "starred" } else { "unstarred" })
            }
            Event::Mark { chat, marked } => {
                write!(f, "MARK:{chat}:{}", if *marked { "marked" } else { "unmarked" })
            }
            Event::Hide { chat, ts } => write!(f, "HIDE:{chat}:{ts}"),
        }
    }
}

/// A numbered event (`MSG`, `STATUS`) borrowed from wherever it is kept
/// (the server's store, its log), so it can be written without first being
/// copied into an [`Event`]. [`Event`]'s own `Display` writes through this:
/// there is one way to write these frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// `MSG:<seq>:<from>:<to>:<id>:<ts>:<text>` (`text` escaped).
    Msg { seq: u64, from: &'a str, to: &'a str, id: &'a str, ts: u64, text: &'a str },
    /// `STATUS:<seq>:<peer>:<id>:<state>:<ts>`.
    Status { seq: u64, peer: &'a str, id: &'a str, state: MsgState, ts: u64 },
    /// 1.2: `READMARK:<seq>:<peer or #room>:<id>:<ts>`.
    ReadMark { seq: u64, chat: &'a str, id: &'a str, ts: u64 },
    /// 1.3: a message the network could not deliver (§27), as the
    /// client's version reads it.
    Failed(crate::protocol::link::Bounce<'a>),
}

impl fmt::Display for EventRef<'_> {
    /// Writes the frame without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventRef::Msg { seq, from, to, id, ts, text } => {
                let (seq, ts) = (Number(*seq), Number(*ts));
                write!(f, "MSG:{seq}:{from}:{to}:{id}:{ts}:{text}")
            }
            EventRef::Status { seq, peer, id, state, ts } => {
                let (seq, ts) = (Number(*seq), Number(*ts));
                write!(f, "STATUS:{seq}:{peer}:{id}:{state}:{ts}")
            }
            EventRef::ReadMark { seq, chat, id, ts } => write!(f, "READMARK:{seq}:{chat}:{id}:{ts}"),
            EventRef::Failed(bounce) => bounce.fmt(f),
        }
    }
}

impl<'a> EventRef<'a> {
    /// Parses a `MSG` or `STATUS` frame without copying it (a `MSG`'s text
    /// stays escaped): the hot path of a load client. `None` for any other
    /// frame, or one that [`Event::parse`] would refuse for its numbers.
    pub fn parse(line: &'a str) -> Option<EventRef<'a>> {
        let number = |s: &str| s.parse::<u64>().ok();
        if line.starts_with("MSG:") {
            let f = split_fields(line, 7)?;
            Some(EventRef::Msg {
                seq: number(f[1])?,
                from: f[2],
                to: f[3],
                id: f[4],
                ts: number(f[5])?,
                text: f[6],
            })
        } else if line.starts_with("STATUS:") {
            let f = split_fields(line, 6)?;
            let state = f[4].parse().ok()?;
            Some(EventRef::Status { seq: number(f[1])?, peer: f[2], id: f[3], state, ts: number(f[5])? })
        } else {
            None
        }
    }
}

/// What a client sends on the receive port once logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventReply {
    /// `ACK:<seq>`: every event up to `seq` is safe on the client's side.
    Ack(u64),
    /// `PONG`: the answer to `PING`.
    Pong,
    /// 1.1: `VERSION:1.1`: this client understands protocol 1.1's events.
    /// Said once after the login; a version-1 server ignores it.
    Version11,
    /// 1.2: `VERSION:1.2`: this client understands protocol 1.2's events
    /// too (`TYPING`, `READMARK`, copies of its own messages). On the
    /// receive port it may also come before `LOGIN`, answered `OK`, or as
    /// the line right after a device login (§16). A client says `VERSION:1.1` first, so that a 1.1
    /// server, which ignores this frame, still sends it 1.1's.
    Version12,
    /// 1.3: `VERSION:1.3`: this client reads a bounce as
    /// `STATUS:…:FAILED:<ts>:<reason>` (§27) instead of as a message.
    Version13,
}

impl EventReply {
    /// The minor version a `VERSION` frame opts in to.
    pub fn minor(self) -> Option<u8> {
        match self {
            EventReply::Version11 => Some(1),
            EventReply::Version12 => Some(2),
            EventReply::Version13 => Some(3),
            EventReply::Ack(_) | EventReply::Pong => None,
        }
    }
}

impl EventReply {
    /// Parses a frame; `None` for anything else (which the server ignores).
    pub fn parse(line: &str) -> Option<EventReply> {
        if line == "PONG" {
            return Some(EventReply::Pong);
        }
        if line == "VERSION:1.1" {
            return Some(EventReply::Version11);
        }
        if line == "VERSION:1.2" {
            return Some(EventReply::Version12);
        }
        if line == "VERSION:1.3" {
            return Some(EventReply::Version13);
        }
        let seq = line.strip_prefix("ACK:")?;
        // Only plain digits: `+5` or ` 5` are not sequence numbers.
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seq.parse().ok().map(EventReply::Ack)
    }
}

impl fmt::Display for EventReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventReply::Ack(seq) => write!(f, "ACK:{seq}"),
            EventReply::Pong => f.write_str("PONG"),
            EventReply::Version11 => f.write_str("VERSION:1.1"),
            EventReply::Version12 => f.write_str("VERSION:1.2"),
            EventReply::Version13 => f.write_str("VERSION:1.3"),
        }
    }
}

#[cfg(test)]
mod tests;
