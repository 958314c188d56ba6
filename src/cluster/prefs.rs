//! Blocks and chat preferences on a cluster (protocol 1.2, §22; schema
//! version 10): the `blocks` and `prefs` tables, each change one
//! transaction on a pooled connection, committed before the `OK`.
//!
//! The rules are the local store's (`store::prefs`): a change reads the
//! user's rows under a lock on its `users` row (two devices changing at
//! once on two nodes take turns), asks `may_block` or `changed`, and
//! writes. Nothing here touches an inbox or a sequence number, so nothing
//! orders against the committer's batches.

use std::sync::Arc;

use super::db::{Db, OrKo};
use crate::protocol::names::fold;
use crate::protocol::{Ko, PrefLine};
use crate::store::UserId;
use crate::store::prefs::{PrefChange, Prefs, changed, may_block};

/// `user` blocks `whom` (`on`) or unblocks them.
pub fn set_block(db: &Db, user: UserId, whom: UserId, on: bool) -> Result<(), Ko> {
    const DOING: &str = "changing a block";
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let (id, whom_id) = (user as i64, whom as i64);
    tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    if on {
        let row = tx
            .query_one(
                "SELECT count(*), coalesce(bool_or(blocked = $2), false) FROM blocks WHERE user_id = $1",
                &[&id, &whom_id],
            )
            .or_ko(DOING)?;
        may_block(user, whom, row.get::<_, i64>(0) as usize, row.get(1))?;
        tx.execute("INSERT INTO blocks VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&id, &whom_id])
            .or_ko(DOING)?;
    } else {
        tx.execute("DELETE FROM blocks WHERE user_id = $1 AND blocked = $2", &[&id, &whom_id])
            .or_ko(DOING)?;
    }
    tx.commit().or_ko(DOING)
}

/// Whom `user` blocked, as registered, sorted ignoring case.
pub fn blocks(db: &Db, user: UserId) -> Result<Vec<(UserId, Arc<str>)>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query(
            "SELECT u.id, u.name FROM blocks b JOIN users u ON u.id = b.blocked \
             WHERE b.user_id = $1 ORDER BY u.folded",
            &[&(user as i64)],
        )
        .or_ko("reading blocks")?;
    Ok(rows.iter().map(|row| (row.get::<_, i64>(0) as UserId, Arc::from(row.get::<_, &str>(1)))).collect())
}

/// True if the user called `name` blocked `whom`: one row by key.
pub fn is_blocked(db: &Db, name: &str, whom: UserId) -> Result<bool, Ko> {
    let mut conn = db.get()?;
    let row = conn
        .query_opt(
            "SELECT 1 FROM blocks b JOIN users u ON u.id = b.user_id WHERE u.folded = $1 AND b.blocked = $2",
            &[&fold(name), &(whom as i64)],
        )
        .or_ko("reading blocks")?;
    Ok(row.is_some())
}

/// Who blocked `whom` (the index `blocks_blocked`).
pub fn blockers(db: &Db, whom: UserId) -> Result<Vec<UserId>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query("SELECT user_id FROM blocks WHERE blocked = $1", &[&(whom as i64)])
        .or_ko("reading blocks")?;
    Ok(rows.iter().map(|row| row.get::<_, i64>(0) as UserId).collect())
}

/// `user`'s preference of `chat` changed by `change`; the new line.
pub fn set_pref(db: &Db, user: UserId, chat: &str, change: PrefChange) -> Result<PrefLine, Ko> {
    const DOING: &str = "changing a chat's preference";
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let id = user as i64;
    tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let mut prefs = Prefs::default();
    for row in tx.query("SELECT chat, level, pinned FROM prefs WHERE user_id = $1", &[&id]).or_ko(DOING)? {
        prefs.set(row_line(row.get(0), row.get(1), row.get(2))?);
    }
    let current = prefs.get(chat);
    let pref = changed(&current, change, prefs.pins(), prefs.chats.len())?;
    if pref.is_default() {
        tx.execute("DELETE FROM prefs WHERE user_id = $1 AND folded = $2", &[&id, &fold(chat)])
            .or_ko(DOING)?;
    } else {
        save(&mut tx, id, &pref).or_ko(DOING)?;
    }
    tx.commit().or_ko(DOING)?;
    Ok(pref)
}

/// `user`'s `PREFS` lines, in the order of the chats' folded names.
pub fn prefs(db: &Db, user: UserId) -> Result<Vec<PrefLine>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query("SELECT chat, level, pinned FROM prefs WHERE user_id = $1 ORDER BY folded", &[&(user as i64)])
        .or_ko("reading chat preferences")?;
    rows.iter().map(|row| row_line(row.get(0), row.get(1), row.get(2))).collect()
}

/// Writes one preference row (a new one, or over the chat's old one).
fn save(tx: &mut postgres::Transaction, user: i64, pref: &PrefLine) -> Result<u64, postgres::Error> {
    tx.execute(
        "INSERT INTO prefs VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, folded) DO UPDATE SET level = $4, pinned = $5",
        &[&user, &fold(&pref.chat), &pref.chat, &pref.level.as_str(), &pref.pinned],
    )
}

/// `wachat migrate`: a single server's blocks and preferences of one
/// user, whose row is `user` (`id` maps the data directory's user numbers
/// to the database's).
pub fn migrate(
    tx: &mut postgres::Transaction,
    user: i64,
    prefs: &Prefs,
    id: impl Fn(usize) -> i64,
) -> Result<(), postgres::Error> {
    for &whom in &prefs.blocks {
        tx.execute("INSERT INTO blocks VALUES ($1, $2)", &[&user, &id(whom)])?;
    }
    for pref in prefs.chats.values() {
        save(tx, user, pref)?;
    }
    Ok(())
}

fn row_line(chat: &str, level: &str, pinned: bool) -> Result<PrefLine, Ko> {
    let level = level.parse().map_err(|e: String| Ko::new(crate::protocol::Code::Internal, e))?;
    Ok(PrefLine { chat: chat.to_string(), level, pinned })
}
