//! A dialer per peer: while frames wait for the peer, it links to it
//! (TLS, the peer's key checked against the roster's fingerprint and
//! this server's shown, then `HELLO`, answered `OK:<last>`), drops what
//! the peer says it has, sends the rest in windows, and
//! records each window's answers in the store: `ACK`s drop frames, a
//! refusal for good bounces a message to its author, a refusal for now
//! ends the link. An unreachable peer is dialed again after 1 s, 2 s, 4 s …
//! at most 60 s apart, ± 20 %; a message that waited past `--give-up` is
//! bounced, unless it was written on a link that broke before its `ACK`:
//! the store records how far frames were written before a window leaves,
//! and such a frame waits for the peer's `OK:<last>`.
//!
//! 1.3: it also says this server's call signals to the peer (`CALL`
//! frames, unnumbered: told, never queued), between windows, each
//! answered at once; a signal waiting is reason enough to dial.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::files;
use super::key;
use super::links::{Federation, PeerStatus, SIGNALS_WAITING, Told, carries_no_calls, said};
use crate::error::{Error, Result};
use crate::protocol::framing::FrameReader;
use crate::protocol::link::{Answer, MAX_PEOPLE_ACROSS, Opening, clean_reason};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, SeenLine};
use crate::server::presence_across::PRESENCE_EVERY;
use crate::store::local::link::PeerFacts;
use crate::store::now_ms;
use crate::transport::{SharedStream, Stream};

/// Frames sent before their answers are read.
const WINDOW: usize = 256;
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

/// Starts a dialer for each peer of the roster that has none running.
fn spawn_missing(f: &Arc<Federation>) -> Result<()> {
    let roster = f.roster();
    let mut dialers = f.dialers.lock();
    for peer in &roster.peers {
        if !dialers.insert(fold(&peer.name)) {
            continue;
        }
        let (signal_tx, signals) = crossbeam_channel::bounded(SIGNALS_WAITING);
        f.signals.lock().insert(fold(&peer.name), signal_tx);
        let (f, name) = (f.clone(), peer.name.clone());
        let started = std::thread::Builder::new()
            .name(format!("link-{name}"))
            .spawn(move || Dialer::new(f, name, signals).run());
        if let Err(e) = started {
            dialers.remove(&fold(&peer.name));
            return Err(Error::io("starting a link's thread", e));
        }
    }
    Ok(())
}

struct Dialer {
    f: Arc<Federation>,
    peer: String,
    bell: Receiver<()>,
    backoff: Duration,
    /// 1.3: call signals for the peer (`Links::tell_call`), and
    /// those taken from it that wait for the link.
    signals: Receiver<Told>,
    pending: VecDeque<Told>,
    /// 1.3: when the last `PRESENCE` left for the peer.
    presence_sent: Option<Instant>,
}

/// Why a link ended.
type Why = String;

impl Dialer {
    fn new(f: Arc<Federation>, peer: String, signals: Receiver<Told>) -> Dialer {
        let (bell_tx, bell) = crossbeam_channel::bounded(1);
        let (backoff, pending) = (Duration::ZERO, VecDeque::new());
        if let Some(ctx) = f.ctx() {
            ctx.remote_seen.hang_bell(&peer, bell_tx.clone());
        }
        f.bells.write().insert(fold(&peer), bell_tx);
        Dialer { f, peer, bell, backoff, signals, pending, presence_sent: None }
    }

    /// Waits at most `wait` for the bell or a call signal (kept in
    /// `pending`); true if either came.
    fn wait(&mut self, wait: Duration) -> bool {
        crossbeam_channel::select! {
            recv(self.bell) -> _ => true,
            recv(self.signals) -> told => {
                self.pending.extend(told.ok());
                true
            }
            default(wait) => false,
        }
    }

    /// Answers every signal waiting with `ko`: the link could not say them.
    fn refuse_signals(&mut self, ko: &Ko) {
        self.pending.extend(self.signals.try_iter());
        for told in self.pending.drain(..) {
            told.answer(Err(ko.clone()));
        }
    }

    /// Says the signals waiting on the link, each answered at once
    /// (unnumbered: `OK` or `KO:<CODE>:<reason>`). An offer refused
    /// `BAD_REQUEST` says the peer does not carry calls: so are the
    /// signals after it, until the next hello.
    fn say_signals(
        &mut self,
        stream: &Stream,
        reader: &mut FrameReader<SharedStream>,
    ) -> std::result::Result<(), Why> {
        self.pending.extend(self.signals.try_iter());
        while let Some(told) = self.pending.pop_front() {
            if Instant::now() > told.until {
                continue; // nobody waits for it any more: a late offer would ring for nothing
            }
            if told.is_call() && self.f.status.lock().get(&self.peer).is_some_and(|s| s.no_calls) {
                told.answer(Err(carries_no_calls(&self.peer)));
                continue;
            }
            if let Err(why) = write_line(stream, &told.frame.to_string()) {
                self.pending.push_front(told);
                return Err(why);
            }
            if matches!(told.frame, crate::protocol::link::Frame::People { .. }) {
                self.ask_people(told, reader)?;
                continue;
            }
            let answer = match read_answer(reader, self.f.timeout) {
                Ok(answer) => answer,
                Err(why) => {
                    let why = format!("{} cannot be reached now: {why}", self.peer);
                    told.answer(Err(Ko::new(Code::Offline, why.clone())));
                    return Err(why);
                }
            };
            match answer {
                Answer::Ok => told.answer(Ok(())),
                Answer::Ko(None, Code::BadRequest, why) if told.is_offer() => {
                    let why = crate::protocol::link::clean_reason(&why);
                    self.status(|s| s.no_calls = true);
                    log::info!("link to {}: it does not carry calls (it answered: {why})", self.peer);
                    told.answer(Err(carries_no_calls(&self.peer)));
                }
                Answer::Ko(None, code, why) => {
                    log::debug!("link to {}: {} refused: {} {why}", self.peer, told.frame, code.as_str());
                    told.answer(Err(Ko::new(code, crate::protocol::link::clean_reason(&why))));
                }
                other => {
                    told.answer(Err(Ko::new(Code::Offline, format!("{} answered {other}", self.peer))));
                    return Err(format!("a call's signal answered {other}"));
                }
            }
        }
        Ok(())
    }

    /// 1.3: reads the answer to a `PEOPLE` frame just written
    /// (`people.rs`) and says it to whoever waits for it.
    fn ask_people(&self, told: Told, reader: &mut FrameReader<SharedStream>) -> std::result::Result<(), Why> {
        match read_people(reader, self.f.timeout, &self.peer) {
            Ok(result) => {
                told.answer_listing(result);
                Ok(())
            }
            Err(why) => {
                told.answer(Err(Ko::new(
                    Code::Offline,
                    format!("{} cannot be reached now: {why}", self.peer),
                )));
                Err(why)
            }
        }
    }

    /// 1.3: whether presence of this server's users waits for the peer
    /// (`server::presence_across`), and the peer carries it.
    fn presence_waits(&self) -> bool {
        let carried = !self.f.status.lock().get(&self.peer).is_some_and(|s| s.no_presence);
        carried && self.f.ctx().is_some_and(|ctx| ctx.remote_seen.waiting(&self.peer))
    }

    /// How long until the next `PRESENCE` may leave, if one waits.
    fn presence_due_in(&self) -> Option<Duration> {
        if !self.presence_waits() {
            return None;
        }
        let since = self.presence_sent.map_or(PRESENCE_EVERY, |at| at.elapsed());
        Some(PRESENCE_EVERY.saturating_sub(since))
    }

    /// Says one `PRESENCE` batch, if one waits and the last left at least
    /// [`PRESENCE_EVERY`] ago, answered at once. A peer that answers
    /// `KO:BAD_REQUEST` does not carry presence: none is said to it
    /// until the next hello (what waited is dropped; the next hello
    /// notes everyone again).
    fn say_presence(
        &mut self,
        stream: &Stream,
        reader: &mut FrameReader<SharedStream>,
    ) -> std::result::Result<(), Why> {
        if self.presence_due_in() != Some(Duration::ZERO) {
            return Ok(());
        }
        let Some(ctx) = self.f.ctx() else { return Ok(()) };
        let seen = ctx.remote_seen.take_batch(&ctx, &self.peer, &self.f.me);
        if seen.is_empty() {
            return Ok(());
        }
        self.presence_sent = Some(Instant::now());
        let frame = crate::protocol::link::Frame::Presence { seen };
        let said = write_line(stream, &frame.to_string()).and_then(|()| read_answer(reader, self.f.timeout));
        let crate::protocol::link::Frame::Presence { seen } = frame else { return Ok(()) };
        match said {
            Ok(Answer::Ok) => Ok(()),
            Ok(Answer::Ko(None, Code::BadRequest, why)) => {
                let why = crate::protocol::link::clean_reason(&why);
                self.status(|s| s.no_presence = true);
                ctx.remote_seen.drop_waiting(&self.peer);
                log::info!("link to {}: it does not carry presence (it answered: {why})", self.peer);
                Ok(())
            }
            Ok(Answer::Ko(None, code, why)) => {
                log::debug!("link to {}: PRESENCE refused: {} {why}", self.peer, code.as_str());
                Ok(())
            }
            Ok(other) => {
                ctx.remote_seen.put_back(&ctx, &self.peer, &seen);
                Err(format!("a PRESENCE answered {other}"))
            }
            Err(why) => {
                ctx.remote_seen.put_back(&ctx, &self.peer, &seen);
                Err(why)
            }
        }
    }

    fn status(&self, change: impl FnOnce(&mut PeerStatus)) {
        change(self.f.status.lock().entry(self.peer.clone()).or_default());
    }

    /// What the store knows of the peer (nothing if it is going).
    fn facts(&mut self) -> PeerFacts {
        let Some(ctx) = self.f.ctx() else { return PeerFacts::default() };
        let facts = ctx.store.peer_facts(&self.peer);
        self.status(|s| {
            s.queued = facts.queued;
            s.oldest_ms = facts.oldest_ms;
            s.behind = facts.behind;
        });
        facts
    }

    fn run(mut self) {
        while self.f.ctx().is_some() {
            if self.gone() {
                return;
            }
            if !self.f.leads() {
                // This node follows its cluster's leader, which links for it.
                self.status(|s| s.linked = false);
                self.wait(Duration::from_secs(1));
                self.refuse_signals(&Ko::new(Code::Unavailable, "this node does not lead its cluster"));
                continue;
            }
            let facts = self.facts();
            if facts.queued == 0 && !facts.behind && self.pending.is_empty() && !self.presence_waits() {
                self.wait(Duration::from_secs(1));
                continue;
            }
            match self.link() {
                Ok(()) => self.backoff = Duration::ZERO,
                Err(why) => {
                    let since = now_ms();
                    self.status(|s| {
                        s.linked = false;
                        s.retrying_since.get_or_insert(since);
                        s.last_error = why.clone();
                    });
                    // Only a peer that could not take them now: one that
                    // is back after a while takes what waited (its
                    // `OK:<last>` may say it has it already).
                    self.give_up();
                    log::debug!("link to {}: {why}", self.peer);
                    self.refuse_signals(&Ko::new(
                        Code::Offline,
                        format!("{} cannot be reached now: {why}", self.peer),
                    ));
                    self.backoff = (self.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    let jitter = 0.8 + 0.4 * f64::from(random_u8()) / 255.0;
                    let wait = self.backoff.mul_f64(jitter);
                    let until = Instant::now() + wait;
                    // A call's signal cuts the wait short: a caller
                    // hears at once whether the peer is back.
                    while Instant::now() < until && self.f.ctx().is_some() && self.signals.is_empty() {
                        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
                    }
                }
            }
        }
    }

    /// Whether the peer left the roster: then this dialer ends, its bell
    /// unhung and its status dropped (what waits for the peer stays in
    /// the store, and bounces at its give-up age if it is not back). The
    /// roster's watcher starts another if the peer comes back.
    fn gone(&self) -> bool {
        let mut dialers = self.f.dialers.lock();
        if self.f.roster().peer(&self.peer).is_some() {
            return false;
        }
        dialers.remove(&fold(&self.peer));
        drop(dialers);
        self.f.bells.write().remove(&fold(&self.peer));
        self.f.signals.lock().remove(&fold(&self.peer));
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

    /// One link: hello, replay, the stream while frames wait, then idle
    /// with `PING`s until the bell or the timeout.
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
        let stream = std::sync::Arc::new(stream);
        stream.set_write_timeout(Some(self.f.timeout)).map_err(|e| e.to_string())?;
        let mut reader = FrameReader::new(SharedStream(stream.clone()), 8192, self.f.max_frame);
        // The secret and the key of the hello have no role since links
        // are proved by TLS keys: a fixed word fills each (§27).
        let hello = Opening::Hello {
            from: self.f.me.clone(),
            to: entry.name.clone(),
            secret: UNUSED_SECRET.into(),
            key: UNUSED_KEY.into(),
            identity: self.f.identity.clone(),
        };
        let said =
            write_line(&stream, &hello.to_string()).and_then(|()| read_answer(&mut reader, self.f.timeout));
        let last = match said? {
            Answer::Hello(last) => last,
            other => return Err(format!("hello answered {other}")),
        };
        let since = self.f.status.lock().get(&self.peer).and_then(|s| s.retrying_since);
        log::info!(
            "link to {}: linked (it has our frames up to {last}){}",
            self.peer,
            match since {
                Some(t) => format!(", after {} s away", now_ms().saturating_sub(t) / 1000),
                None => String::new(),
            }
        );
        self.status(|s| {
            s.linked = true;
            s.retrying_since = None;
            s.last_error.clear();
            s.no_calls = false;
            s.no_presence = false;
        });
        let ctx = self.f.ctx().ok_or("shutting down")?;
        ctx.remote_seen.linked_to(&ctx, &self.peer);
        let store = &ctx.store;
        store.frames_done(&self.peer, last, &HashMap::new()).map_err(|ko| ko.reason)?;
        // What was written on an earlier link and is above `<last>` is not
        // there: no longer in doubt.
        store.written_through(&self.peer, last).map_err(|ko| ko.reason)?;
        let mut idle_since = Instant::now();
        loop {
            if !self.f.leads() {
                let _ = write_line(&stream, "QUIT");
                return Err("this node no longer leads its cluster".into());
            }
            if self.f.roster().peer(&self.peer).is_none() {
                let _ = write_line(&stream, "QUIT");
                return Ok(());
            }
            self.say_signals(&stream, &mut reader)?;
            let frames = store.frames_for(&self.peer, &self.f.me, 0, WINDOW).map_err(|ko| ko.reason)?;
            if frames.is_empty() {
                // Presence after the frames: the members a frame
                // announces are known to the peer before their presence.
                self.say_presence(&stream, &mut reader)?;
                if self.f.ctx().is_none() {
                    let _ = write_line(&stream, "QUIT");
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
                if let Some(due) = self.presence_due_in() {
                    wait = wait.min(due);
                }
                if !self.wait(wait) && idle_since.elapsed() >= half {
                    write_line(&stream, "PING")?;
                    match read_answer(&mut reader, self.f.timeout)? {
                        Answer::Pong => idle_since = Instant::now(),
                        other => return Err(format!("PING answered {other}")),
                    }
                }
                continue;
            }
            idle_since = Instant::now();
            // A message carrying a file goes alone, once the peer has its
            // bytes (`files.rs`); the frames before it go first.
            let mut frames = frames;
            let mut refused = HashMap::new();
            if let Some(at) = frames.iter().position(|o| files::carried(&ctx, &self.f.me, &o.frame).is_some())
            {
                if at > 0 {
                    frames.truncate(at);
                } else {
                    frames.truncate(1);
                    let o = &mut frames[0];
                    let (file, meta) = files::carried(&ctx, &self.f.me, &o.frame).ok_or("a file went")?;
                    let sent = if files::needs_bytes(&o.frame, &self.peer) {
                        let timeout = self.f.timeout;
                        let (mut write, mut read) =
                            (|line: &str| write_line(&stream, line), || read_answer(&mut reader, timeout));
                        files::send_bytes(&ctx, (&mut write, &mut read), (&file, &meta))?
                    } else {
                        files::Sent::Whole
                    };
                    match sent {
                        files::Sent::Whole => {
                            o.frame = files::file_frame(&o.frame, &file).ok_or("not a message")?
                        }
                        files::Sent::Refused(why) => {
                            // Never written: the peer has nothing of it.
                            log::debug!("link to {}: the file of frame {} refused: {why}", self.peer, o.n);
                            refused.insert(o.n, format!("{} refused its file: {why}", self.peer));
                            store.frames_done(&self.peer, o.n, &refused).map_err(|ko| ko.reason)?;
                            continue;
                        }
                    }
                }
            }
            // Once written, a frame may be taken with its ACK lost: it is in
            // doubt from then, and never bounced by age (`give_up`).
            let through = frames.last().map_or(0, |o| o.n);
            store.written_through(&self.peer, through).map_err(|ko| ko.reason)?;
            let mut out = String::new();
            for o in &frames {
                out.push_str(&o.frame.to_string());
                out.push('\n');
            }
            write_line(&stream, out.trim_end_matches('\n'))?;
            let mut done = 0;
            let mut stop = None;
            for o in &frames {
                match read_answer(&mut reader, self.f.timeout)? {
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
            if let Some(why) = stop {
                return Err(why);
            }
            self.say_presence(&stream, &mut reader)?;
        }
    }
}

pub(super) fn write_line(mut stream: &Stream, line: &str) -> std::result::Result<(), Why> {
    stream.write_all(format!("{line}\n").as_bytes()).map_err(|e| e.to_string())
}

pub(super) fn read_answer(
    reader: &mut FrameReader<SharedStream>,
    timeout: Duration,
) -> std::result::Result<Answer, Why> {
    let line = reader.read_frame(Some(Instant::now() + timeout)).map_err(|e| said(&e))?;
    Answer::parse(line).map_err(|e| crate::protocol::link::clean_reason(&e))
}

/// The secret field of a hello, which no server reads any more.
const UNUSED_SECRET: &str = "-";
/// The key field of a hello (the dialback's, which is gone).
const UNUSED_KEY: &str = "0000000000000000";

fn random_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}

/// Reads the answer of `peer` to a `PEOPLE` frame just written: its
/// people as addresses (`bob@lab2`), or its refusal in words. The outer
/// error is the link's: it broke, or the peer said what no answer says.
fn read_people(
    reader: &mut FrameReader<SharedStream>,
    timeout: Duration,
    peer: &str,
) -> std::result::Result<std::result::Result<Vec<SeenLine>, Ko>, String> {
    let n = match read_answer(reader, timeout)? {
        Answer::Hello(n) if n as usize <= MAX_PEOPLE_ACROSS => n as usize,
        Answer::Hello(n) => {
            return Err(format!("a search answered {n} people, more than {MAX_PEOPLE_ACROSS}"));
        }
        // A server that does not know the frame (the tiny server, an
        // earlier wachat): it does not search its people for others.
        Answer::Ko(None, Code::BadRequest, why) => {
            log::info!(
                "link to {peer}: it does not answer people searches (it answered: {})",
                clean_reason(&why)
            );
            let why = format!("{peer} does not search its people for other servers");
            return Ok(Err(Ko::new(Code::Unavailable, why)));
        }
        Answer::Ko(None, code, why) => return Ok(Err(Ko::new(code, clean_reason(&why)))),
        other => return Err(format!("a search answered {other}")),
    };
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let line = reader.read_frame(Some(Instant::now() + timeout)).map_err(|e| said(&e))?;
        let mut seen = SeenLine::parse(line).map_err(|e| format!("a search's line: {}", clean_reason(&e)))?;
        if seen.user.contains('@') {
            // A peer lists its own users, by their names there.
            return Err(format!("a search's line names {}, not a user of {peer}", clean_reason(&seen.user)));
        }
        seen.user = format!("{}@{peer}", seen.user);
        lines.push(seen);
    }
    Ok(Ok(lines))
}
