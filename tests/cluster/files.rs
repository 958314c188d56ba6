//! 1.2: photos and files on a cluster (docs/PROTOCOL.md §21,
//! docs/CLUSTER-OPS.md): two nodes on one PostgreSQL
//! (`tests/support/cluster.rs`), and any node serves any file. A file
//! uploaded through node A is fetched through node B byte for byte, its
//! thumbnail too; an outsider is refused on B; a `DELETE` on B removes
//! its rows; a receiver on B gets the `FILE` event. And the rules are one:
//! the same story told to files whose bytes are on a disk and to files
//! whose bytes are in the database (their descriptions the log's, both)
//! gets the same answers (`FILEOF` too). Built with `--features cluster` only.
#![cfg(feature = "cluster")]

use super::support;

use std::sync::Arc;
use std::time::Duration;

use support::TestServer;
use support::cluster::Cluster;
use support::files::{
    PART, fetch, login_recv_1_2, next_file_event, noise, photo, request_at_once, send_parts, sha256, upload,
};
use wachat::cluster::db::Db;
use wachat::cluster::db::postgres;
use wachat::cluster::files::PgBlobs;
use wachat::protocol::Code;
use wachat::store::files::{Carrier, Files};
use wachat::store::{FilesInLog, LocalStore};

fn rows(cluster: &Cluster, table: &str, id: &str) -> i64 {
    let query = format!("SELECT count(*) FROM {table} WHERE file = $1");
    cluster.pg.client().query_one(&query, &[&id]).unwrap().get(0)
}

fn register(node: &TestServer, users: &[&str]) {
    for user in users {
        let mut c = node.send_conn();
        assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
    }
}

#[test]
fn a_file_uploaded_on_one_node_is_served_by_the_other() {
    let cluster = Cluster::start();
    let a = cluster.node("a");
    let b = cluster.node("b");
    register(&a, &["ana", "bob", "eve"]);
    let mut ana = a.login_send("ana", "pw-ana");

    // A few MB and a photo uploaded through A, in parts.
    let bytes = noise(3 * 1024 * 1024 + 12_345, 42);
    let id = upload(&mut ana, "lab3.pdf", &bytes);
    let png = photo(1200, 900);
    let pic = upload(&mut ana, "board.png", &png);

    // FILEs on A reach bob's receiver on B (read at once: a receiver
    // left unread through a long transfer would miss its PINGs).
    let mut bob_events = login_recv_1_2(&b, "bob");
    assert!(ana.request(&format!("FILE:bob:f1:{id}:for friday")).starts_with("OK:f1:"));
    let event = next_file_event(&mut bob_events);
    let fields: Vec<&str> = event.splitn(11, ':').collect();
    assert_eq!(fields[2..5], ["ana", "bob", "f1"], "{event}");
    assert_eq!(
        fields[6..10],
        [id.as_str(), &bytes.len().to_string(), "application/octet-stream", "lab3.pdf"]
    );
    assert!(ana.request(&format!("FILE:bob:f2:{pic}:")).starts_with("OK:f2:"));
    let event = next_file_event(&mut bob_events);
    assert!(event.contains(&format!(":{pic}:{}:image/png:board.png:", png.len())), "{event}");
    drop(bob_events);

    // Bob fetches it through B, byte for byte; eve, in no chat that
    // carries it, is told what she would be for no file at all.
    let mut bob = b.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes);
    let mut eve = b.login_send("eve", "pw-eve");
    let refused = fetch(&mut eve, &id).unwrap_err();
    assert_eq!(refused, "KO:UNKNOWN_FILE:no such file that you may see");
    assert_eq!(fetch(&mut eve, &"0".repeat(32)).unwrap_err(), refused);
    // FILEOF through B names the file A took (1.2), to bob alone.
    let named = format!("OK:{id}:{}:application/octet-stream:lab3.pdf", bytes.len());
    assert_eq!(bob.request("FILEOF:ana:ana:f1"), named);
    assert_eq!(eve.request("FILEOF:bob:ana:f1"), refused);

    // The photo's thumbnail, made on completion by A, served by B.
    let thumb = fetch(&mut bob, &format!("{pic}-t")).unwrap();
    assert!(thumb.starts_with(&[0xff, 0xd8]) && thumb.len() <= 100 * 1024, "a JPEG of {} bytes", thumb.len());
    assert_eq!(fetch(&mut bob, &pic).unwrap(), png);
    assert!(fetch(&mut eve, &format!("{pic}-t")).is_err());

    // The rows are there, in chunks of at most a PART; a DELETE through B
    // of the one message that carries the file removes every row of it.
    assert_eq!(rows(&cluster, "file_blobs", &id), 1);
    assert_eq!(rows(&cluster, "file_chunks", &id), bytes.len().div_ceil(12_000) as i64);
    let mut ana_b = b.login_send("ana", "pw-ana");
    assert!(ana_b.request("DELETE:bob:f1").starts_with("OK:"));
    for table in ["file_blobs", "file_chunks"] {
        assert_eq!(rows(&cluster, table, &id), 0, "{table} after the DELETE");
    }
    assert_eq!(fetch(&mut ana, &id).unwrap_err(), refused, "gone on A too");
    assert_eq!(rows(&cluster, "file_blobs", &pic), 1, "another file is kept");
}

/// What a store answered, step by step: an `OK`'s value or a `KO`'s code.
fn said<T: std::fmt::Debug>(result: Result<T, wachat::protocol::Ko>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(ko) => format!("{:?}", ko.code),
    }
}

/// One story, told to a `Files` on any store: every answer, in order.
fn story(files: &Files) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = noise(30_000, 9);
    let sha = sha256(&bytes);
    out.push(said(files.upload("ana", "a.bin", (1 << 20) + 1, &sha, 0, 0)));
    out.push(said(files.upload("ana", "a.bin", 60, &sha, 50, 100).map(drop)));
    let id = files.upload("Ana", "a.bin", bytes.len() as u64, &sha, 0, 0).unwrap();
    out.push(said(files.part("ana", &id, 0, &bytes[..12_000])));
    out.push(said(files.part("ana", &id, 0, &bytes[..12_000])));
    out.push(said(files.part("bob", &id, 12_000, &bytes[12_000..24_000])));
    out.push(said(files.part("ana", &id, 20_000, &bytes[20_000..])));
    out.push(said(files.fetch("ana", &id, 0, |_| true)));
    out.push(format!("{:?}", files.bytes_of("ANA")));
    out.push(said(files.check_message("ana", || 70_000, 100_000)));
    out.push(said(files.check_message("ana", || 69_999, 100_000)));
    out.push(said(files.part("ana", &id, 12_000, &bytes[12_000..24_000])));
    out.push(said(files.part("ana", &id, 24_000, &bytes[24_000..])));
    let room = Carrier::new("ana", "#Lab", "m1");
    let direct = Carrier::new("ana", "bob", "m2");
    out.push(said(files.carry(&id, room.clone())));
    out.push(said(files.carry(&id, room)));
    out.push(said(files.carry(&id, direct)));
    let in_lab = |c: &Carrier| c.to.eq_ignore_ascii_case("#lab");
    out.push(said(files.fetch("carl", &id, 12_000, in_lab).map(|b| b == bytes[12_000..24_000])));
    out.push(said(files.fetch("eve", &id, 0, |_| false)));
    out.push(said(files.fetch("carl", &format!("{id}-t"), 0, in_lab)));
    out.push(format!("{:?}", files.carried("ANA", "#lab", "m1").map(|f| (f.size, f.kind))));
    // FILEOF: by that very message, under FETCH's rule.
    let named = |to: &str, id: &str| Carrier::new("ANA", to, id);
    out.push(said(files.file_of("carl", &named("#lab", "m1"), in_lab).map(|f| (f.size, f.name))));
    out.push(said(files.file_of("carl", &named("bob", "m2"), in_lab)));
    out.push(said(files.file_of("eve", &named("#lab", "m9"), |_| true)));
    files.forget("ana", "#LAB", "m1");
    out.push(said(files.fetch("carl", &id, 0, in_lab)));
    out.push(said(files.fetch("bob", &id, 29_000, |c| c.to == "bob").map(|b| b.len())));
    files.forget("ana", "bob", "m2");
    out.push(said(files.fetch("ana", &id, 0, |_| true)));
    out.push(format!("{:?}", files.bytes_of("ana")));
    let wrong = files.upload("ana", "b", 3, &sha256(b"abc"), 0, 0).unwrap();
    out.push(said(files.part("ana", &wrong, 0, b"abd")));
    let stale = files.upload("ana", "c", 3, &sha256(b"abc"), 0, 0).unwrap();
    out.push(format!("{:?}", files.bytes_of("ana")));
    files.sweep(wachat::store::now_ms() + 1);
    out.push(format!("{:?}", files.bytes_of("ana")));
    out.push(said(files.part("ana", &stale, 0, b"abc")));
    out
}

/// A store of its own in `dir`, whose log keeps the descriptions.
fn log_in(dir: &std::path::Path) -> Arc<LocalStore> {
    Arc::new(LocalStore::open(dir, Default::default(), Box::new(|_| {})).unwrap())
}

/// The same files told to both blob stores: bytes on a disk (in `dir`),
/// and bytes in a new cluster's database (its schema brought up to date
/// by a node), each with its descriptions in a log of its own, a 1 MiB
/// quota and uploads left unfinished for `stale`.
fn both_stores(stale: Duration) -> (tempfile::TempDir, Files, Cluster, Files) {
    let dir = tempfile::tempdir().unwrap();
    let disk = Files::open(dir.path(), &log_in(dir.path()), 1 << 20, stale).unwrap();
    let cluster = Cluster::start();
    drop(cluster.node("a"));
    let db = Arc::new(Db::new(&cluster.pg.url).unwrap());
    let descriptions = FilesInLog::new(log_in(&dir.path().join("pg")));
    let pg = Files::new(descriptions, Box::new(PgBlobs::new(db)), 1 << 20, stale);
    (dir, disk, cluster, pg)
}

#[test]
fn the_disk_and_the_database_follow_the_same_rules() {
    let (_dir, disk, _cluster, pg) = both_stores(Duration::ZERO);
    let on_disk = story(&disk);
    assert_eq!(on_disk, story(&pg), "the same answers");
    // And they are the rules' answers, not two stores' same mistake.
    let expected = [
        format!("{:?}", Code::TooLong),
        format!("{:?}", Code::Full),
        "12000".into(),
        "12000".into(),
        format!("{:?}", Code::UnknownFile),
        format!("{:?}", Code::BadRequest),
        format!("{:?}", Code::UnknownFile),
        "30000".into(),
        format!("{:?}", Code::Full),
        "()".into(),
        "24000".into(),
        "30000".into(),
        "true".into(),
        "false".into(),
        "true".into(),
        "true".into(),
        format!("{:?}", Code::UnknownFile),
        format!("{:?}", Code::UnknownFile),
        "Some((30000, \"application/octet-stream\"))".into(),
        "(30000, \"a.bin\")".into(),
        format!("{:?}", Code::UnknownFile),
        format!("{:?}", Code::UnknownFile),
        format!("{:?}", Code::UnknownFile),
        "1000".into(),
        format!("{:?}", Code::UnknownFile),
        "0".into(),
        format!("{:?}", Code::BadRequest),
        "3".into(),
        "0".into(),
        format!("{:?}", Code::UnknownFile),
    ];
    assert_eq!(on_disk, expected);
}

/// A file belongs to the account, told to a store: ana's account is deleted. Her file
/// sent to bob is his alone, her unsent one and her upload are removed,
/// and neither counts for the name any more; bob's file sent to her stays
/// his; carl's file sent to dan is removed once both leave.
fn deletion_story(files: &Files) -> Vec<String> {
    let mut out = Vec::new();
    let upload = |owner: &str, bytes: &[u8]| {
        let id = files.upload(owner, "f", bytes.len() as u64, &sha256(bytes), 0, 0).unwrap();
        files.part(owner, &id, 0, bytes).unwrap();
        id
    };
    let (sent, unsent, to_ana, between) =
        (upload("ana", b"abc"), upload("Ana", b"de"), upload("bob", b"f"), upload("carl", b"g"));
    let pending = files.upload("ana", "p", 10, &sha256(b"0123456789"), 0, 0).unwrap();
    files.carry(&sent, Carrier::new("Ana", "bob", "f1")).unwrap();
    files.carry(&sent, Carrier::new("ana", "#lab", "f2")).unwrap();
    files.carry(&to_ana, Carrier::new("bob", "ana", "b1")).unwrap();
    files.carry(&between, Carrier::new("carl", "dan", "c1")).unwrap();
    out.push(said(files.forget_account("ANA")));
    out.push(said(files.forget_account("ana")));
    let party = |name: &'static str| move |c: &Carrier| c.is_party(name);
    out.push(said(files.fetch("ana", &sent, 0, party("ana"))));
    out.push(said(files.fetch("bob", &sent, 0, party("bob"))));
    out.push(said(files.fetch("carl", &sent, 0, |c| c.to == "#lab")));
    out.push(said(files.fetch("bob", &unsent, 0, |_| true)));
    out.push(said(files.part("ana", &pending, 0, b"0123456789")));
    out.push(said(files.file_of("ana", &Carrier::new("ana", "bob", "f1"), party("ana"))));
    out.push(said(files.file_of("bob", &Carrier::new("ana", "bob", "f1"), party("bob")).map(|f| f.size)));
    out.push(said(files.fetch("ana", &to_ana, 0, party("ana"))));
    out.push(said(files.fetch("bob", &to_ana, 0, party("bob"))));
    out.push(format!("{:?}", files.bytes_of("ana")));
    out.push(format!("{:?}", files.of_owner("ana").len()));
    out.push(said(files.forget_account("carl")));
    out.push(said(files.fetch("dan", &between, 0, party("dan"))));
    out.push(said(files.forget_account("dan")));
    out.push(said(files.fetch("dan", &between, 0, |_| true)));
    out
}

#[test]
fn a_deleted_accounts_files_follow_the_same_rules_on_both_stores() {
    let (dir, disk, _cluster, pg) = both_stores(Duration::from_secs(3600));
    let on_disk = deletion_story(&disk);
    assert_eq!(on_disk, deletion_story(&pg), "the same answers");
    let unknown = format!("{:?}", Code::UnknownFile);
    let expected = [
        "2".to_string(), // the unsent file and the upload
        "0".into(),      // a second time: nothing left to remove
        unknown.clone(),
        "[97, 98, 99]".into(),
        "[97, 98, 99]".into(),
        unknown.clone(),
        unknown.clone(),
        unknown.clone(),
        "3".into(),
        unknown.clone(),
        "[102]".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        "[103]".into(),
        "1".into(),
        unknown,
    ];
    assert_eq!(on_disk, expected);
    // Removed means its bytes too.
    let left = std::fs::read_dir(dir.path().join("files")).unwrap().count();
    assert_eq!(left, 2, "two files left, their bytes");
}

/// One file's messages, as files on either blob store list them: in the
/// order they were attached, also once another file's were removed, once
/// one of theirs changed (bob's side of `m1` marked left when his account
/// is deleted), and once one was deleted and another attached. A cluster
/// that listed them in another order than a single server's would show
/// them in `FILES` otherwise (the differential test plays such a case
/// with seeds 316 and 317 at 800 steps).
fn carriers_story(files: &Files) -> Vec<String> {
    let complete = |owner: &str| {
        let id = files.upload(owner, "f", 3, &sha256(b"abc"), 0, 0).unwrap();
        files.part(owner, &id, 0, b"abc").unwrap();
        id
    };
    let (other, id) = (complete("carl"), complete("ana"));
    for msg in ["c1", "c2", "c3"] {
        files.carry(&other, Carrier::new("carl", "dan", msg)).unwrap();
    }
    files.carry(&id, Carrier::new("ana", "bob", "m1")).unwrap();
    for msg in ["c1", "c2", "c3"] {
        files.forget("carl", "dan", msg);
    }
    for (to, msg) in [("carl", "m2"), ("#lab", "m3"), ("dan", "m4")] {
        files.carry(&id, Carrier::new("ana", to, msg)).unwrap();
    }
    files.forget_account("bob").unwrap();
    files.forget("ana", "#lab", "m3");
    files.carry(&id, Carrier::new("ana", "#lab", "m5")).unwrap();
    files.carry(&id, Carrier::new("ana", "carl", "m2")).unwrap(); // attached already: stays second
    let all = files.of_owner("ana");
    all.iter().flat_map(|(_, meta)| meta.carriers.iter().map(|c| format!("{}:{}", c.to, c.id))).collect()
}

#[test]
fn both_stores_list_a_files_messages_in_the_order_they_were_attached() {
    let (_dir, disk, _cluster, pg) = both_stores(Duration::from_secs(3600));
    let expected = ["bob:m1", "carl:m2", "dan:m4", "#lab:m5"];
    assert_eq!(carriers_story(&disk), expected, "on a disk");
    assert_eq!(carriers_story(&pg), expected, "in the database");
}

/// A forwarded file changes hands, told to a store: ana's file, sent to bob and
/// forwarded by him to himself and by carl to dan. While a message of
/// ana's carries it, it is in her quota; once she deleted both of hers it
/// is bob's (the first forwarder), and once he deleted his, carl's.
fn forward_story(files: &Files) -> Vec<String> {
    let mut out = Vec::new();
    let id = files.upload("Ana", "f", 3, &sha256(b"abc"), 0, 0).unwrap();
    files.part("ana", &id, 0, b"abc").unwrap();
    for (from, to, msg) in
        [("ana", "bob", "m1"), ("bob", "bob", "fw1"), ("ana", "#lab", "m2"), ("carl", "dan", "fw2")]
    {
        files.carry(&id, Carrier::new(from, to, msg)).unwrap();
    }
    let quotas = |out: &mut Vec<String>| {
        out.push(["ana", "bob", "carl"].map(|who| format!("{:?}", files.bytes_of(who))).join(" "));
    };
    quotas(&mut out);
    files.forget("ana", "bob", "m1");
    quotas(&mut out);
    files.forget("ana", "#lab", "m2");
    quotas(&mut out);
    out.push(said(files.fetch("ana", &id, 0, |c| c.is_party("ana"))));
    files.forget("bob", "bob", "fw1");
    quotas(&mut out);
    out.push(said(files.fetch("dan", &id, 0, |c| c.is_party("dan"))));
    files.forget("carl", "dan", "fw2");
    quotas(&mut out);
    out
}

#[test]
fn a_forwarded_file_passes_to_its_forwarder_alike_on_both_stores() {
    let (_dir, disk, _cluster, pg) = both_stores(Duration::from_secs(3600));
    let on_disk = forward_story(&disk);
    assert_eq!(on_disk, forward_story(&pg), "the same answers");
    let unknown = format!("{:?}", Code::UnknownFile);
    let expected = ["3 0 0", "3 0 0", "0 3 0", unknown.as_str(), "0 0 3", "[97, 98, 99]", "0 0 0"];
    assert_eq!(on_disk, expected);
}

/// A file belongs to the account, on a cluster: the name's next account, on the other
/// node, sees nothing of the old one's files; bob keeps his.
#[test]
fn on_a_cluster_a_deleted_accounts_files_are_not_the_next_owner_of_its_name() {
    let cluster = Cluster::start();
    let free = ["--name-quarantine-days", "0"];
    let a = cluster.node_with("a", &free);
    let b = cluster.node_with("b", &free);
    register(&a, &["ana", "bob"]);
    let mut ana = a.login_send("ana", "pw-ana");
    let sent = noise(20_000, 3);
    let f1 = upload(&mut ana, "private.pdf", &sent);
    let f2 = upload(&mut ana, "never-sent.pdf", &noise(100, 4));
    assert!(ana.request(&format!("FILE:bob:f1:{f1}:")).starts_with("OK:f1:"));
    assert_eq!(ana.request("DELACCOUNT:pw-ana"), "OK");
    assert_eq!(rows(&cluster, "file_blobs", &f2), 0, "the unsent file's row");
    assert_eq!(rows(&cluster, "file_chunks", &f2), 0, "and its bytes");

    let mut again = b.send_conn();
    assert_eq!(again.request("REGISTER:ana::pw-new-ana"), "OK:ana");
    let mut new_ana = b.login_send("ana", "pw-new-ana");
    assert_eq!(new_ana.listing("FILES"), Vec::<String>::new());
    let unknown = "KO:UNKNOWN_FILE:no such file that you may see";
    assert_eq!(fetch(&mut new_ana, &f1).unwrap_err(), unknown);
    assert_eq!(new_ana.request("FILEOF:bob:ana:f1"), unknown);
    let mut bob = a.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &f1).unwrap(), sent);
}

/// A user's messages count for a file, and its files for a
/// message, on a cluster as on a single server (tests/chat/files.rs): the
/// messages' bytes are the committer's counter, read beside the files'.
#[test]
fn on_a_cluster_messages_and_files_share_the_quota() {
    let cluster = Cluster::start();
    let limits = ["--user-quota", "200000"];
    let (a, b) = (cluster.node_with("a", &limits), cluster.node_with("b", &limits));
    register(&a, &["ana", "bob", "carl"]);
    support::files::messages_and_files_share_the_quota(&a, &b);
}

/// The quota's check and the upload's reservation are one step, on a
/// cluster: sixty `UPLOAD`s of one user at once,
/// half through each node, under a 2 MB quota: one fits.
#[test]
fn on_a_cluster_concurrent_uploads_cannot_pass_the_quota() {
    let cluster = Cluster::start();
    let limits = ["--user-quota", "2000000"];
    let (a, b) = (cluster.node_with("a", &limits), cluster.node_with("b", &limits));
    register(&a, &["ana"]);
    let size = 1_500_000;
    let sha = sha256(&noise(size, 1));
    let mut conns: Vec<_> = (0..60).map(|i| [&a, &b][i % 2].login_send("ana", "pw-ana")).collect();
    let replies = request_at_once(&mut conns, &format!("UPLOAD:big.bin:{size}:{sha}"));
    let accepted = replies.iter().filter(|r| r.starts_with("OK:")).count();
    assert_eq!(accepted, 1, "{replies:?}");
}

/// The transactions that stored upload `id`'s chunks: each row's `xmin`
/// is the transaction that inserted it.
fn commits_of(cluster: &Cluster, id: &str) -> i64 {
    let query = "SELECT count(DISTINCT xmin::text) FROM file_chunks WHERE file = $1 AND NOT thumb";
    cluster.pg.client().query_one(query, &[&id]).unwrap().get(0)
}

/// Bytes of upload `id` committed, as another connection sees them.
fn received(cluster: &Cluster, id: &str) -> i64 {
    cluster.pg.client().query_one("SELECT received FROM file_blobs WHERE file = $1", &[&id]).unwrap().get(0)
}

/// `PART`s of `bytes` from `from`, `count` of them sent before any reply is read.
fn send_window(conn: &mut support::Conn, id: &str, bytes: &[u8], from: usize, count: usize) -> Vec<usize> {
    use base64::Engine as _;
    let ends: Vec<usize> = (1..=count).map(|k| (from + k * PART).min(bytes.len())).collect();
    for (k, end) in ends.iter().enumerate() {
        let start = from + k * PART;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes[start..*end]);
        conn.send(&format!("PART:{id}:{start}:{b64}"));
    }
    ends
}

/// Holds upload `id`'s row locked in a transaction of the test's own:
/// a node's `PART`s wait at their `UPDATE` until it is let go.
fn lock_upload<'a>(client: &'a mut postgres::Client, id: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.execute("SELECT 1 FROM file_blobs WHERE file = $1 FOR UPDATE", &[&id]).unwrap();
    tx
}

/// Node a, and ana on it with an upload of `len` bytes of noise (`seed`)
/// begun as `name` (its `UPLOAD` answered): the node (kept while the
/// test runs: dropped, it stops), her connection, the bytes and the
/// upload's id.
fn upload_begun(
    cluster: &Cluster,
    name: &str,
    len: usize,
    seed: u64,
) -> (TestServer, support::Conn, Vec<u8>, String) {
    let a = cluster.node("a");
    register(&a, &["ana"]);
    let mut ana = a.login_send("ana", "pw-ana");
    let bytes = noise(len, seed);
    let reply = ana.request(&format!("UPLOAD:{name}:{}:{}", bytes.len(), sha256(&bytes)));
    let id = reply.strip_prefix("OK:").expect("OK:<id>").to_string();
    (a, ana, bytes, id)
}

/// No reply comes on `conn` for a moment (its parts wait for their commit).
fn no_reply_yet(conn: &mut support::Conn) {
    assert_eq!(conn.line_within(Duration::from_millis(400)), None, "a PART's OK before its commit");
}

/// Pipelined `PART`s share commits (their chunks' rows were
/// inserted by fewer transactions than there are parts), each `OK` comes
/// only once its part is committed, in the order of the requests, and a
/// refusal among them keeps its place.
#[test]
fn on_a_cluster_pipelined_parts_share_a_commit_and_each_ok_follows_it() {
    let cluster = Cluster::start();
    let (_node, mut ana, bytes, id) = upload_begun(&cluster, "big.bin", 20 * PART + 500, 54);

    // Eight parts sent while the upload's row is locked: none is answered
    // until the lock goes and their transactions commit.
    let mut holder = cluster.pg.client();
    let lock = lock_upload(&mut holder, &id);
    let ends = send_window(&mut ana, &id, &bytes, 0, 8);
    ana.send(&format!("PART:{id}:{}:QUJD", 20 * PART)); // past the bytes received: refused in its place
    no_reply_yet(&mut ana);
    assert_eq!(received(&cluster, &id), 0);
    drop(lock); // rolled back: the lock goes
    for end in ends {
        assert_eq!(ana.line(), format!("OK:{end}"));
        assert!(received(&cluster, &id) >= end as i64, "an OK:{end} before its commit");
    }
    assert!(ana.line().starts_with("KO:BAD_REQUEST:"), "the refusal in its place");
    let commits = commits_of(&cluster, &id);
    assert!(commits <= 2, "8 parts in {commits} commits");

    // The rest, as a client sends them (8 at a time), completes the file.
    let mut from = 8 * PART;
    while from < bytes.len() {
        let ends = send_window(&mut ana, &id, &bytes, from, 8.min((bytes.len() - from).div_ceil(PART)));
        for end in &ends {
            assert_eq!(ana.line(), format!("OK:{end}"));
        }
        from = *ends.last().unwrap();
    }
    assert!(ana.request(&format!("FILE:ana:f1:{id}:")).starts_with("OK:f1:"));
    assert_eq!(fetch(&mut ana, &id).unwrap(), bytes);
}

/// More parts in flight than a node queues
/// (`cluster::parts::QUEUED`, 256: ten clients' windows of 64 are 640)
/// wait for a place, and none is lost or answered out of order. The
/// upload's row is held locked while they come, so the committer is stuck
/// on the first and the queue fills; once it goes, each `OK` comes in the
/// order of the parts, with the bytes received up to it.
#[test]
fn on_a_cluster_more_parts_than_the_queue_are_each_answered_in_order() {
    use base64::Engine as _;
    use std::io::Write as _;
    const PARTS: usize = wachat::cluster::parts::QUEUED + 44;
    let cluster = Cluster::start();
    let (_node, mut ana, bytes, id) = upload_begun(&cluster, "big.bin", PARTS * PART, 300);

    let mut holder = cluster.pg.client();
    let lock = lock_upload(&mut holder, &id);
    // Written by a thread of their own: the node stops reading while its
    // queue is full, and this one reads the replies.
    let lines: String = bytes
        .chunks(PART)
        .enumerate()
        .map(|(k, chunk)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
            format!("PART:{id}:{}:{b64}\n", k * PART)
        })
        .collect();
    let mut stream = ana.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || stream.write_all(lines.as_bytes()).map(drop));
    no_reply_yet(&mut ana);
    assert_eq!(received(&cluster, &id), 0);
    drop(lock); // rolled back: the lock goes
    for k in 1..=PARTS {
        assert_eq!(ana.line(), format!("OK:{}", k * PART), "part {k} of {PARTS}");
    }
    writer.join().unwrap().unwrap();
    assert!(ana.request(&format!("FILE:ana:f1:{id}:")).starts_with("OK:f1:"));
    assert_eq!(fetch(&mut ana, &id).unwrap(), bytes);
}

/// A node killed while parts wait for their commit loses only
/// parts it never answered: every `OK`'d byte is in the database, and
/// the upload goes on from there through another node.
#[test]
fn on_a_cluster_a_node_killed_before_the_commit_loses_no_answered_part() {
    let cluster = Cluster::start();
    let (mut a, mut ana, bytes, id) = upload_begun(&cluster, "big.bin", 12 * PART, 7);
    for end in send_window(&mut ana, &id, &bytes, 0, 4) {
        assert_eq!(ana.line(), format!("OK:{end}"));
    }
    let answered = 4 * PART;

    let mut holder = cluster.pg.client();
    let lock = lock_upload(&mut holder, &id);
    send_window(&mut ana, &id, &bytes, answered, 4);
    no_reply_yet(&mut ana);
    a.kill();
    drop(lock); // rolled back: the lock goes
    // The kernel closes the socket, maybe with a reset (parts unread).
    let mut after = String::new();
    let _ = std::io::Read::read_to_string(&mut ana.stream, &mut after);
    assert!(!after.contains("OK"), "no OK from a node killed before the commit: {after:?}");
    // What was answered is stored; what was not may be or not (never half).
    let stored = received(&cluster, &id) as usize;
    assert!(stored >= answered && (stored - answered).is_multiple_of(PART), "{stored} bytes stored");

    // Node a led: node b leads once the lease runs out.
    let b = cluster.node("b");
    let mut ana = super::once_it_serves(&b, "ana", "pw-ana");
    send_parts(&mut ana, &id, &bytes, stored);
    assert!(ana.request(&format!("FILE:ana:f1:{id}:")).starts_with("OK:f1:"));
    assert_eq!(fetch(&mut ana, &id).unwrap(), bytes);
}

/// A part that overlaps the bytes received (a resend that reaches past
/// them) stores only its new bytes, which the node hands on without a
/// copy (`Files::part_then`): the file completes, byte for byte.
#[test]
fn on_a_cluster_a_part_overlapping_the_bytes_received_stores_its_new_bytes_only() {
    let cluster = Cluster::start();
    let (_node, mut ana, bytes, id) = upload_begun(&cluster, "o.bin", 30_000, 7);
    let part = |from: usize, to: usize| {
        use base64::Engine as _;
        format!("PART:{id}:{from}:{}", base64::engine::general_purpose::STANDARD.encode(&bytes[from..to]))
    };
    assert_eq!(ana.request(&part(0, 12_000)), "OK:12000");
    assert_eq!(ana.request(&part(6_000, 18_000)), "OK:18000", "its last 6,000 bytes are new");
    assert_eq!(ana.request(&part(18_000, 30_000)), "OK:30000", "complete: the sha256 matched");
    assert_eq!(fetch(&mut ana, &id).unwrap(), bytes);
}

/// The last part's sha256 is the parts committer's hash of the
/// parts it committed (`PgBlobs::digest`), without reading the file
/// back, only if this node stored every part, in order, and the rows
/// hold them end to end; else there is none, and the bytes are read
/// back (`Files::complete`).
#[test]
fn on_a_cluster_the_committers_hash_stands_for_the_bytes_only_if_it_saw_every_part() {
    use wachat::store::files::Blobs;
    let cluster = Cluster::start();
    drop(cluster.node("a")); // brings the schema up to date
    let db = Arc::new(Db::new(&cluster.pg.url).unwrap());
    let (a, b) = (PgBlobs::new(db.clone()), PgBlobs::new(db));
    let bytes = noise(3 * PART + 5, 9);
    let size = bytes.len() as u64;
    let upload = |id: &str| a.begin(id).unwrap();
    let part = |node: &PgBlobs, id: &str, k: usize| {
        let (from, to) = (k * PART, ((k + 1) * PART).min(bytes.len()));
        node.append(id, from as u64, &bytes[from..to]).unwrap();
    };

    upload("h1");
    (0..4).for_each(|k| part(&a, "h1", k));
    assert_eq!(b.digest("h1", size).unwrap(), None, "b stored none of it");
    assert_eq!(a.digest("h1", size).unwrap(), Some(sha256(&bytes)), "a stored every part");
    assert_eq!(a.digest("h1", size).unwrap(), None, "taken by the last part's check");

    // A part stored by another node: neither has the whole hash.
    upload("h2");
    part(&a, "h2", 0);
    part(&b, "h2", 1);
    (2..4).for_each(|k| part(&a, "h2", k));
    assert_eq!(a.digest("h2", size).unwrap(), None);
    assert_eq!(b.digest("h2", size).unwrap(), None);

    // A row missing from the database: the hash is no answer.
    upload("h3");
    (0..4).for_each(|k| part(&a, "h3", k));
    let gone = cluster
        .pg
        .client()
        .execute("DELETE FROM file_chunks WHERE file = 'h3' AND off = $1", &[&(PART as i64)]);
    assert_eq!(gone.unwrap(), 1);
    assert_eq!(a.digest("h3", size).unwrap(), None, "a gap in the rows");
}

/// A single server's files move into a cluster with the rest
/// (`wachat migrate --from`): their descriptions as records of the log,
/// their bytes into the database. A node serves the file bob was sent
/// byte for byte, a photo's thumbnail too, and ana's upload cut halfway
/// goes on from the bytes it had.
#[test]
fn a_single_servers_files_move_into_a_cluster_and_its_upload_goes_on() {
    let single = TestServer::start();
    register(&single, &["ana", "bob"]);
    let mut ana = single.login_send("ana", "pw-ana");
    let bytes = noise(30_000, 5);
    let id = upload(&mut ana, "notes.bin", &bytes);
    let png = photo(600, 400);
    let pic = upload(&mut ana, "board.png", &png);
    assert!(ana.request(&format!("FILE:bob:f1:{id}:")).starts_with("OK:f1:"));
    assert!(ana.request(&format!("FILE:bob:f2:{pic}:")).starts_with("OK:f2:"));
    let half = noise(2 * PART + 7, 6);
    let reply = ana.request(&format!("UPLOAD:half.bin:{}:{}", half.len(), sha256(&half)));
    let cut = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("{reply}")).to_string();
    send_parts(&mut ana, &cut, &half[..PART], 0);
    drop(ana);
    let mut single = single;
    assert!(single.terminate().success());

    let cluster = Cluster::start_empty();
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = super::wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("files: the bytes of 3 files"), "{}", moved.stdout);
    let a = cluster.node("a");
    let mut bob = a.login_send("bob", "pw-bob");
    assert_eq!(fetch(&mut bob, &id).unwrap(), bytes);
    assert_eq!(fetch(&mut bob, &pic).unwrap(), png);
    assert!(fetch(&mut bob, &format!("{pic}-t")).unwrap().starts_with(&[0xff, 0xd8]), "its thumbnail");
    let mut ana = a.login_send("ana", "pw-ana");
    let early = ana.request(&format!("PART:{cut}:{}:AA==", 2 * PART));
    assert_eq!(early, format!("KO:BAD_REQUEST:expected the part at offset {PART}"));
    send_parts(&mut ana, &cut, &half, PART);
    assert_eq!(fetch(&mut ana, &cut).unwrap(), half);
}

/// An upload under way when its leader is killed goes on through the
/// node that leads next: the new leader knows it (its `UPLOAD` record is
/// the log's, which it applied) and the bytes it received (the database's).
#[test]
fn an_upload_goes_on_through_the_next_leader_after_a_kill_9() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    let b = cluster.node("b");
    register(&a, &["ana"]);
    b.wait_for_log("node a leads (epoch 1): this node follows");
    let bytes = noise(3 * PART + 11, 8);
    let mut ana = a.login_send("ana", "pw-ana");
    let reply = ana.request(&format!("UPLOAD:big.bin:{}:{}", bytes.len(), sha256(&bytes)));
    let id = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("{reply}")).to_string();
    send_parts(&mut ana, &id, &bytes[..2 * PART], 0);
    drop(ana);
    a.kill();
    b.wait_for_log("cluster: node b took over in");
    let mut ana = b.login_send("ana", "pw-ana");
    let early = ana.request(&format!("PART:{id}:{}:AA==", 3 * PART));
    assert_eq!(early, format!("KO:BAD_REQUEST:expected the part at offset {}", 2 * PART));
    send_parts(&mut ana, &id, &bytes, 2 * PART);
    assert_eq!(fetch(&mut ana, &id).unwrap(), bytes);
}

/// Bytes that no record describes (a leader killed between a file's
/// `GONE` record and the removal of its rows, or between the room of an
/// upload and its `UPLOAD` record) are removed by the next leader's first
/// sweep; the bytes of a file the log describes stay.
#[test]
fn on_a_cluster_bytes_that_nothing_describes_are_removed_by_the_next_leader() {
    let cluster = Cluster::start();
    let mut a = cluster.node("a");
    register(&a, &["ana"]);
    let mut ana = a.login_send("ana", "pw-ana");
    let kept = upload(&mut ana, "kept.bin", b"abc");
    drop(ana);
    assert!(a.terminate().success());
    let left = "0123456789abcdef0123456789abcdef";
    cluster
        .pg
        .client()
        .batch_execute(&format!(
            "INSERT INTO file_blobs VALUES ('{left}', 3); INSERT INTO file_chunks VALUES ('{left}', false, 0, 'xyz')"
        ))
        .unwrap();
    let a = cluster.node("a");
    support::cluster::eventually("the bytes nothing describes removed", Duration::from_secs(20), || {
        rows(&cluster, "file_chunks", left) == 0
    });
    assert_eq!(rows(&cluster, "file_blobs", left), 0);
    assert_eq!(fetch(&mut a.login_send("ana", "pw-ana"), &kept).unwrap(), b"abc");
}
