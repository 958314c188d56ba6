//! `NOTIFY:<chat>:<all|mentions|none>`, `PIN:<chat>`, `UNPIN:<chat>` and
//! `PREFS` (protocol 1.2, §22): a chat's notification level and pin, kept
//! by the store, told to your devices (`server::prefs`).

use crate::protocol::{Chat, Level, MAX_LISTING, Reply};
use crate::server::prefs;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const NOTIFY: Row = Row::new(&["NOTIFY"], Version::V1_2, Kind::Stored);

pub(super) const PIN: Row = Row::new(&["PIN", "UNPIN"], Version::V1_2, Kind::Stored);

pub(super) const PREFS: Row = Row::new(&["PREFS"], Version::V1_2, Kind::Read);

pub(super) fn notify(a: Asking, chat: Chat, level: Level) -> Flow {
    let answer = prefs::notify(a.base, a.who.id, &chat, level).map(|()| Reply::Ok);
    a.reply(answer)
}

/// `PIN` (`pinned`) or `UNPIN`.
pub(super) fn pin(a: Asking, chat: Chat, pinned: bool) -> Flow {
    let answer = prefs::pin(a.base, a.who.id, &chat, pinned).map(|()| Reply::Ok);
    a.reply(answer)
}

pub(super) fn list(a: Asking) -> Flow {
    let lines = prefs::prefs(a.base, a.who.id);
    a.reply(Ok(Reply::listing(lines.into_iter().take(MAX_LISTING))))
}
