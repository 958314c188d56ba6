//! The link port: a thread per connection, each TLS with this server's
//! link key (`key.rs`); the other end shows its own. Its first frame is a
//! `HELLO` (`frames::hello`: the server it claims to be must be the
//! roster's owner of the key it showed); then its frames are read, at
//! most [`LINK_RATE`] a second, and each is handed to its family
//! (`frames::take`), answered in order.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::doorway::Ticket;
use super::frames::sides::{Flow, Taking, refuse};
use super::frames::{self, hello};
use super::links::{Federation, LINK_RATE, said};
use crate::error::{Error, Result};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::{Answer, Frame};
use crate::protocol::names::fold;
use crate::protocol::{Code, FrameError};
use crate::server::threads::STACK_SIZE;
use crate::transport::{SharedStream, Stream, relay};

pub(super) fn spawn(listener: TcpListener, f: Arc<Federation>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("accept-link".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if f.ctx().is_none() {
                    return; // shutting down: the wake-up connection
                }
                let Ok(stream) = stream else { continue };
                let Ok(peer) = stream.peer_addr() else { continue };
                // A stranger until its key shows (`doorway.rs`).
                let ticket = match f.opened(peer.ip(), &stream) {
                    Ok(ticket) => ticket,
                    Err(why) => {
                        let _ = writeln!(&stream, "KO:BUSY:{why}");
                        continue;
                    }
                };
                let f = f.clone();
                let spawned = std::thread::Builder::new().name("link-in".into()).spawn({
                    let f = f.clone();
                    move || {
                        if let Err(e) = serve(&f, stream, ticket) {
                            log::debug!("link from {peer}: {e}");
                        }
                        f.closed(ticket);
                    }
                });
                if spawned.is_err() {
                    f.closed(ticket);
                    log::warn!("link: no thread for a connection");
                }
            }
        })
        .map_err(|e| Error::io("starting the link port's thread", e))
}

/// One connection to the link port, at the door as `ticket`. The TLS
/// handshake happens as the hello is read, within its deadline; the key
/// it showed then says whether it is a stranger ([`Federation::vouch`]).
fn serve(f: &Federation, tcp: TcpStream, ticket: Ticket) -> std::io::Result<()> {
    tcp.set_write_timeout(Some(f.timeout))?;
    if !f.leads() {
        return relay(f, tcp);
    }
    let stream = Arc::new(Stream::accept(tcp, Some(&f.acceptor))?);
    stream.set_write_timeout(Some(f.timeout))?;
    let mut reader = FrameReader::new(SharedStream(stream.clone()), 4096, f.max_frame);
    let within = f.hello_within();
    let first = match reader.read_frame(Some(Instant::now() + within)) {
        Ok(line) => line.to_string(),
        Err(FrameError::TimedOut) => {
            let why = format!("no hello within {} s", within.as_secs_f64());
            if stream.peer_certificate().is_none() {
                // No TLS yet (a connection that said nothing): in plaintext.
                stream.refuse_plaintext(&format!("{}\n", Answer::Ko(None, Code::Timeout, why.clone())));
                return Err(std::io::Error::other(why));
            }
            return refuse(&stream, Code::Timeout, why);
        }
        Err(FrameError::Io(e)) if Stream::is_plaintext_client(&e) => {
            stream.refuse_plaintext(&format!("{}\n", Answer::Ko(None, Code::BadRequest, PLAINTEXT.into())));
            let _ = stream.tcp().shutdown(std::net::Shutdown::Write);
            // What it typed is read (and dropped) before the socket is
            // closed, a short while at most: closed with bytes unread, it
            // would be reset, and the reset can lose the line it was told.
            let _ = stream.tcp().set_read_timeout(Some(Duration::from_millis(500)));
            let _ = std::io::copy(&mut std::io::Read::take(stream.tcp(), 64 * 1024), &mut std::io::sink());
            return Err(e);
        }
        // The TLS handshake failed (its alert said why): nothing to say.
        Err(FrameError::Io(e)) => return Err(e),
        Err(e) => return refuse(&stream, code_of(&e), said(&e)),
    };
    if let Err(why) = f.vouch(ticket, stream.peer_certificate().as_deref()) {
        return refuse(&stream, Code::Busy, why);
    }
    let (from, took) = hello::open(f, &stream, &first)?;
    let began = f.ctx().map(|ctx| ctx.remote_seen.link_began(&from));
    frames::group_call::linked_from(f, &from);
    let taken = take_frames(&mut Taking::new(f, &from, &stream, took), &mut reader);
    // Only if it is still this link's place: a newer link took it.
    let mut incoming = f.incoming.lock();
    let this = stream.tcp().peer_addr().ok();
    if incoming.get(&fold(&from)).is_some_and(|s| s.peer_addr().ok() == this) {
        incoming.remove(&fold(&from));
    }
    drop(incoming);
    if let (Some(ctx), Some(n)) = (f.ctx(), began) {
        ctx.remote_seen.link_ended(&ctx, &from, n);
    }
    taken
}

/// What a plaintext connection to the link port is told.
const PLAINTEXT: &str = "this link port speaks TLS with a link key (docs/PROTOCOL.md §27): \
    openssl s_client -connect HOST:PORT -cert DATA/link-cert.pem -key DATA/link-key.pem";

/// A follower of a cluster passes a connection to its link port to the
/// leader, byte for byte both ways ([`relay::both_ways`], as a cluster's
/// follower passes on its clients), until either side closes it or is
/// silent for three timeouts (a link pings every half timeout). The
/// leader checks everything, as for a connection of its own.
fn relay(f: &Federation, stream: TcpStream) -> std::io::Result<()> {
    // Nothing is said in TLS here (the leader holds the TLS session): a
    // refusal is the connection closed, and the peer dials again.
    let Some(ctx) = f.ctx() else { return Err(std::io::Error::other("shutting down")) };
    let leader = ctx.store.leader_link(&f.me).filter(|at| *at != f.link_at);
    let Some(at) = leader else {
        let why =
            format!("this node of {} does not lead its cluster and knows no leader yet; try again", f.me);
        return Err(std::io::Error::other(why));
    };
    let upstream = match super::dial::connect(&at, f.timeout) {
        Ok(upstream) => upstream,
        Err(e) => {
            let why = format!("{}'s leader at {at} does not answer: {e}; try again", f.me);
            return Err(std::io::Error::other(why));
        }
    };
    let silent = Some(f.timeout * 3);
    stream.set_read_timeout(silent)?;
    upstream.set_read_timeout(silent)?;
    let (near, far) = (Arc::new(Stream::plain(stream)), Arc::new(Stream::plain(upstream)));
    let back = std::thread::Builder::new().name("link-relay".into()).stack_size(STACK_SIZE);
    relay::both_ways(&near, &far, f.timeout, back);
    Ok(())
}

fn code_of(e: &FrameError) -> Code {
    match e {
        FrameError::TooLong => Code::TooLong,
        _ => Code::Timeout,
    }
}

/// The stream, after the hello: each frame read (at most [`LINK_RATE`]
/// a second), parsed, and taken by its family, in order; a frame that
/// does not parse is refused, with its number if it had one (a line
/// that is no frame at all ends the link).
fn take_frames(link: &mut Taking, reader: &mut FrameReader<SharedStream>) -> std::io::Result<()> {
    let mut second = (Instant::now(), 0u32);
    loop {
        let line = match reader.read_frame(Some(Instant::now() + link.f.timeout)) {
            Ok(line) => line.to_string(),
            Err(FrameError::Closed) => return Ok(()),
            Err(e) => return link.refuse(code_of(&e), said(&e)).map(drop),
        };
        // At most LINK_RATE frames a second: past it, the link is read
        // after the second ends. A second begins with its first frame: one
        // begun at the hello would let a peer that waits most of it out
        // have two seconds' frames read at once.
        second.1 += 1;
        if second.1 > LINK_RATE {
            let left = Duration::from_secs(1).saturating_sub(second.0.elapsed());
            std::thread::sleep(left);
            second = (Instant::now(), 1);
        } else if second.1 == 1 || second.0.elapsed() >= Duration::from_secs(1) {
            second = (Instant::now(), 1);
        }
        let flow = match Frame::parse(&line) {
            Ok(frame) => frames::take(link, frame)?,
            Err((Some(n), why)) => link.say(&Answer::Ko(Some(n), Code::BadRequest, why))?,
            Err((None, why)) => link.refuse(Code::BadRequest, why)?,
        };
        if let Flow::Done = flow {
            return Ok(());
        }
    }
}
