//! Deadlines on database calls that the database itself cannot enforce.
//!
//! The kernel notices a machine that is gone (`tcp_user_timeout`,
//! keepalives). That does not help when the server hangs — a SIGSTOPped
//! primary, a machine swapping to death: its kernel still acknowledges
//! every byte, keeps the TCP connection open, and nothing ever answers.
//! libpq's calls (`db/postgres.rs`) are blocking and have no deadline of their
//! own, so a request thread (or the leader writing the log) would wait
//! for as long as the freeze lasts. (Nor is `statement_timeout` the answer: a `COMMIT`
//! it cancels while waiting for the synchronous standby is committed on
//! the primary alone and reported as a success: `db::parse_store`.)
//!
//! So each connection keeps a duplicate of its socket's descriptor
//! (`db::open`, from libpq's `PQsocket`), and while a call is under way it is *armed* here with
//! a deadline. A thread looks ten times a second; a connection past its
//! deadline gets `shutdown(2)`: the blocked call returns at once with an
//! error (the client sees `KO:UNAVAILABLE`), the connection counts as
//! broken and is replaced by one to whichever server is primary now.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A duplicate of `stream`'s socket, as `db::open` keeps one.
    fn dup(stream: &TcpStream) -> Socket {
        Arc::new(std::os::fd::AsFd::as_fd(stream).try_clone_to_owned().unwrap())
    }

    #[test]
    fn a_call_past_its_deadline_returns_at_once_when_its_socket_is_cut() {
        // A server that accepts and never answers: a frozen database.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let socket = dup(&client);
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
        let socket = dup(&client);
        let watchdog = Arc::new(Watchdog::default());
        drop(watchdog.arm(&socket, Instant::now()));
        assert_eq!(watchdog.cut_late(Instant::now() + Duration::from_secs(1)), 0);
    }
}
