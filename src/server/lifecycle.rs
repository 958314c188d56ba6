//! [`Server`]: a running `wachat serve`, from its start (the store, the
//! router and the threads wired together into a [`Ctx`]) to its shutdown.
//!
//! [`Server::start`] takes listeners that are already bound, so tests bind
//! port 0 and never collide; they take clients once [`Server::open`] says
//! every part is set up. [`Server::shutdown`] stops in this order: stop
//! accepting, say `BYE:SHUTDOWN` on every receive connection, stop reading
//! new requests, let in-flight requests finish, then let the store write
//! the last batch and a checkpoint.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::base::Base;
use super::{
    Config, Ctx, address_burst, auth, call_relay, closer, devices, files, listener, log_limit, operator, p2p,
    presence, push, throttle,
};
use crate::error::Result;
use crate::protocol::Bye;
use crate::router::Router;
use crate::store::InLog;
use crate::store::door::{Door, FolderDoor};
use crate::store::files::Blobs;
use crate::store::{Hasher, LocalStore, Store};

/// What the server runs on: its store (a single server's, or a cluster
/// node's, opened by `cluster::open` and handed the router, to deliver
/// through it), and (1.2) where the bytes of the files of chats are kept
/// if not in the data directory (a cluster's database): handed over once,
/// at the start, as nothing else of the store needs to know it. Their
/// descriptions are the log's, as everything else.
pub struct Storage {
    pub backend: Arc<LocalStore>,
    pub files: Option<Box<dyn Blobs>>,
    /// Where the requests of `wachat users` wait (`store::door`),
    /// if not in the data directory (a cluster's database).
    pub door: Option<Box<dyn Door>>,
    /// Where every user's devices are kept: settings of the log
    /// (`store::devices`), the single server's or the cluster's.
    pub devices: Arc<InLog>,
    /// A cluster's node: what it does once the server's parts are made,
    /// before it accepts a connection (it takes its part, `cluster::node`),
    /// and before the store stops; and where it tells why the server must
    /// start again (a deposed leader).
    pub node: Option<(Box<dyn NodeOf>, crossbeam_channel::Receiver<String>)>,
}

/// What a cluster's node (`cluster::node`) does at the server's start and
/// stop.
pub trait NodeOf: Send + Sync {
    /// The server's parts are made: the node takes its part.
    fn started(&self, ctx: &Arc<Ctx>) -> Result<()>;
    /// The server stops: the connections of other nodes that a leader
    /// serves end (before its own clients are told `BYE:SHUTDOWN`).
    fn stopping(&self);
    /// The server stopped, its last batch written: a leader lets its
    /// lease go, so that another node leads at once.
    fn stopped(&self);
}

impl Storage {
    /// A single server's: no other node, its files' bytes in the data directory,
    /// its devices in its log.
    pub fn alone(store: Arc<LocalStore>) -> Storage {
        let devices = Arc::new(InLog::new(store.clone()));
        Storage { backend: store, files: None, door: None, devices, node: None }
    }
}

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
    /// A cluster's node, and why it must start again (see [`Storage::node`]).
    node: Option<(Box<dyn NodeOf>, crossbeam_channel::Receiver<String>)>,
}

impl Server {
    /// Loads the data directory and starts accepting on both listeners.
    pub fn start(send: TcpListener, recv: TcpListener, config: Config) -> Result<Server> {
        let options = crate::store::StoreOptions { fsync: config.fsync, ..config.store.clone() };
        let data_dir = config.data_dir.clone();
        Self::start_with(send, recv, config, move |router| {
            // The store hands every durable batch to the router (its
            // events, the accounts it disabled); it knows nothing else of it.
            let deliver = {
                let router = router.clone();
                Box::new(move |batch: &crate::store::state::Batch| router.written(batch))
            };
            let backend = LocalStore::open(&data_dir, options, deliver)?;
            Ok(Storage::alone(Arc::new(backend)))
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
        let Storage { backend, files: file_store, door, devices: record, node } = open(&router)?;
        let door = door.unwrap_or_else(|| Box::new(FolderDoor::new(&config.data_dir)));
        let files_log = backend.clone();
        let store = Arc::new(Store::new(backend, hasher).with_name_quarantine(config.name_quarantine));
        let requests =
            (config.rate > 0.0).then(|| throttle::Throttle::new(config.rate_burst.max(1), config.rate));
        let address_rate = config.address_rate;
        let address_requests = (config.rate > 0.0 && address_rate > 0.0)
            .then(|| throttle::Throttle::new(address_burst(address_rate), address_rate));
        let config_max_connections = config.max_connections;
        let devices = devices::Devices::start(record, config.max_devices, config.device_days);
        let (presence, presence_timer) = presence::Announcer::new(presence::PRESENCE_EVERY);
        let files = files::open(&config.data_dir, config.files, (&files_log, file_store))?;
        let push = start_push(&config, &router, &store)?;
        let ctx = Arc::new(Ctx {
            auth: auth::AuthLimits::open(&config.exempt, &config.data_dir),
            base: Base { files, config, store, router, door, remote_seen: Default::default() },
            p2p_ports: p2p::Ports::default(),
            calls: Default::default(),
            group_calls: Default::default(),
            devices,
            push,
            presence,
            requests,
            address_requests,
            connections: Arc::default(),
            watch: auth::watch::Watch::default(),
            logs: log_limit::Logs::default(),
            closer: closer::Closer::start(closer::max_lingering(config_max_connections))
                .map_err(|e| crate::error::Error::io("starting the closer thread", e))?,
            doors: Default::default(),
            shutting_down: AtomicBool::new(false),
            leader: Default::default(),
            federation: Default::default(),
            refusing: Default::default(),
        });
        let server = Arc::downgrade(&ctx);
        let presence_timer = presence_timer
            .start(move |user| {
                let Some(ctx) = server.upgrade().filter(|ctx| !ctx.shutting_down()) else { return false };
                ctx.presence.settle(&ctx, user);
                true
            })
            .map_err(|e| crate::error::Error::io("starting the presence timer", e))?;
        operator::start(Arc::downgrade(&ctx))
            .map_err(|e| crate::error::Error::io("starting the operator thread", e))?;
        call_relay::start(Arc::downgrade(&ctx))
            .map_err(|e| crate::error::Error::io("starting the calls timer", e))?;
        if let Some((node, _)) = &node {
            node.started(&ctx)?;
        }
        let (send_addr, recv_addr) = (send.local_addr()?, recv.local_addr()?);
        let accept_threads = vec![
            listener::spawn_accept_loop(send, ctx.clone(), crate::protocol::Port::Send)?,
            listener::spawn_accept_loop(recv, ctx.clone(), crate::protocol::Port::Receive)?,
        ];
        Ok(Server {
            ctx,
            send_addr,
            recv_addr,
            accept_threads,
            more_listeners: Vec::new(),
            presence_timer: Some(presence_timer),
            node,
        })
    }

    /// Takes clients on every port from now on: called once every part
    /// of the server is set up (`ctx::Doors`).
    pub fn open(&self) {
        self.ctx.doors.open();
    }

    /// A cluster's node: told why when this server must start again (it
    /// was deposed as the leader); `None` for a single server.
    pub fn restart(&self) -> Option<crossbeam_channel::Receiver<String>> {
        self.node.as_ref().map(|(_, restart)| restart.clone())
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
        self.ctx.doors.open(); // accept loops that never took a client end too
        if let Some((node, _)) = &self.node {
            node.stopping();
        }
        // Wake each accept loop, blocked in accept(), with a connection.
        for &addr in [self.send_addr, self.recv_addr].iter().chain(&self.more_listeners) {
            listener::wake(addr);
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
        self.ctx.push.stop();
        self.ctx.router.close_all(Bye::Shutdown);
        self.ctx.presence.stop();
        if let Some(timer) = self.presence_timer.take() {
            let _ = timer.join();
        }
        // Stop reading requests; let those in progress finish.
        self.ctx.connections.stop_reading(SHUTDOWN_GRACE);
        // Writes the last batch and a last checkpoint.
        self.ctx.store.stop();
        if let Some((node, _)) = &self.node {
            node.stopped();
        }
        log::info!("stopped");
    }
}

/// The server's Web Push (`push`), its threads started: the devices'
/// subscriptions and the server's key, read from the data directory (the
/// key made at the first start), and the CA of `--push-test-ca`.
fn start_push(config: &Config, router: &Arc<Router>, store: &Arc<Store>) -> Result<Arc<push::Pusher>> {
    let book = push::book::Book::open(&config.data_dir, store)
        .map_err(|e| crate::error::Error::io(format!("reading {}", push::book::FILE), e))?;
    let tls = match &config.push_test_ca {
        Some(ca) => Some(crate::transport::tls::Tls::system_and(Some(ca), "--push-test-ca")?),
        None => None,
    };
    let key = push::keys::load_or_make(&config.data_dir)?;
    push::Pusher::start(book, key, tls, config.push_test_ca.is_some(), (router.clone(), store.clone()))
        .map_err(|e| crate::error::Error::io("starting the push threads", e))
}

/// How long shutdown waits for the requests in progress, twice: once
/// before it cuts off clients that do not read their replies, once after.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
