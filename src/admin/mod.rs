//! `wachat users add|list|remove|passwd|import|admin`: the accounts of a class,
//! for the teacher, edited in the data directory while the server is
//! stopped, or made by the running server (or a cluster's node) at the
//! teacher's request (`reach.rs`). `wachat users invite` prints invite
//! codes instead (`invite.rs`, `store::invites`). The work on the files is
//! [`crate::store::accounts`]; this module reads the command line, the
//! passwords and the roster, and says what happened.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the subcommands, and the ones on a stopped server's data directory (`add`, `list`, `passwd`, `check`) |
//! | `invite.rs` | `invite`, `invites`, `revoke`: the codes the running server keeps, or a stopped one's directory |
//! | `import.rs` | `import`: a class from a roster, all or none |
//! | `password.rs` | where a new password comes from (a prompt, stdin, made up) |
//! | `reach.rs` | where a command works (`--data-dir`, `--store`), how it asks the server running there |
//! | `room.rs` | the same beside a running server, which makes the change; `users room` |
//! | `disable.rs` | `disable`, `enable`: the record written by the running server, or in a stopped one's directory |
//! | `live.rs` | `list` beside a running server: the accounts and their live figures |
//! | `export.rs` | `users export`: what the server holds of one account |
//! | `web_port.rs` | `web.csv`: the web port `serve` listens on, for `invite`'s link |

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::cli::data_dir::DataDirArgs;
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::store::Hasher;
use crate::store::accounts::{self, Accounts, AdminError, NewAccount, Problem};
use crate::store::password::DEFAULT_KDF_COST;

mod disable;
pub mod export;
mod import;
mod invite;
pub mod live;
mod password;
pub mod reach;
pub mod room;
pub mod web_port;

use import::{Student, import};
pub use password::random_password;
use password::{new_password, shown_password};
use reach::{OpenedDoor, ServerAt, refuse_node_dir};

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create an account (a member of #general), asking for its password.
    /// Works while the server runs.
    Add {
        /// The user name (A-Z a-z 0-9 _ . -, unique ignoring case).
        name: String,
        /// Email address (optional).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        password: NewPassword,
        #[command(flatten)]
        at: ServerAt,
        #[command(flatten)]
        hashing: Hashing,
    },
    /// List the accounts of the data directory (or of a cluster), removed
    /// ones marked; beside a running server, what it knows of each.
    /// Accounts deleted by their users are left out (--all shows them).
    List {
        /// Also list the accounts deleted by their users (`DELACCOUNT`),
        /// whose names stay reserved for a while.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Remove an account: it can no longer log in; its messages stay.
    Remove {
        name: String,
        // The server's data directory (no server may be running on it).
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Give an account a new password. Works while the server runs.
    Passwd {
        name: String,
        #[command(flatten)]
        password: NewPassword,
        #[command(flatten)]
        at: ServerAt,
        #[command(flatten)]
        hashing: Hashing,
    },
    /// Make an account a server admin, who moderates every room (protocol
    /// 1.2), or with --remove no longer one. Works while the server runs.
    Admin {
        name: String,
        /// Take the rank away instead.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Create an account with a random password for every row of a roster
    /// (CSV, header row, columns name,email); write name,password to --out.
    Import {
        /// The roster, e.g. data/roster.sample.csv.
        roster: PathBuf,
        /// Where to write the passwords [default: ROSTER with .passwords.csv].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also put every student of the roster in this room, e.g. lab
        /// (its # may be left out: unquoted, the shell takes # for a comment).
        #[arg(long, value_name = "ROOM", num_args = 0..=1, default_missing_value = "")]
        room: Option<String>,
        #[command(flatten)]
        at: ServerAt,
        #[command(flatten)]
        hashing: Hashing,
    },
    /// Put accounts in a room (made if new) as their own JOIN would; the
    /// members online are told. Works while the server runs.
    Room {
        /// The room, e.g. lab or '#lab' (its # may be left out: unquoted,
        /// the shell takes # for a comment and drops the rest of the line).
        room: Option<String>,
        /// The accounts, separated by commas: ana,bob,carla.
        #[arg(long, value_delimiter = ',', value_name = "NAMES")]
        add: Vec<String>,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Name every damaged line (blank, torn, not a record) of the log's
    /// segments; exits non-zero if there is one. Works while the server runs.
    /// With --repair (server stopped): sets each damaged line aside in
    /// `damaged/`, puts every other record back at its position, and says
    /// exactly what was lost.
    Check {
        // The server's data directory (the server may be running, unless --repair).
        #[command(flatten)]
        data: DataDirArgs,
        /// Repair the log (the server must be stopped): a damaged line
        /// becomes spaces of the lost record's length, or goes if it was an
        /// inserted blank line; nothing else changes.
        #[arg(long)]
        repair: bool,
    },
    /// Write everything the server holds about an account (rooms, chats,
    /// their messages, devices) as JSON Lines, as `wachat export` does for
    /// its owner. Works while the server runs.
    Export {
        name: String,
        /// Write to this file instead of stdout (created 0600).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Refuse every login of an account, and close its open sessions.
    /// Works while the server runs (within half a second), and undoes
    /// with `enable`.
    Disable {
        name: String,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Let a disabled account log in again. Works while the server runs.
    Enable {
        name: String,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Print invite codes for `serve --registration invite`: each creates
    /// one account (wachat register --invite CODE). Works while the server runs.
    Invite {
        /// How many codes (one per student).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        count: u32,
        /// Days until the codes expire.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
        days: u32,
        #[command(flatten)]
        at: ServerAt,
    },
    /// List the invite codes: valid until when, used or expired. Works
    /// while the server runs.
    Invites {
        /// Also list the codes used and those expired.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        at: ServerAt,
    },
    /// Revoke invite codes not used yet: they let nobody in any more.
    /// Works while the server runs.
    Revoke {
        /// The codes, as `invite` printed them.
        #[arg(required_unless_present = "unused")]
        codes: Vec<String>,
        /// Every code not used yet instead (the term's registration is over).
        #[arg(long, conflicts_with = "codes")]
        unused: bool,
        #[command(flatten)]
        at: ServerAt,
    },
}

/// How hard to hash new passwords.
#[derive(Args, Debug)]
pub struct Hashing {
    /// argon2id memory cost in KiB for new password hashes (lower only for tests).
    #[arg(long, default_value_t = DEFAULT_KDF_COST)]
    pub kdf_cost: u32,
}

/// Where a new password comes from. Never an argument: the process list
/// would show it.
#[derive(Args, Debug)]
pub struct NewPassword {
    /// Read the password from the first line of stdin.
    #[arg(long, conflicts_with = "random")]
    pub password_stdin: bool,
    /// Make up a random password and print it.
    #[arg(long)]
    pub random: bool,
}

/// Runs one `wachat users` subcommand.
pub fn run(command: UsersCommand) -> Result<()> {
    if let Some(dir) = command.data_dir() {
        refuse_node_dir(dir)?;
    }
    match command {
        UsersCommand::Add { name, email, password, at, hashing } => {
            let email = email.unwrap_or_default();
            match OpenedDoor::running(&at)? {
                Some(door) => room::add_live(&name, &email, &password, &door, &hashing)?,
                None => add(&name, &email, &password, &at.data.data_dir, &hashing)?,
            }
        }
        UsersCommand::List { all, at } => {
            let hidden = match OpenedDoor::running(&at)? {
                // A server runs there: read beside it, and ask it what it knows.
                Some(door) => {
                    let (shown, hidden): (Vec<_>, Vec<_>) =
                        door.listing()?.into_iter().partition(|row| all || !row.deleted);
                    print!("{}", live::format(&shown));
                    hidden.len()
                }
                None => list(existing(&at.data.data_dir)?, all)?,
            };
            if hidden > 0 {
                // Apart from the list, which a script may read.
                eprintln!("{}", tr!(Msg::DeletedHidden, n = hidden));
            }
        }
        UsersCommand::Remove { name, data } => {
            let dir = existing(&data.data_dir)?;
            Accounts::open(dir)?.remove(&name).map_err(|e| explain(e, dir, &[], |_| String::new()))?;
            println!("{}", tr!(Msg::Removed, name = name));
        }
        UsersCommand::Passwd { name, password, at, hashing } => match OpenedDoor::running(&at)? {
            Some(door) => room::passwd_live(&name, &password, &door, &hashing)?,
            None => passwd(&name, &password, &at.data.data_dir, &hashing)?,
        },
        UsersCommand::Admin { name, remove, at } => {
            match OpenedDoor::running(&at)? {
                Some(door) => room::admin_live(&name, !remove, &door)?,
                None => {
                    let dir = existing(&at.data.data_dir)?;
                    let mut accounts = Accounts::open(dir)?;
                    accounts
                        .set_admin(&name, !remove)
                        .map_err(|e| explain(e, dir, &[], |_| String::new()))?;
                }
            }
            let said = if remove { Msg::AdminRemoved } else { Msg::AdminGranted };
            println!("{}", tr!(said, name = name));
        }
        UsersCommand::Import { roster, out, room, at, hashing } => {
            let room = match room.as_deref() {
                Some("") => return Err(Error::Usage(tr!(Msg::ImportRoomNeeded))),
                typed => typed.map(room::with_hash),
            };
            import(&roster, out, &at, &hashing, room.as_deref())?
        }
        UsersCommand::Room { room: Some(room), add, at } if !add.is_empty() => {
            room::add_to_room(&room::with_hash(&room), &add, &at)?
        }
        // What the shell left of `users room #lab --add ana`: nothing.
        UsersCommand::Room { .. } => return Err(Error::Usage(tr!(Msg::RoomAndNamesNeeded))),
        UsersCommand::Invite { count, days, at } => invite::invite(count, days, &at)?,
        UsersCommand::Invites { all, at } => invite::invites(all, &at)?,
        UsersCommand::Revoke { codes, unused, at } => invite::revoke(&codes, unused, &at)?,
        UsersCommand::Check { data, repair: false } => check(&data.data_dir)?,
        UsersCommand::Check { data, repair: true } => repair(&data.data_dir)?,
        UsersCommand::Export { name, out, at } => {
            let door = match OpenedDoor::running(&at)? {
                Some(door) => Some(door),
                None if !at.data.data_dir.is_dir() => {
                    return Err(Error::Usage(tr!(Msg::NoDataDir, dir = at.data.data_dir.display())));
                }
                None => None,
            };
            crate::export::to(out.as_deref(), |w, files| match &door {
                Some(door) => export::ask_live(door, &name, w),
                None => export::export(&at.data.data_dir, &name, w, files),
            })?;
        }
        UsersCommand::Disable { name, at } => {
            let changed = disable::set_disabled(&at, &name, true)?;
            let said = if changed { Msg::AccountDisabled } else { Msg::AlreadyDisabled };
            println!("{}", tr!(said, name = name));
        }
        UsersCommand::Enable { name, at } => {
            let changed = disable::set_disabled(&at, &name, false)?;
            let said = if changed { Msg::AccountEnabled } else { Msg::NotDisabled };
            println!("{}", tr!(said, name = name));
        }
    }
    Ok(())
}

impl UsersCommand {
    /// The data directory it works on, if a single server's (no `--store`).
    pub fn data_dir(&self) -> Option<&Path> {
        let at = match self {
            UsersCommand::Add { at, .. }
            | UsersCommand::List { at, .. }
            | UsersCommand::Passwd { at, .. }
            | UsersCommand::Admin { at, .. }
            | UsersCommand::Import { at, .. }
            | UsersCommand::Room { at, .. }
            | UsersCommand::Export { at, .. }
            | UsersCommand::Disable { at, .. }
            | UsersCommand::Enable { at, .. }
            | UsersCommand::Invite { at, .. }
            | UsersCommand::Invites { at, .. }
            | UsersCommand::Revoke { at, .. } => at,
            UsersCommand::Remove { data, .. } => return Some(&data.data_dir),
            UsersCommand::Check { data, .. } => return Some(&data.data_dir),
        };
        at.store.is_none().then_some(at.data.data_dir.as_path())
    }
}

/// `wachat users add` on a stopped server's data directory.
fn add(name: &str, email: &str, password: &NewPassword, data_dir: &Path, hashing: &Hashing) -> Result<()> {
    let mut accounts = Accounts::open(data_dir)?;
    // Checked before asking for a password the teacher would type for nothing.
    let names = [(name, email)];
    if let Some((_, problem)) = accounts.problems(&names).first() {
        let why = describe(problem, name, |_| tr!(Msg::CannotAdd));
        return Err(Error::Usage(format!("{}: {why}", tr!(Msg::CannotAdd))));
    }
    let (secret, shown) = new_password(name, password)?;
    let hash = hasher(hashing)?.hash(&secret).map_err(Error::Usage)?;
    let new = vec![NewAccount { name: name.to_string(), email: email.to_string(), hash }];
    accounts.add(new).map_err(|e| explain(e, data_dir, &names, |i| names[i].0.to_string()))?;
    println!("{}", tr!(Msg::Added, name = name, shown = shown_password(shown, &secret)));
    Ok(())
}

/// `wachat users list` on a stopped server's data directory; how many
/// deleted accounts it left out (none with `all`).
fn list(data_dir: &Path, all: bool) -> Result<usize> {
    let accounts = Accounts::open(data_dir)?;
    let (mut sorted, hidden): (Vec<&accounts::AccountRow>, Vec<_>) =
        accounts.list().iter().partition(|a| all || !a.is_deleted());
    let width = sorted.iter().map(|a| a.name.len()).max().unwrap_or(0);
    // By name, ignoring case, as USERS lists them.
    sorted.sort_by_key(|a| crate::protocol::names::fold(&a.name));
    for a in sorted {
        let mark = match () {
            () if a.is_deleted() => tr!(Msg::DeletedMark),
            () if a.is_removed() => tr!(Msg::RemovedMark),
            () => String::new(),
        };
        let stored = stored_mark(accounts.stored_bytes(&a.name));
        let off = if accounts.is_disabled(&a.name) { tr!(Msg::DisabledMark) } else { String::new() };
        let admin = if accounts.is_admin(&a.name) { tr!(Msg::AdminMark) } else { String::new() };
        let rest: Vec<&str> =
            [a.email.as_str(), admin.as_str(), stored.as_str(), mark.as_str(), off.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
        let line = format!("{:width$}  {}", a.name, rest.join("  "));
        println!("{}", line.trim_end());
    }
    Ok(hidden.len())
}

/// `wachat users passwd` on a stopped server's data directory: as a
/// running server does it (`server::accounts::new_password`), every token
/// of the account is revoked first, then the password is set; if it
/// cannot be, the tokens are put back.
fn passwd(name: &str, password: &NewPassword, data_dir: &Path, hashing: &Hashing) -> Result<()> {
    let mut accounts = Accounts::open(existing(data_dir)?)?;
    if accounts.find(name).is_none_or(accounts::AccountRow::is_removed) {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    let (secret, shown) = new_password(name, password)?;
    let hash = hasher(hashing)?.hash(&secret).map_err(Error::Usage)?;
    let devices = accounts.devices();
    let revoking =
        |ko: crate::protocol::Ko| Error::io(data_dir.display().to_string(), std::io::Error::other(ko.reason));
    let revoked = devices.revoke_tokens(name, None).map_err(revoking)?;
    if let Err(e) = accounts.set_password(name, hash) {
        devices.restore_tokens(name, &revoked).map_err(revoking)?;
        return Err(explain(e, data_dir, &[], |_| String::new()));
    }
    println!("{}", tr!(Msg::PasswordSet, name = name, shown = shown_password(shown, &secret)));
    Ok(())
}

/// `12 KiB stored`: the bytes of log an account's messages take, counted
/// against `--user-quota` (nothing for an account that sent nothing).
fn stored_mark(bytes: u64) -> String {
    if bytes == 0 {
        return String::new();
    }
    tr!(Msg::StoredMark, size = crate::store::budget::Size(bytes))
}

/// What is wrong with a new account, in the teacher's words; `label(i)`
/// names the `i`-th account asked for (a roster says `line 7`).
fn describe(problem: &Problem, name: &str, label: impl Fn(usize) -> String) -> String {
    let lang = crate::i18n::current();
    match problem {
        Problem::Name(why) => crate::i18n::client::name_problem(lang, *why, name),
        Problem::Email(email) => tr!(Msg::BadEmail, email = format!("{email:?}")),
        Problem::Removed(name) => tr!(Msg::WasRemovedTaken, name = name),
        Problem::Deleted(name) => tr!(Msg::WasDeleted, name = name),
        Problem::Taken(name) => tr!(Msg::AlreadyHasAccount, name = name),
        Problem::Twice { name, first } => tr!(Msg::Twice, name = name, other = label(*first)),
    }
}

/// Every problem, one `label: problem` each.
fn describe_all(
    problems: &[(usize, Problem)],
    names: &[(&str, &str)],
    label: &dyn Fn(usize) -> String,
) -> Vec<String> {
    problems.iter().map(|(i, p)| format!("{}: {}", label(*i), describe(p, names[*i].0, label))).collect()
}

/// An [`AdminError`] as the teacher reads it.
fn explain(e: AdminError, dir: &Path, names: &[(&str, &str)], label: impl Fn(usize) -> String) -> Error {
    match e {
        AdminError::NoAccount(name) => Error::Usage(tr!(Msg::NoAccountIn, name = name, dir = dir.display())),
        AdminError::Removed(name) => Error::Usage(tr!(Msg::WasRemoved, name = name)),
        AdminError::Problems(problems) => {
            let problems = describe_all(&problems, names, &label).join("; ");
            Error::Usage(tr!(Msg::NothingAdded, problems = problems))
        }
        AdminError::Store(e) => e,
    }
}

/// `wachat users check`: the damaged lines of the log, one a line.
fn check(data_dir: &Path) -> Result<()> {
    let log_dir = data_dir.join("log");
    if !log_dir.is_dir() {
        return Err(Error::Usage(tr!(Msg::NoDataDir, dir = log_dir.display())));
    }
    // A directory a newer wachat wrote is its to read (`store::format`).
    crate::store::format::check(&crate::store::disk::RealDisk, data_dir)?;
    let problems = crate::store::damage::check_dir(&log_dir)
        .map_err(|e| Error::io(format!("reading {}", log_dir.display()), e))?;
    for problem in &problems {
        println!("{problem}");
    }
    if !problems.is_empty() {
        let n = problems.len();
        return Err(Error::Usage(format!(
            "{n} damaged lines in {}: HISTORY and inbox replays pass over them",
            log_dir.display()
        )));
    }
    println!("{}: no damaged line", log_dir.display());
    Ok(())
}

/// `wachat users check --repair`: the log's damaged lines set aside (see
/// `store::damage`), each said with what was lost, then what is left.
/// Succeeds once every record is back at its position.
fn repair(data_dir: &Path) -> Result<()> {
    if !data_dir.join("log").is_dir() {
        return Err(Error::Usage(tr!(Msg::NoDataDir, dir = data_dir.join("log").display())));
    }
    // A directory a newer wachat wrote may hold what this one cannot
    // read, which is not damage: refused before anything changes.
    crate::store::format::check(&crate::store::disk::RealDisk, data_dir)?;
    // No server may write the log while it is rewritten.
    let _lock = crate::store::lock::DataLock::acquire(data_dir)?;
    let repaired = crate::store::damage::repair_dir(data_dir)
        .map_err(|e| Error::io(format!("repairing {}", data_dir.join("log").display()), e))?;
    for line in &repaired {
        println!("{line}");
    }
    let lost = repaired.iter().filter(|r| r.lost.is_some()).count();
    println!("{} damaged lines repaired, {lost} records lost", repaired.len());
    // What is left: the lost records' places (spaces, which every reader
    // passes over) and damage that moved nothing (a line garbled in place).
    let left = crate::store::damage::check_dir(&data_dir.join("log"))
        .map_err(|e| Error::io(format!("reading {}", data_dir.join("log").display()), e))?;
    for problem in &left {
        println!("left, passed over by readers: {problem}");
    }
    Ok(())
}

/// The data directory, which must exist: only `add` and `import` create
/// one (a mistyped `--data-dir` should not leave an empty directory behind).
fn existing(data_dir: &Path) -> Result<&Path> {
    if !data_dir.is_dir() {
        return Err(Error::Usage(tr!(Msg::NoDataDir, dir = data_dir.display())));
    }
    Ok(data_dir)
}

fn hasher(hashing: &Hashing) -> Result<Hasher> {
    Hasher::new(hashing.kdf_cost).map_err(Error::Usage)
}
