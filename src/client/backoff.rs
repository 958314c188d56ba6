//! How long a client waits before asking again: after a lost connection
//! (doubling from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`]), after a refusal
//! for the rate (as long as the server says, within the same bounds), and
//! which refusals say "try again" at all. One rule for every client part
//! that retries: the sender, the receiver, a connection's patient
//! requests, the one-shot commands.

use std::time::Duration;

use crate::protocol::{Code, Ko};

/// First wait before reconnecting, doubled after each failure…
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// …up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// True for a refusal that says "try again" (1.2's `KO:UNAVAILABLE`): the
/// request was not done, or is recognised when sent again with its id.
/// The one rule of every client that retries (the outbox, `wachat send`).
pub fn try_again(code: Code) -> bool {
    code == Code::Unavailable
}

/// How long to wait before sending again what `ko` refused for the rate
/// (`KO:RATE_LIMITED`, protocol 1.1): as long as the server says, at least
/// [`FIRST_BACKOFF`] and at most [`MAX_BACKOFF`]; `None` for any other
/// refusal. The request was not done; the connection stays usable, so a
/// refusal for the rate is never a reason to go offline.
pub fn rate_wait(ko: &Ko) -> Option<Duration> {
    (ko.code == Code::RateLimited)
        .then(|| ko.retry_after().unwrap_or(FIRST_BACKOFF).clamp(FIRST_BACKOFF, MAX_BACKOFF))
}

/// The wait after `backoff`: doubled, up to [`MAX_BACKOFF`].
pub fn longer(backoff: Duration) -> Duration {
    (backoff * 2).min(MAX_BACKOFF)
}
