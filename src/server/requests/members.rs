//! `MEMBERS:<#room>` (protocol 1.1, §11): the members of a room you are
//! in, each online or last seen.

use crate::protocol::Request;
use crate::server::presence;
use crate::server::session::{Flow, Session, Who, listing};

use super::row::{Kind, Row, Version, not_served};

pub(super) const ROW: Row = Row::new(&["MEMBERS"], Version::V1_1, Kind::Ephemeral, serve);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Members { room } = request else { return not_served(s, &request) };
    s.reply(presence::members(s.ctx, who.id, &room).map(listing))
}
