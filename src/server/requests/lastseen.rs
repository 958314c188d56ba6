//! `LASTSEEN:<user>` (protocol 1.1, §11): is `user` online, and if not,
//! since when.

use crate::protocol::Reply;
use crate::server::presence;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LASTSEEN"], Version::V1_1, Kind::Ephemeral);

/// 1.2: `UNKNOWN` to someone `user` blocked (§22).
pub(super) fn serve(a: Asking, user: String) -> Flow {
    let seen = presence::last_seen(a.base, a.who.id, &user);
    a.reply(seen.map(Reply::with))
}
