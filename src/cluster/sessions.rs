//! Receive sessions in the database, one per device (schema version 6,
//! protocol 1.2): which node holds each online device of each user.
//!
//! A user's devices may be online on different nodes at once. Each has a
//! row in `device_sessions`: its node and the epoch of its login. Epochs
//! come from the user's one row in `sessions`, which every login and every
//! logout of any of the user's devices locks first (an `UPDATE`, in its
//! own transaction), so that:
//!
//! - `--max-devices` is counted across nodes: a login counts the user's
//!   other devices online (on a node whose heartbeat is fresh) under the
//!   lock, and one too many is refused (`KO:TOO_MANY_DEVICES`);
//! - the same device logging in twice, on two nodes at once, ends with
//!   one row, the higher epoch: the node holding the lower one closes
//!   that device only (`BYE:REPLACED`);
//! - the last device going is seen by exactly one logout: the one that
//!   finds no other row left, which makes the user offline (`LASTSEEN`,
//!   `LEFT`).
//!
//! A node's picture of the other nodes' rows is its `directory`.

use std::sync::Arc;

use super::db::{Db, OrKo};
use crate::protocol::Ko;
use crate::store::UserId;

/// A node whose heartbeat is older than this is dead: its users are offline.
pub const LEASE_MS: i64 = 4000;

/// The database's clock in Unix milliseconds, as SQL: what a heartbeat
/// writes (`heartbeat.rs`) and what `alive` measures it against.
pub const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::int8";

/// The SQL condition "the node named in `column` is alive" (`n` being
/// its `nodes` row, joined), with the placeholders of this node's name,
/// which counts even before its first heartbeat, and of [`LEASE_MS`].
fn alive(column: &str, node: &str, lease: &str) -> String {
    format!("({column} = {node} OR n.heartbeat_ms > {NOW_MS} - {lease})")
}

/// What a login's claim found.
pub struct Claimed {
    /// The epoch of this device's session.
    pub epoch: u64,
    /// Another device of the user is online on another node: the user is
    /// online already (nobody is told `JOINED`).
    pub elsewhere: bool,
}

/// Claims the session of `user`'s `device` (folded) for `node`: refused
/// with `KO:TOO_MANY_DEVICES` if `max` other devices of the user are
/// online, on any node.
pub fn claim(db: &Db, node: &str, user: UserId, device: &str, max: usize) -> Result<Claimed, Ko> {
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko("claiming a session")?;
    // The user's row, locked until the commit: one login or logout of the
    // user's devices at a time, on every node.
    let row = tx
        .query_one(
            "INSERT INTO sessions (user_id, node, epoch) VALUES ($1, $2, 1) ON CONFLICT (user_id) \
             DO UPDATE SET node = EXCLUDED.node, epoch = sessions.epoch + 1 RETURNING epoch",
            &[&(user as i64), &node],
        )
        .or_ko("claiming a session")?;
    let epoch = row.get::<_, i64>(0);
    let others = tx
        .query(
            &format!(
                "SELECT ds.node FROM device_sessions ds LEFT JOIN nodes n ON n.name = ds.node \
                 WHERE ds.user_id = $1 AND ds.folded <> $4 AND {}",
                alive("ds.node", "$2", "$3")
            ),
            &[&(user as i64), &node, &LEASE_MS, &device],
        )
        .or_ko("counting the devices online")?;
    if others.len() >= max {
        // Dropping the transaction rolls the epoch back too.
        return Err(crate::store::meaning::too_many_devices(max));
    }
    let elsewhere = others.iter().any(|r| r.get::<_, String>(0) != node);
    tx.execute(
        "INSERT INTO device_sessions (user_id, folded, node, epoch) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, folded) DO UPDATE SET node = EXCLUDED.node, epoch = EXCLUDED.epoch",
        &[&(user as i64), &device, &node, &epoch],
    )
    .or_ko("claiming a session")?;
    tx.commit().or_ko("claiming a session")?;
    Ok(Claimed { epoch: epoch as u64, elsewhere })
}

/// Ends the session `epoch` of `user`'s `device` on `node` (if it is still
/// that one); true if no device of the user is online on any node now.
pub fn end(db: &Db, node: &str, user: UserId, device: &str, epoch: u64) -> Result<bool, Ko> {
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko("ending a session")?;
    tx.execute("UPDATE sessions SET epoch = epoch WHERE user_id = $1", &[&(user as i64)])
        .or_ko("ending a session")?;
    tx.execute(
        "DELETE FROM device_sessions WHERE user_id = $1 AND folded = $2 AND node = $3 AND epoch = $4",
        &[&(user as i64), &device, &node, &(epoch as i64)],
    )
    .or_ko("ending a session")?;
    let left = tx
        .query_one(
            &format!(
                "SELECT count(*) FROM device_sessions ds LEFT JOIN nodes n ON n.name = ds.node \
                 WHERE ds.user_id = $1 AND {}",
                alive("ds.node", "$2", "$3")
            ),
            &[&(user as i64), &node, &LEASE_MS],
        )
        .or_ko("ending a session")?
        .get::<_, i64>(0);
    if left == 0 {
        tx.execute("UPDATE sessions SET node = NULL, p2p_port = NULL WHERE user_id = $1", &[&(user as i64)])
            .or_ko("ending a session")?;
    }
    tx.commit().or_ko("ending a session")?;
    Ok(left == 0)
}

/// Ends every session `node` held (a node stopping, or starting again
/// after a crash): its devices' rows go, and its users' rows no longer
/// name it. Returns how many users' rows named it; the second statement
/// is tried even if the first failed (a stop ends what it can).
pub fn end_node(conn: &mut postgres::Client, node: &str) -> Result<u64, postgres::Error> {
    let devices = conn.execute("DELETE FROM device_sessions WHERE node = $1", &[&node]);
    let users = conn.execute("UPDATE sessions SET node = NULL WHERE node = $1", &[&node]);
    devices.and(users)
}

/// One row of [`live`]: a device online on a node that is alive.
pub struct Live {
    pub user: UserId,
    pub name: Arc<str>,
    pub device: Arc<str>,
    pub node: Arc<str>,
    pub epoch: u64,
}

/// The nodes alive (their heartbeat within [`LEASE_MS`]), this one
/// included: what the heartbeat's scan keeps the calls of (`kept.rs`).
pub fn live_nodes(conn: &mut postgres::Client, node: &str) -> Result<Vec<String>, Ko> {
    let rows = conn
        .query(
            &format!("SELECT n.name FROM nodes n WHERE {}", alive("n.name", "$1", "$2")),
            &[&node, &LEASE_MS],
        )
        .or_ko("reading the nodes")?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Every device session on a node that is alive (the heartbeat's scan).
pub fn live(conn: &mut postgres::Client, node: &str) -> Result<Vec<Live>, Ko> {
    let rows = conn
        .query(
            &format!(
                "SELECT ds.user_id, u.name, ds.folded, ds.node, ds.epoch FROM device_sessions ds \
                 JOIN users u ON u.id = ds.user_id LEFT JOIN nodes n ON n.name = ds.node WHERE {}",
                alive("ds.node", "$1", "$2")
            ),
            &[&node, &LEASE_MS],
        )
        .or_ko("reading the sessions")?;
    Ok(rows
        .iter()
        .map(|row| Live {
            user: row.get::<_, i64>(0) as UserId,
            name: row.get::<_, String>(1).into(),
            device: row.get::<_, String>(2).into(),
            node: row.get::<_, String>(3).into(),
            epoch: row.get::<_, i64>(4) as u64,
        })
        .collect())
}
