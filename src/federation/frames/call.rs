//! The call family (`protocol::link::call`): `CALL`, told.
//!
//! - **Accepting**: the signal is taken by this server's table of calls
//!   as its user's (`server::calls_across::take`), answered at once with
//!   `OK` or the table's refusal.
//! - **Sending**: a user's signal waits in the peer's outbound queue
//!   ([`tell`]) and its handler waits for the peer's answer (an end this
//!   server decided waits for nothing); said between windows of numbered
//!   frames ([`say`]). An offer refused `BAD_REQUEST` says the peer does
//!   not carry calls: the signals after it are refused here for ten
//!   minutes, links dialed again included
//!   ([`NOT_CARRIED_FOR`](super::super::links::NOT_CARRIED_FOR); the peer
//!   may have been upgraded since). A signal waiting is reason enough to
//!   dial.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::super::links::Federation;
use super::super::outbound::{SIGNALS_WAITING, Tell, Told};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::call::Signal;
use crate::protocol::link::{Answer, CallFrame, clean_reason};
use crate::protocol::{Code, Ko};

/// The accepting side of a `CALL`.
pub(super) fn take(link: &mut Taking, call: CallFrame) -> std::io::Result<Flow> {
    let ctx = link.ctx()?;
    let CallFrame { from, to, id, signal } = call;
    let taken = crate::server::calls_across::take(&ctx, link.from, (&from, &to, &id), signal);
    link.answer_told("call signal", taken)
}

/// What a caller is told of a peer that answered an offer `BAD_REQUEST`
/// (its own words go to the log: a peer's echo of an SDP is no sentence
/// for a call screen).
fn carries_no_calls(peer: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("{peer} does not carry calls"))
}

/// The sending side, for `server::links::Links::tell_call`: the signal
/// of the call `id` from `from` (a user of this server) to `to`
/// (`bob@lab2`), queued for its server's dialer; `wait`ing, the peer's
/// answer. A signal to a peer that does not carry calls is refused at
/// once (its dialer learnt it from an earlier offer); one for a peer
/// whose outbound queue holds [`SIGNALS_WAITING`] told frames already is
/// `KO:FULL`.
pub fn tell(
    f: &Federation,
    (from, to, id): (&str, &str, &str),
    signal: Signal,
    wait: bool,
) -> Result<(), Ko> {
    let server = crate::store::state::remote::address(to).map_or("", |(_, server)| server);
    let frame = CallFrame { from: format!("{from}@{}", f.me), to: to.into(), id: id.into(), signal };
    let roster = f.roster();
    let peer = roster
        .peer(server)
        .ok_or_else(|| Ko::new(Code::UnknownServer, format!("no server named {server} in the roster")))?;
    let name = peer.name.clone();
    if f.status.lock().get(&name).is_some_and(|s| s.carries_no_calls()) {
        return Err(carries_no_calls(&name));
    }
    let unreachable = || Ko::new(Code::Offline, format!("{name} cannot be reached now"));
    let outbound = f.outbound(&name).ok_or_else(unreachable)?;
    // The dialer may have to dial (at most 10 s) and say its hello
    // before the signal; past this, the caller hears why not.
    let within = f.timeout * 2;
    let (answer, answered) = crossbeam_channel::bounded(1);
    let told = Told { until: Instant::now() + within, tell: Tell::Call(frame, wait.then_some(answer)) };
    if !outbound.tell(told) {
        let why = format!("{SIGNALS_WAITING} call signals wait for {name} already; try again");
        return Err(Ko::new(Code::Full, why));
    }
    if !wait {
        return Ok(());
    }
    answered.recv_timeout(within + Duration::from_millis(100)).unwrap_or_else(|_| {
        Err(Ko::new(Code::Offline, format!("{name} did not answer within {} s", within.as_secs())))
    })
}

/// The sending side, on the link: says `frame`, and its answer (`OK` or
/// `KO:<CODE>:<reason>`) to whoever waits (`answer`).
pub(super) fn say(
    d: &mut Dialing,
    frame: CallFrame,
    answer: Option<Sender<Result<(), Ko>>>,
) -> Result<(), Why> {
    let reply = |result: Result<(), Ko>| {
        if let Some(answer) = &answer {
            let _ = answer.try_send(result);
        }
    };
    if d.f.status.lock().get(d.peer).is_some_and(|s| s.carries_no_calls()) {
        reply(Err(carries_no_calls(d.peer)));
        return Ok(());
    }
    let offer = matches!(frame.signal, Signal::Offer { .. });
    match d.write(&frame.to_string()).and_then(|()| d.answer()) {
        Ok(Answer::Ok) => reply(Ok(())),
        Ok(Answer::Ko(None, Code::BadRequest, why)) if offer => {
            let why = clean_reason(&why);
            d.status(|s| s.no_calls = Some(Instant::now()));
            log::info!("link to {}: it does not carry calls (it answered: {why})", d.peer);
            reply(Err(carries_no_calls(d.peer)));
        }
        Ok(Answer::Ko(None, code, why)) => {
            log::debug!("link to {}: {frame} refused: {} {why}", d.peer, code.as_str());
            reply(Err(Ko::new(code, clean_reason(&why))));
        }
        Ok(other) => {
            reply(Err(Ko::new(Code::Offline, format!("{} answered {other}", d.peer))));
            return Err(format!("a call's signal answered {other}"));
        }
        Err(why) => {
            reply(Err(Ko::new(Code::Offline, format!("{} cannot be reached now: {why}", d.peer))));
            return Err(why);
        }
    }
    Ok(())
}
