//! `USERS` (protocol §4): who is online.

use crate::protocol::Request;
use crate::server::session::{Flow, Session, Who, listing};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["USERS"], Version::V1_0, Kind::Ephemeral, serve);

fn serve(s: &mut Session, _: Who, _: Request) -> Flow {
    s.reply(Ok(listing(s.ctx.online_names())))
}
