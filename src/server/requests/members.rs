//! `MEMBERS:<#room>` (protocol 1.1, §11): the members of a room you are
//! in, each online or last seen.

use crate::protocol::Request;
use crate::server::presence;
use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["MEMBERS"], Version::V1_1, Kind::Ephemeral, serve);

fn serve(a: Asking, request: Request) -> Flow {
    let Request::Members { room } = request else { return a.not_served(&request) };
    let members = presence::members(a.base, a.who.id, &room);
    a.reply(members.map(listing))
}
