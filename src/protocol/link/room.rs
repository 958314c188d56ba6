//! The room family: a user joins or leaves a room of another server
//! (`JOIN`, `LEAVE`), said to the room's home; the home says it on to
//! the room's other member servers. Numbered, as messages are. A room's
//! messages are the message family's `MSG`s to `#room@home`.

use std::fmt;

use super::super::names::{check_address, check_room_address};
use super::fields::{Refused, first_number, number, unknown};

/// `JOIN:<n>:<user>@<origin>:<#room>@<home>` (`joined`), or `LEAVE:…`:
/// `user` joins, or leaves, `room`. Sent by a member's server to the
/// room's home, and by the home to its other member servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomFrame {
    pub n: u64,
    pub user: String,
    pub room: String,
    pub joined: bool,
}

/// Reads a `JOIN` or a `LEAVE`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<RoomFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let bad = |e: String| (first_number(rest), e);
    let f: Vec<&str> = rest.split(':').collect();
    if f.len() != 3 {
        return Err(bad(format!("{word}:<n>:<user>@<origin>:<#room>@<home>")));
    }
    let n = number(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    check_room_address(f[2]).map_err(bad)?;
    let (user, room) = (f[1].to_string(), f[2].to_string());
    Ok(RoomFrame { n, user, room, joined: word == "JOIN" })
}

impl fmt::Display for RoomFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RoomFrame { n, user, room, joined } = self;
        let word = if *joined { "JOIN" } else { "LEAVE" };
        write!(f, "{word}:{n}:{user}:{room}")
    }
}
