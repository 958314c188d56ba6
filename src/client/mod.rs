//! `wachat::client`: the client library that `wachat connect`, the one-shot
//! subcommands and bots are built on.
//!
//! A [`Client`] logs in on both ports of the server and runs two threads:
//!
//! ```text
//!   application (console input thread, a bot, …)
//!     │ send(): outbox + log, then Job::Wake          ▲ events(): Notice
//!     │ users(), history(), read(), …: Job::Request   │ (messages, ticks, presence,
//!     ▼            crossbeam channel                  │  offline / online)
//!   sender thread ──── send port ────┐     ┌──── receive port ──── receiver thread
//!   owns the send connection:        │     │     owns the receive connection:
//!   drains the outbox (pipelined),   server      stores MSG/STATUS in the log,
//!   answers requests, PINGs when idle            fsyncs, then ACKs; PONGs
//! ```
//!
//! [`Client::connect`] (`start.rs`) opens the local files, logs in on
//! both ports and starts the threads. Both threads reconnect by themselves with a backoff (up to 4 s), and
//! [`Notice::Offline`] / [`Notice::Online`] tell the application once per
//! change. If the server is down when [`Client::connect`] is called, the
//! client starts offline: messages wait in the outbox and leave as soon as
//! the server is back.
//!
//! Local files, in `<data dir>/<host>:<send port>/<user>/devices/<device>/`
//! (one folder per server, user and device, see [`local`] and [`device`]):
//! `history.csv` (the conversation log, [`history`]) and `outbox_tmp.csv`
//! (messages not yet accepted by the server, [`outbox`]), and a linked
//! device's `token` ([`token`]). One client at a time may use a folder.
//! The small files rewritten whole (`server_id`, `token`, the kept device
//! names) are replaced privately and atomically by `private.rs`.
//!
//! The client logs in as its device (protocol 1.2, `login.rs`); the copies
//! of the messages sent from the user's other devices come as
//! [`Notice::Sent`], their reads as [`Notice::ReadElsewhere`], and
//! `/devices`, `/unlink` and `/link` are [`Client::devices`],
//! [`Client::unlink`] and [`Client::link_code`]. The folder also
//! records which server it belongs to (`server_id`): every login on the
//! send port asks (`SERVER`, protocol 1.1), and a folder met by another
//! server at the same address is moved aside, outbox and all, before
//! anything is sent or stored ([`server_id`], [`Notice::ServerChanged`]).
//!
//! Direct chats (protocol §8) run beside the server connections: the client
//! listens for peers ([`ClientOptions::p2p_port`]), announces the port after each
//! login, and [`Client::open_p2p`] dials one. While a direct chat with a
//! user is open, [`Client::send`] to that user goes over it; what the peer
//! does not acknowledge goes through the server when the chat ends. See
//! [`crate::p2p`] for the connections and `direct.rs` for this glue.
//!
//! A conversation longer than one `HISTORY` (1,000 messages) is read back
//! from the server a page at a time (protocol 1.2): [`Client::history`]
//! past 1,000, [`Client::earlier`] as a screen scrolls up ([`pages`]).
//!
//! # A bot in a few lines
//!
//! Two whole bots are in `examples/`: `echo_bot.rs` (the loop below, with the
//! command line of `wachat connect`) and `telegram_bridge.rs` (a room ⇄ a
//! Telegram chat, which sends with [`Client::send_with_id`] so that a
//! resend after a crash is harmless).
//!
//! ```no_run
//! use wachat::client::{Client, Notice, ClientOptions};
//!
//! fn main() -> wachat::error::Result<()> {
//!     let client = Client::connect(ClientOptions::new("echo-bot", "secret"))?;
//!     for notice in client.events().iter() {
//!         if let Notice::Message(m) = notice {
//!             let chat = m.chat(client.me()).to_string();
//!             client.send(&chat, &format!("you said: {}", m.text.unescaped()))?;
//!             client.read(&m)?; // the sender's ticks turn "✓✓ read"
//!         }
//!     }
//!     Ok(())
//! }
//! ```

mod account;
pub mod actions;
mod backoff;
pub mod connection;
mod csv_file;
pub mod device;
mod devices;
mod direct;
pub mod files;
pub mod fold;
pub mod history;
mod keepalive;
mod link;
mod live;
pub mod local;
mod login;
pub mod options;
pub mod outbox;
mod overview;
pub mod pages;
mod prefs;
mod private;
mod profile;
pub mod reads;
mod receipts;
mod receiver;
mod requests;
mod sender;
pub mod server_id;
mod shared;
pub mod split;
mod stars;
mod start;
pub mod tls;
pub mod token;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

pub use backoff::{FIRST_BACKOFF, longer, try_again};
pub use connection::{Connection, Login, Trace};
pub use history::{History, Message};
pub use live::LiveChats;
pub use local::prepare as prepare_dir;
pub use options::{ClientOptions, Endpoint, default_data_dir, parse_servers};
pub use outbox::{Outbox, Unconfirmed};
pub use overview::{ChatSummary, Conversation, Presence, UserInfo};
pub use pages::{Page, Resume, ServerPage};
pub use receipts::MessageInfo;
pub use requests::parse_history_line;

use crate::error::{Error, Result};
use crate::i18n::client::{self as words, Msg};
use crate::i18n::tr;
use crate::p2p::P2p;
use crate::protocol::{Chat, Code, MsgState};
use sender::Job;
use shared::Shared;

/// A client sends `TYPING` for a chat at most this often (protocol 1.2).
pub const TYPING_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// How long "ana is typing…" is shown after her last `TYPING`.
pub const TYPING_SHOWN: std::time::Duration = std::time::Duration::from_secs(5);

/// What the client tells the application, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A new message for you, direct or in a room, already in the local log.
    /// The same `(from, id)` never comes twice.
    Message(Message),
    /// You just wrote this message; it is in the outbox (`SENT`, `…`).
    /// Or (protocol 1.2) you wrote it on another of your devices: a copy,
    /// already in the local log, `RECEIVED` or further; its ticks follow
    /// as [`Notice::State`], as for a message sent here.
    Sent(Message),
    /// Protocol 1.2: you read `chat` up to the message `id` on another of
    /// your devices (`READMARK`): its messages are read here too, and its
    /// unread badge goes.
    ReadElsewhere { chat: Chat, id: String },
    /// One of your messages moved to `state`. A `READ` covers every earlier
    /// message to the same user too.
    State { to: Chat, id: String, state: MsgState },
    /// The server refused one of your messages for good (no such user, not
    /// a member of the room): its `KO` code and reason. 1.3 (§27): or
    /// another server did, or it waited past the give-up age (a bounce):
    /// no code, the reason in words; an empty `id` is a `JOIN` of a room
    /// of another server that its home refused.
    Refused { to: Chat, id: String, code: Option<Code>, reason: String },
    /// A user who shares a room with you came online.
    Joined(String),
    /// A user who shares a room with you went offline.
    Left(String),
    /// `user` joined (`joined`) or left a room you are in: a `JOIN` or
    /// `LEAVE`, not coming online. `room` is `#name`. Protocol 1.1: a
    /// version-1 server never says it.
    Member { room: String, user: String, joined: bool },
    /// Protocol 1.2: `from` is typing in `chat` (a direct chat with `from`,
    /// or a room). Shown for [`TYPING_SHOWN`] at most, or until `from`'s
    /// next message in `chat` arrives.
    Typing { from: String, chat: Chat },
    /// Protocol 1.2: `by` changed `room` (`#name`): a topic, a mode, a
    /// kick, a mute … The room's text also holds it as a message from
    /// `by`; this is for what a console shows beside it (the header, a
    /// mute's end).
    Moderation { room: String, by: String, change: crate::protocol::Change },
    /// The connection is lost (or the server was down at start); the
    /// client keeps trying. The text says why.
    Offline(String),
    /// Both connections are up again.
    Online,
    /// Another client logged in as you took over the receive port; this one
    /// receives nothing more (it can still send).
    Replaced,
    /// Protocol 1.2: this device was unlinked (`UNLINK`, from another of
    /// your devices): logged out for good, its token forgotten. Link it
    /// again (`--pair`) or log in with the password.
    Unlinked,
    /// The server will not let this client in any more: its administrator
    /// disabled the account (1.2's `BYE:DISABLED`), or a login after a
    /// lost connection was refused (`KO:AUTH_FAILED`: the account disabled
    /// or deleted, its password changed elsewhere). The client stopped
    /// reconnecting: trying again every few seconds would only count
    /// failed logins. The text says why, in the user's words.
    Ended(String),
    /// A direct chat with `peer` is open (`incoming`: the peer opened it):
    /// your messages to `peer` now go straight to it, marked `[p2p]`.
    P2pOpened { peer: String, incoming: bool },
    /// The direct chat with `peer` ended (`why`); `resent` messages it had
    /// not acknowledged were handed to the server, with their ids.
    P2pClosed { peer: String, why: String, resent: usize },
    /// The server at this address is not the one the local files were
    /// kept for (protocol 1.1's `SERVER` says another id: a fresh data
    /// directory, another server on the same port). The old files were
    /// moved aside, their outbox unsent; the local history starts afresh,
    /// or is the one of an earlier visit to this server. Told once.
    ServerChanged(server_id::Moved),
    /// Protocol 1.2 (§22): one of your devices (maybe this one) changed a
    /// chat's notification level or pin (`PREF`).
    Pref(crate::protocol::PrefLine),
    /// Protocol 1.2 (§22): one of your devices blocked (`blocked`) or
    /// unblocked `user` (`BLOCKED`, `UNBLOCKED`).
    Blocked { user: String, blocked: bool },
    /// Protocol 1.2 (§23): one of your devices (maybe this one) archived
    /// `chat` (`archived`) or took it out of the archive (`ARCHIVE`). An
    /// archived chat is shown apart and notifies only of `@` mentions
    /// ([`Level::rings`](crate::protocol::Level::rings)).
    Archived { chat: Chat, archived: bool },
    /// Protocol 1.2 (§25): one of your devices (maybe this one) starred
    /// (`starred`) `from`'s message `id` of `chat`, or took the star back
    /// (`STAR`).
    Starred { chat: Chat, from: String, id: String, starred: bool },
    /// Protocol 1.2 (§24): `from` is calling you. A console takes no
    /// call: it says to answer in the browser.
    Ringing { from: String, media: crate::protocol::call::Media },
    /// Protocol 1.2 (§24): a call ended, because of `by` (you, or the
    /// other end); a missed call is also a message in the chat.
    CallEnded { by: String, why: crate::protocol::call::End },
    /// Protocol 1.2 (§32): `by` started a call in `room` (`#lab`). A
    /// console joins no call: it says to join in the browser, once (its
    /// line in the room is a message).
    GroupCall { room: String, by: String, media: crate::protocol::call::Media },
}

/// A logged-in chat client. Dropping it (or [`Client::close`]) delivers
/// what it can of the outbox, logs out and joins its threads.
pub struct Client {
    shared: Arc<Shared>,
    /// To the sender thread; dropped first when closing.
    jobs: Option<Sender<Job>>,
    /// Dropped to tell the receiver thread to stop.
    stop: Option<Sender<()>>,
    notices: Receiver<Notice>,
    /// Direct chats; `Some` until the client closes, and dropped first then,
    /// so that what the peers did not acknowledge reaches the outbox
    /// before the sender thread delivers it one last time. (The lock of
    /// the local folder is in `shared`: it goes last, once the threads
    /// have stopped writing to the folder.)
    p2p: Option<P2p>,
    /// `<unix ms at start>-<random>`: with a counter, unique message ids
    /// even for two clients of the same user started in the same millisecond.
    id_prefix: String,
    next_id: AtomicU64,
    /// When `TYPING` was last sent, by folded chat name: at most once
    /// every [`TYPING_EVERY`] per chat.
    typed: Mutex<std::collections::HashMap<String, std::time::Instant>>,
    threads: Vec<JoinHandle<()>>,
    /// The outbox's length before the sender started.
    pending_at_start: usize,
    /// Why the server could not be reached at the start, when this device
    /// never reached it before: nothing of it is here yet, and the address
    /// or the port may well be wrong.
    never_reached: Option<String>,
}

impl Client {
    /// Your user name, as registered on the server.
    pub fn me(&self) -> &str {
        &self.shared.me
    }

    /// This device's name (`--device`, or the default the folder keeps).
    pub fn device(&self) -> &str {
        self.shared.options.device.as_deref().unwrap_or(crate::protocol::DEFAULT_DEVICE)
    }

    /// What ends a console when this device is unlinked ([`Notice::Unlinked`]).
    pub fn unlinked_error(&self) -> Error {
        if self.shared.deleted.load(std::sync::atomic::Ordering::Relaxed) {
            return Error::Usage(tr!(crate::i18n::account::Msg::AccountDeleted, user = self.me()));
        }
        Error::Usage(tr!(Msg::UnlinkedHere, device = self.device(), user = self.me()))
    }

    /// The folder of this device's local files.
    pub fn folder(&self) -> std::path::PathBuf {
        self.shared.folder.lock().dir.clone()
    }

    /// Everything that happens, in order: new messages, ticks, presence,
    /// going offline and back. Read it from one thread (the console prints
    /// it; a bot loops on it).
    pub fn events(&self) -> &Receiver<Notice> {
        &self.notices
    }

    /// True while both connections are up.
    pub fn is_online(&self) -> bool {
        self.shared.link.is_online()
    }

    /// Sends `text` to a user or a `#room`. Returns once the message is
    /// safe in the outbox (state `SENT`): it will be delivered even if the
    /// server is down now or this program stops. Its ticks come later as
    /// [`Notice::State`]. Fails only on a bad name or text, or a disk error.
    pub fn send(&self, to: &str, text: &str) -> Result<Message> {
        let id = format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed));
        self.send_with_id(to, &id, text)
    }

    /// Like [`Client::send`], with a message id of your choosing instead of
    /// a fresh one: 1–64 characters from `A-Z a-z 0-9 _ -`, never used by
    /// this account for another message.
    ///
    /// Why a program would choose: an id derived from where the message
    /// came from makes a resend harmless. A bridge that crashes after
    /// `send_with_id` but before remembering it did, sends the same message
    /// again with the same id when it restarts; the server answers the
    /// original `OK` and delivers nothing twice (protocol §4).
    pub fn send_with_id(&self, to: &str, id: &str, text: &str) -> Result<Message> {
        let to = words::parse_chat(crate::i18n::current(), to).map_err(Error::Usage)?;
        // A bad id is the program's mistake, not the user's: said in English.
        crate::protocol::names::check_id(id).map_err(Error::Usage)?;
        let text = words::text_from_plain(crate::i18n::current(), text).map_err(Error::Usage)?;
        let out = Unconfirmed { ts: now_ms(), to, id: id.to_string(), text };
        if let Chat::User(peer) = &out.to
            && self.is_direct(peer)
        {
            return self.send_direct(out);
        }
        let message = self.shared.as_logged(&out, MsgState::Sent, out.ts);
        {
            // Under the log's lock, so that the sender thread, which may
            // take the message from the outbox at once, settles its `✓`
            // (under the same lock) only after the `…` is told.
            let mut log = self.shared.log.lock();
            // Outbox first: it is what makes the message leave one day.
            self.shared.outbox.lock().push(out.clone())?;
            log.add(message.clone())?;
            log.sync()?;
            let _ = self.shared.notices.send(Notice::Sent(message.clone()));
        }
        self.job(Job::Wake);
        Ok(message)
    }

    /// How many messages wait in the outbox for the server.
    pub fn pending(&self) -> usize {
        self.shared.outbox.lock().len()
    }

    /// How many messages the outbox held from an earlier run when this
    /// client started (a welcome line says so: by the time it is printed,
    /// the sender may have sent them all).
    pub fn pending_at_start(&self) -> usize {
        self.pending_at_start
    }

    /// Why the server could not be reached when this client started, if
    /// this device has never reached it (no record of it in the folder:
    /// its id, a message, a message waiting, a device token). A welcome
    /// says so: "working offline" would read as a success to someone who
    /// typed a wrong port. `None` once it ever connected, or online.
    pub fn never_reached(&self) -> Option<&str> {
        self.never_reached.as_deref()
    }

    /// Logs out and stops the threads, after sending what the outbox holds
    /// if the server can be reached. (Dropping the client does the same;
    /// this gives it a name at the call site.)
    pub fn close(self) {
        drop(self);
    }

    fn job(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            // Fails only if the sender thread has stopped, which `request` reports.
            let _ = jobs.send(job);
        }
    }
}

impl Drop for Client {
    /// Shutdown by ownership: dropping the channels tells each thread to
    /// finish, then we wait for them.
    fn drop(&mut self) {
        self.p2p.take();
        self.stop.take();
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The start of this process's message ids: `<unix ms>-<6 random hex>`.
/// Followed by `-<counter>`, ids are unique per sender (protocol §1) even
/// across restarts and for two programs of the same user started in the
/// same millisecond; they stay within the 64 characters of `A-Za-z0-9_-`.
pub fn id_prefix() -> Result<String> {
    let random = getrandom::u32().map_err(|e| Error::Usage(tr!(Msg::NoRandom, error = e)))?;
    Ok(format!("{}-{:06x}", now_ms(), random & 0xff_ffff))
}

/// Unix milliseconds of the local clock.
pub fn now_ms() -> u64 {
    // A clock before 1970 is a broken machine; 0 keeps the client going.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
