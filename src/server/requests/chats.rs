//! `CHATS` (protocol §4): your conversations, newest first, with what is
//! unread in each.

use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["CHATS"], Version::V1_0, Kind::Read);

pub(super) fn serve(mut a: Asking) -> Flow {
    a.settle();
    let chats = a.base.store.chats(a.who.id);
    a.reply(chats.map(listing))
}
