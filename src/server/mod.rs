//! `wachat serve`: two listeners, a thread per connection, and shutdown.
//!
//! - [`listener`]: binds the ports (with a large backlog) and runs one
//!   accept loop per port, spawning a handler thread per connection.
//! - [`send`]: the send-port handler (requests in, one reply each);
//!   [`replies`]: its replies in order, some written by the thread that
//!   made them durable.
//! - [`recv`]: the receive-port handler (events out, `ACK`/`PONG` in).
//! - [`auth`]: `LOGIN`/`REGISTER`, shared by both ports, and their limits.
//! - [`presence`]: who is online (`JOINED`/`LEFT`, coalesced by a timer
//!   thread), `LASTSEEN`, `MEMBERS` and the `MEMBER` events.
//! - [`relay`]: events from one user to others that are never stored
//!   (`TYPING`), here and on a cluster's other nodes.
//! - [`p2p`]: `P2P` and `PEER`, the introductions of direct chats.
//! - [`accounts`]: a user's own account (1.2): `PASSWD`.
//! - [`info`]: `INFO` (1.2), the server's rules; [`operator`]: what an
//!   administrator asks of the running server (disabled accounts, live
//!   figures for `wachat users list`), and logging a user out.
//! - [`nodes`]: what a server asks of the other nodes of its cluster
//!   ([`nodes::Alone`] for a single server).
//! - `config`: [`Config`], everything `wachat serve` can be told, and
//!   the defaults of its flags, each with why it is that number.
//! - [`closer`]: closes connections without letting a slow peer hold a
//!   thread; [`threads`]: how the server's threads are made.
//! - [`throttle`]: the token buckets behind every limit; [`log_limit`]:
//!   logging attacks without letting them fill the disk.
//!
//! [`Server::start`] takes listeners that are already bound, so tests bind
//! port 0 and never collide. [`Server::shutdown`] stops in this order: stop
//! accepting, say `BYE:SHUTDOWN` on every receive connection, stop reading
//! new requests, let in-flight requests finish, then let the store write
//! the last batch and a checkpoint.

pub mod accounts;
pub mod actions;
pub mod auth;
pub mod calls;
pub mod closer;
mod config;
pub mod devices;
pub mod files;
pub mod known;
pub mod listener;
pub mod log_limit;
pub mod moderation;
pub mod nodes;
pub mod operator;
pub mod p2p;
pub mod prefs;
pub mod presence;
pub mod recv;
pub mod registration;
pub mod relay;
pub mod replies;
pub mod requests;
pub mod send;
mod session;
pub mod threads;
pub mod throttle;

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::Result;
use crate::protocol::{Bye, Code, Ko, Reply};
use crate::router::Router;
use crate::store::{Backend, Hasher, LocalStore, Store};
use crate::transport::Stream;
pub use config::{
    BURST_SECS, Config, DEFAULT_ADDRESS_RATE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING,
    DEFAULT_MAX_PER_ADDRESS, DEFAULT_PRESENCE_LIMIT, DEFAULT_RATE, DEFAULT_TIMEOUT_SECS, default_burst,
};
pub use nodes::{Alone, Nodes};

/// What every handler thread shares.
pub struct Ctx {
    pub config: Config,
    pub store: Arc<Store>,
    pub router: Arc<Router>,
    /// The other nodes of a cluster ([`Alone`] for a single server).
    pub nodes: Arc<dyn Nodes>,
    /// Ports announced with `P2P:<port>`.
    pub p2p_ports: p2p::Ports,
    /// Each user's devices: positions, tokens, link codes (protocol 1.2).
    pub devices: Arc<devices::Devices>,
    /// 1.2: the files of chats (`store::files`).
    pub files: Arc<crate::store::files::Files>,
    /// Who was told `JOINED`, and how often (see `presence`).
    presence: presence::Announcer,
    /// Failed-login and registration limits (`KO:RATE_LIMITED`).
    auth: auth::AuthLimits,
    /// Requests per user (`--rate`, `KO:RATE_LIMITED`); `None`: no limit.
    requests: Option<throttle::Throttle<crate::store::UserId>>,
    /// Requests per address (`--address-rate`); `None`: no limit.
    address_requests: Option<throttle::Throttle<IpAddr>>,
    /// Open connections on both ports: counted for `--max-connections`
    /// and `--max-per-address`; send-port ones are kept to stop their
    /// reading at shutdown.
    connections: Connections,
    /// Log lines about attacks, each kind limited (see `log_limit`).
    logs: log_limit::Logs,
    /// The thread that lingers over closing sockets (see `closer`).
    closer: closer::Closer,
    shutting_down: AtomicBool,
}

impl Ctx {
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// `USERS`: the users online here and on the other nodes, sorted
    /// ignoring case, each once.
    pub fn online_names(&self) -> Vec<String> {
        let mut names = self.router.online_names();
        let elsewhere = self.nodes.online_names();
        if !elsewhere.is_empty() {
            names.extend(elsewhere);
            names.sort_by_key(|n| crate::protocol::names::fold(n));
            names.dedup_by_key(|n| crate::protocol::names::fold(n));
        }
        names
    }

    /// True if `user` is logged in on the receive port here or on another node.
    pub fn is_online(&self, user: crate::store::UserId) -> bool {
        self.router.is_online(user) || self.nodes.is_online(user)
    }

    /// A slot for a new connection from `peer` on a port served outside
    /// this module (the web port, `src/web/`), under the same
    /// `--max-connections` and `--max-per-address` as the two ports.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> std::result::Result<Slot, Refusal> {
        Connections::admit(self, peer)
    }

    /// Hands a connection whose thread is done to the closer thread
    /// (see `closer`), as the two ports' handler threads do.
    pub fn close_later(&self, stream: Arc<Stream>) {
        self.closer.close(stream);
    }

    /// Takes `cost` tokens from `user`'s `--rate` bucket and from the
    /// `--address-rate` bucket of `peer` (unless exempt); a
    /// `KO:RATE_LIMITED` saying how long to wait if either has too few.
    /// Per address too, so that a student's budget cannot be multiplied by
    /// registering more accounts (issue 25, attack 3).
    /// Takes `cost` more tokens from `user`'s and `peer`'s buckets for work
    /// already done, whose size was known only once done (a `SEARCH`'s
    /// reading): the buckets may go below empty, and the next requests
    /// wait until they have refilled.
    pub fn charge(&self, user: crate::store::UserId, peer: IpAddr, cost: u32) {
        let Some(requests) = &self.requests else { return };
        if cost == 0 {
            return;
        }
        requests.charge(user, cost);
        let address = throttle::address_key(peer);
        if let Some(addresses) = &self.address_requests
            && !self.config.exempt.iter().any(|&e| throttle::address_key(e) == address)
        {
            addresses.charge(address, cost);
        }
    }

    pub fn meter(&self, user: crate::store::UserId, peer: IpAddr, cost: u32) -> std::result::Result<(), Ko> {
        let Some(requests) = &self.requests else { return Ok(()) };
        let refused = |wait: Duration, whose: &str, flag: &str| {
            let ms = wait.as_millis() + 1;
            Ko::new(Code::RateLimited, format!("too many requests{whose}; try again in {ms} ms ({flag})"))
        };
        requests.try_take(user, cost).map_err(|wait| refused(wait, "", "--rate"))?;
        let address = throttle::address_key(peer);
        if let Some(addresses) = &self.address_requests
            && !self.config.exempt.iter().any(|&e| throttle::address_key(e) == address)
            && let Err(wait) = addresses.try_take(address, cost)
        {
            requests.give_back_n(user, cost);
            return Err(refused(wait, " from your address", "--address-rate"));
        }
        Ok(())
    }
}

/// Counts connections on both ports, and keeps the send-port sockets.
#[derive(Default)]
struct Connections {
    /// Connections being served, on both ports.
    count: std::sync::atomic::AtomicUsize,
    /// Connections being served per address (see `throttle::address_key`).
    per_address: Mutex<HashMap<IpAddr, usize>>,
    open: Mutex<HashMap<u64, Arc<Stream>>>,
    /// Signalled when a connection ends (shutdown waits for them).
    ended: Condvar,
    next_id: AtomicU64,
}

/// A connection's place in the counts of `Connections`, given back when
/// dropped: by its handler thread *before* it hands the socket to the
/// closer (see `closer`), so a client that trickles bytes at a closing
/// connection holds no slot, and no thread.
pub struct Slot {
    ctx: Arc<Ctx>,
    /// The address it counts against, unless exempt or unlimited.
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let connections = &self.ctx.connections;
        if let Some(address) = self.address {
            let mut per_address = connections.per_address.lock();
            if let Some(n) = per_address.get_mut(&address) {
                *n -= 1;
                if *n == 0 {
                    per_address.remove(&address);
                }
            }
        }
        connections.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a connection was refused.
pub enum Refusal {
    /// `--max-connections` connections are open.
    Full(usize),
    /// `--max-per-address` connections come from this address already.
    Address(usize),
}

impl Connections {
    /// A slot for a new connection from `peer`, if the limits allow one.
    fn admit(ctx: &Arc<Ctx>, peer: IpAddr) -> std::result::Result<Slot, Refusal> {
        let (connections, config) = (&ctx.connections, &ctx.config);
        if connections.count.fetch_add(1, Ordering::SeqCst) >= config.max_connections {
            connections.count.fetch_sub(1, Ordering::SeqCst);
            return Err(Refusal::Full(config.max_connections));
        }
        let address = throttle::address_key(peer);
        let mut slot = Slot { ctx: ctx.clone(), address: None };
        if config.max_per_address > 0 && !config.exempt.iter().any(|&e| throttle::address_key(e) == address) {
            let mut per_address = connections.per_address.lock();
            let n = per_address.entry(address).or_insert(0);
            if *n >= config.max_per_address {
                drop(per_address);
                return Err(Refusal::Address(config.max_per_address)); // the slot's drop counts it down
            }
            *n += 1;
            slot.address = Some(address);
        }
        Ok(slot)
    }

    fn add(&self, stream: &Arc<Stream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open.lock().insert(id, stream.clone());
        id
    }

    fn remove(&self, id: u64) {
        self.open.lock().remove(&id);
        self.ended.notify_all();
    }
}

/// What a cluster node gives the server in place of the local store: its
/// backend (handed the router, to deliver through it) and its [`Nodes`].
pub type Storage = (Arc<dyn Backend>, Arc<dyn Nodes>);

/// A running server.
pub struct Server {
    ctx: Arc<Ctx>,
    send_addr: SocketAddr,
    recv_addr: SocketAddr,
    accept_threads: Vec<JoinHandle<()>>,
    /// Listeners started next to the two ports (the web port): woken and
    /// joined at shutdown like the two accept loops.
    more_listeners: Vec<SocketAddr>,
    /// Tells presence changes held back by their limit (see `presence`).
    presence_timer: Option<JoinHandle<()>>,
}

impl Server {
    /// Loads the data directory and starts accepting on both listeners.
    pub fn start(send: TcpListener, recv: TcpListener, config: Config) -> Result<Server> {
        let options = crate::store::StoreOptions { fsync: config.fsync, ..config.store.clone() };
        let data_dir = config.data_dir.clone();
        Self::start_with(send, recv, config, move |router| {
            // The store hands the events of every durable batch to the
            // router; it knows nothing else of it.
            let deliver = {
                let router = router.clone();
                Box::new(move |deliveries: &[crate::store::Delivery]| router.deliver(deliveries))
            };
            let backend = LocalStore::open(&data_dir, options, deliver)?;
            Ok((Arc::new(backend), Arc::new(Alone)))
        })
    }

    /// Starts a server on storage that `open` makes, given the router
    /// (a cluster node: `cluster::open`).
    pub fn start_with(
        send: TcpListener,
        recv: TcpListener,
        config: Config,
        open: impl FnOnce(&Arc<Router>) -> Result<Storage>,
    ) -> Result<Server> {
        let hasher = Hasher::new(config.kdf_cost).map_err(crate::error::Error::Usage)?;
        let router = Arc::new(Router::default());
        let (backend, nodes) = open(&router)?;
        let file_store = backend.file_store(); // 1.2: a cluster's files are in its database
        let store = Arc::new(Store::new(backend, hasher).with_name_quarantine(config.name_quarantine));
        let requests =
            (config.rate > 0.0).then(|| throttle::Throttle::new(config.rate_burst.max(1), config.rate));
        let address_rate = config.address_rate;
        let address_requests = (config.rate > 0.0 && address_rate > 0.0)
            .then(|| throttle::Throttle::new(default_burst(address_rate), address_rate));
        let config_max_connections = config.max_connections;
        let devices =
            devices::Devices::start(config.data_dir.clone(), config.max_devices, config.device_days)
                .map_err(|e| crate::error::Error::io("loading devices.csv", e))?;
        if let Some(shared) = nodes.shared_devices() {
            devices.share(shared);
        }
        let (presence, presence_timer) = presence::Announcer::new(presence::PRESENCE_EVERY);
        let files = files::open(&config.data_dir, config.files, file_store)?;
        let ctx = Arc::new(Ctx {
            files,
            auth: auth::AuthLimits::open(&config.exempt, &config.data_dir),
            config,
            store,
            router,
            nodes,
            p2p_ports: p2p::Ports::default(),
            devices,
            presence,
            requests,
            address_requests,
            connections: Connections::default(),
            logs: log_limit::Logs::default(),
            closer: closer::Closer::start(closer::max_lingering(config_max_connections))
                .map_err(|e| crate::error::Error::io("starting the closer thread", e))?,
            shutting_down: AtomicBool::new(false),
        });
        let presence_timer = presence_timer
            .start(Arc::downgrade(&ctx))
            .map_err(|e| crate::error::Error::io("starting the presence timer", e))?;
        operator::start(Arc::downgrade(&ctx))
            .map_err(|e| crate::error::Error::io("starting the operator thread", e))?;
        calls::start(Arc::downgrade(&ctx))
            .map_err(|e| crate::error::Error::io("starting the calls timer", e))?;
        let (send_addr, recv_addr) = (send.local_addr()?, recv.local_addr()?);
        let accept_threads = vec![
            listener::spawn_accept_loop(send, ctx.clone(), listener::Port::Send)?,
            listener::spawn_accept_loop(recv, ctx.clone(), listener::Port::Receive)?,
        ];
        Ok(Server {
            ctx,
            send_addr,
            recv_addr,
            accept_threads,
            more_listeners: Vec::new(),
            presence_timer: Some(presence_timer),
        })
    }

    pub fn send_addr(&self) -> SocketAddr {
        self.send_addr
    }

    pub fn recv_addr(&self) -> SocketAddr {
        self.recv_addr
    }

    /// What the handlers share, for a listener started next to the two
    /// ports (the web port: `web::spawn`).
    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Adopts the accept thread of a listener on `addr`, which stops when
    /// it finds the server shutting down after an `accept`: shutdown wakes
    /// it with a connection and joins it.
    pub fn adopt_listener(&mut self, addr: SocketAddr, thread: JoinHandle<()>) {
        self.more_listeners.push(addr);
        self.accept_threads.push(thread);
    }

    /// Stops the server gracefully (see the module documentation).
    pub fn shutdown(mut self) {
        log::info!("shutting down");
        self.ctx.shutting_down.store(true, Ordering::SeqCst);
        // Wake each accept loop, blocked in accept(), with a connection.
        for &addr in [self.send_addr, self.recv_addr].iter().chain(&self.more_listeners) {
            let _ = TcpStream::connect_timeout(&wake_addr(addr), Duration::from_secs(1));
        }
        for thread in self.accept_threads.drain(..) {
            let _ = thread.join();
        }
        // Everyone online goes offline now: their last seen, before the
        // store takes its last batch (their handlers may end after it).
        let now = crate::store::now_ms();
        for user in self.ctx.router.online_users() {
            self.ctx.store.note_offline(user, now);
        }
        let online: Vec<_> =
            self.ctx.router.online_users().into_iter().flat_map(|u| self.ctx.router.outlets(u)).collect();
        self.ctx.devices.stop(&online);
        self.ctx.router.close_all(Bye::Shutdown);
        self.ctx.presence.stop();
        if let Some(timer) = self.presence_timer.take() {
            let _ = timer.join();
        }
        // Stop reading requests; a request in progress still gets its reply
        // if its client reads it within a grace period. After that, a
        // client that does not read must not hold the server up: shutting
        // both directions makes a write blocked on it fail at once.
        let connections = &self.ctx.connections;
        let mut open = connections.open.lock();
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
        for round in 0..2 {
            let deadline = Instant::now() + SHUTDOWN_GRACE;
            while !open.is_empty() && Instant::now() < deadline {
                connections.ended.wait_until(&mut open, deadline);
            }
            if round == 0 && !open.is_empty() {
                log::info!("shutdown: {} clients are not reading their replies: cut off", open.len());
                for stream in open.values() {
                    let _ = stream.shutdown(Shutdown::Both);
                }
            }
        }
        drop(open);
        // The other nodes hear that this one's sessions ended.
        self.ctx.nodes.stop();
        // Writes the last batch and a last checkpoint.
        self.ctx.store.stop();
        log::info!("stopped");
    }
}

/// The address to connect to in order to reach a listener bound to `addr`
/// (a listener on 0.0.0.0 is reached on 127.0.0.1).
/// A message id for a message the server writes itself (a room's
/// moderation notice, `mod-…`; a missed call, `call-…`): `<kind>-<ms>-<n>`,
/// the time and a count of this process's, unlike the ids clients make
/// (counters or random, see `client::outbox`). Unlikely, not impossible,
/// to be one a client chose: the store answers a taken id as a resend.
pub fn own_message_id(kind: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!("{kind}-{}-{}", crate::store::now_ms(), COUNT.fetch_add(1, Ordering::Relaxed))
}

fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// Tells a client that typed plaintext at a TLS port what is wrong, in
/// the only words it can read (plaintext), and logs it.
fn refuse_plaintext(ctx: &Ctx, stream: &Stream, peer: SocketAddr) {
    log_limit::log_limited!(ctx.logs.refused, info, "{peer}: plaintext on a TLS port, closed");
    let ko = Ko::new(Code::BadRequest, "this port speaks TLS: connect with TLS (wachat --tls or --ca)");
    stream.refuse_plaintext(&Reply::Ko(ko).to_string());
}

/// How long shutdown waits for the requests in progress, twice: once
/// before it cuts off clients that do not read their replies, once after.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
