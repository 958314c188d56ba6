//! A cluster of the first design (schema 18: accounts, inboxes, rooms,
//! messages … as rows of their own) into the log, once.
//!
//! It runs when `wachat migrate --to` alone opens such a database (a
//! node refuses to start on one, naming that command), in the
//! transaction that brings the schema to the current version
//! ([`super::convert`]): all of it, or nothing.
//! The tables the cluster still keeps (the files, the door, the server's
//! identity) stay as they are; the rest, the devices too, is written into the log as the records a
//! single server would have written to hold what the rows hold, checked
//! with the single server's own code (each record is applied to a `State`
//! as it is written, as every node will apply it), and its tables go.
//!
//! The rows keep only what is now, not how it came to be, so the records
//! are put in an order that gives the same state:
//!
//! - the accounts (`users.csv` rows: a deleted account's hash is its
//!   mark, a name registered again has a second row with its `REUSE`);
//! - every message, each conversation's in its order, and the receipts
//!   that still wait in an inbox, in an order that keeps every user's
//!   waiting events in the order of their numbers (a topological sort;
//!   otherwise by when things happened). A room's members join before
//!   the first of its messages that waits for them or that they sent, and
//!   one who is no longer a member leaves after the last; the marks
//!   (delivered, read, a member's read mark) reach what the rows say;
//! - where a user's first waiting event is made, an `INBOX` record: what
//!   the conversion gave the inbox before is dropped, and the events
//!   after it get the numbers they had, which the devices' positions
//!   (kept) count in;
//! - then each room's rules, the server admins, the settings, the
//!   devices (`Record::device`), the last-seen times, the
//!   deleted accounts.
//!
//! Its disabled accounts and invite codes were tables of their own:
//! [`disabled`] and [`invites`] write them after the log's end.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::Transaction;

use std::net::{IpAddr, Ipv4Addr};

use crate::cluster::db::count;
use crate::cluster::log::AccountRows;
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::moderation::{Change, RoomMode};
use crate::protocol::names::fold;
use crate::store::devices::{Device, TokenHash};
use crate::store::moderation::Rule;
use crate::store::record::{Pos, Record, StoredMessage};
use crate::store::state::{DELETED, State};

type Id = i64;

/// A fact ready to go, by its sort key.
type Ready = BinaryHeap<Reverse<((i64, i32, i64), Fact)>>;

struct UserRow {
    name: String,
    email: String,
    hash: String,
    created: i64,
    last_seen: Option<i64>,
    admin: bool,
    /// The first message id a name registered again sees (0: none).
    since: i64,
    last_seq: i64,
    several: bool,
}

struct RoomRow {
    id: Id,
    name: String,
    folded: String,
    live: bool,
    owner: Option<Id>,
    announce: bool,
    invite_only: bool,
    topic: String,
}

/// A stream of messages: a direction of a direct chat, or a room.
#[derive(Clone, Copy, Hash, PartialEq, Eq, Debug)]
enum Thread {
    Direct(Id, Id),
    Room(Id),
}

struct MessageRow {
    id: Id,
    from: Id,
    stream: Thread,
    ord: i64,
    msg_id: String,
    ts: i64,
    to_name: String,
    text: String,
}

/// A receipt that still waits in an inbox: `reader` read (or got) the
/// message `msg`, number `ord` of its stream.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
struct WaitingReceipt {
    read: bool,
    reader: Id,
    stream: Thread,
    ord: i64,
}

/// What the sort orders.
#[derive(Clone, Copy, Hash, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Fact {
    Msg(usize),
    Mark(usize),
}

/// The first design's rows, read whole.
struct FirstDesign {
    users: HashMap<Id, UserRow>,
    rooms: Vec<RoomRow>,
    /// (room, user) → read mark, the live rooms' members.
    members: HashMap<(Id, Id), i64>,
    rules: Vec<(Id, Id, String, i64)>,
    /// (sender, recipient) → (delivered, read).
    directions: HashMap<(Id, Id), (i64, i64)>,
    messages: Vec<MessageRow>,
    /// (user, seq, kind, stream, ord, ts), one per waiting event.
    events: Vec<(Id, i64, i16, Thread, i64, i64)>,
    settings: Vec<(Id, String, String, String)>,
    /// Every user's devices (the old `devices`, renamed `devices_v18`).
    devices: Vec<(Id, Device)>,
}

/// What the upgrade did, for the log and `wachat migrate`.
pub struct Upgraded {
    pub records: u64,
    pub batches: u64,
    pub messages: usize,
    /// Users whose inbox did not come out as the rows had it (each a line).
    pub differences: Vec<String>,
}

/// Moves a schema-18 database's rows into the log of the current tables,
/// which [`super::convert`] has made (`schema.sql`) beside the old ones
/// (the old `devices` renamed `devices_v18`), and drops the old tables;
/// `None` if it held no account.
pub fn run(tx: &mut Transaction, url: &str) -> Result<Option<Upgraded>> {
    let fail = |doing: &str| {
        let context = format!("cluster: {url}: upgrading ({doing})");
        move |e: postgres::Error| crate::cluster::db::error(context.clone(), &e)
    };
    let accounts: i64 = tx.query_one("SELECT count(*) FROM users", &[]).map_err(fail("counting"))?.get(0);
    let done = if accounts == 0 {
        None
    } else {
        let old = read(tx).map_err(fail("reading the old tables"))?;
        let (accounts, records, mut done) = Conversion::new(&old).write()?;
        done.batches =
            crate::cluster::log::write_unled(tx, 0, accounts, &records).map_err(fail("writing the log"))?;
        Some(done)
    };
    tx.batch_execute(DROP_FIRST_DESIGN).map_err(fail("dropping the first design's tables"))?;
    Ok(done)
}

/// The first design's tables dropped: their rows are the log's now.
const DROP_FIRST_DESIGN: &str = "
    DROP TABLE devices_v18, events, inboxes, members, room_rules, rooms, directions, messages,
        settings, device_sessions, sessions, nodes, users CASCADE;";

fn read(tx: &mut Transaction) -> std::result::Result<FirstDesign, postgres::Error> {
    let mut users = HashMap::new();
    for r in tx.query(
        "SELECT u.id, u.name, u.email, u.hash, u.created_ms, u.last_seen, u.admin, u.since,
                coalesce(i.last_seq, 0), coalesce(i.several, false)
         FROM users u LEFT JOIN inboxes i ON i.user_id = u.id",
        &[],
    )? {
        let user = UserRow {
            name: r.get(1),
            email: r.get(2),
            hash: r.get(3),
            created: r.get(4),
            last_seen: r.get(5),
            admin: r.get(6),
            since: r.get(7),
            last_seq: r.get(8),
            several: r.get(9),
        };
        users.insert(r.get::<Id>(0), user);
    }
    let acked: HashMap<Id, i64> =
        tx.query("SELECT user_id, acked FROM inboxes", &[])?.iter().map(|r| (r.get(0), r.get(1))).collect();
    let rooms = tx
        .query(
            "SELECT id, name, folded, live, owner, announce, invite_only, topic FROM rooms ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| RoomRow {
            id: r.get(0),
            name: r.get(1),
            folded: r.get(2),
            live: r.get(3),
            owner: r.get(4),
            announce: r.get(5),
            invite_only: r.get(6),
            topic: r.get(7),
        })
        .collect();
    let members = tx
        .query(
            "SELECT m.room, m.user_id, m.read FROM members m JOIN rooms r ON r.id = m.room AND r.live",
            &[],
        )?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let rules = tx
        .query("SELECT room, user_id, kind, until FROM room_rules ORDER BY room, kind, user_id", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let directions = tx
        .query("SELECT sender, recipient, delivered, read FROM directions", &[])?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    let stream = |room: Option<Id>, sender: Option<Id>, recipient: Option<Id>| match room {
        Some(room) => Thread::Room(room),
        None => Thread::Direct(sender.unwrap_or(0), recipient.unwrap_or(0)),
    };
    let messages = tx
        .query(
            "SELECT id, sender, recipient, room, ord, msg_id, ts, to_name, text FROM messages ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| MessageRow {
            id: r.get(0),
            from: r.get(1),
            stream: stream(r.get(3), Some(r.get(1)), r.get(2)),
            ord: r.get(4),
            msg_id: r.get(5),
            ts: r.get(6),
            to_name: r.get(7),
            text: r.get(8),
        })
        .collect();
    let mut events = Vec::new();
    for r in
        tx.query("SELECT user_id, seq, count, kind, sender, recipient, room, ord, ts FROM events", &[])?
    {
        let (user, seq, count, kind): (Id, i64, i32, i16) = (r.get(0), r.get(1), r.get(2), r.get(3));
        let (stream, ord, ts) = (stream(r.get(6), r.get(4), r.get(5)), r.get::<i64>(7), r.get(8));
        let acked = acked.get(&user).copied().unwrap_or(0);
        for i in 0..i64::from(count) {
            if seq + i > acked {
                events.push((user, seq + i, kind, stream, ord + i, ts));
            }
        }
    }
    events.sort_by_key(|e| (e.0, e.1));
    let settings = tx
        .query("SELECT user_id, name, key, value FROM settings ORDER BY user_id, name, key", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let devices = tx
        .query(
            "SELECT user_id, name, position, seen_ms, address, token FROM devices_v18 ORDER BY user_id, folded",
            &[],
        )?
        .iter()
        .filter_map(|r| Some((r.get(0), device(r)?)))
        .collect();
    Ok(FirstDesign { users, rooms, members, rules, directions, messages, events, settings, devices })
}

/// A device of a row whose columns 1 to 5 are a `devices` table's name,
/// position, seen_ms, address and token (`None`: a name no device may
/// have, left out).
fn device(r: &postgres::Row) -> Option<Device> {
    let name: String = r.get(1);
    crate::protocol::names::check_name(&name).ok()?;
    let token: Option<Vec<u8>> = r.get(5);
    Some(Device {
        name: name.into(),
        position: r.get::<Option<i64>>(2).map(count),
        seen_ms: count(r.get(3)),
        address: r.get::<String>(4).parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        token: token.and_then(|t| TokenHash::try_from(t.as_slice()).ok()),
    })
}

/// `records` written after the log's end, and `table`, whose rows they
/// hold now, dropped.
fn in_place_of(
    tx: &mut Transaction,
    records: &[u8],
    table: &str,
) -> std::result::Result<(), postgres::Error> {
    let end = crate::cluster::log::end(tx)?;
    crate::cluster::log::write_unled(tx, end, Vec::new(), records)?;
    tx.batch_execute(&format!("DROP TABLE {table}"))
}

/// Every account the log made, by folded name, as registered: the
/// checkpoints' and the batches' rows of `users.csv`.
fn log_accounts(tx: &mut Transaction) -> std::result::Result<HashMap<String, String>, postgres::Error> {
    let mut accounts = HashMap::new();
    for r in tx.query("SELECT users FROM checkpoints UNION ALL SELECT users FROM log", &[])? {
        let users: Vec<u8> = r.get(0);
        for row in String::from_utf8_lossy(&users).lines() {
            let name = row.split(',').next().unwrap_or("");
            accounts.insert(fold(name), name.to_string());
        }
    }
    Ok(accounts)
}

/// A database of schema 18, whose disabled accounts were a table of
/// their own (`disabled`, a folded name a row): each into the log, after
/// its end, as the `SET` record that disables it
/// (`Record::disabled`), and the table dropped. A name that is no
/// account in the log is left out (logged). Returns how many went into
/// the log (none if there is no such table).
pub fn disabled(tx: &mut Transaction, url: &str) -> Result<usize> {
    into_the_log(tx, url, "disabled", "disabled accounts", |tx| {
        let accounts = log_accounts(tx)?;
        let now = crate::store::now_ms();
        let mut records = Vec::new();
        let mut moved = 0;
        for r in tx.query("SELECT folded FROM disabled ORDER BY folded", &[])? {
            let folded: String = r.get(0);
            match accounts.get(&folded) {
                Some(name) => {
                    Record::disabled(now, name, true).encode(&mut records);
                    moved += 1;
                }
                None => {
                    log::warn!("cluster: {url}: disabled {folded:?} left out of the log: no such account")
                }
            }
        }
        Ok((records, moved))
    })
}

/// A database of schema 18, whose invite codes were a table of
/// their own (`invites`: a code, its expiry, when it was used): each
/// into the log, after its end, as the invite-code records that make it and,
/// if it was used, use it (`store::invites`), and the table dropped.
/// Returns how many went into the log (none if there is no such table).
pub fn invites(tx: &mut Transaction, url: &str) -> Result<usize> {
    use crate::store::invites::Mark;
    into_the_log(tx, url, "invites", "invite codes", |tx| {
        let rows =
            tx.query("SELECT code, expires_ms, used_ms IS NOT NULL FROM invites ORDER BY code", &[])?;
        let now = crate::store::now_ms();
        let mut records = Vec::new();
        for r in &rows {
            let (code, expires_ms): (String, u64) = (r.get(0), count(r.get(1)));
            let marks: &[Mark] = if r.get(2) { &[Mark::Kept, Mark::Used] } else { &[Mark::Kept] };
            for &mark in marks {
                Record::Invite { ts: now, code: code.clone(), mark, expires_ms }.encode(&mut records);
            }
        }
        Ok((records, rows.len()))
    })
}

/// A database whose files' descriptions were tables (`files` and
/// `file_carriers`: schemas 18 to 22): each file into the log, after its
/// end, as the `FILE` records that make its description what its rows
/// say (its upload, its completion, its carriers in the order they were
/// attached, with their sides that left), its bytes received kept in
/// `file_blobs` with its chunks, and the two tables dropped. Returns how
/// many files went into the log (none if there is no such table).
pub fn files(tx: &mut Transaction, url: &str) -> Result<usize> {
    use crate::store::files::{Carrier, FileChange, Left};
    let fail = |doing: &str| {
        let context = format!("cluster: {url}: upgrading the files ({doing})");
        move |e: postgres::Error| crate::cluster::db::error(context.clone(), &e)
    };
    if !tx.query_one("SELECT to_regclass('files') IS NOT NULL", &[]).map_err(fail("looking"))?.get::<bool>(0)
    {
        return Ok(0);
    }
    tx.batch_execute(
        "INSERT INTO file_blobs (file, received) SELECT id, received FROM files ON CONFLICT DO NOTHING; \
         ALTER TABLE file_chunks DROP CONSTRAINT IF EXISTS file_chunks_file_fkey; \
         ALTER TABLE file_chunks ADD FOREIGN KEY (file) REFERENCES file_blobs (file) ON DELETE CASCADE",
    )
    .map_err(fail("keeping the bytes"))?;
    into_the_log(tx, url, "files", "files", |tx| {
        let now = crate::store::now_ms();
        let mut records = Vec::new();
        let rows = tx.query(
            "SELECT id, owner, name, size, sha256, type, created, complete FROM files ORDER BY created, id",
            &[],
        )?;
        let carriers = tx.query(
            "SELECT file, sender, chat, msg, author_left, recipient_left FROM file_carriers ORDER BY attached",
            &[],
        )?;
        for r in &rows {
            let id: String = r.get(0);
            let mut put = |change| Record::File { ts: now, id: id.clone(), change }.encode(&mut records);
            put(FileChange::Upload {
                owner: r.get(1),
                name: r.get(2),
                size: count(r.get(3)),
                sha256: r.get(4),
                created: count(r.get(6)),
            });
            if r.get(7) {
                put(FileChange::Done { kind: r.get(5) });
            }
            for c in carriers.iter().filter(|c| c.get::<&str>(0) == id) {
                let left = Left { author: c.get(4), recipient: c.get(5) };
                put(FileChange::Carry(Carrier { left, ..Carrier::new(c.get(1), c.get(2), c.get(3)) }));
            }
        }
        // Before `files`, which its rows refer to.
        tx.batch_execute("DROP TABLE file_carriers")?;
        Ok((records, rows.len()))
    })
}

/// A table of an older schema (`what` its rows, for errors) into the
/// log, if the database has it: the records `records` makes of its rows
/// (with how many rows went), written after the log's end in the
/// upgrade's transaction, and the table dropped. Returns how many went.
fn into_the_log(
    tx: &mut Transaction,
    url: &str,
    table: &str,
    what: &str,
    records: impl FnOnce(&mut Transaction) -> std::result::Result<(Vec<u8>, usize), postgres::Error>,
) -> Result<usize> {
    let fail = |doing: &str| {
        let context = format!("cluster: {url}: upgrading the {what} ({doing})");
        move |e: postgres::Error| crate::cluster::db::error(context.clone(), &e)
    };
    let there = format!("SELECT to_regclass('{table}') IS NOT NULL");
    if !tx.query_one(&there, &[]).map_err(fail("looking"))?.get::<bool>(0) {
        return Ok(0);
    }
    let (records, moved) = records(tx).map_err(fail("reading them"))?;
    in_place_of(tx, &records, table).map_err(fail("writing the log"))?;
    Ok(moved)
}

/// Where the records that are not facts go among the facts
/// ([`Conversion::timeline`]), each by the fact or the position (in the
/// order of the facts) it goes beside.
#[derive(Default)]
struct Timeline {
    /// Before a fact: the `INBOX` of each user whose first waiting event
    /// it makes, with the number before that event's.
    inboxes: HashMap<Fact, Vec<(Id, i64)>>,
    /// Before a position, in order: the names registered again whose cut
    /// it is.
    reused: Vec<(usize, Id)>,
    /// Before a position: the members who join (room, user, read mark).
    joins: HashMap<usize, Vec<(Id, Id, i64)>>,
    /// After a position: the direct marks brought there (read or
    /// delivered, sender, recipient, the message's number).
    direct_marks: HashMap<usize, Vec<(bool, Id, Id, i64)>>,
    /// After a position: the members whose read mark is set there.
    reads: HashMap<usize, Vec<(Id, Id, i64)>>,
    /// After a position: the members who leave.
    leaves: HashMap<usize, Vec<(Id, Id)>>,
    /// Each room's last message's position.
    room_last: HashMap<Id, usize>,
    /// Members who took part in nothing: they join after every fact.
    at_end: Vec<(Id, Id, i64)>,
}

/// The records, worked out from the rows.
struct Conversion<'a> {
    old: &'a FirstDesign,
    /// (stream, ord) → message index.
    by_ord: HashMap<(Thread, i64), usize>,
    marks: Vec<(WaitingReceipt, i64)>,
    /// Each user's waiting events' facts, in the order of their numbers,
    /// with the number of the first.
    waiting: HashMap<Id, (i64, Vec<Fact>)>,
    state: State,
    out: Vec<u8>,
    records: u64,
    now: u64,
}

impl<'a> Conversion<'a> {
    fn new(old: &'a FirstDesign) -> Conversion<'a> {
        let by_ord = old.messages.iter().enumerate().map(|(i, m)| ((m.stream, m.ord), i)).collect();
        let now = crate::store::now_ms();
        Conversion {
            old,
            by_ord,
            marks: Vec::new(),
            waiting: HashMap::new(),
            state: State::default(),
            out: Vec::new(),
            records: 0,
            now,
        }
    }

    /// The fact an inbox's waiting event comes from.
    fn fact_of(
        &mut self,
        marks: &mut HashMap<WaitingReceipt, usize>,
        event: &(Id, i64, i16, Thread, i64, i64),
    ) -> Option<Fact> {
        let &(user, _, kind, stream, ord, ts) = event;
        let mark = match (kind, stream) {
            (0 | 3, _) => return self.by_ord.get(&(stream, ord)).map(|&i| Fact::Msg(i)),
            (1, Thread::Direct(_, to)) => WaitingReceipt { read: false, reader: to, stream, ord },
            (2, Thread::Direct(_, to)) => WaitingReceipt { read: true, reader: to, stream, ord },
            (4, _) => WaitingReceipt { read: true, reader: user, stream, ord },
            _ => return None,
        };
        self.by_ord.get(&(stream, ord))?;
        let next = self.marks.len();
        let i = *marks.entry(mark).or_insert(next);
        if i == next {
            self.marks.push((mark, ts));
        }
        Some(Fact::Mark(i))
    }

    /// Every fact, in the order the records go.
    fn order(&mut self) -> Vec<Fact> {
        let old = self.old;
        let mut marks = HashMap::new();
        for event in &old.events {
            match self.fact_of(&mut marks, event) {
                Some(fact) => {
                    let entry = self.waiting.entry(event.0).or_insert((event.1, Vec::new()));
                    if entry.1.last() != Some(&fact) {
                        entry.1.push(fact);
                    }
                }
                None => {
                    log::warn!("upgrade: event {} of user {} names no message; left out", event.1, event.0)
                }
            }
        }
        let mut after: HashMap<Fact, Vec<Fact>> = HashMap::new();
        let mut edge = |a: Fact, b: Fact| after.entry(a).or_default().push(b);
        // Each conversation in its order (a direct chat's two directions
        // by id), a room's incarnations one after the other.
        let mut last: HashMap<(Id, Id), usize> = HashMap::new();
        let incarnation: HashMap<Id, (&str, Id)> =
            old.rooms.iter().map(|r| (r.id, (r.folded.as_str(), r.id))).collect();
        let mut last_of_name: HashMap<&str, usize> = HashMap::new();
        for (i, m) in old.messages.iter().enumerate() {
            let key = match m.stream {
                Thread::Direct(a, b) => (a.min(b), a.max(b)),
                Thread::Room(room) => (-1, room),
            };
            if let Some(&p) = last.get(&key) {
                edge(Fact::Msg(p), Fact::Msg(i));
            } else if let Thread::Room(room) = m.stream
                && let Some(&(name, _)) = incarnation.get(&room)
                && let Some(&p) = last_of_name.get(name)
            {
                edge(Fact::Msg(p), Fact::Msg(i));
            }
            last.insert(key, i);
            if let Thread::Room(room) = m.stream
                && let Some(&(name, _)) = incarnation.get(&room)
            {
                last_of_name.insert(name, i);
            }
        }
        for (i, (mark, _)) in self.marks.iter().enumerate() {
            edge(Fact::Msg(self.by_ord[&(mark.stream, mark.ord)]), Fact::Mark(i));
        }
        for (_, facts) in self.waiting.values() {
            for pair in facts.windows(2) {
                edge(pair[0], pair[1]);
            }
        }
        // A name registered again: the messages before its cut, then the rest.
        for user in old.users.values().filter(|u| u.since > 0) {
            let cut = old.messages.partition_point(|m| m.id < user.since);
            if cut > 0 && cut < old.messages.len() {
                for i in 0..cut {
                    edge(Fact::Msg(i), Fact::Msg(cut));
                }
            }
        }
        // Otherwise by when: a message by its id, a receipt after the
        // newest message of its time.
        let mut by_ts: Vec<(i64, Id)> = old.messages.iter().map(|m| (m.ts, m.id)).collect();
        by_ts.sort_unstable();
        let mut newest = Vec::with_capacity(by_ts.len());
        for &(_, id) in &by_ts {
            newest.push(newest.last().copied().unwrap_or(id).max(id));
        }
        let key = |fact: Fact| match fact {
            Fact::Msg(i) => (old.messages[i].id, 0, 0),
            Fact::Mark(i) => {
                let ts = self.marks[i].1;
                let n = by_ts.partition_point(|&(t, _)| t <= ts);
                (if n == 0 { 0 } else { newest[n - 1] }, 1, ts)
            }
        };
        let facts: Vec<Fact> =
            (0..old.messages.len()).map(Fact::Msg).chain((0..self.marks.len()).map(Fact::Mark)).collect();
        let mut before: HashMap<Fact, usize> = HashMap::new();
        for next in after.values_mut() {
            next.sort_unstable();
            next.dedup();
            for &b in next.iter() {
                *before.entry(b).or_default() += 1;
            }
        }
        let mut ready: Ready =
            facts.iter().filter(|f| !before.contains_key(f)).map(|&f| Reverse((key(f), f))).collect();
        let mut done = HashSet::new();
        let mut sorted = Vec::with_capacity(facts.len());
        while sorted.len() < facts.len() {
            let fact = match ready.pop() {
                Some(Reverse((_, f))) => f,
                None => {
                    // The rows contradict each other (a cycle): the
                    // earliest fact left goes first.
                    let f = facts.iter().filter(|f| !done.contains(*f)).min_by_key(|&&f| key(f)).copied();
                    log::warn!("upgrade: the waiting events' order has a cycle at {f:?}");
                    f.expect("facts left")
                }
            };
            if !done.insert(fact) {
                continue;
            }
            sorted.push(fact);
            for &b in after.get(&fact).map_or(&[][..], |v| v) {
                let n = before.get_mut(&b).expect("counted");
                *n -= 1;
                if *n == 0 && !done.contains(&b) {
                    ready.push(Reverse((key(b), b)));
                }
            }
        }
        sorted
    }

    fn name(&self, user: Id) -> Result<Arc<str>> {
        let user = self.old.users.get(&user).ok_or_else(|| bad(format!("no account {user}")))?;
        Ok(user.name.as_str().into())
    }

    /// Writes a record and applies it; a receipt the state refuses is left
    /// out (`Ok(false)`), anything else refused stops the upgrade.
    fn put(&mut self, record: Record) -> Result<bool> {
        let start = self.out.len();
        record.encode(&mut self.out);
        let len = (self.out.len() - start) as u64;
        match self.state.load(start as Pos, len, &record) {
            Ok(()) => {
                self.records += 1;
                Ok(true)
            }
            Err(e) if matches!(record, Record::Delivered { .. } | Record::Read { .. }) => {
                log::warn!("upgrade: a receipt left out ({e}): {record:?}");
                self.out.truncate(start);
                Ok(false)
            }
            Err(e) => Err(bad(format!("{e}: {record:?}"))),
        }
    }

    fn write(mut self) -> Result<(AccountRows, Vec<u8>, Upgraded)> {
        let old = self.old;
        let facts = self.order();
        let mut ids: Vec<&Id> = old.users.keys().collect();
        ids.sort();
        let users = self.accounts(&ids)?;
        let timeline = self.timeline(&facts);
        let reuse_rows = self.facts(&facts, timeline)?;
        self.the_rest(&ids)?;
        let differences = self.differences();
        let done = Upgraded { records: self.records, batches: 0, messages: old.messages.len(), differences };
        // The rows of the names registered again go with their `REUSE`'s batch.
        let mut rows = vec![(0, users)];
        rows.extend(reuse_rows);
        Ok((rows, self.out, done))
    }

    /// The accounts, in the order of their ids: their `users.csv` rows,
    /// and the `DEVICES` record of each that has several.
    fn accounts(&mut self, ids: &[&Id]) -> Result<Vec<u8>> {
        let old = self.old;
        let mut users = Vec::new();
        for &id in ids {
            let u = &old.users[id];
            let hash = if u.since > 0 { format!("{DELETED}:{}", u.created) } else { u.hash.clone() };
            users_row(&mut users, &u.name, &u.email, &hash, u.created);
            self.state.add_user(&u.name, &hash).map_err(bad)?;
        }
        for &id in ids {
            if old.users[id].several {
                let user = self.name(*id)?;
                self.put(Record::Devices { ts: 0, user, several: true })?;
            }
        }
        Ok(users)
    }

    /// Where the records that are not facts go among the facts.
    fn timeline(&self, facts: &[Fact]) -> Timeline {
        let old = self.old;
        let position: HashMap<Fact, usize> = facts.iter().enumerate().map(|(i, &f)| (f, i)).collect();
        let mut timeline = Timeline::default();
        // Where each user's first waiting event is made.
        let mut cut_pos: HashMap<Id, usize> = HashMap::new();
        for (&user, (first, facts)) in &self.waiting {
            timeline.inboxes.entry(facts[0]).or_default().push((user, first - 1));
            cut_pos.insert(user, position[&facts[0]]);
        }
        // A reused name's account joins its rooms after its cut.
        let reuse_at: HashMap<Id, usize> = old
            .users
            .iter()
            .filter(|(_, u)| u.since > 0)
            .map(|(&id, u)| {
                let i = old.messages.partition_point(|m| m.id < u.since);
                (id, if i < old.messages.len() { position[&Fact::Msg(i)] } else { facts.len() })
            })
            .collect();
        timeline.reused = reuse_at.iter().map(|(&u, &at)| (at, u)).collect();
        timeline.reused.sort();
        for (i, m) in old.messages.iter().enumerate() {
            if let Thread::Room(room) = m.stream {
                let at = timeline.room_last.entry(room).or_default();
                *at = (*at).max(position[&Fact::Msg(i)]);
            }
        }
        let joined = self.memberships(&position, &reuse_at, &mut timeline);
        // The first waiting receipt of each stream, reader and kind.
        let mut first_mark: HashMap<(Thread, Id, bool), i64> = HashMap::new();
        for (m, _) in &self.marks {
            let first = first_mark.entry((m.stream, m.reader, m.read)).or_insert(m.ord);
            *first = (*first).min(m.ord);
        }
        self.read_marks(&position, &first_mark, &joined, &mut timeline);
        self.direct_marks(&position, &first_mark, &cut_pos, &mut timeline);
        timeline
    }

    /// When each member of a room joins and leaves: with the first and
    /// after the last of the room's messages that she sent, that waits
    /// for her or that her waiting read mark names (a reused name not
    /// before its cut); one who is still a member never leaves. Returns
    /// where each joined.
    fn memberships(
        &self,
        position: &HashMap<Fact, usize>,
        reuse_at: &HashMap<Id, usize>,
        timeline: &mut Timeline,
    ) -> HashMap<(Id, Id), usize> {
        let old = self.old;
        let mut part: HashMap<(Id, Id), (usize, usize)> = HashMap::new();
        let mut take_part = |room: Id, user: Id, at: usize| {
            let span = part.entry((room, user)).or_insert((at, at));
            span.0 = span.0.min(at);
            span.1 = span.1.max(at);
        };
        for (i, m) in old.messages.iter().enumerate() {
            if let Thread::Room(room) = m.stream {
                take_part(room, m.from, position[&Fact::Msg(i)]);
            }
        }
        for event in &old.events {
            if let (0, Thread::Room(room)) = (event.2, event.3)
                && let Some(&i) = self.by_ord.get(&(event.3, event.4))
            {
                take_part(room, event.0, position[&Fact::Msg(i)]);
            }
        }
        for (i, (mark, _)) in self.marks.iter().enumerate() {
            if let Thread::Room(room) = mark.stream {
                take_part(room, mark.reader, position[&Fact::Mark(i)]);
            }
        }
        let mut spans: Vec<_> = part.into_iter().collect();
        spans.sort();
        let mut joined = HashMap::new();
        for ((room, user), (first, last)) in spans {
            let final_member = old.members.contains_key(&(room, user));
            let first = match reuse_at.get(&user) {
                Some(&cut) if final_member => first.max(cut),
                _ => first,
            };
            timeline.joins.entry(first).or_default().push((room, user, 0));
            joined.insert((room, user), first);
            if !final_member {
                timeline.leaves.entry(last).or_default().push((room, user));
            }
        }
        joined
    }

    /// A member's read mark: set after the message before it, unless a
    /// waiting read mark moves it there; with her join if that comes
    /// later; at the end for a member who took part in nothing.
    fn read_marks(
        &self,
        position: &HashMap<Fact, usize>,
        first_mark: &HashMap<(Thread, Id, bool), i64>,
        joined: &HashMap<(Id, Id), usize>,
        timeline: &mut Timeline,
    ) {
        let mut members: Vec<(&(Id, Id), &i64)> = self.old.members.iter().collect();
        members.sort();
        for (&(room, user), &read) in members {
            let waiting = first_mark.get(&(Thread::Room(room), user, true)).copied();
            let read = waiting.map_or(read, |w| w.min(read));
            let joined = joined.get(&(room, user)).copied();
            let after = (read > 0)
                .then(|| self.by_ord.get(&(Thread::Room(room), read - 1)).map(|&i| position[&Fact::Msg(i)]))
                .flatten();
            match (joined, after) {
                (Some(j), Some(a)) if a >= j => timeline.reads.entry(a).or_default().push((room, user, read)),
                (Some(j), _) => {
                    if let Some(list) = timeline.joins.get_mut(&j) {
                        for join in list.iter_mut().filter(|(r, u, _)| (*r, *u) == (room, user)) {
                            join.2 = read;
                        }
                    }
                }
                (None, _) => timeline.at_end.push((room, user, read)),
            }
        }
    }

    /// Direct marks: brought to the value before the first waiting
    /// receipt (which moves them on), after the message before it.
    fn direct_marks(
        &self,
        position: &HashMap<Fact, usize>,
        first_mark: &HashMap<(Thread, Id, bool), i64>,
        cut_pos: &HashMap<Id, usize>,
        timeline: &mut Timeline,
    ) {
        let old = self.old;
        let mut directions: Vec<_> = old.directions.iter().map(|(&k, &v)| (k, v)).collect();
        directions.sort();
        for ((from, to), (delivered, read)) in directions {
            for (is_read, value) in [(false, delivered), (true, read)] {
                let waiting = first_mark.get(&(Thread::Direct(from, to), to, is_read)).copied();
                let value = waiting.map_or(value, |w| w.min(value));
                // Past the cut of whom it tells (the sender; a reader's
                // devices), a move would be an event that did not wait:
                // it happened with no event (a read message is not
                // delivered again), and is left out.
                let told = |user: Id| cut_pos.get(&user).copied().unwrap_or(usize::MAX);
                if value > 0
                    && let Some(&i) = self.by_ord.get(&(Thread::Direct(from, to), value - 1))
                    && position[&Fact::Msg(i)] < told(from)
                    && !(is_read
                        && old.users.get(&to).is_some_and(|u| u.several)
                        && position[&Fact::Msg(i)] >= told(to))
                {
                    timeline.direct_marks.entry(position[&Fact::Msg(i)]).or_default().push((
                        is_read,
                        from,
                        to,
                        value - 1,
                    ));
                }
            }
        }
    }

    /// The records, fact by fact, each with what the timeline puts
    /// beside it; then the members who took part in nothing. Returns the
    /// `users.csv` rows of the names registered again, each with where
    /// its `REUSE` record starts.
    fn facts(&mut self, facts: &[Fact], timeline: Timeline) -> Result<Vec<(usize, Vec<u8>)>> {
        let old = self.old;
        let room_of: HashMap<Id, &RoomRow> = old.rooms.iter().map(|r| (r.id, r)).collect();
        let mut in_room: HashMap<Id, HashSet<Id>> = HashMap::new();
        let mut held: HashMap<Id, Vec<Id>> = HashMap::new();
        let mut reuse_rows: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut reused = timeline.reused.into_iter().peekable();
        for (at, &fact) in facts.iter().enumerate() {
            while let Some((_, user)) = reused.next_if(|(cut, _)| *cut == at) {
                let u = &old.users[&user];
                let mut row = Vec::new();
                users_row(&mut row, &u.name, &u.email, &u.hash, u.created);
                reuse_rows.push((self.out.len(), row));
                let hash = u.hash.as_str().into();
                self.put(Record::Reuse { ts: u.created as u64, user: self.name(user)?, hash })?;
            }
            for &(user, seq) in timeline.inboxes.get(&fact).map_or(&[][..], |v| v) {
                self.put(Record::Inbox { ts: 0, user: self.name(user)?, seq: seq as u64 })?;
            }
            for &(room, user, read) in timeline.joins.get(&at).map_or(&[][..], |v| v) {
                self.join(room_of[&room], user, read, &mut in_room, &mut held)?;
            }
            match fact {
                Fact::Msg(i) => self.message(&old.messages[i], &room_of)?,
                Fact::Mark(i) => {
                    let (mark, ts) = self.marks[i];
                    self.receipt(mark, ts, &room_of)?;
                }
            }
            for &(is_read, from, to, ord) in timeline.direct_marks.get(&at).map_or(&[][..], |v| v) {
                let mark =
                    WaitingReceipt { read: is_read, reader: to, stream: Thread::Direct(from, to), ord };
                self.receipt(mark, old.messages[self.by_ord[&(mark.stream, ord)]].ts, &room_of)?;
            }
            for &(room, user, read) in timeline.reads.get(&at).map_or(&[][..], |v| v) {
                self.join(room_of[&room], user, read, &mut in_room, &mut held)?;
            }
            for &(room, user) in timeline.leaves.get(&at).map_or(&[][..], |v| v) {
                let members = in_room.entry(room).or_default();
                if members.len() > 1 {
                    self.leave(room_of[&room], user, &mut in_room)?;
                } else {
                    held.entry(room).or_default().push(user);
                }
            }
            // A room of another time: its members leave with its last
            // message, and the name is free for the next.
            if let Fact::Msg(i) = fact
                && let Thread::Room(room) = old.messages[i].stream
                && !room_of[&room].live
                && timeline.room_last.get(&room) == Some(&at)
            {
                held.remove(&room);
                let mut left: Vec<Id> = in_room.get(&room).into_iter().flatten().copied().collect();
                left.sort();
                for user in left {
                    self.leave(room_of[&room], user, &mut in_room)?;
                }
            }
        }
        for (room, user, read) in timeline.at_end {
            self.join(room_of[&room], user, read, &mut in_room, &mut held)?;
        }
        for (room, users) in std::mem::take(&mut held) {
            for user in users {
                self.leave(room_of[&room], user, &mut in_room)?;
            }
        }
        Ok(reuse_rows)
    }

    /// What the facts leave: inboxes with nothing waiting, rules, admins,
    /// settings, devices, last-seen times, the deleted accounts.
    fn the_rest(&mut self, ids: &[&Id]) -> Result<()> {
        let (old, now) = (self.old, self.now);
        for &id in ids {
            if !self.waiting.contains_key(id) {
                let seq = old.users[id].last_seq as u64;
                self.put(Record::Inbox { ts: now, user: self.name(*id)?, seq })?;
            }
        }
        for room in old.rooms.iter().filter(|r| r.live) {
            self.rules(room)?;
        }
        for &id in ids {
            if old.users[id].admin {
                let by = self.name(*id)?;
                self.put(Record::Rule { ts: now, by, room: "".into(), rule: Rule::ServerAdmin(true) })?;
            }
        }
        for (user, name, key, value) in &old.settings {
            let (name, key, value) = (name.clone(), key.clone(), Some(value.clone()));
            self.put(Record::Set { ts: now, user: self.name(*user)?, name, key, value })?;
        }
        for (user, device) in &old.devices {
            self.put(Record::device(now, &self.name(*user)?, device))?;
        }
        for &id in ids {
            let u = &old.users[id];
            if let Some(seen) = u.last_seen {
                self.put(Record::Seen { ts: seen as u64, user: self.name(*id)? })?;
            }
            if let Some(ms) = u.hash.strip_prefix(DELETED).and_then(|t| t.strip_prefix(':')) {
                let ts = ms.parse().unwrap_or(now);
                self.put(Record::DelAccount { ts, user: self.name(*id)? })?;
            }
        }
        Ok(())
    }

    fn join(
        &mut self,
        room: &RoomRow,
        user: Id,
        read: i64,
        in_room: &mut HashMap<Id, HashSet<Id>>,
        held: &mut HashMap<Id, Vec<Id>>,
    ) -> Result<()> {
        let name = self.name(user)?;
        self.put(Record::Join { ts: 0, user: name, room: room.name.as_str().into(), read: read as u64 })?;
        in_room.entry(room.id).or_default().insert(user);
        // Those held back (the room would have been empty) leave now.
        for other in held.remove(&room.id).unwrap_or_default() {
            if other != user {
                self.leave(room, other, in_room)?;
            }
        }
        Ok(())
    }

    fn leave(&mut self, room: &RoomRow, user: Id, in_room: &mut HashMap<Id, HashSet<Id>>) -> Result<()> {
        if in_room.entry(room.id).or_default().remove(&user) {
            let name = self.name(user)?;
            self.put(Record::Leave { ts: 0, user: name, room: room.name.as_str().into() })?;
        }
        Ok(())
    }

    fn message(&mut self, m: &MessageRow, room_of: &HashMap<Id, &RoomRow>) -> Result<()> {
        let from = self.name(m.from)?;
        let link = match m.stream {
            Thread::Direct(_, to) => {
                let (a, b) = (self.state.user_id(&from), self.state.user_id(&self.name(to)?));
                let (a, b) = a.zip(b).ok_or_else(|| bad(format!("message {}: unknown users", m.id)))?;
                self.state.direct_link(a, b)
            }
            Thread::Room(room) => {
                let name = &room_of.get(&room).ok_or_else(|| bad(format!("no room {room}")))?.name;
                let r = self
                    .state
                    .room_id(name)
                    .ok_or_else(|| bad(format!("message {}: {name} not made", m.id)))?;
                self.state.room_link(r)
            }
        };
        let (ord, expected) = match m.stream {
            Thread::Direct(..) => (m.ord as u64, link.dord),
            Thread::Room(_) => (m.ord as u64, link.ord),
        };
        if ord != expected {
            return Err(bad(format!("message {} is number {ord} of its chat, expected {expected}", m.id)));
        }
        let text = Text::parse(&m.text).map_err(|e| bad(format!("message {}: {e}", m.id)))?;
        let msg = StoredMessage {
            from,
            to: m.to_name.as_str().into(),
            id: m.msg_id.as_str().into(),
            ts: m.ts as u64,
            text,
        };
        self.put(Record::Msg { msg: Arc::new(msg), link })?;
        Ok(())
    }

    fn receipt(&mut self, mark: WaitingReceipt, ts: i64, room_of: &HashMap<Id, &RoomRow>) -> Result<bool> {
        let m = &self.old.messages[self.by_ord[&(mark.stream, mark.ord)]];
        let (user, id, ts) = (self.name(mark.reader)?, Arc::from(m.msg_id.as_str()), ts as u64);
        let record = match mark.stream {
            Thread::Direct(from, _) if !mark.read => {
                Record::Delivered { ts, user, chat: self.name(from)?, id, dord: mark.ord as u64 }
            }
            Thread::Direct(from, _) => {
                Record::Read { ts, user, chat: self.name(from)?, id, ord: mark.ord as u64 }
            }
            Thread::Room(room) => {
                let chat = room_of.get(&room).map_or("#", |r| r.name.as_str()).into();
                Record::Read { ts, user, chat, id, ord: mark.ord as u64 }
            }
        };
        self.put(record)
    }

    /// A live room's rules, made by its owner (or a member).
    fn rules(&mut self, room: &RoomRow) -> Result<()> {
        let name: Arc<str> = room.name.as_str().into();
        let mut members: Vec<Id> =
            self.old.members.keys().filter(|(r, _)| *r == room.id).map(|(_, u)| *u).collect();
        members.sort();
        let Some(by) = room.owner.filter(|o| self.old.users.contains_key(o)).or(members.first().copied())
        else {
            return Ok(());
        };
        let by = self.name(by)?;
        let ts = self.now;
        let rule = |plan: &mut Self, rule: Rule| {
            plan.put(Record::Rule { ts, by: by.clone(), room: name.clone(), rule })
        };
        if room.owner.is_some() {
            rule(self, Rule::Owner)?;
        }
        if room.announce {
            rule(self, Rule::Change(Change::Mode(RoomMode::Announce, true)))?;
        }
        if room.invite_only {
            rule(self, Rule::Change(Change::Mode(RoomMode::Invite, true)))?;
        }
        if !room.topic.is_empty() {
            rule(self, Rule::Change(Change::Topic(room.topic.clone())))?;
        }
        for kind in ["ADMIN", "INVITED", "BANNED", "MUTED"] {
            let rows: Vec<(Id, i64)> = self
                .old
                .rules
                .iter()
                .filter(|(r, _, k, _)| *r == room.id && k == kind)
                .map(|(_, u, _, until)| (*u, *until))
                .collect();
            for (user, until) in rows {
                let (who, until) = (self.name(user)?.to_string(), until as u64);
                let change = match kind {
                    "ADMIN" => Change::Opped(who),
                    "INVITED" => Change::Invited(who),
                    "BANNED" => Change::Banned(who, until),
                    _ => Change::Muted(who, until),
                };
                rule(self, Rule::Change(change))?;
            }
        }
        Ok(())
    }

    /// Each user whose inbox did not come out as the rows had it.
    fn differences(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut waiting_of: HashMap<Id, u64> = HashMap::new();
        for e in &self.old.events {
            *waiting_of.entry(e.0).or_default() += 1;
        }
        let mut ids: Vec<&Id> = self.old.users.keys().collect();
        ids.sort();
        for id in ids {
            let u = &self.old.users[id];
            let Some(user) = self.state.user_id(&u.name) else { continue };
            let waiting = waiting_of.get(id).copied().unwrap_or(0);
            let last = self.state.users[user].inbox.last_seq;
            let queued: u64 =
                self.state.queued(user, 0, u64::MAX, usize::MAX).iter().map(|(_, q)| q.width()).sum();
            if u.hash.starts_with(DELETED) {
                continue;
            }
            if last != u.last_seq as u64 || queued != waiting {
                found.push(format!(
                    "{}: {queued} events waiting up to number {last}, where the rows had {waiting} up to {}",
                    u.name, u.last_seq
                ));
            }
        }
        found
    }
}

fn bad(why: impl Into<String>) -> Error {
    Error::Usage(format!("cluster: upgrading the first design's tables: {}", why.into()))
}

/// Appends a `users.csv` row.
fn users_row(out: &mut Vec<u8>, name: &str, email: &str, hash: &str, created: i64) {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let _ = w.write_record([name, email, hash, &created.to_string()]);
    out.extend_from_slice(&w.into_inner().unwrap_or_default());
}
