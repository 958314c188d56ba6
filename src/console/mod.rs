//! `wachat connect`: the interactive console, a thin layer over
//! [`crate::client::Client`].
//!
//! Three threads of its own, besides the client's sender and receiver:
//!
//! - the **input** thread ([`input::Reader`]) reads one logical line each
//!   time it is handed a prompt (rustyline in a terminal, plain lines from
//!   a pipe);
//! - the **main** thread hands it the prompt, waits for the line *or* for
//!   a reason to stop, parses it ([`command`]) and acts: sending goes to the
//!   outbox and returns at once; `/users`, `/chat`, … wait for the server;
//! - the **events** thread prints every [`Notice`] as it comes ([`view`]):
//!   messages (with a date line when the day changes), ticks, presence,
//!   offline/online. A message arriving in the open chat is marked `READ`
//!   right away, since the user sees it. If another client of the same
//!   user takes over the receive port, it tells the main thread to stop:
//!   the console exits with an error rather than stay deaf.
//!
//! `/p2p <user>` opens a direct chat (protocol §8) and makes it the open
//! chat; the client then sends text for that user over it, and the prompt
//! and the lines say `[p2p]`. When it cannot be opened, or ends, one line
//! says so (and the prompt drops its `[p2p]` at once), and the text goes
//! through the server as usual.
//!
//! The open chat is the one thing the threads share; it sits in a `Mutex`.
//!
//! Every line it prints is in the language chosen at start
//! ([`crate::i18n`]: `--lang`, else `LANG`), read once into
//! the console's `lang`, and goes through [`view::Printer::line`], which
//! shows control characters from the network as harmless text.

pub mod command;
pub mod input;
pub mod view;

use std::collections::HashSet;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use parking_lot::Mutex;

use crate::client::{Client, Message, Notice, Options, now_ms};
use crate::display::{LocalTime, local_time, visible};
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, State};
use command::Command;
use input::{Input, LivePrompt, Read, Reader};
use view::Printer;

/// Messages `/chat` shows.
const CHAT_LINES: usize = 20;

/// Runs the console until `/quit` or the end of the input. Exits with an
/// error if another client of the same user takes over.
pub fn run(mut options: Options, trace: bool) -> Result<()> {
    let (input, printer) = Input::open()?;
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
        prompt: Mutex::new(None),
        day: Mutex::new(local_time(now_ms())),
    };
    console.welcome(&server);
    let reader = input.spawn()?;
    let result = std::thread::scope(|scope| {
        let (quit, quit_rx) = crossbeam_channel::bounded::<()>(0);
        let (stop, stop_rx) = crossbeam_channel::bounded::<Error>(1);
        scope.spawn(|| console.show_events(quit_rx, stop));
        let result = console.read_commands(&reader, &stop_rx);
        drop(quit); // the events thread returns
        result
    });
    if result.is_err() {
        // The input thread may be in the middle of a read, the terminal
        // in its raw mode: put it back, and print plainly from now on.
        reader.restore_terminal();
        printer.detach();
    }
    let waiting = client.pending();
    if waiting > 0 && !client.is_online() {
        printer.line(&tr!(in lang; Msg::OutboxAtExit, n = waiting));
    }
    client.close();
    result
}

/// What the console's threads share.
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
    /// The prompt being shown, while the input thread reads: the events
    /// thread drops its `[p2p]` when the direct chat ends.
    prompt: Mutex<Option<Arc<LivePrompt>>>,
    /// The day of the last message line printed: a date line comes before
    /// a message of another day.
    day: Mutex<LocalTime>,
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

    /// The events thread: prints notices until `quit` is dropped; tells the
    /// main thread to `stop` when this console no longer receives anything.
    fn show_events(&self, quit: Receiver<()>, stop: Sender<Error>) {
        loop {
            select! {
                recv(self.client.events()) -> notice => match notice {
                    Ok(Notice::Replaced) => {
                        let _ = stop.send(Error::Replaced { user: self.client.me().to_string() });
                        return;
                    }
                    Ok(notice) => self.show(&notice),
                    Err(_) => return,
                },
                recv(quit) -> _ => return,
            }
        }
    }

    fn show(&self, notice: &Notice) {
        let me = self.client.me();
        match notice {
            Notice::Message(m) if self.listed.lock().contains(&(fold(&m.from), m.id.clone())) => return,
            Notice::Message(m) | Notice::Sent(m) => self.new_day(m.ts),
            // Before the line is printed, which redraws the prompt.
            Notice::P2pClosed { peer, .. } => {
                if let Some(prompt) = &*self.prompt.lock()
                    && prompt.peer.as_deref() == Some(fold(peer).as_str())
                {
                    prompt.end_direct();
                }
            }
            _ => {}
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

    /// A message of `ts` is about to be printed: a date line first if its
    /// day is not the day of the line before.
    fn new_day(&self, ts: u64) {
        let t = local_time(ts);
        let mut day = self.day.lock();
        if !day.same_day(&t) {
            *day = t;
            self.say(&view::date_line(self.lang, &t, now_ms()));
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

    /// The prompt for the open chat: `bob> `, `#tea> `, `bob [p2p]> `, `> `.
    fn prompt(&self) -> LivePrompt {
        match &*self.open.lock() {
            Some(Chat::User(peer)) if self.client.is_direct(peer) => {
                let peer = visible(peer);
                LivePrompt::direct(format!("{peer} [p2p]> "), &format!("{peer}> "), &peer)
            }
            Some(chat) => LivePrompt::fixed(format!("{}> ", visible(&chat.to_string()))),
            None => LivePrompt::fixed("> ".to_string()),
        }
    }

    /// The main thread: one command per line until `/quit`, the end of the
    /// input, or a reason to `stop`.
    fn read_commands(&self, reader: &Reader, stop: &Receiver<Error>) -> Result<()> {
        let lang = self.lang;
        loop {
            let prompt = Arc::new(self.prompt());
            *self.prompt.lock() = Some(prompt.clone());
            if reader.prompts.send(prompt).is_err() {
                return Ok(()); // the input thread has ended
            }
            let read = select! {
                recv(reader.lines) -> read => match read {
                    Ok(read) => read?,
                    Err(_) => return Ok(()),
                },
                recv(stop) -> why => return Err(why.unwrap_or(Error::Offline)),
            };
            *self.prompt.lock() = None;
            let line = match read {
                Read::Line(line) => line,
                Read::Cancelled { draft: true } => {
                    self.say(Msg::CtrlCDraft.text(lang));
                    continue;
                }
                Read::Cancelled { draft: false } => {
                    self.say(Msg::CtrlCLine.text(lang));
                    continue;
                }
                // Ctrl+D in a terminal says what it does; a pipe just ends.
                Read::End { draft } if self.printer.is_terminal() => {
                    self.say(if draft { Msg::CtrlDDraft } else { Msg::CtrlDQuit }.text(lang));
                    return Ok(());
                }
                Read::End { .. } => return Ok(()),
            };
            let error = |e: &dyn std::fmt::Display| tr!(in lang; Msg::ErrorLine, error = e);
            match command::parse(lang, &line) {
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
            Command::Users => self.users()?,
            Command::Chats => self.chats()?,
            Command::Rooms => {
                for (room, members) in self.client.rooms()? {
                    self.say(&match members {
                        1 => tr!(in lang; Msg::RoomOneMember, room = room),
                        n => tr!(in lang; Msg::RoomMembers, room = room, n = n),
                    });
                }
            }
            Command::Members(room) => self.members(room)?,
            Command::Join(room) => {
                self.client.join(&room)?;
                self.say(&tr!(in lang; Msg::JoinedRoom, room = room));
            }
            Command::Leave(room) => self.leave(room)?,
            Command::P2p(user) => self.p2p(&user)?,
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

    /// `/p2p <user>`: a user that exists (else an error, and no chat is
    /// opened), then the direct chat, or one line saying why not; either
    /// way the chat with the user (spelled as registered) is open.
    fn p2p(&self, user: &str) -> Result<()> {
        let lang = self.lang;
        let name = match self.client.lookup(user) {
            Ok(info) => info.name,
            Err(e @ (Error::Refused { .. } | Error::Usage(_))) => return Err(e),
            Err(_) => user.to_string(), // offline: the direct chat says why not
        };
        match self.client.open_p2p(&name) {
            // The events thread prints the P2pOpened notice.
            Ok(()) => {}
            Err(e @ Error::Usage(_)) => return Err(e),
            // The server's own words ("carl is not connected") say it best.
            Err(Error::Refused { ko, .. }) => self.say(&view::no_direct_chat(lang, &name, &ko.reason)),
            Err(e) => self.say(&view::no_direct_chat(lang, &name, &e.to_string())),
        }
        // Either way the chat with the user is open: the client picks the road.
        *self.open.lock() = Some(Chat::User(name));
        Ok(())
    }

    /// `/chat` and `/history`: opens `chat`, says whether its user is
    /// online, shows its last `n` messages with their times, and marks the
    /// newest one to you read. From the server when it can be reached (it
    /// has everything), else from the local log.
    fn show_chat(&self, chat: Chat, n: usize) -> Result<()> {
        let lang = self.lang;
        let now = now_ms();
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
        let conversation = self.client.conversation(&chat, n)?;
        let messages = conversation.messages;
        // A room as spelled by its creator, as its messages say.
        let chat = match chat {
            Chat::Room(_) => {
                messages.iter().rev().find(|m| same_chat(&m.to, &chat)).map_or(chat, |m| m.to.clone())
            }
            user => user,
        };
        *self.open.lock() = Some(chat.clone());
        let title = match presence {
            Some(p) => format!("{chat} ({})", view::presence(lang, p, now)),
            None => chat.to_string(),
        };
        let source = if conversation.offline { Msg::FromLocalLog.text(lang) } else { "" };
        match messages.len() {
            0 => self.say(&tr!(in lang; Msg::ChatEmpty, chat = title, source = source)),
            len => self.say(&tr!(in lang; Msg::ChatLast, chat = title, n = len, source = source)),
        }
        let me = self.client.me();
        for line in view::listing(lang, me, &messages, now) {
            self.say(&line);
        }
        if let Some(last) = messages.last() {
            *self.day.lock() = local_time(last.ts);
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

    /// `/users`: who is online; then the users you have direct chats with
    /// who are not, with when they were last seen.
    fn users(&self) -> Result<()> {
        let lang = self.lang;
        let users = self.client.users()?;
        self.say(&tr!(in lang; Msg::OnlineUsers, n = users.len(), users = users.join(", ")));
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
            self.say(Msg::PresenceUnknownServer.text(lang));
            return Ok(());
        }
        self.say(&tr!(in lang; Msg::NotOnlineLately, n = known.len()));
        self.presence_lines(&known);
        Ok(())
    }

    /// `  bob: last seen yesterday 14:02`, one line each.
    fn presence_lines(&self, users: &[crate::client::UserInfo]) {
        let now = now_ms();
        for user in users {
            let presence = user.presence.map_or_else(String::new, |p| view::presence(self.lang, p, now));
            self.say(&tr!(in self.lang; Msg::UserPresence, user = user.name, presence = presence));
        }
    }

    /// `/chats`: every chat, newest first, with its unread count, whether
    /// the peer is online, and its last message; from the local log when
    /// offline.
    fn chats(&self) -> Result<()> {
        let lang = self.lang;
        let (chats, offline) = self.client.chat_list()?;
        if offline {
            self.say(Msg::ChatsOffline.text(lang));
        }
        if chats.is_empty() {
            self.say(&tr!(in lang; Msg::NoConversations));
        }
        let (me, now) = (self.client.me(), now_ms());
        for chat in &chats {
            let direct = matches!(&chat.chat, Chat::User(peer) if self.client.is_direct(peer));
            self.say(&view::chat_line(lang, me, chat, direct, now));
        }
        Ok(())
    }

    /// `/members [#room]`: the room's members, each online or last seen.
    fn members(&self, room: Option<String>) -> Result<()> {
        let lang = self.lang;
        let room = match room {
            Some(room) => room,
            None => match &*self.open.lock() {
                Some(chat @ Chat::Room(_)) => chat.to_string(),
                _ => return Err(Error::Usage(tr!(in lang; Msg::MembersNothingOpen))),
            },
        };
        let members = match self.client.members(&room) {
            Ok(members) => members,
            // A version-1 server does not know the request.
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => {
                self.say(Msg::PresenceUnknownServer.text(lang));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.say(&match members.len() {
            1 => tr!(in lang; Msg::MembersOfOne, room = room),
            n => tr!(in lang; Msg::MembersOf, room = room, n = n),
        });
        self.presence_lines(&members);
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

/// Names are compared ignoring case: `/chat Bob` is the chat with `bob`.
fn same_chat(a: &Chat, b: &Chat) -> bool {
    fold(&a.to_string()) == fold(&b.to_string())
}
