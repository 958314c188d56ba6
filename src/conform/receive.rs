//! Group `receive`: the receive port (docs/PROTOCOL.md §6): queued events
//! numbered 1, 2, 3…, `ACK` (cumulative), the replay of what was not
//! acknowledged, one receive connection per user (`BYE:REPLACED`), and an
//! inbox longer than a server's buffers replayed whole.

use std::time::Duration;

use super::case::{case, check};
use super::messages::{next_msg, send_msg};
use super::status::next_status;
use super::wire::Conn;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Bye, Event, MsgState};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Receive, name, section, run);
    vec![
        c("inbox-in-order-numbered-from-1", "§6 The receive port", inbox_in_order),
        c("unacked-replayed-after-reconnect", "§6 Replay", unacked_replayed),
        c("acked-not-replayed", "§6 Replay", acked_not_replayed),
        c("ack-above-last-counts-as-last", "§6 Replay", ack_above_last),
        c("long-inbox-replayed-whole", "§6 Replay", long_inbox_replayed),
        c("second-login-replaces-first", "§6 BYE:REPLACED", second_login_replaces_first),
        c("unknown-frame-ignored", "§6 The receive port", unknown_frame_ignored),
        c("too-long-frame-closes", "§6 The receive port", too_long_frame_closes),
    ]
}

/// Events waiting for the long inbox's login: more than a buffer of
/// 1,024 lines, a size a server may well pick for a connection's queue.
const LONG_INBOX: u64 = 1_500;
/// The long inbox is acknowledged every this many events, as it comes.
const ACK_EVERY: u64 = 100;
/// On a server that limits the suite's address (a class server), the
/// messages of a case go one per this long: 100 a second, half of
/// `wachat serve`'s default `--address-rate`, so the long inbox leaves the
/// budget that address shares with a class where it was.
const LIMITED_PACE: Duration = Duration::from_millis(10);

/// Sends `m1…mN` from `a` to `b`, who is offline.
fn queue(ctx: &mut CaseCtx, n: u64) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    for i in 1..=n {
        if ctx.settings.limited {
            std::thread::sleep(LIMITED_PACE);
        }
        send_msg(&mut a, &ctx.name("b"), &format!("m{i}"), &format!("message {i}"))?;
    }
    Ok(())
}

/// Sends `ACK:<seq>` on `b` and waits until the sender, online on
/// `a_recv`, is told `DELIVERED` for `id`: an ACK has no reply, and that
/// STATUS is how one knows from outside that it landed.
pub fn ack_and_wait(b: &mut Conn, a_recv: &mut Conn, seq: u64, id: &str) -> Result<(), Failure> {
    b.send(&format!("ACK:{seq}"))?;
    loop {
        let (_, _, got, state) = next_status(a_recv)?;
        if got == id {
            check(state == MsgState::Delivered, format!("STATUS:…:{id}:DELIVERED:…"), state.as_str())?;
            // A server that says DELIVERED too early (a bug of its own,
            // which status/delivered-only-after-ack names) still gets a
            // moment for the ACK, so that this case does not fail for it.
            std::thread::sleep(Duration::from_millis(100));
            return Ok(());
        }
    }
}

/// Reads `ids.len()` MSG events and checks their seq and id.
fn expect_msgs(conn: &mut Conn, want: &[(u64, &str)]) -> Result<(), Failure> {
    for &(seq, id) in want {
        let got = next_msg(conn)?;
        check(
            (got.0, got.3.as_str()) == (seq, id),
            format!("MSG:{seq}:…:{id}:…"),
            format!("MSG:{}:…:{}:…", got.0, got.3),
        )?;
    }
    Ok(())
}

fn inbox_in_order(ctx: &mut CaseCtx) -> Result<(), Failure> {
    queue(ctx, 3)?;
    let mut b = ctx.recv("b")?;
    expect_msgs(&mut b, &[(1, "m1"), (2, "m2"), (3, "m3")])
}

fn unacked_replayed(ctx: &mut CaseCtx) -> Result<(), Failure> {
    queue(ctx, 3)?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv_as("b", "b.recv1")?;
    expect_msgs(&mut b, &[(1, "m1"), (2, "m2"), (3, "m3")])?;
    ack_and_wait(&mut b, &mut a_recv, 1, "m1")?;
    b.close();
    let mut b = ctx.recv_as("b", "b.recv2")?;
    expect_msgs(&mut b, &[(2, "m2"), (3, "m3")])
}

fn acked_not_replayed(ctx: &mut CaseCtx) -> Result<(), Failure> {
    queue(ctx, 2)?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv_as("b", "b.recv1")?;
    expect_msgs(&mut b, &[(1, "m1"), (2, "m2")])?;
    ack_and_wait(&mut b, &mut a_recv, 2, "m2")?;
    b.close();
    let mut b = ctx.recv_as("b", "b.recv2")?;
    b.expect_quiet(Duration::from_millis(500), "nothing replayed (all acknowledged)")?;
    let mut a = ctx.login_send("a", "a.send2")?;
    send_msg(&mut a, &ctx.name("b"), "m3", "later")?;
    expect_msgs(&mut b, &[(3, "m3")])
}

fn ack_above_last(ctx: &mut CaseCtx) -> Result<(), Failure> {
    queue(ctx, 2)?;
    let mut b = ctx.recv("b")?;
    expect_msgs(&mut b, &[(1, "m1"), (2, "m2")])?;
    b.send("ACK:99")?;
    let mut a = ctx.login_send("a", "a.send2")?;
    send_msg(&mut a, &ctx.name("b"), "m3", "next")?;
    expect_msgs(&mut b, &[(3, "m3")])
}

/// A login with 1,500 events waiting gets them all, in order, while it
/// acknowledges them: a server that queues the whole replay before the
/// client can read it overflows its buffer and closes the connection.
fn long_inbox_replayed(ctx: &mut CaseCtx) -> Result<(), Failure> {
    queue(ctx, LONG_INBOX)?;
    let mut b = ctx.recv("b")?;
    for seq in 1..=LONG_INBOX {
        expect_msgs(&mut b, &[(seq, &format!("m{seq}"))])?;
        if seq % ACK_EVERY == 0 {
            b.send(&format!("ACK:{seq}"))?;
        }
    }
    Ok(())
}

fn second_login_replaces_first(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut first = ctx.recv_as("b", "b.recv1")?;
    let mut second = ctx.recv_as("b", "b.recv2")?;
    match first.event("BYE:REPLACED", false)? {
        Event::Bye(Bye::Replaced) => {}
        other => return Err(Failure::new("BYE:REPLACED", other.to_string())),
    }
    first.expect_closed()?;
    send_msg(&mut a, &ctx.name("b"), "m1", "to the new connection")?;
    expect_msgs(&mut second, &[(1, "m1")])
}

fn unknown_frame_ignored(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    b.send("HELLO")?;
    b.send("ACK:x")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "still there?")?;
    expect_msgs(&mut b, &[(1, "m1")])
}

fn too_long_frame_closes(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    b.send(&format!("ACK:{}", "9".repeat(crate::protocol::MAX_FRAME)))?;
    // No reply is promised on the receive port: only the close.
    let deadline = std::time::Instant::now() + b.wait;
    loop {
        match b.read_within(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(None) => return Ok(()),
            Ok(Some(line)) if line.starts_with("KO:TOO_LONG") || line == "PING" => {}
            Ok(Some(line)) => return Err(Failure::new("the server to close the connection", line)),
            Err(_) => return Err(Failure::new("the server to close the connection", "it stayed open")),
        }
    }
}
