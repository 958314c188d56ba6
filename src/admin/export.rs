//! `wachat users export NAME`: an administrator's copy of everything the
//! server holds about an account (a student's request under the GDPR, a
//! teacher's archive), in the JSON Lines of `wachat export --user`
//! (`src/export.rs`), which the account's owner gets over the network.
//!
//! Like `wachat users list`, it works on the data directory whether a
//! server runs on it or not:
//!
//! - **stopped**: the directory is opened as the server opens it (its
//!   lock held throughout), and the lines are read from the store
//!   ([`StoreSource`]), its devices from the log's record of them
//!   (`store::InLog`): each one's name, when it was last seen
//!   and from where, as `DEVICES` lists them (never a token's hash);
//! - **running**: it leaves the name at the server's door
//!   (`store::door::Inquiry::Export`: `export.request`, or a row of a
//!   cluster's database, `--store`); the server's operator thread (twice
//!   a second; on a cluster, the leader's) answers with the export from
//!   its own store, the same [`StoreSource`] (`export.jsonl`, or the row);
//!   this command copies it out.
//!
//! Either way the lines are the account's own requests' answers (`ROOMS`,
//! `CHATS`, `HISTORY`, `DEVICES`), so an export lists what `HISTORY`
//! returns.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::reach::OpenedDoor;
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::protocol::{DeviceLine, Presence};
use crate::server::accounts::StoreSource;
use crate::store::InLog;
use crate::store::door::Inquiry;
use crate::store::files::Files;
use crate::store::{LocalStore, StoreOptions};

/// How long a running server may take to answer (its operator thread
/// looks twice a second; a large account takes a moment to write).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// `wachat users export NAME` into `out`, the account's files into
/// `files` (1.2), from a stopped server's data directory.
pub fn export(data_dir: &Path, name: &str, out: &mut dyn Write, files: Option<&Path>) -> Result<()> {
    let options = StoreOptions { report: false, ..StoreOptions::default() };
    let store = std::sync::Arc::new(LocalStore::open(data_dir, options, Box::new(|_| {}))?);
    let no_account = || Error::Usage(tr!(Msg::NoSuchAccount, name = name));
    let account = store.account(name).ok_or_else(no_account)?;
    if account.hash.starts_with(crate::store::accounts::REMOVED) {
        return Err(no_account());
    }
    let devices = InLog::new(store.clone()).load(&account.name);
    let devices = devices
        .iter()
        .map(|d| DeviceLine {
            device: d.name.to_string(),
            presence: Presence::LastSeen(d.seen_ms),
            address: d.address,
        })
        .collect();
    // Nothing is swept here (no upload is ever stale: `Duration::MAX`).
    let stored = Files::open(data_dir, &store, u64::MAX, Duration::MAX)
        .map_err(|e| Error::io(format!("{}", data_dir.display()), e))?;
    let mut source =
        StoreSource { store: &store, user: account.id, devices, files: Some((&stored, &account.name)) };
    crate::export::write(&account.name, &mut source, out, files)
}

/// Asks the running server behind `door` for the export (see the module
/// documentation).
pub fn ask_live(door: &OpenedDoor, name: &str, out: &mut dyn Write) -> Result<()> {
    if !door.has_account(name)? {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    let lines = door.ask(Inquiry::Export, format!("{name}\n").as_bytes(), ANSWER_WITHIN)?;
    if lines.is_empty() {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    out.write_all(&lines).and_then(|()| out.flush()).map_err(|e| Error::io("export: writing", e))
}
