//! `DELETE` (protocol 1.2, §19): a message deleted for everyone, its text erased from the server's disk; or, by a room's admin, a member's message. Its rules (whose message, how late,
//! what a deletion erases) are `server::actions`.

use crate::protocol::Chat;
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["DELETE"], Version::V1_2, Kind::Stored);

pub(super) fn serve(mut a: Asking, to: Chat, id: String, author: Option<String>) -> Flow {
    // 1.3: a room admin's delete names its author as a chat is named.
    let author = match author.map(|author| a.user_here(author)).transpose() {
        Ok(author) => author,
        Err(ko) => return a.reply(Err(ko)),
    };
    a.settle();
    // 1.2 (§21): the file it carried leaves the disk with it, unless
    // another message carries it (`actions::delete` says when).
    let deleted = actions::delete(a.base, a.who.id, a.who.name, &to, &id, author.as_deref());
    let answer = deleted;
    a.reply_durable(answer)
}
