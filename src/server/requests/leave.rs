//! `LEAVE:<#room>` (protocol §4): leave a room. Its members are told
//! (`LEFT`, 1.1's `MEMBER`) once the record is on disk.

use crate::protocol::Reply;
use crate::server::session::{Flow, Session, Who};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LEAVE"], Version::V1_0, Kind::Stored);

pub(super) fn serve(s: &mut Session, who: Who, room: String) -> Flow {
    let left = s.ctx.store.leave(who.id, &room);
    if left.is_ok() {
        s.member_changes.push((room, false));
    }
    s.reply_durable(left.map(|ticket| (Reply::Ok, ticket)))
}
