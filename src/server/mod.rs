//! `wachat serve`: two listeners, a thread per connection, and shutdown.
//!
//! - [`listener`]: binds the ports (with a large backlog) and runs one
//!   accept loop per port, spawning a handler thread per connection.
//! - [`send`]: the send-port handler (requests in, one reply each).
//! - [`recv`]: the receive-port handler (events out, `ACK`/`PONG` in).
//! - [`auth`]: `LOGIN`/`REGISTER`, shared by both ports.
//!
//! [`Server::start`] takes listeners that are already bound, so tests bind
//! port 0 and never collide. [`Server::shutdown`] stops in this order: stop
//! accepting, say `BYE:SHUTDOWN` on every receive connection, stop reading
//! new requests, let in-flight requests finish, then let the committer
//! write the last batch.

pub mod auth;
pub mod listener;
pub mod p2p;
pub mod presence;
pub mod recv;
pub mod send;
pub mod throttle;

use std::collections::HashMap;
use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::Result;
use crate::protocol::{Bye, MAX_FRAME};
use crate::router::Router;
use crate::store::csv_backend::CsvBackend;
use crate::store::password::DEFAULT_KDF_COST;
use crate::store::{Hasher, Store};

/// Everything `wachat serve` can be told.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the CSV files live.
    pub data_dir: PathBuf,
    /// A connection that completes no frame for this long is closed.
    pub timeout: Duration,
    /// `LOGIN` with an unknown name creates the account.
    pub auto_register: bool,
    /// Size limit of a frame, `\n` included.
    pub max_frame: usize,
    /// argon2id memory cost in KiB.
    pub kdf_cost: u32,
    /// fsync before every `OK` (false only to measure what it costs).
    pub fsync: bool,
    /// Rooms with more members send no `JOINED`/`LEFT`.
    pub presence_limit: usize,
    /// Bytes that may wait for a slow receiver before `BYE:SLOW`.
    pub max_pending: usize,
    /// Connections (both ports together) beyond which new ones get `KO:BUSY`.
    pub max_connections: usize,
    /// Messages per second per user (`KO:RATE_LIMITED` beyond); 0: no limit.
    pub rate: f64,
    /// How many messages a user may send at once above `rate`.
    pub rate_burst: u32,
}

impl Config {
    /// The defaults of `wachat serve`, with another data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            timeout: Duration::from_secs(10),
            auto_register: false,
            max_frame: MAX_FRAME,
            kdf_cost: DEFAULT_KDF_COST,
            fsync: true,
            presence_limit: 200,
            max_pending: 1 << 20,
            max_connections: 20_000,
            rate: 1000.0,
            rate_burst: 2000,
        }
    }
}

/// What every handler thread shares.
pub struct Ctx {
    pub config: Config,
    pub store: Arc<Store>,
    pub router: Arc<Router>,
    /// Ports announced with `P2P:<port>`.
    pub p2p_ports: p2p::Ports,
    /// Failed-login throttling (`KO:RATE_LIMITED`).
    logins: auth::LoginThrottle,
    /// Messages per user (`--rate`, `KO:RATE_LIMITED`); `None`: no limit.
    pub messages: Option<throttle::Throttle<crate::store::UserId>>,
    /// Open connections on both ports: counted for `--max-connections`;
    /// send-port ones are kept to stop their reading at shutdown.
    connections: Connections,
    shutting_down: AtomicBool,
}

impl Ctx {
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// Counts connections on both ports, and keeps the send-port sockets.
#[derive(Default)]
struct Connections {
    /// Connections being served, on both ports.
    count: std::sync::atomic::AtomicUsize,
    open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    /// Signalled when a connection ends (shutdown waits for them).
    ended: Condvar,
    next_id: AtomicU64,
}

impl Connections {
    fn add(&self, stream: &Arc<TcpStream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open.lock().insert(id, stream.clone());
        id
    }

    fn remove(&self, id: u64) {
        self.open.lock().remove(&id);
        self.ended.notify_all();
    }
}

/// A running server.
pub struct Server {
    ctx: Arc<Ctx>,
    send_addr: SocketAddr,
    recv_addr: SocketAddr,
    accept_threads: Vec<JoinHandle<()>>,
    committer: Option<JoinHandle<()>>,
}

impl Server {
    /// Loads the data directory and starts accepting on both listeners.
    pub fn start(send: TcpListener, recv: TcpListener, config: Config) -> Result<Server> {
        let hasher = Hasher::new(config.kdf_cost).map_err(crate::error::Error::Usage)?;
        let router = Arc::new(Router::default());
        let backend = CsvBackend::open(&config.data_dir, config.fsync)?;
        let (store, committer) = Store::open(Box::new(backend), hasher, router.clone())?;
        let messages =
            (config.rate > 0.0).then(|| throttle::Throttle::new(config.rate_burst.max(1), config.rate));
        let ctx = Arc::new(Ctx {
            config,
            store,
            router,
            p2p_ports: p2p::Ports::default(),
            logins: auth::LoginThrottle::default(),
            messages,
            connections: Connections::default(),
            shutting_down: AtomicBool::new(false),
        });
        let (send_addr, recv_addr) = (send.local_addr()?, recv.local_addr()?);
        let accept_threads = vec![
            listener::spawn_accept_loop(send, ctx.clone(), listener::Port::Send)?,
            listener::spawn_accept_loop(recv, ctx.clone(), listener::Port::Receive)?,
        ];
        Ok(Server { ctx, send_addr, recv_addr, accept_threads, committer: Some(committer) })
    }

    pub fn send_addr(&self) -> SocketAddr {
        self.send_addr
    }

    pub fn recv_addr(&self) -> SocketAddr {
        self.recv_addr
    }

    /// Stops the server gracefully (see the module documentation).
    pub fn shutdown(mut self) {
        log::info!("shutting down");
        self.ctx.shutting_down.store(true, Ordering::SeqCst);
        // Wake each accept loop, blocked in accept(), with a connection.
        for addr in [self.send_addr, self.recv_addr] {
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
        self.ctx.router.close_all(Bye::Shutdown);
        // Stop reading requests; a request in progress still gets its reply.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut open = self.ctx.connections.open.lock();
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
        while !open.is_empty() && Instant::now() < deadline {
            self.ctx.connections.ended.wait_until(&mut open, deadline);
        }
        drop(open);
        self.ctx.store.stop();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
        log::info!("stopped");
    }
}

/// The address to connect to in order to reach a listener bound to `addr`
/// (a listener on 0.0.0.0 is reached on 127.0.0.1).
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

/// Closes a connection politely: stop writing (the peer gets everything we
/// sent, then end-of-file), read and discard what the peer still sends for
/// a moment, then close. Closing a socket with unread input would make the
/// kernel reset the connection, and the peer could lose our last reply.
pub fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut budget = 1 << 20; // read at most 1 MiB of leftovers
    let mut reader = stream;
    while budget > 0 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
}
