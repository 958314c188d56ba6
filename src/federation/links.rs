//! The links of this server: what they share ([`Federation`]: the
//! roster, the link key, each dialer's bell, each
//! peer's status), the limits on them, and what the server's handlers ask
//! of them ([`Links`]: where an address goes, each link for the metrics).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};

use super::roster::{self, Roster, RosterFile};
use crate::protocol::call::Signal;
use crate::protocol::link::Frame;
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Ko, SeenLine};
use crate::server::Ctx;
use crate::server::links::Links;

/// Most connections to the link port at once: a roster's servers twice
/// over, and a few strangers.
pub const MAX_LINKS: usize = 2 * roster::MAX_SERVERS + 16;

/// Most connections to the link port at once from one address that are
/// not links yet (no hello taken: silent, in the TLS handshake, saying a
/// hello): a class of 32 servers on one machine, each with two hellos
/// under way. So one address, silent, holds at most this many
/// of [`MAX_LINKS`], and a peer at another address still links. A link
/// whose hello was taken no longer counts here (a cluster's follower
/// passes every peer's link to its leader from its one address).
pub const MAX_PER_ADDRESS: usize = 64;

/// The longest wait for the first frame of a connection to the link
/// port (its TLS handshake and its hello): half the `--timeout`, at
/// most this. A dialer says its hello as it connects; a student pastes
/// one.
pub const HELLO_WITHIN_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// How far past the last frame taken (or answered on this link) a
/// frame's number may be: numbers skip the frames both sides forgot
/// (refused for good, given up by the dialer's `--give-up`), at most a
/// queue's worth at once, ten times the default `--link-queue-max`. A
/// number past it is refused `KO:<n>:BAD_REQUEST`, so that no frame can
/// make the rest of a peer's stream look like duplicates.
pub const FRAME_WINDOW: u64 = 1_000_000;

/// Frames read from one link a second, at most (`link_rate`): a faster
/// peer is read more slowly, and TCP makes it wait.
pub const LINK_RATE: u32 = 1_000;

/// Call signals waiting for one peer's dialer, at most: a peer that is
/// slow to answer makes a signal past it `KO:FULL` at once, not a wait.
pub const SIGNALS_WAITING: usize = 64;

/// A call's signal for a peer, with who waits for its answer (none: an
/// end this server decided, told as soon as the link is free).
pub(super) struct Told {
    pub frame: Frame,
    /// Past it, nobody waits for the answer: the signal is not sent.
    pub until: Instant,
    pub answer: Option<Sender<Result<(), Ko>>>,
    /// 1.3: who waits for the people a `PEOPLE` frame finds
    /// (`people.rs`), in place of `answer`.
    pub listing: Option<Sender<Result<Vec<SeenLine>, Ko>>>,
}

impl Told {
    /// Says `result` to whoever waits for it.
    pub fn answer(self, result: Result<(), Ko>) {
        if let Some(listing) = &self.listing {
            // Only a refusal is said of a search this way.
            let _ = listing.try_send(result.clone().map(|()| Vec::new()));
        }
        if let Some(answer) = self.answer {
            let _ = answer.try_send(result);
        }
    }

    /// Says the people a `PEOPLE` frame found (or its refusal) to whoever
    /// waits for them.
    pub fn answer_listing(self, result: Result<Vec<SeenLine>, Ko>) {
        if let Some(listing) = self.listing {
            let _ = listing.try_send(result);
        }
    }

    /// Whether it is a call's signal (not a search of people).
    pub fn is_call(&self) -> bool {
        matches!(&self.frame, Frame::Call { .. })
    }

    /// Whether it is an offer (the signal that finds out whether the peer
    /// carries calls).
    pub fn is_offer(&self) -> bool {
        matches!(&self.frame, Frame::Call { signal: crate::protocol::call::Signal::Offer { .. }, .. })
    }
}

/// What a caller is told of a peer that answered an offer `BAD_REQUEST`
/// (its own words go to the log: a peer's echo of an SDP is no sentence
/// for a call screen).
pub(super) fn carries_no_calls(peer: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("{peer} does not carry calls"))
}

/// What the links of this server share.
pub struct Federation {
    /// This server's name (`--name`).
    pub me: String,
    /// The roster as last read.
    pub(super) roster: RwLock<Arc<Roster>>,
    pub(super) file: Mutex<RosterFile>,
    /// This data's identity (what `SERVER` answers), said in every hello.
    pub(super) identity: String,
    /// `--give-up`.
    pub give_up: Duration,
    /// `--timeout`: every read and write of a link has it as deadline.
    pub timeout: Duration,
    /// `--max-frame`.
    pub max_frame: usize,
    /// This server's link key (`--data-dir`'s `link-key.pem`): the
    /// client certificate of its dialers.
    pub(super) key: super::key::LinkKey,
    /// The link port's TLS configuration, of that key.
    pub(super) acceptor: Arc<rustls::ServerConfig>,
    /// Connections to the link port open now.
    pub(super) links_open: Mutex<Doorway>,
    /// Where this server takes links, as other nodes of its cluster reach
    /// it (`host:port`).
    pub(super) link_at: String,
    /// This node leads and has said where it takes links.
    pub(super) advertised: std::sync::atomic::AtomicBool,
    /// The open incoming link of each peer (folded name): a new hello from
    /// the same peer closes the older.
    pub(super) incoming: Mutex<HashMap<String, std::net::TcpStream>>,
    /// Each dialer's bell, by its peer's folded name: rung once a batch
    /// that added to the peer's queue is on disk ([`Federation::queued`]).
    pub(super) bells: RwLock<HashMap<String, Sender<()>>>,
    /// What each peer's link is doing, for `INFO`, the log and metrics.
    pub status: Mutex<HashMap<String, PeerStatus>>,
    /// The peers (folded names) whose dialer runs: the roster's watcher
    /// adds one as it starts its dialer, the dialer takes itself out as it
    /// ends (its peer left the roster).
    pub(super) dialers: Mutex<std::collections::HashSet<String>>,
    /// 1.3: each dialer's call signals to send (by its peer's folded
    /// name): the handlers of this server's users put them in, the dialer
    /// says them between windows of frames.
    pub(super) signals: Mutex<HashMap<String, Sender<Told>>>,
    /// 1.3: `--people-across`, and the counts that bound searches of
    /// people across servers (`people.rs`).
    pub(super) people: super::people::PeopleAcross,
    pub(super) ctx: Weak<Ctx>,
}

/// The connections to the link port open now: how many, and of those
/// not linked yet, how many from each address.
#[derive(Default)]
pub struct Doorway {
    open: usize,
    unlinked: HashMap<IpAddr, usize>,
}

impl Doorway {
    fn release(&mut self, from: IpAddr) {
        if let Some(here) = self.unlinked.get_mut(&from) {
            *here -= 1;
            if *here == 0 {
                self.unlinked.remove(&from);
            }
        }
    }
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
    /// Messages of rooms homed here were not queued for it (its queue was
    /// full): it catches up when the queue is empty.
    pub behind: bool,
    /// 1.3: the peer answered a call's offer `KO:BAD_REQUEST` on this
    /// link (it does not carry calls); forgotten at the next hello (the
    /// peer may have been upgraded).
    pub no_calls: bool,
    /// 1.3: the peer answered a `PRESENCE` `KO:BAD_REQUEST` on this link
    /// (it does not carry presence); forgotten at the next hello.
    pub no_presence: bool,
}

impl Federation {
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

    pub(super) fn ctx(&self) -> Option<Arc<Ctx>> {
        self.ctx.upgrade().filter(|ctx| !ctx.shutting_down())
    }

    /// True while this server links to its peers: alone, or leading its
    /// cluster. The first time it finds itself leading, it says where it
    /// takes links (a follower sends them there).
    pub(super) fn leads(&self) -> bool {
        let Some(ctx) = self.ctx() else { return false };
        if !ctx.store.leads() {
            self.advertised.store(false, Ordering::SeqCst);
            return false;
        }
        // The dialers and the link port's threads all ask: the one that
        // turns the flag says it, once; a failure turns it back, so that
        // the next one asking tries again.
        if self.advertised.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            match ctx.store.advertise_link(&self.me, &self.link_at) {
                Ok(()) => log::info!("link: this node leads; it takes links at {}", self.link_at),
                Err(ko) => {
                    self.advertised.store(false, Ordering::SeqCst);
                    log::warn!("link: where this node takes links is not stored: {}", ko.reason)
                }
            }
        }
        true
    }

    /// A room message relayed by its home whose author is of a server the
    /// roster does not have: refused before the store sees it (an author
    /// of ours, or of a server of the roster, is the store's to check).
    pub(super) fn stranger(&self, frame: &crate::protocol::link::Frame) -> Option<Ko> {
        use crate::protocol::link::Frame;
        let (Frame::Msg { from, to, .. } | Frame::File { from, to, .. }) = frame else { return None };
        let (_, home) = to.split_once('@').filter(|_| to.starts_with('#'))?;
        let (_, origin) = from.split_once('@')?;
        let known = fold(origin) == fold(&self.me) || self.roster().peer(origin).is_some();
        (fold(home) != fold(&self.me) && !known)
            .then(|| Ko::new(Code::Forbidden, format!("{origin} of {from} is not in the roster")))
    }

    /// Counts a connection from `from` to the link port, if it is within
    /// [`MAX_LINKS`] and [`MAX_PER_ADDRESS`]; the refusal's words if not.
    /// Each one counted is given back by [`Federation::closed`].
    pub(super) fn opened(&self, from: IpAddr) -> Result<(), String> {
        let mut doors = self.links_open.lock();
        if doors.open >= MAX_LINKS {
            return Err("too many links open; try later".into());
        }
        let here = doors.unlinked.entry(from).or_default();
        if *here >= MAX_PER_ADDRESS {
            return Err(format!("too many links open from {from}; try later"));
        }
        *here += 1;
        doors.open += 1;
        Ok(())
    }

    /// The connection from `from` is a link now (its hello was taken): it
    /// no longer counts toward its address's [`MAX_PER_ADDRESS`].
    pub(super) fn linked(&self, from: IpAddr) {
        self.links_open.lock().release(from);
    }

    /// A connection counted by [`Federation::opened`] closed; `linked`:
    /// [`Federation::linked`] was said of it.
    pub(super) fn closed(&self, from: IpAddr, linked: bool) {
        let mut doors = self.links_open.lock();
        doors.open -= 1;
        if !linked {
            doors.release(from);
        }
    }

    /// A batch is on disk (the router's hook): the dialer of each peer
    /// whose queue it added to is rung, and finds its frames
    /// (`LocalStore::frames_for` gives only what is on disk).
    pub(super) fn queued(&self, batch: &crate::store::state::Batch) {
        if batch.links.is_empty() {
            return;
        }
        let bells = self.bells.read();
        for account in &batch.links {
            if let Some(bell) = bells.get(&fold(account.trim_start_matches('@'))) {
                let _ = bell.try_send(());
            }
        }
    }

    /// How long a new connection has to say its first frame.
    pub(super) fn hello_within(&self) -> Duration {
        (self.timeout / 2).min(HELLO_WITHIN_MAX)
    }
}

impl Links for Federation {
    /// An address goes by the roster as it is now: this server's own
    /// name is the local chat, a peer's stays, another is unknown.
    fn route(&self, chat: &Chat) -> std::result::Result<Option<Chat>, Ko> {
        let Some(server) = chat.server() else { return Ok(None) };
        if fold(server) == fold(&self.me) {
            return Ok(Some(chat.local_part()));
        }
        match self.roster().peer(server) {
            Some(_) => Ok(None),
            None => Err(Ko::new(Code::UnknownServer, format!("no server named {server} in the roster"))),
        }
    }

    /// Each peer of the roster's link as it is now, for the metrics and
    /// `wachat top`: up or retrying (the dialers' word), what waits for it
    /// (the store's, read now: a dialer waiting out its backoff has not
    /// looked for a while).
    fn peer_links(&self) -> Vec<crate::metrics::PeerLink> {
        let Some(ctx) = self.ctx() else { return Vec::new() };
        let store = &ctx.store;
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

    /// A signal to a peer that does not carry calls is refused at once
    /// (its dialer learnt it from an earlier offer); one for a peer whose
    /// dialer has [`SIGNALS_WAITING`] already is `KO:FULL`.
    fn tell_call(&self, (from, to, id): (&str, &str, &str), signal: Signal, wait: bool) -> Result<(), Ko> {
        let server = crate::store::state::remote::address(to).map_or("", |(_, server)| server);
        let frame = Frame::Call { from: format!("{from}@{}", self.me), to: to.into(), id: id.into(), signal };
        let roster = self.roster();
        let peer = roster
            .peer(server)
            .ok_or_else(|| Ko::new(Code::UnknownServer, format!("no server named {server} in the roster")))?;
        let name = peer.name.clone();
        if self.status.lock().get(&name).is_some_and(|s| s.no_calls) {
            return Err(carries_no_calls(&name));
        }
        let unreachable = || Ko::new(Code::Offline, format!("{name} cannot be reached now"));
        let dialer = self.signals.lock().get(&fold(&name)).cloned().ok_or_else(unreachable)?;
        // The dialer may have to dial (at most 10 s) and say its hello
        // before the signal; past this, the caller hears why not.
        let within = self.timeout * 2;
        let (answer, answered) = crossbeam_channel::bounded(1);
        let told =
            Told { frame, until: Instant::now() + within, answer: wait.then_some(answer), listing: None };
        dialer.try_send(told).map_err(|_| {
            Ko::new(Code::Full, format!("{SIGNALS_WAITING} call signals wait for {name} already; try again"))
        })?;
        if !wait {
            return Ok(());
        }
        answered.recv_timeout(within + Duration::from_millis(100)).unwrap_or_else(|_| {
            Err(Ko::new(Code::Offline, format!("{name} did not answer within {} s", within.as_secs())))
        })
    }

    /// 1.3: `user`'s search of the people of `server` whose names begin
    /// with `start`: said by the dialer of `server` as call signals are
    /// ([`Told`]), within [`people::ASKED_A_MINUTE`](super::people::ASKED_A_MINUTE)
    /// of `user`'s, answered within twice the `--timeout`.
    fn ask_people(&self, user: &str, server: &str, start: &str) -> Result<Vec<SeenLine>, Ko> {
        let roster = self.roster();
        let peer = roster
            .peer(server)
            .ok_or_else(|| Ko::new(Code::UnknownServer, format!("no server named {server} in the roster")))?;
        let name = peer.name.clone();
        self.people.asking(user)?;
        let unreachable = || Ko::new(Code::Offline, format!("{name} cannot be reached now"));
        let dialer = self.signals.lock().get(&fold(&name)).cloned().ok_or_else(unreachable)?;
        let frame = Frame::People { asker: format!("{user}@{}", self.me), start: start.to_string() };
        let within = self.timeout * 2;
        let (listing, answered) = crossbeam_channel::bounded(1);
        let told = Told { frame, until: Instant::now() + within, answer: None, listing: Some(listing) };
        dialer.try_send(told).map_err(|_| {
            Ko::new(Code::Full, format!("{SIGNALS_WAITING} requests wait for {name} already; try again"))
        })?;
        answered.recv_timeout(within + Duration::from_millis(100)).unwrap_or_else(|_| {
            Err(Ko::new(Code::Offline, format!("{name} did not answer within {} s", within.as_secs())))
        })
    }

    /// 1.3: the photo and the profile of a user of ours, said by the
    /// dialer of `server` as an end of a call is (no one waits for the
    /// answer); past [`SIGNALS_WAITING`] waiting for it, not said (logged).
    fn tell_profile(&self, server: &str, line: &crate::protocol::profile::ProfileLine, photo: Option<&str>) {
        let Some(dialer) = self.signals.lock().get(&fold(server)).cloned() else { return };
        let user = format!("{}@{}", line.user, self.me);
        let until = Instant::now() + self.timeout * 2;
        let photo = photo.filter(|_| !line.tag.is_empty()).map(|base64| Frame::Photo {
            user: user.clone(),
            tag: line.tag.clone(),
            base64: base64.to_string(),
        });
        let profile = Frame::Profile { user, tag: line.tag.clone(), name: line.name.clone() };
        for frame in photo.into_iter().chain([profile]) {
            let told = Told { frame, until, answer: None, listing: None };
            if dialer.try_send(told).is_err() {
                log::info!(
                    "link to {server}: {SIGNALS_WAITING} frames wait already: {}'s profile not told",
                    line.user
                );
                return;
            }
        }
    }
}

/// A link's read that got no frame, in words.
pub(super) fn said(e: &crate::protocol::FrameError) -> String {
    use crate::protocol::FrameError;
    match e {
        FrameError::Closed => "the connection was closed".into(),
        FrameError::TooLong => "a frame is longer than the limit".into(),
        FrameError::TimedOut => "no frame within the timeout".into(),
        FrameError::NotUtf8 => "a frame that is not UTF-8".into(),
        FrameError::Io(e) => e.to_string(),
    }
}
