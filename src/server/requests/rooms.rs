//! `ROOMS` (protocol §4): the rooms you are in.

use crate::protocol::Request;
use crate::server::session::{Flow, Session, Who, listing};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["ROOMS"], Version::V1_0, Kind::Ephemeral, serve);

fn serve(s: &mut Session, who: Who, _: Request) -> Flow {
    s.reply(s.ctx.store.rooms(who.id).map(listing))
}
