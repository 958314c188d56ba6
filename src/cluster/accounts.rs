//! A user's own account on a cluster (protocol 1.2, §20): a new password
//! is one `UPDATE` of its `users` row, committed before the `OK`; so is
//! the mark of a deleted account ([`deleted_hash`]), after the account
//! left its rooms and its inbox was acknowledged through the committer's
//! own jobs (`PgBackend::delete_account`), which every node's caches
//! follow; and so is the new account a freed name gets ([`reuse`]).
//!
//! Not through the committer's batches: a password change touches no
//! inbox and no sequence number, so it has nothing to order against the
//! messages; one statement on a pooled connection is its own transaction.
//! Every node reads the hash from the row at each password login
//! (`PgBackend::account`), and each node's cache of recent logins is keyed
//! by the hash too (`store::password::LoginCache`), so the old password
//! stops working on every node at once.
//!
//! A deletion and a reuse do order against the messages, by taking the
//! user's `inboxes` row lock as a batch does (see [`mark_deleted`]).

use super::db::{Db, OrKo, count};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::meaning;
use crate::store::state::{deleted_at, deleted_hash};
use crate::store::{GENERAL, UserId, now_ms};

/// `user`'s password hash is now `hash`.
pub fn set_password(db: &Db, user: UserId, hash: &str) -> Result<(), Ko> {
    let mut conn = db.get()?;
    let id = user as i64;
    let changed = conn
        .execute("UPDATE users SET hash = $2 WHERE id = $1", &[&id, &hash])
        .or_ko("changing a password")?;
    if changed != 1 {
        // The cluster's own, as every code this file names: a row gone
        // from under a request (an operator's hand), no rule of the chat.
        return Err(Ko::new(Code::Internal, "the account is gone from the database"));
    }
    Ok(())
}

/// `wachat users admin --store`: `user` is a server admin (`on`) or no
/// longer one. Every node reads the flag from the row where a moderation
/// decides (`moderation.rs`), so no cache keeps the old one.
pub fn set_admin(db: &Db, user: UserId, on: bool) -> Result<(), Ko> {
    let mut conn = db.get()?;
    let changed = conn
        .execute("UPDATE users SET admin = $2 WHERE id = $1", &[&(user as i64), &on])
        .or_ko("changing a server admin")?;
    if changed != 1 {
        return Err(Ko::new(Code::Internal, "the account is gone from the database"));
    }
    Ok(())
}

/// 1.2 `DELACCOUNT`: `user`'s hash becomes [`deleted_hash`] of now, which
/// no password matches on any node (each reads the row at a password
/// login), and which the name's quarantine counts from. Its e-mail
/// address goes too: it is the user's private data; and its server admin
/// right, as a single server's `DELACCOUNT` record drops it.
///
/// Written while holding the user's `inboxes` row, the lock every batch
/// giving it a message takes first: a batch that locks the row after
/// this commit reads the mark in a statement of its own
/// (`locks::read_guarded`) and refuses the message, on any node; one
/// that locked it before has committed its message by then, before the
/// `OK` of the deletion.
pub fn mark_deleted(db: &Db, user: UserId) -> Result<(), Ko> {
    const DOING: &str = "deleting an account";
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let id = user as i64;
    tx.query_opt("SELECT 1 FROM inboxes WHERE user_id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let changed = tx
        .execute(
            "UPDATE users SET hash = $2, email = '', admin = false WHERE id = $1",
            &[&id, &deleted_hash(now_ms())],
        )
        .or_ko(DOING)?;
    if changed != 1 {
        return Err(Ko::new(Code::Internal, "the account is gone from the database"));
    }
    // 1.2 (§22, §23): its settings (blocks, preferences, archived chats,
    // stars) are private too.
    tx.execute("DELETE FROM settings WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    // Its inbox is dropped, as a single server drops it: not acknowledged,
    // so that what waited in it stays RECEIVED for its senders (§20; an
    // `ACK` here told them DELIVERED, issue 54).
    tx.execute("UPDATE inboxes SET acked = last_seq WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    tx.execute("DELETE FROM events WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    tx.commit().or_ko(DOING)
}

/// 1.2: the name of `user`, a deleted account whose quarantine is over,
/// gets a new account in one transaction: the old row keeps its number
/// and its name, with the new `hash` and `email`, and a **cut** (schema
/// version 8): `since`, the first message it may see, and for each
/// direction towards it a `base`, the messages the old account got. Its
/// inbox is emptied and its quota counter starts again; the old one's
/// server admin right, room ownerships, bans, mutes and invitations go;
/// it is a member of `#general` from now on, as a new account is.
///
/// The locks are taken in the committer's order (`apply.rs`): the rooms
/// (`#general`, those whose rules name the account), then the user's inbox, then its `users` row, whose hash is checked
/// under the lock: of two registrations of the name at once, the second
/// finds it taken.
///
/// `since` is `nextval` of the messages' sequence, not `max(id) + 1`:
/// every message that concerns the new account is written by a batch
/// holding a lock this transaction holds (its inbox for a direct message
/// to or from it, `#general`'s row for a message there), so none of them
/// is in flight now: those committed before have lower ids, and any
/// written after takes a number from the sequence after this one. A
/// snapshot's `max(id)` would miss a message another batch is writing
/// right now with a higher id (to a room the user is not in yet), which
/// would then count as new; with `nextval`, the only messages on the
/// wrong side are those of rooms the user is not in, committed during
/// this transaction with a lower number: hidden, as older than the
/// account, if it joins such a room later. (The number it takes is a gap
/// in the ids, as a rolled-back batch leaves.)
pub fn reuse(db: &Db, user: UserId, email: &str, hash: &str) -> Result<(UserId, String), Ko> {
    const DOING: &str = "registering a freed name";
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let id = user as i64;
    let general = fold(&GENERAL[1..]);
    tx.execute(
        "INSERT INTO rooms (name, folded) VALUES ($1, $2) ON CONFLICT (folded) WHERE live DO NOTHING",
        &[&GENERAL, &general],
    )
    .or_ko(DOING)?;
    // `#general`, and the rooms whose rules name the account (an owner,
    // a ban…), which it loses: locked in id order, as a batch and a
    // moderation change lock them, so neither rewrites those rules with
    // the old account's in them after this commits.
    let rooms = tx
        .query(
            "SELECT id, count, folded = $2 AND live FROM rooms \
             WHERE (folded = $2 AND live) OR owner = $1 \
                OR id IN (SELECT room FROM room_rules WHERE user_id = $1) \
             ORDER BY id FOR UPDATE",
            &[&id, &general],
        )
        .or_ko(DOING)?;
    let (room, count): (i64, i64) = rooms
        .iter()
        .find(|r| r.get(2))
        .map(|r| (r.get(0), r.get(1)))
        .ok_or_else(|| Ko::new(Code::Internal, "#general is gone from the database"))?;
    tx.query_one("SELECT 1 FROM inboxes WHERE user_id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let row = tx.query_one("SELECT name, hash FROM users WHERE id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let (name, old): (String, String) = (row.get(0), row.get(1));
    meaning::accounts::reuses(&name, deleted_at(&old).is_some())?;
    // The old account's admin right is not the new owner's.
    tx.execute(
        "UPDATE users SET hash = $2, email = $3, created_ms = $4, last_seen = NULL, admin = false, \
         since = nextval('messages_id_seq') WHERE id = $1",
        &[&id, &hash, &email, &(now_ms() as i64)],
    )
    .or_ko(DOING)?;
    // What the old inbox still held (a message its deletion raced with)
    // is not the new account's to replay.
    tx.execute("DELETE FROM events WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    tx.execute("UPDATE inboxes SET acked = last_seq, stored = 0 WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    tx.execute("UPDATE directions SET base = sent WHERE recipient = $1", &[&id]).or_ko(DOING)?;
    // The old account's rank in rooms is not the new owner's to use, nor
    // its bans and mutes the new owner's to bear: rooms it owned are run
    // by the server admins (as a room made before owners were kept).
    tx.execute("UPDATE rooms SET owner = NULL WHERE owner = $1", &[&id]).or_ko(DOING)?;
    tx.execute("DELETE FROM room_rules WHERE user_id = $1", &[&id]).or_ko(DOING)?;
    // What other users kept about the old account (a block of it, a pin,
    // a star in its chat) is not about the new one (`store::settings`).
    super::settings::forget_about(&mut tx, &fold(&name)).or_ko(DOING)?;
    tx.execute(
        "INSERT INTO members (room, user_id, read) VALUES ($1, $2, $3) ON CONFLICT (room, user_id) DO NOTHING",
        &[&room, &id, &count],
    )
    .or_ko(DOING)?;
    tx.commit().or_ko(DOING)?;
    Ok((user, name))
}

/// An account as `wachat users list --store` shows it, from the
/// cluster's rows: what a single server's `status.csv` says of its own.
pub struct Listed {
    pub name: String,
    pub email: String,
    /// 1.2: deleted by its user (`DELACCOUNT`).
    pub deleted: bool,
    /// A server admin.
    pub admin: bool,
    /// A device of it holds a receive connection on a live node.
    pub online: bool,
    pub last_seen_ms: Option<u64>,
    pub rooms: u64,
    pub chats: u64,
    pub unread: u64,
}

/// Every account of the cluster, by name ignoring case; `with_usage`,
/// with its rooms, chats and unread messages as `ROOMS` and `CHATS` read
/// them (`reads.rs`): a query for the accounts, and with the usage two
/// for each live one (`users list`; the other commands' checks need the
/// accounts alone).
pub fn list(db: &Db, with_usage: bool) -> Result<Vec<Listed>, Ko> {
    const DOING: &str = "listing the accounts";
    // Online: a device session on a node whose heartbeat is fresh, by the
    // clock the heartbeats are written with.
    let now_ms = super::sessions::NOW_MS;
    let rows = db
        .get()?
        .query(
            &format!(
                "SELECT u.id, u.name, u.email, u.hash, u.last_seen, u.admin, EXISTS ( \
                   SELECT 1 FROM device_sessions ds JOIN nodes n ON n.name = ds.node \
                   WHERE ds.user_id = u.id AND n.heartbeat_ms > {now_ms} - $1) \
                 FROM users u"
            ),
            &[&super::sessions::LEASE_MS],
        )
        .or_ko(DOING)?;
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let user = row.get::<_, i64>(0) as UserId;
        let deleted = deleted_at(row.get(3)).is_some();
        let (rooms, chats) = if deleted || !with_usage {
            (0, Vec::new()) // a deleted account left every room, and can never read again
        } else {
            (super::reads::rooms(db, user, 0)?.len() as u64, super::reads::chats(db, user)?)
        };
        listed.push(Listed {
            name: row.get(1),
            email: row.get(2),
            deleted,
            admin: row.get(5),
            online: row.get(6),
            last_seen_ms: row.get::<_, Option<i64>>(4).map(count),
            rooms,
            chats: chats.len() as u64,
            unread: chats.iter().map(|c| c.unread).sum(),
        });
    }
    listed.sort_by_key(|a| fold(&a.name));
    Ok(listed)
}
