//! [`Leader`]: how a cluster's follower hands its clients to the node
//! that leads (docs/CLUSTER.md, "Forwarding").
//!
//! A follower serves no client itself: each connection it accepts, on
//! the send port, the receive port or the web port's `/ws/…`, becomes
//! one TCP connection to the leader, whose first line says whose it is
//! (the client's address, for its limits, and which port it came to);
//! the client's bytes then pass both ways as they are, and the leader
//! serves them with the same `send::serve` or `recv::serve` as its own
//! clients'. So every rule, limit and reply is the single server's, and
//! every read sees every write answered before it, on any node.
//!
//! A broken connection is the loss signal, as for a single server: the
//! follower closes its client, which connects again and sends what got
//! no answer with its ids. A single server, and the leader itself, have
//! no `Leader`: `Ctx::leader` is `None`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::Ctx;
use crate::protocol::Port;
use crate::transport::Stream;

/// The node that leads, as a follower reaches it.
pub trait Leader: Send + Sync {
    /// Passes `client` (from `peer`, accepted on `port`) to the leader
    /// until either end closes it; returns its stream for the caller to
    /// close. One the leader cannot take is told why (`KO:UNAVAILABLE`).
    fn relay(&self, ctx: &Arc<Ctx>, client: Arc<Stream>, peer: SocketAddr, port: Port);
}
