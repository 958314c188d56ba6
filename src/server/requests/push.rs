//! `PUSHKEY`, `PUSH:<p256dh>:<auth>:<endpoint>`, `PUSH:OFF` and
//! `PREVIEWS:ON|OFF` (protocol 1.2, §28): a device's Web Push
//! subscription and the user's previews setting, kept by
//! `server::push::book`; the sending is `server::push::sender`'s.

use crate::protocol::request::PushSubscription;
use crate::protocol::{Code, DEFAULT_DEVICE, Ko, Reply};
use crate::server::push::book::Subscription;
use crate::server::push::crypto::UaKeys;
use crate::server::push::endpoint::Endpoint;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

/// The server's key: the leader's own on a cluster (each node has its data directory).
pub(super) const PUSHKEY: Row = Row::new(&["PUSHKEY"], Version::V1_2, Kind::Ephemeral);

pub(super) const PUSH: Row = Row::new(&["PUSH"], Version::V1_2, Kind::Stored);

pub(super) const PREVIEWS: Row = Row::new(&["PREVIEWS"], Version::V1_2, Kind::Stored);

pub(super) fn key(s: &mut Session) -> Flow {
    let key = s.ctx.push.vapid.public_b64();
    s.reply(Ok(Reply::OkWith(key)))
}

/// `PUSH` for the device of this connection (`default` for a login
/// without one).
pub(super) fn subscribe(s: &mut Session, who: Who, subscription: Option<PushSubscription>) -> Flow {
    let device = s.device.clone().unwrap_or_else(|| DEFAULT_DEVICE.to_string());
    let book = &s.ctx.push.book;
    let answer = match subscription {
        None => book.unsubscribe(who.id, &device).map(|_| Reply::Ok),
        Some(sub) => checked(s.ctx.push.loopback, who, &device, sub)
            .and_then(|sub| book.subscribe(sub))
            .map(|()| Reply::Ok),
    };
    s.reply(answer)
}

/// The subscription, its keys and endpoint checked
/// (`KO:BAD_REQUEST` saying what is wrong).
fn checked(loopback: bool, who: Who, device: &str, sub: PushSubscription) -> Result<Subscription, Ko> {
    let bad = |why: String| Ko::new(Code::BadRequest, why);
    let keys = UaKeys::parse(&sub.p256dh, &sub.auth).map_err(bad)?;
    let endpoint = Endpoint::parse(&sub.endpoint).map_err(bad)?;
    endpoint.addresses(loopback).map_err(bad)?;
    Ok(Subscription {
        user: who.id,
        name: who.name.into(),
        device: crate::protocol::names::fold(device),
        keys,
        endpoint,
    })
}

pub(super) fn previews(s: &mut Session, who: Who, on: bool) -> Flow {
    let answer = s.ctx.push.book.set_previews(who.name, on).map(|()| Reply::Ok);
    s.reply(answer)
}
