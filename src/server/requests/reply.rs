//! `REPLY` (protocol 1.2, §19): a message that answers another, stored as a `MSG` whose text starts with a one-line quote of it. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::{Chat, Text};
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["REPLY"], Version::V1_2, Kind::Stored);

pub(super) fn serve(mut a: Asking, to: Chat, id: String, re: String, text: Text) -> Flow {
    a.settle();
    let answer = actions::reply(a.base, a.who.id, &to, &id, &re, &text);
    a.reply_durable(answer)
}
