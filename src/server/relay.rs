//! Events from one user to others that are never stored: the one way an
//! event goes from the server to other users outside the inbox.
//!
//! [`relay`] pushes an [`Event`] to users through the router, which
//! holds every receive connection (on a cluster, the leader's: the
//! followers pass their clients on to it, `server::Leader`). The version
//! gate is the outlet's ([`Event::since`]): a client that did not say
//! `VERSION:1.<minor>` is not sent it.
//!
//! Such events are ephemeral: no sequence number, no inbox, no replay. A
//! user offline everywhere simply misses them.

use super::base::Base;
use crate::protocol::Event;
use crate::store::UserId;

/// Pushes `event` to each of `users` who is online.
pub fn relay(base: &Base, users: impl IntoIterator<Item = UserId>, event: &Event) {
    for user in users {
        base.router.send_to(user, event);
    }
}
