//! The server's identity: a random id, made at the data directory's first
//! start and kept in `server.csv`, which protocol 1.1's `SERVER` request
//! answers (docs/PROTOCOL.md §11).
//!
//! Why: a client keeps its files (its history, which recognises a message
//! it already has by `(from, id)`, and its outbox) per server, and an
//! address does not name a server. Every student's own server is
//! `127.0.0.1:6666`; a data directory deleted and started again is a new
//! server at the old address, whose `m1` from ana is not the old one's. The
//! id names the *data*: a restart on the same directory keeps it, a fresh
//! directory gets a new one, and the client moves its old folder aside when
//! the id it meets is not the one it recorded (`client/server_id.rs`).
//!
//! The file is CSV like the others, one row under its header:
//!
//! ```text
//! id,created_ms
//! 3f9c0d2a7b1e4c55a0e9d1f2b3c4d5e6,1795246940612
//! ```
//!
//! A data directory from before the id (or a converted one of the first
//! layout) gets one at its next start. A cluster keeps its id in the
//! database instead (its `server` row, `cluster/schema.sql`), one for all its nodes;
//! `wachat migrate` carries a data directory's id into the cluster.

use std::path::Path;

use super::disk::Disk;
use crate::error::{Error, Result};

/// The file, in the data directory.
pub const FILE: &str = "server.csv";
const HEADER: &str = "id,created_ms";

/// Random bytes in an id: 128 bits, written as 32 lowercase hex digits.
const ID_BYTES: usize = 16;

/// The data directory's id, made (and written durably) if it has none yet.
pub fn load_or_create(disk: &dyn Disk, dir: &Path) -> Result<String> {
    if let Some(id) = read(disk, dir)? {
        return Ok(id);
    }
    let id = make()?;
    let path = dir.join(FILE);
    let row = format!("{HEADER}\n{id},{}\n", super::now_ms());
    // Written whole and synced, then renamed into place: a crash leaves no
    // file (a new id at the next start, which no client can have seen) or
    // this one, never half of it.
    disk.replace(&path, row.as_bytes()).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    log::info!(
        "store: a new data directory, so a new server: its id is {id} (SERVER says it, and clients \
         tell this server from another at the same address by it; in {})",
        path.display()
    );
    Ok(id)
}

/// Gives the data directory the id `id` (a cluster's node: every node
/// is the one server the cluster is, `store::shared_log`).
pub fn write(disk: &dyn Disk, dir: &Path, id: &str, created_ms: u64) -> Result<()> {
    let path = dir.join(FILE);
    let row = format!("{HEADER}\n{id},{created_ms}\n");
    disk.replace(&path, row.as_bytes()).map_err(|e| Error::io(format!("store: {}", path.display()), e))
}

/// The data directory's id; `None` if it has none yet.
pub fn read(disk: &dyn Disk, dir: &Path) -> Result<Option<String>> {
    let path = dir.join(FILE);
    if !disk.exists(&path) {
        return Ok(None);
    }
    let bytes = disk.read_all(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    let mut id = None;
    crate::csvlog::read_rows_from(&path, &bytes, HEADER, |row| {
        let found = row.get(0).unwrap_or_default();
        crate::protocol::names::check_id(found).map_err(|e| format!("bad server id {found:?}: {e}"))?;
        if id.replace(found.to_string()).is_some() {
            return Err("more than one server id".into());
        }
        Ok(())
    })
    .map_err(|e| e.into_error(&path))?;
    match id {
        Some(id) => Ok(Some(id)),
        None => Err(Error::Corrupt {
            path,
            line: 2,
            reason: "no server id (remove the file to give this data directory a new identity)".into(),
        }),
    }
}

/// A new random id: 32 lowercase hex digits.
pub fn make() -> Result<String> {
    let mut bytes = [0u8; ID_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::io("store: making the server id", std::io::Error::other(e.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::disk::RealDisk;

    #[test]
    fn an_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&RealDisk, dir.path()).unwrap(), None);
        let id = load_or_create(&RealDisk, dir.path()).unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
        assert_eq!(load_or_create(&RealDisk, dir.path()).unwrap(), id, "a restart keeps it");
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_or_create(&RealDisk, other.path()).unwrap(), id, "a fresh directory gets its own");
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.starts_with(&format!("{HEADER}\n{id},")), "{text}");
    }

    #[test]
    fn a_damaged_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["id,created_ms\n", "id,created_ms\nno/slash,1\n", "id,created_ms\na,1\nb,2\n", "x\n"] {
            std::fs::write(dir.path().join(FILE), bad).unwrap();
            let err = load_or_create(&RealDisk, dir.path()).unwrap_err().to_string();
            assert!(err.contains(FILE), "{bad:?}: {err}");
        }
    }
}
