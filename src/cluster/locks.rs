//! What a batch's transaction reads (see `apply.rs` for their order):
//! the locking reads — rooms (those the batch makes made first), then
//! inboxes, each in id order — what the `ACK`s acknowledge, and, after
//! the locks, one read of what they guard; and the row of a room the
//! batch empties and makes again (`make_again`).
//! What it reads lands in [`Work`], which `work.rs` changes and
//! `writes.rs` writes.
//!
//! Every lookup here is written to be found by key, a row at a time
//! (`CROSS JOIN LATERAL`): the committer's connection plans each statement
//! once (`tx.rs`), for any batch size, and the tables it reads change too
//! fast for their statistics to say better.

use std::collections::{BTreeSet, HashMap};

use super::tx::Tx;
use super::writes::{Dir, Inbox, Room, Work};
use crate::store::UserId;
use crate::store::prefs::BLOCK;
use crate::store::state::DELETED;

/// Creates the rooms in `create` (`#Name`, folded) that do not exist,
/// then locks every live room named in `folded`, in id order, into
/// `rooms` (with members). Returns their ids by folded name.
///
/// A room to make can still be missing once locked: another node's batch
/// held its row and emptied it (`meaning::rooms::forgotten`) while this
/// one waited for the lock, and the row it then reads is not live. A
/// single server under one lock cannot see that; here the name is made
/// again, as a `JOIN` a moment later would make it (a new row, which a
/// new statement sees), at most [`MAKE_TRIES`] times. (Before, its `JOIN`
/// was answered `KO:INTERNAL`, and a new account joined no room.)
pub fn lock_rooms(
    tx: &mut Tx,
    folded: &BTreeSet<String>,
    create: &[(String, String)],
    rooms: &mut HashMap<i64, Room>,
) -> Result<HashMap<String, i64>, postgres::Error> {
    let mut ids = HashMap::new();
    let mut wanted: Vec<&str> = folded.iter().map(String::as_str).collect();
    let mut to_make: Vec<&(String, String)> = create.iter().collect();
    for _ in 0..MAKE_TRIES {
        if wanted.is_empty() {
            break;
        }
        if !to_make.is_empty() {
            let (names, keys): (Vec<&str>, Vec<&str>) =
                to_make.iter().map(|(n, f)| (n.as_str(), f.as_str())).unzip();
            tx.execute(
                "INSERT INTO rooms (name, folded) SELECT * FROM unnest($1::text[], $2::text[]) \
                 ON CONFLICT (folded) WHERE live DO NOTHING",
                &[&names, &keys],
            )?;
        }
        let rows = tx.query(
            "SELECT id, name, folded, count FROM rooms WHERE folded = ANY($1) AND live ORDER BY id FOR UPDATE",
            &[&wanted],
        )?;
        for row in &rows {
            let id: i64 = row.get(0);
            ids.insert(row.get::<_, String>(2), id);
            let name: String = row.get(1);
            rooms.insert(
                id,
                Room { name: name.into(), count: row.get(3), live: true, members: HashMap::new() },
            );
        }
        // Only a room to make is looked for again: a room merely named
        // (a `MSG`, a `LEAVE`) that is gone is gone.
        to_make.retain(|(_, f)| !ids.contains_key(f));
        wanted = to_make.iter().map(|(_, f)| f.as_str()).collect();
    }
    let locked: Vec<i64> = rooms.keys().copied().collect();
    if locked.is_empty() {
        return Ok(ids);
    }
    for row in tx.query("SELECT room, user_id, read FROM members WHERE room = ANY($1)", &[&locked])? {
        let room: i64 = row.get(0);
        if let Some(r) = rooms.get_mut(&room) {
            r.members.insert(row.get::<_, i64>(1) as UserId, row.get(2));
        }
    }
    Ok(ids)
}

/// How many times [`lock_rooms`] makes a room that other nodes keep
/// emptying while it waits for its lock: each time is one more node's
/// batch taking the room's last member away in that very moment.
const MAKE_TRIES: usize = 3;

/// The room `old`, locked and emptied by this batch, gone
/// (`meaning::rooms::forgotten`): makes a new room of its name, `name`
/// (`#Name`, folded `folded`), as step 1 makes one for a later batch,
/// and returns its id. The old row stops being live first: one live room
/// a name (`rooms_live_name`). Nobody else sees either change before the
/// batch commits, and nobody else can hold the new row: the lock order
/// (rooms first) is kept.
pub fn make_again(tx: &mut Tx, old: i64, name: &str, folded: &str) -> Result<i64, postgres::Error> {
    tx.execute("UPDATE rooms SET live = false WHERE id = $1", &[&old])?;
    let row =
        tx.query_one("INSERT INTO rooms (name, folded) VALUES ($1, $2) RETURNING id", &[&name, &folded])?;
    Ok(row.get(0))
}

/// A direct message an `ACK` acknowledges: its number in the inbox, its
/// sender, its number in its direction, its id.
pub struct Acked {
    pub seq: i64,
    pub sender: UserId,
    pub ord: i64,
    pub msg_id: String,
}

/// For each `(user, seq)` acknowledgement, the direct messages among the
/// user's events not yet acknowledged up to `seq`, in order. Read before
/// the inboxes are locked (their senders must be locked too, for their
/// `DELIVERED`): the acknowledged mark read here may be behind, which
/// only adds rows that `Work::ack` skips.
pub fn acked_directs(
    tx: &mut Tx,
    acks: &[(UserId, i64)],
) -> Result<HashMap<UserId, Vec<Acked>>, postgres::Error> {
    let mut found: HashMap<UserId, Vec<Acked>> = HashMap::new();
    if acks.is_empty() {
        return Ok(found);
    }
    let (users, seqs): (Vec<i64>, Vec<i64>) = acks.iter().map(|&(u, s)| (u as i64, s)).unzip();
    // For each run of direct messages that the acknowledgement reaches,
    // the part of it after the acknowledged mark and up to `s`. `OFFSET 0`
    // keeps the last subquery a subquery: flattened, its bounds on `ord`
    // (from three relations) became a join filter, and every message of
    // the direction was read for each run (a minute per batch, measured).
    let rows = tx.query(
        "SELECT a.u, e.seq + (m.ord - e.ord), e.sender, m.ord, m.msg_id \
         FROM unnest($1::int8[], $2::int8[]) AS a(u, s) \
         CROSS JOIN LATERAL (SELECT acked FROM inboxes WHERE user_id = a.u) AS i \
         CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.user_id = a.u AND e.seq <= a.s \
                             AND e.seq + e.count > i.acked + 1 AND e.kind = 0 AND e.room IS NULL) AS e \
         CROSS JOIN LATERAL (SELECT m.ord, m.msg_id FROM messages m \
                             WHERE m.sender = e.sender AND m.recipient = e.recipient \
                             AND m.ord >= e.ord + GREATEST(0, i.acked + 1 - e.seq) \
                             AND m.ord <= e.ord + LEAST(e.count - 1, a.s - e.seq) OFFSET 0) AS m \
         ORDER BY 1, 2",
        &[&users, &seqs],
    )?;
    for row in rows {
        let user = row.get::<_, i64>(0) as UserId;
        let acked = Acked {
            seq: row.get(1),
            sender: row.get::<_, i64>(2) as UserId,
            ord: row.get(3),
            msg_id: row.get(4),
        };
        found.entry(user).or_default().push(acked);
    }
    for list in found.values_mut() {
        list.dedup_by_key(|a| a.seq); // two ACKs of one user in a batch
    }
    Ok(found)
}

/// Locks the inbox rows of `users`, in id order (see `apply.rs`).
pub fn lock_inboxes(
    tx: &mut Tx,
    users: &BTreeSet<UserId>,
    inboxes: &mut HashMap<UserId, Inbox>,
) -> Result<(), postgres::Error> {
    let ids: Vec<i64> = users.iter().map(|&u| u as i64).collect();
    let began = std::time::Instant::now();
    let rows = tx.query(
        "SELECT user_id, last_seq, acked, sent, stored, several FROM inboxes WHERE user_id = ANY($1) \
         ORDER BY user_id FOR UPDATE",
        &[&ids],
    )?;
    crate::metrics::get().pg_lock.observe(began.elapsed().as_secs_f64());
    for row in rows {
        let inbox = Inbox {
            last_seq: row.get(1),
            acked: row.get(2),
            sent: row.get(3),
            stored: row.get(4),
            several: row.get(5),
        };
        inboxes.insert(row.get::<_, i64>(0) as UserId, inbox);
    }
    Ok(())
}

/// Reads, in one round trip, what the locked inboxes guard: the
/// `directions` of `pairs` (sender, recipient) that exist, into
/// `w.dirs`; which users of `pairs`, on either side, deleted their
/// account (1.2), into `w.gone` (a recipient is refused a direct message,
/// a sender is told no `STATUS`: `meaning::effects`); which recipients of
/// `sent` (the directions of the batch's direct messages, among `pairs`)
/// blocked their sender (1.2, §22), into `w.blocked` (the message goes
/// nowhere: `meaning::send`); and which `(sender, id)` of
/// `ids` are among their sender's last `window` messages since its cut
/// (`users.since`, a freed name's new account: an id its old account
/// used is a new message) — resends, returned with their first `<ts>`.
///
/// A block is read here, not before the batch: a `BLOCK` takes its
/// owner's inbox row too (`settings::change`), so it commits either
/// before this statement, which then sees it, or after the batch, whose
/// message came first; and the read adds no round trip (issue 54: a read
/// per direct message before the batch was what made a cluster's batches
/// wait on each other's locks).
///
/// It must run after the locks, as a statement of its own: a statement
/// sees what was committed when it began, and the lock may have waited
/// for another batch to commit changes to these very rows.
pub fn read_guarded(
    tx: &mut Tx,
    pairs: &BTreeSet<(UserId, UserId)>,
    sent: &BTreeSet<(UserId, UserId)>,
    ids: &[(UserId, String)],
    window: i64,
    w: &mut Work,
) -> Result<HashMap<(UserId, String), i64>, postgres::Error> {
    let mut recent = HashMap::new();
    if pairs.is_empty() && ids.is_empty() {
        return Ok(recent);
    }
    let (senders, recipients): (Vec<i64>, Vec<i64>) =
        pairs.iter().map(|&(s, r)| (s as i64, r as i64)).unzip();
    let (sent_from, sent_to): (Vec<i64>, Vec<i64>) = sent.iter().map(|&(s, r)| (s as i64, r as i64)).unzip();
    let from: Vec<i64> = ids.iter().map(|(s, _)| *s as i64).collect();
    let names: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
    let floors: Vec<i64> = ids.iter().map(|(s, _)| w.inboxes.get(s).map_or(0, |i| i.sent - window)).collect();
    // The first column says what a row is: a direction, a resend, or a
    // deleted user (whose mark `accounts::mark_deleted` wrote while
    // holding the inbox row this batch now holds: read here, after the
    // lock, the decision is the same on every node).
    let rows = tx.query(
        "SELECT 'd', d.sender, d.recipient, d.sent, d.delivered, d.read, NULL::text, 0::int8 \
         FROM unnest($1::int8[], $2::int8[]) AS p(s, r) \
         CROSS JOIN LATERAL (SELECT * FROM directions d WHERE d.sender = p.s AND d.recipient = p.r) AS d \
         UNION ALL \
         SELECT 'r', q.s, 0, 0, 0, 0, q.i, m.ts FROM unnest($3::int8[], $4::text[], $5::int8[]) AS q(s, i, f) \
         CROSS JOIN LATERAL (SELECT m.ts FROM messages m \
                             WHERE m.sender = q.s AND m.msg_id = q.i AND m.sender_ord >= q.f \
                             AND m.id >= (SELECT since FROM users WHERE id = q.s) LIMIT 1) AS m \
         UNION ALL \
         SELECT 'x', 0, u.id, 0, 0, 0, NULL, 0 FROM users u \
         WHERE (u.id = ANY($1::int8[]) OR u.id = ANY($2::int8[])) AND starts_with(u.hash, $6) \
         UNION ALL \
         SELECT 'b', p.s, p.r, 0, 0, 0, NULL, 0 FROM unnest($7::int8[], $8::int8[]) AS p(s, r) \
         CROSS JOIN LATERAL (SELECT 1 FROM users u JOIN settings b ON b.key = u.folded \
                             WHERE u.id = p.s AND b.user_id = p.r AND b.name = $9) AS b",
        &[&senders, &recipients, &from, &names, &floors, &DELETED, &sent_from, &sent_to, &BLOCK.name],
    )?;
    for row in rows {
        let (sender, recipient) = (row.get::<_, i64>(1) as UserId, row.get::<_, i64>(2) as UserId);
        match (row.get::<_, &str>(0), row.get::<_, Option<String>>(6)) {
            ("r", Some(id)) => {
                recent.insert((sender, id), row.get(7));
            }
            ("x", _) => {
                w.gone.insert(recipient); // the deleted user, on either side
            }
            ("b", _) => {
                w.blocked.insert((sender, recipient));
            }
            _ => {
                let dir = Dir { sent: row.get(3), delivered: row.get(4), read: row.get(5) };
                w.dirs.insert((sender, recipient), dir);
            }
        }
    }
    Ok(recent)
}
