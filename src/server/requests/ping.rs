//! `PING` (protocol §4): `OK`. Free: keeping a connection alive costs
//! nothing.

use crate::protocol::Reply;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["PING"], Version::V1_0, Kind::Ephemeral);

pub(super) fn serve(a: Asking) -> Flow {
    a.reply(Ok(Reply::Ok))
}
