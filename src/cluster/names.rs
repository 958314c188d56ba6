//! The node's memory of user names: `ana` → (#7, `Ana`) and back.
//!
//! Accounts are never renamed nor removed in a cluster (a deleted
//! account's name taken again keeps its number, `accounts::reuse`), so a
//! name once read from the database stays true: every request that names a user
//! (`MSG:bob:…`, `HISTORY:bob:…`) would otherwise cost a query. An account
//! made on another node is read on first use.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use postgres::GenericClient;

use super::db::{Db, OrKo};
use crate::protocol::Ko;
use crate::protocol::names::fold;
use crate::store::UserId;

/// Names known to this node, both ways.
#[derive(Default)]
pub struct Names {
    by_folded: RwLock<HashMap<String, (UserId, Arc<str>)>>,
    by_id: RwLock<HashMap<UserId, Arc<str>>>,
}

impl Names {
    /// Remembers an account.
    pub fn learn(&self, id: UserId, name: &str) -> Arc<str> {
        let name: Arc<str> = name.into();
        self.by_folded.write().insert(fold(&name), (id, name.clone()));
        self.by_id.write().insert(id, name.clone());
        name
    }

    /// The account called `name` (ignoring case), from memory or the database.
    pub fn find(
        &self,
        db: &mut impl GenericClient,
        name: &str,
    ) -> Result<Option<(UserId, Arc<str>)>, postgres::Error> {
        let folded = fold(name);
        if let Some(found) = self.by_folded.read().get(&folded) {
            return Ok(Some(found.clone()));
        }
        let row = db.query_opt("SELECT id, name FROM users WHERE folded = $1", &[&folded])?;
        Ok(row.map(|row| {
            let id = row.get::<_, i64>(0) as UserId;
            (id, self.learn(id, row.get(1)))
        }))
    }

    /// [`Names::find`] for a caller without a connection: one is taken
    /// from `db`'s pool only if this node does not know the name.
    pub fn find_pooled(&self, db: &Db, name: &str) -> Result<Option<(UserId, Arc<str>)>, Ko> {
        match self.known(name) {
            Some(found) => Ok(Some(found)),
            None => self.find(&mut *db.get()?, name).or_ko("reading a user"),
        }
    }

    /// The name of account `id`, if this node knows it (no query).
    pub fn known_name(&self, id: UserId) -> Option<Arc<str>> {
        self.by_id.read().get(&id).cloned()
    }

    /// The account called `name` (ignoring case), if this node knows it
    /// (no query).
    fn known(&self, name: &str) -> Option<(UserId, Arc<str>)> {
        self.by_folded.read().get(&fold(name)).cloned()
    }

    /// The id of the account called `name` (ignoring case), if this node
    /// knows it (no query).
    pub fn known_id(&self, name: &str) -> Option<UserId> {
        self.known(name).map(|(id, _)| id)
    }

    /// The name of account `id`, from memory or the database.
    pub fn name(&self, db: &mut impl GenericClient, id: UserId) -> Result<Arc<str>, postgres::Error> {
        if let Some(name) = self.by_id.read().get(&id) {
            return Ok(name.clone());
        }
        let row = db.query_one("SELECT name FROM users WHERE id = $1", &[&(id as i64)])?;
        Ok(self.learn(id, row.get(0)))
    }

    /// [`Names::name`] for a caller without a connection: one is taken
    /// from `db`'s pool only if this node does not know the name.
    pub fn name_pooled(&self, db: &Db, id: UserId) -> Result<Arc<str>, Ko> {
        match self.known_name(id) {
            Some(name) => Ok(name),
            None => self.name(&mut *db.get()?, id).or_ko("reading a user"),
        }
    }
}
