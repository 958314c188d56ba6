//! Events from one user to others that are never stored: the one way an
//! event goes from the server to other users outside the inbox.
//!
//! [`relay`] pushes an [`Event`] to users wherever their receive
//! connection is: on this server through the router, and on a cluster's
//! other nodes through [`Nodes::relay`](super::nodes::Nodes::relay), whose
//! cluster implementation says, in one exhaustive match, how each kind of
//! event crosses between nodes. A new relayed event therefore needs no
//! cluster code of its own, and cannot be forgotten there: the compiler
//! names it. The version gate is the outlet's ([`Event::since`]): a client
//! that did not say `VERSION:1.<minor>` is not sent it, on any node.
//!
//! Such events are ephemeral: no sequence number, no inbox, no replay. A
//! user offline everywhere simply misses them.

use super::base::Base;
use crate::protocol::Event;
use crate::store::UserId;

/// Pushes `event` to each of `users` who is online, here or on another
/// node. In a cluster a user may be online on both (devices on two nodes,
/// protocol 1.2): every user is handed to `Nodes::relay` too, which sends
/// only to the other nodes where the user has a device.
pub fn relay(base: &Base, users: impl IntoIterator<Item = UserId>, event: &Event) {
    let users: Vec<UserId> = users.into_iter().collect();
    for &user in &users {
        base.router.send_to(user, event);
    }
    base.nodes.relay(&users, event);
}
