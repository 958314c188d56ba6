//! `PASSWD:<old>:<new>` and `PASSWDKEEP:<old>:<new>` (protocol 1.2, §20):
//! a new password, the old one checked within the login limits; the other
//! devices are logged out unless kept. The steps are `server::accounts`.

use crate::protocol::Reply;
use crate::protocol::account::{PASSWD, PASSWD_KEEP};
use crate::server::accounts;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&[PASSWD, PASSWD_KEEP], Version::V1_2, Kind::Stored);

/// `PASSWD` or (`keep`) `PASSWDKEEP`.
pub(super) fn serve(s: &mut Session, who: Who, old: String, new: String, keep: bool) -> Flow {
    let me = s.asker(who);
    let changed = accounts::passwd(s.ctx, &me, &old, &new, keep);
    s.reply(changed.map(|()| Reply::Ok))
}
