//! The lease: which node leads the cluster, and its epoch.
//!
//! One row of PostgreSQL's (`lease`) holds the leader's name,
//! its **epoch** (a number that grows by one with each new leader) and
//! when it last renewed the lease, by the database's own clock, so that
//! no two nodes' clocks need agree. The leader renews it every
//! [`RENEW_EVERY`]; a node that finds it older than [`TERM`] takes it,
//! with a higher epoch, in one `UPDATE` that only one node can win.
//!
//! The lease is how the nodes notice that the leader is gone; it is not
//! what keeps two leaders from writing. That is the **fence**: every
//! batch the leader commits names its epoch, and is written only while
//! the lease holds that epoch (`cluster::log`). A leader that was frozen
//! past its term (SIGSTOP, a long pause) and wakes up believing it leads
//! finds its next write refused, and stops.

use std::time::Duration;

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::Client;

/// How long the lease lasts without a renewal: past it, another node may
/// take it. Three renewals fit in it, so a leader late by one or two (a
/// busy machine, a slow database) keeps leading.
pub const TERM: Duration = Duration::from_secs(3);

/// How often the leader renews the lease, and a follower looks at it.
pub const RENEW_EVERY: Duration = Duration::from_millis(1000);

/// How long a follower that found the lease run out waits, finding it
/// still the same, before it takes it: a leader that could not renew it
/// only because the database was gone (it comes back to both at once)
/// renews it within that time, and keeps leading.
pub const CONFIRM: Duration = Duration::from_millis(2 * RENEW_EVERY.as_millis() as u64);

/// The lease as the database has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub epoch: i64,
    /// The leading node's name; empty once its leader let it go
    /// ([`release`]).
    pub holder: String,
    /// Ran out: no renewal for a whole [`TERM`].
    pub expired: bool,
    /// Its last renewal (the database's clock, Unix ms): the same lease
    /// found run out twice, [`CONFIRM`] apart, is taken.
    pub renewed_ms: i64,
}

impl Lease {
    /// Whether another node may take it at once: its leader let it go
    /// (it stopped after its last batch), so nobody can be renewing it.
    pub fn released(&self) -> bool {
        self.holder.is_empty()
    }
}

/// The lease, if any node ever held it.
pub fn read(db: &mut Client) -> Result<Option<Lease>, postgres::Error> {
    let term = TERM.as_millis() as f64;
    let row = db.query_opt(
        "SELECT epoch, holder, extract(epoch FROM now() - renewed) * 1000 > $1::float8,
                (extract(epoch FROM renewed) * 1000)::int8
         FROM lease",
        &[&term],
    )?;
    Ok(row.map(|row| Lease {
        epoch: row.get(0),
        holder: row.get(1),
        expired: row.get(2),
        renewed_ms: row.get(3),
    }))
}

/// Takes the lease for `node` if nobody holds it, or if the epoch `seen`
/// ran out or was `node`'s own (and nobody took it meanwhile): its new
/// epoch, or `None` if
/// another node holds it. The `UPDATE` waits for a batch of the old
/// leader being written (each holds the lease's row `FOR SHARE`), so the
/// log this node reads next holds every batch of the old epoch.
pub fn take(db: &mut Client, node: &str, seen: Option<i64>) -> Result<Option<i64>, postgres::Error> {
    let term = TERM.as_millis() as f64;
    let row = match seen {
        None => db.query_opt(
            "INSERT INTO lease (epoch, holder, renewed) VALUES (1, $1, now())
             ON CONFLICT (one) DO NOTHING RETURNING epoch",
            &[&node],
        )?,
        // Its own lease too: a node that starts again after a crash.
        Some(epoch) => db.query_opt(
            "UPDATE lease SET epoch = epoch + 1, holder = $1, renewed = now()
             WHERE epoch = $2 AND (holder = $1 OR extract(epoch FROM now() - renewed) * 1000 > $3::float8)
             RETURNING epoch",
            &[&node, &epoch, &term],
        )?,
    };
    Ok(row.map(|row| row.get(0)))
}

/// Renews the lease of `epoch`: false if another node took it, or if it
/// was let go ([`release`]): a renewal racing its own leader's release
/// must not make a lease held by nobody look alive, which no node would
/// then take until its term ran out.
pub fn renew(db: &mut Client, epoch: i64) -> Result<bool, postgres::Error> {
    Ok(db.execute("UPDATE lease SET renewed = now() WHERE epoch = $1 AND holder <> ''", &[&epoch])? == 1)
}

/// Lets the lease go at once (a leader that stops): run out, and held by
/// nobody, so that the next node takes it without waiting for the term
/// or confirming it ([`Lease::released`]).
pub fn release(db: &mut Client, epoch: i64) -> Result<(), postgres::Error> {
    db.execute(
        "UPDATE lease SET holder = '', renewed = now() - interval '1 hour' WHERE epoch = $1",
        &[&epoch],
    )?;
    Ok(())
}
