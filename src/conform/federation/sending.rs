//! Group `sending`: what a server sends a peer (docs/PROTOCOL.md §27,
//! "The hello", "The stream", "Failures"). The server's users write to
//! the suite's users; the server dials the suite's link port and the
//! door answers as a case asks: `ACK`; nothing, the link cut (the frame
//! must come again, under its number); the frame taken but its `ACK`
//! lost (the next hello's `OK:<last>` says so: it must not come again);
//! a refusal for good (the author is told at once, loudly, and the frame
//! is never sent again); a refusal for now (it must come again, and no
//! bounce); a refusal whose reason is hostile (nothing of it may reach
//! the author's screen unescaped); 1.3: the bounce in `HISTORY`.

use std::time::Instant;

use super::case::{LinkCase, LinkCtx, Wants, case};
use super::peer::{FrameRule, ReadFrame};
use crate::conform::case::check;
use crate::conform::messages::{next_msg, send_msg};
use crate::conform::wire::Conn;
use crate::conform::{Failure, Group};
use crate::protocol::link::{FileFrame, Frame, LinkState, MessageFrame, ReadBounce};
use crate::protocol::names::fold;
use crate::protocol::{Code, Event, HistoryLine, MsgState};

pub fn cases() -> Vec<LinkCase> {
    let c = |name, section, run| case(Group::Sending, name, section, run);
    vec![
        c("dials-with-its-hello", "§27 The hello", dials_with_its_hello),
        c("message-frame-carries-the-message", "§27 The frames", message_frame),
        c("statuses-sent-to-the-author", "§27 The frames", statuses_sent),
        c("unanswered-frame-sent-again", "§27 Replay", unanswered_frame_sent_again),
        c("resumes-after-the-peers-last", "§27 Replay", resumes_after_the_peers_last),
        c("refused-for-good-bounces-at-once", "§27 Failures", refused_for_good_bounces),
        c("bounce-in-history-failed-with-its-reason", "§27 Bounces in HISTORY", bounce_in_history),
        c("refused-for-now-sent-again", "§27 Failures", refused_for_now_sent_again),
        c("hostile-reason-made-safe", "§27 Failures", hostile_reason_made_safe),
        c("unknown-server-refused-at-once", "§27 Failures", unknown_server_refused),
        c("own-name-is-this-server", "§27 Addresses", own_name_is_this_server),
        c("file-sent-before-its-message", "§27 Files across servers", file_sent_before_its_message)
            .wants(Wants::Files),
        c("people-asked-across", "§26 Finding people", people_asked_across).wants(Wants::People),
    ]
}

/// The frame of message `id` that the door took and acknowledged, which
/// must come (after a redial if the server's link broke).
pub fn frame_of(ctx: &LinkCtx, id: &str) -> Result<ReadFrame, Failure> {
    let want = format!("the server's MSG frame of {id} at the suite's link port");
    ctx.peer.msg(id, ctx.redial_deadline()).ok_or_else(|| Failure::new(want, "none"))
}

/// The first frame of message `id` the door read, whatever it answered.
fn first_frame_of(ctx: &LinkCtx, id: &str) -> Result<ReadFrame, Failure> {
    let want = format!("the server's MSG frame of {id} at the suite's link port");
    ctx.peer.any_msg(id, ctx.redial_deadline()).ok_or_else(|| Failure::new(want, "none"))
}

/// The hellos of the run all named the server and the suite, on
/// connections that showed the server's key (its roster fingerprint).
fn dials_with_its_hello(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    b.msg(ctx, &ctx.remote("a"), "b1", "to the suite")?;
    frame_of(ctx, "b1")?;
    let hellos = ctx.peer.seen().hellos.clone();
    let names = &ctx.peer.names;
    let want = format!(
        "HELLO:1.3:{}:{}:…:<identity> over TLS with {}'s key ({})",
        names.them, names.me, names.them, names.their_fingerprint
    );
    check(!hellos.is_empty(), &want, "a link without a hello the suite heard")?;
    match hellos.iter().find(|h| h.wrong.is_some()) {
        Some(h) => Err(Failure::new(want, format!("{}: {}", h.line, h.wrong.clone().unwrap_or_default()))),
        None => Ok(()),
    }
}

/// `MSG:<n>:<author>@<server>:<user>@<suite>:<id>:<ts>:<text>`, its
/// `<ts>` the one of the author's `OK`, its text as the author wrote it.
fn message_frame(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    let text = r"a colon: here\nand a line \\o/";
    let ts = b.msg(ctx, &ctx.remote("a"), "b1", text)?;
    let taken = frame_of(ctx, "b1")?;
    let want = format!("MSG:<n>:{}:{}:b1:{ts}:{text}", ctx.address("b"), ctx.remote("a"));
    match &taken.frame {
        Frame::Message(MessageFrame::Msg { from, to, ts: got_ts, text: got, .. })
            if fold(from) == fold(&ctx.address("b"))
                && fold(to) == fold(&ctx.remote("a"))
                && *got_ts == ts
                && got.as_escaped() == text =>
        {
            Ok(())
        }
        other => Err(Failure::new(want, other.to_string())),
    }
}

/// The suite's message to the server's user: `DELIVERED` once the user's
/// client acknowledged it, `READ` once it read it, both as frames.
fn statuses_sent(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.writer("b")?;
    let mut b = ctx.recv("b")?;
    let mut link = ctx.link("link")?;
    let n = ctx.peer.number();
    link.acked(n, &ctx.msg_frame(n, "a", "b", "a1", "from the suite"))?;
    let (seq, ..) = next_msg(&mut b)?;
    b.send(&format!("ACK:{seq}"))?;
    let deadline = ctx.redial_deadline();
    let delivered = ctx.peer.status("a1", LinkState::Delivered, deadline);
    let want = |state| format!("STATUS:<n>:{}:{}:a1:{state}:<ts>", ctx.address("b"), ctx.remote("a"));
    status_names(ctx, delivered, want("DELIVERED"))?;
    b_send.conn(ctx)?.ok(&format!("READ:{}:a1", ctx.remote("a")))?;
    let read = ctx.peer.status("a1", LinkState::Read, ctx.redial_deadline());
    status_names(ctx, read, want("READ"))
}

/// A `STATUS` frame names the reader by its address and the author by
/// the suite's.
fn status_names(ctx: &LinkCtx, taken: Option<ReadFrame>, want: String) -> Result<(), Failure> {
    match taken.map(|t| t.frame) {
        Some(Frame::Message(MessageFrame::Status { reader, author, .. }))
            if fold(&reader) == fold(&ctx.address("b")) && fold(&author) == fold(&ctx.remote("a")) =>
        {
            Ok(())
        }
        Some(other) => Err(Failure::new(want, other.to_string())),
        None => Err(Failure::new(want, "none")),
    }
}

/// The door reads a frame and cuts the link without an answer: the
/// server sends the same frame, under the same number, on its next link.
fn unanswered_frame_sent_again(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    ctx.peer.rule("b1", FrameRule::Lose);
    b.msg(ctx, &ctx.remote("a"), "b1", "kept until answered")?;
    let first = first_frame_of(ctx, "b1")?;
    let again = frame_of(ctx, "b1")?;
    let (one, two) = (first.frame.number(), again.frame.number());
    check(one == two, format!("frame {one:?} again (the same number)"), format!("frame {two:?}"))
}

/// The door takes a frame but its `ACK` is lost with the link: its next
/// `OK:<last>` says it has it, so it must not come again.
fn resumes_after_the_peers_last(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    ctx.peer.rule("b1", FrameRule::TakeSilently);
    b.msg(ctx, &ctx.remote("a"), "b1", "taken, its ACK lost")?;
    first_frame_of(ctx, "b1")?;
    b.msg(ctx, &ctx.remote("a"), "b2", "after it")?;
    frame_of(ctx, "b2")?;
    let sent = ctx.peer.frames_of("b1");
    check(
        sent == 1,
        "b1 sent once (the suite said OK:<its number> in the next hello)",
        format!("{sent} times"),
    )
}

/// The next event on `b`'s receive connection is the bounce of message
/// `id` to `to`, as a version-1 client reads it (a message in the chat
/// with `to`, from the server: §27 "Failures"), whose text has `reason`;
/// it must come by `deadline`.
pub fn bounce(b: &mut Conn, to: &str, id: &str, reason: &str, deadline: Instant) -> Result<(), Failure> {
    let want = format!("MSG:<seq>:{to}:<you>:_x…:<ts>:⚠ not delivered: …{reason}… (your message {id})");
    b.wait = deadline.saturating_duration_since(Instant::now());
    let (seq, from, _, got_id, ts, text) = next_msg(b).map_err(|f| Failure::new(&want, f.got))?;
    let shown = format!("MSG:{seq}:{from}:…:{got_id}:{ts}:{text}");
    let ok = fold(&from) == fold(to)
        && got_id.starts_with("_x")
        && text.starts_with("⚠ not delivered: ")
        && text.contains(reason)
        && text.ends_with(&format!("(your message {id})"));
    check(ok, want, shown)
}

/// The door refuses a frame for good: the author is told at once, and
/// the frame is never sent again.
fn refused_for_good_bounces(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.writer("b")?;
    let mut b = ctx.recv("b")?;
    let reason = format!("{} has no user {}", ctx.peer.names.me, ctx.name("a"));
    ctx.peer.rule("b1", FrameRule::Refuse(Code::UnknownUser, reason.clone()));
    b_send.msg(ctx, &ctx.remote("a"), "b1", "to a user the suite has not")?;
    let deadline = ctx.redial_deadline();
    bounce(&mut b, &ctx.remote("a"), "b1", &reason, deadline)?;
    b_send.msg(ctx, &ctx.remote("a"), "b2", "after the bounce")?;
    frame_of(ctx, "b2")?;
    let sent = ctx.peer.frames_of("b1");
    check(sent == 1, "b1 sent once (refused for good)", format!("{sent} times"))
}

/// 1.3: after its bounce, `HISTORY` gives the message the state `FAILED`
/// and, right after its line, the bounce's readable line with the peer's
/// reason, so that a device loading the chat later shows why.
fn bounce_in_history(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.writer("b")?;
    let mut b = ctx.recv("b")?;
    let reason = format!("{} has no user {}", ctx.peer.names.me, ctx.name("a"));
    ctx.peer.rule("b1", FrameRule::Refuse(Code::UnknownUser, reason.clone()));
    b_send.msg(ctx, &ctx.remote("a"), "b1", "gone astray")?;
    bounce(&mut b, &ctx.remote("a"), "b1", &reason, ctx.redial_deadline())?;
    let lines = b_send.conn(ctx)?.listing(&format!("HISTORY:{}:10", ctx.remote("a")))?;
    let want = format!(
        "{b}:{a}:b1:<ts>:FAILED:gone astray, then {a}:{b}:_x<ts>_failed:<ts>:RECEIVED:⚠ not delivered: …{reason}… (your message b1)",
        a = ctx.remote("a"),
        b = ctx.name("b"),
    );
    let read = |line: &String| HistoryLine::parse(line).ok();
    let ok = match lines.iter().map(read).collect::<Vec<_>>()[..] {
        [Some(ref message), Some(ref told)] => {
            message.id == "b1"
                && message.state == MsgState::Failed
                && fold(&told.from) == fold(&ctx.remote("a"))
                && matches!(ReadBounce::of(&told.id, &told.text.unescaped()),
                    Some(ReadBounce::Message { ref id, reason: ref said }) if id == "b1" && said.contains(&reason))
        }
        _ => false,
    };
    check(ok, want, lines.join(" / "))
}

/// The door refuses a frame for now (`FULL`) and closes the link: the
/// frame comes again, and its author is not told of a failure.
fn refused_for_now_sent_again(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.writer("b")?;
    ctx.peer.rule("b1", FrameRule::Refuse(Code::Full, "the suite's disk is full for now".into()));
    b_send.msg(ctx, &ctx.remote("a"), "b1", "kept while the peer is full")?;
    first_frame_of(ctx, "b1")?;
    frame_of(ctx, "b1")?;
    // A bounce would wait in the inbox: the login replays it.
    let mut b = ctx.recv("b")?;
    b.expect_quiet(std::time::Duration::from_millis(500), "no bounce for a refusal for now")
}

/// A refusal whose reason holds control characters and a lone backslash:
/// the bounce the author gets is a valid event, with none of them.
fn hostile_reason_made_safe(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b_send = ctx.writer("b")?;
    let mut b = ctx.recv("b")?;
    let reason = "\u{1b}[2J\u{1b}]0;pwned\u{7}gone \\";
    ctx.peer.rule("b1", FrameRule::Refuse(Code::UnknownUser, reason.into()));
    b_send.msg(ctx, &ctx.remote("a"), "b1", "to a hostile peer")?;
    b.wait = ctx.redial_deadline().saturating_duration_since(Instant::now());
    let want = "a valid MSG event (the bounce), with no control character";
    match b.event(want, false)? {
        Event::Msg { text, .. } if !text.as_escaped().chars().any(|c| c.is_control()) => Ok(()),
        other => Err(Failure::new(want, other.to_string())),
    }
}

fn unknown_server_refused(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.user("b")?;
    let nowhere = format!("{}@{}", ctx.name("a"), ctx.name("nowhere"));
    b.ko(&format!("MSG:{nowhere}:b1:anyone?"), Code::UnknownServer)
}

/// `<user>@<this server>` is the local `<user>`: delivered here, from the
/// author's plain name.
fn own_name_is_this_server(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.user("b")?;
    ctx.user("c")?;
    let mut c = ctx.recv("c")?;
    send_msg(&mut b, &ctx.address("c"), "b1", "from next door")?;
    let (seq, from, to, id, _, text) = next_msg(&mut c)?;
    let want = format!("MSG:<seq>:{}:{}:b1:<ts>:from next door", ctx.name("b"), ctx.name("c"));
    let ok = fold(&from) == fold(&ctx.name("b")) && fold(&to) == fold(&ctx.name("c")) && id == "b1";
    check(ok, want, format!("MSG:{seq}:{from}:{to}:{id}:…:{text}"))
}

/// 1.3 (§27, "Files across servers"): a file the server's user sends to
/// the suite's crosses as its bytes (`UPLOAD`, `PART`s, checked by the
/// sha256 it announced) before its `FILE` frame, which names it.
fn file_sent_before_its_message(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.writer("b")?;
    let bytes: Vec<u8> = (0..30_000u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
    let sha = crate::store::files::sha256_of_reader(&mut &bytes[..])
        .map_err(|e| Failure::new("a sum", e.to_string()))?;
    let conn = b.conn(ctx)?;
    let file = conn.ok(&format!("UPLOAD:lab3.bin:30000:{sha}"))?;
    for from in (0..bytes.len()).step_by(12_000) {
        let to = (from + 12_000).min(bytes.len());
        conn.ok(&format!("PART:{file}:{from}:{}", crate::protocol::files::encode(&bytes[from..to])))?;
    }
    conn.ok(&format!("FILE:{}:f1:{file}:for friday", ctx.remote("a")))?;
    let want = "UPLOAD, the PARTs of 30000 bytes, then FILE:<n>:…:f1:…:<that file id>:📎 lab3.bin (30 KB) for friday";
    let (frame, got) = ctx
        .peer
        .file_frame("f1", ctx.redial_deadline())
        .ok_or_else(|| Failure::new(want, "no FILE frame of f1"))?;
    let Frame::File(FileFrame::File { text, .. }) = &frame else {
        return Err(Failure::new(want, frame.to_string()));
    };
    check(text.as_escaped() == "📎 lab3.bin (30 KB) for friday", want, frame.to_string())?;
    match got {
        Some((announced, got)) if announced == sha && got == bytes => Ok(()),
        Some((_, got)) => Err(Failure::new(want, format!("{frame} after {} bytes that differ", got.len()))),
        None => Err(Failure::new(want, format!("{frame} naming a file never announced"))),
    }
}

/// 1.3 (§26): a user's `PEOPLE:<start>@<suite>` crosses the link as a
/// `PEOPLE` frame, and the suite's answer (one person, whose name is the
/// start) comes back as the reply, by its address.
fn people_asked_across(ctx: &mut LinkCtx) -> Result<(), Failure> {
    let mut b = ctx.user("b")?;
    let start = ctx.name("zed");
    let lines = b.listing(&format!("PEOPLE:{start}@{}", ctx.peer.names.me))?;
    let want = format!("OK:1 then {start}@{}:UNKNOWN", ctx.peer.names.me);
    let got = format!("OK:{} then {}", lines.len(), lines.join(" "));
    let them = format!("{start}@{}:UNKNOWN", ctx.peer.names.me);
    check(lines.len() == 1 && lines[0].eq_ignore_ascii_case(&them), &want, got)?;
    let searched = ctx.peer.seen().searched.clone();
    check(
        searched.iter().any(|s| s == &start),
        format!("a PEOPLE frame for {start} at the suite's link port"),
        format!("{searched:?}"),
    )
}
