//! The schema, created and upgraded at start from the SQL files in
//! `migrations/` (embedded in the binary), one version per file.
//!
//! `wachat_schema` holds the version the database is at. A start takes an
//! advisory lock first (two nodes starting together: one migrates, the
//! other waits and finds it done), applies each missing file in order and
//! records the new version, all in one transaction: a failed upgrade
//! leaves the database as it was. A database at a version this binary
//! does not know (a newer wachat upgraded it) is refused: an older binary
//! would misread what it does not know.
//!
//! Version 20 is more than SQL: a database of the first design (version
//! 18 or before, with accounts) has its rows written into the log first
//! (`upgrade.rs`), in the same transaction, and `020_one_log.sql` then
//! drops their tables.

use postgres::Client;

use crate::error::{Error, Result};

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("001_initial", include_str!("migrations/001_initial.sql")),
    ("002_server_id", include_str!("migrations/002_server_id.sql")),
    ("003_runs", include_str!("migrations/003_runs.sql")),
    ("004_moderation", include_str!("migrations/004_moderation.sql")),
    ("005_devices", include_str!("migrations/005_devices.sql")),
    ("006_device_sessions", include_str!("migrations/006_device_sessions.sql")),
    ("007_stored", include_str!("migrations/007_stored.sql")),
    ("008_reuse", include_str!("migrations/008_reuse.sql")),
    ("009_actions_since", include_str!("migrations/009_actions_since.sql")),
    ("010_prefs", include_str!("migrations/010_prefs.sql")),
    ("011_files", include_str!("migrations/011_files.sql")),
    ("012_settings", include_str!("migrations/012_settings.sql")),
    ("013_files_left", include_str!("migrations/013_files_left.sql")),
    ("014_settings_once", include_str!("migrations/014_settings_once.sql")),
    ("015_door", include_str!("migrations/015_door.sql")),
    ("016_admin_requests", include_str!("migrations/016_admin_requests.sql")),
    ("017_empty_rooms", include_str!("migrations/017_empty_rooms.sql")),
    ("018_carriers_order", include_str!("migrations/018_carriers_order.sql")),
    ("019_log", include_str!("migrations/019_log.sql")),
    ("020_one_log", include_str!("migrations/020_one_log.sql")),
    ("021_checkpoints", include_str!("migrations/021_checkpoints.sql")),
];

/// The version whose SQL drops the first design's tables: their rows are
/// written into the log just before it runs.
const ONE_LOG: usize = 20;

/// The advisory lock that starting nodes take while they look at the
/// schema (any number that no other program on the database uses).
const SCHEMA_LOCK: i64 = 0x7761_6368_6174; // "wachat"

/// The schema version this binary works with.
pub fn current() -> i32 {
    MIGRATIONS.len() as i32
}

/// Brings the database to [`current`]; returns the version it was at.
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
    if found > current() {
        return Err(Error::Usage(format!(
            "cluster: {url}: the database's schema is version {found}, newer than this wachat knows \
             (version {}): upgrade wachat on this node",
            current()
        )));
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        log::info!("cluster: applying migration {name} (schema version {})", i + 1);
        if i + 1 == ONE_LOG {
            convert(&mut tx, url)?;
        }
        tx.batch_execute(sql).map_err(|e| fail(&format!("applying {name}"), e))?;
    }
    if found < current() {
        tx.execute("DELETE FROM wachat_schema", &[]).map_err(|e| fail("recording the version", e))?;
        tx.execute("INSERT INTO wachat_schema VALUES ($1)", &[&current()])
            .map_err(|e| fail("recording the version", e))?;
    }
    tx.commit().map_err(|e| fail("committing the upgrade", e))?;
    Ok(found)
}

/// Writes the first design's rows into the log, if the database has any.
fn convert(tx: &mut postgres::Transaction, url: &str) -> Result<()> {
    let started = std::time::Instant::now();
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
