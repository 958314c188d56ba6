//! The payloads of replies: what follows `OK:` (`<id>:<ts>` of a `MSG`,
//! `<ip>:<port>:<token>` of a `PEER`, …) and the lines of listings
//! (`HISTORY`, `CHATS`, `ROOMS`, `MEMBERS`).
//!
//! Each is a type with a `parse` and a `Display`, like requests and
//! events: the store, the cluster and the server build these values and
//! the client parses them, and only this file knows where the colons go.
//! [`Reply`](super::Reply) carries them as text (`Reply::with`,
//! `Reply::listing`), because a reply line does not say which request it
//! answers: only the client that asked knows which of these to parse.
//!
//! [`HistoryLineRef`] is the borrowed form of [`HistoryLine`]: the store
//! writes `HISTORY` lines straight from its log's records, without first
//! copying their fields (as [`EventRef`](super::EventRef) does for `MSG`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use super::names::DeviceName;
use super::names::{check_name, check_user};
use super::{Chat, MessageId, Text, UserName, split_fields};

/// A field that must be a number.
fn number<T: std::str::FromStr>(field: &str, what: &str) -> Result<T, String> {
    // Only plain digits: `+5` is not a timestamp.
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} {field:?}"));
    }
    field.parse().map_err(|_| format!("bad {what} {field:?}"))
}

/// `<id>:<ts>`: the `OK` of a `MSG`, the message's id and the time the
/// server accepted it (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub id: MessageId,
    pub ts: u64,
}

impl Accepted {
    pub fn parse(fields: &str) -> Result<Accepted, String> {
        let (id, ts) = fields.split_once(':').ok_or_else(|| format!("expected <id>:<ts>, got {fields:?}"))?;
        Ok(Accepted { id: id.to_string(), ts: number(ts, "timestamp")? })
    }
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.id, Number(self.ts))
    }
}

/// A number of a frame that every message carries (an `OK`'s `<ts>`, an
/// event's `<seq>` and `<ts>`), written by itoa: `fmt`'s path for
/// integers (its padding and flags, which a frame never uses) cost
/// ~250 instructions a number (docs/BENCHMARKS.md).
pub struct Number(pub u64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(itoa::Buffer::new().format(self.0))
    }
}

/// The states of a message, in the only order they may move (protocol §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MsgState {
    /// `…` the client has it in its own files (not yet accepted by the server).
    Sent,
    /// `✓` the server stored it durably.
    Received,
    /// `✓✓` the recipient's client acknowledged it.
    Delivered,
    /// `✓✓ read` the recipient read it (or a later message).
    Read,
    /// 1.3 (§27): `✗` another server refused it, or it waited past the
    /// give-up age: a bounce, final. Said by `HISTORY` only (the event is
    /// `STATUS:…:FAILED:<ts>:<reason>`, `protocol::link::Bounce`).
    Failed,
}

impl MsgState {
    pub fn as_str(self) -> &'static str {
        match self {
            MsgState::Sent => "SENT",
            MsgState::Received => "RECEIVED",
            MsgState::Delivered => "DELIVERED",
            MsgState::Read => "READ",
            MsgState::Failed => "FAILED",
        }
    }

    /// The ticks a console shows for this state.
    pub fn ticks(self) -> &'static str {
        match self {
            MsgState::Sent => "…",
            MsgState::Received => "✓",
            MsgState::Delivered => "✓✓",
            MsgState::Read => "✓✓ read",
            MsgState::Failed => "✗",
        }
    }
}

impl FromStr for MsgState {
    type Err = String;
    fn from_str(s: &str) -> Result<MsgState, String> {
        match s {
            "SENT" => Ok(MsgState::Sent),
            "RECEIVED" => Ok(MsgState::Received),
            "DELIVERED" => Ok(MsgState::Delivered),
            "READ" => Ok(MsgState::Read),
            "FAILED" => Ok(MsgState::Failed),
            _ => Err(format!("unknown state {s:?}")),
        }
    }
}

impl fmt::Display for MsgState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a user is online, as `LASTSEEN` and `MEMBERS` say it:
/// `ONLINE`, `<ts>` or `UNKNOWN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Logged in on the receive port now.
    Online,
    /// Offline since this time (Unix ms of the server's clock).
    LastSeen(u64),
    /// Offline; the server has no time for it (never online since the
    /// server began to keep track).
    Unknown,
}

impl Presence {
    pub fn parse(field: &str) -> Result<Presence, String> {
        match field {
            "ONLINE" => Ok(Presence::Online),
            "UNKNOWN" => Ok(Presence::Unknown),
            ts => number(ts, "presence").map(Presence::LastSeen),
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Presence::Online => f.write_str("ONLINE"),
            Presence::LastSeen(ts) => write!(f, "{ts}"),
            Presence::Unknown => f.write_str("UNKNOWN"),
        }
    }
}

/// `<user>:<ONLINE|ts|UNKNOWN>`: the `OK` of `LASTSEEN`, and each line of
/// `MEMBERS` ([`MemberLine`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenLine {
    /// The name as registered.
    pub user: UserName,
    pub presence: Presence,
}

/// A line of `MEMBERS`: the same shape as `LASTSEEN`'s reply.
pub type MemberLine = SeenLine;

impl SeenLine {
    pub fn parse(fields: &str) -> Result<SeenLine, String> {
        let f =
            split_fields(fields, 2).ok_or_else(|| format!("expected <user>:<presence>, got {fields:?}"))?;
        // 1.3 (§27): a user of another server is named by its address.
        check_user(f[0])?;
        Ok(SeenLine { user: f[0].to_string(), presence: Presence::parse(f[1])? })
    }
}

impl fmt::Display for SeenLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.user, self.presence)
    }
}

/// `<device>:<ONLINE|ts>:<address>`: a line of `DEVICES` (1.2), one of
/// your devices, online now or when it was last, and the address its
/// receive connection came from (or, before its first, where it was
/// linked from). The address is last: an IPv6 one holds colons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLine {
    pub device: DeviceName,
    pub presence: Presence,
    pub address: IpAddr,
}

impl DeviceLine {
    pub fn parse(line: &str) -> Result<DeviceLine, String> {
        let f = split_fields(line, 3)
            .ok_or_else(|| format!("expected <device>:<ONLINE|ts>:<address>, got {line:?}"))?;
        check_name(f[0]).map_err(|e| format!("bad device name: {e}"))?;
        let address = f[2].parse().map_err(|_| format!("bad address {:?}", f[2]))?;
        Ok(DeviceLine { device: f[0].to_string(), presence: Presence::parse(f[1])?, address })
    }
}

impl fmt::Display for DeviceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.device, self.presence, self.address)
    }
}

/// `<user|#room>:<unread>`: a line of `CHATS`, most recent chat first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    pub chat: Chat,
    /// Messages to you in it not read yet.
    pub unread: u64,
}

impl ChatLine {
    pub fn parse(line: &str) -> Result<ChatLine, String> {
        let (chat, unread) = counted(line, "<chat>:<unread>")?;
        Ok(ChatLine { chat: Chat::parse(chat)?, unread })
    }
}

impl fmt::Display for ChatLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.chat, self.unread)
    }
}

/// `#<room>:<members>`: a line of `ROOMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomLine {
    /// The room as registered, without its `#`.
    pub room: String,
    pub members: u64,
}

impl RoomLine {
    pub fn parse(line: &str) -> Result<RoomLine, String> {
        let (room, members) = counted(line, "#<room>:<members>")?;
        Ok(RoomLine { room: Chat::parse_room(room)?, members })
    }
}

impl fmt::Display for RoomLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}", self.room, self.members)
    }
}

/// `<name>:<number>`.
fn counted<'a>(line: &'a str, what: &str) -> Result<(&'a str, u64), String> {
    let (name, n) = line.rsplit_once(':').ok_or_else(|| format!("expected {what}, got {line:?}"))?;
    Ok((name, number(n, "count")?))
}

/// `<ip>:<port>:<token>`: the `OK` of `PEER`, where to connect and the
/// token to say there. The ip may be IPv6, colons and all, so the fields
/// are taken from the right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIntro {
    pub addr: SocketAddr,
    pub token: String,
}

impl PeerIntro {
    pub fn parse(fields: &str) -> Result<PeerIntro, String> {
        let bad = || format!("expected <ip>:<port>:<token>, got {fields:?}");
        let mut parts = fields.rsplitn(3, ':');
        let (Some(token), Some(port), Some(ip)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        Ok(PeerIntro { addr: SocketAddr::new(ip, port), token: token.to_string() })
    }
}

impl fmt::Display for PeerIntro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.addr.ip(), self.addr.port(), self.token)
    }
}

/// `<from>:<to>:<id>:<ts>:<state>:<text>`: a line of `HISTORY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryLine {
    pub from: UserName,
    /// You, the peer, or the `#room`.
    pub to: Chat,
    pub id: MessageId,
    pub ts: u64,
    /// `RECEIVED`, `DELIVERED` or `READ` (always `RECEIVED` in a room).
    pub state: MsgState,
    pub text: Text,
}

impl HistoryLine {
    pub fn parse(line: &str) -> Result<HistoryLine, String> {
        let f = split_fields(line, 6).ok_or("expected 6 fields")?;
        Ok(HistoryLine {
            from: f[0].to_string(),
            to: Chat::parse(f[1])?,
            id: f[2].to_string(),
            ts: number(f[3], "timestamp")?,
            state: f[4].parse()?,
            text: Text::parse(f[5])?,
        })
    }
}

impl fmt::Display for HistoryLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = self.to.to_string();
        let (from, id, text) = (&self.from, &self.id, self.text.as_escaped());
        HistoryLineRef { from, to: &to, id, ts: self.ts, state: self.state, text }.fmt(f)
    }
}

/// A [`HistoryLine`] borrowed from a log record; `text` is escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLineRef<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub id: &'a str,
    pub ts: u64,
    pub state: MsgState,
    pub text: &'a str,
}

impl HistoryLineRef<'_> {
    /// The owned line, without writing it out and parsing it back: only
    /// the room or peer and the escapes of the text are checked.
    pub fn to_line(&self) -> Result<HistoryLine, String> {
        Ok(HistoryLine {
            from: self.from.to_string(),
            to: Chat::parse(self.to)?,
            id: self.id.to_string(),
            ts: self.ts,
            state: self.state,
            text: Text::parse(self.text)?,
        })
    }

    /// The length of the line as written (without a `\n`), computed
    /// without writing it: `HISTORY` measures lines against its byte
    /// budget before it decides to make them.
    pub fn len(&self) -> usize {
        let digits = self.ts.checked_ilog10().map_or(1, |d| d as usize + 1);
        let fixed = self.from.len() + self.to.len() + self.id.len() + self.text.len() + 5;
        fixed + digits + self.state.as_str().len()
    }

    /// Never: a line has its colons at least (for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for HistoryLineRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let HistoryLineRef { from, to, id, ts, state, text } = self;
        write!(f, "{from}:{to}:{id}:{ts}:{state}:{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for fields in ["m1:1700000000000", "x-1_y:0"] {
            assert_eq!(Accepted::parse(fields).unwrap().to_string(), fields);
        }
        for fields in ["ana:ONLINE", "bob:UNKNOWN", "Cy:1700000000000"] {
            assert_eq!(SeenLine::parse(fields).unwrap().to_string(), fields);
        }
        for line in ["laptop:ONLINE:127.0.0.1", "tui-3f:1700000000000:::1", "default:UNKNOWN:fe80::1"] {
            assert_eq!(DeviceLine::parse(line).unwrap().to_string(), line);
        }
        for line in ["ana:3", "#Tea:0"] {
            assert_eq!(ChatLine::parse(line).unwrap().to_string(), line);
        }
        assert_eq!(RoomLine::parse("#general:12").unwrap().to_string(), "#general:12");
        for fields in ["127.0.0.1:7000:00ff", "::1:7000:ab", "fe80::1:1:cd"] {
            assert_eq!(PeerIntro::parse(fields).unwrap().to_string(), fields);
        }
        for line in ["ana:bob:m1:17:READ:hi: there\\n", "ana:#tea:m2:18:RECEIVED:x"] {
            assert_eq!(HistoryLine::parse(line).unwrap().to_string(), line);
        }
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(Accepted::parse("m1").is_err());
        assert!(Accepted::parse("m1:+5").is_err());
        assert!(SeenLine::parse("ana:SOON").is_err());
        assert!(SeenLine::parse("a b:ONLINE").is_err());
        assert!(RoomLine::parse("general:1").is_err());
        assert!(ChatLine::parse("ana").is_err());
        assert!(DeviceLine::parse("laptop:ONLINE").is_err());
        assert!(DeviceLine::parse("lap top:ONLINE:127.0.0.1").is_err());
        assert!(DeviceLine::parse("laptop:ONLINE:localhost").is_err());
        assert!(PeerIntro::parse("localhost:1:x").is_err());
        assert!(HistoryLine::parse("ana:bob:m1:17:LOST:x").is_err());
        assert!(HistoryLine::parse("ana:bob:m1:17:READ").is_err());
    }

    #[test]
    fn a_history_line_is_measured_as_written() {
        for ts in [0, 9, 10, 1_700_000_000_000, u64::MAX] {
            let line =
                HistoryLineRef { from: "ana", to: "#t", id: "m", ts, state: MsgState::Read, text: "a\\nb" };
            assert_eq!(line.len(), line.to_string().len());
        }
    }
}
