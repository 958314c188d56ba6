//! The message family (`protocol::link::message`): `MSG` and `STATUS`,
//! numbered.
//!
//! - **Accepting**: taken into the store as a client's message or status
//!   is (`LocalStore::take_frame`), with how far the peer's frames were
//!   taken, on disk before the `ACK`. A room message relayed by its home
//!   whose author's server is not in the roster is refused first
//!   ([`stranger`]). Then the profile of whom a peer's user wrote to is
//!   told back (`server::profile_across::met`), and a first message makes
//!   its author's presence wanted here (`server::presence_across`).
//! - **Sending**: what waits for the peer is its queue in the store
//!   (`LocalStore::frames_for`), sent by the dialer in windows; a refusal
//!   for good bounces a message to its author.

use super::super::links::Federation;
use super::sides::{Flow, Taking};
use crate::protocol::link::{Frame, MessageFrame};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::store::UserId;

/// The accepting side of a `MSG` or a `STATUS`.
pub(super) fn take(link: &mut Taking, message: MessageFrame) -> std::io::Result<Flow> {
    let (f, from, n) = (link.f, link.from, message.number());
    // A message's author and recipient (a status has no checks of its own).
    let sides = match &message {
        MessageFrame::Msg { from: author, to, .. } => Some((author.clone(), to.clone())),
        MessageFrame::Status { .. } => None,
    };
    let frame = Frame::Message(message);
    let taken = link.numbered(n, |ctx| {
        let first = match &sides {
            Some((author, to)) => {
                if let Some(ko) = stranger(f, author, to) {
                    return Err(ko);
                }
                first_words(ctx, author, to)
            }
            None => None,
        };
        ctx.store.take_frame(from, &f.me, &frame)?;
        Ok(first)
    })?;
    if let (Some((ctx, first)), Some((_, to))) = (taken, &sides) {
        told_back(&ctx, from, to, first);
    }
    Ok(Flow::More)
}

/// After a peer's direct message to `to` (or its file) was taken: the
/// profile of whom its user wrote to is told back; a first message
/// (`first`: the user of ours it was to) makes its author's presence
/// wanted here.
pub(super) fn told_back(ctx: &Ctx, from: &str, to: &str, first: Option<UserId>) {
    // 1.3: the profile of whom its user wrote to, told back.
    crate::server::profile_across::met(ctx, from, to);
    if let Some(user) = first {
        ctx.remote_seen.note_for(from, user);
    }
}

/// A room message (from `author`, to `to`) relayed by its home whose
/// author is of a server the roster does not have: refused before the
/// store sees it (an author of ours, or of a server of the roster, is
/// the store's to check).
pub(super) fn stranger(f: &Federation, author: &str, to: &str) -> Option<Ko> {
    let (_, home) = to.split_once('@').filter(|_| to.starts_with('#'))?;
    let (_, origin) = author.split_once('@')?;
    let known = fold(origin) == fold(&f.me) || f.roster().peer(origin).is_some();
    (fold(home) != fold(&f.me) && !known)
        .then(|| Ko::new(Code::Forbidden, format!("{origin} of {author} is not in the roster")))
}

/// The user of ours a direct message from `author` to `to` is to, if
/// `author` is a user of the peer not known here yet (a first message:
/// they share a chat from now).
pub(super) fn first_words(ctx: &Ctx, author: &str, to: &str) -> Option<UserId> {
    if to.starts_with('#') || ctx.store.user_id(author).is_some() {
        return None;
    }
    let (user, _) = crate::store::state::remote::address(to)?;
    ctx.store.user_id(user)
}
