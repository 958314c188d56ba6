//! The receive-port handler: one thread per connection.
//!
//! 1. Login (same frames as the send port), answered `OK:<user>`.
//! 2. Attach: register an [`Outlet`] with the router and send the inbox
//!    replay — every durable event not yet acknowledged, in order. Events
//!    that become durable meanwhile wait in the outlet behind the replay.
//! 3. Live: events are written into the socket by the thread that made
//!    them durable (the group commit's leader, through
//!    the outlet); this thread reads `ACK`/`PONG`, sends `PING` when the
//!    client has been quiet for half the timeout, says `BYE:TIMEOUT` after
//!    the whole timeout, and flushes the outlet when a slow client left
//!    bytes behind.
//!
//! Every write has a deadline: a reply before login and each chunk of the
//! replay must be taken by the client within `--timeout`, and live events
//! that the client takes none of for `--timeout` end the connection (see
//! `Outlet::stalled_for`), even if it keeps sending `PONG`s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::log_limit::log_limited;
use super::replies::RETRY_FLUSH;
use super::{Ctx, auth};
use crate::protocol::{Bye, Code, EventReply, FrameError, FrameReader, Ko, Reply};
use crate::router::Outlet;
use crate::store::UserId;
use crate::transport::Stream;

/// Read buffer of a receive connection: it only ever reads `ACK`s and `PONG`s.
const READ_BUFFER: usize = 1024;

/// Serves one receive-port connection until it closes; returns its
/// socket for the caller to close (after giving back the connection's slot).
///
/// One socket, one file descriptor: this thread reads through `&stream`
/// and the outlet writes through the same `Arc` (no `try_clone`, which
/// would `dup` the descriptor and halve how many users fit, see `sys.rs`).
pub fn serve(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>) -> Arc<Stream> {
    let stream = Arc::new(stream);
    // Registered like a send connection: a shutdown waits for this thread
    // too, so an `ACK` the client sent before it is stored, not refused
    // by a store that stopped first.
    let id = ctx.connections.add(&stream);
    let mut reader = FrameReader::new(&*stream, READ_BUFFER, ctx.config.max_frame);
    if let Some((user, name)) = login(ctx, &stream, peer, &mut reader) {
        match Outlet::new(user, name, stream.clone(), ctx.config.max_pending) {
            Ok(outlet) => live(ctx, &stream, &mut reader, &Arc::new(outlet)),
            Err(e) => log::debug!("{peer}: {e}"),
        }
    }
    ctx.connections.remove(id);
    stream
}

/// Reads frames until a successful login; `None` if the connection ends.
/// The `OK:<user>` is written by [`live`], once the user is online.
fn login(
    ctx: &Ctx,
    stream: &Stream,
    peer: SocketAddr,
    reader: &mut FrameReader<&Stream>,
) -> Option<(UserId, Arc<str>)> {
    let say = |frame: &str| stream.write_all_by(frame.as_bytes(), Instant::now() + ctx.config.timeout);
    loop {
        let deadline = Instant::now() + ctx.config.timeout;
        let ko = match reader.read_frame(Some(deadline)) {
            Ok(line) => match auth::authenticate(ctx, line, peer.ip()) {
                // Attaching replays the inbox: it costs a request (--rate).
                auth::Outcome::LoggedIn(user, name) => match ctx.meter(user, peer.ip(), 1) {
                    Ok(()) => return Some((user, name)),
                    Err(ko) => {
                        log_limited!(ctx.logs.throttled, info, "{peer}: {name} throttled (--rate)");
                        ko
                    }
                },
                auth::Outcome::Refused(ko) => ko,
            },
            Err(FrameError::NotUtf8) => Ko::new(Code::BadRequest, "the frame is not UTF-8"),
            Err(FrameError::TooLong) => Ko::new(Code::TooLong, "the frame is too long"),
            Err(FrameError::TimedOut) => {
                // The receive port says goodbye with BYE, even before login (§7).
                let _ = say("BYE:TIMEOUT\n");
                return None;
            }
            Err(FrameError::Io(e)) if Stream::is_plaintext_client(&e) => {
                super::refuse_plaintext(ctx, stream, peer);
                return None;
            }
            Err(FrameError::Closed | FrameError::Io(_)) => return None,
        };
        say(&Reply::Ko(ko.clone()).to_string()).ok()?;
        if ko.code.closes_connection() {
            return None;
        }
    }
}

/// Attaches the outlet (the user is online from here: `USERS` shows it
/// before the client reads its `OK`), replays the inbox, then serves live.
fn live(ctx: &Ctx, stream: &Stream, reader: &mut FrameReader<&Stream>, outlet: &Arc<Outlet>) {
    // In a cluster, claiming the session replaces one on another node.
    let mut attached = None;
    let elsewhere = match ctx.nodes.claim(outlet, &mut || attached = Some(attach(ctx, outlet))) {
        Ok(elsewhere) => elsewhere,
        Err(ko) => {
            let _ = stream
                .write_all_by(Reply::Ko(ko).to_string().as_bytes(), Instant::now() + ctx.config.timeout);
            return;
        }
    };
    let Some((upto, replaced)) = attached else { return };
    match replaced {
        Some(old) => {
            ctx.presence.replaced(&old, outlet);
            old.close(Bye::Replaced);
        }
        None if !elsewhere => ctx.presence.came_online(ctx, outlet),
        None => ctx.presence.moved_here(outlet), // not coming online
    }
    log::debug!("{} is online (inbox durable up to {upto})", outlet.name);
    match send_replay(ctx, stream, upto, outlet) {
        Ok(()) => {
            outlet.finish_replay();
            serve_live(ctx, reader, outlet);
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => dropped(ctx, outlet),
        Err(e) => log::debug!("{}: replay: {e}", outlet.name),
    }
    if ctx.shutting_down() {
        // This thread saw the shutdown between two frames and ends now,
        // maybe before `close_all` reaches its outlet: the client still
        // hears why (a BYE is said once, whoever says it first).
        outlet.close(Bye::Shutdown);
    }
    outlet.shut_down();
    // Last seen is noted while the router still lists the user: whoever
    // asks `LASTSEEN` meanwhile reads ONLINE, and after, the new time,
    // never the one before it. (A connection replaced by a newer one, here
    // or on another node, is not the user going offline.)
    let now = crate::store::now_ms();
    let current = ctx.router.get(outlet.user).is_some_and(|current| Arc::ptr_eq(&current, outlet));
    let offline_everywhere = current && ctx.nodes.release(outlet, now);
    if offline_everywhere {
        ctx.store.note_offline(outlet.user, now);
    }
    if ctx.router.remove(outlet) {
        ctx.p2p_ports.forget(outlet.user);
    }
    if offline_everywhere {
        ctx.presence.went_offline(ctx, outlet);
        log::debug!("{} is offline", outlet.name);
    }
}

/// Registers the outlet with the router and finds where the inbox replay
/// ends, in one critical section of the router: no event may be lost or
/// sent twice between the replay and live delivery.
///
/// The store marks a batch durable, *then* hands its events to the router.
/// Here the durable end of the inbox is read and the outlet registered
/// under the router's lock. So either the replay includes the batch (and
/// the outlet skips its events when they are delivered, by sequence
/// number), or the outlet is registered before the batch is delivered.
/// Returns the last sequence number of the replay, and the outlet replaced.
fn attach(ctx: &Ctx, outlet: &Arc<Outlet>) -> (u64, Option<Arc<Outlet>>) {
    let mut upto = 0;
    let replaced = ctx.router.insert_with(outlet.user, outlet.clone(), || {
        upto = ctx.store.inbox_end(outlet.user);
        outlet.start_replay(upto);
    });
    (upto, replaced)
}

/// Writes the `OK` and the replay with blocking writes, a chunk at a time
/// as the store reads them from its log. The client must keep reading: a
/// client that does not take a chunk within `--timeout` is dropped. A
/// goodbye said meanwhile (`BYE:REPLACED`) cuts it short.
fn send_replay(ctx: &Ctx, stream: &Stream, upto: u64, outlet: &Outlet) -> std::io::Result<()> {
    let timeout = ctx.config.timeout;
    let mut chunk = format!("OK:{}\n", outlet.name);
    let mut frames = ctx.store.replay(outlet.user, upto);
    loop {
        let more = frames.next_chunk(&mut chunk).map_err(|ko| std::io::Error::other(ko.reason))?;
        if chunk.len() >= 60 * 1024 || !more {
            stream.write_all_by(chunk.as_bytes(), Instant::now() + timeout)?;
            chunk.clear();
        }
        if !more || outlet.is_closing() {
            return Ok(());
        }
    }
}

fn serve_live(ctx: &Ctx, reader: &mut FrameReader<&Stream>, outlet: &Outlet) {
    let timeout = ctx.config.timeout;
    let mut last_frame = Instant::now();
    let mut pinged = false;
    while !outlet.is_closed() && !ctx.shutting_down() {
        let idle_deadline = last_frame + timeout;
        let mut wake = if pinged { idle_deadline } else { last_frame + timeout / 2 };
        if outlet.has_pending() {
            wake = wake.min(Instant::now() + RETRY_FLUSH);
        }
        match reader.read_frame(Some(wake)) {
            Ok(line) => {
                last_frame = Instant::now();
                pinged = false;
                match EventReply::parse(line) {
                    Some(EventReply::Ack(seq)) => ctx.store.ack(outlet.user, seq.min(outlet.last_sent())),
                    Some(EventReply::Pong) => {}
                    Some(EventReply::Version11) => outlet.opt_in_1_1(),
                    None => log::debug!("{}: ignored a frame on the receive port", outlet.name),
                }
            }
            Err(FrameError::NotUtf8) => last_frame = Instant::now(),
            Err(FrameError::TimedOut) => {
                let now = Instant::now();
                if now >= idle_deadline {
                    // Silent for a whole timeout: say so; if a goodbye is
                    // already stuck in its buffer, just hang up.
                    if outlet.is_closing() {
                        outlet.shut_down();
                    } else {
                        outlet.close(Bye::Timeout);
                    }
                } else if !pinged && now >= last_frame + timeout / 2 {
                    outlet.push("PING\n");
                    pinged = true;
                }
            }
            Err(FrameError::TooLong) => {
                log::info!("{}: frame too long on the receive port, closing", outlet.name);
                return;
            }
            Err(FrameError::Closed | FrameError::Io(_)) => return,
        }
        outlet.flush();
        if outlet.stalled_for() >= timeout {
            dropped(ctx, outlet);
            return;
        }
    }
}

/// The client took none of its events for a whole timeout.
fn dropped(ctx: &Ctx, outlet: &Outlet) {
    let timeout = ctx.config.timeout.as_secs();
    log_limited!(ctx.logs.dropped, info, "{}: did not read its events for {timeout} s: dropped", outlet.name);
}
