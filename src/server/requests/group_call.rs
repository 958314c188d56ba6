//! `GROUPCALL:<#room>:<what>:…` and `GROUPCALLS` (protocol 1.2, §32): a
//! room's call. Relayed requests, like `CALL`: the server keeps who is in
//! which room's call (`server::group_calls`), tells the members
//! (`server::group_call_relay`), and passes each offer, answer and
//! candidate from one member in the call to another's device in it,
//! never to anyone else. The media go from browser to browser.

use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest, PeerSignal};
use crate::protocol::{Chat, Code, DEFAULT_DEVICE, Event, Ko, MAX_LISTING, Reply};
use crate::server::Ctx;
use crate::server::calls::Party;
use crate::server::group_call_relay;
use crate::server::group_calls::same_room;
use crate::server::session::{Flow, Session, Who};
use crate::store::Members;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["GROUPCALL"], Version::V1_2, Kind::Ephemeral);

pub(super) const GROUPCALLS: Row = Row::new(&["GROUPCALLS"], Version::V1_2, Kind::Ephemeral);

/// What a `GROUPCALL` costs. A start stores a line in the room and rings
/// up to `RING_MAX_MEMBERS` members' devices (and their pushes): what ten
/// small requests cost. A join tells the room, an offer or an answer
/// carries up to 12 KiB to one device (2 each); a candidate, a decline
/// or a leave is one small event (1). A member joining a call of eight
/// sends 7 offers and some 70 candidates: about 90 tokens of `--rate`
/// over a few seconds.
pub(super) fn cost(action: &GroupRequest) -> u32 {
    match action {
        GroupRequest::Start { .. } => 10,
        GroupRequest::Join { .. } => 2,
        GroupRequest::Signal { signal: PeerSignal::Offer { .. } | PeerSignal::Answer { .. }, .. } => 2,
        GroupRequest::Signal { signal: PeerSignal::Ice { .. }, .. }
        | GroupRequest::Decline { .. }
        | GroupRequest::Leave { .. } => 1,
    }
}

pub(super) fn serve(s: &mut Session, who: Who, room: String, action: GroupRequest) -> Flow {
    let device = s.device.clone().unwrap_or_else(|| DEFAULT_DEVICE.to_string());
    s.reply(act(s.ctx, who, &device, &room, action))
}

/// `GROUPCALLS`: the calls going on in the asker's rooms, one line each.
pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    let rooms: Vec<String> = s.ctx.store.rooms_of(who.id, 0).into_iter().map(|(line, _)| line.room).collect();
    let lines: Vec<GroupCallLine> = s
        .ctx
        .group_calls
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
        .collect();
    s.reply(Ok(Reply::listing(lines)))
}

/// One `GROUPCALL` of `me` (on `device`) about `room`'s call.
fn act(ctx: &Ctx, me: Who, device: &str, room: &str, action: GroupRequest) -> Result<Reply, Ko> {
    let Chat::Room(room) = ctx.here_only(Chat::Room(room.to_string()), "a room's call")? else {
        return Err(Ko::not_member(room));
    };
    let (room, members) = member_of(ctx, me, &room)?;
    let party = Party { id: me.id, name: me.name.to_string() };
    let calls = &ctx.group_calls;
    match action {
        GroupRequest::Start { media } => {
            not_talking(ctx, me)?;
            group_call_relay::start(ctx, (&room, &members), (&party, device), media).map(Reply::with)
        }
        GroupRequest::Join { id } => {
            not_talking(ctx, me)?;
            let others = calls.join(&room, &id, (party.clone(), device))?;
            group_call_relay::joined(ctx, &room, &id, &party);
            Ok(Reply::with(others.join(",")))
        }
        GroupRequest::Decline { id } => {
            calls.decline(&room, &id, me.id)?;
            group_call_relay::declined(ctx, &room, &id, me.id);
            Ok(Reply::Ok)
        }
        GroupRequest::Leave { id } => {
            group_call_relay::left(ctx, calls.leave(&room, &id, me.id)?);
            Ok(Reply::Ok)
        }
        GroupRequest::Signal { id, to, signal } => {
            let ice = matches!(signal, PeerSignal::Ice { .. });
            let (user, on) = calls.route(&room, &id, (me.id, device), &to, ice)?;
            let event = GroupEvent::Signal { id, from: party.name, signal };
            if let Some(outlet) = ctx.router.device(user, &on) {
                outlet.push(&Event::GroupCall { room: room.to_string(), event });
            }
            Ok(Reply::Ok)
        }
    }
}

/// The room `room` as registered and its members, if `me` is one of them
/// (`KO:NOT_MEMBER` otherwise, whether the room exists or not, as for a
/// message).
fn member_of(ctx: &Ctx, me: Who, room: &str) -> Result<(std::sync::Arc<str>, Members), Ko> {
    let found =
        ctx.store.room_members(room).filter(|(_, members)| members.iter().any(|&(user, _)| user == me.id));
    found.ok_or_else(|| Ko::not_member(room))
}

/// `KO:FULL` for a member in a 1:1 call (§24): one call at a time.
fn not_talking(ctx: &Ctx, me: Who) -> Result<(), Ko> {
    match ctx.calls.known().iter().any(|c| c.answered && c.has(me.id)) {
        true => Err(Ko::new(Code::Full, "you are in a call: hang up first")),
        false => Ok(()),
    }
}
