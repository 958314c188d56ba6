//! Group `timing`: pipelining, `QUIT`, and the timeouts
//! (docs/PROTOCOL.md §4 One-shot connections and pipelining, §8).
//!
//! The timeout cases wait for the server's `--timeout` (`wachat conform
//! server --timeout`, 10 s unless told): they are the slow ones that
//! `--fast` leaves out. They allow an eighth of the timeout and a quarter
//! of a second of slack ([`limit`]).

use std::time::{Duration, Instant};

use super::case::{case, check};
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Bye, Code, Event};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Timing, name, section, run);
    vec![
        c("pipelined-replies-in-order", "§4 Pipelining", pipelined_replies_in_order),
        c("pipelined-kos-keep-their-order", "§4 Pipelining", pipelined_kos_keep_their_order),
        c("quit-answers-then-closes", "§4 PING and QUIT", quit_answers_then_closes),
        c("idle-send-connection-timeout", "§8 Timeouts", idle_send_timeout).clock(),
        c("dribbled-bytes-timeout", "§8 Timeouts", dribbled_bytes_timeout).clock(),
        c("receive-port-ping-pong-keeps", "§8 Timeouts", ping_pong_keeps).clock(),
        c("receive-port-silence-bye-timeout", "§8 Timeouts", silence_bye_timeout).clock(),
    ]
}

fn pipelined_replies_in_order(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    ctx.user("b")?;
    let (a, b) = (ctx.name("a"), ctx.name("b"));
    let mut x = ctx.send_conn("a.pipe")?;
    let burst = [
        format!("LOGIN:{a}:{}", ctx.password(&a)),
        "PING".to_string(),
        format!("MSG:{b}:m1:one"),
        format!("MSG:{b}:m2:two"),
        format!("MSG:{}:m3:three", ctx.name("nobody")),
        format!("HISTORY:{b}:5"),
        "QUIT".to_string(),
    ];
    let all: String = burst.iter().map(|l| format!("{l}\n")).collect();
    x.send_raw(all.as_bytes(), &format!("{} (one write)", burst.join("\\n")))?;
    let mut next = |what: &str| x.line(what);
    let r = next("OK:<name>")?;
    check(r == format!("OK:{a}"), format!("OK:{a}"), r)?;
    let r = next("OK")?;
    check(r == "OK", "OK (PING)", r)?;
    let r = next("OK:m1:<ts>")?;
    check(r.starts_with("OK:m1:"), "OK:m1:<ts>", r)?;
    let r = next("OK:m2:<ts>")?;
    check(r.starts_with("OK:m2:"), "OK:m2:<ts>", r)?;
    let r = next("KO:UNKNOWN_USER:…")?;
    check(r.starts_with("KO:UNKNOWN_USER:"), "KO:UNKNOWN_USER:…", r)?;
    let r = next("OK:2")?;
    check(r == "OK:2", "OK:2 (HISTORY)", r)?;
    next("history line 1")?;
    next("history line 2")?;
    let r = next("OK")?;
    check(r == "OK", "OK (QUIT)", r)?;
    x.expect_closed()
}

/// Pipelined replies keep their order, `KO`s included: a refusal a server
/// can give at once (a frame that is not UTF-8, a line that is no
/// request, a `MSG` to nobody) still waits behind the `OK` of a `MSG`
/// read before it, which the server may hold until that message is on
/// disk. A server that writes refusals as it meets them and the `OK`s
/// after its disk write fails here (an easy mistake: a refusal needs no disk).
fn pipelined_kos_keep_their_order(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut x = ctx.user("a")?;
    ctx.user("b")?;
    let (b, nobody) = (ctx.name("b"), ctx.name("nobody"));
    let burst = [
        format!("MSG:{b}:m1:one\nMSG:{b}:m2:caf").into_bytes(),
        b"\xE9\n".to_vec(), // Latin-1 é: not UTF-8
        format!("MSG:{b}:m3:three\nHOLA\nMSG:{nobody}:m4:four\nPING\nMSG:{b}:m5:five\n").into_bytes(),
    ]
    .concat();
    let shown = String::from_utf8_lossy(&burst).replace('\n', "\\n").replace('\u{FFFD}', "\\xE9");
    x.send_raw(&burst, &format!("{shown} (one write)"))?;
    // What each reply starts with, and the request it answers.
    let expected = [
        ("OK:m1:", "MSG m1"),
        ("KO:BAD_REQUEST:", "the frame that is not UTF-8"),
        ("OK:m3:", "MSG m3"),
        ("KO:BAD_REQUEST:", "HOLA"),
        ("KO:UNKNOWN_USER:", "MSG m4 to nobody"),
        ("OK", "PING"),
        ("OK:m5:", "MSG m5"),
    ];
    for (start, request) in expected {
        let want = format!("{start}… for {request}, in the order of the requests");
        let got = x.line(&want)?;
        check(if start == "OK" { got == "OK" } else { got.starts_with(start) }, want, got)?;
    }
    Ok(())
}

fn quit_answers_then_closes(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.ok("QUIT")?;
    a.expect_closed()
}

/// The server's timeout plus slack: an eighth of it and a quarter of a
/// second. Proportional, so that a server that is late by a fraction of
/// its timeout fails at every timeout: one that waits a whole timeout
/// after its `PING` (one and a half in all) would hide behind a fixed
/// 1.25 s at `--timeout 2` and fail only at 10 s.
pub(crate) fn limit(ctx: &CaseCtx) -> Duration {
    slack_limit(ctx.settings.server_timeout)
}

fn slack_limit(timeout: Duration) -> Duration {
    timeout + timeout / 8 + Duration::from_millis(250)
}

fn idle_send_timeout(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let start = Instant::now();
    a.wait = limit(ctx);
    a.expect_ko(Code::Timeout)?;
    let took = start.elapsed();
    check(
        took + Duration::from_millis(250) >= ctx.settings.server_timeout,
        format!("KO:TIMEOUT after about {:?}", ctx.settings.server_timeout),
        format!("after {took:?}"),
    )?;
    a.expect_closed()
}

fn dribbled_bytes_timeout(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let step = ctx.settings.server_timeout / 4;
    let deadline = Instant::now() + limit(ctx);
    for byte in b"PINGPINGPINGPING".iter() {
        if Instant::now() > deadline {
            break;
        }
        match a.read_within(step) {
            Err(_) => a.send_raw(&[*byte], &(*byte as char).to_string())?,
            Ok(Some(line)) => {
                return check(line.starts_with("KO:TIMEOUT:"), "KO:TIMEOUT (bytes without a newline)", line);
            }
            Ok(None) => return Err(Failure::new("KO:TIMEOUT", "the connection closed")),
        }
    }
    Err(Failure::new("KO:TIMEOUT (bytes without a newline are no activity)", "the connection stayed open"))
}

fn ping_pong_keeps(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut r = ctx.recv("a")?;
    let timeout = ctx.settings.server_timeout;
    let until = Instant::now() + timeout * 2;
    let mut pings = 0;
    while Instant::now() < until {
        match r.read_within(timeout / 2 + Duration::from_millis(1250)) {
            Ok(Some(line)) if line == "PING" => {
                pings += 1;
                r.send("PONG")?;
            }
            Ok(Some(line))
                if matches!(Event::parse(&line), Ok(Event::Joined { .. } | Event::Left { .. })) => {}
            Ok(Some(line)) => return Err(Failure::new("PING", line)),
            Ok(None) => return Err(Failure::new("the connection to stay open (PONG answered)", "it closed")),
            Err(_) => return Err(Failure::new("PING within half the timeout of silence", "nothing")),
        }
    }
    check(pings >= 2, "a PING at least every half timeout", format!("{pings} in two timeouts"))
}

fn silence_bye_timeout(ctx: &mut CaseCtx) -> Result<(), Failure> {
    ctx.user("a")?;
    let mut r = ctx.recv("a")?;
    let deadline = Instant::now() + limit(ctx);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match r.read_within(left) {
            Ok(Some(line)) => match Event::parse(&line) {
                Ok(Event::Bye(Bye::Timeout)) => return r.expect_closed(),
                Ok(Event::Ping | Event::Joined { .. } | Event::Left { .. }) => {} // not answered, on purpose
                _ => return Err(Failure::new("BYE:TIMEOUT", line)),
            },
            Ok(None) => return Err(Failure::new("BYE:TIMEOUT before the close", "a close without it")),
            Err(_) => break,
        }
    }
    Err(Failure::new("BYE:TIMEOUT after a timeout without PONG", "nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slack_catches_one_and_a_half_timeouts_at_any_timeout() {
        for secs in [1, 2, 10, 600] {
            let timeout = Duration::from_secs(secs);
            assert!(slack_limit(timeout) > timeout + Duration::from_millis(200), "{secs}");
            assert!(slack_limit(timeout) < timeout * 3 / 2, "{secs}: 1.5 × the timeout must fail");
        }
    }
}
