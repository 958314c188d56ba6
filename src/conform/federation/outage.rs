//! Group `outage`: the network while servers are away (docs/PROTOCOL.md
//! §27, "A peer down, then back", "Failures", "Bounds", "The stream"). The
//! suite goes down (its link port closed, its links cut) and comes back:
//! what the server's users wrote meanwhile was `OK`'d at once and comes
//! in order; past the server's `--link-queue-max` a message is refused
//! with `KO:FULL`; past its `--give-up` the author is told, and the
//! message never comes afterwards. With `--allow-restart`, the server is
//! restarted with messages queued both ways: its queue for the suite
//! comes after the restart, under the same identity, and what it took
//! from the suite before it is not taken again.

use std::time::{Duration, Instant};

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::sending::{bounce, frame_of};
use crate::conform::case::check;
use crate::conform::messages::next_msg;
use crate::conform::{Failure, Group};
use crate::protocol::link::{Frame, LinkState, MessageFrame};

pub fn cases() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Outage, name, section, run);
    vec![
        c("peer-down-then-back", "§27 A peer down, then back", peer_down_then_back),
        c("full-queue-refused", "§27 Bounds", full_queue_refused).wants(Wants::QueueMax),
        c("bounced-after-the-give-up-age", "§27 Failures", bounced_after_give_up).wants(Wants::GiveUp),
        c("queue-survives-a-restart", "§27 The stream", queue_survives_a_restart).wants(Wants::Restart),
        c("taken-frames-survive-a-restart", "§27 The stream", taken_frames_survive_a_restart)
            .wants(Wants::Restart),
    ]
}

/// How long the suite stays down before it comes back: long enough for
/// the server to try and fail, short enough that its next try is soon.
const AWAY: Duration = Duration::from_millis(1500);

/// How long the suite waits, before it goes down to fill the server's
/// queue, for the server to read the `ACK`s it sent last.
const ACKS_READ: Duration = Duration::from_millis(300);

/// Closes the suite's link port, and says so in the transcript.
fn go_down(ctx: &LinkCtx) {
    ctx.door.down();
    ctx.note("the suite is down: its link port closed, its links cut");
}

fn come_back(ctx: &LinkCtx) -> Result<(), Failure> {
    std::thread::sleep(AWAY); // what the server does while the suite is away is the case
    ctx.door.up().map_err(|e| Failure::new("the suite's link port to open again", e.to_string()))?;
    ctx.note("the suite is back");
    Ok(())
}

/// Messages written while the suite is down are `OK`'d at once, and come
/// when it is back, in order, each once, with the `<ts>` of their `OK`.
fn peer_down_then_back(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    go_down(ctx);
    let mut stamps = Vec::new();
    for i in 1..=3 {
        stamps.push(b.msg(ctx, &ctx.remote("a"), &format!("d{i}"), &format!("while away {i}"))?);
    }
    come_back(ctx)?;
    let mut last = 0;
    for (i, ts) in stamps.iter().enumerate() {
        let taken = frame_of(ctx, &format!("d{}", i + 1))?;
        let n = taken.frame.number().unwrap_or(0);
        let got_ts = match &taken.frame {
            Frame::Message(MessageFrame::Msg { ts, .. }) => *ts,
            _ => 0,
        };
        let want = format!("d{} numbered after the one before, with <ts> {ts}", i + 1);
        check(n > last && got_ts == *ts, want, taken.frame.to_string())?;
        last = n;
    }
    Ok(())
}

/// Past `--link-queue-max` frames waiting for the suite, a message is
/// refused with `KO:FULL`, storing nothing; once the queue drained, one
/// more is taken. What waited already (a frame whose `ACK` was lost with
/// a link) fills the queue too: the frames that come back are counted.
fn full_queue_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let max = ctx.plan.queue_max.unwrap_or(0) as usize;
    let mut b = ctx.writer("b")?;
    // The suite's last `ACK`s of earlier cases' frames may still be on
    // their way when it goes down: cut then, the server would count
    // those frames as waiting (rightly: it has not read that they were
    // taken), and refuse one message early. A moment lets it read them.
    std::thread::sleep(ACKS_READ);
    go_down(ctx);
    let mut taken = 0;
    while taken <= max {
        let line = format!("MSG:{}:q{}:queued", ctx.remote("a"), taken + 1);
        let reply = b.conn(ctx)?.request(&line)?;
        if reply.starts_with("KO:FULL") {
            break;
        }
        check(
            reply.starts_with("OK:"),
            format!("OK:q{}:<ts>, or KO:FULL once {max} wait", taken + 1),
            reply,
        )?;
        taken += 1;
    }
    check(taken <= max, format!("KO:FULL once {max} messages wait (--queue-max)"), format!("{taken} taken"))?;
    let mark = ctx.peer.seen().taken.len();
    come_back(ctx)?;
    let last = format!("q{taken}");
    frame_of(ctx, &last)?;
    // Each frame the server sent from the queue, up to the last message:
    // what waited when it said KO:FULL, the frames of earlier cases that
    // were still waiting (a status, say) included. Exactly --link-queue-max.
    let came: Vec<Frame> = ctx.peer.seen().taken[mark..].iter().map(|t| t.frame.clone()).collect();
    let upto = came
        .iter()
        .position(|f| matches!(f, Frame::Message(MessageFrame::Msg { id, .. }) if *id == last))
        .unwrap_or(0)
        + 1;
    let messages =
        came[..upto].iter().filter(|f| matches!(f, Frame::Message(MessageFrame::Msg { .. }))).count();
    check(
        messages <= max && upto == max,
        format!("KO:FULL when {max} frames waited"),
        format!("KO:FULL when {upto} frames ({messages} messages) waited"),
    )?;
    // The server takes its ACKs in as they come: the room comes soon after.
    let one_more = format!("MSG:{}:q{}:one more", ctx.remote("a"), taken + 1);
    let deadline = Instant::now() + ctx.peer.wait;
    loop {
        let reply = b.conn(ctx)?.request(&one_more)?;
        if reply.starts_with("OK:") {
            return frame_of(ctx, &format!("q{}", taken + 1)).map(drop);
        }
        if !reply.starts_with("KO:FULL") || Instant::now() > deadline {
            return Err(Failure::new(format!("OK:q{}:<ts> once the queue drained", taken + 1), reply));
        }
        std::thread::sleep(Duration::from_millis(100)); // the server's ACK, on its way
    }
}

/// A message to the suite while it is down past the server's
/// `--give-up` is bounced to its author, not before, and never sent
/// afterwards.
fn bounced_after_give_up(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let give_up = ctx.plan.give_up.unwrap_or_default();
    let mut b_send = ctx.writer("b")?;
    let mut b = ctx.recv("b")?;
    ctx.door.down();
    ctx.note(&format!("the suite is down for the server's --give-up ({give_up:?}) and more"));
    let start = Instant::now();
    b_send.msg(ctx, &ctx.remote("a"), "g1", "to a peer that stays away")?;
    bounce(&mut b, &ctx.remote("a"), "g1", "", Instant::now() + give_up + super::case::REDIAL)?;
    let took = start.elapsed();
    check(
        took + Duration::from_secs(1) >= give_up,
        format!("the bounce after the give-up age, {give_up:?}"),
        format!("after {took:?}"),
    )?;
    come_back(ctx)?;
    // g2 shows that g1 left the queue: it comes after g1's place in it.
    // A server whose next dial comes after g2's give-up age bounces g2 too.
    b_send.msg(ctx, &ctx.remote("a"), "g2", "after the bounce")?;
    let deadline = ctx.redial_deadline();
    while Instant::now() < deadline {
        if ctx.peer.msg("g2", Instant::now() + Duration::from_millis(200)).is_some() {
            let sent = ctx.peer.frames_of("g1");
            return check(sent == 0, "g1 never sent (bounced)", format!("sent {sent} times"));
        }
        match b.read_within(Duration::from_millis(10)) {
            Ok(Some(line)) if line == "PING" => b.send("PONG")?,
            Ok(Some(line)) if line.contains("(your message g2)") => {
                b.note("g2 bounced too, its give-up age past before the server dialed again");
                return Ok(());
            }
            Ok(Some(line)) => return Err(Failure::new("g2's frame, or its bounce", line)),
            Ok(None) => return Err(Failure::new("g2's frame, or its bounce", "the connection closed")),
            Err(_) => {}
        }
    }
    Err(Failure::new("g2's frame at the suite's link port, or its bounce", "neither"))
}

/// The server is restarted with messages for the suite in its queue:
/// they come after the restart, in order, with a hello under the same
/// identity as before it.
fn queue_survives_a_restart(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    b.msg(ctx, &ctx.remote("a"), "r0", "before")?;
    frame_of(ctx, "r0")?;
    let before = ctx.peer.seen().hellos.last().map(|h| h.identity.clone());
    go_down(ctx);
    b.msg(ctx, &ctx.remote("a"), "r1", "queued across a restart")?;
    b.msg(ctx, &ctx.remote("a"), "r2", "queued too")?;
    let hellos = ctx.peer.hellos();
    ctx.restart()?;
    come_back(ctx)?;
    let one = frame_of(ctx, "r1")?.frame.number();
    let two = frame_of(ctx, "r2")?.frame.number();
    check(one < two, "r1 before r2", format!("r1 numbered {one:?}, r2 {two:?}"))?;
    let after = ctx.peer.seen().hellos.get(hellos).map(|h| h.identity.clone());
    match (before, after) {
        (Some(old), Some(new)) => check(old == new, format!("the identity {old} again"), new),
        _ => Err(Failure::new("a hello before and after the restart", "none")),
    }
}

/// Frames the server took from the suite before a restart are not taken
/// again after it: its `OK:<last>` says it has them, a replay of one is
/// acknowledged and not delivered, nor its message under a new number;
/// a new message is.
fn taken_frames_survive_a_restart(ctx: &mut LinkCtx) -> Result<(), Failure> {
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    let mut link = ctx.link("link")?;
    let n = ctx.peer.number();
    let frame = ctx.msg_frame(n, "a", "b", "m1", "before the restart");
    link.acked(n, &frame)?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    // The server took the ACK once it queued the DELIVERED for the suite.
    let delivered = ctx.peer.status("m1", LinkState::Delivered, ctx.redial_deadline());
    delivered.ok_or_else(|| Failure::new("STATUS …:m1:DELIVERED at the suite (the ACK taken)", "none"))?;
    drop(b);
    ctx.restart()?;
    let mut link = ctx.link("link2")?;
    check(link.last >= n, format!("OK:{n} or more (frame {n} was taken)"), format!("OK:{}", link.last))?;
    link.acked(n, &frame)?;
    let again = ctx.peer.number();
    link.acked(again, &ctx.msg_frame(again, "a", "b", "m1", "before the restart"))?;
    let new = ctx.peer.number();
    link.acked(new, &ctx.msg_frame(new, "a", "b", "m2", "after the restart"))?;
    let mut b = ctx.recv_as("b", "b.recv2")?;
    let (_, _, _, id, _, _) = next_msg(&mut b)?;
    check(id == "m2", "m2 next (m1 was taken once, before the restart)", id)
}
