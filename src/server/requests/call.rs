//! `CALL:<peer>:<call id>:<signal>` (protocol 1.2, §24): a voice or video
//! call's signalling. A relayed request, like `TYPING`: each signal goes
//! to the other end as a `CALL` event (`server::relay`), and the media
//! then flow from browser to browser, never through here. What only the
//! server can decide (who answered first, busy, rung out, gone, and
//! whether a signal belongs to a call at all) is `server::calls`'s table
//! (on a cluster, the leader's).
//!
//! 1.3 (§27): the peer may be a user of another server (`bob@lab2`): its
//! signals cross the link (`server::calls_across`), and each server keeps
//! its own user's end of the call in its table.
//!
//! And `TURN` (§24): the TURN server's short-lived credentials for this
//! user (`wachat serve --turn URL --turn-secret S`), so that two browsers
//! behind NATs that forbid a direct path can relay their media there.

use crate::protocol::call::{Media, Signal};
use crate::protocol::{Chat, Code, DEFAULT_DEVICE, Ko, Reply};
use crate::server::Ctx;
use crate::server::call_relay;
use crate::server::calls::{self, Party};
use crate::server::session::{Flow, Session, Who};
use crate::store::UserId;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["CALL"], Version::V1_2, Kind::Ephemeral);

pub(super) const TURN: Row = Row::new(&["TURN"], Version::V1_2, Kind::Ephemeral);

/// What a `CALL` with `signal` costs. An offer rings every device of the
/// peer with up to `MAX_SDP` bytes (12 KiB): it costs what five small
/// requests do. An answer goes to the caller's devices and the callee's
/// others (2); a candidate, a decline or a hang-up is one small event
/// (1). A browser sends 5 to 15 candidates a call, so a call costs about
/// 20 tokens of `--rate`.
pub(super) fn cost(signal: &Signal) -> u32 {
    match signal {
        Signal::Offer { .. } => 5,
        Signal::Answer { .. } => 2,
        Signal::Ice { .. } | Signal::Decline | Signal::Hangup | Signal::End(_) => 1,
    }
}

pub(super) fn serve(s: &mut Session, who: Who, peer: String, id: String, signal: Signal) -> Flow {
    let device = s.device.clone().unwrap_or_else(|| DEFAULT_DEVICE.to_string());
    s.reply(call(s.ctx, who, &device, &peer, &id, signal).map(|()| Reply::Ok))
}

pub(super) fn turn(s: &mut Session, who: Who, peer: Option<String>) -> Flow {
    // Checked whether or not this server relays media: an address of a
    // server not in the roster (or, without `--peers`, as the name it was
    // before 1.3) is refused.
    if let Some(peer) = &peer
        && let Err(ko) = party(s.ctx, who, peer)
    {
        return s.reply(Err(ko));
    }
    // The credential names the address, not the account: coturn's quota
    // of relays is then one address's (`server::turn`).
    let label = crate::server::turn::address_label(s.peer.ip());
    let reply = match &s.ctx.config.turn {
        Some(turn) => may_relay(s.ctx, who, peer.as_deref())
            .map(|()| Reply::with(turn.credentials(&label, crate::store::now_ms() / 1000))),
        None => Ok(Reply::Ok),
    };
    s.reply(reply)
}

/// Who gets a TURN credential: a user with a call ringing or going on
/// (`TURN`), or with one between it and `peer` (`TURN:<peer>`): only once
/// an offer rang someone who may be rung (`calls::may_ring`, the offer's
/// rule), so a credential is never handed for a call that is not. Anyone
/// else is refused: a credential lets its holder relay through the TURN
/// server for minutes.
fn may_relay(ctx: &Ctx, me: Who, peer: Option<&str>) -> Result<(), Ko> {
    let Some(peer) = peer else {
        let known = ctx.calls.known();
        // 1.2 (§32): a member in a room's call, once it joined.
        return match known.iter().any(|c| c.has(me.id)) || ctx.group_calls.is_in(me.id) {
            true => Ok(()),
            false => Err(Ko::new(Code::Forbidden, "TURN is for a call: you have none ringing or going on")),
        };
    };
    let other = callee(ctx, me, peer)?;
    let known = ctx.calls.known();
    if known.iter().any(|c| c.has(me.id) && c.has(other.id)) {
        return Ok(());
    }
    let caller = Party { id: me.id, name: me.name.to_string() };
    match calls::may_ring(&known, &caller, &other, "")? {
        true => Err(Ko::new(
            Code::Forbidden,
            format!("TURN is for a call: offer {} one first, then ask", other.name),
        )),
        false => Err(Ko::new(Code::Full, format!("{} is in another call", other.name))),
    }
}

/// The peer `me` may offer a call to: a user, not `me`, with a device
/// online or (1.2, §28) one that can be rung by push, and no block
/// either way (§22). Blocked and offline get the same answer, so that a
/// caller cannot tell a block from an absence.
fn callee(ctx: &Ctx, me: Who, peer: &str) -> Result<Party, Ko> {
    let other = party(ctx, me, peer)?;
    if other.server().is_some() {
        // 1.3: whether bob@lab2 may be rung is his server's to say, as it
        // answers the offer; a block of ours is ours.
        if crate::server::calls_across::blocks(ctx, me.id, &other.name) {
            return Err(Ko::new(Code::Offline, format!("{} cannot be called now", other.name)));
        }
        return Ok(other);
    }
    let reachable = ctx.router.is_online(other.id) || ctx.push.can_ring(other.id);
    // (Either way: a user does not ring someone it blocked either.)
    if blocked_either(ctx, (me.name, me.id), (&other.name, other.id)) || !reachable {
        return Err(Ko::new(Code::Offline, format!("{} cannot be called now", other.name)));
    }
    Ok(other)
}

/// One signal of `me` (on `device`) about the call `id` with `peer`.
fn call(ctx: &Ctx, me: Who, device: &str, peer: &str, id: &str, signal: Signal) -> Result<(), Ko> {
    match signal {
        Signal::Offer { media, sdp } => offer(ctx, me, device, peer, id, (media, sdp)),
        signal => {
            let other = party(ctx, me, peer)?;
            let step =
                calls::Step::of(&signal).ok_or_else(|| Ko::new(Code::BadRequest, "END is the server's"))?;
            let me = Party { id: me.id, name: me.name.to_string() };
            if other.server().is_some() {
                // Told across first: the peer's server may refuse it (no
                // such call there), and then nothing changes here.
                crate::server::call_relay::say(ctx, (&me, &other, id), &signal, true)?;
            }
            let outcome = ctx.calls.step(me.id, device, other.id, id, step)?;
            call_relay::tell(ctx, &me, &other, id, signal, outcome);
            Ok(())
        }
    }
}

/// `me`'s offer of the call `id` to `peer`: it rings every device of the
/// peer, or, the peer busy, ends at once (the caller hears `END:busy`,
/// the chat gets its line, the peer's call goes on undisturbed).
fn offer(
    ctx: &Ctx,
    me: Who,
    device: &str,
    peer: &str,
    id: &str,
    (media, sdp): (Media, String),
) -> Result<(), Ko> {
    let callee = callee(ctx, me, peer)?;
    if ctx.group_calls.is_in(me.id) {
        return Err(Ko::new(Code::Full, "you are in a room's call: leave it first"));
    }
    let caller = Party { id: me.id, name: me.name.to_string() };
    if callee.server().is_some() {
        return crate::server::calls_across::offer(ctx, (caller, device, callee), id, (media, sdp));
    }
    call_relay::ring(ctx, (caller, device, callee), id, (media, sdp))
}

/// The user `peer` names, who is not `me`: a user of this server, or
/// (1.3, §27) of a server of the roster (`bob@lab2`), whose account is
/// that server's to check; an address of this server is its user.
fn party(ctx: &Ctx, me: Who, peer: &str) -> Result<Party, Ko> {
    let chat = Chat::User(peer.to_string());
    let peer = match ctx.route(&chat)? {
        None if chat.server().is_some() => return Ok(Party::remote(peer)),
        Some(local) => local,
        None => chat,
    };
    let peer = match peer {
        Chat::User(user) => user,
        Chat::Room(room) => {
            return Err(Ko::new(Code::BadRequest, format!("#{room} is a room: only a user can be called")));
        }
    };
    let account = ctx.store.find_account(&peer).ok_or_else(|| Ko::no_user(&peer))?;
    if account.id == me.id {
        return Err(Ko::new(Code::BadRequest, "you cannot call yourself"));
    }
    Ok(Party { id: account.id, name: account.name.to_string() })
}

/// Whether `a` blocked `b` or `b` blocked `a` (§22): no call either way.
/// Two yes/no lookups of one key each, not the two block lists.
fn blocked_either(ctx: &Ctx, (a_name, a): (&str, UserId), (b_name, b): (&str, UserId)) -> bool {
    ctx.store.is_blocked(b_name, a) || ctx.store.is_blocked(a_name, b)
}
