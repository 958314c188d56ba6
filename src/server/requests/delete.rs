//! `DELETE` (protocol 1.2, §19): a message deleted for everyone, its text erased from the server's disk; or, by a room's admin, a member's message. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["DELETE"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Delete { to, id, author } = request else { return not_served(s, &request) };
    s.settle();
    // 1.2 (§21): the file it carried leaves the disk with it, unless
    // another message carries it (`actions::delete` says when).
    let deleted = actions::delete(s.ctx, who.id, who.name, &to, &id, author.as_deref());
    s.reply_durable(deleted)
}
