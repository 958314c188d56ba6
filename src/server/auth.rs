//! `LOGIN` and `REGISTER`, the first frame on either port (protocol §3).

use std::net::IpAddr;
use std::sync::Arc;

use super::Ctx;
use super::throttle::Throttle;
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

/// Failed logins allowed per account before throttling, and the refill:
/// one more every 10 seconds, so about 6 guesses a minute at most.
const USER_BURST: u32 = 5;
const USER_REFILL_PER_SEC: f64 = 0.1;
/// Per address, more generous: a classroom may share one address.
const ADDR_BURST: u32 = 30;
const ADDR_REFILL_PER_SEC: f64 = 1.0;

/// Throttles failed logins per account and per client address.
pub struct LoginThrottle {
    users: Throttle,
    addrs: Throttle,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            users: Throttle::new(USER_BURST, USER_REFILL_PER_SEC),
            addrs: Throttle::new(ADDR_BURST, ADDR_REFILL_PER_SEC),
        }
    }
}

impl LoginThrottle {
    fn check(&self, user: &str, addr: IpAddr) -> Result<(), Ko> {
        let user_key = crate::protocol::names::fold(user);
        let wait = match (self.users.check(&user_key), self.addrs.check(&addr.to_string())) {
            (Ok(()), Ok(())) => return Ok(()),
            (Err(a), Err(b)) => a.max(b),
            (Err(wait), _) | (_, Err(wait)) => wait,
        };
        let secs = wait.as_secs() + 1;
        Err(Ko::new(Code::RateLimited, format!("too many failed logins; try again in {secs} s")))
    }

    fn failed(&self, user: &str, addr: IpAddr) {
        self.users.take(&crate::protocol::names::fold(user));
        self.addrs.take(&addr.to_string());
    }
}

/// Handles one frame of a connection that is not logged in yet; `addr` is
/// where the connection comes from.
pub fn authenticate(ctx: &Ctx, line: &str, addr: IpAddr) -> Outcome {
    match Request::parse(line) {
        Ok(Request::Login { user, password }) => {
            if let Err(ko) = ctx.logins.check(&user, addr) {
                return Outcome::Refused(ko);
            }
            match ctx.store.login(&user, &password, ctx.config.auto_register) {
                Ok((id, name)) => Outcome::LoggedIn(id, name),
                Err(ko) => {
                    if ko.code == Code::AuthFailed {
                        ctx.logins.failed(&user, addr);
                    }
                    Outcome::Refused(ko)
                }
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
