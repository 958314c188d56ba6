//! `REPLY` (protocol 1.2, §19): a message that answers another, stored as a `MSG` whose text starts with a one-line quote of it. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["REPLY"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Reply { to, id, re, text } = request else { return not_served(s, &request) };
    s.settle();
    s.reply_durable(actions::reply(s.ctx, who.id, &to, &id, &re, &text))
}
