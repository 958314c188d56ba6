//! 1.2 (§32): what the server tells as a room's call changes
//! (`group_calls.rs` keeps the table, which the router holds): the ring
//! to the other members (and their push), who joins and leaves, the
//! ring's end, the call's end; and the call's line in the room, stored as
//! the call starts and edited as it ends (`protocol::group_call::GroupLog`),
//! the way a 1:1 call's line is (`call_relay.rs`): a message of the
//! starter's through the durable path of any `MSG`, so that every client
//! of every version, `HISTORY` and a push see it.
//!
//! Who is told: every member of the room, each device that said
//! `VERSION:1.2` (the ring only to those it rings); a room of more than
//! `--presence-limit` members tells only those in the call, as it tells
//! nobody its typing. The timer of the 1:1 calls (`call_relay::start`)
//! runs [`sweep`]: rings that ran out, and members who left the room,
//! taken out of its call within a quarter of a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use super::calls::Party;
use super::group_calls::{Ended, Left, same_room};
use super::log_limit::log_limited;
use super::relay::relay;
use crate::protocol::action::{Act, ActionId};
use crate::protocol::call::Media;
use crate::protocol::group_call::{
    GroupCallLine, GroupEvent, GroupLog, GroupRequest, Names, PeerSignal, RING_MAX_MEMBERS, Stop,
};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Event, Ko, MAX_LISTING, Text};
use crate::store::{Members, UserId};

/// A member's request about the call of `room`, a room of this server
/// (`#lab`), as this server judges it: `party`'s own on `device`, or
/// (1.3) a member of another server's, whose device is that server
/// (`calls::remote_device`). A start's call takes `start_id` (its line's
/// id). The members in the call already for a `JOIN` (each offers to
/// them); nothing for the others.
pub fn judge(
    ctx: &Ctx,
    (party, device): (&Party, &str),
    room: &str,
    action: GroupRequest,
    start_id: Option<String>,
) -> Result<Option<Vec<String>>, Ko> {
    let (room, members) = member_of(ctx, party.id, room)?;
    let calls = &ctx.group_calls;
    match action {
        GroupRequest::Start { media } => {
            not_talking(ctx, party.id)?;
            let id = start_id.ok_or_else(|| Ko::new(Code::Internal, "a call's start without its id"))?;
            start(ctx, (&room, &members), (party, device), media, &id)?;
            Ok(None)
        }
        GroupRequest::Join { id } => {
            not_talking(ctx, party.id)?;
            let others = calls.join(&room, &id, (party.clone(), device))?;
            joined(ctx, &room, &id, party);
            Ok(Some(others))
        }
        GroupRequest::Decline { id } => {
            calls.decline(&room, &id, party.id)?;
            declined(ctx, &room, &id, party.id);
            Ok(None)
        }
        GroupRequest::Leave { id } => {
            left(ctx, calls.leave(&room, &id, party.id)?);
            Ok(None)
        }
        GroupRequest::Signal { id, to, signal } => {
            let ice = matches!(signal, PeerSignal::Ice { .. });
            let (user, on) = calls.route(&room, &id, (party.id, device), &to, ice)?;
            let event = GroupEvent::Signal { id, from: party.name.clone(), signal };
            match ctx.store.is_remote_user(user) {
                true => tell(ctx, &room, &[user], event),
                false => {
                    if let Some(outlet) = ctx.router.device(user, &on) {
                        outlet.push(&Event::GroupCall { room: room.to_string(), event });
                    }
                }
            }
            Ok(None)
        }
    }
}

/// The calls going on in this server's rooms that `user` is a member
/// of, as `GROUPCALLS` lists them (a member of another server asks it
/// through its server, 1.3).
pub fn calls_of(ctx: &Ctx, user: UserId) -> Vec<GroupCallLine> {
    let rooms: Vec<String> = ctx.store.rooms_of(user, 0).into_iter().map(|(line, _)| line.room).collect();
    ctx.group_calls
        .summaries()
        .into_iter()
        .filter(|c| rooms.iter().any(|room| same_room(room, &c.room)))
        .map(|c| GroupCallLine {
            room: c.room.to_string(),
            id: c.id,
            by: c.starter,
            media: c.media,
            since: c.since_ms,
            members: c.members.into_iter().map(|p| p.name).collect(),
        })
        .take(MAX_LISTING)
        .collect()
}

/// The room `room` as registered and its members, if `user` is one of
/// them (`KO:NOT_MEMBER` otherwise, whether the room exists or not, as
/// for a message).
fn member_of(ctx: &Ctx, user: UserId, room: &str) -> Result<(Arc<str>, Members), Ko> {
    let found =
        ctx.store.room_members(room).filter(|(_, members)| members.iter().any(|&(member, _)| member == user));
    found.ok_or_else(|| Ko::not_member(room))
}

/// `KO:FULL` for a member in a 1:1 call (§24): one call at a time.
fn not_talking(ctx: &Ctx, user: UserId) -> Result<(), Ko> {
    match ctx.calls.known().iter().any(|c| c.answered && c.has(user)) {
        true => Err(Ko::new(Code::Full, "you are in a call: hang up first")),
        false => Ok(()),
    }
}

/// Starts the call `id` of `room` (as registered, `#lab`, with its
/// `members`) by `starter` on `device`: kept in the table, its line
/// stored (and waited for: whoever is rung finds it in `HISTORY`), then
/// the other members rung. Or why not: the table's refusal, or the
/// line's (a member who may not write in the room may not start its call).
fn start(
    ctx: &Ctx,
    (room, members): (&Arc<str>, &Members),
    (starter, device): (&Party, &str),
    media: Media,
    id: &str,
) -> Result<(), Ko> {
    let id = id.to_string();
    let calls = &ctx.group_calls;
    calls.start(room, &id, (starter.clone(), device), media)?;
    let line = GroupLog::Started { media, by: starter.name.clone() }.to_string();
    if let Err(ko) = store_line(ctx, starter, room, &id, &line) {
        calls.abort(room, &id);
        return Err(ko);
    }
    let others: Vec<UserId> = members.iter().map(|&(user, _)| user).filter(|&u| u != starter.id).collect();
    let rung = match others.len() < RING_MAX_MEMBERS {
        true => {
            let until = Instant::now() + Duration::from_secs(ctx.config.ring_seconds);
            calls.ring(room, &id, &may_ring(ctx, starter, others.clone()), until)
        }
        false => Vec::new(),
    };
    for &user in &rung {
        ctx.push.ring(user, &starter.name, room, &id, media, ctx.config.ring_seconds);
    }
    let (from, id_) = (starter.name.clone(), id.clone());
    tell(ctx, room, &rung, GroupEvent::Ring { id: id_.clone(), from: from.clone(), media });
    let quiet: Vec<UserId> =
        audience(ctx, members, &[starter.id]).into_iter().filter(|u| !rung.contains(u)).collect();
    tell(ctx, room, &quiet, GroupEvent::Start { id: id_, from, media });
    Ok(())
}

/// Those of `others` whom `starter`'s call may ring: no block either way
/// (as a 1:1 call), and not in a 1:1 call (busy).
fn may_ring(ctx: &Ctx, starter: &Party, others: Vec<UserId>) -> Vec<UserId> {
    let blockers = ctx.store.blockers(starter.id);
    let talking: Vec<UserId> =
        ctx.calls.known().iter().filter(|c| c.answered).flat_map(|c| [c.caller, c.callee]).collect();
    let shown = ctx.store.shown_to(starter.id, others);
    shown.into_iter().filter(|u| !blockers.contains(u) && !talking.contains(u)).collect()
}

/// Who hears a call's news: every member of the room, or, past
/// `--presence-limit`, only `those` (the members in the call).
fn audience(ctx: &Ctx, members: &Members, those: &[UserId]) -> Vec<UserId> {
    match members.len() <= ctx.config.presence_limit {
        true => members.iter().map(|&(user, _)| user).collect(),
        false => those.to_vec(),
    }
}

/// Tells `users` `event` about `room`'s call: a user of this server on
/// its devices; (1.3) a member of another server, by its account here,
/// through its server's link (a `GROUPEVENT`, as soon as the link is
/// free: `server::group_calls_across` says what that server does).
fn tell(ctx: &Ctx, room: &str, users: &[UserId], event: GroupEvent) {
    let (remote, local): (Vec<UserId>, Vec<UserId>) =
        users.iter().partition(|&&user| ctx.store.is_remote_user(user));
    if let Some(links) = ctx.federation.get() {
        for name in remote.into_iter().filter_map(|user| ctx.store.name_of(user)) {
            links.tell_group_call((room, &name), event.clone());
        }
    }
    relay(ctx, local, &Event::GroupCall { room: room.to_string(), event });
}

/// Tells the room's news of its call: to its members, or those in the call.
fn tell_room(ctx: &Ctx, room: &str, in_call: &[UserId], event: GroupEvent) {
    let members = ctx.store.room_members(room).map(|(_, m)| m).unwrap_or_default();
    let mut users = audience(ctx, &members, in_call);
    users.extend(in_call.iter().filter(|u| !users.contains(u)).copied().collect::<Vec<_>>());
    tell(ctx, room, &users, event);
}

/// `who` joined the call `id` of `room`: its devices stop ringing, the
/// others in it expect its offers.
fn joined(ctx: &Ctx, room: &str, id: &str, who: &Party) {
    let in_call = in_call(ctx, room, id);
    tell_room(ctx, room, &in_call, GroupEvent::Joined { id: id.to_string(), user: who.name.clone() });
}

/// The ids of those in the call `id` of `room` now.
fn in_call(ctx: &Ctx, room: &str, id: &str) -> Vec<UserId> {
    let calls = ctx.group_calls.summaries();
    let call = calls.iter().find(|c| c.id == id && same_room(&c.room, room));
    call.map(|c| c.members.iter().map(|p| p.id).collect()).unwrap_or_default()
}

/// `user` declined the call `id` of `room`: each of its devices stops ringing.
fn declined(ctx: &Ctx, room: &str, id: &str, user: UserId) {
    tell(ctx, room, &[user], GroupEvent::Stop { id: id.to_string(), why: Stop::Declined });
}

/// A member is out of a call: the others, and its own devices, are told;
/// the last one out ends it.
pub fn left(ctx: &Ctx, left: Left) {
    let Left { room, id, who, ended } = left;
    let mut told = in_call(ctx, &room, &id);
    told.push(who.id);
    tell_room(ctx, &room, &told, GroupEvent::Left { id: id.clone(), user: who.name.clone() });
    if let Some(ended) = ended {
        end(ctx, &ended, who.id);
    }
}

/// The call is over: its line edited (`📞 Group video call by ana, 12:03 ·
/// joined: … · missed: …`), then every member told `END` (`last`, the
/// last one out, among them however large the room).
fn end(ctx: &Ctx, call: &Ended, last: UserId) {
    let members = ctx.store.room_members(&call.room).map(|(_, m)| m).unwrap_or_default();
    let joined_or_starter = |name: &str| {
        fold(name) == fold(&call.starter.name) || call.joined.iter().any(|j| fold(j) == fold(name))
    };
    let mut missed: Vec<String> =
        members.iter().map(|(_, name)| name.to_string()).filter(|name| !joined_or_starter(name)).collect();
    missed.sort_by_key(|name| fold(name));
    let mut joined = Names::of(&call.joined);
    joined.more = joined.more.saturating_add(call.joined_more);
    let log = GroupLog::Ended {
        media: call.media,
        by: call.starter.name.clone(),
        seconds: call.length.as_secs(),
        joined,
        missed: Names::of(&missed),
    };
    let edit = ActionId { act: Act::Edit, stamp: crate::store::now_ms(), target: call.id.clone() };
    if let Err(ko) = store_line(ctx, &call.starter, &call.room, &edit.to_string(), &format!("✎ {log}")) {
        // The starter left the room, or may no longer write in it: the
        // line stays as it started.
        log_limited!(
            ctx.logs.calls,
            warn,
            "{}'s call {}: its line was not edited: {}",
            call.room,
            call.id,
            ko.reason
        );
    }
    tell_room(ctx, &call.room, &[last], GroupEvent::End { id: call.id.clone() });
    if log::log_enabled!(log::Level::Debug) {
        log_limited!(
            ctx.logs.calls,
            debug,
            "{}'s call {} by {}: ended",
            call.room,
            call.id,
            call.starter.name
        );
    }
}

/// Stores `text` as `by`'s message `id` in `room`, and waits until it is
/// durable.
fn store_line(ctx: &Ctx, by: &Party, room: &str, id: &str, text: &str) -> Result<(), Ko> {
    let text = Text::from_plain(text).map_err(|e| Ko::new(Code::Internal, e))?;
    let chat = Chat::Room(room.trim_start_matches('#').to_string());
    let (results, ticket) = ctx.store.send(by.id, &[(chat, id.to_string(), text)]);
    match results.into_iter().next() {
        Some(Ok(_)) => ctx.store.wait(ticket),
        Some(Err(ko)) => Err(ko),
        None => Err(Ko::new(Code::Internal, "the call's line was not stored")),
    }
}

/// The receive connection of `user`'s `device` ended: it leaves its call.
pub fn device_gone(ctx: &Ctx, user: UserId, device: &str) {
    for out in ctx.group_calls.of_device(user, device) {
        left(ctx, out);
    }
}

/// The timer's sweep: each ring that ran out stops (`STOP:missed`), and
/// each member in a call who is no longer a member of its room is taken
/// out of it.
pub fn sweep(ctx: &Ctx, now: Instant) {
    let calls = &ctx.group_calls;
    for (room, id, user) in calls.rung_out(now) {
        tell(ctx, &room, &[user], GroupEvent::Stop { id, why: Stop::Missed });
    }
    for call in calls.summaries() {
        let members = ctx.store.room_members(&call.room).map(|(_, m)| m).unwrap_or_default();
        for gone in call.members.iter().filter(|p| !members.iter().any(|&(user, _)| user == p.id)) {
            if let Some(out) = calls.take(&call.room, &call.id, gone.id) {
                left(ctx, out);
            }
        }
    }
}
