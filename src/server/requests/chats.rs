//! `CHATS` (protocol §4): your conversations, newest first, with what is
//! unread in each.

use crate::server::session::{Flow, Session, Who, listing};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["CHATS"],
    since: Version::V1_0,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

pub(super) fn serve(s: &mut Session, who: Who) -> Flow {
    s.settle();
    s.reply(s.ctx.store.chats(who.id).map(listing))
}
