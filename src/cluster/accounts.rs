//! A user's own account on a cluster (protocol 1.2, §20): a new password
//! is one `UPDATE` of its `users` row, committed before the `OK`; so is
//! the mark of a deleted account ([`DELETED`]), after the account left its
//! rooms and its inbox was acknowledged through the committer's own jobs
//! (`PgBackend::delete_account`), which every node's caches follow.
//!
//! Not through the committer's batches: a password change touches no
//! inbox and no sequence number, so it has nothing to order against the
//! messages; one statement on a pooled connection is its own transaction.
//! Every node reads the hash from the row at each password login
//! (`PgBackend::account`), and each node's cache of recent logins is keyed
//! by the hash too (`store::password::LoginCache`), so the old password
//! stops working on every node at once.

use super::db::{Db, OrKo};
use crate::protocol::{Code, Ko};
use crate::store::UserId;
use crate::store::state::DELETED;

/// `user`'s password hash is now `hash`.
pub fn set_password(db: &Db, user: UserId, hash: &str) -> Result<(), Ko> {
    let mut conn = db.get()?;
    let id = user as i64;
    let changed = conn
        .execute("UPDATE users SET hash = $2 WHERE id = $1", &[&id, &hash])
        .or_ko("changing a password")?;
    if changed != 1 {
        return Err(Ko::new(Code::Internal, "the account is gone from the database"));
    }
    Ok(())
}

/// 1.2 `DELACCOUNT`: `user`'s hash becomes [`DELETED`], which no password
/// matches on any node (each reads the row at a password login).
/// Its e-mail address goes too: it is the user's private data.
pub fn mark_deleted(db: &Db, user: UserId) -> Result<(), Ko> {
    let mut conn = db.get()?;
    let id = user as i64;
    let changed = conn
        .execute("UPDATE users SET hash = $2, email = '' WHERE id = $1", &[&id, &DELETED])
        .or_ko("deleting an account")?;
    if changed != 1 {
        return Err(Ko::new(Code::Internal, "the account is gone from the database"));
    }
    Ok(())
}
