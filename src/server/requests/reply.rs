//! `REPLY` (protocol 1.2, §19): a message that answers another, stored as a `MSG` whose text starts with a one-line quote of it. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::{Chat, Text};
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["REPLY"], Version::V1_2, Kind::Stored).costing(ACTION_COST);

pub(super) fn serve(s: &mut Session, who: Who, to: &Chat, id: &str, re: &str, text: &Text) -> Flow {
    s.settle();
    s.reply_durable(actions::reply(s.ctx, who.id, to, id, re, text))
}
