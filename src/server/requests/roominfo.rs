//! `ROOMINFO:<#room>` (protocol 1.2, §18): owner, admins, modes, topic,
//! and your own role, mute or ban.

use crate::server::moderation;
use crate::server::session::{Flow, Session, Who, listing};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["ROOMINFO"], Version::V1_2, Kind::Ephemeral);

pub(super) fn serve(s: &mut Session, who: Who, room: &str) -> Flow {
    s.reply(moderation::room_info(s.ctx, who.id, room).map(listing))
}
