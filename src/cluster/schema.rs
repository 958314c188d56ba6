//! The database's schema: made from `schema.sql` (embedded in the binary)
//! on a new database at a node's start, and checked on every other.
//!
//! `wachat_schema` holds the version the database is at. A start takes an
//! advisory lock first (two nodes starting together: one makes the
//! schema, the other waits and finds it made), then makes it and records
//! the version, in one transaction. A database at another version is
//! refused before anything is read or written there: a newer one (a newer
//! wachat made it) would be misread; one of the first design's last
//! schema (version 18, wachat a2d2db5: accounts, messages … as rows of
//! their own), or of version 22 (the files' descriptions as rows of
//! their own), is converted into the log by `wachat migrate --to` alone
//! (`migrate::convert`), every node stopped, never at a node's start, so
//! that a start never rewrites a database behind its operator's back.

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::{Client, Transaction};

use crate::error::{Error, Result};

/// The tables, as [`CURRENT`] has them.
pub const SCHEMA: &str = include_str!("schema.sql");

/// The version `schema.sql` makes.
pub const CURRENT: i32 = 23;

/// An older version converted (by `wachat migrate`): the first
/// design's last (`migrate::first_design`).
pub const FIRST_DESIGN: i32 = 18;

/// The other older version converted (by `wachat migrate`): the log's,
/// with the files' descriptions in tables of their own (`files`,
/// `file_carriers`), which become `FILE` records (`migrate::first_design::files`).
pub const FILES_IN_TABLES: i32 = 22;

/// The advisory lock that starting nodes take while they look at the
/// schema (any number that no other program on the database uses).
const SCHEMA_LOCK: i64 = 0x7761_6368_6174; // "wachat"

/// Makes the tables of a new database, or finds them at [`CURRENT`];
/// returns the version it was at (0: a new database). Any other version
/// is refused, saying what to do.
pub fn upgrade(client: &mut Client, url: &str) -> Result<i32> {
    let fail = |doing: &str, e: postgres::Error| super::db::error(format!("cluster: {url}: {doing}"), &e);
    let mut tx = client.transaction().map_err(|e| fail("starting", e))?;
    let found = locked_version(&mut tx, url)?;
    match found {
        CURRENT => return Ok(found),
        0 => {
            log::info!("cluster: {url}: a new database; making its tables (schema version {CURRENT})");
            tx.batch_execute(SCHEMA).map_err(|e| fail("making the tables", e))?;
        }
        other => return Err(refused(url, other)),
    }
    record(&mut tx, url)?;
    tx.commit().map_err(|e| fail("committing the tables", e))?;
    Ok(found)
}

/// The version the database is at, read under [`SCHEMA_LOCK`] (held until
/// `tx` ends): one start, or one conversion, at a time gets past here.
pub fn locked_version(tx: &mut Transaction, url: &str) -> Result<i32> {
    let fail = |doing: &str, e: postgres::Error| super::db::error(format!("cluster: {url}: {doing}"), &e);
    // Even creating the version table must not race.
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
        .map_err(|e| fail("waiting for other nodes' start", e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS wachat_schema (version integer NOT NULL)")
        .map_err(|e| fail("creating wachat_schema", e))?;
    Ok(tx
        .query_opt("SELECT version FROM wachat_schema", &[])
        .map_err(|e| fail("reading the schema version", e))?
        .map_or(0, |row| row.get(0)))
}

/// [`CURRENT`] recorded as the database's version.
pub fn record(tx: &mut Transaction, url: &str) -> Result<()> {
    let fail = |e: postgres::Error| super::db::error(format!("cluster: {url}: recording the version"), &e);
    tx.execute("DELETE FROM wachat_schema", &[]).map_err(fail)?;
    tx.execute("INSERT INTO wachat_schema VALUES ($1)", &[&CURRENT]).map_err(fail)?;
    Ok(())
}

/// Why a database at `version` (not [`CURRENT`], not new) is not used, and
/// what to do.
pub fn refused(url: &str, version: i32) -> Error {
    Error::Usage(match version {
        newer if newer > CURRENT => format!(
            "cluster: {url}: the database's schema is version {newer}, newer than this wachat knows \
             (version {CURRENT}): upgrade wachat on this node"
        ),
        FIRST_DESIGN => format!(
            "cluster: {url}: the database holds a cluster of wachat's first design (schema version \
             {FIRST_DESIGN}): stop its nodes, convert it with `wachat migrate --to {url}`, then start \
             this wachat"
        ),
        FILES_IN_TABLES => format!(
            "cluster: {url}: the database's schema is version {FILES_IN_TABLES}, whose files' \
             descriptions are tables of their own: stop its nodes, convert it with \
             `wachat migrate --to {url}`, then start this wachat"
        ),
        older if older < FIRST_DESIGN => format!(
            "cluster: {url}: the database's schema is version {older}, older than version \
             {FIRST_DESIGN}, the oldest this wachat converts: first bring it to version \
             {FIRST_DESIGN} with wachat a2d2db5 (a node of that build, started once on this \
             database, upgrades its schema), then run `wachat migrate --to {url}`"
        ),
        other => format!(
            "cluster: {url}: the database's schema is version {other}, which no release of wachat \
             made (it reads version {CURRENT} and converts versions {FIRST_DESIGN} and \
             {FILES_IN_TABLES}): restore a backup \
             into a new database, or migrate the data again"
        ),
    })
}
