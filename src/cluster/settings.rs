//! A user's settings on a cluster (protocol 1.2, §23; schema version 12):
//! the `settings` table, a row per key, each change one transaction on a
//! pooled connection, committed before the `OK`.
//!
//! The rules are the local store's (`store::settings`): a change locks
//! the user's `users` row (two devices changing at once on two nodes take
//! turns), counts the user's keys of the setting and looks for this one,
//! asks `check` and `may_set`, and writes. Nothing here touches an inbox
//! or a sequence number, so nothing orders against the committer's
//! batches.

use super::db::{Db, OrKo};
use crate::protocol::Ko;
use crate::store::UserId;
use crate::store::settings::{Setting, Settings, check, may_set};

/// `user`'s `key` of `setting` becomes `value` (`None`: removed).
pub fn set(db: &Db, user: UserId, setting: &Setting, key: &str, value: Option<&str>) -> Result<(), Ko> {
    const DOING: &str = "changing a setting";
    check(key, value)?;
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let (id, name) = (user as i64, setting.name);
    tx.query_opt("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let Some(value) = value else {
        tx.execute("DELETE FROM settings WHERE user_id = $1 AND name = $2 AND key = $3", &[&id, &name, &key])
            .or_ko(DOING)?;
        return tx.commit().or_ko(DOING);
    };
    let row = tx
        .query_one(
            "SELECT count(*), coalesce(bool_or(key = $3), false) FROM settings \
             WHERE user_id = $1 AND name = $2",
            &[&id, &name, &key],
        )
        .or_ko(DOING)?;
    may_set(setting, row.get::<_, i64>(0) as usize, row.get(1), true)?;
    tx.execute(
        "INSERT INTO settings VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, name, key) DO UPDATE SET value = $4",
        &[&id, &name, &key, &value],
    )
    .or_ko(DOING)?;
    tx.commit().or_ko(DOING)
}

/// `user`'s `(key, value)` pairs of `setting`, sorted by key (byte order,
/// as the local store's `BTreeMap`: `COLLATE "C"`).
pub fn of(db: &Db, user: UserId, setting: &Setting) -> Result<Vec<(String, String)>, Ko> {
    let mut conn = db.get()?;
    let rows = conn
        .query(
            "SELECT key, value FROM settings WHERE user_id = $1 AND name = $2 ORDER BY key COLLATE \"C\"",
            &[&(user as i64), &setting.name],
        )
        .or_ko("reading settings")?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// `wachat migrate`: a single server's settings of one user, whose row
/// is `user`.
pub fn migrate(
    tx: &mut postgres::Transaction,
    user: i64,
    settings: &Settings,
) -> Result<(), postgres::Error> {
    for (name, key, value) in settings.all() {
        tx.execute("INSERT INTO settings VALUES ($1, $2, $3, $4)", &[&user, &name, &key, &value])?;
    }
    Ok(())
}
