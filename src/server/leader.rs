//! [`Leader`]: how a cluster's follower reaches the node that leads
//! (docs/CLUSTER.md, `store::shared_log`).
//!
//! A follower serves its connections from its own copy of the store:
//! the reads (`HISTORY`, `CHATS`, `SEARCH`, …, the requests of
//! [`Kind::Read`](super::requests::Kind::Read)), the inbox replay, and
//! the events of every batch it applies. Whatever changes something, or
//! needs to know every node's connections, it does not decide: it hands
//! it to the leader, which decides it with the single server's code and
//! answers.
//!
//! - A send connection's other requests go to the leader's copy of the
//!   connection, one session there per connection here ([`Upstream`]),
//!   which runs the same `send::serve` as a client's; the replies come
//!   back in order, each with the log position it is true as of.
//! - A read asks the leader first how far its log is durable, and waits
//!   until this node's copy is there (a "read index"): so it sees every
//!   write answered before it, this connection's and any other's, on
//!   any node, as it would on a single server (`Session::read_index`).
//! - A receive connection's login is checked there, and its device
//!   claimed there, where the leader keeps an outlet for it
//!   (`router::Outlet::far`) through which the unnumbered events of its
//!   router reach it; its `ACK`s and its end are told there too.
//!
//! A single server, and the leader itself, have none: `Ctx::leader` is
//! `None`.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::protocol::Ko;
use crate::router::Outlet;
use crate::store::Ticket;
use crate::transport::Stream;

use super::auth::Outcome;

/// A send connection's session on the leader.
pub trait Upstream: Send + Sync {
    /// Sends a request; `answer` gets its reply, parsed (`lists`: the
    /// request is answered with a listing), and the position of the log
    /// it is true as of; or `None` if it will get none (the leader is
    /// gone: the connection is cut, and the client sends it again to the
    /// next). Called in the order of the requests; answered in that order.
    fn send(&self, line: &str, lists: bool, answer: ReplyTo);
    /// Waits until every request sent has its answer (a read must see
    /// them), at most `deadline`; the newest position they carry.
    fn settle(&self) -> Ticket;
    /// True once the leader's session ended (it closed the connection):
    /// this one closes too, after the replies.
    fn is_closed(&self) -> bool;
    /// The connection here ended: the leader's session ends too.
    fn close(&self);
}

/// Where a forwarded request's answer goes ([`Upstream::send`]).
pub type ReplyTo = Box<dyn FnOnce(Option<(crate::protocol::Reply, Ticket)>) + Send>;

/// What a follower asks the leader (see the module documentation).
pub trait Leader: Send + Sync {
    /// Opens the session on the leader of the send connection `conn`,
    /// from `peer` (the client's address: its limits are counted there),
    /// logged in as `user` on `device` already if given (a connection that
    /// logged in through the leader before a failover). Once the leader's
    /// session ends, `client`'s reading is stopped, so that its thread
    /// writes the last replies and closes it.
    fn open(
        &self,
        conn: u64,
        peer: SocketAddr,
        client: Arc<Stream>,
        user: Option<(&str, Option<&str>)>,
    ) -> Arc<dyn Upstream>;

    /// A receive connection's login frame, checked by the leader as its
    /// own would be (`auth::authenticate`), and the log position its
    /// answer is true as of (a new account: this node's copy must hold it).
    fn authenticate(&self, line: &str, peer: SocketAddr, opens: bool) -> (Outcome, Ticket);

    /// The receive connection `conn` of `user` on `device`, logged in,
    /// comes online: the leader claims its device (`recv::claim`) and
    /// answers where its replay begins (the device's position), or why it
    /// may not come in (`KO:TOO_MANY_DEVICES`, or no leader answered).
    fn attach(&self, conn: u64, outlet: &Arc<Outlet>, minor: u8) -> Result<ReplayStart, Ko>;

    /// The connection said `VERSION:1.<minor>` after its login.
    fn version(&self, conn: u64, minor: u8);

    /// The connection acknowledged its events up to `seq`.
    fn ack(&self, conn: u64, seq: u64);

    /// The connection ended.
    fn detach(&self, conn: u64);

    /// How far the leader's log is durable now: a read on this node waits
    /// until its copy is there, so that it sees every write answered
    /// before it, on any node, as on a single server (`KO:UNAVAILABLE`:
    /// no leader answered in time).
    fn log_end(&self) -> Result<Ticket, Ko>;
}

/// What the leader answers a receive connection that comes online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayStart {
    /// The device's position in its user's inbox: the replay begins after it.
    pub after: u64,
    /// The log position the answer is true as of.
    pub ticket: Ticket,
}
