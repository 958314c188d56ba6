//! Peer-to-peer chat (protocol §8): two clients talking over a TCP
//! connection of their own, which the server never sees.
//!
//! Why this module exists apart from [`crate::client`]: it is the network
//! half of a direct chat — listening, checking who knocks, one thread per
//! connection, bounding what a stranger can cost — and knows nothing of
//! files or screens. What to *do* with a message (log it, show it, fall
//! back to the server) is the [`PeerHandler`]'s business; the client library
//! implements it in `client/direct.rs`.
//!
//! ```text
//!   listener thread: accept() ──▶ one thread per connection:
//!     (woken by a self-connect;    HELLO:<from>:<token> within HELLO_LIMIT,
//!      KO:BUSY past MAX_PEERS      token checked in the Tokens (P2P events
//!      connections, or past        from the server put them there), OK or
//!      MAX_HELLOS_PER_ADDRESS      KO:AUTH_FAILED + close; then read_loop
//!      saying HELLO from one
//!      address)
//!   P2p::connect (caller's thread): connect, HELLO, OK, then one thread
//!                                  running read_loop
//!   P2p::send (caller's thread):   MSG written under the session's lock
//! ```
//!
//! The accept loop, the handshake and the bounds on strangers are in
//! `listener.rs`; one session's reading, writing and acknowledgements in
//! `session.rs`; the server's tokens in [`tokens`].
//!
//! Every session ends exactly once, by `Common::end`, whoever notices first
//! (the reading thread, a failed write, a hang-up, the shutdown): the
//! handler then gets the messages the peer never acknowledged.

mod listener;
mod session;
pub mod tokens;

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::protocol::{FrameReader, MAX_FRAME, PeerFrame, PeerMsg, Reply};
pub use session::{BURST, IDLE_LIMIT, MAX_BAD_FRAMES, PER_SECOND};
use session::{PeerSession, Sent};
pub use tokens::Tokens;

/// How long a `HELLO` may wait for its token to arrive from the server
/// (see [`tokens`]): the `P2P` event and the dialer race each other.
pub const TOKEN_GRACE: Duration = Duration::from_secs(2);
/// Most direct connections at once, handshakes included: each costs a
/// thread, and a stranger connecting in a loop must not cost more.
pub const MAX_PEERS: usize = 16;
/// How long a connection to our port may take to say `HELLO` (at most
/// the client's timeout). A client says it at once; a stranger who
/// connects and says nothing must not hold one of the [`MAX_PEERS`]
/// places for long (anyone can learn our address with `PEER`).
pub const HELLO_LIMIT: Duration = Duration::from_secs(5);
/// Connections from one address (an IPv6 /64) that may be saying `HELLO`
/// at once; past it a new one gets `KO:BUSY`. One machine then cannot
/// take the [`MAX_PEERS`] places with silent connections, and a friend
/// from another address still gets in. An open chat does not count: it
/// passed its `HELLO` with a token from the server.
pub const MAX_HELLOS_PER_ADDRESS: usize = 2;
/// How often a handshake that waits for `HELLO` looks whether we stop.
const POLL: Duration = Duration::from_millis(100);

/// What the owner of a [`P2p`] does with what happens on its connections.
/// Called from the connection threads; each call is short.
pub trait PeerHandler: Send + Sync {
    /// A direct chat with `peer` is open; `incoming` if the peer dialed.
    fn opened(&self, peer: &str, incoming: bool);
    /// Messages from `peer`: store them durably. Their `ACK`s are sent when
    /// this returns `Ok`; on `Err` the connection is closed without them.
    fn received(&self, peer: &str, messages: Vec<PeerMsg>) -> Result<()>;
    /// `peer` acknowledged our message `id`.
    fn acknowledged(&self, peer: &str, id: &str);
    /// The chat with `peer` ended (`why`, in words for the user); `unacked`
    /// are the messages we sent that it never acknowledged, oldest first.
    fn closed(&self, peer: &str, why: &str, unacked: Vec<PeerMsg>);
}

/// Binds the P2P port on `ip`, the local address this client reaches the
/// server from: the server gives peers the address it sees us coming from,
/// which is that one, and no other interface (a loopback server: loopback
/// only) is opened to strangers. Port 0 picks a free one.
pub fn bind(ip: IpAddr, port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr).map_err(|e| Error::io(tr!(Msg::CannotListenForPeers, addr = addr), e))
}

/// The peer-to-peer side of one client. Dropping it closes every chat
/// (each handing back its unacknowledged messages) and joins the threads.
pub struct P2p {
    node: Arc<Common>,
    /// The accept loop; `None` if this client accepts no direct chats.
    listener: Option<JoinHandle<()>>,
}

/// What the threads share.
struct Common {
    /// Our user name, said in our `HELLO`s.
    me: String,
    /// The address we listen on, if we do.
    addr: Option<SocketAddr>,
    /// Connect, handshake and write timeout.
    timeout: Duration,
    /// Filled by the receiver thread from `P2P:<from>:<token>` events.
    tokens: Arc<Tokens>,
    handler: Box<dyn PeerHandler>,
    /// The open chats, by peer name folded: at most one per peer.
    sessions: Mutex<HashMap<String, Arc<PeerSession>>>,
    /// One per connection (handshake, then reading); joined when stopping.
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Connections saying `HELLO`, by address (`server::throttle::address_key`).
    knocking: Mutex<HashMap<IpAddr, usize>>,
    stopping: AtomicBool,
}

impl P2p {
    /// Starts accepting direct chats on `listener` (if any) for `me`.
    pub fn start(
        me: &str,
        listener: Option<TcpListener>,
        timeout: Duration,
        tokens: Arc<Tokens>,
        handler: Box<dyn PeerHandler>,
    ) -> Result<P2p> {
        let addr = match &listener {
            Some(l) => Some(l.local_addr().map_err(|e| Error::io(tr!(Msg::P2pPort), e))?),
            None => None,
        };
        let node = Arc::new(Common {
            me: me.to_string(),
            addr,
            timeout,
            tokens,
            handler,
            sessions: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            knocking: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        });
        let listener = match listener {
            Some(listener) => {
                let node = node.clone();
                Some(spawn("wachat-p2p-accept", move || listener::accept_loop(&node, &listener))?)
            }
            None => None,
        };
        Ok(P2p { node, listener })
    }

    /// The address peers can dial, if we listen.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.node.addr
    }

    /// Opens a direct chat: dials `addr`, says `HELLO:<me>:<token>` and
    /// waits for `OK`. A chat already open with `peer` is replaced.
    pub fn connect(&self, peer: &str, addr: SocketAddr, token: &str) -> Result<()> {
        let timeout = self.node.timeout;
        let context = || tr!(Msg::DirectChatAt, peer = peer, addr = addr);
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| Error::io(context(), e))?;
        let mut reader = prepare(&stream, timeout).map_err(|e| Error::io(context(), e))?;
        let hello = PeerFrame::Hello { from: self.node.me.clone(), token: token.to_string() };
        (&stream).write_all(format!("{hello}\n").as_bytes()).map_err(|e| Error::io(context(), e))?;
        // The peer may wait up to TOKEN_GRACE for our token before it answers.
        let answer = match reader.read_frame(Some(Instant::now() + timeout + TOKEN_GRACE)) {
            Ok(line) => Reply::parse(line).map_err(|_| {
                let not_a_reply = tr!(Msg::UnexpectedReply, reply = format!("{line:?}"));
                Error::Protocol(format!("{}: {not_a_reply}", context()))
            })?,
            Err(e) => {
                let no_hello = tr!(Msg::NoHello, detail = format!("{e:?}"));
                return Err(Error::Protocol(format!("{}: {no_hello}", context())));
            }
        };
        match answer {
            Reply::Ok => self.node.open(peer, stream, reader, false),
            // The peer refused (not the server): KO:AUTH_FAILED, KO:BUSY.
            Reply::Ko(ko) => Err(Error::Protocol(format!(
                "{}: {}",
                context(),
                tr!(Msg::PeerAnswered, peer = peer, ko = ko)
            ))),
            other => {
                let reply = format!("{:?}", other.to_string().trim_end());
                Err(Error::Protocol(format!("{}: {}", context(), tr!(Msg::UnexpectedReply, reply = reply))))
            }
        }
    }

    /// Sends `m` over the open chat with `peer`. `Err(m)`: no chat is open,
    /// the message was not sent. `Ok`: it was written, or the connection
    /// broke while writing it, in which case the handler gets it back
    /// among the unacknowledged ones.
    pub fn send(&self, peer: &str, m: PeerMsg) -> std::result::Result<(), PeerMsg> {
        let Some(session) = self.node.session(peer) else { return Err(m) };
        match session.send(m) {
            Sent::Written => Ok(()),
            Sent::Broken(why) => {
                self.node.end(&session, &why);
                Ok(())
            }
            Sent::Ended(m) => Err(m),
        }
    }

    /// True while a direct chat with `peer` is open.
    pub fn is_open(&self, peer: &str) -> bool {
        self.node.session(peer).is_some()
    }

    /// Closes the chat with `peer` (the peer sees the connection close).
    /// False if none was open.
    pub fn hang_up(&self, peer: &str) -> bool {
        match self.node.session(peer) {
            Some(session) => {
                self.node.end(&session, &tr!(Msg::YouHungUp));
                true
            }
            None => false,
        }
    }
}

impl Drop for P2p {
    /// Shutdown by ownership: raise the flag, wake the blocked `accept` with
    /// a connection of our own, end every chat (their threads see their
    /// socket shut), then join everybody.
    fn drop(&mut self) {
        self.node.stopping.store(true, Ordering::SeqCst);
        if let (Some(listener), Some(addr)) = (self.listener.take(), self.node.addr) {
            let wake = TcpStream::connect_timeout(&reachable(addr), POLL * 10);
            match wake {
                Ok(_) => {
                    let _ = listener.join();
                }
                // Not joined rather than hang: the thread ends with the process.
                Err(e) => log::warn!("p2p: cannot wake the accept loop: {e}"),
            }
        }
        let sessions: Vec<Arc<PeerSession>> = self.node.sessions.lock().values().cloned().collect();
        for session in sessions {
            self.node.end(&session, "you closed wachat");
        }
        let threads = std::mem::take(&mut *self.node.threads.lock());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Common {
    fn session(&self, peer: &str) -> Option<Arc<PeerSession>> {
        self.sessions.lock().get(&fold(peer)).cloned()
    }

    /// Registers a chat whose handshake succeeded and starts its thread.
    fn open(
        self: &Arc<Common>,
        peer: &str,
        stream: TcpStream,
        reader: PeerReader,
        incoming: bool,
    ) -> Result<()> {
        let session = Arc::new(PeerSession::new(peer, stream));
        let replaced = {
            let mut sessions = self.sessions.lock();
            // Checked under the lock that shutdown takes: no chat opens after it.
            if self.stopping.load(Ordering::SeqCst) {
                return Err(Error::Usage(tr!(Msg::Closing)));
            }
            sessions.insert(fold(peer), session.clone())
        };
        if let Some(old) = replaced {
            self.end(&old, &tr!(Msg::PeerReopened, peer = peer));
        }
        // Before the thread starts, so that "open" is always told before
        // the first message.
        self.handler.opened(peer, incoming);
        let node = self.clone();
        let thread = spawn("wachat-p2p-chat", move || {
            let mut reader = reader;
            let why = session::read_loop(&session, &mut reader, &*node.handler);
            node.end(&session, &why);
        })?;
        self.threads.lock().push(thread);
        Ok(())
    }

    /// Ends a chat once: forgets it, shuts its socket, and hands what it
    /// did not get acknowledged to the handler.
    fn end(&self, session: &Arc<PeerSession>, why: &str) {
        {
            let mut sessions = self.sessions.lock();
            let key = fold(&session.peer);
            if sessions.get(&key).is_some_and(|s| Arc::ptr_eq(s, session)) {
                sessions.remove(&key);
            }
        }
        if let Some(unacked) = session.close() {
            log::debug!("p2p {}: ended: {why}", session.peer);
            self.handler.closed(&session.peer, why, unacked);
        }
    }

    /// Connection threads still running; the finished ones are joined.
    fn live_threads(&self) -> usize {
        let mut threads = self.threads.lock();
        let (done, live): (Vec<_>, Vec<_>) = threads.drain(..).partition(|t| t.is_finished());
        *threads = live;
        drop(threads);
        for thread in done {
            let _ = thread.join();
        }
        self.threads.lock().len()
    }
}

/// The address to dial to reach a listener bound to `addr` (one bound to
/// every interface is reached on loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

type PeerReader = FrameReader<TcpStream>;

/// Socket options of a direct connection, and its reading half.
fn prepare(stream: &TcpStream, timeout: Duration) -> std::io::Result<PeerReader> {
    // Chat frames are small and interactive: send each at once.
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(FrameReader::new(stream.try_clone()?, 4096, MAX_FRAME))
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| Error::io(tr!(Msg::Starting, name = name), e))
}
