//! `QUIT` (protocol §4): `OK`, then the server closes the connection,
//! once the replies before it are out. Free, as `PING` is.

use crate::protocol::Request;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row::new(&["QUIT"], Version::V1_0, Kind::Ephemeral, serve).costing(tokens::<0>);

fn serve(s: &mut Session, _: Who, _: Request) -> Flow {
    s.ok_and_close()
}
