//! A user's own account (protocol 1.2, docs/PROTOCOL.md §20): `PASSWD`
//! and `PASSWDKEEP`, a new password.
//!
//! What a password change must do, in order:
//!
//! 1. the new password is checked first (at least six characters, as a
//!    new account's), so that a refusal says nothing about the old one;
//! 2. the old password is checked as a login is, **within the failed-login
//!    limits** (`auth::check_password`): an open session left on a lab
//!    machine does not let a passer-by guess at the password faster than
//!    a login would;
//! 3. the new hash is made on the hashing pool and stored durably (a
//!    `PASSWD` record on a single server, the `users` row on a cluster)
//!    before the `OK`; what the login limits remember of the old password
//!    is forgotten (`auth::forget_password`), and the cache of recent
//!    logins no longer matches it (it is keyed by the hash);
//! 4. unless the user keeps them (`PASSWDKEEP`), every **other** device is
//!    logged out and its token revoked: its receive connection hears
//!    `BYE:UNLINKED` (`BYE:REPLACED` below 1.2, which also tells it not to
//!    come back by itself), the account's other send connections are
//!    closed, and the device must log in with the new password. The
//!    device that asked stays logged in, on both ports.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Ctx, auth};
use crate::protocol::{Bye, DEFAULT_DEVICE, Ko};
use crate::store::UserId;

/// Who asks: a logged-in send connection.
pub struct Asker<'a> {
    pub user: UserId,
    /// As registered.
    pub name: &'a str,
    pub peer: IpAddr,
    /// The send connection's number (`Sessions`): kept open.
    pub conn_id: u64,
    /// The device its `LOGIN` named (`None`: `default`): kept logged in.
    pub device: Option<&'a str>,
}

impl Asker<'_> {
    fn device(&self) -> &str {
        self.device.unwrap_or(DEFAULT_DEVICE)
    }
}

/// `PASSWD:<old>:<new>` (`keep`: `PASSWDKEEP`), in the order of the
/// module documentation.
pub fn passwd(ctx: &Ctx, me: &Asker, old: &str, new: &str, keep: bool) -> Result<(), Ko> {
    crate::store::password::check_new(new)?;
    auth::check_password(ctx, me.name, old, me.peer)?;
    ctx.store.change_password(me.user, new)?;
    auth::forget_password(ctx, me.name);
    let others = if keep { 0 } else { log_out_others(ctx, me)? };
    log::info!("{}: {} changed its password ({others} other devices logged out)", me.peer, me.name);
    Ok(())
}

/// Logs out every device of `me`'s account but its own, and revokes
/// their tokens; returns how many devices were logged out or revoked.
fn log_out_others(ctx: &Ctx, me: &Asker) -> Result<usize, Ko> {
    let mine = me.device();
    let revoked = ctx.devices.revoke_tokens(me.name, mine)?;
    ctx.sessions.close(me.user, Some(me.conn_id));
    let mut closed: Vec<Arc<str>> = Vec::new();
    for outlet in ctx.router.outlets(me.user) {
        if !outlet.device.eq_ignore_ascii_case(mine) {
            outlet.close(if outlet.speaks(2) { Bye::Unlinked } else { Bye::Replaced });
            closed.push(outlet.device.clone());
        }
    }
    // A cluster: the devices online on other nodes are told there.
    for device in &revoked {
        ctx.nodes.unlinked(me.user, device);
    }
    closed.retain(|c| !revoked.iter().any(|r| r.eq_ignore_ascii_case(c)));
    Ok(revoked.len() + closed.len())
}
