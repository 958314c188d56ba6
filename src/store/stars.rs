//! Starred messages (protocol 1.2, §25): what a user's stars are kept
//! as, and what they show. A star is a *setting* ([`STAR`],
//! `store::settings`, kept in the log as every setting is): its key names the message
//! (`protocol::prefs::star_key`), its value is the message's time, so
//! that the newest can be listed first before any message is read.
//!
//! Two callers list the stars the same way, through [`starred`]: the
//! `STARRED` request (`server::requests::star`) and an account's export
//! (`server::accounts`). A star is only made of a message as `HISTORY`
//! shows it ([`visible`]); a deletion hides it (`protocol::erase::star_shows`).

use crate::protocol::action::ActionsSince;
use crate::protocol::erase::star_shows;
use crate::protocol::fates::{Fates, newest};
use crate::protocol::{Chat, Code, HistoryLine, Ko, MAX_HISTORY, MAX_HISTORY_BYTES};
use crate::store::settings::{KeptKey, Keys, Setting};
use crate::store::{LocalStore, UserId};

/// Most messages one user may star (`KO:FULL` for one more).
pub const MAX_STARRED: usize = 500;

/// Most bytes of conversations one `STARRED` reads to show the stars
/// (as a `SEARCH:*`): 8 MiB, the chats of the newest stars first. A star
/// past it is not listed that time (§25 says so).
pub const MAX_READ_BYTES: usize = super::search::MAX_READ_BYTES as usize;

/// The setting stars are kept as: key, `<chat>:<from>:<id>` folded;
/// value, the message's time (ms).
pub const STAR: Setting = Setting {
    name: "star",
    most: MAX_STARRED,
    what: "starred messages",
    longest: crate::store::settings::MAX_VALUE,
};

/// `from`'s message `id` of `chat` as `HISTORY` shows it to `user`, if it
/// is there and not deleted; the refusal that says why not otherwise.
pub fn visible(
    store: &LocalStore,
    user: UserId,
    chat: &Chat,
    from: &str,
    id: &str,
) -> Result<HistoryLine, Ko> {
    let (lines, fates) = conversation(store, (user, store.server().actions_since), chat, MAX_HISTORY_BYTES)?;
    let found = newest(&lines, Some(from), id).map(|at| &lines[at]);
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

/// A conversation as `HISTORY` reads it (oldest first, within
/// `max_bytes`) and what its actions did to it; the bytes it read.
/// `since` is the store's `actions_since`, read once by the caller.
fn conversation(
    store: &LocalStore,
    (user, since): (UserId, ActionsSince),
    chat: &Chat,
    max_bytes: usize,
) -> Result<(Vec<HistoryLine>, Fates), Ko> {
    let lines = store.history(user, chat, MAX_HISTORY, max_bytes)?.messages()?;
    let fates = Fates::of(since, &lines);
    Ok((lines, fates))
}

/// `user`'s stars that show (`star_shows`), newest message first, each
/// a `HISTORY` line with its text as it reads now; and the bytes of
/// conversations read, at most [`MAX_READ_BYTES`]. `STARRED` and an
/// account's export (`server::accounts`) both list them so.
pub fn starred(store: &LocalStore, user: UserId) -> Result<(Vec<String>, usize), Ko> {
    let mut stars: Vec<(u64, Chat, String, String)> = Vec::new();
    for KeptKey { key, value: ts, .. } in store.read_settings(&STAR, Keys::Of(user)) {
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
    // Where the server's own action ids begin: one reading for every chat.
    let since = store.server().actions_since;
    for chat in chats {
        let left = MAX_READ_BYTES.saturating_sub(read).min(MAX_HISTORY_BYTES);
        if left == 0 {
            break;
        }
        // A chat you may no longer read (a room you left) shows no star.
        let Ok((lines, fates)) = conversation(store, (user, since), &chat, left) else { continue };
        read += lines.iter().map(|l| l.to_string().len() + 1).sum::<usize>();
        for (_, _, from, id) in stars.iter().filter(|(_, c, _, _)| *c == chat) {
            let Some(at) = newest(&lines, Some(from), id) else { continue };
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
