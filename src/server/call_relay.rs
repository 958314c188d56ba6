//! 1.2 (§24): what the server tells as a call changes (`calls.rs` keeps
//! the table of calls, which the router holds): an answer or a candidate
//! relayed to the other end, an end told to both ends, a call nobody
//! answered left as a missed call in the chat; and the timer thread that
//! ends the calls that rang out (and, on a cluster, those whose device
//! left another node).

use std::sync::Weak;
use std::time::Instant;

use super::Ctx;
use super::calls::{Ended, Outcome, Party, TICK, missed_text};
use super::relay::relay;
use crate::protocol::call::{End, Signal};
use crate::protocol::{Chat, Code, Event, Ko, Text};
use crate::store::UserId;

/// Says what `me`'s signal did, wherever the call was kept: an answer goes
/// to the caller's devices and the callee's others, which stop ringing
/// ("answered on another device"); a candidate to the peer; an end ends
/// the call on both sides.
pub fn tell(ctx: &Ctx, me: &Party, peer: UserId, id: &str, signal: Signal, outcome: Outcome) {
    let event = Event::Call { from: me.name.clone(), id: id.to_string(), signal };
    match outcome {
        Outcome::Answered => relay(ctx, [peer, me.id], &event),
        Outcome::Ice => relay(ctx, [peer], &event),
        Outcome::Ended(call, why) => end(ctx, &call, &me.name, why),
    }
}

/// Ends `call`, taken out of the table already, because of `by`: both
/// ends' devices are told `CALL:<by>:<id>:END:<why>`; unanswered and not
/// declined (nor busy: it never rang), it leaves the missed call in the
/// chat, unless its caller deleted the account ([`caller_is_live`]).
pub fn end(ctx: &Ctx, call: &Ended, by: &str, why: End) {
    // The missed call first: whoever hears the end finds it in `HISTORY`.
    if !call.answered && !matches!(why, End::Declined | End::Busy) && caller_is_live(ctx, &call.caller) {
        missed(ctx, call);
    }
    let event = Event::Call { from: by.to_string(), id: call.id.clone(), signal: Signal::End(why) };
    relay(ctx, [call.caller.id, call.callee.id], &event);
    log::debug!("call {} from {} to {}: {}", call.id, call.caller.name, call.callee.name, why.as_str());
}

/// Whether the caller of a call still has its account (1.2 note, issue
/// 54). A missed call is a new message from the caller, and a deleted
/// account sends nothing more (§20): when its `DELACCOUNT` is what ended
/// the call (its devices' connections closed: `END:gone`), the callee's
/// devices are told the end and the chat gets no missed call. Asked of
/// the store, which both backends answer alike (a cluster's row, read
/// after the deletion committed: the deletion's `OK` comes after, and the
/// connections close after that). Before, a single server stored the
/// notice and a cluster did too, with a copy for the deleted caller's
/// devices, which then numbered the next account of the name's first
/// event 2 where a single server numbered it 1.
fn caller_is_live(ctx: &Ctx, caller: &Party) -> bool {
    ctx.store
        .find_account(&caller.name)
        .is_some_and(|account| account.id == caller.id && !account.is_deleted())
}

/// The missed call's message, from the caller to the callee: the normal
/// durable path (`Store::send`), so a block hides it as any message.
fn missed(ctx: &Ctx, call: &Ended) {
    let text = missed_text(call.media, &call.caller.name);
    let Ok(text) = Text::from_plain(&text) else { return };
    // An id of the caller's that the server makes (`own_message_id`).
    let id = super::own_ids::own_message_id("call");
    let (results, ticket) =
        ctx.store.send(call.caller.id, &[(Chat::User(call.callee.name.clone()), id, text)]);
    let stored = results.into_iter().next().unwrap_or_else(|| Err(Ko::new(Code::Internal, "no result")));
    if let Err(ko) = stored.and_then(|_| ctx.store.wait(ticket)) {
        log::warn!("call {}: the missed call was not stored: {}", call.id, ko.reason);
    }
}

/// The receive connection of `device` of `user` ended: its calls end
/// (`END:gone`), within the time the server takes to see a connection go.
pub fn device_gone(ctx: &Ctx, user: UserId, name: &str, device: &str) {
    for call in ctx.router.calls.of_device(user, device) {
        end(ctx, &call, name, End::Gone);
    }
}

/// Starts the timer thread that ends calls nobody answered. It holds the
/// server weakly and stops when the server does.
pub fn start(ctx: Weak<Ctx>) -> std::io::Result<()> {
    std::thread::Builder::new().name("calls".into()).stack_size(super::threads::STACK_SIZE).spawn(
        move || {
            loop {
                // The router alone is held while waiting, not the server.
                let Some(router) = ctx.upgrade().map(|ctx| ctx.router.clone()) else { return };
                router.calls.wait(TICK);
                drop(router);
                let Some(ctx) = ctx.upgrade() else { return };
                if ctx.shutting_down() {
                    return;
                }
                for call in ctx.router.calls.rung_out(Instant::now()) {
                    // Storing the missed call waits for the storage as a request does.
                    crate::store::deadline::within(|| end(&ctx, &call, &call.caller.name, End::Missed));
                }
                // A cluster: ends whose device left another node (`Calls::left_elsewhere`).
                for (call, user) in ctx.router.calls.gone_elsewhere() {
                    let left = if call.caller.id == user { &call.caller } else { &call.callee };
                    let by = left.name.clone();
                    crate::store::deadline::within(|| end(&ctx, &call, &by, End::Gone));
                }
            }
        },
    )?;
    Ok(())
}
