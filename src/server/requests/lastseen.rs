//! `LASTSEEN:<user>` (protocol 1.1, §11): is `user` online, and if not,
//! since when.

use crate::protocol::Reply;
use crate::server::presence;
use crate::server::session::{Flow, Session, Who};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LASTSEEN"], Version::V1_1, Kind::Ephemeral);

/// 1.2: `UNKNOWN` to someone `user` blocked (§22).
pub(super) fn serve(s: &mut Session, who: Who, user: &str) -> Flow {
    s.reply(presence::last_seen(s.ctx, who.id, user).map(Reply::with))
}
