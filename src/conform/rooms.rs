//! Group `rooms`: `JOIN`, `LEAVE`, `ROOMS`, room messages, and presence
//! (`JOINED`/`LEFT`) between users who share a room (docs/PROTOCOL.md §4,
//! §6 Presence).
//!
//! Every case makes rooms of its own: `#general` holds every account of
//! the server, other people's too, and past 200 members it has no presence.

use std::time::{Duration, Instant};

use super::case::{case, check};
use super::messages::{next_msg, send_msg};
use super::wire::Conn;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Code, Event};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Rooms, name, section, run);
    vec![
        c("new-account-is-in-general", "§3 Logging in", new_account_is_in_general),
        c("join-creates-and-counts", "§4 JOIN, ROOMS", join_creates_and_counts),
        c("room-names-ignore-case", "§1 Names", room_names_ignore_case),
        c("room-message-to-members-but-sender", "§4 MSG", room_message),
        c("leave-then-not-member", "§4 LEAVE", leave_then_not_member),
        c("room-name-needs-hash", "§4 JOIN", room_name_needs_hash),
        c("joined-and-left", "§6 Presence", joined_and_left),
        c("replaced-connection-no-presence", "§6 Presence", replaced_no_presence),
    ]
}

/// The member count of `room` in a `ROOMS` listing (names ignore case).
fn members(conn: &mut Conn, room: &str) -> Result<Option<String>, Failure> {
    let lines = conn.listing("ROOMS")?;
    Ok(lines.iter().find_map(|l| {
        let (name, count) = l.rsplit_once(':')?;
        name.eq_ignore_ascii_case(room).then(|| count.to_string())
    }))
}

fn new_account_is_in_general(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user_in_general("a")?;
    let count = members(&mut a, "#general")?;
    check(count.is_some(), "#general:<n> in ROOMS", "no #general")
}

fn join_creates_and_counts(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    a.ok(&format!("JOIN:{room}"))?; // joining twice is fine
    let count = members(&mut a, &room)?;
    check(count.as_deref() == Some("1"), format!("{room}:1 in ROOMS"), format!("{count:?}"))
}

fn room_names_ignore_case(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let room = ctx.room("Tea");
    a.ok(&format!("JOIN:{room}"))?;
    b.ok(&format!("JOIN:{}", room.to_lowercase()))?;
    let count = members(&mut a, &room)?;
    check(count.as_deref() == Some("2"), format!("{room}:2 in ROOMS"), format!("{count:?}"))
}

fn room_message(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b_send = ctx.user("b")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    b_send.ok(&format!("JOIN:{room}"))?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    let ts = send_msg(&mut a, &room, "r1", "hello room")?;
    let (_, from, to, id, got_ts, _) = next_msg(&mut b)?;
    check(
        from == ctx.name("a") && to.eq_ignore_ascii_case(&room) && id == "r1" && got_ts == ts,
        format!("MSG:<seq>:{}:{room}:r1:{ts}:…", ctx.name("a")),
        format!("MSG:…:{from}:{to}:{id}:{got_ts}:…"),
    )?;
    a_recv.expect_quiet(Duration::from_millis(500), "nothing for the sender of a room message")
}

fn leave_then_not_member(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    a.ok(&format!("LEAVE:{room}"))?;
    a.ko(&format!("LEAVE:{room}"), Code::NotMember)?;
    a.ko(&format!("MSG:{room}:r1:hi"), Code::NotMember)?;
    let count = members(&mut a, &room)?;
    check(count.is_none(), format!("no {room} in ROOMS"), format!("{room}:{}", count.unwrap_or_default()))
}

fn room_name_needs_hash(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ko(&format!("JOIN:{}", ctx.name("r")), Code::BadRequest)?;
    a.ko("JOIN:#bad room", Code::BadRequest)?;
    a.ok("PING").map(drop)
}

/// Waits for `JOINED:<user>` or `LEFT:<user>` about `user`, skipping
/// presence of anyone else.
fn presence_of(conn: &mut Conn, user: &str, joined: bool) -> Result<(), Failure> {
    let want = format!("{}:{user}", if joined { "JOINED" } else { "LEFT" });
    loop {
        match conn.event(&want, true)? {
            Event::Joined { user: u } if u == user && joined => return Ok(()),
            Event::Left { user: u } if u == user && !joined => return Ok(()),
            Event::Joined { user: u } | Event::Left { user: u } if u != user => {}
            other => return Err(Failure::new(&want, other.to_string())),
        }
    }
}

/// a and b share a room of their own; a is online on the receive port.
fn sharing(ctx: &mut CaseCtx) -> Result<Conn, Failure> {
    let room = ctx.room("r");
    ctx.user("a")?.ok(&format!("JOIN:{room}"))?;
    ctx.user("b")?.ok(&format!("JOIN:{room}"))?;
    ctx.recv("a")
}

fn joined_and_left(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = sharing(ctx)?;
    let b_name = ctx.name("b");
    let mut b = ctx.recv("b")?;
    presence_of(&mut a, &b_name, true)?;
    b.close();
    presence_of(&mut a, &b_name, false)
}

fn replaced_no_presence(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = sharing(ctx)?;
    let b_name = ctx.name("b");
    let _first = ctx.recv_as("b", "b.recv1")?;
    presence_of(&mut a, &b_name, true)?;
    let _second = ctx.recv_as("b", "b.recv2")?;
    // Neither LEFT nor JOINED: b never went offline.
    let deadline = Instant::now() + Duration::from_millis(700);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match a.read_within(left) {
            Err(_) => break,
            Ok(None) => return Err(Failure::new("a's connection to stay open", "it closed")),
            Ok(Some(line)) if line.ends_with(&format!(":{b_name}")) => {
                return Err(Failure::new(
                    format!("no presence for {b_name} (replaced, never offline)"),
                    line,
                ));
            }
            Ok(Some(line)) if line == "PING" => a.send("PONG")?,
            Ok(Some(_)) => {}
        }
    }
    Ok(())
}
