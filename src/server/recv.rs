//! The receive-port handler: one thread per connection.
//!
//! 1. Login (same frames as the send port), answered `OK:<user>`. A login
//!    may name a device (`LOGIN:<user>@<device>:…`, protocol 1.2): one
//!    connection per device, up to `--max-devices` (`server::devices`).
//!    `VERSION:1.x` may come before it (answered `OK`), or right after a
//!    device login: the replay waits up to 500 ms for it.
//! 2. Attach: register an [`Outlet`] with the router and send the inbox
//!    replay — every durable event not yet acknowledged, in order. Events
//!    that become durable meanwhile wait in the outlet behind the replay.
//! 3. Live: events are written into the socket by the thread that made
//!    them durable (the group commit's leader, through the outlet); this
//!    thread reads `ACK`/`PONG`, sends `PING` when the
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
use crate::protocol::{
    Bye, Code, DEFAULT_DEVICE, DEVICE_VERSION_WAIT_MS, Event, EventReply, FrameError, FrameReader, Ko, Reply,
};
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
/// would `dup` the descriptor and halve how many users fit, see `sys::limits`).
///
/// On a cluster's follower, the leader serves it ([`Leader`](super::Leader)).
pub fn serve(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>) -> Arc<Stream> {
    let stream = Arc::new(stream);
    // Registered like a send connection: a shutdown waits for this thread
    // too, so an `ACK` the client sent before it is stored, not refused
    // by a store that stopped first.
    let id = ctx.connections.add(&stream);
    if let Some(leader) = ctx.leader() {
        leader.relay(ctx, stream.clone(), peer, crate::protocol::Port::Receive);
        ctx.connections.remove(id);
        return stream;
    }
    let mut reader = FrameReader::new(&*stream, READ_BUFFER, ctx.config.max_frame);
    let mut version = 0;
    // A login refused for one device too many waits for another login.
    while let Some(login) = login(ctx, &stream, peer, &mut reader, &mut version) {
        let outlet = Outlet::new(login.user, login.name, stream.clone(), peer.ip(), ctx.config.max_pending);
        let outlet = outlet.on_device(login.device.as_deref().unwrap_or(DEFAULT_DEVICE).into());
        let outlet = outlet.with_files(ctx.files.clone());
        outlet.opt_in(version);
        if login.device.is_some() && version < 2 && !await_version(&mut reader, &outlet) {
            break;
        }
        if live(ctx, &stream, &mut reader, &Arc::new(outlet)) == LoginEnd::Ended {
            break;
        }
    }
    ctx.connections.remove(id);
    stream
}

/// A successful login.
struct Admitted {
    user: UserId,
    name: Arc<str>,
    /// The device it named (`None`: the device `default`).
    device: Option<String>,
}

/// Reads frames until a successful login; `None` if the connection ends.
/// The `OK:<user>` is written by [`live`], once the user is online.
/// `VERSION:1.x` before it is answered `OK` and noted in `version`.
fn login(
    ctx: &Ctx,
    stream: &Stream,
    peer: SocketAddr,
    reader: &mut FrameReader<&Stream>,
    version: &mut u8,
) -> Option<Admitted> {
    let say = |frame: &str| stream.write_all_by(frame.as_bytes(), Instant::now() + ctx.config.timeout);
    loop {
        let deadline = Instant::now() + ctx.config.timeout;
        let ko = match reader.read_frame(Some(deadline)) {
            Ok(line) => {
                if let Some(minor) = EventReply::parse(line).and_then(EventReply::minor) {
                    *version = (*version).max(minor);
                    say(&Reply::Ok.to_string()).ok()?;
                    continue;
                }
                let device = auth::login_device(line);
                let opens = super::requests::may_open(line);
                let outcome = auth::authenticate(ctx, line, peer.ip(), opens);
                match outcome {
                    // Attaching replays the inbox: it costs a request (--rate).
                    auth::Outcome::LoggedIn(user, name, _) => match ctx.meter(user, &name, peer, 1) {
                        Ok(()) => return Some(Admitted { user, name, device }),
                        Err(ko) => ko,
                    },
                    auth::Outcome::Refused(ko) => ko,
                    auth::Outcome::Paired(token) => {
                        say(&Reply::OkWith(token).to_string()).ok()?;
                        continue;
                    }
                }
            }
            Err(FrameError::NotUtf8) => Ko::new(Code::BadRequest, "the frame is not UTF-8"),
            Err(FrameError::TooLong) => Ko::new(Code::TooLong, "the frame is too long"),
            Err(FrameError::TimedOut) => {
                // The receive port says goodbye with BYE, even before login (§7).
                let _ = say(&format!("{}\n", Event::Bye(Bye::Timeout)));
                return None;
            }
            Err(FrameError::Io(e)) if Stream::is_plaintext_client(&e) => {
                ctx.refuse_plaintext(stream, peer);
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

/// Right after a device login (protocol 1.2), waits up to
/// [`DEVICE_VERSION_WAIT_MS`] for the client's `VERSION:1.2`, so that its
/// replay is made for the version it speaks. Any other frame ends the
/// wait (an `ACK` now acknowledges nothing sent yet). False if the
/// connection ended.
fn await_version(reader: &mut FrameReader<&Stream>, outlet: &Outlet) -> bool {
    let deadline = Instant::now() + std::time::Duration::from_millis(DEVICE_VERSION_WAIT_MS);
    while Instant::now() < deadline {
        match reader.read_frame(Some(deadline)) {
            Ok(line) => match EventReply::parse(line).and_then(EventReply::minor) {
                Some(minor) => {
                    outlet.opt_in(minor);
                    if minor >= 2 {
                        return true;
                    }
                }
                None => return true,
            },
            Err(FrameError::TimedOut | FrameError::NotUtf8) => return true,
            Err(e) => {
                log::debug!("{}: before the replay: {e:?}", outlet.name);
                return false;
            }
        }
    }
    true
}

/// How a receive login ended.
#[derive(PartialEq)]
enum LoginEnd {
    /// The connection is over.
    Ended,
    /// Refused for one device too many: the connection waits for a login.
    Refused,
}

/// Attaches the outlet (the user is online from here: `USERS` shows it
/// before the client reads its `OK`), replays the inbox, then serves live.
fn live(ctx: &Ctx, stream: &Stream, reader: &mut FrameReader<&Stream>, outlet: &Arc<Outlet>) -> LoginEnd {
    let say =
        |reply: Reply| stream.write_all_by(reply.to_string().as_bytes(), Instant::now() + ctx.config.timeout);
    let Attached { upto, after, .. } = match claim(ctx, outlet) {
        Ok(attached) => attached,
        // `--max-devices`: the connection may log in again.
        Err(ko) if ko.code == Code::TooManyDevices => {
            log::info!("{}: device {} refused: {}", outlet.name, outlet.device, ko.reason);
            return if say(Reply::Ko(ko)).is_ok() { LoginEnd::Refused } else { LoginEnd::Ended };
        }
        Err(ko) => {
            let _ = say(Reply::Ko(ko));
            return LoginEnd::Ended;
        }
    };
    log::debug!("{} is online on {} (inbox durable up to {upto})", outlet.name, outlet.device);
    match send_replay(ctx, stream, after, upto, outlet) {
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
    went_away(ctx, outlet);
    LoginEnd::Ended
}

/// `outlet`'s device comes online: its session claimed, registered with
/// the router with where its replay ends, and its user's presence told.
/// `Err`: it may not (`KO:TOO_MANY_DEVICES`).
fn claim(ctx: &Ctx, outlet: &Arc<Outlet>) -> Result<Attached, Ko> {
    ctx.devices.arrive(&outlet.name, &outlet.device, outlet.peer_ip);
    let Some(attached) = attach(ctx, outlet) else {
        return Err(crate::store::meaning::too_many_devices(ctx.devices.max_devices));
    };
    match &attached.replaced {
        Some(old) => {
            ctx.presence.replaced(old, outlet);
            old.close(Bye::Replaced);
        }
        None if !attached.alone => {} // another device of a user online here
        None => ctx.presence.came_online(ctx, outlet),
    }
    Ok(attached)
}

/// The receive connection of `outlet` ended: its device is detached, and
/// the user goes offline if this was its last device.
fn went_away(ctx: &Ctx, outlet: &Arc<Outlet>) {
    outlet.shut_down();
    ctx.devices.detach(outlet);
    // 1.2 (§24, §32): a device that left ends its calls and leaves its
    // room's call, unless a newer connection of the same device took its place.
    if !ctx.router.outlets(outlet.user).iter().any(|o| !Arc::ptr_eq(o, outlet) && o.device == outlet.device) {
        super::call_relay::device_gone(ctx, outlet.user, &outlet.name, &outlet.device);
        super::group_call_relay::device_gone(ctx, outlet.user, &outlet.device);
        super::group_calls_across::device_gone(ctx, outlet.user, &outlet.name, &outlet.device);
    }
    // Last seen is noted while the router still lists the user: whoever
    // asks `LASTSEEN` meanwhile reads ONLINE, and after, the new time,
    // never the one before it. (A connection replaced by a newer one is
    // not the user going offline.)
    let now = crate::store::now_ms();
    // Only the user's last device going is the user going.
    let offline = ctx.router.is_only(outlet);
    if offline {
        ctx.store.note_offline(outlet.user, now);
    }
    if ctx.router.remove(outlet) {
        ctx.p2p_ports.forget(outlet.user);
    } else if let Some(remaining) = ctx.router.get(outlet.user) {
        // Another device stays: its end is the one that says LEFT.
        ctx.presence.replaced(outlet, &remaining);
    }
    if offline {
        ctx.presence.went_offline(ctx, outlet);
        log::debug!("{} is offline", outlet.name);
    }
}

/// An outlet attached: the replay goes after `after` (its device's
/// position) up to `upto`.
struct Attached {
    upto: u64,
    after: u64,
    /// The outlet of the same device it replaced.
    replaced: Option<Arc<Outlet>>,
    /// The user had no other device online here.
    alone: bool,
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
/// `None` if the user has `--max-devices` devices online already.
fn attach(ctx: &Ctx, outlet: &Arc<Outlet>) -> Option<Attached> {
    let (mut upto, mut after, mut several) = (0, 0, false);
    let max = ctx.devices.max_devices;
    let (replaced, alone) = ctx.router.insert_device(outlet.user, outlet.clone(), max, || {
        upto = ctx.store.inbox_end(outlet.user);
        let (position, more) = ctx.devices.attach(outlet, outlet.peer_ip);
        (after, several) = (position.min(upto), more);
        outlet.start_replay(upto);
    })?;
    if several {
        super::devices::Devices::several(ctx, outlet.user, true);
    }
    Some(Attached { upto, after, replaced, alone })
}

/// Writes the `OK` and the replay with blocking writes, a chunk at a time
/// as the store reads them from its log. The client must keep reading: a
/// client that does not take a chunk within `--timeout` is dropped. A
/// goodbye said meanwhile (`BYE:REPLACED`) cuts it short.
fn send_replay(ctx: &Ctx, stream: &Stream, after: u64, upto: u64, outlet: &Outlet) -> std::io::Result<()> {
    let timeout = ctx.config.timeout;
    let mut chunk = Reply::with(&*outlet.name).to_string();
    let minor = outlet.minor().min(3);
    let mut frames = ctx.store.replay(outlet.user, after, upto, minor);
    loop {
        let more = frames.next_chunk(&mut chunk).map_err(|ko| std::io::Error::other(ko.reason))?;
        if minor >= 2 {
            ctx.files.rewrite_frames(&mut chunk); // 1.2 (§21): `FILE` events
        }
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
                    // A connection told `BYE` (its device unlinked,
                    // replaced, …) is over: what it acknowledges after is
                    // read away, not applied.
                    Some(EventReply::Ack(_)) if outlet.is_closing() => {}
                    Some(EventReply::Ack(seq)) => {
                        let seq = seq.min(outlet.last_sent());
                        ctx.devices.ack(ctx, outlet, seq);
                    }
                    Some(EventReply::Pong) => {}
                    Some(
                        version @ (EventReply::Version11 | EventReply::Version12 | EventReply::Version13),
                    ) => {
                        outlet.opt_in(version.minor().unwrap_or(0));
                    }
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
                    outlet.push(&Event::Ping);
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
