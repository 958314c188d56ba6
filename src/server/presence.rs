//! Protocol 1.1 on the server (docs/PROTOCOL.md §11): who is online or
//! since when, who is in a room, and who joins or leaves it.
//!
//! - `LASTSEEN:<user>` answers `OK:<user>:ONLINE`, `OK:<user>:<ts>` (when
//!   its last receive connection ended) or `OK:<user>:UNKNOWN`.
//! - `MEMBERS:<#room>` answers a listing `<user>:<ONLINE|ts|UNKNOWN>`, one
//!   line per member, sorted ignoring case; members only.
//! - `MEMBER:<#room>:<user>:JOINED|LEFT` is pushed to the other members
//!   online when someone `JOIN`s or `LEAVE`s a room, but only to receive
//!   connections that said `VERSION:1.1` after their login: a version-1
//!   client never sees a frame it does not know. Like `JOINED`/`LEFT`,
//!   rooms above `--presence-limit` members send none.
//!
//! All of it is read from the router (online now) and the store (last
//! seen, kept across restarts: [`crate::store::Store::note_offline`]).

use super::Ctx;
use crate::protocol::names::fold;
use crate::protocol::{Code, Event, Ko};
use crate::store::UserId;

/// `<ONLINE|ts|UNKNOWN>` for one user.
fn seen(ctx: &Ctx, user: UserId) -> String {
    if ctx.is_online(user) {
        return "ONLINE".into();
    }
    ctx.store.last_seen(user).map_or_else(|| "UNKNOWN".into(), |ts| ts.to_string())
}

/// `LASTSEEN:<user>`: `<user as registered>:<ONLINE|ts|UNKNOWN>`.
pub fn last_seen(ctx: &Ctx, name: &str) -> Result<String, Ko> {
    let unknown = || Ko::new(Code::UnknownUser, format!("no user named {name}"));
    let user = ctx.store.user_id(name).ok_or_else(unknown)?;
    let name = ctx.store.user_name(name).ok_or_else(unknown)?;
    Ok(format!("{name}:{}", seen(ctx, user)))
}

/// `MEMBERS:<#room>`: the lines `<user>:<ONLINE|ts|UNKNOWN>`.
pub fn members(ctx: &Ctx, me: UserId, room: &str) -> Result<Vec<String>, Ko> {
    let (_, mut members) = ctx
        .store
        .room_members(room)
        .ok_or_else(|| Ko::new(Code::NotMember, format!("no room named #{room}")))?;
    if !members.iter().any(|&(user, _)| user == me) {
        return Err(Ko::new(Code::NotMember, format!("you are not in #{room}")));
    }
    members.sort_by_key(|(_, name)| fold(name));
    Ok(members.iter().map(|(user, name)| format!("{name}:{}", seen(ctx, *user))).collect())
}

/// True if `user` is in `room` now (to tell a `JOIN` that changes nothing).
pub fn is_member(ctx: &Ctx, user: UserId, room: &str) -> bool {
    ctx.store.room_members(room).is_some_and(|(_, members)| members.iter().any(|&(m, _)| m == user))
}

/// `who` joined or left `room` (already durable): tells the other members
/// online that opted in to 1.1, here and on the other nodes.
pub fn tell_members(ctx: &Ctx, who: UserId, name: &str, room: &str, joined: bool) {
    let members = ctx.store.room_members(room);
    tell_local_members(&ctx.router, ctx.config.presence_limit, who, name, members, joined);
    ctx.nodes.tell_members(who, name, room, joined);
}

/// [`tell_members`] for the members whose receive connection is on this
/// server (a cluster node calls it when another node tells it).
pub fn tell_local_members(
    router: &crate::router::Router,
    presence_limit: usize,
    who: UserId,
    name: &str,
    members: Option<(std::sync::Arc<str>, crate::store::Members)>,
    joined: bool,
) {
    let Some((room, members)) = members else { return };
    // A member who left is no longer in the list; the room's size is the
    // one everybody sees now.
    if members.len() > presence_limit {
        return;
    }
    let event = Event::Member { room: room.to_string(), user: name.to_string(), joined };
    let frame = format!("{event}\n");
    for (member, _) in members {
        if member != who
            && let Some(outlet) = router.get(member)
            && outlet.speaks_1_1()
        {
            outlet.push(&frame);
        }
    }
}
