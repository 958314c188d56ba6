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
//!
//! And version 1's `JOINED:<user>` / `LEFT:<user>`, which a receive login
//! and its end send to every roommate online ([`Announcer`]). They are
//! limited per user: a client reconnecting in a loop bought two frames per
//! roommate for each one-token login (audit finding 6: 2,547 `JOINED` and
//! 2,608 `LEFT` in 2 s at one roommate). Now a user's comings and goings
//! are announced [`PRESENCE_BURST`] times at once, then once per
//! [`PRESENCE_EVERY`]; a session not announced ends without `LEFT`, so
//! roommates always see whole pairs. What they miss, `LASTSEEN` and
//! `USERS` show.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use super::Ctx;
use super::throttle::Throttle;
use crate::protocol::names::fold;
use crate::protocol::{Code, Event, Ko};
use crate::router::Outlet;
use crate::store::UserId;

/// `JOINED`/`LEFT` pairs a user's roommates are told at once…
pub const PRESENCE_BURST: u32 = 3;
/// …and then one pair per this long at most.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(10);

/// Which session of each user was announced online to its roommates
/// (`JOINED`), so that the end of that session — and only of that one,
/// or of the one that replaced it — says `LEFT`.
pub struct Announcer {
    /// One token per `JOINED`/`LEFT` pair, per user.
    pairs: Throttle<UserId>,
    /// The announced session of each user told `JOINED` and not yet
    /// `LEFT` (a `Weak`: an entry keeps no connection open).
    announced: Mutex<HashMap<UserId, Weak<Outlet>>>,
}

impl Default for Announcer {
    fn default() -> Announcer {
        Announcer {
            pairs: Throttle::new(PRESENCE_BURST, 1.0 / PRESENCE_EVERY.as_secs_f64()),
            announced: Mutex::new(HashMap::new()),
        }
    }
}

impl Announcer {
    /// `outlet`'s user came online here: `JOINED` to its roommates, if
    /// its pairs allow.
    pub fn came_online(&self, ctx: &Ctx, outlet: &Arc<Outlet>) {
        if self.pairs.try_take(outlet.user, 1).is_ok() {
            self.announced.lock().insert(outlet.user, Arc::downgrade(outlet));
            tell_roommates(ctx, outlet, "JOINED");
        }
    }

    /// `new` replaced `old` (the same user logged in again): not a change
    /// of presence, but `new`'s end is the one that says `LEFT`.
    pub fn replaced(&self, old: &Arc<Outlet>, new: &Arc<Outlet>) {
        let mut announced = self.announced.lock();
        if let Some(session) = announced.get_mut(&new.user)
            && Weak::ptr_eq(session, &Arc::downgrade(old))
        {
            *session = Arc::downgrade(new);
        }
    }

    /// The user came here from another node of a cluster, which announced it.
    pub fn moved_here(&self, outlet: &Arc<Outlet>) {
        self.announced.lock().insert(outlet.user, Arc::downgrade(outlet));
    }

    /// `outlet`'s user went offline: `LEFT` to its roommates if this
    /// session is the one they were told about. (If a newer session was
    /// announced meanwhile, the user is online: nothing to say.)
    pub fn went_offline(&self, ctx: &Ctx, outlet: &Arc<Outlet>) {
        let mut announced = self.announced.lock();
        let ours = announced.get(&outlet.user).is_some_and(|s| Weak::ptr_eq(s, &Arc::downgrade(outlet)));
        if ours {
            announced.remove(&outlet.user);
            drop(announced);
            tell_roommates(ctx, outlet, "LEFT");
        }
    }
}

/// Tells the online users who share a small room with `outlet`'s user
/// that it came online (`JOINED`) or went offline (`LEFT`).
fn tell_roommates(ctx: &Ctx, outlet: &Outlet, word: &str) {
    let frame = format!("{word}:{}\n", outlet.name);
    for mate in ctx.store.roommates(outlet.user, ctx.config.presence_limit) {
        ctx.router.send_to(mate, &frame);
    }
}

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
