//! Logging what an attack does without letting the attack fill the disk.
//!
//! Failed logins, throttled requests, refused connections and dropped
//! clients are each worth a log line: an operator must see them. But an
//! attacker makes them by the thousand a second, and a log line costs a
//! write. So each kind of line is limited to [`LINES_PER_SEC`] a second;
//! the ones past it are counted, and the next line that passes says how
//! many were left out (`… (and 1234 more like it not logged)`).

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Lines of one kind per second at most.
pub const LINES_PER_SEC: u32 = 20;

/// A budget of log lines for one kind of event.
#[derive(Default)]
pub struct LogLimit {
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    /// When the current one-second window started.
    started: Option<Instant>,
    /// Lines logged in it.
    logged: u32,
    /// Lines left out since the last one logged.
    skipped: u64,
}

impl LogLimit {
    /// `Some(n)` if a line may be logged now (`n` lines were left out
    /// since the last one); `None` if it must be left out.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut w = self.window.lock();
        if w.started.is_none_or(|started| now.duration_since(started) >= Duration::from_secs(1)) {
            w.started = Some(now);
            w.logged = 0;
        }
        if w.logged >= LINES_PER_SEC {
            w.skipped += 1;
            return None;
        }
        w.logged += 1;
        Some(std::mem::take(&mut w.skipped))
    }
}

/// What a logged line adds when others were left out before it.
pub fn skipped(n: u64) -> String {
    if n == 0 { String::new() } else { format!(" (and {n} more like it not logged)") }
}

/// Logs a line at `level` if `limit` allows it (see the module).
macro_rules! log_limited {
    ($limit:expr, $level:ident, $($arg:tt)+) => {
        if let Some(skipped) = $limit.allow() {
            log::$level!("{}{}", format_args!($($arg)+), $crate::server::log_limit::skipped(skipped));
        }
    };
}
pub(crate) use log_limited;

/// The kinds of line that are limited, one budget each.
#[derive(Default)]
pub struct Logs {
    /// Failed logins and refused registrations.
    pub auth: LogLimit,
    /// Requests and logins answered `KO:RATE_LIMITED`.
    pub throttled: LogLimit,
    /// Connections refused with `KO:BUSY`.
    pub refused: LogLimit,
    /// Clients dropped for not reading what they were sent.
    pub dropped: LogLimit,
    /// Calls ended, and their lines in the chat not stored (a caller past
    /// its quota may ring and hang up in a loop).
    pub calls: LogLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_and_counted() {
        let limit = LogLimit::default();
        let allowed: Vec<Option<u64>> = (0..LINES_PER_SEC + 5).map(|_| limit.allow()).collect();
        assert!(allowed[..LINES_PER_SEC as usize].iter().all(|a| *a == Some(0)));
        assert!(allowed[LINES_PER_SEC as usize..].iter().all(Option::is_none));
        // A new window: the first line says how many were left out.
        limit.window.lock().started = Some(Instant::now() - Duration::from_secs(2));
        assert_eq!(limit.allow(), Some(5));
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(skipped(0), "");
        assert_eq!(skipped(5), " (and 5 more like it not logged)");
    }
}
