//! `READ:<from>:<id>` (protocol §4): you have read the message `id` of
//! a chat; its author is told `READ` (a stored request: its record is on
//! disk before the `OK`).

use crate::protocol::{Reply, Request};
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version, not_served};

pub(super) const ROW: Row = Row::new(&["READ"], Version::V1_0, Kind::Stored, serve);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Read { chat, id } = request else { return not_served(s, &request) };
    let read = s.ctx.store.read(who.id, &chat, &id);
    s.reply_durable(read.map(|ticket| (Reply::Ok, ticket)))
}
