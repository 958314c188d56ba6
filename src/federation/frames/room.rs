//! The room family (`protocol::link::room`): `JOIN` and `LEAVE`,
//! numbered.
//!
//! - **Accepting**: taken into the store (`LocalStore::take_frame`): at
//!   a room's home, the peer's user joins or leaves it, and the change is
//!   queued for the room's other member servers (a first member server is
//!   queued the room's last messages too); at a member server, the home
//!   says who the room's members are. A change of a room homed here is
//!   told to its members here as a local member's is, and the presence
//!   of this server's users goes to the peer again (who shares a chat
//!   with its users changed).
//! - **Sending**: what waits for the peer is its queue in the store, as
//!   the message family's.

use super::sides::{Flow, Taking};
use crate::protocol::link::{Frame, RoomFrame};

/// The accepting side of a `JOIN` or a `LEAVE`.
pub(super) fn take(link: &mut Taking, room: RoomFrame) -> std::io::Result<Flow> {
    let (f, from, n) = (link.f, link.from, room.n);
    let frame = Frame::Room(room);
    let taken = link.numbered(n, |ctx| ctx.store.take_frame(from, &f.me, &frame))?;
    if let Some((ctx, Some(m))) = taken {
        // 1.3: who shares a chat with the peer's users changed: its
        // presence of ours goes again (`server::presence_across`).
        ctx.remote_seen.linked_to(&ctx, from);
        // A member server joined or left a room homed here: its local
        // members are told as of a local member (what the change queued
        // for the member servers wakes their links, as any frame does).
        crate::server::presence::tell_members(&ctx, m.user, &m.name, &m.room, m.joined);
    }
    Ok(Flow::More)
}
