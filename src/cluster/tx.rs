//! A batch's transaction with its statements prepared once per
//! connection.
//!
//! `Client::query("SELECT …")` parses and plans the text on every call: a
//! round trip to prepare, another to run. The committer runs the same
//! dozen statements for every batch on one long-lived connection, so it
//! prepares each once and keeps it ([`Statements`], emptied when the
//! connection is replaced): half the round trips of a batch.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

/// The statements prepared on one connection, by their text.
#[derive(Default)]
pub struct Statements(HashMap<&'static str, Statement>);

/// A transaction and its connection's prepared statements.
pub struct Tx<'a, 'b> {
    pub inner: &'a mut Transaction<'b>,
    cache: &'a mut Statements,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'a, 'b> Tx<'a, 'b> {
    pub fn new(inner: &'a mut Transaction<'b>, cache: &'a mut Statements) -> Self {
        Tx { inner, cache }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.cache.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.inner.prepare(sql)?;
        self.cache.0.insert(sql, statement.clone());
        Ok(statement)
    }

    pub fn query(&mut self, sql: &'static str, params: Params) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query(&statement, params)
    }

    pub fn query_one(&mut self, sql: &'static str, params: Params) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query_one(&statement, params)
    }

    pub fn query_opt(&mut self, sql: &'static str, params: Params) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query_opt(&statement, params)
    }

    pub fn execute(&mut self, sql: &'static str, params: Params) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.execute(&statement, params)
    }
}
