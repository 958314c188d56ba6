//! `JOIN:<#room>` (protocol §4): enter a room, made if new. Its members
//! are told (`JOINED`, 1.1's `MEMBER`) once the record is on disk.

use crate::protocol::Reply;
use crate::server::presence;
use crate::server::session::{Flow, Session, Who};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["JOIN"], Version::V1_0, Kind::Stored);

pub(super) fn serve(s: &mut Session, who: Who, room: String) -> Flow {
    let changes = !presence::is_member(s.ctx, who.id, &room);
    let joined = s.ctx.store.join(who.id, &room);
    if joined.is_ok() && changes {
        s.member_changes.push((room, true));
    }
    s.reply_durable(joined.map(|ticket| (Reply::Ok, ticket)))
}
