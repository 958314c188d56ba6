//! `ROOMS` (protocol §4): the rooms you are in.

use crate::server::session::{Flow, Session, Who, listing};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["ROOMS"],
    since: Version::V1_0,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

pub(super) fn serve(s: &mut Session, who: Who) -> Flow {
    s.reply(s.ctx.store.rooms(who.id).map(listing))
}
