//! Group `hello`: who is speaking (docs/PROTOCOL.md §27, "The hello and
//! the check of who is speaking"). The suite dials the server: its own
//! hello must be taken after the server called it back, and every wrong
//! one refused with its `KO` and the link closed — a wrong secret, a
//! server not in the roster, a hello meant for another, a key the
//! claimed server does not vouch for, another identity under the same
//! secret. `VERIFY` on a connection of its own says yes only for a key
//! the server is using now.

use std::time::Instant;

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::link::closed_with;
use crate::conform::case::check;
use crate::conform::{Failure, Group};
use crate::protocol::Code;
use crate::protocol::link::Answer;

pub fn cases() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Hello, name, section, run);
    vec![
        c("taken-after-a-dialback", "§27 The hello", taken_after_a_dialback),
        c("wrong-secret-refused", "§27 The hello", wrong_secret_refused),
        c("unknown-server-refused", "§27 The hello", unknown_server_refused),
        c("meant-for-another-refused", "§27 The hello", meant_for_another_refused),
        c("malformed-hello-refused", "§27 The hello", malformed_hello_refused),
        c("impostor-refused", "§27 Who is speaking", impostor_refused),
        c("changed-identity-refused", "§27 The identity", changed_identity_refused),
        c("verify-unknown-key-refused", "§27 VERIFY", verify_unknown_key_refused),
        c("verify-for-another-refused", "§27 VERIFY", verify_for_another_refused),
        c("new-hello-closes-the-older-link", "§27 Bounds", new_hello_closes_the_older_link),
        c("silent-link-closed", "§27 Unnumbered frames", silent_link_closed).wants(Wants::Clock),
    ]
}

/// The suite's hello, answered `OK:<last>`, after a `VERIFY` of its key
/// came to the suite's link port.
fn taken_after_a_dialback(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let hello = ctx.hello();
    let (_link, answer) = ctx.say_hello("link", &hello)?;
    check(matches!(Answer::parse(&answer), Ok(Answer::Hello(_))), "OK:<last>", answer)?;
    let names = &ctx.peer.names;
    let verify = format!("VERIFY:{}:{}:{}", names.them, names.me, hello.key);
    let asked = ctx.peer.seen().verifies.clone();
    check(
        asked.iter().any(|v| v.eq_ignore_ascii_case(&verify)),
        format!("{verify} to the suite's link port before the OK (the dialback)"),
        if asked.is_empty() { "no VERIFY".to_string() } else { asked.join(" | ") },
    )
}

fn wrong_secret_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let wrong = super::link::Hello { secret: format!("{}-wrong", ctx.peer.names.secret), ..ctx.hello() };
    ctx.refused_hello("link", &wrong, Code::AuthFailed)?;
    ctx.link("link2").map(drop) // the right secret still works
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
    let (me, them, secret, id) = (&hello.from, &hello.to, &hello.secret, &hello.identity);
    let key = &hello.key;
    let lines = [
        format!("HELLO:1.2:{me}:{them}:{secret}:{key}:{id}"),
        format!("HELLO:1.3:{me}:{them}:{secret}:short:{id}"),
        format!("HELLO:1.3:{me}:{them}:{secret}:{key}"),
    ];
    for (n, line) in lines.iter().enumerate() {
        let (conn, answer) = ctx.say_first(&format!("link{}", n + 1), line, Some((key, them)))?;
        closed_with(conn, &answer, Code::BadRequest)?;
    }
    Ok(())
}

/// Someone with the roster says it is the suite: the suite, called back,
/// does not vouch for the key (`KO:AUTH_FAILED:not my key`).
fn impostor_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let impostor = super::link::Hello { vouched: false, ..ctx.hello() };
    ctx.refused_hello("link", &impostor, Code::AuthFailed)?;
    let asked = ctx.peer.seen().verifies.iter().any(|v| v.ends_with(&format!(":{}", impostor.key)));
    check(asked, "a VERIFY of the impostor's key to the suite (the dialback)", "none: the server did not ask")
}

/// Another identity under the same secret is refused, and is not
/// remembered: the suite's own is taken after it.
fn changed_identity_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    ctx.link("link")?;
    let other = super::peer::identity(&ctx.peer.names.me, &format!("{}-other", ctx.peer.names.secret));
    let changed = super::link::Hello { identity: other, ..ctx.hello() };
    ctx.refused_hello("link2", &changed, Code::AuthFailed)?;
    ctx.link("link3").map(drop)
}

fn verify_unknown_key_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let names = &ctx.peer.names;
    let line = format!("VERIFY:{}:{}:{}", names.me, names.them, super::peer::key());
    let (conn, answer) = ctx.say_first("verify", &line, None)?;
    closed_with(conn, &answer, Code::AuthFailed)
}

fn verify_for_another_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let line = format!("VERIFY:{}:{}:{}", ctx.peer.names.me, ctx.name("z"), super::peer::key());
    let (conn, answer) = ctx.say_first("verify", &line, None)?;
    closed_with(conn, &answer, Code::UnknownServer)
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
