//! `CHATS` (protocol §4): your conversations, newest first, with what is
//! unread in each.

use crate::protocol::Request;
use crate::server::session::{Flow, Session, Who, listing};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["CHATS"], Version::V1_0, Kind::Ephemeral, serve);

fn serve(s: &mut Session, who: Who, _: Request) -> Flow {
    s.settle();
    s.reply(s.ctx.store.chats(who.id).map(listing))
}
