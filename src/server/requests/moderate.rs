//! `TOPIC`, `MODE`, `INVITE`, `KICK`, `BAN`, `UNBAN`, `MUTE`, `UNMUTE`,
//! `OP`, `DEOP` (protocol 1.2, §18): a room's owner and admins run it.
//! Who may do what, and the records, are `server::moderation` and
//! `store::moderation`.

use crate::protocol::moderation::REQUEST_WORDS;
use crate::protocol::{Reply, Request};
use crate::server::moderation;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(REQUEST_WORDS, Version::V1_2, Kind::Stored, serve).costing(cost);

/// A token per record the action may store (issue 38).
fn cost(request: &Request) -> u32 {
    match request {
        Request::Moderate { action, .. } => action.cost(),
        _ => 1,
    }
}

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Moderate { room, action } = request else { return not_served(s, &request) };
    s.settle(); // its notice follows this session's messages
    s.reply(moderation::moderate(s.ctx, who.id, who.name, &room, action).map(|()| Reply::Ok))
}
