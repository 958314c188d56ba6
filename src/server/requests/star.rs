//! `STAR:<chat>:<from>:<id>`, `UNSTAR:<chat>:<from>:<id>` and `STARRED`
//! (protocol 1.2, §25): WhatsApp's "starred messages". A message you
//! star is kept in a list of yours, the same on every device.
//!
//! All of it is here, in the shape of `archive.rs`: a star is a
//! *setting* (`store::settings`), [`STAR`], kept by the store that every
//! setting shares (the log, a cluster's shared log, checkpoints,
//! `wachat migrate`, `DELACCOUNT`), so this file adds none of it.
//! Its key names the message, `<chat>:<from>:<id>` folded
//! (`protocol::names::fold`); its value is the message's time, so that
//! `STARRED` can list the newest first before it reads any message.
//!
//! - Only a message you can see may be starred: it is looked for as
//!   `HISTORY` shows it to you (its chat's newest [`MAX_HISTORY`](crate::protocol::MAX_HISTORY), your
//!   rooms only), so a star is refused with the same codes as `HISTORY`,
//!   the store's (`KO:NOT_MEMBER`, `KO:UNKNOWN_USER`) or
//!   `KO:UNKNOWN_MESSAGE`.
//! - A star stays when its message is deleted, but shows nothing: the
//!   rule is `protocol::erase::star_shows`, beside what a deletion erases.
//! - `UNSTAR` is always allowed, of a message deleted or never starred.
//! - Once the change is durable, each of your devices that said
//!   `VERSION:1.2` is told `STAR:<chat>:<from>:<id>:<starred|unstarred>`,
//!   as `ARCHIVE` is: [`crate::server::relay::relay`] to yourself.

use crate::protocol::prefs::star_key as key;
use crate::protocol::{Chat, Event, Ko, Reply};
use crate::server::Base;
use crate::server::relay::relay;
use crate::server::session::{Flow, Who};
use crate::store::LocalStore;
use crate::store::stars::STAR;
use crate::store::stars::{starred, visible};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["STAR", "UNSTAR"], Version::V1_2, Kind::Stored);

pub(super) const STARRED: Row = Row::new(&["STARRED"], Version::V1_2, Kind::Read);

/// What a `STAR` (`starred`) or an `UNSTAR` costs: a `STAR` reads its
/// chat's newest 1,000 messages to find the one starred, a full
/// `HISTORY`, as a message action; an `UNSTAR` reads nothing.
pub(super) fn cost(starred: bool) -> u32 {
    if starred { 11 } else { 1 }
}

/// What a `STARRED` costs before it runs: an ordinary `SEARCH` of a
/// chat's. It reads a chat per star's chat, and what it read past these
/// tokens is charged once known, priced as a `SEARCH`'s reading
/// (`search::read_cost`).
pub(super) const STARRED_COST: u32 = 11;

/// `STAR:<chat>:<from>:<id>` (`starred`) or `UNSTAR:…`.
pub(super) fn serve(mut a: Asking, chat: Chat, from: String, id: String, starred: bool) -> Flow {
    // 1.3: a message of another server's user (`bob@lab2`), or in a
    // room homed there, is named by its addresses, routed as a chat is.
    let (chat, from) = match a.chat_here(chat).and_then(|chat| Ok((chat, a.user_here(from)?))) {
        Ok(routed) => routed,
        Err(ko) => return a.reply(Err(ko)),
    };
    a.settle();
    let marked = mark(a.base, a.who, &chat, &from, &id, starred);
    a.reply(marked.map(|()| Reply::Ok))
}

/// `STARRED`: the starred messages shown, newest first, as `HISTORY`
/// lines; then charges what was read past [`STARRED_COST`].
pub(super) fn list(mut a: Asking) -> Flow {
    a.settle();
    let listed = starred(&a.base.store, a.who.id);
    if let Ok((_, bytes)) = &listed {
        a.charge(super::search::read_cost(*bytes as u64, STARRED_COST));
    }
    // 1.2 (§30): no `READ` shown where read receipts are off.
    let listed = listed.map(|(mut lines, _)| {
        crate::server::profile::hide_reads(a.base, a.who.id, a.who.name, &mut lines);
        lines
    });
    a.reply(listed.map(Reply::listing))
}

/// Stores the change, waits for it to be durable, and tells `who`'s devices.
fn mark(base: &Base, who: Who, chat: &Chat, from: &str, id: &str, starred: bool) -> Result<(), Ko> {
    let store: &LocalStore = &base.store;
    let (from, ts) = match starred {
        true => {
            let line = visible(store, who.id, chat, from, id)?;
            (line.from, Some(line.ts.to_string()))
        }
        false => (from.to_string(), None),
    };
    let ticket = base.store.set_setting(who.id, &STAR, &key(chat, &from, id), ts.as_deref())?;
    store.wait(ticket)?;
    let event = Event::Star { chat: chat.to_string(), from, id: id.to_string(), starred };
    relay(base, [who.id], &event);
    Ok(())
}
