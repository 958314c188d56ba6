//! The receipt family: a member of a room, of the dialer's server, got
//! or read the room's messages up to one of them (`RECEIPT`), said to
//! every other server with members in the room, so that a message's
//! sender sees who has it (`RECEIPTS`, §31) as in a room of one server.
//! Numbered, as messages are: stored by the acceptor, answered `ACK:<n>`,
//! replayed until it is.

use std::fmt;

use super::super::names::{check_address, check_id, check_room_address};
use super::fields::{Refused, first_number, number, unknown};

/// `RECEIPT:<n>:<reader>@<origin>:<#room>@<home>:<author>@<server>:<id>:<state>:<ts>`:
/// `reader` has `room`'s messages up to `author`'s message `id`, since
/// `ts`, as [`ReceiptState`] says. A mark, as a member's on one server:
/// it covers the room's earlier messages too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptFrame {
    pub n: u64,
    pub reader: String,
    pub room: String,
    pub author: String,
    pub id: String,
    pub state: ReceiptState,
    pub ts: u64,
}

/// What a `RECEIPT` says its reader did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptState {
    /// `DELIVERED`: got them, and shows its reads.
    Delivered,
    /// `READ`: read them.
    Read,
    /// `PRIVATE`: got them, and turned read receipts off (§30): the
    /// acceptor counts it as a member of its own who hides its reads
    /// (read once delivered, listed as delivered).
    Private,
}

impl ReceiptState {
    /// Its word on the link.
    pub fn word(self) -> &'static str {
        match self {
            ReceiptState::Delivered => "DELIVERED",
            ReceiptState::Read => "READ",
            ReceiptState::Private => "PRIVATE",
        }
    }

    fn parse(word: &str) -> Result<ReceiptState, String> {
        match word {
            "DELIVERED" => Ok(ReceiptState::Delivered),
            "READ" => Ok(ReceiptState::Read),
            "PRIVATE" => Ok(ReceiptState::Private),
            other => Err(format!("a RECEIPT's state is DELIVERED, READ or PRIVATE, not {other:?}")),
        }
    }
}

/// Reads a `RECEIPT`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<ReceiptFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let bad = |e: String| (first_number(rest), e);
    let f: Vec<&str> = rest.split(':').collect();
    if f.len() != 7 {
        return Err(bad(
            "RECEIPT:<n>:<reader>@<origin>:<#room>@<home>:<author>@<server>:<id>:<state>:<ts>".into()
        ));
    }
    let n = number(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    check_room_address(f[2]).map_err(bad)?;
    check_address(f[3]).map_err(bad)?;
    check_id(f[4]).map_err(bad)?;
    let state = ReceiptState::parse(f[5]).map_err(bad)?;
    let ts = number(f[6]).map_err(bad)?;
    let (reader, room, author, id) = (f[1].into(), f[2].into(), f[3].into(), f[4].into());
    Ok(ReceiptFrame { n, reader, room, author, id, state, ts })
}

impl fmt::Display for ReceiptFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ReceiptFrame { n, reader, room, author, id, state, ts } = self;
        write!(f, "RECEIPT:{n}:{reader}:{room}:{author}:{id}:{}:{ts}", state.word())
    }
}
