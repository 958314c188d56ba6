//! `NOTIFY:<chat>:<all|mentions|none>`, `PIN:<chat>`, `UNPIN:<chat>` and
//! `PREFS` (protocol 1.2, §22): a chat's notification level and pin, kept
//! by the store, told to your devices (`server::prefs`).

use crate::protocol::{Chat, Level, MAX_LISTING, Reply};
use crate::server::prefs;
use crate::server::session::{Flow, Session, Who};

use super::{Kind, Row, Version, tokens};

pub(super) const NOTIFY: Row = Row {
    words: &["NOTIFY"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Stored,
    cost: tokens::<1>,
};

pub(super) const PIN: Row = Row {
    words: &["PIN", "UNPIN"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Stored,
    cost: tokens::<1>,
};

/// At most 1,000 lines (`protocol::prefs::MAX_PREFS`): a token.
pub(super) const PREFS: Row = Row {
    words: &["PREFS"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

pub(super) fn notify(s: &mut Session, who: Who, chat: &Chat, level: Level) -> Flow {
    s.reply(prefs::notify(s.ctx, who.id, chat, level).map(|()| Reply::Ok))
}

/// `PIN` (`pinned`) or `UNPIN`.
pub(super) fn pin(s: &mut Session, who: Who, chat: &Chat, pinned: bool) -> Flow {
    s.reply(prefs::pin(s.ctx, who.id, chat, pinned).map(|()| Reply::Ok))
}

pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    s.reply(prefs::prefs(s.ctx, who.id).map(|lines| Reply::listing(lines.into_iter().take(MAX_LISTING))))
}
