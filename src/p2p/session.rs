//! One direct chat after its handshake: a [`PeerSession`] (the write half and
//! the messages waiting for their `ACK`) and [`read_loop`], which its own
//! thread runs until the connection ends.
//!
//! Both sides are the same from here on: whoever dialed, each may send
//! `MSG` and must answer `ACK`. The reading thread is the only reader; the
//! writers (the application sending, the reading thread acknowledging)
//! take turns on the write half under the session's lock, so that two
//! frames never interleave on the socket.
//!
//! A peer is a stranger on the network, so the loop bounds what one can
//! cost us: frames of at most [`crate::protocol::MAX_FRAME`] bytes, at most
//! [`MAX_BAD_FRAMES`] frames we do not understand, at most [`BURST`]
//! frames at once and [`PER_SECOND`] on average, and one complete frame
//! at least every [`IDLE_LIMIT`]. Past any bound the connection is closed:
//! only that chat ends, and what it had not acknowledged goes through the
//! server.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::PeerHandler;
use crate::i18n::client::{Msg, io_error};
use crate::i18n::tr;
use crate::protocol::{FrameError, FrameReader, PeerFrame, PeerMsg};

/// Frames a peer may send that we do not understand before we hang up.
/// A few, not zero: a newer client might say something we do not know.
pub const MAX_BAD_FRAMES: u32 = 3;
/// Frames a peer may send at once…
pub const BURST: f64 = 100.0;
/// …and per second in the long run. A person types a few a minute; a bot
/// chatting flat out stays well under it.
pub const PER_SECOND: f64 = 50.0;
/// A chat with no complete frame for this long is closed: there is no
/// `PING` in the peer protocol, and a dribbler must not keep a thread forever.
pub const IDLE_LIMIT: Duration = Duration::from_secs(600);
/// Most messages stored with one `fsync` before their `ACK`s go out.
const BATCH: usize = 64;

/// A direct connection to one peer, shared by its reading thread and by
/// whoever sends.
pub struct PeerSession {
    /// The other user: the name in its `HELLO`, or the name we dialed.
    pub peer: String,
    /// `None` once the session has ended: then nothing more can be sent,
    /// and the unacknowledged messages have been handed back exactly once.
    open: Mutex<Option<Open>>,
}

struct Open {
    /// The write half (a clone of the socket the reading thread reads).
    writer: TcpStream,
    /// Sent, not yet acknowledged, oldest first: what goes through the
    /// server if the connection ends now.
    unacked: Vec<PeerMsg>,
}

/// What became of a message handed to [`PeerSession::send`].
pub enum Sent {
    /// Written; its `ACK`, or the end of the session, will tell the rest.
    Written,
    /// The write failed: the session must be ended. The message is among
    /// its unacknowledged ones, so it is not lost.
    Broken(String),
    /// The session had already ended; the message comes back untouched.
    Ended(PeerMsg),
}

impl PeerSession {
    pub fn new(peer: &str, writer: TcpStream) -> PeerSession {
        PeerSession { peer: peer.to_string(), open: Mutex::new(Some(Open { writer, unacked: Vec::new() })) }
    }

    /// Sends a message. It joins the unacknowledged ones *before* it is
    /// written, so that an `ACK` can never come for a message we do not
    /// know yet.
    pub fn send(&self, m: PeerMsg) -> Sent {
        let mut open = self.open.lock();
        let Some(open) = open.as_mut() else { return Sent::Ended(m) };
        let frame = format!("{}\n", PeerFrame::Msg(m.clone()));
        open.unacked.push(m);
        match open.writer.write_all(frame.as_bytes()) {
            Ok(()) => Sent::Written,
            Err(e) => Sent::Broken(tr!(Msg::PeerCannotWrite, peer = self.peer, error = io_error(&e))),
        }
    }

    /// The peer acknowledged `id`: true if it was waiting for that.
    fn acked(&self, id: &str) -> bool {
        let mut open = self.open.lock();
        let Some(open) = open.as_mut() else { return false };
        let before = open.unacked.len();
        open.unacked.retain(|m| m.id != id);
        open.unacked.len() < before
    }

    /// Sends `ACK:<id>` for each id, in one write.
    fn write_acks(&self, ids: &[String]) -> Result<(), String> {
        let frames: String =
            ids.iter().map(|id| format!("{}\n", PeerFrame::Ack { id: id.clone() })).collect();
        let mut open = self.open.lock();
        let open = open.as_mut().ok_or_else(|| tr!(Msg::PeerChatClosed))?;
        open.writer
            .write_all(frames.as_bytes())
            .map_err(|e| tr!(Msg::PeerCannotWrite, peer = self.peer, error = io_error(&e)))
    }

    /// Ends the session: shuts the socket (which wakes the reading thread)
    /// and returns the unacknowledged messages, to the first caller only.
    pub fn close(&self) -> Option<Vec<PeerMsg>> {
        let open = self.open.lock().take()?;
        let _ = open.writer.shutdown(Shutdown::Both);
        Some(open.unacked)
    }
}

/// Reads the peer's frames until the connection ends; returns why, in
/// words for the user ("bob closed the connection").
pub fn read_loop(
    session: &PeerSession,
    reader: &mut FrameReader<TcpStream>,
    handler: &dyn PeerHandler,
) -> String {
    let peer = session.peer.as_str();
    let mut rate = RateLimit::new(Instant::now());
    let mut bad = 0;
    // Messages stored but not yet acknowledged: stored with one fsync once
    // nothing more is buffered, as the receiver thread does with events.
    let mut batch: Vec<PeerMsg> = Vec::new();
    loop {
        let frame = match reader.read_frame(Some(Instant::now() + IDLE_LIMIT)) {
            Ok(line) => PeerFrame::parse(line),
            Err(FrameError::NotUtf8) => Err("a frame that is not UTF-8".to_string()),
            Err(FrameError::Closed) => return tr!(Msg::PeerClosed, peer = peer),
            Err(FrameError::TooLong) => return tr!(Msg::PeerFrameTooLong, peer = peer),
            Err(FrameError::TimedOut) => {
                return tr!(Msg::PeerSilent, peer = peer, secs = IDLE_LIMIT.as_secs());
            }
            Err(FrameError::Io(e)) => return tr!(Msg::PeerLost, peer = peer, error = io_error(&e)),
        };
        if !rate.allow(Instant::now()) {
            return tr!(Msg::PeerFlooding, peer = peer);
        }
        match frame {
            Ok(PeerFrame::Msg(m)) => batch.push(m),
            Ok(PeerFrame::Ack { id }) => {
                // An ACK for nothing we wait for (a duplicate) is harmless.
                if session.acked(&id) {
                    handler.acknowledged(peer, &id);
                }
            }
            Ok(PeerFrame::Hello { .. }) => bad += 1,
            Err(why) => {
                log::debug!("p2p {peer}: {why}");
                bad += 1;
            }
        }
        if bad > MAX_BAD_FRAMES {
            return tr!(Msg::PeerNotProtocol, peer = peer);
        }
        if !batch.is_empty() && (!reader.has_frame() || batch.len() >= BATCH) {
            let ids: Vec<String> = batch.iter().map(|m| m.id.clone()).collect();
            // Stored first, acknowledged after: an ACK is a promise.
            if let Err(e) = handler.received(peer, std::mem::take(&mut batch)) {
                return tr!(Msg::PeerCannotStore, peer = peer, error = e);
            }
            if let Err(e) = session.write_acks(&ids) {
                return e;
            }
        }
    }
}

/// A token bucket: [`BURST`] frames at once, refilled at [`PER_SECOND`].
struct RateLimit {
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(now: Instant) -> RateLimit {
        RateLimit { tokens: BURST, last: now }
    }

    /// One more frame at `now`: false if it is one too many.
    fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        self.last = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_a_flood_does_not() {
        let start = Instant::now();
        let mut rate = RateLimit::new(start);
        assert!((0..BURST as usize).all(|_| rate.allow(start)));
        assert!(!rate.allow(start), "one past the burst");
        // A second later the bucket has PER_SECOND frames again, no more.
        let later = start + Duration::from_secs(1);
        assert!((0..PER_SECOND as usize).all(|_| rate.allow(later)));
        assert!(!rate.allow(later));
    }
}
