//! Who may create an account (`serve --registration open|invite|closed`),
//! and `REDEEM` (protocol 1.2), registering with an invite code.
//!
//! The registration caps of `auth/mod.rs` (60 new accounts per address, 600
//! overall) bound what a flood of `REGISTER`s costs, but a cap shared by
//! everyone is a switch one attacker flips for everyone: issue 25 used up
//! the global one in 0.3 s, after which no classmate could register. So a
//! teacher may close the door instead: with `invite`, `REGISTER` is
//! refused and only a code printed by `wachat users invite` creates an
//! account, each code once (`store::invites`). A code is proof enough:
//! `REDEEM` takes none of the register caps' tokens. With `closed`, only
//! `wachat users add|import` (server stopped) create accounts.

use crate::protocol::{Code, Ko};
use crate::store::door::{Claim, Door};
use crate::store::invites::Refused;

/// Who may create an account over the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    /// `REGISTER` for anyone (within the register caps), `REDEEM` too.
    #[default]
    Open,
    /// `REDEEM` with a code from `wachat users invite` only.
    Invite,
    /// Nobody: accounts come from `wachat users add|import`.
    Closed,
}

impl Registration {
    /// Why a `REGISTER` is refused, if it is.
    pub fn refuses_register(self) -> Option<Ko> {
        let reason = match self {
            Registration::Open => return None,
            Registration::Invite => {
                "this server registers with an invite code only: \
                 REDEEM:<code>:<user>:<email>:<password> (wachat register --invite CODE)"
            }
            Registration::Closed => CLOSED,
        };
        Some(Ko::new(Code::AuthFailed, reason))
    }

    /// The first half of `REDEEM`: checks that a code may create an
    /// account now (registration not closed, REGISTER's password rule) and
    /// claims it at the `door` (the data directory's codes, or the
    /// cluster's database's). The caller (`auth`)
    /// creates the account, and gives the claim back with
    /// [`Claim::release`] if that fails (a taken name), so the code stays
    /// valid.
    pub fn claim_invite<'a>(self, door: &'a dyn Door, code: &str, password: &str) -> Result<Claim<'a>, Ko> {
        if self == Registration::Closed {
            return Err(Ko::new(Code::AuthFailed, CLOSED));
        }
        // The same password rule as REGISTER, checked before the code is
        // claimed, so that a weak password does not use up a good code.
        crate::store::password::check_new(password)?;
        crate::store::door::claim(door, code, crate::store::now_ms()).map_err(|refused| match refused {
            Refused::Unknown => Ko::new(Code::AuthFailed, "no such invite code: check how you typed it"),
            Refused::Used => Ko::new(Code::AuthFailed, "this invite code was used already: ask for another"),
            Refused::Expired(_) => Ko::new(Code::AuthFailed, "this invite code has expired: ask for another"),
            Refused::Failed(ko) => ko,
        })
    }
}

const CLOSED: &str = "registration is closed on this server: ask your teacher for an account";
