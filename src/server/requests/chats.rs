//! `CHATS` (protocol §4): your conversations, newest first, with what is
//! unread in each.

use crate::protocol::Request;
use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["CHATS"], Version::V1_0, Kind::Read, serve);

fn serve(mut a: Asking, _: Request) -> Flow {
    a.settle();
    let chats = a.base.store.chats(a.who.id);
    a.reply(chats.map(listing))
}
