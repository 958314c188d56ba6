//! `BLOCK:<user>`, `UNBLOCK:<user>` and `BLOCKS` (protocol 1.2, §22):
//! whom you blocked, kept by the store, told to your devices. What a
//! block hides, and the storing and telling, are `server::prefs`.

use crate::protocol::{MAX_LISTING, Reply};
use crate::server::prefs;
use crate::server::session::{Flow, Session, Who};

use super::{Kind, Row, Version, tokens};

pub(super) const BLOCK: Row = Row {
    words: &["BLOCK"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Stored,
    cost: tokens::<1>,
};

pub(super) const UNBLOCK: Row = Row {
    words: &["UNBLOCK"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Stored,
    cost: tokens::<1>,
};

/// At most 1,000 lines (`protocol::prefs::MAX_BLOCKS`): a token.
pub(super) const BLOCKS: Row = Row {
    words: &["BLOCKS"],
    since: Version::V1_2,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

/// `BLOCK` (`on`) or `UNBLOCK`.
pub(super) fn serve(s: &mut Session, who: Who, user: &str, on: bool) -> Flow {
    s.reply(prefs::block(s.ctx, who.id, user, on).map(|()| Reply::Ok))
}

/// `BLOCKS`.
pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    s.reply(prefs::blocks(s.ctx, who.id).map(|names| Reply::listing(names.into_iter().take(MAX_LISTING))))
}
