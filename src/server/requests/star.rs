//! `STAR:<chat>:<from>:<id>`, `UNSTAR:<chat>:<from>:<id>` and `STARRED`
//! (protocol 1.2, §25): WhatsApp's "starred messages". A message you
//! star is kept in a list of yours, the same on every device.
//!
//! All of it is here, in the shape of `archive.rs`: a star is a
//! *setting* (`store::settings`), [`STAR`], kept by the store that every
//! setting shares (both backends, the log, checkpoints, the cluster's
//! table, `wachat migrate`, `DELACCOUNT`), so this file adds none of it.
//! Its key names the message, `<chat>:<from>:<id>` folded
//! (`protocol::names::fold`); its value is the message's time, so that
//! `STARRED` can list the newest first before it reads any message.
//!
//! - Only a message you can see may be starred: it is looked for as
//!   `HISTORY` shows it to you (its chat's newest [`MAX_HISTORY`], your
//!   rooms only), so both backends refuse the same stars with the same
//!   codes, the store's (`KO:NOT_MEMBER`, `KO:UNKNOWN_USER`) or
//!   `KO:UNKNOWN_MESSAGE`.
//! - A star stays when its message is deleted, but shows nothing: the
//!   rule is `protocol::erase::star_shows`, beside what a deletion erases.
//! - `UNSTAR` is always allowed, of a message deleted or never starred.
//! - Once the change is durable, each of your devices that said
//!   `VERSION:1.2` is told `STAR:<chat>:<from>:<id>:<starred|unstarred>`,
//!   as `ARCHIVE` is: [`relay`](crate::server::relay::relay) to yourself.

use crate::protocol::erase::star_shows;
use crate::protocol::fates::Fates;
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Event, HistoryLine, Ko, MAX_HISTORY, MAX_HISTORY_BYTES, Reply, Request};
use crate::server::relay::relay;
use crate::server::session::{Flow, Session, Who};
use crate::store::settings::Setting;
use crate::store::{Backend, UserId};

use super::{Kind, Row, Version};

/// Most messages one user may star (`KO:FULL` for one more).
pub const MAX_STARRED: usize = 500;

/// Most bytes of conversations one `STARRED` reads to show the stars
/// (as a `SEARCH:*`): 8 MiB, the chats of the newest stars first. A star
/// past it is not listed that time (§25 says so).
pub const MAX_READ_BYTES: usize = 8 << 20;

/// Bytes read per `--rate` token a `STARRED` costs past its row's 11
/// (a `SEARCH`'s figure).
const BYTES_PER_TOKEN: usize = 64 * 1024;

/// The setting stars are kept as: key, `<chat>:<from>:<id>` folded;
/// value, the message's time (ms).
pub const STAR: Setting = Setting { name: "star", most: MAX_STARRED, what: "starred messages" };

/// A `STAR` reads its chat's newest 1,000 messages to find the one
/// starred: a full `HISTORY`, as a message action.
pub(super) const ROW: Row = Row::new(&["STAR", "UNSTAR"], Version::V1_2, Kind::Stored).costing(star_cost);

/// A `STARRED` reads a chat per star's chat: 11 tokens first, one more
/// per 64 KiB read past 704 KiB (charged once known, as a `SEARCH`).
pub(super) const STARRED: Row =
    Row::new(&["STARRED"], Version::V1_2, Kind::Ephemeral).costing(super::tokens::<11>);

fn star_cost(request: &Request) -> u32 {
    match request {
        Request::Star { starred: true, .. } => 11,
        _ => 1, // UNSTAR reads nothing
    }
}

/// `STAR:<chat>:<from>:<id>` (`starred`) or `UNSTAR:…`.
pub(super) fn serve(s: &mut Session, who: Who, chat: &Chat, from: &str, id: &str, starred: bool) -> Flow {
    s.settle();
    s.reply(mark(s, who, chat, from, id, starred).map(|()| Reply::Ok))
}

/// `STARRED`: the starred messages shown, newest first, as `HISTORY`
/// lines; then charges what was read past the row's cost.
pub(super) fn list(s: &mut Session, who: Who) -> Flow {
    s.settle();
    let listed = starred(&**s.ctx.store, who.id);
    if let Ok((_, bytes)) = &listed {
        let tokens = bytes.div_ceil(BYTES_PER_TOKEN).saturating_sub(11);
        s.ctx.charge(who.id, s.peer.ip(), tokens as u32);
    }
    s.reply(listed.map(|(lines, _)| Reply::listing(lines)))
}

/// The key of `from`'s message `id` of `chat`: one per message, whatever
/// the case it is named in.
fn key(chat: &Chat, from: &str, id: &str) -> String {
    format!("{}:{}:{id}", fold(&chat.to_string()), fold(from))
}

/// Stores the change, waits for it to be durable, and tells `who`'s devices.
fn mark(s: &Session, who: Who, chat: &Chat, from: &str, id: &str, starred: bool) -> Result<(), Ko> {
    let store: &dyn Backend = &**s.ctx.store;
    let (from, ts) = match starred {
        true => {
            let line = visible(store, who.id, chat, from, id)?;
            (line.from, Some(line.ts.to_string()))
        }
        false => (from.to_string(), None),
    };
    let ticket = store.set_setting(who.id, &STAR, &key(chat, &from, id), ts.as_deref())?;
    store.wait(ticket)?;
    let event = Event::Star { chat: chat.to_string(), from, id: id.to_string(), starred };
    relay(s.ctx, [who.id], &event);
    Ok(())
}

/// `from`'s message `id` of `chat` as `HISTORY` shows it to `user`, if it
/// is there and not deleted; the refusal that says why not otherwise.
fn visible(store: &dyn Backend, user: UserId, chat: &Chat, from: &str, id: &str) -> Result<HistoryLine, Ko> {
    let (lines, fates) = conversation(store, user, chat, MAX_HISTORY_BYTES)?;
    let found = find(&lines, from, id).map(|at| &lines[at]);
    if let Some(line) = found.filter(|l| !star_shows(&fates, &l.from, id)) {
        return Err(Ko::new(Code::UnknownMessage, format!("the message {id} of {} was deleted", line.from)));
    }
    match found.filter(|l| fates.is_live(&l.from, id)) {
        Some(line) => Ok(line.clone()),
        None => {
            let reason =
                format!("there is no message {id} of {from} in {chat} among its newest {MAX_HISTORY}");
            Err(Ko::new(Code::UnknownMessage, reason))
        }
    }
}

/// Where the newest message `id` of `from` (ignoring case) is among `lines`.
fn find(lines: &[HistoryLine], from: &str, id: &str) -> Option<usize> {
    lines.iter().rposition(|l| l.id == id && l.from.eq_ignore_ascii_case(from))
}

/// A conversation as `HISTORY` reads it (oldest first, within
/// `max_bytes`) and what its actions did to it; the bytes it read.
fn conversation(
    store: &dyn Backend,
    user: UserId,
    chat: &Chat,
    max_bytes: usize,
) -> Result<(Vec<HistoryLine>, Fates), Ko> {
    let lines = store.history(user, chat, MAX_HISTORY, max_bytes)?.messages()?;
    let mut fates = Fates::since(store.actions_since()?);
    for line in lines.iter().rev() {
        fates.observe(&line.from, &line.id, line.ts, &line.text);
    }
    Ok((lines, fates))
}

/// `user`'s stars that show (`star_shows`), newest message first, each
/// a `HISTORY` line with its text as it reads now; and the bytes of
/// conversations read, at most [`MAX_READ_BYTES`]. `STARRED` and an
/// account's export (`server::accounts`) both list them so.
pub fn starred(store: &dyn Backend, user: UserId) -> Result<(Vec<String>, usize), Ko> {
    let mut stars: Vec<(u64, Chat, String, String)> = Vec::new();
    for (key, ts) in store.settings(user, &STAR)? {
        let mut parts = key.splitn(3, ':');
        let (Some(chat), Some(from), Some(id)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let Ok(chat) = Chat::parse(chat) else { continue };
        stars.push((ts.parse().unwrap_or(0), chat, from.to_string(), id.to_string()));
    }
    stars.sort_by_key(|star| std::cmp::Reverse(star.0));
    // The chats in the order of their newest star, each read once.
    let mut chats: Vec<Chat> = Vec::new();
    for (_, chat, _, _) in &stars {
        if !chats.contains(chat) {
            chats.push(chat.clone());
        }
    }
    let (mut shown, mut read) = (Vec::new(), 0);
    for chat in chats {
        let left = MAX_READ_BYTES.saturating_sub(read).min(MAX_HISTORY_BYTES);
        if left == 0 {
            break;
        }
        // A chat you may no longer read (a room you left) shows no star.
        let Ok((lines, fates)) = conversation(store, user, &chat, left) else { continue };
        read += lines.iter().map(|l| l.to_string().len() + 1).sum::<usize>();
        for (_, _, from, id) in stars.iter().filter(|(_, c, _, _)| *c == chat) {
            let Some(at) = find(&lines, from, id) else { continue };
            let mut line = lines[at].clone();
            if star_shows(&fates, &line.from, id) {
                line.text = fates.shown(&line.from, &line.id, &line.text);
                shown.push(((line.ts, at), line));
            }
        }
    }
    // Newest first; two of one millisecond in the order of their chat.
    shown.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
    Ok((shown.into_iter().map(|(_, line)| line.to_string()).collect(), read))
}
