//! `READ:<from>:<id>` (protocol §4): you have read the message `id` of
//! a chat; its author is told `READ` (a stored request: its record is on
//! disk before the `OK`). Web Push (§28) drops the chat's pushes held
//! for the reader's other devices and closes its notifications there.

use crate::protocol::{Chat, Reply};
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["READ"], Version::V1_0, Kind::Stored);

pub(super) fn serve(a: Asking, chat: Chat, id: String) -> Flow {
    let read = a.base.store.read(a.who.id, &chat, &id);
    if read.is_ok() {
        a.pushes().read(a.who.id, &chat.to_string(), crate::store::now_ms());
    }
    a.reply_durable(read.map(|ticket| (Reply::Ok, ticket)))
}
