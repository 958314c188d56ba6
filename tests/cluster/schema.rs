//! The schema: a single server's data moved in (`wachat migrate --from`),
//! the first design's last schema refused at a node's start and converted
//! with what it holds by `wachat migrate --to`, any other version refused.

use std::time::Duration;

use std::collections::BTreeMap;
use std::process::Command;

use super::support::cluster::{Cluster, eventually};
use super::support::{self, Conn, TestServer, without_ts};
use super::{PW, recv_conn, register, send_conn, wachat};
use wachat::cluster::db::postgres;

#[test]
fn a_single_servers_data_moves_into_a_cluster_whole() {
    // The single server: accounts, a room, direct messages read and not,
    // an inbox left unacknowledged, a last-seen time.
    let single = TestServer::start();
    for user in ["ana", "bob", "cy"] {
        register(&single, user);
    }
    let mut ana = single.login_send("ana", PW);
    let mut bob = single.login_send("bob", PW);
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    for i in 0..3 {
        assert!(ana.request(&format!("MSG:bob:d{i}:direct {i}")).starts_with("OK:"));
    }
    assert!(bob.request("MSG:#tea:r1:to the room").starts_with("OK:"));
    let mut bob_recv = single.login_recv("bob", PW);
    for _ in 0..3 {
        bob_recv.next_event();
    }
    bob_recv.send("ACK:2");
    // An ACK has no reply: wait until it is stored (d1 DELIVERED), or the
    // picture taken below may be from before it and the cluster's after.
    eventually("bob's ACK:2 stored", Duration::from_secs(10), || {
        ana.listing("HISTORY:bob:10").iter().any(|l| l.contains(":d1:") && l.contains(":DELIVERED:"))
    });
    assert_eq!(bob.request("READ:ana:d0"), "OK");
    assert!(ana.request("MSG:cy:c1:for cy, offline").starts_with("OK:"));
    let before: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| single.login_send("ana", PW).listing(r))
        .collect();
    let bob_chats = bob.listing("CHATS");
    drop(bob_recv);
    eventually("bob's last seen", Duration::from_secs(10), || {
        !ana.request("LASTSEEN:bob").ends_with("ONLINE")
    });
    let seen = ana.request("LASTSEEN:bob");
    let id = ana.request("SERVER");
    drop((ana, bob));
    let mut single = single;
    assert!(single.terminate().success());

    let ran = Cluster::start();
    // A node running refuses the migration: it would go on from its own
    // state. Stopped, it let go of its lease, but its database is not
    // empty any more (it said where it takes node links, a record): the
    // migration goes into another.
    let mut a = ran.node("a");
    let dir = single.data_dir.to_str().unwrap().to_string();
    let refused = wachat(&["migrate", "--from", &dir, "--to", &ran.pg.url], "");
    assert!(
        !refused.status.success() && refused.stderr.contains("node a leads this cluster"),
        "{}",
        refused.stderr
    );
    assert!(a.terminate().success());
    let refused = wachat(&["migrate", "--from", &dir, "--to", &ran.pg.url], "");
    assert!(
        !refused.status.success() && refused.stderr.contains("holds records already"),
        "{}",
        refused.stderr
    );
    let cluster = Cluster::start();
    let moved = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("migrated "), "{}", moved.stdout);
    let again = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(!again.status.success() && again.stderr.contains("holds records already"), "{}", again.stderr);

    let b = cluster.node("b");
    // Node a again, on the database it ran on before the migration: it
    // answers what the migration copied, the server's id included.
    let a = cluster.node("a");
    let after: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| send_conn(&b, "ana").listing(r))
        .collect();
    assert_eq!(after, before);
    assert_eq!(send_conn(&a, "bob").listing("CHATS"), bob_chats);
    assert_eq!(send_conn(&a, "ana").request("LASTSEEN:bob"), seen);
    // The same chat, the same identity: clients keep their folders.
    assert_eq!(send_conn(&b, "ana").request("SERVER"), id);
    assert_eq!(send_conn(&a, "ana").request("SERVER"), id, "a node that ran before the migration");
    // Inboxes go on where they were: bob gets what he did not acknowledge,
    // cy her message, with the numbers they had; new ones follow.
    let mut bob_recv = recv_conn(&a, "bob");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:3:ana:bob:d2:<ts>:direct 2");
    let mut cy_recv = recv_conn(&b, "cy");
    assert_eq!(without_ts(&cy_recv.next_event()), "MSG:1:ana:cy:c1:<ts>:for cy, offline");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:d3:after").starts_with("OK:d3:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:4:ana:bob:d3:<ts>:after");
    // A resend of a migrated message is recognised.
    assert!(ana.request("MSG:bob:d2:again").starts_with("OK:d2:"));
    assert_eq!(send_conn(&b, "bob").listing("HISTORY:ana:10").len(), 4);
}

#[test]
fn a_node_refuses_a_schema_newer_than_it_knows() {
    let cluster = Cluster::start();
    drop(cluster.node("a")); // creates the schema
    cluster.pg.client().batch_execute("UPDATE wachat_schema SET version = 999").unwrap();
    let stderr = refused_start(&cluster);
    assert!(stderr.contains("schema is version 999, newer than this wachat knows"), "{stderr}");
}

/// A database of the first design older than its last schema (18) is
/// refused with what to do, and left as it was: only version 18 is
/// upgraded in place.
#[test]
fn a_node_refuses_a_schema_older_than_the_first_designs_last() {
    let cluster = Cluster::start_empty();
    let mut pg = cluster.pg.client();
    pg.batch_execute(
        "CREATE TABLE wachat_schema (version integer NOT NULL); INSERT INTO wachat_schema VALUES (17); \
         CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL); \
         INSERT INTO users (name) VALUES ('ana');",
    )
    .unwrap();
    let stderr = refused_start(&cluster);
    assert!(
        stderr.contains("schema is version 17, older than version 18")
            && stderr.contains("first bring it to version 18 with wachat a2d2db5"),
        "{stderr}"
    );
    let version = schema_version(&mut pg);
    assert_eq!(version, 17);
    let tables: Vec<String> = pg
        .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, ["users", "wachat_schema"], "nothing made, nothing dropped");
}

/// What a node started on `cluster`'s database said as it exited, which
/// it must have done, and not well.
fn refused_start(cluster: &Cluster) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(support::wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--data-dir"])
        .arg(data.path())
        .args(["--store", &cluster.pg.url])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = support::wait_with_timeout(&mut child, support::READ_TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}

/// A database made by the first design's build (schema 18, a2d2db5), with
/// what a class leaves in it (`tests/fixtures/cluster_v18.sql`, made by
/// `make_the_schema_18_fixture` below): a node refuses to start on it,
/// naming `wachat migrate`, and leaves it as it was; `wachat migrate
/// --from` refuses to copy into it; `wachat migrate --to` converts it:
/// every account logs in with its password, a linked device with its
/// token; every read request answers what the old build answered (its
/// answers are `cluster_v18.answers`), on the leader and on a follower;
/// every device's inbox replays the events that waited, with their
/// numbers; and the old tables are gone. A second conversion has nothing
/// to do.
#[test]
fn a_schema_18_database_is_refused_at_a_start_and_converted_by_wachat_migrate() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected = sections(&std::fs::read_to_string(fixtures.join("cluster_v18.answers")).unwrap());
    let cluster = Cluster::start_empty();
    // Its own connection: the dump empties its search_path.
    let sql = std::fs::read_to_string(fixtures.join("cluster_v18.sql")).unwrap();
    cluster.pg.client().batch_execute(&sql).unwrap();
    let mut pg = cluster.pg.client();
    let stderr = refused_start(&cluster);
    let command = format!("convert it with `wachat migrate --to {}`", cluster.pg.url);
    assert!(stderr.contains("a cluster of wachat's first design (schema version 18)"), "{stderr}");
    assert!(stderr.contains(&command), "{stderr}");
    assert_eq!(schema_version(&mut pg), 18, "a start changes nothing");
    assert!(has_table(&mut pg, "messages") && !has_table(&mut pg, "log"));
    let single = tempfile::tempdir().unwrap();
    let into = wachat(&["migrate", "--from", single.path().to_str().unwrap(), "--to", &cluster.pg.url], "");
    assert!(!into.status.success() && into.stderr.contains(&command), "{}", into.stderr);
    let converted = wachat(&["migrate", "--to", &cluster.pg.url], "");
    assert!(converted.status.success(), "{}{}", converted.stdout, converted.stderr);
    assert!(converted.stdout.contains("the first design's tables are now the log"), "{}", converted.stdout);
    assert!(converted.stdout.contains("converted "), "{}", converted.stdout);
    let again = wachat(&["migrate", "--to", &cluster.pg.url], "");
    assert!(!again.status.success() && again.stderr.contains("nothing to convert"), "{}", again.stderr);
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let version = schema_version(&mut pg);
    assert_eq!(version, wachat::cluster::schema::CURRENT, "the schema brought up to date");
    let old: i64 = pg
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename IN ('users', 'messages', 'events')", &[])
        .unwrap()
        .get(0);
    assert_eq!(old, 0, "the first design's tables are dropped");
    for node in [&a, &b] {
        let got = sections(&answers(node));
        for (head, lines) in &got {
            assert_eq!(Some(lines), expected.get(head), "{head}");
        }
        assert_eq!(
            got.len(),
            expected.keys().filter(|h| !h.contains(" replay ") && !h.contains(" token ")).count()
        );
    }
    let token = &expected["bob token tablet"][0];
    let mut tablet = a.send_conn();
    assert_eq!(tablet.request(&format!("LOGIN:bob@tablet:{token}")), "OK:bob");
    for (user, device) in REPLAYED {
        let mut c = receiver(if user == "bob" { &b } else { &a }, user, device);
        assert_eq!(drain(&mut c), expected[&format!("{user} replay {device}")], "{user}@{device}");
    }
    // gus deleted his account: no login.
    assert!(a.send_conn().request(&format!("LOGIN:gus:{PW}")).starts_with("KO:"));
    // New events follow the old numbers.
    let mut cy = receiver(&a, "cy", "default");
    drain(&mut cy);
    let mut ana = a.login_send("ana", PW);
    assert!(ana.request("MSG:cy:n1:after the upgrade").starts_with("OK:n1:"));
    // Presence is passed over: bob's connections above have ended, and cy,
    // in a room with him, may hear his `LEFT` first.
    assert_eq!(without_ts(&cy.next_event()), "MSG:15:ana:cy:n1:<ts>:after the upgrade");
}

/// A schema-18 database whose rows do not make a log (a message numbered
/// past its chat's end) is refused whole: `wachat migrate` fails, and the
/// database is as it was, at version 18, its tables (the devices by
/// account number among them) all there and no table of the log made.
#[test]
fn a_schema_18_database_that_cannot_be_upgraded_is_left_as_it_was() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cluster = Cluster::start_empty();
    let sql = std::fs::read_to_string(fixtures.join("cluster_v18.sql")).unwrap();
    cluster.pg.client().batch_execute(&sql).unwrap();
    let mut pg = cluster.pg.client();
    pg.batch_execute("UPDATE messages SET ord = ord + 1000 WHERE id = (SELECT min(id) FROM messages)")
        .unwrap();
    let tables = |pg: &mut postgres::Client| -> Vec<String> {
        let query = "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1";
        pg.query(query, &[]).unwrap().iter().map(|row| row.get(0)).collect()
    };
    let before = tables(&mut pg);
    let converted = wachat(&["migrate", "--to", &cluster.pg.url], "");
    assert!(!converted.status.success(), "{}", converted.stdout);
    assert!(converted.stderr.contains("upgrading the first design's tables"), "{}", converted.stderr);
    assert_eq!(tables(&mut pg), before);
    assert!(!before.iter().any(|t| t == "log"));
    let version = schema_version(&mut pg);
    assert_eq!(version, 18);
    let by_account: i64 = pg
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_name = 'devices' AND column_name = 'user_id'", &[])
        .unwrap()
        .get(0);
    assert_eq!(by_account, 1, "the devices' table as version 18 has it");
}

/// A database at a version between the first design's and this one's,
/// which only development builds made, is refused at a start and by
/// `wachat migrate`, and left as it was.
#[test]
fn a_schema_no_release_made_is_refused_and_left_as_it_was() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    assert!(a.terminate().success());
    let mut pg = cluster.pg.client();
    pg.batch_execute("UPDATE wachat_schema SET version = 19").unwrap();
    let stderr = refused_start(&cluster);
    assert!(stderr.contains("schema is version 19, which no release of wachat made"), "{stderr}");
    let converted = wachat(&["migrate", "--to", &cluster.pg.url], "");
    assert!(!converted.status.success() && converted.stderr.contains("version 19"), "{}", converted.stderr);
    assert_eq!(schema_version(&mut pg), 19);
}

/// A single server's disabled accounts and devices kept in files of
/// their own by an older build (`disabled/`, `devices.csv`) move into
/// the cluster with `wachat migrate`, as records of its log: bob stays
/// disabled, ana's tablet logs in with its token.
#[test]
fn a_single_servers_disabled_accounts_and_devices_move_into_a_cluster() {
    let mut single = TestServer::start();
    for user in ["ana", "bob"] {
        register(&single, user);
    }
    assert!(single.terminate().success());
    std::fs::create_dir(single.data_dir.join("disabled")).unwrap();
    std::fs::write(single.data_dir.join("disabled").join("bob"), "").unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    let hash: String = wachat::store::devices::hash_token(token).iter().map(|b| format!("{b:02x}")).collect();
    let rows = format!(
        "user,device,position,seen,address,token\nana,tablet,0,{},10.0.0.8,{hash}\n",
        wachat::store::now_ms()
    );
    std::fs::write(single.data_dir.join("devices.csv"), rows).unwrap();
    let cluster = Cluster::start();
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(!single.data_dir.join("devices.csv").exists(), "its rows are records of the log");
    let a = cluster.node("a");
    let refused = a.send_conn().request(&format!("LOGIN:bob:{PW}"));
    assert_eq!(refused, "KO:AUTH_FAILED:the account bob is disabled by the server's administrator");
    a.login_send("ana", PW);
    assert_eq!(a.send_conn().request(&format!("LOGIN:ana@tablet:{token}")), "OK:ana", "the token moved");
}

/// The sections of an answers file: `== <user> <request>` and its lines.
/// The version the database's schema is at.
fn schema_version(pg: &mut postgres::Client) -> i32 {
    pg.query_one("SELECT version FROM wachat_schema", &[]).unwrap().get(0)
}

/// Whether the database has a table `name`.
fn has_table(pg: &mut postgres::Client, name: &str) -> bool {
    pg.query_one("SELECT count(*) FROM pg_tables WHERE tablename = $1", &[&name]).unwrap().get::<i64>(0) > 0
}

fn sections(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut head = String::new();
    for line in text.lines() {
        match line.strip_prefix("== ") {
            Some(h) => {
                head = h.to_string();
                out.entry(head.clone()).or_default();
            }
            None => out.get_mut(&head).expect("a section").push(line.to_string()),
        }
    }
    out
}

/// The fixture's accounts, live ones first; gus deleted his.
const USERS: [&str; 7] = ["ana", "bob", "cy", "dan", "eve", "fay", "gus"];

/// The devices whose inbox the fixture replays: (user, device, 1.2?).
const REPLAYED: [(&str, &str); 4] =
    [("ana", "default"), ("cy", "default"), ("bob", "phone"), ("bob", "laptop")];

/// The passwords of the fixture's accounts (`PW` for the others): dan
/// changed his, and fay's name belongs to a second account.
fn password(user: &str) -> &'static str {
    match user {
        "dan" | "fay" => "password2",
        _ => PW,
    }
}

/// A receive connection of `user`'s `device`: 1.0 for `default`, else 1.2.
fn receiver(node: &TestServer, user: &str, device: &str) -> Conn {
    let mut c = node.recv_conn();
    let login = if device == "default" {
        format!("LOGIN:{user}:{}", password(user))
    } else {
        assert_eq!(c.request("VERSION:1.2"), "OK");
        format!("LOGIN:{user}@{device}:{}", password(user))
    };
    assert_eq!(c.request(&login), format!("OK:{user}"));
    c
}

fn ok(c: &mut Conn, request: &str) -> String {
    let reply = c.request(request);
    assert!(reply.starts_with("OK"), "{request}: {reply}");
    reply
}

/// The events that come before a second of silence (`PING`s answered,
/// presence and typing left out): a replay, or what requests gave.
fn drain(c: &mut Conn) -> Vec<String> {
    let mut events = Vec::new();
    while let Some(line) = c.line_within(Duration::from_secs(1)) {
        if line == "PING" {
            c.send("PONG");
        } else if !["JOINED:", "LEFT:", "MEMBER:", "TYPING:"].iter().any(|p| line.starts_with(p)) {
            events.push(line);
        }
    }
    events
}

/// Reads everything sent to `c` and acknowledges up to `upto` (all: `None`).
fn acknowledge(c: &mut Conn, upto: Option<u64>) {
    let seqs = drain(c).into_iter().filter_map(|e| e.split(':').nth(1)?.parse::<u64>().ok());
    let last = seqs.max().unwrap_or(0);
    if let Some(n) = upto.map_or(Some(last), |u| (u > 0).then_some(u.min(last))) {
        c.send(&format!("ACK:{n}"));
    }
}

/// The old build's answers to the fixed read requests of every live
/// account, as the fixture's answers file holds them.
pub fn answers(node: &TestServer) -> String {
    let mut out = String::new();
    for user in &USERS[..6] {
        let mut c = node.login_send(user, password(user));
        let mut asked = Vec::new();
        for request in ["CHATS", "ROOMS", "BLOCKS", "PREFS", "ARCHIVED", "STARRED", "DEVICES", "FILES"] {
            let reply = ask(&mut c, request);
            if request == "CHATS" || request == "ROOMS" {
                for line in &reply[1..] {
                    let chat = line.split(':').next().unwrap().to_string();
                    if !asked.contains(&chat) {
                        asked.push(chat);
                    }
                }
            }
            record(&mut out, user, request, &reply);
        }
        for chat in asked {
            for request in [format!("HISTORY:{chat}:200")].into_iter().chain(
                chat.starts_with('#')
                    .then(|| [format!("ROOMINFO:{chat}"), format!("MEMBERS:{chat}")])
                    .into_iter()
                    .flatten(),
            ) {
                let reply = ask(&mut c, &request);
                record(&mut out, user, &request, &reply);
            }
        }
        for other in USERS {
            let request = format!("LASTSEEN:{other}");
            let reply = vec![c.request(&request)];
            record(&mut out, user, &request, &reply);
        }
        let reply = ask(&mut c, "SEARCH:*:lab");
        record(&mut out, user, "SEARCH:*:lab", &reply);
    }
    out
}

/// A listing request's whole reply: its `OK:<n>` (or `KO`) and its lines.
pub fn ask(c: &mut Conn, request: &str) -> Vec<String> {
    let head = c.request(request);
    let n: usize = head.strip_prefix("OK:").and_then(|n| n.parse().ok()).unwrap_or(0);
    std::iter::once(head).chain((0..n).map(|_| c.line())).collect()
}

fn record(out: &mut String, user: &str, request: &str, reply: &[String]) {
    out.push_str(&format!("== {user} {request}\n"));
    for line in reply {
        out.push_str(line);
        out.push('\n');
    }
}

/// Makes `tests/fixtures/cluster_v18.sql` and `cluster_v18.answers` with
/// the binary of the first design's last build (a2d2db5), named by
/// `WACHAT_OLD`: a class's worth of everything, played through two old
/// nodes, the old build's answers recorded, the database dumped:
///
/// ```text
/// git worktree add /tmp/old a2d2db5 && (cd /tmp/old && cargo build --features cluster)
/// WACHAT_OLD=/tmp/old/target/debug/wachat \
///     cargo test --features cluster --test cluster make_the_schema_18_fixture -- --ignored
/// ```
#[test]
#[ignore = "makes the fixture with an old build: WACHAT_OLD=<its wachat> … -- --ignored"]
fn make_the_schema_18_fixture() {
    let old = std::env::var("WACHAT_OLD").expect("WACHAT_OLD: the wachat binary of a2d2db5");
    let cluster = Cluster::start_empty();
    let node = |name: &str| {
        // That build forwards over NATS: the one at WACHAT_OLD_BUS.
        let bus = std::env::var("WACHAT_OLD_BUS").expect("WACHAT_OLD_BUS: a nats-server for that build");
        let args = ["--store", &cluster.pg.url, "--bus", &bus, "--node", name];
        let args = [&args[..], &["--rate", "0", "--name-quarantine-days", "0"]].concat();
        TestServer::start_bin(&old, &args)
    };
    let (mut a, mut b) = (node("a"), node("b"));
    for (i, user) in USERS.iter().enumerate() {
        let node = if i % 2 == 0 { &a } else { &b };
        let mut c = node.send_conn();
        assert_eq!(c.request(&format!("REGISTER:{user}::{PW}")), format!("OK:{user}"));
    }
    let admin =
        Command::new(&old).args(["users", "admin", "ana", "--store", &cluster.pg.url]).output().unwrap();
    assert!(admin.status.success(), "{}", String::from_utf8_lossy(&admin.stderr));
    let mut ana_recv = receiver(&a, "ana", "default");
    let mut laptop = receiver(&b, "bob", "laptop");
    let mut phone = receiver(&a, "bob", "phone");
    let mut ana = a.login_send("ana", PW);
    let mut bob = b.login_send("bob@laptop", PW);
    let mut cy = a.login_send("cy", PW);
    let mut dan = b.login_send("dan", PW);
    let mut eve = a.login_send("eve", PW);
    let mut fay = b.login_send("fay", PW);
    let mut gus = a.login_send("gus", PW);

    ok(&mut ana, "MSG:#general:g0:hello everyone");
    // #lab, ana's: a topic, bob an admin, dan muted (ten years), eve banned.
    ok(&mut ana, "JOIN:#lab");
    for c in [&mut bob, &mut cy, &mut dan, &mut fay, &mut gus] {
        ok(c, "JOIN:#lab");
    }
    ok(&mut ana, "TOPIC:#lab:Distributed systems, week 3");
    ok(&mut ana, "OP:#lab:bob");
    ok(&mut ana, "MUTE:#lab:dan:5270400");
    ok(&mut ana, "BAN:#lab:eve:0");
    // #club, cy's: invite-only, announce-only, dan in, ana invited.
    ok(&mut cy, "JOIN:#club");
    ok(&mut cy, "MODE:#club:+invite");
    ok(&mut cy, "INVITE:#club:dan");
    ok(&mut dan, "JOIN:#club");
    ok(&mut cy, "INVITE:#club:ana");
    ok(&mut cy, "MODE:#club:+announce");
    ok(&mut cy, "MSG:#club:c1:welcome to the club");
    // ana and bob: a reply, an edit, a reaction, a deletion.
    ok(&mut ana, "MSG:bob:d1:hello bob");
    ok(&mut ana, "MSG:bob:d2:are you there?");
    ok(&mut bob, "MSG:ana:b1:yes");
    ok(&mut bob, "REPLY:ana:b2:d2:on my way");
    ok(&mut ana, "EDIT:bob:d2:are you there now?");
    ok(&mut ana, "REACT:bob:b1:👍");
    ok(&mut ana, "MSG:bob:d3:to be deleted");
    ok(&mut ana, "DELETE:bob:d3");
    // The room: a reply and a reaction; dan is muted.
    ok(&mut ana, "MSG:#lab:r1:welcome to the lab");
    ok(&mut bob, "MSG:#lab:r2:thanks");
    ok(&mut cy, "REPLY:#lab:r3:r1:glad to be here");
    ok(&mut bob, "REACT:#lab:r1:❤️");
    assert!(dan.request("MSG:#lab:x1:can I speak?").starts_with("KO:FORBIDDEN"));
    ok(&mut gus, "MSG:#lab:gr:gus was here");
    ok(&mut fay, "MSG:#lab:fr:fay was here");
    // Marks: the laptop reads all, the phone stays at 3; ana's receipts.
    acknowledge(&mut laptop, None);
    acknowledge(&mut phone, Some(3));
    acknowledge(&mut ana_recv, None);
    ok(&mut bob, "READ:ana:d2");
    ok(&mut ana, "READ:bob:b2");
    ok(&mut ana, "READ:#lab:r3");
    acknowledge(&mut laptop, None);
    acknowledge(&mut ana_recv, None);
    // ana goes away: what follows waits in her inbox.
    drop(ana_recv);
    ok(&mut bob, "MSG:ana:b3:see you at 11");
    ok(&mut ana, "MSG:bob:d4:ok");
    acknowledge(&mut laptop, None);
    ok(&mut bob, "READ:ana:d4");
    // cy never logged in to receive: all of it waits for her, the #lab
    // messages up to her kick.
    ok(&mut ana, "MSG:cy:a1:for cy, who is away");
    ok(&mut bob, "MSG:cy:bc:from bob too");
    ok(&mut ana, "KICK:#lab:cy");
    ok(&mut ana, "MSG:#lab:r4:after cy left");
    // gus deletes his account; fay hers, and her name is taken again.
    ok(&mut gus, "MSG:ana:g1:bye from gus");
    ok(&mut gus, &format!("DELACCOUNT:{PW}"));
    ok(&mut fay, "MSG:ana:f1:old fay");
    ok(&mut fay, &format!("DELACCOUNT:{PW}"));
    let mut c = b.send_conn();
    assert_eq!(c.request("REGISTER:fay::password2"), "OK:fay");
    let mut fay = b.login_send("fay", "password2");
    ok(&mut fay, "MSG:ana:f2:new fay here");
    ok(&mut ana, "MSG:fay:a2:welcome back, new fay");
    // #tmp is left empty, then made again under another spelling.
    ok(&mut eve, "JOIN:#tmp");
    ok(&mut eve, "MSG:#tmp:t1:first life");
    ok(&mut eve, "LEAVE:#tmp");
    ok(&mut dan, "JOIN:#Tmp");
    ok(&mut dan, "MSG:#Tmp:t2:second life");
    ok(&mut eve, "JOIN:#tmp");
    // dan blocks eve: her message goes nowhere.
    ok(&mut dan, "BLOCK:eve");
    ok(&mut eve, "MSG:dan:e1:you will not see this");
    // Settings.
    ok(&mut ana, "ARCHIVE:dan");
    ok(&mut ana, "NOTIFY:#lab:mentions");
    ok(&mut ana, "PIN:bob");
    ok(&mut ana, "STAR:bob:bob:b1");
    ok(&mut bob, "NOTIFY:cy:none");
    ok(&mut bob, "PIN:#lab");
    // A file, in a direct chat and in the room.
    let id = super::support::files::upload(&mut ana, "notes.txt", b"lecture notes, week 3\n");
    ok(&mut ana, &format!("FILE:bob:f1:{id}:the notes"));
    ok(&mut ana, &format!("FILE:#lab:f2:{id}:for everyone"));
    // A device linked with a code, and dan's new password.
    let code = ok(&mut bob, "LINK").strip_prefix("OK:").unwrap().to_string();
    let mut tablet = b.send_conn();
    let token = tablet.request(&format!("PAIR:bob@tablet:{code}"));
    let token = token.strip_prefix("OK:").expect("a token").to_string();
    ok(&mut dan, "PASSWD:password1:password2");
    acknowledge(&mut laptop, None);
    drop((laptop, phone, tablet));
    // eve was online a moment: a last-seen time.
    acknowledge(&mut receiver(&b, "eve", "default"), None);
    drop((ana, bob, cy, dan, eve, fay, gus, c));
    std::thread::sleep(Duration::from_secs(2)); // the devices' positions, written each second

    let mut out = String::new();
    for (user, device) in REPLAYED {
        let mut c = receiver(if user == "bob" { &b } else { &a }, user, device);
        record(&mut out, user, &format!("replay {device}"), &drain(&mut c));
    }
    std::thread::sleep(Duration::from_secs(2)); // their last-seen times
    record(&mut out, "bob", "token tablet", &[token]);
    out.push_str(&answers(&a));
    assert!(a.terminate().success() && b.terminate().success());

    let dump = Command::new("pg_dump")
        .args(["--inserts", "--no-owner", "--no-privileges", &cluster.pg.url])
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    // psql's meta-commands (\restrict) out: plain SQL any client runs.
    let sql: String = String::from_utf8(dump.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .map(|l| format!("{l}\n"))
        .collect();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::write(fixtures.join("cluster_v18.sql"), sql).unwrap();
    std::fs::write(fixtures.join("cluster_v18.answers"), out).unwrap();
}

/// A database of schema 22 kept the files' descriptions in tables of
/// their own (`files`, `file_carriers`), which a node refuses, naming the
/// command; `wachat migrate --to` writes each file into the log as the
/// records that describe it as its rows did (its owner, its carriers in
/// the order they were attached, a side that left), keeps its bytes, and
/// drops the two tables: bob fetches the file byte for byte, the name of
/// its deleted uploader does not read it, and cy's upload under way goes on.
#[test]
fn a_schema_22_database_has_its_files_tables_converted_into_the_log_by_wachat_migrate() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    for user in ["ana", "bob", "cy"] {
        register(&a, user);
    }
    assert!(a.terminate().success());
    let mut pg = cluster.pg.client();
    // The tables as schema 22 had them, with a complete file whose
    // uploader's account was deleted (ana's name now another account's),
    // sent to bob and to #lab (ana's side of the first marked left), and
    // an upload of cy's that received 3 of its 6 bytes.
    let (done, upload) = ("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210");
    let sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    pg.batch_execute(&format!(
        "CREATE TABLE files (id text PRIMARY KEY, owner text NOT NULL, owner_key text NOT NULL, \
           name text NOT NULL, size bigint NOT NULL, sha256 text NOT NULL, type text NOT NULL, \
           complete boolean NOT NULL DEFAULT false, created bigint NOT NULL, received bigint NOT NULL DEFAULT 0); \
         CREATE TABLE file_carriers (file text NOT NULL REFERENCES files (id) ON DELETE CASCADE, \
           sender text NOT NULL, chat text NOT NULL, msg text NOT NULL, sender_key text NOT NULL, \
           chat_key text NOT NULL, author_left boolean NOT NULL DEFAULT false, \
           recipient_left boolean NOT NULL DEFAULT false, attached bigserial, \
           PRIMARY KEY (sender_key, chat_key, msg)); \
         INSERT INTO files VALUES ('{done}', '', '', 'a.txt', 3, '{sha_abc}', \
           'application/octet-stream', true, 17, 3); \
         INSERT INTO files VALUES ('{upload}', 'cy', 'cy', 'b.bin', 6, '{}', \
           'application/octet-stream', false, {}, 3); \
         INSERT INTO file_carriers (file, sender, chat, msg, sender_key, chat_key, author_left) \
           VALUES ('{done}', 'ana', 'bob', 'f1', 'ana', 'bob', true); \
         INSERT INTO file_carriers (file, sender, chat, msg, sender_key, chat_key) \
           VALUES ('{done}', 'ana', '#lab', 'f2', 'ana', '#lab'); \
         ALTER TABLE file_chunks DROP CONSTRAINT file_chunks_file_fkey; \
         DROP TABLE file_blobs; \
         ALTER TABLE file_chunks ADD CONSTRAINT file_chunks_file_fkey FOREIGN KEY (file) \
           REFERENCES files (id) ON DELETE CASCADE; \
         INSERT INTO file_chunks VALUES ('{done}', false, 0, 'abc'), ('{upload}', false, 0, 'abc'); \
         UPDATE wachat_schema SET version = 22",
        support::files::sha256(b"abcdef"),
        wachat::store::now_ms(),
    ))
    .unwrap();
    let stderr = refused_start(&cluster);
    assert!(stderr.contains("schema is version 22") && stderr.contains("wachat migrate --to"), "{stderr}");
    assert_eq!(schema_version(&mut pg), 22, "a start changes nothing");

    let converted = wachat(&["migrate", "--to", &cluster.pg.url], "");
    assert!(converted.status.success(), "{}{}", converted.stdout, converted.stderr);
    assert!(converted.stdout.contains("2 descriptions of files moved into the log"), "{}", converted.stdout);
    assert_eq!(schema_version(&mut pg), wachat::cluster::schema::CURRENT);
    let tables: Vec<String> = pg
        .query("SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'file%' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables, ["file_blobs", "file_chunks"]);

    let a = cluster.node("a");
    let mut bob = send_conn(&a, "bob");
    assert_eq!(support::files::fetch(&mut bob, done).unwrap(), b"abc");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.listing("FILES"), Vec::<String>::new(), "not the name's next account's");
    assert_eq!(ana.request("FILEOF:bob:ana:f1"), "KO:UNKNOWN_FILE:no such file that you may see");
    assert!(bob.request("FILEOF:bob:ana:f1").starts_with(&format!("OK:{done}:")), "bob's side stays");
    let mut cy = send_conn(&a, "cy");
    assert_eq!(cy.request(&format!("PART:{upload}:3:ZGVm")), "OK:6", "cy's upload goes on from its 3 bytes");
    assert_eq!(support::files::fetch(&mut cy, upload).unwrap(), b"abcdef");
}
