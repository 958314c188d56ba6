//! What a chat screen shows at a glance, for the line console and any
//! other front end (a full-screen one): the list of chats with their
//! unread counts, last message and time; who is online or since when; the
//! members of a room; a conversation as a person reads it (its older
//! pages as the person scrolls up are `pages.rs`'s).
//!
//! Each works offline too, from the local log, and says so: a front end
//! shows what it has. Presence needs protocol 1.1 (`LASTSEEN`,
//! `MEMBERS`): against a version-1 server it is simply unknown.

use std::collections::HashSet;

use super::fold::fold_parts;
use super::history::key;
use super::requests::{listing_lines, parse_chats, parse_history_line, unexpected};
use super::{Client, Message};
use crate::error::{Error, Result};
use crate::i18n::client::{self as words, Msg};
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Reply, Request, SeenLine};

/// Whether a user is online, as the server says (a wire type).
pub use crate::protocol::Presence;

/// A user as the server knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// The name as registered (`/chat BOB` opens the chat with `bob`).
    pub name: String,
    /// `None` when the server cannot say (it speaks protocol 1.0 only).
    pub presence: Option<Presence>,
}

/// One line of the chat list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSummary {
    pub chat: Chat,
    /// Messages to you in it not read yet.
    pub unread: u64,
    /// Its newest message (a preview and a time), if the client can see it.
    pub last: Option<Message>,
    /// For a direct chat while online: is the other user online. `None`
    /// for a room, and while offline.
    pub online: Option<bool>,
}

/// A conversation's last messages, and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// True if the server could not be asked: from the local log only.
    pub offline: bool,
}

impl Client {
    /// A user, looked up on the server: its name as registered and
    /// whether it is online (protocol 1.1's `LASTSEEN`). Against a
    /// version-1 server, the user's existence is checked with `HISTORY`
    /// and its presence is `None`. `Err(Refused)` with
    /// `UNKNOWN_USER` if there is no such user.
    pub fn lookup(&self, user: &str) -> Result<UserInfo> {
        words::check_user(crate::i18n::current(), user).map_err(Error::Usage)?;
        let what = tr!(Msg::ReqLookUp, user = user);
        match self.request(Request::LastSeen { user: user.to_string() })? {
            Reply::OkWith(fields) => parse_seen(&fields).map_err(|e| Error::Protocol(format!("{what}: {e}"))),
            Reply::Ko(ko) if ko.code == Code::BadRequest => self.lookup_v1(user),
            Reply::Ko(ko) => Err(Error::Refused { request: what, ko }),
            other => Err(unexpected(&what, &other)),
        }
    }

    /// [`Client::lookup`] on a version-1 server: one `HISTORY` line, whose
    /// names are spelled as registered.
    fn lookup_v1(&self, user: &str) -> Result<UserInfo> {
        let chat = Chat::User(user.to_string());
        let name = match self.history(&chat, 1)?.pop() {
            Some(m) => m.chat(self.me()).to_string(),
            None => user.to_string(),
        };
        Ok(UserInfo { name, presence: None })
    }

    /// Presence of several users in one round trip; users the server does
    /// not know are left out. Empty against a version-1 server.
    pub fn presence_of(&self, users: &[String]) -> Result<Vec<UserInfo>> {
        let requests = users.iter().map(|user| Request::LastSeen { user: user.clone() }).collect();
        let mut found = Vec::new();
        for reply in self.requests(requests)? {
            match reply {
                Reply::OkWith(fields) => found.push(parse_seen(&fields).map_err(Error::Protocol)?),
                Reply::Ko(ko) if ko.code == Code::BadRequest => return Ok(Vec::new()),
                _ => {}
            }
        }
        Ok(found)
    }

    /// The members of a room you are in, sorted, each with its presence
    /// (protocol 1.1's `MEMBERS`).
    pub fn members(&self, room: &str) -> Result<Vec<UserInfo>> {
        let room = words::parse_room(crate::i18n::current(), room).map_err(Error::Usage)?;
        let what = tr!(Msg::ReqMembers, room = format!("#{room}"));
        let lines = self.listing(Request::Members { room }, &what)?;
        lines
            .iter()
            .map(|line| parse_seen(line).map_err(|e| Error::Protocol(format!("{what}: {e}"))))
            .collect()
    }

    /// 1.2 (§26): the people whose names start with `start`, among the
    /// members of your rooms, sorted, each with its presence (`PEOPLE`).
    pub fn people(&self, start: &str) -> Result<Vec<UserInfo>> {
        let what = tr!(Msg::ReqPeople, start = start);
        let lines = self.listing(Request::People { prefix: start.to_string() }, &what)?;
        lines
            .iter()
            .map(|line| parse_seen(line).map_err(|e| Error::Protocol(format!("{what}: {e}"))))
            .collect()
    }

    /// The chat list, most recent first: from the server when it can be
    /// reached (`CHATS` for the unread counts, `USERS` for who is online,
    /// one `HISTORY:<chat>:1` each for the last message, in one round
    /// trip), with the direct-chat messages of the local log put in; else
    /// from the local log alone. The `bool` is true when offline.
    pub fn chat_list(&self) -> Result<(Vec<ChatSummary>, bool)> {
        let local = self.shared.log.lock().summaries(self.me());
        let from_server = match self.server_chat_list() {
            Ok(chats) => chats,
            Err(e @ (Error::Refused { .. } | Error::Protocol(_))) => return Err(e),
            Err(_) => {
                let chats = local.into_iter().map(|(chat, last, unread)| ChatSummary {
                    chat,
                    unread,
                    last: Some(last),
                    online: None,
                });
                return Ok((chats.collect(), true));
            }
        };
        Ok((with_local(from_server, local), false))
    }

    /// The server's chat list, its counts and previews taken together.
    /// `CHATS` and the previews' `HISTORY` are separate requests, and a
    /// message may land between them: a preview newer than its count
    /// would make [`LiveChats::replace`](super::live::LiveChats::replace)
    /// take a count that misses it. So `CHATS` is asked again after the
    /// previews, in the same round trip, and the previews hold only if
    /// the counts did not change meanwhile; else once more, up to
    /// [`SNAPSHOT_TRIES`] times.
    fn server_chat_list(&self) -> Result<Vec<ChatSummary>> {
        let mut counts = self.chats()?;
        let online: HashSet<String> = self.users()?.iter().map(|u| fold(u)).collect();
        let mut tries = 1;
        let (chats, previews) = loop {
            let mut chats = Vec::new();
            for (name, unread) in &counts {
                let chat = Chat::parse(name).map_err(|e| Error::Protocol(format!("CHATS: {e}")))?;
                chats.push((chat, *unread));
            }
            let mut requests: Vec<Request> = chats
                .iter()
                .map(|(chat, _)| Request::History { chat: chat.clone(), limit: PREVIEW_SCAN, page: None })
                .collect();
            requests.push(Request::Chats);
            let mut replies = self.requests(requests)?;
            // One reply a request: the last is the second `CHATS`'s.
            let again = replies.pop().ok_or_else(|| Error::Protocol("CHATS: no reply".into()))?;
            let after = parse_chats(&listing_lines(again, &tr!(Msg::ReqChats))?)?;
            if after == counts || tries == SNAPSHOT_TRIES {
                break (chats, replies);
            }
            counts = after;
            tries += 1;
        };
        let mut list = Vec::new();
        for ((chat, unread), reply) in chats.into_iter().zip(previews) {
            let last = match reply {
                Reply::Listing(lines) => {
                    let messages = lines.iter().map(|l| parse_history_line(l)).collect::<Result<Vec<_>>>()?;
                    preview(messages)
                }
                _ => None,
            };
            let online = match &chat {
                Chat::User(peer) => Some(online.contains(&fold(peer))),
                Chat::Room(_) => None,
            };
            list.push(ChatSummary { chat, unread, last, online });
        }
        Ok(list)
    }

    /// The last `n` messages of a chat, as a person reads them: from the
    /// server when it can be reached (it has everything), with the
    /// direct-chat messages of the local log put in by time (the server
    /// never saw them); else from the local log. `Err(Refused)` if the
    /// server says no (no such user, not a member).
    pub fn conversation(&self, chat: &Chat, n: usize) -> Result<Conversation> {
        match self.history(chat, n) {
            Ok(messages) => {
                let local = self.local_history(chat, n);
                let log = self.shared.log.lock();
                let position = |m: &Message| log.position(&m.from, &m.id);
                Ok(Conversation { messages: with_direct(messages, local, n, position), offline: false })
            }
            Err(e @ (Error::Refused { .. } | Error::Protocol(_))) => Err(e),
            Err(_) => Ok(Conversation { messages: self.local_history(chat, n), offline: true }),
        }
    }
}

/// A chat's newest messages that the chat list reads for its preview: an
/// action (a reaction, an edit, 1.2) is not a message, so the newest one
/// may be a few lines back.
const PREVIEW_SCAN: usize = 10;

/// How many times [`Client::chat_list`] asks for the previews when
/// messages keep landing between its `CHATS` and its `HISTORY`s: past
/// that, a busy list shows what it has, and the notices that follow
/// bring it up to date.
const SNAPSHOT_TRIES: usize = 5;

/// The preview of a chat whose newest messages are `messages` (oldest
/// first): its newest message that is not an action, as it now reads
/// (edited, or deleted), without the marks of the conversation's view.
/// `None` if they are all actions.
fn preview(messages: Vec<Message>) -> Option<Message> {
    fold_parts(messages).pop().map(|f| f.message)
}

/// `<user>:<ONLINE|ts|UNKNOWN>`, from `LASTSEEN` or `MEMBERS`.
fn parse_seen(fields: &str) -> std::result::Result<UserInfo, String> {
    let SeenLine { user, presence } = SeenLine::parse(fields)?;
    Ok(UserInfo { name: user, presence: Some(presence) })
}

/// The server's chat list with the local log's direct-chat messages: a
/// newer direct message becomes the chat's last, and a chat only ever
/// held over direct connections is added. Most recent first.
fn with_local(mut list: Vec<ChatSummary>, local: Vec<(Chat, Message, u64)>) -> Vec<ChatSummary> {
    for (chat, last, _) in local.into_iter().filter(|(_, last, _)| last.p2p) {
        let key = fold(&chat.to_string());
        match list.iter_mut().find(|s| fold(&s.chat.to_string()) == key) {
            Some(summary) if summary.last.as_ref().is_none_or(|m| m.ts < last.ts) => {
                summary.last = Some(last)
            }
            Some(_) => {}
            None => list.push(ChatSummary { chat, unread: 0, last: Some(last), online: None }),
        }
    }
    // Stable: chats without a known last message keep the server's order.
    list.sort_by_key(|s| std::cmp::Reverse(s.last.as_ref().map_or(0, |m| m.ts)));
    list
}

/// The server's history of a chat with the direct messages of the local log
/// put in (the server never saw them), by time, the last `n`. The server's
/// messages keep the server's order, which their times cannot always
/// tell (several share a millisecond). A direct message goes before the
/// first server message that is later, or of the same millisecond and
/// logged after it by this client (`position` in the local log: the order
/// it saw them happen; a message it never logged comes after).
///
/// A direct message can be on the server too: when the direct chat closed
/// before the peer heard our `ACK`, the peer relayed it through the server
/// with its id (its fallback). It is one message, as the local log keeps
/// it (`History::add_received`): the direct one, at the time it came.
fn with_direct(
    mut messages: Vec<Message>,
    local: Vec<Message>,
    n: usize,
    position: impl Fn(&Message) -> Option<usize>,
) -> Vec<Message> {
    let mut direct: Vec<Message> = local.into_iter().filter(|m| m.p2p).collect();
    let came_direct: HashSet<(String, String)> = direct.iter().map(|m| key(&m.from, &m.id)).collect();
    messages.retain(|m| !came_direct.contains(&key(&m.from, &m.id)));
    let place = |m: &Message| (m.ts, position(m).unwrap_or(usize::MAX));
    direct.sort_by_cached_key(place);
    let mut direct = direct.into_iter().peekable();
    let mut all = Vec::with_capacity(messages.len() + direct.len());
    for m in messages {
        while let Some(d) = direct.next_if(|d| place(d) < place(&m)) {
            all.push(d);
        }
        all.push(m);
    }
    all.extend(direct);
    let extra = all.len().saturating_sub(n);
    all.drain(..extra);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MsgState, Text};

    fn m(from: &str, to: &str, id: &str, ts: u64, p2p: bool) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: id.into(),
            ts,
            state: MsgState::Delivered,
            text: Text::from_plain("hi").unwrap(),
            refused: None,
            p2p,
        }
    }

    #[test]
    fn the_preview_is_the_newest_message_as_it_now_reads() {
        let said = |from: &str, id: &str, ts: u64, text: &str| Message {
            text: Text::from_plain(text).unwrap(),
            ..m(from, "ana", id, ts, false)
        };
        // A message, its edit, a reaction to it: the edited message.
        let edited = preview(vec![
            said("bob", "b1", 1, "si carl"),
            said("bob", "_e2_b1", 2, "✎ sí carl"),
            said("ana", "_r3_b1", 3, "❤️ to: sí carl"),
        ])
        .unwrap();
        assert_eq!((edited.id.as_str(), edited.text.unescaped().as_str(), edited.ts), ("b1", "sí carl", 1));
        // Deleted: it says so.
        let deleted =
            preview(vec![said("bob", "b1", 1, "hola"), said("bob", "_d2_b1", 2, "(message deleted)")]);
        assert_eq!(deleted.unwrap().text.unescaped(), "(message deleted)");
        // Only actions in sight: no preview rather than an action.
        assert_eq!(preview(vec![said("ana", "_r3_b1", 3, "❤️ to: hola")]), None);
    }

    #[test]
    fn presence_fields_are_read_strictly() {
        let info = |s| parse_seen(s).map(|i| (i.name, i.presence.unwrap()));
        assert_eq!(info("bob:ONLINE"), Ok(("bob".into(), Presence::Online)));
        assert_eq!(info("bob:1700000000000"), Ok(("bob".into(), Presence::LastSeen(1_700_000_000_000))));
        assert_eq!(info("bob:UNKNOWN"), Ok(("bob".into(), Presence::Unknown)));
        assert!(info("bob:yesterday").is_err());
        assert!(info("b\u{1b}b:ONLINE").is_err(), "not a name");
        assert!(info("bob").is_err());
    }

    #[test]
    fn direct_messages_take_their_place_by_time() {
        let server = vec![m("ana", "bob", "s1", 10, false), m("ana", "bob", "s2", 30, false)];
        let local = vec![
            m("ana", "bob", "s1", 10, false),
            m("ana", "bob", "p1", 20, true),
            m("bob", "ana", "q1", 30, true),
        ];
        // The order the local log saw them: s1, p1, q1, s2 (q1 and s2 in one ms).
        let logged = ["s1", "p1", "q1", "s2"];
        let position = |m: &Message| logged.iter().position(|id| *id == m.id);
        let ids: Vec<String> = with_direct(server, local, 3, position).into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["p1", "q1", "s2"]);
    }

    #[test]
    fn a_direct_message_the_peer_relayed_through_the_server_too_is_listed_once() {
        // bob's q1 came directly at 20; the chat closed before bob heard
        // the ACK, so bob sent it through the server, which timed it 40.
        let server = vec![
            m("ana", "bob", "s1", 10, false),
            m("Bob", "ana", "q1", 40, false),
            m("ana", "bob", "s2", 50, false),
        ];
        let local = vec![m("ana", "bob", "s1", 10, false), m("bob", "ana", "q1", 20, true)];
        let position = |_: &Message| None;
        let listed = with_direct(server, local, 10, position);
        let ids: Vec<(&str, bool)> = listed.iter().map(|m| (m.id.as_str(), m.p2p)).collect();
        assert_eq!(ids, [("s1", false), ("q1", true), ("s2", false)]);
    }

    #[test]
    fn the_servers_messages_of_one_millisecond_keep_the_servers_order() {
        // b1 was logged here (it came on the receive port); a1 and a2 were
        // sent from another device: the server stored a1, b1, a2.
        let server = vec![
            m("ana", "bob", "a1", 10, false),
            m("bob", "ana", "b1", 10, false),
            m("ana", "bob", "a2", 10, false),
        ];
        let logged = ["b1"];
        let position = |m: &Message| logged.iter().position(|id| *id == m.id);
        let ids: Vec<String> =
            with_direct(server, Vec::new(), 10, position).into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["a1", "b1", "a2"]);
    }

    #[test]
    fn the_chat_list_takes_newer_direct_messages_and_direct_only_chats() {
        let summary = |chat: &str, ts| ChatSummary {
            chat: Chat::parse(chat).unwrap(),
            unread: 1,
            last: Some(m("x", chat, "s", ts, false)),
            online: Some(true),
        };
        let server = vec![summary("#general", 50), summary("bob", 30)];
        let local = vec![
            (Chat::parse("Bob").unwrap(), m("bob", "ana", "p", 60, true), 0),
            (Chat::parse("dave").unwrap(), m("dave", "ana", "d", 10, true), 0),
            (Chat::parse("#general").unwrap(), m("x", "#general", "old", 5, false), 0),
        ];
        let list = with_local(server, local);
        let got: Vec<(String, String)> =
            list.iter().map(|s| (s.chat.to_string(), s.last.as_ref().unwrap().id.clone())).collect();
        let expected = [("bob", "p"), ("#general", "s"), ("dave", "d")];
        assert_eq!(got, expected.map(|(c, id)| (c.to_string(), id.to_string())));
        assert_eq!(list[0].unread, 1, "the server's count stays");
    }
}
