//! `REACT` (protocol 1.2, §19): a reaction added to a message, or taken back. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Chat;
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["REACT"], Version::V1_2, Kind::Stored).costing(ACTION_COST);

pub(super) fn serve(s: &mut Session, who: Who, to: &Chat, id: &str, emoji: &str) -> Flow {
    s.settle();
    s.reply_durable(actions::react(s.ctx, who.id, who.name, to, id, emoji))
}
