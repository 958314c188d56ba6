//! Group `status`: `STATUS:<seq>:<peer>:<id>:DELIVERED|READ:<ts>`
//! (docs/PROTOCOL.md §4 READ, §6, §7): `DELIVERED` only once the
//! recipient's client acknowledged the message, `READ` cumulative, and no
//! status at all for room messages.

use std::time::Duration;

use super::case::{case, check};
use super::messages::{next_msg, send_msg};
use super::wire::Conn;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Code, Event, MsgState};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Status, name, section, run);
    vec![
        c("delivered-only-after-ack", "§6 The receive port", delivered_only_after_ack),
        c("one-delivered-per-message", "§6 The receive port", one_delivered_per_message),
        c("read-gives-status-read", "§4 READ", read_gives_status_read),
        c("read-is-cumulative", "§4 READ", read_is_cumulative),
        c("read-unknown-message", "§4 READ", read_unknown_message),
        c("status-waits-for-offline-sender", "§6 The receive port", status_waits_for_offline_sender),
        c("room-messages-have-no-status", "§6 The receive port", room_messages_have_no_status),
    ]
}

/// The next `STATUS` event: (`seq`, `peer`, `id`, `state`).
pub fn next_status(conn: &mut Conn) -> Result<(u64, String, String, MsgState), Failure> {
    match conn.event("a STATUS event", false)? {
        Event::Status { seq, peer, id, state, .. } => Ok((seq, peer, id, state)),
        other => Err(Failure::new("a STATUS event", other.to_string())),
    }
}

fn expect_status(conn: &mut Conn, peer: &str, id: &str, state: MsgState) -> Result<u64, Failure> {
    let (seq, got_peer, got_id, got_state) = next_status(conn)?;
    let want = format!("STATUS:<seq>:{peer}:{id}:{}:<ts>", state.as_str());
    let got = format!("STATUS:{seq}:{got_peer}:{got_id}:{}:…", got_state.as_str());
    check((got_peer.as_str(), got_id.as_str(), got_state) == (peer, id, state), want, got)?;
    Ok(seq)
}

fn delivered_only_after_ack(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "ack me")?;
    let (seq, ..) = next_msg(&mut b)?;
    a_recv.expect_quiet(Duration::from_millis(700), "no STATUS before the recipient's ACK")?;
    b.send(&format!("ACK:{seq}"))?;
    expect_status(&mut a_recv, &ctx.name("b"), "m1", MsgState::Delivered).map(drop)
}

fn one_delivered_per_message(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "one")?;
    send_msg(&mut a, &ctx.name("b"), "m2", "two")?;
    next_msg(&mut b)?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, peer, id, state) = next_status(&mut a_recv)?;
        check(
            peer == ctx.name("b") && state == MsgState::Delivered,
            "STATUS …:DELIVERED",
            format!("{peer} {id} {}", state.as_str()),
        )?;
        ids.push(id);
    }
    ids.sort();
    check(ids == ["m1", "m2"], "DELIVERED for m1 and m2", ids.join(", "))
}

/// `a` sends m1, m2 to `b`, who acknowledges them; `a` takes both
/// `DELIVERED`. Returns a's send and receive connections and b's send.
fn delivered_pair(ctx: &mut CaseCtx) -> Result<(Conn, Conn, Conn), Failure> {
    let mut a = ctx.user("a")?;
    let b_send = ctx.user("b")?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "one")?;
    send_msg(&mut a, &ctx.name("b"), "m2", "two")?;
    next_msg(&mut b)?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    let (s1, ..) = next_status(&mut a_recv)?;
    let (s2, ..) = next_status(&mut a_recv)?;
    a_recv.send(&format!("ACK:{}", s1.max(s2)))?;
    Ok((a, a_recv, b_send))
}

fn read_gives_status_read(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (_a, mut a_recv, mut b) = delivered_pair(ctx)?;
    b.ok(&format!("READ:{}:m2", ctx.name("a")))?;
    expect_status(&mut a_recv, &ctx.name("b"), "m2", MsgState::Read).map(drop)
}

fn read_is_cumulative(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut a_recv, mut b) = delivered_pair(ctx)?;
    b.ok(&format!("READ:{}:m2", ctx.name("a")))?;
    expect_status(&mut a_recv, &ctx.name("b"), "m2", MsgState::Read)?;
    // Reading an earlier one is legal; m1 was read already (by m2).
    b.ok(&format!("READ:{}:m1", ctx.name("a")))?;
    let lines = a.listing(&format!("HISTORY:{}:10", ctx.name("b")))?;
    let states: Vec<&str> = lines.iter().filter_map(|l| l.split(':').nth(4)).collect();
    check(states == ["READ", "READ"], "HISTORY shows m1 and m2 READ", lines.join(" | "))
}

fn read_unknown_message(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "one")?;
    b.ko(&format!("READ:{}:zz", ctx.name("a")), Code::UnknownMessage)?;
    b.ok("PING").map(drop)
}

fn status_waits_for_offline_sender(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "one")?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    std::thread::sleep(Duration::from_millis(300));
    // a was never online on the receive port: the STATUS waits in its inbox.
    let mut a_recv = ctx.recv("a")?;
    let seq = expect_status(&mut a_recv, &ctx.name("b"), "m1", MsgState::Delivered)?;
    check(seq == 1, "STATUS:1:… (a's first event)", format!("STATUS:{seq}:…"))
}

fn room_messages_have_no_status(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b_send = ctx.user("b")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    b_send.ok(&format!("JOIN:{room}"))?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &room, "r1", "hello room")?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    b_send.ok(&format!("READ:{room}:r1"))?;
    a_recv.expect_quiet(Duration::from_millis(700), "no STATUS for a room message")
}
