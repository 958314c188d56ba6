//! The message family: a user's message to a user of the other server,
//! or to a room (`MSG`), and what became of a message (`STATUS`: delivered,
//! read). Numbered: each is stored by the acceptor, answered `ACK:<n>`,
//! and replayed until it is.

use std::fmt;

use super::super::escape::Text;
use super::super::names::{check_address, check_id, check_room_address};
use super::fields::{Refused, first_number, number, unknown};

/// A state a `STATUS` frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Delivered,
    Read,
}

impl LinkState {
    /// Its word on the link: `DELIVERED` or `READ`.
    pub fn word(self) -> &'static str {
        match self {
            LinkState::Delivered => "DELIVERED",
            LinkState::Read => "READ",
        }
    }

    /// Reads its word; the error says what a link's state may be.
    pub(super) fn parse(word: &str) -> Result<LinkState, String> {
        match word {
            "DELIVERED" => Ok(LinkState::Delivered),
            "READ" => Ok(LinkState::Read),
            other => Err(format!("a link's STATUS is DELIVERED or READ, not {other:?}")),
        }
    }
}

/// A frame of the message family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageFrame {
    /// `MSG:<n>:<from>@<origin>:<to>@<dest>:<id>:<ts>:<text>`, or a room
    /// message, `MSG:<n>:<from>@<origin>:<#room>@<home>:<id>:<ts>:<text>`.
    Msg { n: u64, from: String, to: String, id: String, ts: u64, text: Text },
    /// `STATUS:<n>:<reader>@<origin>:<author>@<dest>:<id>:<state>:<ts>`.
    Status { n: u64, reader: String, author: String, id: String, state: LinkState, ts: u64 },
}

impl MessageFrame {
    /// Its number `<n>`.
    pub fn number(&self) -> u64 {
        match self {
            MessageFrame::Msg { n, .. } | MessageFrame::Status { n, .. } => *n,
        }
    }
}

/// Reads a `MSG` or a `STATUS`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<MessageFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    match word {
        "MSG" => msg(rest),
        _ => status(rest),
    }
}

/// The fields of a `MSG` after its word (a `FILE` is one, with a file id).
pub(super) fn msg(rest: &str) -> Result<MessageFrame, Refused> {
    let bad = |e: String| (first_number(rest), e);
    let f: Vec<&str> = rest.splitn(6, ':').collect();
    if f.len() != 6 {
        return Err(bad("MSG:<n>:<from>@<origin>:<to>@<dest>:<id>:<ts>:<text>".into()));
    }
    let n = number(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    check_address(f[2]).or_else(|_| check_room_address(f[2])).map_err(bad)?;
    check_id(f[3]).map_err(bad)?;
    let ts = number(f[4]).map_err(bad)?;
    let text = Text::parse_sent(f[5]).map_err(bad)?;
    Ok(MessageFrame::Msg { n, from: f[1].into(), to: f[2].into(), id: f[3].into(), ts, text })
}

fn status(rest: &str) -> Result<MessageFrame, Refused> {
    let bad = |e: String| (first_number(rest), e);
    let f: Vec<&str> = rest.split(':').collect();
    if f.len() != 6 {
        return Err(bad("STATUS:<n>:<reader>@<origin>:<author>@<dest>:<id>:<state>:<ts>".into()));
    }
    let n = number(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    check_address(f[2]).map_err(bad)?;
    check_id(f[3]).map_err(bad)?;
    let state = LinkState::parse(f[4]).map_err(bad)?;
    let ts = number(f[5]).map_err(bad)?;
    Ok(MessageFrame::Status { n, reader: f[1].into(), author: f[2].into(), id: f[3].into(), state, ts })
}

impl fmt::Display for MessageFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageFrame::Msg { n, from, to, id, ts, text } => {
                write!(f, "MSG:{n}:{from}:{to}:{id}:{ts}:{}", text.as_escaped())
            }
            MessageFrame::Status { n, reader, author, id, state, ts } => {
                write!(f, "STATUS:{n}:{reader}:{author}:{id}:{}:{ts}", state.word())
            }
        }
    }
}
