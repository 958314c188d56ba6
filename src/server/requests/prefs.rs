//! `NOTIFY:<chat>:<all|mentions|none>`, `PIN:<chat>`, `UNPIN:<chat>` and
//! `PREFS` (protocol 1.2, §22): a chat's notification level and pin, kept
//! by the store, told to your devices (`server::prefs`).

use crate::protocol::{MAX_LISTING, Reply, Request};
use crate::server::prefs;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const NOTIFY: Row = Row::new(&["NOTIFY"], Version::V1_2, Kind::Stored, notify);

pub(super) const PIN: Row = Row::new(&["PIN", "UNPIN"], Version::V1_2, Kind::Stored, pin);

/// At most 1,000 lines (`protocol::prefs::MAX_PREFS`): a token.
pub(super) const PREFS: Row = Row::new(&["PREFS"], Version::V1_2, Kind::Ephemeral, list);

fn notify(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Notify { chat, level } = request else { return not_served(s, &request) };
    s.reply(prefs::notify(s.ctx, who.id, &chat, level).map(|()| Reply::Ok))
}

/// `PIN` or `UNPIN`.
fn pin(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Pin { chat, pinned } = request else { return not_served(s, &request) };
    s.reply(prefs::pin(s.ctx, who.id, &chat, pinned).map(|()| Reply::Ok))
}

fn list(s: &mut Session, who: Who, _: Request) -> Flow {
    s.reply(prefs::prefs(s.ctx, who.id).map(|lines| Reply::listing(lines.into_iter().take(MAX_LISTING))))
}
