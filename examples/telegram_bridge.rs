//! # The Telegram bridge: one wachat room ⇄ one Telegram chat
//!
//! A wachat client (the bridge account, a member of `--room`) and a
//! Telegram bot (`--token`, a member of `--chat-id`) in one program:
//!
//! - a room message from `ana` appears in Telegram as `ana: text`;
//! - a Telegram message from Juan appears in the room as sent by the bridge
//!   account: `[tg] Juan: text`.
//!
//! ```sh
//! TELEGRAM_TOKEN=… WACHAT_PASSWORD=… cargo run --example telegram_bridge -- \
//!     --user tg-bridge --room '#general' --chat-id -1001234567890
//! ```
//!
//! ## Threads
//!
//! ```text
//!             getUpdates (long polling)
//!   Telegram ─────────────────────────────▶ poller thread
//!      ▲                                    │ batch of updates   ▲ the offset to go on from,
//!      │ sendMessage                        ▼                    │ once the batch is safe
//!      └─────────────────────────────── main thread ─────────────┘
//!                                       select! over the batches, client.events()
//!                                       and stop (disconnected by Ctrl+C)
//!                                         │ send_with_id        ▲ Notice::Message
//!                                         ▼                     │
//!                                       wachat::client: outbox, sender and
//!                                       receiver threads ⇄ the wachat server
//! ```
//!
//! Only the main thread touches the [`Client`] and the state file; the
//! poller only fetches. Both sides retry with a backoff when the other end
//! is down: the client library reconnects to wachat by itself (and keeps
//! what the bridge sends in its outbox meanwhile), and every Telegram call
//! is repeated until it works.
//!
//! ## Nothing twice, nothing lost
//!
//! - **No echo**: the room never sends the bridge its own messages (the
//!   server does not), and the bridge skips them anyway; on Telegram, bots'
//!   messages are skipped, so two bridges cannot feed each other.
//! - **Telegram → room**: update `n` goes into the wachat outbox with the id
//!   `tg-<bot id>-<n>` (on disk when `send_with_id` returns); then the state
//!   file says "next: `n + 1`"; only then does the poller ask for `n + 1`,
//!   which tells Telegram to forget `n`. A crash between the two steps
//!   sends `n` again with the *same id*: the server answers its first `OK`
//!   and delivers nothing twice (protocol §4).
//! - **Room → Telegram**: the client library stores a room message in the
//!   local log before acknowledging it, and never shows it twice. The state
//!   file remembers the last one Telegram accepted; at start, whatever the
//!   log holds after it is sent first (the bridge was stopped while Telegram
//!   was down). Telegram's `sendMessage` has no id of ours to deduplicate
//!   by, so a crash in the instant between Telegram's answer and the state
//!   file can show that one message twice there: the only gap, and a
//!   narrow one.

// An example's root file looks for its modules beside it, in examples/;
// these two belong to this example only, so they live in its own folder.
#[path = "telegram_bridge/bot_api.rs"]
mod bot_api;
#[path = "telegram_bridge/state.rs"]
mod state;

use std::collections::HashSet;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use wachat::cli::ServerArgs;
use wachat::client::{Client, ClientOptions, History, Message, Notice};
use wachat::protocol::names::fold;
use wachat::protocol::{Chat, MAX_TEXT};

use bot_api::{BotApi, Update};
use state::{Relayed, State};

/// First wait after a failure, doubled after each one…
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// …up to this (the client library's own limit too).
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// Telegram takes up to 4096 characters; wachat up to 4096 bytes, which is
/// never more characters: cutting at 4096 bytes fits both.
const MAX_TEXT_BYTES: usize = MAX_TEXT;

/// Relays a wachat room to one Telegram chat and back.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// The bot's token from @BotFather [default: $TELEGRAM_TOKEN, which keeps
    /// it out of the process list].
    #[arg(long)]
    token: Option<String>,
    /// The Telegram chat to bridge (groups have negative ids: -100…).
    #[arg(long, allow_negative_numbers = true)]
    chat_id: i64,
    /// The wachat room to bridge, e.g. '#general'.
    #[arg(long, value_parser = Chat::parse_room)]
    room: String,
    /// Where the Bot API is (another server, or a test's).
    #[arg(long, default_value = "https://api.telegram.org")]
    api_base: String,
    /// The bridge's state file [default: <data dir>/<host>:<send port>/<user>/telegram-<chat id>.json].
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seconds one getUpdates may wait on Telegram's side for news.
    #[arg(long, default_value_t = 25)]
    poll_timeout: u64,
}

/// A call that failed, sorted by what to do about it.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again: down, unreachable, overloaded. `after` is the
    /// other side's own advice on how long to wait.
    Retry { why: String, after: Option<Duration> },
    /// It would fail the same way again: a bad token, a chat the bot is not in.
    Permanent(String),
}

impl Failure {
    fn retry(why: String) -> Failure {
        Failure::Retry { why, after: None }
    }
}

fn main() {
    let args = Args::parse();
    // Log lines quote messages from the network: control characters shown, not obeyed.
    wachat::display::logger("info").init();
    if let Err(e) = run(args) {
        eprintln!("telegram_bridge: {}", wachat::display::visible(&e.to_string()));
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let token = match args.token.clone().or_else(|| std::env::var("TELEGRAM_TOKEN").ok()) {
        Some(token) if !token.is_empty() => token,
        _ => return Err("no bot token: set TELEGRAM_TOKEN or give --token".into()),
    };
    let options = args.server.options()?;
    // The account's folder for this server (created, or adopted from the
    // layout before folders per server): the state file lives beside its log.
    let dir = wachat::client::prepare_dir(&options)?;
    let state_path =
        args.state.clone().unwrap_or_else(|| dir.join(format!("telegram-{}.json", args.chat_id)));
    let state = match State::load(&state_path)? {
        Some(state) => state,
        // A new bridge relays what comes from now on, not what the
        // account's local log may hold from before (a test with `wachat connect`).
        None => {
            let state = State { telegram_offset: 0, last_to_telegram: last_in_log(&options, &args.room)? };
            // Saved now, so that the next start does not take what this
            // run receives for "from before".
            state.save(&state_path)?;
            state
        }
    };
    let stop = stop_on_ctrl_c()?;
    let api = Arc::new(BotApi::new(&args.api_base, &token, Duration::from_secs(args.poll_timeout)));

    let Some(bot) = with_retries(&stop, "Telegram getMe", || api.get_me())? else { return Ok(()) };
    let client = Client::connect(options)?;
    let room = format!("#{}", args.room);
    // Membership is kept across restarts, but a new bridge account is not
    // in the room yet; JOIN is harmless when it already is.
    let join = || match client.join(&room) {
        Ok(()) => Ok(()),
        Err(e @ wachat::error::Error::Refused { .. }) => Err(Failure::Permanent(e.to_string())),
        Err(e) => Err(Failure::retry(e.to_string())),
    };
    if with_retries(&stop, &format!("join {room}"), join)?.is_none() {
        return Ok(());
    }
    let name = bot.username.as_deref().unwrap_or(&bot.first_name);
    log::info!(
        "telegram_bridge: bridging {room} as {} and Telegram chat {} as @{name}",
        client.me(),
        args.chat_id
    );

    let (batches, offsets) = spawn_poller(api.clone(), state.telegram_offset)?;
    let mut bridge = Bridge {
        client,
        api,
        room: args.room,
        chat_id: args.chat_id,
        bot_id: bot.id,
        state,
        state_path,
        stop,
        caught_up: HashSet::new(),
    };
    bridge.catch_up()?;
    loop {
        select! {
            recv(bridge.client.events()) -> notice => match notice {
                Ok(notice) => bridge.on_notice(notice)?,
                Err(_) => return Err("the wachat client stopped".into()),
            },
            recv(batches) -> batch => match batch {
                Ok(updates) => {
                    bridge.relay_to_room(updates)?;
                    // A poller that is gone shows up at the next batch.
                    let _ = offsets.send(bridge.state.telegram_offset);
                }
                Err(_) => return Err("the Telegram poller stopped".into()),
            },
            recv(bridge.stop) -> _ => break,
        }
    }
    log::info!("telegram_bridge: stopped");
    // Returning drops the client, which sends what its outbox holds and logs
    // out. The poller is not waited for: it may be in the middle of a long
    // poll, and it holds nothing to save (the offset lives here).
    Ok(())
}

/// What the main thread works with.
struct Bridge {
    client: Client,
    api: Arc<BotApi>,
    /// The room's name, without its `#`.
    room: String,
    chat_id: i64,
    /// The bot's own id: with the update id, a message id no other bot's
    /// updates can produce.
    bot_id: i64,
    state: State,
    state_path: PathBuf,
    /// Disconnected on Ctrl+C.
    stop: Receiver<()>,
    /// Room messages that [`Bridge::catch_up`] sent from the local log:
    /// the client may announce the same ones as new right after it started.
    caught_up: HashSet<(String, String)>,
}

impl Bridge {
    /// Sends Telegram the room messages that reached the local log after
    /// the last one it accepted (the bridge stopped before handing them on).
    fn catch_up(&mut self) -> Result<(), Box<dyn Error>> {
        let log = self.client.local_history(&Chat::Room(self.room.clone()), usize::MAX);
        let start = match &self.state.last_to_telegram {
            None => 0,
            Some(last) => match log.iter().position(|m| key(m) == (fold(&last.from), last.id.clone())) {
                Some(at) => at + 1,
                None => {
                    let (from, id) = (&last.from, &last.id);
                    log::warn!("telegram_bridge: {from}'s message {id} is not in the local log; no catch-up");
                    return Ok(());
                }
            },
        };
        let me = self.client.me().to_string();
        for m in log[start..].iter().filter(|m| !m.is_from(&me)) {
            self.caught_up.insert(key(m));
            self.relay_to_telegram(m)?;
        }
        Ok(())
    }

    fn on_notice(&mut self, notice: Notice) -> Result<(), Box<dyn Error>> {
        match notice {
            // Never the bridge's own messages: they came from Telegram.
            Notice::Message(m) if self.is_room(&m.to) && !m.is_from(self.client.me()) => {
                self.on_room_message(&m)?
            }
            Notice::Refused { to, id, reason, .. } => {
                log::warn!("telegram_bridge: {to} refused {id}: {reason}")
            }
            Notice::Offline(why) => log::warn!("telegram_bridge: wachat offline ({why}); trying again"),
            Notice::Online => log::info!("telegram_bridge: wachat back online"),
            Notice::Replaced => {
                return Err(format!("another client logged in as {}", self.client.me()).into());
            }
            // Unlinked from another device (/unlink): logged out for good.
            Notice::Unlinked => return Err(self.client.unlinked_error().into()),
            // Another server at this address (the library moved the old
            // folder aside, and said so in the log): the mark of the last
            // message relayed named one of the old server's. A fresh log
            // has nothing relayed yet (no mark: a restart catches up from
            // its start); the log of an earlier visit to this server
            // counts as relayed. The Telegram offset stays: Telegram did
            // not change. Saved at once, into the new folder.
            Notice::ServerChanged(moved) => {
                let newest = match moved.restored {
                    true => self.client.local_history(&Chat::Room(self.room.clone()), 1).pop(),
                    false => None,
                };
                self.state.last_to_telegram = newest.map(|m| Relayed { from: m.from, id: m.id });
                self.state.save(&self.state_path)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A new room message from someone else, unless the catch-up sent it.
    fn on_room_message(&mut self, m: &Message) -> Result<(), Box<dyn Error>> {
        if self.caught_up.remove(&key(m)) {
            return Ok(());
        }
        self.relay_to_telegram(m)
    }

    /// One room message to Telegram, until Telegram takes it or refuses it
    /// for good. Stopped before that, the message stays after the state
    /// file's mark, and the next start sends it.
    fn relay_to_telegram(&mut self, m: &Message) -> Result<(), Box<dyn Error>> {
        let text = fit(&format!("{}: {}", m.from, m.text.unescaped()));
        let send = || self.api.send_message(self.chat_id, &text);
        match with_retries(&self.stop, "Telegram sendMessage", send) {
            Ok(Some(())) => {}
            Ok(None) => return Ok(()),
            // Holding everything up behind a message Telegram will never
            // take would stop the bridge for good: say so and go on.
            Err(why) => log::error!("telegram_bridge: dropping {}'s message {}: {why}", m.from, m.id),
        }
        self.state.last_to_telegram = Some(Relayed { from: m.from.clone(), id: m.id.clone() });
        Ok(self.state.save(&self.state_path)?)
    }

    /// A batch of Telegram updates to the room, then the new offset to disk
    /// (once per batch: a crash in between resends, under the same ids).
    fn relay_to_room(&mut self, updates: Vec<Update>) -> Result<(), Box<dyn Error>> {
        for update in updates {
            if let Some(text) = self.for_the_room(&update) {
                let id = format!("tg-{}-{}", self.bot_id, update.update_id);
                // Returns once the message is in the outbox on disk, even
                // while wachat is down.
                match self.client.send_with_id(&format!("#{}", self.room), &id, &fit(&text)) {
                    Ok(_) => {}
                    // A text wachat will not take: skipped, or it would stop
                    // the bridge again at every start.
                    Err(wachat::error::Error::Usage(why)) => {
                        log::error!("telegram_bridge: skipping Telegram update {}: {why}", update.update_id)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            self.state.telegram_offset = self.state.telegram_offset.max(update.update_id + 1);
        }
        Ok(self.state.save(&self.state_path)?)
    }

    /// The text to relay for an update: a text message in our chat from a
    /// person, as `[tg] Juan: text`.
    fn for_the_room(&self, update: &Update) -> Option<String> {
        let message = update.message.as_ref()?;
        let from = message.from.as_ref()?;
        if message.chat.id != self.chat_id || from.is_bot {
            return None;
        }
        Some(format!("[tg] {}: {}", from.full_name(), message.text.as_ref()?))
    }

    fn is_room(&self, chat: &Chat) -> bool {
        matches!(chat, Chat::Room(room) if fold(room) == fold(&self.room))
    }
}

/// The newest message of `room` in the account's local log, read before the
/// client starts (so before anything new can arrive).
fn last_in_log(options: &ClientOptions, room: &str) -> wachat::error::Result<Option<Relayed>> {
    let log = History::open(wachat::client::prepare_dir(options)?.join("history.csv"))?;
    let newest = log.conversation(&options.user, &Chat::Room(room.to_string()), 1).pop();
    Ok(newest.map(|m| Relayed { from: m.from, id: m.id }))
}

/// A message's unique name: sender (ignoring case) and id.
fn key(m: &Message) -> (String, String) {
    (fold(&m.from), m.id.clone())
}

/// Cuts a text to what both sides accept, at a character boundary.
fn fit(text: &str) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text.to_string();
    }
    let mut end = MAX_TEXT_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Calls `attempt` until it works, waiting longer after each failure.
/// `Ok(None)`: stopped (Ctrl+C) before it worked; then it is not tried at
/// all, so nothing is sent after the user asked to stop. `Err`: it failed
/// for good.
fn with_retries<T>(
    stop: &Receiver<()>,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<Option<T>, String> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if stop.try_recv() == Err(crossbeam_channel::TryRecvError::Disconnected) {
            return Ok(None);
        }
        let wait = match attempt() {
            Ok(value) => return Ok(Some(value)),
            Err(Failure::Permanent(why)) => return Err(format!("{what}: {why}")),
            Err(Failure::Retry { why, after }) => {
                let wait = after.unwrap_or(backoff);
                log::warn!("telegram_bridge: {what}: {why}; trying again in {wait:?}");
                wait
            }
        };
        // Waits, or wakes at once on Ctrl+C.
        if stop.recv_timeout(wait) == Err(RecvTimeoutError::Disconnected) {
            return Ok(None);
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The poller thread: long polls Telegram and hands each batch of updates
/// to the main thread, then waits for the offset to go on from. It never
/// asks for more before the main thread has the batch safe, because asking
/// confirms the batch to Telegram.
fn spawn_poller(api: Arc<BotApi>, mut offset: i64) -> std::io::Result<(Receiver<Vec<Update>>, Sender<i64>)> {
    let (batches_tx, batches) = crossbeam_channel::bounded(0);
    let (offsets, offsets_rx) = crossbeam_channel::bounded::<i64>(0);
    std::thread::Builder::new().name("telegram-poller".into()).spawn(move || {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match api.get_updates(offset) {
                // The long poll ended with nothing new: ask again.
                Ok(updates) if updates.is_empty() => {}
                Ok(updates) => {
                    // Either channel closed: the main thread is finishing.
                    if batches_tx.send(updates).is_err() {
                        return;
                    }
                    match offsets_rx.recv() {
                        Ok(next) => offset = next,
                        Err(_) => return,
                    }
                }
                Err(failure) => {
                    // Permanent or not, the poller can only try again; a bad
                    // token was already caught by getMe at start.
                    let (why, wait) = match failure {
                        Failure::Retry { why, after } => (why, after.unwrap_or(backoff)),
                        Failure::Permanent(why) => (why, backoff),
                    };
                    log::warn!("telegram_bridge: Telegram getUpdates: {why}; trying again in {wait:?}");
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
            backoff = FIRST_BACKOFF;
        }
    })?;
    Ok((batches, offsets))
}

/// A channel that is disconnected on the first Ctrl+C (SIGINT) or SIGTERM,
/// which every waiting loop of the bridge sees at once. A second Ctrl+C
/// quits without finishing.
fn stop_on_ctrl_c() -> std::io::Result<Receiver<()>> {
    let mut signals = wachat::sys::signals::Stop::listen()?;
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        let mut stop = Some(stop);
        loop {
            signals.wait();
            if stop.take().is_none() {
                eprintln!("telegram_bridge: quitting now");
                std::process::exit(130);
            }
            log::info!("telegram_bridge: stopping (Ctrl+C again to quit at once)");
        }
    })?;
    Ok(stopped)
}
