//! `PING` (protocol §4): `OK`. Free: keeping a connection alive costs
//! nothing.

use crate::protocol::Reply;
use crate::server::session::{Flow, Session};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["PING"],
    since: Version::V1_0,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<0>,
};

pub(super) fn serve(s: &mut Session) -> Flow {
    s.reply(Ok(Reply::Ok))
}
