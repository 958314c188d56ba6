//! `READ:<from>:<id>` (protocol §4): you have read the message `id` of
//! a chat; its author is told `READ` (a stored request: its record is on
//! disk before the `OK`).

use crate::protocol::{Chat, Reply};
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["READ"], Version::V1_0, Kind::Stored);

pub(super) fn serve(a: Asking, chat: Chat, id: String) -> Flow {
    let read = a.base.store.read(a.who.id, &chat, &id);
    a.reply_durable(read.map(|ticket| (Reply::Ok, ticket)))
}
