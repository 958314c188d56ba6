//! The profile family (`protocol::link::profile`, §30): `PHOTO` and
//! `PROFILE`, told.
//!
//! - **Accepting**: at most [`PROFILES_A_SECOND`](super::counts::PROFILES_A_SECOND)
//!   from one peer a second, each kept as the profile of the peer's user
//!   (`server::profile_across::take`), answered at once.
//! - **Sending**: a user's photo, then its profile, for the servers whose
//!   users share a chat with it (`server::profile_across::tell`), told as
//!   soon as the link is free ([`tell`]); nobody waits for the answers,
//!   which are only logged ([`say`]).

use std::time::Instant;

use super::super::links::Federation;
use super::super::outbound::{SIGNALS_WAITING, Tell, Told};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::link::{Answer, ProfileFrame};
use crate::protocol::profile::ProfileLine;

/// The accepting side of a `PROFILE` or a `PHOTO`.
pub(super) fn take(link: &mut Taking, profile: ProfileFrame) -> std::io::Result<Flow> {
    let ctx = link.ctx()?;
    let taken = link
        .f
        .people
        .profiles_from(link.from)
        .and_then(|()| crate::server::profile_across::take(&ctx, link.from, &profile));
    link.answer_told("profile", taken)
}

/// The sending side, for `server::links::Links::tell_profile`: the photo
/// (its base64, if it has one) and the profile `line` of a user of this
/// server, queued for the dialer of `server`, photo first; past
/// [`SIGNALS_WAITING`] told frames waiting for it, not told (logged).
pub fn tell(f: &Federation, server: &str, line: &ProfileLine, photo: Option<&str>) {
    let Some(outbound) = f.outbound(server) else { return };
    let user = format!("{}@{}", line.user, f.me);
    let until = Instant::now() + f.timeout * 2;
    let photo = photo.filter(|_| !line.tag.is_empty()).map(|base64| ProfileFrame::Photo {
        user: user.clone(),
        tag: line.tag.clone(),
        base64: base64.to_string(),
    });
    let profile = ProfileFrame::Profile { user, tag: line.tag.clone(), name: line.name.clone() };
    for frame in photo.into_iter().chain([profile]) {
        if !outbound.tell(Told { until, tell: Tell::Profile(frame) }) {
            log::info!(
                "link to {server}: {SIGNALS_WAITING} frames wait already: {}'s profile not told",
                line.user
            );
            return;
        }
    }
}

/// The sending side, on the link: says `frame`; its answer is logged.
pub(super) fn say(d: &mut Dialing, frame: ProfileFrame) -> Result<(), Why> {
    match d.write(&frame.to_string()).and_then(|()| d.answer())? {
        Answer::Ok => Ok(()),
        Answer::Ko(None, code, why) => {
            log::debug!("link to {}: {frame} refused: {} {why}", d.peer, code.as_str());
            Ok(())
        }
        other => Err(format!("a profile answered {other}")),
    }
}
