//! Group `v1.2`, docs/PROTOCOL.md §25: starred messages, run only at
//! `--level 1.2`. `STAR` keeps a message you can see (case ignored),
//! `STARRED` lists it as a `HISTORY` line, `UNSTAR` undoes it (also when
//! there is nothing to undo), a star of a message nobody sent is
//! `KO:UNKNOWN_MESSAGE`, a deletion hides the star, and a receive
//! connection that said `VERSION:1.2` hears
//! `STAR:<chat>:<from>:<id>:<starred|unstarred>`. (The bound of 500 is not
//! tried here: 500 stars would meet a server's `--rate`; tests/chat/starred.rs
//! tries it.)

use super::case::{addition, check};
use super::{Case, CaseCtx, Failure, ProtocolLevel};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let v12 = |name, section, run| addition(ProtocolLevel::V1_2, name, section, run);
    vec![
        v12("star-and-list", "§25 STAR, UNSTAR, STARRED", star_and_list),
        v12("star-hidden-by-delete", "§25 a deleted message's star", hidden_by_delete),
        v12("star-told-to-devices", "§25 STAR event", star_event),
    ]
}

/// The lines of `STARRED` of the message `id` of `from`.
fn starred_of(a: &mut super::wire::Conn, from: &str, id: &str) -> Result<Vec<String>, Failure> {
    let prefix = format!("{from}:");
    let lines = a.listing("STARRED")?;
    Ok(lines.into_iter().filter(|l| l.starts_with(&prefix) && l.split(':').nth(2) == Some(id)).collect())
}

fn star_and_list(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = (ctx.user("a")?, ctx.user("b")?);
    let (name_a, name_b) = (ctx.name("a"), ctx.name("b"));
    b.ok(&format!("MSG:{name_a}:s1:star me"))?;
    a.ok(&format!("STAR:{name_b}:{}:s1", name_b.to_uppercase()))?;
    a.ok(&format!("STAR:{name_b}:{name_b}:s1"))?;
    a.ko(&format!("STAR:{name_b}:{name_b}:nobody-sent-this"), Code::UnknownMessage)?;
    let listed = starred_of(&mut a, &name_b, "s1")?;
    let want = format!("{name_b}:{name_a}:s1:<ts>:<state>:star me");
    let shape = |l: &String| {
        let f: Vec<&str> = l.splitn(6, ':').collect();
        f.len() == 6 && f[1] == name_a && f[5] == "star me"
    };
    check(listed.len() == 1 && listed.iter().all(shape), want, listed.join(" | "))?;
    a.ok(&format!("UNSTAR:{name_b}:{name_b}:s1"))?;
    a.ok(&format!("UNSTAR:{name_b}:{name_b}:s1"))?;
    let left = starred_of(&mut a, &name_b, "s1")?;
    check(left.is_empty(), "no star after UNSTAR", left.join(" | "))
}

fn hidden_by_delete(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = (ctx.user("a")?, ctx.user("b")?);
    let (name_a, name_b) = (ctx.name("a"), ctx.name("b"));
    b.ok(&format!("MSG:{name_a}:d1:a secret"))?;
    a.ok(&format!("STAR:{name_b}:{name_b}:d1"))?;
    b.ok(&format!("DELETE:{name_a}:d1"))?;
    let left = starred_of(&mut a, &name_b, "d1")?;
    check(left.is_empty(), "the deleted message's star hidden", left.join(" | "))?;
    a.ko(&format!("STAR:{name_b}:{name_b}:d1"), Code::UnknownMessage)?;
    a.ok(&format!("UNSTAR:{name_b}:{name_b}:d1"))?;
    Ok(())
}

fn star_event(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = (ctx.user("a")?, ctx.user("b")?);
    let (name_a, name_b) = (ctx.name("a"), ctx.name("b"));
    b.ok(&format!("MSG:{name_a}:e1:tell my devices"))?;
    let mut events = ctx.recv_conn("a.recv")?;
    let said = events.request("VERSION:1.2")?;
    check(said == "OK", "OK", said)?;
    let reply = events.request(&format!("LOGIN:{name_a}:{}", ctx.password(&name_a)))?;
    check(reply == format!("OK:{name_a}"), format!("OK:{name_a}"), reply)?;
    // The message comes first (its replay), then the stars' events.
    loop {
        match events.line("the MSG of e1")? {
            line if line.starts_with("MSG:") => break,
            line if line == "PING" => events.send("PONG")?,
            _ => {} // presence
        }
    }
    for (line, want) in [("STAR", "starred"), ("UNSTAR", "unstarred")] {
        a.ok(&format!("{line}:{name_b}:{name_b}:e1"))?;
        events.expect_event(&format!("STAR:{name_b}:{name_b}:e1:{want}"))?;
    }
    Ok(())
}
