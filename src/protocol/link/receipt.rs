//! The receipt family: a member of a room, of the dialer's server, got
//! or read the room's messages up to one of them (`RECEIPT`), said to
//! every other server with members in the room, so that a message's
//! sender sees who has it (`RECEIPTS`, §31) as in a room of one server.
//! Numbered, as messages are: stored by the acceptor, answered `ACK:<n>`,
//! replayed until it is.

use std::fmt;

use super::super::names::{check_address, check_id, check_room_address};
use super::fields::{Refused, first_number, number, unknown};
use super::message::LinkState;

/// `RECEIPT:<n>:<reader>@<origin>:<#room>@<home>:<author>@<server>:<id>:<state>:<ts>`:
/// `reader` has `room`'s messages delivered (`DELIVERED`), or read
/// (`READ`), up to `author`'s message `id`, since `ts`. A mark, as a
/// member's on one server: it covers the room's earlier messages too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptFrame {
    pub n: u64,
    pub reader: String,
    pub room: String,
    pub author: String,
    pub id: String,
    pub state: LinkState,
    pub ts: u64,
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
    let state = LinkState::parse(f[5]).map_err(bad)?;
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
