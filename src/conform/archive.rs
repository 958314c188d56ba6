//! Group `v1.2`, docs/PROTOCOL.md §23: archived chats, run only at
//! `--level 1.2`. `ARCHIVE` keeps a chat (case ignored, the first name
//! kept), `ARCHIVED` lists it, `UNARCHIVE` undoes it (also when there is
//! nothing to undo), and a receive connection that said `VERSION:1.2`
//! hears `ARCHIVE:<chat>:<archived|unarchived>`. (The bound of 1,000
//! chats is not tried here: 1,001 requests would meet a server's
//! `--rate`; tests/chat/archive.rs tries it.)

use super::case::{addition, check};
use super::{Case, CaseCtx, Failure, ProtocolLevel};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let v12 = |name, section, run| addition(ProtocolLevel::V1_2, name, section, run);
    vec![
        v12("archive-and-list", "§23 ARCHIVE, UNARCHIVE, ARCHIVED", archive_and_list),
        v12("archive-told-to-devices", "§23 ARCHIVE event", archive_event),
    ]
}

fn archive_and_list(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let (room, other) = (ctx.room("r"), ctx.room("s"));
    let first = room.to_uppercase();
    a.ok(&format!("ARCHIVE:{first}"))?;
    a.ok(&format!("ARCHIVE:{room}"))?;
    a.ok(&format!("ARCHIVE:{other}"))?;
    a.ko("ARCHIVE:#", Code::BadRequest)?;
    let listed: Vec<String> =
        a.listing("ARCHIVED")?.into_iter().filter(|c| c == &first || c == &other).collect();
    let want = [first.clone(), other.clone()];
    check(
        listed == want,
        format!("{} (the first name kept, sorted ignoring case)", want.join(" | ")),
        listed.join(" | "),
    )?;
    a.ok(&format!("UNARCHIVE:{room}"))?;
    a.ok(&format!("UNARCHIVE:{room}"))?;
    a.ok(&format!("UNARCHIVE:{other}"))?;
    let left: Vec<String> =
        a.listing("ARCHIVED")?.into_iter().filter(|c| c == &first || c == &other).collect();
    check(left.is_empty(), "neither chat after UNARCHIVE", left.join(" | "))
}

fn archive_event(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let name = ctx.name("a");
    let mut events = ctx.recv_conn("a.recv")?;
    let said = events.request("VERSION:1.2")?;
    check(said == "OK", "OK", said)?;
    let reply = events.request(&format!("LOGIN:{name}:{}", ctx.password(&name)))?;
    check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)?;
    let room = ctx.room("r");
    for (line, want) in [("ARCHIVE", "archived"), ("UNARCHIVE", "unarchived")] {
        a.ok(&format!("{line}:{room}"))?;
        events.expect_event(&format!("ARCHIVE:{room}:{want}"))?;
    }
    Ok(())
}
