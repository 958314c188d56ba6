//! The link port: a thread per connection. The first frame says which
//! kind: `HELLO` (a peer's link: who is speaking is checked, then its
//! numbered frames are taken into the store, each answered in order) or
//! `VERIFY` (a dialback: is this key one of ours?).

use std::io::Write;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::links::{FRAME_WINDOW, Federation, LINK_RATE, said};
use crate::error::{Error, Result};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::{Answer, Frame, Opening};
use crate::protocol::names::fold;
use crate::protocol::{Code, FrameError};
use crate::server::links::Links;

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

fn say(mut stream: &TcpStream, answer: &Answer) -> std::io::Result<()> {
    stream.write_all(format!("{answer}\n").as_bytes())
}

fn refuse(stream: &TcpStream, code: Code, why: String) -> std::io::Result<()> {
    say(stream, &Answer::Ko(None, code, why.clone()))?;
    Err(std::io::Error::other(why))
}

/// One connection to the link port, from `from_ip`; `linked` is set once
/// its hello was taken (it is a link from then on, see [`Federation::linked`]).
fn serve(f: &Federation, stream: TcpStream, (from_ip, linked): (IpAddr, &mut bool)) -> std::io::Result<()> {
    stream.set_write_timeout(Some(f.timeout))?;
    if !f.leads() {
        return relay(f, stream);
    }
    let mut reader = FrameReader::new(stream.try_clone()?, 4096, f.max_frame);
    let within = f.hello_within();
    let first = match reader.read_frame(Some(Instant::now() + within)) {
        Ok(line) => line.to_string(),
        Err(FrameError::TimedOut) => {
            return refuse(&stream, Code::Timeout, format!("no hello within {} s", within.as_secs_f64()));
        }
        Err(e) => return refuse(&stream, code_of(&e), said(&e)),
    };
    match Opening::parse(&first) {
        Err(e) => refuse(&stream, Code::BadRequest, e),
        Ok(Opening::Verify { asker, dialer, key }) => verify(f, &stream, (&asker, &dialer, &key)),
        Ok(Opening::Hello { from, to, secret, key, identity }) => {
            let (from, took) = hello(f, &stream, (&from, &to, &secret), (&key, &identity))?;
            f.linked(from_ip);
            *linked = true;
            if let Ok(copy) = stream.try_clone()
                && let Some(old) = f.incoming.lock().insert(fold(&from), copy)
            {
                let _ = old.shutdown(std::net::Shutdown::Both); // its older link
            }
            let taken = take_frames(f, &stream, &mut reader, (&from, took));
            f.incoming.lock().remove(&fold(&from));
            taken
        }
    }
}

/// A follower of a cluster passes a connection to its link port to the
/// leader, byte for byte both ways, until either side closes it or is
/// silent for three timeouts (a link pings every half timeout). The
/// leader checks everything, as for a connection of its own.
fn relay(f: &Federation, stream: TcpStream) -> std::io::Result<()> {
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

/// A dialback: `OK` if this server is `dialer` and is opening a link to
/// `asker` with `key` now.
fn verify(
    f: &Federation,
    stream: &TcpStream,
    (asker, dialer, key): (&str, &str, &str),
) -> std::io::Result<()> {
    if fold(dialer) != fold(&f.me) {
        return refuse(stream, Code::UnknownServer, format!("this is {}, not {dialer}", f.me));
    }
    let ours = f.keys.lock().get(key).is_some_and(|to| fold(to) == fold(asker));
    if ours { say(stream, &Answer::Ok) } else { refuse(stream, Code::AuthFailed, "not my key".into()) }
}

/// The checks of a hello, in the order §27 lists them; the peer's name
/// as in the roster and the `<last>` said once it passed them all.
fn hello(
    f: &Federation,
    stream: &TcpStream,
    (from, to, secret): (&str, &str, &str),
    (key, identity): (&str, &str),
) -> std::io::Result<(String, u64)> {
    if fold(to) != fold(&f.me) {
        return refuse(stream, Code::UnknownServer, format!("this is {}, not {to}", f.me))
            .map(|_| (String::new(), 0));
    }
    let roster = f.roster();
    let Some(peer) = roster.peer(from).cloned() else {
        return refuse(stream, Code::UnknownServer, format!("no server named {from} in the roster"))
            .map(|_| (String::new(), 0));
    };
    if peer.secret != secret {
        return refuse(stream, Code::AuthFailed, format!("wrong secret for {}", peer.name))
            .map(|_| (String::new(), 0));
    }
    // A slot for the dialback, waited for (polling) as long as a hello
    // is: a dialer that links again while its last hello is checked
    // gets one soon.
    let until = Instant::now() + f.hello_within();
    while let Err(why) = f.dialback_slot(&peer.name) {
        if Instant::now() >= until {
            return refuse(stream, Code::Busy, why).map(|_| (String::new(), 0));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let vouched = ask_verify(f, &peer, key);
    f.dialback_done(&peer.name);
    if let Err(why) = vouched {
        let why = format!("{} at {} did not vouch for this link: {why}", peer.name, peer.addr());
        return refuse(stream, Code::AuthFailed, why).map(|_| (String::new(), 0));
    }
    let Some(ctx) = f.ctx() else {
        return refuse(stream, Code::Unavailable, "shutting down".into()).map(|_| (String::new(), 0));
    };
    let store = &ctx.store;
    let fingerprint = fingerprint(secret);
    let facts = store.peer_facts(&peer.name);
    match facts.pin.as_deref().and_then(|p| p.split_once(' ')) {
        Some((pinned, print)) if print == fingerprint && pinned != identity => {
            let why = format!(
                "{} was {pinned}, it is now {identity}; refused until the roster gives {} a new secret",
                peer.name, peer.name
            );
            return refuse(stream, Code::AuthFailed, why).map(|_| (String::new(), 0));
        }
        Some((pinned, print)) if print == fingerprint && pinned == identity => {}
        _ => {
            // Met for the first time, or under a new secret: a new server,
            // whose frames are numbered from 1.
            store
                .pin_peer(&peer.name, &format!("{identity} {fingerprint}"))
                .map_err(|ko| std::io::Error::other(ko.reason))?;
        }
    }
    let took = store.peer_facts(&peer.name).took;
    say(stream, &Answer::Hello(took))?;
    log::info!("link: {} linked to us (its frames from {})", peer.name, took + 1);
    Ok((peer.name, took))
}

/// A short fingerprint of a secret: which secret an identity was pinned
/// under, without keeping the secret itself in the log.
fn fingerprint(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The dialback: calls `peer` back at its roster address,
/// `VERIFY:<me>:<peer>:<key>`, and `OK` expected within the timeout.
fn ask_verify(f: &Federation, peer: &super::roster::Entry, key: &str) -> std::result::Result<(), String> {
    let stream = super::dial::connect(&peer.addr(), f.timeout).map_err(|e| e.to_string())?;
    let verify = Opening::Verify { asker: f.me.clone(), dialer: peer.name.clone(), key: key.into() };
    (&stream).write_all(format!("{verify}\n").as_bytes()).map_err(|e| e.to_string())?;
    let mut reader = FrameReader::new(&stream, 1024, 1024);
    let line = reader.read_frame(Some(Instant::now() + f.timeout)).map_err(|e| said(&e))?;
    match Answer::parse(line) {
        Ok(Answer::Ok) => Ok(()),
        _ => Err(crate::protocol::link::clean_reason(line)),
    }
}

/// The stream: each numbered frame taken into the store, then answered,
/// in order; a refusal for now closes the link after its answer. `last`
/// is the `<last>` of the hello: a frame is taken up to
/// [`FRAME_WINDOW`] past it, or past the last frame answered since.
fn take_frames(
    f: &Federation,
    stream: &TcpStream,
    reader: &mut FrameReader<TcpStream>,
    (from, mut last): (&str, u64),
) -> std::io::Result<()> {
    let mut second = (Instant::now(), 0u32);
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
            Frame::Msg { n, .. }
            | Frame::Status { n, .. }
            | Frame::Join { n, .. }
            | Frame::Leave { n, .. } => n,
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
        match store.take_frame(from, &f.me, &frame) {
            Ok(changed) => {
                say(stream, &Answer::Ack(n))?;
                if let Some(m) = changed {
                    // A member server joined or left a room homed here:
                    // its local members are told as of a local member,
                    // and a first member server gets the room's last
                    // messages (queued with the JOIN).
                    crate::server::presence::tell_members(&ctx, m.user, &m.name, &m.room, m.joined);
                    f.ring(from);
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
