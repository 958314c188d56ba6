//! Tests of the local store through the server's API, on a simulated disk:
//! a full disk, retention, the resend window at its edge (and ids that
//! share a tag), crashes in the middle of a checkpoint and of a segment
//! roll, an unreadable checkpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::super::disk::Disk;
use super::super::sim_disk::SimDisk;
use super::super::{DEDUP_WINDOW, Hasher, LocalStore, Store, StoreOptions, UserId};
use crate::protocol::page::Start;
use crate::protocol::{Chat, Code, Ko, Text};

/// Listing lines as written on the wire.
fn wire<T: std::fmt::Display>(lines: Vec<T>) -> Vec<String> {
    lines.iter().map(T::to_string).collect()
}

fn open(disk: &Arc<SimDisk>, options: StoreOptions) -> (Arc<LocalStore>, Store) {
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let local =
        Arc::new(LocalStore::open_on(d, Path::new("/data"), options, Box::new(|_| {}), None).unwrap());
    let store = Store::new(local.clone(), Hasher::new(8).unwrap());
    (local, store)
}

fn send(store: &Store, from: UserId, to: &str, id: &str) -> Result<String, crate::protocol::Ko> {
    let text = Text::parse(&format!("text of {id}")).unwrap();
    let (mut results, ticket) = store.send(from, &[(Chat::parse(to).unwrap(), id.to_string(), text)]);
    let ok = results.pop().expect("one result per message")?;
    store.wait(ticket)?;
    Ok(ok.to_string())
}

fn history(store: &Store, user: UserId, chat: &str) -> Vec<String> {
    store.history(user, &Chat::parse(chat).unwrap(), 1_000_000, usize::MAX).unwrap().collect().unwrap()
}

fn replay(store: &Store, user: UserId) -> Vec<String> {
    let mut frames = String::new();
    let mut lines = store.replay(user, 0, store.inbox_end(user), 0);
    while lines.next_chunk(&mut frames).unwrap() {}
    frames.lines().map(str::to_string).collect()
}

/// Sends `id` without waiting: its answer comes on the channel once the
/// store has one (`OK` once durable, `KO` if refused or never stored).
fn send_later(store: &Store, from: UserId, to: &str, id: &str) -> std::sync::mpsc::Receiver<Result<(), Ko>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let text = Text::parse(&format!("text of {id}")).unwrap();
    let (mut results, ticket) = store.send(from, &[(Chat::parse(to).unwrap(), id.to_string(), text)]);
    match results.pop().expect("one result per message") {
        Ok(_) => store.when_durable(ticket, Box::new(move |r| drop(tx.send(r)))),
        Err(ko) => drop(tx.send(Err(ko))),
    }
    rx
}

#[test]
fn a_failed_write_is_never_acknowledged_and_reads_go_on() {
    let disk = SimDisk::new();
    // No floor: it would refuse m2 (a filled SimDisk has no byte free)
    // before it met the full disk this test is about.
    let budget = super::super::budget::Budget {
        min_free: super::super::budget::MinFree::Bytes(0),
        ..Default::default()
    };
    let (_, store) = open(&disk, StoreOptions { budget, ..StoreOptions::default() });
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    send(&store, ana, "bob", "m1").unwrap();
    disk.fill();
    // m2 meets the full disk: no answer while it is full (a KO here
    // would be a lie once the disk had room and the batch was stored) ...
    let m2 = send_later(&store, ana, "bob", "m2");
    // (`fill` makes every write fail: the ballast's room, spent on it,
    // does not help) ... and every later write is refused at once,
    // `KO:FULL` as below the floor ...
    assert_eq!(send(&store, ana, "bob", "m3").unwrap_err().code, Code::Full);
    assert!(m2.try_recv().is_err(), "m2 is not answered while the disk is full");
    // ... while reads are still served, without the message not on disk.
    assert_eq!(wire(store.rooms(ana)), ["#general:2"]);
    assert_eq!(history(&store, ana, "bob").len(), 1);
    assert_eq!(wire(store.chats(bob).unwrap()), ["ana:1"]);
    assert_eq!(replay(&store, bob).len(), 1);
    assert!(store.login("bob", "pw", false).is_ok());
    // The store stops with the disk still full: m2 is refused, and it was
    // not stored (the start after finds m1 alone).
    store.stop();
    assert_eq!(m2.recv_timeout(Duration::from_secs(30)).unwrap().unwrap_err().code, Code::Internal);
    disk.free_up();
    let (_, store) = open(&disk, StoreOptions::default());
    assert_eq!(history(&store, ana, "bob").len(), 1, "a refused message is not stored");
}

/// How a test store is started again.
#[derive(Clone, Copy, Debug)]
enum Restart {
    Not,
    /// From the checkpoint `stop` writes.
    FromCheckpoint,
    /// With every checkpoint removed: the whole log is replayed.
    FromLog,
}

fn restart(disk: &Arc<SimDisk>, store: Store, how: Restart) -> Store {
    if let Restart::Not = how {
        return store;
    }
    store.stop();
    if let Restart::FromLog = how {
        let d: Arc<dyn Disk> = Arc::new(disk.clone());
        for (_, path) in super::super::checkpoint::list(d.as_ref(), Path::new("/data")) {
            d.remove(&path).unwrap();
        }
    }
    open(disk, StoreOptions::default()).1
}

#[test]
fn resends_are_recognised_within_the_window_also_after_a_restart() {
    for how in [Restart::Not, Restart::FromCheckpoint, Restart::FromLog] {
        let disk = SimDisk::new();
        let (_, store) = open(&disk, StoreOptions::default());
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        let (bob, _) = store.register("bob", "", "pw").unwrap();
        let first: Vec<String> =
            (0..=DEDUP_WINDOW).map(|i| send(&store, ana, "bob", &format!("m{i}")).unwrap()).collect();
        let store = restart(&disk, store, how);
        // The newest DEDUP_WINDOW ids get their first OK and store nothing …
        assert_eq!(send(&store, ana, "bob", "m1").unwrap(), first[1], "{how:?}");
        let last = format!("m{DEDUP_WINDOW}");
        assert_eq!(send(&store, ana, "bob", &last).unwrap(), first[DEDUP_WINDOW], "{how:?}");
        assert_eq!(history(&store, ana, "bob").len(), DEDUP_WINDOW + 1, "{how:?}");
        // … and READ finds them; …
        store.wait(store.read(bob, &Chat::parse("ana").unwrap(), "m1").unwrap()).unwrap();
        // … the one just outside the window is a new message.
        assert_ne!(send(&store, ana, "bob", "m0").unwrap(), first[0], "{how:?}");
        assert_eq!(history(&store, ana, "bob").len(), DEDUP_WINDOW + 2, "{how:?}");
    }
}

#[test]
fn a_resend_in_the_same_burst_is_recognised_before_it_is_written() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, StoreOptions::default());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    let to = Chat::parse("bob").unwrap();
    let text = |t: &str| Text::parse(t).unwrap();
    // The second is read back from the batch not yet written.
    let msgs = [(to.clone(), "d1".to_string(), text("one")), (to, "d1".to_string(), text("again"))];
    let (results, ticket) = store.send(ana, &msgs);
    store.wait(ticket).unwrap();
    assert_eq!(results[0], results[1]);
    assert_eq!(history(&store, ana, "bob").len(), 1);
}

#[test]
fn an_id_that_shares_a_tag_with_a_recent_one_is_still_a_new_message() {
    let disk = SimDisk::new();
    let (local, store) = open(&disk, StoreOptions::default());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    let first = send(&store, ana, "bob", "m1").unwrap();
    // A collision, made by hand: ana's window says that "m2" may be the
    // record of "m1". Reading it back must show that it is not.
    {
        let mut state = local.inner.state.lock();
        let pos = state.sent_candidates(ana, "m1")[0];
        let recent = Arc::make_mut(&mut state.users[ana].recent);
        recent.push(super::super::state::recent::tag("m2"), pos);
        assert_eq!(state.sent_candidates(ana, "m2"), [pos]);
    }
    let second = send(&store, ana, "bob", "m2").unwrap();
    assert!(second.starts_with("m2:"), "{second}");
    assert_eq!(history(&store, ana, "bob").len(), 2, "m2 is stored, not taken for m1");
    assert_eq!(send(&store, ana, "bob", "m1").unwrap(), first, "m1 is still a resend");
    store.wait(store.read(bob, &Chat::parse("ana").unwrap(), "m2").unwrap()).unwrap();
    assert_eq!(wire(store.chats(bob).unwrap()), ["ana:0"], "both read");
}

#[test]
fn retention_removes_old_segments_that_no_inbox_needs() {
    let disk = SimDisk::new();
    let options = StoreOptions { segment_size: 600, retain: Some(Duration::ZERO), ..StoreOptions::default() };
    let (local, store) = open(&disk, options.clone());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("bob", "", "pw").unwrap();
    let (carl, _) = store.register("carl", "", "pw").unwrap();
    store.wait(store.leave(bob, "general").unwrap()).unwrap();
    store.wait(store.leave(carl, "general").unwrap()).unwrap();
    for i in 0..40 {
        send(&store, ana, "bob", &format!("m{i}")).unwrap();
    }
    store.ack(bob, store.inbox_end(bob));
    std::thread::sleep(Duration::from_millis(2)); // retention compares whole milliseconds
    local.checkpoint().unwrap();
    local.checkpoint().unwrap();
    let kept = history(&store, ana, "bob").len();
    assert!(kept < 40 && kept > 0, "HISTORY starts later: {kept}");
    assert!(local.segments() < 10);
    // A start reads the checkpoint and what is left of the log.
    store.stop();
    let (local, store) = open(&disk, options);
    assert_eq!(history(&store, ana, "bob").len(), kept);
    // An undelivered message keeps its segment, and everything after it.
    send(&store, ana, "carl", "for-carl").unwrap();
    for i in 40..80 {
        send(&store, ana, "bob", &format!("m{i}")).unwrap();
    }
    store.ack(bob, store.inbox_end(bob));
    std::thread::sleep(Duration::from_millis(2));
    local.checkpoint().unwrap();
    local.checkpoint().unwrap();
    assert_eq!(replay(&store, carl).len(), 1);
    assert!(history(&store, ana, "bob").len() >= 40);
}

#[test]
fn a_crash_at_any_step_of_a_checkpoint_loses_nothing() {
    for step in 1..=8 {
        let disk = SimDisk::new();
        let (local, store) = open(&disk, StoreOptions::default());
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        store.register("bob", "", "pw").unwrap();
        send(&store, ana, "bob", "before").unwrap();
        local.checkpoint().unwrap();
        send(&store, ana, "bob", "between").unwrap();
        disk.cut_after(step);
        let _ = local.checkpoint();
        disk.power_cut();
        store.stop();
        let (_, store) = open(&disk, StoreOptions::default());
        let ids: Vec<String> =
            history(&store, ana, "bob").iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect();
        assert_eq!(ids, ["before", "between"], "cut at step {step} of the checkpoint");
        assert!(send(&store, ana, "bob", "after").is_ok());
    }
}

#[test]
fn a_crash_at_any_step_of_a_segment_roll_loses_nothing() {
    let options = StoreOptions { segment_size: 200, ..StoreOptions::default() };
    for step in 1..=6 {
        let disk = SimDisk::new();
        let (_, store) = open(&disk, options.clone());
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        store.register("bob", "", "pw").unwrap();
        let mut acknowledged = Vec::new();
        for i in 0..3 {
            send(&store, ana, "bob", &format!("m{i}")).unwrap();
            acknowledged.push(format!("m{i}"));
        }
        disk.cut_after(step);
        for i in 3..6 {
            if send(&store, ana, "bob", &format!("m{i}")).is_ok() {
                acknowledged.push(format!("m{i}"));
            }
        }
        disk.power_cut();
        store.stop();
        let (_, store) = open(&disk, options.clone());
        let ids: Vec<String> =
            history(&store, ana, "bob").iter().map(|l| l.split(':').nth(2).unwrap().to_string()).collect();
        assert_eq!(ids, acknowledged, "cut at step {step}");
    }
}

#[test]
fn an_unreadable_checkpoint_is_passed_over_for_the_one_before() {
    let disk = SimDisk::new();
    let (local, store) = open(&disk, StoreOptions::default());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    send(&store, ana, "bob", "m1").unwrap();
    local.checkpoint().unwrap();
    send(&store, ana, "bob", "m2").unwrap();
    local.checkpoint().unwrap();
    store.stop(); // a third, final one
    let newest = super::super::checkpoint::list(&disk, Path::new("/data"))[0].1.clone();
    let mut file = disk.open_append(&newest).unwrap();
    file.truncate(file.len() / 2).unwrap();
    drop(file);
    let (_, store) = open(&disk, StoreOptions::default());
    assert_eq!(history(&store, ana, "bob").len(), 2);
    assert_eq!(replay(&store, store.user_id("bob").unwrap()).len(), 2);
}

#[test]
fn a_long_history_is_read_again_as_it_is_written_and_cut_at_its_byte_limit() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, StoreOptions::default());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    store.register("bob", "", "pw").unwrap();
    let text = Text::parse(&"z".repeat(4000)).unwrap();
    for i in 0..200 {
        let (_, ticket) = store.send(ana, &[(Chat::User("bob".into()), format!("m{i}"), text.clone())]);
        store.wait(ticket).unwrap();
    }
    // 200 lines of ~4 KB: more than the walk keeps, so they are read again.
    let all = history(&store, ana, "bob");
    assert_eq!(all.len(), 200);
    for (i, line) in all.iter().enumerate() {
        assert!(line.starts_with(&format!("ana:bob:m{i}:")) && line.ends_with(text.as_escaped()), "{i}");
    }
    // At most 100 KB of lines: the newest that fit.
    let cut = store.history(ana, &Chat::User("bob".into()), 1000, 100_000).unwrap().collect().unwrap();
    let bytes: usize = cut.iter().map(|l| l.len() + 1).sum();
    assert!(bytes <= 100_000 && bytes + all[0].len() + 1 > 100_000, "{bytes}");
    assert_eq!(cut, all[all.len() - cut.len()..]);
}

#[test]
fn a_long_room_stretch_replays_in_order_across_strides_and_rooms() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, StoreOptions::default());
    let [ana, bob, cy] = ["ana", "bob", "cy"].map(|name| store.register(name, "", "pw").unwrap().0);
    for (user, room) in [(ana, "#a"), (bob, "#a"), (cy, "#a"), (ana, "#b"), (cy, "#b")] {
        let ticket = store.join(user, room).unwrap();
        store.wait(ticket).unwrap();
    }
    // cy is offline: 9,000 messages of two rooms, and a direct one now and then.
    let mut want = Vec::new();
    for i in 0..9000 {
        let (from, to) = match i % 7 {
            0 | 3 => (ana, "#b"),
            5 if i % 1000 == 5 => (bob, "cy"),
            1 => (ana, "#a"),
            _ => (bob, "#a"),
        };
        send(&store, from, to, &format!("m{i}")).unwrap();
        want.push(format!("m{i}"));
    }
    store.ack(cy, 10); // acknowledged inside the first stretch
    let frames = replay(&store, cy);
    let got: Vec<(u64, String)> = frames
        .iter()
        .map(|f| {
            let fields: Vec<&str> = f.split(':').collect();
            (fields[1].parse().unwrap(), fields[4].to_string())
        })
        .collect();
    let expected: Vec<(u64, String)> =
        want.into_iter().enumerate().skip(10).map(|(i, id)| (i as u64 + 1, id)).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "first difference: {:?}", got.iter().zip(&expected).find(|(g, e)| g != e));
}

#[test]
fn a_name_reused_after_its_quarantine_is_a_new_account_that_sees_nothing_old() {
    for how in [Restart::Not, Restart::FromCheckpoint, Restart::FromLog] {
        let disk = SimDisk::new();
        let (_, store) = open(&disk, StoreOptions::default());
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        let (bob, _) = store.register("bob", "", "pw").unwrap();
        send(&store, ana, "bob", "m1").unwrap();
        send(&store, bob, "ana", "b1").unwrap();
        send(&store, bob, "ana", "b2").unwrap(); // never read by the old ana
        send(&store, ana, "#general", "g1").unwrap();
        store.wait(store.join(ana, "#lab").unwrap()).unwrap(); // its owner
        store.wait(store.join(bob, "#lab").unwrap()).unwrap();
        store.wait(store.delete_account(ana).unwrap()).unwrap();
        let taken = store.register("ana", "", "pw2").unwrap_err();
        assert_eq!(taken.code, Code::UserExists, "{how:?}");
        assert!(taken.reason.contains("reserved for 30 days more"), "{}", taken.reason);
        let store = store.with_name_quarantine(Duration::ZERO);
        assert_eq!(store.register("ANA", "", "pw2").unwrap(), (ana, "ana".into()), "{how:?}");
        let store = restart(&disk, store, how);
        assert!(store.login("ana", "pw", false).is_err() && store.login("ana", "pw2", false).is_ok());
        // The new ana sees nothing of the old one's ...
        assert!(history(&store, ana, "bob").is_empty(), "{how:?}");
        assert!(history(&store, ana, "#general").is_empty(), "{how:?}");
        // No chat either: #general has nothing since its cut (not even
        // `#general:0`).
        assert!(store.chats(ana).unwrap().is_empty(), "{how:?}");
        assert!(replay(&store, ana).is_empty(), "{how:?}");
        let old_b1 = store.read(ana, &Chat::parse("bob").unwrap(), "b1").unwrap_err();
        assert_eq!(old_b1.code, Code::UnknownMessage, "{how:?}: the old ana's message");
        let (bob_chat, query) = ([Chat::parse("bob").unwrap()], super::super::search::Query::new("text"));
        assert!(store.search(ana, &bob_chat, &query, 10).unwrap().found.is_empty(), "{how:?}");
        // ... bob keeps his whole conversation with the name ...
        assert_eq!(history(&store, bob, "ana").len(), 3, "{how:?}");
        // ... a page at a time too (1.2), whose cursor the new ana may not use.
        let with_ana = Chat::parse("ana").unwrap();
        let page = |user, start| store.history_page(user, &with_ana, (start, false), 1, usize::MAX);
        let newest = page(bob, Start::Newest).unwrap();
        let older = page(bob, Start::At(newest.before.unwrap())).unwrap();
        assert_eq!((older.len, older.before.is_some()), (1, true), "{how:?}");
        let with_bob = Chat::parse("bob").unwrap();
        let refused =
            store.history_page(ana, &with_bob, (Start::At(newest.before.unwrap()), false), 1, usize::MAX);
        assert_eq!(refused.map(|l| l.len).unwrap_err().code, Code::BadRequest, "{how:?}");
        // ... the new ana's m1 is a new message, not a resend of the old one's ...
        send(&store, ana, "bob", "m1").unwrap();
        assert_eq!((history(&store, bob, "ana").len(), history(&store, ana, "bob").len()), (4, 1), "{how:?}");
        // ... and only what bob sends from now on is unread.
        send(&store, bob, "ana", "b3").unwrap();
        assert_eq!(wire(store.chats(ana).unwrap()), ["bob:1"], "{how:?}");
        assert_eq!(store.search(ana, &bob_chat, &query, 10).unwrap().found.len(), 2, "{how:?}");
        // It does not own the room the old ana made, nor any rank there.
        store.wait(store.join(ana, "#lab").unwrap()).unwrap();
        let info = wire(store.room_info(ana, "#lab").unwrap());
        assert!(!info.iter().any(|l| l.contains("ana")), "{how:?}: {info:?}");
        // A second restart (from whatever the first one left) agrees.
        let store = restart(&disk, store, Restart::FromCheckpoint);
        assert_eq!(wire(store.chats(ana).unwrap()), ["bob:1"], "{how:?}");
        assert_eq!(history(&store, ana, "bob").len(), 2, "{how:?}");
    }
}

/// A key of a direct chat comes with the account it names, read with it
/// (`KeptKey::account`), so `Store::blocked` is one read: `None` for a
/// name with no account and for a room's key.
#[test]
fn a_chats_key_is_read_with_the_account_it_names() {
    use crate::store::prefs::{BLOCK, PREF};
    use crate::store::settings::Keys;
    let disk = SimDisk::new();
    let (_, store) = open(&disk, StoreOptions::default());
    let (ana, _) = store.register("ana", "", "pw").unwrap();
    let (bob, _) = store.register("Bob", "", "pw").unwrap();
    for (setting, key, value) in [(&BLOCK, "bob", "Bob"), (&BLOCK, "zed", "zed"), (&PREF, "#tea", "#tea 0 1")]
    {
        store.wait(store.set_setting(ana, setting, key, Some(value)).unwrap()).unwrap();
    }
    let accounts = |setting: &crate::store::settings::Setting| {
        let kept = store.read_settings(setting, Keys::Of(ana));
        kept.into_iter().map(|k| (k.key, k.account)).collect::<Vec<_>>()
    };
    assert_eq!(accounts(&BLOCK), [("bob".to_string(), Some(bob)), ("zed".to_string(), None)]);
    assert_eq!(accounts(&PREF), [("#tea".to_string(), None)]);
    assert_eq!(store.blocked(ana), [bob]);
    assert!(store.blocked(bob).is_empty());
}

/// Whom a user's presence is told, from one read of its rooms
/// (`LocalStore::rooms_of`): the members of its rooms of at most the limit,
/// not those of a bigger room, nor itself.
#[test]
fn roommates_are_the_members_of_the_small_rooms_read_at_once() {
    let disk = SimDisk::new();
    let (_, store) = open(&disk, StoreOptions::default());
    let [ana, bob, cy, dan] = ["ana", "bob", "cy", "dan"].map(|n| store.register(n, "", "pw").unwrap().0);
    for (user, room) in [(ana, "pair"), (bob, "pair"), (ana, "trio"), (cy, "trio"), (dan, "trio")] {
        store.wait(store.join(user, room).unwrap()).unwrap();
    }
    let rooms = store.rooms_of(ana, 2);
    let sizes: Vec<(String, usize)> = rooms.iter().map(|(line, m)| (line.to_string(), m.len())).collect();
    assert_eq!(sizes, [("#general:4".into(), 0), ("#pair:2".into(), 2), ("#trio:3".into(), 0)]);
    assert_eq!(store.roommates(ana, 2), [bob]);
    assert_eq!(store.roommates(ana, 3), [bob, cy, dan]);
    assert_eq!(store.roommates(dan, 3), [ana, cy], "not itself");
    assert_eq!(wire(store.rooms(ana)), ["#general:4", "#pair:2", "#trio:3"]);
}

/// A store on `disk` whose written batches' disabled accounts are
/// told to `heard`, as the router is.
fn open_hearing_disabled(disk: &Arc<SimDisk>, heard: &Arc<parking_lot::Mutex<Vec<String>>>) -> Store {
    let d: Arc<dyn Disk> = Arc::new(disk.clone());
    let heard = heard.clone();
    let deliver = Box::new(move |batch: &crate::store::state::Batch| {
        heard.lock().extend(batch.disabled.iter().map(|(_, name)| name.to_string()));
    });
    let local = LocalStore::open_on(d, Path::new("/data"), StoreOptions::default(), deliver, None);
    Store::new(Arc::new(local.unwrap()), Hasher::new(8).unwrap())
}

/// Disabling is a record: changed once, the written batch names the
/// account (whose sessions the router closes), an enable names none,
/// and a start reads it back from the log.
#[test]
fn a_disabled_account_is_a_record_that_the_written_batch_names() {
    let disk = SimDisk::new();
    let heard = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let store = open_hearing_disabled(&disk, &heard);
    let (ana, ticket) = store.create_account("Ana", "", "$argon2id$x".into(), None).unwrap();
    store.wait(ticket).unwrap();
    assert!(!store.is_disabled("ana"));
    assert_eq!(store.set_disabled(ana.id, true), Ok(true));
    assert_eq!(store.set_disabled(ana.id, true), Ok(false), "already");
    assert!(store.is_disabled("ANA"));
    assert_eq!(*heard.lock(), ["Ana"]);
    drop(store);
    let store = open_hearing_disabled(&disk, &heard);
    assert!(store.is_disabled("ana"), "read back from the log");
    assert_eq!(store.set_disabled(ana.id, false), Ok(true));
    assert_eq!(store.set_disabled(ana.id, false), Ok(false));
    assert!(!store.is_disabled("ana"));
    assert_eq!(*heard.lock(), ["Ana"], "an enable closes nothing");
}

/// `REDEEM` in the store: the code judged and used in the batch that
/// makes the account. A taken name leaves the code valid; two students
/// with one code make one account; a revoked code lets nobody in; and
/// the codes come back from the log and from a checkpoint.
#[test]
fn an_invite_code_makes_one_account_in_the_batch_that_uses_it() {
    use crate::store::invites::{self, Kept};
    let disk = SimDisk::new();
    let (local, store) = open(&disk, StoreOptions::default());
    let later = super::super::now_ms() + 60_000;
    let codes = invites::make(3).unwrap();
    crate::store::keep_invites(&local, &codes, later).unwrap();
    assert_eq!(store.invites().len(), 3);
    store.register("ana", "", "pw").unwrap();
    let (a, b, c) = (&codes[0], &codes[1], &codes[2]);
    // A taken name: refused, and the code stays valid.
    let taken = store.redeem(a, "ANA", "", "pw").unwrap_err();
    assert_eq!(taken.code, Code::UserExists);
    assert_eq!(store.invite(a), Some(Kept { expires_ms: later, used: false }));
    // Typed in capitals, with a space: the same code.
    let typed = format!("{} {}", a[..5].to_uppercase(), &a[5..]);
    let code = store.check_invite(&typed).unwrap();
    assert_eq!(&code, a);
    // Two students, one code: one account.
    let racing: Vec<_> = std::thread::scope(|s| {
        let (store, code) = (&store, &code);
        let both = ["bob", "cy"].map(|name| s.spawn(move || store.redeem(code, name, "", "pw")));
        both.into_iter().map(|one| one.join().unwrap()).collect()
    });
    assert_eq!(racing.iter().filter(|made| made.is_ok()).count(), 1, "{racing:?}");
    let refused = racing.iter().find_map(|made| made.as_ref().err()).unwrap();
    assert_eq!(refused.reason, invites::Refused::Used.ko().reason);
    assert_eq!(store.user_id("bob").is_some() as u8 + store.user_id("cy").is_some() as u8, 1);
    assert_eq!(store.check_invite(a).unwrap_err().reason, invites::Refused::Used.ko().reason);
    // Revoked: unknown from then on; a used code stays used.
    assert_eq!(crate::store::revoke_invite(&local, b), Ok(Some(Kept { expires_ms: later, used: false })));
    assert_eq!(store.check_invite(b).unwrap_err().reason, invites::Refused::Unknown.ko().reason);
    assert_eq!(crate::store::revoke_invite(&local, a), Ok(Some(Kept { expires_ms: later, used: true })));
    assert_eq!(crate::store::revoke_invite(&local, "nosuchcode"), Ok(None));
    assert_eq!(store.check_invite("../users.csv").unwrap_err().reason, invites::Refused::Unknown.ko().reason);
    let before = store.invites();
    assert_eq!(before.len(), 2);
    // From the log, then from a checkpoint.
    drop(store);
    drop(local);
    let (local, store) = open(&disk, StoreOptions::default());
    assert_eq!(store.invites(), before);
    local.checkpoint().unwrap();
    drop(store);
    drop(local);
    let (_local, store) = open(&disk, StoreOptions::default());
    assert_eq!(store.invites(), before);
    assert!(store.redeem(c, "dan", "", "pw").is_ok());
}
