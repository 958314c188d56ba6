//! `USERS` (protocol §4): who is online.

use crate::server::session::{Flow, listing};

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["USERS"], Version::V1_0, Kind::Ephemeral);

pub(super) fn serve(a: Asking) -> Flow {
    let names = a.base.router.online_names();
    a.reply(Ok(listing(names)))
}
