//! `wachat users disable|enable NAME`: a disabled account is a record of
//! the log (`store::disabled`). The running server (a cluster's leader)
//! writes it when asked at its door (`server::operator::changes`),
//! refuses the account's next login and closes its open sessions as it
//! writes it (every node of a cluster as it applies it). With no server
//! running, the command writes it itself: into the data directory, as
//! `users add` does (`store::accounts::Accounts`), or into a cluster's
//! log with no leader (`cluster::door::PgDoor::write_unled`); the next
//! start refuses the account.

use super::reach::{OpenedDoor, ServerAt, server_runs};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::server::operator::changes::{Change, Outcome};

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
    match &door {
        OpenedDoor::Folder(_, dir) if !server_runs(dir) => {
            let mut accounts = crate::store::accounts::Accounts::open(dir)?;
            let changed = accounts.set_disabled(&account.name, on);
            return changed.map_err(|e| super::explain(e, dir, &[], |_| String::new()));
        }
        OpenedDoor::Folder(..) => {}
        #[cfg(feature = "cluster")]
        OpenedDoor::Cluster(pg) => {
            if let Some(changed) = pg.write_unled(&account.name, on).map_err(|ko| door.error(ko))? {
                return Ok(changed);
            }
        }
    }
    // A server runs there (a cluster's leader): it writes the record.
    match super::room::ask(&door, &[Change::disabled(&account.name, on)])?[..] {
        [Outcome::Unchanged] => Ok(false),
        [Outcome::Refused(ref why)] => Err(Error::Usage(why.clone())),
        _ => Ok(true),
    }
}
