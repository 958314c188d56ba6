//! [`Ctx`]: what every handler thread of the server shares: the [`Base`]
//! every part stands on (the config, the store, the router, the files,
//! the door), and the
//! parts built on it (devices, presence, the limits, the connections);
//! and the questions asked of several of them together: whether a request
//! is within its `--rate`, whether a connection may open. Made once by
//! `lifecycle.rs`'s `Server::start_with`.
//!
//! A `Ctx` derefs to its `Base`: `ctx.store` reads the base's store, and a
//! part that needs only the base (`devices`, `presence`, `relay`) takes a
//! `&Base`, which `&ctx` gives, so that it does not depend on the `Ctx`
//! that holds it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::auth::AuthLimits;
use super::auth::watch::{Limit, Watch};
use super::base::Base;
use super::closer::Closer;
use super::connections::{ConnectionLimits, Connections, Refusal, Slot};
use super::devices::Devices;
use super::links::{Links, not_linked};
use super::log_limit::{Logs, log_limited};
use super::p2p::Ports;
use super::presence::Announcer;
use super::throttle::{Throttle, address_key};
use crate::protocol::{Chat, Code, Ko, Port, Reply};
use crate::store::UserId;
use crate::transport::Stream;

/// What every handler thread shares.
pub struct Ctx {
    /// The config, the store, the router, the files, the door.
    pub base: Base,
    /// Ports announced with `P2P:<port>`.
    pub p2p_ports: Ports,
    /// Each user's devices: positions, tokens, link codes (protocol 1.2).
    pub devices: Arc<Devices>,
    /// 1.2 (§28): Web Push: subscriptions, the server's key, the senders.
    pub push: Arc<super::push::Pusher>,
    /// 1.2 (§24): the calls ringing or under way (`calls`); a receive
    /// connection that ends ends its device's (`call_relay::device_gone`).
    pub(super) calls: super::calls::Calls,
    /// 1.2 (§32): the rooms' calls (`group_calls`); likewise, a receive
    /// connection that ends takes its device out (`group_call_relay`).
    pub(super) group_calls: super::group_calls::GroupCalls,
    /// Who was told `JOINED`, and how often (see `presence`).
    pub(super) presence: Announcer,
    /// Failed-login and registration limits (`KO:RATE_LIMITED`).
    pub(super) auth: AuthLimits,
    /// Requests per user (`--rate`, `KO:RATE_LIMITED`); `None`: no limit.
    pub(super) requests: Option<Throttle<UserId>>,
    /// Requests per address (`--address-rate`); `None`: no limit.
    pub(super) address_requests: Option<Throttle<IpAddr>>,
    /// Open connections on both ports: counted for `--max-connections`
    /// and `--max-per-address`; send-port ones are kept to stop their
    /// reading at shutdown.
    pub(super) connections: Arc<Connections>,
    /// Who the limits refused and who logged in, lately, for `wachat top`.
    pub watch: Watch,
    /// Log lines about attacks, each kind limited (see `log_limit`).
    pub(super) logs: Logs,
    /// The thread that lingers over closing sockets (see `closer`).
    pub(super) closer: Closer,
    /// Whether the accept loops take clients yet ([`Doors`]).
    pub doors: Doors,
    pub(super) shutting_down: AtomicBool,
    /// On a cluster's follower: the node that leads, to which it hands
    /// its clients (`server::Leader`); `None` on a single server and on
    /// the leader.
    pub(super) leader: parking_lot::RwLock<Option<Arc<dyn Leader>>>,
    /// 1.3 (§27): the class network's links, with `--peers`.
    pub federation: std::sync::OnceLock<Arc<dyn Links>>,
    /// Why the server refuses writes for now, as its storage says (a
    /// cluster's follower that sees no leader); `None`: it does not. For
    /// `server::health`.
    pub(super) refusing: parking_lot::Mutex<Option<String>>,
}

/// Whether the server takes its clients yet: its send, receive and web
/// ports are bound as it starts, and their accept loops wait here until
/// every part is set up (`Server::open`: the class network's links
/// included), so that no request is answered by a server not yet whole
/// (an address refused as on a server in no network). A client that
/// connects meanwhile waits in the port's backlog.
#[derive(Default)]
pub struct Doors {
    open: parking_lot::Mutex<bool>,
    opened: parking_lot::Condvar,
}

impl Doors {
    /// The accept loops take clients from now on.
    pub fn open(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }

    /// Waits until the doors are open.
    pub fn wait(&self) {
        let mut open = self.open.lock();
        while !*open {
            self.opened.wait(&mut open);
        }
    }
}

impl std::ops::Deref for Ctx {
    type Target = Base;

    fn deref(&self) -> &Base {
        &self.base
    }
}

impl Ctx {
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The storage says writes are refused for now, and why (`None`:
    /// they are taken again). `server::health` reports it.
    pub fn refuse_writes(&self, why: Option<String>) {
        *self.refusing.lock() = why;
    }

    /// Why writes are refused, if they are ([`Ctx::refuse_writes`]).
    pub fn refusing_writes(&self) -> Option<String> {
        self.refusing.lock().clone()
    }

    /// The leader, on a cluster's follower (`server::Leader`).
    pub fn leader(&self) -> Option<Arc<dyn Leader>> {
        self.leader.read().clone()
    }

    /// Checks one address of a request against the class network (1.3,
    /// §27): the chat to use in its place, or the refusal ([`Links::route`];
    /// [`not_linked`] on a server without `--peers`): a `MSG`'s
    /// recipient, the room of a `JOIN` or `LEAVE`.
    pub fn route(&self, chat: &Chat) -> std::result::Result<Option<Chat>, Ko> {
        match self.federation.get() {
            Some(links) => links.route(chat),
            None => not_linked(chat).map_or(Ok(None), Err),
        }
    }

    /// The chat of what does not cross servers (1.3, §27: `TYPING`): a local name or room as it is, this
    /// server's own address as the local chat ([`Ctx::route`]); an address
    /// of another server is refused, `KO:BAD_REQUEST:<what> does not cross
    /// servers: bob@lab2 is a user of lab2`, and nothing is done.
    pub fn here_only(&self, chat: Chat, what: &str) -> std::result::Result<Chat, Ko> {
        if let Some(local) = self.route(&chat)? {
            return Ok(local);
        }
        let Some(server) = chat.server() else { return Ok(chat) };
        let (kind, address) = match &chat {
            Chat::User(address) => ("a user", address.clone()),
            Chat::Room(room) => ("a room", format!("#{room}")),
        };
        Err(Ko::new(
            Code::BadRequest,
            format!("{what} does not cross servers: {address} is {kind} of {server}"),
        ))
    }

    /// Cuts every connection at once (a cluster's deposed node).
    pub fn cut_all_connections(&self) {
        self.connections.cut_all();
    }

    /// This node follows `leader` from now on (`None`: it leads, or is
    /// alone).
    pub fn follow(&self, leader: Option<Arc<dyn Leader>>) {
        *self.leader.write() = leader;
    }

    /// A slot for a new connection from `peer` on a port served outside
    /// this module (the web port, `src/web/`), under the same
    /// `--max-connections` and `--max-per-address` as the two ports.
    pub fn admit(&self, peer: IpAddr) -> std::result::Result<Slot, Refusal> {
        let config = &self.config;
        let limits = ConnectionLimits {
            max: config.max_connections,
            per_address: config.max_per_address,
            exempt: &config.exempt,
        };
        self.connections.admit(peer, limits)
    }

    /// Hands a connection whose thread is done to the closer thread
    /// (see `closer`), as the two ports' handler threads do.
    pub fn close_later(&self, stream: Arc<Stream>) {
        self.closer.close(stream);
    }

    /// Takes `cost` more tokens from `user`'s and `peer`'s buckets for work
    /// already done, whose size was known only once done (a `SEARCH`'s
    /// reading): the buckets may go below empty, and the next requests
    /// wait until they have refilled.
    pub fn charge(&self, user: UserId, peer: IpAddr, cost: u32) {
        let Some(requests) = &self.requests else { return };
        if cost == 0 {
            return;
        }
        requests.charge(user, cost);
        let address = address_key(peer);
        if let Some(addresses) = &self.address_requests
            && !self.config.exempt.iter().any(|&e| address_key(e) == address)
        {
            addresses.charge(address, cost);
        }
    }

    /// Takes `cost` tokens from `user`'s `--rate` bucket and from the
    /// `--address-rate` bucket of `peer` (unless exempt); a
    /// `KO:RATE_LIMITED` saying how long to wait if either has too few.
    /// Per address too, so that a student's budget cannot be multiplied by
    /// registering more accounts. A refusal is logged naming the limit
    /// that refused it (a class over its address's budget is not one
    /// student's loop), and counted for `wachat top` ([`Watch`]).
    pub fn meter(
        &self,
        user: UserId,
        name: &str,
        peer: SocketAddr,
        cost: u32,
    ) -> std::result::Result<(), Ko> {
        let Some(requests) = &self.requests else { return Ok(()) };
        let address = address_key(peer.ip());
        let refused = match requests.try_take(user, cost) {
            Err(wait) => (Limit::Rate, Ko::too_many_requests("", wait, Limit::Rate.as_str())),
            Ok(()) => match &self.address_requests {
                Some(addresses) if !self.config.exempt.iter().any(|&e| address_key(e) == address) => {
                    match addresses.try_take(address, cost) {
                        Ok(()) => return Ok(()),
                        Err(wait) => {
                            requests.give_back_n(user, cost);
                            let flag = Limit::AddressRate.as_str();
                            (Limit::AddressRate, Ko::too_many_requests(" from your address", wait, flag))
                        }
                    }
                }
                _ => return Ok(()),
            },
        };
        let (limit, ko) = refused;
        self.watch.refused(Some(name), address, limit);
        let why = match limit {
            Limit::AddressRate => format!(
                "its address {address} is over --address-rate ({} requests a second, all its users together)",
                self.config.address_rate
            ),
            _ => format!("over its own --rate ({} requests a second)", self.config.rate),
        };
        log_limited!(self.logs.throttled, info, "{peer}: {name} refused: {why}");
        Err(ko)
    }

    /// Tells a client that typed plaintext at a TLS port what is wrong, in
    /// the only words it can read (plaintext), and logs it.
    pub fn refuse_plaintext(&self, stream: &Stream, peer: std::net::SocketAddr) {
        log_limited!(self.logs.refused, info, "{peer}: plaintext on a TLS port, closed");
        let ko = Ko::new(Code::BadRequest, "this port speaks TLS: connect with TLS (wachat --tls or --ca)");
        stream.refuse_plaintext(&Reply::Ko(ko).to_string());
    }
}

/// How a cluster's follower hands its clients to the node
/// that leads (docs/CLUSTER.md, "Forwarding").
///
/// A follower serves no client itself: each connection it accepts, on
/// the send port, the receive port or the web port's `/ws/…`, becomes
/// one TCP connection to the leader, whose first line says whose it is
/// (the client's address, for its limits, and which port it came to);
/// the client's bytes then pass both ways as they are, and the leader
/// serves them with the same `send::serve` or `recv::serve` as its own
/// clients'. So every rule, limit and reply is the single server's, and
/// every read sees every write answered before it, on any node.
///
/// A broken connection is the loss signal, as for a single server: the
/// follower closes its client, which connects again and sends what got
/// no answer with its ids. A single server, and the leader itself, have
/// no `Leader`: `Ctx::leader` is `None`.
pub trait Leader: Send + Sync {
    /// Passes `client` (from `peer`, accepted on `port`) to the leader
    /// until either end closes it; returns its stream for the caller to
    /// close. One the leader cannot take is told why (`KO:UNAVAILABLE`).
    fn relay(&self, ctx: &Arc<Ctx>, client: Arc<Stream>, peer: SocketAddr, port: Port);
}
