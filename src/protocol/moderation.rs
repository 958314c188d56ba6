//! Moderation, protocol 1.2 (docs/PROTOCOL.md, "Moderation (1.2)"): what
//! an owner or an admin of a room asks ([`ModAction`]), what members are told
//! once it is done ([`Change`], the payload of [`Event::Moderation`]); the
//! lines of a `ROOMINFO` reply ([`RoomInfoLine`](super::RoomInfoLine)) are in
//! [`room_info`](super::room_info), beside it.
//!
//! Kept apart from `request/mod.rs` and `event/mod.rs`, which only hand a frame
//! whose first word is one of these over to here: ten requests and ten
//! events that share one shape (`<WORD>:<#room>:…`) read better together.
//!
//! Times on the wire: a request says *minutes* (what a teacher types),
//! an event and `ROOMINFO` say the *instant* it ends, in Unix milliseconds
//! of the server's clock (`0`: until lifted), so that a client can show
//! "muted until 14:05" whatever its own clock says.
//!
//! [`Event::Moderation`]: super::Event::Moderation

use std::fmt;

use super::names::check_user;
use super::{Chat, Code, Ko, Text, split_fields};

/// The longest topic, in bytes of its escaped form: a line in a header,
/// not a message.
pub const MAX_TOPIC: usize = 512;

/// The longest mute or ban in minutes (ten years): a number a client can
/// type never overflows the server's clock.
pub const MAX_MINUTES: u64 = 10 * 366 * 24 * 60;

/// A room's modes (`MODE:<#room>:+announce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoomMode {
    /// Only the room's admins may send to it.
    Announce,
    /// `JOIN` needs an invitation.
    Invite,
}

impl RoomMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomMode::Announce => "announce",
            RoomMode::Invite => "invite",
        }
    }

    /// `+announce` / `-invite` …
    pub(super) fn parse_signed(s: &str) -> Option<(RoomMode, bool)> {
        let on = match s.as_bytes().first() {
            Some(b'+') => true,
            Some(b'-') => false,
            _ => return None,
        };
        let mode = match &s[1..] {
            "announce" => RoomMode::Announce,
            "invite" => RoomMode::Invite,
            _ => return None,
        };
        Some((mode, on))
    }
}

/// `+announce` or `-announce`, as written in a request or an event.
pub(super) struct Signed(pub(super) RoomMode, pub(super) bool);

impl fmt::Display for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.1 { '+' } else { '-' }, self.0.as_str())
    }
}

/// What a moderation request asks (after its `<#room>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModAction {
    /// `TOPIC:<#room>:<text>`: an empty text clears the topic.
    Topic(String),
    /// `MODE:<#room>:+announce|-announce|+invite|-invite`.
    Mode(RoomMode, bool),
    /// `INVITE:<#room>:<user>`.
    Invite(String),
    /// `KICK:<#room>:<user>`.
    Kick(String),
    /// `BAN:<#room>:<user>:<minutes>`, 0: until `UNBAN`.
    Ban(String, u64),
    /// `UNBAN:<#room>:<user>`.
    Unban(String),
    /// `MUTE:<#room>:<user>:<minutes>`, at least 1.
    Mute(String, u64),
    /// `UNMUTE:<#room>:<user>`.
    Unmute(String),
    /// `OP:<#room>:<user>`: the owner makes `user` a room admin.
    Op(String),
    /// `DEOP:<#room>:<user>`.
    Deop(String),
}

/// The first words of the moderation requests.
pub const REQUEST_WORDS: &[&str] =
    &["TOPIC", "MODE", "INVITE", "KICK", "BAN", "UNBAN", "MUTE", "UNMUTE", "OP", "DEOP"];

fn bad(reason: impl Into<String>) -> Ko {
    Ko::new(Code::BadRequest, reason)
}

/// The user an action is about: a name, or (1.3, §27) an address, a
/// member of another server in a room homed here.
fn user(name: &str) -> Result<String, Ko> {
    check_user(name).map_err(|e| bad(format!("bad user name: {e}")))?;
    Ok(name.to_string())
}

fn minutes(s: &str, least: u64) -> Result<u64, Ko> {
    match s.parse::<u64>() {
        Ok(m) if (least..=MAX_MINUTES).contains(&m) && !s.starts_with('+') => Ok(m),
        _ => Err(bad(format!("the minutes must be a number from {least} to {MAX_MINUTES}, not {s:?}"))),
    }
}

/// Checks a topic as `TOPIC` sends it: escaped as a message text (and as
/// strict), but possibly empty, and at most [`MAX_TOPIC`] bytes.
pub fn check_topic(escaped: &str) -> Result<(), String> {
    if escaped.len() > MAX_TOPIC {
        return Err(format!("a topic is at most {MAX_TOPIC} bytes"));
    }
    if !escaped.is_empty() {
        Text::parse_sent(escaped)?;
        // A topic names the room in every member's title: no character
        // that hides or reorders what they see.
        super::escape::check_name_text(escaped, "a topic")?;
    }
    Ok(())
}

impl ModAction {
    /// Parses a request whose first word is one of [`REQUEST_WORDS`]:
    /// the room (without its `#`) and the action.
    pub fn parse(line: &str) -> Result<(String, ModAction), Ko> {
        let word = line.split(':').next().unwrap_or("");
        let (n, shape) = match word {
            "TOPIC" => (3, "TOPIC:<#room>:<text>"),
            "MODE" => (3, "MODE:<#room>:<+|-><announce|invite>"),
            "BAN" => (4, "BAN:<#room>:<user>:<minutes or 0>"),
            "MUTE" => (4, "MUTE:<#room>:<user>:<minutes>"),
            "INVITE" => (3, "INVITE:<#room>:<user>"),
            "KICK" => (3, "KICK:<#room>:<user>"),
            "UNBAN" => (3, "UNBAN:<#room>:<user>"),
            "UNMUTE" => (3, "UNMUTE:<#room>:<user>"),
            "OP" => (3, "OP:<#room>:<user>"),
            "DEOP" => (3, "DEOP:<#room>:<user>"),
            other => return Err(bad(format!("not a moderation request: {other:?}"))),
        };
        let f = split_fields(line, n).ok_or_else(|| bad(format!("expected {shape}")))?;
        let room = Chat::parse_room(f[1]).map_err(bad)?;
        // Only the last field takes the rest of the line: a `:` in a user
        // name field is a bad name, said so.
        let action = match word {
            "TOPIC" => {
                check_topic(f[2]).map_err(bad)?;
                ModAction::Topic(f[2].to_string())
            }
            "MODE" => {
                let (mode, on) = RoomMode::parse_signed(f[2])
                    .ok_or_else(|| bad(format!("expected {shape}, not {:?}", f[2])))?;
                ModAction::Mode(mode, on)
            }
            "BAN" => ModAction::Ban(user(f[2])?, minutes(f[3], 0)?),
            "MUTE" => ModAction::Mute(user(f[2])?, minutes(f[3], 1)?),
            "INVITE" => ModAction::Invite(user(f[2])?),
            "KICK" => ModAction::Kick(user(f[2])?),
            "UNBAN" => ModAction::Unban(user(f[2])?),
            "UNMUTE" => ModAction::Unmute(user(f[2])?),
            "OP" => ModAction::Op(user(f[2])?),
            _ => ModAction::Deop(user(f[2])?),
        };
        Ok((room, action))
    }

    /// Tokens the request takes from its author's `--rate` bucket: one
    /// per record it may store, as a `MSG` takes one for its one record,
    /// so that a flood of moderation costs what a flood of messages does:
    /// the rule and its notice, and a removed member's `LEAVE`.
    pub fn cost(&self) -> u32 {
        match self {
            ModAction::Kick(_) | ModAction::Ban(..) => 3,
            _ => 2,
        }
    }

    /// The user the action is about, to name it as the server keeps it
    /// (`None`: the room itself).
    pub fn target_mut(&mut self) -> Option<&mut String> {
        match self {
            ModAction::Topic(_) | ModAction::Mode(..) => None,
            ModAction::Invite(u)
            | ModAction::Kick(u)
            | ModAction::Ban(u, _)
            | ModAction::Unban(u)
            | ModAction::Mute(u, _)
            | ModAction::Unmute(u)
            | ModAction::Op(u)
            | ModAction::Deop(u) => Some(u),
        }
    }
}

/// Writes the request for `room` (without its `#`), without its `\n`.
pub struct ActionFrame<'a>(pub &'a str, pub &'a ModAction);

impl fmt::Display for ActionFrame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let room = self.0;
        match self.1 {
            ModAction::Topic(text) => write!(f, "TOPIC:#{room}:{text}"),
            ModAction::Mode(mode, on) => write!(f, "MODE:#{room}:{}", Signed(*mode, *on)),
            ModAction::Invite(u) => write!(f, "INVITE:#{room}:{u}"),
            ModAction::Kick(u) => write!(f, "KICK:#{room}:{u}"),
            ModAction::Ban(u, m) => write!(f, "BAN:#{room}:{u}:{m}"),
            ModAction::Unban(u) => write!(f, "UNBAN:#{room}:{u}"),
            ModAction::Mute(u, m) => write!(f, "MUTE:#{room}:{u}:{m}"),
            ModAction::Unmute(u) => write!(f, "UNMUTE:#{room}:{u}"),
            ModAction::Op(u) => write!(f, "OP:#{room}:{u}"),
            ModAction::Deop(u) => write!(f, "DEOP:#{room}:{u}"),
        }
    }
}

/// What changed in a room: the payload of a moderation event, and what
/// the store records. Times are instants (Unix ms; 0: until lifted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `TOPIC:<#room>:<by>:<text>` (empty: no topic).
    Topic(String),
    /// `MODE:<#room>:<by>:<+|-><mode>`.
    Mode(RoomMode, bool),
    /// `INVITED:<#room>:<by>:<user>`.
    Invited(String),
    /// `KICKED:<#room>:<by>:<user>`.
    Kicked(String),
    /// `BANNED:<#room>:<by>:<user>:<until>`.
    Banned(String, u64),
    /// `UNBANNED:<#room>:<by>:<user>`.
    Unbanned(String),
    /// `MUTED:<#room>:<by>:<user>:<until>`.
    Muted(String, u64),
    /// `UNMUTED:<#room>:<by>:<user>`.
    Unmuted(String),
    /// `OPPED:<#room>:<by>:<user>`: `user` is a room admin.
    Opped(String),
    /// `DEOPPED:<#room>:<by>:<user>`.
    Deopped(String),
}

/// The first words of the moderation events.
pub const EVENT_WORDS: &[&str] =
    &["TOPIC", "MODE", "INVITED", "KICKED", "BANNED", "UNBANNED", "MUTED", "UNMUTED", "OPPED", "DEOPPED"];

impl Change {
    /// The event's first word.
    pub fn word(&self) -> &'static str {
        match self {
            Change::Topic(_) => "TOPIC",
            Change::Mode(..) => "MODE",
            Change::Invited(_) => "INVITED",
            Change::Kicked(_) => "KICKED",
            Change::Banned(..) => "BANNED",
            Change::Unbanned(_) => "UNBANNED",
            Change::Muted(..) => "MUTED",
            Change::Unmuted(_) => "UNMUTED",
            Change::Opped(_) => "OPPED",
            Change::Deopped(_) => "DEOPPED",
        }
    }

    /// The user it is about (`None`: the room itself).
    pub fn target(&self) -> Option<&str> {
        match self {
            Change::Topic(_) | Change::Mode(..) => None,
            Change::Invited(u)
            | Change::Kicked(u)
            | Change::Banned(u, _)
            | Change::Unbanned(u)
            | Change::Muted(u, _)
            | Change::Unmuted(u)
            | Change::Opped(u)
            | Change::Deopped(u) => Some(u),
        }
    }

    /// Builds a change from its word and fields (the event's, or a log
    /// record's): `target`, `until` and `text` as the word needs them.
    pub fn from_parts(word: &str, target: &str, until: u64, text: &str) -> Result<Change, String> {
        let t = || target.to_string();
        Ok(match word {
            "TOPIC" => Change::Topic(text.to_string()),
            "MODE" => {
                let (mode, on) =
                    RoomMode::parse_signed(target).ok_or_else(|| format!("bad mode {target:?}"))?;
                Change::Mode(mode, on)
            }
            "INVITED" => Change::Invited(t()),
            "KICKED" => Change::Kicked(t()),
            "BANNED" => Change::Banned(t(), until),
            "UNBANNED" => Change::Unbanned(t()),
            "MUTED" => Change::Muted(t(), until),
            "UNMUTED" => Change::Unmuted(t()),
            "OPPED" => Change::Opped(t()),
            "DEOPPED" => Change::Deopped(t()),
            other => return Err(format!("unknown moderation change {other:?}")),
        })
    }

    /// The parts [`Change::from_parts`] reads back: (word, target or
    /// signed mode, until, topic text).
    pub fn parts(&self) -> (&'static str, String, u64, &str) {
        let target = match self {
            Change::Mode(mode, on) => Signed(*mode, *on).to_string(),
            other => other.target().unwrap_or("").to_string(),
        };
        let until = match self {
            Change::Banned(_, until) | Change::Muted(_, until) => *until,
            _ => 0,
        };
        let text = match self {
            Change::Topic(text) => text.as_str(),
            _ => "",
        };
        (self.word(), target, until, text)
    }

    /// Parses a moderation event: `(room, by, change)`.
    pub fn parse_event(line: &str) -> Result<(String, String, Change), String> {
        let word = line.split(':').next().unwrap_or("");
        let n = match word {
            "BANNED" | "MUTED" => 5,
            _ => 4,
        };
        let f =
            split_fields(line, n).ok_or_else(|| format!("expected {word}:<#room>:<by>:…, got {line:?}"))?;
        if !f[1].starts_with('#') {
            return Err(format!("expected a #room in {line:?}"));
        }
        let (target, until, text) = match word {
            "TOPIC" => ("", 0, f[3]),
            "BANNED" | "MUTED" => {
                let until = f[4].parse::<u64>().map_err(|_| format!("bad time {:?} in {line:?}", f[4]))?;
                (f[3], until, "")
            }
            _ => (f[3], 0, ""),
        };
        if word != "TOPIC" && target.contains(':') {
            return Err(format!("expected one name in {line:?}"));
        }
        let change = Change::from_parts(word, target, until, text)?;
        Ok((f[1].to_string(), f[2].to_string(), change))
    }

    /// Writes the event for `room` (`#` included) done by `by`.
    pub fn fmt_event(&self, room: &str, by: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word();
        match self {
            Change::Topic(text) => write!(f, "{word}:{room}:{by}:{text}"),
            Change::Mode(mode, on) => write!(f, "{word}:{room}:{by}:{}", Signed(*mode, *on)),
            Change::Banned(u, until) | Change::Muted(u, until) => write!(f, "{word}:{room}:{by}:{u}:{until}"),
            Change::Invited(u)
            | Change::Kicked(u)
            | Change::Unbanned(u)
            | Change::Unmuted(u)
            | Change::Opped(u)
            | Change::Deopped(u) => write!(f, "{word}:{room}:{by}:{u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for line in [
            "TOPIC:#lab3:Deadline friday: 23:59",
            "TOPIC:#lab3:",
            "MODE:#news:+announce",
            "MODE:#news:-invite",
            "INVITE:#g1:bob",
            "KICK:#g1:bob",
            "BAN:#g1:bob:0",
            "BAN:#g1:bob:60",
            "UNBAN:#g1:bob",
            "MUTE:#lab3:bob:5",
            "UNMUTE:#lab3:bob",
            "OP:#lab3:eve",
            "DEOP:#lab3:eve",
        ] {
            let (room, action) = ModAction::parse(line).unwrap();
            assert_eq!(ActionFrame(&room, &action).to_string(), line);
        }
    }

    #[test]
    fn bad_requests_say_why() {
        let why = |line: &str| ModAction::parse(line).unwrap_err().reason;
        assert!(why("MUTE:#lab3:bob:0").contains("from 1"));
        assert!(why("MUTE:#lab3:bob").contains("MUTE:<#room>:<user>:<minutes>"));
        assert!(why("BAN:#lab3:bob:-1").contains("minutes"));
        assert!(why("BAN:#lab3:bob:+1").contains("minutes"));
        assert!(why("KICK:#lab3:bob:x").contains("bad user name"));
        assert!(why("MODE:#lab3:+moderated").contains("announce|invite"));
        assert!(why("KICK:lab3:bob").contains("starts with '#'"));
        assert!(why(&format!("TOPIC:#a:{}", "x".repeat(MAX_TOPIC + 1))).contains("at most"));
        assert!(why("TOPIC:#a:\u{1b}[2J").contains("U+001B"));
    }

    #[test]
    fn events_round_trip() {
        struct Shown<'a>(&'a str, &'a str, &'a Change);
        impl fmt::Display for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.2.fmt_event(self.0, self.1, f)
            }
        }
        for line in [
            "TOPIC:#lab3:ana:Deadline: friday",
            "TOPIC:#lab3:ana:",
            "MODE:#news:ana:+announce",
            "INVITED:#g1:ana:bob",
            "KICKED:#g1:ana:bob",
            "BANNED:#g1:ana:bob:0",
            "BANNED:#g1:ana:bob:1700000000000",
            "UNBANNED:#g1:ana:bob",
            "MUTED:#g1:ana:bob:1700000000000",
            "UNMUTED:#g1:ana:bob",
            "OPPED:#g1:ana:eve",
            "DEOPPED:#g1:ana:eve",
        ] {
            let (room, by, change) = Change::parse_event(line).unwrap();
            assert_eq!(Shown(&room, &by, &change).to_string(), line);
            let (word, target, until, text) = change.parts();
            assert_eq!(Change::from_parts(word, &target, until, text).unwrap(), change);
        }
        assert!(Change::parse_event("MUTED:#g1:ana:bob:soon").is_err());
        assert!(Change::parse_event("KICKED:g1:ana:bob").is_err());
    }
}
