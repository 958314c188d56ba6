//! How long a connection may stay quiet: the server's `--timeout`, learned
//! from `INFO`'s `timeout_secs` (1.2, docs/PROTOCOL.md §17), not only the
//! client's own `--timeout`.
//!
//! Why: the server closes a connection silent for its timeout and pings a
//! receive connection at half of it; the client takes a receive port
//! silent for *its* timeout as broken. With the two apart — a class server
//! at `serve --timeout 600` and a console at its default 10 s — the server
//! would ping every 300 s, the console give up after 10 s of quiet and
//! reconnect, and every roommate see it go offline and come back every
//! 10–20 s. So every send login asks, right after `SERVER`, and both
//! threads keep their connections alive within what they learned:
//!
//! | | the sender pings the send port every | the receiver takes a receive port as lost after |
//! |---|---|---|
//! | nothing learned (a server before 1.2) | half its own timeout | its own timeout |
//! | the server's timeout `T` | half the shorter of `T` and its own | the longer of `T` and its own |
//!
//! Pinging more often than needed costs one frame; taking a live
//! connection for dead costs a reconnection that everyone sees. Replies
//! are still awaited for the client's own timeout only (§8).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Connection;
use crate::error::{Error, Result};
use crate::protocol::{InfoLine, Reply, Request};

/// The key of `INFO` that says the server's `--timeout`, in seconds.
pub const KEY: &str = crate::protocol::info::TIMEOUT_SECS;

/// Asks a logged-in send connection for the server's timeout. `None` from a
/// server that does not say it (before 1.2: `KO:BAD_REQUEST`, after which
/// the connection goes on) or says it wrong; an error only if the
/// connection broke or the server closed it.
pub fn ask(conn: &mut Connection) -> Result<Option<Duration>> {
    match conn.request_patiently(&Request::Info)? {
        Reply::Listing(lines) => {
            let lines: Vec<InfoLine> = lines.iter().filter_map(|l| InfoLine::parse(l).ok()).collect();
            Ok(InfoLine::find(&lines, KEY).and_then(parse_secs))
        }
        Reply::Ko(ko) if ko.code.closes_connection() => {
            Err(Error::Refused { request: Request::Info.to_string(), ko })
        }
        other => {
            log::debug!("INFO answered {:?}: the server's timeout is not known", other.to_string());
            Ok(None)
        }
    }
}

/// `600`, `0.5`: seconds, positive and finite; anything else is not a
/// timeout to trust.
fn parse_secs(value: &str) -> Option<Duration> {
    let secs: f64 = value.parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

/// The server's timeout as last learned, shared by the two threads (the
/// sender learns it at each send login, the receiver reads it while it
/// waits). 0: not known.
#[derive(Debug, Default)]
pub struct Learned(AtomicU64);

impl Learned {
    pub fn set(&self, timeout: Option<Duration>) {
        let ms = timeout.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1));
        self.0.store(ms, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
}

/// How long the send port may stay quiet before a `PING`.
pub fn ping_every(own: Duration, server: Option<Duration>) -> Duration {
    server.map_or(own, |server| own.min(server)) / 2
}

/// How long the receive port may stay silent before it counts as lost.
pub fn silence_limit(own: Duration, server: Option<Duration>) -> Duration {
    server.map_or(own, |server| own.max(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_longer_server_timeout_widens_the_silence_and_a_shorter_one_the_pings() {
        // A console at 10 s and a class server at 600.
        assert_eq!(silence_limit(S(10), Some(S(600))), S(600));
        assert_eq!(ping_every(S(10), Some(S(600))), S(5));
        // A server at 2 s: pinged every second, silence still the client's.
        assert_eq!(ping_every(S(10), Some(S(2))), S(1));
        assert_eq!(silence_limit(S(10), Some(S(2))), S(10));
        // Nothing learned: the client's own.
        assert_eq!((ping_every(S(10), None), silence_limit(S(10), None)), (S(5), S(10)));
    }

    #[test]
    fn only_a_positive_number_of_seconds_is_learned() {
        assert_eq!(parse_secs("600"), Some(S(600)));
        assert_eq!(parse_secs("0.5"), Some(Duration::from_millis(500)));
        for bad in ["0", "-3", "NaN", "inf", "", "ten", "1e30"] {
            assert_eq!(parse_secs(bad), None, "{bad}");
        }
        let learned = Learned::default();
        assert_eq!(learned.get(), None);
        learned.set(Some(S(600)));
        assert_eq!(learned.get(), Some(S(600)));
        learned.set(None);
        assert_eq!(learned.get(), None);
    }
}
