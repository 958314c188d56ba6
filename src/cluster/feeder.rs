//! The feeder: numbered events into this node's receive connections,
//! never with a hole.
//!
//! A client acknowledges cumulatively (`ACK:<seq>` covers everything
//! before), so an outlet must never send event 7 before event 6: the
//! client would acknowledge 6 without having it, and the server would drop
//! it from the inbox. In one process the committer hands events over in
//! order. In a cluster they come from several places — this node's
//! committer, the other nodes over NATS (which may drop or reorder them),
//! the periodic poll — so every batch for a user goes through
//! [`Feeder::feed`], which compares its first number with the last one the
//! outlet sent and, if some are missing, reads them from PostgreSQL first
//! (they are committed: a transaction that numbered a later event waited
//! for the one that numbered an earlier one, on the inbox row).
//!
//! [`Feeder::poll`] asks the database, for every user online here, how
//! far its inbox goes, and refills what did not come: that is how events
//! arrive (late, complete) while NATS is down, or when a message to a user
//! who just moved here went to its old node.

use std::sync::Arc;

use parking_lot::Mutex;

use super::db::Db;
use super::reads::fetch_events;
use crate::router::{Outlet, Router};
use crate::store::{Pushed, UserId};

/// Users share this many locks (one feed at a time per user).
const STRIPES: usize = 64;

pub struct Feeder {
    router: Arc<Router>,
    db: Arc<Db>,
    stripes: Vec<Mutex<()>>,
}

impl Feeder {
    pub fn new(router: Arc<Router>, db: Arc<Db>) -> Feeder {
        Feeder { router, db, stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }

    /// Hands `events` (in order) to `user`'s outlets here (one per
    /// device), after refilling any gap before them.
    pub fn feed(&self, user: UserId, events: &[(u64, &Pushed)]) {
        let outlets = self.router.outlets(user);
        if outlets.is_empty() {
            return;
        }
        let _one_at_a_time = self.stripes[user % STRIPES].lock();
        for outlet in outlets {
            let next = outlet.last_sent() + 1;
            if let Some(&(first, _)) = events.iter().find(|(seq, _)| *seq >= next)
                && first > next
            {
                self.refill(&outlet, next - 1, first - 1);
                // Not refilled (the database failing over): these wait
                // for the poll, which reads them all in order. Sent now,
                // they would leave a hole, and the client's cumulative
                // ACK would drop what is in it from the inbox.
                if outlet.last_sent() + 1 < first {
                    continue;
                }
            }
            outlet.push_events(events);
        }
        crate::router::count_deliveries(events.iter().map(|(_, e)| *e));
    }

    /// Sends `user` its events after `after` up to `upto`, from the database.
    fn refill(&self, outlet: &Outlet, mut after: u64, upto: u64) {
        let mut conn = match self.db.get() {
            Ok(conn) => conn,
            Err(_) => return, // the next poll tries again
        };
        while after < upto {
            let events = match fetch_events(&mut *conn, outlet.user, after, upto) {
                Ok(events) => events,
                Err(e) => {
                    log::warn!("cluster: refilling the inbox of {}: {e}", outlet.name);
                    return;
                }
            };
            let Some(&(last, _)) = events.last() else { return };
            let borrowed: Vec<(u64, &Pushed)> = events.iter().map(|(seq, e)| (*seq, e)).collect();
            outlet.push_events(&borrowed);
            crate::metrics::get().gap_refills.inc_by(borrowed.len() as u64);
            after = last;
        }
    }

    /// Refills every user online here whose inbox went further than what
    /// its outlet sent.
    pub fn poll(&self) {
        let online = self.router.online_users();
        if online.is_empty() {
            return;
        }
        let ids: Vec<i64> = online.iter().map(|&u| u as i64).collect();
        let rows = match self.db.get().and_then(|mut conn| {
            use super::db::OrKo;
            conn.query("SELECT user_id, last_seq FROM inboxes WHERE user_id = ANY($1)", &[&ids])
                .or_ko("polling the inboxes")
        }) {
            Ok(rows) => rows,
            Err(_) => return,
        };
        for row in rows {
            let (user, last) = (row.get::<_, i64>(0) as UserId, row.get::<_, i64>(1) as u64);
            for outlet in self.router.outlets(user) {
                if outlet.last_sent() < last && !outlet.is_closing() {
                    let _one_at_a_time = self.stripes[user % STRIPES].lock();
                    let sent = outlet.last_sent();
                    if sent < last {
                        self.refill(&outlet, sent, last);
                    }
                }
            }
        }
    }
}
