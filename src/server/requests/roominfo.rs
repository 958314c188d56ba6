//! `ROOMINFO:<#room>` (protocol 1.2, §18): owner, admins, modes, topic,
//! and your own role, mute or ban.

use crate::server::moderation;
use crate::server::session::{Flow, listing};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["ROOMINFO"], Version::V1_2, Kind::Read);

pub(super) fn serve(a: Asking, room: String) -> Flow {
    let answer = moderation::room_info(a.base, a.who.id, &room).map(listing);
    a.reply(answer)
}
