//! Which server a client folder belongs to (protocol 1.1's `SERVER`).
//!
//! A folder is named after an address (`<host>:<send port>/<user>/`, see
//! [`super::local`]), and an address does not name a server: every
//! student's own server is `127.0.0.1:6666`, and a server whose data
//! directory was deleted is a new server at the old address. Its `m1` from
//! ana is not the old server's `m1`, which the local history would take it
//! for (a duplicate, dropped); and an outbox written for the old server
//! must not go to it.
//!
//! So the folder records, in the file `server_id`, the id of the server its
//! files belong to, and every login on the send port asks the server for
//! its own (`SERVER` → `OK:<id>`, a random id the server made when its data
//! was new):
//!
//! | the folder records | the server says | then |
//! |---|---|---|
//! | `<id>` | `<id>` | nothing to do: the same server restarted, or another node of the same cluster (all nodes of a cluster share one id) |
//! | nothing | `<id>` | the folder is this server's from now on: `<id>` is recorded, and its outbox is sent |
//! | `<old>` | `<id>` | another server: the folder, outbox included, is moved aside whole to `<user>@<old>` and is **not** sent to this server; a fresh folder starts, or the folder `<user>@<id>` of an earlier visit to this server comes back. A line in the log and one [`super::Notice::ServerChanged`] say so. |
//! | anything | `KO:BAD_REQUEST` (a version-1 server), or no id | as before ids: the address names the server, and nothing is recorded |
//!
//! "Nothing recorded" is a folder made before ids, or one whose client has
//! never reached a server yet. Its outbox may hold messages typed while
//! offline at the very first start: they were written for this address,
//! and the first server met there is the one they go to, like the history
//! of a folder made before ids. (Refusing them would strand the common
//! case, a client started before its server, to guard the rare one.)
//!
//! Against a version-1 server the client keeps one more guard, in the
//! receiver: a `MSG` whose `(from, id)` is in the local log with another
//! `<ts>` is a different message (a server resends a message with its
//! original time), stored and shown, not dropped (see
//! [`super::History::add_received`]).
//!
//! `<user>@<id>`: `@` is not allowed in a user name, so such a folder is
//! never a user's; an id has only `A-Z a-z 0-9 _ -`, so it is safe on disk.

use std::fs;
use std::path::{Path, PathBuf};

use super::local::{self, DirLock};
use super::{ClientOptions, Connection};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::names::check_id;
use crate::protocol::{Code, Reply, Request};

/// The file, in the user's folder: one line, the id.
pub const FILE: &str = "server_id";

/// Asks the server at the other end of a logged-in send connection who it
/// is. `None` from a version-1 server (`KO:BAD_REQUEST`), or from one whose
/// answer is not an id (a test's fake server answers `OK` to anything).
pub fn ask(conn: &mut Connection) -> Result<Option<String>> {
    match conn.request_patiently(&Request::Server)? {
        Reply::OkWith(id) if check_id(&id).is_ok() => Ok(Some(id)),
        Reply::Ko(ko) if ko.code.closes_connection() => {
            Err(Error::Refused { request: Request::Server.to_string(), ko })
        }
        Reply::Ko(ko) if ko.code == Code::BadRequest => {
            log::debug!("SERVER: a version-1 server; its folder is named by its address only");
            Ok(None)
        }
        other => {
            log::debug!(
                "SERVER answered {:?}: no id; the folder is named by its address only",
                other.to_string()
            );
            Ok(None)
        }
    }
}

/// A folder moved aside because the server at its address is another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The address, as the user gave it (`127.0.0.1:6666`).
    pub server: String,
    /// Where the old folder is now: `…/<user>@<old id>`.
    pub aside: PathBuf,
    /// Messages its outbox holds: written for the old server, never sent
    /// to this one.
    pub unsent: usize,
    /// The folder of an earlier visit to this server came back (else the
    /// new folder started empty).
    pub restored: bool,
}

/// The folder of one device of the user on one server, locked for this
/// program.
pub struct Folder {
    pub dir: PathBuf,
    /// The device whose folder it is ([`super::device`]).
    pub device: String,
    /// Held while the program uses the folder; replaced by the new folder's
    /// when the folder is moved aside.
    lock: DirLock,
    /// The id of the server whose files the program has open (what the
    /// folder recorded when they were opened); `None`: not known.
    pub files_of: Option<String>,
}

impl Folder {
    /// The folder of `options`' user, server and device (see
    /// [`local::open`]): created if new, locked.
    pub fn open(options: &ClientOptions) -> Result<Folder> {
        Ok(Folder::from(local::open(options)?))
    }

    /// The folder of a device that exists and that no other program
    /// uses, if there is one ([`local::open_existing`]).
    pub fn open_existing(options: &ClientOptions) -> Result<Option<Folder>> {
        Ok(local::open_existing(options)?.map(Folder::from))
    }

    fn from(found: local::DeviceFolder) -> Folder {
        let files_of = recorded(&found.dir);
        Folder { dir: found.dir, device: found.device, lock: found.lock, files_of }
    }

    /// The server reached says it is `id`: records it, or moves the folder
    /// aside if it belongs to another server (see the module's table).
    /// Returns what was moved; the caller then opens the files again.
    ///
    /// Looks at what the disk records, not at [`Folder::files_of`]: after a
    /// move whose files could not be opened, a second call finds the move
    /// done and does not move again (the caller sees `files_of` still old).
    pub fn meet(&mut self, options: &ClientOptions, id: &str) -> Result<Option<Moved>> {
        let old = match recorded(&self.dir) {
            Some(old) if old == id => return Ok(None),
            Some(old) => old,
            None => {
                record(&self.dir, id)?;
                log::debug!("{}", tr!(Msg::FolderOfServer, dir = self.dir.display(), id = id));
                return Ok(None);
            }
        };
        let failed = |e| Error::io(tr!(Msg::Creating, path = self.dir.display()), e);
        let aside = free_name(&self.dir, &old);
        fs::rename(&self.dir, &aside).map_err(failed)?;
        // The folder of an earlier visit to this server, if there is one.
        let earlier = with_suffix(&self.dir, id);
        let restored = earlier.is_dir();
        let made = match restored {
            true => fs::rename(&earlier, &self.dir).map_err(failed),
            false => local::create_private_dir(&self.dir),
        };
        if let Err(e) = made {
            let _ = fs::rename(&aside, &self.dir); // as it was, if the disk lets us
            return Err(e);
        }
        // The new folder's lock; the old one (now the aside folder's) goes.
        self.lock = DirLock::acquire(&self.dir, options)?;
        record(&self.dir, id)?;
        let unsent = unsent_in(&aside);
        let moved = Moved { server: local::server_name(options), aside, unsent, restored };
        // Addressed to the user (a warning: their unsent messages moved).
        log::warn!("{}", changed_text(crate::i18n::current(), &moved));
        Ok(Some(moved))
    }
}

/// What the user reads when the folder moved aside: the console, the
/// full-screen one and the one-shot commands say the same.
pub fn changed_text(lang: crate::i18n::Lang, moved: &Moved) -> String {
    let (server, aside) = (&moved.server, moved.aside.display());
    let mut text = match moved.restored {
        false => tr!(in lang; Msg::ServerChangedFresh, server = server, aside = aside),
        true => tr!(in lang; Msg::ServerChangedRestored, server = server, aside = aside),
    };
    if moved.unsent > 0 {
        text.push_str("; ");
        text.push_str(&tr!(in lang; Msg::UnsentStayAside, n = moved.unsent));
    }
    text
}

/// The id the folder records; `None` if none (or a damaged file, which the
/// next server met replaces).
pub fn recorded(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(FILE)).ok()?;
    let id = text.trim_end();
    match check_id(id) {
        Ok(()) => Some(id.to_string()),
        Err(e) => {
            log::warn!("{}: {e}; ignored", dir.join(FILE).display());
            None
        }
    }
}

/// Writes `id` into the folder durably: a temporary file, synced, renamed
/// over the old one; a crash leaves the old id or the new, whole.
fn record(dir: &Path, id: &str) -> Result<()> {
    local::replace_private(dir, FILE, &format!("{id}\n"))
}

/// `…/ana` → `…/ana@<suffix>`.
fn with_suffix(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!("@{suffix}"));
    dir.with_file_name(name)
}

/// `…/ana@<old>`, or, should that exist already (the same old server
/// left twice), `…/ana@<old>-<unix ms>`: a move aside never overwrites.
fn free_name(dir: &Path, old: &str) -> PathBuf {
    let plain = with_suffix(dir, old);
    if !plain.exists() {
        return plain;
    }
    with_suffix(dir, &format!("{old}-{}", super::now_ms()))
}

/// How many messages wait in the outbox of the folder `dir`.
fn unsent_in(dir: &Path) -> usize {
    let path = dir.join("outbox_tmp.csv");
    if !path.is_file() {
        return 0;
    }
    super::Outbox::open(path).map_or(0, |outbox| outbox.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(data: &Path) -> ClientOptions {
        let mut options = ClientOptions::new("Ana", "pw");
        options.data_dir = data.to_path_buf();
        options.device = Some("Lab".into());
        options
    }

    fn write(dir: &Path, file: &str, text: &str) {
        fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn a_folder_is_adopted_then_kept_then_moved_aside_for_another_server() {
        let data = tempfile::tempdir().unwrap();
        let options = options(data.path());
        let mut folder = Folder::open(&options).unwrap();
        assert_eq!(folder.files_of, None);
        write(&folder.dir, "history.csv", "kind,ts,from,to,id,state,text\n");
        write(&folder.dir, "outbox_tmp.csv", "ts,to,id,text\n1,bob,m1,for the first\n");

        // First contact: adopted, outbox and all.
        assert_eq!(folder.meet(&options, "first").unwrap(), None);
        assert_eq!(recorded(&folder.dir).as_deref(), Some("first"));
        // The same server again (a restart, another node): nothing moves.
        assert_eq!(folder.meet(&options, "first").unwrap(), None);

        // Another server: the whole folder goes aside, with its outbox.
        let moved = folder.meet(&options, "second").unwrap().unwrap();
        let devices = data.path().join("127.0.0.1:6666").join("ana").join("devices");
        let aside = devices.join("lab@first");
        assert_eq!(
            moved,
            Moved { server: "127.0.0.1:6666".into(), aside: aside.clone(), unsent: 1, restored: false }
        );
        assert!(aside.join("outbox_tmp.csv").is_file() && aside.join("history.csv").is_file());
        assert_eq!(recorded(&aside).as_deref(), Some("first"));
        assert_eq!(recorded(&folder.dir).as_deref(), Some("second"));
        assert!(!folder.dir.join("outbox_tmp.csv").exists(), "the new folder starts empty");
        // The new folder is locked by us; the one aside is free.
        assert!(DirLock::acquire(&folder.dir, &options).is_err());
        assert!(DirLock::acquire(&aside, &options).is_ok());

        // Back to the first server: its folder comes back.
        let moved = folder.meet(&options, "first").unwrap().unwrap();
        assert!(moved.restored && moved.unsent == 0, "{moved:?}");
        assert!(folder.dir.join("outbox_tmp.csv").is_file(), "the first server's outbox is back");
        assert!(devices.join("lab@second").is_dir());
        assert!(!aside.exists());
    }

    #[test]
    fn a_move_aside_never_overwrites_and_a_damaged_record_is_ignored() {
        let data = tempfile::tempdir().unwrap();
        let options = options(data.path());
        let mut folder = Folder::open(&options).unwrap();
        folder.meet(&options, "a").unwrap();
        let taken = with_suffix(&folder.dir, "a");
        fs::create_dir(&taken).unwrap();
        write(&taken, "keep", "x");
        let moved = folder.meet(&options, "b").unwrap().unwrap();
        assert!(moved.aside.file_name().unwrap().to_str().unwrap().starts_with("lab@a-"), "{moved:?}");
        assert_eq!(fs::read_to_string(taken.join("keep")).unwrap(), "x");
        write(&folder.dir, FILE, "not/an id\n");
        assert_eq!(recorded(&folder.dir), None);
    }

    #[test]
    fn the_user_reads_where_the_files_went_in_each_language() {
        use crate::i18n::Lang;
        let moved =
            Moved { server: "127.0.0.1:6666".into(), aside: "/d/ana@x".into(), unsent: 2, restored: false };
        let en = changed_text(Lang::En, &moved);
        assert!(en.contains("/d/ana@x") && en.contains("2 unsent"), "{en}");
        for lang in [Lang::Es, Lang::Pt] {
            let text = changed_text(lang, &moved);
            assert!(text.contains("/d/ana@x") && text.contains('2') && text != en, "{text}");
        }
    }
}
