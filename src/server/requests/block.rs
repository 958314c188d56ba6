//! `BLOCK:<user>`, `UNBLOCK:<user>` and `BLOCKS` (protocol 1.2, §22):
//! whom you blocked, kept by the store, told to your devices. What a
//! block hides, and the storing and telling, are `server::prefs`.

use crate::protocol::{MAX_LISTING, Reply};
use crate::server::prefs;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["BLOCK", "UNBLOCK"], Version::V1_2, Kind::Stored);

pub(super) const BLOCKS: Row = Row::new(&["BLOCKS"], Version::V1_2, Kind::Read);

/// `BLOCK` (`on`) or `UNBLOCK`: one change of one setting, on or off.
pub(super) fn serve(a: Asking, user: String, on: bool) -> Flow {
    // 1.3: a server blocked must be a peer; one left the roster may be
    // unblocked. A user is routed as a chat is (`bob@lab2`, `cyd@lab1` on lab1).
    let whom = match user.starts_with('@') {
        true if on => a.peer_server(&user).map(|()| user),
        true => Ok(user),
        false => a.user_here(user),
    };
    let answer = whom.and_then(|whom| prefs::block(a.base, a.who.id, &whom, on)).map(|()| Reply::Ok);
    a.reply(answer)
}

/// `BLOCKS`.
pub(super) fn list(a: Asking) -> Flow {
    let names = prefs::blocks(a.base, a.who.id);
    a.reply(Ok(Reply::listing(names.into_iter().take(MAX_LISTING))))
}
