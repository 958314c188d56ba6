//! Lingering closes, all on one thread.
//!
//! Closing a socket that still has unread input makes the kernel reset
//! the connection, and the peer may lose our last reply (a `KO` that
//! explains why it was closed). So a connection is closed politely: stop
//! writing (the peer reads everything, then end-of-file), read away what
//! the peer still sends for a moment, then close.
//!
//! Were that moment spent by the connection's own thread, after it gave its
//! slot back (`Slot`), a client that connects, sends one bad line and keeps
//! its socket open would hold a thread, its stack, a descriptor and a pid
//! for a second, counted by no limit: one client held 7,862 server threads
//! at once against `--max-connections 100` that way. So the handler thread
//! ends at once and hands the socket to the **closer**, one thread that
//! waits on every lingering socket with one `poll()`. What a lingering
//! close holds is a descriptor and a few bytes of bookkeeping, and there
//! are at most [`max_lingering`] of them: past that, a socket is closed at
//! once (which may reset it: that client may lose its last reply, nothing
//! more).
//!
//! Each lingering socket is bounded twice, by [`LINGER_FOR`] in all and by
//! [`LINGER_BYTES`] read: a client that trickles bytes into a closing
//! connection holds it for one second at most.
//!
//! The handlers hand sockets over through a channel; a byte written into a
//! local socket pair (the "self-pipe trick") wakes the closer from its
//! `poll()`. When the server is dropped, the channel's sender goes, and the
//! closer closes what it holds and ends.

use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::sys::socket::{self, READABLE, Waiting, Waker, Woken};
use crate::transport::Stream;

/// How long a lingering close reads leftovers at most.
pub const LINGER_FOR: Duration = Duration::from_secs(1);
/// How many bytes of leftovers a lingering close reads at most.
pub const LINGER_BYTES: usize = 64 * 1024;

/// Lingering closes at most for a server of `max_connections`: one per
/// 16 connections, at least 16, at most 256. Each is one descriptor, so
/// the default (20,000 connections, 256 lingering) leaves the descriptors
/// of ≥ 9,800 users within this machine's hard limit of 20,000 (see
/// `sys::limits::connection_capacity`, which counts them).
pub fn max_lingering(max_connections: usize) -> usize {
    (max_connections / 16).clamp(16, 256)
}

/// The handlers' end of the closer thread.
pub struct Closer {
    sockets: Sender<Arc<Stream>>,
    /// Woken once per socket handed over: wakes the closer's `poll`.
    wake: Waker,
    /// Sockets handed over and not closed yet.
    lingering: Arc<AtomicUsize>,
    max: usize,
}

impl Closer {
    /// Starts the closer thread, which lingers over `max` sockets at most.
    pub fn start(max: usize) -> io::Result<Closer> {
        let (wake, woken) = socket::wake_pair()?;
        let (sockets, incoming) = crossbeam_channel::unbounded();
        let lingering = Arc::new(AtomicUsize::new(0));
        let count = lingering.clone();
        std::thread::Builder::new()
            .name("closer".into())
            .stack_size(super::threads::STACK_SIZE)
            .spawn(move || run(&incoming, woken, &count))?;
        Ok(Closer { sockets, wake, lingering, max })
    }

    /// Closes `stream` politely: stops writing now, and lets the closer
    /// thread read away what the peer still sends, then close it. If
    /// [`max_lingering`] sockets linger already, closes it at once.
    pub fn close(&self, stream: Arc<Stream>) {
        let _ = stream.shutdown(Shutdown::Write);
        if self.lingering.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.lingering.fetch_sub(1, Ordering::SeqCst);
            return; // dropped: closed now
        }
        if let Err(crossbeam_channel::SendError(stream)) = self.sockets.send(stream) {
            self.lingering.fetch_sub(1, Ordering::SeqCst);
            drop(stream);
            return;
        }
        self.wake.wake();
    }

    /// Sockets lingering now (for tests and logs).
    pub fn lingering(&self) -> usize {
        self.lingering.load(Ordering::SeqCst)
    }
}

/// A socket being closed.
struct Lingering {
    stream: Arc<Stream>,
    deadline: Instant,
    /// Bytes it may still send us before we stop reading.
    budget: usize,
}

/// The closer thread: polls the wake-up pipe and every lingering socket,
/// reads what came, and closes each socket at end-of-file, on an error,
/// past its budget or past its deadline.
fn run(incoming: &Receiver<Arc<Stream>>, woken: Woken, count: &AtomicUsize) {
    let mut held: Vec<Lingering> = Vec::new();
    let mut fds: Vec<Waiting> = Vec::new();
    let mut sink = [0u8; 4096];
    loop {
        // Take what the handlers handed over.
        loop {
            match incoming.try_recv() {
                Ok(stream) => {
                    // Leftovers are read from the socket itself, not decrypted.
                    if stream.tcp().set_nonblocking(true).is_ok() {
                        held.push(Lingering {
                            stream,
                            deadline: Instant::now() + LINGER_FOR,
                            budget: LINGER_BYTES,
                        });
                    } else {
                        count.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    count.fetch_sub(held.len(), Ordering::SeqCst);
                    return; // the server is gone: what is held is closed now
                }
            }
        }
        // Wait for bytes (or end-of-file) on any of them, or a new one,
        // or the nearest deadline.
        fds.clear();
        fds.push(woken.waiting());
        fds.extend(held.iter().map(|l| Waiting::new(l.stream.tcp(), READABLE)));
        let now = Instant::now();
        let timeout_ms = held.iter().map(|l| l.deadline).min().map_or(-1, |deadline| {
            // Rounded up: a wait of 0.4 ms must not become a busy loop.
            deadline.saturating_duration_since(now).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        let n = match socket::poll(&mut fds, timeout_ms) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("closer: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10)); // never spin
                }
                0
            }
        };
        if fds[0].ready() != 0 {
            woken.drain();
        }
        // Read what came; keep those that may still send.
        let now = Instant::now();
        let mut i = 0;
        held.retain_mut(|l| {
            i += 1;
            let ready = n > 0 && fds[i].ready() != 0;
            let open = (!ready || read_leftovers(l, &mut sink)) && now < l.deadline;
            if !open {
                count.fetch_sub(1, Ordering::SeqCst);
            }
            open
        });
    }
}

/// Reads what a lingering socket has for us now; false once it is done
/// (end-of-file, an error, or its budget spent).
fn read_leftovers(l: &mut Lingering, sink: &mut [u8]) -> bool {
    let mut reader = l.stream.tcp();
    loop {
        match reader.read(sink) {
            Ok(0) => return false,
            Ok(n) if n >= l.budget => return false,
            Ok(n) => l.budget -= n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (TcpStream, Arc<Stream>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (client, Arc::new(Stream::plain(server)))
    }

    /// Reads until end-of-file or a reset; true if the server closed.
    fn closed(client: &mut TcpStream) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match client.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false, // timed out: still open
            }
        }
    }

    fn wait_for(closer: &Closer, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while closer.lingering() != n {
            assert!(Instant::now() < deadline, "{} lingering, not {n}", closer.lingering());
            std::thread::sleep(Duration::from_millis(1)); // polling the count
        }
    }

    #[test]
    fn lingers_until_the_peer_closes_and_no_longer_than_its_deadline() {
        let closer = Closer::start(4).unwrap();
        // A peer that closes: its socket is closed at once.
        let (client, server) = pair();
        closer.close(server);
        drop(client);
        wait_for(&closer, 0);
        // A peer that keeps its socket open: end-of-file after LINGER_FOR.
        let (mut client, server) = pair();
        client.write_all(b"leftover\n").unwrap();
        closer.close(server);
        assert!(closed(&mut client));
        wait_for(&closer, 0);
    }

    #[test]
    fn past_its_maximum_a_socket_is_closed_at_once() {
        let closer = Closer::start(2).unwrap();
        let mut clients = Vec::new();
        for _ in 0..5 {
            let (client, server) = pair();
            closer.close(server);
            clients.push(client);
        }
        // Two linger; three were closed without a wait.
        assert_eq!(closer.lingering(), 2);
        wait_for(&closer, 0);
        for client in &mut clients {
            assert!(closed(client));
        }
    }
}
