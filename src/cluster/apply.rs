//! One batch of jobs, applied in one transaction (the committer commits it).
//!
//! The order of a transaction is what makes it safe with several nodes
//! writing at once:
//!
//! 1. create the rooms a `JOIN` (or a new account's `#general`) needs;
//! 2. lock every room involved (`FOR UPDATE`, in id order): its counter
//!    and its members hold still;
//! 3. create the new accounts; find the users named and the messages
//!    named (`READ`), and what each `ACK` acknowledges;
//! 4. lock the inbox row of every user who gets an event or sends a
//!    message (`FOR UPDATE`, in id order). Whoever holds a user's row
//!    owns its sequence numbers, its resend window, and the conversation
//!    counters it takes part in: two nodes giving bob events queue on
//!    bob's row, so his numbers are gap-free; and since every transaction
//!    locks in the same order (rooms, then users, each sorted), two of
//!    them never wait for each other (the committer retries the rare
//!    deadlock a surprise could still make);
//! 5. read what those locks guard — the conversations' counters and the
//!    senders' recent ids — in one statement (and, when the batch sends
//!    to rooms, the members' last runs, which its messages may lengthen);
//! 6. work out every change in memory, job by job, in order ([`Work`],
//!    `work.rs`);
//! 7. write them all in **one** statement (arrays bound as parameters,
//!    spread with `unnest`, one `WITH` clause per table) — `writes.rs`.
//!
//! Round trips are what a small batch costs (each is a wake-up of the
//! database's process and of ours): a batch of direct messages is BEGIN,
//! lock, read, write, COMMIT — five, whatever its size.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::tx::Tx;

use super::names::Names;
use super::writes::{Named, Work};
use crate::protocol::names::fold;
use crate::protocol::{Accepted, Chat, Code, Ko};
use crossbeam_channel::Sender;

use crate::store::budget::Budget;
use crate::store::{Account, DEDUP_WINDOW, Delivery, GENERAL, Outgoing, UserId};

/// A change for the committer, with where to answer.
pub enum Job {
    Send {
        from: UserId,
        msgs: Vec<Outgoing>,
        done: Sender<Vec<std::result::Result<Accepted, Ko>>>,
    },
    Read {
        user: UserId,
        chat: Chat,
        id: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Join {
        user: UserId,
        room: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Leave {
        user: UserId,
        room: String,
        done: Sender<std::result::Result<(), Ko>>,
    },
    Register {
        name: String,
        email: String,
        hash: String,
        done: Sender<std::result::Result<Account, Ko>>,
    },
    /// Nobody waits for these three.
    Ack {
        user: UserId,
        seq: u64,
        /// The device that acknowledged (1.2): its position in `devices`
        /// is written by this job's transaction, before the inbox is
        /// trimmed to the lowest position there.
        device: Option<Arc<str>>,
    },
    /// One device of `user` acknowledged up to `seq` while another holds
    /// the inbox further back (protocol 1.2): DELIVERED as an `ACK` gives
    /// it, the inbox left as it is.
    Deliver {
        user: UserId,
        seq: u64,
    },
    Seen {
        user: UserId,
        ts: u64,
    },
}

impl Job {
    /// Answers the job with `KO` (the batch failed).
    pub(super) fn fail(self, ko: &Ko) {
        match self {
            Job::Send { msgs, done, .. } => drop(done.send(vec![Err(ko.clone()); msgs.len()])),
            Job::Read { done, .. } | Job::Join { done, .. } | Job::Leave { done, .. } => {
                drop(done.send(Err(ko.clone())))
            }
            Job::Register { done, .. } => drop(done.send(Err(ko.clone()))),
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                log::warn!("cluster: ACK:{seq} of user #{user} not stored: {}", ko.reason)
            }
            Job::Seen { .. } => {}
        }
    }

    /// Answers the job with what its transaction gave it (committed).
    pub(super) fn answer(self, outcome: Outcome) {
        match (self, outcome) {
            (Job::Send { done, .. }, Outcome::Sent(results)) => drop(done.send(results)),
            (Job::Read { done, .. } | Job::Join { done, .. } | Job::Leave { done, .. }, Outcome::Done(r)) => {
                drop(done.send(r))
            }
            (Job::Register { done, .. }, Outcome::Account(r)) => drop(done.send(r)),
            (_, _) => {}
        }
    }
}

/// What a job gets once its transaction commits.
pub enum Outcome {
    Sent(Vec<Result<Accepted, Ko>>),
    Done(Result<(), Ko>),
    Account(Result<Account, Ko>),
    Nothing,
}

/// A batch's answers (one per job, in order) and the events it gives.
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub deliveries: Vec<Delivery>,
    /// Messages stored by this batch (resends not counted), for the metrics.
    pub new_messages: u64,
}

fn ko(code: Code, reason: impl Into<String>) -> Ko {
    Ko::new(code, reason)
}

/// `clock` is the node's newest timestamp: time never goes back on a node,
/// whichever of its committers gives it.
pub fn apply(
    tx: &mut Tx,
    names: &Names,
    jobs: &[Job],
    clock: &AtomicU64,
    budget: &Budget,
) -> Result<Applied, postgres::Error> {
    let now = crate::store::now_ms();
    let tick = || clock.fetch_max(now, Ordering::Relaxed).max(now) as i64;
    let mut w = Work { budget: *budget, ..Work::default() };

    // 1–2. Rooms: create those a JOIN or a new account needs, lock them all.
    let mut wanted_rooms: BTreeSet<String> = BTreeSet::new();
    let mut created: Vec<(String, String)> = Vec::new();
    for job in jobs {
        match job {
            Job::Send { msgs, .. } => wanted_rooms.extend(msgs.iter().filter_map(|(to, _, _)| match to {
                Chat::Room(r) => Some(fold(r)),
                Chat::User(_) => None,
            })),
            Job::Read { chat: Chat::Room(r), .. } | Job::Leave { room: r, .. } => {
                wanted_rooms.insert(fold(r));
            }
            Job::Join { room, .. } => {
                wanted_rooms.insert(fold(room));
                created.push((format!("#{room}"), fold(room)));
            }
            Job::Register { .. } => {
                wanted_rooms.insert(fold(&GENERAL[1..]));
                created.push((GENERAL.into(), fold(&GENERAL[1..])));
            }
            _ => {}
        }
    }
    let room_ids = super::writes::lock_rooms(tx, &wanted_rooms, &created, &mut w.rooms)?;

    // 3. Accounts, users named, messages named, what ACKs acknowledge.
    let mut outcomes: Vec<Outcome> = jobs.iter().map(|_| Outcome::Nothing).collect();
    let general = room_ids.get(&fold(&GENERAL[1..])).copied();
    // Every user who may get an event in this batch has its inbox locked:
    // new accounts and members joining now too (a later message of the
    // batch to the room reaches them).
    let mut lock: BTreeSet<UserId> = BTreeSet::new();
    // Members of the rooms the batch sends to: their last runs may grow.
    let mut roommates: BTreeSet<UserId> = BTreeSet::new();
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Register { name, email, hash, .. } = job {
            let made = register(tx, &mut w, general, name, email, hash, tick())?;
            if let Ok(account) = &made {
                lock.insert(account.id);
            }
            outcomes[i] = Outcome::Account(made);
        }
    }
    let mut users: HashMap<String, Option<(UserId, Arc<str>)>> = HashMap::new();
    let mut named: HashMap<usize, Option<Named>> = HashMap::new();
    let mut joined_counts: HashMap<UserId, i64> = HashMap::new();
    let mut acks: Vec<(UserId, i64)> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match job {
            Job::Send { from, msgs, .. } => {
                lock.insert(*from);
                for (to, _, _) in msgs {
                    match to {
                        Chat::User(name) => {
                            let found = match users.get(&fold(name)) {
                                Some(found) => found.clone(),
                                None => names.find(&mut *tx.inner, name)?,
                            };
                            if let Some((id, _)) = &found {
                                lock.insert(*id);
                            }
                            users.insert(fold(name), found);
                        }
                        Chat::Room(r) => {
                            if let Some(room) = room_ids.get(&fold(r)).and_then(|id| w.rooms.get(id))
                                && room.members.contains_key(from)
                            {
                                lock.extend(room.members.keys());
                                roommates.extend(room.members.keys());
                            }
                        }
                    }
                }
            }
            Job::Read { user, chat: Chat::User(peer), id, .. } => {
                let found = names.find(&mut *tx.inner, peer)?;
                let message = match &found {
                    Some((from, _)) => {
                        lock.extend([*user, *from]);
                        let row = tx.query_opt(
                            // Not one from before the reader's cut (1.2).
                            "SELECT ord FROM messages WHERE sender = $1 AND recipient = $2 AND msg_id = $3 \
                             AND id >= (SELECT since FROM users WHERE id = $2) ORDER BY ord DESC LIMIT 1",
                            &[&(*from as i64), &(*user as i64), id],
                        )?;
                        row.map(|r| Named { ord: r.get(0) })
                    }
                    None => None,
                };
                users.insert(fold(peer), found);
                named.insert(i, message);
            }
            Job::Read { user, chat: Chat::Room(r), id, .. } => {
                lock.insert(*user); // its READMARK (1.2, several devices)
                let message = match room_ids.get(&fold(r)) {
                    Some(room) => tx
                        .query_opt(
                            "SELECT ord FROM messages WHERE room = $1 AND msg_id = $2 ORDER BY ord DESC LIMIT 1",
                            &[room, id],
                        )?
                        .map(|r| Named { ord: r.get(0) }),
                    None => None,
                };
                named.insert(i, message);
            }
            Job::Join { user, .. } => {
                lock.insert(*user);
                if !joined_counts.contains_key(user) {
                    let sql = "SELECT count(*) FROM members WHERE user_id = $1";
                    joined_counts.insert(*user, tx.query_one(sql, &[&(*user as i64)])?.get(0));
                }
            }
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                lock.insert(*user);
                acks.push((*user, (*seq).min(i64::MAX as u64) as i64));
            }
            _ => {}
        }
    }
    let acked = super::writes::acked_directs(tx, &acks)?;
    lock.extend(acked.values().flatten().map(|a| a.sender));

    // 4–5. Lock the inboxes; read the conversations and resend windows they guard.
    super::writes::lock_inboxes(tx, &lock, &mut w.inboxes)?;
    w.inboxes_read = w.inboxes.clone();
    super::runs::last_runs(tx, &roommates, &mut w)?;
    write_positions(tx, jobs)?;
    let lowest = lowest_positions(tx, jobs)?;
    let mut pairs: BTreeSet<(UserId, UserId)> = BTreeSet::new();
    let mut ids: Vec<(UserId, String)> = Vec::new();
    for job in jobs {
        match job {
            Job::Send { from, msgs, .. } => {
                for (to, id, _) in msgs {
                    ids.push((*from, id.clone()));
                    if let Chat::User(name) = to
                        && let Some(Some((to, _))) = users.get(&fold(name))
                    {
                        pairs.insert((*from, *to));
                    }
                }
            }
            Job::Read { user, chat: Chat::User(peer), .. } => {
                if let Some(Some((from, _))) = users.get(&fold(peer)) {
                    pairs.insert((*from, *user));
                }
            }
            _ => {}
        }
    }
    for (user, list) in &acked {
        pairs.extend(list.iter().map(|a| (a.sender, *user)));
    }
    let mut recent = super::writes::read_guarded(tx, &pairs, &ids, DEDUP_WINDOW as i64, &mut w)?;
    w.dirs_read = w.dirs.clone();

    // 6. Every job, in order.
    let mut new_messages = 0;
    for (i, job) in jobs.iter().enumerate() {
        let ts = tick();
        outcomes[i] = match job {
            Job::Send { from, msgs, .. } => {
                let from_name = names.name(&mut *tx.inner, *from)?;
                let results = msgs
                    .iter()
                    .map(|(to, id, text)| {
                        if let Some(first) = recent.get(&(*from, id.clone())) {
                            return Ok(Accepted { id: id.clone(), ts: *first as u64 }); // a resend
                        }
                        let sent = w.send(*from, &from_name, to, id, text, ts, &users, &room_ids)?;
                        recent.insert((*from, id.clone()), ts);
                        new_messages += 1;
                        Ok(sent)
                    })
                    .collect();
                Outcome::Sent(results)
            }
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                let me = names.name(&mut *tx.inner, *user)?;
                let seq = (*seq).min(i64::MAX as u64) as i64;
                let acked = acked.get(user).map_or(&[][..], Vec::as_slice);
                // DELIVERED up to `seq`; the inbox trimmed no further than
                // the device furthest behind, on whichever node it is.
                let trim = match job {
                    Job::Ack { .. } => Some(lowest.get(user).map_or(seq, |&l| l.min(seq))),
                    _ => None,
                };
                w.ack(*user, &me, seq, acked, ts, trim == Some(seq));
                if let Some(trim) = trim.filter(|&t| t < seq) {
                    w.ack(*user, &me, trim, acked, ts, true);
                }
                Outcome::Nothing
            }
            Job::Read { user, chat, id, .. } => {
                let me = names.name(&mut *tx.inner, *user)?;
                let found = named.remove(&i).flatten();
                Outcome::Done(w.read(*user, &me, chat, id, found, &users, &room_ids, ts))
            }
            Job::Join { user, room, .. } => {
                let rooms = joined_counts.entry(*user).or_insert(0);
                Outcome::Done(w.join(*user, room, &room_ids, rooms))
            }
            Job::Leave { user, room, .. } => Outcome::Done(w.leave(*user, room, &room_ids)),
            Job::Seen { user, ts } => {
                w.writes.seen.push((*user as i64, *ts as i64));
                Outcome::Nothing
            }
            Job::Register { .. } => std::mem::replace(&mut outcomes[i], Outcome::Nothing),
        };
    }

    // 7. Write it all.
    super::writes::write(tx, &w)?;
    Ok(Applied { outcomes, deliveries: w.deliveries, new_messages })
}

/// For the users an `ACK` of the batch trims: the lowest position of
/// their devices in `devices` (protocol 1.2, devices on several nodes),
/// read in the `ACK`'s transaction. Each device's `ACK` writes its own
/// position there first (`server::devices`), so the one acknowledging is
/// counted at its `ACK`; a forgotten device (`--device-days`, position
/// NULL) or an unlinked one (no row) holds nothing.
/// Writes the position of each device that acknowledged in this batch
/// (only forward), in one statement: in the `ACK`'s transaction, so the
/// lowest position read next counts it, with no round trip of its own.
fn write_positions(tx: &mut Tx, jobs: &[Job]) -> Result<(), postgres::Error> {
    let mut users = Vec::new();
    let mut devices = Vec::new();
    let mut seqs = Vec::new();
    for job in jobs {
        if let Job::Ack { user, seq, device: Some(device) } = job {
            users.push(*user as i64);
            devices.push(device.to_lowercase());
            seqs.push((*seq).min(i64::MAX as u64) as i64);
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE devices SET position = GREATEST(devices.position, a.seq) \
         FROM unnest($1::int8[], $2::text[], $3::int8[]) AS a(u, folded, seq) \
         WHERE devices.user_id = a.u AND devices.folded = a.folded",
        &[&users, &devices, &seqs],
    )?;
    Ok(())
}

fn lowest_positions(tx: &mut Tx, jobs: &[Job]) -> Result<HashMap<UserId, i64>, postgres::Error> {
    let users: Vec<i64> = jobs
        .iter()
        .filter_map(|job| match job {
            Job::Ack { user, .. } => Some(*user as i64),
            _ => None,
        })
        .collect();
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx.query(
        "SELECT user_id, min(position) FROM devices WHERE user_id = ANY($1) AND position IS NOT NULL \
         GROUP BY user_id",
        &[&users],
    )?;
    Ok(rows.iter().map(|r| (r.get::<_, i64>(0) as UserId, r.get::<_, i64>(1))).collect())
}

/// Creates an account, its inbox, and its membership of `#general`.
#[allow(clippy::too_many_arguments)]
fn register(
    tx: &mut Tx,
    w: &mut Work,
    general: Option<i64>,
    name: &str,
    email: &str,
    hash: &str,
    ts: i64,
) -> Result<Result<Account, Ko>, postgres::Error> {
    let row = tx.query_opt(
        "INSERT INTO users (name, folded, email, hash, created_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (folded) DO NOTHING RETURNING id",
        &[&name, &fold(name), &email, &hash, &ts],
    )?;
    let Some(row) = row else {
        return Ok(Err(ko(Code::UserExists, format!("the name {name} is taken"))));
    };
    let id: i64 = row.get(0);
    tx.execute("INSERT INTO inboxes (user_id) VALUES ($1)", &[&id])?;
    tx.execute("INSERT INTO sessions (user_id) VALUES ($1)", &[&id])?;
    if let Some(room) = general.and_then(|g| w.rooms.get_mut(&g).map(|r| (g, r))) {
        let (g, r) = room;
        r.members.insert(id as UserId, r.count);
        w.writes.joined.push((g, id, r.count));
    }
    Ok(Ok(Account { id: id as UserId, name: name.into(), hash: hash.to_string() }))
}
