//! `ARCHIVE:<chat>`, `UNARCHIVE:<chat>` and `ARCHIVED` (protocol 1.2,
//! §23): WhatsApp's "Archive chat". A chat you archive is filed away on
//! every device of yours, and stays so when a message arrives.
//!
//! All of it is here: the request is kept as a *setting*
//! (`store::settings`), [`ARCHIVE`], whose key is the chat's folded name
//! (`protocol::names::fold`) and whose value is the chat as you named it.
//! The setting's store (the log, a cluster's shared log, checkpoints,
//! `wachat migrate`, `DELACCOUNT`) is shared by every setting, so this
//! file adds none of it.
//!
//! - The chat need not exist (as with a room's `PIN`): the store only
//!   remembers a name.
//! - Names ignore case, and the name kept is the one given first: an
//!   `ARCHIVE` of a chat already archived writes its old name again (so
//!   nothing changes, and `OK` still waits for what is on disk). Two
//!   devices archiving `Bob` and `bob` at the very same moment may keep
//!   either name.
//! - Once the change is durable, each of your devices that said
//!   `VERSION:1.2` (the asking one's receive connection included) is told
//!   `ARCHIVE:<chat>:<archived|unarchived>`, exactly as `server::prefs`
//!   tells a `PREF`: [`crate::server::relay::relay`] to yourself.

use crate::protocol::names::fold;
use crate::protocol::prefs::MAX_ARCHIVED;
use crate::protocol::{Chat, Event, Ko, MAX_LISTING, Reply};
use crate::server::Base;
use crate::server::relay::relay;
use crate::server::session::{Flow, Who};
use crate::store::settings::Setting;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

/// The setting archived chats are kept as: key, the folded chat name;
/// value, the chat as first named.
pub const ARCHIVE: Setting = Setting {
    name: "archive",
    most: MAX_ARCHIVED,
    what: "archived chats",
    longest: crate::store::settings::MAX_VALUE,
};

pub(super) const ROW: Row = Row::new(&["ARCHIVE", "UNARCHIVE"], Version::V1_2, Kind::Stored);

pub(super) const ARCHIVED: Row = Row::new(&["ARCHIVED"], Version::V1_2, Kind::Read);

/// `ARCHIVE:<chat>` (`archived`) or `UNARCHIVE:<chat>`.
pub(super) fn serve(a: Asking, chat: Chat, archived: bool) -> Flow {
    let filed = file(a.base, a.who, &chat, archived);
    a.reply(filed.map(|()| Reply::Ok))
}

/// `ARCHIVED`: the chats archived, as named, sorted by folded name.
pub(super) fn list(a: Asking) -> Flow {
    let chats = a.base.store.settings(a.who.id, &ARCHIVE);
    a.reply(Ok(Reply::listing(chats.into_iter().map(|(_, name)| name).take(MAX_LISTING))))
}

/// Stores the change, waits for it to be durable, and tells `who`'s devices.
fn file(base: &Base, who: Who, chat: &Chat, archived: bool) -> Result<(), Ko> {
    let store = &base.store;
    let key = fold(&chat.to_string());
    let kept = store.settings(who.id, &ARCHIVE).into_iter().find(|(k, _)| *k == key).map(|(_, name)| name);
    let name = kept.unwrap_or_else(|| chat.to_string());
    let ticket = store.set_setting(who.id, &ARCHIVE, &key, archived.then_some(name.as_str()))?;
    store.wait(ticket)?;
    relay(base, [who.id], &Event::Archive { chat: name, archived });
    Ok(())
}
