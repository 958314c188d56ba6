//! The group call family (`protocol::link::group_call`): `GROUPCALL`,
//! `GROUPEVENT` and `GROUPCALLS`, told.
//!
//! - **Accepting**: a `GROUPCALL` (a member of the peer asks of a room
//!   homed here) is judged by this server's table of rooms' calls as its
//!   own member's request (`server::group_calls_across::take_request`),
//!   answered `OK`, a `JOIN` `OK:<n>` and the members in the call
//!   already, or the refusal; a `GROUPEVENT` (the home of a room tells
//!   one of this server's members) is handed to the member's devices
//!   (`server::group_calls_across::take_event`), answered `OK` or the
//!   refusal; a `GROUPCALLS` (a member of the peer lists its calls) is
//!   answered the calls of this server's rooms it is in
//!   (`server::group_calls_across::listing`).
//! - **Sending**: a member's request, or a listing of its calls, waits
//!   in the home's outbound queue and its handler waits for the answer;
//!   the home's events leave as soon as the link is free, their answers
//!   only logged. A peer that answers a `START` (either frame) or a
//!   `GROUPCALLS` `KO:BAD_REQUEST` does not carry group calls: for ten
//!   minutes ([`NOT_CARRIED_FOR`](super::super::links::NOT_CARRIED_FOR),
//!   links dialed again included), a member's request for it is refused
//!   in words (`<peer> does not carry group calls`), its calls are not
//!   asked for, and no ring is told it.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::super::links::Federation;
use super::super::outbound::{SIGNALS_WAITING, Tell, Told};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest, MAX_IN_CALL};
use crate::protocol::link::{Answer, GroupCallFrame, clean_reason};
use crate::protocol::names::check_address;
use crate::protocol::{Code, Ko, MAX_LISTING};
use crate::server::group_calls_across;
use crate::store::state::remote::{here, on_the_link};

/// Where a member's request's answer goes: the members in the call
/// already (a `JOIN`'s), or the refusal.
pub type Answered = Sender<Result<Vec<String>, Ko>>;

/// The accepting side of a `GROUPCALL`, a `GROUPEVENT` or a `GROUPCALLS`.
pub(super) fn take(link: &mut Taking, frame: GroupCallFrame) -> std::io::Result<Flow> {
    let ctx = link.ctx()?;
    match frame {
        GroupCallFrame::Request { room, member, request, start_id } => {
            let taken =
                group_calls_across::take_request(&ctx, link.from, (&room, &member), request, start_id);
            match taken {
                Ok(Some(others)) => {
                    let mut lines = format!("{}\n", Answer::Hello(others.len() as u64));
                    for other in others {
                        lines.push_str(&format!("{}\n", on_the_link(&other, &link.f.me)));
                    }
                    link.say_lines(&lines)
                }
                Ok(None) => link.answer_told("group call request", Ok(())),
                Err(ko) => link.answer_told("group call request", Err(ko)),
            }
        }
        GroupCallFrame::Event { room, member, event } => {
            let taken = group_calls_across::take_event(&ctx, link.from, (&room, &member), event);
            link.answer_told("group call event", taken)
        }
        GroupCallFrame::Calls { member } => match group_calls_across::listing(&ctx, link.from, &member) {
            Ok(calls) => {
                let mut lines = format!("{}\n", Answer::Hello(calls.len() as u64));
                for call in calls {
                    let named = |name: &str| on_the_link(name, &link.f.me);
                    let call = GroupCallLine {
                        room: named(&call.room),
                        by: named(&call.by),
                        members: call.members.iter().map(|m| named(m)).collect(),
                        ..call
                    };
                    lines.push_str(&format!("{call}\n"));
                }
                link.say_lines(&lines)
            }
            Err(ko) => link.answer_told("group calls listing", Err(ko)),
        },
    }
}

/// What a member is told of a home that does not carry group calls.
fn carries_no_group_calls(peer: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("{peer} does not carry group calls"))
}

/// The server of `address` (`#lab@lab2`, `ana@lab1`).
fn server_of(address: &str) -> &str {
    crate::store::state::remote::address(address).map_or("", |(_, server)| server)
}

/// The peer of the roster named `server`, and its outbound queue;
/// refused if it does not carry group calls.
fn outbound_of(
    f: &Federation,
    server: &str,
) -> Result<(String, std::sync::Arc<super::super::outbound::Outbound>), Ko> {
    let roster = f.roster();
    let peer = roster
        .peer(server)
        .ok_or_else(|| Ko::new(Code::UnknownServer, format!("no server named {server} in the roster")))?;
    let name = peer.name.clone();
    if f.status.lock().get(&name).is_some_and(|s| s.carries_no_group_calls()) {
        return Err(carries_no_group_calls(&name));
    }
    let unreachable = Ko::new(Code::Offline, format!("{name} cannot be reached now"));
    let outbound = f.outbound(&name).ok_or(unreachable)?;
    Ok((name, outbound))
}

/// The sending side, for `server::links::Links::ask_group_call`: the
/// request of `member` (a user of this server) about the call of `room`
/// (`#lab@lab2`), queued for the room's home, whose answer it waits for.
pub fn ask(
    f: &Federation,
    (room, member): (&str, &str),
    request: GroupRequest,
    start_id: Option<String>,
) -> Result<Vec<String>, Ko> {
    let (name, outbound) = outbound_of(f, server_of(room))?;
    let member = format!("{member}@{}", f.me);
    let request = match request {
        GroupRequest::Signal { id, to, signal } => {
            GroupRequest::Signal { id, to: on_the_link(&to, &f.me), signal }
        }
        other => other,
    };
    let frame = GroupCallFrame::Request { room: room.into(), member, request, start_id };
    let within = f.timeout * 2;
    let (answer, answered) = crossbeam_channel::bounded(1);
    let told = Told { until: Instant::now() + within, tell: Tell::GroupCall(frame, Some(answer)) };
    if !outbound.tell(told) {
        let why = format!("{SIGNALS_WAITING} call signals wait for {name} already; try again");
        return Err(Ko::new(Code::Full, why));
    }
    let others = answered.recv_timeout(within + Duration::from_millis(100)).unwrap_or_else(|_| {
        Err(Ko::new(Code::Offline, format!("{name} did not answer within {} s", within.as_secs())))
    })?;
    Ok(others.iter().map(|other| here(other, &f.me).to_string()).collect())
}

/// The sending side, for `server::links::Links::tell_group_call`: the
/// event of the call of `room` (homed here, `#lab`) for `member`
/// (`bob@lab2`), queued for its server; nobody waits for the answer. A
/// peer that does not carry group calls, or whose queue is full, is not
/// told (the call's line reaches its members as any room message).
pub fn tell(f: &Federation, (room, member): (&str, &str), event: GroupEvent) {
    let Ok((name, outbound)) = outbound_of(f, server_of(member)) else { return };
    let (room, member) = (format!("{room}@{}", f.me), member.to_string());
    let frame = GroupCallFrame::Event { room, member, event: event.renamed(|n| on_the_link(&n, &f.me)) };
    let told = Told { until: Instant::now() + f.timeout * 2, tell: Tell::GroupCall(frame, None) };
    if !outbound.tell(told) {
        log::debug!("link to {name}: a group call's event dropped, {SIGNALS_WAITING} told frames wait");
    }
}

/// The sending side, for `server::links::Links::ask_group_calls`: the
/// calls going on in the rooms of each of `homes` that `member` (a user
/// of this server) is a member of, asked of all of them at once; the
/// calls of each that answered within twice the link's timeout (every
/// name an address), the others left out: a home that cannot be reached
/// has no call its member could join now.
pub fn ask_calls(f: &Federation, member: &str, homes: &[String]) -> Vec<(String, Vec<GroupCallLine>)> {
    let member = format!("{member}@{}", f.me);
    let within = f.timeout * 2;
    let mut asked = Vec::new();
    for home in homes {
        let Ok((name, outbound)) = outbound_of(f, home) else { continue };
        let (answer, answered) = crossbeam_channel::bounded(1);
        let frame = GroupCallFrame::Calls { member: member.clone() };
        let told = Told { until: Instant::now() + within, tell: Tell::GroupCall(frame, Some(answer)) };
        if outbound.tell(told) {
            asked.push((name, answered));
        }
    }
    let until = Instant::now() + within + Duration::from_millis(100);
    let mut calls = Vec::new();
    for (name, answered) in asked {
        match answered.recv_deadline(until) {
            Ok(Ok(lines)) => {
                calls.push((name, lines.iter().filter_map(|line| GroupCallLine::parse(line).ok()).collect()))
            }
            Ok(Err(ko)) => log::debug!("link to {name}: its group calls not listed: {}", ko.reason),
            Err(_) => log::debug!("link to {name}: its group calls not listed within {} s", within.as_secs()),
        }
    }
    calls
}

/// The sending side, on the link: says `frame`, and its answer to
/// whoever waits (`answer`).
pub(super) fn say(d: &mut Dialing, frame: GroupCallFrame, answer: Option<Answered>) -> Result<(), Why> {
    let reply = |result: Result<Vec<String>, Ko>| {
        if let Some(answer) = &answer {
            let _ = answer.try_send(result);
        }
    };
    if d.f.status.lock().get(d.peer).is_some_and(|s| s.carries_no_group_calls()) {
        reply(Err(carries_no_group_calls(d.peer)));
        return Ok(());
    }
    let (most, check) = answer_lines(&frame);
    let start = matches!(
        &frame,
        GroupCallFrame::Request { request: GroupRequest::Start { .. }, .. }
            | GroupCallFrame::Event { event: GroupEvent::Ring { .. } | GroupEvent::Start { .. }, .. }
    );
    let listing = matches!(&frame, GroupCallFrame::Calls { .. });
    match d.write(&frame.to_string()).and_then(|()| d.answer()) {
        Ok(Answer::Ok) => reply(Ok(Vec::new())),
        Ok(Answer::Hello(n)) if n as usize <= most => {
            let mut others = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let read = d.line().and_then(|line| {
                    check(line).map_err(|e| clean_reason(&e))?;
                    Ok(line.to_string())
                });
                match read {
                    Ok(other) => others.push(other),
                    Err(why) => {
                        reply(Err(Ko::new(Code::Offline, format!("{} answered no member: {why}", d.peer))));
                        return Err(why);
                    }
                }
            }
            reply(Ok(others));
        }
        Ok(Answer::Ko(None, Code::BadRequest, why)) if start || listing => {
            let why = clean_reason(&why);
            d.status(|s| s.no_group_calls = Some(Instant::now()));
            log::info!("link to {}: it does not carry group calls (it answered: {why})", d.peer);
            reply(Err(carries_no_group_calls(d.peer)));
        }
        Ok(Answer::Ko(None, code, why)) => {
            log::debug!("link to {}: {} refused: {} {why}", d.peer, frame_word(&frame), code.as_str());
            reply(Err(Ko::new(code, clean_reason(&why))));
        }
        Ok(other) => {
            reply(Err(Ko::new(Code::Offline, format!("{} answered {other}", d.peer))));
            return Err(format!("a group call's frame answered {other}"));
        }
        Err(why) => {
            reply(Err(Ko::new(Code::Offline, format!("{} cannot be reached now: {why}", d.peer))));
            return Err(why);
        }
    }
    Ok(())
}

/// A check of one line of an answer: what is wrong with it.
type LineCheck = fn(&str) -> Result<(), String>;

/// What follows the `OK:<n>` that answers `frame`: how many lines at
/// most, and the check of each. A join is answered the members in the
/// call, an address a line; a listing its calls, a line of §32's
/// `GROUPCALLS` each.
fn answer_lines(frame: &GroupCallFrame) -> (usize, LineCheck) {
    match frame {
        GroupCallFrame::Calls { .. } => (MAX_LISTING, |line| {
            GroupCallLine::parse(line).map(drop).map_err(|e| format!("a group call listed: {e}"))
        }),
        _ => (MAX_IN_CALL, |line| {
            check_address(line).map(drop).map_err(|e| format!("a group call's member: {e}"))
        }),
    }
}

/// The frame's word, for the log (a signal's payload is no log line).
fn frame_word(frame: &GroupCallFrame) -> &'static str {
    match frame {
        GroupCallFrame::Request { .. } => "GROUPCALL",
        GroupCallFrame::Event { .. } => "GROUPEVENT",
        GroupCallFrame::Calls { .. } => "GROUPCALLS",
    }
}
