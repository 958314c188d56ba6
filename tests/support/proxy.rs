//! A TCP proxy between two servers, which a test freezes, thaws or cuts
//! (`cluster.rs`'s nodes, the class network's links).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A proxy in front of a server's port (a cluster node's node port, which
/// the node names as where it is reached, `--node-advertise`; a link
/// port, which the roster names), so that every link to it comes
/// through here; the test can freeze it. Frozen, it passes no byte either
/// way, passes on no connection's end and connects no new link onward:
/// what it has is held, as by a network that drops packets (TCP sends
/// them again), and the links stay open, frozen. Thawed, what was held
/// goes on, in order. It keeps every byte it passed, each way, as a
/// listener on the path between the nodes would.
pub struct LinkProxy {
    /// Where the nodes reach it.
    pub at: std::net::SocketAddr,
    to: Arc<Mutex<Option<std::net::SocketAddr>>>,
    switch: Arc<Switch>,
    /// What it passed on, toward the node and back from it.
    seen: Arc<Seen>,
    /// The links it passes on now, each end (for [`LinkProxy::cut`]).
    open: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

/// What a [`LinkProxy`] passed on, each way.
#[derive(Default)]
struct Seen {
    onward: Mutex<Vec<u8>>,
    back: Mutex<Vec<u8>>,
}

/// A [`LinkProxy`]'s state: frozen or not, and how many chunks (or
/// connections) had to wait for a thaw.
#[derive(Default)]
struct Switch {
    frozen: AtomicBool,
    held: AtomicU64,
}

impl Switch {
    /// Waits while frozen, counting a wait.
    fn pass(&self) {
        if self.frozen.load(Ordering::SeqCst) {
            self.held.fetch_add(1, Ordering::SeqCst);
        }
        while self.frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20)); // polling the test's switch
        }
    }
}

impl LinkProxy {
    /// A proxy on a free port of loopback, that passes links on nowhere
    /// until [`LinkProxy::to`].
    pub fn start() -> LinkProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let proxy = LinkProxy {
            at: listener.local_addr().unwrap(),
            to: Arc::default(),
            switch: Arc::default(),
            seen: Arc::default(),
            open: Arc::default(),
        };
        let (to, switch, seen) = (proxy.to.clone(), proxy.switch.clone(), proxy.seen.clone());
        let open = proxy.open.clone();
        std::thread::spawn(move || {
            for link in listener.incoming().flatten() {
                let (to, switch, seen, open) = (to.clone(), switch.clone(), seen.clone(), open.clone());
                std::thread::spawn(move || pass_on(link, &to, &switch, &seen, &open));
            }
        });
        proxy
    }

    /// Every byte passed on toward the node so far, and back from it.
    pub fn seen(&self) -> (Vec<u8>, Vec<u8>) {
        (self.seen.onward.lock().unwrap().clone(), self.seen.back.lock().unwrap().clone())
    }

    /// Passes links on to `at` (any TCP server: a PostgreSQL too).
    pub fn to(&self, at: std::net::SocketAddr) {
        *self.to.lock().unwrap() = Some(at);
    }

    pub fn freeze(&self) {
        self.switch.frozen.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.switch.frozen.store(false, Ordering::SeqCst);
    }

    /// Cuts every link it passes on now, both ways, as a network that
    /// drops them (each end sees its link closed); new links pass.
    pub fn cut(&self) {
        for end in self.open.lock().unwrap().drain(..) {
            let _ = end.shutdown(std::net::Shutdown::Both);
        }
    }

    /// How many chunks of bytes, or new links, a freeze held so far.
    pub fn held(&self) -> u64 {
        self.switch.held.load(Ordering::SeqCst)
    }
}

/// One link through a [`LinkProxy`]: connected onward once not frozen,
/// then each way a thread.
fn pass_on(
    link: std::net::TcpStream,
    to: &Mutex<Option<std::net::SocketAddr>>,
    switch: &Switch,
    seen: &Seen,
    open: &Mutex<Vec<std::net::TcpStream>>,
) {
    switch.pass();
    let Some(node) = *to.lock().unwrap() else { return };
    let Ok(onward) = std::net::TcpStream::connect_timeout(&node, Duration::from_secs(5)) else { return };
    open.lock().unwrap().extend([link.try_clone().unwrap(), onward.try_clone().unwrap()]);
    let (link_in, onward_in) = (link.try_clone().unwrap(), onward.try_clone().unwrap());
    std::thread::scope(|scope| {
        scope.spawn(|| pump(link_in, onward, switch, &seen.onward));
        pump(onward_in, link, switch, &seen.back);
    });
}

/// Copies `from` to `to` until either ends, holding each chunk (and the
/// end) while frozen, keeping a copy in `seen`; then closes both.
fn pump(mut from: std::net::TcpStream, mut to: std::net::TcpStream, switch: &Switch, seen: &Mutex<Vec<u8>>) {
    use std::io::{Read, Write};
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).unwrap_or(0);
        switch.pass();
        seen.lock().unwrap().extend_from_slice(&buf[..n]);
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}
