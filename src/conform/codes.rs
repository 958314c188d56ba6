//! Group `codes`: each `KO` code for the input that earns it, and whether
//! the connection stays usable after it (docs/PROTOCOL.md §5).
//!
//! Three codes cannot be earned from outside without setting the server up
//! for them, so they are not checked here: `BUSY` (`--max-connections`),
//! `INTERNAL` (a full disk) and `RATE_LIMITED` (its limits are the
//! server's choice). `TIMEOUT` is in the group `timing`.

use super::case::case;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Codes, name, section, run);
    vec![
        c("bad-request-unknown-word", "§5 BAD_REQUEST", unknown_word),
        c("bad-request-lowercase-word", "§1 Frames", lowercase_word),
        c("bad-request-wrong-field-count", "§4 PING and QUIT", wrong_field_count),
        c("auth-required", "§5 AUTH_REQUIRED", auth_required),
        c("auth-failed", "§5 AUTH_FAILED", auth_failed),
        c("user-exists", "§5 USER_EXISTS", user_exists).registers(),
        c("unknown-user", "§5 UNKNOWN_USER", unknown_user),
        c("not-member", "§5 NOT_MEMBER", not_member),
        c("unknown-message", "§5 UNKNOWN_MESSAGE", unknown_message),
        c("offline", "§5 OFFLINE", offline),
        c("too-long", "§5 TOO_LONG", too_long),
    ]
}

/// `line` gets `KO:<code>`, then the connection still answers `PING`.
fn stays_open(ctx: &mut CaseCtx, line: &str, code: Code) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ko(line, code)?;
    a.ok("PING").map(drop)
}

fn unknown_word(ctx: &mut CaseCtx) -> Result<(), Failure> {
    stays_open(ctx, "SHOUT:everyone", Code::BadRequest)
}

fn lowercase_word(ctx: &mut CaseCtx) -> Result<(), Failure> {
    stays_open(ctx, "users", Code::BadRequest)
}

fn wrong_field_count(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ko("PING:now", Code::BadRequest)?;
    a.ko("USERS:all", Code::BadRequest)?;
    a.ko("JOIN", Code::BadRequest)?;
    a.ko("MSG:x", Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn auth_required(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut x = ctx.send_conn("x.send")?;
    x.ko("PING", Code::AuthRequired)?;
    x.expect_closed()
}

fn auth_failed(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut x = ctx.send_conn("x.send")?;
    x.ko(&format!("LOGIN:{}:not-the-password", ctx.name("a")), Code::AuthFailed)?;
    x.expect_closed()
}

fn user_exists(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut x = ctx.send_conn("x.send")?;
    x.ko(&format!("REGISTER:{}::another", ctx.name("a")), Code::UserExists)?;
    x.ko(&format!("REGISTER:{}::another", ctx.name("a")), Code::UserExists).map(drop)
}

fn unknown_user(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let line = format!("MSG:{}:m1:hi", ctx.name("ghost"));
    stays_open(ctx, &line, Code::UnknownUser)
}

fn not_member(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let line = format!("LEAVE:{}", ctx.room("never"));
    stays_open(ctx, &line, Code::NotMember)
}

fn unknown_message(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("b")?;
    let line = format!("READ:{}:nope", ctx.name("b"));
    stays_open(ctx, &line, Code::UnknownMessage)
}

fn offline(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("b")?;
    let line = format!("PEER:{}", ctx.name("b"));
    // A TLS server (1.1) refuses every PEER: direct chats are plaintext.
    let code = if ctx.settings.tls.is_some() { Code::BadRequest } else { Code::Offline };
    stays_open(ctx, &line, code)
}

fn too_long(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ko(&format!("PING{}", " ".repeat(crate::protocol::MAX_FRAME)), Code::TooLong)?;
    a.expect_closed()
}
