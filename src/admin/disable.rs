//! `wachat users disable|enable NAME`: a disabled account is a record of
//! the log (`store::disabled`). The running server (a cluster's leader)
//! writes it when asked at its door, as it makes the changes of `users
//! add` (`admin::room::ask`, answered by `server::operator::changes`),
//! refuses the account's next login and closes its open sessions as it
//! writes it (every node of a cluster as it applies it). With no server
//! running on a data directory, the command writes it there itself, as
//! `users add` does (`store::accounts::Accounts`); the next start refuses
//! the account. A cluster's log is written by its leader alone: with no
//! node running, the command says so after its wait, and nothing is
//! written.

use super::reach::{OpenedDoor, ServerAt, server_runs};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::server::operator::changes::{AccountChange, Applied};

/// `users disable` (`on`) or `users enable`, at a data directory or a
/// cluster's database: true if it changed anything.
pub fn set_disabled(at: &ServerAt, name: &str, on: bool) -> Result<bool> {
    if crate::protocol::names::check_name(name).is_err() {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    let door = OpenedDoor::open(at)?;
    let account = door.accounts()?.into_iter().find(|r| r.name.eq_ignore_ascii_case(name) && !r.removed);
    let Some(account) = account else {
        return match on {
            true => Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name))),
            false => Ok(false),
        };
    };
    if let OpenedDoor::Folder(_, dir) = &door
        && !server_runs(dir)
    {
        let mut accounts = crate::store::accounts::Accounts::open(dir)?;
        let changed = accounts.set_disabled(&account.name, on);
        return changed.map_err(|e| super::explain(e, dir, &[], |_| String::new()));
    }
    // A server runs there, or a cluster's nodes may: it (the leader)
    // writes the record; unanswered, the command fails.
    match super::room::ask(&door, &[AccountChange::disabled(&account.name, on)])?[..] {
        [Applied::Unchanged] => Ok(false),
        [Applied::Refused(ref why)] => Err(Error::Usage(why.clone())),
        _ => Ok(true),
    }
}
