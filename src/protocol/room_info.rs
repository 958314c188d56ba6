//! The answer to `ROOMINFO` (1.2, docs/PROTOCOL.md, "Moderation (1.2)"):
//! one [`RoomInfoLine`] per fact about a room (its owner, admins, modes,
//! topic) and about you in it (your [`Role`], a mute or a ban). A room's
//! requests and events are in [`moderation`](super::moderation); these
//! lines are what a member reads back.

use std::fmt;

use super::moderation::{RoomMode, Signed};

/// What you are in a room (`ROOMINFO`'s `ROLE:` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Not a member (a banned or invited user asking about the room).
    None,
    Member,
    /// A room admin (`OP`).
    Admin,
    /// The user who created the room.
    Owner,
    /// An admin of the whole server (`wachat users admin`).
    ServerAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "NONE",
            Role::Member => "MEMBER",
            Role::Admin => "ADMIN",
            Role::Owner => "OWNER",
            Role::ServerAdmin => "SERVER_ADMIN",
        }
    }

    /// May moderate (everything but `OP`/`DEOP`, which are the owner's).
    pub fn moderates(self) -> bool {
        self >= Role::Admin
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::None, Role::Member, Role::Admin, Role::Owner, Role::ServerAdmin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One line of a `ROOMINFO` reply, in this order: `ROOM`, `OWNER` (if
/// any), an `ADMIN` per room admin, a `MODE` per mode on, `TOPIC` (if
/// any), your `ROLE`, then `MUTED` or `BANNED` if you are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomInfoLine {
    /// `ROOM:<#room>`: its name as registered.
    Room(String),
    /// `OWNER:<user>`.
    Owner(String),
    /// `ADMIN:<user>`.
    Admin(String),
    /// `MODE:+announce` / `MODE:+invite`.
    Mode(RoomMode),
    /// `TOPIC:<text>`.
    Topic(String),
    /// `ROLE:<NONE|MEMBER|ADMIN|OWNER|SERVER_ADMIN>`: yours.
    Role(Role),
    /// `MUTED:<until>`: your sends are refused until then.
    Muted(u64),
    /// `BANNED:<until>` (0: until unbanned).
    Banned(u64),
}

impl RoomInfoLine {
    pub fn parse(line: &str) -> Result<RoomInfoLine, String> {
        let (word, rest) =
            line.split_once(':').ok_or_else(|| format!("expected <WORD>:<value>, got {line:?}"))?;
        let time = || rest.parse::<u64>().map_err(|_| format!("bad time {rest:?}"));
        Ok(match word {
            "ROOM" => RoomInfoLine::Room(rest.into()),
            "OWNER" => RoomInfoLine::Owner(rest.into()),
            "ADMIN" => RoomInfoLine::Admin(rest.into()),
            "MODE" => match RoomMode::parse_signed(rest) {
                Some((mode, true)) => RoomInfoLine::Mode(mode),
                _ => return Err(format!("bad mode {rest:?}")),
            },
            "TOPIC" => RoomInfoLine::Topic(rest.into()),
            "ROLE" => RoomInfoLine::Role(Role::parse(rest).ok_or_else(|| format!("unknown role {rest:?}"))?),
            "MUTED" => RoomInfoLine::Muted(time()?),
            "BANNED" => RoomInfoLine::Banned(time()?),
            other => return Err(format!("unknown ROOMINFO line {other:?}")),
        })
    }
}

impl fmt::Display for RoomInfoLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomInfoLine::Room(room) => write!(f, "ROOM:{room}"),
            RoomInfoLine::Owner(u) => write!(f, "OWNER:{u}"),
            RoomInfoLine::Admin(u) => write!(f, "ADMIN:{u}"),
            RoomInfoLine::Mode(mode) => write!(f, "MODE:{}", Signed(*mode, true)),
            RoomInfoLine::Topic(text) => write!(f, "TOPIC:{text}"),
            RoomInfoLine::Role(role) => write!(f, "ROLE:{}", role.as_str()),
            RoomInfoLine::Muted(until) => write!(f, "MUTED:{until}"),
            RoomInfoLine::Banned(until) => write!(f, "BANNED:{until}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_round_trip() {
        for line in [
            "ROOM:#Lab3",
            "OWNER:ana",
            "ADMIN:eve",
            "MODE:+announce",
            "MODE:+invite",
            "TOPIC:a: b",
            "ROLE:SERVER_ADMIN",
            "ROLE:NONE",
            "MUTED:1700000000000",
            "BANNED:0",
        ] {
            assert_eq!(RoomInfoLine::parse(line).unwrap().to_string(), line);
        }
        assert!(RoomInfoLine::parse("MODE:-invite").is_err());
        assert!(RoomInfoLine::parse("ROLE:KING").is_err());
    }
}
