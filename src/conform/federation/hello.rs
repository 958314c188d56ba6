//! Group `hello`: who is speaking (docs/PROTOCOL.md §27, "The hello and
//! the check of who is speaking"). The suite dials the server over TLS
//! with its link key: its own hello must be taken, and every wrong one
//! refused with its `KO` and the link closed — a key that is not the
//! claimed server's (with a frame behind it, never taken), a server not
//! in the roster, a hello meant for another, another identity under the
//! same key.

use std::time::Instant;

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::link::closed_with;
use crate::conform::case::check;
use crate::conform::{Failure, Group};
use crate::protocol::Code;
use crate::protocol::link::{Answer, UNUSED_KEY, UNUSED_SECRET};

pub fn cases() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Hello, name, section, run);
    vec![
        c("taken-with-its-key", "§27 The hello", taken_with_its_key),
        c("another-key-refused", "§27 The hello", another_key_refused),
        c("unknown-server-refused", "§27 The hello", unknown_server_refused),
        c("meant-for-another-refused", "§27 The hello", meant_for_another_refused),
        c("malformed-hello-refused", "§27 The hello", malformed_hello_refused),
        c("impostor-refused", "§27 What a link proves", impostor_refused),
        c("changed-identity-refused", "§27 The identity", changed_identity_refused),
        c("new-hello-closes-the-older-link", "§27 Bounds", new_hello_closes_the_older_link),
        c("silent-link-closed", "§27 Unnumbered frames", silent_link_closed).wants(Wants::Clock),
    ]
}

/// The suite's hello, on a TLS connection showing the suite's key (the
/// server's own taken with its roster fingerprint), answered `OK:<last>`.
fn taken_with_its_key(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let (_link, answer) = ctx.say_hello("link", &ctx.hello())?;
    check(matches!(Answer::parse(&answer), Ok(Answer::Hello(_))), "OK:<last>", answer)
}

/// The suite's hello from a key of nobody's: refused; the suite's own
/// key still links after it.
fn another_key_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let wrong = super::link::Hello { stranger: true, ..ctx.hello() };
    ctx.refused_hello("link", &wrong, Code::AuthFailed)?;
    ctx.link("link2").map(drop)
}

fn unknown_server_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let stranger = super::link::Hello { from: ctx.name("x"), ..ctx.hello() };
    ctx.refused_hello("link", &stranger, Code::UnknownServer)
}

fn meant_for_another_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let elsewhere = super::link::Hello { to: ctx.name("y"), ..ctx.hello() };
    ctx.refused_hello("link", &elsewhere, Code::UnknownServer)
}

/// A hello of another version, a key too short, a field missing.
fn malformed_hello_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let hello = ctx.hello();
    let (me, them, id) = (&hello.from, &hello.to, &hello.identity);
    let (secret, key) = (UNUSED_SECRET, UNUSED_KEY);
    let lines = [
        format!("HELLO:1.2:{me}:{them}:{secret}:{key}:{id}"),
        format!("HELLO:1.3:{me}:{them}:{secret}:short:{id}"),
        format!("HELLO:1.3:{me}:{them}:{secret}:{key}"),
    ];
    for (n, line) in lines.iter().enumerate() {
        let (conn, answer) = ctx.say_first(&format!("link{}", n + 1), line, false)?;
        closed_with(conn, &answer, Code::BadRequest)?;
    }
    Ok(())
}

/// Someone with the roster says it is the suite, from a key of its own,
/// a frame right behind the hello: refused, and the frame never taken
/// (the suite's next link resumes where it was).
fn impostor_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let before = ctx.link("link")?.last;
    let impostor = super::link::Hello { stranger: true, ..ctx.hello() };
    let forged = ctx.msg_frame(before + 1, "i", "a", "forged1", "I am not the suite");
    let line = format!("{}\n{forged}", impostor.line());
    let (conn, answer) = ctx.say_first("impostor", &line, true)?;
    closed_with(conn, &answer, Code::AuthFailed)?;
    let after = ctx.link("link2")?.last;
    check(after == before, format!("OK:{before} (the impostor's frame not taken)"), format!("OK:{after}"))
}

/// Another identity under the same key is refused, and is not
/// remembered: the suite's own is taken after it.
fn changed_identity_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    ctx.link("link")?;
    let other = super::peer::identity(&ctx.peer.names.me, "another data directory");
    let changed = super::link::Hello { identity: other, ..ctx.hello() };
    ctx.refused_hello("link2", &changed, Code::AuthFailed)?;
    ctx.link("link3").map(drop)
}

/// One link per peer at a time: a new hello closes the older link.
fn new_hello_closes_the_older_link(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut old = ctx.link("link")?;
    let mut new = ctx.link("link2")?;
    old.conn.expect_closed()?;
    new.alive()
}

/// A link that sends nothing for the server's `--timeout` is closed with
/// `KO:TIMEOUT`, as a client's connection is (§8).
fn silent_link_closed(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut link = ctx.link("link")?;
    let start = Instant::now();
    link.conn.wait = crate::conform::timing::limit(ctx);
    link.conn.expect_ko(Code::Timeout)?;
    let took = start.elapsed();
    check(
        took + std::time::Duration::from_millis(250) >= ctx.settings.server_timeout,
        format!("KO:TIMEOUT after about {:?}", ctx.settings.server_timeout),
        format!("after {took:?}"),
    )?;
    link.conn.expect_closed()
}
