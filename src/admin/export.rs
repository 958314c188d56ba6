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
//!   ([`StoreSource`]), devices from `devices.csv`;
//! - **running**: it writes the name to `export.request`; the server's
//!   operator thread (twice a second) writes the export to
//!   `export.jsonl` from its own store, the same [`StoreSource`]; this
//!   command copies it out and removes it.
//!
//! Either way the lines are the account's own requests' answers (`ROOMS`,
//! `CHATS`, `HISTORY`, `DEVICES`), so an export lists what `HISTORY`
//! returns.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::protocol::{DeviceLine, Presence};
use crate::server::accounts::{EXPORT_ANSWER, EXPORT_REQUEST, StoreSource};
use crate::store::devices::DeviceBook;
use crate::store::files::Files;
use crate::store::{Backend, LocalStore, StoreOptions};

/// How long a running server may take to answer (its operator thread
/// looks twice a second; a large account takes a moment to write).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// `wachat users export NAME` into `out`, the account's files into
/// `files` (1.2) when the server is stopped.
pub fn export(data_dir: &Path, name: &str, out: &mut dyn Write, files: Option<&Path>) -> Result<()> {
    if crate::store::lock::DataLock::acquire(data_dir).is_err() {
        return ask_live(data_dir, name, out);
    }
    // The lock taken just now is let go: the store takes it again.
    let options = StoreOptions { report: false, ..StoreOptions::default() };
    let store = LocalStore::open(data_dir, options, Box::new(|_| {}))?;
    let no_account = || Error::Usage(tr!(Msg::NoSuchAccount, name = name));
    let account = store.account(name).ok().flatten().ok_or_else(no_account)?;
    if account.hash.starts_with(crate::store::accounts::REMOVED) {
        return Err(no_account());
    }
    let book = DeviceBook::load(data_dir).map_err(|e| Error::io(format!("{}", data_dir.display()), e))?;
    let devices = book
        .devices(&account.name)
        .iter()
        .map(|d| DeviceLine {
            device: d.name.to_string(),
            presence: Presence::LastSeen(d.seen_ms),
            address: d.address,
        })
        .collect();
    // Nothing is swept here (no upload is ever stale: `Duration::MAX`).
    let stored = Files::open(data_dir, u64::MAX, Duration::MAX)
        .map_err(|e| Error::io(format!("{}", data_dir.display()), e))?;
    let mut source =
        StoreSource { store: &store, user: account.id, devices, files: Some((&stored, &account.name)) };
    crate::export::write(&account.name, &mut source, out, files)
}

/// Asks the server running on `data_dir` for the export (see the module
/// documentation).
fn ask_live(data_dir: &Path, name: &str, out: &mut dyn Write) -> Result<()> {
    let known = super::live::read_accounts(data_dir)?;
    if !known.iter().any(|r| r.name.eq_ignore_ascii_case(name) && !r.removed) {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    let lines = super::live::ask_server(
        data_dir,
        EXPORT_REQUEST,
        &format!("{name}\n"),
        EXPORT_ANSWER,
        ANSWER_WITHIN,
    )?;
    if lines.is_empty() {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    out.write_all(&lines).and_then(|()| out.flush()).map_err(|e| Error::io("export: writing", e))
}
