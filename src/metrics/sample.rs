//! The gauges read when the metrics are scraped, not kept up to date on
//! every change: how many users are online, how many events wait in
//! inboxes, the data directory's size and the free space under it. A
//! scrape every few seconds costs a walk of the router's table and of the
//! inboxes (one lock each, briefly) and a directory listing; keeping them
//! exact on every message would cost every message.
//!
//! The sampling itself is the endpoint's (`web::metrics`), which knows
//! the server; here are the measures of the disk it uses.

use std::path::Path;

/// Bytes of the files under `dir`, `depth` levels down (the data
/// directory has two: `log/`, `invites/`). Files that vanish meanwhile
/// (a segment retention removed) count as nothing.
pub fn dir_bytes(dir: &Path, depth: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            total += meta.len();
        } else if meta.is_dir() && depth > 0 {
            total += dir_bytes(&entry.path(), depth - 1);
        }
    }
    total
}

/// Bytes an unprivileged process may still write on the file system of
/// `path` (`statvfs`: free blocks for users times the block size).
pub fn free_bytes(path: &Path) -> Option<u64> {
    fs4::available_space(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_measured_two_levels_down() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.csv"), b"12345").unwrap();
        std::fs::create_dir(dir.path().join("log")).unwrap();
        std::fs::write(dir.path().join("log/0.csv"), b"123").unwrap();
        assert_eq!(dir_bytes(dir.path(), 2), 8);
        assert_eq!(dir_bytes(dir.path(), 0), 5);
        assert!(free_bytes(dir.path()).unwrap() > 0);
        assert_eq!(dir_bytes(&dir.path().join("none"), 2), 0);
    }
}
