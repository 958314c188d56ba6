//! The disk against the store: a full disk must never store a
//! message that was answered `KO`, a message that meets it is answered
//! within a bounded time (the ballast), and the free-space floor
//! must hold from the first write below it (on a simulated disk, `store::sim_disk`, which
//! fills and frees on demand, so nothing here depends on timing); a log
//! segment damaged by hand is repaired by `wachat users check --repair`,
//! losing only the damaged line.

use super::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use wachat::protocol::{Chat, Code, Ko, Text};
use wachat::server::{Config, Server, Storage};
use wachat::store::budget::{Budget, LOOK_EVERY, MinFree};
use wachat::store::disk::Disk;
use wachat::store::sim_disk::SimDisk;
use wachat::store::{Hasher, LocalStore, Store, StoreOptions, UserId};

use support::console::run_wachat;
use support::{Conn, READ_TIMEOUT, TestServer, wachat_bin, wait_with_timeout};

/// StoreOptions with no free-space floor (`--min-free 0`), for the tests of a
/// write that meets a full disk: the floor would refuse it first (a disk
/// filled by `SimDisk::fill` has 0 bytes free), and the write would never
/// meet the full disk.
fn no_floor() -> StoreOptions {
    StoreOptions {
        budget: Budget { min_free: MinFree::Bytes(0), ..Budget::default() },
        ..StoreOptions::default()
    }
}

fn open(disk: &Arc<SimDisk>, options: StoreOptions) -> Store {
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let local = LocalStore::open_on(d, Path::new("/data"), options, Box::new(|_| {}), None).unwrap();
    Store::new(Arc::new(local), Hasher::new(8).unwrap())
}

fn text(id: &str, bytes: usize) -> Text {
    Text::parse(&format!("{id} {}", "x".repeat(bytes))).unwrap()
}

/// Sends `id` as a send handler does: the answer comes on the channel
/// when the store has one (`Ok` once durable; `KO` refused at once, or
/// never stored).
fn send(store: &Store, from: UserId, id: &str) -> Receiver<Result<(), Ko>> {
    let (tx, rx) = channel();
    let (mut results, ticket) =
        store.send(from, &[(Chat::parse("bob").unwrap(), id.to_string(), text(id, 100))]);
    match results.pop().unwrap() {
        Ok(_) => store.when_durable(ticket, Box::new(move |r| drop(tx.send(r)))),
        Err(ko) => drop(tx.send(Err(ko))),
    }
    rx
}

fn history_ids(store: &Store, user: UserId) -> Vec<String> {
    let lines: Vec<String> =
        store.history(user, &Chat::parse("bob").unwrap(), 1000, usize::MAX).unwrap().collect().unwrap();
    lines.iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect()
}

const ANSWER: Duration = Duration::from_secs(60);

/// Of five `MSG`s on a full disk, none answered `KO` may be stored once
/// the disk has room: a message the disk refused waits, unanswered, and is answered `OK` once stored; every
/// `KO` is a message that is not stored, before and after a restart.
#[test]
fn a_ko_on_a_full_disk_means_not_stored() {
    let disk = SimDisk::new();
    let store = open(&disk, no_floor());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    for id in ["m1", "m2"] {
        send(&store, ana, id).recv_timeout(ANSWER).unwrap().unwrap();
    }
    disk.fill();
    let answers: Vec<(String, Receiver<Result<(), Ko>>)> =
        (3..=7).map(|i| format!("m{i}")).map(|id| (id.clone(), send(&store, ana, &id))).collect();
    // m3 met the full disk; the later ones are refused at once. (`fill`
    // makes every write fail, so the ballast's room does not help m3: the
    // case the ballast cannot cure, where m3 waits.)
    let mut refused = Vec::new();
    for (id, answer) in &answers[1..] {
        let ko = answer.recv_timeout(ANSWER).unwrap().unwrap_err();
        assert_eq!(ko.code, Code::Full, "{id}: {ko}");
        refused.push(id.clone());
    }
    assert!(answers[0].1.try_recv().is_err(), "m3 is not answered while the disk is full");
    disk.free_up();
    answers[0].1.recv_timeout(ANSWER).unwrap().expect("m3 is stored once there is room, and told so");
    let stored = history_ids(&store, ana);
    assert_eq!(stored, ["m1", "m2", "m3"]);
    for id in &refused {
        assert!(!stored.contains(id), "{id} was refused and is stored: {stored:?}");
    }
    store.stop();
    let store = open(&disk, no_floor());
    assert_eq!(history_ids(&store, ana), ["m1", "m2", "m3"], "after a restart");
}

/// When the store stops with the disk still full, the message that waited
/// is answered `KO:INTERNAL` and is not stored.
#[test]
fn a_message_still_waiting_when_the_store_stops_is_refused_and_not_stored() {
    let disk = SimDisk::new();
    let store = open(&disk, no_floor());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    send(&store, ana, "m1").recv_timeout(ANSWER).unwrap().unwrap();
    disk.fill();
    let m2 = send(&store, ana, "m2");
    store.stop();
    assert_eq!(m2.recv_timeout(ANSWER).unwrap().unwrap_err().code, Code::Internal);
    disk.free_up();
    let store = open(&disk, no_floor());
    assert_eq!(history_ids(&store, ana), ["m1"]);
}

/// With `--min-free 16MiB` and 8 MiB left, the next sends must not get
/// `OK` until the floor's next look. Here a burst of
/// messages written under one lock crosses the floor: the messages past
/// it are refused with `KO:FULL`, so the disk never goes below the floor
/// by more than one message.
#[test]
fn the_floor_holds_from_the_first_write_below_it() {
    let disk = SimDisk::new();
    let floor: u64 = 64 * 1024;
    let budget = Budget { min_free: MinFree::Bytes(floor), ..Budget::NONE };
    let store = open(&disk, StoreOptions { budget, ..StoreOptions::default() });
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    // 40 KiB above the floor, looked at by this send (the last look is
    // at least LOOK_EVERY old: the sleep is no timing assumption).
    disk.set_capacity(Some(disk.used_bytes() + floor + 40 * 1024));
    std::thread::sleep(LOOK_EVERY);
    send(&store, ana, "first").recv_timeout(ANSWER).unwrap().unwrap();
    // 40 messages of 2 KiB in one burst: 80 KiB, twice the room left.
    let burst: Vec<_> = (0..40)
        .map(|i| (Chat::parse("bob").unwrap(), format!("b{i}"), text(&format!("b{i}"), 2048)))
        .collect();
    let (results, ticket) = store.send(ana, &burst);
    store.wait(ticket).unwrap();
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let full: Vec<&Ko> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(accepted > 0 && !full.is_empty(), "{accepted} accepted, {} refused", full.len());
    assert!(full.iter().all(|ko| ko.code == Code::Full), "{full:?}");
    let left = disk.space(Path::new("/data")).unwrap().available;
    assert!(left + 4096 >= floor, "{left} bytes left, below the floor of {floor} by more than a message");
    // And the next single send is refused too, without waiting for a look.
    let ko = send(&store, ana, "next").recv_timeout(ANSWER).unwrap().unwrap_err();
    assert_eq!(ko.code, Code::Full, "{ko}");
}

/// With `--min-free 16MiB`, another program fills the
/// disk to 8 MiB left right after a send saw plenty of room. A send is
/// refused `KO:FULL` within the documented bound: one accepted after the
/// fill began less than [`LOOK_EVERY`] after it (it was `OK` until the
/// floor's next look, 250 ms on). The test polls: the bound is a
/// consequence of the looks' clock, not a timing assumption.
#[test]
fn space_another_program_takes_is_seen_within_the_bound() {
    let disk = SimDisk::new();
    let floor: u64 = 16 << 20;
    let budget = Budget { min_free: MinFree::Bytes(floor), ..Budget::NONE };
    let store = open(&disk, StoreOptions { budget, ..StoreOptions::default() });
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    disk.set_capacity(Some(disk.used_bytes() + 4 * floor));
    send(&store, ana, "plenty").recv_timeout(ANSWER).unwrap().unwrap();
    disk.set_capacity(Some(disk.used_bytes() + floor / 2));
    let filled = std::time::Instant::now();
    let mut accepted = 0;
    let ko = loop {
        let began = filled.elapsed();
        match send(&store, ana, &format!("after{accepted}")).recv_timeout(ANSWER).unwrap() {
            Ok(()) => {
                assert!(began < LOOK_EVERY, "a send {began:?} after the disk filled was accepted");
                accepted += 1;
            }
            Err(ko) => break ko,
        }
        assert!(filled.elapsed() < ANSWER, "never refused");
    };
    assert_eq!(ko.code, Code::Full, "{ko}");
    assert!(ko.reason.contains("--min-free"), "{}", ko.reason);
    disk.set_capacity(None);
    std::thread::sleep(LOOK_EVERY); // the next send looks: no timing assumption
    send(&store, ana, "room again").recv_timeout(ANSWER).unwrap().unwrap();
}

// ----- a write that meets a full disk ---------------------------------------

/// With `--min-free 0`, a `MSG` that meets a full disk must not wait for
/// room (a writer that retried each second left it unanswered for more
/// than 10 s): the writer spends the ballast: the message is stored and answered
/// `OK` at once, the next writes (messages, uploads, accounts) are
/// refused `KO:FULL` at admission, reads go on, and once there is room
/// again the ballast is made again and writes resume. Over the wire, on
/// a server whose store is on the simulated disk; then a restart loses
/// nothing.
#[test]
fn a_message_that_meets_a_full_disk_is_answered_within_the_read_timeout() {
    let disk = SimDisk::new();
    let files = tempfile::tempdir().unwrap(); // uploads stay on the real disk
    let server = sim_server(&disk, files.path());
    for user in ["ana", "bob"] {
        let mut c = Conn::connect(server.send_addr());
        assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
    }
    let mut ana = Conn::connect(server.send_addr());
    assert_eq!(ana.request("LOGIN:ana:pw-ana"), "OK:ana");
    assert!(ana.request("MSG:bob:m1:before").starts_with("OK:m1:"));
    let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"; // of "hello world"
    let upload = ana.request(&format!("UPLOAD:hello.txt:11:{sha}"));
    let file = upload.strip_prefix("OK:").unwrap_or_else(|| panic!("{upload}")).to_string();
    // The disk is full: nothing more fits but the ballast's room.
    disk.set_capacity(Some(disk.used_bytes()));
    let reply = ana.request("MSG:bob:m2:meets the full disk");
    assert!(reply.starts_with("OK:m2:"), "stored in the ballast's room, and told so: {reply}");
    let full = ana.request("MSG:bob:m3:after it");
    assert!(full.starts_with("KO:FULL:"), "{full}");
    assert!(full.contains("disk is full"), "{full}");
    let part = ana.request(&format!("PART:{file}:0:aGVsbG8gd29ybGQ="));
    assert!(part.starts_with("KO:FULL:"), "an upload's bytes too: {part}");
    let another = ana.request(&format!("UPLOAD:again.txt:11:{sha}"));
    assert!(another.starts_with("KO:FULL:"), "{another}");
    let mut carl = Conn::connect(server.send_addr());
    let account = carl.request("REGISTER:carl::pw-carl");
    assert!(account.starts_with("KO:FULL:"), "an account too: {account}");
    let history = ana.listing("HISTORY:bob:10");
    assert_eq!(history.len(), 2, "reads go on: {history:?}");
    let mut bob = Conn::connect(server.send_addr());
    assert_eq!(bob.request("LOGIN:bob:pw-bob"), "OK:bob", "logins too");
    assert_eq!(bob.listing("HISTORY:ana:10").len(), 2);
    // Room again: the ballast is made again, and writes are admitted.
    disk.set_capacity(None);
    let again = poll_until_ok(&mut ana, "MSG:bob:m4:room again");
    assert!(again.starts_with("OK:m4:"), "{again}");
    assert!(disk.exists(&Path::new("/data").join("ballast")), "the ballast is back");
    assert!(ana.request(&format!("PART:{file}:0:aGVsbG8gd29ybGQ=")).starts_with("OK:11"));
    assert_eq!(carl.request("REGISTER:carl::pw-carl"), "OK:carl");
    server.shutdown();
    // Nothing stored was lost: a restart on the same disk has it all.
    let store = open(&disk, no_floor());
    let ana = store.login("ana", "pw-ana", false).unwrap().0;
    assert_eq!(history_ids(&store, ana), ["m1", "m2", "m4"]);
    assert!(store.login("carl", "pw-carl", false).is_ok());
}

/// A server (`--min-free 0`) whose store is on `disk`, its files in
/// `files`.
fn sim_server(disk: &Arc<SimDisk>, files: &Path) -> Server {
    let listen = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::new(files);
    config.store = no_floor();
    config.rate = 0.0;
    config.kdf_cost = 8;
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let server = Server::start_with(listen(), listen(), config, move |router| {
        let router = router.clone();
        let deliver = Box::new(move |batch: &wachat::store::state::Batch| router.written(batch));
        let local = LocalStore::open_on(d.clone(), Path::new("/data"), no_floor(), deliver, None)?;
        Ok(Storage::alone(Arc::new(local)))
    })
    .unwrap();
    server.open();
    server
}

// ----- a device revoked on a full disk --------------------------------------

/// A new device of ana's, linked with a code her session `ana` asks for
/// (`LINK`, then `PAIR` on a fresh connection): its token.
fn paired(server: &Server, ana: &mut Conn, device: &str) -> String {
    let code = ana.request("LINK");
    let code = code.strip_prefix("OK:").unwrap_or_else(|| panic!("{code}"));
    let token = Conn::connect(server.send_addr()).request(&format!("PAIR:ana@{device}:{code}"));
    token.strip_prefix("OK:").unwrap_or_else(|| panic!("{token}")).to_string()
}

/// What `LOGIN:ana@<device>:<secret>` on a fresh send connection answers,
/// and the connection.
fn login_as(server: &Server, device: &str, secret: &str) -> (String, Conn) {
    let mut conn = Conn::connect(server.send_addr());
    (conn.request(&format!("LOGIN:ana@{device}:{secret}")), conn)
}

/// The names of ana's devices, as `DEVICES` lists them.
fn device_names(ana: &mut Conn) -> Vec<String> {
    ana.listing("DEVICES").iter().map(|l| l.split(':').next().unwrap().to_string()).collect()
}

/// With `--min-free 0` and a disk another program filled, an
/// `UNLINK:stolen` must not answer `KO:FULL` with the device gone in
/// memory, the thief's sessions open, and its token logging in again
/// after a restart, nor a refused `DELACCOUNT` forget the devices: the
/// revocation goes first (`store::devices`): whichever write met the
/// full disk first spent the log's ballast, and the revocation is
/// written in the room that left, and answered `OK`: the thief's sessions
/// end and its token never logs in again, through a power cut (harsher
/// than a kill -9: what was not synced is lost too) and a restart. Once
/// that room is taken as well, `UNLINK` and `DELACCOUNT` are refused and
/// change nothing, before and after the restart.
#[test]
fn a_device_revoked_on_a_full_disk_is_revoked_for_good_or_not_at_all() {
    let disk = SimDisk::new();
    let files = tempfile::tempdir().unwrap();
    let server = sim_server(&disk, files.path());
    for user in ["ana", "bob"] {
        let mut c = Conn::connect(server.send_addr());
        assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
    }
    let (ok, mut ana) = login_as(&server, "laptop", "pw-ana");
    assert_eq!(ok, "OK:ana");
    let stolen = paired(&server, &mut ana, "stolen");
    let phone = paired(&server, &mut ana, "phone");
    let (ok, mut thief) = login_as(&server, "stolen", &stolen);
    assert_eq!(ok, "OK:ana");
    let events = |device: &str, secret: &str| {
        let mut conn = Conn::connect(server.recv_addr());
        assert_eq!(conn.request("VERSION:1.2"), "OK");
        assert_eq!(conn.request(&format!("LOGIN:ana@{device}:{secret}")), "OK:ana");
        conn
    };
    let _laptop_events = events("laptop", "pw-ana");
    let mut thief_events = events("stolen", &stolen);
    assert_eq!(device_names(&mut ana), ["laptop", "phone", "stolen"]);

    assert!(ana.request("MSG:bob:b1:before the disk fills").starts_with("OK:b1:"));
    assert!(thief_events.next_event().starts_with("MSG:1:ana:bob:b1:"), "ana's devices see what she sent");
    // Another program fills the disk. The revocation, or a write nobody
    // waits for (an acknowledgement, when a device was seen), meets it
    // and spends the ballast; the revocation goes in the room it left.
    disk.set_capacity(Some(disk.used_bytes()));
    assert_eq!(ana.request("UNLINK:stolen"), "OK");
    assert_eq!(thief_events.next_event(), "BYE:UNLINKED");
    thief.expect_closed();
    assert!(login_as(&server, "stolen", &stolen).0.starts_with("KO:AUTH_FAILED:"), "the token is dead");
    assert_eq!(device_names(&mut ana), ["laptop", "phone"]);

    // The ballast is spent and its room taken: refused, nothing changed.
    disk.set_capacity(Some(disk.used_bytes()));
    let refused = ana.request("UNLINK:phone");
    assert!(refused.starts_with("KO:FULL:"), "{refused}");
    assert_eq!(device_names(&mut ana), ["laptop", "phone"]);
    let (ok, mut phone_session) = login_as(&server, "phone", &phone);
    assert_eq!(ok, "OK:ana", "its token still logs in");
    assert_eq!(phone_session.request("PING"), "OK");
    // Every write is refused now, DELACCOUNT's too (the message that
    // might meet the full disk first is answered within the bound).
    let mut stored = 0;
    while !ana.request(&format!("MSG:bob:m{stored}:a full disk")).starts_with("KO:FULL:") {
        stored += 1;
        assert!(stored < 5, "writes are refused once the ballast is spent");
        disk.set_capacity(Some(disk.used_bytes()));
    }
    let refused = ana.request("DELACCOUNT:pw-ana");
    assert!(refused.starts_with("KO:FULL:"), "{refused}");
    assert_eq!(device_names(&mut ana), ["laptop", "phone"], "a refused DELACCOUNT forgets no device");
    assert_eq!(login_as(&server, "phone", &phone).0, "OK:ana");

    // The power goes (the server writes nothing more), then a restart.
    disk.power_cut();
    disk.fill();
    server.shutdown();
    disk.free_up();
    disk.set_capacity(None);
    let server = sim_server(&disk, files.path());
    assert!(login_as(&server, "stolen", &stolen).0.starts_with("KO:AUTH_FAILED:"), "revoked for good");
    assert_eq!(login_as(&server, "phone", &phone).0, "OK:ana", "refused: nothing changed");
    let (ok, mut ana) = login_as(&server, "laptop", "pw-ana");
    assert_eq!(ok, "OK:ana", "the account was not deleted");
    assert_eq!(device_names(&mut ana), ["laptop", "phone"], "as answered, through the power cut");
    assert_eq!(ana.request("UNLINK:phone"), "OK", "room again: the revocation goes through");
    server.shutdown();
}

/// Sends `line` until it is not refused `KO:FULL` (room came back: the
/// next look sees it), for at most [`ANSWER`].
fn poll_until_ok(conn: &mut Conn, line: &str) -> String {
    let deadline = std::time::Instant::now() + ANSWER;
    loop {
        let reply = conn.request(line);
        if !reply.starts_with("KO:FULL:") || std::time::Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

// ----- a damaged log segment -----------------------------------------------

const SEGMENT: &[&str] = &["--segment-size", "4096"];

/// A stopped server's data directory: 40 messages of ~230 bytes from ana
/// to bob, over three segments of the log.
fn forty_messages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), SEGMENT);
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    for i in 0..40 {
        let reply = ana.request(&format!("MSG:bob:m{i}:message {i} {}", "x".repeat(200)));
        assert!(reply.starts_with("OK:"), "{reply}");
    }
    assert!(server.terminate().success());
    dir
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> =
        std::fs::read_dir(dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    all.sort();
    all
}

/// Replaces the line of message `id` in `segment` by what `damage` makes of it.
fn damage(segment: &Path, id: &str, damage: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(segment).unwrap();
    let needle = format!(",{id},");
    assert!(text.contains(&needle), "{id} is not in {}", segment.display());
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| if l.contains(&needle) { damage(l) } else { l.to_string() })
        .collect();
    std::fs::write(segment, lines.concat()).unwrap();
}

/// The message ids of a segment, in order.
fn ids_in(segment: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(segment).unwrap();
    text.lines().filter(|l| l.starts_with("MSG,")).map(|l| l.split(',').nth(4).unwrap().to_string()).collect()
}

/// The start's error, when it refuses.
fn refused_start(dir: &Path) -> String {
    let mut child = Command::new(wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--web-port", "off", "--data-dir"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, READ_TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "the start was not refused: {stderr}");
    stderr
}

/// `wachat users check --repair`: its output, which must succeed.
fn repair(dir: &Path) -> String {
    let args: Vec<String> = ["users", "check", "--repair", "--data-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([dir_arg(dir)])
        .collect();
    let out = run_wachat(&args, "", "");
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    out.stdout
}

fn dir_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_string()
}

/// bob's history with ana, by id, from a server started on `dir`.
fn history(dir: &Path) -> Vec<String> {
    let mut server = TestServer::start_in(dir, SEGMENT);
    let mut bob = server.login_send("bob", "pw-bob");
    let ids =
        bob.listing("HISTORY:ana:1000").iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect();
    server.kill();
    ids
}

fn all_but(lost: &str) -> Vec<String> {
    (0..40).map(|i| format!("m{i}")).filter(|id| id != lost).collect()
}

/// The id of a message in the middle of `segment`.
fn middle(segment: &Path) -> String {
    let ids = ids_in(segment);
    assert!(ids.len() >= 5, "{ids:?}");
    ids[ids.len() / 2].clone()
}

#[test]
fn a_line_emptied_in_a_closed_segment_is_set_aside_and_the_rest_kept() {
    let dir = forty_messages();
    let first = &segments(dir.path())[0];
    let id = middle(first);
    damage(first, &id, |_| "\n".to_string()); // its content removed: the file shrinks
    let err = refused_start(dir.path());
    assert!(err.contains("the previous segment ends at position"), "{err}");
    assert!(err.contains("wachat users check --repair"), "{err}");
    let said = repair(dir.path());
    assert!(said.contains("a record of") && said.contains("is lost"), "{said}");
    assert!(said.contains("1 damaged lines repaired, 1 records lost"), "{said}");
    assert!(dir.path().join("damaged").is_dir());
    assert_eq!(history(dir.path()), all_but(&id));
}

#[test]
fn shorter_garbage_in_a_closed_segment_is_set_aside_and_the_rest_kept() {
    let dir = forty_messages();
    let first = &segments(dir.path())[0];
    let id = middle(first);
    damage(first, &id, |_| "#garbage#\n".to_string());
    refused_start(dir.path());
    let said = repair(dir.path());
    assert!(said.contains("found 9 bytes that are not a record"), "{said}");
    let aside: Vec<_> =
        std::fs::read_dir(dir.path().join("damaged")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(aside.iter().any(|p| std::fs::read(p).unwrap() == b"#garbage#"), "{aside:?}");
    assert_eq!(history(dir.path()), all_but(&id));
}

#[test]
fn a_blank_line_inserted_in_a_closed_segment_is_removed_and_nothing_lost() {
    let dir = forty_messages();
    let first = &segments(dir.path())[0];
    let id = middle(first);
    damage(first, &id, |line| format!("{line}\n"));
    let err = refused_start(dir.path());
    assert!(err.contains("the previous segment ends at position"), "{err}");
    let said = repair(dir.path());
    assert!(said.contains("an inserted blank line, removed; nothing lost"), "{said}");
    assert_eq!(history(dir.path()), all_but(""));
}

#[test]
fn a_line_emptied_in_the_newest_segment_loses_that_message_alone() {
    let dir = forty_messages();
    let all = segments(dir.path());
    assert!(all.len() >= 2, "{all:?}");
    let newest = all.last().unwrap();
    let id = middle(newest);
    damage(newest, &id, |_| "\n".to_string());
    let said = repair(dir.path());
    assert!(said.contains("1 records lost"), "{said}");
    assert_eq!(history(dir.path()), all_but(&id), "39 of 40");
}
