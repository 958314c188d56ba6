//! Group `framing`: frames and their limits (docs/PROTOCOL.md §1).
//!
//! A frame is one UTF-8 line; `\r` before `\n` is dropped; the last field
//! takes the rest of the line; a frame is at most 16384 bytes with its
//! `\n`; text is escaped (`\\`, `\n`) and 1–4096 bytes once unescaped.

use std::time::Duration;

use super::case::{case, check};
use super::{Case, CaseCtx, Failure, Group};
use crate::protocol::{Code, Event, MAX_FRAME};

pub fn cases() -> Vec<Case> {
    let c = |name, section, run| case(Group::Framing, name, section, run);
    vec![
        c("crlf-accepted", "§1 Frames", crlf_accepted).registers(),
        c("frame-in-pieces", "§1 Frames", frame_in_pieces),
        c("last-field-takes-colons", "§1 Frames", last_field_takes_colons).registers(),
        c("escapes-travel-unchanged", "§1 Text", escapes_travel_unchanged),
        c("bad-escape-refused", "§1 Text", bad_escape_refused),
        c("text-length-limits", "§1 Text", text_length_limits),
        c("not-utf8-refused", "§1 Frames", not_utf8_refused),
        c("name-and-id-rules", "§1 Names", name_and_id_rules),
        c("max-frame-still-read", "§5 TOO_LONG", max_frame_still_read),
        c("frame-too-long-closes", "§5 TOO_LONG", frame_too_long_closes),
    ]
}

fn crlf_accepted(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let name = ctx.name("a");
    let mut a = ctx.send_conn("a.send")?;
    let line = format!("REGISTER:{name}::{}\r\n", ctx.password(&name));
    ctx.settings.made(&name, &ctx.password(&name));
    a.send_raw(line.as_bytes(), &format!("REGISTER:{name}::…\\r\\n"))?;
    let reply = a.line(&format!("OK:{name}"))?;
    check(reply == format!("OK:{name}"), format!("OK:{name} (the \\r dropped)"), reply)?;
    a.send_raw(b"PING\r\n", "PING\\r\\n")?;
    a.expect_ok().map(drop)
}

fn frame_in_pieces(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    a.send_raw(b"PI", "PI (no newline yet)")?;
    std::thread::sleep(Duration::from_millis(200));
    a.send_raw(b"NG\nPING\n", "NG\\nPING\\n")?;
    a.expect_ok()?;
    a.expect_ok().map(drop)
}

fn last_field_takes_colons(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let name = ctx.name("a");
    let mut a = ctx.send_conn("a.send")?;
    ctx.settings.made(&name, "pa:ss:word");
    a.ok(&format!("REGISTER:{name}::pa:ss:word"))?;
    let mut again = ctx.send_conn("a.send2")?;
    let reply = again.request(&format!("LOGIN:{name}:pa:ss:word"))?;
    check(reply == format!("OK:{name}"), format!("OK:{name} (the password is pa:ss:word)"), reply)?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    a.ok(&format!("MSG:{}:m1:meet at 10:30?", ctx.name("b")))?;
    match b.event("the MSG", false)? {
        Event::Msg { text, .. } if text.as_escaped() == "meet at 10:30?" => Ok(()),
        other => Err(Failure::new("MSG:…:meet at 10:30?", other.to_string())),
    }
}

fn escapes_travel_unchanged(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut b = ctx.recv("b")?;
    let text = r"line one\nline two \\o/";
    a.ok(&format!("MSG:{}:m1:{text}", ctx.name("b")))?;
    match b.event("the MSG", false)? {
        Event::Msg { text: got, .. } if got.as_escaped() == text => Ok(()),
        other => Err(Failure::new(format!("a MSG event with the text {text}"), other.to_string())),
    }
}

fn bad_escape_refused(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    a.ko(&format!(r"MSG:{}:m1:tab\there", ctx.name("b")), Code::BadRequest)?;
    a.ko(&format!(r"MSG:{}:m2:ends with \", ctx.name("b")), Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn text_length_limits(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let b = ctx.name("b");
    // 2048 × 'ñ' is 4096 bytes: bytes are counted, not characters.
    a.ok(&format!("MSG:{b}:m1:{}", "ñ".repeat(2048)))?;
    a.ko(&format!("MSG:{b}:m2:{}x", "ñ".repeat(2048)), Code::BadRequest)?;
    a.ko(&format!("MSG:{b}:m3:"), Code::BadRequest)?;
    // 4096 bytes once unescaped, 8192 on the wire.
    a.ok(&format!("MSG:{b}:m4:{}", r"\\".repeat(4096))).map(drop)
}

fn not_utf8_refused(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let mut bytes = format!("MSG:{}:m1:caf", ctx.name("b")).into_bytes();
    bytes.extend_from_slice(b"\xE9\n"); // Latin-1 é: not UTF-8
    a.send_raw(&bytes, "MSG:…:m1:caf\\xE9 (not UTF-8)")?;
    a.expect_ko(Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn name_and_id_rules(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut x = ctx.send_conn("x.send")?;
    x.ko(&format!("REGISTER:{}::pw", "n".repeat(33)), Code::BadRequest)?;
    x.ko("REGISTER:ana maria::pw", Code::BadRequest)?;
    x.ko("REGISTER:::pw", Code::BadRequest)?;
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    let b = ctx.name("b");
    a.ko(&format!("MSG:{b}:m.1:hi"), Code::BadRequest)?;
    a.ko(&format!("MSG:{b}:{}:hi", "i".repeat(65)), Code::BadRequest)?;
    a.ok(&format!("MSG:{b}:{}:hi", "i".repeat(64))).map(drop)
}

/// A `MSG` frame of exactly `len` bytes with its `\n`.
fn frame_of(to: &str, len: usize) -> String {
    let head = format!("MSG:{to}:m1:");
    format!("{head}{}", "x".repeat(len - head.len() - 1))
}

fn max_frame_still_read(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    // Read, then refused for its text (longer than 4096 bytes).
    a.ko(&frame_of(&ctx.name("b"), MAX_FRAME), Code::BadRequest)?;
    a.ok("PING").map(drop)
}

fn frame_too_long_closes(ctx: &mut CaseCtx) -> Result<(), Failure> {
    let mut a = ctx.user("a")?;
    ctx.user("b")?;
    a.ko(&frame_of(&ctx.name("b"), MAX_FRAME + 1), Code::TooLong)?;
    a.expect_closed()
}
