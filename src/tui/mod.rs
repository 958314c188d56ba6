//! `wachat connect --tui`: the full-screen console, WhatsApp-like.
//!
//! The line console appends lines; a person chatting all day wants what a
//! phone shows at a glance: which chats have unread messages and their
//! last words, ticks that change in place, who is online. This is that
//! screen, on the same [`crate::client`] library as the line console (no
//! second protocol implementation) and the same commands
//! ([`crate::console::session`]): every slash command works here too.
//!
//! ## Threads
//!
//! ```text
//!   keys thread ─── crossterm events ──┐
//!   (blocks on the keyboard)           ▼
//!   client's notices ───────────▶ main thread: the App (state) ──▶ a frame
//!   (messages, ticks, presence)        │  ▲                         (ratatui)
//!                                Work  ▼  │ Done
//!                                 worker thread: commands, READ, older
//!                                 pages, the chat list (round trips to
//!                                 the server, never on the drawing thread)
//! ```
//!
//! The main thread owns the `app::App` and the terminal; it waits on the
//! keys, the client's notices, the worker's answers, the `--trace` frames
//! and a one-second tick (for "today" and the outbox count), changes the
//! state, and draws once per change. Keys and notices only change the
//! state; what must reach the client comes back as `app::Effect`s.
//!
//! ## Files
//!
//! | file | what it holds |
//! |---|---|
//! | `app.rs` | the state, and how the worker's answers change it |
//! | `notice.rs` | how the client's notices change it: one named step per kind |
//! | `keys.rs` | what each key does |
//! | `conversation.rs` | the open chat as data: merged messages, ticks, the unread line, pages |
//! | `editor.rs` | the multi-line input |
//! | `select.rs` | 1.2: choosing a message, and replying, editing, deleting, reacting, searching |
//! | `worker.rs` | the thread that waits for the server |
//! | `render/` | the frame: layout, chat list, conversation, input, status line |
//! | `text.rs` | network text made safe for a frame, wrapping, widths |
//! | `theme.rs` | styles, with and without colour (`NO_COLOR`) |
//! | `screen.rs` | the terminal: raw mode, alternate screen, restored on exit and panic |

mod app;
mod asking;
mod choice;
mod conversation;
mod dialog;
mod editor;
mod keys;
mod notice;
mod render;
mod room;
pub(crate) mod screen;
mod select;
pub(crate) mod text;
mod theme;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select};
use crossterm::event::Event;

use crate::client::{Client, ClientOptions, Notice, now_ms};
use crate::console::command::Typed;
use crate::console::session::ConsoleSession;
use crate::error::{Error, Result};
use crate::i18n::console::Msg as Words;
use crate::i18n::tr;
use app::{App, ConnectionStatus, Effect};
use screen::Screen;
use theme::Theme;
use worker::Work;

pub use screen::check;

/// Messages of the local log shown at once when a chat opens (the
/// server's last ones follow, then older pages on scrolling up).
const LOCAL_MESSAGES: usize = 100;

/// Runs the full-screen console until the user quits. Refuses at once
/// without a terminal ([`check`]). Exits with an error if another client
/// of the same user takes over the receive port, as the line console does.
pub fn run(mut options: ClientOptions, trace: bool) -> Result<()> {
    check()?;
    let (trace_tx, trace_rx) = crossbeam_channel::unbounded::<String>();
    if trace {
        options.trace = Some(Arc::new(move |frame: &str| {
            let _ = trace_tx.send(frame.to_string());
        }));
    }
    let trace_rx = if trace { trace_rx } else { crossbeam_channel::never() };
    let server = crate::client::local::server_name(&options);
    let lang = crate::i18n::current();
    let client = Client::connect(options)?;
    let folder = client.folder().to_path_buf();
    let log_path = folder.join(crate::client::local::LOG_FILE);
    let mut app = App::new(lang, client.me(), &server, Theme::from_env());
    let welcome = match (client.is_online(), client.never_reached()) {
        (true, _) => {
            tr!(in lang; Words::Connected, server = server, me = client.me(), device = client.device())
        }
        (false, never) => {
            app.link = ConnectionStatus::Offline(String::new());
            match never {
                Some(_) => tr!(in lang; Words::NeverReached, server = server),
                None => tr!(in lang; Words::WorkingOffline, me = client.me(), device = client.device()),
            }
        }
    };
    app.log_lines([welcome.as_str()]);
    if client.pending_at_start() > 0 {
        app.line = Some((tr!(in lang; Words::OutboxFromLastTime, n = client.pending_at_start()), false));
    }
    app.log_lines([tr!(in lang; crate::i18n::tui::Msg::LogFile, path = log_path.display()).as_str()]);
    let rules = crate::console::rules::first_time(lang, &client, &folder);
    app.log_lines(rules.iter().map(String::as_str));
    let session = ConsoleSession::new(lang, &client);
    crate::client::local::log_into(&folder);
    let screen = Screen::enter()?;
    let result = std::thread::scope(|scope| {
        let (work, work_rx) = crossbeam_channel::unbounded();
        let (done, done_rx) = crossbeam_channel::unbounded();
        let session = &session;
        scope.spawn(move || worker::run(session, work_rx, done));
        let _ = work.send(Work::ChatList);
        let keys = spawn_keys()?;
        let mut screen = screen;
        let channels = Channels { keys, done: done_rx, trace: trace_rx, work };
        let result = run_loop(&mut screen, &mut app, &client, &channels);
        // The terminal back before waiting for the worker's last round trip.
        drop(screen);
        result
    });
    crate::display::log_to_file(None);
    let waiting = client.pending();
    if waiting > 0 && !client.is_online() {
        println!("{}", tr!(in lang; Words::OutboxAtExit, n = waiting));
    }
    let deleted = client.is_deleted().then(|| client.me().to_string());
    client.close();
    if let (Ok(()), Some(user)) = (&result, deleted) {
        println!("{}", tr!(in lang; crate::i18n::account::Msg::AccountDeleted, user = user));
    }
    result
}

/// What the main thread waits on, besides the client's notices.
struct Channels {
    keys: Receiver<std::io::Result<Event>>,
    done: Receiver<worker::Done>,
    trace: Receiver<String>,
    work: Sender<Work>,
}

/// The main thread: wait, change the state, draw.
fn run_loop(screen: &mut Screen, app: &mut App, client: &Client, ch: &Channels) -> Result<()> {
    let tick = crossbeam_channel::tick(Duration::from_secs(1));
    let mut dirty = true;
    let mut minute = 0;
    loop {
        if dirty {
            app.pending = client.pending();
            app.now = now_ms();
            minute = app.now / 60_000;
            app.geometry = screen.draw(app)?;
        }
        dirty = true;
        let effects = select! {
            recv(ch.keys) -> event => match event {
                Ok(Ok(Event::Key(key))) => app.key(key),
                Ok(Ok(Event::Paste(text))) => {
                    app.paste(&text);
                    Vec::new()
                }
                // Drawn again at the new size (ratatui notices it).
                Ok(Ok(Event::Resize(..))) => Vec::new(),
                Ok(Ok(_)) => {
                    dirty = false;
                    Vec::new()
                }
                Ok(Err(e)) => return Err(Error::io(tr!(Words::Terminal), e)),
                Err(_) => return Ok(()),
            },
            recv(client.events()) -> notice => match notice {
                Ok(Notice::Replaced) => return Err(Error::Replaced { user: client.me().to_string() }),
                // 1.2: this console deleted the account: a plain end (said below).
                Ok(Notice::Unlinked) if client.is_deleted() => return Ok(()),
                Ok(Notice::Unlinked) => return Err(client.unlinked_error()),
                Ok(Notice::Ended(why)) => return Err(Error::Usage(why)),
                Ok(notice) => app.notice(&notice),
                Err(_) => return Ok(()),
            },
            recv(ch.done) -> done => match done {
                Ok(done) => app.done(done),
                Err(_) => return Ok(()),
            },
            recv(ch.trace) -> frame => {
                if let Ok(frame) = frame {
                    app.log_lines([frame.as_str()]);
                }
                Vec::new()
            },
            recv(tick) -> _ => {
                // A new minute ("today" may have become "yesterday"), or
                // the outbox moved without a notice.
                // Or "ana is typing…" is over.
                let now = now_ms();
                dirty = now / 60_000 != minute || client.pending() != app.pending || app.typing_expired(now);
                Vec::new()
            },
        };
        for effect in effects {
            match effect {
                Effect::Work(work) => {
                    let _ = ch.work.send(work);
                }
                Effect::Open(chat) => {
                    app.open(chat.clone(), client.local_history(&chat, LOCAL_MESSAGES));
                    let _ = ch.work.send(Work::Command(Typed::Open(chat)));
                }
                Effect::Typing(chat) => client.typing(&chat),
                Effect::Bell => screen.bell(),
                Effect::Quit => return Ok(()),
                Effect::Redraw => screen.clear()?,
            }
        }
    }
}

/// The keys thread: crossterm's events, as they come. Never joined: it
/// blocks on the keyboard, and goes when the process ends.
fn spawn_keys() -> Result<Receiver<std::io::Result<Event>>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("wachat-keys".into())
        .spawn(move || {
            loop {
                let event = crossterm::event::read();
                let end = event.is_err();
                if tx.send(event).is_err() || end {
                    return;
                }
            }
        })
        .map_err(|e| Error::io(tr!(Words::Terminal), e))?;
    Ok(rx)
}
