//! Who may create an account (`serve --registration open|invite|closed`),
//! and `REDEEM` (protocol 1.2), registering with an invite code.
//!
//! The registration caps of `auth/mod.rs` (60 new accounts per address, 600
//! overall) bound what a flood of `REGISTER`s costs, but a cap shared by
//! everyone is a switch one attacker flips for everyone: one student's
//! script can use up the global one in 0.3 s, after which no classmate
//! can register. So a
//! teacher may close the door instead: with `invite`, `REGISTER` is
//! refused and only a code printed by `wachat users invite` creates an
//! account, each code once (`store::invites`: the store uses the code in
//! the batch that makes the account). A code is proof enough:
//! `REDEEM` takes none of the register caps' tokens. With `closed`, only
//! `wachat users add|import` (server stopped) create accounts.

use crate::protocol::{Code, Ko};
use crate::store::Store;

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

    /// The checks of `REDEEM` before any password is hashed: registration
    /// not closed, REGISTER's password rule (so that a weak password does
    /// not use up a good code), and the code valid now
    /// ([`Store::check_invite`]). Returns the code as printed, which the
    /// caller (`auth`) registers with ([`Store::redeem`]): the store
    /// judges it again as it makes the account, and uses it then.
    pub fn check_redeem(self, store: &Store, code: &str, password: &str) -> Result<String, Ko> {
        if self == Registration::Closed {
            return Err(Ko::new(Code::AuthFailed, CLOSED));
        }
        crate::store::password::check_new(password)?;
        store.check_invite(code)
    }
}

const CLOSED: &str = "registration is closed on this server: ask your teacher for an account";
