//! A dialer per peer, emptying the peer's outbound queue
//! (`outbound.rs`): while something waits for the peer, or once the peer
//! linked to us since our last link (it may have restarted: our hello
//! has our users' presence and profiles told it again), it links to it
//! (TLS, the peer's key checked against the roster's fingerprint and
//! this server's shown, then `HELLO`, answered `OK:<last>`), drops what
//! the peer says it has, and then, until the link ends: the told frames
//! waiting, each answered at once into its reply slot (`outbound::Told`);
//! the numbered ones in windows, each window's answers recorded in the
//! store (`ACK`s drop frames, a refusal for good bounces a message to
//! its author, a refusal for now ends the link); this server's users'
//! presence; and, idle, a `PING` every half `--timeout`. It sleeps on
//! its bell, rung once frames are on disk or a frame is told.
//!
//! An unreachable peer is dialed again after 1 s, 2 s, 4 s … at most 60 s
//! apart, ± 20 %, counted from the last link that was made (its hello
//! answered): a link that breaks is dialed again after 1 s, whatever
//! broke before it. A told frame cuts the wait short (a caller hears at
//! once whether the peer is back), and so does the peer's own link to
//! us, once a second has passed (it is back: what waited for it goes
//! now; a peer that links again and again makes us dial it at most once
//! a second); a message that waited past
//! `--give-up` is bounced, unless it was written on a link that broke
//! before its `ACK`: the store records how far frames were written
//! before a window leaves, and such a frame waits for the peer's
//! `OK:<last>`.

use std::collections::HashMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frames::file::{self, Carried};
use super::frames::sides::{Dialing, Why};
use super::frames::{hello, presence};
use super::key;
use super::links::{Federation, PeerStatus};
use super::outbound::Outbound;
use crate::error::{Error, Result};
use crate::protocol::link::Answer;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::store::local::link::{PeerFacts, Unacked};
use crate::store::now_ms;
use crate::transport::Stream;

/// Frames sent before their answers are read.
const WINDOW: usize = 256;
/// The shortest wait between two dials of an unreachable peer, however
/// often the peer links to us.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two dials of an unreachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Longest wait for a peer's TCP handshake: a host that is down (its
/// cable pulled) answers nothing, and a server with a long `--timeout`
/// (a lab typed by hand) would wait that long before trying again.
const CONNECT_MAX: Duration = Duration::from_secs(10);

/// Connects to `addr` (`host:port`) within `timeout` (at most
/// [`CONNECT_MAX`]), trying each address the name resolves to.
pub(super) fn connect(addr: &str, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other(format!("{addr}: no address"));
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout.min(CONNECT_MAX)) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_write_timeout(Some(timeout))?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Keeps a dialer running for each peer of the roster, as the roster is
/// now: reads the roster once a second, and starts a dialer for each peer
/// that has none (at the start, every peer; later, a line added to the
/// file). A dialer whose peer left the roster ends by itself
/// ([`Dialer::run`]). Ends when the server shuts down.
pub(super) fn spawn_watcher(f: &Arc<Federation>) -> Result<()> {
    spawn_missing(f)?;
    let f = f.clone();
    std::thread::Builder::new()
        .name("roster".into())
        .spawn(move || {
            while f.ctx().is_some() {
                std::thread::sleep(Duration::from_secs(1));
                if let Err(e) = spawn_missing(&f) {
                    log::warn!("link: {e}");
                }
            }
        })
        .map_err(|e| Error::io("starting the roster's thread", e))?;
    Ok(())
}

/// Starts a dialer, with its outbound queue, for each peer of the roster
/// that has none.
fn spawn_missing(f: &Arc<Federation>) -> Result<()> {
    let roster = f.roster();
    let mut outbound = f.outbound.write();
    for peer in &roster.peers {
        if outbound.contains_key(&fold(&peer.name)) {
            continue;
        }
        let queue = Arc::new(Outbound::new());
        outbound.insert(fold(&peer.name), queue.clone());
        let (f, name) = (f.clone(), peer.name.clone());
        let started = std::thread::Builder::new()
            .name(format!("link-{name}"))
            .spawn(move || Dialer::new(f, name, queue).run());
        if let Err(e) = started {
            outbound.remove(&fold(&peer.name));
            return Err(Error::io("starting a link's thread", e));
        }
    }
    Ok(())
}

struct Dialer {
    f: Arc<Federation>,
    peer: String,
    /// What waits for the peer besides the store's queue, and the bell.
    outbound: Arc<Outbound>,
    backoff: Duration,
    /// 1.3: when the last `PRESENCE` left for the peer.
    presence_sent: Option<Instant>,
}

impl Dialer {
    fn new(f: Arc<Federation>, peer: String, outbound: Arc<Outbound>) -> Dialer {
        if let Some(ctx) = f.ctx() {
            ctx.remote_seen.hang_bell(&peer, outbound.bell());
        }
        Dialer { f, peer, outbound, backoff: Duration::ZERO, presence_sent: None }
    }

    /// Answers every told frame waiting with `ko`: the link could not say them.
    fn refuse_told(&self, ko: &Ko) {
        for told in self.outbound.waiting.try_iter() {
            told.refuse(ko.clone());
        }
    }

    /// Says the told frames waiting, each answered at once into its reply
    /// slot by its family ([`Told::say`](super::outbound::Told::say)); one
    /// nobody waits for any more is dropped.
    fn say_told(&self, d: &mut Dialing) -> std::result::Result<(), Why> {
        while let Ok(told) = self.outbound.waiting.try_recv() {
            if Instant::now() > told.until {
                continue; // nobody waits for it any more: a late offer would ring for nothing
            }
            told.say(d)?;
        }
        Ok(())
    }

    fn status(&self, change: impl FnOnce(&mut PeerStatus)) {
        change(self.f.status.lock().entry(self.peer.clone()).or_default());
    }

    /// What the store knows of the peer (nothing if it is going).
    fn facts(&self) -> PeerFacts {
        let Some(ctx) = self.f.ctx() else { return PeerFacts::default() };
        let facts = ctx.store.peer_facts(&self.peer);
        self.status(|s| {
            s.queued = facts.queued;
            s.oldest_ms = facts.oldest_ms;
            s.behind = facts.behind;
        });
        facts
    }

    /// Sleeps until the bell rings, at most `wait`; true if it rang.
    fn sleep(&self, wait: Duration) -> bool {
        self.outbound.rung.recv_timeout(wait).is_ok()
    }

    fn run(mut self) {
        while self.f.ctx().is_some() {
            if self.gone() {
                return;
            }
            if !self.f.leads() {
                // This node follows its cluster's leader, which links for it.
                self.status(|s| s.linked = false);
                self.sleep(Duration::from_secs(1));
                self.refuse_told(&Ko::new(Code::Unavailable, "this node does not lead its cluster"));
                continue;
            }
            let facts = self.facts();
            let told = !self.outbound.waiting.is_empty();
            // A peer that linked to us since our last link may have
            // restarted, without what our users' presence and profiles
            // told it: our link tells them again (`linked_to`), though
            // nothing else waits for it.
            let back = self.outbound.is_back();
            if facts.queued == 0 && !facts.behind && !told && !back && !presence::waits(&self.f, &self.peer) {
                self.sleep(Duration::from_secs(1));
                continue;
            }
            if let Err(why) = self.link() {
                self.unreachable(why);
            }
        }
    }

    /// The link could not be made, or broke: what waited past the give-up
    /// age bounces, the told frames are refused, and the next dial waits
    /// out the backoff (a told frame, or the peer linking to us, cuts it
    /// short).
    fn unreachable(&mut self, why: Why) {
        let since = now_ms();
        let mut was_linked = false;
        self.status(|s| {
            was_linked = std::mem::replace(&mut s.linked, false);
            s.retrying_since.get_or_insert(since);
            s.last_error = why.clone();
        });
        // Only a peer that could not take them now: one that is back
        // after a while takes what waited (its `OK:<last>` may say it
        // has it already).
        self.give_up();
        if was_linked {
            // One line per link made: at most one a second (MIN_BACKOFF), or one per told frame.
            log::info!("link to {}: broken: {why}", self.peer);
        } else {
            log::debug!("link to {}: {why}", self.peer);
        }
        self.refuse_told(&Ko::new(Code::Offline, format!("{} cannot be reached now: {why}", self.peer)));
        self.backoff = (self.backoff * 2).clamp(MIN_BACKOFF, MAX_BACKOFF);
        let jitter = 0.8 + 0.4 * f64::from(random_u8()) / 255.0;
        let started = Instant::now();
        let until = started + self.backoff.mul_f64(jitter);
        while Instant::now() < until && self.f.ctx().is_some() && self.outbound.waiting.is_empty() {
            if started.elapsed() >= MIN_BACKOFF && self.outbound.came_back() {
                break;
            }
            self.sleep(Duration::from_millis(100).min(until - Instant::now()));
        }
    }

    /// Whether the peer left the roster: then this dialer ends, its
    /// outbound queue and its status dropped (what waits for the peer
    /// stays in the store, and bounces at its give-up age if it is not
    /// back). The roster's watcher starts another if the peer comes back.
    fn gone(&self) -> bool {
        let mut outbound = self.f.outbound.write();
        if self.f.roster().peer(&self.peer).is_some() {
            return false;
        }
        outbound.remove(&fold(&self.peer));
        drop(outbound);
        self.f.status.lock().remove(&self.peer);
        log::info!("link to {}: no longer in the roster", self.peer);
        true
    }

    /// Bounces what waited past the give-up age.
    fn give_up(&self) {
        let Some(ctx) = self.f.ctx() else { return };
        let store = &ctx.store;
        let cutoff = now_ms().saturating_sub(self.f.give_up.as_millis() as u64);
        let why = self.f.status.lock().get(&self.peer).map(|s| s.last_error.clone()).unwrap_or_default();
        let secs = self.f.give_up.as_secs();
        let mut reason = format!("{} unreachable for {secs} s (--give-up)", self.peer);
        if !why.is_empty() {
            reason = format!("{reason}: {why}");
        }
        match store.give_up(&self.peer, cutoff, &reason) {
            Ok((0, _)) => {}
            Ok((frames, bounced)) => log::warn!(
                "link to {}: {frames} frames waited past --give-up {secs} s: dropped, {bounced} messages bounced",
                self.peer
            ),
            Err(ko) => log::warn!("link to {}: give-up: {}", self.peer, ko.reason),
        }
    }

    /// One link: TLS, the hello, what the peer has dropped, then its
    /// stream ([`Dialer::stream`]).
    fn link(&mut self) -> std::result::Result<(), Why> {
        let roster = self.f.roster();
        let entry = roster.peer(&self.peer).ok_or("not in the roster")?.clone();
        let expected = entry.fingerprint().inspect_err(|why| log::warn!("link to {}: {why}", self.peer))?;
        let tls = self.f.key.dialer(expected).map_err(|e| e.to_string())?;
        let tcp = connect(&entry.addr(), self.f.timeout).map_err(|e| e.to_string())?;
        // The TLS server name said is this server's own name (§27): no end
        // reads it, but a proxy between servers (chaos's) learns from it
        // which two servers a link joins.
        let sni = if rustls::pki_types::ServerName::try_from(self.f.me.as_str()).is_ok() {
            self.f.me.as_str()
        } else {
            key::SERVER_NAME
        };
        let stream = Stream::connect(tcp, Some(&tls), sni, Instant::now() + self.f.timeout).map_err(|e| {
            match crate::transport::tls::failure(&e) {
                Some(crate::transport::tls::HandshakeFailure::BadCertificate(_)) => {
                    let why = format!(
                        "{} at {} shows a key that is not the roster's (fingerprint {expected}): not linked",
                        self.peer,
                        entry.addr()
                    );
                    log::warn!("link to {}: {why}", self.peer);
                    why
                }
                _ => format!("TLS: {e}"),
            }
        })?;
        let f = self.f.clone();
        let peer = self.peer.clone();
        let mut d = Dialing::new(&f, &peer, stream)?;
        let last = hello::say(&mut d, &entry.name)?;
        let since = self.f.status.lock().get(&self.peer).and_then(|s| s.retrying_since);
        log::info!(
            "link to {}: linked (it has our frames up to {last}){}",
            self.peer,
            match since {
                Some(t) => format!(", after {} s away", now_ms().saturating_sub(t) / 1000),
                None => String::new(),
            }
        );
        self.backoff = Duration::ZERO;
        self.outbound.came_back(); // linked: that the peer linked to us before is news no more
        self.status(|s| {
            s.linked = true;
            s.retrying_since = None;
            s.last_error.clear();
        });
        let ctx = self.f.ctx().ok_or("shutting down")?;
        ctx.remote_seen.linked_to(&ctx, &self.peer);
        let store = &ctx.store;
        store.frames_done(&self.peer, last, &HashMap::new()).map_err(|ko| ko.reason)?;
        // What was written on an earlier link and is above `<last>` is not
        // there: no longer in doubt.
        store.written_through(&self.peer, last).map_err(|ko| ko.reason)?;
        self.stream(&ctx, &mut d)
    }

    /// The link's stream, until it ends: the told frames, a window of
    /// numbered ones, presence; idle, a `PING` every half `--timeout`
    /// until the bell rings.
    fn stream(&mut self, ctx: &Ctx, d: &mut Dialing) -> std::result::Result<(), Why> {
        let store = &ctx.store;
        let mut idle_since = Instant::now();
        loop {
            if !self.f.leads() {
                hello::quit(d);
                return Err("this node no longer leads its cluster".into());
            }
            if self.f.roster().peer(&self.peer).is_none() {
                hello::quit(d);
                return Ok(());
            }
            self.say_told(d)?;
            let frames = store.frames_for(&self.peer, &self.f.me, 0, WINDOW).map_err(|ko| ko.reason)?;
            if !frames.is_empty() {
                idle_since = Instant::now();
                self.send_window(ctx, d, frames)?;
                presence::say(d, &mut self.presence_sent)?;
                continue;
            }
            // Presence after the frames: the members a frame announces
            // are known to the peer before their presence.
            presence::say(d, &mut self.presence_sent)?;
            if self.f.ctx().is_none() {
                hello::quit(d);
                return Ok(());
            }
            let facts = self.facts();
            if facts.queued == 0 && facts.behind {
                // Everything queued is taken: now the rooms' last
                // messages, of which some were not queued for it.
                let n = store.catch_up(&self.peer).map_err(|ko| ko.reason)?;
                log::info!("link to {}: caught up with {n} messages of rooms homed here", self.peer);
                continue;
            }
            let half = self.f.timeout / 2;
            let mut wait = half.saturating_sub(idle_since.elapsed());
            if let Some(due) = presence::due_in(&self.f, &self.peer, self.presence_sent) {
                wait = wait.min(due);
            }
            if !self.sleep(wait) && idle_since.elapsed() >= half {
                hello::ping(d)?;
                idle_since = Instant::now();
            }
        }
    }

    /// One window of numbered frames: written together once the store
    /// says they are written (from then, in doubt), then each answer
    /// read and the window's outcome recorded. A message carrying a file
    /// goes alone, once the peer has its bytes (`frames::file`); the
    /// frames before it go first.
    fn send_window(
        &self,
        ctx: &Ctx,
        d: &mut Dialing,
        mut frames: Vec<Unacked>,
    ) -> std::result::Result<(), Why> {
        let store = &ctx.store;
        let mut refused = HashMap::new();
        if let Carried::Refused(n, why) = file::carry(ctx, d, &mut frames)? {
            refused.insert(n, why);
            return store.frames_done(&self.peer, n, &refused).map_err(|ko| ko.reason);
        }
        // Once written, a frame may be taken with its ACK lost: it is in
        // doubt from then, and never bounced by age (`give_up`).
        let through = frames.last().map_or(0, |o| o.n);
        store.written_through(&self.peer, through).map_err(|ko| ko.reason)?;
        let out: Vec<String> = frames.iter().map(|o| o.frame.to_string()).collect();
        d.write(&out.join("\n"))?;
        let mut done = 0;
        let mut stop = None;
        for o in &frames {
            match d.answer()? {
                Answer::Ack(n) if n == o.n => done = n,
                Answer::Ko(Some(n), code, why) if n == o.n => {
                    if Answer::for_now(code) {
                        stop = Some(format!("frame {n} refused for now: {} {why}", code.as_str()));
                        break;
                    }
                    log::debug!("link to {}: frame {n} refused: {} {why}", self.peer, code.as_str());
                    refused.insert(n, format!("{} refused it: {why}", self.peer));
                    done = n;
                }
                other => return Err(format!("frame {} answered {other}", o.n)),
            }
        }
        if done > 0 {
            store.frames_done(&self.peer, done, &refused).map_err(|ko| ko.reason)?;
        }
        self.facts();
        stop.map_or(Ok(()), Err)
    }
}

fn random_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}
