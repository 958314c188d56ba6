//! `USERS` (protocol §4): who is online.

use crate::server::session::{Flow, Session, listing};

use super::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["USERS"], Version::V1_0, Kind::Ephemeral);

pub(super) fn serve(s: &mut Session) -> Flow {
    s.reply(Ok(listing(s.ctx.online_names())))
}
