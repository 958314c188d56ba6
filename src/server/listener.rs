//! Listening sockets and accept loops: one thread per port, which spawns
//! one thread per accepted connection.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::connections::{Refusal, Slot};
use super::log_limit::log_limited;
use super::{Ctx, recv, send};
use crate::error::{Error, Result};
use crate::protocol::Port;
use crate::protocol::{Code, Ko, Reply};
use crate::transport::Stream;

/// How many connections the kernel may queue before `accept()` takes them.
/// std's `TcpListener::bind` asks for 128: 10,000 clients connecting at
/// once then wait for retransmission timeouts (~40 s measured here). The
/// kernel caps it at `net.core.somaxconn`.
pub const BACKLOG: i32 = 8192;

/// Binds `addr` with a large backlog and `SO_REUSEADDR` (so a restarted
/// server can bind again while old connections are in TIME_WAIT).
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let ctx = |e| Error::io(format!("cannot listen on {addr}"), e);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(ctx)?;
    socket.set_reuse_address(true).map_err(ctx)?;
    socket.bind(&addr.into()).map_err(ctx)?;
    socket.listen(BACKLOG).map_err(ctx)?;
    Ok(socket.into())
}

/// Wakes the thread blocked in `accept()` on the listener bound to `addr`
/// with a connection, so that it finds its server shutting down and ends.
pub fn wake(addr: SocketAddr) {
    let _ = TcpStream::connect_timeout(&wake_addr(addr), Duration::from_secs(1));
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

/// Starts the accept loop of one port in its own thread.
pub fn spawn_accept_loop(listener: TcpListener, ctx: Arc<Ctx>, port: Port) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("accept-{}", port.label()))
        .spawn(move || accept_loop(&listener, &ctx, port))
        .map_err(|e| Error::io("starting an accept thread", e))
}

fn accept_loop(listener: &TcpListener, ctx: &Arc<Ctx>, port: Port) {
    ctx.doors.wait();
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE) or a connection reset before
                // we took it: not the listener's fault. Pause a moment so
                // that running out of descriptors does not spin the CPU.
                log::warn!("{} port: accept failed: {e}", port.label());
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if ctx.shutting_down() {
            return;
        }
        match ctx.admit(peer.ip()) {
            Ok(slot) => match Stream::accept(stream, ctx.config.tls.as_ref()) {
                Ok(stream) => spawn_handler(stream, peer, ctx.clone(), slot, port),
                Err(e) => log::error!("{peer}: cannot start TLS: {e}"),
            },
            Err(refusal) => refuse_busy(ctx, &stream, peer, &refusal),
        }
    }
}

/// Answers `KO:BUSY` and closes, from the accept thread itself (a thread
/// for a connection we refuse would defeat the purpose). Nothing here may
/// block: the write goes to an empty socket buffer, and whatever the client
/// already sent is read away so that closing does not reset the connection.
pub fn refuse_busy(ctx: &Ctx, mut stream: &TcpStream, peer: SocketAddr, refusal: &Refusal) {
    let (why, ko) = match *refusal {
        Refusal::Full(max) => (
            format!("{max} connections already (--max-connections)"),
            Ko::new(Code::Busy, format!("the server is full ({max} connections); try later")),
        ),
        Refusal::Address(max) => (
            format!("{max} connections from this address already (--max-per-address)"),
            Ko::new(Code::Busy, format!("too many connections from your address ({max}); try later")),
        ),
    };
    log_limited!(ctx.logs.refused, warn, "{peer}: refused, {why}");
    if ctx.config.tls.is_some() {
        // A TLS client could not read a KO without a handshake, which the
        // accept thread has no time for: it only sees the connection end.
        return;
    }
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(Reply::Ko(ko).to_string().as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    let mut sink = [0u8; 4096];
    let _ = stream.read(&mut sink);
}

/// Starts the connection's thread. The thread gives its slot back when the
/// conversation is over, hands the socket to the closer thread (which
/// lingers over the close, see `closer`) and ends.
fn spawn_handler(stream: Stream, peer: SocketAddr, ctx: Arc<Ctx>, slot: Slot, port: Port) {
    let _ = stream.tcp().set_nodelay(true);
    let spawned = std::thread::Builder::new()
        .stack_size(super::threads::STACK_SIZE)
        .spawn(move || serve_connection(stream, peer, &ctx, slot, port));
    if let Err(e) = spawned {
        log::error!("{} port: cannot start a thread for {peer}: {e}", port.label());
    }
}

/// Serves one connection of `port` from `peer` on this thread, then
/// gives its slot back and hands its socket to the closer thread: a
/// client's, or one a cluster's follower passed on (`cluster::links`).
pub fn serve_connection(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>, slot: Slot, port: Port) {
    let metrics = crate::metrics::get();
    let open = match port {
        Port::Send => &metrics.connections_send,
        Port::Receive => &metrics.connections_receive,
    };
    open.inc();
    let stream = match port {
        Port::Send => send::serve(stream, peer, ctx),
        Port::Receive => recv::serve(stream, peer, ctx),
    };
    open.dec();
    drop(slot);
    ctx.closer.close(stream);
}
