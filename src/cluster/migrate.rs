//! `wachat migrate --from DATA_DIR --to postgres://…`: a single server's
//! data directory into a cluster's database.
//!
//! Everything the single server kept moves: accounts (with their password
//! hashes: the same passwords work), every message with its place in its
//! conversation, rooms and members with their read marks, the DELIVERED
//! and READ marks, the inboxes (events not yet acknowledged, with their
//! sequence numbers: a client picks up where it was), resend windows,
//! last-seen times, the server's identity (`SERVER`), so that clients
//! keep their local folders, and the devices of protocol 1.2
//! (`devices.csv`: each device's position, which the inboxes' numbers keep
//! meaning, and the hashes of tokens, so linked devices keep logging in). It is one transaction: all of it, or nothing.
//!
//! The cluster must have no accounts yet (two chats' ids cannot be told
//! apart). After the commit the counts of every table are read back and
//! compared with what the data directory held: any difference is an
//! error (and a non-zero exit).

use std::path::Path;

use postgres::Transaction;

use super::db::Db;
use super::schema;
use crate::error::{Error, Result};
use crate::protocol::names::fold;
use crate::store::devices::DeviceBook;
use crate::store::export::{Event, Export, Msg, Room, Target, User, export};

/// Rows per statement.
const CHUNK: usize = 10_000;

fn db_error(url: &str, doing: &str) -> impl Fn(postgres::Error) -> Error {
    let context = format!("migrate: {url}: {doing}");
    move |e| super::db::error(context.clone(), &e)
}

pub fn run(from: &Path, to: &str) -> Result<()> {
    let data = export(from)?;
    let db = Db::new(to)?;
    let mut client = db.connect_at_start()?;
    schema::upgrade(&mut client, &db.url)?;
    let mut tx = client.transaction().map_err(db_error(&db.url, "starting"))?;
    let accounts: i64 =
        tx.query_one("SELECT count(*) FROM users", &[]).map_err(db_error(&db.url, "counting"))?.get(0);
    if accounts > 0 {
        return Err(Error::Usage(format!(
            "migrate: {}: the cluster has {accounts} accounts already; migrate into an empty database",
            db.url
        )));
    }
    import(&mut tx, &data).map_err(db_error(&db.url, "copying"))?;
    // Each sender's bytes, for --user-quota (as `007_stored` does).
    tx.execute(super::budget::FILL_STORED, &[]).map_err(db_error(&db.url, "counting stored bytes"))?;
    let book = DeviceBook::load(&crate::store::disk::RealDisk, from)
        .map_err(|e| Error::io(format!("migrate: {}", from.display()), e))?;
    let devices = import_devices(&mut tx, &book).map_err(db_error(&db.url, "copying the devices"))?;
    // The same chat, moved: its clients must meet the same server (its
    // id is what their folders are kept by), not a new one.
    if let Some(id) = &data.server_id {
        tx.execute("UPDATE server SET id = $1", &[id]).map_err(db_error(&db.url, "copying the server id"))?;
    }
    // Since when its action ids are the server's (issue 38): the data
    // directory's time, not this copy's, which is after all its messages.
    let disk = crate::store::disk::RealDisk;
    if let Some(since) = crate::store::actions_since::read_in(&disk, from)? {
        tx.execute("UPDATE server SET actions_since = $1", &[&(since as i64)])
            .map_err(db_error(&db.url, "copying since when action ids are the server's"))?;
    }
    tx.commit().map_err(db_error(&db.url, "committing"))?;
    let expected = [
        ("accounts", data.users.len()),
        ("messages", data.messages.len()),
        ("rooms", data.rooms.iter().filter(|r| r.live).count()),
        ("memberships", data.rooms.iter().map(|r| r.members.len()).sum()),
        ("conversation directions", data.directions.len()),
        ("undelivered events", data.events.len()),
        ("last-seen times", data.users.iter().filter(|u| u.last_seen.is_some()).count()),
        ("devices", devices),
    ];
    let counted = [
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM messages",
        "SELECT count(*) FROM rooms WHERE live",
        "SELECT count(*) FROM members",
        "SELECT count(*) FROM directions",
        "SELECT coalesce(sum(count), 0)::int8 FROM events",
        "SELECT count(*) FROM users WHERE last_seen IS NOT NULL",
        "SELECT count(*) FROM devices",
    ];
    let mut wrong = Vec::new();
    for ((what, want), sql) in expected.iter().zip(counted) {
        let got: i64 = client.query_one(sql, &[]).map_err(db_error(&db.url, "verifying"))?.get(0);
        println!("{what}: {want} in {}, {got} in the cluster", from.display());
        if got as usize != *want {
            wrong.push(format!("{what}: {want} expected, {got} found"));
        }
    }
    if !wrong.is_empty() {
        return Err(Error::Protocol(format!("migrate: the counts differ: {}", wrong.join("; "))));
    }
    println!("migrated {} into {}", from.display(), db.url);
    Ok(())
}

/// Inserts the devices of `devices.csv` whose account moved (a row of an
/// account that is no longer there is left behind); how many.
fn import_devices(tx: &mut Transaction, book: &DeviceBook) -> std::result::Result<usize, postgres::Error> {
    let mut moved = 0;
    for (user, d) in book.all() {
        let position = d.position.map(|p| i64::try_from(p).unwrap_or(i64::MAX));
        let seen = i64::try_from(d.seen_ms).unwrap_or(i64::MAX);
        let token: Option<&[u8]> = d.token.as_ref().map(|t| &t[..]);
        moved += tx.execute(
            "INSERT INTO devices (user_id, folded, name, position, seen_ms, address, token) \
             SELECT id, $2, $3, $4, $5, $6, $7 FROM users WHERE folded = $1 \
             ON CONFLICT (user_id, folded) DO NOTHING",
            &[&user, &fold(&d.name), &&*d.name, &position, &seen, &d.address.to_string(), &token],
        )? as usize;
    }
    // A user with several live devices gets copies and read marks from
    // the first message on (protocol 1.2), as on the single server.
    tx.execute(
        "UPDATE inboxes SET several = true WHERE user_id IN (SELECT user_id FROM devices \
         WHERE position IS NOT NULL GROUP BY user_id HAVING count(*) > 1)",
        &[],
    )?;
    Ok(moved)
}

/// An index of the export (a user, a room, a message) as the row's id:
/// the index + 1 (ids start at 1).
fn id(i: usize) -> i64 {
    i as i64 + 1
}

/// A count, a number or a time of the export, as an `int8`.
fn n(v: u64) -> i64 {
    v as i64
}

/// Inserts everything, with ids of its own (a user's id is its index + 1,
/// and so on), then moves the id sequences past them.
fn import(tx: &mut Transaction, data: &Export) -> std::result::Result<(), postgres::Error> {
    for chunk in data.users.chunks(CHUNK).enumerate().map(|(c, u)| (c * CHUNK, u)) {
        import_users(tx, chunk)?;
    }
    for (i, room) in data.rooms.iter().enumerate() {
        import_room(tx, id(i), room)?;
    }
    import_account_marks(tx, &data.users)?;
    for (c, messages) in data.messages.chunks(CHUNK).enumerate() {
        import_messages(tx, c * CHUNK, messages)?;
    }
    for d in &data.directions {
        tx.execute(
            "INSERT INTO directions (sender, recipient, sent, delivered, read, base) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id(d.sender), &id(d.recipient), &n(d.sent), &n(d.delivered), &n(d.read), &n(d.base)],
        )?;
    }
    for events in data.events.chunks(CHUNK) {
        import_events(tx, events, &data.messages)?;
    }
    tx.batch_execute(
        "SELECT setval('users_id_seq', GREATEST((SELECT max(id) FROM users), 1)); \
         SELECT setval('rooms_id_seq', GREATEST((SELECT max(id) FROM rooms), 1)); \
         SELECT setval('messages_id_seq', GREATEST((SELECT max(id) FROM messages), 1));",
    )?;
    Ok(())
}

/// Accounts from index `base` on, with their inboxes and sessions.
fn import_users(
    tx: &mut Transaction,
    (base, users): (usize, &[User]),
) -> std::result::Result<(), postgres::Error> {
    let ids: Vec<i64> = (0..users.len()).map(|i| id(base + i)).collect();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let folded: Vec<String> = users.iter().map(|u| fold(&u.name)).collect();
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    let hashes: Vec<&str> = users.iter().map(|u| u.hash.as_str()).collect();
    let created: Vec<i64> = users.iter().map(|u| n(u.created_ms)).collect();
    let seen: Vec<Option<i64>> = users.iter().map(|u| u.last_seen.map(n)).collect();
    tx.execute(
        "INSERT INTO users (id, name, folded, email, hash, created_ms, last_seen) SELECT * FROM \
         unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[])",
        &[&ids, &names, &folded, &emails, &hashes, &created, &seen],
    )?;
    let last: Vec<i64> = users.iter().map(|u| n(u.last_seq)).collect();
    let acked: Vec<i64> = users.iter().map(|u| n(u.acked)).collect();
    let sent: Vec<i64> = users.iter().map(|u| n(u.sent)).collect();
    tx.execute(
        "INSERT INTO inboxes (user_id, last_seq, acked, sent) SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[])",
        &[&ids, &last, &acked, &sent],
    )?;
    tx.execute("INSERT INTO sessions (user_id) SELECT * FROM unnest($1::int8[])", &[&ids])?;
    Ok(())
}

/// A room (live or not), its members with their read marks, its rules.
fn import_room(tx: &mut Transaction, room_id: i64, room: &Room) -> std::result::Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO rooms (id, name, folded, live, count) VALUES ($1, $2, $3, $4, $5)",
        &[&room_id, &room.name, &fold(room.name.trim_start_matches('#')), &room.live, &n(room.count)],
    )?;
    for (user, read) in &room.members {
        tx.execute(
            "INSERT INTO members (room, user_id, read) VALUES ($1, $2, $3)",
            &[&room_id, &id(*user), &n(*read)],
        )?;
    }
    if !room.rules.is_default() {
        // 1.2: its owner, modes, topic, admins, invitations, bans, mutes.
        super::moderation::save_rules(tx, room_id, &room.rules)?;
    }
    Ok(())
}

/// What the accounts' rows hold beyond their creation: the admins, the
/// cut of a name registered again, and (1.2) settings (blocks,
/// preferences, archived chats, stars).
fn import_account_marks(tx: &mut Transaction, users: &[User]) -> std::result::Result<(), postgres::Error> {
    let admins: Vec<i64> = users.iter().enumerate().filter(|(_, u)| u.admin).map(|(i, _)| id(i)).collect();
    tx.execute("UPDATE users SET admin = true WHERE id = ANY($1)", &[&admins])?;
    // 1.2: a name registered again after its account was deleted: its cut
    // is the id of the first message after its `REUSE` record.
    for (i, user) in users.iter().enumerate() {
        if let Some(first) = user.since {
            tx.execute("UPDATE users SET since = $2 WHERE id = $1", &[&id(i), &id(first)])?;
        }
        super::settings::migrate(tx, id(i), &user.settings)?;
    }
    Ok(())
}

/// Messages from index `base` on, each with its place in its stream.
fn import_messages(
    tx: &mut Transaction,
    base: usize,
    messages: &[Msg],
) -> std::result::Result<(), postgres::Error> {
    let ids: Vec<i64> = (0..messages.len()).map(|i| id(base + i)).collect();
    let col = |f: &dyn Fn(&Msg) -> i64| messages.iter().map(f).collect::<Vec<i64>>();
    let txt = |f: &dyn Fn(&Msg) -> &str| messages.iter().map(f).collect::<Vec<&str>>();
    let recipient: Vec<Option<i64>> =
        messages.iter().map(|m| if let Target::User(u) = m.to { Some(id(u)) } else { None }).collect();
    let room: Vec<Option<i64>> =
        messages.iter().map(|m| if let Target::Room(r) = m.to { Some(id(r)) } else { None }).collect();
    tx.execute(
        "INSERT INTO messages (id, sender, sender_ord, recipient, room, ord, msg_id, ts, from_name, to_name, text) \
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], \
                              $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[])",
        &[
            &ids,
            &col(&|m| id(m.from)),
            &col(&|m| n(m.sender_ord)),
            &recipient,
            &room,
            &col(&|m| n(m.ord)),
            &txt(&|m| &m.id),
            &col(&|m| n(m.ts)),
            &txt(&|m| &m.from_name),
            &txt(&|m| &m.to_name),
            &txt(&|m| &m.text),
        ],
    )?;
    Ok(())
}

/// Events not yet acknowledged: each becomes a run of one (`work.rs`),
/// whose message's stream and number say which message it is about.
fn import_events(
    tx: &mut Transaction,
    events: &[Event],
    messages: &[Msg],
) -> std::result::Result<(), postgres::Error> {
    let users: Vec<i64> = events.iter().map(|e| id(e.0)).collect();
    let seqs: Vec<i64> = events.iter().map(|e| n(e.1)).collect();
    let kinds: Vec<i16> = events.iter().map(|e| e.3).collect();
    let ts: Vec<i64> = events.iter().map(|e| n(e.4)).collect();
    let (mut senders, mut recipients, mut rooms, mut ords) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in events.iter().map(|e| &messages[e.2]) {
        let (sender, recipient, room) = match m.to {
            Target::User(u) => (Some(id(m.from)), Some(id(u)), None),
            Target::Room(r) => (None, None, Some(id(r))),
        };
        senders.push(sender);
        recipients.push(recipient);
        rooms.push(room);
        ords.push(n(m.ord));
    }
    tx.execute(
        "INSERT INTO events (user_id, seq, count, kind, sender, recipient, room, ord, ts) \
         SELECT u, s, 1, k, se, re, ro, o, t FROM unnest($1::int8[], $2::int8[], $3::int2[], $4::int8[], \
                                                 $5::int8[], $6::int8[], $7::int8[], $8::int8[]) \
                                    AS e(u, s, k, se, re, ro, o, t)",
        &[&users, &seqs, &kinds, &senders, &recipients, &rooms, &ords, &ts],
    )?;
    Ok(())
}
