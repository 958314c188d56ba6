//! The accounts edited offline, then loaded by a server on the same
//! directory: who logs in, what `users.csv` holds, what is refused.

use std::fs;
use std::io::Write;
use std::sync::Arc;

use super::*;

/// Listing lines as written on the wire.
fn wire<T: std::fmt::Display>(lines: Vec<T>) -> Vec<String> {
    lines.iter().map(T::to_string).collect()
}
use crate::protocol::{Chat, Text};
use crate::store::{Hasher, Store};

fn hasher() -> Hasher {
    Hasher::new(8).unwrap()
}

fn new(name: &str, password: &str) -> NewAccount {
    NewAccount { name: name.into(), email: String::new(), hash: hasher().hash(password).unwrap() }
}

/// Opens `dir` as the server does; stopped when dropped.
fn serve(dir: &Path) -> Arc<Store> {
    let backend = LocalStore::open(dir, StoreOptions::default(), Box::new(|_| {})).unwrap();
    Arc::new(Store::new(Arc::new(backend), hasher()))
}

#[test]
fn added_accounts_log_in_on_the_server_and_are_in_general() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path()).unwrap();
    accounts.add(vec![new("ana", "pw-ana"), new("Bob", "pw-bob")]).unwrap();
    drop(accounts);
    let server = serve(dir.path());
    let (ana, _) = server.login("ana", "pw-ana", false).unwrap();
    assert_eq!(server.login("bob", "pw-bob", false).unwrap().1.as_ref(), "Bob");
    assert!(server.login("ana", "pw-bob", false).is_err());
    assert_eq!(wire(server.rooms(ana)), ["#general:2"]);
    drop(server);
    let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert!(users.starts_with("name,email,password_hash,created_ms\nana,,\"$argon2id$"), "{users}");
}

#[test]
fn a_removed_account_cannot_log_in_and_its_history_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    Accounts::open(dir.path()).unwrap().add(vec![new("ana", "pw"), new("bob", "pw")]).unwrap();
    let server = serve(dir.path());
    let (ana, _) = server.login("ana", "pw", false).unwrap();
    let (results, ticket) =
        server.send(ana, &[(Chat::User("bob".into()), "m1".into(), Text::parse("hi").unwrap())]);
    assert!(results[0].is_ok());
    server.wait(ticket).unwrap();
    drop(server);

    let mut accounts = Accounts::open(dir.path()).unwrap();
    accounts.remove("BOB").unwrap();
    assert!(accounts.find("bob").unwrap().is_removed());
    assert!(matches!(accounts.remove("bob"), Err(AdminError::Removed(name)) if name == "bob"));
    assert!(matches!(accounts.set_password("bob", "x".into()), Err(AdminError::Removed(_))));
    drop(accounts);

    let server = serve(dir.path());
    assert!(server.login("bob", "pw", false).is_err(), "a removed account cannot log in");
    assert_eq!(
        server.history(ana, &Chat::User("bob".into()), 5, usize::MAX).unwrap().collect().unwrap().len(),
        1
    );
    assert_eq!(wire(server.rooms(ana)), ["#general:1"], "bob left #general");
}

#[test]
fn a_deleted_account_is_scrubbed_from_users_csv_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let hash = hasher().hash("pw").unwrap();
    let ana = NewAccount { name: "ana".into(), email: "ana@example.org".into(), hash };
    Accounts::open(dir.path()).unwrap().add(vec![ana, new("bob", "pw")]).unwrap();
    let server = serve(dir.path());
    let (ana, _) = server.login("ana", "pw", false).unwrap();
    server.wait(server.delete_account(ana).unwrap()).unwrap();
    assert!(server.login("ana", "pw", false).is_err());
    let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert!(users.contains("ana@example.org"), "only appended to while a server runs");
    drop(server);
    let server = serve(dir.path());
    let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert!(users.contains("\nana,,!deleted:") && !users.contains("example.org"), "{users}");
    assert!(server.login("bob", "pw", false).is_ok());
    let again = server.register("ANA", "", "pw-new").unwrap_err();
    assert!(again.reason.contains("belonged to an account that was deleted"), "{}", again.reason);
    drop(server);
    let accounts = Accounts::open(dir.path()).unwrap();
    assert!(accounts.find("ana").unwrap().is_removed(), "wachat users sees it removed");
    assert_eq!(accounts.problems(&[("Ana", "")]), [(0, Problem::Deleted("ana".into()))]);
}

#[test]
fn a_reused_name_keeps_one_row_in_users_csv_the_new_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let hash = hasher().hash("pw").unwrap();
    let ana = NewAccount { name: "ana".into(), email: "ana@old.example.org".into(), hash };
    Accounts::open(dir.path()).unwrap().add(vec![ana, new("bob", "pw")]).unwrap();
    let backend = LocalStore::open(dir.path(), StoreOptions::default(), Box::new(|_| {})).unwrap();
    let server = Store::new(Arc::new(backend), hasher()).with_name_quarantine(std::time::Duration::ZERO);
    let (ana, _) = server.login("ana", "pw", false).unwrap();
    server.wait(server.delete_account(ana).unwrap()).unwrap();
    assert_eq!(server.register("ana", "ana@new.example.org", "pw-new").unwrap().0, ana);
    let rows = |users: &str| users.lines().filter(|l| l.starts_with("ana,")).count();
    let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert_eq!(rows(&users), 2, "appended while the server runs: {users}");
    drop(server);
    let server = serve(dir.path());
    let users = fs::read_to_string(dir.path().join("users.csv")).unwrap();
    assert_eq!(rows(&users), 1, "{users}");
    assert!(users.contains("\nana,ana@new.example.org,") && !users.contains("old.example.org"), "{users}");
    assert!(server.login("ana", "pw-new", false).is_ok() && server.login("ana", "pw", false).is_err());
    drop(server);
    let accounts = Accounts::open(dir.path()).unwrap();
    let ana = accounts.find("ana").unwrap();
    assert!(!ana.is_removed() && ana.email == "ana@new.example.org");
}

#[test]
fn a_new_password_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    Accounts::open(dir.path()).unwrap().add(vec![new("ana", "old")]).unwrap();
    let mut accounts = Accounts::open(dir.path()).unwrap();
    accounts.set_password("Ana", hasher().hash("new").unwrap()).unwrap();
    assert!(
        matches!(accounts.set_password("zed", String::new()), Err(AdminError::NoAccount(n)) if n == "zed")
    );
    // An account added after a password change lands in the new file.
    accounts.add(vec![new("cy", "pw")]).unwrap();
    drop(accounts);
    let server = serve(dir.path());
    assert!(server.login("ana", "old", false).is_err());
    assert!(server.login("ana", "new", false).is_ok());
    // The user changes it (a record, carried by the last checkpoint) ...
    let (ana, _) = server.login("ana", "new", false).unwrap();
    server.change_password(ana, "mine").unwrap();
    drop(server);
    let server = serve(dir.path());
    assert!(server.login("ana", "mine", false).is_ok(), "a checkpoint carries the hash");
    drop(server);
    // ... and a teacher's reset after it still wins.
    Accounts::open(dir.path()).unwrap().set_password("ana", hasher().hash("reset").unwrap()).unwrap();
    let server = serve(dir.path());
    assert!(server.login("ana", "mine", false).is_err());
    assert!(server.login("ana", "reset", false).is_ok());
    assert!(server.login("cy", "pw", false).is_ok());
    let mode =
        crate::sys::private::mode_of(&fs::metadata(dir.path().join("users.csv")).unwrap()).unwrap() & 0o777;
    assert_eq!(mode, 0o600, "users.csv is private");
}

#[test]
fn every_problem_is_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path()).unwrap();
    accounts.add(vec![new("ana", "pw"), new("gone", "pw")]).unwrap();
    accounts.remove("gone").unwrap();
    let before = fs::read(dir.path().join("users.csv")).unwrap();
    let rows = [("ANA", ""), ("bad name", ""), ("carl", "no-at"), ("dan", ""), ("Dan", ""), ("gone", "")];
    assert_eq!(
        accounts.problems(&rows),
        [
            (0, Problem::Taken("ana".into())),
            (1, Problem::Name(NameProblem::Char(' '))),
            (2, Problem::Email("no-at".into())),
            (4, Problem::Twice { name: "Dan".into(), first: 3 }),
            (5, Problem::Removed("gone".into())),
        ]
    );
    let refused = accounts.add(vec![new("eve", "pw"), new("ana", "pw")]);
    assert!(matches!(refused, Err(AdminError::Problems(p)) if p == [(1, Problem::Taken("ana".into()))]));
    assert_eq!(fs::read(dir.path().join("users.csv")).unwrap(), before);
    assert!(accounts.find("eve").is_none());
}

#[test]
fn a_running_server_keeps_the_accounts_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let err = Accounts::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("is in use by a running wachat server"), "{err}");
    drop(server);
    assert!(Accounts::open(dir.path()).is_ok(), "free once the server stopped");
}

#[test]
fn a_torn_last_line_is_left_out_and_a_bad_file_refused() {
    let dir = tempfile::tempdir().unwrap();
    Accounts::open(dir.path()).unwrap().add(vec![new("ana", "pw")]).unwrap();
    let users = dir.path().join("users.csv");
    let mut file = fs::OpenOptions::new().append(true).open(&users).unwrap();
    file.write_all(b"half,of,a").unwrap();
    let mut accounts = Accounts::open(dir.path()).unwrap();
    assert_eq!(accounts.list().len(), 1);
    accounts.add(vec![new("bob", "pw")]).unwrap();
    drop(accounts);
    let text = fs::read_to_string(&users).unwrap();
    assert!(!text.contains("half") && text.ends_with('\n'), "{text}");
    drop(serve(dir.path()));

    fs::write(&users, "who,what\nana,x\n").unwrap();
    let err = Accounts::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("users.csv line 1: expected the header"), "{err}");
}
