//! The people family: a user of the dialer looks for the acceptor's
//! users by the start of their names (`PEOPLE`, §26's
//! `PEOPLE:<start>@<server>`). Told, and answered at once as the send
//! port answers `PEOPLE`.

use std::fmt;

use super::super::names::{check_address, check_name};
use super::fields::{Refused, unknown};

/// Most lines of a `PEOPLE` frame's answer: what `PEOPLE` answers on the
/// send port.
pub const MAX_PEOPLE_ACROSS: usize = super::super::request::MAX_PEOPLE;

/// `PEOPLE:<asker>@<origin>:<start>`: `asker` looks for the acceptor's
/// users whose names begin with `start`. Answered `OK:<n>` then `n`
/// lines `<user>:<ONLINE|ts|UNKNOWN>` (at most [`MAX_PEOPLE_ACROSS`]), or
/// `KO:<CODE>:<reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeopleFrame {
    pub asker: String,
    pub start: String,
}

/// Reads a `PEOPLE`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<PeopleFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let f: Vec<&str> = rest.split(':').collect();
    if f.len() != 2 {
        return Err((None, "PEOPLE:<asker>@<origin>:<start of a name>".into()));
    }
    check_address(f[0]).map_err(|e| (None, e))?;
    check_name(f[1]).map_err(|e| (None, format!("bad start of a name: {e}")))?;
    Ok(PeopleFrame { asker: f[0].into(), start: f[1].into() })
}

impl fmt::Display for PeopleFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PEOPLE:{}:{}", self.asker, self.start)
    }
}
