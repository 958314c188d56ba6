//! `SERVER` (protocol 1.1, §12): which server this is, the random
//! identity of its data. It costs one token like any read: a client asks
//! once per connection, and on a cluster node it is a query to the
//! database.

use crate::protocol::{Reply, Request};
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["SERVER"], Version::V1_1, Kind::Ephemeral, serve);

fn serve(s: &mut Session, _: Who, _: Request) -> Flow {
    s.reply(s.ctx.store.server_id().map(Reply::with))
}
