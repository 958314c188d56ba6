//! 1.3: a room's members and presence across servers (docs/PROTOCOL.md
//! §27, "Members of other servers", "Presence across servers"), in the
//! groups `taking` and `sending`.
//!
//! - A server that carries rooms across: when a user of the suite joins
//!   one of its rooms, it announces the room's members of its own to the
//!   suite with `JOIN` frames (so every member server lists them).
//! - A server that carries presence: it takes the suite's `PRESENCE` for
//!   the suite's own users (`LASTSEEN` on it then says what the suite
//!   said), refuses one naming another server's user `FORBIDDEN`, and
//!   tells the suite its users' presence, frames at least half a second
//!   apart.
//! - One that declares it carries neither (`--no-rooms`,
//!   `--no-presence`, as the tiny server does) refuses those frames
//!   cleanly: a `KO`, for good, and the link goes on.

use std::time::{Duration, Instant};

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::link::OpenedLink;
use crate::conform::case::check;
use crate::conform::wire::Conn;
use crate::conform::{Failure, Group};
use crate::protocol::link::{Answer, Frame, RoomFrame};
use crate::protocol::names::fold;
use crate::protocol::{Code, Presence};

pub fn taking() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Taking, name, section, run);
    vec![
        c("room-members-announced", "§27 Members of other servers", room_members_announced)
            .wants(Wants::Rooms),
        c("rooms-refused-cleanly", "§27 Members of other servers", rooms_refused_cleanly)
            .wants(Wants::NoRooms),
        c("presence-taken", "§27 Presence across servers", presence_taken).wants(Wants::Presence),
        c("presence-of-another-server-forbidden", "§27 Presence across servers", presence_forbidden)
            .wants(Wants::Presence),
        c("presence-refused-cleanly", "§27 Presence across servers", presence_refused_cleanly)
            .wants(Wants::NoPresence),
    ]
}

pub fn sending() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Sending, name, section, run);
    vec![c("presence-told", "§27 Presence across servers", presence_told).wants(Wants::Presence)]
}

/// The server's user `b` in its room `r`, and the suite's `a` a member
/// of it (a `JOIN` frame, acknowledged): `b`, the room, the suite's link.
pub(super) fn room_of_both(ctx: &LinkCtx) -> Result<(Conn, String, OpenedLink), Failure> {
    let mut b = ctx.user("b")?;
    let room = ctx.room("r");
    b.ok(&format!("JOIN:{room}"))?;
    let mut link = ctx.link("link")?;
    let n = ctx.peer.number();
    link.acked(n, &format!("JOIN:{n}:{}:{room}@{}", ctx.remote("a"), ctx.them()))?;
    Ok((b, room, link))
}

/// The suite's user `a` joins the server's room, where its user `b` is:
/// the server announces `b` to the suite (a `JOIN` frame of its own
/// user, its home's word), and lists `a` among the room's members.
fn room_members_announced(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, room, _link) = room_of_both(ctx)?;
    let (want_user, want_room) = (fold(&ctx.address("b")), fold(&format!("{room}@{}", ctx.them())));
    let announced = ctx.peer.wait_for(ctx.redial_deadline(), |s| {
        s.taken.iter().find_map(|t| match &t.frame {
            Frame::Room(RoomFrame { user, room, joined: true, .. })
                if fold(user) == want_user && fold(room) == want_room =>
            {
                Some(())
            }
            _ => None,
        })
    });
    let want =
        format!("the server's JOIN:<n>:{}:{room}@{} at the suite's link port", ctx.address("b"), ctx.them());
    announced.ok_or_else(|| Failure::new(want, "none"))?;
    let members = b.listing(&format!("MEMBERS:{room}"))?;
    let listed = members.iter().any(|m| fold(m).starts_with(&format!("{}:", fold(&ctx.remote("a")))));
    check(listed, format!("{} among the members", ctx.remote("a")), format!("{members:?}"))
}

/// A server that does not carry rooms across (`--no-rooms`) refuses a
/// `JOIN` of its room for good, and the link goes on.
fn rooms_refused_cleanly(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.user("b")?;
    let room = ctx.room("r");
    b.ok(&format!("JOIN:{room}"))?;
    let mut link = ctx.link("link")?;
    let n = ctx.peer.number();
    link.send(&format!("JOIN:{n}:{}:{room}@{}", ctx.remote("a"), ctx.them()))?;
    let want = format!("KO:{n}:<code>:…, for good");
    let got = link.conn.line(&want)?;
    match Answer::parse(&got) {
        Ok(Answer::Ko(Some(m), code, _)) if m == n && !Answer::for_now(code) => {}
        _ => return Err(Failure::new(want, got)),
    }
    link.alive()
}

/// The server's user `b` writes to the suite's `a` (they share a chat),
/// its frame taken by the suite's door (so that no frame of this case
/// comes during the next), and the suite's link.
fn chat_and_link(ctx: &LinkCtx) -> Result<(Conn, OpenedLink), Failure> {
    let mut b = ctx.user("b")?;
    crate::conform::messages::send_msg(&mut b, &ctx.remote("a"), "p1", "hello a")?;
    super::sending::frame_of(ctx, "p1")?;
    Ok((b, ctx.link("link")?))
}

/// `PRESENCE` frame `frame`, which must be answered `OK`.
fn told(link: &mut OpenedLink, frame: &str) -> Result<(), Failure> {
    link.send(frame)?;
    link.answer("OK")
}

/// The suite says `a` is online, then that it is not and hides when: the
/// server's `LASTSEEN` of `a` says each.
fn presence_taken(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (mut b, mut link) = chat_and_link(ctx)?;
    let a = ctx.remote("a");
    told(&mut link, &format!("PRESENCE:{a}:ONLINE"))?;
    let seen = b.ok(&format!("LASTSEEN:{a}"))?;
    check(seen.ends_with(":ONLINE"), format!("{a}:ONLINE"), &seen)?;
    std::thread::sleep(Duration::from_millis(600)); // a link's PRESENCE at most every 500 ms (§27)
    told(&mut link, &format!("PRESENCE:{a}:UNKNOWN"))?;
    let seen = b.ok(&format!("LASTSEEN:{a}"))?;
    check(seen.ends_with(":UNKNOWN"), format!("{a}:UNKNOWN"), &seen)?;
    link.alive()
}

/// A `PRESENCE` naming another server's user is refused `FORBIDDEN`, and
/// the link goes on.
fn presence_forbidden(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (_b, mut link) = chat_and_link(ctx)?;
    link.send(&format!("PRESENCE:{}:ONLINE:eve@not-{}:ONLINE", ctx.remote("a"), ctx.peer.names.me))?;
    let want = "KO:FORBIDDEN:…";
    let got = link.conn.line(want)?;
    match Answer::parse(&got) {
        Ok(Answer::Ko(None, Code::Forbidden, _)) => {}
        _ => return Err(Failure::new(want, got)),
    }
    link.alive()
}

/// A server that does not carry presence (`--no-presence`) refuses a
/// `PRESENCE` with a `KO`, and the link goes on.
fn presence_refused_cleanly(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (_b, mut link) = chat_and_link(ctx)?;
    link.send(&format!("PRESENCE:{}:ONLINE", ctx.remote("a")))?;
    let want = "KO:<code>:<words saying why>";
    let got = link.conn.line(want)?;
    match Answer::parse(&got) {
        Ok(Answer::Ko(None, code, why)) if !Answer::for_now(code) && !why.is_empty() => {}
        _ => return Err(Failure::new(want, got)),
    }
    link.alive()
}

/// The server's user `b`, who shares a chat with the suite's `a`, comes
/// online: the server tells the suite (`PRESENCE`, `b` `ONLINE`), its
/// frames at least 500 ms apart.
fn presence_told(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    b.msg(ctx, &ctx.remote("a"), "p1", "hello a")?;
    super::sending::frame_of(ctx, "p1")?;
    let _online = ctx.recv("b")?;
    let address = fold(&ctx.address("b"));
    let online = ctx.peer.wait_for(ctx.redial_deadline(), |s| {
        s.presence.iter().find(|(user, p)| fold(user) == address && **p == Presence::Online).map(|_| ())
    });
    let want = format!("PRESENCE:{}:ONLINE at the suite's link port", ctx.address("b"));
    online.ok_or_else(|| Failure::new(want, "none"))?;
    let frames: Vec<Instant> = ctx.peer.seen().presence_frames.clone();
    let closest = frames.windows(2).map(|w| w[1].duration_since(w[0])).min();
    check(
        closest.is_none_or(|gap| gap >= Duration::from_millis(450)),
        "PRESENCE frames at least 500 ms apart (one a second, §27)",
        format!("two {} ms apart", closest.unwrap_or_default().as_millis()),
    )
}
