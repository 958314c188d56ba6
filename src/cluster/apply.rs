//! One batch of jobs, applied in one transaction (the committer commits it).
//!
//! The order of a transaction is what makes it safe with several nodes
//! writing at once:
//!
//! 1. create the rooms a `JOIN` (or a new account's `#general`) needs:
//!    a row is no room until someone is in it (step 6 says which stay);
//! 2. lock every room involved (`FOR UPDATE`, in id order): its counter
//!    and its members hold still (a room to make that another node's
//!    batch emptied while this one waited for it is made again,
//!    `locks::lock_rooms`);
//! 3. create the new accounts (they join `#general` in step 6, where
//!    their `REGISTER` comes); find the users named and the messages
//!    named (`READ`), what each `ACK` acknowledges, and the rules of the
//!    room each `JOIN` names (a ban, invite-only: read under the room's
//!    lock, as a single server asks under its own);
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
//!    `work.rs`) — but for a `JOIN` of a room an earlier job emptied (or
//!    a new account's `#general`), which makes the name's new room, a
//!    row, there and then (`make_again`); then a room nobody is in is
//!    gone, as on a single server: one emptied, and a row of step 1
//!    whose `JOIN`s (or `REGISTER`s) were all refused (`Work::forget_empty`);
//! 7. write them all in **one** statement (arrays bound as parameters,
//!    spread with `unnest`, one `WITH` clause per table), and the rarer
//!    changes in a statement each: memberships, and what they change in
//!    the rooms' rules (a `JOIN`'s invitation used up and the new room's
//!    owner, a `LEAVE`'s room admin rank dropped) — `writes.rs`;
//! 8. make the batch's moderation changes (rare), each after the jobs
//!    above as if it had come last, which they allow: none of them was
//!    answered yet. Each is decided under its room's lock
//!    (`moderation::change`), and its notice and a removed member's
//!    `LEAVE` are a batch of their own, steps 1–7 again, in the same
//!    transaction ([`moderate`]). Their locks come after the batch's own,
//!    out of the order above: the rare deadlock with another node's batch
//!    is the database's to find, and the committer tries the batch again.
//!
//! [`apply`] reads as this list: one line per step, each a function below
//! whose doc names its step; the locking reads themselves are `locks.rs`'s,
//! the jobs and their answers `job.rs`'s.
//!
//! Round trips are what a small batch costs (each is a wake-up of the
//! database's process and of ours): a batch of direct messages is BEGIN,
//! lock, read, write, COMMIT — five, whatever its size.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::job::{Applied, Job, Made, Outcome};
use super::locks::Acked;
use super::names::Names;
use super::tx::Tx;
use super::writes::{Named, Room, Work};
use crate::protocol::names::fold;
use crate::protocol::{Accepted, Chat, Ko};
use crate::store::budget::Budget;
use crate::store::meaning::send::Goes;
use crate::store::meaning::{self, accounts};
use crate::store::moderation::{NoticeTo, Rules};
use crate::store::{Account, DEDUP_WINDOW, GENERAL, Outgoing, UserId};

/// What step 3 of a batch finds, for the steps after it.
#[derive(Default)]
struct Found {
    /// The rooms locked, by folded name.
    room_ids: HashMap<String, i64>,
    /// The users a `MSG` or a `READ` names, by folded name (`None`: no
    /// such user).
    users: HashMap<String, Option<(UserId, Arc<str>)>>,
    /// The message each `READ` names, by the job's index.
    named: HashMap<usize, Option<Named>>,
    /// How many rooms each user who joins one is in already.
    joined_counts: HashMap<UserId, i64>,
    /// Why each `JOIN`'s room refuses its joiner (a ban, invite-only),
    /// by the job's index: read after the room is locked, as a single
    /// server asks under its lock.
    joins: HashMap<usize, Option<Ko>>,
    /// What each `ACK` and `DELIVERED` acknowledges, by user.
    acked: HashMap<UserId, Vec<Acked>>,
    /// Every user who may get an event in this batch: their inboxes are
    /// locked. New accounts and members joining now too (a later message
    /// of the batch to the room reaches them).
    lock: BTreeSet<UserId>,
    /// Members of the rooms the batch sends to: their last runs may grow.
    roommates: BTreeSet<UserId>,
    /// The rooms (by folded name) that a job of the batch emptied and a
    /// later `JOIN` or new account made again (`make_again`): what this step read of
    /// them, a `JOIN`'s rules or a `READ`'s message, is the old room's.
    remade: BTreeSet<String>,
}

impl Found {
    /// True if what step 3 read of the room `room` is of a room this
    /// batch has emptied since, and whose name it made a new room.
    fn stale(&self, room: &str) -> bool {
        self.remade.contains(&fold(room))
    }
}

/// What step 5 reads under the inboxes' locks.
struct Guarded {
    /// The lowest device position of each user an `ACK` trims.
    lowest: HashMap<UserId, i64>,
    /// This batch's `(sender, id)` that are resends, with their first `<ts>`.
    recent: HashMap<(UserId, String), i64>,
}

/// `clock` is the node's newest timestamp: time never goes back on a node,
/// whichever of its committers gives it. Each line is a step of the
/// module doc, in its order.
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
    let room_ids = create_and_lock_rooms(tx, jobs, &mut w)?; // 1–2
    let mut found = Found { room_ids, ..Found::default() };
    let mut outcomes = create_accounts(tx, jobs, &mut found, &tick)?; // 3
    find_named(tx, names, jobs, &mut found, &w)?;
    lock_inboxes(tx, &found, &mut w)?; // 4
    let mut guarded = read_guarded(tx, jobs, &found, &mut w)?; // 5
    let new_messages = work_out(tx, names, jobs, &mut found, &mut guarded, &mut w, &mut outcomes, &tick)?; // 6
    super::writes::write(tx, &w)?; // 7
    let mut applied = Applied { outcomes, deliveries: w.deliveries, new_messages };
    moderate(tx, names, jobs, clock, budget, &mut applied)?; // 8
    Ok(applied)
}

/// Step 8: each moderation change of the batch, decided and made under
/// its room's lock (`moderation::change`); then what follows it
/// (`Rules::aftermath`: its notice, a removed member's `LEAVE`), applied
/// as a batch of its own in the same transaction, so that the three are
/// one commit, as a single server's one batch.
fn moderate(
    tx: &mut Tx,
    names: &Names,
    jobs: &[Job],
    clock: &AtomicU64,
    budget: &Budget,
    applied: &mut Applied,
) -> Result<(), postgres::Error> {
    for (i, job) in jobs.iter().enumerate() {
        let Job::Moderate { by, target, room, change, notice, .. } = job else { continue };
        let about = target.as_ref().map(|(id, name)| (*id, &**name));
        let done = match super::moderation::change(
            &mut *tx.inner,
            (by.0, &by.1),
            about,
            room,
            change,
            budget.user_quota,
        )? {
            Ok(done) => done,
            Err(ko) => {
                applied.outcomes[i] = Outcome::Moderated(Err(ko));
                continue;
            }
        };
        let mut made = Made { room: done.room.clone(), changed: done.changed, tell: Vec::new() };
        if done.changed {
            let after = Rules::aftermath(change, done.by, done.target, done.members);
            let to = match after.notice {
                NoticeTo::Room => Some(Chat::registered(&done.room)),
                // The invitee is the change's target, whose name is known.
                NoticeTo::Invitee(_) => target.as_ref().map(|(_, name)| Chat::User(name.to_string())),
                NoticeTo::Nowhere => None,
            };
            // Nobody waits on these two jobs (their senders lead nowhere):
            // their outcomes are read here, from what `apply` returns.
            let mut follow = Vec::new();
            if let Some(to) = to {
                follow.push(Job::Send {
                    from: by.0,
                    msgs: vec![(to, notice.0.clone(), notice.1.clone())],
                    done: crossbeam_channel::bounded(1).0,
                });
            }
            if let Some(leaving) = after.leaves {
                follow.push(Job::Leave {
                    user: leaving,
                    room: room.clone(),
                    done: crossbeam_channel::bounded(1).0,
                });
            }
            let then = apply(tx, names, &follow, clock, budget)?;
            // As a single server's batch: the change stands whatever its
            // notice met (a full quota was checked before it).
            for outcome in &then.outcomes {
                match outcome {
                    Outcome::Sent(results) => {
                        if let Some(Err(ko)) = results.last() {
                            log::warn!("cluster: the notice of a change to {}: {}", done.room, ko.reason);
                        }
                    }
                    Outcome::Done(Err(ko)) => {
                        log::warn!("cluster: the removal after a change to {}: {}", done.room, ko.reason)
                    }
                    _ => {}
                }
            }
            applied.deliveries.extend(then.deliveries);
            applied.new_messages += then.new_messages;
            made.tell = after.tell;
        }
        applied.outcomes[i] = Outcome::Moderated(Ok(made));
    }
    Ok(())
}

/// Steps 1–2: create the rooms a `JOIN` or a new account needs, and locks
/// every room the batch names; their ids by folded name.
fn create_and_lock_rooms(
    tx: &mut Tx,
    jobs: &[Job],
    w: &mut Work,
) -> Result<HashMap<String, i64>, postgres::Error> {
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut created: Vec<(String, String)> = Vec::new();
    for job in jobs {
        match job {
            Job::Send { msgs, .. } => wanted.extend(msgs.iter().filter_map(|(to, _, _)| match to {
                Chat::Room(r) => Some(fold(r)),
                Chat::User(_) => None,
            })),
            Job::Read { chat: Chat::Room(r), .. } | Job::Leave { room: r, .. } => {
                wanted.insert(fold(r));
            }
            Job::Join { room, .. } => {
                wanted.insert(fold(room));
                created.push((format!("#{room}"), fold(room)));
            }
            // Locked here, in order with the others, for step 8.
            Job::Moderate { room, .. } => {
                wanted.insert(fold(room));
            }
            Job::Register { .. } => {
                wanted.insert(fold(&GENERAL[1..]));
                created.push((GENERAL.into(), fold(&GENERAL[1..])));
            }
            _ => {}
        }
    }
    super::locks::lock_rooms(tx, &wanted, &created, &mut w.rooms)
}

/// Step 3a: creates the batch's new accounts: the outcomes of the batch,
/// with theirs filled in. Each joins `#general` in step 6, in the order
/// of the jobs (`join_general`).
fn create_accounts(
    tx: &mut Tx,
    jobs: &[Job],
    found: &mut Found,
    tick: &dyn Fn() -> i64,
) -> Result<Vec<Outcome>, postgres::Error> {
    let mut outcomes: Vec<Outcome> = jobs.iter().map(|_| Outcome::Nothing).collect();
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Register { name, email, hash, .. } = job {
            let made = register(tx, name, email, hash, tick())?;
            if let Ok(account) = &made {
                found.lock.insert(account.id);
            }
            outcomes[i] = Outcome::Account(made);
        }
    }
    Ok(outcomes)
}

/// Why a `JOIN`'s room refuses `user` (`Rules::may_join`: a ban,
/// invite-only), read in the batch's transaction once the room is locked.
fn join_rules(tx: &mut Tx, names: &Names, user: UserId, room: &str) -> Result<Option<Ko>, postgres::Error> {
    let Some(r) = super::moderation::load(&mut *tx.inner, room, false)? else {
        return Ok(None);
    };
    let name = names.name(&mut *tx.inner, user)?;
    let admin: bool = tx.inner.query_one("SELECT admin FROM users WHERE id = $1", &[&(user as i64)])?.get(0);
    Ok(r.rules.may_join(&name, admin, crate::store::now_ms(), &r.name).err())
}

/// Step 3b: finds the users and the messages the jobs name, and what each
/// `ACK` acknowledges; collects whose inboxes to lock.
fn find_named(
    tx: &mut Tx,
    names: &Names,
    jobs: &[Job],
    found: &mut Found,
    w: &Work,
) -> Result<(), postgres::Error> {
    let mut acks: Vec<(UserId, i64)> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match job {
            Job::Send { from, msgs, .. } => find_recipients(tx, names, *from, msgs, found, w)?,
            Job::Read { user, chat: Chat::User(peer), id, .. } => {
                let message = find_direct(tx, names, *user, peer, id, found)?;
                found.named.insert(i, message);
            }
            Job::Read { user, chat: Chat::Room(r), id, .. } => {
                found.lock.insert(*user); // its READMARK (1.2, several devices)
                let message = match found.room_ids.get(&fold(r)) {
                    Some(room) => {
                        // Not one from before the reader's cut (1.2), as
                        // a direct message's (`find_direct`).
                        let sql = "SELECT ord FROM messages WHERE room = $1 AND msg_id = $2 \
                                   AND id >= (SELECT since FROM users WHERE id = $3) ORDER BY ord DESC LIMIT 1";
                        tx.query_opt(sql, &[room, id, &(*user as i64)])?.map(|r| Named { ord: r.get(0) })
                    }
                    None => None,
                };
                found.named.insert(i, message);
            }
            Job::Join { user, room, .. } => {
                found.joins.insert(i, join_rules(tx, names, *user, room)?);
                found.lock.insert(*user);
                if !found.joined_counts.contains_key(user) {
                    let sql = "SELECT count(*) FROM members WHERE user_id = $1";
                    found.joined_counts.insert(*user, tx.query_one(sql, &[&(*user as i64)])?.get(0));
                }
            }
            Job::Ack { user, seq, .. } | Job::Deliver { user, seq } => {
                found.lock.insert(*user);
                acks.push((*user, (*seq).min(i64::MAX as u64) as i64));
            }
            _ => {}
        }
    }
    found.acked = super::locks::acked_directs(tx, &acks)?;
    found.lock.extend(found.acked.values().flatten().map(|a| a.sender));
    Ok(())
}

/// The recipients of one sender's `MSG`s: the users it names, and the
/// members of the rooms it is in.
fn find_recipients(
    tx: &mut Tx,
    names: &Names,
    from: UserId,
    msgs: &[Outgoing],
    found: &mut Found,
    w: &Work,
) -> Result<(), postgres::Error> {
    found.lock.insert(from);
    for (to, _, _) in msgs {
        match to {
            Chat::User(name) => {
                let user = match found.users.get(&fold(name)) {
                    Some(user) => user.clone(),
                    None => names.find(&mut *tx.inner, name)?,
                };
                if let Some((id, _)) = &user {
                    found.lock.insert(*id);
                }
                found.users.insert(fold(name), user);
            }
            Chat::Room(r) => {
                if let Some(room) = found.room_ids.get(&fold(r)).and_then(|id| w.rooms.get(id))
                    && room.members.contains_key(&from)
                {
                    found.lock.extend(room.members.keys());
                    found.roommates.extend(room.members.keys());
                }
            }
        }
    }
    Ok(())
}

/// The direct message `id` from `peer` to `user` that a `READ` names.
fn find_direct(
    tx: &mut Tx,
    names: &Names,
    user: UserId,
    peer: &str,
    id: &str,
    found: &mut Found,
) -> Result<Option<Named>, postgres::Error> {
    let sender = names.find(&mut *tx.inner, peer)?;
    let message = match &sender {
        Some((from, _)) => {
            found.lock.extend([user, *from]);
            let row = tx.query_opt(
                // Not one from before the reader's cut (1.2).
                "SELECT ord FROM messages WHERE sender = $1 AND recipient = $2 AND msg_id = $3 \
                 AND id >= (SELECT since FROM users WHERE id = $2) ORDER BY ord DESC LIMIT 1",
                &[&(*from as i64), &(user as i64), &id],
            )?;
            row.map(|r| Named { ord: r.get(0) })
        }
        None => None,
    };
    found.users.insert(fold(peer), sender);
    Ok(message)
}

/// Step 4: locks the inboxes of every user the batch may give an event.
fn lock_inboxes(tx: &mut Tx, found: &Found, w: &mut Work) -> Result<(), postgres::Error> {
    super::locks::lock_inboxes(tx, &found.lock, &mut w.inboxes)?;
    w.inboxes_read = w.inboxes.clone();
    Ok(())
}

/// Step 5: reads what the inboxes' locks guard: the roommates' last runs, the
/// devices' positions, the conversations' counters and the senders'
/// resend windows.
fn read_guarded(tx: &mut Tx, jobs: &[Job], found: &Found, w: &mut Work) -> Result<Guarded, postgres::Error> {
    super::runs::last_runs(tx, &found.roommates, w)?;
    write_positions(tx, jobs)?;
    let lowest = lowest_positions(tx, jobs)?;
    let mut pairs: BTreeSet<(UserId, UserId)> = BTreeSet::new();
    // The directions the batch's direct messages take: whether their
    // recipient blocked their sender is read for these alone.
    let mut sent: BTreeSet<(UserId, UserId)> = BTreeSet::new();
    let mut ids: Vec<(UserId, String)> = Vec::new();
    let user = |name: &str| found.users.get(&fold(name)).cloned().flatten().map(|(id, _)| id);
    for job in jobs {
        match job {
            Job::Send { from, msgs, .. } => {
                for (to, id, _) in msgs {
                    ids.push((*from, id.clone()));
                    if let Chat::User(name) = to
                        && let Some(to) = user(name)
                    {
                        pairs.insert((*from, to));
                        sent.insert((*from, to));
                    }
                }
            }
            Job::Read { user: reader, chat: Chat::User(peer), .. } => {
                if let Some(from) = user(peer) {
                    pairs.insert((from, *reader));
                }
            }
            _ => {}
        }
    }
    for (user, list) in &found.acked {
        pairs.extend(list.iter().map(|a| (a.sender, *user)));
    }
    let recent = super::locks::read_guarded(tx, &pairs, &sent, &ids, DEDUP_WINDOW as i64, w)?;
    w.refused = super::moderation::send_refusals(tx, &room_senders(jobs, found))?;
    w.dirs_read = w.dirs.clone();
    Ok(Guarded { lowest, recent })
}

/// The (sender, room) of each room message of the batch, for the room's
/// send policy (read in step 5, under the rooms' locks).
fn room_senders(jobs: &[Job], found: &Found) -> BTreeSet<(UserId, i64)> {
    let mut pairs = BTreeSet::new();
    for job in jobs {
        if let Job::Send { from, msgs, .. } = job {
            for (to, _, _) in msgs {
                if let Chat::Room(room) = to
                    && let Some(&rid) = found.room_ids.get(&fold(room))
                {
                    pairs.insert((*from, rid));
                }
            }
        }
    }
    pairs
}

/// Step 6: works out every job, in order, in memory (`work.rs`); each takes
/// the node's next timestamp. Then the rooms nobody is in are gone
/// (`Work::forget_empty`). Returns how many messages are new.
#[allow(clippy::too_many_arguments)]
fn work_out(
    tx: &mut Tx,
    names: &Names,
    jobs: &[Job],
    found: &mut Found,
    guarded: &mut Guarded,
    w: &mut Work,
    outcomes: &mut [Outcome],
    tick: &dyn Fn() -> i64,
) -> Result<u64, postgres::Error> {
    let mut new_messages = 0;
    for (i, job) in jobs.iter().enumerate() {
        let ts = tick();
        outcomes[i] = match job {
            Job::Send { from, msgs, .. } => {
                let (results, new) = send(tx, names, w, (*from, msgs), ts, found, &mut guarded.recent)?;
                new_messages += new;
                Outcome::Sent(results)
            }
            Job::Ack { .. } | Job::Deliver { .. } => {
                ack(tx, names, w, job, ts, found, &guarded.lowest)?;
                Outcome::Nothing
            }
            Job::Read { user, chat, id, .. } => {
                let me = names.name(&mut *tx.inner, *user)?;
                let named = found.named.remove(&i).flatten();
                // A message of the old room is none of the new one's.
                let named = named.filter(|_| !matches!(chat, Chat::Room(r) if found.stale(r)));
                Outcome::Done(w.read(*user, &me, chat, id, named, &found.users, &found.room_ids, ts))
            }
            Job::Join { user, room, .. } => {
                make_again(tx, room, found, w)?;
                // Step 3 read the old room's rules; a new room's refuse
                // nobody (`meaning::rooms::join`: a room not made yet).
                let refusal = found.joins.remove(&i).flatten().filter(|_| !found.stale(room));
                let rooms = found.joined_counts.entry(*user).or_insert(0);
                Outcome::Done(w.join(*user, room, &found.room_ids, rooms, refusal))
            }
            Job::Leave { user, room, .. } => Outcome::Done(w.leave(*user, room, &found.room_ids)),
            Job::Seen { user, ts } => {
                w.writes.seen.push((*user as i64, *ts as i64));
                Outcome::Nothing
            }
            // Step 8's (`moderate`), once the batch's other jobs are written.
            Job::Moderate { .. } => Outcome::Nothing,
            Job::Register { .. } => {
                let made = std::mem::replace(&mut outcomes[i], Outcome::Nothing);
                if let Outcome::Account(Ok(account)) = &made {
                    join_general(tx, account.id, found, w)?;
                }
                made
            }
        };
    }
    w.forget_empty();
    Ok(new_messages)
}

/// A new account joins `#general` where its `REGISTER` comes among the
/// batch's jobs, as a single server applies requests in order: a message
/// of an earlier job is not its own, and a `#general` an earlier job
/// emptied is gone, so the account makes it again (`make_again`), as a
/// `JOIN` would. (Issue 54: new accounts joined before the batch's other
/// jobs, so they got the messages sent before them, and a `LEAVE`
/// emptying `#general` kept it, messages and all.)
fn join_general(tx: &mut Tx, user: UserId, found: &mut Found, w: &mut Work) -> Result<(), postgres::Error> {
    let general = &GENERAL[1..];
    make_again(tx, general, found, w)?;
    // Missing only if other nodes emptied `#general` each time step 2
    // made it again (`locks::lock_rooms`, `MAKE_TRIES`), a race a single
    // server under one lock cannot have: the account then joins no room.
    if let Some(&rid) = found.room_ids.get(&fold(general)) {
        w.welcome(user, rid);
    }
    Ok(())
}

/// A `JOIN` of `room` (as the request named it), or a new account's
/// `#general` (`join_general`), after an earlier job of the batch emptied
/// it: the room is gone (`meaning::rooms::forgotten`,
/// the single server's rule), and its name makes a new room, a new row
/// (`locks::make_again`) with none of the old one's rules, messages or
/// spelling, as a `JOIN` in a later batch finds it (step 1). (Issue 54:
/// the `JOIN` brought the old row back to life, rules and all.) The rest
/// of the batch names the new room; nothing else is done for a room
/// still live.
fn make_again(tx: &mut Tx, room: &str, found: &mut Found, w: &mut Work) -> Result<(), postgres::Error> {
    let folded = fold(room);
    let Some(&old) = found.room_ids.get(&folded) else { return Ok(()) };
    if w.rooms.get(&old).is_none_or(|r| r.live) {
        return Ok(());
    }
    let name = format!("#{room}");
    let id = super::locks::make_again(tx, old, &name, &folded)?;
    w.rooms.insert(id, Room { name: name.into(), count: 0, live: true, members: HashMap::new() });
    found.room_ids.insert(folded.clone(), id);
    found.remade.insert(folded);
    Ok(())
}

/// One sender's `MSG`s: a resend gets its first `OK` again, a new one is
/// sent. Their answers, and how many are new.
fn send(
    tx: &mut Tx,
    names: &Names,
    w: &mut Work,
    (from, msgs): (UserId, &[Outgoing]),
    ts: i64,
    found: &Found,
    recent: &mut HashMap<(UserId, String), i64>,
) -> Result<(Vec<Result<Accepted, Ko>>, u64), postgres::Error> {
    let from_name = names.name(&mut *tx.inner, from)?;
    let mut new = 0;
    let results = msgs
        .iter()
        .map(|(to, id, text)| {
            if let Some(first) = meaning::resend(id, recent.get(&(from, id.clone())).map(|&ts| ts as u64)) {
                return Ok(first);
            }
            match w.send(from, &from_name, to, id, text, ts, &found.users, &found.room_ids)? {
                Goes::To(sent) => {
                    recent.insert((from, id.clone()), ts);
                    new += 1;
                    Ok(sent)
                }
                // A block (§22): `OK`, and nothing stored to find again.
                Goes::Nowhere => Ok(Accepted { id: id.clone(), ts: ts as u64 }),
            }
        })
        .collect();
    Ok((results, new))
}

/// An `ACK`, or a `DELIVERED` of a device ahead of another: DELIVERED up
/// to its `seq`; an `ACK` trims the inbox, no further than the device
/// furthest behind, on whichever node it is.
fn ack(
    tx: &mut Tx,
    names: &Names,
    w: &mut Work,
    job: &Job,
    ts: i64,
    found: &Found,
    lowest: &HashMap<UserId, i64>,
) -> Result<(), postgres::Error> {
    let (Job::Ack { user, seq, .. } | Job::Deliver { user, seq }) = job else {
        return Ok(());
    };
    let me = names.name(&mut *tx.inner, *user)?;
    let seq = (*seq).min(i64::MAX as u64) as i64;
    let acked = found.acked.get(user).map_or(&[][..], Vec::as_slice);
    let trim = matches!(job, Job::Ack { .. }).then(|| lowest.get(user).map_or(seq, |&l| l.min(seq)));
    w.ack(*user, &me, seq, acked, ts, trim == Some(seq));
    if let Some(trim) = trim.filter(|&t| t < seq) {
        w.ack(*user, &me, trim, acked, ts, true);
    }
    Ok(())
}

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

/// For the users an `ACK` of the batch trims: the lowest position of
/// their devices in `devices` (protocol 1.2, devices on several nodes),
/// read in the `ACK`'s transaction. Each device's `ACK` writes its own
/// position there first (`write_positions`), so the one acknowledging is
/// counted at its `ACK`; a forgotten device (`--device-days`, position
/// NULL) or an unlinked one (no row) holds nothing.
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

/// Creates an account, its inbox and its session row (its membership of
/// `#general` comes in step 6: `join_general`).
fn register(
    tx: &mut Tx,
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
    // ON CONFLICT: an account has the name already, ignoring case.
    if let Err(ko) = accounts::free_name(name, row.is_none()) {
        return Ok(Err(ko));
    }
    let row = row.expect("inserted");
    let id: i64 = row.get(0);
    tx.execute("INSERT INTO inboxes (user_id) VALUES ($1)", &[&id])?;
    tx.execute("INSERT INTO sessions (user_id) VALUES ($1)", &[&id])?;
    Ok(Ok(Account { id: id as UserId, name: name.into(), hash: hash.to_string(), admin: false }))
}
