//! 1.3: finding people of another server (`PEOPLE:<start>@<server>`,
//! docs/PROTOCOL.md §26 and §27): a user's search crosses its server's
//! link to that server as an unnumbered `PEOPLE:<asker>@<origin>:<start>`
//! frame, said between windows of numbered frames as a call's signal is
//! (`dial.rs`), and answered at once as the send port answers `PEOPLE`:
//! `OK:<n>` and `n` lines `<user>:<ONLINE|ts|UNKNOWN>`, or a `KO`.
//!
//! Both ends bound it: the asking server lets each of its users ask
//! [`ASKED_A_MINUTE`] searches of other servers a minute (and at most
//! [`SIGNALS_WAITING`](super::links::SIGNALS_WAITING) wait for one peer,
//! with its call signals); the answering one takes at most
//! [`ANSWERED_A_SECOND`] from one peer a second, each answer at most
//! [`MAX_PEOPLE_ACROSS`] lines, and stores nothing of the question.
//! `--people-across off` makes a server refuse every search
//! (`KO:FORBIDDEN`).
//!
//! And the profiles (§30) of users who share a chat across servers: told
//! by the user's server as `PHOTO` and `PROFILE` frames
//! (`server::profile_across`), at most [`PROFILES_A_SECOND`] taken from
//! one peer a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::links::{Federation, said};
use crate::protocol::link::{Answer, MAX_PEOPLE_ACROSS, clean_reason};
use crate::protocol::names::fold;
use crate::protocol::{Code, FrameReader, Ko, SeenLine};
use crate::transport::SharedStream;

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
    pub(super) fn asking(&self, user: &str) -> Result<(), Ko> {
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
    pub(super) fn profiles_from(&self, peer: &str) -> Result<(), Ko> {
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
    fn answering(&self, peer: &str) -> Result<(), Ko> {
        count(&self.answered, peer, ANSWERED_A_SECOND, Duration::from_secs(1)).map_err(|_| {
            Ko::new(
                Code::RateLimited,
                format!("{peer} asked for people {ANSWERED_A_SECOND} times this second, the most; try again"),
            )
        })
    }
}

/// A `PEOPLE` frame from `from` (the link's server): `asker` must be one
/// of its users; this server must list its people to peers, and `from`
/// be within its rate. Then the lines the send port's `PEOPLE` would
/// give one of this server's users ([`crate::server::people_across::for_peer`]).
pub(super) fn answer(f: &Federation, from: &str, asker: &str, start: &str) -> Result<Vec<SeenLine>, Ko> {
    let theirs = crate::store::state::remote::address(asker).is_some_and(|(_, s)| fold(s) == fold(from));
    if !theirs {
        return Err(Ko::new(Code::Forbidden, format!("{from} speaks only for its own users, not {asker}")));
    }
    if !f.people.lists {
        let why = format!("{} does not list its people to other servers (--people-across off)", f.me);
        return Err(Ko::new(Code::Forbidden, why));
    }
    f.people.answering(from)?;
    let ctx = f.ctx().ok_or_else(|| Ko::new(Code::Unavailable, "shutting down"))?;
    Ok(crate::server::people_across::for_peer(&ctx, asker, start, MAX_PEOPLE_ACROSS))
}

/// The answer to a `PEOPLE` frame, as its lines go on the link.
pub(super) fn answer_lines(answer: Result<Vec<SeenLine>, Ko>) -> String {
    match answer {
        Ok(lines) => {
            let mut out = format!("{}\n", Answer::Hello(lines.len() as u64));
            for line in lines {
                out.push_str(&format!("{line}\n"));
            }
            out
        }
        Err(ko) => format!("{}\n", Answer::Ko(None, ko.code, ko.reason)),
    }
}

/// Reads the answer of `peer` to a `PEOPLE` frame just written: its
/// people as addresses (`bob@lab2`), or its refusal in words. The outer
/// error is the link's: it broke, or the peer said what no answer says.
pub(super) fn read_answer(
    reader: &mut FrameReader<SharedStream>,
    timeout: Duration,
    peer: &str,
) -> Result<Result<Vec<SeenLine>, Ko>, String> {
    let n = match super::dial::read_answer(reader, timeout)? {
        Answer::Hello(n) if n as usize <= MAX_PEOPLE_ACROSS => n as usize,
        Answer::Hello(n) => {
            return Err(format!("a search answered {n} people, more than {MAX_PEOPLE_ACROSS}"));
        }
        // A server that does not know the frame (the tiny server, an
        // earlier wachat): it does not search its people for others.
        Answer::Ko(None, Code::BadRequest, why) => {
            log::info!(
                "link to {peer}: it does not answer people searches (it answered: {})",
                clean_reason(&why)
            );
            let why = format!("{peer} does not search its people for other servers");
            return Ok(Err(Ko::new(Code::Unavailable, why)));
        }
        Answer::Ko(None, code, why) => return Ok(Err(Ko::new(code, clean_reason(&why)))),
        other => return Err(format!("a search answered {other}")),
    };
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let line = reader.read_frame(Some(Instant::now() + timeout)).map_err(|e| said(&e))?;
        let mut seen = SeenLine::parse(line).map_err(|e| format!("a search's line: {}", clean_reason(&e)))?;
        if seen.user.contains('@') {
            // A peer lists its own users, by their names there.
            return Err(format!("a search's line names {}, not a user of {peer}", clean_reason(&seen.user)));
        }
        seen.user = format!("{}@{peer}", seen.user);
        lines.push(seen);
    }
    Ok(Ok(lines))
}
