//! Where a client keeps its files: one folder per server, user *and*
//! device.
//!
//! ```text
//! <data dir>/                      --data-dir, default ~/.local/share/wachat
//!   127.0.0.1:6666/                one folder per server: host and send port
//!     ana/                         one per user (folded: Ana and ana share it)
//!       default_devices            the device names this machine made up for ana
//!       wachat.lock                held a moment, while a device is chosen
//!       devices/
//!         lab-pc-07-3f9c/          one per device (protocol 1.2)
//!           history.csv  outbox_tmp.csv  server_id  token  wachat.lock
//!           wachat.log             the log, while a console is up
//!         lab-pc-07-3f9c@3f9c…/    moved aside: another server had this address
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
//! Why per device: each device of an account is its own client, with its
//! own receive connection, its own outbox in memory and its own position
//! in the inbox; two consoles of one user on one machine are two devices
//! ([`super::device`] chooses which), each with its folder, and never
//! write over each other's files. A paired device's token (`token`) is
//! its own too.
//!
//! An address is not enough, though: a fresh server at an old address
//! (every student's own is `127.0.0.1:6666`) is another server. So the
//! folder also records the id the server gave (`server_id`, protocol
//! 1.1's `SERVER`), and is moved aside to `<device>@<old id>` when the
//! server at its address is another one: see [`super::server_id`].
//!
//! Two older layouts are converted on the first start that meets them,
//! with a log line saying where the files went:
//! - `<server>/<user>/history.csv …`, a folder per server and user
//!   (before devices): its files move into the folder of the device being
//!   started, which then goes on with that history and outbox;
//! - `<data dir>/<user>/`, one folder per user for every server (before
//!   folders per server): *adopted* the same way by the first server it
//!   is used with. A `:` cannot be in a user name, so a server's folder is
//!   never mistaken for it.
//!
//! The files are the user's conversations: folders are created `0700` and
//! files `0600` (readable by their owner only), and a folder found with
//! looser permissions is tightened. One program at a time may use a
//! device's folder ([`DirLock`]).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::options::ClientOptions;
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::commands::Msg::HolderPid;
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::sys::private::{Mode, open_to_others, set_mode};

/// Permissions of the client's folders: the owner only.
pub const DIR_MODE: u32 = 0o700;
pub use super::private::{FILE_MODE, replace_private};

/// The folder of one device's files, and its lock.
pub struct DeviceFolder {
    pub dir: PathBuf,
    /// The device's name: `--device`, or the default chosen
    /// ([`super::device`]).
    pub device: String,
    pub lock: DirLock,
}

/// How long a start waits for another start of the same user that is
/// choosing its device (a moment), before it says who holds the folder.
const CHOOSING_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The folder of this user's files on this server for the device of
/// `options` (`--device`, else the first default device whose folder no
/// other program holds, else a new one), created (`0700`) if new, the
/// older layouts converted into it, locked for this program.
pub fn open(options: &ClientOptions) -> Result<DeviceFolder> {
    let found = open_device(options, true)?;
    Ok(found.expect("a device may be added"))
}

/// [`open`], but never makes up a new default device: `None` if every
/// one is in use (by a running console). For the one-shot commands, which
/// only add to a free folder's log.
pub fn open_existing(options: &ClientOptions) -> Result<Option<DeviceFolder>> {
    open_device(options, false)
}

/// [`open`] without keeping the lock: where the files are, for a program
/// that opens them itself before it starts a [`super::Client`].
pub fn prepare(options: &ClientOptions) -> Result<PathBuf> {
    Ok(open(options)?.dir)
}

fn open_device(options: &ClientOptions, may_add: bool) -> Result<Option<DeviceFolder>> {
    let user_dir = options.user_dir();
    create_private_dir(&user_dir)?;
    // Held while the device is chosen and the old layout converted, so
    // two starts never take the same default device (nor both convert).
    // A wachat from before devices holds it for as long as it runs: then
    // its folder is in use, as it always was.
    let _choosing = UserLock::wait(&user_dir, options)?;
    let (device, lock) = match &options.device {
        Some(device) => {
            let dir = options.device_dir(device);
            create_private_dir(&dir)?;
            (device.clone(), DirLock::acquire_device(&dir, options, device)?)
        }
        None => match free_default(options, &user_dir, may_add)? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let dir = options.device_dir(&device);
    convert_user_folder(&user_dir, &dir, &device)?;
    adopt_old_layout(options, &dir)?;
    Ok(Some(DeviceFolder { dir, device, lock }))
}

/// The first kept default device whose folder is free, locked; or, if
/// none is (and `may_add`), a new one, kept.
fn free_default(
    options: &ClientOptions,
    user_dir: &Path,
    may_add: bool,
) -> Result<Option<(String, DirLock)>> {
    for device in super::device::kept(user_dir) {
        let dir = options.device_dir(&device);
        create_private_dir(&dir)?;
        if let Some(lock) = DirLock::try_acquire(&dir)? {
            return Ok(Some((device, lock)));
        }
    }
    if !may_add {
        return Ok(None);
    }
    let device = super::device::new_name()?;
    super::device::keep(user_dir, &device)?;
    let dir = options.device_dir(&device);
    create_private_dir(&dir)?;
    Ok(Some((device.clone(), DirLock::acquire_device(&dir, options, &device)?)))
}

/// Moves the files of a folder of the layout before devices
/// (`<server>/<user>/history.csv …`) into the device's folder `to`.
fn convert_user_folder(user_dir: &Path, to: &Path, device: &str) -> Result<()> {
    let is_old = ["history.csv", "outbox_tmp.csv", "server_id"].iter().any(|f| user_dir.join(f).is_file());
    if !is_old {
        return Ok(());
    }
    move_files(user_dir, to, &["wachat.lock", super::device::DEFAULTS_FILE])?;
    // Addressed to the user, who would look for the old files.
    log::warn!(
        "{}",
        tr!(Msg::ConvertedFolder, dir = user_dir.display(), new = to.display(), device = device)
    );
    Ok(())
}

/// Moves every file of `from` but those named in `keep` into `to`, one
/// rename each (so each file is whole in one place or the other); a file
/// that `to` already has is left where it is. Folders stay.
///
/// A crash halfway leaves some files moved: the next start finds the
/// rest still there and moves them too.
fn move_files(from: &Path, to: &Path, keep: &[&str]) -> Result<()> {
    let failed = |e| Error::io(tr!(Msg::Creating, path = to.display()), e);
    for entry in fs::read_dir(from).map_err(failed)? {
        let entry = entry.map_err(failed)?;
        let name = entry.file_name();
        if keep.iter().any(|k| name == *k) || !entry.file_type().map_err(failed)?.is_file() {
            continue;
        }
        let target = to.join(&name);
        if target.exists() {
            log::warn!("{}: {} exists; left as it was", entry.path().display(), target.display());
            continue;
        }
        fs::rename(entry.path(), target).map_err(failed)?;
    }
    crate::sys::disk::sync_dir(to).map_err(failed)?;
    crate::sys::disk::sync_dir(from).map_err(failed)
}

/// Creates `dir` and its missing parents with mode `0700`; an existing
/// `dir` is made `0700` (its parents, maybe shared, are left alone).
pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
    let ctx = |e| Error::io(tr!(Msg::Creating, path = dir.display()), e);
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).map_err(ctx)?;
    if open_to_others(&fs::metadata(dir).map_err(ctx)?) {
        set_mode(dir, DIR_MODE).map_err(ctx)?;
    }
    Ok(())
}

/// Moves the files of `<data dir>/<user>/` (the layout before folders
/// per server) into the device's folder `dir`, if it has any and `dir`
/// has none yet: the user's history and outbox go on with the first
/// server (and device) they are used with.
fn adopt_old_layout(options: &ClientOptions, dir: &Path) -> Result<()> {
    let old = options.data_dir.join(fold(&options.user));
    let has_files = |d: &Path| ["history.csv", "outbox_tmp.csv"].iter().any(|f| d.join(f).is_file());
    if !has_files(&old) || has_files(dir) {
        return Ok(());
    }
    move_files(&old, dir, &["wachat.lock"])?;
    // Empty now but for its lock, unless another program holds it.
    let _ = fs::remove_file(old.join("wachat.lock"));
    let _ = fs::remove_dir(&old);
    // Addressed to the user, who would look for the old folder.
    log::warn!(
        "{}",
        tr!(Msg::AdoptedOldFolder, old = old.display(), new = dir.display(), server = server_name(options))
    );
    Ok(())
}

/// `127.0.0.1:6666`, as the user typed it, for messages.
pub fn server_name(options: &ClientOptions) -> String {
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
    if open_to_others(&file.metadata()?) {
        set_mode(path, FILE_MODE)?;
    }
    Ok(file)
}

/// The client's log file in a device's folder, while a console is up.
pub const LOG_FILE: &str = "wachat.log";

/// Sends the log to [`LOG_FILE`] in `folder` (appended to, private like
/// the folder's other files) until [`crate::display::log_to_file`] is
/// given `None`; returns its path. Both consoles do it while they run: a
/// log line is for whoever reads the file, never printed among the
/// messages (nor drawn over the full screen). If the file cannot be
/// opened, the log is dropped rather than printed there.
pub fn log_into(folder: &Path) -> PathBuf {
    let path = folder.join(LOG_FILE);
    let file =
        open_private(&path).or_else(|_| OpenOptions::new().write(true).open(crate::sys::places::NULL_DEVICE));
    crate::display::log_to_file(file.ok());
    path
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
    pub fn acquire(dir: &Path, options: &ClientOptions) -> Result<DirLock> {
        let device = options.device.as_deref().unwrap_or(crate::protocol::DEFAULT_DEVICE);
        Self::acquire_device(dir, options, device)
    }

    /// [`DirLock::acquire`] of the folder of `device`.
    fn acquire_device(dir: &Path, options: &ClientOptions, device: &str) -> Result<DirLock> {
        match lock_file(dir)? {
            crate::pidlock::Locked::Held(file) => Ok(DirLock { _file: file }),
            crate::pidlock::Locked::Busy(pid) => Err(Error::Usage(tr!(
                Msg::DeviceInUse,
                user = options.user,
                server = server_name(options),
                device = device,
                who = holder(&pid),
                dir = dir.display()
            ))),
        }
    }

    /// The lock of `dir` if no other program holds it.
    fn try_acquire(dir: &Path) -> Result<Option<DirLock>> {
        Ok(match lock_file(dir)? {
            crate::pidlock::Locked::Held(file) => Some(DirLock { _file: file }),
            crate::pidlock::Locked::Busy(_) => None,
        })
    }
}

fn lock_file(dir: &Path) -> Result<crate::pidlock::Locked> {
    let path = dir.join("wachat.lock");
    crate::pidlock::try_lock(&path, FILE_MODE)
        .map_err(|e| Error::io(tr!(Msg::Opening, path = path.display()), e))
}

/// ` (pid 4242)`, or nothing if the holder did not say.
fn holder(pid: &str) -> String {
    if pid.is_empty() { String::new() } else { tr!(HolderPid, pid = pid) }
}

/// The user folder's lock (`<server>/<user>/wachat.lock`), held while a
/// start chooses its device: the lock a wachat from before devices held
/// for its whole run.
struct UserLock {
    _file: File,
}

impl UserLock {
    /// Waits up to [`CHOOSING_WAIT`] for another start to choose its
    /// device; a holder that keeps it longer is a wachat from before
    /// devices using the folder, and is named.
    fn wait(user_dir: &Path, options: &ClientOptions) -> Result<UserLock> {
        let deadline = std::time::Instant::now() + CHOOSING_WAIT;
        loop {
            match lock_file(user_dir)? {
                crate::pidlock::Locked::Held(file) => return Ok(UserLock { _file: file }),
                crate::pidlock::Locked::Busy(pid) if std::time::Instant::now() >= deadline => {
                    return Err(Error::Usage(tr!(
                        Msg::FolderInUse,
                        user = options.user,
                        server = server_name(options),
                        who = holder(&pid),
                        dir = user_dir.display()
                    )));
                }
                crate::pidlock::Locked::Busy(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::private::mode_of;

    fn options(dir: &Path, server: &str, port: u16) -> ClientOptions {
        let mut options = ClientOptions::new("Ana", "pw");
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

        let first = open(&options(data.path(), "127.0.0.1", 6666)).unwrap();
        let devices = data.path().join("127.0.0.1:6666").join("ana").join("devices");
        assert_eq!(first.dir, devices.join(fold(&first.device)));
        assert!(first.dir.join("history.csv").is_file(), "moved, not copied");
        assert!(!old.exists());
        let second = prepare(&options(data.path(), "other", 6666)).unwrap();
        assert!(!second.join("history.csv").exists(), "another server starts empty");
        for dir in [&first.dir, &second, &data.path().join("other:6666")] {
            assert_eq!(mode_of(&fs::metadata(dir).unwrap()).unwrap() & 0o777, DIR_MODE, "{dir:?}");
        }
    }

    #[test]
    fn a_folder_from_before_devices_becomes_the_first_devices() {
        let data = tempfile::tempdir().unwrap();
        let user = data.path().join("127.0.0.1:6666").join("ana");
        fs::create_dir_all(&user).unwrap();
        fs::write(user.join("history.csv"), "h\n").unwrap();
        fs::write(user.join("outbox_tmp.csv"), "o\n").unwrap();
        fs::write(user.join("server_id"), "abc\n").unwrap();
        let mut options = options(data.path(), "127.0.0.1", 6666);
        options.device = Some("Lab".into());
        let folder = open(&options).unwrap();
        assert_eq!(folder.dir, user.join("devices").join("lab"));
        for (file, text) in [("history.csv", "h\n"), ("outbox_tmp.csv", "o\n"), ("server_id", "abc\n")] {
            assert_eq!(fs::read_to_string(folder.dir.join(file)).unwrap(), text);
            assert!(!user.join(file).exists(), "{file} moved");
        }
        // A second device starts empty, and nothing is converted twice.
        options.device = Some("laptop".into());
        let laptop = open(&options).unwrap();
        assert!(!laptop.dir.join("history.csv").exists());
    }

    #[test]
    fn a_default_device_is_kept_and_a_second_console_gets_a_second_one() {
        let data = tempfile::tempdir().unwrap();
        let options = options(data.path(), "127.0.0.1", 6666);
        let first = open(&options).unwrap();
        let second = open(&options).unwrap();
        assert_ne!(first.device, second.device, "the first one's folder is in use");
        let user = options.user_dir();
        assert_eq!(super::super::device::kept(&user), [first.device.clone(), second.device.clone()]);
        // Both closed: the next start is the first device again, and a
        // one-shot command finds no free device while both run.
        let (first_name, second_name) = (first.device.clone(), second.device.clone());
        assert!(open_existing(&options).unwrap().is_none());
        drop((first, second));
        let again = open(&options).unwrap();
        assert_eq!(again.device, first_name);
        assert_eq!(open_existing(&options).unwrap().unwrap().device, second_name);
    }

    #[test]
    fn one_program_at_a_time_per_device_folder() {
        let data = tempfile::tempdir().unwrap();
        let mut options = options(data.path(), "127.0.0.1", 6666);
        options.device = Some("lab".into());
        let first = open(&options).unwrap();
        let err = open(&options).err().unwrap().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())) && err.contains("lab"), "{err}");
        drop(first);
        assert!(open(&options).is_ok());
    }

    #[test]
    fn files_are_private_even_if_they_were_not() {
        let data = tempfile::tempdir().unwrap();
        let path = data.path().join("f.csv");
        fs::write(&path, "x\n").unwrap();
        set_mode(&path, 0o644).unwrap();
        open_private(&path).unwrap();
        assert_eq!(mode_of(&fs::metadata(&path).unwrap()).unwrap() & 0o777, FILE_MODE);
    }
}
