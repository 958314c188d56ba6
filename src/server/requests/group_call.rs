//! `GROUPCALL:<#room>:<what>:…` and `GROUPCALLS` (protocol 1.2, §32): a
//! room's call. Relayed requests, like `CALL`: the server keeps who is in
//! which room's call (`server::group_calls`), tells the members
//! (`server::group_call_relay`), and passes each offer, answer and
//! candidate from one member in the call to another's device in it,
//! never to anyone else. The media go from browser to browser.

use crate::protocol::group_call::{GroupRequest, PeerSignal};
use crate::protocol::{Chat, DEFAULT_DEVICE, Ko, MAX_LISTING, Reply};
use crate::server::Ctx;
use crate::server::calls::Party;
use crate::server::session::{Flow, Session, Who};
use crate::server::{group_call_relay, group_calls_across};

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

/// `GROUPCALLS`: the calls going on in the asker's rooms, one line each:
/// those of rooms of this server, then (1.3) those of rooms homed
/// elsewhere, as their homes answer now (`server::group_calls_across`).
pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    let mut lines = group_call_relay::calls_of(s.ctx, who.id);
    let rooms: Vec<String> = s.ctx.store.rooms_of(who.id, 0).into_iter().map(|(line, _)| line.room).collect();
    lines.extend(group_calls_across::listed(s.ctx, (who.id, who.name), &rooms));
    lines.truncate(MAX_LISTING);
    s.reply(Ok(Reply::listing(lines)))
}

/// One `GROUPCALL` of `me` (on `device`) about `room`'s call: judged
/// here for a room of this server, asked of its home for a room of
/// another (1.3, `server::group_calls_across`).
fn act(ctx: &Ctx, me: Who, device: &str, room: &str, action: GroupRequest) -> Result<Reply, Ko> {
    let chat = Chat::Room(room.to_string());
    let room = match ctx.route(&chat)? {
        Some(Chat::Room(local)) => local,
        Some(Chat::User(_)) => return Err(Ko::not_member(room)),
        None if chat.server().is_some() => {
            let address = format!("#{}", room.trim_start_matches('#'));
            return group_calls_across::ask(ctx, (me.id, me.name, device), &address, action);
        }
        None => room.to_string(),
    };
    let party = Party { id: me.id, name: me.name.to_string() };
    let start_id =
        matches!(action, GroupRequest::Start { .. }).then(|| crate::server::own_ids::own_message_id("call"));
    match group_call_relay::judge(ctx, (&party, device), &room, action, start_id.clone())? {
        Some(others) => Ok(Reply::with(others.join(","))),
        None => Ok(start_id.map_or(Reply::Ok, Reply::with)),
    }
}
