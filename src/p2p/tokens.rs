//! The token book: which peers the server said may connect to us, with
//! which token, until when.
//!
//! The server keeps no token (`src/server/p2p.rs`): it pushes
//! `P2P:<from>:<token>` to us and forgets it, so checking a `HELLO` is our
//! job. A token is good for one connection of that one user, for
//! [`LIFETIME`] after it arrived; anything else is `KO:AUTH_FAILED`.
//!
//! Why [`Tokens::take`] may wait: the server answers the dialer
//! `OK:<ip>:<port>:<token>` right after pushing `P2P:<from>:<token>` to
//! us, but the two travel on different connections. A fast dialer's
//! `HELLO` can arrive before our receiver thread has read the event, so a
//! token not yet here is given a short grace to arrive.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::protocol::names::fold;

/// How long a token from the server stays good (protocol §8).
pub const LIFETIME: Duration = Duration::from_secs(60);

/// Most tokens kept at once. A server that pushes more (nobody opens
/// hundreds of chats a minute) makes us forget the oldest: memory stays
/// bounded whatever arrives on the receive port.
pub const MAX_TOKENS: usize = 256;

/// One expected connection.
struct Awaited {
    /// The user the server introduced, folded (names ignore case).
    from: String,
    token: String,
    /// When it stops being good.
    until: Instant,
}

/// The expected connections, shared by the receiver thread (which adds
/// them) and the P2P connection threads (which use them up).
#[derive(Default)]
pub struct Tokens {
    expected: Mutex<Vec<Awaited>>,
    /// Notified on every new token, for a `HELLO` waiting in [`Tokens::take`].
    arrived: Condvar,
}

impl Tokens {
    /// The server said `from` will connect with `token` (`P2P:<from>:<token>`).
    pub fn expect(&self, from: &str, token: &str) {
        self.expect_at(from, token, Instant::now());
    }

    fn expect_at(&self, from: &str, token: &str, now: Instant) {
        let mut expected = self.expected.lock();
        expected.retain(|e| e.until > now);
        if expected.len() >= MAX_TOKENS {
            expected.remove(0); // the oldest
        }
        expected.push(Awaited { from: fold(from), token: token.to_string(), until: now + LIFETIME });
        drop(expected);
        self.arrived.notify_all();
    }

    /// Uses up the token `from` presented, if the server gave it for that
    /// user less than [`LIFETIME`] ago. Waits up to `grace` for a token
    /// still on its way. `true`: the connection may go on.
    pub fn take(&self, from: &str, token: &str, grace: Duration) -> bool {
        let give_up = Instant::now() + grace;
        let mut expected = self.expected.lock();
        loop {
            let now = Instant::now();
            expected.retain(|e| e.until > now);
            if let Some(i) = expected.iter().position(|e| e.from == fold(from) && same(&e.token, token)) {
                // Single use: a second HELLO with it finds nothing.
                expected.remove(i);
                return true;
            }
            if self.arrived.wait_until(&mut expected, give_up).timed_out() {
                return false;
            }
        }
    }

    /// How many tokens are waiting (for tests).
    pub fn len(&self) -> usize {
        self.expected.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Compares two tokens in a time that does not depend on where they
/// differ: otherwise a stranger timing our `KO`s could guess a token one
/// character at a time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    #[test]
    fn a_token_is_good_once_for_its_user_only() {
        let tokens = Tokens::default();
        tokens.expect("Ana", "00ff");
        assert!(!tokens.take("eve", "00ff", NO_WAIT), "another user");
        assert!(!tokens.take("ana", "00fe", NO_WAIT), "another token");
        assert!(tokens.take("ana", "00ff", NO_WAIT), "names ignore case");
        assert!(!tokens.take("ana", "00ff", NO_WAIT), "single use");
    }

    #[test]
    fn a_token_expires_after_its_lifetime() {
        let tokens = Tokens::default();
        let long_ago = Instant::now() - LIFETIME - Duration::from_millis(1);
        tokens.expect_at("ana", "aa", long_ago);
        tokens.expect_at("ana", "bb", Instant::now() - LIFETIME + Duration::from_secs(5));
        assert!(!tokens.take("ana", "aa", NO_WAIT));
        assert!(tokens.take("ana", "bb", NO_WAIT));
    }

    #[test]
    fn the_book_is_bounded() {
        let tokens = Tokens::default();
        for i in 0..MAX_TOKENS + 10 {
            tokens.expect("ana", &format!("{i:x}"));
        }
        assert_eq!(tokens.len(), MAX_TOKENS);
        assert!(!tokens.take("ana", "0", NO_WAIT), "the oldest was forgotten");
        assert!(tokens.take("ana", &format!("{:x}", MAX_TOKENS + 9), NO_WAIT));
    }

    #[test]
    fn a_hello_waits_for_a_token_on_its_way() {
        let tokens = std::sync::Arc::new(Tokens::default());
        let late = tokens.clone();
        let waiter = std::thread::spawn(move || late.take("ana", "cafe", Duration::from_secs(10)));
        // Whenever the token comes within the grace, the waiter sees it.
        tokens.expect("ana", "cafe");
        assert!(waiter.join().unwrap());
        assert!(tokens.is_empty());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abc", "abcd"));
    }
}
