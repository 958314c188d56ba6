//! Group `messages`: `MSG:<to>:<id>:<text>`, its `OK:<id>:<ts>`, and the
//! resend of an id, which gets the original reply and is not delivered
//! again (docs/PROTOCOL.md §4).

use std::time::Duration;

use super::case::{case, check};
use super::wire::Conn;
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Code, Event};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Messages, name, section, run);
    vec![
        c("ok-carries-id-and-ts", "§4 MSG", ok_carries_id_and_ts),
        c("event-matches-ok", "§4 MSG", event_matches_ok),
        c("offline-recipient-gets-it-at-login", "§6 The receive port", offline_recipient),
        c("resend-gets-original-ok", "§4 MSG", resend_gets_original_ok),
        c("ids-are-per-sender", "§1 Names", ids_are_per_sender),
        c("timestamps-never-go-back", "§1 Timestamps", timestamps_never_go_back),
        c("one-shot-connection", "§4 One-shot connections", one_shot_connection),
        c("unknown-recipient", "§4 MSG", unknown_recipient),
        c("room-you-are-not-in", "§4 MSG", room_you_are_not_in),
    ]
}

/// Sends `MSG:<to>:<id>:<text>` and returns the `<ts>` of its
/// `OK:<id>:<ts>`, checking the shape of the reply.
pub fn send_msg(conn: &mut Conn, to: &str, id: &str, text: &str) -> Result<u64, Failure> {
    let rest = conn.ok(&format!("MSG:{to}:{id}:{text}"))?;
    let expected = format!("OK:{id}:<ts>");
    let (got_id, ts) = rest.split_once(':').ok_or_else(|| Failure::new(&expected, format!("OK:{rest}")))?;
    check(got_id == id, &expected, format!("OK:{rest}"))?;
    ts.parse().map_err(|_| Failure::new(&expected, format!("OK:{rest} (the ts is not a number)")))
}

/// The next `MSG` event, as its fields (`seq`, `from`, `to`, `id`, `ts`,
/// escaped text).
pub fn next_msg(conn: &mut Conn) -> Result<(u64, String, String, String, u64, String), Failure> {
    match conn.event("a MSG event", false)? {
        Event::Msg { seq, from, to, id, ts, text } => {
            Ok((seq, from, to, id, ts, text.as_escaped().to_string()))
        }
        other => Err(Failure::new("a MSG event", other.to_string())),
    }
}

fn ok_carries_id_and_ts(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    send_msg(&mut a, &ctx.name("b"), "m1", "hola").map(drop)
}

fn event_matches_ok(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    let ts = send_msg(&mut a, &ctx.name("b"), "m1", "hola bob")?;
    let got = next_msg(&mut b)?;
    let want = (ctx.name("a"), ctx.name("b"), "m1".to_string(), ts, "hola bob".to_string());
    check(
        (got.1.clone(), got.2.clone(), got.3.clone(), got.4, got.5.clone()) == want,
        format!("MSG:<seq>:{}:{}:m1:{ts}:hola bob", want.0, want.1),
        format!("MSG:{}:{}:{}:{}:{}:{}", got.0, got.1, got.2, got.3, got.4, got.5),
    )
}

fn offline_recipient(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let ts = send_msg(&mut a, &ctx.name("b"), "m1", "while you were out")?;
    let mut b = ctx.recv("b")?;
    let got = next_msg(&mut b)?;
    check(
        got.3 == "m1" && got.4 == ts,
        format!("MSG:<seq>:…:m1:{ts}:…"),
        format!("id {} ts {}", got.3, got.4),
    )
}

fn resend_gets_original_ok(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    let b_name = ctx.name("b");
    let ts = send_msg(&mut a, &b_name, "m1", "first")?;
    next_msg(&mut b)?;
    let again = a.ok(&format!("MSG:{b_name}:m1:a different text"))?;
    check(again == format!("m1:{ts}"), format!("OK:m1:{ts} (the original reply)"), format!("OK:{again}"))?;
    b.expect_quiet(Duration::from_millis(500), "nothing: a resent id is not delivered again")
}

fn ids_are_per_sender(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut c = ctx.user("c")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    send_msg(&mut a, &ctx.name("b"), "same", "from a")?;
    send_msg(&mut c, &ctx.name("b"), "same", "from c")?;
    let mut from = vec![next_msg(&mut b)?.1, next_msg(&mut b)?.1];
    from.sort();
    check(from == [ctx.name("a"), ctx.name("c")], "one MSG from each sender", from.join(", "))
}

fn timestamps_never_go_back(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut last = 0;
    for n in 1..=5 {
        let ts = send_msg(&mut a, &ctx.name("b"), &format!("m{n}"), "tick")?;
        check(ts >= last, format!("a ts ≥ {last}"), ts.to_string())?;
        last = ts;
    }
    Ok(())
}

fn one_shot_connection(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    ctx.user("b")?;
    let name = ctx.name("a");
    let mut x = ctx.send_conn("a.oneshot")?;
    let both = format!("LOGIN:{name}:{}\nMSG:{}:m1:hola\n", ctx.password(&name), ctx.name("b"));
    x.send_raw(both.as_bytes(), "LOGIN:…\\nMSG:…:m1:hola\\n (one write)")?;
    let reply = x.line(&format!("OK:{name}"))?;
    check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)?;
    let reply = x.line("OK:m1:<ts>")?;
    check(reply.starts_with("OK:m1:"), "OK:m1:<ts>", reply)?;
    x.close();
    let mut b = ctx.recv("b")?;
    let got = next_msg(&mut b)?;
    check(got.3 == "m1", "MSG …:m1:…", got.3)
}

fn unknown_recipient(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ko(&format!("MSG:{}:m1:hi", ctx.name("nobody")), Code::UnknownUser)?;
    a.ok("PING").map(drop)
}

fn room_you_are_not_in(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let room = ctx.room("r");
    b.ok(&format!("JOIN:{room}"))?;
    a.ko(&format!("MSG:{room}:m1:hi"), Code::NotMember)?;
    a.ko(&format!("MSG:{}:m2:hi", ctx.room("never")), Code::NotMember)?;
    a.ok("PING").map(drop)
}
