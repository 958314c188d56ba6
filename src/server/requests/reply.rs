//! `REPLY` (protocol 1.2, §19): a message that answers another, stored as a `MSG` whose text starts with a one-line quote of it. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["REPLY"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(mut a: Asking, request: Request) -> Flow {
    let Request::Reply { to, id, re, text } = request else { return a.not_served(&request) };
    a.settle();
    let answer = actions::reply(a.base, a.who.id, &to, &id, &re, &text);
    a.reply_durable(answer)
}
