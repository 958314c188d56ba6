//! # The class network (protocol 1.3, docs/PROTOCOL.md §27)
//!
//! Servers linked by a class roster: ana on `lab1` writes to `bob@lab2`,
//! `lab1` holds the message (custody) and carries it over a **link** to
//! `lab2`, which delivers it as any message; statuses come back the same
//! way, and a message the network cannot deliver is bounced to its
//! author. Everything a link stores — the queue for each peer, how far
//! each peer's frames were taken, the identity each presented — is
//! records of the store (`store::state::remote`, `store::local::link`),
//! applied by the same code as a client's: this module only moves frames.
//!
//! | file | what |
//! |---|---|
//! | `roster.rs` | the roster file, read again when it changes |
//! | `accept.rs` | the link port: one thread per connection; `HELLO` (secret, dialback, identity) then frames taken into the store, `VERIFY` answered |
//! | `dial.rs` | one thread per peer: dials it while something waits for it, replays from its `OK:<last>`, sends the queue, records the answers, waits with backoff while it is unreachable, bounces past the give-up age |
//!
//! Threads: `accept-link`, a handler thread per link connection (at most
//! [`MAX_LINKS`] at once), and a `link-<peer>` dialer per peer of the
//! roster. No async: each blocks on its one socket, with deadlines.
//!
//! **A cluster is one server of the network.** Every node reads the
//! roster and binds its link port, and every node routes its clients'
//! addresses; but only the leader links: its dialers send the queues
//! (which are the replicated state's, so a new leader has them), it takes
//! the frames, and it says where it takes links with a record every node
//! applies ([`LocalStore::advertise_link`]). A follower's dialers wait,
//! and a link or a dialback a follower is given goes to the leader through
//! it, byte for byte (`accept::relay`): the roster may name any node.

mod accept;
mod dial;
pub mod roster;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Ko};
use crate::server::Ctx;
use crate::store::LocalStore;
use roster::{Roster, RosterFile};

/// Default `--link-port`.
pub const LINK_PORT: u16 = 7001;

/// Most connections to the link port at once (links and dialbacks): a
/// roster's servers twice over, and a few strangers.
pub const MAX_LINKS: usize = 2 * roster::MAX_SERVERS + 16;

/// Most dialbacks under way at once (each one an outgoing connection a
/// hello makes this server open).
pub const MAX_DIALBACKS: usize = 8;

/// Frames read from one link a second, at most (`link_rate`): a faster
/// peer is read more slowly, and TCP makes it wait.
pub const LINK_RATE: u32 = 1_000;

/// What the links of this server share.
pub struct Federation {
    /// This server's name (`--name`).
    pub me: String,
    /// The roster as last read.
    roster: RwLock<Arc<Roster>>,
    file: Mutex<RosterFile>,
    /// This data's identity (what `SERVER` answers), said in every hello.
    identity: String,
    /// `--give-up`.
    pub give_up: Duration,
    /// `--timeout`: every read and write of a link has it as deadline.
    pub timeout: Duration,
    /// `--max-frame`.
    pub max_frame: usize,
    /// Keys of the hellos this server's dialers are sending, by key: the
    /// peer each was sent to (a `VERIFY` asks).
    keys: Mutex<HashMap<String, String>>,
    /// Dialbacks under way.
    dialbacks: AtomicUsize,
    /// Connections to the link port open now.
    links_open: AtomicUsize,
    /// Where this server takes links, as other nodes of its cluster reach
    /// it (`host:port`).
    link_at: String,
    /// This node leads and has said where it takes links.
    advertised: std::sync::atomic::AtomicBool,
    /// The open incoming link of each peer (folded name): a new hello from
    /// the same peer closes the older.
    incoming: Mutex<HashMap<String, std::net::TcpStream>>,
    /// Each dialer's bell, by its peer's queue account: rung when a batch
    /// adds to that queue.
    bells: RwLock<HashMap<crate::store::UserId, Sender<()>>>,
    /// What each peer's link is doing, for `INFO`, the log and metrics.
    pub status: Mutex<HashMap<String, PeerStatus>>,
    ctx: Weak<Ctx>,
}

/// What a dialer is doing (for the metrics and `wachat top`).
#[derive(Clone, Debug, Default)]
pub struct PeerStatus {
    /// Linked now.
    pub linked: bool,
    /// Unreachable since (Unix ms), and why.
    pub retrying_since: Option<u64>,
    pub last_error: String,
    /// Frames waiting for it, and when the oldest was written.
    pub queued: u64,
    pub oldest_ms: Option<u64>,
    /// Frames of rooms homed here were dropped for it: it catches up when
    /// its queue is empty.
    pub behind: bool,
}

/// Reads `90s`, `10m`, `24h`, `2d`, or a number of seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("{s:?} is not a duration (90s, 10m, 24h, 2d)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// The flags of the class network.
pub struct Options {
    pub name: String,
    pub peers: std::path::PathBuf,
    pub link_port: SocketAddr,
    pub give_up: Duration,
}

impl Federation {
    /// The local store the links write to.
    fn store(ctx: &Ctx) -> Option<&LocalStore> {
        ctx.store.local()
    }

    /// Starts the links of `ctx`'s server: binds the link port, reads the
    /// roster, starts the accept thread and a dialer per peer. Returns the
    /// federation, the link port's address and the accept thread (joined
    /// at shutdown, woken by a connection).
    pub fn start(ctx: &Arc<Ctx>, options: Options) -> Result<(Arc<Federation>, SocketAddr, JoinHandle<()>)> {
        let mut file = RosterFile::new(&options.peers);
        let roster = file.reload(&options.name).map_err(Error::Usage)?.expect("a first read");
        let identity = ctx.store.server().map_err(|ko| Error::Usage(ko.reason))?.id.to_string();
        if Self::store(ctx).is_none() {
            return Err(Error::Usage("--peers: this store cannot link to other servers".into()));
        }
        let listener = crate::server::listener::bind(options.link_port)?;
        let addr = listener.local_addr()?;
        // An address any node of the cluster reaches: the machine's name
        // if the port is bound to every address.
        let link_at = if addr.ip().is_unspecified() {
            format!("{}:{}", crate::sys::host::name(), addr.port())
        } else {
            addr.to_string()
        };
        let federation = Arc::new(Federation {
            me: roster.me.name.clone(),
            roster: RwLock::new(Arc::new(roster)),
            file: Mutex::new(file),
            identity,
            give_up: options.give_up,
            timeout: ctx.config.timeout,
            max_frame: ctx.config.max_frame,
            keys: Mutex::default(),
            dialbacks: AtomicUsize::new(0),
            links_open: AtomicUsize::new(0),
            link_at,
            advertised: Default::default(),
            incoming: Mutex::default(),
            bells: RwLock::default(),
            status: Mutex::default(),
            ctx: Arc::downgrade(ctx),
        });
        let _ = ctx.federation.set(federation.clone());
        let bells = Arc::downgrade(&federation);
        ctx.router.on_queued(Box::new(move |users| {
            if let Some(f) = bells.upgrade() {
                let bells = f.bells.read();
                if bells.is_empty() {
                    return;
                }
                for user in users {
                    if let Some(bell) = bells.get(&user) {
                        let _ = bell.try_send(());
                    }
                }
            }
        }));
        let accept = accept::spawn(listener, federation.clone())?;
        dial::spawn_all(&federation)?;
        Ok((federation, addr, accept))
    }

    /// The roster as it is now: read again if its file changed (a roster
    /// that became unreadable is kept as it was, and the problem logged).
    pub fn roster(&self) -> Arc<Roster> {
        if let Some(mut file) = self.file.try_lock() {
            match file.reload(&self.me) {
                Ok(Some(new)) => {
                    log::info!(
                        "link: roster {} read again: {} peers",
                        file.path().display(),
                        new.peers.len()
                    );
                    *self.roster.write() = Arc::new(new);
                }
                Ok(None) => {}
                Err(e) => log::warn!("link: the roster is not read again: {e}"),
            }
        }
        self.roster.read().clone()
    }

    fn ctx(&self) -> Option<Arc<Ctx>> {
        self.ctx.upgrade().filter(|ctx| !ctx.shutting_down())
    }

    /// Where a request naming `chat` goes (1.3, §27): `Ok(None)` if it
    /// stays as it is (a local name or room, or an address of a peer in
    /// the roster); `Ok(Some(local))` for an address of this server itself
    /// (`bob@lab1` on lab1 is `bob`, `#lab@lab1` is `#lab`);
    /// `KO:UNKNOWN_SERVER` for a server not in the roster.
    pub fn route(&self, chat: &Chat) -> std::result::Result<Option<Chat>, Ko> {
        let Some(server) = chat.server() else { return Ok(None) };
        if fold(server) == fold(&self.me) {
            return Ok(Some(chat.local_part()));
        }
        match self.roster().peer(server) {
            Some(_) => Ok(None),
            None => Err(Ko::new(Code::UnknownServer, format!("no server named {server} in the roster"))),
        }
    }

    /// What a server without `--peers` answers for an address: what it
    /// always answered (a name may not hold `@`).
    pub fn not_federated(chat: &Chat) -> Option<Ko> {
        chat.server()?;
        let (what, name) = match chat {
            Chat::User(name) => ("user", name),
            Chat::Room(name) => ("room", name),
        };
        let why = crate::protocol::names::check_name(name).err()?;
        Some(Ko::new(Code::BadRequest, format!("bad {what} name: {why}")))
    }

    /// True while this server links to its peers: alone, or leading its
    /// cluster. The first time it finds itself leading, it says where it
    /// takes links (a follower sends them there).
    fn leads(&self) -> bool {
        let Some(ctx) = self.ctx() else { return false };
        let Some(store) = Self::store(&ctx) else { return false };
        if !store.leads() {
            self.advertised.store(false, Ordering::SeqCst);
            return false;
        }
        if !self.advertised.load(Ordering::SeqCst) {
            match store.advertise_link(&self.me, &self.link_at) {
                Ok(()) => {
                    self.advertised.store(true, Ordering::SeqCst);
                    log::info!("link: this node leads; it takes links at {}", self.link_at);
                }
                Err(ko) => log::warn!("link: where this node takes links is not stored: {}", ko.reason),
            }
        }
        true
    }

    /// Each peer of the roster's link as it is now, for the metrics and
    /// `wachat top`: up or retrying (the dialers' word), what waits for it
    /// (the store's, read now: a dialer waiting out its backoff has not
    /// looked for a while).
    pub fn peer_links(&self) -> Vec<crate::metrics::PeerLink> {
        let Some(ctx) = self.ctx() else { return Vec::new() };
        let Some(store) = Self::store(&ctx) else { return Vec::new() };
        let status = self.status.lock().clone();
        let now = crate::store::now_ms();
        self.roster()
            .peers
            .iter()
            .map(|peer| {
                let facts = store.peer_facts(&peer.name);
                let seen = status.get(&peer.name).cloned().unwrap_or_default();
                crate::metrics::PeerLink {
                    peer: peer.name.clone(),
                    up: seen.linked,
                    retrying_since: seen.retrying_since.map_or(0, |ms| ms / 1000),
                    queued: facts.queued,
                    oldest_age: facts.oldest_ms.map_or(0, |ms| now.saturating_sub(ms) / 1000),
                    behind: facts.behind,
                }
            })
            .collect()
    }

    /// Rings the dialer of `server`: something waits for it that no
    /// event of a batch announced (a `JOIN` or `LEAVE` of a room homed
    /// there, the messages a catch-up queued).
    pub fn ring(&self, server: &str) {
        let Some(ctx) = self.ctx() else { return };
        let Some(id) = Self::store(&ctx).and_then(|s| s.peer_account_id(server)) else { return };
        if let Some(bell) = self.bells.read().get(&id) {
            let _ = bell.try_send(());
        }
    }

    /// A room message relayed by its home whose author is of a server the
    /// roster does not have: refused before the store sees it (an author
    /// of ours, or of a server of the roster, is the store's to check).
    fn stranger(&self, frame: &crate::protocol::link::Frame) -> Option<Ko> {
        let crate::protocol::link::Frame::Msg { from, to, .. } = frame else { return None };
        let (_, home) = to.split_once('@').filter(|_| to.starts_with('#'))?;
        let (_, origin) = from.split_once('@')?;
        let known = fold(origin) == fold(&self.me) || self.roster().peer(origin).is_some();
        (fold(home) != fold(&self.me) && !known)
            .then(|| Ko::new(Code::Forbidden, format!("{origin} of {from} is not in the roster")))
    }

    fn opened(&self) -> bool {
        self.links_open.fetch_add(1, Ordering::SeqCst) < MAX_LINKS
    }

    fn closed(&self) {
        self.links_open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A link's read that got no frame, in words.
fn said(e: &crate::protocol::FrameError) -> String {
    use crate::protocol::FrameError;
    match e {
        FrameError::Closed => "the connection was closed".into(),
        FrameError::TooLong => "a frame is longer than the limit".into(),
        FrameError::TimedOut => "no frame within the timeout".into(),
        FrameError::NotUtf8 => "a frame that is not UTF-8".into(),
        FrameError::Io(e) => e.to_string(),
    }
}

/// Checks one address of a request against the network: the chat to use
/// in its place, or the refusal. Every request that names a user goes
/// through it (`MSG`, `READ`, `HISTORY`).
pub fn route(ctx: &Ctx, chat: &Chat) -> std::result::Result<Option<Chat>, Ko> {
    match ctx.federation.get() {
        Some(f) => f.route(chat),
        None => Federation::not_federated(chat).map_or(Ok(None), Err),
    }
}
