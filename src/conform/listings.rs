//! Group `listings`: `USERS`, `HISTORY`, `CHATS` and `ROOMS`' order: an
//! `OK:<n>` head and exactly `n` lines (docs/PROTOCOL.md §4).
//!
//! The server may hold other people's users and rooms: a listing is
//! checked for what this case made, never for being only that.

use super::case::{case, check};
use super::messages::send_msg;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Listings, name, section, run);
    vec![
        c("users-online-sorted", "§4 USERS", users_online_sorted),
        c("history-oldest-first", "§4 HISTORY", history_oldest_first),
        c("history-limit-keeps-newest", "§4 HISTORY", history_limit_keeps_newest),
        c("history-room", "§4 HISTORY", history_room),
        c("history-never-talked", "§4 HISTORY", history_never_talked),
        c("history-errors", "§4 HISTORY", history_errors),
        c("chats-unread-and-order", "§4 CHATS", chats_unread_and_order),
        c("rooms-sorted", "§4 ROOMS", rooms_sorted),
    ]
}

fn users_online_sorted(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("B")?;
    ctx.user("c")?;
    let _a = ctx.recv("a")?;
    let _b = ctx.recv("B")?;
    let users = a.listing("USERS")?;
    let (na, nb, nc) = (ctx.name("a"), ctx.name("B"), ctx.name("c"));
    check(users.contains(&na) && users.contains(&nb), format!("{na} and {nb} in USERS"), users.join(" "))?;
    check(!users.contains(&nc), format!("no {nc} (not on the receive port)"), users.join(" "))?;
    let at = |n: &String| users.iter().position(|u| u == n);
    check(at(&na) < at(&nb), format!("{na} before {nb} (sorted ignoring case)"), users.join(" "))?;
    let mut sorted = users.clone();
    sorted.sort_by_key(|u| u.to_lowercase());
    check(sorted == users, "USERS sorted ignoring case", users.join(" "))
}

/// `a` sends m1, m2, m3 to `b`; returns a's send connection and the ts.
fn three(ctx: &mut CaseCtx) -> Result<(super::wire::Conn, Vec<u64>), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut ts = Vec::new();
    for n in 1..=3 {
        ts.push(send_msg(&mut a, &ctx.name("b"), &format!("m{n}"), &format!("text {n}: with a colon"))?);
    }
    Ok((a, ts))
}

fn history_oldest_first(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, ts) = three(ctx)?;
    let lines = a.listing(&format!("HISTORY:{}:10", ctx.name("b")))?;
    let want: Vec<String> = (1..=3)
        .map(|n| {
            format!("{}:{}:m{n}:{}:RECEIVED:text {n}: with a colon", ctx.name("a"), ctx.name("b"), ts[n - 1])
        })
        .collect();
    check(lines == want, want.join(" | "), lines.join(" | "))
}

fn history_limit_keeps_newest(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, _) = three(ctx)?;
    let lines = a.listing(&format!("HISTORY:{}:2", ctx.name("b")))?;
    let ids: Vec<&str> = lines.iter().filter_map(|l| l.split(':').nth(2)).collect();
    check(ids == ["m2", "m3"], "the newest 2, oldest first: m2, m3", lines.join(" | "))
}

fn history_room(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    let ts = send_msg(&mut a, &room, "r1", "morning all")?;
    let lines = a.listing(&format!("HISTORY:{room}:5"))?;
    let want = format!("{}:{room}:r1:{ts}:RECEIVED:morning all", ctx.name("a"));
    let ok = lines.len() == 1
        && lines[0].eq_ignore_ascii_case(&want)
        && lines[0].ends_with(":RECEIVED:morning all");
    check(ok, want, lines.join(" | "))
}

fn history_never_talked(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let lines = a.listing(&format!("HISTORY:{}:5", ctx.name("b")))?;
    check(lines.is_empty(), "OK:0", lines.join(" | "))
}

fn history_errors(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let room = ctx.room("r");
    b.ok(&format!("JOIN:{room}"))?;
    a.ko(&format!("HISTORY:{}:5", ctx.name("nobody")), Code::UnknownUser)?;
    a.ko(&format!("HISTORY:{room}:5"), Code::NotMember)?;
    a.ko(&format!("HISTORY:{}:lots", ctx.name("b")), Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn chats_unread_and_order(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let mut c = ctx.user("c")?;
    let b_name = ctx.name("b");
    for n in 1..=3 {
        send_msg(&mut a, &b_name, &format!("m{n}"), "hi")?;
    }
    send_msg(&mut c, &b_name, "c1", "hello")?;
    let (na, nc) = (ctx.name("a"), ctx.name("c"));
    let chats = b.listing("CHATS")?;
    let want = [format!("{nc}:1"), format!("{na}:3")];
    let ours: Vec<&String> =
        chats.iter().filter(|l| want.iter().any(|w| l.starts_with(&w[..w.len() - 1]))).collect();
    check(ours == [&want[0], &want[1]], want.join(" | "), chats.join(" | "))?;
    b.ok(&format!("READ:{na}:m2"))?;
    let chats = b.listing("CHATS")?;
    let line = format!("{na}:1");
    check(chats.contains(&line), format!("{line} after READ of m2"), chats.join(" | "))
}

fn rooms_sorted(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let (first, second) = (ctx.room("a"), ctx.room("b"));
    a.ok(&format!("JOIN:{second}"))?;
    a.ok(&format!("JOIN:{first}"))?;
    let rooms = a.listing("ROOMS")?;
    let at = |r: &String| rooms.iter().position(|l| l.starts_with(&format!("{r}:")));
    let ok = matches!((at(&first), at(&second)), (Some(x), Some(y)) if x < y);
    check(ok, format!("{first} before {second}"), rooms.join(" | "))
}
