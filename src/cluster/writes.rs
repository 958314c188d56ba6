//! What a batch's transaction changes ([`Work`]: the rows it locked and
//! read, `locks.rs`, worked on in memory by `work.rs`) and how it writes
//! them (see `apply.rs` for the order): all of it in **one** statement
//! ([`WRITE_ALL`]). Rows travel as arrays bound as parameters and spread
//! with `unnest`, so a batch of 500 messages is one `INSERT`, not 500
//! round trips.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use postgres::types::ToSql;

use super::tx::Tx;
use crate::protocol::Ko;
use crate::store::budget::Budget;
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
    /// 1.2: users of the batch's directions who deleted their account
    /// (`read_guarded`): a direct message to them is refused, and they
    /// get no event (`meaning::effects`).
    pub gone: HashSet<UserId>,
    /// 1.2: the batch's directions (sender, recipient) whose recipient
    /// blocked its sender (`read_guarded`): a direct message there goes
    /// nowhere (`meaning::send`).
    pub blocked: HashSet<(UserId, UserId)>,
    /// 1.2: why a sender may not write to a room of the batch now
    /// (`+announce`, a mute), by (sender, room): read under the room's
    /// lock (`moderation::send_refusals`), so that a `MODE` or `MUTE`
    /// committed by another node is either before the message or after
    /// it, as on a single server.
    pub refused: HashMap<(UserId, i64), Ko>,
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
    /// 1.2: names the batch's memberships take out of their rooms' rules,
    /// (room, user, `room_rules.kind`): a joiner's invitation
    /// (`Rules::joined`), a leaver's room admin rank (`Rules::left`).
    /// Unlike `joined` and `left`, a later job of the batch takes nothing
    /// back: a `JOIN` then a `LEAVE` uses the invitation and drops the rank.
    pub names_dropped: Vec<(i64, i64, &'static str)>,
    /// 1.2: the rooms the batch made, each with its maker, its owner:
    /// (room, user). One per room (`Work::join`).
    pub owners: Vec<(i64, i64)>,
}

/// Writes what the batch changed: its messages, runs, acknowledgements,
/// inbox counters, directions and room counters in one statement
/// ([`WRITE_ALL`]), and the rarer changes — memberships and what they
/// change in the rooms' rules, last-seen times — in statements of their
/// own, only when there are some.
pub fn write(tx: &mut Tx, w: &Work) -> Result<(), postgres::Error> {
    let columns = Columns::of(w);
    tx.execute(WRITE_ALL, &columns.params())?;
    write_rare(tx, &w.writes)
}

/// The one statement of [`write`]: each `WITH` clause runs whether its
/// arrays are empty or not (an empty one does nothing). Its parameters
/// are [`Columns::params`], in this order.
const WRITE_ALL: &str = "WITH \
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
     WHERE x.id = u.id AND (x.count, x.live) <> (u.c, u.v)";

/// What [`WRITE_ALL`] writes, as one array per column.
#[derive(Default)]
struct Columns<'a> {
    /// `messages`: sender, sender_ord, ord, ts; recipient, room; msg_id,
    /// from_name, to_name, text.
    m_ints: [Vec<i64>; 4],
    m_to: [Vec<Option<i64>>; 2],
    m_texts: [Vec<&'a str>; 4],
    /// New `events` runs: user_id, seq, ord, ts; count; kind; sender,
    /// recipient, room.
    e_ints: [Vec<i64>; 4],
    e_counts: Vec<i32>,
    e_kinds: Vec<i16>,
    e_streams: [Vec<Option<i64>>; 3],
    /// Stored runs lengthened ([`lengthened`]): user_id, seq; count.
    g_ints: [Vec<i64>; 2],
    g_counts: Vec<i32>,
    /// Inboxes acknowledged: user_id, seq.
    acks: [Vec<i64>; 2],
    /// Inboxes changed: user_id, last_seq, acked, sent, stored.
    inboxes: [Vec<i64>; 5],
    /// Directions changed: sender, recipient, sent, delivered, read.
    dirs: [Vec<i64>; 5],
    /// Rooms: id, count; live.
    rooms: [Vec<i64>; 2],
    room_live: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn of(w: &'a Work) -> Self {
        let mut c = Columns::default();
        c.messages(&w.writes.messages);
        c.runs(w);
        c.counters(w);
        c
    }

    fn messages(&mut self, rows: &'a [MessageRow]) {
        for r in rows {
            let (_, recipient, room) = r.stream.columns();
            push(&mut self.m_ints, [r.sender, r.sender_ord, r.ord, r.ts]);
            push(&mut self.m_to, [recipient, room]);
            push(&mut self.m_texts, [r.msg_id.as_str(), &r.from_name, &r.to_name, &r.text]);
        }
    }

    /// The runs this batch inserts, and the stored ones it lengthens.
    fn runs(&mut self, w: &Work) {
        for r in w.writes.runs.iter().filter(|r| r.stored.is_none()) {
            let (sender, recipient, room) = r.stream.columns();
            push(&mut self.e_ints, [r.user, r.seq, r.ord, r.ts]);
            self.e_counts.push(r.count);
            self.e_kinds.push(r.kind);
            push(&mut self.e_streams, [sender, recipient, room]);
        }
        let (users, seqs, counts) = lengthened(w);
        self.g_ints = [users, seqs];
        self.g_counts = counts;
    }

    /// Acknowledgements, and the inboxes, directions and rooms whose
    /// counters changed.
    fn counters(&mut self, w: &Work) {
        for &(user, seq) in &w.writes.acks {
            push(&mut self.acks, [user, seq]);
        }
        for (&user, inbox) in &w.inboxes {
            if w.inboxes_read.get(&user) != Some(inbox) {
                let values = [user as i64, inbox.last_seq, inbox.acked, inbox.sent, inbox.stored];
                push(&mut self.inboxes, values);
            }
        }
        for (&(s, r), d) in &w.dirs {
            if w.dirs_read.get(&(s, r)) != Some(d) {
                push(&mut self.dirs, [s as i64, r as i64, d.sent, d.delivered, d.read]);
            }
        }
        for (&id, room) in &w.rooms {
            push(&mut self.rooms, [id, room.count]);
            self.room_live.push(room.live);
        }
    }

    /// The parameters of [`WRITE_ALL`], `$1` to `$37`.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let [m_sender, m_sender_ord, m_ord, m_ts] = &self.m_ints;
        let [m_recipient, m_room] = &self.m_to;
        let [m_id, m_from, m_to, m_text] = &self.m_texts;
        let [e_user, e_seq, e_ord, e_ts] = &self.e_ints;
        let [e_sender, e_recipient, e_room] = &self.e_streams;
        let [i_user, i_last, i_acked, i_sent, i_stored] = &self.inboxes;
        let [d_sender, d_recipient, d_sent, d_delivered, d_read] = &self.dirs;
        vec![
            m_sender,
            m_sender_ord,
            m_recipient,
            m_room,
            m_ord,
            m_id,
            m_ts,
            m_from,
            m_to,
            m_text, // $1–$10
            e_user,
            e_seq,
            &self.e_counts,
            &self.e_kinds,
            e_sender,
            e_recipient,
            e_room,
            e_ord,
            e_ts, // $11–$19
            &self.acks[0],
            &self.acks[1],
            i_user,
            i_last,
            i_acked,
            i_sent, // $20–$25
            d_sender,
            d_recipient,
            d_sent,
            d_delivered,
            d_read, // $26–$30
            &self.rooms[0],
            &self.rooms[1],
            &self.room_live, // $31–$33
            &self.g_ints[0],
            &self.g_ints[1],
            &self.g_counts,
            i_stored, // $34–$37
        ]
    }
}

/// Pushes one row's values onto their columns.
fn push<T, const N: usize>(columns: &mut [Vec<T>; N], values: [T; N]) {
    for (column, value) in columns.iter_mut().zip(values) {
        column.push(value);
    }
}

/// Members joined and left and what that changes in the rooms' rules,
/// room read marks, last-seen times.
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
            // A member may move its mark more than once in a batch (its
            // messages, its READs): an UPDATE takes one row of the join
            // per target row, not knowing which, so each member's
            // highest mark is picked first.
            "UPDATE members m SET read = GREATEST(m.read, u.r) FROM \
             (SELECT room, usr, max(r) AS r FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS x(room, usr, r) \
             GROUP BY room, usr) AS u WHERE m.room = u.room AND m.user_id = u.usr",
        ),
    ] {
        if !rows.is_empty() {
            let a: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let b: Vec<i64> = rows.iter().map(|r| r.1).collect();
            let c: Vec<i64> = rows.iter().map(|r| r.2).collect();
            tx.execute(sql, &[&a, &b, &c])?;
        }
    }
    write_rules(tx, ws)?;
    if !ws.seen.is_empty() {
        let (users, ts): (Vec<i64>, Vec<i64>) = ws.seen.iter().copied().unzip();
        tx.execute(
            "UPDATE users SET last_seen = s.ts FROM unnest($1::int8[], $2::int8[]) AS s(u, ts) WHERE users.id = s.u",
            &[&users, &ts],
        )?;
    }
    Ok(())
}

/// What the batch's memberships change in their rooms' rules (1.2): in
/// the `JOIN`'s or `LEAVE`'s own transaction, so that no node dying
/// between the two can leave a departed room admin its rank, or a joiner
/// its invitation. Each is a statement for all the batch's rows.
fn write_rules(tx: &mut Tx, ws: &Writes) -> Result<(), postgres::Error> {
    if !ws.names_dropped.is_empty() {
        let rooms: Vec<i64> = ws.names_dropped.iter().map(|r| r.0).collect();
        let users: Vec<i64> = ws.names_dropped.iter().map(|r| r.1).collect();
        let kinds: Vec<&str> = ws.names_dropped.iter().map(|r| r.2).collect();
        tx.execute(
            "DELETE FROM room_rules x USING unnest($1::int8[], $2::int8[], $3::text[]) AS d(room, u, kind) \
             WHERE x.room = d.room AND x.user_id = d.u AND x.kind = d.kind",
            &[&rooms, &users, &kinds],
        )?;
    }
    if !ws.owners.is_empty() {
        let (rooms, users): (Vec<i64>, Vec<i64>) = ws.owners.iter().copied().unzip();
        // `owner IS NULL`: a room's owner is never replaced by a JOIN.
        tx.execute(
            "UPDATE rooms x SET owner = o.u FROM unnest($1::int8[], $2::int8[]) AS o(room, u) \
             WHERE x.id = o.room AND x.owner IS NULL",
            &[&rooms, &users],
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
