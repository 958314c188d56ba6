//! The devices of every user in the cluster's database (`devices`,
//! protocol 1.2): the [`SharedDevices`] of the leader,
//! so that the node that leads after it has every device's position and
//! token (a linked device logs in on any node, an `UNLINK` revokes it for
//! good).
//!
//! The leader still keeps its `devices.csv` (`server::devices`), as a
//! cache read at start; the table is the truth. Rows are found by the
//! user's folded name, so the server's device code needs no ids. A
//! position written here only moves forward (`GREATEST`), whoever writes
//! last. A token is written only by [`SharedDevices::add`] of a link,
//! never by the flusher (which updates rows, and adds none), so a book
//! that still holds an unlinked device in memory cannot bring it or its
//! token back.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::db::{Db, count, describe};
use crate::store::devices::{Device, SharedDevices, TokenHash};

/// The cluster's table of devices.
pub struct PgDevices {
    pub db: Arc<Db>,
}

fn io_error(e: &postgres::Error) -> io::Error {
    io::Error::other(describe(e))
}

fn ko_error(ko: crate::protocol::Ko) -> io::Error {
    io::Error::other(ko.reason)
}

/// A position for the table (`bigint`): past `i64::MAX` cannot happen.
fn position(p: Option<u64>) -> Option<i64> {
    p.map(|p| i64::try_from(p).unwrap_or(i64::MAX))
}

/// A device's position (only forward), time and address, if on record.
const UPDATE: &str = "UPDATE devices SET \
     position = CASE WHEN $3::bigint IS NULL THEN NULL \
                     ELSE GREATEST(devices.position, $3::bigint) END, \
     seen_ms = GREATEST(devices.seen_ms, $4), address = $5 \
     WHERE user_folded = $1 AND folded = lower($2)";

/// A device put on record, or its row brought up to date.
const UPSERT: &str = "INSERT INTO devices (user_folded, folded, name, position, seen_ms, address) \
     VALUES ($1, lower($2), $2, $3, $4, $5) \
     ON CONFLICT (user_folded, folded) DO UPDATE SET \
     position = CASE WHEN EXCLUDED.position IS NULL THEN NULL \
                     ELSE GREATEST(devices.position, EXCLUDED.position) END, \
     seen_ms = GREATEST(devices.seen_ms, EXCLUDED.seen_ms), address = EXCLUDED.address";

impl SharedDevices for PgDevices {
    fn load(&self, user: &str) -> io::Result<Vec<Device>> {
        let mut conn = self.db.get().map_err(ko_error)?;
        let rows = conn
            .query(
                "SELECT name, position, seen_ms, address, token FROM devices \
                 WHERE user_folded = $1 ORDER BY folded",
                &[&user],
            )
            .map_err(|e| io_error(&e))?;
        Ok(rows
            .iter()
            .map(|row| {
                let name: String = row.get(0);
                let position: Option<i64> = row.get(1);
                let seen_ms: i64 = row.get(2);
                let address: String = row.get(3);
                let token: Option<Vec<u8>> = row.get(4);
                Device {
                    name: name.into(),
                    position: position.map(count),
                    seen_ms: count(seen_ms),
                    address: address.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    token: token.and_then(|t| TokenHash::try_from(t.as_slice()).ok()),
                }
            })
            .collect())
    }

    fn save(&self, user: &str, devices: &[Device]) -> io::Result<()> {
        if devices.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.get().map_err(ko_error)?;
        let mut tx = conn.transaction().map_err(|e| io_error(&e))?;
        let update = tx.prepare(UPDATE).map_err(|e| io_error(&e))?;
        for d in devices {
            let seen = i64::try_from(d.seen_ms).unwrap_or(i64::MAX);
            tx.execute(&update, &[&user, &&*d.name, &position(d.position), &seen, &d.address.to_string()])
                .map_err(|e| io_error(&e))?;
        }
        tx.commit().map_err(|e| io_error(&e))
    }

    fn add(&self, user: &str, device: &Device, with_token: bool) -> io::Result<()> {
        let mut conn = self.db.get().map_err(ko_error)?;
        let mut tx = conn.transaction().map_err(|e| io_error(&e))?;
        let seen = i64::try_from(device.seen_ms).unwrap_or(i64::MAX);
        let address = device.address.to_string();
        let added = tx
            .execute(UPSERT, &[&user, &&*device.name, &position(device.position), &seen, &address])
            .map_err(|e| io_error(&e))?;
        if added != 1 {
            return Err(io::Error::other(format!("no account {user} to add a device to")));
        }
        if with_token {
            let token: Option<&[u8]> = device.token.as_ref().map(|t| &t[..]);
            tx.execute(
                "UPDATE devices SET token = $3 WHERE user_folded = $1 AND folded = lower($2)",
                &[&user, &&*device.name, &token],
            )
            .map_err(|e| io_error(&e))?;
        }
        tx.commit().map_err(|e| io_error(&e))
    }

    fn remove(&self, user: &str, name: &str) -> io::Result<()> {
        let mut conn = self.db.get().map_err(ko_error)?;
        conn.execute("DELETE FROM devices WHERE user_folded = $1 AND folded = lower($2)", &[&user, &name])
            .map_err(|e| io_error(&e))?;
        Ok(())
    }
}
