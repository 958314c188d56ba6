//! The replies of one send connection, in the order of its requests,
//! written by whichever thread has them ready.
//!
//! A reply that promises durability (`OK` of `MSG`) is ready only once
//! its records are on disk. The connection's thread does not wait for
//! that: it leaves its replies with the store
//! ([`LocalStore::when_durable`](crate::store::LocalStore::when_durable)), which
//! hands them back on the thread that made them durable (the leader of
//! the group commit, see `store::local::committer`), and goes back to reading its
//! socket. Waiting would cost a thread wake-up per message, the largest
//! cost of a message at 10,000 msgs/s on this machine (BENCHMARKS.md,
//! "Latency").
//!
//! **Order.** Each batch of replies takes a number when it is handed out
//! ([`Replies::reserve`]); its bytes go out after those of every earlier
//! number, whichever is ready first.
//!
//! **Nobody waits on a slow client.** Other threads write with
//! `MSG_DONTWAIT` ([`Stream::send_now`]); what the kernel does not take
//! waits here, and the connection's thread writes it: it wakes up to try
//! every [`RETRY_FLUSH`] while replies are on their way, and a client that
//! takes none of them for `--timeout` is dropped, as one that does not
//! read its replies always was.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::protocol::{Ko, Reply};
use crate::transport::Stream;

/// Writes a reply, once its request is done, in the place
/// `Session::reply_later` (`send.rs`) kept for it in the output: a
/// cluster's `PART`, answered after the commit it shares with others.
pub(super) type Later = Box<dyn FnOnce(Result<Reply, Ko>) + Send>;

/// How often a connection's thread wakes up to retry a flush while bytes
/// wait for a slow client: replies the kernel did not take from another
/// thread (send port), events (receive port).
pub const RETRY_FLUSH: Duration = Duration::from_millis(50);

/// The ordered output of one send connection (see the module documentation).
pub struct Replies {
    stream: Arc<Stream>,
    out: Mutex<Pipeline>,
    /// Signalled when the last batch handed out is ready.
    all_ready: Condvar,
}

struct Pipeline {
    /// Batches handed out and not yet moved to `unsent`, oldest first;
    /// `None` while one waits for the disk. `batches[0]` is number `first`.
    batches: VecDeque<Option<Vec<u8>>>,
    first: u64,
    /// Ready bytes, in order, that the kernel has not taken yet.
    unsent: Vec<u8>,
    /// Since when bytes have waited without the kernel taking any.
    stalled_since: Option<Instant>,
    /// Writing failed: the connection is dead, nothing more is written.
    broken: Option<io::ErrorKind>,
}

impl Replies {
    pub fn new(stream: Arc<Stream>) -> Replies {
        let out = Pipeline {
            batches: VecDeque::new(),
            first: 0,
            unsent: Vec::new(),
            stalled_since: None,
            broken: None,
        };
        Replies { stream, out: Mutex::new(out), all_ready: Condvar::new() }
    }

    /// A place in the order for a batch of replies whose bytes come later
    /// ([`Replies::fill`]).
    pub fn reserve(&self) -> u64 {
        let mut out = self.out.lock();
        out.batches.push_back(None);
        out.first + out.batches.len() as u64 - 1
    }

    /// The bytes of batch `number`: moves every batch now ready in turn to
    /// the socket, without waiting.
    pub fn fill(&self, number: u64, bytes: Vec<u8>) {
        let mut out = self.out.lock();
        let i = (number - out.first) as usize;
        out.batches[i] = Some(bytes);
        while let Some(Some(_)) = out.batches.front() {
            let bytes = out.batches.pop_front().flatten().expect("a ready batch");
            out.first += 1;
            if out.unsent.is_empty() {
                out.unsent = bytes; // the common case: no copy
            } else {
                out.unsent.extend_from_slice(&bytes);
            }
        }
        if out.batches.is_empty() {
            self.all_ready.notify_all();
        }
        self.send_locked(&mut out);
    }

    /// Tries again to write what waits (the connection's thread).
    pub fn flush(&self) {
        let mut out = self.out.lock();
        self.send_locked(&mut out);
    }

    fn send_locked(&self, out: &mut Pipeline) {
        if out.unsent.is_empty() || out.broken.is_some() {
            return;
        }
        match self.stream.send_now(&out.unsent) {
            Ok(0) => {
                out.stalled_since.get_or_insert_with(Instant::now);
            }
            Ok(n) => {
                out.unsent.drain(..n);
                out.stalled_since = (!out.unsent.is_empty()).then(Instant::now);
            }
            Err(e) => {
                out.broken = Some(e.kind());
                out.unsent = Vec::new();
            }
        }
    }

    /// True while replies are on their way: waiting for the disk, or for
    /// the kernel to take them. The connection's thread then wakes up
    /// every [`RETRY_FLUSH`] to [`flush`](Replies::flush).
    pub fn busy(&self) -> bool {
        let out = self.out.lock();
        !out.batches.is_empty() || !out.unsent.is_empty()
    }

    /// Bytes waiting for the kernel.
    pub fn unsent(&self) -> usize {
        self.out.lock().unsent.len()
    }

    /// How long waiting bytes have gone without the kernel taking any.
    pub fn stalled_for(&self) -> Duration {
        self.out.lock().stalled_since.map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// Waits until every batch handed out is ready and written, writing
    /// with waits of its own (the connection's thread only: before it
    /// writes a long reply itself, or closes). Fails with `TimedOut` past
    /// `deadline`.
    pub fn drain(&self, deadline: Instant) -> io::Result<()> {
        let mut out = self.out.lock();
        loop {
            if let Some(kind) = out.broken {
                return Err(io::Error::new(kind, "the connection failed"));
            }
            if !out.batches.is_empty() {
                // Their records are durable or about to be: the thread
                // that made them so is on its way to `fill`.
                if self.all_ready.wait_until(&mut out, deadline).timed_out() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "replies not ready in time"));
                }
                continue;
            }
            if out.unsent.is_empty() {
                return Ok(());
            }
            // No batch is on its way: only this thread adds any, so the
            // bytes can be written outside the lock, in order.
            let bytes = std::mem::take(&mut out.unsent);
            out.stalled_since = None;
            drop(out);
            let written = self.stream.write_all_by(&bytes, deadline);
            out = self.out.lock();
            if let Err(e) = written {
                // Part of the bytes may be gone: the stream is no longer whole lines.
                out.broken = Some(e.kind());
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    use super::*;

    fn pair() -> (Arc<Replies>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Arc::new(Replies::new(Arc::new(Stream::plain(server)))), client)
    }

    fn read_exactly(client: &mut TcpStream, n: usize) -> String {
        let mut buf = vec![0; n];
        client.read_exact(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn batches_go_out_in_the_order_they_were_handed_out_whoever_is_ready_first() {
        let (replies, mut client) = pair();
        let first = replies.reserve();
        let second = replies.reserve();
        let third = replies.reserve();
        replies.fill(third, b"3\n".to_vec());
        replies.fill(second, b"2\n".to_vec());
        assert!(replies.busy(), "the first is still on its way");
        let filler = {
            let replies = replies.clone();
            std::thread::spawn(move || replies.fill(first, b"1\n".to_vec()))
        };
        replies.drain(Instant::now() + Duration::from_secs(10)).unwrap();
        filler.join().unwrap();
        assert_eq!(read_exactly(&mut client, 6), "1\n2\n3\n");
        assert!(!replies.busy());
    }

    #[test]
    fn what_the_kernel_does_not_take_waits_for_the_connections_thread() {
        let (replies, mut client) = pair();
        let big = vec![b'x'; 8 << 20]; // more than the socket buffers hold
        let n = replies.reserve();
        replies.fill(n, big.clone());
        assert!(replies.unsent() > 0, "the kernel took only part of it");
        assert!(replies.busy());
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all.len()
        });
        replies.drain(Instant::now() + Duration::from_secs(10)).unwrap();
        assert!(!replies.busy());
        drop(replies); // closes the server's end
        assert_eq!(reader.join().unwrap(), big.len());
    }

    #[test]
    fn a_client_that_does_not_read_fails_the_drain_at_its_deadline_for_good() {
        let (replies, _client) = pair();
        let n = replies.reserve();
        replies.fill(n, vec![b'x'; 8 << 20]);
        let late = replies.drain(Instant::now() + Duration::from_millis(50));
        assert_eq!(late.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(replies.drain(Instant::now() + Duration::from_secs(10)).is_err(), "no longer whole lines");
    }
}
