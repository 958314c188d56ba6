//! Message actions (protocol 1.2, docs/PROTOCOL.md §19): `REPLY`, `EDIT`,
//! `DELETE`, `REACT`, and what they do to `HISTORY`.
//!
//! Each action is checked here against the conversation as the store
//! has it (its newest [`MAX_HISTORY`] messages, read with `history`, so
//! that a single server and every node of a cluster serve actions the
//! same way),
//! then stored as a `MSG` of its author (`protocol::action` says why and
//! how): the store numbers it, delivers it, replays it to a device that
//! was offline and deduplicates a resend, as for any message.
//!
//! The rules: only the author edits (within `--edit-minutes`) or deletes
//! (within `--delete-hours`) a message; a deleted message takes no
//! further action; an edit sent again with the same text, or a delete sent
//! again, gets the first one's `OK`.
//!
//! A room's admins, its owner and the server's admins may also delete
//! another member's message (`DELETE:<#room>:<id>:<author>`), the check
//! behind [`may_delete`]: of someone of a lower rank only (as for `KICK`:
//! an admin cannot delete the owner's message, nor another admin's), with
//! no time limit (spam is found late; `--delete-hours` is the author's
//! second thoughts), among the newest 1,000 messages of the room as
//! always. It is stored as an `_x` action of the admin's, and erased as
//! the author's own delete is.

use std::time::Duration;

use super::base::Base;
use crate::protocol::action::{self, Act, ActionId};
use crate::protocol::fates::Fates;
use crate::protocol::link::Bounce;
use crate::protocol::page::Start;
use crate::protocol::{
    Chat, Code, HistoryLine, Ko, MAX_HISTORY, MAX_HISTORY_BYTES, MAX_TEXT, MsgState, Reply, Role,
    RoomInfoLine, Text,
};
use crate::store::{Account, LocalStore, Ticket, UserId, now_ms};

/// May `me` delete `author`'s message (someone else's) in `chat`? Only
/// in a room, where `me` moderates (a room admin, the owner or a server
/// admin) and `author` ranks lower (`KO:FORBIDDEN` otherwise). A rank is
/// read from the room's rules (`ROOMINFO`'s `ROLE`); an author no longer
/// in the room has none.
pub fn may_delete(base: &Base, me: UserId, author: &Account, chat: &Chat) -> Result<(), Ko> {
    let Chat::Room(room) = chat else {
        return Err(Ko::new(Code::Forbidden, "in a direct chat you may delete only your own messages"));
    };
    let rank = |user: UserId| {
        let lines = base.store.room_info(user, room).unwrap_or_default();
        lines.into_iter().find_map(|l| if let RoomInfoLine::Role(r) = l { Some(r) } else { None })
    };
    let mine = rank(me).unwrap_or(Role::None);
    if !mine.moderates() {
        let reason = format!("only the admins of #{room} may delete another member's message");
        return Err(Ko::new(Code::Forbidden, reason));
    }
    if rank(author.id).unwrap_or(Role::None) >= mine {
        let reason = format!("{} is of your rank or above in #{room}", author.name);
        return Err(Ko::new(Code::Forbidden, reason));
    }
    Ok(())
}

/// `REPLY:<to>:<id>:<re>:<text>`: a message whose text starts with a
/// quote of the message `re`.
pub fn reply(
    base: &Base,
    user: UserId,
    to: &Chat,
    id: &str,
    re: &str,
    text: &Text,
) -> Result<(Reply, Ticket), Ko> {
    check_own_id(id)?;
    let (lines, fates) = conversation(base, user, to)?;
    let target = find(&fates, &lines, None, re, to)?;
    let quoted = fates.text_of(&target.from, &target.id, &target.text);
    let text =
        action::reply_text(&target.from, &quoted, text).map_err(|_| too_long("the reply with its quote"))?;
    store(base, user, to, id.to_string(), text)
}

/// `EDIT:<to>:<id>:<text>`.
pub fn edit(
    base: &Base,
    user: UserId,
    name: &str,
    to: &Chat,
    id: &str,
    text: &Text,
) -> Result<(Reply, Ticket), Ko> {
    let (lines, fates) = conversation(base, user, to)?;
    let target = find(&fates, &lines, Some(name), id, to)?;
    if let Some((edit, _)) = fates.edit(name, id).filter(|(_, t)| t == text) {
        return Ok((Reply::with(edit), Ticket(0))); // a resend: nothing new
    }
    in_time(target, base.config.actions.edit, "edit")?;
    let new = action::edit_text(text).map_err(|_| too_long("the edit"))?;
    store(base, user, to, action_id(Act::Edit, id), new)
}

/// `DELETE:<to>:<id>`, or an admin's `DELETE:<#room>:<id>:<author>`:
/// stored, then its erasure recorded (`store::local::erase`).
pub fn delete(
    base: &Base,
    user: UserId,
    name: &str,
    to: &Chat,
    id: &str,
    author: Option<&str>,
) -> Result<(Reply, Ticket), Ko> {
    // Someone else's message: its author as registered, and the rank rule.
    let other = match author.filter(|a| !a.eq_ignore_ascii_case(name)) {
        Some(a) => {
            let account = base.store.find_account(a).ok_or_else(|| Ko::no_user(a))?;
            may_delete(base, user, &account, to)?;
            Some(account.name)
        }
        None => None,
    };
    let author = other.as_deref().unwrap_or(name);
    let (lines, fates) = conversation(base, user, to)?;
    if let Some(done) = fates.deleted(author, id) {
        base.store.erase(author, to, id)?; // a resend: the erasure again, if a crash lost it
        crate::server::files::deleted(base, author, to, id);
        return Ok((Reply::with(done), Ticket(0)));
    }
    let target = find(&fates, &lines, Some(author), id, to)?;
    let (act, text) = match &other {
        Some(author) => (Act::Remove, action::removed_text(author)),
        None => {
            in_time(target, base.config.actions.delete, "delete")?;
            (Act::Delete, action::deleted_text())
        }
    };
    // A DELETE to a peer who blocked its author goes through the send's
    // one rule too (`meaning::send`), so that a spent quota or a full
    // inbox refuses it as it would anyone's: the block shows in no answer.
    let hidden = base.store.hides(user, to);
    let (reply, ticket) = store(base, user, to, action_id(act, id), text)?;
    // Erased only once the DELETE is durable: a crash before it must not
    // erase a message whose deletion nobody was told of.
    base.store.wait(ticket)?;
    // Hidden, it was stored nowhere; unless an UNBLOCK came between the
    // question and the send, which the stored DELETE shows.
    if hidden && conversation(base, user, to)?.1.deleted(author, id).is_none() {
        return Ok((hidden_delete(target), ticket));
    }
    base.store.erase(author, to, id)?;
    crate::server::files::deleted(base, author, to, id);
    Ok((reply, ticket))
}

/// 1.2 (§22): the `OK` of the author's `DELETE` of `target` in a direct
/// chat whose peer blocked the author. Like every message of his to that
/// peer, it is stored nowhere, and so it deletes and erases nothing: the
/// message stays as both had it. Nothing is stored to remember it by, so
/// its action id and time are made from the message it names: a resend
/// gets the same `OK`, as a stored `DELETE`'s resend does (§19).
fn hidden_delete(target: &HistoryLine) -> Reply {
    let id = ActionId { act: Act::Delete, stamp: target.ts, target: target.id.clone() };
    Reply::with(crate::protocol::Accepted { id: id.to_string(), ts: target.ts })
}

/// Refuses a `MSG` or `REPLY` whose id only the server makes (an
/// action's, `_e…`, `_d…`, `_r…`, `_u…`, `_x…`). `Request::parse` refuses
/// them already (`action::check_sent_id`, the rule's one place); this is
/// for a request made in the server's own code.
pub fn check_own_id(id: &str) -> Result<(), Ko> {
    action::check_sent_id(id).map_err(|reason| Ko::new(Code::BadRequest, reason))
}

/// `REACT:<to>:<id>:<emoji>`: adds the reaction, or takes it back.
pub fn react(
    base: &Base,
    user: UserId,
    name: &str,
    to: &Chat,
    id: &str,
    emoji: &str,
) -> Result<(Reply, Ticket), Ko> {
    let (lines, fates) = conversation(base, user, to)?;
    let target = find(&fates, &lines, None, id, to)?;
    let added = !fates.reacted(name, id, emoji);
    let text = action::react_text(emoji, added, &fates.text_of(&target.from, &target.id, &target.text));
    let act = if added { Act::React } else { Act::Unreact };
    store(base, user, to, action_id(act, id), text)
}

/// `HISTORY`'s lines as shown: the newest `limit` messages of `chat`
/// (within [`MAX_HISTORY_BYTES`]), an edited message with its newest
/// text; a deleted one, its edits and the reactions to it as
/// [`action::DELETED`], and the quote of it in a reply too. (Before the
/// eraser's pass the texts are still in the log; from here they never
/// leave the server.) `HISTORY` and an account's export both show them so.
/// 1.3: in a chat with a user of another server, a message of `user`'s
/// that bounced is `FAILED`, its bounce's readable line right after it
/// ([`bounce_line`]; one line more than `limit`
/// each, at most `state::bounces::BOUNCES_KEPT`).
pub fn history(store: &LocalStore, user: UserId, chat: &Chat, limit: usize) -> Result<Vec<String>, Ko> {
    Ok(history_page(store, user, chat, Start::Newest, limit)?.0)
}

/// 1.2: a page of `HISTORY` from `start` back, shown as [`history`]
/// shows the newest, and where the page before it starts.
pub fn history_page(
    store: &LocalStore,
    user: UserId,
    chat: &Chat,
    start: Start,
    limit: usize,
) -> Result<(Vec<String>, Option<u64>), Ko> {
    history_page_as(store, user, chat, (start, false), limit)
}

/// [`history_page`], with (`room_ticks`, 1.2 §31) the asker's own room
/// messages `DELIVERED` or `READ` as its direct ones are
/// (`LocalStore::history_page`), for a connection that logged in
/// as a device.
pub fn history_page_as(
    store: &LocalStore,
    user: UserId,
    chat: &Chat,
    (start, room_ticks): (Start, bool),
    limit: usize,
) -> Result<(Vec<String>, Option<u64>), Ko> {
    let listing = store.history_page(user, chat, (start, room_ticks), limit, MAX_HISTORY_BYTES)?;
    let before = listing.before;
    let lines = listing.messages()?;
    let fates = Fates::of(store.server().actions_since, &lines);
    let bounced = match chat {
        Chat::User(peer) if peer.contains('@') => store.bounces_to(user, peer),
        _ => Vec::new(),
    };
    let mut shown = Vec::with_capacity(lines.len());
    for mut line in lines {
        line.text = fates.shown(&line.from, &line.id, &line.text);
        let bounce =
            bounced.iter().find(|b| *b.id == *line.id && line.to.to_string().eq_ignore_ascii_case(&b.peer));
        let Some(b) = bounce else {
            shown.push(line.to_string());
            continue;
        };
        // 1.3: the message `FAILED`, then why, readable by every version.
        line.state = MsgState::Failed;
        let author = line.from.clone();
        shown.push(line.to_string());
        let told = Bounce {
            seq: 0,
            peer: &b.peer,
            author: &author,
            id: &b.id,
            ts: b.ts,
            reason: &b.reason,
            minor: 0,
        };
        shown.push(bounce_line(&told).map_err(|e| Ko::new(Code::Internal, e))?.to_string());
    }
    Ok((shown, before))
}

/// 1.3: the bounce of a direct message as a line of `HISTORY`, given
/// right after its message's (whose state is then `FAILED`): the
/// readable message a 1.0 client read in the chat when it bounced,
/// `<peer>:<author>:_x<ts>_failed:<ts>:RECEIVED:⚠ not delivered: <reason> (your message <id>)`,
/// so that every version, loading the chat later, reads why.
fn bounce_line(b: &Bounce) -> Result<HistoryLine, String> {
    Ok(HistoryLine {
        from: b.peer.to_string(),
        to: Chat::parse(b.author)?,
        id: b.message_id(),
        ts: b.ts,
        state: MsgState::Received,
        text: Text::parse(&b.message_text())?,
    })
}

/// The conversation as the store serves `HISTORY` (its newest lines,
/// oldest first), and what its actions did.
fn conversation(base: &Base, user: UserId, chat: &Chat) -> Result<(Vec<HistoryLine>, Fates), Ko> {
    let lines = base.store.history(user, chat, MAX_HISTORY, MAX_HISTORY_BYTES)?.messages()?;
    let fates = Fates::of(base.store.server().actions_since, &lines);
    Ok((lines, fates))
}

/// The newest message `id` (of `author`, if given) that is not an
/// action and not deleted.
fn find<'a>(
    fates: &Fates,
    lines: &'a [HistoryLine],
    author: Option<&str>,
    id: &str,
    chat: &Chat,
) -> Result<&'a HistoryLine, Ko> {
    let found = crate::protocol::fates::newest(lines, author, id).map(|at| &lines[at]);
    match found {
        Some(line) if fates.deleted(&line.from, id).is_some() => {
            Err(Ko::new(Code::UnknownMessage, format!("the message {id} was deleted")))
        }
        Some(line) if fates.is_live(&line.from, &line.id) => Ok(line),
        _ => {
            let whose = if author.is_some() { "you sent no" } else { "there is no" };
            let reason = format!("{whose} message {id} in {chat} among its newest {MAX_HISTORY}");
            Err(Ko::new(Code::UnknownMessage, reason))
        }
    }
}

/// A fresh id for an action on `target`, from a stamp that grows with
/// every action (two in the same millisecond get different stamps).
fn action_id(act: Act, target: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let mut last = LAST.load(Ordering::SeqCst);
    let stamp = loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    ActionId { act, stamp, target: target.to_string() }.to_string()
}

fn in_time(target: &HistoryLine, limit: Duration, what: &str) -> Result<(), Ko> {
    let age = now_ms().saturating_sub(target.ts);
    if limit.is_zero() || age > limit.as_millis() as u64 {
        let minutes = limit.as_secs() / 60;
        let reason =
            format!("too late to {what} {}: the limit is {minutes} minutes after sending", target.id);
        return Err(Ko::new(Code::BadRequest, reason));
    }
    Ok(())
}

fn too_long(what: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("{what} would be longer than {MAX_TEXT} bytes"))
}

/// Stores an action's message as a `MSG` of its author.
fn store(base: &Base, user: UserId, to: &Chat, id: String, text: Text) -> Result<(Reply, Ticket), Ko> {
    let (mut results, ticket) = base.store.send(user, &[(to.clone(), id, text)]);
    let accepted = results.pop().expect("one result per message")?;
    Ok((Reply::with(accepted), ticket))
}
