//! `PASSWD:<old>:<new>` and `PASSWDKEEP:<old>:<new>` (protocol 1.2, §20):
//! a new password, the old one checked within the login limits; the other
//! devices are logged out unless kept. The steps are `server::accounts`.

use crate::protocol::account::{PASSWD, PASSWD_KEEP};
use crate::protocol::{Reply, Request};
use crate::server::accounts;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version, tokens};

/// Two argon2 hashes (the old password checked, the new one made), each
/// costing what a login costs; failures are also throttled as logins are.
pub(super) const ROW: Row =
    Row::new(&[PASSWD, PASSWD_KEEP], Version::V1_2, Kind::Stored, serve).costing(tokens::<20>);

fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Passwd { old, new, keep } = request else { return not_served(s, &request) };
    let me = s.asker(who);
    let changed = accounts::passwd(s.ctx, &me, &old, &new, keep);
    s.reply(changed.map(|()| Reply::Ok))
}
