//! Reading a cluster's database: `HISTORY`, `CHATS`, `ROOMS`, the inbox
//! replay, and the small lookups (members, last seen, roommates).
//!
//! Each read borrows a pooled connection and runs one or two queries. A
//! reader sees only committed rows, so, like the local store, it shows
//! nothing that a failure could take back. A database that is down makes
//! the read answer `KO:INTERNAL` (or, where the server's interface has no
//! error to give, an empty answer, logged).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use postgres::GenericClient;

use super::db::{Db, OrKo, count};
use super::names::Names;
use crate::protocol::names::fold;
use crate::protocol::page::{Start, not_a_page};
use crate::protocol::unread::{UNREAD_SCAN, UNREAD_SCAN_TOTAL, without_actions};
use crate::protocol::{Chat, ChatLine, HistoryLineRef, Ko, MsgState, RoomLine, Text};
use crate::store::meaning::{accounts, rooms};
use crate::store::state::Marks;
use crate::store::{Lines, Listing, Members, Message, Pushed, UserId};

/// Events read from the database at a time (replays, refills).
pub const PAGE: i64 = 500;

/// Lines already in memory, handed out at once.
pub struct Ready(pub Vec<String>);

impl Lines for Ready {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        for line in self.0.drain(..) {
            out.push_str(&line);
            out.push('\n');
        }
        Ok(false)
    }
}

/// `HISTORY` of `user` with `chat`: the messages from `start` back (1.2:
/// a page's cursor is the id of its newest message), at most `limit` of
/// them within `max_bytes` of lines, oldest first, and where the page
/// before starts. One more row than asked says whether there is one.
pub fn history(
    db: &Db,
    names: &Names,
    user: UserId,
    chat: &Chat,
    start: Start,
    limit: usize,
    max_bytes: usize,
) -> Result<Listing, Ko> {
    let mut conn = db.get()?;
    let conn = &mut *conn;
    let cursor = match start {
        Start::Newest => None,
        Start::At(at) => Some(i64::try_from(at).map_err(|_| not_a_page(at, chat))?),
    };
    let rows_wanted = limit.saturating_add(1).min(i64::MAX as usize) as i64;
    let (rows, marks) = match chat {
        Chat::User(name) => {
            let (peer, _) = accounts::user(name, names.find(conn, name).or_ko("reading a user")?)?;
            // A cursor is a message of these two, from after the reader's cut.
            if let Some(at) = cursor {
                let mine = conn
                    .query_opt(
                        "SELECT 1 FROM messages WHERE id = $1 AND recipient IS NOT NULL \
                         AND ((sender = $2 AND recipient = $3) OR (sender = $3 AND recipient = $2)) \
                         AND id >= (SELECT since FROM users WHERE id = $2)",
                        &[&at, &(user as i64), &(peer as i64)],
                    )
                    .or_ko("reading a history")?;
                if mine.is_none() {
                    return Err(not_a_page(at as u64, chat));
                }
            }
            // The newest of each direction (by number), then both in the
            // order they were stored; none from before the reader's cut
            // (1.2, a freed name's new account: `accounts::reuse`). A chat
            // with yourself has one direction, read once (issue 54: it
            // was listed twice, in `HISTORY` and `SEARCH`).
            let rows = conn
                .query(
                    "WITH me AS (SELECT since FROM users WHERE id = $1) \
                     SELECT from_name, to_name, msg_id, ts, text, sender, ord, id FROM ( \
                       (SELECT * FROM messages WHERE sender = $1 AND recipient = $2 AND id >= (SELECT since FROM me) \
                        AND ($4::bigint IS NULL OR id <= $4) ORDER BY ord DESC LIMIT $3) \
                       UNION ALL \
                       (SELECT * FROM messages WHERE sender = $2 AND recipient = $1 AND $1 <> $2 AND id >= (SELECT since FROM me) \
                        AND ($4::bigint IS NULL OR id <= $4) ORDER BY ord DESC LIMIT $3) \
                     ) AS both_ways ORDER BY id DESC LIMIT $3",
                    &[&(user as i64), &(peer as i64), &rows_wanted, &cursor],
                )
                .or_ko("reading a history")?;
            let marks = conn
                .query(
                    "SELECT sender, delivered, read FROM directions \
                     WHERE (sender = $1 AND recipient = $2) OR (sender = $2 AND recipient = $1)",
                    &[&(user as i64), &(peer as i64)],
                )
                .or_ko("reading marks")?
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i64>(0) as UserId,
                        Marks { delivered: count(r.get(1)), read: count(r.get(2)) },
                    )
                })
                .collect::<Vec<_>>();
            (rows, Some(marks))
        }
        Chat::Room(name) => {
            let room = member_room(conn, name, user)?;
            // A room's order is its numbering: a cursor is a message of
            // this room from after the reader's cut, and the page is read
            // from its number back.
            let rows = conn
                .query(
                    "WITH at AS (SELECT ord FROM messages WHERE id = $4 AND room = $1 \
                                 AND id >= (SELECT since FROM users WHERE id = $3)) \
                     SELECT from_name, to_name, msg_id, ts, text, sender, ord, id FROM messages \
                     WHERE room = $1 AND id >= (SELECT since FROM users WHERE id = $3) \
                     AND ($4::bigint IS NULL OR ord <= (SELECT ord FROM at)) \
                     ORDER BY ord DESC LIMIT $2",
                    &[&room, &rows_wanted, &(user as i64), &cursor],
                )
                .or_ko("reading a history")?;
            if let (Some(at), true) = (cursor, rows.is_empty()) {
                // No row: the cursor is no message of this room (one of
                // it always shows itself).
                return Err(not_a_page(at as u64, chat));
            }
            (rows, None)
        }
    };
    let mut lines = Vec::with_capacity(rows.len());
    let mut bytes = 0;
    let mut before = None;
    for row in &rows {
        let row_id: i64 = row.get(7);
        if lines.len() == limit {
            before = Some(row_id as u64);
            break;
        }
        let sender = row.get::<_, i64>(5) as UserId;
        let ord: i64 = row.get(6);
        // A room's messages, and a direction with no marks yet: received.
        let state = match marks.as_ref().and_then(|m| m.iter().find(|(s, _)| *s == sender)) {
            Some((_, marks)) => marks.state(count(ord)),
            None => MsgState::Received,
        };
        let (from, to, id, ts, text): (&str, &str, &str, i64, &str) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let line = HistoryLineRef { from, to, id, ts: ts as u64, state, text }.to_string();
        bytes += line.len() + 1;
        if bytes > max_bytes {
            before = Some(row_id as u64);
            break;
        }
        lines.push(line);
    }
    lines.reverse();
    Ok(Listing { len: lines.len(), lines: Box::new(Ready(lines)), before })
}

/// The id of the live room `name` if `user` is in it.
fn member_room(conn: &mut impl GenericClient, name: &str, user: UserId) -> Result<i64, Ko> {
    let row = conn
        .query_opt(
            "SELECT r.id FROM rooms r JOIN members m ON m.room = r.id WHERE r.folded = $1 AND r.live AND m.user_id = $2",
            &[&fold(name), &(user as i64)],
        )
        .or_ko("reading a room")?;
    rooms::member(name, row.map(|r| r.get(0)))
}

/// `CHATS`: every conversation with a message, most recent first, with
/// how many of its messages to `user` are unread. 1.2: a user with a cut
/// (`users.since`, a freed name's new account) sees only the chats with
/// a message after it, and none of the messages its old account left
/// unread (`directions.base`; in a room, those before the cut).
pub fn chats(db: &Db, user: UserId) -> Result<Vec<ChatLine>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query(
            // A stream's newest message is the one numbered `sent - 1`
            // (`count - 1` in a room); its id orders the chats. The last
            // two columns say which chat: a peer's id, or a room's.
            "WITH me AS (SELECT since FROM users WHERE id = $1) \
             SELECT c.* FROM ( \
               SELECT u.name, x.last, x.unread, x.peer, NULL::int8 AS room FROM ( \
                  SELECT CASE WHEN d.sender = $1 THEN d.recipient ELSE d.sender END AS peer, \
                         max((SELECT m.id FROM messages m WHERE m.sender = d.sender \
                              AND m.recipient = d.recipient AND m.ord = d.sent - 1)) AS last, \
                         sum(CASE WHEN d.recipient = $1 THEN d.sent - GREATEST(d.read, d.base) ELSE 0 END)::int8 \
                           AS unread \
                  FROM directions d WHERE (d.sender = $1 OR d.recipient = $1) AND d.sent > 0 GROUP BY 1 \
               ) x JOIN users u ON u.id = x.peer \
               UNION ALL \
               SELECT r.name, (SELECT m.id FROM messages m WHERE m.room = r.id AND m.ord = r.count - 1), \
                      (SELECT count(*) FROM messages m WHERE m.room = r.id AND m.ord >= mb.read \
                       AND m.sender <> $1 AND m.id >= (SELECT since FROM me)), NULL::int8, r.id \
               FROM members mb JOIN rooms r ON r.id = mb.room WHERE mb.user_id = $1 AND r.count > 0 \
             ) AS c, me WHERE me.since = 0 OR c.last >= me.since \
             ORDER BY 2 DESC",
            &[&(user as i64)],
        )
        .or_ko("reading chats")?;
    // The counts include the actions (a reaction, an edit): the newest
    // unread messages' ids are read to take them out (`protocol::unread`).
    let mut budget = UNREAD_SCAN_TOTAL;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut unread = count(row.get(2));
        if unread > 0 && budget > 0 {
            let wanted = unread.min(UNREAD_SCAN as u64).min(budget as u64) as i64;
            let ids = newest_unread(&mut *conn, user, row.get(3), row.get(4), wanted)?;
            budget -= ids.len().min(budget);
            unread = without_actions(unread, ids.iter().map(String::as_str));
        }
        lines.push(ChatLine { chat: Chat::registered(row.get(0)), unread });
    }
    Ok(lines)
}

/// The ids of the newest `limit` messages to `user` in a chat with `peer`
/// or in `room` (not `user`'s own, none before its cut), newest first:
/// its unread ones, when `CHATS` counted at least `limit`.
fn newest_unread(
    conn: &mut impl GenericClient,
    user: UserId,
    peer: Option<i64>,
    room: Option<i64>,
    limit: i64,
) -> Result<Vec<String>, Ko> {
    let me = user as i64;
    let rows = match (peer, room) {
        // The peer's messages to the user, newest first (`messages_direct`:
        // sender, recipient, ord). The peer may be the user (notes to
        // self): a room's messages, whose recipient is NULL, are no part
        // of that chat.
        (Some(peer), _) => conn.query(
            "SELECT msg_id FROM messages WHERE sender = $2 AND recipient = $1 ORDER BY ord DESC LIMIT $3",
            &[&me, &peer, &limit],
        ),
        (None, Some(room)) => conn.query(
            "SELECT msg_id FROM messages WHERE room = $1 AND sender <> $2 \
             AND id >= (SELECT since FROM users WHERE id = $2) ORDER BY ord DESC LIMIT $3",
            &[&room, &me, &limit],
        ),
        (None, None) => return Ok(Vec::new()),
    }
    .or_ko("reading unread messages")?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `ROOMS`: `<#room>:<member count>`, sorted by name, each room with its
/// members if it has at most `members_up_to` (else none): [`rooms_of`]
/// for one user.
pub fn rooms(db: &Db, user: UserId, members_up_to: usize) -> Result<Vec<(RoomLine, Members)>, Ko> {
    let rooms = rooms_of(db, &[user], members_up_to, usize::MAX)?;
    Ok(rooms.and_then(|mut rooms| rooms.remove(&user)).unwrap_or_default())
}

/// Each user's rooms, as [`rooms`] reads them.
pub type UsersRooms = HashMap<UserId, Vec<(RoomLine, Members)>>;

/// [`rooms`] of each of `users`, in one query: a row per room of each
/// user, or per member of a small one. `OFFSET 0` keeps the users' rooms
/// a subquery of their own, so that each room is counted once, not again
/// for each of a small room's members in the join. (A node telling the
/// presence of a class that logs in at once reads them all so,
/// `presence.rs`.) `None` if that is more than `most_rows` rows, which
/// are then not read.
pub fn rooms_of(
    db: &Db,
    users: &[UserId],
    members_up_to: usize,
    most_rows: usize,
) -> Result<Option<UsersRooms>, Ko> {
    let ids: Vec<i64> = users.iter().map(|&user| user as i64).collect();
    let mut conn = db.get()?;
    let rows = conn
        .query(
            "SELECT r.user_id, r.name, r.n, o.user_id, u.name FROM \
             (SELECT m.user_id, r.id, r.name, (SELECT count(*) FROM members c WHERE c.room = r.id) AS n \
              FROM members m JOIN rooms r ON r.id = m.room WHERE m.user_id = ANY($1) OFFSET 0) AS r \
             LEFT JOIN members o ON o.room = r.id AND r.n <= $2 LEFT JOIN users u ON u.id = o.user_id \
             LIMIT $3",
            &[&ids, &as_limit(members_up_to), &as_limit(most_rows.saturating_add(1))],
        )
        .or_ko("reading rooms")?;
    if rows.len() > most_rows {
        return Ok(None);
    }
    // Each user's rooms by folded name (their order), and where each is.
    let mut rooms: HashMap<UserId, Vec<(String, RoomLine, Members)>> = HashMap::new();
    let mut at: HashMap<(UserId, String), usize> = HashMap::new();
    for row in &rows {
        let (user, name) = (row.get::<_, i64>(0) as UserId, row.get::<_, String>(1));
        let of_user = rooms.entry(user).or_default();
        let i = *at.entry((user, name.clone())).or_insert_with(|| {
            let line =
                RoomLine { room: name.trim_start_matches('#').into(), members: row.get::<_, i64>(2) as u64 };
            of_user.push((fold(&name), line, Vec::new()));
            of_user.len() - 1
        });
        if let (Some(id), Some(member)) = (row.get::<_, Option<i64>>(3), row.get::<_, Option<String>>(4)) {
            of_user[i].2.push((id as UserId, member.into()));
        }
    }
    let sorted = |mut of_user: Vec<(String, RoomLine, Members)>| {
        of_user.sort_by(|a, b| a.0.cmp(&b.0));
        of_user.into_iter().map(|(_, line, members)| (line, members)).collect()
    };
    Ok(Some(rooms.into_iter().map(|(user, of_user)| (user, sorted(of_user))).collect()))
}

/// A count as an SQL `bigint` (`usize::MAX`: no limit).
fn as_limit(count: usize) -> i64 {
    count.min(i64::MAX as usize) as i64
}

/// The room as registered and its members, if it exists.
pub fn room_members(db: &Db, room: &str) -> Result<Option<(Arc<str>, Members)>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query(
            "SELECT r.name, m.user_id, u.name FROM rooms r JOIN members m ON m.room = r.id \
             JOIN users u ON u.id = m.user_id WHERE r.folded = $1 AND r.live",
            &[&fold(room.trim_start_matches('#'))],
        )
        .or_ko("reading a room")?;
    let Some(first) = rows.first() else { return Ok(None) };
    let name: Arc<str> = first.get::<_, String>(0).into();
    let members = rows.iter().map(|r| (r.get::<_, i64>(1) as UserId, r.get::<_, String>(2).into())).collect();
    Ok(Some((name, members)))
}

/// The events of `user`'s inbox numbered after `after` (and after its
/// acknowledged mark) up to `upto`, at most [`PAGE`] of them: each run
/// (`work.rs`) spread back into its events, message by message. The runs
/// read are the one holding the first number wanted and those after it,
/// each found by key; of each, at most a page of messages, by key: a
/// room's run can hold a whole flood (`runs::last_runs`), and a page
/// must not read all of it.
pub fn fetch_events(
    conn: &mut impl GenericClient,
    user: UserId,
    after: u64,
    upto: u64,
) -> Result<Vec<(u64, Pushed)>, postgres::Error> {
    let rows = conn.query(
        "SELECT e.seq + (m.ord - e.ord) AS n, e.kind, e.ts, m.from_name, m.to_name, m.msg_id, m.ts, m.text \
         FROM (SELECT GREATEST($2, acked) AS after FROM inboxes WHERE user_id = $1) AS i \
         CROSS JOIN LATERAL ( \
             (SELECT * FROM events e WHERE e.user_id = $1 AND e.seq <= i.after + 1 ORDER BY e.seq DESC LIMIT 1) \
             UNION ALL \
             (SELECT * FROM events e WHERE e.user_id = $1 AND e.seq > i.after + 1 AND e.seq <= $3 \
              ORDER BY e.seq LIMIT $4) \
         ) AS e \
         CROSS JOIN LATERAL ( \
             (SELECT * FROM messages m WHERE e.room IS NULL AND m.sender = e.sender AND m.recipient = e.recipient \
                AND m.ord >= e.ord + GREATEST(0, i.after + 1 - e.seq) AND m.ord < e.ord + e.count \
                AND m.ord <= e.ord + ($3 - e.seq) ORDER BY m.ord LIMIT $4) \
             UNION ALL \
             (SELECT * FROM messages m WHERE m.room = e.room \
                AND m.ord >= e.ord + GREATEST(0, i.after + 1 - e.seq) AND m.ord < e.ord + e.count \
                AND m.ord <= e.ord + ($3 - e.seq) ORDER BY m.ord LIMIT $4) \
         ) AS m \
         WHERE e.seq + e.count > i.after + 1 \
         ORDER BY n LIMIT $4",
        &[&(user as i64), &(after.min(i64::MAX as u64) as i64), &(upto.min(i64::MAX as u64) as i64), &PAGE],
    )?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let seq = row.get::<_, i64>(0) as u64;
        let kind: i16 = row.get(1);
        let (from, to, id): (&str, &str, &str) = (row.get(3), row.get(4), row.get(5));
        let event = if kind == super::work::MSG || kind == super::work::COPY {
            let Ok(text) = Text::parse(row.get(7)) else {
                log::error!("cluster: message {id} from {from} has a text that is not escaped; skipped");
                continue;
            };
            let ts = row.get::<_, i64>(6) as u64;
            let message = Arc::new(Message { from: from.into(), to: to.into(), id: id.into(), ts, text });
            if kind == super::work::COPY { Pushed::Copy(message) } else { Pushed::Msg(message) }
        } else if kind == super::work::MARK {
            // Read up to a message: its room, or its sender (the peer).
            let chat = if to.starts_with('#') { to } else { from };
            Pushed::Mark { chat: chat.into(), id: id.into(), ts: row.get::<_, i64>(2) as u64 }
        } else {
            let state = if kind == super::work::DELIVERED { MsgState::Delivered } else { MsgState::Read };
            Pushed::Status { peer: to.into(), id: id.into(), state, ts: row.get::<_, i64>(2) as u64 }
        };
        events.push((seq, event));
    }
    Ok(events)
}

/// Writes the frame of event `seq` into `out`, `\n` included.
pub fn write_frame(out: &mut String, seq: u64, event: &Pushed) {
    let _ = writeln!(out, "{}", event.frame(seq));
}

/// The inbox replay: the events after the acknowledged ones up to `upto`,
/// a page at a time.
pub struct Replay {
    pub db: Arc<Db>,
    pub user: UserId,
    /// The last event written (starts at the acknowledged mark).
    pub after: u64,
    pub upto: u64,
    /// The connection's minor version: copies and read marks (1.2) are
    /// left out below 2.
    pub minor: u8,
}

impl Lines for Replay {
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko> {
        if self.after >= self.upto {
            return Ok(false);
        }
        let mut conn = self.db.get()?;
        let events =
            fetch_events(&mut *conn, self.user, self.after, self.upto).or_ko("replaying an inbox")?;
        let Some(&(last, _)) = events.last() else { return Ok(false) };
        for (seq, event) in events.iter().filter(|(_, e)| e.since() <= self.minor) {
            write_frame(out, *seq, event);
        }
        self.after = last;
        Ok(self.after < self.upto)
    }
}
