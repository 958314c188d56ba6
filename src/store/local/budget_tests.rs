//! The budgets on a simulated disk (`store::budget`): a disk that fills
//! and is freed again, the free-space floor, the quota of stored bytes
//! across a restart, the inbox cap.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::InLog;
use super::super::ballast::BALLAST;
use super::super::budget::{Budget, LOOK_EVERY, MinFree};
use super::super::devices::{Device, hash_token};
use super::super::disk::Disk;
use super::super::sim_disk::SimDisk;
use super::super::{Hasher, LocalStore, Store, StoreOptions, UserId};
use super::committer::RETRY;
use crate::protocol::{Chat, Code, Ko, Text};

/// StoreOptions with no free-space floor, for the tests of a write that meets
/// a full disk: the floor would refuse it first (a disk filled by
/// `SimDisk::fill` has 0 bytes free), and the write would never meet it.
fn no_floor() -> StoreOptions {
    StoreOptions {
        budget: Budget { min_free: MinFree::Bytes(0), ..Budget::default() },
        ..StoreOptions::default()
    }
}

fn open(disk: &Arc<SimDisk>, options: StoreOptions) -> (Arc<LocalStore>, Store) {
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let local =
        Arc::new(LocalStore::open_on(d, Path::new("/data"), options, Box::new(|_| {}), None).unwrap());
    let store = Store::new(local.clone(), Hasher::new(8).unwrap());
    (local, store)
}

fn send(store: &Store, from: UserId, to: &str, id: &str) -> Result<String, Ko> {
    let text = Text::parse(&format!("text of {id}, {}", "x".repeat(100))).unwrap();
    let (mut results, ticket) = store.send(from, &[(Chat::parse(to).unwrap(), id.to_string(), text)]);
    let ok = results.pop().expect("one result per message")?;
    store.wait(ticket)?;
    Ok(ok.to_string())
}

fn history_ids(store: &Store, user: UserId, chat: &str) -> Vec<String> {
    let lines: Vec<String> =
        store.history(user, &Chat::parse(chat).unwrap(), 1000, usize::MAX).unwrap().collect().unwrap();
    lines.iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect()
}

/// Sends `id` until it is accepted, for at most `within`.
fn send_until_ok(store: &Store, from: UserId, to: &str, id: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        match send(store, from, to, id) {
            Ok(ok) => return ok,
            Err(ko) if Instant::now() < deadline => {
                assert!(matches!(ko.code, Code::Internal | Code::Full), "{ko}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(ko) => panic!("{id} still refused after {within:?}: {ko}"),
        }
    }
}

#[test]
fn writes_resume_by_themselves_once_a_full_disk_is_freed() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, no_floor());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    send(&store, ana, "bob", "m1").unwrap();
    disk.fill();
    // m2 meets the full disk: it waits, unanswered, for the disk.
    let (tx, m2) = std::sync::mpsc::channel();
    let text = Text::parse("text of m2").unwrap();
    let (results, ticket) = store.send(ana, &[(Chat::parse("bob").unwrap(), "m2".into(), text)]);
    assert!(results[0].is_ok(), "applied before the disk failed");
    store.when_durable(ticket, Box::new(move |r| drop(tx.send(r))));
    // A disk that stays full when the ballast is gone (`fill`: every
    // write fails) is the case the ballast cannot cure: m2 waits, and
    // new writes are refused at once.
    assert_eq!(send(&store, ana, "bob", "m3").unwrap_err().code, Code::Full, "refused at once");
    assert_eq!(history_ids(&store, ana, "bob"), ["m1"], "reads show what is on disk");
    // Still full a retry later: still refused, nothing torn, m2 unanswered.
    std::thread::sleep(RETRY + RETRY / 2);
    assert!(send(&store, ana, "bob", "m3").is_err());
    assert!(m2.try_recv().is_err(), "no answer while the disk is full");
    disk.free_up();
    // No restart: within a retry or two, the stalled batch (m2) is written
    // where it belonged and answered OK, and new writes are accepted.
    assert!(m2.recv_timeout(RETRY * 30).unwrap().is_ok(), "m2 is stored and told so");
    let m3 = send_until_ok(&store, ana, "bob", "m3", RETRY * 5);
    assert!(m3.starts_with("m3:"), "{m3}");
    assert_eq!(history_ids(&store, ana, "bob"), ["m1", "m2", "m3"]);
    assert!(store.register("carl", "", "pw").is_ok(), "accounts too");
    // And all of it survives a restart, users.csv written once.
    store.stop();
    let (_, store) = open(&disk, no_floor());
    assert_eq!(history_ids(&store, bob, "ana"), ["m1", "m2", "m3"]);
    assert!(store.login("carl", "pw", false).is_ok());
}

#[test]
fn the_free_space_floor_refuses_writes_before_the_disk_is_full_and_lets_them_in_again() {
    let disk = SimDisk::new();
    let floor = 4096;
    let budget = Budget { min_free: MinFree::Bytes(floor), ..Budget::NONE };
    let options = StoreOptions { budget, ..StoreOptions::default() };
    let (_, store) = open(&disk, options);
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    // A disk with 16 KiB left: messages until the floor, then KO:FULL.
    // The next write looks (the last look is at least LOOK_EVERY old: the
    // sleep is no timing assumption); after it the store counts its own.
    disk.set_capacity(Some(disk.used_bytes() + 16 * 1024));
    std::thread::sleep(LOOK_EVERY);
    let mut stored = 0;
    let full = loop {
        match send(&store, ana, "bob", &format!("m{stored}")) {
            Ok(_) => stored += 1,
            Err(ko) => break ko,
        }
        assert!(stored < 1000, "the floor was never reached");
    };
    assert_eq!(full.code, Code::Full, "{full}");
    assert!(full.reason.contains("--min-free"), "{}", full.reason);
    let left = disk.space(Path::new("/data")).unwrap().available;
    assert!(left > 0, "refused before the disk was full ({left} bytes left)");
    assert_eq!(history_ids(&store, ana, "bob").len(), stored);
    // Room again: accepted within a look or two, no restart.
    disk.set_capacity(None);
    let ok = send_until_ok(&store, ana, "bob", "after", LOOK_EVERY * 500);
    assert!(ok.starts_with("after:"), "{ok}");
}

#[test]
fn a_quota_refuses_the_sender_only_and_its_count_survives_a_restart() {
    let disk = SimDisk::new();
    let budget = Budget { user_quota: 1000, ..Budget::NONE };
    let options = StoreOptions { budget, checkpoint_records: 5, ..StoreOptions::default() };
    let (local, store) = open(&disk, options.clone());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    let mut sent = 0;
    let full = loop {
        match send(&store, ana, "#general", &format!("m{sent}")) {
            Ok(_) => sent += 1,
            Err(ko) => break ko,
        }
        assert!(sent < 100);
    };
    assert_eq!(full.code, Code::Full);
    assert!(full.reason.contains("--user-quota"), "{}", full.reason);
    assert!((5..12).contains(&sent), "~150 bytes each against 1,000: {sent}");
    let used = local.stored_bytes(ana);
    assert!((1000..1200).contains(&used), "{used}");
    assert_eq!(send(&store, ana, "bob", "direct").unwrap_err().code, Code::Full, "direct ones too");
    assert!(send(&store, bob, "ana", "b1").is_ok(), "bob has his own quota");
    // The count comes back from the checkpoint and the log after it.
    local.checkpoint().unwrap();
    send(&store, bob, "ana", "b2").unwrap();
    store.stop();
    drop(store);
    drop(local);
    let (local, store) = open(&disk, options);
    assert_eq!(local.stored_bytes(ana), used);
    assert!(local.stored_bytes(bob) > 0);
    assert_eq!(send(&store, ana, "#general", "again").unwrap_err().code, Code::Full);
}

#[test]
fn a_full_inbox_refuses_the_sender_and_the_recipient_keeps_everything() {
    let disk = SimDisk::new();
    let budget = Budget { inbox_max: 3, ..Budget::NONE };
    let (local, store) = open(&disk, StoreOptions { budget, ..StoreOptions::default() });
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    let (carl, _) = store.register("carl", "", "pw").unwrap();
    store.wait(store.leave(bob, "general").unwrap()).unwrap();
    for id in ["m1", "m2", "m3"] {
        send(&store, ana, "bob", id).unwrap();
    }
    let full = send(&store, carl, "bob", "c1").unwrap_err();
    assert_eq!(full.code, Code::Full);
    assert!(full.reason.starts_with("bob has 3 events not yet received"), "{}", full.reason);
    assert!(send(&store, ana, "#general", "room").is_ok(), "rooms are not held up by one inbox");
    let end = store.inbox_end(bob);
    assert_eq!(end, 3, "bob keeps every accepted message");
    store.ack(bob, end);
    local.sync().unwrap();
    assert!(send(&store, carl, "bob", "c1").is_ok(), "room again once bob received them");
}

#[test]
fn retention_gives_a_quota_back_and_a_crash_after_it_counts_again() {
    let disk = SimDisk::new();
    let budget = Budget { user_quota: 3000, ..Budget::NONE };
    let options =
        StoreOptions { budget, segment_size: 600, retain: Some(Duration::ZERO), ..StoreOptions::default() };
    let (local, store) = open(&disk, options.clone());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    let mut sent = 0;
    while send(&store, ana, "bob", &format!("m{sent}")).is_ok() {
        sent += 1;
        assert!(sent < 100);
    }
    let full = local.stored_bytes(ana);
    assert!(full >= 3000, "{full}");
    store.ack(bob, store.inbox_end(bob)); // nothing waits for the old segments
    local.sync().unwrap();
    store.ack(ana, store.inbox_end(ana)); // her DELIVERED events
    local.sync().unwrap();
    std::thread::sleep(Duration::from_millis(2)); // retention compares whole milliseconds
    local.checkpoint().unwrap();
    local.checkpoint().unwrap();
    let left = local.stored_bytes(ana);
    assert!(left < full / 2, "retention gave bytes back: {full} → {left}");
    assert!(send(&store, ana, "bob", "again").is_ok(), "room in the quota again, no restart");
    // Two more rounds, so that the last checkpoint is written before its
    // retention pass removes segments it counted.
    for round in 0..2 {
        for i in 0..8 {
            send(&store, ana, "bob", &format!("r{round}-{i}")).unwrap();
        }
        store.ack(bob, store.inbox_end(bob));
        local.sync().unwrap();
        store.ack(ana, store.inbox_end(ana));
        local.sync().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        local.checkpoint().unwrap();
    }
    let now = local.stored_bytes(ana);
    let start = local.inner.log.start();
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let (_, newest) = super::super::checkpoint::list(d.as_ref(), Path::new("/data")).remove(0);
    let text = String::from_utf8(d.read_all(&newest).unwrap()).unwrap();
    let counted_from: u64 =
        text.lines().find_map(|l| l.strip_prefix("USAGE_FROM,")).unwrap().parse().unwrap();
    assert!(counted_from < start, "the newest checkpoint counted segments now gone");
    // A crash before the next checkpoint: the start counts again, to the same figure.
    disk.kill_process();
    drop(store);
    drop(local);
    let (local, _) = open(&disk, options);
    assert_eq!(local.stored_bytes(ana), now);
    assert_eq!(local.inner.state.lock().usage.from, Some(local.inner.log.start()));
}

/// A store that starts with no room for its ballast
/// (`store::ballast`) starts full: every write `KO:FULL`, logins and
/// reads go on; once there is room, the ballast is made and writes resume.
#[test]
fn a_store_with_no_room_for_its_ballast_starts_full_and_makes_it_once_there_is_room() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, no_floor());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    send(&store, ana, "bob", "m1").unwrap();
    store.stop();
    // Another program took the ballast's room while the server was stopped.
    let ballast = Path::new("/data/ballast");
    disk.remove(ballast).unwrap();
    disk.set_capacity(Some(disk.used_bytes() + BALLAST / 2));
    let (_, store) = open(&disk, no_floor());
    let ko = send(&store, ana, "bob", "m2").unwrap_err();
    assert_eq!(ko.code, Code::Full, "{ko}");
    assert!(store.login("ana", "pw", false).is_ok());
    assert_eq!(history_ids(&store, ana, "bob"), ["m1"]);
    assert!(!disk.exists(ballast));
    disk.set_capacity(None);
    let ok = send_until_ok(&store, ana, "bob", "m2", LOOK_EVERY * 500);
    assert!(ok.starts_with("m2:"), "{ok}");
    assert!(disk.exists(ballast), "made again");
    assert_eq!(history_ids(&store, ana, "bob"), ["m1", "m2"]);
}

/// A device of `name` linked with a token (its name's hash, for the test).
fn linked(name: &str) -> Device {
    let address = std::net::IpAddr::from([127, 0, 0, 1]);
    Device { name: name.into(), position: Some(0), seen_ms: 1, address, token: Some(hash_token(name)) }
}

/// The names of ana's devices on record, and whether each has its token.
fn on_record(devices: &InLog) -> Vec<(String, bool)> {
    let kept = devices.load("ana");
    kept.iter().map(|d| (d.name.to_string(), d.token == Some(hash_token(&d.name)))).collect()
}

/// A revocation goes first (`store::devices`): below the `--min-free`
/// floor, where other writes are refused; and once a message met a disk
/// that another program filled and spent the ballast, in the room the
/// ballast left. With that room taken too, it is refused and nothing
/// changed, through a restart.
#[test]
fn a_revocation_goes_first_where_other_writes_are_refused() {
    let disk = SimDisk::new();
    let floor = 4 << 20;
    let options = StoreOptions {
        budget: Budget { min_free: MinFree::Bytes(floor), ..Budget::default() },
        ..StoreOptions::default()
    };
    let (local, store) = open(&disk, options);
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    let devices = InLog::new(local.clone());
    for name in ["old", "phone", "stolen", "tablet"] {
        devices.add("ana", &linked(name), true).unwrap();
    }
    // Below the floor: a message is refused, an unlink is not.
    disk.set_capacity(Some(disk.used_bytes() + floor / 2));
    std::thread::sleep(LOOK_EVERY);
    assert_eq!(send(&store, ana, "bob", "m1").unwrap_err().code, Code::Full);
    devices.remove("ana", "old").unwrap();
    store.stop();
    drop((devices, local));

    let (local, store) = open(&disk, no_floor());
    let devices = InLog::new(local.clone());
    // Full: the first message spends the ballast, the next is refused,
    // and so is a new token (not a revocation); an unlink goes first.
    disk.set_capacity(Some(disk.used_bytes()));
    send(&store, ana, "bob", "m2").unwrap();
    assert_eq!(send(&store, ana, "bob", "m3").unwrap_err().code, Code::Full);
    assert_eq!(devices.add("ana", &linked("new"), true).unwrap_err().code, Code::Full);
    devices.remove("ana", "stolen").unwrap();
    // The ballast's room taken too: refused, nothing changed.
    disk.set_capacity(Some(disk.used_bytes()));
    assert_eq!(devices.remove("ana", "tablet").unwrap_err().code, Code::Full);
    assert_eq!(devices.revoke_tokens("ana", None).unwrap_err().code, Code::Full);
    let answered = [("phone".to_string(), true), ("tablet".to_string(), true)];
    assert_eq!(on_record(&devices), answered);
    store.stop();
    drop((devices, local));
    disk.set_capacity(None);
    let (local, _) = open(&disk, no_floor());
    assert_eq!(on_record(&InLog::new(local)), answered, "through a restart");
}
