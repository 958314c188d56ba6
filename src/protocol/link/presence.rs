//! The presence family (§27, "Presence across servers"): whether each of
//! the dialer's users is online now, or since when not, as its server
//! shows it to the acceptor's users. Told, never stored nor replayed: a
//! presence late is a presence that changed since.

use std::fmt;

use super::super::Presence;
use super::super::names::check_address;
use super::fields::{MAX_NUMBER, Refused, unknown};

/// Users one `PRESENCE` frame names, at most.
pub const PRESENCE_BATCH: usize = 64;

/// `PRESENCE:<user>@<origin>:<ONLINE|ts|UNKNOWN>[:<user>@<origin>:<…>]…`:
/// whether each of the dialer's users is online now, or since when not,
/// as its server shows it to the acceptor's users (at most
/// [`PRESENCE_BATCH`] users a frame); answered `OK` or
/// `KO:<CODE>:<reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceFrame {
    pub seen: Vec<(String, Presence)>,
}

/// Reads a `PRESENCE`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<PresenceFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
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
    Ok(PresenceFrame { seen })
}

impl fmt::Display for PresenceFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PRESENCE")?;
        for (user, presence) in &self.seen {
            write!(f, ":{user}:{presence}")?;
        }
        Ok(())
    }
}
