//! `ROOMS` (protocol §4): the rooms you are in.

use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["ROOMS"], Version::V1_0, Kind::Read);

pub(super) fn serve(a: Asking) -> Flow {
    let rooms = a.base.store.rooms(a.who.id);
    a.reply(Ok(listing(rooms)))
}
