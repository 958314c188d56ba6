//! What a client can make the store keep: a request that changes nothing
//! writes nothing, rooms per user are capped, and the data directory is
//! private.

use super::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::TestServer;

/// Bytes in the data directory's files (the lock file aside).
fn stored_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in walk(dir) {
        if entry.file_name().is_some_and(|n| n != "wachat.lock") {
            total += std::fs::metadata(&entry).unwrap().len();
        }
    }
    total
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(walk(&path));
        }
        all.push(path);
    }
    all
}

#[test]
fn requests_that_change_nothing_write_nothing() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana", "carl"]);
    let mut carl = server.login_send("carl", "pw-carl");
    assert!(carl.request("MSG:ana:n1:hello").starts_with("OK:"));
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("READ:carl:n1"), "OK");
    assert_eq!(ana.request("JOIN:#club"), "OK");
    let before = stored_bytes(&server.data_dir);
    let burst: String = (0..5000).map(|_| "READ:carl:n1\n").collect();
    ana.send_raw(burst.as_bytes());
    assert!((0..5000).all(|_| ana.line() == "OK"));
    let joins: String = (0..1000).map(|_| "JOIN:#club\n").collect();
    ana.send_raw(joins.as_bytes());
    assert!((0..1000).all(|_| ana.line() == "OK"));
    // A resend of a known id, too.
    let first = carl.request("MSG:ana:n1:hello");
    assert_eq!(carl.request("MSG:ana:n1:hello again"), first);
    let grown = stored_bytes(&server.data_dir) - before;
    assert!(grown <= 4096, "5,000 READs and 1,000 JOINs that change nothing wrote {grown} bytes");
}

#[test]
fn rooms_per_user_are_capped_and_a_room_can_be_left_to_join_another() {
    let server = TestServer::start_with(&["--rate", "0"]);
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let max = wachat::store::MAX_ROOMS_PER_USER;
    let joins: String = (1..max).map(|i| format!("JOIN:#r{i}\n")).collect();
    ana.send_raw(joins.as_bytes());
    assert!((1..max).all(|_| ana.line() == "OK"), "#general and {} more", max - 1);
    let refused = ana.request("JOIN:#one-too-many");
    assert_eq!(refused, format!("KO:BAD_REQUEST:you are in {max} rooms, the most allowed; LEAVE one first"));
    assert_eq!(ana.request("JOIN:#r1"), "OK", "joining a room one is in is fine");
    assert_eq!(ana.request("LEAVE:#r1"), "OK");
    assert_eq!(ana.request("JOIN:#one-too-many"), "OK");
    assert_eq!(ana.listing("ROOMS").len(), max);
}

#[test]
fn the_data_directory_is_private_and_an_older_one_is_made_so() {
    let mut server = TestServer::start();
    server.register(&["ana"]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(server.terminate().code(), Some(0), "a checkpoint is written at shutdown");
    let dir = server.data_dir.clone();
    assert_eq!(mode(&dir), 0o700);
    for path in walk(&dir) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{}", path.display());
    }
    // Made readable by all, as the first version of the server left it.
    for path in walk(&dir).into_iter().chain([dir.clone()]) {
        let open = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open)).unwrap();
    }
    server.restart(&[]);
    assert!(server.log().join("\n").contains("private (directories 0700, files 0600)"), "{:?}", server.log());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("users.csv")), 0o600);
}
