//! A follower applying a leader's batches (`store::shared_log`) ends with
//! the leader's state, the leader's events and the leader's history, on
//! simulated disks, with a shared log kept in memory.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::super::checkpoint;
use super::super::disk::Disk;
use super::super::record::Pos;
use super::super::shared_log::{Duty, SharedLog, unreachable};
use super::super::sim_disk::SimDisk;
use super::super::{Hasher, LocalStore, Store, StoreOptions};
use crate::protocol::{Chat, Text};

/// One batch of the shared log: its base, its accounts and its records.
type Appended = (Pos, Vec<u8>, Vec<u8>);

/// The shared log, in memory, and the checkpoints stored in it (their
/// position and the erasures they carry); while its flag is set, it does
/// not answer (its database fails over).
#[derive(Default)]
struct Batches(Mutex<Vec<Appended>>, Mutex<Vec<(Pos, Vec<u8>)>>, AtomicBool);

impl SharedLog for Batches {
    fn commit(&self, base: Pos, users: &[u8], log: &[u8]) -> io::Result<()> {
        if self.2.load(Ordering::SeqCst) {
            return Err(unreachable("the database does not answer"));
        }
        self.0.lock().push((base, users.to_vec(), log.to_vec()));
        Ok(())
    }

    fn overwrite(&self, pos: Pos, bytes: &[u8]) -> io::Result<()> {
        let mut batches = self.0.lock();
        let batch = batches.iter_mut().rev().find(|(base, _, _)| *base <= pos).expect("a batch");
        let at = (pos - batch.0) as usize;
        batch.2[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn checkpoint(&self, pos: Pos, state: &[u8], erasures: &[u8], _kept_from: Pos) -> io::Result<()> {
        assert_eq!(checkpoint::verify(state), Ok(pos), "a whole checkpoint, of its position");
        self.1.lock().push((pos, erasures.to_vec()));
        Ok(())
    }
}

/// A store on its own simulated disk, the store above it, the events it
/// delivered (as text) and its disk.
struct SimNode {
    local: Arc<LocalStore>,
    store: Store,
    heard: Arc<Mutex<Vec<String>>>,
    disk: Arc<dyn Disk>,
}

/// A node following `shared`; it is given the data's identity of the
/// leader's disk, as a cluster gives every node its own (`server.csv`,
/// `actions.csv`).
fn open(shared: &Arc<Batches>, identity_of: Option<&Arc<dyn Disk>>) -> SimNode {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let deliver = {
        let heard = heard.clone();
        Box::new(move |batch: &crate::store::state::Batch| {
            heard
                .lock()
                .extend(batch.deliveries.iter().map(|d| format!("{} {} {:?}", d.user, d.seq, d.event)))
        })
    };
    let disk: Arc<dyn Disk> = Arc::new(SimDisk::new());
    if let Some(leader) = identity_of {
        disk.create_dir_all(Path::new("/data")).unwrap();
        for file in ["server.csv", "actions.csv"] {
            let path = Path::new("/data").join(file);
            disk.replace(&path, &leader.read_all(&path).unwrap()).unwrap();
        }
    }
    // The erasers run when the test says (`erase_all`), not on their own.
    let options =
        StoreOptions { erase_interval: std::time::Duration::from_secs(3600), ..StoreOptions::default() };
    let shared: Arc<dyn SharedLog> = shared.clone();
    let local =
        LocalStore::open_as(disk.clone(), Path::new("/data"), options, deliver, None, Some(shared)).unwrap();
    let local = Arc::new(local);
    let store = Store::new(local.clone(), Hasher::new(8).unwrap());
    SimNode { local, store, heard, disk }
}

/// The id of a deletion of `id` now, as the server makes it.
fn deletion_of(id: &str) -> String {
    use crate::protocol::action::{Act, ActionId};
    ActionId { act: Act::Delete, stamp: crate::store::now_ms(), target: id.into() }.to_string()
}

fn text(s: &str) -> Text {
    Text::parse(s).unwrap()
}

fn history(store: &Store, user: crate::store::UserId, chat: &str) -> Vec<String> {
    store.history(user, &Chat::parse(chat).unwrap(), 1_000, usize::MAX).unwrap().collect().unwrap()
}

/// The state as a checkpoint writes it, its lines sorted (a room's
/// members are kept in a map, written in no set order) and without the
/// checksum line.
fn state_of(local: &LocalStore) -> Vec<String> {
    let bytes = checkpoint::encode(&checkpoint::snapshot(&local.inner.state.lock())).1;
    let mut lines: Vec<String> = String::from_utf8(bytes).unwrap().lines().map(str::to_string).collect();
    lines.retain(|line| !line.starts_with("END,"));
    lines.sort();
    lines
}

#[test]
fn a_follower_applying_the_leaders_batches_has_its_state_events_and_history() {
    let shared = Arc::new(Batches::default());
    let SimNode { local: leader, store, heard: leader_heard, disk: leader_disk } = open(&shared, None);
    leader.lead().unwrap();
    assert_eq!(leader.role(), Duty::Leader);

    let (ana, _) = store.register("ana", "", "password-a").unwrap();
    let (bob, _) = store.register("Bob", "bob@lab", "password-b").unwrap();
    let (carl, _) = store.register("carl", "", "password-c").unwrap();
    let (_, ticket) = store.send(ana, &[(Chat::parse("bob").unwrap(), "m1".into(), text("hello, bob: one"))]);
    store.wait(ticket).unwrap();
    for who in [ana, bob, carl] {
        store.wait(store.join(who, "#lab").unwrap()).unwrap();
    }
    let (_, ticket) = store.send(bob, &[(Chat::parse("#lab").unwrap(), "r1".into(), text("in the room"))]);
    store.wait(ticket).unwrap();
    let (_, ticket) = store.send(carl, &[(Chat::parse("ana").unwrap(), "c1".into(), text("secret"))]);
    store.wait(ticket).unwrap();
    store.wait(store.read(bob, &Chat::parse("ana").unwrap(), "m1").unwrap()).unwrap();
    store.ack(bob, 1);
    store.wait(store.leave(carl, "#lab").unwrap()).unwrap();
    // carl deletes his message: the leader erases it as the server asks,
    // the follower from the deletion's record.
    let (_, ticket) = store.send(
        carl,
        &[(Chat::parse("ana").unwrap(), deletion_of("c1"), text(crate::protocol::action::DELETED))],
    );
    store.wait(ticket).unwrap();
    store.erase("carl", &Chat::parse("ana").unwrap(), "c1").unwrap();
    leader.sync().unwrap();

    let SimNode { local: follower, store: follower_store, heard: follower_heard, .. } =
        open(&shared, Some(&leader_disk));
    assert_eq!(follower.role(), Duty::Follower);
    for (base, users, log) in shared.0.lock().iter() {
        follower.apply_shared(*base, users, log).unwrap();
    }
    assert_eq!(follower.end(), leader.end());
    assert_eq!(state_of(&follower), state_of(&leader), "the follower's state is the leader's");
    // Each user's events in the same order (a room's members are told in
    // no set order among them).
    let sorted = |heard: &Mutex<Vec<String>>| {
        let mut heard = heard.lock().clone();
        heard.sort();
        heard
    };
    assert_eq!(sorted(&follower_heard), sorted(&leader_heard), "the same events, numbered alike");
    leader.inner.eraser.erase_all(&leader.inner);
    follower.inner.eraser.erase_all(&follower.inner);
    for (user, chat) in [(ana, "bob"), (bob, "#lab"), (ana, "carl"), (bob, "ana")] {
        assert_eq!(history(&follower_store, user, chat), history(&store, user, chat), "{chat}");
    }
    let erased = history(&follower_store, ana, "carl");
    assert!(!erased.iter().any(|line| line.contains("secret")), "erased on the follower too: {erased:?}");
    let shared_bytes: Vec<u8> = shared.0.lock().iter().flat_map(|(_, _, log)| log.clone()).collect();
    assert!(!String::from_utf8_lossy(&shared_bytes).contains("secret"), "and in the shared log");
    assert!(follower_store.login("Bob", "password-b", false).is_ok(), "accounts come with the batches");
    // A follower writes nothing of its own, and a batch out of place is refused.
    assert!(follower_store.join(ana, "#other").is_err());
    assert!(follower.apply_shared(0, b"", b"").is_err());
}

#[test]
fn the_leader_stores_its_checkpoints_in_the_shared_log_with_the_erasures_to_do() {
    let shared = Arc::new(Batches::default());
    let SimNode { local: leader, store, disk: leader_disk, .. } = open(&shared, None);
    leader.lead().unwrap();
    let (ana, _) = store.register("ana", "", "password-a").unwrap();
    store.register("bob", "", "password-b").unwrap();
    let bob = Chat::parse("bob").unwrap();
    let (_, ticket) = store.send(ana, &[(bob.clone(), "m1".into(), text("to be deleted"))]);
    store.wait(ticket).unwrap();
    let (_, ticket) =
        store.send(ana, &[(bob.clone(), deletion_of("m1"), text(crate::protocol::action::DELETED))]);
    store.wait(ticket).unwrap();
    store.erase("ana", &bob, "m1").unwrap();
    leader.checkpoint().unwrap();
    let stored = shared.1.lock().clone();
    assert_eq!(stored.iter().map(|(pos, _)| *pos).collect::<Vec<_>>(), vec![leader.end()]);
    assert_eq!(stored[0].1, b"ana,bob,m1\n", "the erasure still to do comes with it");

    // A follower's checkpoints stay on its own disk.
    let SimNode { local: follower, .. } = open(&shared, Some(&leader_disk));
    for (base, users, log) in shared.0.lock().clone() {
        follower.apply_shared(base, &users, &log).unwrap();
    }
    follower.checkpoint().unwrap();
    assert_eq!(shared.1.lock().len(), 1);
}

/// Ana's message `id` to bob, as `LocalStore::send` takes it.
fn to_bob(id: &str) -> Vec<crate::store::Outgoing> {
    vec![(Chat::parse("bob").unwrap(), id.into(), text(id))]
}

/// A leader with ana and bob, ana's `m1` to bob stored; then `shared`
/// goes away and ana's `m2` meets it: returns the leader, ana and bob,
/// and where the answer to `m2`'s wait comes once it is written.
fn m2_waiting_for_the_shared_log(
    shared: &Arc<Batches>,
) -> (SimNode, [crate::store::UserId; 2], crossbeam_channel::Receiver<Result<(), crate::protocol::Ko>>) {
    let node = open(shared, None);
    node.local.lead().unwrap();
    let (ana, _) = node.store.register("ana", "", "password-a").unwrap();
    let (bob, _) = node.store.register("bob", "", "password-b").unwrap();
    let (_, ticket) = node.store.send(ana, &to_bob("m1"));
    node.store.wait(ticket).unwrap();

    shared.2.store(true, Ordering::SeqCst);
    let (sent, ticket) = node.store.send(ana, &to_bob("m2"));
    assert!(sent[0].is_ok(), "{sent:?}");
    let (answered, answer) = crossbeam_channel::bounded(1);
    let waiting = node.local.clone();
    std::thread::spawn(move || answered.send(waiting.wait(ticket)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.local.inner.durable.failed.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the write never met the shared log gone");
        std::thread::sleep(Duration::from_millis(5)); // polling the committer's state
    }
    (node, [ana, bob], answer)
}

/// The shared log gone away (its database failing over): the leader's
/// write that meets it waits, unanswered, and every later one is refused
/// `KO:UNAVAILABLE` at once, not stored; an acknowledgement and where a
/// device is, which nobody waits for, are kept meanwhile. Once the log
/// answers again the committer's retry stores the waiting batch, then
/// those records, and writes are taken again, with no restart.
#[test]
fn a_write_that_meets_the_shared_log_gone_waits_for_it_and_later_ones_are_refused() {
    use crate::store::devices::{DEVICE, Device, encode, key};
    let shared = Arc::new(Batches::default());
    let (SimNode { local: leader, store, .. }, [ana, bob], answer) = m2_waiting_for_the_shared_log(&shared);
    let (refused, _) = store.send(ana, &to_bob("m3"));
    assert!(matches!(&refused[0], Err(ko) if ko.code == crate::protocol::Code::Unavailable), "{refused:?}");
    store.ack(bob, 1);
    let phone = Device {
        name: "phone".into(),
        position: Some(1),
        seen_ms: 1,
        address: std::net::IpAddr::from([127, 0, 0, 1]),
        token: None,
    };
    let mut put = |_: &crate::store::settings::KeyView| Ok(Some(encode(&phone)));
    leader.change_setting_unwaited(bob, &DEVICE, &key("phone"), &mut put).unwrap();
    assert!(answer.try_recv().is_err(), "answered while the shared log is away");

    shared.2.store(false, Ordering::SeqCst);
    let waited = answer.recv_timeout(Duration::from_secs(10)).expect("the waiting write answered");
    assert_eq!(waited, Ok(()));
    leader.sync().unwrap();
    let logged: Vec<u8> = shared.0.lock().iter().flat_map(|(_, _, log)| log.clone()).collect();
    let logged = String::from_utf8_lossy(&logged);
    let at =
        |what: &str| logged.find(what).unwrap_or_else(|| panic!("{what} not in the shared log: {logged}"));
    assert!(!logged.contains("m3"), "a refused write is not stored: {logged}");
    assert!(at(",m2,") < at("ACK,"), "the acknowledgement after the waiting batch: {logged}");
    assert!(at(",m2,") < at("@phone"), "the device after the waiting batch: {logged}");
    let (sent, ticket) = store.send(ana, &to_bob("m3"));
    assert!(sent[0].is_ok(), "{sent:?}");
    assert_eq!(store.wait(ticket), Ok(()));
}

/// While writes are refused, records nobody waits for (acknowledgements,
/// where devices are) keep calling the committer, more often than its
/// retries: its retry of the waiting batch still comes each
/// [`RETRY`](super::committer::RETRY), and the store takes writes again
/// once the shared log answers.
#[test]
fn the_retry_comes_while_records_nobody_waits_for_keep_calling_the_committer() {
    let shared = Arc::new(Batches::default());
    let (SimNode { store, .. }, [ana, bob], answer) = m2_waiting_for_the_shared_log(&shared);
    shared.2.store(false, Ordering::SeqCst);
    // A record nobody waits for every 100 ms, each a call of the committer.
    let deadline = Instant::now() + Duration::from_secs(10);
    let waited = loop {
        store.ack(bob, 1);
        if let Ok(waited) = answer.recv_timeout(Duration::from_millis(100)) {
            break waited;
        }
        assert!(Instant::now() < deadline, "the waiting write never answered: the retry never came");
    };
    assert_eq!(waited, Ok(()));
    let (sent, ticket) = store.send(ana, &to_bob("m3"));
    assert!(sent[0].is_ok(), "{sent:?}");
    assert_eq!(store.wait(ticket), Ok(()));
}
