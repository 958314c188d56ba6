//! `LEAVE:<#room>` (protocol §4): leave a room. Its members are told
//! (`LEFT`, 1.1's `MEMBER`) once the record is on disk.

use crate::protocol::Reply;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LEAVE"], Version::V1_0, Kind::Stored);

pub(super) fn serve(mut a: Asking, room: String) -> Flow {
    let room = match a.room_here(room) {
        Ok(room) => room,
        Err(ko) => return a.reply(Err(ko)),
    };
    let left = a.base.store.leave(a.who.id, &room);
    if left.is_ok() {
        a.tell_members_when_durable(room, false);
    }
    a.reply_durable(left.map(|ticket| (Reply::Ok, ticket)))
}
