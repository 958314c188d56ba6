//! A cluster's invite codes (`store::invites`): a row each in the
//! `invites` table (schema version 15), so that `wachat users invite
//! --store …` prints codes for the whole cluster and a student redeems one
//! through whichever node it reaches, once.
//!
//! A code is taken as a single server renames its file: its row locked
//! (`FOR UPDATE`), judged by the one rule ([`invites::judge`]), marked
//! used, committed before the account is created. Two students typing the
//! same code on two nodes queue on the row; the second finds it used.

use std::sync::Arc;

use super::db::{Db, OrKo};
use crate::protocol::Ko;
use crate::store::invites::{self, Invites, Kept, Refused};

/// The codes in the cluster's database.
pub struct PgInvites {
    pub db: Arc<Db>,
}

impl Invites for PgInvites {
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<(), Ko> {
        const DOING: &str = "keeping invite codes";
        let mut conn = self.db.get()?;
        let mut tx = conn.transaction().or_ko(DOING)?;
        let expires = expires_ms as i64;
        for code in codes {
            tx.execute("INSERT INTO invites (code, expires_ms) VALUES ($1, $2)", &[code, &expires])
                .or_ko(DOING)?;
        }
        tx.commit().or_ko(DOING)
    }

    fn take(&self, code: &str, now_ms: u64) -> Result<(), Refused> {
        const DOING: &str = "taking an invite code";
        let failed = Refused::Failed;
        let mut conn = self.db.get().map_err(failed)?;
        let mut tx = conn.transaction().or_ko(DOING).map_err(failed)?;
        let row = tx
            .query_opt(
                "SELECT expires_ms, used_ms IS NOT NULL FROM invites WHERE code = $1 FOR UPDATE",
                &[&code],
            )
            .or_ko(DOING)
            .map_err(failed)?;
        let kept = row.map(|row| Kept { expires_ms: row.get::<_, i64>(0).max(0) as u64, used: row.get(1) });
        invites::judge(kept, now_ms)?;
        tx.execute("UPDATE invites SET used_ms = $2 WHERE code = $1", &[&code, &(now_ms as i64)])
            .or_ko(DOING)
            .map_err(failed)?;
        tx.commit().or_ko(DOING).map_err(failed)
    }

    fn give_back(&self, code: &str) {
        let given = self.db.get().and_then(|mut conn| {
            conn.execute("UPDATE invites SET used_ms = NULL WHERE code = $1", &[&code])
                .or_ko("giving back an invite code")
        });
        if let Err(ko) = given {
            log::warn!("cluster: invite code {code} not given back: {}", ko.reason);
        }
    }
}

/// `wachat users invite --store …`: `count` new codes valid until
/// `expires_ms`, kept in the cluster's database (its schema brought up to
/// date first, as a node's start does).
pub fn create(store: &str, count: usize, expires_ms: u64) -> crate::error::Result<Vec<String>> {
    let db = Arc::new(Db::new(store)?);
    let mut client = db.connect_at_start()?;
    super::schema::upgrade(&mut client, &db.url)?;
    drop(client);
    let url = db.url.clone();
    invites::create(&PgInvites { db }, count, expires_ms)
        .map_err(|ko| crate::error::Error::Usage(format!("cluster: {url}: {}", ko.reason)))
}
