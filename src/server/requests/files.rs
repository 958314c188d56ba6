//! `UPLOAD`, `PART`, `FILE`, `FETCH`, `FILEOF` and `FILES` (protocol 1.2,
//! §21): photos and files in chats. One family: an upload's parts, the
//! message that carries the file, its fetch, the file of a message seen
//! in `HISTORY`, and the list of yours. Who may do what is
//! `server::files`'s; the bytes are `store::files`'.

use crate::protocol::{Chat, Text};
use crate::server::files;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const UPLOAD: Row = Row::new(&["UPLOAD"], Version::V1_2, Kind::Stored);

pub(super) const PART: Row = Row::new(&["PART"], Version::V1_2, Kind::Stored);

pub(super) const FILE: Row = Row::new(&["FILE"], Version::V1_2, Kind::Stored);

pub(super) const FETCH: Row = Row::new(&["FETCH"], Version::V1_2, Kind::Read);

/// `FILEOF`: the file a message carries, a lookup as cheap as a `FETCH`.
pub(super) const FILEOF: Row = Row::new(&["FILEOF"], Version::V1_2, Kind::Read);

/// `FILES`: your files, for `wachat export`.
pub(super) const FILES: Row = Row::new(&["FILES"], Version::V1_2, Kind::Read);

/// `UPLOAD`: `OK:<file id>`, the bytes to follow in `PART`s.
pub(super) fn upload(a: Asking, name: String, size: u64, sha256: String) -> Flow {
    let uploaded = files::upload(a.base, (a.who.id, a.who.name, a.address()), &name, size, &sha256);
    a.reply(uploaded)
}

/// `PART`: the bytes of an upload from `offset` on.
pub(super) fn part(a: Asking, file: String, offset: u64, data: Vec<u8>) -> Flow {
    let (base, asker, charge) = (a.base, (a.who.name, a.address()), a.charger());
    // On a cluster the part's commit is shared (`cluster::parts`): its
    // reply keeps its place while the next parts are read.
    if base.files.parts_later() {
        return a.reply_later(|then| files::part_then(base, asker, (&file, offset, data), charge, then));
    }
    let parted = files::part(base, asker, (&file, offset, &data), charge);
    a.reply(parted)
}

/// `FILE`: a message as `MSG` is. The `MSG`s gathered before it are
/// already stored (`Session::handle` sends them before any other request).
pub(super) fn send(a: Asking, to: Chat, id: String, file: String, caption: Option<Text>) -> Flow {
    // 1.3 (§27): to a user or room of another server, the file crosses
    // its link with the message (`federation::frames::file`).
    let to = match a.chat_here(to) {
        Ok(to) => to,
        Err(ko) => return a.reply(Err(ko)),
    };
    let sent = files::send(a.base, (a.who.id, a.who.name), &to, &id, &file, caption.as_ref());
    a.reply_durable(sent)
}

/// `FETCH`: the next part of a file (or of its thumbnail).
pub(super) fn fetch(a: Asking, file: String, offset: u64) -> Flow {
    let fetched = files::fetch(a.base, a.who.id, a.who.name, &file, offset);
    a.reply(fetched)
}

/// `FILEOF`: the file the message `id` of `from` in `chat` carries.
pub(super) fn file_of(a: Asking, chat: Chat, from: String, id: String) -> Flow {
    // 1.3: a message of another server's user names its author by address.
    let here = a.chat_here(chat).and_then(|chat| Ok((chat, a.chat_here(Chat::User(from.clone()))?)));
    let (chat, from) = match here {
        Ok((chat, Chat::User(local))) => (chat, local),
        Ok((chat, Chat::Room(_))) => (chat, from),
        Err(ko) => return a.reply(Err(ko)),
    };
    let found = files::file_of(a.base, a.who.id, a.who.name, &chat, &from, &id);
    a.reply(found)
}

/// `FILES`: your files and the messages that carry them.
pub(super) fn list(a: Asking) -> Flow {
    let listed = files::list(a.base, a.who.name);
    a.reply(Ok(listed))
}
