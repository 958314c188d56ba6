//! `DEVICES`, `UNLINK:<device>` and `LINK` (protocol 1.2, §16): the
//! devices of an account. Their tokens, codes and positions in the inbox
//! are `server::devices`.

use crate::protocol::{DEFAULT_DEVICE, Reply};
use crate::server::auth;
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

pub(super) const DEVICES: Row = Row::new(&["DEVICES"], Version::V1_2, Kind::Ephemeral);

pub(super) const UNLINK: Row = Row::new(&["UNLINK"], Version::V1_2, Kind::Stored);

/// A code lives in memory for five minutes; the token it is traded for is
/// stored by `PAIR`.
pub(super) const LINK: Row = Row::new(&["LINK"], Version::V1_2, Kind::Ephemeral);

/// `DEVICES`: each online or last seen, and from where.
pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    s.reply(Ok(Reply::listing(s.ctx.devices.list(s.ctx, who.id, who.name))))
}

/// `UNLINK:<device>` or `UNLINK:<device>:<password>`: a device that
/// unlinks itself is logged out too, this connection closing after its
/// `OK`: a device that unlinked itself keeps no session its token no
/// longer backs. Another device, from a session that logged in with a
/// token, only with the password (`Devices::unlink_from`).
pub(super) fn unlink(s: &mut Session, who: Who, device: String, password: Option<String>) -> Flow {
    let (ctx, peer) = (s.ctx, s.peer.ip());
    let check = password.map(|password| move || auth::check_password(ctx, who.name, &password, peer));
    if let Err(ko) = ctx.devices.unlink_from(ctx, (who.id, who.name), &device, s.conn_id, check) {
        return s.refuse(ko);
    }
    // 1.2 (§28): an unlinked device is pushed nothing more. The device is
    // gone already: a subscription left in push.csv is only logged.
    if let Err(ko) = s.ctx.push.book.unsubscribe(who.id, &device) {
        log::error!("{}: device {device} unlinked, but its push subscription stays: {}", who.name, ko.reason);
    }
    let mine = s.device.as_deref().unwrap_or(DEFAULT_DEVICE);
    if mine.eq_ignore_ascii_case(&device) { s.ok_and_close() } else { s.reply(Ok(Reply::Ok)) }
}

/// `LINK` or `LINK:<password>`: a one-time code with which a new device
/// gets a token; the password is checked as `PASSWD`'s old one is.
pub(super) fn link(s: &mut Session, who: Who, password: Option<String>) -> Flow {
    let (ctx, peer) = (s.ctx, s.peer.ip());
    let check = password.map(|password| move || auth::check_password(ctx, who.name, &password, peer));
    s.reply(ctx.devices.link_from(ctx, (who.id, who.name), s.conn_id, check).map(Reply::OkWith))
}
