//! 1.3: a room's call across servers (docs/PROTOCOL.md §27, "A room's
//! call across servers"), in the groups `taking` and `sending`. The
//! suite plays a member's server: its user `a` is a member of the
//! server's room, where the server's user `b` starts a call.
//!
//! - A server that carries group calls takes the suite's `GROUPCALL`
//!   for its own user (a `JOIN`, answered with who is in the call, then
//!   a `LEAVE`), lists the call to the suite's `GROUPCALLS` while it
//!   goes on, refuses a request or a listing for a user that is not the
//!   suite's, and an event of a room that is not the suite's,
//!   `FORBIDDEN`; and it rings the suite's member (a `GROUPEVENT`).
//! - One that declares it does not (`--no-group-calls`, as the tiny
//!   server does) answers a start `KO:BAD_REQUEST`, its word for "no
//!   group calls here" (which its peers then say to their users in
//!   words), and the link goes on.

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::link::OpenedLink;
use super::members::room_of_both;
use crate::conform::case::check;
use crate::conform::wire::Conn;
use crate::conform::{Failure, Group};
use crate::protocol::Code;
use crate::protocol::group_call::GroupCallLine;
use crate::protocol::link::{Answer, GroupCallFrame};
use crate::protocol::names::fold;

pub fn taking() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Taking, name, section, run);
    let section = "§27 A room's call across servers";
    vec![
        c("group-call-joined-across", section, joined_across).wants(Wants::GroupCalls),
        c("group-call-of-another-s-user-forbidden", section, another_s_forbidden).wants(Wants::GroupCalls),
        c("group-calls-refused-cleanly", section, refused_cleanly).wants(Wants::NoGroupCalls),
    ]
}

pub fn sending() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Sending, name, section, run);
    vec![
        c("group-call-rings-across", "§27 A room's call across servers", rings_across)
            .wants(Wants::GroupCalls),
    ]
}

/// `b` starts the room's call: its id.
fn started(b: &mut Conn, room: &str) -> Result<String, Failure> {
    b.ok(&format!("GROUPCALL:{room}:START:voice"))
}

/// `frame`, told, and its answer's first line.
fn told(link: &mut OpenedLink, frame: &str) -> Result<String, Failure> {
    link.send(frame)?;
    link.conn.line("the answer")
}

/// `b` starts a call; the suite's `a` joins it (`OK:1` and `b`'s
/// address), the suite's `GROUPCALLS` lists it with both in it, and `b`'s
/// own `GROUPCALLS` too; `a` leaves, then `b`, and it is listed no more.
fn joined_across(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, room, mut link) = room_of_both(ctx)?;
    let id = started(&mut b, &room)?;
    let (a, home) = (ctx.remote("a"), format!("{room}@{}", ctx.them()));
    let answer = told(&mut link, &format!("GROUPCALL:{home}:{a}:JOIN:{id}"))?;
    check(answer == "OK:1", "OK:1 (one in the call already)", &answer)?;
    let first = link.conn.line("who is in the call")?;
    check(fold(&first) == fold(&ctx.address("b")), ctx.address("b"), &first)?;
    let answer = told(&mut link, &format!("GROUPCALLS:{a}"))?;
    check(answer == "OK:1", "OK:1 (the call going on)", &answer)?;
    let line = link.conn.line("the call")?;
    let listed = GroupCallLine::parse(&line).map_err(|why| Failure::new("a line of GROUPCALLS", why))?;
    let in_it = |who: &str| listed.members.iter().any(|m| fold(m) == fold(who));
    let right = fold(&listed.room) == fold(&home) && listed.id == id && in_it(&a) && in_it(&ctx.address("b"));
    check(right, format!("{home}:{id}:…:<{a} and {} in it>", ctx.address("b")), &line)?;
    let own = b.listing("GROUPCALLS")?;
    check(
        own.iter().any(|l| l.contains(&id) && l.contains(&a)),
        format!("{id} with {a} in it"),
        format!("{own:?}"),
    )?;
    let answer = told(&mut link, &format!("GROUPCALL:{home}:{a}:LEAVE:{id}"))?;
    check(answer == "OK", "OK", &answer)?;
    b.ok(&format!("GROUPCALL:{room}:LEAVE:{id}"))?;
    let answer = told(&mut link, &format!("GROUPCALLS:{a}"))?;
    check(answer == "OK:0", "OK:0 (the call over)", &answer)?;
    link.alive()
}

/// A request or a listing for the server's own user, and an event of a
/// room of the server's (not the suite's), are refused `FORBIDDEN`, and
/// the link goes on.
fn another_s_forbidden(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, room, mut link) = room_of_both(ctx)?;
    let id = started(&mut b, &room)?;
    let (home, theirs, a) = (format!("{room}@{}", ctx.them()), ctx.address("b"), ctx.remote("a"));
    for frame in [
        format!("GROUPCALL:{home}:{theirs}:LEAVE:{id}"),
        format!("GROUPCALLS:{theirs}"),
        format!("GROUPEVENT:{home}:{theirs}:RING:{id}:{a}:voice"),
    ] {
        let answer = told(&mut link, &frame)?;
        let forbidden = matches!(Answer::parse(&answer), Ok(Answer::Ko(None, Code::Forbidden, _)));
        check(forbidden, format!("KO:FORBIDDEN:… to {frame}"), &answer)?;
    }
    b.ok(&format!("GROUPCALL:{room}:LEAVE:{id}"))?;
    link.alive()
}

/// A server that does not carry group calls (`--no-group-calls`) answers
/// a start `KO:BAD_REQUEST`, and the link goes on.
fn refused_cleanly(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut link = ctx.link("link")?;
    let (room, a) = (format!("{}@{}", ctx.room("r"), ctx.them()), ctx.remote("a"));
    let answer = told(&mut link, &format!("GROUPCALL:{room}:{a}:START:voice:c1"))?;
    let refused = matches!(Answer::parse(&answer), Ok(Answer::Ko(None, Code::BadRequest, _)));
    check(refused, "KO:BAD_REQUEST:… (no group calls here)", &answer)?;
    link.alive()
}

/// `b` starts a call: the server tells the suite's member `a` of it, a
/// `GROUPEVENT` (`RING`, or `START` past its rings) at the suite's link
/// port.
fn rings_across(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, room, _link) = room_of_both(ctx)?;
    let id = started(&mut b, &room)?;
    let (a, home) = (fold(&ctx.remote("a")), fold(&format!("{room}@{}", ctx.them())));
    let rung = ctx.peer.wait_for(ctx.redial_deadline(), |s| {
        s.group_events.iter().find_map(|frame| match frame {
            GroupCallFrame::Event { room, member, event }
                if fold(room) == home && fold(member) == a && event.id() == id =>
            {
                Some(event.to_string())
            }
            _ => None,
        })
    });
    b.ok(&format!("GROUPCALL:{room}:LEAVE:{id}"))?;
    let want = format!("GROUPEVENT:{home}:{a}:RING:{id}:… at the suite's link port");
    let rung = rung.ok_or_else(|| Failure::new(&want, "none"))?;
    check(rung.starts_with("RING:") || rung.starts_with("START:"), want, rung)
}
