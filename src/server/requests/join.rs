//! `JOIN:<#room>` (protocol §4): enter a room, made if new. Its members
//! are told (`JOINED`, 1.1's `MEMBER`) once the record is on disk. 1.3
//! (§27): `JOIN:#lab@lab2` enters a room homed on another server: its
//! home is sent the `JOIN`, this server keeps a copy of the room.

use crate::protocol::Reply;
use crate::server::presence;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["JOIN"], Version::V1_0, Kind::Stored);

pub(super) fn serve(mut a: Asking, room: String) -> Flow {
    let room = match a.room_here(room) {
        Ok(room) => room,
        Err(ko) => return a.reply(Err(ko)),
    };
    let changes = !presence::is_member(a.base, a.who.id, &room);
    let joined = a.base.store.join(a.who.id, &room);
    if joined.is_ok() && changes {
        a.tell_members_when_durable(room, true);
        // 1.3: its presence goes to the room's other servers.
        a.base.remote_seen.note(a.base, a.who.id);
    }
    a.reply_durable(joined.map(|ticket| (Reply::Ok, ticket)))
}
