//! A user's settings on a cluster (protocol 1.2, §23; schema versions
//! 12 and 14): the `settings` table, a row per key, each change one
//! transaction on a pooled connection, committed before the `OK`. Every
//! per-chat setting lives here (a block, a level and pin, an archive, a
//! star: `store::settings`); the `blocks` and `prefs` tables of schema 10
//! moved in (`014_settings_once.sql`).
//!
//! The rules are the local store's: a change locks the user's inbox row
//! (two devices changing at once on two nodes take turns), reads the
//! user's keys of the setting, and asks `store::settings::decide`, which
//! runs the request's own rule and the bounds every setting has. The
//! inbox row, not the `users` row, so that a change orders against the
//! committer's batches, which lock the inboxes they give events to and
//! read their recipients' blocks after (`locks::read_guarded`): a
//! `BLOCK` is before a message or after it, as on a single server. Its
//! own change touches no sequence number.

use postgres::GenericClient;

use super::db::{Db, OrKo};
use crate::protocol::Ko;
use crate::store::UserId;
use crate::store::settings::{Kept, KeptKey, KeyChange, Keys, Setting, Settings, about, decide};

/// `user`'s `key` of `setting` becomes what `change` makes of it.
pub fn change(db: &Db, user: UserId, setting: &Setting, key: &str, change: KeyChange) -> Result<(), Ko> {
    const DOING: &str = "changing a setting";
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko(DOING)?;
    let (id, name) = (user as i64, setting.name);
    tx.query_opt("SELECT 1 FROM inboxes WHERE user_id = $1 FOR UPDATE", &[&id]).or_ko(DOING)?;
    let all = pairs(&mut tx, user, setting).or_ko(DOING)?;
    let kept = Kept::new(key, all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
    match decide(setting, &kept, change)? {
        None => return Ok(()), // nothing changes: nothing to commit
        Some(None) => tx
            .execute(
                "DELETE FROM settings WHERE user_id = $1 AND name = $2 AND key = $3",
                &[&id, &name, &key],
            )
            .or_ko(DOING)?,
        Some(Some(value)) => tx
            .execute(
                "INSERT INTO settings VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, name, key) DO UPDATE SET value = $4",
                &[&id, &name, &key, &value],
            )
            .or_ko(DOING)?,
    };
    tx.commit().or_ko(DOING)
}

/// The keys of `setting` that `keys` asks for: one user's ([`read_of`]);
/// the one an owner keeps about a user (a row by key: the key is
/// `about`'s folded name); or every owner's about a user (the index
/// `settings_key`).
pub fn read(db: &Db, setting: &Setting, keys: Keys) -> Result<Vec<KeptKey>, Ko> {
    let rows = match keys {
        Keys::Of(user) => return read_of(db, setting, &[user]),
        Keys::OfAbout { owner, about } => db.get()?.query(
            "SELECT s.user_id, s.key, s.value, a.id FROM settings s JOIN users o ON o.id = s.user_id \
             JOIN users a ON a.id = $3 WHERE o.folded = $1 AND s.name = $2 AND s.key = a.folded",
            &[&crate::protocol::names::fold(owner), &setting.name, &(about as i64)],
        ),
        Keys::About(about) => db.get()?.query(
            "SELECT s.user_id, s.key, s.value, a.id FROM settings s JOIN users a ON a.id = $2 \
             WHERE s.name = $1 AND s.key = a.folded",
            &[&setting.name, &(about as i64)],
        ),
    };
    Ok(rows.or_ko("reading settings")?.iter().map(kept).collect())
}

/// The keys of `setting` that each of `owners` keeps, in one read: by
/// owner, then by key (byte order, as the local store's `BTreeMap`:
/// `COLLATE "C"`), each with the account it names, joined in the same
/// read (the key is its folded name, as `Keys::About` joins it).
/// ([`Keys::Of`] is one owner's; a node telling the presence of a class
/// that logs in at once reads their blocks so, `presence.rs`.)
pub fn read_of(db: &Db, setting: &Setting, owners: &[UserId]) -> Result<Vec<KeptKey>, Ko> {
    let ids: Vec<i64> = owners.iter().map(|&owner| owner as i64).collect();
    let rows = db.get()?.query(
        "SELECT s.user_id, s.key, s.value, a.id FROM settings s LEFT JOIN users a ON a.folded = s.key \
         WHERE s.user_id = ANY($1) AND s.name = $2 ORDER BY s.user_id, s.key COLLATE \"C\"",
        &[&ids, &setting.name],
    );
    Ok(rows.or_ko("reading settings")?.iter().map(kept).collect())
}

/// A row of a settings read: owner, key, value, and the account the key names.
fn kept(row: &postgres::Row) -> KeptKey {
    KeptKey {
        owner: row.get::<_, i64>(0) as UserId,
        key: row.get(1),
        value: row.get(2),
        account: row.get::<_, Option<i64>>(3).map(|id| id as UserId),
    }
}

fn pairs(
    db: &mut impl GenericClient,
    user: UserId,
    setting: &Setting,
) -> Result<Vec<(String, String)>, postgres::Error> {
    let rows = db.query(
        "SELECT key, value FROM settings WHERE user_id = $1 AND name = $2 ORDER BY key COLLATE \"C\"",
        &[&(user as i64), &setting.name],
    )?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// A deleted account's name registered again (`accounts::reuse`, in its
/// transaction): every key other users keep [`about`] the name goes. The
/// rows are found by the key's beginning (the index `settings_key`),
/// [`about`] decides, as on a single server, and those it picks go in
/// one `DELETE` (a popular name's keys are many rows: one round trip,
/// not one each).
pub fn forget_about(tx: &mut postgres::Transaction, folded: &str) -> Result<(), postgres::Error> {
    let like = format!("{}%", folded.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let rows = tx.query("SELECT user_id, name, key FROM settings WHERE key LIKE $1", &[&like])?;
    let (mut users, mut names, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows.iter().filter(|row| about(row.get(2), folded)) {
        users.push(row.get::<_, i64>(0));
        names.push(row.get::<_, &str>(1));
        keys.push(row.get::<_, &str>(2));
    }
    if !keys.is_empty() {
        tx.execute(
            "DELETE FROM settings s USING unnest($1::bigint[], $2::text[], $3::text[]) AS gone (user_id, name, key) \
             WHERE s.user_id = gone.user_id AND s.name = gone.name AND s.key = gone.key",
            &[&users, &names, &keys],
        )?;
    }
    Ok(())
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
