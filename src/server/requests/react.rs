//! `REACT` (protocol 1.2, §19): a reaction added to a message, or taken back. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Chat;
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["REACT"], Version::V1_2, Kind::Stored);

pub(super) fn serve(mut a: Asking, to: Chat, id: String, emoji: String) -> Flow {
    a.settle();
    let answer = actions::react(a.base, a.who.id, a.who.name, &to, &id, &emoji);
    a.reply_durable(answer)
}
