//! `wachat passwd`: a new password for your account (protocol 1.2,
//! `PASSWD`), from a script or a terminal.
//!
//! Where the two passwords come from: with `--password-stdin`, the first
//! two lines of stdin (current, then new); else the current one from
//! `WACHAT_PASSWORD` or a hidden prompt, and the new one from
//! `WACHAT_NEW_PASSWORD` or a hidden prompt, typed twice. Never from an
//! argument (it would be in the shell's history and in `ps`).

use clap::Args;

use super::{ServerArgs, read_new_password, read_password, with_password};
use crate::error::{Error, Result};
use crate::i18n::account::Msg;
use crate::i18n::tr;
use crate::oneshot;
use crate::protocol::{Reply, Request};
use crate::store::password::MIN_CHARS;

#[derive(Args, Debug)]
pub struct PasswdArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Keep your other devices logged in (by default they are logged out
    /// and their tokens revoked: they must log in with the new password).
    #[arg(long)]
    pub keep: bool,
}

/// `wachat passwd`.
pub fn passwd(args: &PasswdArgs) -> Result<()> {
    let user = &args.server.user;
    let stdin = args.server.password_stdin;
    let old = read_password(user, stdin)?;
    let new = match std::env::var("WACHAT_NEW_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(new) if !stdin => new,
        // `read_new_password` would take WACHAT_PASSWORD, the current one.
        _ if !stdin && std::env::var("WACHAT_PASSWORD").is_ok_and(|p| !p.is_empty()) => {
            return Err(Error::Usage(tr!(Msg::NewPasswordFromEnv)));
        }
        _ => read_new_password(user, stdin)?,
    };
    if new.chars().count() < MIN_CHARS {
        return Err(Error::Usage(tr!(Msg::NewPasswordShort, min = MIN_CHARS)));
    }
    if old.contains(':') {
        return Err(Error::Usage(tr!(Msg::OldPasswordColon)));
    }
    let options = with_password(&args.server, old.clone())?;
    let (mut conn, _) = oneshot::open(&options)?;
    let request = Request::Passwd { old, new, keep: args.keep };
    match conn.request(&request)? {
        Reply::Ok => {}
        Reply::Ko(ko) => return Err(Error::Refused { request: tr!(Msg::ReqPasswd), ko }),
        other => return Err(conn.unexpected(&other)),
    }
    let _ = conn.request(&Request::Quit);
    println!(
        "{}",
        if args.keep { Msg::PasswordChangedKept } else { Msg::PasswordChanged }.text(crate::i18n::current())
    );
    Ok(())
}
