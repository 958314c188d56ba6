//! `EDIT` (protocol 1.2, §19): your message now reads a new text. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::{Chat, Text};
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["EDIT"], Version::V1_2, Kind::Stored);

pub(super) fn serve(mut a: Asking, to: Chat, id: String, text: Text) -> Flow {
    a.settle();
    let answer = actions::edit(a.base, a.who.id, a.who.name, &to, &id, &text);
    a.reply_durable(answer)
}
