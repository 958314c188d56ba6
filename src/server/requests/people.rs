//! `PEOPLE:<start of a name>` (protocol 1.2): the people a "new chat" box
//! suggests as a name is typed, among those `MEMBERS` shows you (the
//! members of your rooms), each online or last seen as there. It tells
//! nothing that `MEMBERS` of each of your rooms would not, in at most
//! [`MAX_PEOPLE`] lines.
//!
//! 1.3 (§27): `PEOPLE:<start>@<server>` asks another server of the class
//! network over the link, and the reply waits for its answer
//! (`server::people_across`).

use crate::protocol::request::MAX_PEOPLE;
use crate::server::presence;
use crate::server::session::{Flow, listing};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["PEOPLE"], Version::V1_2, Kind::Ephemeral);

pub(super) fn serve(a: Asking, prefix: String) -> Flow {
    if let Some((start, server)) = prefix.split_once('@') {
        let people = a.people_across(start, server);
        return a.reply(people.map(listing));
    }
    let people = presence::people(a.base, a.who.id, &prefix, MAX_PEOPLE);
    a.reply(Ok(listing(people)))
}
