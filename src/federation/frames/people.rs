//! The people family (`protocol::link::people`, §26 and §27): a user's
//! search of another server's people (`PEOPLE:<start>@<server>`) crosses
//! its server's link as a told `PEOPLE:<asker>@<origin>:<start>` frame,
//! answered at once as the send port answers `PEOPLE`: `OK:<n>` and `n`
//! lines `<user>:<ONLINE|ts|UNKNOWN>`, or a `KO`.
//!
//! - **Accepting**: the asker must be the peer's own user, this server
//!   must list its people to peers (`--people-across`, else
//!   `KO:FORBIDDEN`), and the peer within [`ANSWERED_A_SECOND`]; then
//!   whom one of this server's users would be shown
//!   (`server::people_across::for_peer`), at most
//!   [`MAX_PEOPLE_ACROSS`] lines. Nothing of the question is stored.
//! - **Sending**: each user of this server asks at most
//!   [`ASKED_A_MINUTE`] searches of other servers a minute, and at most
//!   [`SIGNALS_WAITING`] told frames wait for one peer ([`ask`]); the
//!   lines it answers name addresses (`bob@lab2`) ([`say`]).
//!
//! And the profiles (§30) of users who share a chat across servers,
//! `PHOTO` and `PROFILE` frames (`profile.rs`): at most
//! [`PROFILES_A_SECOND`] taken from one peer a second, counted here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::super::links::{Federation, SIGNALS_WAITING};
use super::{Dialing, Flow, Taking, Tell, Told, Why};
use crate::protocol::link::{Answer, MAX_PEOPLE_ACROSS, PeopleFrame, clean_reason};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, SeenLine};

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
    pub(super) fn answering(&self, peer: &str) -> Result<(), Ko> {
        count(&self.answered, peer, ANSWERED_A_SECOND, Duration::from_secs(1)).map_err(|_| {
            Ko::new(
                Code::RateLimited,
                format!("{peer} asked for people {ANSWERED_A_SECOND} times this second, the most; try again"),
            )
        })
    }
}

/// The accepting side of a `PEOPLE` frame: its answer's lines.
pub(super) fn take(link: &mut Taking, search: PeopleFrame) -> std::io::Result<Flow> {
    let answer = answer(link.f, link.from, &search.asker, &search.start);
    if let Err(ko) = &answer {
        log::debug!("link: {}'s search of people refused: {}", link.from, ko.reason);
    }
    link.say_lines(&answer_lines(answer))
}

/// A `PEOPLE` frame from `from` (the link's server): `asker` must be one
/// of its users; this server must list its people to peers, and `from`
/// be within its rate. Then the lines the send port's `PEOPLE` would
/// give one of this server's users ([`crate::server::people_across::for_peer`]).
fn answer(f: &Federation, from: &str, asker: &str, start: &str) -> Result<Vec<SeenLine>, Ko> {
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
fn answer_lines(answer: Result<Vec<SeenLine>, Ko>) -> String {
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

/// The sending side, for `server::links::Links::ask_people`: `user`'s
/// search of the people of `server` whose names begin with `start`,
/// queued for its dialer, within [`ASKED_A_MINUTE`] of `user`'s; answered
/// within twice the `--timeout`.
pub(in crate::federation) fn ask(
    f: &Federation,
    user: &str,
    server: &str,
    start: &str,
) -> Result<Vec<SeenLine>, Ko> {
    let roster = f.roster();
    let peer = roster
        .peer(server)
        .ok_or_else(|| Ko::new(Code::UnknownServer, format!("no server named {server} in the roster")))?;
    let name = peer.name.clone();
    f.people.asking(user)?;
    let unreachable = || Ko::new(Code::Offline, format!("{name} cannot be reached now"));
    let outbound = f.outbound(&name).ok_or_else(unreachable)?;
    let frame = PeopleFrame { asker: format!("{user}@{}", f.me), start: start.to_string() };
    let within = f.timeout * 2;
    let (listing, answered) = crossbeam_channel::bounded(1);
    let told = Told { until: Instant::now() + within, tell: Tell::People(frame, listing) };
    if !outbound.tell(told) {
        return Err(Ko::new(
            Code::Full,
            format!("{SIGNALS_WAITING} requests wait for {name} already; try again"),
        ));
    }
    answered.recv_timeout(within + Duration::from_millis(100)).unwrap_or_else(|_| {
        Err(Ko::new(Code::Offline, format!("{name} did not answer within {} s", within.as_secs())))
    })
}

/// The sending side, on the link: says `frame`, and the people the peer
/// answered (or its refusal) to whoever waits (`listing`).
pub(super) fn say(
    d: &mut Dialing,
    frame: PeopleFrame,
    listing: Sender<Result<Vec<SeenLine>, Ko>>,
) -> Result<(), Why> {
    match d.write(&frame.to_string()).and_then(|()| read_people(d)) {
        Ok(result) => {
            let _ = listing.try_send(result);
            Ok(())
        }
        Err(why) => {
            let ko = Ko::new(Code::Offline, format!("{} cannot be reached now: {why}", d.peer));
            let _ = listing.try_send(Err(ko));
            Err(why)
        }
    }
}

/// Reads the peer's answer to a `PEOPLE` frame just written: its people
/// as addresses (`bob@lab2`), or its refusal in words. The outer error
/// is the link's: it broke, or the peer said what no answer says.
fn read_people(d: &mut Dialing) -> Result<Result<Vec<SeenLine>, Ko>, Why> {
    let peer = d.peer;
    let n = match d.answer()? {
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
        let line = d.line()?;
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
