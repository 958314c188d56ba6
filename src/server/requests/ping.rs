//! `PING` (protocol §4): `OK`. Free: keeping a connection alive costs
//! nothing.

use crate::protocol::{Reply, Request};
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version, tokens};

pub(super) const ROW: Row =
    Row::asking(&["PING"], Version::V1_0, Kind::Ephemeral, serve).costing(tokens::<0>);

fn serve(a: Asking, _: Request) -> Flow {
    a.reply(Ok(Reply::Ok))
}
