//! `EDIT` (protocol 1.2, §19): your message now reads a new text. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::{Chat, Text};
use crate::server::actions;
use crate::server::session::{Flow, Session, Who};

use super::{ACTION_COST, Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["EDIT"], Version::V1_2, Kind::Stored).costing(ACTION_COST);

pub(super) fn serve(s: &mut Session, who: Who, to: &Chat, id: &str, text: &Text) -> Flow {
    s.settle();
    s.reply_durable(actions::edit(s.ctx, who.id, who.name, to, id, text))
}
