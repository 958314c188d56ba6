//! Deadlines on database calls that the database itself cannot enforce.
//!
//! The kernel notices a machine that is gone (`tcp_user_timeout`,
//! keepalives). That does not help when the server hangs — a SIGSTOPped
//! primary, a machine swapping to death: its kernel still acknowledges
//! every byte, keeps the TCP connection open, and nothing ever answers.
//! The client's calls (`db/postgres.rs`) are blocking and have no deadline of their
//! own, so a request thread (or the leader writing the log) would wait
//! for as long as the freeze lasts. (Nor is `statement_timeout` the answer: a `COMMIT`
//! it cancels while waiting for the synchronous standby is committed on
//! the primary alone and reported as a success: `db::parse_store`.)
//!
//! So each connection keeps a duplicate of its socket's descriptor
//! ([`find_socket`]), and while a call is under way it is *armed* here with
//! a deadline. A thread looks ten times a second; a connection past its
//! deadline gets `shutdown(2)`: the blocked call returns at once with an
//! error (the client sees `KO:UNAVAILABLE`), the connection counts as
//! broken and is replaced by one to whichever server is primary now.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often the watchdog looks at the armed connections.
const TICK: Duration = Duration::from_millis(100);

/// The socket of one database connection (a duplicate descriptor).
pub type Socket = Arc<OwnedFd>;

/// The armed connections, and the thread that cuts the late ones.
#[derive(Default)]
pub struct Watchdog {
    armed: Mutex<HashMap<u64, (Instant, Socket)>>,
    next: AtomicU64,
    started: std::sync::OnceLock<()>,
    /// Connections cut so far (the metrics count them too).
    pub cut: AtomicU64,
}

/// An armed connection; disarmed when dropped.
pub struct Armed<'a> {
    watchdog: &'a Watchdog,
    id: u64,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.watchdog.armed.lock().remove(&self.id);
    }
}

impl Watchdog {
    /// Arms `socket`: if still armed at `until`, it is shut down.
    pub fn arm(self: &Arc<Self>, socket: &Socket, until: Instant) -> Armed<'_> {
        self.started.get_or_init(|| {
            let me = Arc::downgrade(self);
            let started = std::thread::Builder::new().name("pg-watchdog".into()).spawn(move || {
                while let Some(watchdog) = me.upgrade() {
                    watchdog.cut_late(Instant::now());
                    drop(watchdog);
                    std::thread::sleep(TICK);
                }
            });
            if let Err(e) = started {
                log::error!("cluster: no database watchdog (cannot start its thread): {e}");
            }
        });
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.armed.lock().insert(id, (until, socket.clone()));
        Armed { watchdog: self, id }
    }

    /// Shuts down every connection past its deadline; returns how many.
    fn cut_late(&self, now: Instant) -> usize {
        let late: Vec<Socket> = {
            let mut armed = self.armed.lock();
            let ids: Vec<u64> = armed.iter().filter(|(_, (at, _))| *at <= now).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| armed.remove(id)).map(|(_, socket)| socket).collect()
        };
        for socket in &late {
            log::warn!("cluster: the database did not answer in time: connection cut");
            // Counted before the cut, which wakes the waiting call at once:
            // whoever it wakes sees the count already there.
            self.cut.fetch_add(1, Ordering::Relaxed);
            crate::metrics::get().pg_cut.inc();
            // SAFETY: shutdown on a descriptor this process owns (a
            // duplicate kept for this); it frees nothing.
            unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) };
        }
        late.len()
    }
}

/// The socket of this process connected from local port `local` to
/// remote port `remote` (what the server says the connection is:
/// `inet_client_port()`, `inet_server_port()`), duplicated. `None` for a
/// Unix socket, or if it cannot be found.
pub fn find_socket(local: u16, remote: u16) -> Option<Socket> {
    let fds = std::fs::read_dir("/proc/self/fd").ok()?;
    for entry in fds.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        // SAFETY: the descriptor may be closed (even reused) by another
        // thread meanwhile; asking a closed one fails harmlessly, and the
        // duplicate is checked again below.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        if !is_connection(borrowed, local, remote) {
            continue;
        }
        if let Ok(dup) = borrowed.try_clone_to_owned()
            && is_connection(dup.as_fd(), local, remote)
        {
            return Some(Arc::new(dup));
        }
    }
    None
}

/// True if `fd` is a TCP socket from port `local` to port `remote`.
fn is_connection(fd: BorrowedFd<'_>, local: u16, remote: u16) -> bool {
    let socket = socket2::SockRef::from(&fd);
    let port =
        |addr: std::io::Result<socket2::SockAddr>| addr.ok().and_then(|a| a.as_socket()).map(|a| a.port());
    port(socket.local_addr()) == Some(local) && port(socket.peer_addr()) == Some(remote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_call_past_its_deadline_returns_at_once_when_its_socket_is_found_and_cut() {
        // A server that accepts and never answers: a frozen database.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let (local, remote) = (client.local_addr().unwrap().port(), listener.local_addr().unwrap().port());
        let socket = find_socket(local, remote).expect("the client's socket is found");
        assert!(find_socket(remote, local).is_some(), "the server's side too, and no other");
        let watchdog = Arc::new(Watchdog::default());
        let _armed = watchdog.arm(&socket, Instant::now() + Duration::from_millis(200));
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let began = Instant::now();
        let read = client.read(&mut [0; 16]);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert!(began.elapsed() < Duration::from_secs(5), "cut after {:?}", began.elapsed());
        assert_eq!(watchdog.cut.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_disarmed_connection_is_left_alone() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let socket =
            find_socket(client.local_addr().unwrap().port(), listener.local_addr().unwrap().port()).unwrap();
        let watchdog = Arc::new(Watchdog::default());
        drop(watchdog.arm(&socket, Instant::now()));
        assert_eq!(watchdog.cut_late(Instant::now() + Duration::from_secs(1)), 0);
        assert!(find_socket(1, 1).is_none());
    }
}
