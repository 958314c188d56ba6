//! Power cuts on a simulated disk ([`SimDisk`]): unlike SIGKILL (which
//! keeps the kernel's page cache, see `tests/store/crash.rs`), a power cut keeps
//! only what was synced. Users register, send direct and room messages,
//! acknowledge, read and go offline, while the power is cut at random moments — in
//! the middle of a batch, a segment roll, a checkpoint — and the store is
//! opened again on what is left. After every cut:
//!
//! - every message that got its `OK` is in the history, with its timestamp;
//! - every account that got its `OK` exists;
//! - every event handed out for delivery is still there under the same
//!   sequence number, unless the client acknowledged it; and no sequence
//!   number is ever given to two different events.
//!
//! And the test proves it can fail: with any one of the syncs that come
//! before an `OK` or a delivery skipped (`SimDisk::skip_sync`), it finds a
//! broken promise.
//!
//! CI runs a few seeds; more: `WACHAT_POWER_CUT_SEEDS=200 cargo test --release
//! --test store power_cut:: -- --nocapture`. A failure prints its seed; replay it with
//! `WACHAT_POWER_CUT_SEED=<seed>`.

use super::support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use support::Random;
use wachat::protocol::{Chat, EventRef, Text};
use wachat::store::disk::{Disk, SyncPoint};
use wachat::store::sim_disk::SimDisk;
use wachat::store::{Hasher, LocalStore, Pushed, Store, StoreOptions};

/// Frames as a receive connection would get them.
fn frame(seq: u64, event: &Pushed) -> String {
    match event {
        Pushed::Msg(m) => {
            let text = m.text.as_escaped();
            EventRef::Msg { seq, from: &m.from, to: &m.to, id: &m.id, ts: m.ts, text }.to_string()
        }
        Pushed::Status { peer, id, state, ts } => {
            EventRef::Status { seq, peer, id, state: *state, ts: *ts }.to_string()
        }
        // Several devices (1.2) and bounces (1.3): none in this test. (A
        // room's STATUS, 1.2, is a `Pushed::Status` above.)
        Pushed::Copy(_) | Pushed::Mark { .. } | Pushed::Failed { .. } => event.frame(seq).to_string(),
    }
}

/// Everything the store promised, across cycles.
#[derive(Default)]
struct Promises {
    /// Accounts that got their `OK`.
    accounts: Vec<String>,
    /// Messages that got their `OK`: (from, to, id, ts).
    messages: Vec<(String, String, String, u64)>,
    /// Events handed out: (user, seq) → frame.
    delivered: HashMap<(String, u64), String>,
    /// The highest sequence number each user acknowledged.
    acked: HashMap<String, u64>,
}

/// One open store on the simulated disk, with what it delivers collected.
struct Open {
    store: Arc<Store>,
    /// The same store, for what only the local store can be asked.
    local: Arc<LocalStore>,
    deliveries: Arc<Mutex<Vec<(usize, u64, String)>>>,
}

fn open(disk: &Arc<SimDisk>) -> Result<Open, String> {
    let deliveries: Arc<Mutex<Vec<(usize, u64, String)>>> = Arc::default();
    let sink = deliveries.clone();
    let deliver = Box::new(move |batch: &wachat::store::state::Batch| {
        let mut sink = sink.lock().unwrap();
        sink.extend(batch.deliveries.iter().map(|d| (d.user, d.seq, frame(d.seq, &d.event))));
    });
    // Small segments and frequent checkpoints: cuts land in rolls and checkpoints.
    let options = StoreOptions { segment_size: 2048, checkpoint_records: 40, ..StoreOptions::default() };
    let disk: Arc<dyn Disk> = Arc::new(disk.clone());
    let local = Arc::new(
        LocalStore::open_on(disk, Path::new("/data"), options, deliver, None).map_err(|e| e.to_string())?,
    );
    let store = Arc::new(Store::new(local.clone(), Hasher::new(8).unwrap()));
    Ok(Open { store, local, deliveries })
}

/// Checks every promise against a store opened after a cut.
fn check(store: &Store, promises: &mut Promises, users: &[String]) -> Result<(), String> {
    for name in &promises.accounts {
        store.user_id(name).ok_or_else(|| format!("account {name} got OK and is gone"))?;
    }
    // Each conversation's history, read once.
    let mut histories: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (from, to, id, ts) in &promises.messages {
        let key = (from.clone(), to.clone());
        if !histories.contains_key(&key) {
            let me = store.user_id(from).ok_or_else(|| format!("{from} is gone"))?;
            let chat = if let Some(room) = to.strip_prefix('#') {
                Chat::Room(room.into())
            } else {
                Chat::User(to.clone())
            };
            let lines = store
                .history(me, &chat, 100_000, usize::MAX)
                .and_then(|h| h.collect())
                .map_err(|ko| ko.reason)?;
            histories.insert(key.clone(), lines);
        }
        let history = &histories[&key];
        let head = format!("{from}:{to}:{id}:{ts}:");
        if !history.iter().any(|line| line.starts_with(&head)) {
            return Err(format!("message {from}→{to} {id} got OK:{id}:{ts} and is gone"));
        }
    }
    for name in users {
        let Some(user) = store.user_id(name) else { continue };
        let end = store.inbox_end(user);
        let mut replay = String::new();
        // As a 1.2 connection gets them: every event pushed, a room's
        // STATUS (1.2, §31) among them.
        let mut lines = store.replay(user, 0, end, 2);
        while lines.next_chunk(&mut replay).map_err(|ko| ko.reason)? {}
        let replayed: HashMap<u64, &str> =
            replay.lines().map(|l| (l.split(':').nth(1).unwrap().parse().unwrap(), l)).collect();
        let acked = promises.acked.get(name).copied().unwrap_or(0);
        for ((who, seq), frame) in &promises.delivered {
            if who != name {
                continue;
            }
            match replayed.get(seq) {
                Some(found) if found != frame => {
                    return Err(format!("{name} #{seq} was {frame:?}, is now {found:?}"));
                }
                Some(_) => {}
                None if *seq > end => {
                    return Err(format!("{name} #{seq} was delivered and is gone: {frame:?}"));
                }
                None if *seq > acked => {
                    return Err(format!("{name} #{seq} vanished though only {acked} was acknowledged"));
                }
                None => {}
            }
        }
        for (seq, found) in replayed {
            remember(promises, name, seq, found.to_string())?;
        }
    }
    Ok(())
}

/// Records an event handed out; the same number must always mean the same event.
fn remember(promises: &mut Promises, user: &str, seq: u64, frame: String) -> Result<(), String> {
    match promises.delivered.insert((user.to_string(), seq), frame.clone()) {
        Some(before) if before != frame => Err(format!("{user} #{seq} was {before:?}, then {frame:?}")),
        _ => Ok(()),
    }
}

/// Cycles of work and power cuts from `seed`; the first broken promise.
fn scenario(seed: u64, cycles: usize, skip: Option<SyncPoint>) -> Result<(), String> {
    let disk = SimDisk::new();
    if let Some(point) = skip {
        disk.skip_sync(point);
    }
    let mut random = Random(seed | 1);
    let mut promises = Promises::default();
    let mut users: Vec<String> = Vec::new();
    for cycle in 0..cycles {
        let Open { store, local, deliveries } =
            open(&disk).map_err(|e| format!("cycle {cycle}: cannot open: {e}"))?;
        check(&store, &mut promises, &users).map_err(|e| format!("cycle {cycle}: {e}"))?;
        let cut_at = random.below(40) as usize;
        for op in 0..60 {
            if op == cut_at {
                disk.cut_after(1 + random.below(12));
            }
            // Ids are the store's; names are ours (an account whose OK was
            // lost to a cut may still exist, so the two need not match).
            let names: HashMap<usize, String> =
                users.iter().filter_map(|n| Some((store.user_id(n)?, n.clone()))).collect();
            for (user, seq, frame) in deliveries.lock().unwrap().drain(..) {
                let name = names.get(&user).cloned().unwrap_or_else(|| format!("#{user}"));
                remember(&mut promises, &name, seq, frame).map_err(|e| format!("cycle {cycle}: {e}"))?;
            }
            if !step(&store, &local, &mut random, &mut promises, &mut users, cycle, op) {
                break; // the disk is gone
            }
        }
        disk.power_cut();
        store.stop();
    }
    Ok(())
}

/// One request; false once the store refuses writes (the power is off).
fn step(
    store: &Store,
    local: &LocalStore,
    random: &mut Random,
    promises: &mut Promises,
    users: &mut Vec<String>,
    cycle: usize,
    op: usize,
) -> bool {
    if users.len() < 3 || random.below(20) == 0 {
        let name = format!("u{cycle}x{op}");
        return match store.register(&name, "", "pw") {
            Ok(_) => {
                promises.accounts.push(name.clone());
                users.push(name);
                true
            }
            Err(_) => false,
        };
    }
    let from = random.below(users.len() as u64) as usize;
    let me = store.user_id(&users[from]).expect("registered");
    match random.below(11) {
        0..=5 => {
            let to = if random.below(3) == 0 {
                "#general".to_string()
            } else {
                users[(from + 1 + random.below(users.len() as u64 - 1) as usize) % users.len()].clone()
            };
            let chat = Chat::parse(&to).unwrap();
            let burst: Vec<_> = (0..1 + random.below(3))
                .map(|k| {
                    (
                        chat.clone(),
                        format!("c{cycle}o{op}k{k}"),
                        Text::parse(&format!("text {op}, \"{k}\"")).unwrap(),
                    )
                })
                .collect();
            let (results, ticket) = store.send(me, &burst);
            if store.wait(ticket).is_err() {
                return false;
            }
            for ((_, id, _), result) in burst.iter().zip(results) {
                let Ok(ok) = result else { return false };
                let ts = ok.ts;
                promises.messages.push((users[from].clone(), to.clone(), id.clone(), ts));
            }
            true
        }
        6..=8 => {
            // Acknowledge what was handed out to this user.
            let name = &users[from];
            let seen =
                promises.delivered.keys().filter(|(u, _)| u == name).map(|(_, s)| *s).max().unwrap_or(0);
            if seen > 0 {
                store.ack(me, seen);
                let acked = promises.acked.entry(name.clone()).or_default();
                *acked = (*acked).max(seen);
            }
            // Acknowledgements ride the next batch; half the time none
            // comes before the flusher writes them alone, unsynced.
            random.below(2) == 0 || local.write_pending().is_ok()
        }
        9 => {
            // The user's receive connection ends: its last-seen time, a
            // record written unsynced as an acknowledgement's is. (An
            // ACK of room messages no longer goes alone: it carries the
            // room's DELIVERED, which is synced. These keep unsynced
            // writes before a segment's roll, which a skipped seal loses.)
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            local.note_offline(me, now.as_millis() as u64);
            random.below(2) == 0 || local.write_pending().is_ok()
        }
        _ => {
            // Read the newest message some peer sent to this user.
            let name = users[from].clone();
            let last = promises.messages.iter().rev().find(|(_, to, _, _)| *to == name).cloned();
            match last {
                Some((peer, _, id, _)) => {
                    store.read(me, &Chat::User(peer), &id).and_then(|t| store.wait(t)).is_ok()
                }
                None => true,
            }
        }
    }
}

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("WACHAT_POWER_CUT_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let n = std::env::var("WACHAT_POWER_CUT_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    (0..n).map(|i| base.wrapping_add(i * 0x9e37_79b9)).collect()
}

#[test]
fn every_promise_survives_power_cuts_at_any_moment() {
    for seed in seeds() {
        println!("power cut seed {seed}");
        if let Err(broken) = scenario(seed, 15, None) {
            panic!("seed {seed}: {broken}\n(replay: WACHAT_POWER_CUT_SEED={seed})");
        }
    }
}

/// A sync that comes before an `OK` or a delivery, skipped: the test
/// above must notice. Each point is a test of its own: the five take
/// minutes together, and apart they run beside each other (and a
/// failure names its point).
fn a_skipped_sync_breaks_a_promise(point: SyncPoint) {
    // A skipped seal's sync breaks a promise only if a cut falls
    // between that seal and the next sync: one seed in three or four
    // here (seeds 1 to 6 in six runs). So up to 24 seeds are played,
    // where 8 let it pass unseen once, in a busy suite.
    let caught = (1..=24u64).find_map(|seed| scenario(seed * 7919, 25, Some(point)).err().map(|e| (seed, e)));
    let caught = caught.unwrap_or_else(|| panic!("with {point:?} skipped, no promise was broken"));
    println!("{point:?} skipped: seed {} {}", caught.0, caught.1);
}

#[test]
fn the_test_fails_when_a_log_batchs_sync_is_skipped() {
    a_skipped_sync_breaks_a_promise(SyncPoint::LogBatch);
}

#[test]
fn the_test_fails_when_the_sync_of_new_accounts_is_skipped() {
    a_skipped_sync_breaks_a_promise(SyncPoint::Users);
}

#[test]
fn the_test_fails_when_the_log_directorys_sync_is_skipped() {
    a_skipped_sync_breaks_a_promise(SyncPoint::SegmentDir);
}

#[test]
fn the_test_fails_when_a_full_segments_sync_is_skipped() {
    a_skipped_sync_breaks_a_promise(SyncPoint::SegmentSeal);
}

#[test]
fn the_test_fails_when_the_data_directorys_sync_is_skipped() {
    a_skipped_sync_breaks_a_promise(SyncPoint::DataDir);
}

/// The checkpoint's syncs are not among the points above: a checkpoint
/// lost to a power cut only makes the next start read more of the log,
/// as this test shows.
#[test]
fn a_checkpoint_lost_to_a_power_cut_breaks_no_promise() {
    for point in [SyncPoint::CheckpointFile, SyncPoint::CheckpointDir] {
        if let Err(broken) = scenario(7919, 15, Some(point)) {
            panic!("with {point:?} skipped, seed 7919: {broken}");
        }
    }
}
