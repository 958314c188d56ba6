//! Runs that grow across batches (issue 25, attack 1): a room message
//! that follows a member's last stored run lengthens that row instead of
//! adding one, so a flood into a room of offline members costs each of
//! them one `events` row, however many batches carry it. A batch reads
//! the runs it may lengthen ([`last_runs`]), `Work::enqueue` grows them
//! as it grows the batch's own, and `writes::write` updates those that
//! grew ([`lengthened`](super::writes::lengthened)) in its one statement.

use std::collections::BTreeSet;

use super::tx::Tx;
use super::writes::{Run, Stream, Work};
use crate::store::UserId;

/// Reads the last stored run of each of `users` that has events not yet
/// acknowledged, and makes it the user's last run of the batch: a room
/// message that follows it lengthens it (`Work::enqueue`) instead of
/// starting a row. So a flood into a room costs each offline member one
/// `events` row, whatever its length and however many batches carry it
/// (issue 25, attack 1), as `Queued::Rooms` does on a single server.
///
/// Only a run that ends at the inbox's last number can be lengthened (the
/// next number must follow it). It must run after the inboxes are locked
/// (their rows guard the runs), as a statement of its own (see
/// `locks::read_guarded`). A batch reads these only for the members of the
/// rooms it sends to: a batch of direct messages keeps its five round
/// trips (`apply.rs`).
pub fn last_runs(tx: &mut Tx, users: &BTreeSet<UserId>, w: &mut Work) -> Result<(), postgres::Error> {
    let ids: Vec<i64> = users
        .iter()
        .filter(|u| w.inboxes.get(u).is_some_and(|i| i.last_seq > i.acked))
        .map(|&u| u as i64)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows = tx.query(
        "SELECT e.user_id, e.seq, e.count, e.kind, e.sender, e.recipient, e.room, e.ord, e.ts \
         FROM unnest($1::int8[]) AS u(id) \
         CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.user_id = u.id ORDER BY e.seq DESC LIMIT 1) AS e",
        &[&ids],
    )?;
    for row in rows {
        let user = row.get::<_, i64>(0) as UserId;
        let (seq, count): (i64, i32) = (row.get(1), row.get(2));
        if seq + i64::from(count) - 1 != w.inboxes[&user].last_seq {
            continue;
        }
        let stream = match (row.get::<_, Option<i64>>(4), row.get::<_, Option<i64>>(5), row.get(6)) {
            (_, _, Some(room)) => Stream::Room(room),
            (Some(sender), Some(recipient), None) => {
                Stream::Direct { sender: sender as UserId, recipient: recipient as UserId }
            }
            _ => continue,
        };
        let (kind, ord, ts) = (row.get(3), row.get(7), row.get(8));
        w.last_run.insert(user, w.writes.runs.len());
        w.writes.runs.push(Run { user: user as i64, seq, count, kind, stream, ord, ts, stored: Some(count) });
    }
    Ok(())
}
