//! `MEMBERS:<#room>` (protocol 1.1, §11): the members of a room you are
//! in, each online or last seen.

use crate::server::presence;
use crate::server::session::{Flow, Session, Who, listing};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["MEMBERS"], Version::V1_1, Kind::Ephemeral);

pub(super) fn serve(s: &mut Session, who: Who, room: &str) -> Flow {
    s.reply(presence::members(s.ctx, who.id, room).map(listing))
}
