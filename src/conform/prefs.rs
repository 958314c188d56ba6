//! Group `v1.2`, docs/PROTOCOL.md §22: blocks, notification levels and
//! pins, run only at `--level 1.2`. A block hides the blocked user's
//! direct messages for good (their `OK` as usual) and your presence;
//! `PREFS` lists what is not the default; a fourth pin is `KO:FULL`; a
//! receive connection that said `VERSION:1.2` hears `PREF`.

use std::time::Duration;

use super::case::{addition, check};
use super::{Case, CaseCtx, Failure, ProtocolLevel};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let v12 = |name, section, run| addition(ProtocolLevel::V1_2, name, section, run);
    vec![
        v12("block-hides-direct-messages", "§22 BLOCK", block_hides_messages),
        v12("block-hides-presence", "§22 BLOCK", block_hides_presence),
        v12("prefs-levels-and-pins", "§22 NOTIFY, PIN, PREFS", levels_and_pins),
        v12("pref-told-to-devices", "§22 PREF", pref_event),
    ]
}

fn block_hides_messages(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let (na, nb) = (ctx.name("a"), ctx.name("b"));
    a.ok(&format!("BLOCK:{}", nb.to_uppercase()))?;
    let blocks = a.listing("BLOCKS")?;
    check(blocks == [nb.clone()], nb.clone(), blocks.join(" | "))?;
    a.ko(&format!("BLOCK:{na}"), Code::BadRequest)?;
    a.ko(&format!("BLOCK:{}", ctx.name("nobody")), Code::UnknownUser)?;
    b.ok(&format!("MSG:{na}:m1:hidden"))?;
    let history = a.listing(&format!("HISTORY:{nb}:10"))?;
    check(history.is_empty(), "OK:0 (a blocked user's message is stored nowhere)", history.join(" | "))?;
    a.ok(&format!("UNBLOCK:{nb}"))?;
    a.ok(&format!("UNBLOCK:{nb}"))?;
    check(a.listing("BLOCKS")?.is_empty(), "OK:0", "a blocked user")?;
    b.ok(&format!("MSG:{na}:m2:seen"))?;
    let history = a.listing(&format!("HISTORY:{nb}:10"))?;
    let only_m2 = history.len() == 1 && history[0].contains(":m2:");
    check(only_m2, "m2 alone (m1 never comes, even after UNBLOCK)", history.join(" | "))
}

fn block_hides_presence(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let (na, nb) = (ctx.name("a"), ctx.name("b"));
    let _online = ctx.recv("a")?;
    a.ok(&format!("BLOCK:{nb}"))?;
    let seen = b.ok(&format!("LASTSEEN:{na}"))?;
    check(
        seen == format!("{na}:UNKNOWN"),
        format!("OK:{na}:UNKNOWN (a is online, but blocked b)"),
        format!("OK:{seen}"),
    )
}

fn levels_and_pins(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let nb = ctx.name("b");
    let (r1, r2, r3) = (ctx.room("r1"), ctx.room("r2"), ctx.room("r3"));
    a.ok(&format!("NOTIFY:{nb}:none"))?;
    a.ok(&format!("NOTIFY:{r1}:mentions"))?;
    a.ko(&format!("NOTIFY:{nb}:loud"), Code::BadRequest)?;
    a.ko(&format!("NOTIFY:{}:none", ctx.name("nobody")), Code::UnknownUser)?;
    for chat in [&nb, &r1, &r2] {
        a.ok(&format!("PIN:{chat}"))?;
    }
    a.ko(&format!("PIN:{r3}"), Code::Full)?;
    let mut lines = a.listing("PREFS")?;
    lines.sort();
    let mut want =
        vec![format!("{nb}:none:pinned"), format!("{r1}:mentions:pinned"), format!("{r2}:all:pinned")];
    want.sort();
    check(lines == want, want.join(" | "), lines.join(" | "))?;
    a.ok(&format!("UNPIN:{r2}"))?;
    a.ok(&format!("PIN:{r3}"))?;
    let lines = a.listing("PREFS")?;
    check(
        !lines.iter().any(|l| l.starts_with(&format!("{r2}:"))),
        format!("no line for {r2} (back to the default)"),
        lines.join(" | "),
    )
}

fn pref_event(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut events = ctx.recv("a")?;
    events.send("VERSION:1.2")?;
    std::thread::sleep(Duration::from_millis(200));
    let room = ctx.room("r");
    a.ok(&format!("PIN:{room}"))?;
    events.expect_event(&format!("PREF:{room}:all:pinned"))
}
