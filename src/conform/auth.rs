//! Group `auth`: `REGISTER` and `LOGIN`, the first frame on either port,
//! and their failures (docs/PROTOCOL.md §3).

use super::case::{case, check};
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::Code;

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Auth, name, section, run);
    vec![
        c("register-then-login", "§3 Logging in", register_then_login),
        c("login-ignores-case", "§3 Logging in", login_ignores_case).registers(),
        c("user-exists-stays-open", "§3 Logging in", user_exists_stays_open).registers(),
        c("wrong-password-closes", "§3 Logging in", wrong_password_closes),
        c("auth-required-closes", "§3 Logging in", auth_required_closes),
        c("malformed-login-stays-open", "§3 Logging in", malformed_login_stays_open).registers(),
        c("login-twice-refused", "§5 Replies and error codes", login_twice_refused),
        c("receive-port-login", "§6 The receive port", receive_port_login).registers(),
        c("receive-port-auth-required", "§6 The receive port", receive_port_auth_required),
        c("receive-port-wrong-password", "§6 The receive port", receive_port_wrong_password),
    ]
}

fn register_then_login(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ok("PING")?;
    ctx.login_send("a", "a.send2")?.ok("PING").map(drop)
}

fn login_ignores_case(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let name = ctx.name("Ab");
    let mut a = ctx.send_conn("a.send")?;
    ctx.settings.made(&name, &ctx.password(&name));
    a.ok(&format!("REGISTER:{name}::{}", ctx.password(&name)))?;
    let mut again = ctx.send_conn("a.send2")?;
    let reply = again.request(&format!("LOGIN:{}:{}", name.to_uppercase(), ctx.password(&name)))?;
    check(reply == format!("OK:{name}"), format!("OK:{name} (the spelling of the registration)"), reply)
}

fn user_exists_stays_open(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let name = ctx.name("a");
    let mut x = ctx.send_conn("x.send")?;
    x.ko(&format!("REGISTER:{}::another", name.to_uppercase()), Code::UserExists)?;
    // The connection waits for another try.
    let reply = x.request(&format!("LOGIN:{name}:{}", ctx.password(&name)))?;
    check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)
}

fn wrong_password_closes(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut x = ctx.send_conn("x.send")?;
    x.ko(&format!("LOGIN:{}:wrong", ctx.name("a")), Code::AuthFailed)?;
    x.expect_closed()
}

fn auth_required_closes(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut x = ctx.send_conn("x.send")?;
    x.ko("USERS", Code::AuthRequired)?;
    x.expect_closed()
}

fn malformed_login_stays_open(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let name = ctx.name("a");
    let mut x = ctx.send_conn("x.send")?;
    x.ko("LOGIN:ana", Code::BadRequest)?;
    x.ko("REGISTER:ana", Code::BadRequest)?;
    ctx.settings.made(&name, &ctx.password(&name));
    let reply = x.request(&format!("REGISTER:{name}::{}", ctx.password(&name)))?;
    check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)
}

fn login_twice_refused(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let name = ctx.name("a");
    a.ko(&format!("LOGIN:{name}:{}", ctx.password(&name)), Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn receive_port_login(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut r = ctx.recv_conn("a.recv")?;
    let name = ctx.name("a");
    ctx.settings.made(&ctx.name("fresh"), "fresh-password");
    r.send(&format!("REGISTER:{}::fresh-password", ctx.name("fresh")))?;
    let reply = r.line("OK:<the new user>")?;
    check(reply == format!("OK:{}", ctx.name("fresh")), format!("OK:{}", ctx.name("fresh")), reply)?;
    let reply = ctx.recv_conn("a.recv2")?.request(&format!("LOGIN:{name}:{}", ctx.password(&name)))?;
    check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)
}

fn receive_port_auth_required(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut x = ctx.recv_conn("x.recv")?;
    x.ko("ACK:1", Code::AuthRequired)?;
    x.expect_closed()
}

fn receive_port_wrong_password(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut x = ctx.recv_conn("x.recv")?;
    x.ko(&format!("LOGIN:{}:wrong", ctx.name("a")), Code::AuthFailed)?;
    x.expect_closed()
}
