//! The group call family: a room's call (§32) whose room has members on
//! several servers. The call's state is kept by the room's **home**
//! (the server that keeps its messages), so four frames cross the link:
//!
//! - `GROUPCALL`, from a member's server to the room's home: its
//!   member's request (§32's `GROUPCALL:<#room>:<what>`), which the home
//!   judges as its own member's;
//! - `GROUPEVENT`, from the home to a member's server: an event of the
//!   call for one of that server's members, which it hands to the
//!   member's devices (a signal, to its device in the call only);
//! - `GROUPCALLS`, from a member's server to a room's home: the
//!   calls going on in the home's rooms that one of its users is a
//!   member of, which the home answers as lines of §32's `GROUPCALLS`;
//! - `GROUPIN`, from the home to a member's server that linked to it
//!   again: which of the users of that server it has in one of its
//!   calls are in it there, which the member's server answers from its
//!   own word (none, if it restarted: a restart ends every call).
//!
//! Told, never stored nor replayed: a ring or a signal late is for
//! nobody, and a listing is asked again each time it is wanted. The
//! names in all four are addresses (`ana@lab1`, `bob@lab2`), so each
//! server says them to its own users as they are named there.

use std::fmt;

use super::super::group_call::{GroupEvent, GroupRequest, MAX_IN_CALL};
use super::super::names::{check_address, check_id, check_room_address};
use super::fields::{Refused, unknown};

/// A frame of the group call family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupCallFrame {
    /// `GROUPCALL:<#room>@<home>:<member>@<origin>:<request>`: `member`,
    /// a user of the sender, asks what §32's `request` asks of the room's
    /// call. A `START` names the call's id its server chose (the id of
    /// its line): `START:<voice|video>:<call id>`. Answered `OK`, a
    /// `JOIN` `OK:<n>` and the `n` members in the call already (each a
    /// line, an address), or `KO:<CODE>:<reason>`.
    Request { room: String, member: String, request: GroupRequest, start_id: Option<String> },
    /// `GROUPEVENT:<#room>@<home>:<member>@<dest>:<event>`: §32's event
    /// of the room's call, for `member`, a user of the receiver; answered
    /// `OK` or `KO:<CODE>:<reason>`.
    Event { room: String, member: String, event: GroupEvent },
    /// `GROUPCALLS:<member>@<origin>`: the calls going on in the rooms
    /// of the receiver that `member`, a user of the sender, is a member
    /// of. Answered `OK:<n>` and `n` lines of §32's `GROUPCALLS`
    /// (`<#room>@<home>:<call id>:<starter>:<media>:<since>:<in it>`,
    /// every name an address), or `KO:<CODE>:<reason>`.
    Calls { member: String },
    /// `GROUPIN:<#room>@<home>:<call id>:<member>@<dest>[,<member>@<dest>]…`
    /// (1.3): which of `members` (1 to [`MAX_IN_CALL`], users of the
    /// receiver, which the sender, the room's home, has in the call `id`)
    /// are in that call on the receiver's word. Answered `OK:<n>` and the
    /// `n` of them that are (each a line, an address), or
    /// `KO:<CODE>:<reason>`.
    In { room: String, id: String, members: Vec<String> },
}

const REQUEST: &str = "GROUPCALL:<#room>@<home>:<member>@<origin>:<request>";
const EVENT: &str = "GROUPEVENT:<#room>@<home>:<member>@<dest>:<event>";
const IN: &str = "GROUPIN:<#room>@<home>:<call id>:<member>@<dest>[,<member>@<dest>]…";

/// Reads a `GROUPCALL`, a `GROUPEVENT`, a `GROUPCALLS` or a `GROUPIN`; its row of
/// [`FAMILIES`](super::FAMILIES) makes it a [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<GroupCallFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let bad = |e: String| (None, e);
    if word == "GROUPCALLS" {
        check_address(rest).map_err(bad)?;
        return Ok(GroupCallFrame::Calls { member: rest.to_string() });
    }
    if word == "GROUPIN" {
        let f: Vec<&str> = rest.splitn(3, ':').collect();
        if f.len() != 3 {
            return Err(bad(format!("expected {IN}")));
        }
        check_room_address(f[0]).map_err(bad)?;
        check_id(f[1]).map_err(bad)?;
        let members: Vec<&str> = f[2].split(',').collect();
        if members.len() > MAX_IN_CALL {
            return Err(bad(format!(
                "a GROUPIN names at most {MAX_IN_CALL} members, as many as a call holds"
            )));
        }
        for member in &members {
            check_address(member).map_err(bad)?;
        }
        let members = members.into_iter().map(String::from).collect();
        return Ok(GroupCallFrame::In { room: f[0].to_string(), id: f[1].to_string(), members });
    }
    let shape = if word == "GROUPCALL" { REQUEST } else { EVENT };
    let f: Vec<&str> = rest.splitn(3, ':').collect();
    if f.len() != 3 {
        return Err(bad(format!("expected {shape}")));
    }
    check_room_address(f[0]).map_err(bad)?;
    check_address(f[1]).map_err(bad)?;
    let (room, member) = (f[0].to_string(), f[1].to_string());
    match word {
        "GROUPCALL" => {
            let (what, start_id) = match f[2].strip_prefix("START:") {
                Some(start) => {
                    let (media, id) =
                        start.split_once(':').ok_or_else(|| bad("START:<voice|video>:<call id>".into()))?;
                    check_id(id).map_err(bad)?;
                    (format!("START:{media}"), Some(id.to_string()))
                }
                None => (f[2].to_string(), None),
            };
            let request = GroupRequest::parse(&what).map_err(bad)?;
            Ok(GroupCallFrame::Request { room, member, request, start_id })
        }
        _ => Ok(GroupCallFrame::Event { room, member, event: GroupEvent::parse(f[2]).map_err(bad)? }),
    }
}

impl fmt::Display for GroupCallFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupCallFrame::Request { room, member, request, start_id: Some(id) } => {
                write!(f, "GROUPCALL:{room}:{member}:{request}:{id}")
            }
            GroupCallFrame::Request { room, member, request, start_id: None } => {
                write!(f, "GROUPCALL:{room}:{member}:{request}")
            }
            GroupCallFrame::Event { room, member, event } => write!(f, "GROUPEVENT:{room}:{member}:{event}"),
            GroupCallFrame::Calls { member } => write!(f, "GROUPCALLS:{member}"),
            GroupCallFrame::In { room, id, members } => {
                write!(f, "GROUPIN:{room}:{id}:{}", members.join(","))
            }
        }
    }
}
