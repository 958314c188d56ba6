//! Class accounts, edited in a data directory while no server runs on it:
//! what `wachat users add|list|remove|passwd|import` do underneath.
//!
//! A teacher prepares the accounts of a class before the server runs (and
//! hands out passwords), so this works on the files, not over the network.
//! Three rules keep the directory one the server can load:
//!
//! 1. The data directory is opened with the server's own store
//!    ([`LocalStore`]), which holds the directory's lock from the first read
//!    to the last write: a running server holds it too, so its files are
//!    never edited under its feet, and two teachers' commands cannot
//!    interleave. A directory the server could not load is refused, not
//!    edited, and names are checked exactly as the server checks them.
//! 2. New accounts are made as `REGISTER` makes them, all in one batch
//!    (their `users.csv` rows, then their `JOIN #general` records): all of
//!    them, or none.
//! 3. `users.csv` is replaced whole and atomically (a new password, a
//!    removed account): written to `users.csv.tmp`, synced, renamed over
//!    `users.csv`, and the directory synced. A crash leaves the old file or
//!    the new one, never half of one.
//!
//! This module speaks no language: what is wrong comes back as a
//! [`Problem`] or an [`AdminError`], and `wachat users` (`src/admin/`)
//! says it in the teacher's words.
//!
//! ## Removing an account
//!
//! The log names users in its records, and the server refuses to start on a
//! record that names an unknown user, so deleting a row of `users.csv`
//! would make the directory unloadable. A removed account's row therefore
//! stays, *disabled*: its hash gets a `!` in front (the way `passwd -l`
//! locks a Unix account in `/etc/shadow`). `!$argon2id$…` is not a hash, so
//! every `LOGIN` as that user fails; the conversations that name it still
//! load and read right; the name stays taken, so nobody else can register
//! it and inherit its history. `LEAVE` records take it out of every room,
//! so room messages stop piling up in its inbox. Direct messages to it are
//! still accepted by the server (it answers `OK`, and they wait unread):
//! the server's behaviour is the same for every account it knows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::disk::{Disk, RealDisk};
use super::local::InLog;
use super::local::{LocalStore, StoreOptions};
use super::state::UserId;
use super::users::{USERS_HEADER, user_row};
use crate::error::Error;
use crate::protocol::Ko;
use crate::protocol::names::{NameProblem, fold, name_problem};
use crate::protocol::request::check_email;

/// What goes in front of a removed account's hash (see the module docs).
pub const REMOVED: &str = "!";

/// One row of `users.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub email: String,
    /// The argon2id PHC string, or `!` and the old one once removed.
    pub hash: String,
    pub created_ms: u64,
}

impl AccountRow {
    pub fn is_removed(&self) -> bool {
        self.hash.starts_with(REMOVED)
    }

    /// 1.2: its user deleted it (`DELACCOUNT`), a kind of removed: its name
    /// is free again after the server's quarantine, for `REGISTER`.
    pub fn is_deleted(&self) -> bool {
        super::state::deleted_at(&self.hash).is_some()
    }
}

/// An account to create: its password is already hashed (hashing is slow,
/// so the caller does it after every name has been checked).
pub struct NewAccount {
    pub name: String,
    pub email: String,
    pub hash: String,
}

/// Why an account cannot be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The name breaks a rule of user names.
    Name(NameProblem),
    /// The e-mail address is not one (it may be empty).
    Email(String),
    /// An account of that name (ignoring case) exists …
    Taken(String),
    /// … or existed, and was removed: removed names stay taken.
    Removed(String),
    /// … or its user deleted it (1.2): the name is free again after the
    /// server's quarantine, for `REGISTER` over the network.
    Deleted(String),
    /// The same name twice in what was asked; `first` is where it came first.
    Twice { name: String, first: usize },
}

/// Why an edit of the accounts was refused.
#[derive(Debug)]
pub enum AdminError {
    /// No account of that name.
    NoAccount(String),
    /// The account was removed (as registered).
    Removed(String),
    /// Nothing was created: the problems of each account asked, by index.
    Problems(Vec<(usize, Problem)>),
    /// The files could not be read or written.
    Store(Error),
}

impl From<Error> for AdminError {
    fn from(e: Error) -> AdminError {
        AdminError::Store(e)
    }
}

/// The accounts of a data directory, locked against any server.
pub struct Accounts {
    dir: PathBuf,
    /// The rows of `users.csv`, in file order (which is rewritten whole).
    accounts: Vec<AccountRow>,
    /// The directory opened as the server opens it (holds its lock).
    store: Arc<LocalStore>,
}

impl Accounts {
    /// Locks `dir` (creating it if needed) and loads it.
    pub fn open(dir: &Path) -> Result<Accounts, Error> {
        let options = StoreOptions { report: false, ..StoreOptions::default() };
        let store = Arc::new(LocalStore::open(dir, options, Box::new(|_| {}))?);
        let path = dir.join("users.csv");
        let bytes =
            RealDisk.read_all(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
        let mut accounts = Vec::new();
        crate::csvlog::read_rows_from(&path, &bytes, USERS_HEADER, |row| {
            let field = |i: usize| row.get(i).unwrap_or("").to_string();
            let created_ms = field(3).parse().map_err(|_| format!("{:?} is not a number", field(3)))?;
            accounts.push(AccountRow { name: field(0), email: field(1), hash: field(2), created_ms });
            Ok(())
        })
        .map_err(|e| e.into_error(&path))?;
        Ok(Accounts { dir: dir.to_path_buf(), accounts, store })
    }

    /// Every account, removed ones included, in the order they were made.
    pub fn list(&self) -> &[AccountRow] {
        &self.accounts
    }

    /// Bytes of the log that `name`'s messages take (`store::budget`).
    pub fn stored_bytes(&self, name: &str) -> u64 {
        self.store.account(name).map_or(0, |account| self.store.stored_bytes(account.id))
    }

    /// The account called `name`, ignoring case (as logins do).
    pub fn find(&self, name: &str) -> Option<&AccountRow> {
        let key = fold(name);
        self.accounts.iter().find(|a| fold(&a.name) == key)
    }

    /// What is wrong with creating these `(name, email)` accounts: each
    /// problem with the index of its account. Empty when all can be made.
    pub fn problems(&self, new: &[(&str, &str)]) -> Vec<(usize, Problem)> {
        problems(new, |name| match self.find(name) {
            Some(a) if a.is_deleted() => Some(Problem::Deleted(a.name.clone())),
            Some(a) if a.is_removed() => Some(Problem::Removed(a.name.clone())),
            Some(a) => Some(Problem::Taken(a.name.clone())),
            None => None,
        })
    }

    /// Creates the accounts, each a member of `#general` (what the
    /// server's `REGISTER` writes), all or none.
    pub fn add(&mut self, new: Vec<NewAccount>) -> Result<(), AdminError> {
        let names: Vec<(&str, &str)> = new.iter().map(|n| (n.name.as_str(), n.email.as_str())).collect();
        let problems = self.problems(&names);
        if !problems.is_empty() {
            return Err(AdminError::Problems(problems));
        }
        let asked: Vec<(&str, &str, String)> =
            new.iter().map(|n| (n.name.as_str(), n.email.as_str(), n.hash.clone())).collect();
        let (_, ticket) = self.store.inner.create_accounts(&asked, None).map_err(|ko| self.bug(ko.reason))?;
        self.store.wait(ticket).map_err(|ko| self.bug(ko.reason))?;
        let created_ms = super::now_ms();
        for n in new {
            self.accounts.push(AccountRow { name: n.name, email: n.email, hash: n.hash, created_ms });
        }
        Ok(())
    }

    /// Gives an account a new password hash: in `users.csv`, and (1.2) as
    /// a `PASSWD` record in the log, which a start reads after
    /// `users.csv`: without it, a password the user changed over the
    /// network (a record, see `store::record`) would win over this reset.
    pub fn set_password(&mut self, name: &str, hash: String) -> Result<(), AdminError> {
        let i = self.active(name)?;
        self.accounts[i].hash = hash.clone();
        self.write_users()?;
        let id = self.store.inner.state.lock().user_id(&self.accounts[i].name);
        let id = id.ok_or_else(|| self.bug("not loaded".into()))?;
        let ticket = self.store.set_password(id, hash).map_err(|ko| self.bug(ko.reason))?;
        self.store.wait(ticket).map_err(|ko| self.bug(ko.reason))
    }

    /// Disables an account and takes it out of its rooms (see the module
    /// docs for why its row stays).
    pub fn remove(&mut self, name: &str) -> Result<(), AdminError> {
        let i = self.active(name)?;
        self.accounts[i].hash = format!("{REMOVED}{}", self.accounts[i].hash);
        self.write_users()?;
        let inner = &self.store.inner;
        let (user, rooms) = {
            let state = inner.state.lock();
            let user = state.user_id(&self.accounts[i].name).ok_or_else(|| self.bug("not loaded".into()))?;
            let rooms: Vec<String> = state.rooms_of(user).map(|r| state.room(r).name.to_string()).collect();
            (user, rooms)
        };
        for room in rooms {
            let ticket =
                self.store.leave(user, room.trim_start_matches('#')).map_err(|ko| self.bug(ko.reason))?;
            self.store.wait(ticket).map_err(|ko| self.bug(ko.reason))?;
        }
        Ok(())
    }

    /// Makes `name` a server admin (1.2), or no longer one (as a running
    /// server does it: `LocalStore::set_server_admin`).
    pub fn set_admin(&mut self, name: &str, on: bool) -> Result<(), AdminError> {
        let user = self.loaded(name)?;
        let ticket = self.store.set_server_admin(user, on).map_err(|ko| self.bug(ko.reason))?;
        self.store.wait(ticket).map_err(|ko| self.bug(ko.reason))
    }

    /// Disables `name` (`on`) or enables it again, as a running server
    /// does it (`store::disabled`): false if it already was so.
    pub fn set_disabled(&mut self, name: &str, on: bool) -> Result<bool, AdminError> {
        let user = self.loaded(name)?;
        super::set_disabled(&self.store, user, on).map_err(|ko| self.bug(ko.reason))
    }

    /// The directory's store, changed as the running server would change
    /// it (`wachat users invite|revoke`, `store::invites`).
    pub fn backend(&self) -> &LocalStore {
        &self.store
    }

    /// The devices of the directory's accounts, changed as the running
    /// server would change them (`wachat users passwd`).
    pub fn devices(&self) -> InLog {
        InLog::new(self.store.clone())
    }

    /// Whether `name` is disabled (`wachat users list`).
    pub fn is_disabled(&self, name: &str) -> bool {
        let user = self.store.inner.state.lock().user_id(name);
        user.is_some_and(|user| super::is_disabled(&self.store, user))
    }

    /// Whether `name` is a server admin (`wachat users list`).
    pub fn is_admin(&self, name: &str) -> bool {
        let state = self.store.inner.state.lock();
        state.user_id(name).is_some_and(|id| state.is_server_admin(id))
    }

    /// Puts `name` in `room` (without its `#`), creating the room if new,
    /// as its `JOIN` would: `wachat users room` with the server stopped.
    /// `Ok(false)` if it was in it already; the inner `Err`, the room's
    /// refusal (a ban, an invite-only room).
    pub fn join(&mut self, name: &str, room: &str) -> Result<Result<bool, Ko>, AdminError> {
        let user = self.loaded(name)?;
        let state = self.store.inner.state.lock();
        let member = state.room_id(room).is_some_and(|r| state.is_member(r, user));
        drop(state);
        if member {
            return Ok(Ok(false));
        }
        Ok(self.store.join(user, room).and_then(|ticket| self.store.wait(ticket)).map(|()| true))
    }

    /// The id of the account `name`, which must exist and not be removed.
    fn loaded(&self, name: &str) -> Result<UserId, AdminError> {
        let i = self.active(name)?;
        let id = self.store.inner.state.lock().user_id(&self.accounts[i].name);
        id.ok_or_else(|| self.bug("not loaded".into()))
    }

    /// The index of the account `name`, which must exist and not be removed.
    fn active(&self, name: &str) -> Result<usize, AdminError> {
        let key = fold(name);
        match self.accounts.iter().position(|a| fold(&a.name) == key) {
            None => Err(AdminError::NoAccount(name.to_string())),
            Some(i) if self.accounts[i].is_removed() => {
                Err(AdminError::Removed(self.accounts[i].name.clone()))
            }
            Some(i) => Ok(i),
        }
    }

    /// A change the store refused although every name was checked: a bug,
    /// or a disk that fails.
    fn bug(&self, reason: String) -> AdminError {
        AdminError::Store(Error::Corrupt { path: self.dir.clone(), line: 0, reason })
    }

    fn write_users(&self) -> Result<(), AdminError> {
        let mut body = format!("{USERS_HEADER}\n").into_bytes();
        for a in &self.accounts {
            user_row(&mut body, &a.name, &a.email, &a.hash, a.created_ms);
        }
        let path = self.dir.join("users.csv");
        Arc::new(RealDisk)
            .replace(&path, &body)
            .map_err(|e| AdminError::Store(Error::io(format!("store: {} (replace)", path.display()), e)))
    }
}

// Its tests run a server on the directory the accounts were edited in
// (that it loads, and who can log in): in `accounts/tests.rs`.

/// What is wrong with each of `new` (name, email), by index: the rules of
/// names and emails, a name twice, and, for an existing account of that
/// name, what `taken` says (`Taken`, `Removed` or `Deleted`). One rule for
/// both ways of importing a roster: into a stopped server's directory
/// ([`Accounts::problems`]) and beside a running one (`admin::import`,
/// from its `users.csv`), so that both name the roster's lines.
pub fn problems(new: &[(&str, &str)], taken: impl Fn(&str) -> Option<Problem>) -> Vec<(usize, Problem)> {
    let mut problems = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, &(name, email)) in new.iter().enumerate() {
        // The same rules as the server's.
        if let Some(problem) = name_problem(name) {
            problems.push((i, Problem::Name(problem)));
            continue;
        }
        if check_email(email).is_err() {
            problems.push((i, Problem::Email(email.to_string())));
        }
        if let Some(problem) = taken(name) {
            problems.push((i, problem));
        }
        match seen.iter().find(|(key, _)| *key == fold(name)) {
            Some(&(_, first)) => problems.push((i, Problem::Twice { name: name.to_string(), first })),
            None => seen.push((fold(name), i)),
        }
    }
    problems
}

#[cfg(test)]
mod tests;
