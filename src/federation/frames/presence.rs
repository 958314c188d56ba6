//! The presence family (`protocol::link::presence`, §27, "Presence across
//! servers"): `PRESENCE`, told.
//!
//! - **Accepting**: the peer's users' presence kept for the users here
//!   who share a chat with them (`server::presence_across`), a frame at
//!   most every `PRESENCE_MIN_GAP` on a link ([`take`]), answered at once.
//! - **Sending**: what `server::presence_across` notes for the peer, a
//!   batch at most every [`PRESENCE_EVERY`], after the window of
//!   numbered frames ([`say`]): the members a frame announces are known
//!   to the peer before their presence.

use std::time::{Duration, Instant};

use super::super::links::Federation;
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::Code;
use crate::protocol::link::{Answer, PresenceFrame};
use crate::server::presence_across::PRESENCE_EVERY;

/// The accepting side: `OK`, or why not; `link.last_presence` is when
/// the link's previous one was taken.
pub(super) fn take(link: &mut Taking, presence: PresenceFrame) -> std::io::Result<Flow> {
    let from = link.from;
    let Some(ctx) = link.f.ctx() else {
        return link.say(&Answer::Ko(None, Code::Unavailable, "shutting down".into()));
    };
    match ctx.remote_seen.take(&ctx, from, &presence.seen, link.last_presence) {
        Ok(()) => {
            link.last_presence = Some(Instant::now());
            link.say(&Answer::Ok)
        }
        Err(ko) => {
            log::debug!("link: {from}'s presence refused: {}", ko.reason);
            link.say(&Answer::Ko(None, ko.code, ko.reason))
        }
    }
}

/// Whether presence of this server's users waits for `peer`, and the
/// peer carries it.
pub fn waits(f: &Federation, peer: &str) -> bool {
    let carried = !f.status.lock().get(peer).is_some_and(|s| s.carries_no_presence());
    carried && f.ctx().is_some_and(|ctx| ctx.remote_seen.waiting(peer))
}

/// How long until the next `PRESENCE` may leave for `peer`, if one
/// waits; `sent` is when the last left.
pub fn due_in(f: &Federation, peer: &str, sent: Option<Instant>) -> Option<Duration> {
    if !waits(f, peer) {
        return None;
    }
    let since = sent.map_or(PRESENCE_EVERY, |at| at.elapsed());
    Some(PRESENCE_EVERY.saturating_sub(since))
}

/// The sending side: one `PRESENCE` batch, if one waits and the last
/// left (`sent`) at least [`PRESENCE_EVERY`] ago, answered at once. A
/// peer that answers `KO:BAD_REQUEST` does not carry presence: none is
/// said to it for ten minutes, links dialed again included
/// ([`NOT_CARRIED_FOR`](super::super::links::NOT_CARRIED_FOR)); what
/// waited is dropped, and the next hello after them notes everyone again.
pub fn say(d: &mut Dialing, sent: &mut Option<Instant>) -> Result<(), Why> {
    if due_in(d.f, d.peer, *sent) != Some(Duration::ZERO) {
        return Ok(());
    }
    let Some(ctx) = d.f.ctx() else { return Ok(()) };
    let seen = ctx.remote_seen.take_batch(&ctx, d.peer, &d.f.me);
    if seen.is_empty() {
        return Ok(());
    }
    *sent = Some(Instant::now());
    let frame = PresenceFrame { seen };
    let said = d.write(&frame.to_string()).and_then(|()| d.answer());
    let seen = frame.seen;
    match said {
        Ok(Answer::Ok) => Ok(()),
        Ok(Answer::Ko(None, Code::BadRequest, why)) => {
            let why = crate::protocol::link::clean_reason(&why);
            d.status(|s| s.no_presence = Some(Instant::now()));
            ctx.remote_seen.drop_waiting(d.peer);
            log::info!("link to {}: it does not carry presence (it answered: {why})", d.peer);
            Ok(())
        }
        Ok(Answer::Ko(None, code, why)) => {
            log::debug!("link to {}: PRESENCE refused: {} {why}", d.peer, code.as_str());
            Ok(())
        }
        Ok(other) => {
            ctx.remote_seen.put_back(&ctx, d.peer, &seen);
            Err(format!("a PRESENCE answered {other}"))
        }
        Err(why) => {
            ctx.remote_seen.put_back(&ctx, d.peer, &seen);
            Err(why)
        }
    }
}
