//! `ROOMS` (protocol §4): the rooms you are in.

use crate::protocol::Request;
use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["ROOMS"], Version::V1_0, Kind::Read, serve);

fn serve(a: Asking, _: Request) -> Flow {
    let rooms = a.base.store.rooms(a.who.id);
    a.reply(rooms.map(listing))
}
