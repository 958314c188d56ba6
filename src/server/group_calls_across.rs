//! 1.3 (§27, §32): a room's call whose room has members on several
//! servers of the class network (`#lab@lab2`, with ana of lab1 and cyd
//! of lab3 among its members).
//!
//! The call is kept by the room's **home**, in its own table
//! (`group_calls.rs`), as for its own members: the home keeps the room's
//! members and its messages, so it alone can say who may start, join or
//! be rung, and it stores the call's line, which reaches every server as
//! the room's messages do. A member of another server is in that table
//! as its account there (`ana@lab1`), on a device named by its server
//! (`@lab1`, `calls::remote_device`). So:
//!
//! - a **member's server** asks the home what its member asks of the
//!   call (`GROUPCALL` frames, [`ask`]) and waits for the answer, which
//!   is the member's reply; it keeps which of its users is in which such
//!   call on which device (`group_calls::Away`), so that their signals
//!   come from, and go to, that device alone, and a device that goes
//!   takes its user out of the call at the home;
//! - the **home** judges a peer's request as its own member's
//!   ([`take_request`], `group_call_relay::judge`) and tells each member
//!   of another server the call's events through its server
//!   (`GROUPEVENT` frames, `group_call_relay`'s `tell`);
//! - a member's server hands an event to its member's devices
//!   ([`take_event`]): a ring within the member's rings a minute counted
//!   here, a signal only to its device in the call;
//! - a member's server lists its user's calls there by asking each home
//!   when the user asks `GROUPCALLS` ([`listed`]; the home answers with
//!   [`listing`]), keeping nothing of the answers, which also settle
//!   which of its users it keeps in which of that home's calls;
//! - once a member's server links to the home again (a hello taken), the
//!   home asks it which of its users it has in the home's calls are in
//!   them on its word (`GROUPIN` frames, [`theirs_in_calls`]; the
//!   member's server answers with [`which_in`]) and takes the others out
//!   as if they had left ([`settle`]): a member's server that restarted
//!   (a restart ends every call) leaves nobody in them, and one whose
//!   link only dropped keeps its users in.
//!
//! A peer speaks only for its own users (a `GROUPCALL` for another's
//! user is refused `FORBIDDEN`), and only a room's home for its room's
//! call (a `GROUPEVENT` of another's room is refused `FORBIDDEN`); a
//! signal for a member who is not in the call is refused, so nothing a
//! peer sends makes a browser here connect to someone outside its call.

use super::Ctx;
use super::calls::{Party, remote_device};
use super::group_call_relay;
use super::group_calls::{Away, same_room};
use super::relay::relay;
use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Event, Ko, Reply};
use crate::store::UserId;
use crate::store::state::remote::{homed_at, speaks_for};

/// The class network's links; `BAD_REQUEST` on a server without peers
/// (which never routes a room's address here).
fn links(ctx: &Ctx) -> Result<&std::sync::Arc<dyn super::links::Links>, Ko> {
    ctx.federation.get().ok_or_else(|| Ko::new(Code::BadRequest, "this server is in no network"))
}

/// The request of `me` (on `device`) about the call of `room`, a room
/// homed on another server (`#lab@lab2`): asked of its home, whose
/// answer is the reply. This server keeps its user's own rules first:
/// one call at a time, and its signals from its device in the call.
pub fn ask(
    ctx: &Ctx,
    (me, name, device): (UserId, &str, &str),
    room: &str,
    action: GroupRequest,
) -> Result<Reply, Ko> {
    let calls = &ctx.group_calls;
    let away =
        |id: &str| Away { user: me, device: device.to_string(), room: room.to_string(), id: id.into() };
    // In a call of a room homed elsewhere, maybe ended while a link was
    // down: its home's word settles it first.
    let starts = matches!(action, GroupRequest::Start { .. } | GroupRequest::Join { .. });
    if starts && calls.is_in(me) && !calls.away_of(me).is_empty() {
        let rooms: Vec<String> = calls.away_of(me).into_iter().map(|a| a.room).collect();
        listed(ctx, (me, name), &rooms);
    }
    match action {
        GroupRequest::Start { .. } | GroupRequest::Join { .. } if calls.is_in(me) => {
            Err(Ko::new(Code::Full, "you are in a call: leave it first"))
        }
        GroupRequest::Start { media } => {
            let id = super::own_ids::own_message_id("call");
            links(ctx)?.ask_group_call((room, name), GroupRequest::Start { media }, Some(id.clone()))?;
            took(ctx, (room, name), away(&id))?;
            Ok(Reply::with(id))
        }
        GroupRequest::Join { id } => {
            let others =
                links(ctx)?.ask_group_call((room, name), GroupRequest::Join { id: id.clone() }, None)?;
            took(ctx, (room, name), away(&id))?;
            Ok(Reply::with(others.join(",")))
        }
        GroupRequest::Signal { ref id, .. } => {
            match calls.away_device(me, room, id) {
                Some(on) if on.eq_ignore_ascii_case(device) => {}
                Some(on) => {
                    return Err(Ko::new(Code::BadRequest, format!("you are in {room}'s call on {on}")));
                }
                None => return Err(Ko::new(Code::BadRequest, format!("you are not in {room}'s call {id}"))),
            }
            links(ctx)?.ask_group_call((room, name), action, None).map(|_| Reply::Ok)
        }
        GroupRequest::Leave { ref id } => {
            let id = id.clone();
            let asked = links(ctx)?.ask_group_call((room, name), action, None);
            if asked.is_ok() || calls.away_device(me, room, &id).is_some() {
                calls.came_back(me, room, &id);
            }
            asked.map(|_| Reply::Ok)
        }
        GroupRequest::Decline { .. } => {
            links(ctx)?.ask_group_call((room, name), action, None).map(|_| Reply::Ok)
        }
    }
}

/// Notes that the home took `away.user` into its call; if a second
/// request of the user's won the race meanwhile, the home is told it
/// left again.
fn took(ctx: &Ctx, (room, name): (&str, &str), away: Away) -> Result<(), Ko> {
    let id = away.id.clone();
    ctx.group_calls.went_away(away).inspect_err(|_| {
        let _ = links(ctx).map(|l| l.ask_group_call((room, name), GroupRequest::Leave { id }, None));
    })
}

/// The receive connection of `user`'s `device` ended: it leaves the calls
/// of rooms homed elsewhere it was in (told to each home, without
/// waiting for the answer on this thread).
pub fn device_gone(ctx: &Ctx, user: UserId, name: &str, device: &str) {
    let gone = ctx.group_calls.away_of_device(user, device);
    let Some(links) = ctx.federation.get().filter(|_| !gone.is_empty()) else { return };
    let (links, who) = (links.clone(), name.to_string());

    // Bounded by the user's devices: each is in one call at most.
    let spawned = std::thread::Builder::new().name("group-call-gone".into()).spawn(move || {
        let name = who.as_str();
        for away in gone {
            let leave = GroupRequest::Leave { id: away.id.clone() };
            if let Err(ko) = links.ask_group_call((&away.room, name), leave, None) {
                log::debug!("{name} left {}'s call {}, not told: {}", away.room, away.id, ko.reason);
            }
        }
    });
    if let Err(e) = spawned {
        log::warn!("{name}'s device left a call across, not told: {e}");
    }
}

/// A `GROUPCALL` frame from `server`: the request of `member`, its user,
/// about the call of `room`, a room homed here (`#lab@lab2` on lab2),
/// judged as this server's own member's. A `JOIN`'s members in the call
/// already.
pub fn take_request(
    ctx: &Ctx,
    server: &str,
    (room, member): (&str, &str),
    request: GroupRequest,
    start_id: Option<String>,
) -> Result<Option<Vec<String>>, Ko> {
    speaks_for(server, member)?;
    let Ok(Some(Chat::Room(local))) = ctx.route(&Chat::Room(room.to_string())) else {
        return Err(Ko::new(Code::NotMember, format!("{room} is not a room of this server")));
    };
    let account =
        ctx.store.find_account(member).filter(|a| !a.is_deleted()).ok_or_else(|| Ko::not_member(room))?;
    let party = Party { id: account.id, name: account.name.to_string() };
    let request = match request {
        GroupRequest::Signal { id, to, signal } => {
            GroupRequest::Signal { id, to: local_name(ctx, to), signal }
        }
        other => other,
    };
    let start = matches!(request, GroupRequest::Start { .. });
    let judged = group_call_relay::judge(ctx, (&party, &remote_device(server)), &local, request, start_id);
    // The start's own fault is no sign that this server does not carry
    // group calls, which `BAD_REQUEST` to a start says on the link.
    judged.map_err(|ko| match start && ko.code == Code::BadRequest {
        true => Ko::new(Code::Forbidden, ko.reason),
        false => ko,
    })
}

/// A `GROUPCALLS` frame from `server`: the calls going on in this
/// server's rooms that `member`, its user, is a member of (none if this
/// server knows no such member), each named as this server names it
/// (the link's side says them as addresses).
pub fn listing(ctx: &Ctx, server: &str, member: &str) -> Result<Vec<GroupCallLine>, Ko> {
    speaks_for(server, member)?;
    let account = ctx.store.find_account(member).filter(|a| !a.is_deleted());
    Ok(account.map(|a| group_call_relay::calls_of(ctx, a.id)).unwrap_or_default())
}

/// 1.3: the calls going on in the rooms homed elsewhere that `user`
/// (named `name` here) is a member of (`rooms`, its rooms, the copies
/// among them, `#lab@lab2`), as their homes answer now
/// ([`Links::ask_group_calls`](super::links::Links::ask_group_calls)):
/// nothing is kept of them here, so a listing is never older than its
/// question, whatever links dropped meanwhile. Each home speaks only for
/// its own rooms; each name is said as this server says it.
///
/// A home's answer also settles this server's word on `user`'s calls
/// there: a call of that home that this server keeps `user` in (on a
/// device, `Away`), which the home no longer has `user` in (the call
/// ended, or `user` was taken out of it, while the link was down and
/// the news were lost), is left here too: `user`'s devices are told
/// `END` (or `LEFT`), and `user` may start or join another.
pub fn listed(ctx: &Ctx, (user, name): (UserId, &str), rooms: &[String]) -> Vec<GroupCallLine> {
    let mut homes: Vec<String> = Vec::new();
    for room in rooms {
        if let Some((_, home)) = crate::store::state::remote::address(room)
            && !homes.iter().any(|h| fold(h) == fold(home))
        {
            homes.push(home.to_string());
        }
    }
    let Some(links) = ctx.federation.get().filter(|_| !homes.is_empty()) else { return Vec::new() };
    let mut listed = Vec::new();
    for (home, calls) in links.ask_group_calls(name, &homes) {
        let of_home = |room: &str| {
            crate::store::state::remote::address(room).is_some_and(|(_, h)| fold(h) == fold(&home))
        };
        let calls: Vec<GroupCallLine> = calls
            .into_iter()
            .filter(|c| of_home(&c.room) && rooms.iter().any(|r| same_room(r, &c.room)))
            .map(|c| GroupCallLine {
                by: local_name(ctx, c.by),
                members: c.members.into_iter().map(|m| local_name(ctx, m)).collect(),
                ..c
            })
            .collect();
        for away in ctx.group_calls.away_of(user).into_iter().filter(|a| of_home(&a.room)) {
            let going = calls.iter().find(|c| c.id == away.id && same_room(&c.room, &away.room));
            if going.is_some_and(|c| c.members.iter().any(|m| fold(m) == fold(name))) {
                continue;
            }
            ctx.group_calls.came_back(user, &away.room, &away.id);
            let event = match going {
                Some(_) => GroupEvent::Left { id: away.id, user: name.to_string() },
                None => GroupEvent::End { id: away.id },
            };
            relay(ctx, [user], &Event::GroupCall { room: away.room, event });
        }
        listed.extend(calls);
    }
    listed
}

/// 1.3: the calls homed here that users of `server` are in (on its
/// device, `@lab1`), each with them: what this server asks `server`
/// about once it linked to it again (a `GROUPIN` a call), and settles
/// by its answer ([`settle`]).
pub fn theirs_in_calls(ctx: &Ctx, server: &str) -> Vec<(std::sync::Arc<str>, String, Vec<Party>)> {
    ctx.group_calls.on_device(&remote_device(server))
}

/// A `GROUPIN` frame from `server`, the home of `room` (`#lab@lab2`):
/// those of `members`, users of this server, that are in its call `id`
/// on this server's word (each in it on a device, `Away`). After a
/// restart of this server, none: a restart ends every call. A room of
/// another server's, or a member that is not a user of this server, is
/// refused.
pub fn which_in(
    ctx: &Ctx,
    server: &str,
    (room, id): (&str, &str),
    members: &[String],
) -> Result<Vec<String>, Ko> {
    its_room(server, room)?;
    let mut users = Vec::with_capacity(members.len());
    for member in members {
        let local = our_user(ctx, member)?;
        users.push((member, ctx.store.find_account(&local).filter(|a| !a.is_deleted()).map(|a| a.id)));
    }
    let is_in =
        |user: Option<UserId>| user.is_some_and(|u| ctx.group_calls.away_device(u, room, id).is_some());
    Ok(users.into_iter().filter(|&(_, user)| is_in(user)).map(|(member, _)| member.clone()).collect())
}

/// `server`'s answer to a `GROUPIN` about the call `id` of `room` (homed
/// here, `#lab`): of `asked`, its users this server had in the call,
/// those that `server` did not name (`kept`) are not in it there, and
/// leave it here as if they had left: the others in it are told, the
/// last one out ends it, with its line. An answer that names anyone not
/// asked about (a server speaks only for its users in the call) is
/// refused whole, and changes nothing.
pub fn settle(ctx: &Ctx, server: &str, (room, id): (&str, &str), asked: &[Party], kept: &[String]) {
    if let Some(stranger) = kept.iter().find(|k| !asked.iter().any(|p| fold(&p.name) == fold(k))) {
        log::info!("{room}'s call {id}: {server} answered {stranger}, whom it was not asked about: refused");
        return;
    }
    let named = |p: &&Party| kept.iter().any(|k| fold(k) == fold(&p.name));
    let (still, gone): (Vec<&Party>, Vec<&Party>) = asked.iter().partition(named);
    let mut out = Vec::new();
    for party in gone {
        if let Some(left) = ctx.group_calls.take(room, id, party.id) {
            out.push(party.name.clone());
            group_call_relay::left(ctx, left);
        }
    }
    let out = match out.is_empty() {
        true => String::new(),
        false => format!(", not {}: taken out", out.join(", ")),
    };
    log::info!(
        "{room}'s call {id}: {server} says {} of its {} users in it are in it there{out}",
        still.len(),
        asked.len()
    );
}

/// Only a room's home speaks for its calls: `room` (`#lab@lab2`) must
/// be homed on `server`.
fn its_room(server: &str, room: &str) -> Result<(), Ko> {
    match homed_at(room, server) {
        true => Ok(()),
        false => {
            Err(Ko::new(Code::Forbidden, format!("{server} speaks only for the calls of its own rooms")))
        }
    }
}

/// `member`, an address a peer names, as a user of this server (its
/// local name), or refused.
fn our_user(ctx: &Ctx, member: &str) -> Result<String, Ko> {
    match ctx.route(&Chat::User(member.to_string())) {
        Ok(Some(Chat::User(local))) => Ok(local),
        _ => Err(Ko::new(Code::UnknownServer, format!("{member} is not a user of this server"))),
    }
}

/// A member as this server names it: its own user without the server's
/// name (`bob@lab2` on lab2 is `bob`), another's address as it is.
fn local_name(ctx: &Ctx, name: String) -> String {
    match ctx.route(&Chat::User(name.clone())) {
        Ok(Some(Chat::User(local))) => local,
        _ => name,
    }
}

/// A `GROUPEVENT` frame from `server`: `event` of the call of `room`, a
/// room homed there, for `member`, a user of this server and a member of
/// the room here: a ring within the member's rings a minute (past them,
/// the call starts for it without ringing); a signal to its device in
/// the call, refused if it is not in it; anything else to its devices.
pub fn take_event(
    ctx: &Ctx,
    server: &str,
    (room, member): (&str, &str),
    event: GroupEvent,
) -> Result<(), Ko> {
    its_room(server, room)?;
    let local = our_user(ctx, member)?;
    let account =
        ctx.store.find_account(&local).filter(|a| !a.is_deleted()).ok_or_else(|| Ko::no_user(&local))?;
    let user = account.id;
    let event = event.renamed(|name| local_name(ctx, name));
    // Its own leaving reaches a member who left the room (the home took
    // it out of the call for that): its devices leave the call too.
    let itself = matches!(&event, GroupEvent::Left { user: who, .. } if fold(who) == fold(&local));
    let members = ctx.store.room_members(room).map(|(_, members)| members).unwrap_or_default();
    if !itself && !members.iter().any(|&(m, _)| m == user) {
        return Err(Ko::not_member(room));
    }
    let wrap = |event| Event::GroupCall { room: room.to_string(), event };
    let calls = &ctx.group_calls;
    match event {
        GroupEvent::Signal { ref id, .. } => {
            let not_in = || Ko::new(Code::BadRequest, format!("{local} is not in {room}'s call {id}"));
            let device = calls.away_device(user, room, id).ok_or_else(not_in)?;
            if let Some(outlet) = ctx.router.device(user, &device) {
                outlet.push(&wrap(event));
            }
            return Ok(());
        }
        GroupEvent::Ring { id, from, media } if calls.may_ring_away(user) => {
            ctx.push.ring(user, &from, room, &id, media, ctx.config.ring_seconds);
            relay(ctx, [user], &wrap(GroupEvent::Ring { id, from, media }));
            return Ok(());
        }
        GroupEvent::Ring { id, from, media } => {
            relay(ctx, [user], &wrap(GroupEvent::Start { id, from, media }));
            return Ok(());
        }
        GroupEvent::Left { ref id, .. } if itself => calls.came_back(user, room, id),
        GroupEvent::End { ref id } => calls.came_back(user, room, id),
        _ => {}
    }
    relay(ctx, [user], &wrap(event));
    Ok(())
}
