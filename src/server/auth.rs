//! `LOGIN` and `REGISTER`, the first frame on either port (protocol §3).

use std::sync::Arc;

use super::Ctx;
use crate::protocol::request::command_word;
use crate::protocol::{Code, Ko, Request};
use crate::store::UserId;

/// What a frame sent before login leads to.
pub enum Outcome {
    /// Logged in as this user (registered spelling).
    LoggedIn(UserId, Arc<str>),
    /// Refused; the connection stays open if the code allows it.
    Refused(Ko),
}

/// Handles one frame of a connection that is not logged in yet.
pub fn authenticate(ctx: &Ctx, line: &str) -> Outcome {
    match Request::parse(line) {
        Ok(Request::Login { user, password }) => {
            match ctx.store.login(&user, &password, ctx.config.auto_register) {
                Ok((id, name)) => Outcome::LoggedIn(id, name),
                Err(ko) => Outcome::Refused(ko),
            }
        }
        Ok(Request::Register { user, email, password }) => {
            match ctx.store.register(&user, &email, &password) {
                Ok((id, name)) => {
                    log::info!("new account {name}");
                    Outcome::LoggedIn(id, name)
                }
                Err(ko) => Outcome::Refused(ko),
            }
        }
        // A malformed LOGIN/REGISTER: say what is wrong, let them retry.
        Err(ko) if matches!(command_word(line), "LOGIN" | "REGISTER") => Outcome::Refused(ko),
        _ => Outcome::Refused(Ko::new(Code::AuthRequired, "log in first: LOGIN:<user>:<password>")),
    }
}
