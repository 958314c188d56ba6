//! The counts that bound the told frames of people and profiles across
//! servers, and whether this server lists its people to peers at all
//! (`--people-across`): the searches each user of this server asks of
//! other servers ([`ASKED_A_MINUTE`]), those each peer asks of this one
//! ([`ANSWERED_A_SECOND`]), and the profiles and photos each peer tells it
//! ([`PROFILES_A_SECOND`]). Held by the links (`links.rs`), counted by the
//! people and profile families (`people.rs`, `profile.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};

/// Searches of other servers' people one user may ask a minute.
pub const ASKED_A_MINUTE: u32 = 30;

/// Searches one peer may ask this server a second; past it, `KO:RATE_LIMITED`.
pub const ANSWERED_A_SECOND: u32 = 10;

/// Profiles and photos (`PROFILE` and `PHOTO` frames together) one peer
/// may tell this server a second; past it, `KO:RATE_LIMITED`.
pub const PROFILES_A_SECOND: u32 = 50;

/// Users (or peers) whose counts are kept at most: past it, those whose
/// window ended are forgotten (a window lasts a minute at most).
const KEPT: usize = 10_000;

/// How a server lists its people to other servers, and how much they
/// and its own users have asked.
pub struct PeopleAcross {
    /// `--people-across`: whether this server answers other servers'
    /// searches (`false`: `KO:FORBIDDEN`).
    pub lists: bool,
    /// This server's users' searches of other servers, by folded name.
    asked: Mutex<HashMap<String, Window>>,
    /// Other servers' searches of this one, by folded peer name.
    answered: Mutex<HashMap<String, Window>>,
    /// The profiles and photos other servers told this one, by folded
    /// peer name.
    told: Mutex<HashMap<String, Window>>,
}

/// A count within a window of time.
#[derive(Clone, Copy)]
struct Window {
    since: Instant,
    count: u32,
}

/// Counts one more in `who`'s window of `length` in `counts`: the time
/// left in the window if it already holds `most`.
fn count(
    counts: &Mutex<HashMap<String, Window>>,
    who: &str,
    most: u32,
    length: Duration,
) -> Result<(), Duration> {
    let mut counts = counts.lock();
    let now = Instant::now();
    if counts.len() >= KEPT {
        counts.retain(|_, w| now.duration_since(w.since) < length);
    }
    let window = counts.entry(fold(who)).or_insert(Window { since: now, count: 0 });
    if now.duration_since(window.since) >= length {
        *window = Window { since: now, count: 0 };
    }
    if window.count >= most {
        return Err(length.saturating_sub(now.duration_since(window.since)));
    }
    window.count += 1;
    Ok(())
}

impl PeopleAcross {
    pub fn new(lists: bool) -> PeopleAcross {
        PeopleAcross { lists, asked: Mutex::default(), answered: Mutex::default(), told: Mutex::default() }
    }

    /// Counts a search of `user` (of this server) of another server's
    /// people: `KO:RATE_LIMITED` past [`ASKED_A_MINUTE`].
    pub fn asking(&self, user: &str) -> Result<(), Ko> {
        count(&self.asked, user, ASKED_A_MINUTE, Duration::from_secs(60)).map_err(|left| {
            Ko::new(
                Code::RateLimited,
                format!(
                    "at most {ASKED_A_MINUTE} searches of other servers' people a minute; try again in {} s",
                    left.as_secs().max(1)
                ),
            )
        })
    }

    /// Counts a `PROFILE` or `PHOTO` frame from `peer`: `KO:RATE_LIMITED`
    /// past [`PROFILES_A_SECOND`].
    pub fn profiles_from(&self, peer: &str) -> Result<(), Ko> {
        count(&self.told, peer, PROFILES_A_SECOND, Duration::from_secs(1)).map_err(|_| {
            Ko::new(
                Code::RateLimited,
                format!(
                    "{peer} told {PROFILES_A_SECOND} profiles and photos this second, the most; try again"
                ),
            )
        })
    }

    /// Counts a search from `peer`: `KO:RATE_LIMITED` past [`ANSWERED_A_SECOND`].
    pub fn answering(&self, peer: &str) -> Result<(), Ko> {
        count(&self.answered, peer, ANSWERED_A_SECOND, Duration::from_secs(1)).map_err(|_| {
            Ko::new(
                Code::RateLimited,
                format!("{peer} asked for people {ANSWERED_A_SECOND} times this second, the most; try again"),
            )
        })
    }
}
