//! `QUIT` (protocol §4): `OK`, then the server closes the connection,
//! once the replies before it are out. Free, as `PING` is.

use crate::server::session::{Flow, Session};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["QUIT"],
    since: Version::V1_0,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<0>,
};

pub(super) fn serve(s: &mut Session) -> Flow {
    s.ok_and_close()
}
