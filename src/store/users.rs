//! `users.csv`: one row per account (name, email, argon2id hash, creation
//! time), read at every start and appended to by `REGISTER` and `wachat
//! users`. Apart from `local` so that `convert` and `export`, which read
//! it too, need not name the store.

use std::path::Path;

use super::disk::{Disk, SyncPoint};
use super::record::push_field;
use super::state::State;
use crate::error::{Error, Result};

/// The header of `users.csv`.
pub const USERS_HEADER: &str = "name,email,password_hash,created_ms";

/// Reads the accounts of `users.csv` (creating it if missing, and cutting
/// a torn last line) into `state`.
pub fn load_users(disk: &dyn Disk, dir: &Path, state: &mut State) -> Result<()> {
    let path = dir.join("users.csv");
    let ctx = |e| Error::io(format!("store: {}", path.display()), e);
    if !disk.exists(&path) {
        let mut file = disk.open_append(&path).map_err(ctx)?;
        file.append(format!("{USERS_HEADER}\n").as_bytes()).map_err(ctx)?;
        file.sync(SyncPoint::Users).map_err(ctx)?;
        disk.sync_dir(dir, SyncPoint::DataDir).map_err(ctx)?;
    }
    let mut bytes = disk.read_all(&path).map_err(ctx)?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        log::warn!(
            "store: {}: dropped a torn last line ({} bytes) left by a crash",
            path.display(),
            bytes.len() - complete
        );
        let mut file = disk.open_append(&path).map_err(ctx)?;
        file.truncate(complete as u64).map_err(ctx)?;
        bytes.truncate(complete);
    }
    crate::csvlog::read_rows_from(&path, &bytes, USERS_HEADER, |row| {
        let name = row.get(0).ok_or("missing the name")?;
        let hash = row.get(2).ok_or("missing the password hash")?;
        state.add_user(name, hash).map(drop)
    })
    .map_err(|e| e.into_error(&path))
}

/// A `users.csv` row for a new account.
pub fn user_row(out: &mut Vec<u8>, name: &str, email: &str, hash: &str, created_ms: u64) {
    for (i, field) in [name, email, hash, &created_ms.to_string()].iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_field(out, field);
    }
    out.push(b'\n');
}
