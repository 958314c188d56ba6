//! `PING` (protocol §4): `OK`. Free: keeping a connection alive costs
//! nothing.

use crate::protocol::Reply;
use crate::server::session::{Flow, Session};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row::new(&["PING"], Version::V1_0, Kind::Ephemeral).costing(tokens::<0>);

pub(super) fn serve(s: &mut Session) -> Flow {
    s.reply(Ok(Reply::Ok))
}
