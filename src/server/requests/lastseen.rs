//! `LASTSEEN:<user>` (protocol 1.1, §11): is `user` online, and if not,
//! since when.

use crate::protocol::{Reply, Request};
use crate::server::presence;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version, not_served};

pub(super) const ROW: Row = Row::new(&["LASTSEEN"], Version::V1_1, Kind::Ephemeral, serve);

/// 1.2: `UNKNOWN` to someone `user` blocked (§22).
fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::LastSeen { user } = request else { return not_served(s, &request) };
    s.reply(presence::last_seen(s.ctx, who.id, &user).map(Reply::with))
}
