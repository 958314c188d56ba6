//! `EDIT` (protocol 1.2, §19): your message now reads a new text. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["EDIT"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(mut a: Asking, request: Request) -> Flow {
    let Request::Edit { to, id, text } = request else { return a.not_served(&request) };
    a.settle();
    let answer = actions::edit(a.base, a.who.id, a.who.name, &to, &id, &text);
    a.reply_durable(answer)
}
