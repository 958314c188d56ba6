//! A class on a cluster: the teacher's `wachat users` commands with
//! `--store` (add, import into a room, room, admin, passwd, export) are
//! the whole cluster's while its nodes run, as they are a single
//! server's beside it (tests/tools/teacher.rs); and a node's own data
//! directory, which holds its copy of the cluster's log, is refused.

use std::time::Duration;

use super::support::cluster::Cluster;
use super::support::console::{Outcome, run_wachat};
use super::{PW, register};
use wachat::store::door::{Door, Inquiry};

/// `wachat users <args> --store <the cluster's database>`.
fn users(cluster: &Cluster, args: &[&str], password: &str) -> Outcome {
    super::support::console::users(["--store", &cluster.pg.url], args, password)
}

#[test]
fn a_teachers_commands_with_store_are_the_whole_clusters() {
    let cluster = Cluster::start();
    // No node runs yet: a request waits, is not taken, and is withdrawn.
    let door = wachat::cluster::door::PgDoor::open(&cluster.pg.url).unwrap();
    assert_eq!(door.ask(Inquiry::Export, b"ana\n", Duration::from_millis(300)).unwrap(), None);
    let left: i64 = cluster.pg.client().query_one("SELECT count(*) FROM admin_requests", &[]).unwrap().get(0);
    assert_eq!(left, 0, "the request was withdrawn");

    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    // ana listens on node b, in a room the teacher's roster will join.
    let mut ana_send = b.login_send("ana", PW);
    assert_eq!(ana_send.request("JOIN:#lab"), "OK");
    let mut ana = b.recv_conn();
    assert_eq!(ana.request("VERSION:1.1"), "OK", "member events");
    assert_eq!(ana.request(&format!("LOGIN:ana:{PW}")), "OK:ana");

    // add: the account is the cluster's, whichever node one logs in on.
    let added = users(&cluster, &["add", "carla"], "pw-carla-1").ok();
    assert!(added.starts_with("added carla"), "{added}");
    assert_eq!(b.send_conn().request("LOGIN:carla:pw-carla-1"), "OK:carla");
    let again = users(&cluster, &["add", "Carla"], "pw-carla-1");
    assert!(!again.status.success() && again.stderr.contains("carla"), "a taken name: {}", again.stderr);

    // import --room: all accounts, in the room, its members told.
    let tmp = tempfile::tempdir().unwrap();
    let roster = tmp.path().join("class.csv");
    std::fs::write(&roster, "name,email\ndan,\neve,eve@example.org\n").unwrap();
    let imported = users(&cluster, &["import", roster.to_str().unwrap(), "--room", "#lab"], "").ok();
    assert!(imported.starts_with("imported 2 accounts"), "{imported}");
    ana.hears("MEMBER:#lab:dan:JOINED");
    ana.hears("MEMBER:#lab:eve:JOINED");
    let passwords = std::fs::read_to_string(tmp.path().join("class.passwords.csv")).unwrap();
    let dan_pw = passwords.lines().find_map(|l| l.strip_prefix("dan,")).unwrap();
    let mut dan = a.login_send("dan", dan_pw);
    assert!(dan.listing("ROOMS").iter().any(|r| r.starts_with("#lab")), "in the room on the other node");
    // A roster with a taken name makes nothing, and names the line.
    std::fs::write(&roster, "name,email\nfred,\nDAN,\n").unwrap();
    let _ = std::fs::remove_file(tmp.path().join("class.passwords.csv"));
    let refused = users(&cluster, &["import", roster.to_str().unwrap()], "");
    assert!(!refused.status.success() && refused.stderr.contains("line 3"), "{}", refused.stderr);
    assert!(b.send_conn().request("LOGIN:fred:x").starts_with("KO:"), "fred was not made");

    // room: carla joins as by her own JOIN; twice is nothing new.
    assert_eq!(users(&cluster, &["room", "#lab", "--add", "carla"], "").ok().trim(), "carla is now in #lab");
    ana.hears("MEMBER:#lab:carla:JOINED");
    let twice = users(&cluster, &["room", "#lab", "--add", "carla"], "").ok();
    assert!(twice.contains("already"), "{twice}");

    // admin: every node knows carla's rank.
    users(&cluster, &["admin", "carla"], "").ok();
    let mut carla = b.login_send("carla", "pw-carla-1");
    assert_eq!(carla.listing("ROOMINFO:#general").last().map(String::as_str), Some("ROLE:SERVER_ADMIN"));

    // passwd: the student who lost laptop and password.
    // The laptop's token, and every session of hers on either node (the
    // old password's, one of a device never on record), end with it.
    let code = ana_send.request("LINK");
    let code = code.strip_prefix("OK:").unwrap_or_else(|| panic!("{code}")).to_string();
    let laptop = b.send_conn().request(&format!("PAIR:ana@laptop:{code}"));
    let laptop = laptop.strip_prefix("OK:").unwrap_or_else(|| panic!("{laptop}")).to_string();
    let mut thief = a.send_conn();
    assert_eq!(thief.request(&format!("LOGIN:ana@laptop:{laptop}")), "OK:ana");
    let mut thief_events = a.recv_conn();
    assert_eq!(thief_events.request("VERSION:1.2"), "OK");
    assert_eq!(thief_events.request(&format!("LOGIN:ana@laptop:{laptop}")), "OK:ana");
    let mut unrecorded = [a.login_send("ana@spare", PW), b.login_send("ana@spare", PW)];
    users(&cluster, &["passwd", "ana"], "new-secret-1").ok();
    assert_eq!(thief_events.next_event(), "BYE:UNLINKED");
    for (session, which) in [(&mut thief, "the token's"), (&mut ana_send, "the old password's")]
        .into_iter()
        .chain(unrecorded.iter_mut().map(|c| (c, "a device never on record")))
    {
        let left = session.read_to_close();
        assert!(!left.contains("OK"), "{which} session is closed: {left:?}");
    }
    // The new password on every node, the old one and the token nowhere.
    for node in [&a, &b] {
        assert!(node.send_conn().request(&format!("LOGIN:ana:{PW}")).starts_with("KO:AUTH_FAILED"));
        assert!(
            node.send_conn().request(&format!("LOGIN:ana@laptop:{laptop}")).starts_with("KO:AUTH_FAILED")
        );
        assert_eq!(node.send_conn().request("LOGIN:ana:new-secret-1"), "OK:ana");
    }

    // export: what the cluster holds of ana, her room included.
    let exported = users(&cluster, &["export", "ana"], "").ok();
    assert!(exported.lines().any(|l| l.contains("#lab")), "{exported}");
    let nobody = users(&cluster, &["export", "nobody"], "");
    assert!(!nobody.status.success(), "an unknown account: {}", nobody.stdout);
    let left: i64 = cluster.pg.client().query_one("SELECT count(*) FROM admin_requests", &[]).unwrap().get(0);
    assert_eq!(left, 0, "every answered request is gone");
}

/// A node's data directory holds its copy of the cluster's log: `wachat users`
/// pointed at it says so, names `--store`, and writes nothing there.
#[test]
fn a_nodes_data_directory_is_refused_with_the_store_to_use() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    register(&a, "ana");
    let dir = a.data_dir.to_str().unwrap().to_string();
    for args in [
        vec!["users", "add", "carla", "--data-dir", &dir],
        vec!["users", "list", "--data-dir", &dir],
        vec!["users", "room", "#lab", "--add", "ana", "--data-dir", &dir],
        vec!["users", "disable", "ana", "--data-dir", &dir],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = run_wachat(&args, "pw-carla-1", "");
        assert!(!out.status.success(), "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.contains("cluster node") && out.stderr.contains("--store"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // The node's users.csv is its copy of the cluster's accounts: carla
    // is not in it, written where no server would read her.
    let copy = std::fs::read_to_string(a.data_dir.join("users.csv")).unwrap_or_default();
    assert!(!copy.contains("carla"), "no account written where no server reads it: {copy}");
    assert!(!a.data_dir.join("disabled").exists());
}
