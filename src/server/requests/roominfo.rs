//! `ROOMINFO:<#room>` (protocol 1.2, §18): owner, admins, modes, topic,
//! and your own role, mute or ban.

use crate::protocol::Request;
use crate::server::moderation;
use crate::server::session::{Flow, Session, Who, listing};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["ROOMINFO"], Version::V1_2, Kind::Ephemeral, serve);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::RoomInfo { room } = request else { return not_served(s, &request) };
    s.reply(moderation::room_info(s.ctx, who.id, &room).map(listing))
}
