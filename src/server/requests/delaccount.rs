//! `DELACCOUNT:<password>` (protocol 1.2, §20): the account deleted for
//! good, once its password is checked. The steps are `server::accounts`.

use crate::protocol::Request;
use crate::protocol::account::DELACCOUNT;
use crate::server::accounts;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version, tokens};

/// One argon2 check, as a login.
pub(super) const ROW: Row = Row::new(&[DELACCOUNT], Version::V1_2, Kind::Stored, serve).costing(tokens::<10>);

/// On the `OK`, this connection closes too: the account is gone, and so
/// is its session.
fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::DelAccount { password } = request else { return not_served(s, &request) };
    let me = s.asker(who);
    match accounts::delete_account(s.ctx, &me, &password) {
        Ok(()) => s.ok_and_close(),
        Err(ko) => s.refuse(ko),
    }
}
