//! `NOTIFY:<chat>:<all|mentions|none>`, `PIN:<chat>`, `UNPIN:<chat>` and
//! `PREFS` (protocol 1.2, §22): a chat's notification level and pin, kept
//! by the store, told to your devices (`server::prefs`).

use crate::protocol::{MAX_LISTING, Reply, Request};
use crate::server::prefs;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const NOTIFY: Row = Row::asking(&["NOTIFY"], Version::V1_2, Kind::Stored, notify);

pub(super) const PIN: Row = Row::asking(&["PIN", "UNPIN"], Version::V1_2, Kind::Stored, pin);

/// At most 1,000 lines (`protocol::prefs::MAX_PREFS`): a token.
pub(super) const PREFS: Row = Row::asking(&["PREFS"], Version::V1_2, Kind::Read, list);

fn notify(a: Asking, request: Request) -> Flow {
    let Request::Notify { chat, level } = request else { return a.not_served(&request) };
    let answer = prefs::notify(a.base, a.who.id, &chat, level).map(|()| Reply::Ok);
    a.reply(answer)
}

/// `PIN` or `UNPIN`.
fn pin(a: Asking, request: Request) -> Flow {
    let Request::Pin { chat, pinned } = request else { return a.not_served(&request) };
    let answer = prefs::pin(a.base, a.who.id, &chat, pinned).map(|()| Reply::Ok);
    a.reply(answer)
}

fn list(a: Asking, _: Request) -> Flow {
    let answer =
        prefs::prefs(a.base, a.who.id).map(|lines| Reply::listing(lines.into_iter().take(MAX_LISTING)));
    a.reply(answer)
}
