//! `BLOCK:<user>`, `UNBLOCK:<user>` and `BLOCKS` (protocol 1.2, §22):
//! whom you blocked, kept by the store, told to your devices. What a
//! block hides, and the storing and telling, are `server::prefs`.

use crate::protocol::{MAX_LISTING, Reply, Request};
use crate::server::prefs;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["BLOCK", "UNBLOCK"], Version::V1_2, Kind::Stored, serve);

/// At most 1,000 lines (`protocol::prefs::MAX_BLOCKS`): a token.
pub(super) const BLOCKS: Row = Row::asking(&["BLOCKS"], Version::V1_2, Kind::Read, list);

/// `BLOCK` or `UNBLOCK`: one change of one setting, on or off.
fn serve(a: Asking, request: Request) -> Flow {
    let (user, on) = match request {
        Request::Block { user } => (user, true),
        Request::Unblock { user } => (user, false),
        _ => return a.not_served(&request),
    };
    let answer = prefs::block(a.base, a.who.id, &user, on).map(|()| Reply::Ok);
    a.reply(answer)
}

/// `BLOCKS`.
fn list(a: Asking, _: Request) -> Flow {
    let answer =
        prefs::blocks(a.base, a.who.id).map(|names| Reply::listing(names.into_iter().take(MAX_LISTING)));
    a.reply(answer)
}
