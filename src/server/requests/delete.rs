//! `DELETE` (protocol 1.2, §19): a message deleted for everyone, its text erased from the server's disk; or, by a room's admin, a member's message. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Chat;
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["DELETE"], Version::V1_2, Kind::Stored).costing(ACTION_COST);

pub(super) fn serve(s: &mut Session, who: Who, to: &Chat, id: &str, author: Option<&str>) -> Flow {
    s.settle();
    // 1.2 (§21): the file it carried leaves the disk with it, unless
    // another message carries it (`actions::delete` says when).
    let deleted = actions::delete(s.ctx, who.id, who.name, to, id, author);
    s.reply_durable(deleted)
}
