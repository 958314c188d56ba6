//! `EDIT` (protocol 1.2, §19): your message now reads a new text. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Request;
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["EDIT"], Version::V1_2, Kind::Stored, serve).costing(ACTION_COST);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Edit { to, id, text } = request else { return not_served(s, &request) };
    s.settle();
    s.reply_durable(actions::edit(s.ctx, who.id, who.name, &to, &id, &text))
}
