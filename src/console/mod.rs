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
//! What each command does is [`session`]'s, shared with the full-screen
//! console ([`crate::tui`]); the open chat, which the threads share, is
//! there too.
//!
//! Every line it prints is in the language chosen at start
//! ([`crate::i18n`]: `--lang`, else `LANG`), read once into
//! the console's `lang`, and goes through [`view::Printer::line`], which
//! shows control characters from the network as harmless text.

pub mod account;
pub mod actions;
mod asking;
mod calllog;
pub mod command;
mod devices;
mod echo;
pub mod files;
pub mod input;
pub mod moderation;
mod numbers;
pub mod prefs;
pub mod profile;
pub mod receipts;
pub mod rules;
pub mod session;
pub mod stars;
pub mod view;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use parking_lot::Mutex;

use crate::client::{Client, ClientOptions, Notice, TYPING_SHOWN, now_ms};
use crate::display::{LocalTime, local_time, visible};
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::Chat;
use crate::protocol::names::fold;
use command::Typed;
use input::{Input, LivePrompt, Read, Reader};
use session::{ConsoleSession, Opened, Output};
use view::Printer;

/// Runs the console until `/quit` or the end of the input. Exits with an
/// error if another client of the same user takes over.
pub fn run(mut options: ClientOptions, trace: bool) -> Result<()> {
    let (input, printer) = Input::open()?;
    let printer = Arc::new(printer);
    if trace {
        let printer = printer.clone();
        options.trace = Some(Arc::new(move |frame: &str| printer.line(frame)));
    }
    let server = options.server.clone();
    // Where it was looked for (with its port), said if it never answered.
    let address = crate::client::local::server_name(&options);
    let lang = crate::i18n::current();
    let folder = options.user_dir();
    let client = Client::connect(options)?;
    let console = Console {
        lang,
        session: ConsoleSession::new(lang, &client),
        client: &client,
        printer: &printer,
        listed: Mutex::new(HashSet::new()),
        prompt: Mutex::new(None),
        day: Mutex::new(local_time(now_ms())),
        typing: Mutex::new(HashMap::new()),
    };
    console.welcome(&server, &address);
    for line in rules::first_time(lang, &client, &folder) {
        console.say(&line);
    }
    // From here on the log goes to the folder's `wachat.log`: a log line
    // printed among the messages (a warning of the P2P port, a reconnection)
    // is noise to whoever chats.
    crate::client::local::log_into(&client.folder());
    let reader = input.spawn()?;
    let result = std::thread::scope(|scope| {
        let (quit, quit_rx) = crossbeam_channel::bounded::<()>(0);
        let (stop, stop_rx) = crossbeam_channel::bounded::<Error>(1);
        scope.spawn(|| console.show_events(quit_rx, stop));
        let result = console.read_commands(&reader, &stop_rx);
        drop(quit); // the events thread returns
        result
    });
    crate::display::log_to_file(None);
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
    /// The commands, and the open chat (shared with the full-screen console).
    session: ConsoleSession<'a>,
    client: &'a Client,
    printer: &'a Printer,
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
    /// "ana is typing…" printed, by folded chat, and when: a line console
    /// cannot clear a line, so it says it once per burst of `TYPING`s (none
    /// for [`TYPING_SHOWN`] since the last), and again after a message.
    typing: Mutex<HashMap<String, u64>>,
}

impl Console<'_> {
    fn say(&self, line: &str) {
        self.printer.line(line);
    }

    fn welcome(&self, server: &str, address: &str) {
        let me = self.client.me();
        let lang = self.lang;
        match (self.client.is_online(), self.client.never_reached()) {
            (true, _) => self
                .say(&tr!(in lang; Msg::Connected, server = server, me = me, device = self.client.device())),
            (false, Some(_)) => self.say(&tr!(in lang; Msg::NeverReached, server = address)),
            (false, None) => {
                self.say(&tr!(in lang; Msg::WorkingOffline, me = me, device = self.client.device()))
            }
        }
        let waiting = self.client.pending_at_start();
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
                    Ok(Notice::Unlinked) => {
                        let _ = stop.send(self.client.unlinked_error());
                        return;
                    }
                    Ok(Notice::Ended(why)) => {
                        let _ = stop.send(Error::Usage(why));
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
            Notice::Message(m) | Notice::Sent(m) => {
                self.typing.lock().remove(&fold(&m.chat(me).to_string()));
                self.new_day(m.ts)
            }
            // Said for the open chat only: elsewhere it is noise.
            Notice::Typing { chat, .. } if !self.session.is_open(chat) => return,
            // The local log has it read already (`/chats` counts no more).
            Notice::ReadElsewhere { .. } => return,
            // A missed call is said once, by its line (or the fold of missed calls
            // into it) that the server stores, from each side (`calllog`).
            Notice::CallEnded { why: crate::protocol::call::End::Missed, .. } => return,
            // A call's line wears no ticks (`calllog`): nor is its news said.
            Notice::State { id, .. }
                if self.client.local_message(me, id).is_some_and(|m| calllog::is_call_line(&m)) =>
            {
                return;
            }
            // 1.2: a change made here was said by its command.
            Notice::Pref(_) | Notice::Blocked { .. } | Notice::Archived { .. } | Notice::Starred { .. }
                if self.session.expected.is_echo(notice) =>
            {
                return;
            }
            Notice::Typing { chat, .. } => {
                let (now, key) = (now_ms(), fold(&chat.to_string()));
                let mut typing = self.typing.lock();
                let last = typing.insert(key, now);
                typing.retain(|_, at| now < *at + TYPING_SHOWN.as_millis() as u64);
                if last.is_some_and(|at| now < at + TYPING_SHOWN.as_millis() as u64) {
                    return; // still the same burst
                }
            }
            // Only a change about me: the room's text tells the rest.
            Notice::Moderation { room, by, change } if view::notice_is_empty(room, by, change, me) => return,
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
        let line = view::notice(self.lang, me, notice, |id| self.client.local_message(me, id));
        // 1.2: a message's number on screen, for /reply, /edit, /delete, /react.
        let line = match notice {
            Notice::Message(m) | Notice::Sent(m) => {
                // An action says which message on screen it acts on: ` → [3]`.
                let line = match numbers::target_of(&self.session.screen, m) {
                    Some(n) => format!("{line} → [{n}]"),
                    None => line,
                };
                // Missed calls folded into a call's line: that line again, no message to number.
                if calllog::is_fold(m) { line } else { numbers::numbered(&self.session.screen, &line, m) }
            }
            _ => line,
        };
        self.say(&line);
        // A direct message has no READ: the server never heard of it.
        if let Notice::Message(m) = notice
            && !m.p2p
            && self.session.is_open(&m.chat(me))
        {
            self.session.mark_read(m);
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

    /// The prompt for the open chat: `bob> `, `#tea> `, `bob [p2p]> `, `> `.
    fn prompt(&self) -> LivePrompt {
        match &self.session.open_chat() {
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
                Ok(Typed::Quit) => return Ok(()),
                Ok(Typed::Help) => self.say(view::help(lang)),
                Ok(Typed::Account(account::AccountCommand::Ask(dialog))) => {
                    if self.ask(dialog, reader, stop)? {
                        return Ok(()); // the account is deleted
                    }
                }
                Ok(command) => {
                    if let Err(e) = self.session.act(command, self) {
                        self.say(&error(&e));
                    }
                }
                Err(e) => self.say(&error(&e)),
            }
        }
    }
}

/// The line console shows a command's answer as lines, a chat as its
/// listing.
impl Output for Console<'_> {
    fn line(&self, text: &str) {
        self.say(text);
    }

    /// `── bob (online): last 20 message(s) ──`, then the messages with
    /// their times and date lines.
    fn chat(&self, opened: &Opened) {
        let (lang, now) = (self.lang, now_ms());
        let title = match opened.presence {
            Some(p) => format!("{} ({})", opened.chat, view::presence(lang, p, now)),
            None => opened.chat.to_string(),
        };
        let source = if opened.offline { Msg::FromLocalLog.text(lang) } else { "" };
        let messages = &opened.messages;
        match messages.len() {
            0 => self.say(&tr!(in lang; Msg::ChatEmpty, chat = title, source = source)),
            len => self.say(&tr!(in lang; Msg::ChatLast, chat = title, n = len, source = source)),
        }
        // 1.2: a room's 📢, topic and your mute, under its header.
        if let (Chat::Room(_), false) = (&opened.chat, opened.offline)
            && let Some(info) = moderation::room_info(self.client, &opened.chat.to_string())
            && let Some(line) = moderation::header(lang, &info)
        {
            self.say(&line);
        }
        let mut day = None;
        for m in messages {
            let t = local_time(m.ts);
            if !day.as_ref().is_some_and(|d: &crate::display::LocalTime| d.same_day(&t)) {
                self.say(&view::date_line(lang, &t, now));
            }
            day = Some(t);
            let line = view::whole_message(lang, self.client.me(), m);
            self.say(&numbers::numbered(&self.session.screen, &line, m));
        }
        if let Some(last) = messages.last() {
            *self.day.lock() = local_time(last.ts);
        }
        *self.listed.lock() = messages.iter().map(|m| (fold(&m.from), m.id.clone())).collect();
    }
}
