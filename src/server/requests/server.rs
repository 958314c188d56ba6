//! `SERVER` (protocol 1.1, §12): which server this is, the random
//! identity of its data. It costs one token like any read: a client asks
//! once per connection, and on a cluster node it is a query to the
//! database.

use crate::protocol::Reply;
use crate::server::session::{Flow, Session};

use super::{Kind, Row, Version, tokens};

pub(super) const ROW: Row = Row {
    words: &["SERVER"],
    since: Version::V1_1,
    first_frame: false,
    kind: Kind::Ephemeral,
    cost: tokens::<1>,
};

pub(super) fn serve(s: &mut Session) -> Flow {
    s.reply(s.ctx.store.server_id().map(Reply::with))
}
