//! `BLOCK:<user>`, `UNBLOCK:<user>` and `BLOCKS` (protocol 1.2, §22):
//! whom you blocked, kept by the store, told to your devices. What a
//! block hides, and the storing and telling, are `server::prefs`.

use crate::protocol::{MAX_LISTING, Reply, Request};
use crate::server::prefs;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const BLOCK: Row = Row::new(&["BLOCK"], Version::V1_2, Kind::Stored, block);

pub(super) const UNBLOCK: Row = Row::new(&["UNBLOCK"], Version::V1_2, Kind::Stored, unblock);

/// At most 1,000 lines (`protocol::prefs::MAX_BLOCKS`): a token.
pub(super) const BLOCKS: Row = Row::new(&["BLOCKS"], Version::V1_2, Kind::Ephemeral, list);

fn block(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Block { user } = request else { return not_served(s, &request) };
    s.reply(prefs::block(s.ctx, who.id, &user, true).map(|()| Reply::Ok))
}

fn unblock(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Unblock { user } = request else { return not_served(s, &request) };
    s.reply(prefs::block(s.ctx, who.id, &user, false).map(|()| Reply::Ok))
}

/// `BLOCKS`.
fn list(s: &mut Session, who: Who, _: Request) -> Flow {
    s.reply(prefs::blocks(s.ctx, who.id).map(|names| Reply::listing(names.into_iter().take(MAX_LISTING))))
}
