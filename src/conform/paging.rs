//! Group `v1.2`, docs/PROTOCOL.md §4 "Paging back": `HISTORY` a page at
//! a time, run only at `--level 1.2`. `HISTORY:<chat>:<limit>:*` is the
//! newest page, answered `OK:<n>:<cursor>`; each reply's cursor reads the
//! page before it, and the pages meet exactly (every message once, in
//! the order stored, the last cursor empty) even when messages arrive
//! between two pages; the page from `*` holds the lines of version 1's
//! `HISTORY:<chat>:<limit>`; a cursor used by someone else, or for
//! another chat, and a start that is no cursor are `KO:BAD_REQUEST`. The
//! cursor's digits are the server's own: they are only sent back.

use super::case::{addition, check};
use super::wire::Conn;
use super::{Case, CaseCtx, Failure, ProtocolLevel};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let v12 = |name, section, run| addition(ProtocolLevel::V1_2, name, section, run);
    vec![
        v12("history-pages-meet", "§4 HISTORY:<chat>:<limit>:<start>", pages_meet),
        v12("history-pages-while-sending", "§4 a page's cursor, messages meanwhile", pages_while_sending),
        v12("history-page-not-yours", "§4 a cursor of another chat", not_yours),
    ]
}

/// Messages the cases write: enough for three pages of [`PAGE`].
const SENT: usize = 12;
const PAGE: usize = 5;

/// One page: its lines and its cursor (`None`: the conversation's start).
fn page(c: &mut Conn, request: &str) -> Result<(Vec<String>, Option<String>), Failure> {
    let head = c.ok(request)?;
    let shape = || Failure::new("OK:<n>:<cursor>", format!("OK:{head}"));
    let (n, cursor) = head.split_once(':').ok_or_else(shape)?;
    let n: usize = n.parse().map_err(|_| shape())?;
    let digits = cursor.len() <= 20 && cursor.bytes().all(|b| b.is_ascii_digit());
    check(digits, "a cursor of at most 20 digits, or none", cursor)?;
    let lines = (0..n).map(|i| c.line(&format!("line {} of {n}", i + 1))).collect::<Result<_, _>>()?;
    Ok((lines, (!cursor.is_empty()).then(|| cursor.to_string())))
}

/// The ids of `HISTORY` lines.
fn ids(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| l.split(':').nth(2).unwrap_or_default().to_string()).collect()
}

/// `from` sends `SENT` messages to `to`, numbered from `first`, pipelined
/// (several may share a millisecond); their ids, in order.
fn send_many(from: &mut Conn, to: &str, first: usize) -> Result<Vec<String>, Failure> {
    let ids: Vec<String> = (first..first + SENT).map(|i| format!("p{i}")).collect();
    for id in &ids {
        from.send(&format!("MSG:{to}:{id}:page {id}"))?;
    }
    for id in &ids {
        let ok = from.expect_ok()?;
        check(ok.starts_with(&format!("{id}:")), format!("OK:{id}:<ts>"), format!("OK:{ok}"))?;
    }
    Ok(ids)
}

/// Reads `chat` back from `start` in pages of [`PAGE`]: the lines, oldest first.
fn read_back(c: &mut Conn, chat: &str, start: Option<String>) -> Result<Vec<String>, Failure> {
    let mut pages = Vec::new();
    let mut start = start.unwrap_or_else(|| "*".into());
    for _ in 0..SENT {
        let (lines, cursor) = page(c, &format!("HISTORY:{chat}:{PAGE}:{start}"))?;
        check(lines.len() <= PAGE, format!("at most {PAGE} lines"), lines.len().to_string())?;
        pages.push(lines);
        match cursor {
            Some(cursor) => start = cursor,
            None => return Ok(pages.into_iter().rev().flatten().collect()),
        }
    }
    Err(Failure::new(
        "an empty cursor at the conversation's start",
        format!("{} pages and more", pages.len()),
    ))
}

fn pages_meet(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = (ctx.user("a")?, ctx.user("b")?);
    let (name_a, name_b) = (ctx.name("a"), ctx.name("b"));
    let sent = send_many(&mut b, &name_a, 0)?;
    let all = read_back(&mut a, &name_b, None)?;
    check(ids(&all) == sent, sent.join(" "), ids(&all).join(" "))?;
    // The newest page is version 1's HISTORY of as many.
    let (newest, _) = page(&mut a, &format!("HISTORY:{name_b}:{PAGE}:*"))?;
    let v1 = a.listing(&format!("HISTORY:{name_b}:{PAGE}"))?;
    check(newest == v1, v1.join(" | "), newest.join(" | "))
}

fn pages_while_sending(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = (ctx.user("a")?, ctx.user("b")?);
    let (name_a, name_b) = (ctx.name("a"), ctx.name("b"));
    let sent = send_many(&mut b, &name_a, 0)?;
    let (newest, cursor) = page(&mut a, &format!("HISTORY:{name_b}:{PAGE}:*"))?;
    check(cursor.is_some(), "a cursor: older messages remain", "none")?;
    send_many(&mut b, &name_a, SENT)?;
    let mut got = read_back(&mut a, &name_b, cursor)?;
    got.extend(newest);
    check(ids(&got) == sent, sent.join(" "), ids(&got).join(" "))
}

fn not_yours(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b, mut c) = (ctx.user("a")?, ctx.user("b")?, ctx.user("c")?);
    let (name_a, name_b, name_c) = (ctx.name("a"), ctx.name("b"), ctx.name("c"));
    send_many(&mut b, &name_a, 0)?;
    c.ok(&format!("MSG:{name_a}:c1:hello"))?;
    let (_, cursor) = page(&mut a, &format!("HISTORY:{name_b}:{PAGE}:*"))?;
    let cursor = cursor.ok_or_else(|| Failure::new("a cursor: older messages remain", "none"))?;
    // Another user with the same peer, and the same user in another chat.
    c.ko(&format!("HISTORY:{name_a}:{PAGE}:{cursor}"), Code::BadRequest)?;
    a.ko(&format!("HISTORY:{name_c}:{PAGE}:{cursor}"), Code::BadRequest)?;
    a.ko(&format!("HISTORY:{name_b}:{PAGE}:next"), Code::BadRequest)?;
    // The connection goes on, and the cursor still reads its own chat.
    let (older, _) = page(&mut a, &format!("HISTORY:{name_b}:{PAGE}:{cursor}"))?;
    check(older.len() == PAGE, format!("{PAGE} lines"), older.len().to_string())
}
