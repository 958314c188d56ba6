//! A teacher's commands on a packaged server's data directory (README,
//! "Running it for real"): the service runs as a user of its own, and the
//! teacher runs `sudo wachat users …`, `backup` and `restore`, as root.
//! What those write in the directory is its owner's, so the server, run
//! as that user, starts on it and serves what was restored; `wachat
//! serve` itself, run as root on that directory, is refused, naming the
//! user to run it as.
//!
//! The directory's user is `nobody` here, as `wachat` is the package's;
//! these tests run as root, as `.ci/test` does.

use super::support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::TestServer;
use support::console::{Outcome, run_wachat};

/// `nobody`, the user the data directory is given to.
const NOBODY: (u32, u32) = (65534, 65534);

fn wachat(args: &[&str]) -> Outcome {
    run_wachat(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "", "")
}

fn ok(args: &[&str]) -> String {
    let out = wachat(args);
    assert!(out.status.success(), "wachat {args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Every entry under `dir` (itself included), depth first.
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            all.extend(entries(&path));
        } else {
            all.push(path);
        }
    }
    all
}

/// Gives `dir` and everything in it to `nobody`, as the package's service
/// has its own directory.
fn give_to_nobody(dir: &Path) {
    for path in entries(dir) {
        std::os::unix::fs::lchown(&path, Some(NOBODY.0), Some(NOBODY.1)).unwrap();
    }
}

/// The entries under `dir` that are not `nobody`'s.
fn not_nobodys(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).unwrap().uid() != NOBODY.0)
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn what_root_restores_and_adds_in_another_users_directory_is_that_users_and_its_server_serves_it() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "these tests run as root, as .ci/test does");
    let tmp = tempfile::tempdir().unwrap();
    // nobody's server must reach its directory through this one.
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let data = tmp.path().join("data");
    let backup = tmp.path().join("backup");
    let (data_s, backup_s) = (data.to_str().unwrap(), backup.to_str().unwrap());

    let mut server = TestServer::start_in(&data, &[]);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert!(ana.request("MSG:bob:m1:before the backup").starts_with("OK:m1:"));
    ok(&["backup", "--data-dir", data_s, backup_s]);
    assert!(ana.request("MSG:bob:m2:after the backup").starts_with("OK:m2:"));
    assert_eq!(server.terminate().code(), Some(0));
    give_to_nobody(&data);

    // The service stopped: root restores, and adds an account.
    let restored = ok(&["restore", "--data-dir", data_s, "--force", backup_s]);
    assert!(restored.contains("2 accounts"), "{restored}");
    assert_eq!(not_nobodys(&data), Vec::<String>::new(), "restored as root");
    let carla = ok(&["users", "add", "carla", "--random", "--data-dir", data_s, "--kdf-cost", "8"]);
    let carla_pw = carla.trim_end().rsplit("password: ").next().unwrap().to_string();
    assert_eq!(not_nobodys(&data), Vec::<String>::new(), "users add as root");

    // As root, the server is refused, and says as whom to run it.
    let refused = wachat(&["serve", "--data-dir", data_s, "--send-port", "0", "--recv-port", "0"]);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stdout);
    assert!(refused.stderr.contains("belongs to the user nobody"), "{}", refused.stderr);
    assert!(refused.stderr.contains("sudo -u nobody wachat serve"), "{}", refused.stderr);
    assert_eq!(not_nobodys(&data), Vec::<String>::new(), "the refused server wrote nothing");

    // As its owner, the server serves what was restored, and carla.
    let server = TestServer::start_as(NOBODY.0, NOBODY.1, &data, &[]);
    let history = server.login_send("ana", "pw-ana").listing("HISTORY:bob:10");
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(
        history[0].starts_with("ana:bob:m1:") && history[0].ends_with(":before the backup"),
        "{history:?}"
    );
    server.login_send("carla", &carla_pw);
}
