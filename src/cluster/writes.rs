//! What a batch's transaction reads and writes ([`Work`]: the rows it
//! locked, worked on in memory by `work.rs`) and its statements (see
//! `apply.rs` for their order): the locking reads, one read of what the
//! locks guard, and the writes — all of them in **one** statement. Rows travel as arrays bound
//! as parameters and spread with `unnest`, so a batch of 500 messages is
//! one `INSERT`, not 500 round trips.
//!
//! Every lookup here is written to be found by key, a row at a time
//! (`CROSS JOIN LATERAL`): the committer's connection plans each statement
//! once (`db.rs`), for any batch size, and the tables it reads change too
//! fast for their statistics to say better.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::tx::Tx;
use crate::store::budget::Budget;
use crate::store::state::DELETED;
use crate::store::{Delivery, UserId};

/// A user's inbox row, locked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Inbox {
    pub last_seq: i64,
    pub acked: i64,
    pub sent: i64,
    /// Bytes of the messages the user stored, for `--user-quota` (`budget.rs`).
    pub stored: i64,
    /// Several devices (protocol 1.2): copies and read marks go in too.
    pub several: bool,
}

/// A direction of a direct conversation (`directions` row).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Dir {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
}

/// A room, locked, with its members and their read marks.
pub struct Room {
    pub name: Arc<str>,
    pub count: i64,
    pub live: bool,
    pub members: HashMap<UserId, i64>,
}

/// A message a `READ` names: its number in its stream.
pub struct Named {
    pub ord: i64,
}

/// Everything the batch changes, worked out in memory.
#[derive(Default)]
pub struct Work {
    pub inboxes: HashMap<UserId, Inbox>,
    /// The inboxes as locked: only those that changed are written.
    pub inboxes_read: HashMap<UserId, Inbox>,
    pub dirs: HashMap<(UserId, UserId), Dir>,
    /// The directions as read (absent: new).
    pub dirs_read: HashMap<(UserId, UserId), Dir>,
    pub rooms: HashMap<i64, Room>,
    pub writes: Writes,
    pub deliveries: Vec<Delivery>,
    /// Each user's newest run of this batch (its index in
    /// `writes.runs`): the user's next event extends it when it can.
    pub last_run: HashMap<UserId, usize>,
    /// `--inbox-max` and `--user-quota` (`budget.rs`).
    pub budget: Budget,
    /// 1.2: recipients who deleted their account (`read_guarded`): a
    /// direct message to them is refused.
    pub gone: HashSet<UserId>,
}

/// Which messages a run or a message belongs to: one direction of a
/// direct chat, or a room. Messages are numbered (`ord`) within it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stream {
    Direct { sender: UserId, recipient: UserId },
    Room(i64),
}

impl Stream {
    /// The columns `sender`, `recipient`, `room` of a run.
    fn columns(self) -> (Option<i64>, Option<i64>, Option<i64>) {
        match self {
            Stream::Direct { sender, recipient } => (Some(sender as i64), Some(recipient as i64), None),
            Stream::Room(room) => (None, None, Some(room)),
        }
    }
}

/// A `messages` row to insert (its `id` comes from the table's sequence).
pub struct MessageRow {
    pub sender: i64,
    pub sender_ord: i64,
    pub stream: Stream,
    pub ord: i64,
    pub msg_id: String,
    pub ts: i64,
    pub from_name: String,
    pub to_name: String,
    pub text: String,
}

/// An `events` row: `count` events of `user` numbered from `seq`, about
/// the messages of `stream` numbered from `ord` (see `work.rs`).
#[derive(Debug)]
pub struct Run {
    pub user: i64,
    pub seq: i64,
    pub count: i32,
    pub kind: i16,
    pub stream: Stream,
    pub ord: i64,
    pub ts: i64,
    /// `None`: a run of this batch, inserted. `Some(count)`: a run an
    /// earlier batch stored with that count (`runs::last_runs`), which this
    /// batch lengthens with an `UPDATE` instead of a row of its own.
    pub stored: Option<i32>,
}

/// The rows a batch adds or changes, beyond the counters in [`Work`].
#[derive(Default)]
pub struct Writes {
    pub messages: Vec<MessageRow>,
    pub runs: Vec<Run>,
    /// Inboxes acknowledged up to a sequence number: (user, seq).
    pub acks: Vec<(i64, i64)>,
    /// Memberships: (room, user, read) joined, (room, user) left, reads.
    pub joined: Vec<(i64, i64, i64)>,
    pub left: Vec<(i64, i64)>,
    pub room_reads: Vec<(i64, i64, i64)>,
    /// Last-seen times: (user, ts).
    pub seen: Vec<(i64, i64)>,
}

/// Creates the rooms in `create` (`#Name`, folded) that do not exist,
/// then locks every live room named in `folded`, in id order, into
/// `rooms` (with members). Returns their ids by folded name.
pub fn lock_rooms(
    tx: &mut Tx,
    folded: &BTreeSet<String>,
    create: &[(String, String)],
    rooms: &mut HashMap<i64, Room>,
) -> Result<HashMap<String, i64>, postgres::Error> {
    if folded.is_empty() {
        return Ok(HashMap::new());
    }
    if !create.is_empty() {
        let (names, keys): (Vec<&str>, Vec<&str>) =
            create.iter().map(|(n, f)| (n.as_str(), f.as_str())).unzip();
        tx.execute(
            "INSERT INTO rooms (name, folded) SELECT * FROM unnest($1::text[], $2::text[]) \
             ON CONFLICT (folded) WHERE live DO NOTHING",
            &[&names, &keys],
        )?;
    }
    let folded: Vec<&str> = folded.iter().map(String::as_str).collect();
    let rows = tx.query(
        "SELECT id, name, folded, count FROM rooms WHERE folded = ANY($1) AND live ORDER BY id FOR UPDATE",
        &[&folded],
    )?;
    let mut ids = HashMap::new();
    for row in &rows {
        let id: i64 = row.get(0);
        ids.insert(row.get::<_, String>(2), id);
        let name: String = row.get(1);
        rooms.insert(id, Room { name: name.into(), count: row.get(3), live: true, members: HashMap::new() });
    }
    let locked: Vec<i64> = rooms.keys().copied().collect();
    for row in tx.query("SELECT room, user_id, read FROM members WHERE room = ANY($1)", &[&locked])? {
        let room: i64 = row.get(0);
        if let Some(r) = rooms.get_mut(&room) {
            r.members.insert(row.get::<_, i64>(1) as UserId, row.get(2));
        }
    }
    Ok(ids)
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
/// `w.dirs`; which recipients of `pairs` deleted their account (1.2),
/// into `w.gone`; and which `(sender, id)` of `ids` are among their
/// sender's last `window` messages since its cut (`users.since`, a freed
/// name's new account: an id its old account used is a new message) —
/// resends, returned with their first `<ts>`.
///
/// It must run after the locks, as a statement of its own: a statement
/// sees what was committed when it began, and the lock may have waited
/// for another batch to commit changes to these very rows.
pub fn read_guarded(
    tx: &mut Tx,
    pairs: &BTreeSet<(UserId, UserId)>,
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
    let from: Vec<i64> = ids.iter().map(|(s, _)| *s as i64).collect();
    let names: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
    let floors: Vec<i64> = ids.iter().map(|(s, _)| w.inboxes.get(s).map_or(0, |i| i.sent - window)).collect();
    // The first column says what a row is: a direction, a resend, or a
    // deleted recipient (whose mark `accounts::mark_deleted` wrote while
    // holding the inbox row this batch now holds: read here, after the
    // lock, the refusal is the same on every node).
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
         WHERE u.id = ANY($2::int8[]) AND starts_with(u.hash, $6)",
        &[&senders, &recipients, &from, &names, &floors, &DELETED],
    )?;
    for row in rows {
        let (sender, recipient) = (row.get::<_, i64>(1) as UserId, row.get::<_, i64>(2) as UserId);
        match (row.get::<_, &str>(0), row.get::<_, Option<String>>(6)) {
            ("r", Some(id)) => {
                recent.insert((sender, id), row.get(7));
            }
            ("x", _) => {
                w.gone.insert(recipient);
            }
            _ => {
                let dir = Dir { sent: row.get(3), delivered: row.get(4), read: row.get(5) };
                w.dirs.insert((sender, recipient), dir);
            }
        }
    }
    Ok(recent)
}

/// Writes what the batch changed: its messages, runs, acknowledgements,
/// inbox counters, directions and room counters in one statement (each
/// `WITH` clause runs whether its arrays are empty or not; an empty one
/// does nothing), and the rarer changes — memberships, last-seen times —
/// in statements of their own, only when there are some.
pub fn write(tx: &mut Tx, w: &Work) -> Result<(), postgres::Error> {
    let ws = &w.writes;
    let m = &ws.messages;
    let int = |f: fn(&MessageRow) -> i64| m.iter().map(f).collect::<Vec<i64>>();
    let text = |f: fn(&MessageRow) -> &str| m.iter().map(f).collect::<Vec<&str>>();
    let (m_recipient, m_room): (Vec<Option<i64>>, Vec<Option<i64>>) = m
        .iter()
        .map(|r| match r.stream {
            Stream::Direct { recipient, .. } => (Some(recipient as i64), None),
            Stream::Room(room) => (None, Some(room)),
        })
        .unzip();

    let e: Vec<&Run> = ws.runs.iter().filter(|r| r.stored.is_none()).collect();
    let (g_users, g_seqs, g_counts) = lengthened(w);
    let streams: Vec<_> = e.iter().map(|r| r.stream.columns()).collect();
    let e_counts: Vec<i32> = e.iter().map(|r| r.count).collect();
    let e_kinds: Vec<i16> = e.iter().map(|r| r.kind).collect();

    let (a_users, a_seqs): (Vec<i64>, Vec<i64>) = ws.acks.iter().copied().unzip();

    let mut inboxes: [Vec<i64>; 5] = Default::default();
    for (&user, inbox) in &w.inboxes {
        if w.inboxes_read.get(&user) != Some(inbox) {
            let values = [user as i64, inbox.last_seq, inbox.acked, inbox.sent, inbox.stored];
            for (col, v) in inboxes.iter_mut().zip(values) {
                col.push(v);
            }
        }
    }
    let mut dirs: [Vec<i64>; 5] = Default::default();
    for (&(s, r), d) in &w.dirs {
        if w.dirs_read.get(&(s, r)) != Some(d) {
            for (col, v) in dirs.iter_mut().zip([s as i64, r as i64, d.sent, d.delivered, d.read]) {
                col.push(v);
            }
        }
    }
    let room_ids: Vec<i64> = w.rooms.keys().copied().collect();
    let room_counts: Vec<i64> = room_ids.iter().map(|id| w.rooms[id].count).collect();
    let room_live: Vec<bool> = room_ids.iter().map(|id| w.rooms[id].live).collect();

    tx.execute(
        "WITH \
         msgs AS (INSERT INTO messages (sender, sender_ord, recipient, room, ord, msg_id, ts, from_name, to_name, text) \
                  SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
                                       $6::text[], $7::int8[], $8::text[], $9::text[], $10::text[])), \
         runs AS (INSERT INTO events (user_id, seq, count, kind, sender, recipient, room, ord, ts) \
                  SELECT * FROM unnest($11::int8[], $12::int8[], $13::int4[], $14::int2[], $15::int8[], \
                                       $16::int8[], $17::int8[], $18::int8[], $19::int8[])), \
         acks AS (DELETE FROM events x USING unnest($20::int8[], $21::int8[]) AS a(u, s) \
                  WHERE x.user_id = a.u AND x.seq <= a.s AND x.seq + x.count - 1 <= a.s \
                  AND NOT EXISTS (SELECT 1 FROM unnest($34::int8[], $35::int8[]) AS g(u, s) \
                                  WHERE g.u = x.user_id AND g.s = x.seq)), \
         longer AS (UPDATE events x SET count = g.c \
                  FROM unnest($34::int8[], $35::int8[], $36::int4[]) AS g(u, s, c) \
                  WHERE x.user_id = g.u AND x.seq = g.s), \
         counters AS (UPDATE inboxes x SET last_seq = u.l, acked = u.a, sent = u.s, stored = u.b \
                  FROM unnest($22::int8[], $23::int8[], $24::int8[], $25::int8[], $37::int8[]) AS u(id, l, a, s, b) \
                  WHERE x.user_id = u.id), \
         dirs AS (INSERT INTO directions (sender, recipient, sent, delivered, read) \
                  SELECT * FROM unnest($26::int8[], $27::int8[], $28::int8[], $29::int8[], $30::int8[]) \
                  ON CONFLICT (sender, recipient) DO UPDATE \
                  SET sent = EXCLUDED.sent, delivered = EXCLUDED.delivered, read = EXCLUDED.read) \
         UPDATE rooms x SET count = u.c, live = u.v FROM unnest($31::int8[], $32::int8[], $33::bool[]) AS u(id, c, v) \
         WHERE x.id = u.id AND (x.count, x.live) <> (u.c, u.v)",
        &[
            &int(|r| r.sender),
            &int(|r| r.sender_ord),
            &m_recipient,
            &m_room,
            &int(|r| r.ord),
            &text(|r| &r.msg_id),
            &int(|r| r.ts),
            &text(|r| &r.from_name),
            &text(|r| &r.to_name),
            &text(|r| &r.text),
            &e.iter().map(|r| r.user).collect::<Vec<_>>(),
            &e.iter().map(|r| r.seq).collect::<Vec<_>>(),
            &e_counts,
            &e_kinds,
            &streams.iter().map(|s| s.0).collect::<Vec<_>>(),
            &streams.iter().map(|s| s.1).collect::<Vec<_>>(),
            &streams.iter().map(|s| s.2).collect::<Vec<_>>(),
            &e.iter().map(|r| r.ord).collect::<Vec<_>>(),
            &e.iter().map(|r| r.ts).collect::<Vec<_>>(),
            &a_users,
            &a_seqs,
            &inboxes[0],
            &inboxes[1],
            &inboxes[2],
            &inboxes[3],
            &dirs[0],
            &dirs[1],
            &dirs[2],
            &dirs[3],
            &dirs[4],
            &room_ids,
            &room_counts,
            &room_live,
            &g_users,
            &g_seqs,
            &g_counts,
            &inboxes[4],
        ],
    )?;
    write_rare(tx, ws)
}

/// Members joined and left, room read marks, last-seen times.
fn write_rare(tx: &mut Tx, ws: &Writes) -> Result<(), postgres::Error> {
    if !ws.left.is_empty() {
        let (rooms, users): (Vec<i64>, Vec<i64>) = ws.left.iter().copied().unzip();
        tx.execute(
            "DELETE FROM members m USING unnest($1::int8[], $2::int8[]) AS l(r, u) WHERE m.room = l.r AND m.user_id = l.u",
            &[&rooms, &users],
        )?;
    }
    for (rows, sql) in [
        (
            &ws.joined,
            "INSERT INTO members (room, user_id, read) SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[]) \
             ON CONFLICT (room, user_id) DO UPDATE SET read = EXCLUDED.read",
        ),
        (
            &ws.room_reads,
            "UPDATE members m SET read = GREATEST(m.read, u.r) FROM unnest($1::int8[], $2::int8[], $3::int8[]) \
             AS u(room, usr, r) WHERE m.room = u.room AND m.user_id = u.usr",
        ),
    ] {
        if !rows.is_empty() {
            let a: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let b: Vec<i64> = rows.iter().map(|r| r.1).collect();
            let c: Vec<i64> = rows.iter().map(|r| r.2).collect();
            tx.execute(sql, &[&a, &b, &c])?;
        }
    }
    if !ws.seen.is_empty() {
        let (users, ts): (Vec<i64>, Vec<i64>) = ws.seen.iter().copied().unzip();
        tx.execute(
            "UPDATE users SET last_seen = s.ts FROM unnest($1::int8[], $2::int8[]) AS s(u, ts) WHERE users.id = s.u",
            &[&users, &ts],
        )?;
    }
    Ok(())
}

/// The stored runs this batch lengthened, as (users, seqs, new counts):
/// each is updated, unless the batch's own `ACK` covers the whole of the
/// longer run (then `acks` deletes it, and a row must not be both updated
/// and deleted in one statement: `acks` leaves out the ones listed here).
pub(super) fn lengthened(w: &Work) -> (Vec<i64>, Vec<i64>, Vec<i32>) {
    let (mut users, mut seqs, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for r in w.writes.runs.iter().filter(|r| r.stored.is_some_and(|c| c != r.count)) {
        if r.seq + i64::from(r.count) - 1 > w.inboxes[&(r.user as UserId)].acked {
            users.push(r.user);
            seqs.push(r.seq);
            counts.push(r.count);
        }
    }
    (users, seqs, counts)
}
