//! 1.2 (§24): what the server tells as a call changes (`calls.rs` keeps
//! the table of calls, which the server's `Ctx` holds): an answer or a candidate
//! relayed to the other end, an end told to both ends, and the call's
//! line in the chat (`📞 Voice call, 4:12`, `📞 Missed voice call`: a
//! [`CallLog`]) stored for both; and the timer thread that ends the calls
//! that rang out, all of one sweep stored together.

use std::sync::Weak;
use std::time::{Duration, Instant};

use super::Ctx;
use super::calls::{Ended, Party, Stepped, TICK};
use super::log_limit::log_limited;
use super::relay::relay;
use crate::protocol::action::{Act, ActionId};
use crate::protocol::call::{CallLog, End, Media, Signal};
use crate::protocol::{Chat, Code, Event, Ko, Text};
use crate::store::{Ticket, UserId};

/// Says what `me`'s signal did, wherever the call was kept: an answer goes
/// to the caller's devices and the callee's others, which stop ringing
/// ("answered on another device"); a candidate to the peer; an end ends
/// the call on both sides. Told to the ends of this server: an end of
/// another server (1.3) had the signal over the link, or sent it.
pub fn tell(ctx: &Ctx, me: &Party, peer: &Party, id: &str, signal: Signal, outcome: Stepped) {
    let event = Event::Call { from: me.name.clone(), id: id.to_string(), signal };
    match outcome {
        Stepped::Answered => relay(ctx, here([peer, me]), &event),
        Stepped::Ice => relay(ctx, here([peer]), &event),
        Stepped::Ended(call, why) => end(ctx, &[Over { call, by: me.name.clone(), why }]),
    }
}

/// The users of this server among `parties` (1.3: a user of another
/// server is told by its own).
fn here<'a>(parties: impl IntoIterator<Item = &'a Party>) -> Vec<UserId> {
    parties.into_iter().filter(|p| p.server().is_none()).map(|p| p.id).collect()
}

/// Rings `callee`, of this server, for `caller`'s (on `device`) new call
/// `id`: every device of the callee rings (and its push), or, the callee
/// busy, the call ends at once (the caller hears `END:busy`, the chat gets
/// its line, the callee's call goes on undisturbed). Refused as
/// [`Calls::ring`](super::calls::Calls::ring) refuses.
pub fn ring(
    ctx: &Ctx,
    (caller, device, callee): (Party, &str, Party),
    id: &str,
    (media, sdp): (Media, String),
) -> Result<(), Ko> {
    let ring = Duration::from_secs(ctx.config.ring_seconds);
    let rings = ctx.calls.ring(caller.clone(), device, callee.clone(), id, media, ring)?;
    // 1.2 (§32): a callee in a room's call is busy too (the offer counted
    // as any other against the caller's limits).
    let rings =
        rings && !(ctx.group_calls.is_in(callee.id) && ctx.calls.take(caller.id, callee.id, id).is_ok());
    if rings {
        ctx.push.ring(callee.id, &caller.name, &caller.name, id, media, ctx.config.ring_seconds);
        let offer =
            Event::Call { from: caller.name, id: id.to_string(), signal: Signal::Offer { media, sdp } };
        relay(ctx, [callee.id], &offer);
    } else {
        let by = callee.name.clone();
        let call = Ended { id: id.to_string(), caller, callee, media, answered: None };
        end(ctx, &[Over { call, by, why: End::Busy }]);
    }
    Ok(())
}

/// A call that is over: taken out of its table (or, busy, never in it),
/// ended by `by` (a user's name), for `why`.
pub struct Over {
    pub call: Ended,
    pub by: String,
    pub why: End,
}

/// Ends `calls`: first each one's line in its chat, stored together (one
/// wait for the storage for them all: the calls of one sweep of the timer
/// are stored as one batch, not one after the other), so that whoever
/// hears an end finds its line in `HISTORY`; then each end told,
/// `CALL:<by>:<id>:END:<why>`, to both ends' devices (a busy call, which
/// never rang, to its caller's alone).
///
/// 1.3: an end of another server is told by its server, which this one
/// tells the ends it decides itself (missed, busy, gone: a `DECLINE` or a
/// `HANGUP` crossed as the user's signal); the line is the caller's
/// server's to store.
pub fn end(ctx: &Ctx, calls: &[Over]) {
    end_calls(ctx, calls, true);
}

/// [`end`], for calls whose end the server of their other end told this
/// one (`across`: false) or not.
pub fn end_calls(ctx: &Ctx, calls: &[Over], across: bool) {
    store_lines(ctx, calls);
    for Over { call, by, why } in calls {
        let event = Event::Call { from: by.clone(), id: call.id.clone(), signal: Signal::End(*why) };
        match why {
            End::Busy => relay(ctx, here([&call.caller]), &event),
            _ => relay(ctx, here([&call.caller, &call.callee]), &event),
        }
        if across && matches!(why, End::Missed | End::Busy | End::Gone) {
            tell_end(ctx, call, *why);
        }
        // Asked first, so that a line that would not be printed does not
        // spend the budget of those that would.
        if log::log_enabled!(log::Level::Debug) {
            log_limited!(
                ctx.logs.calls,
                debug,
                "call {} from {} to {}: {}",
                call.id,
                call.caller.name,
                call.callee.name,
                why.as_str()
            );
        }
    }
}

/// Stores the line of each call, from the caller to the callee (the
/// durable path of any message, `LocalStore::send`, so a block hides it as
/// any message), unless its caller deleted the account
/// ([`caller_is_live`]); then waits once for the last of them.
fn store_lines(ctx: &Ctx, calls: &[Over]) {
    let mut last = Ticket(0);
    for Over { call, why, .. } in calls.iter().filter(|over| caller_is_live(ctx, &over.call.caller)) {
        // (A caller of another server is not live here: its server stores the line.)
        let (id, text) = line(ctx, call, *why);
        let Ok(text) = Text::from_plain(&text) else { continue };
        let (results, ticket) =
            ctx.store.send(call.caller.id, &[(Chat::User(call.callee.name.clone()), id, text)]);
        match results.into_iter().next() {
            Some(Ok(_)) => last = last.max(ticket),
            Some(Err(ko)) => {
                log_limited!(ctx.logs.calls, warn, "call {}: its line was not stored: {}", call.id, ko.reason)
            }
            None => {}
        }
    }
    if last > Ticket(0)
        && let Err(ko) = ctx.store.wait(last)
    {
        log_limited!(ctx.logs.calls, warn, "calls: their lines were not stored: {}", ko.reason);
    }
}

/// The id and text of `call`'s line: a new message of the caller's
/// (`call-<ms>-<n>`), or, for a missed call right after the caller's line
/// of missed calls of the same media, an edit of that line with one more
/// (`📞 3 missed voice calls`): a caller ringing again and again leaves
/// one line, which every 1.2 client shows updated.
fn line(ctx: &Ctx, call: &Ended, why: End) -> (String, String) {
    let media = call.media;
    let log = match (call.answered, why) {
        (Some(talked), _) => CallLog::Talked { media, seconds: talked.as_secs() },
        (None, End::Declined) => CallLog::Declined { media },
        (None, _) => CallLog::Missed { media, count: 1 },
    };
    if let CallLog::Missed { .. } = log
        && let Some(Missed { target, count, stamp }) = missed_before(ctx, call)
    {
        // An edit's id is its stamp and its target: two missed calls ended
        // within the same millisecond would make the same id, and the
        // second would be taken for a resend of the first (and not counted).
        let stamp = crate::store::now_ms().max(stamp + 1);
        let edit = ActionId { act: Act::Edit, stamp, target };
        return (edit.to_string(), format!("✎ {}", CallLog::Missed { media, count: count + 1 }));
    }
    (super::own_ids::own_message_id("call"), log.to_string())
}

/// A line of missed calls, as the chat's last message shows it.
struct Missed {
    /// The id of the line's first message, which every edit targets.
    target: String,
    /// How many calls it counts.
    count: u32,
    /// The stamp of its last edit (0 if none).
    stamp: u64,
}

/// The line of missed calls a new missed `call` folds into: the chat's
/// last message, if it is that line of the caller's (or its last edit),
/// of the same media. Read from the store, so it works alike on a single
/// server, on every node of a cluster and after a restart.
fn missed_before(ctx: &Ctx, call: &Ended) -> Option<Missed> {
    // Read from the caller's side, whose account is this server's (the
    // callee may be a user of another server, 1.3).
    let chat = Chat::User(call.callee.name.clone());
    let last = ctx.store.history(call.caller.id, &chat, 1, 16 * 1024).ok()?.messages().ok()?.pop()?;
    if !last.from.eq_ignore_ascii_case(&call.caller.name) {
        return None;
    }
    let plain = last.text.unescaped();
    let (target, text, stamp) = match ActionId::parse(&last.id) {
        Some(edit) if edit.act == Act::Edit => {
            (edit.target, plain.strip_prefix("✎ ")?.to_string(), edit.stamp)
        }
        Some(_) => return None,
        None => (last.id, plain, 0),
    };
    if !target.starts_with("call-") {
        return None;
    }
    match CallLog::parse(&text)? {
        CallLog::Missed { media, count } if media == call.media => Some(Missed { target, count, stamp }),
        _ => None,
    }
}

/// Whether the caller of a call still has its account. A call's line is
/// a new message from the caller, and a deleted account sends nothing
/// more (§20): when its `DELACCOUNT` is what ended the call (its devices'
/// connections closed: `END:gone`), the callee's devices are told the end
/// and the chat gets no line. Asked of the store's state, which holds the
/// deletion once it is applied: the deletion's `OK` comes after, and the
/// connections close after that.
fn caller_is_live(ctx: &Ctx, caller: &Party) -> bool {
    caller.server().is_none()
        && ctx
            .store
            .find_account(&caller.name)
            .is_some_and(|account| account.id == caller.id && !account.is_deleted())
}

/// The receive connection of `device` of `user` ended: its calls end
/// (`END:gone`), within the time the server takes to see a connection go.
pub fn device_gone(ctx: &Ctx, user: UserId, name: &str, device: &str) {
    let over: Vec<Over> = ctx
        .calls
        .of_device(user, device)
        .into_iter()
        .map(|call| Over { call, by: name.to_string(), why: End::Gone })
        .collect();
    end(ctx, &over);
}

/// Starts the timer thread that ends calls nobody answered. It holds the
/// server weakly and stops when the server does.
pub fn start(ctx: Weak<Ctx>) -> std::io::Result<()> {
    std::thread::Builder::new().name("calls".into()).stack_size(super::threads::STACK_SIZE).spawn(
        move || {
            loop {
                // Nothing of the server is held while waiting.
                std::thread::sleep(TICK);
                let Some(ctx) = ctx.upgrade() else { return };
                if ctx.shutting_down() {
                    return;
                }
                let now = Instant::now();
                let over: Vec<Over> = ctx
                    .calls
                    .rung_out(now)
                    .into_iter()
                    .map(|call| Over { by: call.caller.name.clone(), call, why: End::Missed })
                    .collect();
                if !over.is_empty() {
                    // Storing the lines waits for the storage as a request does.
                    crate::store::deadline::within(|| end(&ctx, &over));
                }
                // 1.2 (§32): the rooms' calls' rings, and members who left their rooms.
                crate::store::deadline::within(|| super::group_call_relay::sweep(&ctx, now));
            }
        },
    )?;
    Ok(())
}

/// 1.3 (§27, `server::calls_across`): a signal of this server's user,
/// told to the server of the other end over the link.
/// Tells the server of `to` the signal `from` (of this server) gave
/// about the call `id`; `wait`: the peer's answer is returned.
pub fn say(ctx: &Ctx, (from, to, id): (&Party, &Party, &str), signal: &Signal, wait: bool) -> Result<(), Ko> {
    let links =
        ctx.federation.get().ok_or_else(|| Ko::new(Code::BadRequest, "this server is in no network"))?;
    links.tell_call((&from.name, &to.name, id), signal.clone(), wait)
}

/// Tells the other end's server that this one ended `call` for `why`
/// (missed, busy, gone), without waiting: its answer is only logged.
pub fn tell_end(ctx: &Ctx, call: &Ended, why: End) {
    let (ours, theirs) = match call.callee.server() {
        Some(_) => (&call.caller, &call.callee),
        None if call.caller.server().is_some() => (&call.callee, &call.caller),
        None => return,
    };
    if let Err(ko) = say(ctx, (ours, theirs, &call.id), &Signal::End(why), false) {
        log::debug!("call {}: its end was not told to {}: {}", call.id, theirs.name, ko.reason);
    }
}
