//! `users.csv`: one row per account (name, email, argon2id hash, creation
//! time), read at every start and appended to by `REGISTER` and `wachat
//! users`. Apart from `local` so that `convert` and `export`, which read
//! it too, need not name the store.

use std::collections::HashMap;
use std::path::Path;

use super::disk::{Disk, SyncPoint};
use super::record::push_field;
use super::state::State;
use crate::error::{Error, Result};
use crate::protocol::names::fold;

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
    crate::csvlog::read_rows_from(&path, &bytes, USERS_HEADER, |row| apply_row(state, row))
        .map_err(|e| e.into_error(&path))
}

/// The rows of a batch a cluster's leader committed (`store::shared_log`,
/// no header line), into `state`, as the leader applied them: a new
/// account is added; the row of a deleted name registered again is only
/// written to the file, and its `REUSE` record, which follows in the
/// batch, gives the account its new hash, as on the leader.
pub fn apply_rows(state: &mut State, rows: &[u8]) -> std::result::Result<(), String> {
    let mut file = format!("{USERS_HEADER}\n").into_bytes();
    file.extend_from_slice(rows);
    let each = |row: &csv::StringRecord| {
        let name = row.get(0).ok_or("missing the name")?;
        let hash = row.get(2).ok_or("missing the password hash")?;
        if state.user_id(name).is_none() {
            state.add_user(name, hash)?;
        }
        Ok(())
    };
    crate::csvlog::read_rows_from(Path::new("users.csv"), &file, USERS_HEADER, each).map_err(|e| match e {
        crate::csvlog::RowError::Row(line, why) => format!("users.csv row {line}: {why}"),
        crate::csvlog::RowError::Open(e) => e.to_string(),
    })
}

/// One row: a new account, or the newer row of a name registered again.
fn apply_row(state: &mut State, row: &csv::StringRecord) -> std::result::Result<(), String> {
    let name = row.get(0).ok_or("missing the name")?;
    let hash = row.get(2).ok_or("missing the password hash")?;
    match state.user_id(name) {
        // 1.2: a deleted account's name registered again (`REUSE`): its
        // newer row. The log's record, or a checkpoint, says the hash
        // that counts (the row may be of a `REUSE` a crash took back).
        Some(id) => state.users[id].hash = hash.to_string(),
        None => drop(state.add_user(name, hash)?),
    }
    Ok(())
}

/// 1.2 `DELACCOUNT` (§20): a deleted account's row in `users.csv` still
/// holds its old hash and e-mail, since the file is only appended to
/// while a server runs (the log's record is what deletes it then); and a
/// name registered again after its quarantine (`REUSE`) has a newer row
/// after the old one. A start rewrites those rows: a deleted account's
/// gets the hash [`deleted_hash`](super::state::deleted_hash) of its
/// deletion and no e-mail, and only the newest row of a name stays. The
/// whole file is replaced atomically (written aside, synced, renamed).
/// Returns how many rows it scrubbed or dropped.
pub fn scrub_deleted(disk: &dyn Disk, dir: &Path, state: &State) -> Result<usize> {
    if !state.users.iter().any(|u| u.is_deleted() || u.since > 0) {
        return Ok(0); // the common start: nothing to read again
    }
    let path = dir.join("users.csv");
    let ctx = |e| Error::io(format!("store: {} (scrubbing deleted accounts)", path.display()), e);
    let bytes = disk.read_all(&path).map_err(ctx)?;
    // Each name's newest row, at the place of its first.
    let mut rows: Vec<(String, String, String, u64)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut scrubbed = 0;
    crate::csvlog::read_rows_from(&path, &bytes, USERS_HEADER, |row| {
        let field = |i: usize| row.get(i).unwrap_or("").to_string();
        let created_ms = field(3).parse().map_err(|_| format!("{:?} is not a number", field(3)))?;
        let row = (field(0), field(1), field(2), created_ms);
        match at.get(&fold(&row.0)) {
            Some(&i) => {
                rows[i] = row;
                scrubbed += 1;
            }
            None => {
                at.insert(fold(&row.0), rows.len());
                rows.push(row);
            }
        }
        Ok(())
    })
    .map_err(|e| e.into_error(&path))?;
    let mut body = format!("{USERS_HEADER}\n").into_bytes();
    for (name, mut email, mut hash, created_ms) in rows {
        if let Some(id) = state.user_id(&name).filter(|&id| state.users[id].is_deleted()) {
            let deleted = &state.users[id].hash;
            if hash != *deleted || !email.is_empty() {
                (email, hash) = (String::new(), deleted.clone());
                scrubbed += 1;
            }
        }
        user_row(&mut body, &name, &email, &hash, created_ms);
    }
    if scrubbed > 0 {
        disk.replace(&path, &body).map_err(ctx)?;
        log::info!("store: users.csv: {scrubbed} rows of deleted accounts or reused names scrubbed");
    }
    Ok(scrubbed)
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
