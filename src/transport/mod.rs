//! The byte stream under the protocol: a TCP socket, encrypted with TLS
//! when the server has a certificate (`wachat serve --tls-cert`) and the
//! client asks for it (`--tls`, `--ca`). Both sides, and every client
//! command, go through one type, [`Stream`], so that the rest of wachat
//! reads and writes lines without knowing which it has.
//!
//! - `stream_io`: `Read` and `Write` for a [`Stream`] and a [`SharedStream`] one, the
//!   face the rest of wachat sees;
//! - [`relay`]: a connection passed on to another server, byte for byte
//!   both ways;
//! - [`tls`]: the configurations: the server's certificate and key from
//!   PEM files, the client's trusted roots (the system's, or one
//!   certificate), and what a handshake failure means in words.
//!
//! ## One stream, several threads, nobody waiting under a lock
//!
//! A TLS connection is one state machine (rustls) for both directions,
//! while wachat reads and writes a socket from different threads: the
//! receive-port handler reads `ACK`s while the committer pushes events
//! through the router; the bench reads replies while another thread writes
//! requests. So the state sits behind a mutex, and **no thread ever waits
//! for the network while holding it**: it waits in `poll()` first, then
//! takes the lock for work that cannot block — feeding the bytes that came
//! into rustls, taking plaintext out, or encrypting and writing what the
//! kernel takes now (`MSG_DONTWAIT`, see `sys::socket`). That is what keeps the
//! router's promise (a slow reader never blocks it) with TLS too. Lock
//! order: an `Outlet`'s buffer, then its stream's WebSocket state (a
//! browser's connection, see [`websocket`]), then its TLS state; a stream
//! never calls out while it holds its lock.
//!
//! What rustls may buffer is bounded: [`SEND_BUFFER`] bytes waiting to be
//! sent (a write past it is taken in part, like a full socket), and one
//! record of plaintext received at a time (the stream reads no more
//! ciphertext until the plaintext was taken).
//!
//! A plaintext stream is just the socket: every call goes straight to it,
//! so the classroom's `nc` path costs nothing more than before.

pub mod relay;
mod stream_io;
pub mod tls;
pub mod websocket;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::sys::socket::{self, Events, READABLE, WRITABLE};

pub use stream_io::SharedStream;
pub use tls::Tls;
use websocket::Raw;

/// Bytes rustls may hold for sending (plaintext and ciphertext together):
/// what a connection can have queued inside TLS, on top of the kernel's
/// socket buffer.
pub const SEND_BUFFER: usize = 64 * 1024;

/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// One connection's bytes, plain or over TLS; usable from several
/// threads through `&Stream` (see the module documentation).
pub struct Stream {
    tcp: TcpStream,
    /// The TLS state; `None` for a plaintext connection.
    tls: Option<Mutex<rustls::Connection>>,
    /// The WebSocket state, over the plaintext or TLS above; `None` for
    /// the protocol's own ports (see [`websocket`]).
    ws: Option<Mutex<websocket::Ws>>,
    /// Waits of TLS reads and writes (a plaintext stream sets them on the
    /// socket itself).
    waits: Mutex<Waits>,
    /// Some ciphertext came in already (so the first byte was TLS).
    heard: AtomicBool,
}

#[derive(Clone, Copy, Default)]
struct Waits {
    read: Option<Duration>,
    write: Option<Duration>,
    /// Never wait: like a non-blocking socket.
    nonblocking: bool,
}

/// The error of a server's TLS stream whose client spoke plaintext: its
/// handler answers in plaintext that it must use TLS (see
/// [`Stream::is_plaintext_client`]).
#[derive(Debug)]
struct PlaintextClient;

impl std::fmt::Display for PlaintextClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client speaks plaintext to a TLS port")
    }
}

impl std::error::Error for PlaintextClient {}

impl Stream {
    /// A plaintext stream.
    pub fn plain(tcp: TcpStream) -> Stream {
        Stream::new(tcp, None)
    }

    /// The server's end of a connection just accepted: plaintext, or TLS
    /// with `config` (the handshake happens as the handler reads, within
    /// its frame deadline).
    pub fn accept(tcp: TcpStream, config: Option<&Arc<rustls::ServerConfig>>) -> io::Result<Stream> {
        let Some(config) = config else { return Ok(Stream::plain(tcp)) };
        let mut conn = rustls::ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        conn.set_buffer_limit(Some(SEND_BUFFER));
        Ok(Stream::new(tcp, Some(conn.into())))
    }

    /// The client's end: plaintext, or TLS to `host` whose handshake is
    /// completed before `deadline`, so that a certificate that is not
    /// trusted is reported now, not at the first request.
    pub fn connect(tcp: TcpStream, tls: Option<&Tls>, host: &str, deadline: Instant) -> io::Result<Stream> {
        let Some(tls) = tls else { return Ok(Stream::plain(tcp)) };
        let mut conn = tls.client(host)?;
        conn.set_buffer_limit(Some(SEND_BUFFER));
        let stream = Stream::new(tcp, Some(conn.into()));
        stream.handshake(deadline)?;
        Ok(stream)
    }

    fn new(tcp: TcpStream, tls: Option<rustls::Connection>) -> Stream {
        let waits = Mutex::new(Waits::default());
        Stream { tcp, tls: tls.map(Mutex::new), ws: None, waits, heard: AtomicBool::new(false) }
    }

    /// This connection as a WebSocket whose handshake was just answered
    /// (by `src/web/`): from now on every text message is one line.
    /// `early` holds what the client sent after its request; a message
    /// longer than `max_frame` ends the connection.
    pub fn into_websocket(mut self, early: Vec<u8>, max_frame: usize) -> Stream {
        self.ws = Some(Mutex::new(websocket::Ws::new(early, max_frame)));
        self
    }

    /// Neither TLS nor WebSocket: every call goes straight to the socket.
    fn is_plain(&self) -> bool {
        self.tls.is_none() && self.ws.is_none()
    }

    /// True if the bytes are encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The certificate the other end showed at the TLS handshake (DER),
    /// once the handshake is done: a link's, whose fingerprint says which
    /// server it is (`federation::key`).
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        let tls = self.tls.as_ref()?.lock();
        tls.peer_certificates().and_then(|chain| chain.first()).map(|cert| cert.to_vec())
    }

    /// The socket underneath (addresses, options).
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// How long a read may wait (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if self.is_plain() {
            return self.tcp.set_read_timeout(timeout);
        }
        self.waits.lock().read = timeout;
        Ok(())
    }

    /// How long a write may wait (`None`: forever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if self.is_plain() {
            return self.tcp.set_write_timeout(timeout);
        }
        self.waits.lock().write = timeout;
        Ok(())
    }

    /// Reads and writes that would wait fail with `WouldBlock` instead.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        if self.is_plain() {
            return self.tcp.set_nonblocking(nonblocking);
        }
        self.waits.lock().nonblocking = nonblocking;
        Ok(())
    }

    /// Shuts the socket. A TLS stream first says `close_notify` (if the
    /// kernel takes it now), so that the peer can tell an end from a cut;
    /// not before the handshake is done (a plaintext client, told so in
    /// plaintext, must not get TLS bytes after that line).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if let (Some(ws), Shutdown::Write | Shutdown::Both) = (&self.ws, how) {
            ws.lock().close(&mut Raw(self));
        }
        if let (Some(tls), Shutdown::Write | Shutdown::Both) = (&self.tls, how) {
            let mut conn = tls.lock();
            if !conn.is_handshaking() {
                conn.send_close_notify();
                let _ = self.flush_tls(&mut conn);
            }
        }
        self.tcp.shutdown(how)
    }

    /// Hands `bytes` to the connection without ever waiting: returns how
    /// many were taken (0 if none fit now). Taken bytes reach the peer in
    /// order; for TLS they may still wait inside rustls ([`Stream::unsent`]),
    /// and every later call pushes them on.
    pub fn send_now(&self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(ws) = &self.ws {
            return ws.lock().send_now(bytes, &mut Raw(self));
        }
        self.send_bytes_now(bytes)
    }

    /// [`Stream::send_now`] under any WebSocket: the bytes as they are.
    fn send_bytes_now(&self, bytes: &[u8]) -> io::Result<usize> {
        let Some(tls) = &self.tls else { return socket::send_now(&self.tcp, bytes) };
        let mut conn = tls.lock();
        let taken = if bytes.is_empty() { 0 } else { conn.writer().write(bytes)? };
        self.flush_tls(&mut conn)?;
        Ok(taken)
    }

    /// True while bytes taken by [`Stream::send_now`] wait inside TLS for
    /// the kernel to take them (never for a plaintext stream).
    pub fn unsent(&self) -> bool {
        self.ws.as_ref().is_some_and(|ws| ws.lock().unsent)
            || self.tls.as_ref().is_some_and(|tls| tls.lock().wants_write())
    }

    /// Writes all of `bytes` before `deadline`, or fails with `TimedOut`:
    /// a peer that stops reading cannot hold the writer longer than that.
    pub fn write_all_by(&self, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
        loop {
            let taken = self.send_now(bytes)?;
            bytes = &bytes[taken..];
            if bytes.is_empty() && !self.unsent() {
                return Ok(());
            }
            if taken == 0 {
                self.wait(WRITABLE, Some(deadline)).map_err(|e| match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        io::Error::new(io::ErrorKind::TimedOut, "the peer did not read in time")
                    }
                    _ => e,
                })?;
            }
        }
    }

    /// Encrypts nothing more, but writes what TLS holds, without waiting;
    /// returns how many bytes the kernel took.
    fn flush_tls(&self, conn: &mut rustls::Connection) -> io::Result<usize> {
        let mut wrote = 0;
        while conn.wants_write() {
            match conn.write_tls(&mut DontWait(&self.tcp)) {
                Ok(0) => break,
                Ok(n) => wrote += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(wrote)
    }

    /// Runs a client's handshake to its end, before `deadline`.
    fn handshake(&self, deadline: Instant) -> io::Result<()> {
        let tls = self.tls.as_ref().expect("a TLS stream");
        loop {
            {
                let mut conn = tls.lock();
                self.flush_tls(&mut conn)?;
                if !conn.is_handshaking() && !conn.wants_write() {
                    return Ok(());
                }
            }
            if !self.receive(Some(deadline))? {
                let why = "the server closed the connection during the TLS handshake";
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, why));
            }
        }
    }

    /// Waits (before `deadline`) for ciphertext and feeds it to rustls;
    /// sends what rustls has to say meanwhile (handshake, alerts).
    /// `Ok(false)` at the end of the stream.
    fn receive(&self, deadline: Option<Instant>) -> io::Result<bool> {
        let tls = self.tls.as_ref().expect("a TLS stream");
        let wants_write = tls.lock().wants_write();
        let events = if wants_write { READABLE | WRITABLE } else { READABLE };
        let ready = self.wait(events, deadline)?;
        let mut conn = tls.lock();
        self.flush_tls(&mut conn)?;
        if ready & READABLE == 0 {
            return Ok(true); // only room to write: the handshake went on
        }
        let server = matches!(*conn, rustls::Connection::Server(_));
        if server && !self.heard.load(Ordering::Relaxed) && self.plaintext_first()? {
            return Err(io::Error::new(io::ErrorKind::InvalidData, PlaintextClient));
        }
        let n = match conn.read_tls(&mut DontWait(&self.tcp)) {
            Ok(n) => {
                self.heard.store(true, Ordering::Relaxed);
                n
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e),
        };
        if let Err(e) = conn.process_new_packets() {
            let _ = self.flush_tls(&mut conn); // the alert that says why
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        self.flush_tls(&mut conn)?;
        Ok(n > 0)
    }

    /// True if the client's first byte cannot start TLS: a student's `nc`
    /// typing `LOGIN:…` to a TLS port.
    fn plaintext_first(&self) -> io::Result<bool> {
        let mut first = [0u8; 1];
        match self.tcp.peek(&mut first) {
            Ok(1) => Ok(first[0] != TLS_HANDSHAKE),
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// True if `e` says that a plaintext client spoke to this TLS server.
    pub fn is_plaintext_client(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<PlaintextClient>())
    }

    /// Tells a plaintext client, in plaintext, that this port speaks TLS
    /// (it could read nothing else), without waiting.
    pub fn refuse_plaintext(&self, line: &str) {
        let _ = socket::send_now(&self.tcp, line.as_bytes());
    }

    /// Waits until the socket is ready for `events` or `deadline` passes
    /// (`WouldBlock` then, as a socket timeout says); returns the events.
    fn wait(&self, events: Events, deadline: Option<Instant>) -> io::Result<Events> {
        let mut waiting = [socket::Waiting::new(&self.tcp, events)];
        loop {
            let timeout_ms = match deadline {
                _ if self.waits.lock().nonblocking => 0,
                None => -1,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Rounded up: a wait of 0.4 ms must not become a busy loop.
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            };
            match socket::poll(&mut waiting, timeout_ms) {
                Ok(1..) => return Ok(waiting[0].ready()),
                Ok(0) => return Err(io::ErrorKind::WouldBlock.into()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        timeout.map(|t| Instant::now() + t)
    }
}

/// The socket as rustls's reader and writer, never waiting.
struct DontWait<'a>(&'a TcpStream);

impl Read for DontWait<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        socket::recv_now(self.0, buf)
    }
}

impl Write for DontWait<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match socket::send_now(self.0, buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
