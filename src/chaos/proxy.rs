//! The proxy between the users and the server: a pair of listeners per
//! user (its send port and its receive port), a thread per direction of
//! each connection, and the faults applied on the way.
//!
//! One proxy per user (per device of a user, with `--devices`), not one
//! for everyone, so that a partition can cut off one user's receive port
//! without reading a single frame, and a reset knows whose connection it
//! cuts.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol::Port;

/// How long a reset waits for bytes to cut in half before it closes the
/// connection between two frames instead.
const CUT_WAIT: Duration = Duration::from_millis(400);

/// How often an idle direction looks at its flags.
const TICK: Duration = Duration::from_millis(50);

/// The faults every proxy applies now.
#[derive(Default)]
pub struct Global {
    /// Milliseconds each chunk waits before it is forwarded (0: none).
    pub delay_ms: AtomicU64,
    /// Connections that went to another server than the device's own
    /// (its own down, or shunned): how often users moved (`--server`).
    pub failovers: AtomicU64,
}

/// One connection through the proxy.
struct Relay {
    port: Port,
    /// The user's side, closed at once by a partition.
    client: TcpStream,
    /// Set by a reset: the first chunk after it is cut in half, then both
    /// sides closed; at this instant, closed anyway.
    cut: Arc<Mutex<Option<Instant>>>,
    /// Set by a partition: until then the server's side stays open and
    /// what it writes is swallowed, as a network that drops packets does
    /// (the server learns of it only by its own timeout).
    hole: Arc<Mutex<Option<Instant>>>,
    done: Arc<AtomicBool>,
}

struct ProxyShared {
    /// The servers' (send, receive) addresses, the user's own first.
    upstreams: Vec<(SocketAddr, SocketAddr)>,
    links: Mutex<Vec<Relay>>,
    partitioned_until: Mutex<Option<Instant>>,
    /// Until then, new connections try the user's own server last: it
    /// took a connection and answered nothing (a paused node).
    shunned_until: Mutex<Option<Instant>>,
    global: Arc<Global>,
}

/// One user's proxy: connect to `send` and `recv` instead of the server.
pub struct Proxy {
    pub send: SocketAddr,
    pub recv: SocketAddr,
    inner: Arc<ProxyShared>,
}

impl Proxy {
    /// A proxy to `upstreams`, listening on the local ports `(send, recv)`
    /// of 127.0.0.1 (`0`: any free one).
    pub fn start(
        upstreams: Vec<(SocketAddr, SocketAddr)>,
        global: &Arc<Global>,
        (send, recv): (u16, u16),
    ) -> std::io::Result<Proxy> {
        let inner = Arc::new(ProxyShared {
            upstreams,
            links: Mutex::default(),
            partitioned_until: Mutex::default(),
            shunned_until: Mutex::default(),
            global: global.clone(),
        });
        let send = listen(Port::Send, send, &inner)?;
        let recv = listen(Port::Receive, recv, &inner)?;
        Ok(Proxy { send, recv, inner })
    }

    /// Cuts this user's connections on `port` in the middle of a frame;
    /// how many there were.
    pub fn reset(&self, port: Port) -> usize {
        let links = self.inner.links.lock().unwrap_or_else(|e| e.into_inner());
        let live: Vec<&Relay> =
            links.iter().filter(|l| l.port == port && !l.done.load(Ordering::SeqCst)).collect();
        for link in &live {
            *link.cut.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + CUT_WAIT);
        }
        live.len()
    }

    /// The user's own server answered nothing: for `wait`, new
    /// connections go to the other servers first, as a client with
    /// several servers tries the next one.
    pub fn shun(&self, wait: Duration) {
        *self.inner.shunned_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + wait);
    }

    /// The receive port unreachable until `until` (its connection cut now).
    pub fn partition(&self, until: Option<Instant>) {
        *self.inner.partitioned_until.lock().unwrap_or_else(|e| e.into_inner()) = until;
        if until.is_some() {
            let links = self.inner.links.lock().unwrap_or_else(|e| e.into_inner());
            for link in links.iter().filter(|l| l.port == Port::Receive && !l.done.load(Ordering::SeqCst)) {
                *link.hole.lock().unwrap_or_else(|e| e.into_inner()) = until;
                link.client.shutdown(Shutdown::Both).ok();
            }
        }
    }
}

fn listen(port: Port, local: u16, inner: &Arc<ProxyShared>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", local))
        .map_err(|e| std::io::Error::new(e.kind(), format!("127.0.0.1:{local}: {e}")))?;
    let addr = listener.local_addr()?;
    let inner = inner.clone();
    // The accept thread lives as long as the process: a run is one process.
    thread::Builder::new().name(format!("chaos-proxy-{}", port)).spawn(move || {
        for client in listener.incoming().flatten() {
            accept(client, port, &inner);
        }
    })?;
    Ok(addr)
}

fn partitioned(inner: &ProxyShared) -> bool {
    let until = *inner.partitioned_until.lock().unwrap_or_else(|e| e.into_inner());
    until.is_some_and(|t| Instant::now() < t)
}

/// A new connection: refused while partitioned or while every server is
/// down, else joined to a fresh connection to the first server that
/// accepts (the user's own, unless it is down: then the next one).
fn accept(client: TcpStream, port: Port, inner: &Arc<ProxyShared>) {
    if port == Port::Receive && partitioned(inner) {
        return; // dropped: the user sees its connection closed at once
    }
    let shunned =
        inner.shunned_until.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| Instant::now() < t);
    let mut upstreams = inner.upstreams.clone();
    if shunned {
        upstreams.rotate_left(1); // its own server last
    }
    let targets = upstreams.iter().map(|(send, recv)| if port == Port::Send { *send } else { *recv });
    let own = if port == Port::Send { inner.upstreams[0].0 } else { inner.upstreams[0].1 };
    let connect = |t: SocketAddr| TcpStream::connect_timeout(&t, Duration::from_secs(2)).ok().map(|s| (t, s));
    let Some((target, server)) = targets.filter_map(connect).next() else { return };
    if target != own {
        inner.global.failovers.fetch_add(1, Ordering::Relaxed);
    }
    server.set_nodelay(true).ok();
    client.set_nodelay(true).ok();
    let (Ok(client2), Ok(client3), Ok(server2)) =
        (client.try_clone(), client.try_clone(), server.try_clone())
    else {
        return;
    };
    let link =
        Relay { port, client: client3, cut: Arc::default(), hole: Arc::default(), done: Arc::default() };
    let up = Pipe {
        cut: link.cut.clone(),
        hole: link.hole.clone(),
        done: link.done.clone(),
        global: inner.global.clone(),
        down: false,
    };
    let down = Pipe { down: true, ..up.clone() };
    {
        let mut links = inner.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|l| !l.done.load(Ordering::SeqCst));
        links.push(link);
    }
    let _ = thread::Builder::new().name("chaos-up".into()).spawn(move || up.pump(client, server));
    let _ = thread::Builder::new().name("chaos-down".into()).spawn(move || down.pump(server2, client2));
}

#[derive(Clone)]
struct Pipe {
    cut: Arc<Mutex<Option<Instant>>>,
    hole: Arc<Mutex<Option<Instant>>>,
    done: Arc<AtomicBool>,
    global: Arc<Global>,
    /// From the server to the user.
    down: bool,
}

impl Pipe {
    fn in_hole(&self) -> bool {
        self.hole.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Forwards `from` to `to` until either closes or a fault ends it;
    /// then closes both, so the other direction ends too.
    fn pump(&self, mut from: TcpStream, mut to: TcpStream) {
        from.set_read_timeout(Some(TICK)).ok();
        to.set_write_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = [0u8; 16 * 1024];
        while !self.done.load(Ordering::SeqCst) {
            let cut = *self.cut.lock().unwrap_or_else(|e| e.into_inner());
            let hole = *self.hole.lock().unwrap_or_else(|e| e.into_inner());
            if cut.is_some_and(|at| Instant::now() >= at) || hole.is_some_and(|until| Instant::now() >= until)
            {
                break;
            }
            if hole.is_some() && !self.down {
                return; // the user's side is gone; the server's stays open
            }
            let n = match from.read(&mut buf) {
                Ok(n) if n > 0 => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                // The user's side closed by a partition: not the end of the server's.
                _ if self.in_hole() => continue,
                _ => break,
            };
            let delay = self.global.delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                thread::sleep(Duration::from_millis(delay)); // the delay fault itself
            }
            if hole.is_some() || self.in_hole() {
                continue; // swallowed by the partition
            }
            if cut.is_some() {
                // A reset in the middle of a frame: half of what came, then close.
                let _ = to.write_all(&buf[..n / 2]);
                break;
            }
            if to.write_all(&buf[..n]).is_err() && !self.in_hole() {
                break;
            }
        }
        self.done.store(true, Ordering::SeqCst);
        from.shutdown(Shutdown::Both).ok();
        to.shutdown(Shutdown::Both).ok();
    }
}
