//! `ROOMINFO:<#room>` (protocol 1.2, §18): owner, admins, modes, topic,
//! and your own role, mute or ban.

use crate::protocol::Request;
use crate::server::moderation;
use crate::server::session::{Flow, listing};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["ROOMINFO"], Version::V1_2, Kind::Read, serve);

fn serve(a: Asking, request: Request) -> Flow {
    let Request::RoomInfo { room } = request else { return a.not_served(&request) };
    let answer = moderation::room_info(a.base, a.who.id, &room).map(listing);
    a.reply(answer)
}
