//! [`Nodes`]: what a server asks of the *other* servers of its cluster.
//!
//! A single `wachat serve` is alone: every user online is in its own
//! router, and [`Alone`] answers every question with "nobody else". A
//! cluster node (`--store postgres://…`, see `src/cluster/`) implements the
//! same trait over PostgreSQL (who holds which session) and NATS (telling
//! the node that holds it). The server calls it at the few places where
//! "this machine" and "the whole chat" differ, and nowhere else:
//!
//! - a receive login **claims** its device's session ([`Nodes::claim`]):
//!   the same device on another node gets `BYE:REPLACED` from that node,
//!   and `--max-devices` counts the user's devices on every node;
//! - `USERS`, `LASTSEEN` and `MEMBERS` ask who is online elsewhere;
//! - `MEMBER` notices (protocol 1.1) reach members on other nodes;
//! - unstored events (`TYPING`, protocol 1.2) reach users on other nodes
//!   ([`Nodes::relay`], called by `server::relay` only);
//! - `P2P:<port>` and `PEER:<user>` introduce users on different nodes;
//! - a `CALL` signal (protocol 1.2) about a call another node keeps is
//!   decided there ([`Nodes::call`]), which every node learns at the
//!   offer ([`Nodes::offered`]).
//!
//! `JOINED`/`LEFT` need no call: each node tells its own users about
//! everyone else's comings and goings (the cluster's directory of
//! sessions, see `cluster::node`).

use std::sync::Arc;

use crate::protocol::{Event, Ko, PeerIntro};
use crate::router::{LoggedOut, Outlet};
use crate::server::calls::{Brief, Outcome, Party, Step};
use crate::store::UserId;

/// The rest of the cluster, as the server sees it.
pub trait Nodes: Send + Sync {
    /// A receive connection of `outlet.user` logged in here: claims the
    /// session of its device (the same device's session on another node
    /// is replaced; the user's other devices stay, wherever they are) and
    /// runs `attach` (registering the outlet with the router) while no
    /// other login of the same user can come between. True if the user is
    /// online on another node already (then nobody is told `JOINED`).
    /// `Err`: the session could not be claimed (the database is down: the
    /// login fails), or `KO:TOO_MANY_DEVICES` (`--max-devices` counted on
    /// every node: the connection may log in again).
    fn claim(&self, outlet: &Arc<Outlet>, attach: &mut dyn FnMut()) -> Result<bool, Ko>;
    /// The receive connection ended, the user's last here. True if the
    /// user is now offline everywhere; false if it is still online on
    /// another node (another device, or this one logged in there since).
    fn release(&self, outlet: &Arc<Outlet>, ts_ms: u64) -> bool;
    /// `old` ended while `new`, another device of the same user, stays
    /// online here (protocol 1.2): `old`'s device session ends (a cluster
    /// keeps one per device); the user stays online.
    fn handover(&self, old: &Arc<Outlet>, new: &Arc<Outlet>) {
        let _ = (old, new);
    }
    /// Where every node keeps the devices of every user (a cluster's
    /// database, protocol 1.2); `None`: `devices.csv` alone (one server).
    fn shared_devices(&self) -> Option<Arc<dyn crate::store::devices::SharedDevices>> {
        None
    }
    /// The (folded) names of `user`'s devices online on *other* nodes
    /// (`DEVICES` shows them `ONLINE`; they hold the inbox as online).
    fn devices_elsewhere(&self, user: UserId) -> Vec<String> {
        let _ = user;
        Vec::new()
    }
    /// `user`'s `device` was logged out here, for `why`: other nodes log
    /// it out too, telling its connections there as this one did;
    /// [`EVERY_DEVICE`](crate::router::EVERY_DEVICE): every session of `user`.
    fn logged_out(&self, user: UserId, device: &str, why: LoggedOut) {
        let _ = (user, device, why);
    }
    /// The names of the users online on *other* nodes (`USERS`).
    fn online_names(&self) -> Vec<String>;
    /// True if `user` is online on another node.
    fn is_online(&self, user: UserId) -> bool;
    /// `P2P:<port>` (`None`: forgotten), for introductions made by any node.
    fn announce(&self, user: UserId, port: Option<u16>);
    /// The port `user` announced, wherever it announced it.
    fn p2p_port(&self, user: UserId) -> Option<u16>;
    /// Whether `user` logged in a device on another node after `here`,
    /// its newest connection on this node (a cluster numbers each user's
    /// logins across nodes): then that node's device is the newest, which
    /// `PEER` tells.
    fn newest_elsewhere(&self, user: UserId, here: &Outlet) -> bool {
        let _ = (user, here);
        false
    }
    /// `PEER:<user>` for a `user` whose newest receive connection is on
    /// another node: that node pushes `P2P:<from>:<token>` and answers
    /// `<ip>:<port>:<token>`. `None`: not online on any other node.
    fn introduce(&self, from: &str, user: UserId) -> Option<Result<PeerIntro, Ko>>;
    /// A `CALL` signal `step` of `me` (on `device`) about the call `id`
    /// with `peer`, which this node does not keep: the node that keeps it
    /// (where it was offered) decides by the one rule, `Calls::step`, and
    /// says what it did. `None`: no other node keeps such a call (the
    /// asking node answers as a single server does: no call). Only that
    /// node is asked once it is known (told at the offer:
    /// `cluster::kept`).
    fn call(
        &self,
        me: &Party,
        device: &str,
        peer: &Party,
        id: &str,
        step: Step,
    ) -> Option<Result<Outcome, Ko>> {
        let _ = (me, device, peer, id, step);
        None
    }
    /// The calls other nodes keep that `a` or `b` is an end of, as this
    /// node heard of them (their offers, answers and ends): what
    /// [`may_ring`](crate::server::calls::may_ring) reads besides this
    /// node's own table. A single server has none.
    fn calls_elsewhere(&self, a: UserId, b: UserId) -> Vec<Brief> {
        let _ = (a, b);
        Vec::new()
    }
    /// `caller` offered the call `id` to `callee` here, and this node
    /// keeps it: the other nodes are told, just before the offer reaches
    /// them, so that their signals about it come here straight
    /// ([`Nodes::call`]). (A cluster tells every node, as it relays: each
    /// judges its new calls against this one too, `calls_elsewhere`.)
    fn offered(&self, caller: &Party, callee: &Party, id: &str) {
        let _ = (caller, callee, id);
    }
    /// Pushes an unstored event (see `server::relay`) to those of `users`
    /// whose receive connection is on another node; the rest are offline.
    fn relay(&self, users: &[UserId], event: &Event);
    /// The server is stopping: its sessions end (and the node says so).
    fn stop(&self);
}

/// A single server: no other node.
pub struct Alone;

impl Nodes for Alone {
    fn claim(&self, _outlet: &Arc<Outlet>, attach: &mut dyn FnMut()) -> Result<bool, Ko> {
        attach();
        Ok(false)
    }
    fn release(&self, _outlet: &Arc<Outlet>, _ts_ms: u64) -> bool {
        true
    }
    fn online_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn is_online(&self, _user: UserId) -> bool {
        false
    }
    fn announce(&self, _user: UserId, _port: Option<u16>) {}
    fn p2p_port(&self, _user: UserId) -> Option<u16> {
        None
    }
    fn introduce(&self, _from: &str, _user: UserId) -> Option<Result<PeerIntro, Ko>> {
        None
    }
    fn relay(&self, _users: &[UserId], _event: &Event) {}
    fn stop(&self) {}
}
