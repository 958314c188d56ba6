//! `SERVER` (protocol 1.1, §12): which server this is, the random
//! identity of its data, read from the store's memory. It costs one
//! token like any read (a client asks once per connection): only `PING`
//! keeps a connection alive for nothing.

use crate::protocol::Reply;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["SERVER"], Version::V1_1, Kind::Read);

pub(super) fn serve(a: Asking) -> Flow {
    let id = a.base.store.server_id();
    a.reply(Ok(Reply::with(id)))
}
