//! Class accounts, edited in a data directory while no server runs on it:
//! what `wachat users add|list|remove|passwd|import` do underneath.
//!
//! A teacher prepares the accounts of a class before the server runs (and
//! hands out passwords), so this works on the files, not over the network.
//! Three rules keep the directory one the server can load:
//!
//! 1. The [`DataLock`] is held from the first read to the last write: a
//!    running server holds it too, so its files are never edited under its
//!    feet, and two teachers' commands cannot interleave.
//! 2. Everything is loaded first with the server's own code
//!    ([`State::apply`] on every row): a directory the server could not
//!    load is refused, not edited, and every name is checked against the
//!    accounts exactly as the server would (ignoring case).
//! 3. A file is replaced whole and atomically ([`replace_file`]): written
//!    to `users.csv.tmp`, fsynced, renamed over `users.csv`, and the
//!    directory fsynced. A crash leaves the old file or the new one, never
//!    half of one. `users.csv` is replaced before `rooms.csv`, because a
//!    `JOIN` row names a user: a crash between the two can leave new
//!    accounts outside `#general` (they can still `JOIN` it), never a
//!    row that names a user who does not exist.
//!
//! ## Removing an account
//!
//! `history.csv` and `rooms.csv` name users in their rows, and the server
//! refuses to start on a row that names an unknown user, so deleting a row
//! of `users.csv` would make the directory unloadable. A removed account's
//! row therefore stays, *disabled*: its hash gets a `!` in front (the way
//! `passwd -l` locks a Unix account in `/etc/shadow`). `!$argon2id$…` is not
//! a hash, so every `LOGIN` as that user fails; the conversations that name
//! it still load and read right; the name stays taken, so nobody else can
//! register it and inherit its history. `LEAVE` rows take it out of every
//! room, so room messages stop piling up in its inbox. Direct messages to it
//! are still accepted by the server (it answers `OK`, and they wait unread):
//! the server's behaviour is the same for every account it knows.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::csv_backend::{self, HISTORY_HEADER, ROOMS_HEADER, USERS_HEADER};
use super::lock::DataLock;
use super::record::Record;
use super::state::State;
use super::{GENERAL, now_ms};
use crate::error::{Error, Result};
use crate::i18n::client::check_user;
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::protocol::request::check_email;

/// What goes in front of a removed account's hash (see the module docs).
pub const REMOVED: &str = "!";

/// One row of `users.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub email: String,
    /// The argon2id PHC string, or `!` and the old one once removed.
    pub hash: String,
    pub created_ms: u64,
}

impl Account {
    pub fn is_removed(&self) -> bool {
        self.hash.starts_with(REMOVED)
    }
}

/// An account to create: its password is already hashed (hashing is slow,
/// so the caller does it after every name has been checked).
pub struct NewAccount {
    pub name: String,
    pub email: String,
    pub hash: String,
}

/// The accounts of a data directory, locked against any server.
///
/// After a method returns an error, drop it: its memory may be ahead of
/// the files (open it again to see what is on disk).
pub struct Accounts {
    /// Held until this is dropped: no server starts on the directory meanwhile.
    _lock: DataLock,
    dir: PathBuf,
    /// The rows of `users.csv`, in file order (which is rewritten whole).
    accounts: Vec<Account>,
    /// `rooms.csv` as it is, complete lines only: new rows are added at its end.
    rooms_csv: Vec<u8>,
    /// Everything the server would load, to look names and rooms up.
    state: State,
}

impl Accounts {
    /// Locks `dir` (creating it if needed) and loads it.
    pub fn open(dir: &Path) -> Result<Accounts> {
        let lock = DataLock::acquire(dir)?;
        let mut state = State::default();
        let mut accounts = Vec::new();
        let users = read_log(&dir.join("users.csv"), USERS_HEADER)?;
        each_row(&dir.join("users.csv"), &users, |row| {
            let record = csv_backend::parse_user(row)?;
            state.apply(&record)?;
            if let Record::User { name, email, hash, created_ms } = record {
                accounts.push(Account { name, email, hash, created_ms });
            }
            Ok(())
        })?;
        let rooms_csv = read_log(&dir.join("rooms.csv"), ROOMS_HEADER)?;
        each_row(&dir.join("rooms.csv"), &rooms_csv, |row| state.apply(&csv_backend::parse_room(row)?))?;
        // Only to know how many messages #general holds (where a new member
        // starts reading) and to refuse a directory the server would refuse.
        let history_path = dir.join("history.csv");
        let history = read_log(&history_path, HISTORY_HEADER)?;
        each_row(&history_path, &history, |row| state.apply(&csv_backend::parse_history(row)?))?;
        Ok(Accounts { _lock: lock, dir: dir.to_path_buf(), accounts, rooms_csv, state })
    }

    /// Every account, removed ones included, in the order they were made.
    pub fn list(&self) -> &[Account] {
        &self.accounts
    }

    /// The account called `name`, ignoring case (as logins do).
    pub fn find(&self, name: &str) -> Option<&Account> {
        let key = fold(name);
        self.accounts.iter().find(|a| fold(&a.name) == key)
    }

    /// What is wrong with creating these `(name, email)` accounts: one line
    /// per problem, starting with `label(i)` for the `i`-th account (a
    /// roster says `line 7`). Empty when all of them can be made.
    pub fn problems(&self, new: &[(&str, &str)], label: impl Fn(usize) -> String) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, &(name, email)) in new.iter().enumerate() {
            let mut report = |why: String| problems.push(format!("{}: {why}", label(i)));
            // The same rules as the server's, in the teacher's words.
            if let Err(why) = check_user(crate::i18n::current(), name) {
                report(why);
                continue;
            }
            if check_email(email).is_err() {
                report(tr!(Msg::BadEmail, email = format!("{email:?}")));
            }
            match self.find(name) {
                Some(a) if a.is_removed() => report(tr!(Msg::WasRemovedTaken, name = a.name)),
                Some(a) => report(tr!(Msg::AlreadyHasAccount, name = a.name)),
                None => {}
            }
            match seen.iter().find(|(key, _)| *key == fold(name)) {
                Some(&(_, first)) => report(tr!(Msg::Twice, name = name, other = label(first))),
                None => seen.push((fold(name), i)),
            }
        }
        problems
    }

    /// Creates the accounts, each a member of `#general` (the rows the
    /// server's `REGISTER` writes), all or none.
    pub fn add(&mut self, new: Vec<NewAccount>) -> Result<()> {
        let names: Vec<(&str, &str)> = new.iter().map(|n| (n.name.as_str(), n.email.as_str())).collect();
        let problems = self.problems(&names, |i| names[i].0.to_string());
        if !problems.is_empty() {
            return Err(Error::Usage(tr!(Msg::NothingAdded, problems = problems.join("; "))));
        }
        let mut joins = Vec::new();
        for account in new {
            let ts = self.state.next_ts(now_ms());
            let NewAccount { name, email, hash } = account;
            let user = Record::User { name: name.clone(), email, hash, created_ms: ts };
            self.state.apply(&user).map_err(|e| self.bug(e))?;
            let pos = self.state.room_id(GENERAL).map_or(0, |r| self.state.room_len(r));
            let join = Record::Join { ts, user: name, room: GENERAL.into(), pos };
            self.state.apply(&join).map_err(|e| self.bug(e))?;
            if let Record::User { name, email, hash, created_ms } = user {
                self.accounts.push(Account { name, email, hash, created_ms });
            }
            joins.push(join);
        }
        self.write_users()?;
        self.write_rooms(&joins)
    }

    /// Gives an account a new password hash.
    pub fn set_password(&mut self, name: &str, hash: String) -> Result<()> {
        let i = self.active(name)?;
        self.accounts[i].hash = hash;
        self.write_users()
    }

    /// Disables an account and takes it out of its rooms (see the module
    /// docs for why its row stays).
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let i = self.active(name)?;
        let name = self.accounts[i].name.clone();
        self.accounts[i].hash = format!("{REMOVED}{}", self.accounts[i].hash);
        let user = self.state.user_id(&name).ok_or_else(|| self.bug(format!("{name} not loaded")))?;
        let rooms: Vec<String> =
            self.state.rooms_of(user).map(|r| self.state.rooms[r].name.to_string()).collect();
        let mut leaves = Vec::new();
        for room in rooms {
            let ts = self.state.next_ts(now_ms());
            let leave = Record::Leave { ts, user: name.clone(), room };
            self.state.apply(&leave).map_err(|e| self.bug(e))?;
            leaves.push(leave);
        }
        self.write_users()?;
        self.write_rooms(&leaves)
    }

    /// The index of the account `name`, which must exist and not be removed.
    fn active(&self, name: &str) -> Result<usize> {
        let key = fold(name);
        match self.accounts.iter().position(|a| fold(&a.name) == key) {
            None => Err(Error::Usage(tr!(Msg::NoAccountIn, name = name, dir = self.dir.display()))),
            Some(i) if self.accounts[i].is_removed() => {
                Err(Error::Usage(tr!(Msg::WasRemoved, name = self.accounts[i].name)))
            }
            Some(i) => Ok(i),
        }
    }

    /// A record the state refused although every name was checked: a bug.
    fn bug(&self, reason: String) -> Error {
        Error::Corrupt { path: self.dir.clone(), line: 0, reason }
    }

    fn write_users(&self) -> Result<()> {
        let mut out = csv_backend::csv_writer();
        for a in &self.accounts {
            csv_backend::write_row(&mut out, &[&a.name, &a.email, &a.hash, &a.created_ms.to_string()]);
        }
        let body = [format!("{USERS_HEADER}\n").into_bytes(), csv_backend::finish(out)].concat();
        replace_file(&self.dir.join("users.csv"), &body, 0o644)
    }

    /// Adds `JOIN`/`LEAVE` rows at the end of `rooms.csv`, in the server's format.
    fn write_rooms(&mut self, records: &[Record]) -> Result<()> {
        let mut out = csv_backend::csv_writer();
        for record in records {
            match record {
                Record::Join { ts, user, room, pos } => {
                    csv_backend::write_row(&mut out, &["JOIN", &ts.to_string(), user, room, &pos.to_string()])
                }
                Record::Leave { ts, user, room } => {
                    csv_backend::write_row(&mut out, &["LEAVE", &ts.to_string(), user, room, ""])
                }
                _ => {}
            }
        }
        let rows = csv_backend::finish(out);
        if rows.is_empty() {
            return Ok(());
        }
        self.rooms_csv.extend_from_slice(&rows);
        replace_file(&self.dir.join("rooms.csv"), &self.rooms_csv, 0o644)
    }
}

/// Replaces `path` with `bytes` atomically: a temporary file next to it,
/// fsynced, renamed over it, then the directory fsynced (so the rename
/// itself survives a crash). An existing file keeps its permissions; a new
/// one gets `mode` (less what the umask takes away).
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!("{name}.tmp"));
    let existing = fs::metadata(path).ok().map(|m| m.permissions());
    let write = || -> std::io::Result<()> {
        // A temporary file left by a crash may have other permissions.
        let _ = fs::remove_file(&tmp);
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        if let Some(permissions) = &existing {
            file.set_permissions(fs::Permissions::from_mode(permissions.mode()))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(tr!(crate::i18n::client::Msg::StoreReplace, path = path.display()), e));
    }
    csv_backend::sync_dir(dir)
}

/// A log file's complete lines, as the server would keep them: a missing
/// or empty file is just its header; a torn last line (a crash in the
/// middle of a write) is left out, as the server drops it at start.
fn read_log(path: &Path, header: &str) -> Result<Vec<u8>> {
    let mut bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(tr!(crate::i18n::client::Msg::StoreFile, path = path.display()), e)),
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        log::warn!("store: {}: leaving out a torn last line left by a crash", path.display());
        bytes.truncate(complete);
    }
    if bytes.is_empty() {
        return Ok(format!("{header}\n").into_bytes());
    }
    if !bytes.starts_with(format!("{header}\n").as_bytes()) {
        let reason = format!("expected the header {header:?}");
        return Err(Error::Corrupt { path: path.to_path_buf(), line: 1, reason });
    }
    Ok(bytes)
}

/// Gives every row after the header to `each`; an error names the line.
fn each_row(
    path: &Path,
    bytes: &[u8],
    mut each: impl FnMut(&csv::StringRecord) -> std::result::Result<(), String>,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        let corrupt = |reason| Error::Corrupt { path: path.to_path_buf(), line, reason };
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => each(&row).map_err(corrupt)?,
            Err(e) => return Err(corrupt(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::protocol::{Chat, Text};
    use crate::router::Router;
    use crate::store::csv_backend::CsvBackend;
    use crate::store::{Hasher, Store};

    fn hasher() -> Hasher {
        Hasher::new(8).unwrap()
    }

    fn new(name: &str, password: &str) -> NewAccount {
        NewAccount { name: name.into(), email: String::new(), hash: hasher().hash(password).unwrap() }
    }

    /// Opens `dir` as the server does; the caller must stop it.
    fn serve(dir: &Path) -> (Arc<Store>, std::thread::JoinHandle<()>) {
        let backend = CsvBackend::open(dir, true).unwrap();
        Store::open(Box::new(backend), hasher(), Arc::new(Router::default())).unwrap()
    }

    fn stop((store, committer): (Arc<Store>, std::thread::JoinHandle<()>)) {
        store.stop();
        committer.join().unwrap();
    }

    #[test]
    fn added_accounts_log_in_on_the_server_and_are_in_general() {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = Accounts::open(dir.path()).unwrap();
        accounts.add(vec![new("ana", "pw-ana"), new("Bob", "pw-bob")]).unwrap();
        drop(accounts);
        let server = serve(dir.path());
        let (ana, _) = server.0.login("ana", "pw-ana", false).unwrap();
        assert_eq!(server.0.login("bob", "pw-bob", false).unwrap().1.as_ref(), "Bob");
        assert!(server.0.login("ana", "pw-bob", false).is_err());
        assert_eq!(server.0.rooms(ana), ["#general:2"]);
        stop(server);
        let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
        assert!(users.starts_with("name,email,password_hash,created_ms\nana,,\"$argon2id$"), "{users}");
    }

    #[test]
    fn a_removed_account_cannot_log_in_and_its_history_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        Accounts::open(dir.path()).unwrap().add(vec![new("ana", "pw"), new("bob", "pw")]).unwrap();
        let server = serve(dir.path());
        let (ana, _) = server.0.login("ana", "pw", false).unwrap();
        let (_, ticket) =
            server.0.send(ana, &Chat::User("bob".into()), "m1", &Text::parse("hi").unwrap()).unwrap();
        server.0.wait(ticket).unwrap();
        stop(server);

        let mut accounts = Accounts::open(dir.path()).unwrap();
        accounts.remove("BOB").unwrap();
        assert!(accounts.find("bob").unwrap().is_removed());
        let err = accounts.remove("bob").err().unwrap().to_string();
        assert_eq!(err, "bob was removed");
        let err = accounts.set_password("bob", "x".into()).err().unwrap().to_string();
        assert_eq!(err, "bob was removed");
        drop(accounts);

        let server = serve(dir.path());
        assert!(server.0.login("bob", "pw", false).is_err(), "a removed account cannot log in");
        assert_eq!(server.0.history(ana, &Chat::User("bob".into()), 5).unwrap().len(), 1);
        assert_eq!(server.0.rooms(ana), ["#general:1"], "bob left #general");
        stop(server);
    }

    #[test]
    fn a_new_password_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        Accounts::open(dir.path()).unwrap().add(vec![new("ana", "old")]).unwrap();
        let mut accounts = Accounts::open(dir.path()).unwrap();
        accounts.set_password("Ana", hasher().hash("new").unwrap()).unwrap();
        let err = accounts.set_password("zed", String::new()).err().unwrap().to_string();
        assert!(err.starts_with("no account named zed in "), "{err}");
        drop(accounts);
        let server = serve(dir.path());
        assert!(server.0.login("ana", "old", false).is_err());
        assert!(server.0.login("ana", "new", false).is_ok());
        stop(server);
    }

    #[test]
    fn every_problem_is_reported_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = Accounts::open(dir.path()).unwrap();
        accounts.add(vec![new("ana", "pw"), new("gone", "pw")]).unwrap();
        accounts.remove("gone").unwrap();
        let before = fs::read(dir.path().join("users.csv")).unwrap();
        let rows = [("ANA", ""), ("bad name", ""), ("carl", "no-at"), ("dan", ""), ("Dan", ""), ("gone", "")];
        let problems = accounts.problems(&rows, |i| format!("row {}", i + 1));
        assert_eq!(
            problems,
            [
                "row 1: ana already has an account",
                "row 2: ' ' is not allowed in a name (only A-Z a-z 0-9 _ . -)",
                "row 3: bad email address \"no-at\" (it may also be empty)",
                "row 5: Dan is there twice (also row 4)",
                "row 6: gone was removed, and a removed name stays taken",
            ]
        );
        let err = accounts.add(vec![new("eve", "pw"), new("ana", "pw")]).err().unwrap().to_string();
        assert_eq!(err, "nothing added: ana: ana already has an account");
        assert_eq!(fs::read(dir.path().join("users.csv")).unwrap(), before);
        assert!(accounts.find("eve").is_none());
    }

    #[test]
    fn a_running_server_keeps_the_accounts_out() {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path());
        let err = Accounts::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("is in use by a running wachat server"), "{err}");
        stop(server);
        assert!(Accounts::open(dir.path()).is_ok(), "free once the server stopped");
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_a_bad_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        Accounts::open(dir.path()).unwrap().add(vec![new("ana", "pw")]).unwrap();
        let users = dir.path().join("users.csv");
        let mut file = OpenOptions::new().append(true).open(&users).unwrap();
        file.write_all(b"half,of,a").unwrap();
        let mut accounts = Accounts::open(dir.path()).unwrap();
        assert_eq!(accounts.list().len(), 1);
        accounts.add(vec![new("bob", "pw")]).unwrap();
        drop(accounts);
        let text = fs::read_to_string(&users).unwrap();
        assert!(!text.contains("half") && text.ends_with('\n'), "{text}");
        stop(serve(dir.path()));

        fs::write(dir.path().join("rooms.csv"), "JOIN,1,zed,#general,0\n").unwrap();
        let err = Accounts::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("rooms.csv line 1: expected the header"), "{err}");
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.csv");
        replace_file(&path, b"one\n", 0o600).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&path, b"two\n", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(!dir.path().join("secret.csv.tmp").exists());
    }
}
