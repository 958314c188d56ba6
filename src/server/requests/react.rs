//! `REACT` (protocol 1.2, §19): a reaction added to a message, or taken back. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["REACT"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(mut a: Asking, request: Request) -> Flow {
    let Request::React { to, id, emoji } = request else { return a.not_served(&request) };
    a.settle();
    let answer = actions::react(a.base, a.who.id, a.who.name, &to, &id, &emoji);
    a.reply_durable(answer)
}
