//! `wachat connect`: the interactive console, a thin layer over
//! [`crate::client::Client`].
//!
//! Two threads of its own, besides the client's sender and receiver:
//!
//! - the **input** thread (the main one) reads lines ([`input`]), parses
//!   them ([`command`]) and acts: sending goes to the outbox and returns at
//!   once; `/users`, `/chat`, … wait for the server's reply;
//! - the **events** thread prints every [`Notice`] as it comes ([`view`]):
//!   messages, ticks, presence, offline/online. A message arriving in the
//!   open chat is marked `READ` right away, since the user sees it.
//!
//! `/p2p <user>` opens a direct chat (protocol §8) and makes it the open
//! chat; the client then sends text for that user over it, and the lines
//! say `[p2p]`. When it cannot be opened, or ends, one line says so and the
//! text goes through the server as usual.
//!
//! The open chat is the one thing both threads need; it sits in a `Mutex`.
//!
//! Every line it prints is in the language chosen at start
//! ([`crate::i18n`]: `--lang`, else `LANG`), read once into
//! the console's `lang`.

pub mod command;
pub mod input;
pub mod view;

use std::collections::HashSet;
use std::sync::Arc;

use crossbeam_channel::{Receiver, select};
use parking_lot::Mutex;

use crate::client::{Client, Message, Notice, Options};
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::names::fold;
use crate::protocol::{Chat, State};
use command::Command;
use input::Input;
use view::Printer;

/// Messages `/chat` shows.
const CHAT_LINES: usize = 20;

/// Runs the console until `/quit` or the end of the input.
pub fn run(mut options: Options, trace: bool) -> Result<()> {
    let (mut input, printer) = Input::open()?;
    let printer = Arc::new(printer);
    if trace {
        let printer = printer.clone();
        options.trace = Some(Arc::new(move |frame: &str| printer.line(frame)));
    }
    let server = options.server.clone();
    let lang = crate::i18n::current();
    let client = Client::connect(options)?;
    let console = Console {
        lang,
        client: &client,
        printer: &printer,
        open: Mutex::new(None),
        listed: Mutex::new(HashSet::new()),
    };
    console.welcome(&server);
    let result = std::thread::scope(|scope| {
        let (quit, quit_rx) = crossbeam_channel::bounded::<()>(0);
        scope.spawn(|| console.show_events(quit_rx));
        let result = console.read_commands(&mut input);
        drop(quit); // the events thread returns
        result
    });
    let waiting = client.pending();
    if waiting > 0 && !client.is_online() {
        printer.line(&tr!(in lang; Msg::OutboxAtExit, n = waiting));
    }
    client.close();
    result
}

/// What both console threads share.
struct Console<'a> {
    /// The language of every line (and of the explanations of mistakes).
    lang: Lang,
    client: &'a Client,
    printer: &'a Printer,
    /// The chat plain text goes to; also the one whose messages get `READ`.
    open: Mutex<Option<Chat>>,
    /// `(from, id)` of the messages the last `/chat` listed: one that was
    /// still on its way to this client (its notice comes just after) is not
    /// printed a second time.
    listed: Mutex<HashSet<(String, String)>>,
}

impl Console<'_> {
    fn say(&self, line: &str) {
        self.printer.line(line);
    }

    fn welcome(&self, server: &str) {
        let me = self.client.me();
        let lang = self.lang;
        match self.client.is_online() {
            true => self.say(&tr!(in lang; Msg::Connected, server = server, me = me)),
            false => self.say(&tr!(in lang; Msg::WorkingOffline, me = me)),
        }
        let waiting = self.client.pending();
        if waiting > 0 {
            self.say(&tr!(in lang; Msg::OutboxFromLastTime, n = waiting));
        }
    }

    /// The events thread: prints notices until `quit` is dropped.
    fn show_events(&self, quit: Receiver<()>) {
        loop {
            select! {
                recv(self.client.events()) -> notice => match notice {
                    Ok(notice) => self.show(&notice),
                    Err(_) => return,
                },
                recv(quit) -> _ => return,
            }
        }
    }

    fn show(&self, notice: &Notice) {
        let me = self.client.me();
        if let Notice::Message(m) = notice
            && self.listed.lock().contains(&(fold(&m.from), m.id.clone()))
        {
            return;
        }
        self.say(&view::notice(self.lang, me, notice, |id| self.client.local_message(me, id)));
        // A direct message has no READ: the server never heard of it.
        if let Notice::Message(m) = notice
            && !m.p2p
            && self.is_open(&m.chat(me))
        {
            self.mark_read(m);
        }
    }

    fn is_open(&self, chat: &Chat) -> bool {
        self.open.lock().as_ref().is_some_and(|open| same_chat(open, chat))
    }

    /// The user has seen `m`: tell the server (and so the sender's ticks).
    fn mark_read(&self, m: &Message) {
        if let Err(e) = self.client.read(m) {
            // Offline: the next /chat marks it read again.
            log::debug!("READ {}: {e}", m.id);
        }
    }

    /// The input thread: one command per line until `/quit` or EOF.
    fn read_commands(&self, input: &mut Input) -> Result<()> {
        loop {
            let prompt = match &*self.open.lock() {
                Some(Chat::User(peer)) if self.client.is_direct(peer) => format!("{peer} [p2p]> "),
                Some(chat) => format!("{chat}> "),
                None => "> ".to_string(),
            };
            let Some(line) = input.read(&prompt)? else { return Ok(()) };
            let error = |e: &dyn std::fmt::Display| tr!(in self.lang; Msg::ErrorLine, error = e);
            match command::parse(self.lang, &line) {
                Ok(Command::Quit) => return Ok(()),
                Ok(command) => {
                    if let Err(e) = self.act(command) {
                        self.say(&error(&e));
                    }
                }
                Err(e) => self.say(&error(&e)),
            }
        }
    }

    fn act(&self, command: Command) -> Result<()> {
        let lang = self.lang;
        match command {
            Command::Nothing | Command::Quit => {}
            Command::Say(text) => {
                let open = self.open.lock().clone();
                let chat = open.ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoChatOpenToSay)))?;
                self.client.send(&chat.to_string(), &text)?;
            }
            Command::Send { to, text } => {
                self.client.send(&to.to_string(), &text)?;
            }
            Command::Open(chat) => self.show_chat(chat, CHAT_LINES)?,
            Command::History(n) => {
                let open = self.open.lock().clone();
                let chat = open.ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoChatOpen)))?;
                self.show_chat(chat, n)?;
            }
            Command::Users => {
                let users = self.client.users()?;
                self.say(&tr!(in lang; Msg::OnlineUsers, n = users.len(), users = users.join(", ")));
            }
            Command::Chats => {
                let chats = self.client.chats()?;
                if chats.is_empty() {
                    self.say(&tr!(in lang; Msg::NoConversations));
                }
                for (chat, unread) in chats {
                    self.say(&tr!(in lang; Msg::ChatUnread, chat = chat, n = unread));
                }
            }
            Command::Rooms => {
                for (room, members) in self.client.rooms()? {
                    self.say(&tr!(in lang; Msg::RoomMembers, room = room, n = members));
                }
            }
            Command::Join(room) => {
                self.client.join(&room)?;
                self.say(&tr!(in lang; Msg::JoinedRoom, room = room));
            }
            Command::Leave(room) => self.leave(room)?,
            Command::P2p(user) => {
                match self.client.open_p2p(&user) {
                    // The events thread prints the P2pOpened notice.
                    Ok(()) => {}
                    Err(e @ Error::Usage(_)) => return Err(e),
                    // The server's own words ("carl is not connected") say it best.
                    Err(Error::Refused { ko, .. }) => {
                        self.say(&view::no_direct_chat(lang, &user, &ko.reason))
                    }
                    Err(e) => self.say(&view::no_direct_chat(lang, &user, &e.to_string())),
                }
                // Either way the chat with `user` is open: the client picks the road.
                *self.open.lock() = Some(Chat::User(user));
            }
            Command::HangUp(user) => {
                let user = match (user, &*self.open.lock()) {
                    (Some(user), _) => user,
                    (None, Some(Chat::User(peer))) => peer.clone(),
                    (None, _) => {
                        return Err(Error::Usage(tr!(in lang; Msg::HangUpNothingOpen)));
                    }
                };
                if !self.client.hang_up(&user) {
                    return Err(Error::Usage(tr!(in lang; Msg::NoDirectChatOpen, user = user)));
                }
            }
            Command::Help => self.say(view::help(lang)),
        }
        Ok(())
    }

    /// `/chat` and `/history`: opens `chat`, shows its last `n` messages and
    /// marks the newest one to you read. From the server when it can be
    /// reached (it has everything), else from the local log.
    fn show_chat(&self, chat: Chat, n: usize) -> Result<()> {
        let lang = self.lang;
        let (messages, source) = match self.client.history(&chat, n) {
            Ok(messages) => (with_direct(messages, self.client.local_history(&chat, n), n), ""),
            // The server said no (no such user, not a member): the chat stays closed.
            Err(e @ Error::Refused { .. }) => return Err(e),
            Err(_) => (self.client.local_history(&chat, n), Msg::FromLocalLog.text(lang)),
        };
        *self.open.lock() = Some(chat.clone());
        match messages.len() {
            0 => self.say(&tr!(in lang; Msg::ChatEmpty, chat = chat, source = source)),
            len => self.say(&tr!(in lang; Msg::ChatLast, chat = chat, n = len, source = source)),
        }
        let me = self.client.me();
        for m in &messages {
            self.say(&view::message(lang, me, m));
        }
        *self.listed.lock() = messages.iter().map(|m| (fold(&m.from), m.id.clone())).collect();
        let newest_to_me = messages.iter().rev().find(|m| !m.is_from(me) && !m.p2p);
        if let Some(m) = newest_to_me
            && (m.state < State::Read || matches!(chat, Chat::Room(_)))
        {
            self.mark_read(m);
        }
        Ok(())
    }

    fn leave(&self, room: Option<String>) -> Result<()> {
        let room = match room {
            Some(room) => room,
            None => match &*self.open.lock() {
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
        self.say(&tr!(in self.lang; Msg::LeftRoom, room = room));
        Ok(())
    }
}

/// The server's history of a chat with the direct messages of the local log
/// put in (the server never saw them), by time, the last `n`.
fn with_direct(mut messages: Vec<Message>, local: Vec<Message>, n: usize) -> Vec<Message> {
    messages.extend(local.into_iter().filter(|m| m.p2p));
    // Stable: messages with the same time keep the server's order.
    messages.sort_by_key(|m| m.ts);
    let extra = messages.len().saturating_sub(n);
    messages.drain(..extra);
    messages
}

/// Names are compared ignoring case: `/chat Bob` is the chat with `bob`.
fn same_chat(a: &Chat, b: &Chat) -> bool {
    fold(&a.to_string()) == fold(&b.to_string())
}
