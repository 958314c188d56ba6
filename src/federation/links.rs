//! The links of this server: what they share ([`Federation`]: the
//! roster, the link key, each peer's outbound queue and status, the
//! counts of people and profiles across), and the limits on them. What
//! the server's handlers ask of them is `asked.rs`'s.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::doorway::{Doorway, Ticket};
use super::frames::counts::PeopleAcross;
use super::outbound::Outbound;
use super::roster::{Roster, RosterFile};
use crate::protocol::names::fold;
use crate::server::Ctx;

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
    /// Connections to the link port open now: strangers, and those that
    /// showed a roster key (`doorway.rs`).
    pub(super) links_open: Mutex<Doorway<std::net::TcpStream>>,
    /// Where this server takes links, as other nodes of its cluster reach
    /// it (`host:port`).
    pub(super) link_at: String,
    /// This node leads and has said where it takes links.
    pub(super) advertised: std::sync::atomic::AtomicBool,
    /// The open incoming link of each peer (folded name): a new hello from
    /// the same peer closes the older.
    pub(super) incoming: Mutex<HashMap<String, std::net::TcpStream>>,
    /// Each peer's outbound queue (by folded name), while its dialer
    /// runs: the roster's watcher adds one as it starts the dialer, the
    /// dialer takes it out as it ends (its peer left the roster).
    pub(super) outbound: RwLock<HashMap<String, Arc<Outbound>>>,
    /// What each peer's link is doing, for `INFO`, the log and metrics
    /// (shared with a thread asking a peer about its users in our calls).
    pub status: Arc<Mutex<HashMap<String, PeerStatus>>>,
    /// 1.3: `--people-across`, and the counts that bound searches of
    /// people across servers (`frames::people`).
    pub(super) people: PeopleAcross,
    pub(super) ctx: Weak<Ctx>,
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
    /// 1.3: when the peer last answered `KO:BAD_REQUEST`, as to a frame
    /// it does not carry, a call's offer (`no_calls`), a `PRESENCE`
    /// (`no_presence`), a room's call's start or a listing of its calls
    /// (`no_group_calls`). Each is believed for [`NOT_CARRIED_FOR`],
    /// across hellos: a wachat that predates a family closes a link on a
    /// word it does not know, and would be asked again (and the link
    /// closed again) on the link dialed next.
    pub no_calls: Option<Instant>,
    pub no_presence: Option<Instant>,
    pub no_group_calls: Option<Instant>,
    /// 1.3: a thread is asking the peer which of its users in this
    /// server's calls are in them (`frames::group_call::linked_from`),
    /// and whether the peer linked again since it began (it then asks
    /// once more): one such thread a peer at most.
    pub asking_who_is_in: Option<bool>,
}

/// How long a peer that refused a family's frame as one it does not
/// carry is told no other of that family: a peer upgraded meanwhile is
/// told them again after it.
pub const NOT_CARRIED_FOR: Duration = Duration::from_secs(10 * 60);

/// A refusal (`PeerStatus::no_calls` and its kin) still believed.
fn refused_lately(refused: Option<Instant>) -> bool {
    refused.is_some_and(|when| when.elapsed() < NOT_CARRIED_FOR)
}

impl PeerStatus {
    /// The peer refused a call's offer less than [`NOT_CARRIED_FOR`] ago.
    pub fn carries_no_calls(&self) -> bool {
        refused_lately(self.no_calls)
    }

    /// The peer refused a `PRESENCE` less than [`NOT_CARRIED_FOR`] ago.
    pub fn carries_no_presence(&self) -> bool {
        refused_lately(self.no_presence)
    }

    /// The peer refused a room's call's frame less than
    /// [`NOT_CARRIED_FOR`] ago.
    pub fn carries_no_group_calls(&self) -> bool {
        refused_lately(self.no_group_calls)
    }
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

    /// Takes a connection from `from` to the link port, `tcp`, as a
    /// stranger ([`Doorway::admit`]), or says why not; the connection
    /// closed to make room for it, if one was, is closed here. Each taken
    /// is given back by [`Federation::closed`].
    pub(super) fn opened(&self, from: IpAddr, tcp: &std::net::TcpStream) -> Result<Ticket, String> {
        let copy = tcp.try_clone().map_err(|e| format!("{e}; try later"))?;
        let (ticket, closed) = self.links_open.lock().admit(from, copy, Instant::now())?;
        if let Some(closed) = closed {
            let _ = closed.shutdown(std::net::Shutdown::Both);
        }
        Ok(ticket)
    }

    /// The connection of `ticket` showed `cert` in its TLS handshake: if
    /// it is the key of a server of the roster, it is no stranger any
    /// more ([`Doorway::vouch`]: an older connection of that key may
    /// close for it). Refused if the roster's room is full, or if the
    /// connection was closed to make room for another.
    pub(super) fn vouch(&self, ticket: Ticket, cert: Option<&[u8]>) -> Result<(), String> {
        let Some(shown) = cert.map(super::key::fingerprint) else { return Ok(()) };
        let roster = self.roster();
        let ours =
            roster.peers.iter().filter_map(|p| p.fingerprint.as_deref()).any(|f| super::key::same(f, &shown));
        if !ours {
            return Ok(());
        }
        let older = self.links_open.lock().vouch(ticket, &shown)?;
        if let Some(older) = older {
            let _ = older.shutdown(std::net::Shutdown::Both);
        }
        Ok(())
    }

    /// The connection of `ticket` ended.
    pub(super) fn closed(&self, ticket: Ticket) {
        self.links_open.lock().close(ticket);
    }

    /// How long a new connection has to say its first frame.
    pub(super) fn hello_within(&self) -> Duration {
        (self.timeout / 2).min(HELLO_WITHIN_MAX)
    }

    /// The outbound queue of `peer` (its dialer runs), if it has one.
    pub(super) fn outbound(&self, peer: &str) -> Option<std::sync::Arc<Outbound>> {
        self.outbound.read().get(&fold(peer)).cloned()
    }

    /// A batch is on disk (the router's hook): the dialer of each peer
    /// whose queue it added to is rung, and finds its frames
    /// (`LocalStore::frames_for` gives only what is on disk).
    pub(super) fn queued(&self, batch: &crate::store::state::Batch) {
        if batch.links.is_empty() {
            return;
        }
        let outbound = self.outbound.read();
        for account in &batch.links {
            if let Some(peer) = outbound.get(&fold(account.trim_start_matches('@'))) {
                peer.ring();
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
