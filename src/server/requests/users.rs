//! `USERS` (protocol §4): who is online.

use crate::protocol::Request;
use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::asking(&["USERS"], Version::V1_0, Kind::Ephemeral, serve);

fn serve(a: Asking, _: Request) -> Flow {
    let names = a.base.router.online_names();
    a.reply(Ok(listing(names)))
}
