//! The database's schema: made from `schema.sql` (embedded in the binary)
//! at a node's start, or brought to it from the first design's last
//! schema (version 18), from version 19, whose devices were a table of
//! their own, from version 20, whose disabled accounts were, or from
//! version 21, whose invite codes were (`upgrade.rs`).
//!
//! `wachat_schema` holds the version the database is at. A start takes an
//! advisory lock first (two nodes starting together: one makes the
//! schema, the other waits and finds it made), then makes or upgrades it
//! and records the version, all in one transaction: a failed upgrade
//! leaves the database as it was. A database at a version this binary
//! does not know (a newer wachat upgraded it) is refused: an older binary
//! would misread what it does not know. So is one older than version 18,
//! which only a wachat of the first design can bring to 18.

use postgres::Client;

use crate::error::{Error, Result};

/// The tables, as [`CURRENT`] has them.
pub const SCHEMA: &str = include_str!("schema.sql");

/// The version `schema.sql` makes.
pub const CURRENT: i32 = 22;

/// The last version whose invite codes were a table of their own
/// (`upgrade::invites` moves them into the log).
pub const INVITES_APART: i32 = 21;

/// The last version whose disabled accounts were a table of their own
/// (`upgrade::disabled` moves them into the log).
pub const DISABLED_APART: i32 = 20;

/// The version whose devices were a table of their own beside the log
/// (`upgrade::devices` moves them into it).
pub const DEVICES_APART: i32 = 19;

/// The one older version upgraded in place: the first design's last
/// (`upgrade.rs`).
pub const FIRST_DESIGN: i32 = 18;

/// The advisory lock that starting nodes take while they look at the
/// schema (any number that no other program on the database uses).
const SCHEMA_LOCK: i64 = 0x7761_6368_6174; // "wachat"

/// Brings the database to [`CURRENT`]; returns the version it was at
/// (0: a new database).
pub fn upgrade(client: &mut Client, url: &str) -> Result<i32> {
    let fail = |doing: &str, e: postgres::Error| super::db::error(format!("cluster: {url}: {doing}"), &e);
    let mut tx = client.transaction().map_err(|e| fail("starting the upgrade", e))?;
    // One start at a time gets past here (the lock ends with the
    // transaction): even creating the version table must not race.
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
        .map_err(|e| fail("waiting for other nodes' start", e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS wachat_schema (version integer NOT NULL)")
        .map_err(|e| fail("creating wachat_schema", e))?;
    let found: i32 = tx
        .query_opt("SELECT version FROM wachat_schema", &[])
        .map_err(|e| fail("reading the schema version", e))?
        .map_or(0, |row| row.get(0));
    match found {
        CURRENT => return Ok(found),
        0 => {
            log::info!("cluster: {url}: a new database; making its tables (schema version {CURRENT})");
            tx.batch_execute(SCHEMA).map_err(|e| fail("making the tables", e))?;
        }
        FIRST_DESIGN => {
            convert(&mut tx, url)?;
            move_disabled(&mut tx, url)?;
            move_invites(&mut tx, url)?;
        }
        DEVICES_APART => {
            let moved = super::upgrade::devices(&mut tx, url)?;
            log::warn!("cluster: {url}: {moved} devices moved from their table into the log");
            move_disabled(&mut tx, url)?;
            move_invites(&mut tx, url)?;
        }
        DISABLED_APART => {
            move_disabled(&mut tx, url)?;
            move_invites(&mut tx, url)?;
        }
        INVITES_APART => move_invites(&mut tx, url)?,
        newer if newer > CURRENT => {
            return Err(Error::Usage(format!(
                "cluster: {url}: the database's schema is version {newer}, newer than this wachat knows \
                 (version {CURRENT}): upgrade wachat on this node"
            )));
        }
        older => {
            return Err(Error::Usage(format!(
                "cluster: {url}: the database's schema is version {older}, older than version \
                 {FIRST_DESIGN}, the oldest this wachat upgrades: first bring it to version \
                 {FIRST_DESIGN} with wachat a2d2db5 (a node of that build, started once on this \
                 database, upgrades its schema), then start this wachat"
            )));
        }
    }
    tx.execute("DELETE FROM wachat_schema", &[]).map_err(|e| fail("recording the version", e))?;
    tx.execute("INSERT INTO wachat_schema VALUES ($1)", &[&CURRENT])
        .map_err(|e| fail("recording the version", e))?;
    tx.commit().map_err(|e| fail("committing the upgrade", e))?;
    Ok(found)
}

/// The disabled accounts of a database of schema 18 to 20 into the log.
fn move_disabled(tx: &mut postgres::Transaction, url: &str) -> Result<()> {
    let moved = super::upgrade::disabled(tx, url)?;
    log::warn!("cluster: {url}: {moved} disabled accounts moved from their table into the log");
    Ok(())
}

/// The invite codes of a database of schema 18 to 21 into the log.
fn move_invites(tx: &mut postgres::Transaction, url: &str) -> Result<()> {
    let moved = super::upgrade::invites(tx, url)?;
    log::warn!("cluster: {url}: {moved} invite codes moved from their table into the log");
    Ok(())
}

/// A database of the first design: its rows into the log, its tables to
/// [`SCHEMA`]'s.
fn convert(tx: &mut postgres::Transaction, url: &str) -> Result<()> {
    let started = std::time::Instant::now();
    // The old `devices` is a table of the same name with other columns:
    // set aside, for `upgrade.rs` to re-key its rows by user name.
    tx.batch_execute(&format!("ALTER TABLE devices RENAME TO devices_v18; {SCHEMA}"))
        .map_err(|e| super::db::error(format!("cluster: {url}: upgrading (making the tables)"), &e))?;
    let Some(done) = super::upgrade::run(tx, url)? else { return Ok(()) };
    log::warn!(
        "cluster: {url}: the first design's tables are now the log: {} messages, {} records in {} batches, in {} ms",
        done.messages,
        done.records,
        done.batches,
        started.elapsed().as_millis()
    );
    for difference in &done.differences {
        log::warn!("cluster: {url}: upgraded inbox differs: {difference}");
    }
    Ok(())
}
