//! The call family: a call's signal (§24) between a user of each server
//! (`CALL`). Told, never stored nor replayed: a signal late is a signal
//! for nobody.

use std::fmt;

use super::super::call::Signal;
use super::super::names::{check_address, check_id};
use super::fields::{Refused, unknown};

/// `CALL:<from>@<origin>:<to>@<dest>:<call id>:<signal>`, a call's
/// signal from a user of the sender's server to one of the other's;
/// answered at once, `OK` or `KO:<CODE>:<reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFrame {
    pub from: String,
    pub to: String,
    pub id: String,
    pub signal: Signal,
}

/// Reads a `CALL`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<CallFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let bad = |e: String| (None, e);
    let f: Vec<&str> = rest.splitn(4, ':').collect();
    if f.len() != 4 {
        return Err(bad("CALL:<from>@<origin>:<to>@<dest>:<call id>:<signal>".into()));
    }
    check_address(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    check_id(f[2]).map_err(bad)?;
    let signal = Signal::parse(f[3]).map_err(bad)?;
    Ok(CallFrame { from: f[0].into(), to: f[1].into(), id: f[2].into(), signal })
}

impl fmt::Display for CallFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CallFrame { from, to, id, signal } = self;
        write!(f, "CALL:{from}:{to}:{id}:{signal}")
    }
}
