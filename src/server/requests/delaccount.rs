//! `DELACCOUNT:<password>` (protocol 1.2, §20): the account deleted for
//! good, once its password is checked. The steps are `server::accounts`.

use crate::protocol::account::DELACCOUNT;
use crate::server::accounts;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&[DELACCOUNT], Version::V1_2, Kind::Stored);

/// On the `OK`, this connection closes too: the account is gone, and so
/// is its session.
pub(super) fn serve(s: &mut Session, who: Who, password: String) -> Flow {
    let me = s.asker(who);
    match accounts::delete_account(s.ctx, &me, &password) {
        Ok(()) => s.ok_and_close(),
        Err(ko) => s.refuse(ko),
    }
}
