//! Where a client keeps its files: one folder per server *and* user.
//!
//! ```text
//! <data dir>/                      --data-dir, default ~/.local/share/wachat
//!   127.0.0.1:6666/                one folder per server: host and send port
//!     ana/                         one per user (folded: Ana and ana share it)
//!       history.csv  outbox_tmp.csv  server_id  wachat.lock
//!       wachat.log                 the TUI's log while its screen is up
//!     ana@3f9c…/                   moved aside: another server had this address
//!   class.example.org:6666/
//!     ana/ …
//! ```
//!
//! Why per server: message ids are unique per *sender*, and only on one
//! server. The local log recognises a duplicate delivery by `(from, id)`,
//! so a log shared by two servers would drop a genuinely new `m1` from ana
//! on the second server as a copy of the first server's `m1`; an outbox
//! shared by two would send one server's messages to the other. Each
//! server gets its own folder, so deduplication, the outbox and the local
//! history never cross servers. (The same server reached by two names,
//! `localhost` and `127.0.0.1`, gets two folders: separate, never mixed.)
//!
//! An address is not enough, though: a fresh server at an old address
//! (every student's own is `127.0.0.1:6666`) is another server. So the
//! folder also records the id the server gave (`server_id`, protocol
//! 1.1's `SERVER`), and is moved aside to `<user>@<old id>` when the
//! server at its address is another one: see [`super::server_id`].
//!
//! The folder of a server is named `<host>:<send port>`. A `:` cannot be in
//! a user name, so it can never be mistaken for the folder of a user of the
//! layout before this one (`<data dir>/<user>/`, one folder per user for
//! every server). Such a folder is *adopted*: moved, whole, under the first
//! server it is used with, with a log line saying so.
//!
//! The files are the user's conversations: folders are created `0700` and
//! files `0600` (readable by their owner only), and a folder found with
//! looser permissions is tightened. One program at a time may use a
//! folder ([`DirLock`]): two consoles of one user on one folder would each
//! hold an outbox in memory and overwrite each other's file.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::options::Options;
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::commands::Msg::HolderPid;
use crate::i18n::tr;
use crate::protocol::names::fold;

/// Permissions of the client's folders: the owner only.
pub const DIR_MODE: u32 = 0o700;
/// Permissions of the client's files: the owner only.
pub const FILE_MODE: u32 = 0o600;

/// The folder of this user's files on this server, ready to use: created
/// (`0700`) if new, an old-layout folder of the user adopted if there is
/// one, permissions tightened. Not locked: see [`DirLock`].
pub fn prepare(options: &Options) -> Result<PathBuf> {
    let dir = options.user_dir();
    let server_dir = dir.parent().expect("a user folder is inside a server folder");
    create_private_dir(server_dir)?;
    adopt_old_layout(options, &dir)?;
    create_private_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` and its missing parents with mode `0700`; an existing
/// `dir` is made `0700` (its parents, maybe shared, are left alone).
pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
    let ctx = |e| Error::io(tr!(Msg::Creating, path = dir.display()), e);
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).map_err(ctx)?;
    let mode = fs::metadata(dir).map_err(ctx)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(ctx)?;
    }
    Ok(())
}

/// Moves `<data dir>/<user>/` (the layout before folders per server) to
/// `dir`, if it exists and `dir` does not yet: the user's history and
/// outbox go on with the first server they are used with.
fn adopt_old_layout(options: &Options, dir: &Path) -> Result<()> {
    let old = options.data_dir.join(fold(&options.user));
    let is_old_layout = ["history.csv", "outbox_tmp.csv"].iter().any(|f| old.join(f).is_file());
    if !is_old_layout || dir.exists() {
        return Ok(());
    }
    match fs::rename(&old, dir) {
        Ok(()) => {
            // Addressed to the user, who would look for the old folder.
            log::warn!(
                "{}",
                tr!(
                    Msg::AdoptedOldFolder,
                    old = old.display(),
                    new = dir.display(),
                    server = server_name(options)
                )
            );
            Ok(())
        }
        // Another program of the same user adopted it a moment ago.
        Err(_) if dir.exists() => Ok(()),
        Err(e) => Err(Error::io(tr!(Msg::Creating, path = dir.display()), e)),
    }
}

/// `127.0.0.1:6666`, as the user typed it, for messages.
pub fn server_name(options: &Options) -> String {
    if options.server.contains([',', ':']) {
        options.server.clone() // a list, or ports of its own: as typed
    } else {
        format!("{}:{}", options.server, options.send_port)
    }
}

/// Opens (or creates) a file of the client for reading and appending,
/// readable by its owner only.
pub fn open_private(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().read(true).append(true).create(true).mode(FILE_MODE).open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// The lock of a client folder, held while a client (console, bot, bridge)
/// uses it: an exclusive `flock` on `wachat.lock`, which the kernel drops
/// when the process ends, even by `kill -9`.
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` without waiting; if another program holds
    /// it, says which (its pid) and that only one may use the folder.
    pub fn acquire(dir: &Path, options: &Options) -> Result<DirLock> {
        let path = dir.join("wachat.lock");
        let ctx = |e| Error::io(tr!(Msg::Opening, path = path.display()), e);
        let file = match crate::pidlock::try_lock(&path, FILE_MODE).map_err(ctx)? {
            crate::pidlock::Locked::Held(file) => file,
            crate::pidlock::Locked::Busy(pid) => {
                let who = if pid.is_empty() { String::new() } else { tr!(HolderPid, pid = pid) };
                return Err(Error::Usage(tr!(
                    Msg::FolderInUse,
                    user = options.user,
                    server = server_name(options),
                    who = who,
                    dir = dir.display()
                )));
            }
        };
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, server: &str, port: u16) -> Options {
        let mut options = Options::new("Ana", "pw");
        options.data_dir = dir.to_path_buf();
        options.server = server.into();
        options.send_port = port;
        options
    }

    #[test]
    fn an_old_layout_folder_is_adopted_by_the_first_server_only() {
        let data = tempfile::tempdir().unwrap();
        let old = data.path().join("ana");
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("history.csv"), "kind,ts,from,to,id,state,text\n").unwrap();

        let first = prepare(&options(data.path(), "127.0.0.1", 6666)).unwrap();
        assert_eq!(first, data.path().join("127.0.0.1:6666").join("ana"));
        assert!(first.join("history.csv").is_file(), "moved, not copied");
        assert!(!old.exists());
        let second = prepare(&options(data.path(), "other", 6666)).unwrap();
        assert!(!second.join("history.csv").exists(), "another server starts empty");
        for dir in [&first, &second, &data.path().join("other:6666")] {
            assert_eq!(fs::metadata(dir).unwrap().permissions().mode() & 0o777, DIR_MODE, "{dir:?}");
        }
    }

    #[test]
    fn one_program_at_a_time_per_folder() {
        let data = tempfile::tempdir().unwrap();
        let options = options(data.path(), "127.0.0.1", 6666);
        let dir = prepare(&options).unwrap();
        let first = DirLock::acquire(&dir, &options).unwrap();
        let err = DirLock::acquire(&dir, &options).err().unwrap().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        assert!(DirLock::acquire(&dir, &options).is_ok());
    }

    #[test]
    fn files_are_private_even_if_they_were_not() {
        let data = tempfile::tempdir().unwrap();
        let path = data.path().join("f.csv");
        fs::write(&path, "x\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        open_private(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, FILE_MODE);
    }
}
