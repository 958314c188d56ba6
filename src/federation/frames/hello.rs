//! The hello family (`protocol::link::hello`): a link's first frame, and
//! the frames that keep it.
//!
//! - **Accepting**: the `HELLO`'s checks, in the order §27 lists them
//!   ([`open`]): the server it claims to be must be the roster's owner of
//!   the key its TLS connection showed, and the identity pinned under
//!   that key; answered `OK:<last>` (the last of its frames taken here).
//!   `PING` is answered `PONG`, `QUIT` `OK` before the link ends.
//! - **Sending**: the dialer's `HELLO` ([`say`]), and a `PING` when the
//!   link is idle half the `--timeout` ([`ping`]).

use super::super::key;
use super::super::links::Federation;
use super::sides::{Dialing, Flow, Taking, Why, refuse, say as say_on};
use crate::protocol::Code;
use crate::protocol::link::{Answer, Opening};
use crate::protocol::names::fold;
use crate::transport::Stream;

/// The accepting side: the first frame of a connection, `first`, read
/// on `stream`. A hello that passes every check is answered `OK:<last>`:
/// the peer's name as in the roster, and that `<last>`. Anything else is
/// refused (a `VERIFY` too, [`Opening::parse`] says why), and the
/// connection ends.
pub fn open(f: &Federation, stream: &Stream, first: &str) -> std::io::Result<(String, u64)> {
    match Opening::parse(first) {
        Err(e) => refuse(stream, Code::BadRequest, e),
        Ok(hello) => checked(f, stream, &hello),
    }
}

/// The checks of a hello, in the order §27 lists them.
fn checked(f: &Federation, stream: &Stream, hello: &Opening) -> std::io::Result<(String, u64)> {
    let (from, to, identity) = (hello.from.as_str(), hello.to.as_str(), hello.identity.as_str());
    if fold(to) != fold(&f.me) {
        return refuse(stream, Code::UnknownServer, format!("this is {}, not {to}", f.me));
    }
    let roster = f.roster();
    let Some(peer) = roster.peer(from).cloned() else {
        return refuse(stream, Code::UnknownServer, format!("no server named {from} in the roster"));
    };
    let expected = match peer.fingerprint() {
        Ok(expected) => expected.to_string(),
        Err(why) => {
            log::warn!("link: {why}");
            return refuse(stream, Code::AuthFailed, why);
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
        return refuse(stream, Code::AuthFailed, why);
    }
    let Some(ctx) = f.ctx() else {
        return refuse(stream, Code::Unavailable, "shutting down".into());
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
            return refuse(stream, Code::AuthFailed, why);
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
    say_on(stream, &Answer::Hello(took))?;
    log::info!("link: {} linked to us (its frames from {})", peer.name, took + 1);
    if let Some(outbound) = f.outbound(&peer.name) {
        outbound.peer_is_back(); // our dialer, if it waits out a backoff, need wait no more
    }
    Ok((peer.name, took))
}

/// The accepting side of a `PING`.
pub(super) fn take_ping(link: &mut Taking) -> std::io::Result<Flow> {
    link.say(&Answer::Pong)
}

/// The accepting side of a `QUIT`: answered, then the link ends.
pub(super) fn take_quit(link: &mut Taking) -> std::io::Result<Flow> {
    link.say(&Answer::Ok).map(|_| Flow::Done)
}

/// The sending side: this server's hello to `to`, the peer's name as in
/// the roster; the `<last>` it answered (the last of this server's
/// frames it has).
pub fn say(d: &mut Dialing, to: &str) -> Result<u64, Why> {
    let hello = Opening { from: d.f.me.clone(), to: to.to_string(), identity: d.f.identity.clone() };
    d.write(&hello.to_string())?;
    match d.answer()? {
        Answer::Hello(last) => Ok(last),
        other => Err(format!("hello answered {other}")),
    }
}

/// The sending side of a `PING`: answered `PONG`, or the link ends.
pub fn ping(d: &mut Dialing) -> Result<(), Why> {
    d.write("PING")?;
    match d.answer()? {
        Answer::Pong => Ok(()),
        other => Err(format!("PING answered {other}")),
    }
}

/// The sending side of a `QUIT`: said as this server lets the link go,
/// its answer not awaited.
pub fn quit(d: &Dialing) {
    let _ = d.write("QUIT");
}
