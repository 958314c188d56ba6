//! `LEAVE:<#room>` (protocol §4): leave a room. Its members are told
//! (`LEFT`, 1.1's `MEMBER`) once the record is on disk.

use crate::protocol::{Reply, Request};
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LEAVE"], Version::V1_0, Kind::Stored, serve);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Leave { room } = request else { return not_served(s, &request) };
    let left = s.ctx.store.leave(who.id, &room);
    if left.is_ok() {
        s.member_changes.push((room, false));
    }
    s.reply_durable(left.map(|ticket| (Reply::Ok, ticket)))
}
