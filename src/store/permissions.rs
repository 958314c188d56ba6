//! The data directory is private: it holds password hashes, e-mail
//! addresses and everyone's messages. New directories are made 0700 and new
//! files 0600 (see `disk.rs`); at start, a directory made by an older
//! version (0755 directories, 0644 files) is tightened the same way, and
//! the log says so. Only what the server makes is touched ([`is_ours`]):
//! a file someone put beside them, such as the `roster.sample.csv` that
//! the repository ships in `data/`, keeps its mode (a checkout whose file
//! modes change after the first `serve` looks modified to git).

use std::fs;
use std::path::Path;

use crate::sys::private::{mode_of, set_mode};

/// Makes `dir`, its subdirectories and their files accessible to their
/// owner only; logs what it changed.
pub fn tighten(dir: &Path) {
    let mut changed = Vec::new();
    tighten_tree(dir, 0, &mut changed);
    if !changed.is_empty() {
        let shown: Vec<String> = changed.iter().take(5).cloned().collect();
        let more = if changed.len() > 5 { format!(" and {} more", changed.len() - 5) } else { String::new() };
        log::info!(
            "store: made {} entries of {} private (directories 0700, files 0600): {}{more}",
            changed.len(),
            dir.display(),
            shown.join(", ")
        );
    }
}

fn tighten_tree(path: &Path, depth: usize, changed: &mut Vec<String>) {
    let Ok(meta) = fs::symlink_metadata(path) else { return };
    if meta.file_type().is_symlink() {
        return; // not ours to change
    }
    let Some(mode) = mode_of(&meta).map(|mode| mode & 0o777) else { return }; // no modes here
    let wanted = if meta.is_dir() { mode & 0o700 | 0o700 } else { mode & 0o600 };
    if mode != wanted {
        match set_mode(path, wanted) {
            Ok(()) => changed.push(format!("{} (was {mode:04o})", path.display())),
            Err(e) => log::warn!("store: cannot make {} private: {e}", path.display()),
        }
    }
    if meta.is_dir() && depth < 2 {
        for entry in fs::read_dir(path).into_iter().flatten().flatten() {
            // Inside the data directory, only the server's own entries;
            // below them, everything (they are all the server's).
            if depth == 0 && !entry.file_name().to_str().is_some_and(is_ours) {
                continue;
            }
            tighten_tree(&entry.path(), depth + 1, changed);
        }
    }
}

/// Whether an entry of the data directory is one the server makes: the
/// files of `local.rs`'s table, their `.tmp` while being written, and what
/// a conversion from store v1 reads or sets aside (`convert.rs`).
fn is_ours(name: &str) -> bool {
    let name = name.strip_suffix(".tmp").unwrap_or(name);
    matches!(
        name,
        "users.csv" | "server.csv" | "format.csv" | "wachat.lock" | "log" | "log.converting" // store v2
            | "history.csv" | "inbox.csv" | "rooms.csv" | "seen.csv" // store v1
    ) || name.starts_with("checkpoint-")
        || name.starts_with("v1-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_and_directories_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(data.join("log")).unwrap();
        fs::write(data.join("users.csv"), "x").unwrap();
        fs::write(data.join("log").join("0.csv"), "y").unwrap();
        for p in [&data, &data.join("log")] {
            set_mode(p, 0o755).unwrap();
        }
        set_mode(&data.join("users.csv"), 0o644).unwrap();
        tighten(&data);
        let mode = |p: &Path| mode_of(&fs::metadata(p).unwrap()).unwrap() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("log")), 0o700);
        assert_eq!(mode(&data.join("users.csv")), 0o600);
        assert_eq!(mode(&data.join("log").join("0.csv")), 0o600);
    }

    #[test]
    fn a_file_the_server_did_not_make_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        for name in ["roster.sample.csv", "users.csv", "checkpoint-7.csv.tmp"] {
            fs::write(data.join(name), "x").unwrap();
            set_mode(&data.join(name), 0o644).unwrap();
        }
        tighten(data);
        let mode = |name: &str| mode_of(&fs::metadata(data.join(name)).unwrap()).unwrap() & 0o777;
        assert_eq!(mode("roster.sample.csv"), 0o644);
        assert_eq!(mode("users.csv"), 0o600);
        assert_eq!(mode("checkpoint-7.csv.tmp"), 0o600);
    }
}
