//! The people family (`protocol::link::people`, §26 and §27): a user's
//! search of another server's people (`PEOPLE:<start>@<server>`) crosses
//! its server's link as a told `PEOPLE:<asker>@<origin>:<start>` frame,
//! answered at once as the send port answers `PEOPLE`: `OK:<n>` and `n`
//! lines `<user>:<ONLINE|ts|UNKNOWN>`, or a `KO`.
//!
//! - **Accepting**: the asker must be the peer's own user, this server
//!   must list its people to peers (`--people-across`, else
//!   `KO:FORBIDDEN`), and the peer within [`ANSWERED_A_SECOND`](super::counts::ANSWERED_A_SECOND); then
//!   whom one of this server's users would be shown
//!   (`server::people_across::for_peer`), at most
//!   [`MAX_PEOPLE_ACROSS`] lines. Nothing of the question is stored.
//! - **Sending**: each user of this server asks at most
//!   [`ASKED_A_MINUTE`](super::counts::ASKED_A_MINUTE) searches of other servers a minute, and at most
//!   [`SIGNALS_WAITING`] told frames wait for one peer ([`ask`]); the
//!   lines it answers name addresses (`bob@lab2`) ([`say`]).
//!
//! The counts (and `--people-across`) are `counts.rs`'s.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::super::links::Federation;
use super::super::outbound::{SIGNALS_WAITING, Tell, Told};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::link::{Answer, MAX_PEOPLE_ACROSS, PeopleFrame, clean_reason};
use crate::protocol::{Code, Ko, SeenLine};

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
    crate::store::state::remote::speaks_for(from, asker)?;
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
/// queued for its dialer, within [`ASKED_A_MINUTE`](super::counts::ASKED_A_MINUTE) of `user`'s; answered
/// within twice the `--timeout`.
pub fn ask(f: &Federation, user: &str, server: &str, start: &str) -> Result<Vec<SeenLine>, Ko> {
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
