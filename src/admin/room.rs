//! The teacher's account commands during a class: `wachat users add`,
//! `import`, `passwd`, `admin` and `room` while a server runs on the data
//! directory, or on a cluster (`--store`). They do not stop it (which
//! would disconnect the class): they ask it at its door
//! (`store::door::Inquiry::Accounts`, answered by
//! `server::operator::changes`; on a cluster by one of its nodes, for
//! all), and say what it did. With no server running on a data directory
//! they edit it themselves.
//!
//! `wachat users room '#lab' --add ana,bob` (or `users import roster.csv
//! --room '#lab'`) puts a list of students in a room in one command: each
//! joins as by its own `JOIN` (the room is made if new), and the members
//! online are told (`MEMBER:#lab:ana:JOINED`, protocol 1.1).

use std::path::Path;
use std::time::Duration;

use super::reach::{OpenedDoor, ServerAt};
use super::{Hashing, NewPassword, Student, explain, hasher, new_password, shown_password};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::server::operator::changes::{self, AccountChange, Applied};
use crate::store::accounts::{Accounts, NewAccount};
use crate::store::disk::Disk;
use crate::store::door::Inquiry;

/// How long a command waits for the server to take its request: it
/// looks twice a second, and makes each change durable before answering
/// (a roster of a few hundred joins is a few seconds of fsyncs).
pub(super) const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Asks the running server for `changes`; their outcomes, in order.
pub(super) fn ask(door: &OpenedDoor, changes: &[AccountChange]) -> Result<Vec<Applied>> {
    let answer = door.ask(Inquiry::Accounts, &changes::request_body(changes), ANSWER_WITHIN)?;
    let outcomes = changes::read_answer(&answer);
    if outcomes.len() != changes.len() {
        let (dir, secs) = (door.label(), ANSWER_WITHIN.as_secs());
        return Err(Error::Usage(tr!(Msg::ServerDidNotAnswer, dir = dir, secs = secs)));
    }
    Ok(outcomes)
}

/// The first refusal among `outcomes`, as an error.
pub(super) fn refused(outcomes: &[Applied]) -> Result<()> {
    match outcomes.iter().find_map(|o| if let Applied::Refused(why) = o { Some(why) } else { None }) {
        Some(why) => Err(Error::Usage(why.clone())),
        None => Ok(()),
    }
}

/// `users add` beside a running server.
pub fn add_live(
    name: &str,
    email: &str,
    password: &NewPassword,
    door: &OpenedDoor,
    hashing: &Hashing,
) -> Result<()> {
    // Checked before asking for a password the teacher would type for nothing.
    let accounts = door.accounts()?;
    if let Some(taken) =
        accounts.iter().find(|a| crate::protocol::names::fold(&a.name) == crate::protocol::names::fold(name))
    {
        let why = tr!(Msg::AlreadyHasAccount, name = taken.name);
        return Err(Error::Usage(format!("{}: {why}", tr!(Msg::CannotAdd))));
    }
    let (secret, shown) = new_password(name, password)?;
    let hash = hasher(hashing)?.hash(&secret).map_err(Error::Usage)?;
    refused(&ask(door, &[AccountChange::add(name, email, &hash)])?)?;
    println!("{}", tr!(Msg::Added, name = name, shown = shown_password(shown, &secret)));
    Ok(())
}

/// `users passwd` beside a running server (a student who forgot it, in
/// class).
pub fn passwd_live(name: &str, password: &NewPassword, door: &OpenedDoor, hashing: &Hashing) -> Result<()> {
    let accounts = door.accounts()?;
    let fold = crate::protocol::names::fold;
    if !accounts.iter().any(|a| fold(&a.name) == fold(name) && !a.removed && !a.deleted) {
        return Err(Error::Usage(tr!(Msg::NoSuchAccount, name = name)));
    }
    let (secret, shown) = new_password(name, password)?;
    let hash = hasher(hashing)?.hash(&secret).map_err(Error::Usage)?;
    refused(&ask(door, &[AccountChange::passwd(name, &hash)])?)?;
    println!("{}", tr!(Msg::PasswordSet, name = name, shown = shown_password(shown, &secret)));
    Ok(())
}

/// `users admin` beside a running server.
pub fn admin_live(name: &str, on: bool, door: &OpenedDoor) -> Result<()> {
    refused(&ask(door, &[AccountChange::admin(name, on)])?)
}

/// `users import` beside a running server: the accounts (all or none),
/// then, with `room`, each in it. `table` is the passwords file's body,
/// written to `out` first, and removed if nothing was made.
pub(super) fn import_live(
    students: &[Student],
    new: Vec<NewAccount>,
    room: Option<&str>,
    door: &OpenedDoor,
    (out, table): (&Path, &[u8]),
) -> Result<()> {
    let mut asked: Vec<AccountChange> =
        new.iter().map(|n| AccountChange::add(&n.name, &n.email, &n.hash)).collect();
    if let Some(room) = room {
        asked.extend(students.iter().map(|s| AccountChange::join(&s.name, room)));
    }
    std::sync::Arc::new(crate::store::disk::RealDisk)
        .replace(out, table)
        .map_err(|e| Error::io(tr!(crate::i18n::client::Msg::StoreReplace, path = out.display()), e))?;
    let outcomes = match ask(door, &asked) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    if let Some(Applied::Refused(why)) = outcomes.first() {
        let _ = std::fs::remove_file(out);
        return Err(Error::Usage(why.clone()));
    }
    refused(&outcomes)
}

/// `users room ROOM --add NAMES`: each in the room, through the running
/// server or, with none, in the directory. Prints who joined and who was
/// in it already.
/// A room as the teacher typed it, with its `#` (`lab` is `#lab`): a `#`
/// the shell would take for a comment may be left out.
pub fn with_hash(typed: &str) -> String {
    match typed.trim() {
        room if room.starts_with('#') => room.to_string(),
        room => format!("#{room}"),
    }
}

pub fn add_to_room(room: &str, names: &[String], at: &ServerAt) -> Result<()> {
    let room_name = crate::protocol::Chat::parse_room(room).map_err(Error::Usage)?;
    let outcomes = match OpenedDoor::running(at)? {
        Some(door) => {
            let asked: Vec<AccountChange> = names.iter().map(|n| AccountChange::join(n, room)).collect();
            ask(&door, &asked)?
        }
        None => join_here(&room_name, names, &at.data.data_dir)?,
    };
    let mut failed = Vec::new();
    for (name, outcome) in names.iter().zip(&outcomes) {
        match outcome {
            Applied::Done => println!("{}", tr!(Msg::JoinedRoom, name = name, room = room)),
            Applied::Unchanged => println!("{}", tr!(Msg::AlreadyInRoom, name = name, room = room)),
            Applied::Refused(why) => failed.push(format!("{name}: {why}")),
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(failed.join("\n")))
}

/// The joins of [`add_to_room`] with no server running.
fn join_here(room: &str, names: &[String], data_dir: &Path) -> Result<Vec<Applied>> {
    if !data_dir.is_dir() {
        return Err(Error::Usage(tr!(Msg::NoDataDir, dir = data_dir.display())));
    }
    let mut accounts = Accounts::open(data_dir)?;
    let mut outcomes = Vec::new();
    for name in names {
        let joined = accounts.join(name, room).map_err(|e| explain(e, data_dir, &[], |_| String::new()));
        outcomes.push(match joined {
            Ok(Ok(true)) => Applied::Done,
            Ok(Ok(false)) => Applied::Unchanged,
            Ok(Err(ko)) => Applied::Refused(ko.reason),
            Err(e) => Applied::Refused(e.to_string()),
        });
    }
    Ok(outcomes)
}
