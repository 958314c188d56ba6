//! `BLOCK:<user>`, `UNBLOCK:<user>` and `BLOCKS` (protocol 1.2, §22):
//! whom you blocked, kept by the store, told to your devices. What a
//! block hides, and the storing and telling, are `server::prefs`.

use crate::protocol::{MAX_LISTING, Reply, Request};
use crate::server::prefs;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const BLOCK: Row = Row::asking(&["BLOCK"], Version::V1_2, Kind::Stored, block);

pub(super) const UNBLOCK: Row = Row::asking(&["UNBLOCK"], Version::V1_2, Kind::Stored, unblock);

/// At most 1,000 lines (`protocol::prefs::MAX_BLOCKS`): a token.
pub(super) const BLOCKS: Row = Row::asking(&["BLOCKS"], Version::V1_2, Kind::Ephemeral, list);

fn block(a: Asking, request: Request) -> Flow {
    let Request::Block { user } = request else { return a.not_served(&request) };
    let answer = prefs::block(a.base, a.who.id, &user, true).map(|()| Reply::Ok);
    a.reply(answer)
}

fn unblock(a: Asking, request: Request) -> Flow {
    let Request::Unblock { user } = request else { return a.not_served(&request) };
    let answer = prefs::block(a.base, a.who.id, &user, false).map(|()| Reply::Ok);
    a.reply(answer)
}

/// `BLOCKS`.
fn list(a: Asking, _: Request) -> Flow {
    let answer =
        prefs::blocks(a.base, a.who.id).map(|names| Reply::listing(names.into_iter().take(MAX_LISTING)));
    a.reply(answer)
}
