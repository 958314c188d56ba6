//! Group `restart`: what the protocol keeps across a restart of the server
//! (docs/PROTOCOL.md §4, §6, §7): an `OK`'d message, the sequence numbers,
//! the ids for resends, room membership. These cases run only with
//! `--allow-restart CMD`, a shell command that restarts the server on its
//! data (and returns once it is started, or soon before).

use super::case::{case, check};
use super::messages::{next_msg, send_msg};
use super::{Case, CaseCtx, Failure, Group, ProtocolLevel};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Restart, name, section, run).restart();
    vec![
        c("ok-message-survives", "§7 The promise", ok_message_survives),
        c("seq-continues", "§6 The receive port", seq_continues),
        c("resend-recognised", "§4 MSG", resend_recognised),
        c("membership-kept", "§4 JOIN", membership_kept),
        c("server-id-kept", "§12 SERVER", server_id_kept).at(ProtocolLevel::V1_1),
    ]
}

fn ok_message_survives(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let ts = send_msg(&mut a, &ctx.name("b"), "m1", "survives")?;
    ctx.restart()?;
    let mut b = ctx.recv("b")?;
    let got = next_msg(&mut b)?;
    check(
        (got.3.as_str(), got.4) == ("m1", ts),
        format!("MSG:1:…:m1:{ts}:survives"),
        format!("{} {}", got.3, got.4),
    )
}

fn seq_continues(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "one")?;
    let mut a_recv = ctx.recv("a")?;
    let mut b = ctx.recv("b")?;
    let (seq, ..) = next_msg(&mut b)?;
    super::receive::ack_and_wait(&mut b, &mut a_recv, seq, "m1")?;
    b.close();
    ctx.restart()?;
    let mut a = ctx.login_send("a", "a.send2")?;
    send_msg(&mut a, &ctx.name("b"), "m2", "two")?;
    let mut b = ctx.recv_as("b", "b.recv2")?;
    let got = next_msg(&mut b)?;
    check(
        (got.0, got.3.as_str()) == (seq + 1, "m2"),
        format!("MSG:{}:…:m2:…", seq + 1),
        format!("MSG:{}:…:{}:…", got.0, got.3),
    )
}

fn resend_recognised(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let ts = send_msg(&mut a, &ctx.name("b"), "m1", "once")?;
    ctx.restart()?;
    let mut a = ctx.login_send("a", "a.send2")?;
    let again = a.ok(&format!("MSG:{}:m1:once", ctx.name("b")))?;
    check(again == format!("m1:{ts}"), format!("OK:m1:{ts} (the original reply)"), format!("OK:{again}"))
}

fn membership_kept(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    ctx.restart()?;
    let mut a = ctx.login_send("a", "a.send2")?;
    let rooms = a.listing("ROOMS")?;
    check(rooms.contains(&format!("{room}:1")), format!("{room}:1 in ROOMS"), rooms.join(" | "))
}

fn server_id_kept(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let before = a.ok("SERVER")?;
    ctx.restart()?;
    let after = ctx.login_send("a", "a.send2")?.ok("SERVER")?;
    check(before == after && !before.is_empty(), format!("OK:{before} again"), format!("OK:{after}"))
}
