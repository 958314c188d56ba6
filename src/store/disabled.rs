//! Disabled accounts (`wachat users disable|enable NAME`): an
//! administrator's "not now" that works on a running server, with no
//! restart, and undoes cleanly (unlike `users remove`, which needs the
//! server stopped and is for good).
//!
//! An account is disabled while it has the setting [`DISABLED`]
//! (`store::settings`): a `SET` record of the log, applied to the one
//! `State` as every other record is, so a single server and every node
//! of a cluster know it the same way. The server writes it (the command
//! asks the running server, a cluster's leader,
//! `server::operator::changes`), or the command itself when no server
//! runs on a data directory (`store::accounts::Accounts`); the record is made by
//! `Record::disabled`, read and changed by `Store::is_disabled` and
//! `store::set_disabled`. Every login asks the state
//! (`server::auth::refuse_disabled`); the record, once written or applied
//! (a cluster's follower applies it too), closes the account's sessions
//! on that server (`state::Batch::disabled`, the router).
//!
//! A data directory kept them as the files `disabled/<name>` ([`FOLDER`])
//! before: the store's start converts them into records once
//! (`LocalStore::open`).

use std::path::Path;

use super::settings::Setting;
use crate::protocol::names::check_name;

/// The setting whose one key marks its user disabled.
pub const DISABLED: Setting = Setting {
    name: "disabled",
    most: 1,
    what: "marks of a disabled account",
    longest: crate::store::settings::MAX_VALUE,
};

/// The key of [`DISABLED`]: `@` and a word, which no user name begins
/// with (a name taken again forgets every key about it,
/// `settings::about`, and must not enable a disabled account so named).
pub const KEY: &str = "@account";

/// The value of [`KEY`] while the account is disabled.
pub const ON: &str = "yes";

/// The folder a data directory kept them in: a file a folded name.
pub const FOLDER: &str = "disabled";

/// The names a data directory's [`FOLDER`] holds (none if there is none),
/// each a valid name.
pub fn in_folder(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join(FOLDER)) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| check_name(name).is_ok())
        .collect();
    names.sort();
    names
}
