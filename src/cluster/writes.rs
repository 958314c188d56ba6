//! The statements of a batch's transaction (see `apply.rs` for their
//! order): the locking reads, and the writes, one statement per table for
//! the whole batch — arrays bound as parameters and spread with `unnest`,
//! so a batch of 500 messages is one `INSERT`, not 500 round trips.

use std::collections::{BTreeSet, HashMap};

use super::tx::Tx;

use super::apply::{Dir, Inbox, Room, Work};
use crate::store::UserId;

/// A `messages` row to insert.
pub struct MessageRow {
    pub id: i64,
    pub sender: i64,
    pub sender_ord: i64,
    pub recipient: Option<i64>,
    pub room: Option<i64>,
    pub ord: i64,
    pub msg_id: String,
    pub ts: i64,
    pub from_name: String,
    pub to_name: String,
    pub text: String,
}

/// The rows a batch adds or changes, beyond the counters in [`Work`].
#[derive(Default)]
pub struct Writes {
    pub messages: Vec<MessageRow>,
    /// `events`: (user, seq, message, kind, ts).
    pub events: Vec<(i64, i64, i64, i16, i64)>,
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
        "SELECT id, name, folded, count, last_msg FROM rooms WHERE folded = ANY($1) AND live ORDER BY id FOR UPDATE",
        &[&folded],
    )?;
    let mut ids = HashMap::new();
    for row in &rows {
        let id: i64 = row.get(0);
        ids.insert(row.get::<_, String>(2), id);
        let name: String = row.get(1);
        rooms.insert(
            id,
            Room {
                name: name.into(),
                count: row.get(3),
                last_msg: row.get(4),
                live: true,
                members: HashMap::new(),
            },
        );
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

/// A direct message an `ACK` acknowledges: (inbox seq, message row,
/// sender, its number, its id).
pub type Acked = (i64, i64, UserId, i64, String);

/// For each `(user, seq)` acknowledgement, the direct messages among the
/// user's events up to `seq`, in order: (seq, message, sender, ord, id).
pub fn acked_directs(
    tx: &mut Tx,
    acks: &[(UserId, i64)],
) -> Result<HashMap<UserId, Vec<Acked>>, postgres::Error> {
    let mut found: HashMap<UserId, Vec<_>> = HashMap::new();
    if acks.is_empty() {
        return Ok(found);
    }
    let (users, seqs): (Vec<i64>, Vec<i64>) = acks.iter().map(|&(u, s)| (u as i64, s)).unzip();
    let rows = tx.query(
        "SELECT e.user_id, e.seq, e.message, m.sender, m.ord, m.msg_id \
         FROM unnest($1::int8[], $2::int8[]) AS a(u, s) \
         JOIN events e ON e.user_id = a.u AND e.seq <= a.s \
         JOIN messages m ON m.id = e.message \
         WHERE e.kind = 0 AND m.recipient IS NOT NULL ORDER BY e.user_id, e.seq",
        &[&users, &seqs],
    )?;
    for row in rows {
        let user = row.get::<_, i64>(0) as UserId;
        let entry = (row.get(1), row.get(2), row.get::<_, i64>(3) as UserId, row.get(4), row.get(5));
        found.entry(user).or_default().push(entry);
    }
    for list in found.values_mut() {
        list.dedup_by_key(|a| a.0); // two ACKs of one user in a batch
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
    let rows = tx.query(
        "SELECT user_id, last_seq, acked, sent FROM inboxes WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
        &[&ids],
    )?;
    for row in rows {
        let inbox = Inbox { last_seq: row.get(1), acked: row.get(2), sent: row.get(3) };
        inboxes.insert(row.get::<_, i64>(0) as UserId, inbox);
    }
    Ok(())
}

/// The `directions` rows of `pairs` (sender, recipient) that exist.
pub fn read_dirs(
    tx: &mut Tx,
    pairs: &BTreeSet<(UserId, UserId)>,
    dirs: &mut HashMap<(UserId, UserId), Dir>,
) -> Result<(), postgres::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (senders, recipients): (Vec<i64>, Vec<i64>) =
        pairs.iter().map(|&(s, r)| (s as i64, r as i64)).unzip();
    let rows = tx.query(
        "SELECT d.sender, d.recipient, d.sent, d.delivered, d.read, d.last_msg \
         FROM unnest($1::int8[], $2::int8[]) AS p(s, r) \
         JOIN directions d ON d.sender = p.s AND d.recipient = p.r",
        &[&senders, &recipients],
    )?;
    for row in rows {
        let key = (row.get::<_, i64>(0) as UserId, row.get::<_, i64>(1) as UserId);
        dirs.insert(
            key,
            Dir { sent: row.get(2), delivered: row.get(3), read: row.get(4), last_msg: row.get(5) },
        );
    }
    Ok(())
}

/// Which of `(sender, id)` are among their sender's last `window`
/// messages: a resend, answered with the first `<ts>`.
pub fn recent_ids(
    tx: &mut Tx,
    ids: &[(UserId, String)],
    inboxes: &HashMap<UserId, Inbox>,
    window: i64,
) -> Result<HashMap<(UserId, String), i64>, postgres::Error> {
    let mut recent = HashMap::new();
    if ids.is_empty() {
        return Ok(recent);
    }
    let senders: Vec<i64> = ids.iter().map(|(s, _)| *s as i64).collect();
    let names: Vec<&str> = ids.iter().map(|(_, id)| id.as_str()).collect();
    let floors: Vec<i64> = ids.iter().map(|(s, _)| inboxes.get(s).map_or(0, |i| i.sent - window)).collect();
    let rows = tx.query(
        "SELECT m.sender, m.msg_id, m.ts FROM unnest($1::int8[], $2::text[], $3::int8[]) AS d(s, i, f) \
         JOIN messages m ON m.sender = d.s AND m.msg_id = d.i AND m.sender_ord >= d.f",
        &[&senders, &names, &floors],
    )?;
    for row in rows {
        recent.insert((row.get::<_, i64>(0) as UserId, row.get(1)), row.get(2));
    }
    Ok(recent)
}

/// `n` new message ids, in one round trip.
pub fn message_ids(tx: &mut Tx, n: usize) -> Result<Vec<i64>, postgres::Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = tx.query("SELECT nextval('messages_id_seq') FROM generate_series(1, $1)", &[&(n as i32)])?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Writes everything the batch changed.
pub fn write(tx: &mut Tx, w: &Work) -> Result<(), postgres::Error> {
    let ws = &w.writes;
    if !ws.messages.is_empty() {
        let m = &ws.messages;
        let col = |f: fn(&MessageRow) -> i64| m.iter().map(f).collect::<Vec<i64>>();
        let text = |f: fn(&MessageRow) -> &str| m.iter().map(f).collect::<Vec<&str>>();
        let recipients: Vec<Option<i64>> = m.iter().map(|r| r.recipient).collect();
        let rooms: Vec<Option<i64>> = m.iter().map(|r| r.room).collect();
        tx.execute(
            "INSERT INTO messages (id, sender, sender_ord, recipient, room, ord, msg_id, ts, from_name, to_name, text) \
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], \
                                  $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[])",
            &[
                &col(|r| r.id),
                &col(|r| r.sender),
                &col(|r| r.sender_ord),
                &recipients,
                &rooms,
                &col(|r| r.ord),
                &text(|r| &r.msg_id),
                &col(|r| r.ts),
                &text(|r| &r.from_name),
                &text(|r| &r.to_name),
                &text(|r| &r.text),
            ],
        )?;
    }
    if !ws.events.is_empty() {
        let e = &ws.events;
        let kinds: Vec<i16> = e.iter().map(|r| r.3).collect();
        tx.execute(
            "INSERT INTO events (user_id, seq, message, kind, ts) \
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int2[], $5::int8[])",
            &[
                &e.iter().map(|r| r.0).collect::<Vec<_>>(),
                &e.iter().map(|r| r.1).collect::<Vec<_>>(),
                &e.iter().map(|r| r.2).collect::<Vec<_>>(),
                &kinds,
                &e.iter().map(|r| r.4).collect::<Vec<_>>(),
            ],
        )?;
    }
    if !ws.acks.is_empty() {
        let (users, seqs): (Vec<i64>, Vec<i64>) = ws.acks.iter().copied().unzip();
        tx.execute(
            "DELETE FROM events e USING unnest($1::int8[], $2::int8[]) AS a(u, s) WHERE e.user_id = a.u AND e.seq <= a.s",
            &[&users, &seqs],
        )?;
    }
    if !w.inboxes.is_empty() {
        let mut ids = Vec::new();
        let (mut last, mut acked, mut sent) = (Vec::new(), Vec::new(), Vec::new());
        for (&user, inbox) in &w.inboxes {
            ids.push(user as i64);
            last.push(inbox.last_seq);
            acked.push(inbox.acked);
            sent.push(inbox.sent);
        }
        tx.execute(
            "UPDATE inboxes i SET last_seq = u.l, acked = u.a, sent = u.s \
             FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) AS u(id, l, a, s) \
             WHERE i.user_id = u.id AND (i.last_seq, i.acked, i.sent) <> (u.l, u.a, u.s)",
            &[&ids, &last, &acked, &sent],
        )?;
    }
    if !w.dirs.is_empty() {
        let mut cols: [Vec<i64>; 6] = Default::default();
        for (&(s, r), d) in &w.dirs {
            for (col, v) in cols.iter_mut().zip([s as i64, r as i64, d.sent, d.delivered, d.read, d.last_msg])
            {
                col.push(v);
            }
        }
        tx.execute(
            "INSERT INTO directions (sender, recipient, sent, delivered, read, last_msg) \
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) \
             ON CONFLICT (sender, recipient) DO UPDATE SET sent = EXCLUDED.sent, delivered = EXCLUDED.delivered, \
             read = EXCLUDED.read, last_msg = EXCLUDED.last_msg",
            &[&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]],
        )?;
    }
    write_rooms(tx, w)?;
    if !ws.seen.is_empty() {
        let (users, ts): (Vec<i64>, Vec<i64>) = ws.seen.iter().copied().unzip();
        tx.execute(
            "UPDATE users SET last_seen = s.ts FROM unnest($1::int8[], $2::int8[]) AS s(u, ts) WHERE users.id = s.u",
            &[&users, &ts],
        )?;
    }
    Ok(())
}

/// Rooms' counters, members joined and left, read marks.
fn write_rooms(tx: &mut Tx, w: &Work) -> Result<(), postgres::Error> {
    let ws = &w.writes;
    if !w.rooms.is_empty() {
        let ids: Vec<i64> = w.rooms.keys().copied().collect();
        let counts: Vec<i64> = ids.iter().map(|id| w.rooms[id].count).collect();
        let last: Vec<i64> = ids.iter().map(|id| w.rooms[id].last_msg).collect();
        let live: Vec<bool> = ids.iter().map(|id| w.rooms[id].live).collect();
        tx.execute(
            "UPDATE rooms r SET count = u.c, last_msg = u.l, live = u.v \
             FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::bool[]) AS u(id, c, l, v) \
             WHERE r.id = u.id AND (r.count, r.last_msg, r.live) <> (u.c, u.l, u.v)",
            &[&ids, &counts, &last, &live],
        )?;
    }
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
    Ok(())
}
