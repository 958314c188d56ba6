//! 1.3 (§27): calls between a user of this server and one of another
//! server of the class network (`ana` on lab1 calls `bob@lab2`).
//!
//! Each server keeps its own user's end, in its own table of calls
//! (`calls.rs`), where the other end is a [`Party::remote`]: the signals
//! cross the link as `CALL:<from>@<origin>:<to>@<dest>:<call id>:<signal>`
//! frames, unnumbered (told, never queued), each answered at once with
//! `OK` or the refusal the peer's table gave. So:
//!
//! - the **callee's server** decides what it decides for its own users
//!   on one server: whether the callee may be rung (online, a block,
//!   busy, its [`MAX_RINGING_CALLEE`](crate::protocol::call::MAX_RINGING_CALLEE)
//!   and its rings a minute, from every server together), when the call
//!   rings out (its `--ring-seconds`), which of its devices took it;
//! - the **caller's server** keeps the caller's limits (offers a minute,
//!   calls ringing) and stores the call's **line**, a message from the
//!   caller to `bob@lab2` that crosses the link like any message: both
//!   chats show it;
//! - a user's signal (`ANSWER`, `ICE`, `DECLINE`, `HANGUP`) is told
//!   across before its own server's table takes it, and the user hears
//!   the peer's refusal if there is one; an end a server decides itself
//!   (missed, busy, gone) it tells the other as `END:<why>`.
//!
//! A peer speaks only for its own users: a `CALL` frame whose `<from>` is
//! not of the server that sent it is refused `FORBIDDEN`, as a `MSG` is.

use super::Ctx;
use super::call_relay::{self, Over};
use super::calls::{self, Ended, Party, RING_ACROSS_MAX};
use crate::protocol::call::{End, Media, Signal};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Ko};
use crate::store::UserId;

/// Whether `me` blocked `address` (`bob@lab2`), or its whole server.
pub fn blocks(ctx: &Ctx, me: UserId, address: &str) -> bool {
    let server = crate::store::state::remote::address(address).map(|(_, server)| format!("@{server}"));
    let names = ctx.store.blocks(me);
    names.iter().any(|n| fold(n) == fold(address) || server.as_ref().is_some_and(|s| fold(n) == fold(s)))
}

/// `caller`'s offer (on `device`) of the call `id` to `callee`, a user of
/// another server: kept in this server's table (the caller's limits), then told
/// across; the peer's refusal takes it out again and is the caller's
/// answer, before anything rang.
pub fn offer(
    ctx: &Ctx,
    (caller, device, callee): (Party, &str, Party),
    id: &str,
    (media, sdp): (Media, String),
) -> Result<(), Ko> {
    if !ctx.calls.ring(caller.clone(), device, callee.clone(), id, media, RING_ACROSS_MAX)? {
        // In a call with another user of this server: busy, told here.
        let call = Ended { id: id.to_string(), caller, callee: callee.clone(), media, answered: None };
        call_relay::end_calls(ctx, &[Over { call, by: callee.name, why: End::Busy }], false);
        return Ok(());
    }
    let said = call_relay::say(ctx, (&caller, &callee, id), &Signal::Offer { media, sdp }, true);
    if let Err(ko) = said {
        // Never rang: no line, nothing to tell.
        let _ = ctx.calls.take(caller.id, callee.id, id);
        return Err(ko);
    }
    Ok(())
}

/// A `CALL` frame from `server` (the sender of the link): checked, then
/// taken as its user's signal, with the answer the link says (`OK`, or
/// the refusal).
pub fn take(ctx: &Ctx, server: &str, (from, to, id): (&str, &str, &str), signal: Signal) -> Result<(), Ko> {
    crate::store::state::remote::speaks_for(server, from)?;
    let local = match ctx.route(&Chat::User(to.to_string())) {
        Ok(Some(Chat::User(local))) => local,
        _ => return Err(Ko::new(Code::UnknownServer, format!("{to} is not a user of this server"))),
    };
    let account =
        ctx.store.find_account(&local).filter(|a| !a.is_deleted()).ok_or_else(|| Ko::no_user(&local))?;
    let (remote, ours) = (Party::remote(from), Party { id: account.id, name: account.name.to_string() });
    let device = calls::remote_device(server);
    match signal {
        Signal::Offer { media, sdp } => ring(ctx, (remote, &device, ours), id, (media, sdp)),
        Signal::End(why) => {
            let call = ctx.calls.take(remote.id, ours.id, id)?;
            // A missed call is its caller's (§24); any other end, who ended it.
            let by = if why == End::Missed { call.caller.name.clone() } else { remote.name };
            call_relay::end_calls(ctx, &[Over { call, by, why }], false);
            Ok(())
        }
        signal => {
            let step = calls::Step::of(&signal).ok_or_else(|| Ko::new(Code::BadRequest, "not a signal"))?;
            let outcome = ctx.calls.step(remote.id, &device, ours.id, id, step)?;
            call_relay::tell(ctx, &remote, &ours, id, signal, outcome);
            Ok(())
        }
    }
}

/// The offer of `caller` (of another server) to `callee`, of this one:
/// rung as a local caller's, by the callee's rules; busy, it is told
/// back as `END:busy`.
fn ring(
    ctx: &Ctx,
    (caller, device, callee): (Party, &str, Party),
    id: &str,
    (media, sdp): (Media, String),
) -> Result<(), Ko> {
    let reachable = ctx.router.is_online(callee.id) || ctx.push.can_ring(callee.id);
    if blocks(ctx, callee.id, &caller.name) || !reachable {
        return Err(Ko::new(Code::Offline, format!("{} cannot be called now", callee.name)));
    }
    // The offer's own fault (an id in use) is no sign that this server
    // does not carry calls, which `BAD_REQUEST` says on the link.
    call_relay::ring(ctx, (caller, device, callee), id, (media, sdp))
        .map_err(|ko| if ko.code == Code::BadRequest { Ko::new(Code::Forbidden, ko.reason) } else { ko })
}
