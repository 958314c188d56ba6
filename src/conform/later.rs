//! Groups `v1.1` and `v1.2`: the additions to version 1, each run only
//! at its level (`--level 1.1`, `--level 1.2`).
//!
//! 1.1 (docs/PROTOCOL.md §4, §11, §12): `LASTSEEN`, `MEMBERS`, the `MEMBER`
//! event for a receive connection that said `VERSION:1.1`, `SERVER`, and
//! the `HISTORY` limit, and with TLS (`--tls`, `--ca`) a plaintext client
//! refused and no direct chats. 1.2: `TYPING:<to>` → `OK`, and the peer's receive
//! connection that said `VERSION:1.2` gets `TYPING:<from>:<to>`,
//! ephemeral (no seq, never queued).

use std::time::Duration;

use super::case::{addition, check};
use super::{Case, CaseCtx, Failure, ProtocolLevel};
use crate::protocol::{Code, Event};

pub fn cases() -> Vec<Case> {
    let v11 = |name, section, run| addition(ProtocolLevel::V1_1, name, section, run);
    let v12 = |name, section, run| addition(ProtocolLevel::V1_2, name, section, run);
    vec![
        v11("lastseen", "§11 LASTSEEN", lastseen),
        v11("members", "§11 MEMBERS", members),
        v11("member-event-after-version", "§11 VERSION:1.1 and MEMBER", member_event),
        v11("server-id", "§12 SERVER", server_id),
        v11("history-limit-served-smaller", "§4 HISTORY", history_limit),
        v11("tls-plaintext-refused", "§1 TLS", tls_plaintext_refused).tls(),
        v11("tls-no-direct-chats", "§9 Peer-to-peer chat", tls_no_direct_chats).tls(),
        v12("typing-relayed", "1.2 TYPING", typing_relayed),
        v12("typing-is-ephemeral", "1.2 TYPING", typing_is_ephemeral),
    ]
}

fn lastseen(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let b = ctx.name("b");
    let r = a.ok(&format!("LASTSEEN:{b}"))?;
    check(r == format!("{b}:UNKNOWN"), format!("OK:{b}:UNKNOWN (never online)"), format!("OK:{r}"))?;
    let mut b_recv = ctx.recv("b")?;
    let r = a.ok(&format!("LASTSEEN:{}", b.to_uppercase()))?;
    check(r == format!("{b}:ONLINE"), format!("OK:{b}:ONLINE"), format!("OK:{r}"))?;
    b_recv.close();
    // The server notices the close when it notices it: ask again until then.
    let deadline = std::time::Instant::now() + ctx.settings.wait;
    let mut r = a.ok(&format!("LASTSEEN:{b}"))?;
    while r.ends_with(":ONLINE") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        r = a.ok(&format!("LASTSEEN:{b}"))?;
    }
    let ts = r.strip_prefix(&format!("{b}:")).and_then(|t| t.parse::<u64>().ok());
    check(ts.is_some(), format!("OK:{b}:<ts>"), format!("OK:{r}"))?;
    a.ko(&format!("LASTSEEN:{}", ctx.name("nobody")), Code::UnknownUser)
}

fn members(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let mut c = ctx.user("c")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    b.ok(&format!("JOIN:{room}"))?;
    let _online = ctx.recv("a")?;
    let lines = a.listing(&format!("MEMBERS:{room}"))?;
    let want = [format!("{}:ONLINE", ctx.name("a")), format!("{}:UNKNOWN", ctx.name("b"))];
    check(lines == want, want.join(" | "), lines.join(" | "))?;
    c.ko(&format!("MEMBERS:{room}"), Code::NotMember)
}

fn member_event(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let mut b = ctx.user("b")?;
    let room = ctx.room("r");
    a.ok(&format!("JOIN:{room}"))?;
    let mut a_recv = ctx.recv("a")?;
    a_recv.send("VERSION:1.1")?;
    std::thread::sleep(Duration::from_millis(200));
    b.ok(&format!("JOIN:{room}"))?;
    let b_name = ctx.name("b");
    for joined in [true, false] {
        match a_recv.event("MEMBER", false)? {
            Event::Member { room: r, user, joined: j }
                if r.eq_ignore_ascii_case(&room) && user == b_name && j == joined => {}
            other => return Err(Failure::new(format!("MEMBER:{room}:{b_name}:…"), other.to_string())),
        }
        if joined {
            b.ok(&format!("LEAVE:{room}"))?;
        }
    }
    Ok(())
}

fn server_id(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    let id = a.ok("SERVER")?;
    check(!id.is_empty(), "OK:<id>", "OK")?;
    let again = ctx.login_send("a", "a.send2")?.ok("SERVER")?;
    check(again == id, format!("OK:{id} (the same)"), format!("OK:{again}"))?;
    a.ko("SERVER:x", Code::BadRequest)
}

fn history_limit(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let b = ctx.name("b");
    a.listing(&format!("HISTORY:{b}:99999"))?;
    a.listing(&format!("HISTORY:{b}:18446744073709551615"))?;
    a.ko(&format!("HISTORY:{b}:18446744073709551616"), Code::BadRequest)
}

fn tls_plaintext_refused(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let settings = ctx.settings;
    let mut plain =
        super::wire::Conn::open(&settings.send_addr(), None, "x.plain", &ctx.transcript, settings.wait)?;
    let reply = plain.request("LOGIN:ana:s3cret")?;
    check(reply.starts_with("KO:"), "one plaintext KO line", reply)?;
    plain.expect_closed()
}

fn tls_no_direct_chats(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    a.ko("P2P:7000", Code::BadRequest)?;
    a.ko(&format!("PEER:{}", ctx.name("b")), Code::BadRequest)
}

/// b on the receive port, having said `VERSION:1.2`.
fn typing_pair(ctx: &mut CaseCtx) -> Result<(super::wire::Conn, super::wire::Conn), Failure> {
    let a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    b.send("VERSION:1.2")?;
    std::thread::sleep(Duration::from_millis(200));
    Ok((a, b))
}

/// The next line that is not presence or `PING` (TYPING is not an
/// [`Event`] of version 1).
fn next_frame(conn: &mut super::wire::Conn, expected: &str) -> Result<String, Failure> {
    let deadline = std::time::Instant::now() + conn.wait;
    loop {
        let line = conn.line_by(deadline, expected)?;
        match Event::parse(&line) {
            Ok(Event::Ping) => conn.send("PONG")?,
            Ok(Event::Joined { .. } | Event::Left { .. }) => {}
            _ => return Ok(line),
        }
    }
}

fn typing_relayed(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let (mut a, mut b) = typing_pair(ctx)?;
    let (na, nb) = (ctx.name("a"), ctx.name("b"));
    let r = a.request(&format!("TYPING:{nb}"))?;
    check(r == "OK", "OK", r)?;
    let want = format!("TYPING:{na}:{nb}");
    let got = next_frame(&mut b, &want)?;
    check(got == want, want, got)
}

fn typing_is_ephemeral(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let r = a.request(&format!("TYPING:{}", ctx.name("b")))?;
    check(r == "OK", "OK", r)?;
    let mut b = ctx.recv("b")?;
    b.send("VERSION:1.2")?;
    b.expect_quiet(Duration::from_millis(600), "nothing: TYPING is never queued")?;
    // And a version-1 connection never gets it.
    b.close();
    let mut old = ctx.recv_as("b", "b.recv-v1")?;
    a.ok(&format!("TYPING:{}", ctx.name("b")))?;
    old.expect_quiet(Duration::from_millis(600), "nothing for a connection that did not say VERSION:1.2")
}
