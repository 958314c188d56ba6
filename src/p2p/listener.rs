//! The listening side of direct chats (§8 step 3): who may knock, and
//! the handshake.
//!
//! A stranger can connect to our port as often as it likes, so what a
//! connection costs before it proves who it is stays bounded: at most
//! [`MAX_PEERS`] threads, at most [`MAX_HELLOS_PER_ADDRESS`] connections
//! from one address (a /64 for IPv6) waiting to say `HELLO`, each for at
//! most [`HELLO_LIMIT`]. Past a bound the accept loop answers `KO:BUSY`
//! at once, without waiting on the stranger. A `HELLO` is accepted only
//! with a token the server handed us for that peer ([`Tokens`](super::Tokens));
//! then the connection becomes a session like a dialed one
//! (`Common::open`).

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{
    Common, HELLO_LIMIT, MAX_HELLOS_PER_ADDRESS, MAX_PEERS, POLL, PeerReader, TOKEN_GRACE, prepare, spawn,
};
use crate::protocol::{Code, FrameError, Ko, PeerFrame, Reply};
// The same address rule as the server's limits: an IPv6 client holds a whole /64.
use crate::server::throttle::address_key;

/// The accept loop: a thread per connection, up to [`MAX_PEERS`], and up
/// to [`MAX_HELLOS_PER_ADDRESS`] saying `HELLO` from one address.
pub(super) fn accept_loop(node: &Arc<Common>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if node.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("p2p: accept failed: {e}");
                // Out of file descriptors, say: give the others time to close some.
                std::thread::sleep(POLL);
                continue;
            }
        };
        if node.live_threads() >= MAX_PEERS {
            refuse_at_once(
                &stream,
                &Ko::new(Code::Busy, format!("at most {MAX_PEERS} direct chats at once")),
            );
            continue;
        }
        let Some(knock) = stream.peer_addr().ok().and_then(|addr| node.knock(addr.ip())) else {
            let busy =
                format!("at most {MAX_HELLOS_PER_ADDRESS} connections from one address saying HELLO at once");
            refuse_at_once(&stream, &Ko::new(Code::Busy, busy));
            continue;
        };
        let for_thread = node.clone();
        match spawn("wachat-p2p-hello", move || welcome(&for_thread, stream, knock)) {
            Ok(thread) => node.threads.lock().push(thread),
            Err(e) => log::warn!("p2p: {e}"),
        }
    }
}

/// The listener's side of the handshake (§8 step 3), then the chat.
/// `knock` holds the connection's place among its address's until the
/// handshake is over.
fn welcome(node: &Arc<Common>, stream: TcpStream, knock: Knock) {
    let who = stream.peer_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut reader = match prepare(&stream, node.timeout) {
        Ok(reader) => reader,
        Err(e) => return log::debug!("p2p {who}: {e}"),
    };
    let hello = read_hello(node, &mut reader).and_then(|(from, token)| {
        if node.tokens.take(&from, &token, TOKEN_GRACE) {
            return Ok(from);
        }
        let why = format!("no token from the server for {from} in the last 60 s (forged, used or expired)");
        log::info!("p2p {who}: refused {from}: {why}");
        Err(why)
    });
    // Given back before the answer: whoever reads it may dial again at once.
    drop(knock);
    let from = match hello {
        Ok(from) => from,
        Err(why) => return refuse(&stream, &Ko::new(Code::AuthFailed, why)),
    };
    if let Err(e) = (&stream).write_all(b"OK\n") {
        return log::debug!("p2p {who}: {e}");
    }
    if let Err(e) = node.open(&from, stream, reader, true) {
        log::debug!("p2p {who}: {e}");
    }
}

/// Waits for the first frame, which must be `HELLO:<from>:<token>`, at
/// most [`HELLO_LIMIT`]; `Err` is the reason of the `KO:AUTH_FAILED`.
fn read_hello(node: &Common, reader: &mut PeerReader) -> std::result::Result<(String, String), String> {
    let deadline = Instant::now() + HELLO_LIMIT.min(node.timeout);
    loop {
        // Short slices, so that a client closing does not wait a whole timeout.
        match reader.read_frame(Some(deadline.min(Instant::now() + POLL))) {
            Ok(line) => {
                return match PeerFrame::parse(line) {
                    Ok(PeerFrame::Hello { from, token }) => Ok((from, token)),
                    _ => Err("the first frame must be HELLO:<from>:<token>".into()),
                };
            }
            Err(FrameError::TimedOut) if Instant::now() < deadline => {
                if node.stopping.load(Ordering::SeqCst) {
                    return Err("closing".into());
                }
            }
            Err(FrameError::TimedOut) => return Err("no HELLO in time".into()),
            Err(e) => return Err(format!("no HELLO ({e:?})")),
        }
    }
}

/// Answers `KO` and closes, reading a little of what the stranger still
/// sends: closing a socket with unread input makes the kernel reset the
/// connection, which can destroy our `KO` before the other side reads it.
fn refuse(mut stream: &TcpStream, ko: &Ko) {
    let _ = stream.write_all(Reply::Ko(ko.clone()).to_string().as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(POLL));
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Answers `KO` and closes from the accept loop, which must not wait on a
/// stranger: what already arrived is read (so that the kernel does not
/// reset the connection over it and destroy the `KO`), nothing more.
fn refuse_at_once(mut stream: &TcpStream, ko: &Ko) {
    let _ = stream.set_nonblocking(true);
    // A line into a new socket's empty buffer: taken whole, no waiting.
    let _ = stream.write_all(Reply::Ko(ko.clone()).to_string().as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break, // WouldBlock: nothing more is waiting
            Ok(_) => {}
        }
    }
}

/// A connection saying `HELLO`, counted against its address until dropped.
struct Knock {
    node: Arc<Common>,
    address: IpAddr,
}

impl Drop for Knock {
    fn drop(&mut self) {
        let mut knocking = self.node.knocking.lock();
        if let Some(count) = knocking.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                knocking.remove(&self.address); // the map holds only addresses knocking now
            }
        }
    }
}

impl Common {
    /// A place for one more connection from `ip` saying `HELLO`, or `None`
    /// if [`MAX_HELLOS_PER_ADDRESS`] of them already are.
    fn knock(self: &Arc<Common>, ip: IpAddr) -> Option<Knock> {
        let address = address_key(ip);
        let mut knocking = self.knocking.lock();
        let count = knocking.entry(address).or_insert(0);
        if *count >= MAX_HELLOS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Knock { node: self.clone(), address })
    }
}
