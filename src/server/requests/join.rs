//! `JOIN:<#room>` (protocol §4): enter a room, made if new. Its members
//! are told (`JOINED`, 1.1's `MEMBER`) once the record is on disk.

use crate::protocol::{Reply, Request};
use crate::server::presence;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["JOIN"], Version::V1_0, Kind::Stored, serve);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Join { room } = request else { return not_served(s, &request) };
    let changes = !presence::is_member(s.ctx, who.id, &room);
    let joined = s.ctx.store.join(who.id, &room);
    if joined.is_ok() && changes {
        s.member_changes.push((room, true));
    }
    s.reply_durable(joined.map(|ticket| (Reply::Ok, ticket)))
}
