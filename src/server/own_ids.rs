//! Ids of the messages the server writes itself, in a user's name.

use std::sync::atomic::{AtomicU64, Ordering};

/// A message id for a message the server writes itself (a room's
/// moderation notice, `mod-…`; a missed call, `call-…`): `<kind>-<ms>-<n>`,
/// the time and a count of this process's, unlike the ids clients make
/// (counters or random, see `client::outbox`). Unlikely, not impossible,
/// to be one a client chose: the store answers a taken id as a resend.
pub fn own_message_id(kind: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!("{kind}-{}-{}", crate::store::now_ms(), COUNT.fetch_add(1, Ordering::Relaxed))
}
