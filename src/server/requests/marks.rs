//! `MARK:<chat>`, `UNMARK:<chat>`, `MARKED`, `HIDE:<chat>` and `HIDDEN`
//! (protocol 1.2, §29): WhatsApp's "Mark as unread" and "Delete chat"
//! (for you), on every device of yours.
//!
//! Both are *settings* (`store::settings`), as an archive is
//! (`archive.rs`), keyed by the chat's folded name
//! (`protocol::names::fold`):
//!
//! - [`MARKED_CHATS`]: the value is the chat as first named. The mark is
//!   a word for your devices only: every message still counts as unread
//!   or read as before; a device takes the mark away (`UNMARK`) when you
//!   open the chat.
//! - [`HIDDEN_CHATS`]: the value is `<chat>:<ts>`, the chat as named and
//!   the server's time of the `HIDE`: your devices hide the chat and what
//!   it holds up to `ts`; a newer message brings it back, alone. Nothing
//!   is deleted: the others keep their copies, `HISTORY` is unchanged.
//!   A `HIDE` again moves the time on.
//!
//! Once a change is durable, each of your devices that said
//! `VERSION:1.2` is told (`MARK:<chat>:<marked|unmarked>`,
//! `HIDE:<chat>:<ts>`) by [`crate::server::relay::relay`] to yourself,
//! as `ARCHIVE` is.

use crate::protocol::names::fold;
use crate::protocol::prefs::{MAX_HIDDEN, MAX_MARKED};
use crate::protocol::{Chat, Event, Ko, MAX_LISTING, Reply};
use crate::server::Base;
use crate::server::relay::relay;
use crate::server::session::{Flow, Who};
use crate::store::now_ms;
use crate::store::settings::Setting;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

/// The chats marked unread: key, the folded chat name; value, the chat as first named.
pub const MARKED_CHATS: Setting = Setting {
    name: "marked",
    most: MAX_MARKED,
    what: "chats marked unread",
    longest: crate::store::settings::MAX_VALUE,
};

/// The chats deleted for oneself: key, the folded chat name; value, `<chat>:<ts>`.
pub const HIDDEN_CHATS: Setting = Setting {
    name: "hidden",
    most: MAX_HIDDEN,
    what: "deleted chats",
    longest: crate::store::settings::MAX_VALUE,
};

pub(super) const MARK: Row = Row::new(&["MARK", "UNMARK"], Version::V1_2, Kind::Stored);
pub(super) const MARKED: Row = Row::new(&["MARKED"], Version::V1_2, Kind::Read);
pub(super) const HIDE: Row = Row::new(&["HIDE"], Version::V1_2, Kind::Stored);
pub(super) const HIDDEN: Row = Row::new(&["HIDDEN"], Version::V1_2, Kind::Read);

/// `MARK:<chat>` (`marked`) or `UNMARK:<chat>`.
pub(super) fn mark(a: Asking, chat: Chat, marked: bool) -> Flow {
    let done = set(a.base, a.who, &MARKED_CHATS, &chat, |name| marked.then(|| name.to_string()))
        .map(|name| relay(a.base, [a.who.id], &Event::Mark { chat: name, marked }));
    a.reply(done.map(|()| Reply::Ok))
}

/// `MARKED`: the chats marked unread, as named, sorted by folded name.
pub(super) fn marked(a: Asking) -> Flow {
    let chats = a.base.store.settings(a.who.id, &MARKED_CHATS);
    a.reply(Ok(Reply::listing(chats.into_iter().map(|(_, name)| name).take(MAX_LISTING))))
}

/// `HIDE:<chat>`: hidden up to now.
pub(super) fn hide(a: Asking, chat: Chat) -> Flow {
    let ts = now_ms();
    let done = set(a.base, a.who, &HIDDEN_CHATS, &chat, |name| Some(format!("{name}:{ts}")))
        .map(|name| relay(a.base, [a.who.id], &Event::Hide { chat: name, ts }));
    a.reply(done.map(|()| Reply::Ok))
}

/// `HIDDEN`: `<chat>:<ts>` for each chat deleted, sorted by folded name.
pub(super) fn hidden(a: Asking) -> Flow {
    let chats = a.base.store.settings(a.who.id, &HIDDEN_CHATS);
    a.reply(Ok(Reply::listing(chats.into_iter().map(|(_, line)| line).take(MAX_LISTING))))
}

/// Stores `value(name)` (`None`: removes it) as `who`'s `setting` of
/// `chat`, waits for it to be durable; the chat's name as first kept.
fn set(
    base: &Base,
    who: Who,
    setting: &'static Setting,
    chat: &Chat,
    value: impl FnOnce(&str) -> Option<String>,
) -> Result<String, Ko> {
    let store = &base.store;
    let key = fold(&chat.to_string());
    let kept = store.settings(who.id, setting).into_iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    // A hidden chat's value is `<chat>:<ts>`: its name is before the colon.
    let name = kept.map_or_else(|| chat.to_string(), |v| v.split(':').next().unwrap_or(&v).to_string());
    let ticket = store.set_setting(who.id, setting, &key, value(&name).as_deref())?;
    store.wait(ticket)?;
    Ok(name)
}
