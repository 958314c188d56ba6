//! The link port: a thread per connection, each TLS with this server's
//! link key (`key.rs`); the other end shows its own. Its first frame is a
//! `HELLO`: the server it claims to be must be the roster's owner of the
//! key it showed, then its numbered frames are taken into the store, each
//! answered in order.

use std::io::Write;
use std::net::{IpAddr, TcpListener, TcpStream};

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::key;
use super::links::{FRAME_WINDOW, Federation, LINK_RATE, said};
use crate::error::{Error, Result};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::{Answer, Frame, Opening};
use crate::protocol::names::fold;
use crate::protocol::{Code, FrameError};
use crate::transport::{SharedStream, Stream};

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
                if let Err(why) = f.opened(peer.ip()) {
                    let _ = writeln!(&stream, "KO:BUSY:{why}");
                    continue;
                }
                let f = f.clone();
                let spawned = std::thread::Builder::new().name("link-in".into()).spawn({
                    let f = f.clone();
                    move || {
                        let mut linked = false;
                        if let Err(e) = serve(&f, stream, (peer.ip(), &mut linked)) {
                            log::debug!("link from {peer}: {e}");
                        }
                        f.closed(peer.ip(), linked);
                    }
                });
                if spawned.is_err() {
                    f.closed(peer.ip(), false);
                    log::warn!("link: no thread for a connection");
                }
            }
        })
        .map_err(|e| Error::io("starting the link port's thread", e))
}

fn say(mut stream: &Stream, answer: &Answer) -> std::io::Result<()> {
    stream.write_all(format!("{answer}\n").as_bytes())
}

fn refuse(stream: &Stream, code: Code, why: String) -> std::io::Result<()> {
    say(stream, &Answer::Ko(None, code, why.clone()))?;
    Err(std::io::Error::other(why))
}

/// One connection to the link port, from `from_ip`; `linked` is set once
/// its hello was taken (it is a link from then on, see [`Federation::linked`]).
/// The TLS handshake happens as the hello is read, within its deadline.
fn serve(f: &Federation, tcp: TcpStream, (from_ip, linked): (IpAddr, &mut bool)) -> std::io::Result<()> {
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
    match Opening::parse(&first) {
        Err(e) => refuse(&stream, Code::BadRequest, e),
        Ok(Opening::Verify { .. }) => refuse(&stream, Code::BadRequest, NO_DIALBACK.into()),
        Ok(Opening::Hello { from, to, identity, .. }) => {
            let (from, took) = hello(f, &stream, (&from, &to), &identity)?;
            f.linked(from_ip);
            *linked = true;
            let began = f.ctx().map(|ctx| ctx.remote_seen.link_began(&from));
            let taken = take_frames(f, &stream, &mut reader, (&from, took));
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
    }
}

/// What a plaintext connection to the link port is told.
const PLAINTEXT: &str = "this link port speaks TLS with a link key (docs/PROTOCOL.md §27): \
    openssl s_client -connect HOST:PORT -cert DATA/link-cert.pem -key DATA/link-key.pem";

/// What a `VERIFY` is told: links prove who they are by their keys.
const NO_DIALBACK: &str = "there is no dialback: a link proves which server it is by its TLS key (§27)";

/// A follower of a cluster passes a connection to its link port to the
/// leader, byte for byte both ways, until either side closes it or is
/// silent for three timeouts (a link pings every half timeout). The
/// leader checks everything, as for a connection of its own.
fn relay(f: &Federation, stream: TcpStream) -> std::io::Result<()> {
    // Nothing is said in TLS here (the leader holds the TLS session): a
    // refusal is the connection closed, and the peer dials again.
    let refuse = |_: &TcpStream, _: Code, why: String| Err(std::io::Error::other(why));
    let Some(ctx) = f.ctx() else { return refuse(&stream, Code::Unavailable, "shutting down".into()) };
    let leader = ctx.store.leader_link(&f.me).filter(|at| *at != f.link_at);
    let Some(at) = leader else {
        let why =
            format!("this node of {} does not lead its cluster and knows no leader yet; try again", f.me);
        return refuse(&stream, Code::Unavailable, why);
    };
    let upstream = match super::dial::connect(&at, f.timeout) {
        Ok(upstream) => upstream,
        Err(e) => {
            let why = format!("{}'s leader at {at} does not answer: {e}; try again", f.me);
            return refuse(&stream, Code::Unavailable, why);
        }
    };
    let silent = Some(f.timeout * 3);
    stream.set_read_timeout(silent)?;
    upstream.set_read_timeout(silent)?;
    let (mut from_peer, mut to_leader) = (stream.try_clone()?, upstream.try_clone()?);
    let (mut from_leader, mut to_peer) = (upstream, stream);
    let back = std::thread::Builder::new().name("link-relay".into()).spawn(move || {
        let _ = std::io::copy(&mut from_leader, &mut to_peer);
        let _ = to_peer.shutdown(std::net::Shutdown::Both);
        let _ = from_leader.shutdown(std::net::Shutdown::Both);
    })?;
    let _ = std::io::copy(&mut from_peer, &mut to_leader);
    let _ = to_leader.shutdown(std::net::Shutdown::Both);
    let _ = from_peer.shutdown(std::net::Shutdown::Both);
    let _ = back.join();
    Ok(())
}

fn code_of(e: &FrameError) -> Code {
    match e {
        FrameError::TooLong => Code::TooLong,
        _ => Code::Timeout,
    }
}

/// The checks of a hello, in the order §27 lists them; the peer's name
/// as in the roster and the `<last>` said once it passed them all.
fn hello(
    f: &Federation,
    stream: &Stream,
    (from, to): (&str, &str),
    identity: &str,
) -> std::io::Result<(String, u64)> {
    let no = |why: std::io::Result<()>| why.map(|_| (String::new(), 0));
    if fold(to) != fold(&f.me) {
        return no(refuse(stream, Code::UnknownServer, format!("this is {}, not {to}", f.me)));
    }
    let roster = f.roster();
    let Some(peer) = roster.peer(from).cloned() else {
        return no(refuse(stream, Code::UnknownServer, format!("no server named {from} in the roster")));
    };
    let expected = match peer.fingerprint() {
        Ok(expected) => expected.to_string(),
        Err(why) => {
            log::warn!("link: {why}");
            return no(refuse(stream, Code::AuthFailed, why));
        }
    };
    let shown = stream.peer_certificate().map(|cert| key::fingerprint(&cert)).unwrap_or_default();
    if !key::same(&shown, &expected) {
        let why =
            format!("this link's key is not {}'s (the roster's fingerprint for it is {expected})", peer.name);
        log::warn!(
            "link from {}: claims {}: {why}",
            stream.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
            peer.name
        );
        return no(refuse(stream, Code::AuthFailed, why));
    }
    let Some(ctx) = f.ctx() else {
        return no(refuse(stream, Code::Unavailable, "shutting down".into()));
    };
    let store = &ctx.store;
    // The identity is pinned under the key: a server whose data was
    // replaced (a new identity) with the same key is refused; a new key
    // in the roster is a new server, whose frames are numbered from 1.
    let print: String = expected.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    let facts = store.peer_facts(&peer.name);
    match facts.pin.as_deref().and_then(|p| p.split_once(' ')) {
        Some((pinned, pinned_print)) if pinned_print == print && pinned != identity => {
            let why = format!(
                "{} was {pinned}, it is now {identity}; refused until {} has a new link key in the roster",
                peer.name, peer.name
            );
            return no(refuse(stream, Code::AuthFailed, why));
        }
        Some((pinned, pinned_print)) if pinned_print == print && pinned == identity => {}
        _ => {
            store
                .pin_peer(&peer.name, &format!("{identity} {print}"))
                .map_err(|ko| std::io::Error::other(ko.reason))?;
        }
    }
    let took = store.peer_facts(&peer.name).took;
    // The link takes the peer's place before its `OK`: the peer's next
    // hello, sent once this one is answered, finds it and closes it.
    if let Ok(copy) = stream.tcp().try_clone()
        && let Some(old) = f.incoming.lock().insert(fold(&peer.name), copy)
    {
        let _ = old.shutdown(std::net::Shutdown::Both); // its older link
    }
    say(stream, &Answer::Hello(took))?;
    log::info!("link: {} linked to us (its frames from {})", peer.name, took + 1);
    Ok((peer.name, took))
}

/// The stream: each numbered frame taken into the store, then answered,
/// in order; a refusal for now closes the link after its answer. `last`
/// is the `<last>` of the hello: a frame is taken up to
/// [`FRAME_WINDOW`] past it, or past the last frame answered since.
fn take_frames(
    f: &Federation,
    stream: &Stream,
    reader: &mut FrameReader<SharedStream>,
    (from, mut last): (&str, u64),
) -> std::io::Result<()> {
    let mut second = (Instant::now(), 0u32);
    let mut last_presence = None;
    loop {
        let line = match reader.read_frame(Some(Instant::now() + f.timeout)) {
            Ok(line) => line.to_string(),
            Err(FrameError::Closed) => return Ok(()),
            Err(e) => return refuse(stream, code_of(&e), said(&e)),
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
        let frame = match Frame::parse(&line) {
            Ok(frame) => frame,
            Err((Some(n), why)) => {
                say(stream, &Answer::Ko(Some(n), Code::BadRequest, why))?;
                continue;
            }
            Err((None, why)) => return refuse(stream, Code::BadRequest, why),
        };
        let n = match frame {
            Frame::Ping => {
                say(stream, &Answer::Pong)?;
                continue;
            }
            Frame::Quit => return say(stream, &Answer::Ok),
            // 1.3: a call's signal, told and answered at once.
            Frame::Call { from: user, to, id, signal } => {
                let Some(ctx) = f.ctx() else {
                    return refuse(stream, Code::Unavailable, "shutting down".into());
                };
                let taken = crate::server::calls_across::take(&ctx, from, (&user, &to, &id), signal);
                if let Err(ko) = &taken {
                    log::debug!("link: {from}'s call signal refused: {}", ko.reason);
                }
                say(stream, &taken.map_or_else(|ko| Answer::Ko(None, ko.code, ko.reason), |()| Answer::Ok))?;
                continue;
            }
            // 1.3: a search of this server's people, answered at once.
            Frame::People { asker, start } => {
                let answer = people_answer(f, from, &asker, &start);
                if let Err(ko) = &answer {
                    log::debug!("link: {from}'s search of people refused: {}", ko.reason);
                }
                (&*stream).write_all(super::people::answer_lines(answer).as_bytes())?;
                continue;
            }
            // 1.3: a profile of one of its users, told at once.
            Frame::Profile { .. } | Frame::Photo { .. } => {
                let Some(ctx) = f.ctx() else {
                    return refuse(stream, Code::Unavailable, "shutting down".into());
                };
                let taken = f
                    .people
                    .profiles_from(from)
                    .and_then(|()| crate::server::profile_across::take(&ctx, from, &frame));
                if let Err(ko) = &taken {
                    log::debug!("link: {from}'s profile refused: {}", ko.reason);
                }
                say(stream, &taken.map_or_else(|ko| Answer::Ko(None, ko.code, ko.reason), |()| Answer::Ok))?;
                continue;
            }
            // 1.3: the peer's users' presence, told and answered at once.
            Frame::Presence { seen } => {
                let answer = take_presence(f, from, &seen, &mut last_presence);
                say(stream, &answer)?;
                continue;
            }
            Frame::Upload { .. } | Frame::Part { .. } => {
                let Some(ctx) = f.ctx() else {
                    return refuse(stream, Code::Unavailable, "shutting down".into());
                };
                let answer = match &frame {
                    Frame::Upload { .. } => super::files::take_upload(&ctx, from, &frame),
                    _ => super::files::take_part(&ctx, from, &frame),
                };
                say(stream, &answer)?;
                continue;
            }
            Frame::Msg { n, .. }
            | Frame::Status { n, .. }
            | Frame::Join { n, .. }
            | Frame::Leave { n, .. }
            | Frame::File { n, .. } => n,
        };
        if n > last.saturating_add(FRAME_WINDOW) {
            let why = format!("frame {n} is more than {FRAME_WINDOW} past the last, {last}");
            say(stream, &Answer::Ko(Some(n), Code::BadRequest, why))?;
            continue;
        }
        last = last.max(n);
        if let Some(ko) = f.stranger(&frame) {
            log::debug!("link: {from}'s frame {n} refused: {}", ko.reason);
            say(stream, &Answer::Ko(Some(n), ko.code, ko.reason))?;
            continue;
        }
        let Some(ctx) = f.ctx() else { return refuse(stream, Code::Unavailable, "shutting down".into()) };
        let store = &ctx.store;
        let first_words = first_words(&ctx, &frame);
        let taken = match &frame {
            Frame::File { .. } => super::files::take_file(&ctx, from, &f.me, &frame),
            _ => store.take_frame(from, &f.me, &frame),
        };
        match taken {
            Ok(changed) => {
                say(stream, &Answer::Ack(n))?;
                // 1.3: the profile of whom its user wrote to, told back.
                crate::server::profile_across::met(&ctx, from, &frame);
                // 1.3: who shares a chat with the peer's users changed:
                // its presence of ours goes again (`server::presence_across`).
                if changed.is_some() {
                    ctx.remote_seen.linked_to(&ctx, from);
                }
                if let Some(user) = first_words {
                    ctx.remote_seen.note_for(from, user);
                }
                if let Some(m) = changed {
                    // A member server joined or left a room homed here:
                    // its local members are told as of a local member (a
                    // first member server's backfill, queued with the
                    // JOIN, wakes its link as any frame does).
                    crate::server::presence::tell_members(&ctx, m.user, &m.name, &m.room, m.joined);
                }
            }
            Err(ko) if Answer::for_now(ko.code) => {
                say(stream, &Answer::Ko(Some(n), ko.code, ko.reason.clone()))?;
                return Err(std::io::Error::other(format!("frame {n} refused for now: {}", ko.reason)));
            }
            Err(ko) => {
                log::debug!("link: {from}'s frame {n} refused: {}", ko.reason);
                say(stream, &Answer::Ko(Some(n), ko.code, ko.reason))?
            }
        }
    }
}

/// A `PRESENCE` frame of `from`'s (`server::presence_across`): `OK`, or
/// why not; `last` is when the link's previous one was taken.
fn take_presence(
    f: &Federation,
    from: &str,
    seen: &[(String, crate::protocol::Presence)],
    last: &mut Option<Instant>,
) -> Answer {
    let Some(ctx) = f.ctx() else { return Answer::Ko(None, Code::Unavailable, "shutting down".into()) };
    match ctx.remote_seen.take(&ctx, from, seen, *last) {
        Ok(()) => {
            *last = Some(Instant::now());
            Answer::Ok
        }
        Err(ko) => {
            log::debug!("link: {from}'s presence refused: {}", ko.reason);
            Answer::Ko(None, ko.code, ko.reason)
        }
    }
}

/// The user of ours a direct message is to, if its author is a user of the
/// peer not known here yet (a first message: they share a chat from now).
fn first_words(ctx: &crate::server::Ctx, frame: &Frame) -> Option<crate::store::UserId> {
    let (Frame::Msg { from, to, .. } | Frame::File { from, to, .. }) = frame else { return None };
    if to.starts_with('#') || ctx.store.user_id(from).is_some() {
        return None;
    }
    let (user, _) = crate::store::state::remote::address(to)?;
    ctx.store.user_id(user)
}

/// A `PEOPLE` frame from `from` (the link's server): `asker` must be one
/// of its users; this server must list its people to peers, and `from`
/// be within its rate. Then the lines the send port's `PEOPLE` would
/// give one of this server's users ([`crate::server::people_across::for_peer`]).
fn people_answer(
    f: &Federation,
    from: &str,
    asker: &str,
    start: &str,
) -> std::result::Result<Vec<crate::protocol::SeenLine>, crate::protocol::Ko> {
    let theirs = crate::store::state::remote::address(asker).is_some_and(|(_, s)| fold(s) == fold(from));
    if !theirs {
        return Err(crate::protocol::Ko::new(
            Code::Forbidden,
            format!("{from} speaks only for its own users, not {asker}"),
        ));
    }
    if !f.people.lists {
        let why = format!("{} does not list its people to other servers (--people-across off)", f.me);
        return Err(crate::protocol::Ko::new(Code::Forbidden, why));
    }
    f.people.answering(from)?;
    let ctx = f.ctx().ok_or_else(|| crate::protocol::Ko::new(Code::Unavailable, "shutting down"))?;
    Ok(crate::server::people_across::for_peer(&ctx, asker, start, crate::protocol::link::MAX_PEOPLE_ACROSS))
}
