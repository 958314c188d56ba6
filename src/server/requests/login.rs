//! The first frames (protocol §3): `LOGIN`, `REGISTER`, and (1.2)
//! `REDEEM` and `PAIR`, the only requests allowed before the login, and
//! refused after it. Their checks, and the limits on what they make the
//! server hash, are `server::auth`.

use std::sync::Arc;

use crate::protocol::{Code, Ko, Reply};
use crate::server::auth::{self, Outcome};
use crate::server::session::{Flow, Session, Who};

use super::row::{Kind, Row, Version};

pub(super) const LOGIN: Row = Row::new(&["LOGIN"], Version::V1_0, Kind::Ephemeral).first_frame();

pub(super) const REGISTER: Row = Row::new(&["REGISTER"], Version::V1_0, Kind::Stored).first_frame();

pub(super) const REDEEM: Row = Row::new(&["REDEEM"], Version::V1_2, Kind::Stored).first_frame();

/// Trades a code of `LINK` for a device token, which is stored.
pub(super) const PAIR: Row = Row::new(&["PAIR"], Version::V1_2, Kind::Stored).first_frame();

/// A frame of a connection not logged in yet: a first frame, or
/// `KO:AUTH_REQUIRED` (`auth::authenticate`); `opens` if its word's row
/// may open a session (`requests::may_open`).
pub(in crate::server) fn first_frame(s: &mut Session, line: &str, opens: bool) -> Flow {
    match auth::authenticate(s.ctx, line, s.peer.ip(), opens) {
        Outcome::LoggedIn(id, name, proof) => logged_in(s, line, (id, name), proof),
        Outcome::Refused(ko) => s.refuse(ko),
        Outcome::Paired(token) => s.reply(Ok(Reply::OkWith(token))),
    }
}

/// The session is `name`'s from now on, on the device its `LOGIN` named,
/// having proved the password or only the device's token (`proof`).
fn logged_in(
    s: &mut Session,
    line: &str,
    (id, name): (crate::store::UserId, Arc<str>),
    proof: auth::Proof,
) -> Flow {
    s.device = auth::login_device(line);
    let device = s.device.as_deref();
    s.ctx.devices.open_session(s.ctx, (id, &name), s.conn_id, (device, proof), s.stream);
    s.queue(Reply::with(name.as_ref()), false);
    s.user = Some((id, name));
    Flow::Continue
}

/// A first frame after the login, refused: what `requests::serve` does
/// with the four (their way in is [`first_frame`]).
pub(super) fn again(s: &mut Session, who: Who) -> Flow {
    s.refuse(Ko::new(Code::BadRequest, format!("already logged in as {}", who.name)))
}
