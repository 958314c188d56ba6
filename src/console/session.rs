//! What a command does, for both front ends: the line console
//! (`wachat connect`) and the full-screen one (`wachat connect --tui`,
//! [`crate::tui`]). One implementation of every slash command, so the two
//! can never disagree on what `/leave` or `/p2p bob` means.
//!
//! A [`ConsoleSession`] is the client, the language and the open chat; each
//! [`Typed`] ([`super::command`] parses it) is carried out against the
//! client, and what it has to show goes to an [`Output`], which each front
//! end implements its own way: the line console prints lines, the
//! full-screen one fills its panes. The commands block on the server (a
//! round trip each), so the full-screen console runs them on a thread of
//! their own and never on the thread that draws.
//!
//! `/quit` and `/help` are the front end's to handle (it knows how it
//! leaves, and what keys it has); everything else is here.

use std::collections::HashSet;

use parking_lot::Mutex;

use super::command::Typed;
use super::view;
use crate::client::{Client, Message, Presence, UserInfo, now_ms};
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, MsgState};

/// Where a command's answer goes.
pub trait Output {
    /// One line of an answer (`joined #tea`, a line of `/users`); it may
    /// quote text from the network: the front end shows it safely.
    fn line(&self, text: &str);
    /// `/chat` or `/history` opened a chat: show these messages.
    fn chat(&self, opened: &Opened);
}

/// A chat just opened by `/chat` or `/history`, as the server (or, offline,
/// the local log) has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The chat under its registered spelling (`/chat BOB` opens `bob`).
    pub chat: Chat,
    /// Whether its user is online, or since when not; `None` for a room,
    /// offline, or against a version-1 server.
    pub presence: Option<Presence>,
    /// Its last messages, oldest first.
    pub messages: Vec<Message>,
    /// How many were asked for: fewer came if the chat has no more.
    pub asked: usize,
    /// True if they come from the local log only (the server could not be asked).
    pub offline: bool,
}

/// A console's client, language and open chat.
pub struct ConsoleSession<'a> {
    /// The language of every line (and of the explanations of mistakes).
    pub lang: Lang,
    pub client: &'a Client,
    /// The chat plain text goes to; also the one whose messages get `READ`.
    open: Mutex<Option<Chat>>,
    /// 1.2: which message each number on screen is (`console::actions`).
    pub screen: super::numbers::Numbered,
    /// 1.2: the echoes of this console's own `/block`, `/notify`, `/pin` … still to come.
    pub expected: super::echo::Expected,
}

/// Messages `/chat` shows.
pub const CHAT_LINES: usize = 20;

/// Why a text is not sent even in several messages (see
/// [`crate::client::split::MAX_PARTS`]); `None` if it may be.
pub fn too_long_to_split(lang: Lang, text: &str) -> Option<String> {
    let parts = crate::client::split::split(text).len();
    (parts > crate::client::split::MAX_PARTS).then(|| too_many_parts(lang, text))
}

fn too_many_parts(lang: Lang, text: &str) -> String {
    let max = crate::client::split::MAX_PARTS;
    tr!(in lang; Msg::TooManyParts, len = text.len(), max = max, bytes = max * crate::protocol::MAX_TEXT)
}

impl<'a> ConsoleSession<'a> {
    pub fn new(lang: Lang, client: &'a Client) -> ConsoleSession<'a> {
        ConsoleSession {
            lang,
            client,
            open: Mutex::new(None),
            screen: Default::default(),
            expected: Default::default(),
        }
    }

    /// The open chat.
    pub fn open_chat(&self) -> Option<Chat> {
        self.open.lock().clone()
    }

    /// True if `chat` is the open chat (names compared ignoring case).
    pub fn is_open(&self, chat: &Chat) -> bool {
        self.open.lock().as_ref().is_some_and(|open| same_chat(open, chat))
    }

    /// Sends `text` to `chat`: as one message, or, past the protocol's
    /// 4,096 bytes, as several marked `(1/2) `, `(2/2) ` (see
    /// [`crate::client::split`]), said once before they go.
    fn send(&self, chat: &Chat, text: &str, out: &dyn Output) -> Result<()> {
        let parts = crate::client::split::split(text);
        if parts.len() > crate::client::split::MAX_PARTS {
            return Err(Error::Usage(too_many_parts(self.lang, text)));
        }
        if parts.len() > 1 {
            let (len, max) = (text.len(), crate::protocol::MAX_TEXT);
            out.line(&tr!(in self.lang; Msg::SentInParts, len = len, max = max, n = parts.len()));
        }
        for part in &parts {
            self.client.send(&chat.to_string(), part)?;
        }
        Ok(())
    }

    /// Carries out one command; `Err` is the line to show the user.
    /// `Quit` and `Help` do nothing here (see the module's header).
    pub fn act(&self, command: Typed, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        match command {
            Typed::Nothing | Typed::Quit | Typed::Help => {}
            Typed::Action(action) => {
                for line in super::actions::act(self.lang, self.client, &self.screen, action)? {
                    out.line(&line);
                }
            }
            Typed::Say(text) => {
                let open = self.open_chat();
                let chat = open.ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoChatOpenToSay)))?;
                self.send(&chat, &text, out)?;
            }
            Typed::Send { to, text } => self.send(&to, &text, out)?,
            Typed::Open(chat) => self.show_chat(chat, CHAT_LINES, out)?,
            Typed::History(n) => {
                let open = self.open_chat();
                let chat = open.ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoChatOpen)))?;
                self.show_chat(chat, n, out)?;
            }
            Typed::Users => self.users(out)?,
            Typed::Chats => self.chats(out)?,
            Typed::Rooms => {
                for (room, members) in self.client.rooms()? {
                    out.line(&match members {
                        1 => tr!(in lang; Msg::RoomOneMember, room = room),
                        n => tr!(in lang; Msg::RoomMembers, room = room, n = n),
                    });
                }
            }
            Typed::Members(room) => self.members(room, out)?,
            Typed::People(start) => self.people(&start, out)?,
            Typed::Info => {
                for line in super::rules::describe(lang, &self.client.info()?, false) {
                    out.line(&line);
                }
            }
            Typed::Join(room) => {
                self.client.join(&room)?;
                out.line(&tr!(in lang; Msg::JoinedRoom, room = room));
            }
            Typed::Leave(room) => self.leave(room, out)?,
            Typed::Moderation(command) => self.moderate(command, out)?,
            Typed::P2p(user) => self.p2p(&user, out)?,
            Typed::HangUp(user) => {
                let user = match (user, self.open_chat()) {
                    (Some(user), _) => user,
                    (None, Some(Chat::User(peer))) => peer,
                    (None, _) => return Err(Error::Usage(tr!(in lang; Msg::HangUpNothingOpen))),
                };
                if !self.client.hang_up(&user) {
                    return Err(Error::Usage(tr!(in lang; Msg::NoDirectChatOpen, user = user)));
                }
            }
            Typed::Devices => self.devices(out)?,
            Typed::Account(command) => self.account(command, out)?,
            Typed::Prefs(command) => {
                for line in super::prefs::act(self.lang, self.client, &self.expected, command)? {
                    out.line(&line);
                }
            }
            Typed::Profile(command) => {
                for line in super::profile::act(lang, self.client, command)? {
                    out.line(&line);
                }
            }
            Typed::MessageInfo(n) => {
                for line in super::receipts::act(lang, self.client, &self.screen, n)? {
                    out.line(&line);
                }
            }
            Typed::Star(command) => {
                for line in super::stars::act(lang, self.client, &self.screen, &self.expected, command)? {
                    out.line(&line);
                }
            }
            Typed::File(command) => {
                let open = self.open_chat();
                for line in super::files::act(self.lang, self.client, &self.screen, open, command)? {
                    out.line(&line);
                }
            }
        }
        Ok(())
    }

    /// The user has seen `m`: tell the server (and so the sender's ticks).
    pub fn mark_read(&self, m: &Message) {
        if let Err(e) = self.client.read(m) {
            // Offline: the next /chat marks it read again.
            log::debug!("READ {}: {e}", m.id);
        }
    }

    /// `/p2p <user>`: a user that exists (else an error, and no chat is
    /// opened), then the direct chat, or one line saying why not; either
    /// way the chat with the user (spelled as registered) is open.
    fn p2p(&self, user: &str, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let name = match self.client.lookup(user) {
            Ok(info) => info.name,
            Err(e @ (Error::Refused { .. } | Error::Usage(_))) => return Err(e),
            Err(_) => user.to_string(), // offline: the direct chat says why not
        };
        match self.client.open_p2p(&name) {
            // The front end shows the P2pOpened notice.
            Ok(()) => {}
            Err(e @ Error::Usage(_)) => return Err(e),
            // The server's own words ("carl is not connected") say it best.
            Err(Error::Refused { ko, .. }) => out.line(&view::no_direct_chat(lang, &name, &ko.reason)),
            Err(e) => out.line(&view::no_direct_chat(lang, &name, &e.to_string())),
        }
        // Either way the chat with the user is open: the client picks the road.
        *self.open.lock() = Some(Chat::User(name));
        Ok(())
    }

    /// `/chat` and `/history`: opens `chat` and hands its last `n`
    /// messages to the output, with whether its user is online; then marks
    /// the newest one to you read. From the server when it can be reached
    /// (it has everything), else from the local log.
    fn show_chat(&self, chat: Chat, n: usize, out: &dyn Output) -> Result<()> {
        // The user as registered (`/chat BOB` is the chat with bob), and
        // whether there is one at all.
        let (chat, presence) = match chat {
            Chat::User(user) => match self.client.lookup(&user) {
                Ok(info) => (Chat::User(info.name), info.presence),
                // No such user: the chat stays closed.
                Err(e @ Error::Refused { .. }) => return Err(e),
                Err(_) => (Chat::User(user), None),
            },
            room => (room, None),
        };
        // Open before the messages are asked for: one that lands while they
        // are read is marked read as it is shown (the newest of those read
        // is marked below).
        // A chat that cannot be shown leaves the one open before.
        let before = self.open.lock().replace(chat.clone());
        let conversation = match self.client.conversation(&chat, n) {
            Ok(conversation) => conversation,
            Err(e) => {
                *self.open.lock() = before;
                return Err(e);
            }
        };
        // 1.2: edits, deletions and reactions folded into their messages.
        let messages = crate::client::fold::fold(conversation.messages);
        // A room as spelled by its creator, as its messages say.
        let chat = match chat {
            Chat::Room(_) => {
                messages.iter().rev().find(|m| same_chat(&m.to, &chat)).map_or(chat, |m| m.to.clone())
            }
            user => user,
        };
        *self.open.lock() = Some(chat.clone());
        let me = self.client.me();
        let newest_to_me = messages.iter().rev().find(|m| !m.is_from(me) && !m.p2p).cloned();
        let is_room = matches!(chat, Chat::Room(_));
        out.chat(&Opened { chat, presence, messages, asked: n, offline: conversation.offline });
        if let Some(m) = newest_to_me
            && (m.state < MsgState::Read || is_room)
        {
            self.mark_read(&m);
        }
        Ok(())
    }

    /// `/users`: who is online; then the users you have direct chats with
    /// who are not, with when they were last seen.
    fn users(&self, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let users = self.client.users()?;
        out.line(&tr!(in lang; Msg::OnlineUsers, n = users.len(), users = users.join(", ")));
        let online: HashSet<String> = users.iter().map(|u| fold(u)).collect();
        let peers: Vec<String> = self
            .client
            .chats()?
            .into_iter()
            .map(|(chat, _)| chat)
            .filter(|chat| !chat.starts_with('#') && !online.contains(&fold(chat)))
            .collect();
        if peers.is_empty() {
            return Ok(());
        }
        let known = self.client.presence_of(&peers)?;
        if known.is_empty() {
            out.line(Msg::PresenceUnknownServer.text(lang));
            return Ok(());
        }
        out.line(&tr!(in lang; Msg::NotOnlineLately, n = known.len()));
        self.presence_lines(&known, out);
        Ok(())
    }

    /// `  bob: last seen yesterday 14:02`, one line each.
    fn presence_lines(&self, users: &[UserInfo], out: &dyn Output) {
        let now = now_ms();
        for user in users {
            let presence = user.presence.map_or_else(String::new, |p| view::presence(self.lang, p, now));
            out.line(&tr!(in self.lang; Msg::UserPresence, user = user.name, presence = presence));
        }
    }

    /// `/chats`: every chat, newest first, with its unread count, whether
    /// the peer is online, and its last message; from the local log when
    /// offline.
    fn chats(&self, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let (chats, offline) = self.client.chat_list()?;
        if offline {
            out.line(Msg::ChatsOffline.text(lang));
        }
        if chats.is_empty() {
            out.line(&tr!(in lang; Msg::NoConversations));
        }
        // 1.2 (§23): the archived ones last, under their heading (offline,
        // or from an older server that keeps none, all in one list).
        let archived = if offline { Vec::new() } else { self.client.archived().unwrap_or_default() };
        let (kept, filed) = super::prefs::split_archived(chats, &archived);
        let (me, now) = (self.client.me(), now_ms());
        let line = |chat: &crate::client::ChatSummary| {
            let direct = matches!(&chat.chat, Chat::User(peer) if self.client.is_direct(peer));
            out.line(&view::chat_line(lang, me, chat, direct, now));
        };
        kept.iter().for_each(line);
        if !filed.is_empty() {
            out.line(&tr!(in lang; crate::i18n::prefs::Msg::ArchivedHeading, n = filed.len()));
        }
        filed.iter().for_each(line);
        Ok(())
    }

    /// `/members [#room]`: the room's members, each online or last seen.
    fn members(&self, room: Option<String>, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let room = match room {
            Some(room) => room,
            None => match self.open_chat() {
                Some(chat @ Chat::Room(_)) => chat.to_string(),
                _ => return Err(Error::Usage(tr!(in lang; Msg::MembersNothingOpen))),
            },
        };
        let members = match self.client.members(&room) {
            Ok(members) => members,
            // A version-1 server does not know the request.
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => {
                out.line(Msg::PresenceUnknownServer.text(lang));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        out.line(&match members.len() {
            1 => tr!(in lang; Msg::MembersOfOne, room = room),
            n => tr!(in lang; Msg::MembersOf, room = room, n = n),
        });
        self.presence_lines(&members, out);
        Ok(())
    }

    /// `/people <start>` (1.2, §26): who shares a room with me and is
    /// named so, each online or last seen: `/chat` opens one. 1.3:
    /// `/people <start>@<server>` asks another server for its people.
    fn people(&self, start: &str, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let people = match self.client.people(start) {
            Ok(people) => people,
            // An older server does not know the request (1.3: an address
            // it refuses, another server's refusal, are said as they are).
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest && !start.contains('@') => {
                out.line(Msg::PeopleUnknownServer.text(lang));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if people.is_empty() {
            match start.split_once('@') {
                // 1.3 (§27): another server searched its own people.
                Some((start, server)) => {
                    out.line(&tr!(in lang; Msg::NobodyNamedThere, start = start, server = server))
                }
                None => out.line(&tr!(in lang; Msg::NobodyNamed, start = start)),
            }
            return Ok(());
        }
        out.line(&tr!(in lang; Msg::PeopleNamed, start = start, n = people.len()));
        self.presence_lines(&people, out);
        Ok(())
    }

    /// A moderation command (1.2) on its room, or the open one.
    fn moderate(&self, command: super::moderation::ModCommand, out: &dyn Output) -> Result<()> {
        use super::moderation::ModCommand;
        let named = match &command {
            ModCommand::Act { room, .. } | ModCommand::Info(room) => room.clone(),
        };
        let room = match (named, self.open_chat()) {
            (Some(room), _) => room,
            (None, Some(chat @ Chat::Room(_))) => chat.to_string(),
            (None, _) => {
                return Err(Error::Usage(crate::i18n::moderation::Msg::NoRoomOpen.text(self.lang).into()));
            }
        };
        for line in super::moderation::act(self.lang, self.client, &room, command)? {
            out.line(&line);
        }
        Ok(())
    }

    fn leave(&self, room: Option<String>, out: &dyn Output) -> Result<()> {
        let room = match room {
            Some(room) => room,
            None => match self.open_chat() {
                Some(chat @ Chat::Room(_)) => chat.to_string(),
                _ => return Err(Error::Usage(tr!(in self.lang; Msg::LeaveNothingOpen))),
            },
        };
        self.client.leave(&room)?;
        let mut open = self.open.lock();
        if open.as_ref().is_some_and(|chat| fold(&chat.to_string()) == fold(&room)) {
            *open = None;
        }
        drop(open);
        out.line(&tr!(in self.lang; Msg::LeftRoom, room = room));
        Ok(())
    }
}

/// Names are compared ignoring case: `/chat Bob` is the chat with `bob`.
pub fn same_chat(a: &Chat, b: &Chat) -> bool {
    fold(&a.to_string()) == fold(&b.to_string())
}
