//! `USERS` (protocol §4): who is online.

use crate::server::session::{Flow, Session, listing};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["USERS"],
    since: Version::V1_0,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

pub(super) fn serve(s: &mut Session) -> Flow {
    s.reply(Ok(listing(s.ctx.online_names())))
}
