//! `PING` (protocol §4): `OK`. Free: keeping a connection alive costs
//! nothing.

use crate::protocol::{Reply, Request};
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row::new(&["PING"], Version::V1_0, Kind::Ephemeral, serve).costing(tokens::<0>);

fn serve(s: &mut Session, _: Who, _: Request) -> Flow {
    s.reply(Ok(Reply::Ok))
}
