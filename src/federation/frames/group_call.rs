//! The group call family (`protocol::link::group_call`): `GROUPCALL`,
//! `GROUPEVENT`, `GROUPCALLS` and `GROUPIN`, told.
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
//!   (`server::group_calls_across::listing`); a `GROUPIN` (the home of
//!   a room asks which of this server's users it has in its call are in
//!   it) is answered those this server has in it
//!   (`server::group_calls_across::which_in`).
//! - **Sending**: a member's request, or a listing of its calls, waits
//!   in the home's outbound queue and its handler waits for the answer;
//!   the home's events leave as soon as the link is free, their answers
//!   only logged. Once a peer linked to this server again (its hello
//!   taken), the calls of this server's rooms that its users are in are
//!   asked of it, a `GROUPIN` each ([`linked_from`]), and its answer
//!   settles them (`server::group_calls_across::settle`). A peer that
//!   answers a `START` (either frame), a `GROUPCALLS` or a `GROUPIN`
//!   `KO:BAD_REQUEST` does not carry group calls: for ten
//!   minutes ([`NOT_CARRIED_FOR`](super::super::links::NOT_CARRIED_FOR),
//!   links dialed again included), a member's request for it is refused
//!   in words (`<peer> does not carry group calls`), its calls are not
//!   asked for, nor its users in this server's calls, and no ring is
//!   told it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::super::links::{Federation, PeerStatus};
use super::super::outbound::{Outbound, SIGNALS_WAITING, Tell, Told};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest, MAX_IN_CALL};
use crate::protocol::link::{Answer, GroupCallFrame, clean_reason};
use crate::protocol::names::check_address;
use crate::protocol::{Code, Ko, MAX_LISTING};
use crate::server::calls::Party;
use crate::server::{Ctx, group_calls_across};
use crate::store::state::remote::{here, on_the_link};

/// A told frame's answer: its lines (a `JOIN`'s members in the call
/// already, a listing's calls, a `GROUPIN`'s members in it), or the
/// refusal.
pub type Said = Result<Vec<String>, Ko>;

/// Where a told frame's answer goes.
pub type Answered = Sender<Said>;

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
        GroupCallFrame::In { room, id, members } => {
            match group_calls_across::which_in(&ctx, link.from, (&room, &id), &members) {
                Ok(inside) => {
                    let mut lines = format!("{}\n", Answer::Hello(inside.len() as u64));
                    for member in inside {
                        lines.push_str(&format!("{member}\n"));
                    }
                    link.say_lines(&lines)
                }
                Err(ko) => link.answer_told("group call's members", Err(ko)),
            }
        }
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
    let asks = homes.iter().filter_map(|home| outbound_of(f, home).ok());
    let asks =
        asks.map(|(name, outbound)| (name, outbound, GroupCallFrame::Calls { member: member.clone() }));
    let mut calls = Vec::new();
    for (name, answer) in ask_at_once(asks, within) {
        match answer {
            Some(Ok(lines)) => {
                calls.push((name, lines.iter().filter_map(|line| GroupCallLine::parse(line).ok()).collect()))
            }
            Some(Err(ko)) => log::debug!("link to {name}: its group calls not listed: {}", ko.reason),
            None => log::debug!("link to {name}: its group calls not listed within {} s", within.as_secs()),
        }
    }
    calls
}

/// Tells each frame to its peer's outbound queue, all at once, and then
/// waits for their answers until one deadline, `within` (and 100 ms for
/// an answer to cross): each frame's key with its answer, or `None` if
/// none came by then. A frame that found its queue full is left out: it
/// was never said.
fn ask_at_once<K>(
    asks: impl IntoIterator<Item = (K, Arc<Outbound>, GroupCallFrame)>,
    within: Duration,
) -> Vec<(K, Option<Said>)> {
    let mut asked = Vec::new();
    for (key, outbound, frame) in asks {
        let (answer, answered) = crossbeam_channel::bounded(1);
        let told = Told { until: Instant::now() + within, tell: Tell::GroupCall(frame, Some(answer)) };
        if outbound.tell(told) {
            asked.push((key, answered));
        }
    }
    let until = Instant::now() + within + Duration::from_millis(100);
    asked.into_iter().map(|(key, answered)| (key, answered.recv_deadline(until).ok())).collect()
}

/// How many times at most the home asks a call's `GROUPIN` that found
/// no link: the link it dialed to a server that restarted meanwhile is
/// found broken by the first, and dialed again for the next.
const IN_TRIES: usize = 3;

/// The home's side, once `peer` linked to this server again (its hello
/// taken): each call of this server's rooms that users of `peer` are in
/// is asked of it (a `GROUPIN`, those users named), on a thread of its
/// own, one a peer at most, which settles each call by the answer
/// (`server::group_calls_across::settle`): its users that `peer` does
/// not name leave the call. No answer (a link found broken, a peer gone
/// again), none is taken out. Nothing to ask, no thread.
pub fn linked_from(f: &Federation, peer: &str) {
    let Some(ctx) = f.ctx() else { return };
    let calls = group_calls_across::theirs_in_calls(&ctx, peer);
    drop(ctx);
    if calls.is_empty() {
        return;
    }
    let Ok((name, outbound)) = outbound_of(f, peer) else { return };
    {
        let mut status = f.status.lock();
        let asking = &mut status.entry(name.clone()).or_default().asking_who_is_in;
        if let Some(again) = asking {
            *again = true; // its thread asks again once it is done
            return;
        }
        *asking = Some(false);
    }
    let asker = Asker {
        ctx: f.ctx.clone(),
        status: Arc::downgrade(&f.status),
        outbound,
        me: f.me.clone(),
        peer: name.clone(),
        within: f.timeout * 2,
    };
    let spawned = std::thread::Builder::new().name("group-call-in".into()).spawn(move || {
        let mut calls = calls;
        loop {
            asker.settle(calls);
            let Some(status) = asker.status.upgrade() else { return };
            let mut status = status.lock();
            let asking = &mut status.entry(asker.peer.clone()).or_default().asking_who_is_in;
            let again = asking.is_some_and(|again| again);
            match (again, asker.ctx.upgrade().filter(|ctx| !ctx.shutting_down())) {
                (true, Some(ctx)) => {
                    *asking = Some(false);
                    drop(status);
                    calls = group_calls_across::theirs_in_calls(&ctx, &asker.peer);
                }
                _ => {
                    *asking = None;
                    return;
                }
            }
        }
    });
    if let Err(e) = spawned {
        if let Some(status) = f.status.lock().get_mut(&name) {
            status.asking_who_is_in = None;
        }
        log::warn!("link from {peer}: its users in our calls not asked about: {e}");
    }
}

/// A call of this server's room and the users of a peer in it.
type TheirsIn = (Arc<str>, String, Vec<Party>);

/// What [`linked_from`]'s thread holds: no `Ctx` while it waits, so a
/// server shutting down is not held by it.
struct Asker {
    ctx: std::sync::Weak<Ctx>,
    /// The links' statuses, where the peer's `asking_who_is_in` is kept.
    status: std::sync::Weak<Mutex<HashMap<String, PeerStatus>>>,
    outbound: Arc<Outbound>,
    me: String,
    peer: String,
    within: Duration,
}

impl Asker {
    /// Asks `calls` of the peer, all at once, each answered call settled;
    /// those that found no link asked again, [`IN_TRIES`] times at most.
    fn settle(&self, mut calls: Vec<TheirsIn>) {
        for _ in 0..IN_TRIES {
            let asks = calls.drain(..).map(|call| {
                let (room, id, members) = &call;
                let members = members.iter().map(|p| on_the_link(&p.name, &self.me)).collect();
                let frame = GroupCallFrame::In { room: on_the_link(room, &self.me), id: id.clone(), members };
                (call, self.outbound.clone(), frame)
            });
            for (call, answer) in ask_at_once(asks, self.within) {
                let (room, id, members) = &call;
                match answer {
                    Some(Ok(kept)) => match self.ctx.upgrade().filter(|ctx| !ctx.shutting_down()) {
                        Some(ctx) => group_calls_across::settle(&ctx, &self.peer, (room, id), members, &kept),
                        None => return,
                    },
                    Some(Err(ko)) if ko.code != Code::Offline => {
                        log::debug!("link to {}: {room}'s call {id} not settled: {}", self.peer, ko.reason);
                    }
                    Some(Err(_)) | None => calls.push(call),
                }
            }
            if calls.is_empty() {
                return;
            }
        }
        log::debug!("link to {}: {} calls not settled: it did not answer", self.peer, calls.len());
    }
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
    let listing = matches!(&frame, GroupCallFrame::Calls { .. } | GroupCallFrame::In { .. });
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
        GroupCallFrame::In { .. } => "GROUPIN",
    }
}
