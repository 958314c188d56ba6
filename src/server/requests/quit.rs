//! `QUIT` (protocol §4): `OK`, then the server closes the connection,
//! once the replies before it are out. Free, as `PING` is.

use crate::server::session::{Flow, Session};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["QUIT"], Version::V1_0, Kind::Ephemeral);

pub(super) fn serve(s: &mut Session) -> Flow {
    s.ok_and_close()
}
