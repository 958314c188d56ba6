//! A lock file that names its holder: an exclusive lock (`File::try_lock`:
//! `flock` on Unix, `LockFileEx` on Windows) on a file that holds the pid
//! of the process that took it.
//!
//! Shared by the server's data directory ([`crate::store::lock`]) and the
//! client's folders ([`crate::client::local`]): in both, one process at a
//! time may own the files, and the one refused is told who holds them. The
//! kernel drops the lock when the process ends, even by `kill -9`, so a
//! stale lock file never blocks anyone. (Windows keeps others from
//! reading a locked file: there the one refused is not told the pid.)

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::sys::private::Mode;

/// What [`try_lock`] found.
pub enum Locked {
    /// The lock is ours while this file stays open.
    Held(File),
    /// Another process holds it: its pid as it wrote it (may be empty).
    Busy(String),
}

/// Takes the lock on `path` without waiting, creating the file with `mode`
/// if needed, and writes our pid into it.
pub fn try_lock(path: &Path, mode: u32) -> io::Result<Locked> {
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(mode).open(path)?;
    if file.try_lock().is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Ok(Locked::Busy(holder.trim().to_string()));
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    // A text file like any other: one line, ended by its newline.
    file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
    Ok(Locked::Held(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_is_one_line_with_our_pid_and_a_second_taker_is_told_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wachat.lock");
        let Locked::Held(_held) = try_lock(&path, 0o600).unwrap() else { panic!("not taken") };
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        // flock is per open file: a second open in the same process is refused.
        match try_lock(&path, 0o600).unwrap() {
            Locked::Busy(holder) => assert_eq!(holder, std::process::id().to_string()),
            Locked::Held(_) => panic!("taken twice"),
        }
    }
}
