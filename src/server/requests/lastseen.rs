//! `LASTSEEN:<user>` (protocol 1.1, §11): is `user` online, and if not,
//! since when. 1.3 (§27): `LASTSEEN:bob@lab2`, a user of another server,
//! as its server said it (`server::presence_across`); one nobody here
//! shares a chat with is `UNKNOWN`.

use crate::protocol::{Presence, Reply, SeenLine};
use crate::server::presence;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["LASTSEEN"], Version::V1_1, Kind::Ephemeral);

/// 1.2: `UNKNOWN` to someone `user` blocked (§22).
pub(super) fn serve(a: Asking, user: String) -> Flow {
    let user = match a.user_here(user) {
        Ok(user) => user,
        Err(ko) => return a.reply(Err(ko)),
    };
    if user.contains('@') && a.base.store.user_id(&user).is_none() {
        return a.reply(Ok(Reply::with(SeenLine { user, presence: Presence::Unknown })));
    }
    let seen = presence::last_seen(a.base, a.who.id, &user);
    a.reply(seen.map(Reply::with))
}
