//! `LASTSEEN:<user>` (protocol 1.1, §11): is `user` online, and if not,
//! since when.

use crate::protocol::{Reply, Request};
use crate::server::presence;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["LASTSEEN"], Version::V1_1, Kind::Ephemeral, serve);

/// 1.2: `UNKNOWN` to someone `user` blocked (§22).
fn serve(a: Asking, request: Request) -> Flow {
    let Request::LastSeen { user } = request else { return a.not_served(&request) };
    let seen = presence::last_seen(a.base, a.who.id, &user);
    a.reply(seen.map(Reply::with))
}
