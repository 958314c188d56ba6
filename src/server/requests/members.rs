//! `MEMBERS:<#room>` (protocol 1.1, §11): the members of a room you are
//! in, each online or last seen.

use crate::server::presence;
use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["MEMBERS"], Version::V1_1, Kind::Ephemeral);

pub(super) fn serve(a: Asking, room: String) -> Flow {
    let members = presence::members(a.base, a.who.id, &room);
    a.reply(members.map(listing))
}
