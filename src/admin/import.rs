//! `wachat users import roster.csv`: a class's accounts from a roster,
//! all or none.
//!
//! A roster is a CSV file with a header row and the columns `name,email`
//! (found by their header, in any case and order; email may be empty,
//! other columns are ignored). Every row is checked before anything is
//! written: if one is bad, they are all listed and nothing changes.
//! Otherwise every student gets a random password, `name,password` goes
//! to a file only its owner can read (mode 0600), written **before** the
//! accounts (accounts whose passwords nobody knows would be worse), and
//! then the accounts are made: in the data directory, or by the running
//! server (`room::import_live`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::password::random_password;
use super::reach::{OpenedDoor, ServerAt};
use super::{Hashing, describe_all, explain, hasher, room};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::store::accounts::{Accounts, NewAccount, Problem};
use crate::store::disk::{Disk, RealDisk};

/// One student of a roster, with the line it came from (for messages).
pub(super) struct Student {
    /// The roster's line, as an editor numbers it.
    pub(super) line: u64,
    pub(super) name: String,
    pub(super) email: String,
}

/// `wachat users import roster.csv`: all the accounts, or none; then, with
/// `room`, each in that room. Beside a running server, the server makes
/// them (`room::import_live`) and checks the names.
pub(super) fn import(
    roster: &Path,
    out: Option<PathBuf>,
    at: &ServerAt,
    hashing: &Hashing,
    room: Option<&str>,
) -> Result<()> {
    let students = read_roster(roster)?;
    let out = out.unwrap_or_else(|| passwords_path(roster));
    let maker = match OpenedDoor::running(at)? {
        Some(door) => Maker::Server(door),
        None => Maker::Command(Accounts::open(&at.data.data_dir)?),
    };
    let rows: Vec<(&str, &str)> = students.iter().map(|s| (s.name.as_str(), s.email.as_str())).collect();
    let label = |i: usize| tr!(Msg::RosterLine, line = students[i].line);
    let mut problems = match &maker {
        Maker::Command(accounts) => describe_all(&accounts.problems(&rows), &rows, &label),
        // Beside a running server, the same checks against its accounts,
        // so that a problem names the roster's line there too (the server
        // would refuse them all the same, without lines).
        Maker::Server(door) => describe_all(&live_problems(&rows, door)?, &rows, &label),
    };
    if out.exists() {
        problems.push(tr!(Msg::PasswordsFileExists, path = out.display()));
    }
    if !problems.is_empty() {
        let problems = problems.join("\n  ");
        return Err(Error::Usage(tr!(Msg::NothingImported, roster = roster.display(), problems = problems)));
    }
    let hasher = hasher(hashing)?;
    let mut table = csv::Writer::from_writer(Vec::new());
    let mut new = Vec::new();
    let row = |table: &mut csv::Writer<Vec<u8>>, fields: [&str; 2]| {
        table.write_record(fields).map_err(|e| Error::Usage(e.to_string()))
    };
    row(&mut table, ["name", "password"])?;
    for s in &students {
        let password = random_password()?;
        row(&mut table, [&s.name, &password])?;
        let hash = hasher.hash(&password).map_err(Error::Usage)?;
        new.push(NewAccount { name: s.name.clone(), email: s.email.clone(), hash });
    }
    // The passwords first: accounts whose passwords nobody knows would be
    // worse than a passwords file for accounts that failed (removed below).
    let table = table.into_inner().map_err(|e| Error::Usage(e.to_string()))?;
    let n = students.len();
    let mut accounts = match maker {
        Maker::Command(accounts) => accounts,
        Maker::Server(door) => {
            room::import_live(&students, new, room, &door, (&out, &table))?;
            println!("{}", tr!(Msg::Imported, n = n, dir = door.label(), out = out.display()));
            return Ok(());
        }
    };
    let dir = at.data.data_dir.display();
    // Made 0600 (see `store::disk`): only its owner may read the passwords.
    std::sync::Arc::new(RealDisk)
        .replace(&out, &table)
        .map_err(|e| Error::io(tr!(crate::i18n::client::Msg::StoreReplace, path = out.display()), e))?;
    if let Err(e) = accounts.add(new) {
        let _ = std::fs::remove_file(&out);
        return Err(explain(e, &at.data.data_dir, &rows, label));
    }
    println!("{}", tr!(Msg::Imported, n = n, dir = dir, out = out.display()));
    drop(accounts); // its lock: the room's joins take it again
    match room {
        Some(room) => {
            let names: Vec<String> = students.iter().map(|s| s.name.clone()).collect();
            room::add_to_room(room, &names, at)
        }
        None => Ok(()),
    }
}

/// Who makes the accounts of a roster.
enum Maker {
    /// The server running there (a node, on a cluster), asked at its door.
    Server(OpenedDoor),
    /// This command, in a data directory no server runs on.
    Command(Accounts),
}

/// `roster.csv` → `roster.passwords.csv`, next to it.
fn passwords_path(roster: &Path) -> PathBuf {
    let stem = roster.file_stem().map_or("roster".into(), |s| s.to_string_lossy());
    roster.with_file_name(format!("{stem}.passwords.csv"))
}

/// Reads the students of a roster: the columns are found by their header
/// (`name`, `email`, in any case and order); blank rows are skipped.
fn read_roster(path: &Path) -> Result<Vec<Student>> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| Error::io(tr!(Msg::ReadingRoster, path = shown), e))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(&bytes[..]);
    let headers = reader.headers().map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
    let column: HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.to_ascii_lowercase(), i)).collect();
    let Some(&name_at) = column.get("name") else {
        return Err(Error::Usage(tr!(Msg::RosterHeader, path = shown)));
    };
    let email_at = column.get("email").copied();
    let mut students = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
        // The line as an editor numbers it (csv's own count skips blank lines).
        // Its position is where the previous row ended: skip the blank lines between.
        let mut offset = row.position().map_or(0, |p| p.byte() as usize);
        while bytes.get(offset).is_some_and(|b| *b == b'\n' || *b == b'\r') {
            offset += 1;
        }
        let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
        let field = |i: usize| row.get(i).unwrap_or("").to_string();
        if row.iter().all(str::is_empty) {
            continue;
        }
        students.push(Student { line, name: field(name_at), email: email_at.map(field).unwrap_or_default() });
    }
    if students.is_empty() {
        return Err(Error::Usage(tr!(Msg::RosterEmpty, path = shown)));
    }
    Ok(students)
}

/// [`crate::store::accounts::problems`] for a roster beside a running
/// server: the accounts are read as `users list` reads them (its
/// `users.csv`, or a cluster's database).
fn live_problems(rows: &[(&str, &str)], door: &OpenedDoor) -> Result<Vec<(usize, Problem)>> {
    let accounts = door.accounts()?;
    Ok(crate::store::accounts::problems(rows, |name| {
        let key = crate::protocol::names::fold(name);
        let a = accounts.iter().find(|a| crate::protocol::names::fold(&a.name) == key)?;
        Some(if a.removed { Problem::Removed(a.name.clone()) } else { Problem::Taken(a.name.clone()) })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passwords_file_sits_next_to_the_roster() {
        assert_eq!(passwords_path(Path::new("data/roster.csv")), Path::new("data/roster.passwords.csv"));
        assert_eq!(passwords_path(Path::new("class.sample.csv")), Path::new("class.sample.passwords.csv"));
    }

    #[test]
    fn a_roster_is_read_by_its_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.csv");
        std::fs::write(&path, "Email, Name ,group\nana@x.org, ana ,A\n\n,bob,B\n").unwrap();
        let students = read_roster(&path).unwrap();
        let got: Vec<(u64, &str, &str)> =
            students.iter().map(|s| (s.line, s.name.as_str(), s.email.as_str())).collect();
        assert_eq!(got, [(2, "ana", "ana@x.org"), (4, "bob", "")]);
        std::fs::write(&path, "student,mail\nana,a@x\n").unwrap();
        let err = read_roster(&path).err().unwrap().to_string();
        assert!(err.ends_with("the first row must be the header name,email"), "{err}");
    }
}
